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
// With ids nil it counts every article's favorites.
func (s *Store) FavoriteCounts(ctx context.Context, ids []primitive.ObjectID) (map[primitive.ObjectID]int64, error) {
	out := make(map[primitive.ObjectID]int64, len(ids))
	pipeline := bson.A{}
	if ids != nil {
		if len(ids) == 0 {
			return out, nil
		}
		pipeline = append(pipeline, bson.D{{Key: "$match", Value: bson.D{
			{Key: model.FieldArticleID, Value: bson.D{{Key: "$in", Value: ids}}},
		}}})
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
