package mongolocal

import (
	"context"
	"strings"

	"github.com/256dpi/lungo"
	"github.com/256dpi/lungo/bsonkit"
	"github.com/256dpi/lungo/mongokit"
	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/bson/primitive"

	"github.com/changerelay/changerelay/infra/mongolocal/mongoerr"
)

// hidden reports namespaces clients never see.
func hidden(h lungo.Handle) bool {
	return h == metaHandle || h == lungo.Oplog
}

func cmdListDatabases(_ context.Context, s *Server, cmd *command) (bson.D, error) {
	filter, err := cmd.optDoc("filter")
	if err != nil {
		return nil, err
	}
	nameOnly := cmd.boolField("nameOnly", false)
	cat := s.store.snapshot().Catalog()
	sizes := map[string]int{}
	for h, ns := range cat.Namespaces {
		if hidden(h) {
			continue
		}
		sizes[h[0]] += len(ns.Documents.List)
	}
	var list bsonkit.List
	for name, n := range sizes {
		d := bson.D{{Key: "name", Value: name}}
		if !nameOnly {
			d = append(d, bson.E{Key: "sizeOnDisk", Value: int64(n * 100)}, bson.E{Key: "empty", Value: n == 0})
		}
		list = append(list, &d)
	}
	if filter != nil && len(*filter) > 0 {
		list, err = mongokit.Filter(list, filter, 0)
		if err != nil {
			return nil, engineError(err, inQuery, lungo.Handle{}, nil, nil)
		}
	}
	bsonkit.Sort(list, []bsonkit.Column{{Path: "name"}})
	dbs := bson.A{}
	total := int64(0)
	for _, d := range list {
		dbs = append(dbs, *d)
		if v, ok := bsonkit.Get(d, "sizeOnDisk").(int64); ok {
			total += v
		}
	}
	out := bson.D{{Key: "databases", Value: dbs}}
	if !nameOnly {
		out = append(out, bson.E{Key: "totalSize", Value: total}, bson.E{Key: "totalSizeMb", Value: total >> 20})
	}
	return out, nil
}

func (s *Server) collectionInfo(h lungo.Handle, opts bson.D) bson.D {
	if opts == nil {
		opts = bson.D{}
	}
	return bson.D{
		{Key: "name", Value: h[1]},
		{Key: "type", Value: "collection"},
		{Key: "options", Value: opts},
		{Key: "info", Value: bson.D{
			{Key: "readOnly", Value: false},
			{Key: "uuid", Value: namespaceUUID(h)},
		}},
		{Key: "idIndex", Value: bson.D{
			{Key: "v", Value: int32(2)},
			{Key: "key", Value: bson.D{{Key: "_id", Value: int32(1)}}},
			{Key: "name", Value: "_id_"},
		}},
	}
}

// namespaceUUID derives a stable UUID for a namespace.
func namespaceUUID(h lungo.Handle) primitive.Binary {
	sum := [16]byte{}
	for i, b := range []byte(h.String()) {
		sum[i%16] = sum[i%16]*31 + b
	}
	sum[6] = sum[6]&0x0f | 0x40
	sum[8] = sum[8]&0x3f | 0x80
	return primitive.Binary{Subtype: 4, Data: sum[:]}
}

func cmdListCollections(_ context.Context, s *Server, cmd *command) (bson.D, error) {
	filter, err := cmd.optDoc("filter")
	if err != nil {
		return nil, err
	}
	nameOnly := cmd.boolField("nameOnly", false)
	txn := s.store.snapshot()
	cat := txn.Catalog()
	var list bsonkit.List
	for h := range cat.Namespaces {
		if h[0] != cmd.DB || hidden(h) {
			continue
		}
		info := s.collectionInfo(h, s.store.options(h))
		list = append(list, &info)
	}
	if filter != nil && len(*filter) > 0 {
		list, err = mongokit.Filter(list, filter, 0)
		if err != nil {
			return nil, engineError(err, inQuery, lungo.Handle{}, nil, nil)
		}
	}
	bsonkit.Sort(list, []bsonkit.Column{{Path: "name"}})
	if nameOnly {
		for i, d := range list {
			list[i] = &bson.D{{Key: "name", Value: bsonkit.Get(d, "name")}, {Key: "type", Value: "collection"}}
		}
	}
	docs, err := marshalList(list)
	if err != nil {
		return nil, err
	}
	batchSize := 0
	if c, ok, _ := cmd.doc("cursor"); ok {
		if v, ok := lookupD(c, "batchSize"); ok {
			if n, ok := toInt64(v); ok {
				batchSize = int(n)
				if n == 0 {
					batchSize = -1
				}
			}
		}
	}
	return s.cursorReply(cmd.DB+".$cmd.listCollections", docs, batchSize, false, "firstBatch"), nil
}

