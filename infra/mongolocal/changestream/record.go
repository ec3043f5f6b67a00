package changestream

import (
	"errors"
	"fmt"
	"time"

	"github.com/256dpi/lungo/bsonkit"
	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/bson/primitive"
	"go.mongodb.org/mongo-driver/x/bsonx/bsoncore"
)

// record is one entry of the log, immutable once appended. Documents are
// kept as raw BSON: compact in memory, written to disk as they are, and
// copied into events without decoding.
type record struct {
	seq          uint64
	ts           primitive.Timestamp
	wall         int64 // milliseconds since the Unix epoch
	op           string
	db, coll     string
	toDB, toColl string   // rename target
	key          bson.Raw // documentKey
	full         bson.Raw // fullDocument of insert and replace
	upd          bson.Raw // updateDescription of update
	pre, post    bson.Raw // pre- and post-images, when recorded
	lsid         bson.Raw
	txn          int64
	hasTxn       bool
}

// operation types the log understands.
const (
	opInsert       = "insert"
	opUpdate       = "update"
	opReplace      = "replace"
	opDelete       = "delete"
	opDrop         = "drop"
	opRename       = "rename"
	opDropDatabase = "dropDatabase"
	opInvalidate   = "invalidate"
)

// documentOp reports whether op changes one document.
func documentOp(op string) bool {
	switch op {
	case opInsert, opUpdate, opReplace, opDelete:
		return true
	}
	return false
}

// knownOp reports whether op is an operation type this package emits.
func knownOp(op string) bool {
	return documentOp(op) || op == opDrop || op == opRename || op == opDropDatabase
}

// newRecord converts an Entry; seq is assigned by the log. The oplog
// document is encoded once and its parts are sliced out of the encoding.
func newRecord(e Entry, now time.Time) (*record, error) {
	if e.Oplog == nil {
		return nil, errors.New("changestream: entry without an oplog document")
	}
	raw, err := encodeDoc(*e.Oplog)
	if err != nil {
		return nil, fmt.Errorf("changestream: encode oplog entry: %w", err)
	}
	r := &record{}
	var id, ns, to bson.Raw
	var hasTS bool
	rem := raw[4 : len(raw)-1]
	for len(rem) > 0 {
		elem, rest, ok := bsoncore.ReadElement(rem)
		if !ok {
			return nil, errors.New("changestream: malformed oplog entry")
		}
		rem = rest
		v := bson.RawElement(elem).Value()
		switch elem.Key() {
		case "operationType":
			r.op, _ = v.StringValueOK()
		case "clusterTime":
			r.ts.T, r.ts.I, hasTS = v.TimestampOK()
		case "_id":
			id, _ = v.DocumentOK()
		case "ns":
			ns, _ = v.DocumentOK()
		case "to":
			to, _ = v.DocumentOK()
		case "documentKey":
			r.key, _ = v.DocumentOK()
		case "fullDocument":
			r.full, _ = v.DocumentOK()
		case "updateDescription":
			r.upd, _ = v.DocumentOK()
		}
	}
	if r.op == "" {
		return nil, errors.New("changestream: oplog entry without operationType")
	}
	if !hasTS && id != nil {
		r.ts.T, r.ts.I, hasTS = id.Lookup("ts").TimestampOK()
	}
	if !hasTS {
		return nil, fmt.Errorf("changestream: %s entry without clusterTime", r.op)
	}
	if r.db, _ = bson.Raw(ns).Lookup("db").StringValueOK(); r.db == "" {
		return nil, fmt.Errorf("changestream: %s entry without ns.db", r.op)
	}
	r.coll, _ = bson.Raw(ns).Lookup("coll").StringValueOK()
	if r.op == opRename {
		r.toDB, _ = bson.Raw(to).Lookup("db").StringValueOK()
		r.toColl, _ = bson.Raw(to).Lookup("coll").StringValueOK()
		if r.toDB == "" || r.toColl == "" {
			return nil, errors.New("changestream: rename entry without to: {db, coll}")
		}
	}
	if documentOp(r.op) && r.key == nil {
		return nil, fmt.Errorf("changestream: %s entry without documentKey", r.op)
	}
	switch r.op {
	case opInsert, opReplace:
		r.upd = nil
	case opUpdate:
		// lungo also records the post-write document of an update; events
		// show it only as a post-image, which PostImage carries when
		// enabled. Copy the small parts so the encoding can go.
		r.full = nil
		r.key = append(bson.Raw(nil), r.key...)
		if r.upd == nil {
			r.upd = emptyUpdateDescription()
		} else {
			r.upd = append(bson.Raw(nil), r.upd...)
		}
	default:
		r.key, r.full, r.upd = copyRaw(r.key), nil, nil
	}

	wall := e.WallTime
	if wall.IsZero() {
		wall = now
	}
	r.wall = wall.UnixMilli()
	if r.pre, err = marshalDoc(e.PreImage); err != nil {
		return nil, fmt.Errorf("changestream: pre-image: %w", err)
	}
	if r.post, err = marshalDoc(e.PostImage); err != nil {
		return nil, fmt.Errorf("changestream: post-image: %w", err)
	}
	if r.lsid, err = marshalDoc(e.LSID); err != nil {
		return nil, fmt.Errorf("changestream: lsid: %w", err)
	}
	if e.TxnNumber != nil {
		r.txn, r.hasTxn = *e.TxnNumber, true
	}
	return r, nil
}

