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

const (
	defaultBatchSize = 101
	// batchBytes bounds one reply batch like mongod's 16 MB limit.
	batchBytes = maxBSONSize - 64*1024
)

// optDoc reads an optional document field as a bsonkit.Doc (nil if absent).
func (c *command) optDoc(key string) (bsonkit.Doc, error) {
	d, ok, err := c.doc(key)
	if err != nil || !ok {
		return nil, err
	}
	return &d, nil
}

// filterDoc reads a query filter field; absent means match everything.
func (c *command) filterDoc(key string) (bsonkit.Doc, error) {
	d, err := c.optDoc(key)
	if err != nil {
		return nil, err
	}
	if d == nil {
		return &bson.D{}, nil
	}
	f, e := prepareFilter(*d)
	if e != nil {
		return nil, e
	}
	return f, nil
}

func checkCollation(c *command) error {
	d, ok, err := c.doc("collation")
	if err != nil || !ok {
		return err
	}
	if loc, _ := lookupD(d, "locale"); loc == "simple" {
		return nil
	}
	return mongoerr.New(mongoerr.NotImplemented, "collation is not supported by mongolocal")
}

func cmdFind(_ context.Context, s *Server, cmd *command) (bson.D, error) {
	coll, err := cmd.collection()
	if err != nil {
		return nil, err
	}
	h := lungo.Handle{cmd.DB, coll}
	filter, err := cmd.filterDoc("filter")
	if err != nil {
		return nil, err
	}
	sort, err := cmd.optDoc("sort")
	if err != nil {
		return nil, err
	}
	projection, err := cmd.optDoc("projection")
	if err != nil {
		return nil, err
	}
	if err := checkCollation(cmd); err != nil {
		return nil, err
	}
	if cmd.boolField("tailable", false) {
		return nil, mongoerr.New(mongoerr.BadValue, "error processing query: tailable cursor requested on non capped collection")
	}
	skip, _, err := cmd.intField("skip")
	if err != nil {
		return nil, err
	}
	if skip < 0 {
		return nil, mongoerr.New(51024, "BSON field 'skip' value must be >= 0, actual value '%d'", skip)
	}
	limit, _, err := cmd.intField("limit")
	if err != nil {
		return nil, err
	}
	singleBatch := cmd.boolField("singleBatch", false)
	if limit < 0 {
		limit, singleBatch = -limit, true
	}
	batchSize, hasBatch, err := cmd.intField("batchSize")
	if err != nil {
		return nil, err
	}
	if batchSize < 0 {
		return nil, mongoerr.New(51024, "BSON field 'batchSize' value must be >= 0, actual value '%d'", batchSize)
	}
	switch {
	case !hasBatch:
		batchSize = defaultBatchSize
	case batchSize == 0:
		batchSize = -1 // an empty first batch
	}
	if limit > 0 && batchSize > limit {
		batchSize = limit
	}

	list, err := s.query(h, filter, sort, int(skip), int(limit))
	if err != nil {
		return nil, err
	}
	if projection != nil && len(*projection) > 0 {
		list, err = mongokit.ProjectList(list, projection)
		if err != nil {
			return nil, engineError(err, inProjection, h, nil, nil)
		}
	}
	docs, err := marshalList(list)
	if err != nil {
		return nil, err
	}
	return s.cursorReply(h.String(), docs, int(batchSize), singleBatch, "firstBatch"), nil
}

// cursorReply returns the first batch and, when documents remain, registers
// a cursor for them.
func (s *Server) cursorReply(ns string, docs []bson.Raw, batchSize int, singleBatch bool, field string) bson.D {
	batch, rest := takeBatch(docs, batchSize)
	var id int64
	if len(rest) > 0 && !singleBatch {
		id = s.cursors.add(&cursor{ns: ns, docs: rest})
	}
	return bson.D{{Key: "cursor", Value: bson.D{
		{Key: field, Value: batch},
		{Key: "id", Value: id},
		{Key: "ns", Value: ns},
	}}}
}

// takeBatch splits off up to n documents (0 = no count limit, negative =
// none) within the batch byte budget; at least one document is taken when
// n is not negative.
func takeBatch(docs []bson.Raw, n int) (bson.A, []bson.Raw) {
	batch := bson.A{}
	if n < 0 {
		return batch, docs
	}
	size := 0
	for i, d := range docs {
		if n > 0 && i >= n {
			return batch, docs[i:]
		}
		if i > 0 && size+len(d) > batchBytes {
			return batch, docs[i:]
		}
		size += len(d)
		batch = append(batch, d)
	}
	return batch, nil
}

func marshalList(list bsonkit.List) ([]bson.Raw, error) {
	out := make([]bson.Raw, 0, len(list))
	for _, d := range list {
		b, err := bson.Marshal(d)
		if err != nil {
			return nil, mongoerr.New(mongoerr.InternalError, "encode document: %v", err)
		}
		out = append(out, b)
	}
	return out, nil
}

