package envelope

import (
	"encoding/json"
	"errors"
	"fmt"

	"go.mongodb.org/mongo-driver/bson"
)

// EventSourceRelay is the eventSource value the relay puts on envelopes.
// The functions accept any value (DocumentDB's mapping sends "aws:docdb").
const EventSourceRelay = "changerelay"

// Envelope is one batch of change events.
type Envelope struct {
	EventSource    string   `json:"eventSource"`
	EventSourceArn string   `json:"eventSourceArn"`
	Events         []Record `json:"events"`
}

// Record wraps one change event, kept as raw canonical Extended JSON so
// that a malformed event fails alone rather than the whole envelope.
type Record struct {
	Event json.RawMessage `json:"event"`
}

// Response is the partial batch reply. An empty list means every event was
// applied.
type Response struct {
	BatchItemFailures []BatchItemFailure `json:"batchItemFailures"`
}

// BatchItemFailure names one event that was not applied, by its resume
// token's _data string.
type BatchItemFailure struct {
	ItemIdentifier string `json:"itemIdentifier"`
}

// ErrNoEventID is returned when an event has no usable _id._data.
var ErrNoEventID = errors.New("event has no _id._data resume token")

// EncodeEvent renders a change event (as read from a change stream) in
// canonical Extended JSON, the form the envelope carries.
func EncodeEvent(event bson.Raw) (json.RawMessage, error) {
	out, err := bson.MarshalExtJSON(event, true, false)
	if err != nil {
		return nil, fmt.Errorf("encode change event as extended JSON: %w", err)
	}
	return out, nil
}

// DecodeEvent parses one record's Extended JSON into BSON. Canonical
// Extended JSON (what the mapping and the relay send) decodes to exactly the
// original types; relaxed Extended JSON ({"$date": "<ISO-8601>"}, plain
// numbers) is accepted too.
func DecodeEvent(event json.RawMessage) (bson.Raw, error) {
	var raw bson.Raw
	if err := bson.UnmarshalExtJSON(event, false, &raw); err != nil {
		return nil, fmt.Errorf("decode change event extended JSON: %w", err)
	}
	return raw, nil
}

// EventID returns the event's identifier, its resume token's _data string.
// It is what a BatchItemFailure names.
func EventID(event bson.Raw) (string, error) {
	v, err := event.LookupErr("_id", "_data")
	if err != nil {
		return "", ErrNoEventID
	}
	s, ok := v.StringValueOK()
	if !ok || s == "" {
		return "", ErrNoEventID
	}
	return s, nil
}

// EventIDFromJSON extracts _id._data from a record without a full decode, so
// a failure can be reported for an event whose other fields do not parse.
func EventIDFromJSON(event json.RawMessage) (string, error) {
	var probe struct {
		ID struct {
			Data string `json:"_data"`
		} `json:"_id"`
	}
	if err := json.Unmarshal(event, &probe); err != nil || probe.ID.Data == "" {
		return "", ErrNoEventID
	}
	return probe.ID.Data, nil
}
