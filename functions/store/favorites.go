package store

import (
	"context"
	"fmt"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/bson/primitive"

	"github.com/changerelay/changerelay/functions/model"
)

// FavoriteCounts counts favorites per article for the given articles in one
// aggregation. Articles without favorites are absent from the map (count 0).
func (s *Store) FavoriteCounts(ctx context.Context, ids []primitive.ObjectID) (map[primitive.ObjectID]int64, error) {
	if len(ids) == 0 {
		return map[primitive.ObjectID]int64{}, nil
	}
	return s.favoriteCounts(ctx, bson.D{{Key: model.FieldArticleID, Value: bson.D{{Key: "$in", Value: ids}}}})
}

// AllFavoriteCounts counts the favorites of every article in one
// aggregation.
func (s *Store) AllFavoriteCounts(ctx context.Context) (map[primitive.ObjectID]int64, error) {
	return s.favoriteCounts(ctx, nil)
}

func (s *Store) favoriteCounts(ctx context.Context, match bson.D) (map[primitive.ObjectID]int64, error) {
	out := map[primitive.ObjectID]int64{}
	pipeline := bson.A{}
	if match != nil {
		pipeline = append(pipeline, bson.D{{Key: "$match", Value: match}})
	}
	pipeline = append(pipeline, bson.D{{Key: "$group", Value: bson.D{
		{Key: "_id", Value: "$" + model.FieldArticleID},
		{Key: "n", Value: bson.D{{Key: "$sum", Value: 1}}},
	}}})
	cctx, cancel := s.Call(ctx)
	defer cancel()
	cur, err := s.Coll(model.Favorites).Aggregate(cctx, pipeline)
	if err != nil {
		return nil, fmt.Errorf("count favorites: %w", err)
	}
	defer cur.Close(cctx)
	for cur.Next(cctx) {
		id, ok := cur.Current.Lookup("_id").ObjectIDOK()
		if !ok {
			continue // a favorite whose articleId is not an ObjectId counts for no article
		}
		n, _ := model.CountValue(cur.Current.Lookup("n"))
		out[id] = n
	}
	if err := cur.Err(); err != nil {
		return nil, fmt.Errorf("count favorites: %w", err)
	}
	return out, nil
}
