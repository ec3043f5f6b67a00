package mongolocal

import (
	"context"
	"strings"

	"github.com/256dpi/lungo"
	"github.com/256dpi/lungo/bsonkit"
	"github.com/256dpi/lungo/mongokit"
	"go.mongodb.org/mongo-driver/bson"

	"github.com/changerelay/changerelay/infra/mongolocal/changestream"
	"github.com/changerelay/changerelay/infra/mongolocal/mongoerr"
)

// stage runs one aggregation stage over a list of documents.
type stage func(list bsonkit.List, arg any) (bsonkit.List, error)

var stages map[string]stage

func init() {
	stages = map[string]stage{
		"$match":     stageMatch,
		"$sort":      stageSort,
		"$skip":      stageSkip,
		"$limit":     stageLimit,
		"$project":   stageProject,
		"$unwind":    stageUnwind,
		"$group":     stageGroup,
		"$count":     stageCount,
		"$addFields": stageAddFields,
		"$set":       stageAddFields,
	}
}

func cmdAggregate(ctx context.Context, s *Server, cmd *command) (bson.D, error) {
	var coll string
	switch v := cmd.first().(type) {
	case string:
		c, err := cmd.collection()
		if err != nil {
			return nil, err
		}
		coll = c
	default:
		if n, ok := toInt64(v); !ok || n != 1 {
			return nil, mongoerr.New(mongoerr.FailedToParse, "Invalid aggregate namespace: 'aggregate' must be a collection name or 1")
		}
	}
	pipeline, ok, err := cmd.array("pipeline")
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, mongoerr.New(mongoerr.FailedToParse, "BSON field 'aggregate.pipeline' is missing but a required field")
	}
	if cmd.boolField("explain", false) {
		return nil, mongoerr.New(mongoerr.NotImplemented, "aggregate explain is not supported by mongolocal")
	}
	cursorOpts, hasCursor, err := cmd.doc("cursor")
	if err != nil {
		return nil, err
	}
	if !hasCursor {
		return nil, mongoerr.New(mongoerr.FailedToParse, "The 'cursor' option is required, except for aggregate with the explain argument")
	}
	batchSize := defaultBatchSize
	if v, ok := lookupD(cursorOpts, "batchSize"); ok {
		n, isNum := toInt64(v)
		if !isNum || n < 0 {
			return nil, mongoerr.New(mongoerr.BadValue, "cursor.batchSize must be a non-negative number")
		}
		batchSize = int(n)
		if n == 0 {
			batchSize = -1
		}
	}
	if err := checkCollation(cmd); err != nil {
		return nil, err
	}

	specs := make([]bson.D, 0, len(pipeline))
	for i, v := range pipeline {
		d, ok := v.(bson.D)
		if !ok || len(d) != 1 {
			return nil, mongoerr.New(mongoerr.Location40323, "A pipeline stage specification object must contain exactly one field.")
		}
		if d[0].Key == "$changeStream" && i > 0 {
			return nil, mongoerr.New(40602, "$changeStream is only valid as the first stage in a pipeline")
		}
		specs = append(specs, d)
	}
	if len(specs) > 0 && specs[0][0].Key == "$changeStream" {
		return s.openChangeStream(ctx, cmd, coll, specs, batchSize)
	}
	if coll == "" {
		name := "$match"
		if len(specs) > 0 {
			name = specs[0][0].Key
		}
		return nil, mongoerr.New(mongoerr.InvalidNamespace, "{aggregate: 1} is not valid for '%s'; a collection is required.", name)
	}
	for _, spec := range specs {
		if _, ok := stages[spec[0].Key]; !ok {
			return nil, unknownStage(spec[0].Key)
		}
	}

	h := lungo.Handle{cmd.DB, coll}
	list := bsonkit.List{}
	if ns := s.store.snapshot().Catalog().Namespaces[h]; ns != nil {
		list = ns.Documents.List
	}
	for _, spec := range specs {
		list, err = stages[spec[0].Key](list, spec[0].Value)
		if err != nil {
			if me, ok := err.(*mongoerr.Error); ok {
				return nil, me
			}
			return nil, engineError(err, inQuery, h, nil, nil)
		}
	}
	docs, err := marshalList(list)
	if err != nil {
		return nil, err
	}
	return s.cursorReply(h.String(), docs, batchSize, false, "firstBatch"), nil
}

func unknownStage(name string) error {
	known := map[string]bool{"$lookup": true, "$facet": true, "$out": true, "$merge": true, "$bucket": true,
		"$bucketAuto": true, "$graphLookup": true, "$replaceRoot": true, "$replaceWith": true, "$sample": true,
		"$sortByCount": true, "$unionWith": true, "$redact": true, "$geoNear": true, "$densify": true, "$fill": true,
		"$setWindowFields": true, "$unset": true, "$indexStats": true, "$collStats": true, "$currentOp": true,
		"$listSessions": true, "$documents": true, "$changeStreamSplitLargeEvent": true}
	if known[name] {
		return mongoerr.New(mongoerr.UnrecognizedPipelineStage, "Unrecognized pipeline stage name: '%s' (mongolocal does not support it)", name)
	}
	return mongoerr.New(mongoerr.UnrecognizedPipelineStage, "Unrecognized pipeline stage name: '%s'", name)
}

