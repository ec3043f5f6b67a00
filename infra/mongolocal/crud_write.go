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

// writeErrors collects per-statement failures the way mongod reports them.
type writeErrors bson.A

func (we *writeErrors) add(index int, e *mongoerr.Error) {
	*we = append(*we, bson.D{
		{Key: "index", Value: int32(index)},
		{Key: "code", Value: int32(e.Code)},
		{Key: "codeName", Value: e.CodeName()},
		{Key: "errmsg", Value: e.Msg},
	})
}

func (s *Server) checkWritable(cmd *command, coll string) error {
	if cmd.DB == lungo.Local {
		return mongoerr.New(mongoerr.IllegalOperation, "cannot write to '%s.%s'", cmd.DB, coll)
	}
	if strings.HasPrefix(coll, "system.") {
		return mongoerr.New(mongoerr.InvalidNamespace, "cannot write to '%s.%s'", cmd.DB, coll)
	}
	return nil
}

func statements(cmd *command, key string) ([]bson.D, error) {
	arr, ok, err := cmd.array(key)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, mongoerr.New(mongoerr.FailedToParse, "BSON field '%s.%s' is missing but a required field", cmd.Name, key)
	}
	if len(arr) > 100000 {
		return nil, mongoerr.New(mongoerr.InvalidLength, "Write batch sizes must be between 1 and 100000. Got %d operations.", len(arr))
	}
	out := make([]bson.D, 0, len(arr))
	for _, v := range arr {
		d, ok := v.(bson.D)
		if !ok {
			return nil, mongoerr.New(mongoerr.TypeMismatch, "BSON field '%s.%s' must be an array of objects", cmd.Name, key)
		}
		out = append(out, d)
	}
	return out, nil
}

// validateDocument checks a document before it is stored.
func validateDocument(d bson.D) *mongoerr.Error {
	for _, e := range d {
		if e.Key == "_id" {
			switch e.Value.(type) {
			case bson.A:
				return mongoerr.New(mongoerr.InvalidIdField, "The '_id' value cannot be of type array")
			case primitive.Regex:
				return mongoerr.New(mongoerr.InvalidIdField, "The '_id' value cannot be of type regex")
			case primitive.Undefined:
				return mongoerr.New(mongoerr.InvalidIdField, "The '_id' value cannot be of type undefined")
			}
			if sub, ok := e.Value.(bson.D); ok {
				for _, f := range sub {
					if strings.HasPrefix(f.Key, "$") {
						return mongoerr.New(mongoerr.DollarPrefixedFieldName, "_id fields may not contain '$'-prefixed fields: %s is not valid for storage.", f.Key)
					}
				}
			}
		}
	}
	return nil
}

// writeStatements parses what insert, update and delete share: the target
// collection (refused when not writable), its statements under key, and the
// ordered flag.
func (s *Server) writeStatements(cmd *command, key string) (lungo.Handle, []bson.D, bool, error) {
	coll, err := cmd.collection()
	if err != nil {
		return lungo.Handle{}, nil, false, err
	}
	if err := s.checkWritable(cmd, coll); err != nil {
		return lungo.Handle{}, nil, false, err
	}
	stmts, err := statements(cmd, key)
	if err != nil {
		return lungo.Handle{}, nil, false, err
	}
	return lungo.Handle{cmd.DB, coll}, stmts, cmd.boolField("ordered", true), nil
}

