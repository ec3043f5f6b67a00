package store

import (
	"context"
	"errors"
	"fmt"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/bson/primitive"
	"go.mongodb.org/mongo-driver/mongo"
	"go.mongodb.org/mongo-driver/mongo/options"
	"go.mongodb.org/mongo-driver/mongo/readconcern"

	"github.com/changerelay/changerelay/functions/model"
)

// ClusterTime returns a cluster time T such that every read started after
// this call sees every write with a time at or before T: the operation time
// of a majority read (the majority snapshot has no holes below it). Repair
// versions its writes with it, so a handler whose event is newer than T
// always wins over a repair write, and one whose event is older loses.
func (s *Store) ClusterTime(ctx context.Context) (primitive.Timestamp, error) {
	cctx, cancel := s.Call(ctx)
	defer cancel()
	sess, err := s.cfg.DB.Client().StartSession(options.Session().SetCausalConsistency(true))
	if err != nil {
		return primitive.Timestamp{}, fmt.Errorf("start session: %w", err)
	}
	defer sess.EndSession(cctx)
	coll := s.Coll(model.Users).Database().Collection(model.Users,
		options.Collection().SetReadConcern(readconcern.Majority()))
	err = mongo.WithSession(cctx, sess, func(sc mongo.SessionContext) error {
		err := coll.FindOne(sc, bson.D{}, options.FindOne().SetProjection(bson.D{{Key: "_id", Value: 1}})).Err()
		if errors.Is(err, mongo.ErrNoDocuments) {
			return nil
		}
		return err
	})
	if err != nil {
		return primitive.Timestamp{}, fmt.Errorf("read cluster time: %w", err)
	}
	if t := sess.OperationTime(); t != nil && !t.IsZero() {
		return *t, nil
	}
	if ct := sess.ClusterTime(); ct != nil {
		if v, err := ct.LookupErr("$clusterTime", "clusterTime"); err == nil {
			if t, i, ok := v.TimestampOK(); ok {
				return primitive.Timestamp{T: t, I: i}, nil
			}
		}
	}
	return primitive.Timestamp{}, errors.New("read cluster time: the server reports no operationTime (a replica set is required)")
}
