package mongolocal

import (
	"context"
	"time"

	"github.com/256dpi/lungo"
	"github.com/256dpi/lungo/bsonkit"
	"github.com/256dpi/lungo/mongokit"
	"go.mongodb.org/mongo-driver/bson"

	"github.com/changerelay/changerelay/infra/mongolocal/mongoerr"
)

type indexSpec struct {
	name   string
	config mongokit.IndexConfig
}

func parseIndexSpec(d bson.D) (indexSpec, *mongoerr.Error) {
	var spec indexSpec
	for _, e := range d {
		switch e.Key {
		case "key":
			key, ok := e.Value.(bson.D)
			if !ok || len(key) == 0 {
				return spec, mongoerr.New(mongoerr.CannotCreateIndex, "Index keys cannot be empty.")
			}
			for _, k := range key {
				if _, isNum := toInt64(k.Value); !isNum {
					if f, ok := k.Value.(float64); !ok || f == 0 {
						return spec, mongoerr.New(mongoerr.CannotCreateIndex, "Index type '%v' on field '%s' is not supported by mongolocal", k.Value, k.Key)
					}
				}
			}
			norm := make(bson.D, 0, len(key))
			for _, k := range key {
				n, _ := toInt64(k.Value)
				if f, ok := k.Value.(float64); ok && n == 0 {
					n = 1
					if f < 0 {
						n = -1
					}
				}
				if n == 0 {
					return spec, mongoerr.New(mongoerr.CannotCreateIndex, "Values in the index key pattern can't be 0 (field '%s')", k.Key)
				}
				dir := int32(1)
				if n < 0 {
					dir = -1
				}
				norm = append(norm, bson.E{Key: k.Key, Value: dir})
			}
			spec.config.Key = &norm
		case "name":
			name, ok := e.Value.(string)
			if !ok || name == "" {
				return spec, mongoerr.New(mongoerr.TypeMismatch, "The field 'name' must be a non-empty string")
			}
			spec.name = name
		case "unique":
			spec.config.Unique = truthy(e.Value)
		case "partialFilterExpression":
			pf, ok := e.Value.(bson.D)
			if !ok {
				return spec, mongoerr.New(mongoerr.TypeMismatch, "The field 'partialFilterExpression' must be an object")
			}
			spec.config.Partial = &pf
		case "expireAfterSeconds":
			n, ok := toInt64(e.Value)
			if !ok || n < 0 {
				return spec, mongoerr.New(mongoerr.InvalidOptions, "TTL index 'expireAfterSeconds' option must be a non-negative integer")
			}
			spec.config.Expiry = time.Duration(n) * time.Second
		case "sparse":
			if truthy(e.Value) {
				return spec, mongoerr.New(mongoerr.CannotCreateIndex, "sparse indexes are not supported by mongolocal (use partialFilterExpression)")
			}
		case "collation":
			if c, _ := e.Value.(bson.D); c != nil {
				if loc, _ := lookupD(c, "locale"); loc != "simple" {
					return spec, mongoerr.New(mongoerr.NotImplemented, "collation is not supported by mongolocal")
				}
			}
		case "v", "background", "ns", "hidden":
		default:
			return spec, mongoerr.New(mongoerr.CannotCreateIndex, "index option '%s' is not supported by mongolocal", e.Key)
		}
	}
	if spec.config.Key == nil {
		return spec, mongoerr.New(mongoerr.FailedToParse, "The 'key' field is a required property of an index specification")
	}
	if spec.name == "" {
		return spec, mongoerr.New(mongoerr.FailedToParse, "The 'name' field is a required property of an index specification")
	}
	return spec, nil
}

