package changestream_test

import (
	"context"
	"testing"
	"time"

	"github.com/256dpi/lungo/bsonkit"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.mongodb.org/mongo-driver/bson"

	"github.com/changerelay/changerelay/infra/mongolocal/changestream"
	"github.com/changerelay/changerelay/infra/mongolocal/mongoerr"
)

func TestEventShapes(t *testing.T) {
	l := openLog(t, changestream.Config{})
	c := watch(t, l, stream("db", "c", bson.D{}))
	requireEmpty(t, c)

	wall := time.Now().Add(-time.Hour).Truncate(time.Millisecond)
	ins := insertEntry("db", "c", 1, bson.D{{Key: "a", Value: "x"}})
	ins.WallTime = wall
	appendAll(t, l,
		ins,
		insertEntry("db", "other", 9, nil),
		updateEntry("db", "c", 1, bson.D{{Key: "a", Value: "y"}}, bson.D{{Key: "_id", Value: 1}, {Key: "a", Value: "y"}}),
		replaceEntry("db", "c", 1, bson.D{{Key: "b", Value: 2}}),
		deleteEntry("db", "c", 1),
	)
	evs := readN(t, c, 4)
	require.Equal(t, []string{"insert", "update", "replace", "delete"}, ops(evs))

	insert := evs[0]
	assert.Equal(t, bson.M{"db": "db", "coll": "c"}, insert.NS)
	assert.Equal(t, bson.M{"_id": int32(1)}, insert.DocumentKey)
	assert.Equal(t, mustRaw(bson.D{{Key: "_id", Value: 1}, {Key: "a", Value: "x"}}), insert.FullDocument)
	assert.Equal(t, wall.UnixMilli(), insert.WallTime.UnixMilli())
	assert.False(t, insert.ClusterTime.IsZero())
	assert.Len(t, insert.ID.Lookup("_data").StringValue(), 40)

	update := evs[1]
	assert.Nil(t, update.FullDocument, "default mode shows no fullDocument on update")
	assert.Equal(t, bson.M{"a": "y"}, update.UpdateDescription["updatedFields"])
	assert.Equal(t, bson.A{}, update.UpdateDescription["removedFields"])
	assert.Equal(t, bson.A{}, update.UpdateDescription["truncatedArrays"])

	assert.Equal(t, mustRaw(bson.D{{Key: "_id", Value: 1}, {Key: "b", Value: 2}}), evs[2].FullDocument)
	assert.Nil(t, evs[3].FullDocument)
	assert.Equal(t, bson.M{"_id": int32(1)}, evs[3].DocumentKey)

	// Field order of an insert event is MongoDB's.
	b, err := changestreamFirstKeys(t, l)
	require.NoError(t, err)
	assert.Equal(t, []string{"_id", "operationType", "clusterTime", "wallTime", "fullDocument", "ns", "documentKey"}, b)
}

func changestreamFirstKeys(t *testing.T, l *changestream.Log) ([]string, error) {
	c := watch(t, l, stream("db", "c", bson.D{{Key: "startAtOperationTime", Value: bsonkit.Now()}}))
	appendAll(t, l, insertEntry("db", "c", 5, nil))
	b, err := c.Next(context.Background(), 1, time.Second)
	if err != nil {
		return nil, err
	}
	elems, err := b.Events[0].Elements()
	var keys []string
	for _, e := range elems {
		keys = append(keys, e.Key())
	}
	return keys, err
}

func TestTransactionFields(t *testing.T) {
	l := openLog(t, changestream.Config{})
	c := watch(t, l, stream("db", "c", bson.D{}))
	txn := int64(7)
	lsid := bson.D{{Key: "id", Value: "session"}}
	e1, e2 := insertEntry("db", "c", 1, nil), insertEntry("db", "c", 2, nil)
	for _, e := range []*changestream.Entry{&e1, &e2} {
		e.LSID, e.TxnNumber = &lsid, &txn
	}
	// One transaction: both entries share a cluster time.
	ts := bsonkit.Get(e1.Oplog, "clusterTime")
	_, _ = bsonkit.Put(e2.Oplog, "clusterTime", ts, false)
	appendAll(t, l, e1, e2)
	evs := readN(t, c, 2)
	require.Equal(t, evs[0].ClusterTime, evs[1].ClusterTime)
	require.NotEqual(t, evs[0].ID, evs[1].ID)
	require.Less(t, evs[0].ID.Lookup("_data").StringValue(), evs[1].ID.Lookup("_data").StringValue())
	require.Equal(t, int64(7), *evs[0].TxnNumber)
	require.Equal(t, bson.M{"id": "session"}, evs[1].LSID)
}

