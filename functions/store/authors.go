package store

import (
	"context"
	"fmt"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/bson/primitive"
	"go.mongodb.org/mongo-driver/mongo/options"

	"github.com/changerelay/changerelay/functions/model"
)

// Authors reads the users ids and returns the author projection of each one
// that exists. A missing id means the user does not exist (author null).
func (s *Store) Authors(ctx context.Context, ids []primitive.ObjectID) (map[primitive.ObjectID]any, error) {
	out := make(map[primitive.ObjectID]any, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	cctx, cancel := s.Call(ctx)
	defer cancel()
	cur, err := s.Coll(model.Users).Find(cctx,
		bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: ids}}}},
		options.Find().SetProjection(model.UserProjectionFields()).SetBatchSize(int32(s.cfg.PageSize)))
	if err != nil {
		return nil, fmt.Errorf("read users: %w", err)
	}
	defer cur.Close(cctx)
	for cur.Next(cctx) {
		id, ok := cur.Current.Lookup("_id").ObjectIDOK()
		if !ok {
			continue
		}
		out[id] = model.AuthorProjection(cur.Current)
	}
	if err := cur.Err(); err != nil {
		return nil, fmt.Errorf("read users: %w", err)
	}
	return out, nil
}

// Author reads one user's projection (nil when the user does not exist).
func (s *Store) Author(ctx context.Context, id primitive.ObjectID) (any, error) {
	m, err := s.Authors(ctx, []primitive.ObjectID{id})
	if err != nil {
		return nil, err
	}
	return m[id], nil
}
