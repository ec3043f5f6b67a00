package mongolocal

import (
	"bytes"
	"slices"
	"sort"
	"time"

	"github.com/256dpi/lungo"
	"github.com/256dpi/lungo/bsonkit"
	"github.com/256dpi/lungo/mongokit"
	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/bson/primitive"

	"github.com/changerelay/changerelay/infra/mongolocal/changestream"
	"github.com/changerelay/changerelay/infra/mongolocal/mongoerr"
)

// The write side works on lungo's catalog with mongokit's collections and
// indexes directly rather than through lungo.Transaction, because:
//   - lungo clones a namespace (and its oplog) for every document of a
//     batch; here a namespace is cloned once per write command;
//   - lungo compares _id values with != and panics on document _ids;
//   - every statement here is atomic (undone on a failure) without a clone,
//     and emits its change entries directly with pre- and post-images.

// ns returns the collection h as the transaction sees it (nil if absent).
func (w *writeTxn) ns(h lungo.Handle) *mongokit.Collection {
	return w.cat.Namespaces[h]
}

// writable returns a collection this transaction may modify, cloning it on
// first use and creating it when create is set (nil otherwise).
func (w *writeTxn) writable(h lungo.Handle, create bool) *mongokit.Collection {
	c := w.cat.Namespaces[h]
	if c == nil {
		if !create {
			return nil
		}
		c = mongokit.NewCollection(true)
		w.cat.Namespaces[h] = c
		w.owned[h] = true
		w.dirty = true
		return c
	}
	if !w.owned[h] {
		c = cloneCollection(c)
		w.cat.Namespaces[h] = c
		w.owned[h] = true
	}
	return c
}

// cloneCollection copies a collection for writing: the document list (a
// pointer copy) and the indexes (copy-on-write B-trees). The set's position
// index is not kept: nothing on the read path uses it, and writes build
// their own positions when they need them (positions).
func cloneCollection(c *mongokit.Collection) *mongokit.Collection {
	clone := &mongokit.Collection{
		Documents: &bsonkit.Set{List: slices.Clone(c.Documents.List)},
		Indexes:   make(map[string]*mongokit.Index, len(c.Indexes)),
	}
	for name, idx := range c.Indexes {
		clone.Indexes[name] = idx.Clone()
	}
	return clone
}

// positions maps the documents of a collection this transaction owns to
// their index in its list, built on first use.
func (w *writeTxn) positions(h lungo.Handle, c *mongokit.Collection) map[bsonkit.Doc]int {
	if p := w.pos[h]; p != nil {
		return p
	}
	p := make(map[bsonkit.Doc]int, len(c.Documents.List))
	for i, d := range c.Documents.List {
		p[d] = i
	}
	if w.pos == nil {
		w.pos = map[lungo.Handle]map[bsonkit.Doc]int{}
	}
	w.pos[h] = p
	return p
}

func (w *writeTxn) appendDoc(h lungo.Handle, c *mongokit.Collection, doc bsonkit.Doc) {
	c.Documents.List = append(c.Documents.List, doc)
	if p := w.pos[h]; p != nil {
		p[doc] = len(c.Documents.List) - 1
	}
	if hash := w.ids[h]; hash != nil && hash.complete {
		if k, ok := idKeyOf(bsonkit.Get(doc, "_id")); ok {
			hash.pos[k] = len(c.Documents.List) - 1
		} else {
			w.ids[h] = &idHash{}
		}
	}
}