// createOptions validates create's options and returns those kept.
func createOptions(cmd *command) (bson.D, error) {
	var opts bson.D
	for _, e := range cmd.Body[1:] {
		switch e.Key {
		case "changeStreamPreAndPostImages":
			d, ok := e.Value.(bson.D)
			if !ok {
				return nil, mongoerr.New(mongoerr.TypeMismatch, "BSON field 'create.changeStreamPreAndPostImages' is the wrong type '%s', expected type 'object'", typeName(e.Value))
			}
			enabled, ok := lookupD(d, "enabled")
			if _, isBool := enabled.(bool); !ok || !isBool {
				return nil, mongoerr.New(mongoerr.FailedToParse, "BSON field 'changeStreamPreAndPostImages.enabled' is missing or not a bool")
			}
			opts = append(opts, bson.E{Key: e.Key, Value: bson.D{{Key: "enabled", Value: enabled}}})
		case "capped", "timeseries", "viewOn", "pipeline", "clusteredIndex", "encryptedFields":
			if e.Key == "capped" && !truthy(e.Value) {
				continue
			}
			return nil, mongoerr.New(mongoerr.NotImplemented, "create option '%s' is not supported by mongolocal", e.Key)
		case "validator", "validationLevel", "validationAction":
			return nil, mongoerr.New(mongoerr.NotImplemented, "create option '%s' (schema validation) is not supported by mongolocal", e.Key)
		case "collation":
			if c, _ := e.Value.(bson.D); c != nil {
				if loc, _ := lookupD(c, "locale"); loc != "simple" {
					return nil, mongoerr.New(mongoerr.NotImplemented, "collation is not supported by mongolocal")
				}
			}
		}
	}
	return opts, nil
}

func cmdCreate(_ context.Context, s *Server, cmd *command) (bson.D, error) {
	coll, err := cmd.collection()
	if err != nil {
		return nil, err
	}
	if err := s.checkWritable(cmd, coll); err != nil {
		return nil, err
	}
	opts, err := createOptions(cmd)
	if err != nil {
		return nil, err
	}
	h := lungo.Handle{cmd.DB, coll}
	return bson.D{}, s.write(func(w *writeTxn) error {
		if w.ns(h) != nil {
			existing := w.opts[h]
			if bsonkit.Compare(existing, opts) == 0 || len(existing) == 0 && len(opts) == 0 {
				return nil // same options: mongod accepts this since 7.0
			}
			return mongoerr.New(mongoerr.NamespaceExists, "Collection %s already exists.", h.String())
		}
		w.create(h)
		if len(opts) > 0 {
			w.setOptions(h, opts)
		}
		return nil
	})
}

func cmdCollMod(_ context.Context, s *Server, cmd *command) (bson.D, error) {
	coll, err := cmd.collection()
	if err != nil {
		return nil, err
	}
	h := lungo.Handle{cmd.DB, coll}
	var change bson.D
	for _, e := range cmd.Body[1:] {
		switch {
		case e.Key == "changeStreamPreAndPostImages":
			d, ok := e.Value.(bson.D)
			enabled, has := lookupD(d, "enabled")
			if _, isBool := enabled.(bool); !ok || !has || !isBool {
				return nil, mongoerr.New(mongoerr.FailedToParse, "BSON field 'changeStreamPreAndPostImages.enabled' is missing or not a bool")
			}
			change = bson.D{{Key: "enabled", Value: enabled}}
		case strings.HasPrefix(e.Key, "$"), e.Key == "lsid", e.Key == "txnNumber", e.Key == "writeConcern", e.Key == "comment":
		default:
			return nil, mongoerr.New(mongoerr.InvalidOptions, "collMod option '%s' is not supported by mongolocal", e.Key)
		}
	}
	return bson.D{}, s.write(func(w *writeTxn) error {
		if w.ns(h) == nil {
			return mongoerr.New(mongoerr.NamespaceNotFound, "ns does not exist: %s", h.String())
		}
		if change == nil {
			return nil
		}
		opts := bson.D{}
		for _, e := range w.opts[h] {
			if e.Key != "changeStreamPreAndPostImages" {
				opts = append(opts, e)
			}
		}
		if truthy(change[0].Value) {
			opts = append(opts, bson.E{Key: "changeStreamPreAndPostImages", Value: change})
		}
		w.setOptions(h, opts)
		return nil
	})
}