func TestScopes(t *testing.T) {
	entries := func() []changestream.Entry {
		return []changestream.Entry{
			insertEntry("db", "c", 1, nil),
			insertEntry("db", "d", 2, nil),
			insertEntry("other", "c", 3, nil),
			insertEntry("admin", "x", 4, nil),
			insertEntry("local", "x", 5, nil),
		}
	}
	tests := []struct {
		name string
		req  changestream.Request
		ids  []int32
	}{
		{"collection", stream("db", "c", bson.D{}), []int32{1}},
		{"database", stream("db", "", bson.D{}), []int32{1, 2}},
		{"cluster", stream("admin", "", bson.D{{Key: "allChangesForCluster", Value: true}}), []int32{1, 2, 3}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := openLog(t, changestream.Config{})
			c := watch(t, l, tt.req)
			appendAll(t, l, entries()...)
			b, err := c.Next(context.Background(), 0, 0)
			require.NoError(t, err)
			var ids []int32
			for _, raw := range b.Events {
				ids = append(ids, decode(t, raw).DocumentKey["_id"].(int32))
			}
			require.Equal(t, tt.ids, ids)
		})
	}
}

func TestInvalidate(t *testing.T) {
	tests := []struct {
		name   string
		req    changestream.Request
		writes []changestream.Entry
		want   []string
	}{
		{"collection drop", stream("db", "c", bson.D{}),
			[]changestream.Entry{insertEntry("db", "c", 1, nil), oplog("drop", "db", "c"), insertEntry("db", "c", 2, nil)},
			[]string{"insert", "drop", "invalidate"}},
		{"collection rename", stream("db", "c", bson.D{}),
			[]changestream.Entry{renameEntry("db", "c", "db", "c2"), insertEntry("db", "c", 2, nil)},
			[]string{"rename", "invalidate"}},
		{"rename onto the collection", stream("db", "c", bson.D{}),
			[]changestream.Entry{renameEntry("db", "x", "db", "c")},
			[]string{"rename", "invalidate"}},
		{"collection in dropped database", stream("db", "c", bson.D{}),
			[]changestream.Entry{oplog("drop", "db", "d"), oplog("drop", "db", "c"), oplog("dropDatabase", "db", "")},
			[]string{"drop", "invalidate"}},
		{"database drop of a collection", stream("db", "", bson.D{}),
			[]changestream.Entry{oplog("drop", "db", "c"), insertEntry("db", "d", 1, nil)},
			[]string{"drop", "insert"}},
		{"database dropDatabase", stream("db", "", bson.D{}),
			[]changestream.Entry{oplog("drop", "db", "c"), oplog("dropDatabase", "db", ""), insertEntry("db", "d", 1, nil)},
			[]string{"drop", "dropDatabase", "invalidate"}},
		{"cluster never invalidates", stream("admin", "", bson.D{{Key: "allChangesForCluster", Value: true}}),
			[]changestream.Entry{oplog("drop", "db", "c"), oplog("dropDatabase", "db", ""), insertEntry("db", "d", 1, nil)},
			[]string{"drop", "dropDatabase", "insert"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := openLog(t, changestream.Config{})
			c := watch(t, l, tt.req)
			appendAll(t, l, tt.writes...)
			b, err := c.Next(context.Background(), 0, 0)
			require.NoError(t, err)
			var got []event
			for _, raw := range b.Events {
				got = append(got, decode(t, raw))
			}
			require.Equal(t, tt.want, ops(got))
			last := got[len(got)-1]
			require.Equal(t, last.ID, bson.Raw(b.PostBatchResumeToken))
			if last.OperationType != "invalidate" {
				require.False(t, b.Exhausted)
				return
			}
			require.True(t, b.Exhausted)
			require.Nil(t, last.NS)
			_, err = c.Next(context.Background(), 0, 0)
			requireCode(t, err, mongoerr.CursorNotFound)
		})
	}
}

func TestRenameEventShape(t *testing.T) {
	l := openLog(t, changestream.Config{})
	c := watch(t, l, stream("db", "", bson.D{}))
	appendAll(t, l, renameEntry("db", "a", "db", "b"), oplog("dropDatabase", "db", ""))
	evs := readN(t, c, 3)
	require.Equal(t, bson.M{"db": "db", "coll": "a"}, evs[0].NS)
	require.Equal(t, bson.M{"db": "db", "coll": "b"}, evs[0].To)
	require.Equal(t, bson.M{"db": "db"}, evs[1].NS)
	require.Equal(t, "invalidate", evs[2].OperationType)
}

