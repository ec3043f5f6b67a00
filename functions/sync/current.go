package sync

import (
	"context"
	"fmt"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/bson/primitive"
	"go.mongodb.org/mongo-driver/mongo/options"

	"github.com/changerelay/changerelay/functions/store"
)

// readCurrent reads the current documents of ids from coll (the fields
// named), keyed by id. Ids whose document no longer exists are absent.
func readCurrent(ctx context.Context, s *store.Store, coll string, ids []primitive.ObjectID, fields ...string) (map[primitive.ObjectID]bson.Raw, error) {
	out := make(map[primitive.ObjectID]bson.Raw, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	proj := bson.D{}
	for _, f := range fields {
		proj = append(proj, bson.E{Key: f, Value: 1})
	}
	cctx, cancel := s.Call(ctx)
	defer cancel()
	cur, err := s.Coll(coll).Find(cctx, bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: ids}}}},
		options.Find().SetProjection(proj).SetBatchSize(int32(s.PageSize())))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", coll, err)
	}
	defer cur.Close(cctx)
	for cur.Next(cctx) {
		if id, ok := cur.Current.Lookup("_id").ObjectIDOK(); ok {
			out[id] = append(bson.Raw(nil), cur.Current...)
		}
	}
	if err := cur.Err(); err != nil {
		return nil, fmt.Errorf("read %s: %w", coll, err)
	}
	return out, nil
}