func cmdGetMore(ctx context.Context, s *Server, cmd *command) (bson.D, error) {
	id, ok := cmd.int64("getMore")
	if !ok {
		return nil, mongoerr.New(mongoerr.TypeMismatch, "Field 'getMore' must be of type long in: %v", cmd.first())
	}
	coll, _, err := cmd.string("collection")
	if err != nil {
		return nil, err
	}
	ns := cmd.DB + "." + coll
	owner, ok := s.cursors.ns(id)
	if !ok {
		return nil, mongoerr.New(mongoerr.CursorNotFound, "cursor id %d not found", id)
	}
	if owner != ns {
		return nil, mongoerr.New(mongoerr.Unauthorized, "Requested getMore on namespace '%s', but cursor belongs to a different namespace %s", ns, owner)
	}
	batchSize, _, err := cmd.intField("batchSize")
	if err != nil {
		return nil, err
	}
	if batchSize < 0 {
		return nil, mongoerr.New(mongoerr.BadValue, "batchSize must be non-negative, but received: %d", batchSize)
	}
	c, ok := s.cursors.acquire(id)
	if !ok {
		return nil, mongoerr.New(mongoerr.CursorNotFound, "cursor id %d not found (or in use)", id)
	}
	if c.stream != nil {
		wait := time.Second
		if ms, ok, _ := cmd.intField("maxTimeMS"); ok && ms > 0 {
			wait = time.Duration(ms) * time.Millisecond
		}
		batch, err := c.stream.Next(ctx, int(batchSize), wait)
		s.cursors.release(c)
		if err != nil {
			s.cursors.remove(id)
			return nil, mongoerr.As(err)
		}
		if batch.Exhausted {
			s.cursors.remove(id)
			id = 0
		}
		return changeBatchReply(id, ns, "nextBatch", batch), nil
	}
	batch, rest := takeBatch(c.docs, int(batchSize))
	c.docs = rest
	s.cursors.release(c)
	if len(rest) == 0 {
		s.cursors.remove(id)
		id = 0
	}
	return bson.D{{Key: "cursor", Value: bson.D{
		{Key: "nextBatch", Value: batch},
		{Key: "id", Value: id},
		{Key: "ns", Value: ns},
	}}}, nil
}

func cmdKillCursors(_ context.Context, s *Server, cmd *command) (bson.D, error) {
	if _, err := cmd.collection(); err != nil {
		return nil, err
	}
	ids, _, err := cmd.array("cursors")
	if err != nil {
		return nil, err
	}
	killed, notFound := bson.A{}, bson.A{}
	for _, v := range ids {
		id, ok := toInt64(v)
		if !ok {
			return nil, mongoerr.New(mongoerr.TypeMismatch, "BSON field 'killCursors.cursors' must contain longs")
		}
		if s.cursors.remove(id) {
			killed = append(killed, id)
		} else {
			notFound = append(notFound, id)
		}
	}
	return bson.D{
		{Key: "cursorsKilled", Value: killed},
		{Key: "cursorsNotFound", Value: notFound},
		{Key: "cursorsAlive", Value: bson.A{}},
		{Key: "cursorsUnknown", Value: bson.A{}},
	}, nil
}

func cmdCount(_ context.Context, s *Server, cmd *command) (bson.D, error) {
	coll, err := cmd.collection()
	if err != nil {
		return nil, err
	}
	h := lungo.Handle{cmd.DB, coll}
	query, err := cmd.filterDoc("query")
	if err != nil {
		return nil, err
	}
	skip, _, err := cmd.intField("skip")
	if err != nil {
		return nil, err
	}
	limit, _, err := cmd.intField("limit")
	if err != nil {
		return nil, err
	}
	if skip < 0 {
		return nil, mongoerr.New(mongoerr.BadValue, "skip value is negative in count query")
	}
	if limit < 0 {
		limit = -limit
	}
	txn := s.store.snapshot()
	if len(*query) == 0 && skip == 0 && limit == 0 {
		n, err := txn.CountDocuments(h)
		if err != nil {
			return nil, engineError(err, inQuery, h, nil, nil)
		}
		return bson.D{{Key: "n", Value: int32(n)}}, nil
	}
	list, err := s.query(h, query, nil, int(skip), int(limit))
	if err != nil {
		return nil, err
	}
	return bson.D{{Key: "n", Value: int32(len(list))}}, nil
}

func cmdDistinct(_ context.Context, s *Server, cmd *command) (bson.D, error) {
	coll, err := cmd.collection()
	if err != nil {
		return nil, err
	}
	h := lungo.Handle{cmd.DB, coll}
	key, ok, err := cmd.string("key")
	if err != nil {
		return nil, err
	}
	if !ok || key == "" {
		return nil, mongoerr.New(mongoerr.FailedToParse, "BSON field 'distinct.key' is missing but a required field")
	}
	query, err := cmd.filterDoc("query")
	if err != nil {
		return nil, err
	}
	list, err := s.query(h, query, nil, 0, 0)
	if err != nil {
		return nil, err
	}
	values := mongokit.Distinct(list, key)
	if values == nil {
		values = bson.A{}
	}
	return bson.D{{Key: "values", Value: values}}, nil
}

// query reads the documents a filter selects from the current snapshot,
// through the _id hash when the filter pins _id.
func (s *Server) query(h lungo.Handle, filter, sort bsonkit.Doc, skip, limit int) (bsonkit.List, error) {
	c := s.store.snapshot().Catalog().Namespaces[h]
	if c == nil {
		return nil, nil
	}
	if _, pinned := idKeys(filter); pinned {
		lim := limit
		if lim > 0 {
			lim += skip
		}
		list, ok, err := findByID(s.idHashes.get(c), c.Documents.List, filter, sort, lim)
		if err != nil {
			return nil, engineError(err, inQuery, h, nil, nil)
		}
		if ok {
			if skip >= len(list) {
				return nil, nil
			}
			return list[skip:], nil
		}
	}
	res, err := c.Find(filter, sort, skip, limit)
	if err != nil {
		return nil, engineError(err, inQuery, h, nil, nil)
	}
	return res.Matched, nil
}