// emit records one change entry.
func (w *writeTxn) emit(h lungo.Handle, op string, doc bsonkit.Doc, changes *mongokit.Changes, pre, post bsonkit.Doc) {
	ts := bsonkit.Now()
	ns := bson.D{{Key: "db", Value: h[0]}}
	if h[1] != "" {
		ns = append(ns, bson.E{Key: "coll", Value: h[1]})
	}
	e := bson.D{
		{Key: "_id", Value: bson.D{{Key: "ts", Value: ts}}},
		{Key: "operationType", Value: op},
		{Key: "clusterTime", Value: ts},
		{Key: "ns", Value: ns},
	}
	if doc != nil {
		e = append(e, bson.E{Key: "documentKey", Value: bson.D{{Key: "_id", Value: bsonkit.Get(doc, "_id")}}})
		if op == "insert" || op == "replace" || op == "update" {
			e = append(e, bson.E{Key: "fullDocument", Value: *doc})
		}
	}
	if changes != nil {
		paths := make([]string, 0, len(changes.Changed))
		for p := range changes.Changed {
			paths = append(paths, p)
		}
		sort.Strings(paths)
		updated, removed := bson.D{}, bson.A{}
		for _, p := range paths {
			if v := changes.Changed[p]; v == bsonkit.Missing {
				removed = append(removed, p)
			} else {
				updated = append(updated, bson.E{Key: p, Value: v})
			}
		}
		e = append(e, bson.E{Key: "updateDescription", Value: bson.D{
			{Key: "updatedFields", Value: updated},
			{Key: "removedFields", Value: removed},
			{Key: "truncatedArrays", Value: bson.A{}},
		}})
	}
	entry := changestream.Entry{Oplog: &e}
	if w.imagesEnabled(h) {
		entry.PreImage, entry.PostImage = pre, post
	}
	w.entries = append(w.entries, entry)
	w.dirty = true
}

