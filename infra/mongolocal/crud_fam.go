package mongolocal

import (
	"context"

	"github.com/256dpi/lungo"
	"github.com/256dpi/lungo/bsonkit"
	"github.com/256dpi/lungo/mongokit"
	"go.mongodb.org/mongo-driver/bson"

	"github.com/changerelay/changerelay/infra/mongolocal/mongoerr"
)

func cmdFindAndModify(_ context.Context, s *Server, cmd *command) (bson.D, error) {
	coll, err := cmd.collection()
	if err != nil {
		return nil, err
	}
	if err := s.checkWritable(cmd, coll); err != nil {
		return nil, err
	}
	h := lungo.Handle{cmd.DB, coll}
	query, err := cmd.filterDoc("query")
	if err != nil {
		return nil, err
	}
	sort, err := cmd.optDoc("sort")
	if err != nil {
		return nil, err
	}
	fields, err := cmd.optDoc("fields")
	if err != nil {
		return nil, err
	}
	if err := checkCollation(cmd); err != nil {
		return nil, err
	}
	remove := cmd.boolField("remove", false)
	returnNew := cmd.boolField("new", false)
	upsert := cmd.boolField("upsert", false)
	_, hasUpdate := cmd.get("update")
	switch {
	case remove && hasUpdate:
		return nil, mongoerr.New(mongoerr.FailedToParse, "Cannot specify both an update and remove=true")
	case !remove && !hasUpdate:
		return nil, mongoerr.New(mongoerr.FailedToParse, "Either an update or remove=true must be specified")
	case remove && (upsert || returnNew):
		return nil, mongoerr.New(mongoerr.FailedToParse, "Cannot specify both upsert=true and remove=true")
	}
	var st updateStatement
	if hasUpdate {
		d := bson.D{{Key: "q", Value: *query}, {Key: "upsert", Value: upsert}}
		u, _ := cmd.get("update")
		d = append(d, bson.E{Key: "u", Value: u})
		if af, ok := cmd.get("arrayFilters"); ok {
			d = append(d, bson.E{Key: "arrayFilters", Value: af})
		}
		var e *mongoerr.Error
		if st, e = parseUpdateStatement(d); e != nil {
			return nil, e
		}
	}

	var value bsonkit.Doc
	lastError := bson.D{}
	err = s.write(func(w *writeTxn) error {
		if remove {
			matched, e := w.remove(h, query, sort, 1)
			if e != nil {
				return e
			}
			if len(matched) > 0 {
				value = matched[0]
			}
			lastError = bson.D{{Key: "n", Value: int32(len(matched))}}
			return nil
		}
		out, e := w.update(h, st, sort)
		if e != nil {
			return e
		}
		switch {
		case out.upserted != nil:
			lastError = bson.D{{Key: "n", Value: int32(1)}, {Key: "updatedExisting", Value: false}, {Key: "upserted", Value: bsonkit.Get(out.upserted, "_id")}}
			if returnNew {
				value = out.upserted
			}
		case out.matched > 0:
			lastError = bson.D{{Key: "n", Value: int32(1)}, {Key: "updatedExisting", Value: true}}
			if returnNew {
				value = out.after
			} else {
				value = out.before
			}
		default:
			lastError = bson.D{{Key: "n", Value: int32(0)}, {Key: "updatedExisting", Value: false}}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	var v any
	if value != nil {
		if fields != nil && len(*fields) > 0 {
			projected, err := mongokit.Project(value, fields)
			if err != nil {
				return nil, engineError(err, inProjection, h, nil, nil)
			}
			value = projected
		}
		v = *value
	}
	return bson.D{{Key: "lastErrorObject", Value: lastError}, {Key: "value", Value: v}}, nil
}