func cmdInsert(_ context.Context, s *Server, cmd *command) (bson.D, error) {
	h, docs, ordered, err := s.writeStatements(cmd, "documents")
	if err != nil {
		return nil, err
	}
	var errs writeErrors
	n := 0
	err = s.write(func(w *writeTxn) error {
		var c *mongokit.Collection
		for i, d := range docs {
			e := validateDocument(d)
			if e == nil {
				if c == nil {
					c = w.writable(h, true)
				}
				doc := d
				e = w.insertOne(h, c, &doc)
			}
			if e != nil {
				errs.add(i, e)
				if ordered {
					break
				}
				continue
			}
			n++
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	out := bson.D{{Key: "n", Value: int32(n)}}
	if len(errs) > 0 {
		out = append(out, bson.E{Key: "writeErrors", Value: bson.A(errs)})
	}
	return out, nil
}

// updateStatement is one entry of update.updates.
type updateStatement struct {
	q, u         bsonkit.Doc
	replacement  bool
	upsert       bool
	multi        bool
	arrayFilters bsonkit.List
}

func parseUpdateStatement(d bson.D) (updateStatement, *mongoerr.Error) {
	st := updateStatement{q: &bson.D{}}
	for _, e := range d {
		switch e.Key {
		case "q":
			q, ok := e.Value.(bson.D)
			if !ok {
				return st, mongoerr.New(mongoerr.TypeMismatch, "BSON field 'update.updates.q' is the wrong type '%s', expected type 'object'", typeName(e.Value))
			}
			st.q = &q
		case "u":
			switch u := e.Value.(type) {
			case bson.D:
				st.u = &u
			case bson.A:
				return st, mongoerr.New(mongoerr.NotImplemented, "pipeline-style updates are not supported by mongolocal")
			default:
				return st, mongoerr.New(mongoerr.FailedToParse, "Update argument must be either an object or an array")
			}
		case "upsert":
			st.upsert = truthy(e.Value)
		case "multi":
			st.multi = truthy(e.Value)
		case "arrayFilters":
			arr, ok := e.Value.(bson.A)
			if !ok {
				return st, mongoerr.New(mongoerr.TypeMismatch, "BSON field 'update.updates.arrayFilters' is the wrong type")
			}
			for _, f := range arr {
				fd, ok := f.(bson.D)
				if !ok {
					return st, mongoerr.New(mongoerr.TypeMismatch, "arrayFilters must be objects")
				}
				st.arrayFilters = append(st.arrayFilters, &fd)
			}
		case "collation":
			if c, _ := e.Value.(bson.D); c != nil {
				if loc, _ := lookupD(c, "locale"); loc != "simple" {
					return st, mongoerr.New(mongoerr.NotImplemented, "collation is not supported by mongolocal")
				}
			}
		case "hint", "c", "sort":
		}
	}
	if st.u == nil {
		return st, mongoerr.New(mongoerr.FailedToParse, "BSON field 'update.updates.u' is missing but a required field")
	}
	st.replacement = isReplacement(*st.u)
	if st.replacement {
		if st.multi {
			return st, mongoerr.New(mongoerr.FailedToParse, "multi update is not supported for replacement-style update")
		}
		for _, e := range *st.u {
			if strings.HasPrefix(e.Key, "$") {
				return st, mongoerr.New(mongoerr.DollarPrefixedFieldName, "The dollar ($) prefixed field '%s' in '%s' is not allowed in the context of an update's replacement document.", e.Key, e.Key)
			}
		}
		if e := validateDocument(*st.u); e != nil {
			return st, e
		}
	} else {
		for _, e := range *st.u {
			if _, known := mongokit.FieldUpdateOperators[e.Key]; !known {
				return st, mongoerr.New(mongoerr.FailedToParse, "Unknown modifier: %s. Expected a valid update modifier or pipeline-style update specified as an array", e.Key)
			}
			if _, isDoc := e.Value.(bson.D); !isDoc {
				return st, mongoerr.New(mongoerr.FailedToParse, "Modifiers operate on fields but we found type %s instead. For example: {$mod: {<field>: ...}} not {%s: %v}", typeName(e.Value), e.Key, e.Value)
			}
		}
	}
	q, e := prepareFilter(*st.q)
	if e != nil {
		return st, e
	}
	st.q = q
	return st, nil
}

// isReplacement reports whether u is a replacement document (no operators).
func isReplacement(u bson.D) bool {
	return len(u) == 0 || !strings.HasPrefix(u[0].Key, "$")
}

// updateOutcome is what one update statement did.
type updateOutcome struct {
	matched, modified int
	upserted          bsonkit.Doc
	before            bsonkit.Doc // first matched document before the write
	after             bsonkit.Doc // first document after the write
}

func cmdUpdate(_ context.Context, s *Server, cmd *command) (bson.D, error) {
	h, stmts, ordered, err := s.writeStatements(cmd, "updates")
	if err != nil {
		return nil, err
	}
	var errs writeErrors
	upserted := bson.A{}
	n, nModified := 0, 0
	err = s.write(func(w *writeTxn) error {
		for i, d := range stmts {
			st, e := parseUpdateStatement(d)
			if e == nil {
				var out updateOutcome
				out, e = w.update(h, st, nil)
				if e == nil {
					if out.upserted != nil {
						n++
						upserted = append(upserted, bson.D{{Key: "index", Value: int32(i)}, {Key: "_id", Value: bsonkit.Get(out.upserted, "_id")}})
					} else {
						n += out.matched
						nModified += out.modified
					}
					continue
				}
			}
			errs.add(i, e)
			if ordered {
				break
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	out := bson.D{{Key: "n", Value: int32(n)}, {Key: "nModified", Value: int32(nModified)}}
	if len(upserted) > 0 {
		out = append(out, bson.E{Key: "upserted", Value: upserted})
	}
	if len(errs) > 0 {
		out = append(out, bson.E{Key: "writeErrors", Value: bson.A(errs)})
	}
	return out, nil
}

func cmdDelete(_ context.Context, s *Server, cmd *command) (bson.D, error) {
	h, stmts, ordered, err := s.writeStatements(cmd, "deletes")
	if err != nil {
		return nil, err
	}
	var errs writeErrors
	n := 0
	err = s.write(func(w *writeTxn) error {
		for i, d := range stmts {
			q, hasQ := lookupD(d, "q")
			query, isDoc := q.(bson.D)
			limitV, hasLimit := lookupD(d, "limit")
			limit, isNum := toInt64(limitV)
			switch {
			case !hasQ || !isDoc && q != nil:
				errs.add(i, mongoerr.New(mongoerr.FailedToParse, "BSON field 'delete.deletes.q' is missing or not an object"))
			case !hasLimit || !isNum || (limit != 0 && limit != 1):
				errs.add(i, mongoerr.New(mongoerr.FailedToParse, "The limit field in delete objects must be 0 or 1. Got %v", limitV))
			default:
				filter, e := prepareFilter(query)
				if e != nil {
					errs.add(i, e)
					break
				}
				matched, e := w.remove(h, filter, nil, int(limit))
				if e != nil {
					errs.add(i, e)
					break
				}
				n += len(matched)
				continue
			}
			if ordered {
				break
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	out := bson.D{{Key: "n", Value: int32(n)}}
	if len(errs) > 0 {
		out = append(out, bson.E{Key: "writeErrors", Value: bson.A(errs)})
	}
	return out, nil
}