// indexNames lists a collection's indexes, _id_ first, then by name, so
// errors are deterministic.
func indexNames(c *mongokit.Collection) []string {
	names := make([]string, 0, len(c.Indexes))
	for name := range c.Indexes {
		if name != "_id_" {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	if c.Indexes["_id_"] != nil {
		names = append([]string{"_id_"}, names...)
	}
	return names
}

// indexAdd adds docs to every index, all or nothing. On a conflict it
// returns the index name and the document that collided.
func indexAdd(c *mongokit.Collection, docs bsonkit.List) (string, bsonkit.Doc, error) {
	names := indexNames(c)
	type added struct {
		idx *mongokit.Index
		doc bsonkit.Doc
	}
	var done []added
	undo := func() {
		for i := len(done) - 1; i >= 0; i-- {
			_, _ = done[i].idx.Remove(done[i].doc)
		}
	}
	for _, doc := range docs {
		for _, name := range names {
			idx := c.Indexes[name]
			ok, err := idx.Add(doc)
			if err != nil {
				undo()
				return name, doc, err
			}
			if !ok {
				undo()
				return name, doc, nil
			}
			done = append(done, added{idx, doc})
		}
	}
	return "", nil, nil
}

func indexRemove(c *mongokit.Collection, docs bsonkit.List) {
	for _, doc := range docs {
		for _, idx := range c.Indexes {
			_, _ = idx.Remove(doc)
		}
	}
}

// ensureID puts _id first, generating an ObjectID when doc has none.
func ensureID(doc bsonkit.Doc) {
	id, ok := lookupD(*doc, "_id")
	switch {
	case !ok:
		*doc = append(bson.D{{Key: "_id", Value: primitive.NewObjectID()}}, *doc...)
	case (*doc)[0].Key != "_id":
		*doc = append(bson.D{{Key: "_id", Value: id}}, removeKey(*doc, "_id")...)
	}
}

// insertOne inserts one document (which it takes ownership of).
func (w *writeTxn) insertOne(h lungo.Handle, c *mongokit.Collection, doc bsonkit.Doc) *mongoerr.Error {
	ensureID(doc)
	name, bad, err := indexAdd(c, bsonkit.List{doc})
	if err != nil {
		return engineError(err, inQuery, h, nil, nil)
	}
	if name != "" {
		return duplicateKeyIn(h, c, name, bad)
	}
	w.appendDoc(h, c, doc)
	w.emit(h, "insert", doc, nil, nil, nil)
	return nil
}

func duplicateKeyIn(h lungo.Handle, c *mongokit.Collection, index string, doc bsonkit.Doc) *mongoerr.Error {
	cat := &lungo.Catalog{Namespaces: map[lungo.Handle]*mongokit.Collection{h: c}}
	return duplicateKey(h, cat, index, doc)
}

// replaceDocs swaps old documents for new ones, all or nothing.
func (w *writeTxn) replaceDocs(h lungo.Handle, c *mongokit.Collection, olds, news bsonkit.List) *mongoerr.Error {
	indexRemove(c, olds)
	name, bad, err := indexAdd(c, news)
	if err != nil || name != "" {
		if _, _, err2 := indexAdd(c, olds); err2 != nil {
			return mongoerr.New(mongoerr.InternalError, "restore index after failed write: %v", err2)
		}
		if err != nil {
			return engineError(err, inUpdate, h, nil, nil)
		}
		return duplicateKeyIn(h, c, name, bad)
	}
	pos := w.positions(h, c)
	for i := range olds {
		at, ok := pos[olds[i]]
		if !ok {
			return mongoerr.New(mongoerr.InternalError, "document to replace is not in %s", h.String())
		}
		c.Documents.List[at] = news[i]
		delete(pos, olds[i])
		pos[news[i]] = at
	}
	return nil
}

// deleteDocs removes documents from c.
func (w *writeTxn) deleteDocs(h lungo.Handle, c *mongokit.Collection, docs bsonkit.List) {
	if len(docs) == 0 {
		return
	}
	indexRemove(c, docs)
	gone := make(map[bsonkit.Doc]bool, len(docs))
	for _, d := range docs {
		gone[d] = true
	}
	keep := c.Documents.List[:0]
	for _, d := range c.Documents.List {
		if !gone[d] {
			keep = append(keep, d)
		}
	}
	clear(c.Documents.List[len(keep):])
	c.Documents.List = keep
	delete(w.pos, h)
	delete(w.ids, h)
	for _, d := range docs {
		w.emit(h, "delete", d, nil, d, nil)
	}
}

func sameDoc(a, b bsonkit.Doc) bool {
	ab, err1 := bson.Marshal(a)
	bb, err2 := bson.Marshal(b)
	return err1 == nil && err2 == nil && bytes.Equal(ab, bb)
}

// find runs a query inside the transaction.
func (w *writeTxn) find(h lungo.Handle, query, sort bsonkit.Doc, limit int) (bsonkit.List, *mongoerr.Error) {
	c := w.ns(h)
	if c == nil {
		return nil, nil
	}
	if _, pinned := idKeys(query); pinned {
		hash := w.ids[h]
		if hash == nil {
			hash = buildIDHash(c.Documents.List)
			if w.ids == nil {
				w.ids = map[lungo.Handle]*idHash{}
			}
			w.ids[h] = hash
		}
		list, ok, err := findByID(hash, c.Documents.List, query, sort, limit)
		if err != nil {
			return nil, engineError(err, inQuery, h, nil, nil)
		}
		if ok {
			return list, nil
		}
	}
	res, err := c.Find(query, sort, 0, limit)
	if err != nil {
		return nil, engineError(err, inQuery, h, nil, nil)
	}
	return res.Matched, nil
}

// update runs one update statement (limit 1 unless multi).
func (w *writeTxn) update(h lungo.Handle, st updateStatement, sort bsonkit.Doc) (updateOutcome, *mongoerr.Error) {
	var out updateOutcome
	limit := 1
	if st.multi {
		limit = 0
	}
	matched, e := w.find(h, st.q, sort, limit)
	if e != nil {
		return out, e
	}
	if len(matched) == 0 {
		if !st.upsert {
			return out, nil
		}
		doc, e := upsertDocument(st)
		if e != nil {
			return out, e
		}
		if e := w.insertOne(h, w.writable(h, true), doc); e != nil {
			return out, e
		}
		out.upserted, out.after = doc, doc
		return out, nil
	}
	out.matched = len(matched)
	out.before, out.after = matched[0], matched[0]

	news := bsonkit.CloneList(matched)
	var changes []*mongokit.Changes
	if st.replacement {
		repl := bsonkit.Clone(st.u)
		oldID := bsonkit.Get(matched[0], "_id")
		if id := bsonkit.Get(repl, "_id"); id != bsonkit.Missing {
			if bsonkit.Compare(id, oldID) != 0 {
				return out, immutableID()
			}
			*repl = removeKey(*repl, "_id")
		}
		*repl = append(bson.D{{Key: "_id", Value: oldID}}, *repl...)
		news[0] = repl
	} else {
		var err error
		changes, err = mongokit.Update(news, st.q, st.u, false, st.arrayFilters)
		if err != nil {
			return out, engineError(err, inUpdate, h, nil, nil)
		}
		for i := range news {
			if bsonkit.Compare(bsonkit.Get(news[i], "_id"), bsonkit.Get(matched[i], "_id")) != 0 {
				return out, immutableID()
			}
		}
	}
	var olds, changed bsonkit.List
	var changeList []*mongokit.Changes
	for i := range news {
		if sameDoc(matched[i], news[i]) {
			continue
		}
		olds = append(olds, matched[i])
		changed = append(changed, news[i])
		if changes != nil {
			changeList = append(changeList, changes[i])
		}
	}
	if len(changed) == 0 {
		return out, nil
	}
	if e := w.replaceDocs(h, w.writable(h, false), olds, changed); e != nil {
		return out, e
	}
	for i, doc := range changed {
		if st.replacement {
			w.emit(h, "replace", doc, nil, olds[i], doc)
		} else {
			w.emit(h, "update", doc, changeList[i], olds[i], doc)
		}
	}
	out.modified = len(changed)
	out.after = news[0]
	return out, nil
}

func immutableID() *mongoerr.Error {
	return mongoerr.New(mongoerr.ImmutableField, "Performing an update on the path '_id' would modify the immutable field '_id'")
}

func removeKey(d bson.D, key string) bson.D {
	out := make(bson.D, 0, len(d))
	for _, e := range d {
		if e.Key != key {
			out = append(out, e)
		}
	}
	return out
}

// upsertDocument builds the document an upsert inserts.
func upsertDocument(st updateStatement) (bsonkit.Doc, *mongoerr.Error) {
	base, err := mongokit.Extract(st.q)
	if err != nil {
		return nil, engineError(err, inQuery, lungo.Handle{}, nil, nil)
	}
	if st.replacement {
		doc := bsonkit.Clone(st.u)
		queryID := bsonkit.Get(base, "_id")
		if id := bsonkit.Get(doc, "_id"); id != bsonkit.Missing {
			if queryID != bsonkit.Missing && bsonkit.Compare(id, queryID) != 0 {
				return nil, immutableID()
			}
			*doc = append(bson.D{{Key: "_id", Value: id}}, removeKey(*doc, "_id")...)
		} else if queryID != bsonkit.Missing {
			*doc = append(bson.D{{Key: "_id", Value: queryID}}, *doc...)
		}
		return doc, nil
	}
	if _, err := mongokit.Apply(base, st.q, st.u, true, st.arrayFilters); err != nil {
		return nil, engineError(err, inUpdate, lungo.Handle{}, nil, nil)
	}
	if id := bsonkit.Get(base, "_id"); id != bsonkit.Missing && (len(*base) == 0 || (*base)[0].Key != "_id") {
		*base = append(bson.D{{Key: "_id", Value: id}}, removeKey(*base, "_id")...)
	}
	return base, nil
}

// remove deletes the documents a query selects (limit 0 = all).
func (w *writeTxn) remove(h lungo.Handle, query, sort bsonkit.Doc, limit int) (bsonkit.List, *mongoerr.Error) {
	matched, e := w.find(h, query, sort, limit)
	if e != nil || len(matched) == 0 {
		return nil, e
	}
	w.deleteDocs(h, w.writable(h, false), matched)
	return matched, nil
}

// create makes an empty collection; it reports false if it existed.
func (w *writeTxn) create(h lungo.Handle) bool {
	if w.ns(h) != nil {
		return false
	}
	w.writable(h, true)
	return true
}

// drop removes a collection and logs a drop event.
func (w *writeTxn) drop(h lungo.Handle) bool {
	if w.ns(h) == nil {
		return false
	}
	delete(w.cat.Namespaces, h)
	delete(w.owned, h)
	delete(w.pos, h)
	delete(w.ids, h)
	w.emit(h, "drop", nil, nil, nil, nil)
	if w.opts[h] != nil {
		w.setOptions(h, nil)
	}
	return true
}

// dropDatabase drops every collection of db, then logs dropDatabase.
func (w *writeTxn) dropDatabase(db string) {
	var hs []lungo.Handle
	for h := range w.cat.Namespaces {
		if h[0] == db && !hidden(h) {
			hs = append(hs, h)
		}
	}
	sort.Slice(hs, func(i, j int) bool { return hs[i][1] < hs[j][1] })
	for _, h := range hs {
		w.drop(h)
	}
	if len(hs) > 0 {
		w.emit(lungo.Handle{db, ""}, "dropDatabase", nil, nil, nil, nil)
	}
}

// rename moves a collection (documents, indexes and options) to a new name.
func (w *writeTxn) rename(from, to lungo.Handle) {
	c := w.cat.Namespaces[from]
	delete(w.cat.Namespaces, from)
	delete(w.pos, from)
	delete(w.ids, from)
	delete(w.pos, to)
	delete(w.ids, to)
	w.cat.Namespaces[to] = c
	w.owned[to] = w.owned[from]
	delete(w.owned, from)
	if opts := w.opts[from]; opts != nil {
		w.setOptions(to, opts)
		w.setOptions(from, nil)
	}
	ts := bsonkit.Now()
	e := bson.D{
		{Key: "_id", Value: bson.D{{Key: "ts", Value: ts}}},
		{Key: "operationType", Value: "rename"},
		{Key: "clusterTime", Value: ts},
		{Key: "ns", Value: bson.D{{Key: "db", Value: from[0]}, {Key: "coll", Value: from[1]}}},
		{Key: "to", Value: bson.D{{Key: "db", Value: to[0]}, {Key: "coll", Value: to[1]}}},
	}
	w.entries = append(w.entries, changestream.Entry{Oplog: &e})
	w.dirty = true
}

// createIndex builds and adds an index; an index over existing duplicates
// fails with DuplicateKey and leaves the collection unchanged.
func (w *writeTxn) createIndex(h lungo.Handle, name string, cfg mongokit.IndexConfig) *mongoerr.Error {
	c := w.writable(h, true)
	idx, err := mongokit.CreateIndex(cfg)
	if err != nil {
		return mongoerr.New(mongoerr.CannotCreateIndex, "%v", err)
	}
	ok, err := idx.Build(c.Documents.List)
	if err != nil {
		return mongoerr.New(mongoerr.CannotCreateIndex, "%v", err)
	}
	if !ok {
		return mongoerr.New(mongoerr.DuplicateKey, "Index build failed: E11000 duplicate key error collection: %s index: %s", h.String(), name)
	}
	c.Indexes[name] = idx
	w.dirty = true
	return nil
}

func (w *writeTxn) dropIndex(h lungo.Handle, name string) {
	c := w.writable(h, false)
	delete(c.Indexes, name)
	w.dirty = true
}

// expire deletes documents past their TTL index's expiry, as mongod's TTL
// monitor does, logging delete events.
func (w *writeTxn) expire(now time.Time) {
	for h, c := range w.cat.Namespaces {
		if hidden(h) {
			continue
		}
		for _, idx := range c.Indexes {
			cfg := idx.Config()
			if cfg.Expiry <= 0 {
				continue
			}
			field := (*cfg.Key)[0].Key
			q := bson.D{{Key: field, Value: bson.D{{Key: "$lt", Value: primitive.NewDateTimeFromTime(now.Add(-cfg.Expiry))}}}}
			_, _ = w.remove(h, &q, nil, 0)
		}
	}
}
