package store

import (
	"context"
	"fmt"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/mongo"
	"go.mongodb.org/mongo-driver/mongo/options"

	"github.com/changerelay/changerelay/functions/model"
)

// TagResult summarizes a tag reconciliation.
type TagResult struct {
	// Written is the number of tags documents inserted, replaced or deleted.
	Written int
	// Fixed is the number of distinct tags written at least once.
	Fixed int
	// Rounds is the number of read-compare-write rounds run.
	Rounds int
}

// ReconcileTags makes each tags document equal to its recount. Each round
// reads the tags documents, then counts the articles, and writes only what
// differs, with a compare-and-set on the document as read (count and
// _sync.rev). A tag leaves the loop only when a round found its document
// equal to the count, so every write is followed by a verification read:
// whichever writer writes last also checks last, which is why concurrent
// reconciliations of the same tag converge without versions (see README).
func (s *Store) ReconcileTags(ctx context.Context, tags []string) (TagResult, error) {
	var res TagResult
	pending := model.Union(tags)
	fixed := map[string]bool{}
	for len(pending) > 0 {
		if res.Rounds == s.cfg.MaxAttempts {
			return res, fmt.Errorf("reconcile tags %v: %w", pending, ErrContention)
		}
		res.Rounds++
		docs, err := s.tagDocs(ctx, pending)
		if err != nil {
			return res, err
		}
		counts, err := s.TagCounts(ctx, pending)
		if err != nil {
			return res, err
		}
		var writes []mongo.WriteModel
		var next []string
		for _, t := range pending {
			w := tagWrite(t, docs[t], counts[t])
			if w == nil {
				continue
			}
			writes = append(writes, w)
			next = append(next, t)
			fixed[t] = true
		}
		if _, err := s.BulkWrite(ctx, model.Tags, writes); err != nil {
			return res, err
		}
		res.Written += len(writes)
		res.Fixed = len(fixed)
		pending = next
	}
	return res, nil
}

// tagDoc is a tags document as read.
type tagDoc struct {
	count bson.RawValue
	rev   bson.RawValue
	ok    bool // only _id, count (a positive integer) and _sync
}

func parseTagDoc(raw bson.Raw) tagDoc {
	d := tagDoc{count: raw.Lookup(model.FieldCount), rev: raw.Lookup("_sync", "rev"), ok: true}
	elems, _ := raw.Elements()
	for _, e := range elems {
		switch e.Key() {
		case "_id", model.FieldCount, "_sync":
		default:
			d.ok = false
		}
	}
	if n, isInt := model.CountValue(d.count); !isInt || n <= 0 {
		d.ok = false
	}
	return d
}

// TagUpToDate reports whether a tags document as read (nil: absent) equals
// the recount n of its tag.
func TagUpToDate(raw bson.Raw, n int64) bool {
	if raw == nil {
		return n == 0
	}
	d := parseTagDoc(raw)
	c, _ := model.CountValue(d.count)
	return d.ok && c == n
}

// tagWrite returns the compare-and-set write that makes the tags document
// of t (nil: absent) equal to count n, or nil when it already is.
func tagWrite(t string, raw bson.Raw, n int64) mongo.WriteModel {
	if TagUpToDate(raw, n) {
		return nil
	}
	if raw == nil {
		return mongo.NewInsertOneModel().SetDocument(bson.D{
			{Key: "_id", Value: t},
			{Key: model.FieldCount, Value: n},
			{Key: "_sync", Value: bson.D{{Key: "rev", Value: int64(1)}}},
		})
	}
	d := parseTagDoc(raw)
	filter := bson.D{
		{Key: "_id", Value: t},
		{Key: model.FieldCount, Value: model.Exact(d.count)},
		{Key: model.TagRev, Value: model.Exact(d.rev)},
	}
	if n == 0 {
		return mongo.NewDeleteOneModel().SetFilter(filter)
	}
	rev, _ := model.CountValue(d.rev)
	return mongo.NewReplaceOneModel().SetFilter(filter).SetReplacement(bson.D{
		{Key: model.FieldCount, Value: n},
		{Key: "_sync", Value: bson.D{{Key: "rev", Value: rev + 1}}},
	})
}

func (s *Store) tagDocs(ctx context.Context, tags []string) (map[string]bson.Raw, error) {
	cctx, cancel := s.Call(ctx)
	defer cancel()
	cur, err := s.Coll(model.Tags).Find(cctx,
		bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: tags}}}},
		options.Find().SetBatchSize(int32(s.cfg.PageSize)))
	if err != nil {
		return nil, fmt.Errorf("read tags: %w", err)
	}
	defer cur.Close(cctx)
	out := make(map[string]bson.Raw, len(tags))
	for cur.Next(cctx) {
		if t, ok := cur.Current.Lookup("_id").StringValueOK(); ok {
			out[t] = append(bson.Raw(nil), cur.Current...)
		}
	}
	if err := cur.Err(); err != nil {
		return nil, fmt.Errorf("read tags: %w", err)
	}
	return out, nil
}
