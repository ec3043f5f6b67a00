package checkpoint

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/bson/primitive"
	"go.mongodb.org/mongo-driver/mongo"
	"go.mongodb.org/mongo-driver/mongo/options"
	"go.mongodb.org/mongo-driver/mongo/writeconcern"
)

// ErrFenced means a relay with a newer lease epoch owns the checkpoints:
// this relay must stop.
var ErrFenced = errors.New("checkpoint fenced by a newer lease epoch")

// Record is a route's checkpoint document.
type Record struct {
	Route       string              `bson:"_id"`
	Token       bson.Raw            `bson:"token,omitempty"`
	ClusterTime primitive.Timestamp `bson:"clusterTime"`
	Time        time.Time           `bson:"time"`
	Epoch       int64               `bson:"epoch"`
	Owner       string              `bson:"owner"`
	UpdatedAt   time.Time           `bson:"updatedAt"`
	InFlight    int                 `bson:"inFlight"`
}

// Position is the record's resume position.
func (r Record) Position() Position {
	return Position{Token: r.Token, ClusterTime: r.ClusterTime, Time: r.Time}
}

// Store reads and writes checkpoint records.
type Store struct {
	coll *mongo.Collection
}

// NewStore uses collection name in db, writing with majority write concern.
func NewStore(db *mongo.Database, name string) *Store {
	return &Store{coll: db.Collection(name, options.Collection().SetWriteConcern(writeconcern.Majority()))}
}

// Load returns a route's checkpoint; ok is false when it has none.
func (s *Store) Load(ctx context.Context, route string) (rec Record, ok bool, err error) {
	err = s.coll.FindOne(ctx, bson.D{{Key: "_id", Value: route}}).Decode(&rec)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return Record{}, false, nil
	}
	if err != nil {
		return Record{}, false, fmt.Errorf("load checkpoint %s: %w", route, err)
	}
	return rec, !rec.Position().IsZero(), nil
}

// All returns every route's record.
func (s *Store) All(ctx context.Context) ([]Record, error) {
	cur, err := s.coll.Find(ctx, bson.D{}, options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}))
	if err != nil {
		return nil, fmt.Errorf("list checkpoints: %w", err)
	}
	var out []Record
	if err := cur.All(ctx, &out); err != nil {
		return nil, fmt.Errorf("list checkpoints: %w", err)
	}
	return out, nil
}

// Save writes rec if no newer epoch has written the route's record.
func (s *Store) Save(ctx context.Context, rec Record) error {
	filter := bson.D{{Key: "_id", Value: rec.Route}, {Key: "epoch", Value: bson.D{{Key: "$lte", Value: rec.Epoch}}}}
	_, err := s.coll.ReplaceOne(ctx, filter, rec, options.Replace().SetUpsert(true))
	if mongo.IsDuplicateKeyError(err) {
		return fmt.Errorf("save checkpoint %s at epoch %d: %w", rec.Route, rec.Epoch, ErrFenced)
	}
	if err != nil {
		return fmt.Errorf("save checkpoint %s: %w", rec.Route, err)
	}
	return nil
}

// Fence raises every route's record to epoch, so that a relay still
// running with an older epoch can no longer move them. Call it right after
// acquiring the lease, before loading the checkpoints.
func (s *Store) Fence(ctx context.Context, routes []string, epoch int64, owner string) error {
	for _, route := range routes {
		filter := bson.D{{Key: "_id", Value: route}, {Key: "epoch", Value: bson.D{{Key: "$lt", Value: epoch}}}}
		update := bson.D{{Key: "$set", Value: bson.D{{Key: "epoch", Value: epoch}, {Key: "owner", Value: owner}}}}
		_, err := s.coll.UpdateOne(ctx, filter, update, options.Update().SetUpsert(true))
		if mongo.IsDuplicateKeyError(err) {
			rec, _, lerr := s.Load(ctx, route)
			if lerr != nil {
				return lerr
			}
			if rec.Epoch > epoch {
				return fmt.Errorf("fence %s at epoch %d (found %d): %w", route, epoch, rec.Epoch, ErrFenced)
			}
			continue
		}
		if err != nil {
			return fmt.Errorf("fence checkpoint %s: %w", route, err)
		}
	}
	return nil
}
