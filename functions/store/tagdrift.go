package store

import (
	"context"
	"fmt"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/mongo"
	"go.mongodb.org/mongo-driver/mongo/options"

	"github.com/changerelay/changerelay/functions/model"
)

// TagDrift compares every tags document with counts (a recount of all
// articles) and returns the tags that differ: a wrong or malformed
// document, a missing one, or one for a tag no article uses. junk holds the
// _id of documents whose _id is not a string (no article can use them).
// checked is the number of distinct tags compared.
func (s *Store) TagDrift(ctx context.Context, counts map[string]int64) (checked int, drifted []string, junk []bson.RawValue, err error) {
	cur, err := s.Coll(model.Tags).Find(ctx, bson.D{}, options.Find().SetBatchSize(int32(s.cfg.PageSize)))
	if err != nil {
		return 0, nil, nil, fmt.Errorf("scan tags: %w", err)
	}
	seen := make(map[string]bool, len(counts))
	err = s.Scan(ctx, cur, func(page []bson.Raw) error {
		for _, raw := range page {
			id := raw.Lookup("_id")
			t, ok := id.StringValueOK()
			if !ok {
				junk = append(junk, id)
				continue
			}
			seen[t] = true
			checked++
			if !TagUpToDate(raw, counts[t]) {
				drifted = append(drifted, t)
			}
		}
		return nil
	})
	if err != nil {
		return 0, nil, nil, fmt.Errorf("scan tags: %w", err)
	}
	for t, n := range counts {
		if !seen[t] && n > 0 {
			checked++
			drifted = append(drifted, t)
		}
	}
	return checked, model.Normalize(drifted), junk, nil
}

// DeleteJunkTags deletes tags documents whose _id is not a string.
func (s *Store) DeleteJunkTags(ctx context.Context, ids []bson.RawValue) (int64, error) {
	models := make([]mongo.WriteModel, 0, len(ids))
	for _, id := range ids {
		models = append(models, mongo.NewDeleteOneModel().SetFilter(bson.D{{Key: "_id", Value: id}}))
	}
	return s.BulkWrite(ctx, model.Tags, models)
}

// ReconcileAllTags recounts every tag (a full scan of the articles) and
// reconciles every tag whose document differs. It is the fallback when an
// article's previous tags are unknown (a delete or replace without a
// pre-image) and part of repair.
func (s *Store) ReconcileAllTags(ctx context.Context, extra []string) (TagResult, error) {
	counts, err := s.AllTagCounts(ctx)
	if err != nil {
		return TagResult{}, err
	}
	_, drifted, junk, err := s.TagDrift(ctx, counts)
	if err != nil {
		return TagResult{}, err
	}
	if _, err := s.DeleteJunkTags(ctx, junk); err != nil {
		return TagResult{}, err
	}
	return s.ReconcileTags(ctx, model.Union(drifted, extra))
}