func cmdCreateIndexes(_ context.Context, s *Server, cmd *command) (bson.D, error) {
	coll, err := cmd.collection()
	if err != nil {
		return nil, err
	}
	if err := s.checkWritable(cmd, coll); err != nil {
		return nil, err
	}
	raw, _, err := cmd.array("indexes")
	if err != nil {
		return nil, err
	}
	if len(raw) == 0 {
		return nil, mongoerr.New(mongoerr.BadValue, "Must specify at least one index to create")
	}
	specs := make([]indexSpec, 0, len(raw))
	for _, v := range raw {
		d, ok := v.(bson.D)
		if !ok {
			return nil, mongoerr.New(mongoerr.TypeMismatch, "index specification must be an object")
		}
		spec, e := parseIndexSpec(d)
		if e != nil {
			return nil, e
		}
		specs = append(specs, spec)
	}
	h := lungo.Handle{cmd.DB, coll}
	var before, after int
	created := false
	err = s.write(func(w *writeTxn) error {
		created = w.create(h)
		ns := w.ns(h)
		before = len(ns.Indexes)
		for _, spec := range specs {
			if existing := ns.Indexes[spec.name]; existing != nil {
				if !existing.Config().Equal(spec.config) {
					return mongoerr.New(mongoerr.IndexKeySpecsConflict, "An existing index has the same name as the requested index. When index names are not specified, they are auto generated and can cause conflicts. Please refer to our documentation. Requested index: %v, existing index: %v", *spec.config.Key, *existing.Config().Key)
				}
				continue
			}
			for name, idx := range ns.Indexes {
				if bsonkit.Compare(*idx.Config().Key, *spec.config.Key) == 0 {
					if idx.Config().Equal(spec.config) {
						return mongoerr.New(mongoerr.IndexOptionsConflict, "Index already exists with a different name: %s", name)
					}
					return mongoerr.New(mongoerr.IndexOptionsConflict, "An equivalent index already exists with the same name but different options. Requested index: %s, existing index: %s", spec.name, name)
				}
			}
			if e := w.createIndex(h, spec.name, spec.config); e != nil {
				return e
			}
			ns = w.ns(h)
		}
		after = len(ns.Indexes)
		return nil
	})
	if err != nil {
		return nil, err
	}
	out := bson.D{
		{Key: "numIndexesBefore", Value: int32(before)},
		{Key: "numIndexesAfter", Value: int32(after)},
		{Key: "createdCollectionAutomatically", Value: created},
	}
	if before == after {
		out = append(out, bson.E{Key: "note", Value: "all indexes already exist"})
	}
	return out, nil
}

func cmdListIndexes(_ context.Context, s *Server, cmd *command) (bson.D, error) {
	coll, err := cmd.collection()
	if err != nil {
		return nil, err
	}
	h := lungo.Handle{cmd.DB, coll}
	txn := s.store.snapshot()
	if txn.Catalog().Namespaces[h] == nil {
		return nil, mongoerr.New(mongoerr.NamespaceNotFound, "ns does not exist: %s", h.String())
	}
	list, err := txn.ListIndexes(h)
	if err != nil {
		return nil, engineError(err, inQuery, h, nil, nil)
	}
	docs, err := marshalList(list)
	if err != nil {
		return nil, err
	}
	return s.cursorReply(h.String(), docs, 0, false, "firstBatch"), nil
}

func cmdDropIndexes(_ context.Context, s *Server, cmd *command) (bson.D, error) {
	coll, err := cmd.collection()
	if err != nil {
		return nil, err
	}
	h := lungo.Handle{cmd.DB, coll}
	target, ok := cmd.get("index")
	if !ok {
		return nil, mongoerr.New(mongoerr.FailedToParse, "BSON field 'dropIndexes.index' is missing but a required field")
	}
	var was int
	err = s.write(func(w *writeTxn) error {
		ns := w.ns(h)
		if ns == nil {
			return mongoerr.New(mongoerr.NamespaceNotFound, "ns not found %s", h.String())
		}
		was = len(ns.Indexes)
		var names []string
		switch t := target.(type) {
		case string:
			if t == "*" {
				for name := range ns.Indexes {
					if name != "_id_" {
						names = append(names, name)
					}
				}
			} else {
				names = []string{t}
			}
		case bson.A:
			for _, v := range t {
				name, ok := v.(string)
				if !ok {
					return mongoerr.New(mongoerr.TypeMismatch, "dropIndexes index names must be strings")
				}
				names = append(names, name)
			}
		case bson.D:
			for name, idx := range ns.Indexes {
				if bsonkit.Compare(*idx.Config().Key, t) == 0 {
					names = append(names, name)
				}
			}
			if len(names) == 0 {
				return mongoerr.New(mongoerr.IndexNotFound, "can't find index with key: %v", t)
			}
		default:
			return mongoerr.New(mongoerr.TypeMismatch, "BSON field 'dropIndexes.index' is the wrong type")
		}
		for _, name := range names {
			if name == "_id_" {
				return mongoerr.New(mongoerr.InvalidOptions, "cannot drop _id index")
			}
			if ns.Indexes[name] == nil {
				return mongoerr.New(mongoerr.IndexNotFound, "index not found with name [%s]", name)
			}
			w.dropIndex(h, name)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return bson.D{{Key: "nIndexesWas", Value: int32(was)}}, nil
}
