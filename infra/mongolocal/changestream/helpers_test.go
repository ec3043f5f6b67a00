package changestream_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/256dpi/lungo/bsonkit"
	"github.com/stretchr/testify/require"
	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/bson/primitive"

	"github.com/changerelay/changerelay/infra/mongolocal/changestream"
	"github.com/changerelay/changerelay/infra/mongolocal/mongoerr"
)

// oplog builds an entry shaped like lungo's oplog entries.
func oplog(op, db, coll string, fields ...bson.E) changestream.Entry {
	ts := bsonkit.Now()
	ns := bson.D{{Key: "db", Value: db}}
	if coll != "" {
		ns = append(ns, bson.E{Key: "coll", Value: coll})
	}
	d := bson.D{
		{Key: "_id", Value: bson.D{{Key: "ts", Value: ts}}},
		{Key: "clusterTime", Value: ts},
		{Key: "ns", Value: ns},
		{Key: "operationType", Value: op},
	}
	d = append(d, fields...)
	return changestream.Entry{Oplog: &d}
}

func insertEntry(db, coll string, id any, doc bson.D) changestream.Entry {
	full := append(bson.D{{Key: "_id", Value: id}}, doc...)
	return oplog("insert", db, coll,
		bson.E{Key: "documentKey", Value: bson.D{{Key: "_id", Value: id}}},
		bson.E{Key: "fullDocument", Value: full})
}

func updateEntry(db, coll string, id any, set bson.D, post bson.D) changestream.Entry {
	return oplog("update", db, coll,
		bson.E{Key: "documentKey", Value: bson.D{{Key: "_id", Value: id}}},
		bson.E{Key: "fullDocument", Value: post},
		bson.E{Key: "updateDescription", Value: bson.D{
			{Key: "removedFields", Value: bson.A{}},
			{Key: "truncatedArrays", Value: bson.A{}},
			{Key: "updatedFields", Value: set},
		}})
}

func replaceEntry(db, coll string, id any, doc bson.D) changestream.Entry {
	full := append(bson.D{{Key: "_id", Value: id}}, doc...)
	return oplog("replace", db, coll,
		bson.E{Key: "documentKey", Value: bson.D{{Key: "_id", Value: id}}},
		bson.E{Key: "fullDocument", Value: full})
}

func deleteEntry(db, coll string, id any) changestream.Entry {
	return oplog("delete", db, coll, bson.E{Key: "documentKey", Value: bson.D{{Key: "_id", Value: id}}})
}

func renameEntry(db, coll, toDB, toColl string) changestream.Entry {
	return oplog("rename", db, coll, bson.E{Key: "to", Value: bson.D{{Key: "db", Value: toDB}, {Key: "coll", Value: toColl}}})
}

func openLog(t *testing.T, cfg changestream.Config) *changestream.Log {
	t.Helper()
	l, err := changestream.Open(cfg)
	require.NoError(t, err)
	t.Cleanup(func() { _ = l.Close() })
	return l
}

func appendAll(t *testing.T, l *changestream.Log, entries ...changestream.Entry) {
	t.Helper()
	require.NoError(t, l.Append(entries))
}

// stream is a Request for a collection ("db", "c"), a database ("db", "")
// or, with db "admin" and allChangesForCluster, the cluster.
func stream(db, coll string, opts bson.D, stages ...bson.D) changestream.Request {
	pipeline := []bson.Raw{mustRaw(bson.D{{Key: "$changeStream", Value: opts}})}
	for _, s := range stages {
		pipeline = append(pipeline, mustRaw(s))
	}
	return changestream.Request{DB: db, Coll: coll, Pipeline: pipeline}
}

func mustRaw(v any) bson.Raw {
	b, err := bson.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

func watch(t *testing.T, l *changestream.Log, req changestream.Request) *changestream.Cursor {
	t.Helper()
	c, err := l.Watch(context.Background(), req)
	require.NoError(t, err)
	t.Cleanup(c.Close)
	return c
}

// event is a decoded change event.
type event struct {
	ID                       bson.Raw            `bson:"_id"`
	OperationType            string              `bson:"operationType"`
	ClusterTime              primitive.Timestamp `bson:"clusterTime"`
	WallTime                 time.Time           `bson:"wallTime"`
	NS                       bson.M              `bson:"ns"`
	To                       bson.M              `bson:"to,omitempty"`
	DocumentKey              bson.M              `bson:"documentKey,omitempty"`
	FullDocument             bson.Raw            `bson:"fullDocument,omitempty"`
	FullDocumentBeforeChange bson.Raw            `bson:"fullDocumentBeforeChange,omitempty"`
	UpdateDescription        bson.M              `bson:"updateDescription,omitempty"`
	SplitEvent               bson.M              `bson:"splitEvent,omitempty"`
	LSID                     bson.M              `bson:"lsid,omitempty"`
	TxnNumber                *int64              `bson:"txnNumber,omitempty"`
}

func decode(t *testing.T, raw bson.Raw) event {
	t.Helper()
	var e event
	require.NoError(t, bson.Unmarshal(raw, &e))
	return e
}

// readN reads exactly n events (within a deadline).
func readN(t *testing.T, c *changestream.Cursor, n int) []event {
	t.Helper()
	var out []event
	deadline := time.Now().Add(5 * time.Second)
	for len(out) < n {
		require.True(t, time.Now().Before(deadline), "got %d of %d events", len(out), n)
		b, err := c.Next(context.Background(), n-len(out), 100*time.Millisecond)
		require.NoError(t, err)
		for _, raw := range b.Events {
			out = append(out, decode(t, raw))
		}
	}
	return out
}

// requireEmpty asserts the cursor has nothing ready and returns the batch.
func requireEmpty(t *testing.T, c *changestream.Cursor) changestream.Batch {
	t.Helper()
	b, err := c.Next(context.Background(), 0, 0)
	require.NoError(t, err)
	require.Empty(t, b.Events)
	require.NotEmpty(t, b.PostBatchResumeToken)
	return b
}

// requireCode asserts err is a *mongoerr.Error with the code.
func requireCode(t *testing.T, err error, code int) {
	t.Helper()
	require.Error(t, err)
	var me *mongoerr.Error
	require.True(t, errors.As(err, &me), "not a mongoerr: %v", err)
	require.Equal(t, code, me.Code, "%v", err)
}

func ops(events []event) []string {
	var out []string
	for _, e := range events {
		out = append(out, e.OperationType)
	}
	return out
}

func bsonTS(t uint32) primitive.Timestamp { return primitive.Timestamp{T: t} }
