package sync

import (
	"context"
	"fmt"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/bson/primitive"
	"go.mongodb.org/mongo-driver/mongo"
	"go.mongodb.org/mongo-driver/mongo/options"

	"github.com/changerelay/changerelay/functions/model"
	"github.com/changerelay/changerelay/functions/store"
)

// recountAllFavorites is the fallback for a favorite deleted (or moved)
// without a pre-image, when the article it counted for is unknown. It
// first raises every article's favVersion to v (a fence: from then on no
// recount older than v can write), then counts all favorites and fixes
// every article whose count differs. Each stored count is then one read
// after the write of version v, so the pair (count, v) is as valid as the
// one the normal path would have written.
func recountAllFavorites(ctx context.Context, s *store.Store, v primitive.Timestamp) error {
	cctx, cancel := s.Call(ctx)
	_, err := s.Coll(model.Articles).UpdateMany(cctx,
		bson.D{{Key: model.FavVersion, Value: model.Older(v)}},
		bson.D{{Key: "$set", Value: bson.D{{Key: model.FavVersion, Value: v}}}})
	cancel()
	if err != nil {
		return fmt.Errorf("fence favorites counts: %w", err)
	}
	counts, err := s.AllFavoriteCounts(ctx)
	if err != nil {
		return err
	}
	cur, err := s.Coll(model.Articles).Find(ctx, bson.D{},
		options.Find().SetProjection(bson.D{{Key: model.FieldFavoritesCount, Value: 1}}).SetBatchSize(int32(s.PageSize())))
	if err != nil {
		return fmt.Errorf("scan articles: %w", err)
	}
	return s.Scan(ctx, cur, func(page []bson.Raw) error {
		var models []mongo.WriteModel
		for _, doc := range page {
			id, ok := doc.Lookup("_id").ObjectIDOK()
			if !ok {
				continue
			}
			if n, ok := model.CountValue(doc.Lookup(model.FieldFavoritesCount)); ok && n == counts[id] {
				continue
			}
			models = append(models, mongo.NewUpdateOneModel().
				SetFilter(bson.D{{Key: "_id", Value: id}, {Key: model.FavVersion, Value: model.NotNewer(v)}}).
				SetUpdate(bson.D{{Key: "$set", Value: bson.D{
					{Key: model.FieldFavoritesCount, Value: counts[id]},
					{Key: model.FavVersion, Value: v},
				}}}))
		}
		_, err := s.BulkWrite(ctx, model.Articles, models)
		return err
	})
}