func cmdDrop(_ context.Context, s *Server, cmd *command) (bson.D, error) {
	coll, err := cmd.collection()
	if err != nil {
		return nil, err
	}
	if err := s.checkWritable(cmd, coll); err != nil {
		return nil, err
	}
	h := lungo.Handle{cmd.DB, coll}
	var nIndexes int
	err = s.write(func(w *writeTxn) error {
		ns := w.ns(h)
		if ns == nil {
			return nil // MongoDB 7.0 drops a missing collection successfully
		}
		nIndexes = len(ns.Indexes)
		w.drop(h)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return bson.D{{Key: "nIndexesWas", Value: int32(nIndexes)}, {Key: "ns", Value: h.String()}}, nil
}

func cmdDropDatabase(_ context.Context, s *Server, cmd *command) (bson.D, error) {
	if cmd.DB == lungo.Local {
		return nil, mongoerr.New(mongoerr.IllegalOperation, "Cannot drop 'local' database while replication is active")
	}
	return bson.D{}, s.write(func(w *writeTxn) error {
		w.dropDatabase(cmd.DB)
		return nil
	})
}

// splitNS splits "db.coll".
func splitNS(ns string) (lungo.Handle, bool) {
	db, coll, ok := strings.Cut(ns, ".")
	if !ok || db == "" || coll == "" {
		return lungo.Handle{}, false
	}
	return lungo.Handle{db, coll}, true
}

// cmdRenameCollection moves a collection in one transaction and logs one
// rename event (after a drop event for a dropped target).
func cmdRenameCollection(_ context.Context, s *Server, cmd *command) (bson.D, error) {
	if cmd.DB != "admin" {
		return nil, mongoerr.New(mongoerr.Unauthorized, "renameCollection may only be run against the admin database.")
	}
	fromNS, _ := cmd.first().(string)
	toNS, _, err := cmd.string("to")
	if err != nil {
		return nil, err
	}
	from, ok1 := splitNS(fromNS)
	to, ok2 := splitNS(toNS)
	if !ok1 || !ok2 {
		return nil, mongoerr.New(mongoerr.InvalidNamespace, "Invalid namespace specified '%s'", fromNS)
	}
	if from[0] == lungo.Local || to[0] == lungo.Local || strings.HasPrefix(to[1], "system.") {
		return nil, mongoerr.New(mongoerr.IllegalOperation, "cannot rename to or from %s", toNS)
	}
	dropTarget := cmd.boolField("dropTarget", false)
	return bson.D{}, s.write(func(w *writeTxn) error {
		if w.ns(from) == nil {
			return mongoerr.New(mongoerr.NamespaceNotFound, "Source collection %s does not exist", from.String())
		}
		if from == to {
			return mongoerr.New(mongoerr.IllegalOperation, "Can't rename a collection to itself")
		}
		if w.ns(to) != nil {
			if !dropTarget {
				return mongoerr.New(mongoerr.NamespaceExists, "target namespace exists")
			}
			w.drop(to)
		}
		w.rename(from, to)
		return nil
	})
}

func cmdDBStats(_ context.Context, s *Server, cmd *command) (bson.D, error) {
	cat := s.store.snapshot().Catalog()
	colls, objects, indexes := 0, 0, 0
	for h, ns := range cat.Namespaces {
		if h[0] != cmd.DB || hidden(h) {
			continue
		}
		colls++
		objects += len(ns.Documents.List)
		indexes += len(ns.Indexes)
	}
	return bson.D{
		{Key: "db", Value: cmd.DB},
		{Key: "collections", Value: int64(colls)},
		{Key: "views", Value: int64(0)},
		{Key: "objects", Value: int64(objects)},
		{Key: "indexes", Value: int64(indexes)},
	}, nil
}

func cmdCollStats(_ context.Context, s *Server, cmd *command) (bson.D, error) {
	coll, err := cmd.collection()
	if err != nil {
		return nil, err
	}
	h := lungo.Handle{cmd.DB, coll}
	ns := s.store.snapshot().Catalog().Namespaces[h]
	if ns == nil {
		return nil, mongoerr.New(mongoerr.NamespaceNotFound, "Collection [%s] not found.", h.String())
	}
	return bson.D{
		{Key: "ns", Value: h.String()},
		{Key: "count", Value: int64(len(ns.Documents.List))},
		{Key: "nindexes", Value: int64(len(ns.Indexes))},
	}, nil
}
