package store

import (
	"context"
	"fmt"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/mongo/options"

	"github.com/changerelay/changerelay/functions/model"
)

// TagCounts counts, for each tag, the distinct articles whose tagList
// contains it, in one aggregation. Tags no article uses are absent (0).
func (s *Store) TagCounts(ctx context.Context, tags []string) (map[string]int64, error) {
	out := make(map[string]int64, len(tags))
	if len(tags) == 0 {
		return out, nil
	}
	in := bson.D{{Key: model.FieldTagList, Value: bson.D{{Key: "$in", Value: tags}}}}
	pipeline := bson.A{
		bson.D{{Key: "$match", Value: in}},
		bson.D{{Key: "$project", Value: bson.D{{Key: model.FieldTagList, Value: 1}}}},
		bson.D{{Key: "$unwind", Value: "$" + model.FieldTagList}},
		bson.D{{Key: "$match", Value: in}},
		// One group per (tag, article) so that an article listing a tag
		// twice counts once, then one per tag.
		bson.D{{Key: "$group", Value: bson.D{{Key: "_id", Value: bson.D{
			{Key: "t", Value: "$" + model.FieldTagList},
			{Key: "a", Value: "$_id"},
		}}}}},
		bson.D{{Key: "$group", Value: bson.D{
			{Key: "_id", Value: "$_id.t"},
			{Key: "n", Value: bson.D{{Key: "$sum", Value: 1}}},
		}}},
	}
	cctx, cancel := s.Call(ctx)
	defer cancel()
	cur, err := s.Coll(model.Articles).Aggregate(cctx, pipeline)
	if err != nil {
		return nil, fmt.Errorf("count tags: %w", err)
	}
	defer cur.Close(cctx)
	for cur.Next(cctx) {
		t, ok := cur.Current.Lookup("_id").StringValueOK()
		if !ok {
			continue
		}
		n, _ := model.CountValue(cur.Current.Lookup("n"))
		out[t] = n
	}
	if err := cur.Err(); err != nil {
		return nil, fmt.Errorf("count tags: %w", err)
	}
	return out, nil
}

// AllTagCounts counts every tag over all articles by scanning their
// tagLists (one cursor, PageSize per batch). An article listing a tag twice
// counts once; elements that are not strings are ignored.
func (s *Store) AllTagCounts(ctx context.Context) (map[string]int64, error) {
	counts := map[string]int64{}
	cur, err := s.Coll(model.Articles).Find(ctx, bson.D{},
		options.Find().SetProjection(bson.D{{Key: model.FieldTagList, Value: 1}}).SetBatchSize(int32(s.cfg.PageSize)))
	if err != nil {
		return nil, fmt.Errorf("scan article tags: %w", err)
	}
	err = s.Scan(ctx, cur, func(page []bson.Raw) error {
		for _, doc := range page {
			for _, t := range model.LenientTagSet(doc.Lookup(model.FieldTagList)) {
				counts[t]++
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("scan article tags: %w", err)
	}
	return counts, nil
}
