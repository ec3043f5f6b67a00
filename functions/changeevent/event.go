package changeevent

import (
	"encoding/json"
	"errors"
	"fmt"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/bson/bsontype"
	"go.mongodb.org/mongo-driver/bson/primitive"

	"github.com/changerelay/changerelay/functions/envelope"
)

// Operation types of document events.
const (
	OpInsert  = "insert"
	OpUpdate  = "update"
	OpReplace = "replace"
	OpDelete  = "delete"
)

// ErrInvalid is wrapped by every error that rejects an event as malformed.
var ErrInvalid = errors.New("invalid change event")

// Event is one validated document change event.
type Event struct {
	// ID is the resume token's _data string, what a batch item failure names.
	ID string
	// Op is one of OpInsert, OpUpdate, OpReplace, OpDelete.
	Op string
	// ClusterTime is the commit time of the write; the handlers' version.
	ClusterTime primitive.Timestamp
	DB, Coll    string
	// DocID is documentKey._id.
	DocID bson.RawValue
	// FullDocument is the document after the change (insert, replace, or an
	// update read with a post-image or updateLookup); nil when absent or null.
	FullDocument bson.Raw
	// Before is fullDocumentBeforeChange; nil when absent or null.
	Before bson.Raw
	// Updated, Removed and Truncated come from an update's
	// updateDescription: updatedFields, removedFields, truncatedArrays[].field.
	Updated   bson.Raw
	Removed   []string
	Truncated []string
	// Raw is the whole event.
	Raw bson.Raw
}

// Decode parses one envelope record. It returns the event's id whenever the
// record carries one, even when the event is otherwise invalid, so that the
// failure can be reported for that event alone.
func Decode(record json.RawMessage) (Event, string, error) {
	raw, err := envelope.DecodeEvent(record)
	if err != nil {
		id, _ := envelope.EventIDFromJSON(record)
		return Event{}, id, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	ev, err := Parse(raw)
	return ev, ev.ID, err
}

// Parse validates a change event. The returned Event has ID set whenever the
// event has a usable _id._data, even on error.
func Parse(raw bson.Raw) (Event, error) {
	ev := Event{Raw: raw}
	if err := raw.Validate(); err != nil {
		return ev, invalid("not a BSON document: %v", err)
	}
	id, err := envelope.EventID(raw)
	if err != nil {
		return ev, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	ev.ID = id

	op, ok := raw.Lookup("operationType").StringValueOK()
	if !ok {
		return ev, invalid("operationType missing or not a string")
	}
	switch op {
	case OpInsert, OpUpdate, OpReplace, OpDelete:
		ev.Op = op
	default:
		return ev, invalid("unsupported operationType %q", op)
	}

	ct, ok := timestamp(raw.Lookup("clusterTime"))
	if !ok {
		return ev, invalid("clusterTime missing or not a timestamp")
	}
	ev.ClusterTime = ct

	ns, ok := raw.Lookup("ns").DocumentOK()
	if !ok {
		return ev, invalid("ns missing or not a document")
	}
	if ev.DB, ok = ns.Lookup("db").StringValueOK(); !ok {
		return ev, invalid("ns.db missing or not a string")
	}
	if ev.Coll, ok = ns.Lookup("coll").StringValueOK(); !ok {
		return ev, invalid("ns.coll missing or not a string")
	}

	key, ok := raw.Lookup("documentKey").DocumentOK()
	if !ok {
		return ev, invalid("documentKey missing or not a document")
	}
	ev.DocID = key.Lookup("_id")
	if ev.DocID.Type == 0 {
		return ev, invalid("documentKey._id missing")
	}

	if ev.FullDocument, err = optionalDoc(raw, "fullDocument"); err != nil {
		return ev, err
	}
	if ev.Before, err = optionalDoc(raw, "fullDocumentBeforeChange"); err != nil {
		return ev, err
	}
	if (ev.Op == OpInsert || ev.Op == OpReplace) && ev.FullDocument == nil {
		return ev, invalid("%s event without fullDocument", ev.Op)
	}
	if ev.Op == OpUpdate {
		if err := ev.parseUpdateDescription(raw); err != nil {
			return ev, err
		}
	}
	return ev, nil
}

func (ev *Event) parseUpdateDescription(raw bson.Raw) error {
	desc, ok := raw.Lookup("updateDescription").DocumentOK()
	if !ok {
		return invalid("update event without updateDescription document")
	}
	if v := desc.Lookup("updatedFields"); v.Type != 0 {
		doc, ok := v.DocumentOK()
		if !ok {
			return invalid("updateDescription.updatedFields is not a document")
		}
		ev.Updated = doc
	}
	if v := desc.Lookup("removedFields"); v.Type != 0 {
		names, err := stringArray(v)
		if err != nil {
			return invalid("updateDescription.removedFields: %v", err)
		}
		ev.Removed = names
	}
	if v := desc.Lookup("truncatedArrays"); v.Type != 0 {
		arr, ok := v.ArrayOK()
		if !ok {
			return invalid("updateDescription.truncatedArrays is not an array")
		}
		vals, _ := arr.Values()
		for _, e := range vals {
			d, ok := e.DocumentOK()
			if !ok {
				return invalid("updateDescription.truncatedArrays entry is not a document")
			}
			f, ok := d.Lookup("field").StringValueOK()
			if !ok {
				return invalid("updateDescription.truncatedArrays entry without field")
			}
			ev.Truncated = append(ev.Truncated, f)
		}
	}
	return nil
}

func optionalDoc(raw bson.Raw, key string) (bson.Raw, error) {
	v := raw.Lookup(key)
	switch v.Type {
	case 0, bsontype.Null, bsontype.Undefined:
		return nil, nil
	case bsontype.EmbeddedDocument:
		return v.Document(), nil
	default:
		return nil, invalid("%s is a %s, not a document", key, v.Type)
	}
}

func stringArray(v bson.RawValue) ([]string, error) {
	arr, ok := v.ArrayOK()
	if !ok {
		return nil, fmt.Errorf("not an array")
	}
	vals, err := arr.Values()
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(vals))
	for _, e := range vals {
		s, ok := e.StringValueOK()
		if !ok {
			return nil, fmt.Errorf("element is a %s, not a string", e.Type)
		}
		out = append(out, s)
	}
	return out, nil
}

func timestamp(v bson.RawValue) (primitive.Timestamp, bool) {
	t, i, ok := v.TimestampOK()
	if !ok {
		return primitive.Timestamp{}, false
	}
	return primitive.Timestamp{T: t, I: i}, true
}

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, args...))
}
