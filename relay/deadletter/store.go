package deadletter

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/bson/primitive"
	"go.mongodb.org/mongo-driver/mongo"
	"go.mongodb.org/mongo-driver/mongo/options"
	"go.mongodb.org/mongo-driver/mongo/writeconcern"

	"github.com/changerelay/changerelay/functions/envelope"
	"github.com/changerelay/changerelay/relay/change"
	"github.com/changerelay/changerelay/relay/dispatch"
)

// maxStoredEvent bounds the event kept in a letter (documents are at most
// 16 MB); a larger event keeps only its metadata.
const maxStoredEvent = 15 << 20

// Letter is one dead-lettered event.
type Letter struct {
	ID            string              `bson:"_id" json:"id"`
	Route         string              `bson:"route" json:"route"`
	Function      string              `bson:"function" json:"function"`
	EventID       string              `bson:"eventId" json:"eventId"`
	OperationType string              `bson:"operationType" json:"operationType"`
	Coll          string              `bson:"coll" json:"coll"`
	ClusterTime   primitive.Timestamp `bson:"clusterTime" json:"clusterTime"`
	// Event is the change event, or nil when it was too large to keep
	// (EventOmitted, with EventBytes its size).
	Event          bson.Raw         `bson:"event,omitempty" json:"-"`
	EventOmitted   bool             `bson:"eventOmitted,omitempty" json:"eventOmitted,omitempty"`
	EventBytes     int              `bson:"eventBytes" json:"eventBytes"`
	Reason         string           `bson:"reason" json:"reason"`
	Attempts       []change.Attempt `bson:"attempts" json:"attempts"`
	DeadLetteredAt time.Time        `bson:"deadLetteredAt" json:"deadLetteredAt"`
	ReplayedAt     *time.Time       `bson:"replayedAt,omitempty" json:"replayedAt,omitempty"`
	Replays        []change.Attempt `bson:"replays,omitempty" json:"replays,omitempty"`
}

// Sender also sends each letter elsewhere (an SQS queue).
type Sender interface {
	Send(ctx context.Context, l Letter) error
}

// Store is the dead-letter collection.
type Store struct {
	coll   *mongo.Collection
	sender Sender
}

var _ dispatch.DeadLetterer = (*Store)(nil)

// NewStore uses collection name in db (majority write concern); sender may
// be nil.
func NewStore(db *mongo.Database, name string, sender Sender) *Store {
	return &Store{coll: db.Collection(name, options.Collection().SetWriteConcern(writeconcern.Majority())), sender: sender}
}

// LetterID is the _id of an event's letter.
func LetterID(route, eventID string) string { return route + "/" + eventID }

// DeadLetter stores ev with its reason and attempts.
func (s *Store) DeadLetter(ctx context.Context, route, function string, ev *change.Event, reason string) error {
	l := Letter{
		ID: LetterID(route, ev.ID), Route: route, Function: function, EventID: ev.ID,
		OperationType: ev.OperationType, Coll: ev.Coll, ClusterTime: ev.ClusterTime,
		EventBytes: len(ev.JSON), Reason: reason, Attempts: ev.Attempts, DeadLetteredAt: time.Now().UTC(),
	}
	if len(ev.JSON) <= maxStoredEvent {
		raw, err := envelope.DecodeEvent(ev.JSON)
		if err != nil {
			return fmt.Errorf("dead letter %s: %w", l.ID, err)
		}
		l.Event = raw
	} else {
		l.EventOmitted = true
	}
	if _, err := s.coll.ReplaceOne(ctx, bson.D{{Key: "_id", Value: l.ID}}, l, options.Replace().SetUpsert(true)); err != nil {
		return fmt.Errorf("dead letter %s: %w", l.ID, err)
	}
	if s.sender != nil {
		if err := s.sender.Send(ctx, l); err != nil {
			return fmt.Errorf("dead letter %s to queue: %w", l.ID, err)
		}
	}
	return nil
}

// Filter selects letters.
type Filter struct {
	Route string
	ID    string
	// All includes letters already replayed.
	All   bool
	Limit int64
}

func (f Filter) query() bson.D {
	q := bson.D{}
	if f.Route != "" {
		q = append(q, bson.E{Key: "route", Value: f.Route})
	}
	if f.ID != "" {
		q = append(q, bson.E{Key: "$or", Value: bson.A{bson.D{{Key: "_id", Value: f.ID}}, bson.D{{Key: "eventId", Value: f.ID}}}})
	}
	if !f.All {
		q = append(q, bson.E{Key: "replayedAt", Value: bson.D{{Key: "$exists", Value: false}}})
	}
	return q
}

// List returns the letters f selects, oldest first.
func (s *Store) List(ctx context.Context, f Filter) ([]Letter, error) {
	opts := options.Find().SetSort(bson.D{{Key: "deadLetteredAt", Value: 1}, {Key: "_id", Value: 1}})
	if f.Limit > 0 {
		opts.SetLimit(f.Limit)
	}
	cur, err := s.coll.Find(ctx, f.query(), opts)
	if err != nil {
		return nil, fmt.Errorf("list dead letters: %w", err)
	}
	var out []Letter
	if err := cur.All(ctx, &out); err != nil {
		return nil, fmt.Errorf("list dead letters: %w", err)
	}
	return out, nil
}

// Count returns the number of letters not yet replayed, per route.
func (s *Store) Count(ctx context.Context) (map[string]int, error) {
	letters, err := s.coll.Find(ctx, Filter{}.query(), options.Find().SetProjection(bson.D{{Key: "route", Value: 1}}))
	if err != nil {
		return nil, fmt.Errorf("count dead letters: %w", err)
	}
	var rows []struct {
		Route string `bson:"route"`
	}
	if err := letters.All(ctx, &rows); err != nil {
		return nil, fmt.Errorf("count dead letters: %w", err)
	}
	out := map[string]int{}
	for _, r := range rows {
		out[r.Route]++
	}
	return out, nil
}

// recordReplay notes a replay attempt; ok marks the letter replayed.
func (s *Store) recordReplay(ctx context.Context, id string, attempt change.Attempt, ok bool) error {
	set := bson.D{}
	if ok {
		set = append(set, bson.E{Key: "replayedAt", Value: attempt.At})
	}
	update := bson.D{{Key: "$push", Value: bson.D{{Key: "replays", Value: attempt}}}}
	if len(set) > 0 {
		update = append(update, bson.E{Key: "$set", Value: set})
	}
	_, err := s.coll.UpdateOne(ctx, bson.D{{Key: "_id", Value: id}}, update)
	if err != nil {
		return fmt.Errorf("record replay of %s: %w", id, err)
	}
	return nil
}

// JSON renders a letter with its event as canonical Extended JSON.
func (l Letter) JSON() ([]byte, error) {
	type out struct {
		Letter
		Event json.RawMessage `json:"event,omitempty"`
	}
	o := out{Letter: l}
	if l.Event != nil {
		js, err := envelope.EncodeEvent(l.Event)
		if err != nil {
			return nil, err
		}
		o.Event = js
	}
	return json.Marshal(o)
}

// ErrNoEvent is returned when replaying a letter whose event was too large
// to keep.
var ErrNoEvent = errors.New("the letter kept no event (it was too large)")
