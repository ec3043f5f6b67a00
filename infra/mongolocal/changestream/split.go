package changestream

import (
	"bytes"
	"sort"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/x/bsonx/bsoncore"

	"github.com/changerelay/changerelay/infra/mongolocal/mongoerr"
)

// maxEventSize is the largest event a stream returns whole (MongoDB's
// maxBsonObjectSize); larger ones fail or, with
// $changeStreamSplitLargeEvent, are split.
const maxEventSize = 16 * 1024 * 1024

// maxBatchSize bounds the events of one batch, as mongod does.
const maxBatchSize = 16 * 1024 * 1024

// batchElementOverhead is what an event costs in the reply's array beyond
// its own bytes (type byte, decimal index key, its NUL), counted so that a
// batch of many small events still fits the reply limit.
const batchElementOverhead = 8

// batchReplyReserve leaves room in the reply for the cursor's other fields
// (id, ns, postBatchResumeToken) and the reply's $clusterTime.
const batchReplyReserve = 8 * 1024

// transform runs the user stages over an event built with token tok. It
// returns nil when a stage filtered the event out.
func (c *Cursor) transform(ev bson.Raw, tok token) (bson.Raw, error) {
	if len(c.spec.stages) == 0 {
		return ev, nil
	}
	doc, err := toDoc(ev)
	if err != nil {
		return nil, mongoerr.New(mongoerr.InternalError, "decode change event: %v", err)
	}
	for _, st := range c.spec.stages {
		if doc, err = applyStage(st, doc); err != nil {
			return nil, err
		}
		if doc == nil {
			return nil, nil
		}
	}
	if c.spec.filterOnly {
		return ev, nil // only $match stages: the event passes unchanged
	}
	out, err := bson.Marshal(*doc)
	if err != nil {
		return nil, mongoerr.New(mongoerr.BadValue, "encode change event: %v", err)
	}
	id, err := bson.Raw(out).LookupErr("_id")
	if err != nil || !bytes.Equal(id.Value, tok.raw()) {
		return nil, errIDModified()
	}
	return out, nil
}

// fragments returns the event as it is sent: whole when it fits, else split
// into fragments (each with its own token) or an error without the split
// stage.
func (c *Cursor) fragments(ev bson.Raw, tok token) ([]bson.Raw, []token, error) {
	if len(ev) <= maxEventSize {
		return []bson.Raw{ev}, []token{tok}, nil
	}
	if !c.spec.split {
		return nil, nil, mongoerr.New(mongoerr.Location10334,
			"BSONObj size: %d (0x%X) is invalid. Size must be between 0 and %d(16MB) First element: _id: {_data: %q}",
			len(ev), len(ev), maxEventSize, tok.data())
	}
	return splitEvent(ev, tok, maxEventSize-len(tok.raw()))
}

// splitEventSize is the size of the element splitEvent: {fragment, of}.
var splitEventSize = len(splitEventElem(1, 1))

func splitEventElem(fragment, of int) []byte {
	return bsoncore.AppendDocumentElement(nil, "splitEvent", bsoncore.BuildDocument(nil,
		bsoncore.AppendInt32Element(nil, "fragment", int32(fragment)),
		bsoncore.AppendInt32Element(nil, "of", int32(of))))
}

// splitEvent splits an event as MongoDB 7.0 does: top-level fields other
// than _id, smallest first (ties by name), go greedily into fragments of at
// most limit bytes; each fragment starts with its own _id and splitEvent.
func splitEvent(ev bson.Raw, tok token, limit int) ([]bson.Raw, []token, error) {
	elems, err := ev.Elements()
	if err != nil {
		return nil, nil, mongoerr.New(mongoerr.InternalError, "split change event: %v", err)
	}
	type field struct {
		key  string
		elem []byte
	}
	var fields []field
	for _, e := range elems {
		if e.Key() != "_id" {
			fields = append(fields, field{e.Key(), e})
		}
	}
	if len(fields) == 0 {
		return nil, nil, mongoerr.New(7182502, "Cannot split an empty event or an event containing solely '_id' field")
	}
	sort.SliceStable(fields, func(i, j int) bool {
		if len(fields[i].elem) != len(fields[j].elem) {
			return len(fields[i].elem) < len(fields[j].elem)
		}
		return fields[i].key < fields[j].key
	})

	var groups [][]field
	var toks []token
	for i := 0; i < len(fields); {
		ft := tok
		ft.fragment = uint16(len(groups) + 1)
		size := 4 + len(bsoncore.AppendDocumentElement(nil, "_id", ft.raw())) + splitEventSize + 1
		var group []field
		for {
			group = append(group, fields[i])
			size += len(fields[i].elem)
			i++
			if i == len(fields) || size+len(fields[i].elem) > limit {
				break
			}
		}
		if size > limit {
			return nil, nil, mongoerr.New(7182500,
				"Splitting change event failed: fragment size %d is greater than maximum allowed fragment size %d",
				size, limit)
		}
		groups = append(groups, group)
		toks = append(toks, ft)
	}
	out := make([]bson.Raw, len(groups))
	for n, group := range groups {
		idx, b := bsoncore.AppendDocumentStart(nil)
		b = bsoncore.AppendDocumentElement(b, "_id", toks[n].raw())
		b = append(b, splitEventElem(n+1, len(groups))...)
		for _, f := range group {
			b = append(b, f.elem...)
		}
		b, _ = bsoncore.AppendDocumentEnd(b, idx)
		out[n] = b
	}
	return out, toks, nil
}