func TestInvalidateResume(t *testing.T) {
	l := openLog(t, changestream.Config{})
	c := watch(t, l, stream("db", "c", bson.D{}))
	appendAll(t, l, insertEntry("db", "c", 1, nil), oplog("drop", "db", "c"), insertEntry("db", "c", 2, nil))
	evs := readN(t, c, 3)
	drop, invalidate := evs[1], evs[2]

	// resumeAfter an invalidate is refused.
	_, err := l.Watch(context.Background(), stream("db", "c", bson.D{{Key: "resumeAfter", Value: invalidate.ID}}))
	requireCode(t, err, 260)

	// resumeAfter the drop yields the invalidate again.
	c2 := watch(t, l, stream("db", "c", bson.D{{Key: "resumeAfter", Value: drop.ID}}))
	require.Equal(t, []string{"invalidate"}, ops(readN(t, c2, 1)))

	// startAfter the invalidate starts a new stream after it.
	c3 := watch(t, l, stream("db", "c", bson.D{{Key: "startAfter", Value: invalidate.ID}}))
	got := readN(t, c3, 1)
	require.Equal(t, "insert", got[0].OperationType)
	require.Equal(t, int32(2), got[0].DocumentKey["_id"])
}

func TestFullDocumentModes(t *testing.T) {
	current := bson.D{{Key: "_id", Value: 1}, {Key: "a", Value: "now"}}
	var lookups int
	lookup := func(_ context.Context, db, coll string, id any) (bsonkit.Doc, error) {
		lookups++
		if db == "db" && coll == "c" && id == int32(1) {
			return &current, nil
		}
		return nil, nil
	}
	post := bson.D{{Key: "_id", Value: 1}, {Key: "a", Value: "post"}}
	pre := bson.D{{Key: "_id", Value: 1}, {Key: "a", Value: "pre"}}
	withImages := func(e changestream.Entry, pre, post *bson.D) changestream.Entry {
		e.PreImage, e.PostImage = pre, post
		return e
	}
	writes := []changestream.Entry{
		withImages(updateEntry("db", "c", 1, bson.D{{Key: "a", Value: "post"}}, post), &pre, &post), // images
		updateEntry("db", "c", 2, bson.D{{Key: "a", Value: 1}}, bson.D{{Key: "_id", Value: 2}}),     // none
		withImages(deleteEntry("db", "c", 1), &post, nil),
	}
	tests := []struct {
		name       string
		opts       bson.D
		full       []bson.Raw // per event; nil = field absent
		before     []bson.Raw
		errAt      int // index of the event that fails (-1: none)
		errCode    int
		lookupsMin int
	}{
		{"default", bson.D{}, []bson.Raw{nil, nil, nil}, []bson.Raw{nil, nil, nil}, -1, 0, 0},
		{"updateLookup", bson.D{{Key: "fullDocument", Value: "updateLookup"}},
			[]bson.Raw{mustRaw(current), nullRaw, nil}, []bson.Raw{nil, nil, nil}, -1, 0, 2},
		{"whenAvailable", bson.D{{Key: "fullDocument", Value: "whenAvailable"}},
			[]bson.Raw{mustRaw(post), nullRaw, nil}, []bson.Raw{nil, nil, nil}, -1, 0, 0},
		{"required", bson.D{{Key: "fullDocument", Value: "required"}}, nil, nil, 1, 47, 0},
		{"beforeChange whenAvailable", bson.D{{Key: "fullDocumentBeforeChange", Value: "whenAvailable"}},
			[]bson.Raw{nil, nil, nil}, []bson.Raw{mustRaw(pre), nullRaw, mustRaw(post)}, -1, 0, 0},
		{"beforeChange required", bson.D{{Key: "fullDocumentBeforeChange", Value: "required"}}, nil, nil, 1, 47, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lookups = 0
			l := openLog(t, changestream.Config{Lookup: lookup})
			c := watch(t, l, stream("db", "c", tt.opts))
			appendAll(t, l, writes...)
			if tt.errAt >= 0 {
				// Events before the failing one are delivered first.
				b, err := c.Next(context.Background(), 0, 0)
				require.NoError(t, err)
				require.Len(t, b.Events, tt.errAt)
				_, err = c.Next(context.Background(), 1, 0)
				requireCode(t, err, tt.errCode)
				return
			}
			b, err := c.Next(context.Background(), 0, 0)
			require.NoError(t, err)
			require.Len(t, b.Events, 3)
			for i, raw := range b.Events {
				full, err := raw.LookupErr("fullDocument")
				if tt.full[i] == nil {
					require.Error(t, err, "event %d has fullDocument", i)
				} else if tt.full[i].String() == nullRaw.String() {
					require.Equal(t, bson.TypeNull, full.Type, "event %d", i)
				} else {
					require.Equal(t, tt.full[i], full.Document(), "event %d", i)
				}
				before, err := raw.LookupErr("fullDocumentBeforeChange")
				if tt.before[i] == nil {
					require.Error(t, err, "event %d has fullDocumentBeforeChange", i)
				} else if tt.before[i].String() == nullRaw.String() {
					require.Equal(t, bson.TypeNull, before.Type, "event %d", i)
				} else {
					require.Equal(t, tt.before[i], before.Document(), "event %d", i)
				}
			}
			require.GreaterOrEqual(t, lookups, tt.lookupsMin)
		})
	}
}

// nullRaw stands for "the field is present and null" in expectations.
var nullRaw = mustRaw(bson.D{{Key: "null", Value: nil}})
