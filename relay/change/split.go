package change

import (
	"errors"
	"fmt"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/x/bsonx/bsoncore"
)

// Assembler reassembles the fragments $changeStreamSplitLargeEvent makes
// of an event over 16 MB. Each fragment carries splitEvent {fragment, of}
// and some of the event's top-level fields; the whole event takes the last
// fragment's _id, so that resuming after it resumes after the whole event.
type Assembler struct {
	next  int32
	of    int32
	parts []bson.Raw
}

// ErrFragmentOrder reports a fragment out of sequence (the assembler has
// started over from it).
var ErrFragmentOrder = errors.New("split event fragment out of order")

// Add takes the next stream document. It returns the whole event when ev is
// not a fragment or is the last one; nil while fragments are pending.
func (a *Assembler) Add(ev bson.Raw) (bson.Raw, error) {
	split, ok := ev.Lookup("splitEvent").DocumentOK()
	if !ok {
		if a.Pending() {
			a.reset()
			return ev, ErrFragmentOrder
		}
		return ev, nil
	}
	frag, ok1 := split.Lookup("fragment").AsInt64OK()
	of, ok2 := split.Lookup("of").AsInt64OK()
	if !ok1 || !ok2 || frag < 1 || of < 1 || frag > of {
		return nil, fmt.Errorf("%w: bad splitEvent %s", ErrFragmentOrder, split)
	}
	var err error
	if frag == 1 {
		if a.Pending() {
			err = ErrFragmentOrder
		}
		a.reset()
		a.of = int32(of)
	} else if int32(frag) != a.next || int32(of) != a.of {
		a.reset()
		return nil, fmt.Errorf("%w: got %d of %d", ErrFragmentOrder, frag, of)
	}
	a.parts = append(a.parts, append(bson.Raw(nil), ev...)) // ev may be the driver's buffer
	a.next = int32(frag) + 1
	if frag < of {
		return nil, err
	}
	whole, mergeErr := merge(a.parts)
	a.reset()
	if mergeErr != nil {
		return nil, mergeErr
	}
	return whole, err
}

// Pending reports whether fragments of an event are waiting for the rest.
func (a *Assembler) Pending() bool { return len(a.parts) > 0 }

func (a *Assembler) reset() { a.parts, a.next, a.of = nil, 0, 0 }

func merge(parts []bson.Raw) (bson.Raw, error) {
	last := parts[len(parts)-1]
	idx, doc := bsoncore.AppendDocumentStart(nil)
	doc = bsoncore.AppendValueElement(doc, "_id", bsoncore.Value{Type: last.Lookup("_id").Type, Data: last.Lookup("_id").Value})
	seen := map[string]bool{"_id": true, "splitEvent": true}
	for _, p := range parts {
		elems, err := p.Elements()
		if err != nil {
			return nil, fmt.Errorf("split event fragment: %w", err)
		}
		for _, e := range elems {
			if seen[e.Key()] {
				continue
			}
			seen[e.Key()] = true
			v := e.Value()
			doc = bsoncore.AppendValueElement(doc, e.Key(), bsoncore.Value{Type: v.Type, Data: v.Value})
		}
	}
	doc, err := bsoncore.AppendDocumentEnd(doc, idx)
	if err != nil {
		return nil, err
	}
	return bson.Raw(doc), nil
}
