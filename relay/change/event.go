package change

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/bson/primitive"

	"github.com/changerelay/changerelay/functions/envelope"
)

// Event is one change event on its way through the relay.
type Event struct {
	// Seq numbers the events of one route in stream order.
	Seq uint64
	// ID is the resume token's _data: what a batchItemFailure names.
	ID string
	// Token is the resume token (the event's _id) as BSON.
	Token bson.Raw
	// JSON is the event in canonical Extended JSON, as the envelope carries it.
	JSON json.RawMessage
	// OperationType, Coll and DocumentKey describe what changed.
	OperationType string
	Coll          string
	DocumentKey   string
	// Key is the ordering key: events with equal keys are delivered in order.
	Key         string
	ClusterTime primitive.Timestamp
	WallTime    time.Time
	// ReadAt is when the relay read the event; MaxEventAge counts from here
	// or from WallTime, whichever is earlier.
	ReadAt time.Time
	// Tries counts the failed attempts charged to the event (throttling
	// is not charged); MaxAttempts compares against it.
	Tries int
	// Attempts is the history of failed deliveries, the latest
	// MaxHistory of them.
	Attempts []Attempt
}

// MaxHistory bounds the attempt history kept per event.
const MaxHistory = 50

// Record appends a failed attempt to the history.
func (e *Event) Record(a Attempt, charged bool) {
	if charged {
		e.Tries++
	}
	if len(e.Attempts) >= MaxHistory {
		e.Attempts = append(e.Attempts[:0], e.Attempts[1:]...)
	}
	e.Attempts = append(e.Attempts, a)
}

// Attempt records one failed delivery.
type Attempt struct {
	At    time.Time `bson:"at" json:"at"`
	Error string    `bson:"error" json:"error"`
	Kind  string    `bson:"kind" json:"kind"`
}

// Size is the event's share of an envelope's payload.
func (e *Event) Size() int { return len(e.JSON) + len(`{"event":},`) }

// Born is when the event's age starts: its wall time, or when it was read
// if the server sent none.
func (e *Event) Born() time.Time {
	if !e.WallTime.IsZero() && e.WallTime.Before(e.ReadAt) {
		return e.WallTime
	}
	return e.ReadAt
}

// ErrNotAnEvent is returned for a document that is not a change event.
var ErrNotAnEvent = errors.New("not a change event")

// Parse reads a change event. The event does not keep raw: it holds the
// envelope's Extended JSON and a copy of the token, so raw may be a
// buffer the caller reuses. orderingKey is "documentKey" or a field
// path looked up in fullDocument, then fullDocumentBeforeChange.
func Parse(raw bson.Raw, orderingKey string, readAt time.Time) (*Event, error) {
	id, err := envelope.EventID(raw)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNotAnEvent, err)
	}
	ev := &Event{ID: id, ReadAt: readAt}
	if token, ok := raw.Lookup("_id").DocumentOK(); ok {
		ev.Token = append(bson.Raw(nil), token...) // raw is not kept
	}
	ev.OperationType, _ = raw.Lookup("operationType").StringValueOK()
	ev.Coll, _ = raw.Lookup("ns", "coll").StringValueOK()
	if t, i, ok := raw.Lookup("clusterTime").TimestampOK(); ok {
		ev.ClusterTime = primitive.Timestamp{T: t, I: i}
	}
	if ms, ok := raw.Lookup("wallTime").DateTimeOK(); ok {
		ev.WallTime = time.UnixMilli(ms)
	}
	if dk, err := raw.LookupErr("documentKey"); err == nil {
		ev.DocumentKey = keyString(dk)
	}
	ev.Key = OrderingKey(raw, orderingKey)
	ev.JSON, err = envelope.EncodeEvent(raw)
	if err != nil {
		return nil, err
	}
	return ev, nil
}