func (s *Server) openChangeStream(ctx context.Context, cmd *command, coll string, specs []bson.D, batchSize int) (bson.D, error) {
	raws := make([]bson.Raw, 0, len(specs))
	for _, spec := range specs {
		b, err := bson.Marshal(spec)
		if err != nil {
			return nil, mongoerr.New(mongoerr.BadValue, "invalid pipeline stage: %v", err)
		}
		raws = append(raws, b)
	}
	cur, err := s.changes.Watch(ctx, changestream.Request{DB: cmd.DB, Coll: coll, Pipeline: raws})
	if err != nil {
		return nil, mongoerr.As(err)
	}
	var first changestream.Batch
	if batchSize < 0 {
		// cursor: {batchSize: 0}: open the stream, read nothing yet
		first.PostBatchResumeToken = cur.PostBatchResumeToken()
	} else {
		first, err = cur.Next(ctx, batchSize, 0)
		if err != nil {
			cur.Close()
			return nil, mongoerr.As(err)
		}
	}
	ns := cmd.DB + "." + coll
	if coll == "" {
		ns = cmd.DB + ".$cmd.aggregate"
	}
	var id int64
	if first.Exhausted {
		cur.Close()
	} else {
		id = s.cursors.add(&cursor{ns: ns, stream: cur})
	}
	return changeBatchReply(id, ns, "firstBatch", first), nil
}

func changeBatchReply(id int64, ns, field string, b changestream.Batch) bson.D {
	events := make(bson.A, 0, len(b.Events))
	for _, e := range b.Events {
		events = append(events, e)
	}
	c := bson.D{{Key: field, Value: events}}
	if b.PostBatchResumeToken != nil {
		c = append(c, bson.E{Key: "postBatchResumeToken", Value: b.PostBatchResumeToken})
	}
	c = append(c, bson.E{Key: "id", Value: id}, bson.E{Key: "ns", Value: ns})
	return bson.D{{Key: "cursor", Value: c}}
}

// --- stages ------------------------------------------------------------------

func stageMatch(list bsonkit.List, arg any) (bsonkit.List, error) {
	q, ok := arg.(bson.D)
	if !ok {
		return nil, mongoerr.New(15959, "the match filter must be an expression in an object")
	}
	f, e := prepareFilter(q)
	if e != nil {
		return nil, e
	}
	return mongokit.Filter(list, f, 0)
}

func stageSort(list bsonkit.List, arg any) (bsonkit.List, error) {
	d, ok := arg.(bson.D)
	if !ok || len(d) == 0 {
		return nil, mongoerr.New(15973, "the $sort key specification must be an object")
	}
	for _, e := range d {
		if _, isDoc := e.Value.(bson.D); isDoc {
			return nil, mongoerr.New(17312, "$meta sort is not supported by mongolocal")
		}
	}
	return mongokit.Sort(list, &d)
}

func stageSkip(list bsonkit.List, arg any) (bsonkit.List, error) {
	n, ok := toInt64(arg)
	if !ok || n < 0 {
		return nil, mongoerr.New(15956, "invalid argument to $skip stage: Expected a non-negative number in: $skip: %v", arg)
	}
	if int(n) >= len(list) {
		return bsonkit.List{}, nil
	}
	return list[n:], nil
}

func stageLimit(list bsonkit.List, arg any) (bsonkit.List, error) {
	n, ok := toInt64(arg)
	if !ok || n <= 0 {
		return nil, mongoerr.New(15958, "invalid argument to $limit stage: Expected a positive number in: $limit: %v", arg)
	}
	if int(n) < len(list) {
		return list[:n], nil
	}
	return list, nil
}

func stageCount(list bsonkit.List, arg any) (bsonkit.List, error) {
	name, ok := arg.(string)
	if !ok || name == "" || strings.HasPrefix(name, "$") || strings.Contains(name, ".") {
		return nil, mongoerr.New(40156, "the count field must be a non-empty string that does not start with '$' or contain '.'")
	}
	if len(list) == 0 {
		return bsonkit.List{}, nil
	}
	return bsonkit.List{&bson.D{{Key: name, Value: int32(len(list))}}}, nil
}

func stageUnwind(list bsonkit.List, arg any) (bsonkit.List, error) {
	var path, indexField string
	preserve := false
	switch a := arg.(type) {
	case string:
		path = a
	case bson.D:
		for _, e := range a {
			switch e.Key {
			case "path":
				path, _ = e.Value.(string)
			case "includeArrayIndex":
				indexField, _ = e.Value.(string)
			case "preserveNullAndEmptyArrays":
				preserve = truthy(e.Value)
			default:
				return nil, mongoerr.New(28811, "unrecognized option to $unwind stage: %s", e.Key)
			}
		}
	default:
		return nil, mongoerr.New(15981, "expected either a string or an object as specification for $unwind stage")
	}
	if !strings.HasPrefix(path, "$") || len(path) < 2 {
		return nil, mongoerr.New(28818, "path option to $unwind stage should be prefixed with a '$': %s", path)
	}
	field := path[1:]
	out := bsonkit.List{}
	for _, doc := range list {
		v := bsonkit.Get(doc, field)
		arr, isArr := v.(bson.A)
		switch {
		case isArr && len(arr) > 0:
			for i, item := range arr {
				c := bsonkit.Clone(doc)
				if _, err := bsonkit.Put(c, field, item, false); err != nil {
					return nil, err
				}
				if indexField != "" {
					if _, err := bsonkit.Put(c, indexField, int64(i), false); err != nil {
						return nil, err
					}
				}
				out = append(out, c)
			}
		case !isArr && v != bsonkit.Missing && v != nil:
			c := doc
			if indexField != "" {
				c = bsonkit.Clone(doc)
				if _, err := bsonkit.Put(c, indexField, nil, false); err != nil {
					return nil, err
				}
			}
			out = append(out, c)
		case preserve:
			c := doc
			if indexField != "" {
				c = bsonkit.Clone(doc)
				if _, err := bsonkit.Put(c, indexField, nil, false); err != nil {
					return nil, err
				}
			}
			out = append(out, c)
		}
	}
	return out, nil
}