func copyRaw(b bson.Raw) bson.Raw {
	if b == nil {
		return nil
	}
	return append(bson.Raw(nil), b...)
}

// emptyUpdateDescription is {updatedFields: {}, removedFields: [], truncatedArrays: []}.
func emptyUpdateDescription() bson.Raw {
	empty := bsoncore.BuildDocument(nil)
	return bsoncore.BuildDocument(nil,
		bsoncore.AppendDocumentElement(nil, "updatedFields", empty),
		bsoncore.AppendArrayElement(nil, "removedFields", empty),
		bsoncore.AppendArrayElement(nil, "truncatedArrays", empty),
	)
}

// marshalDoc encodes a bsonkit document, nil staying nil.
func marshalDoc(d bsonkit.Doc) (bson.Raw, error) {
	if d == nil {
		return nil, nil
	}
	return encodeDoc(*d)
}

// size estimates the record's memory footprint in bytes.
func (r *record) size() int {
	return 160 + len(r.db) + len(r.coll) + len(r.toDB) + len(r.toColl) + len(r.key) + len(r.full) +
		len(r.upd) + len(r.pre) + len(r.post) + len(r.lsid)
}

// encode returns the record as the BSON document stored on disk.
func (r *record) encode() []byte {
	idx, b := bsoncore.AppendDocumentStart(make([]byte, 0, r.size()))
	b = bsoncore.AppendInt64Element(b, "seq", int64(r.seq))
	b = bsoncore.AppendTimestampElement(b, "ts", r.ts.T, r.ts.I)
	b = bsoncore.AppendDateTimeElement(b, "wall", r.wall)
	b = bsoncore.AppendStringElement(b, "op", r.op)
	b = bsoncore.AppendStringElement(b, "db", r.db)
	b = bsoncore.AppendStringElement(b, "coll", r.coll)
	if r.op == opRename {
		b = bsoncore.AppendStringElement(b, "toDB", r.toDB)
		b = bsoncore.AppendStringElement(b, "toColl", r.toColl)
	}
	for _, f := range []struct {
		name string
		doc  bson.Raw
	}{{"key", r.key}, {"full", r.full}, {"upd", r.upd}, {"pre", r.pre}, {"post", r.post}, {"lsid", r.lsid}} {
		if f.doc != nil {
			b = bsoncore.AppendDocumentElement(b, f.name, f.doc)
		}
	}
	if r.hasTxn {
		b = bsoncore.AppendInt64Element(b, "txn", r.txn)
	}
	b, _ = bsoncore.AppendDocumentEnd(b, idx)
	return b
}

// decodeRecord parses a record written by encode.
func decodeRecord(doc bson.Raw) (*record, error) {
	elems, err := doc.Elements()
	if err != nil {
		return nil, err
	}
	r := &record{}
	for _, e := range elems {
		v := e.Value()
		var ok bool
		switch e.Key() {
		case "seq":
			var n int64
			n, ok = v.Int64OK()
			r.seq = uint64(n)
		case "ts":
			r.ts.T, r.ts.I, ok = v.TimestampOK()
		case "wall":
			r.wall, ok = v.DateTimeOK()
		case "op":
			r.op, ok = v.StringValueOK()
		case "db":
			r.db, ok = v.StringValueOK()
		case "coll":
			r.coll, ok = v.StringValueOK()
		case "toDB":
			r.toDB, ok = v.StringValueOK()
		case "toColl":
			r.toColl, ok = v.StringValueOK()
		case "key", "full", "upd", "pre", "post", "lsid":
			var d bson.Raw
			d, ok = v.DocumentOK()
			d = append(bson.Raw(nil), d...)
			switch e.Key() {
			case "key":
				r.key = d
			case "full":
				r.full = d
			case "upd":
				r.upd = d
			case "pre":
				r.pre = d
			case "post":
				r.post = d
			case "lsid":
				r.lsid = d
			}
		case "txn":
			r.txn, ok = v.Int64OK()
			r.hasTxn = true
		default:
			ok = true // written by a newer version; ignore
		}
		if !ok {
			return nil, fmt.Errorf("field %q has type %s", e.Key(), v.Type)
		}
	}
	if r.seq == 0 || r.op == "" || r.db == "" {
		return nil, errors.New("record without seq, op or db")
	}
	return r, nil
}

// idValue returns the documentKey's _id as a Go value for Config.Lookup.
func (r *record) idValue() (any, error) {
	var key bson.D
	if err := bson.Unmarshal(r.key, &key); err != nil {
		return nil, err
	}
	for _, e := range key {
		if e.Key == "_id" {
			return e.Value, nil
		}
	}
	return nil, errors.New("documentKey without _id")
}
