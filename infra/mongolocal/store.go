package mongolocal

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/256dpi/lungo"
	"github.com/256dpi/lungo/bsonkit"
	"github.com/256dpi/lungo/mongokit"
	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/bson/primitive"

	"github.com/changerelay/changerelay/infra/mongolocal/changestream"
	"github.com/changerelay/changerelay/infra/mongolocal/mongoerr"
)

// metaHandle is the reserved namespace holding collection options; it is
// hidden from listCollections and listDatabases.
var metaHandle = lungo.Handle{lungo.Local, "mongolocal_collections"}

// store owns the current lungo catalog. Readers take an immutable snapshot;
// writers are serialized by wmu and publish a new catalog on commit
// (engine.go). lungo's own oplog namespace stays empty: the history lives in
// changestream.Log.
type store struct {
	mu   sync.RWMutex
	cat  *lungo.Catalog
	opts map[lungo.Handle]bson.D // collection options, copy on write

	wmu  sync.Mutex
	file *lungo.FileStore // nil in memory
}

func dataFile(dbpath string) string { return filepath.Join(dbpath, "mongolocal.bson") }

func changelogDir(dbpath string) string {
	if dbpath == "" {
		return ""
	}
	return filepath.Join(dbpath, "changelog")
}

func openStore(dbpath string) (*store, error) {
	st := &store{cat: lungo.NewCatalog(), opts: map[lungo.Handle]bson.D{}}
	if dbpath == "" {
		return st, nil
	}
	if err := os.MkdirAll(dbpath, 0o755); err != nil {
		return nil, err
	}
	st.file = lungo.NewFileStore(dataFile(dbpath), 0o644)
	cat, err := st.file.Load()
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", dataFile(dbpath), err)
	}
	cat = cat.Clone()
	cat.Namespaces[lungo.Oplog] = mongokit.NewCollection(false)
	if meta := cat.Namespaces[metaHandle]; meta != nil {
		for _, doc := range meta.Documents.List {
			db, _ := bsonkit.Get(doc, "db").(string)
			coll, _ := bsonkit.Get(doc, "coll").(string)
			opts, _ := bsonkit.Get(doc, "options").(bson.D)
			st.opts[lungo.Handle{db, coll}] = opts
		}
	}
	st.cat = cat
	return st, nil
}

// snapshot returns a read-only transaction on the current catalog.
func (st *store) snapshot() *lungo.Transaction {
	st.mu.RLock()
	defer st.mu.RUnlock()
	return lungo.NewTransaction(st.cat)
}

// options returns the options a collection was created with (nil if none).
func (st *store) options(h lungo.Handle) bson.D {
	st.mu.RLock()
	defer st.mu.RUnlock()
	return st.opts[h]
}

// writeTxn is one write command's transaction: a private copy of the
// catalog's namespace map whose collections are cloned on first write.
type writeTxn struct {
	cat         *lungo.Catalog
	owned       map[lungo.Handle]bool
	pos         map[lungo.Handle]map[bsonkit.Doc]int
	ids         map[lungo.Handle]*idHash
	dirty       bool
	opts        map[lungo.Handle]bson.D
	optsChanged bool
	entries     []changestream.Entry
}

// write runs fn in one transaction under the server's write lock, publishes
// the new catalog, persists it, and appends the collected change entries to
// the change log: Append order is commit order. If fn returns an error,
// nothing is committed.
func (s *Server) write(fn func(w *writeTxn) error) error {
	st := s.store
	st.wmu.Lock()
	defer st.wmu.Unlock()
	if s.ctx.Err() != nil {
		return mongoerr.New(mongoerr.InterruptedAtShutdown, "interrupted at shutdown")
	}
	st.mu.RLock()
	w := &writeTxn{cat: st.cat.Clone(), owned: map[lungo.Handle]bool{}, opts: st.opts}
	st.mu.RUnlock()

	if err := fn(w); err != nil {
		return err
	}
	if !w.dirty && !w.optsChanged {
		return nil
	}
	cat := w.cat
	if w.optsChanged {
		cat.Namespaces[metaHandle] = buildMeta(w.opts)
	}
	if st.file != nil {
		if err := st.file.Store(cat); err != nil {
			return mongoerr.New(mongoerr.InternalError, "persist data: %v", err)
		}
	}
	st.mu.Lock()
	st.cat = cat
	st.opts = w.opts
	st.mu.Unlock()

	if len(w.entries) > 0 {
		now := time.Now()
		for i := range w.entries {
			w.entries[i].WallTime = now
		}
		if err := s.changes.Append(w.entries); err != nil {
			s.log.Error("mongolocal: append to change log", "err", err)
		}
		if ts, ok := bsonkit.Get(w.entries[len(w.entries)-1].Oplog, "clusterTime").(primitive.Timestamp); ok {
			s.observeTime(ts)
		}
	} else {
		s.observeTime(bsonkit.Now())
	}
	return nil
}

func buildMeta(opts map[lungo.Handle]bson.D) *mongokit.Collection {
	coll := mongokit.NewCollection(false)
	for h, o := range opts {
		doc := bsonkit.MustConvert(bson.D{
			{Key: "_id", Value: h.String()},
			{Key: "db", Value: h[0]},
			{Key: "coll", Value: h[1]},
			{Key: "options", Value: o},
		})
		coll.Documents.Add(doc)
	}
	return coll
}

// setOptions records (or with nil removes) a collection's options.
func (w *writeTxn) setOptions(h lungo.Handle, o bson.D) {
	next := make(map[lungo.Handle]bson.D, len(w.opts)+1)
	for k, v := range w.opts {
		next[k] = v
	}
	if o == nil {
		delete(next, h)
	} else {
		next[h] = o
	}
	w.opts = next
	w.optsChanged = true
}

// imagesEnabled reports whether changeStreamPreAndPostImages is on for h.
func (w *writeTxn) imagesEnabled(h lungo.Handle) bool {
	return preAndPostImages(w.opts[h])
}

func preAndPostImages(opts bson.D) bool {
	v, ok := lookupD(opts, "changeStreamPreAndPostImages")
	if !ok {
		return false
	}
	d, _ := v.(bson.D)
	enabled, _ := lookupD(d, "enabled")
	return truthy(enabled)
}

// idKey is a map key for an _id value.
func idKey(v any) string {
	b, err := bson.Marshal(bson.D{{Key: "k", Value: v}})
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

// lookupDocument serves fullDocument: updateLookup for the change log.
func (s *Server) lookupDocument(_ context.Context, db, coll string, id any) (bsonkit.Doc, error) {
	list, err := s.query(lungo.Handle{db, coll}, &bson.D{{Key: "_id", Value: id}}, nil, 0, 1)
	if err != nil {
		return nil, err
	}
	if len(list) == 0 {
		return nil, nil
	}
	return list[0], nil
}
