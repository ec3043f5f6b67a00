package changestream

import (
	"context"
	"fmt"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/bson/primitive"
	"go.mongodb.org/mongo-driver/x/bsonx/bsoncore"

	"github.com/changerelay/changerelay/infra/mongolocal/mongoerr"
)

// selects reports whether the stream shows r's event, and whether the
// stream ends with an invalidate after it.
func (s *spec) selects(r *record) (event, invalidate bool) {
	if !knownOp(r.op) {
		return false, false
	}
	switch {
	case s.db == "": // the whole cluster
		if internalDBs[r.db] {
			return false, false
		}
		return true, false
	case s.coll == "": // one database
		if r.db == s.db || (r.op == opRename && r.toDB == s.db) {
			return true, r.op == opDropDatabase
		}
		return false, false
	default: // one collection
		if r.op == opDropDatabase {
			// The collection's own drop event, which lungo writes first,
			// already invalidated the stream.
			return false, false
		}
		if r.db == s.db && r.coll == s.coll {
			return true, r.op == opDrop || r.op == opRename
		}
		if r.op == opRename && r.toDB == s.db && r.toColl == s.coll {
			return true, true
		}
		return false, false
	}
}

// nsDoc is the event's ns: {db, coll}, or {db} for dropDatabase.
func nsDoc(db, coll string) bson.Raw {
	if coll == "" {
		return bsoncore.BuildDocument(nil, bsoncore.AppendStringElement(nil, "db", db))
	}
	return bsoncore.BuildDocument(nil,
		bsoncore.AppendStringElement(nil, "db", db),
		bsoncore.AppendStringElement(nil, "coll", coll))
}

// buildEvent returns r's event as MongoDB 7.0 shapes it, before user stages.
func (c *Cursor) buildEvent(ctx context.Context, r *record) (bson.Raw, error) {
	s := c.spec
	idx, b := bsoncore.AppendDocumentStart(make([]byte, 0, 256+len(r.full)+len(r.upd)))
	b = bsoncore.AppendDocumentElement(b, "_id", token{ts: r.ts, seq: r.seq, kind: kindEvent}.raw())
	b = bsoncore.AppendStringElement(b, "operationType", r.op)
	b = bsoncore.AppendTimestampElement(b, "clusterTime", r.ts.T, r.ts.I)
	b = bsoncore.AppendDateTimeElement(b, "wallTime", r.wall)
	if r.hasTxn {
		b = bsoncore.AppendInt64Element(b, "txnNumber", r.txn)
	}
	if r.lsid != nil {
		b = bsoncore.AppendDocumentElement(b, "lsid", r.lsid)
	}
	if (r.op == opInsert || r.op == opReplace) && r.full != nil {
		b = bsoncore.AppendDocumentElement(b, "fullDocument", r.full)
	}
	b = bsoncore.AppendDocumentElement(b, "ns", nsDoc(r.db, r.coll))
	if r.op == opRename {
		b = bsoncore.AppendDocumentElement(b, "to", nsDoc(r.toDB, r.toColl))
	}
	if documentOp(r.op) {
		b = bsoncore.AppendDocumentElement(b, "documentKey", r.key)
	}
	if r.op == opUpdate {
		b = bsoncore.AppendDocumentElement(b, "updateDescription", r.upd)
	}
	if s.beforeChange != modeOff && (r.op == opUpdate || r.op == opReplace || r.op == opDelete) {
		switch {
		case r.pre != nil:
			b = bsoncore.AppendDocumentElement(b, "fullDocumentBeforeChange", r.pre)
		case s.beforeChange == modeRequired:
			return nil, mongoerr.New(mongoerr.NoMatchingDocument,
				"Change stream was configured to require a pre-image for all update, delete and replace "+
					"events, but the pre-image was not found for event: %s", eventSummary(r))
		default:
			b = bsoncore.AppendNullElement(b, "fullDocumentBeforeChange")
		}
	}
	if r.op == opUpdate && s.fullDocument != modeDefault {
		post, err := c.postImage(ctx, r)
		if err != nil {
			return nil, err
		}
		if post != nil {
			b = bsoncore.AppendDocumentElement(b, "fullDocument", post)
		} else {
			b = bsoncore.AppendNullElement(b, "fullDocument")
		}
	}
	b, err := bsoncore.AppendDocumentEnd(b, idx)
	if err != nil {
		return nil, mongoerr.New(mongoerr.InternalError, "build change event: %v", err)
	}
	return b, nil
}

// postImage returns an update's fullDocument for the stream's mode.
func (c *Cursor) postImage(ctx context.Context, r *record) (bson.Raw, error) {
	switch c.spec.fullDocument {
	case modeUpdateLookup:
		if c.log.cfg.Lookup == nil {
			return nil, nil
		}
		id, err := r.idValue()
		if err != nil {
			return nil, mongoerr.New(mongoerr.InternalError, "updateLookup: %v", err)
		}
		doc, err := c.log.cfg.Lookup(ctx, r.db, r.coll, id)
		if err != nil {
			return nil, fmt.Errorf("updateLookup: %w", err)
		}
		if doc == nil {
			return nil, nil
		}
		raw, err := encodeDoc(*doc)
		if err != nil {
			return nil, mongoerr.New(mongoerr.InternalError, "updateLookup: %v", err)
		}
		return raw, nil
	case modeRequired:
		if r.post == nil {
			return nil, mongoerr.New(mongoerr.NoMatchingDocument,
				"Change stream was configured to require a post-image for all update events, but the "+
					"post-image was not found for event: %s", eventSummary(r))
		}
	}
	return r.post, nil
}

// eventSummary names an event in error messages.
func eventSummary(r *record) string {
	key := "{}"
	if r.key != nil {
		key = r.key.String()
	}
	return fmt.Sprintf(`{operationType: "%s", ns: {db: "%s", coll: "%s"}, documentKey: %s, clusterTime: Timestamp(%d, %d)}`,
		r.op, r.db, r.coll, key, r.ts.T, r.ts.I)
}

// buildInvalidate returns the invalidate event that follows r's event.
func buildInvalidate(r *record) (bson.Raw, token) {
	tok := token{ts: r.ts, seq: r.seq, kind: kindInvalidate}
	return bsoncore.BuildDocument(nil,
		bsoncore.AppendDocumentElement(nil, "_id", tok.raw()),
		bsoncore.AppendStringElement(nil, "operationType", opInvalidate),
		bsoncore.AppendTimestampElement(nil, "clusterTime", r.ts.T, r.ts.I),
		bsoncore.AppendDateTimeElement(nil, "wallTime", r.wall),
	), tok
}

// highWater is the postBatchResumeToken for "everything before position
// seq has been seen"; ts is the cluster time reached.
func highWater(ts primitive.Timestamp, seq uint64) token {
	return token{ts: ts, seq: seq, kind: kindHighWater}
}
