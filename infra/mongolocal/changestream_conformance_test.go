package mongolocal_test

// Change-stream conformance: black-box tests with the official Go driver.
// They run against mongolocal, and unchanged against a real replica set
// (MongoDB 6.0+) when MONGODB_URI is set; cases that need mongolocal's
// configuration (a tiny oplog) or a 7.0 feature skip themselves there.

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/bson/primitive"
	"go.mongodb.org/mongo-driver/mongo"
	"go.mongodb.org/mongo-driver/mongo/options"

	"github.com/changerelay/changerelay/infra/mongolocal"
	"github.com/changerelay/changerelay/infra/mongotest"
)

// csCtx is a context bounded for one test.
func csCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// csEvent is a change event as the tests inspect it.
type csEvent struct {
	ID                       bson.Raw            `bson:"_id"`
	OperationType            string              `bson:"operationType"`
	ClusterTime              primitive.Timestamp `bson:"clusterTime"`
	WallTime                 *time.Time          `bson:"wallTime"`
	NS                       bson.M              `bson:"ns"`
	To                       bson.M              `bson:"to"`
	DocumentKey              bson.M              `bson:"documentKey"`
	FullDocument             bson.Raw            `bson:"fullDocument"`
	FullDocumentBeforeChange bson.Raw            `bson:"fullDocumentBeforeChange"`
	UpdateDescription        *struct {
		UpdatedFields   bson.M   `bson:"updatedFields"`
		RemovedFields   []string `bson:"removedFields"`
		TruncatedArrays bson.A   `bson:"truncatedArrays"`
	} `bson:"updateDescription"`
	SplitEvent *struct {
		Fragment int `bson:"fragment"`
		Of       int `bson:"of"`
	} `bson:"splitEvent"`
	raw bson.Raw
}

func watchColl(t *testing.T, coll *mongo.Collection, pipeline any, opts ...*options.ChangeStreamOptions) *mongo.ChangeStream {
	t.Helper()
	if pipeline == nil {
		pipeline = mongo.Pipeline{}
	}
	cs, err := coll.Watch(csCtx(t), pipeline, opts...)
	require.NoError(t, err)
	t.Cleanup(func() { _ = cs.Close(context.Background()) })
	return cs
}

// nextEvents reads n events, failing after a deadline.
func nextEvents(t *testing.T, cs *mongo.ChangeStream, n int) []csEvent {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var out []csEvent
	for len(out) < n {
		require.True(t, cs.Next(ctx), "event %d of %d: %v", len(out)+1, n, cs.Err())
		var e csEvent
		require.NoError(t, cs.Decode(&e))
		e.raw = append(bson.Raw(nil), cs.Current...)
		out = append(out, e)
	}
	return out
}

func opTypes(evs []csEvent) []string {
	var out []string
	for _, e := range evs {
		out = append(out, e.OperationType)
	}
	return out
}

func commandCode(t *testing.T, err error) int32 {
	t.Helper()
	var ce mongo.CommandError
	if errors.As(err, &ce) {
		return ce.Code
	}
	var se mongo.ServerError
	if errors.As(err, &se) {
		for _, c := range []int{47, 260, 280, 286, 10334, 40674, 50865} {
			if se.HasErrorCode(c) {
				return int32(c)
			}
		}
	}
	t.Fatalf("not a server error: %v", err)
	return 0
}

// enableImages turns on changeStreamPreAndPostImages for a collection.
func enableImages(t *testing.T, db *mongo.Database, coll string) {
	t.Helper()
	ctx := csCtx(t)
	err := db.CreateCollection(ctx, coll)
	var ce mongo.CommandError
	if err != nil && !(errors.As(err, &ce) && ce.Code == 48) {
		require.NoError(t, err)
	}
	require.NoError(t, db.RunCommand(ctx, bson.D{
		{Key: "collMod", Value: coll},
		{Key: "changeStreamPreAndPostImages", Value: bson.D{{Key: "enabled", Value: true}}},
	}).Err())
}

func TestChangeStreamEvents(t *testing.T) {
	db := mongotest.Database(t)
	coll := db.Collection("events")
	ctx := csCtx(t)
	cs := watchColl(t, coll, nil)

	_, err := coll.InsertOne(ctx, bson.D{{Key: "_id", Value: 1}, {Key: "a", Value: "x"}, {Key: "gone", Value: true}})
	require.NoError(t, err)
	_, err = db.Collection("elsewhere").InsertOne(ctx, bson.D{{Key: "_id", Value: 99}})
	require.NoError(t, err)
	_, err = coll.UpdateOne(ctx, bson.D{{Key: "_id", Value: 1}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "a", Value: "y"}}}, {Key: "$unset", Value: bson.D{{Key: "gone", Value: ""}}}})
	require.NoError(t, err)
	_, err = coll.ReplaceOne(ctx, bson.D{{Key: "_id", Value: 1}}, bson.D{{Key: "b", Value: 2}})
	require.NoError(t, err)
	_, err = coll.DeleteOne(ctx, bson.D{{Key: "_id", Value: 1}})
	require.NoError(t, err)

	evs := nextEvents(t, cs, 4)
	require.Equal(t, []string{"insert", "update", "replace", "delete"}, opTypes(evs))
	for i, e := range evs {
		assert.Equal(t, bson.M{"db": db.Name(), "coll": "events"}, e.NS, "event %d", i)
		assert.Equal(t, bson.M{"_id": int32(1)}, e.DocumentKey, "event %d", i)
		assert.False(t, e.ClusterTime.IsZero(), "event %d", i)
		assert.NotNil(t, e.WallTime, "event %d", i)
		assert.NotEmpty(t, e.ID.Lookup("_data").StringValue(), "event %d token", i)
		if i > 0 {
			assert.Less(t, evs[i-1].ID.Lookup("_data").StringValue(), e.ID.Lookup("_data").StringValue(), "tokens sort as the oplog")
		}
	}
	assert.Equal(t, int32(1), evs[0].FullDocument.Lookup("_id").Int32())
	assert.Equal(t, "x", evs[0].FullDocument.Lookup("a").StringValue())

	require.NotNil(t, evs[1].UpdateDescription)
	assert.Equal(t, bson.M{"a": "y"}, evs[1].UpdateDescription.UpdatedFields)
	assert.Equal(t, []string{"gone"}, evs[1].UpdateDescription.RemovedFields)
	assert.Empty(t, evs[1].UpdateDescription.TruncatedArrays)
	assert.Nil(t, evs[1].FullDocument, "no fullDocument on update by default")

	assert.Equal(t, int32(2), evs[2].FullDocument.Lookup("b").Int32())
	assert.Nil(t, evs[3].FullDocument)
	assert.Nil(t, evs[3].FullDocumentBeforeChange)
}

func TestChangeStreamScopes(t *testing.T) {
	client := mongotest.Client(t)
	db := mongotest.FreshDatabase(t, client)
	other := mongotest.FreshDatabase(t, client)
	ctx := csCtx(t)

	quick := options.ChangeStream().SetMaxAwaitTime(200 * time.Millisecond)
	dbStream, err := db.Watch(ctx, mongo.Pipeline{}, quick)
	require.NoError(t, err)
	t.Cleanup(func() { _ = dbStream.Close(context.Background()) })
	// Keep only this test's databases: a real deployment has other traffic.
	onlyOurs := mongo.Pipeline{{{Key: "$match", Value: bson.D{{Key: "ns.db", Value: bson.D{{Key: "$in", Value: bson.A{db.Name(), other.Name()}}}}}}}}
	clusterStream, err := client.Watch(ctx, onlyOurs)
	require.NoError(t, err)
	t.Cleanup(func() { _ = clusterStream.Close(context.Background()) })

	for i, c := range []*mongo.Collection{db.Collection("a"), db.Collection("b"), other.Collection("a")} {
		_, err := c.InsertOne(ctx, bson.D{{Key: "_id", Value: i}})
		require.NoError(t, err)
	}
	dbEvents := nextEvents(t, dbStream, 2)
	assert.Equal(t, "a", dbEvents[0].NS["coll"])
	assert.Equal(t, "b", dbEvents[1].NS["coll"])
	clusterEvents := nextEvents(t, clusterStream, 3)
	assert.Equal(t, other.Name(), clusterEvents[2].NS["db"])

	// The database stream saw nothing from the other database.
	assert.False(t, dbStream.TryNext(ctx))
	require.NoError(t, dbStream.Err())
}

func TestChangeStreamClusterStreamOptions(t *testing.T) {
	client := mongotest.Client(t)
	ctx := csCtx(t)
	// allChangesForCluster is only for aggregate: 1 on admin.
	err := client.Database("somedb").RunCommand(ctx, bson.D{
		{Key: "aggregate", Value: 1},
		{Key: "pipeline", Value: bson.A{bson.D{{Key: "$changeStream", Value: bson.D{{Key: "allChangesForCluster", Value: true}}}}}},
		{Key: "cursor", Value: bson.D{}},
	}).Err()
	require.Error(t, err)
	assert.EqualValues(t, 72, commandCode(t, err))
}

func TestChangeStreamUpdateLookup(t *testing.T) {
	db := mongotest.Database(t)
	coll := db.Collection("lookup")
	ctx := csCtx(t)
	cs := watchColl(t, coll, nil, options.ChangeStream().SetFullDocument(options.UpdateLookup))

	_, err := coll.InsertMany(ctx, []any{bson.D{{Key: "_id", Value: 1}, {Key: "n", Value: 0}}, bson.D{{Key: "_id", Value: 2}, {Key: "n", Value: 0}}})
	require.NoError(t, err)
	_, err = coll.UpdateOne(ctx, bson.D{{Key: "_id", Value: 1}}, bson.D{{Key: "$inc", Value: bson.D{{Key: "n", Value: 1}}}})
	require.NoError(t, err)
	_, err = coll.UpdateOne(ctx, bson.D{{Key: "_id", Value: 1}}, bson.D{{Key: "$inc", Value: bson.D{{Key: "n", Value: 10}}}})
	require.NoError(t, err)
	_, err = coll.UpdateOne(ctx, bson.D{{Key: "_id", Value: 2}}, bson.D{{Key: "$set", Value: bson.D{{Key: "n", Value: 5}}}})
	require.NoError(t, err)
	_, err = coll.DeleteOne(ctx, bson.D{{Key: "_id", Value: 2}})
	require.NoError(t, err)

	evs := nextEvents(t, cs, 6)
	require.Equal(t, []string{"insert", "insert", "update", "update", "update", "delete"}, opTypes(evs))
	// The lookup returns the current document, which may be newer than the event.
	assert.Equal(t, int32(11), evs[2].FullDocument.Lookup("n").Int32())
	assert.Equal(t, int32(11), evs[3].FullDocument.Lookup("n").Int32())
	// A document deleted since the update looks up as null.
	full, err := evs[4].raw.LookupErr("fullDocument")
	require.NoError(t, err)
	assert.Equal(t, bson.TypeNull, full.Type)
}

func TestChangeStreamPreAndPostImages(t *testing.T) {
	db := mongotest.Database(t)
	ctx := csCtx(t)
	plain := db.Collection("plain")
	_, err := plain.InsertOne(ctx, bson.D{{Key: "_id", Value: 1}, {Key: "v", Value: "old"}})
	require.NoError(t, err)
	enableImages(t, db, "imaged")
	imaged := db.Collection("imaged")
	_, err = imaged.InsertOne(ctx, bson.D{{Key: "_id", Value: 1}, {Key: "v", Value: "old"}})
	require.NoError(t, err)

	whenAvailable := options.ChangeStream().SetFullDocument(options.WhenAvailable).SetFullDocumentBeforeChange(options.WhenAvailable)
	csImaged := watchColl(t, imaged, nil, whenAvailable)
	csPlain := watchColl(t, plain, nil, whenAvailable)
	csRequired := watchColl(t, plain, nil, options.ChangeStream().SetFullDocumentBeforeChange(options.Required))

	for _, c := range []*mongo.Collection{imaged, plain} {
		_, err = c.UpdateOne(ctx, bson.D{{Key: "_id", Value: 1}}, bson.D{{Key: "$set", Value: bson.D{{Key: "v", Value: "new"}}}})
		require.NoError(t, err)
		_, err = c.DeleteOne(ctx, bson.D{{Key: "_id", Value: 1}})
		require.NoError(t, err)
	}

	evs := nextEvents(t, csImaged, 2)
	assert.Equal(t, "old", evs[0].FullDocumentBeforeChange.Lookup("v").StringValue())
	assert.Equal(t, "new", evs[0].FullDocument.Lookup("v").StringValue())
	assert.Equal(t, "new", evs[1].FullDocumentBeforeChange.Lookup("v").StringValue())

	evs = nextEvents(t, csPlain, 2)
	for _, e := range evs {
		v, err := e.raw.LookupErr("fullDocumentBeforeChange")
		require.NoError(t, err)
		assert.Equal(t, bson.TypeNull, v.Type, "%s without recorded images", e.OperationType)
	}

	// required fails the stream when the image is missing.
	tctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	require.False(t, csRequired.Next(tctx))
	require.Error(t, csRequired.Err())
	assert.EqualValues(t, 47, commandCode(t, csRequired.Err()))
}

func TestChangeStreamResumeOptions(t *testing.T) {
	db := mongotest.Database(t)
	coll := db.Collection("resume")
	ctx := csCtx(t)
	cs := watchColl(t, coll, nil)
	for i := 1; i <= 4; i++ {
		_, err := coll.InsertOne(ctx, bson.D{{Key: "_id", Value: i}})
		require.NoError(t, err)
	}
	evs := nextEvents(t, cs, 4)
	idsOf := func(evs []csEvent) []int32 {
		var out []int32
		for _, e := range evs {
			out = append(out, e.DocumentKey["_id"].(int32))
		}
		return out
	}

	tests := []struct {
		name string
		opts *options.ChangeStreamOptions
		want []int32
	}{
		{"resumeAfter", options.ChangeStream().SetResumeAfter(evs[1].ID), []int32{3, 4}},
		{"startAfter", options.ChangeStream().SetStartAfter(evs[0].ID), []int32{2, 3, 4}},
		{"startAtOperationTime", options.ChangeStream().SetStartAtOperationTime(&evs[2].ClusterTime), []int32{3, 4}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := watchColl(t, coll, nil, tt.opts)
			assert.Equal(t, tt.want, idsOf(nextEvents(t, r, len(tt.want))))
		})
	}

	t.Run("resume options are exclusive", func(t *testing.T) {
		_, err := coll.Watch(ctx, mongo.Pipeline{}, options.ChangeStream().SetResumeAfter(evs[0].ID).SetStartAfter(evs[0].ID))
		require.Error(t, err)
		assert.EqualValues(t, 50865, commandCode(t, err))
		_, err = coll.Watch(ctx, mongo.Pipeline{}, options.ChangeStream().SetResumeAfter(evs[0].ID).SetStartAtOperationTime(&evs[0].ClusterTime))
		require.Error(t, err)
		assert.EqualValues(t, 40674, commandCode(t, err))
	})
}

func TestChangeStreamInvalidate(t *testing.T) {
	client := mongotest.Client(t)
	ctx := csCtx(t)

	t.Run("drop", func(t *testing.T) {
		db := mongotest.FreshDatabase(t, client)
		coll := db.Collection("dropped")
		_, err := coll.InsertOne(ctx, bson.D{{Key: "_id", Value: 1}})
		require.NoError(t, err)
		cs := watchColl(t, coll, nil)
		_, err = coll.InsertOne(ctx, bson.D{{Key: "_id", Value: 2}})
		require.NoError(t, err)
		require.NoError(t, coll.Drop(ctx))
		evs := nextEvents(t, cs, 3)
		require.Equal(t, []string{"insert", "drop", "invalidate"}, opTypes(evs))
		assert.Equal(t, bson.M{"db": db.Name(), "coll": "dropped"}, evs[1].NS)
		invalidate := evs[2]

		// The stream is over.
		tctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		assert.False(t, cs.Next(tctx))
		assert.NoError(t, cs.Err())
		assert.Zero(t, cs.ID(), "the server closed the cursor")

		// resumeAfter cannot pass an invalidate; startAfter can.
		_, err = coll.Watch(ctx, mongo.Pipeline{}, options.ChangeStream().SetResumeAfter(invalidate.ID))
		require.Error(t, err)
		assert.EqualValues(t, 260, commandCode(t, err))
		after := watchColl(t, coll, nil, options.ChangeStream().SetStartAfter(invalidate.ID))
		_, err = coll.InsertOne(ctx, bson.D{{Key: "_id", Value: 3}})
		require.NoError(t, err)
		got := nextEvents(t, after, 1)
		assert.Equal(t, "insert", got[0].OperationType)
		assert.Equal(t, int32(3), got[0].DocumentKey["_id"])
	})

	t.Run("rename", func(t *testing.T) {
		db := mongotest.FreshDatabase(t, client)
		coll := db.Collection("src")
		_, err := coll.InsertOne(ctx, bson.D{{Key: "_id", Value: 1}})
		require.NoError(t, err)
		cs := watchColl(t, coll, nil)
		require.NoError(t, client.Database("admin").RunCommand(ctx, bson.D{
			{Key: "renameCollection", Value: db.Name() + ".src"}, {Key: "to", Value: db.Name() + ".dst"},
		}).Err())
		evs := nextEvents(t, cs, 2)
		require.Equal(t, []string{"rename", "invalidate"}, opTypes(evs))
		assert.Equal(t, bson.M{"db": db.Name(), "coll": "src"}, evs[0].NS)
		assert.Equal(t, bson.M{"db": db.Name(), "coll": "dst"}, evs[0].To)
	})

	t.Run("dropDatabase", func(t *testing.T) {
		db := mongotest.FreshDatabase(t, client)
		_, err := db.Collection("c").InsertOne(ctx, bson.D{{Key: "_id", Value: 1}})
		require.NoError(t, err)
		cs, err := db.Watch(ctx, mongo.Pipeline{})
		require.NoError(t, err)
		t.Cleanup(func() { _ = cs.Close(context.Background()) })
		require.NoError(t, db.Drop(ctx))
		evs := nextEvents(t, cs, 3)
		require.Equal(t, []string{"drop", "dropDatabase", "invalidate"}, opTypes(evs))
		assert.Equal(t, bson.M{"db": db.Name()}, evs[1].NS)
	})
}

func TestChangeStreamPipelines(t *testing.T) {
	db := mongotest.Database(t)
	coll := db.Collection("pipelines")
	ctx := csCtx(t)
	onlyDeletes := watchColl(t, coll, mongo.Pipeline{{{Key: "$match", Value: bson.D{{Key: "operationType", Value: "delete"}}}}})
	projected := watchColl(t, coll, mongo.Pipeline{{{Key: "$project", Value: bson.D{{Key: "operationType", Value: 1}, {Key: "documentKey", Value: 1}}}}})
	noID := watchColl(t, coll, mongo.Pipeline{{{Key: "$project", Value: bson.D{{Key: "_id", Value: 0}}}}})

	_, err := coll.InsertOne(ctx, bson.D{{Key: "_id", Value: 1}, {Key: "big", Value: "payload"}})
	require.NoError(t, err)
	_, err = coll.DeleteOne(ctx, bson.D{{Key: "_id", Value: 1}})
	require.NoError(t, err)

	evs := nextEvents(t, onlyDeletes, 1)
	assert.Equal(t, "delete", evs[0].OperationType)

	evs = nextEvents(t, projected, 1)
	assert.Equal(t, "insert", evs[0].OperationType)
	assert.Nil(t, evs[0].FullDocument)
	assert.Nil(t, evs[0].NS)
	assert.NotEmpty(t, evs[0].ID)

	// Removing the resume token is fatal to the stream.
	tctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	require.False(t, noID.Next(tctx))
	require.Error(t, noID.Err())
	assert.EqualValues(t, 280, commandCode(t, noID.Err()))

	// Stages that cannot follow $changeStream are refused when the stream opens.
	_, err = coll.Watch(ctx, mongo.Pipeline{{{Key: "$group", Value: bson.D{{Key: "_id", Value: nil}}}}})
	require.Error(t, err)
	assert.EqualValues(t, 20, commandCode(t, err))
}

func TestChangeStreamPostBatchResumeToken(t *testing.T) {
	db := mongotest.Database(t)
	coll := db.Collection("quiet")
	busy := db.Collection("busy")
	ctx := csCtx(t)
	cs := watchColl(t, coll, nil, options.ChangeStream().SetMaxAwaitTime(100*time.Millisecond))

	require.False(t, cs.TryNext(ctx))
	require.NoError(t, cs.Err())
	first := cs.ResumeToken()
	require.NotNil(t, first, "an empty batch carries a postBatchResumeToken")

	// Writes elsewhere advance the token of a quiet stream.
	require.Eventually(t, func() bool {
		_, err := busy.InsertOne(ctx, bson.D{})
		require.NoError(t, err)
		require.False(t, cs.TryNext(ctx))
		return cs.ResumeToken().Lookup("_data").StringValue() > first.Lookup("_data").StringValue()
	}, 30*time.Second, 50*time.Millisecond)
	advanced := cs.ResumeToken()

	// Resuming from the advanced token misses nothing written after it.
	_, err := coll.InsertOne(ctx, bson.D{{Key: "_id", Value: "after"}})
	require.NoError(t, err)
	r := watchColl(t, coll, nil, options.ChangeStream().SetResumeAfter(advanced))
	evs := nextEvents(t, r, 1)
	assert.Equal(t, "after", evs[0].DocumentKey["_id"])
}

func TestChangeStreamAwaitsEvents(t *testing.T) {
	db := mongotest.Database(t)
	coll := db.Collection("await")
	ctx := csCtx(t)

	t.Run("an empty getMore waits maxAwaitTime", func(t *testing.T) {
		cs := watchColl(t, coll, nil, options.ChangeStream().SetMaxAwaitTime(300*time.Millisecond))
		require.False(t, cs.TryNext(ctx)) // the empty first batch, without a getMore
		start := time.Now()
		require.False(t, cs.TryNext(ctx))
		require.NoError(t, cs.Err())
		assert.GreaterOrEqual(t, time.Since(start), 250*time.Millisecond)
	})

	t.Run("a waiting getMore returns when a write commits", func(t *testing.T) {
		cs := watchColl(t, coll, nil, options.ChangeStream().SetMaxAwaitTime(20*time.Second))
		got := make(chan time.Time, 1)
		go func() {
			nctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if cs.Next(nctx) {
				got <- time.Now()
			}
			close(got)
		}()
		// Give the getMore a moment to be waiting; the event must arrive
		// long before maxAwaitTime either way.
		time.Sleep(200 * time.Millisecond)
		wrote := time.Now()
		_, err := coll.InsertOne(ctx, bson.D{{Key: "_id", Value: 1}})
		require.NoError(t, err)
		select {
		case at, ok := <-got:
			require.True(t, ok, "no event")
			assert.Less(t, at.Sub(wrote), 10*time.Second)
		case <-time.After(25 * time.Second):
			t.Fatal("no event")
		}
	})
}

func TestChangeStreamResumableErrors(t *testing.T) {
	client := mongotest.Connect(t, mongotest.URI(t), options.Client().SetRetryReads(false))
	db := mongotest.FreshDatabase(t, client)
	coll := db.Collection("resumable")
	ctx := csCtx(t)
	failGetMore := func(t *testing.T, data bson.D) {
		require.NoError(t, client.Database("admin").RunCommand(ctx, bson.D{
			{Key: "configureFailPoint", Value: "failCommand"},
			{Key: "mode", Value: bson.D{{Key: "times", Value: 1}}},
			{Key: "data", Value: append(bson.D{{Key: "failCommands", Value: bson.A{"getMore"}}}, data...)},
		}).Err())
		t.Cleanup(func() {
			_ = client.Database("admin").RunCommand(context.Background(), bson.D{
				{Key: "configureFailPoint", Value: "failCommand"}, {Key: "mode", Value: "off"}}).Err()
		})
	}
	next := 0
	insert := func(t *testing.T, n int) []int32 {
		var want []int32
		for i := 0; i < n; i++ {
			next++
			_, err := coll.InsertOne(ctx, bson.D{{Key: "_id", Value: next}})
			require.NoError(t, err)
			want = append(want, int32(next))
		}
		return want
	}
	idsOf := func(evs []csEvent) []int32 {
		var out []int32
		for _, e := range evs {
			out = append(out, e.DocumentKey["_id"].(int32))
		}
		return out
	}

	tests := []struct {
		name string
		data bson.D
	}{
		{"labelled error", bson.D{{Key: "errorCode", Value: 6}, {Key: "errorLabels", Value: bson.A{"ResumableChangeStreamError"}}}},
		{"closed connection", bson.D{{Key: "closeConnection", Value: true}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cs := watchColl(t, coll, nil, options.ChangeStream().SetBatchSize(2))
			first := insert(t, 1)
			assert.Equal(t, first, idsOf(nextEvents(t, cs, 1)))
			failGetMore(t, tt.data)
			want := insert(t, 3)
			assert.Equal(t, want, idsOf(nextEvents(t, cs, 3)), "the driver resumed without a gap or a repeat")
		})
	}

	t.Run("non-resumable error ends the stream", func(t *testing.T) {
		cs := watchColl(t, coll, nil)
		failGetMore(t, bson.D{{Key: "errorCode", Value: 280}})
		insert(t, 1)
		tctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		defer cancel()
		require.False(t, cs.Next(tctx))
		assert.EqualValues(t, 280, commandCode(t, cs.Err()))
	})
}

func TestChangeStreamHistoryLost(t *testing.T) {
	if mongotest.External() {
		t.Skip("mongolocal-only: needs a server with a tiny oplog")
	}
	srv := mongotest.Start(t, mongolocal.Config{OplogMaxEntries: 5})
	client := mongotest.Connect(t, srv.URI())
	coll := client.Database("lost").Collection("c")
	ctx := csCtx(t)
	cs := watchColl(t, coll, nil)
	_, err := coll.InsertOne(ctx, bson.D{{Key: "_id", Value: 0}})
	require.NoError(t, err)
	tok := nextEvents(t, cs, 1)[0]
	for i := 1; i <= 10; i++ {
		_, err := coll.InsertOne(ctx, bson.D{{Key: "_id", Value: i}})
		require.NoError(t, err)
	}
	for _, opts := range []*options.ChangeStreamOptions{
		options.ChangeStream().SetResumeAfter(tok.ID),
		options.ChangeStream().SetStartAtOperationTime(&tok.ClusterTime),
	} {
		_, err = coll.Watch(ctx, mongo.Pipeline{}, opts)
		require.Error(t, err)
		assert.EqualValues(t, 286, commandCode(t, err))
		var ce mongo.CommandError
		require.True(t, errors.As(err, &ce))
		assert.Equal(t, "ChangeStreamHistoryLost", ce.Name)
	}
}

// serverAtLeast reports whether the deployment's version is at least major.minor.
func serverAtLeast(t *testing.T, client *mongo.Client, major, minor int) bool {
	t.Helper()
	var info struct {
		Version string `bson:"version"`
	}
	require.NoError(t, client.Database("admin").RunCommand(csCtx(t), bson.D{{Key: "buildInfo", Value: 1}}).Decode(&info))
	parts := strings.SplitN(info.Version, ".", 3)
	if len(parts) < 2 {
		return false
	}
	maj, _ := strconv.Atoi(parts[0])
	mnr, _ := strconv.Atoi(parts[1])
	return maj > major || (maj == major && mnr >= minor)
}

func TestChangeStreamSplitLargeEvents(t *testing.T) {
	if testing.Short() {
		t.Skip("moves about 100 MB")
	}
	client := mongotest.Client(t)
	if mongotest.External() && !serverAtLeast(t, client, 7, 0) {
		t.Skip("$changeStreamSplitLargeEvent needs MongoDB 7.0")
	}
	db := mongotest.FreshDatabase(t, client)
	enableImages(t, db, "large")
	coll := db.Collection("large")
	ctx := csCtx(t)
	images := options.ChangeStream().SetFullDocument(options.Required).SetFullDocumentBeforeChange(options.Required)
	split := mongo.Pipeline{{{Key: "$changeStreamSplitLargeEvent", Value: bson.D{}}}}
	cs := watchColl(t, coll, split, images)
	whole := watchColl(t, coll, nil, images)

	big := strings.Repeat("x", 9<<20)
	_, err := coll.InsertOne(ctx, bson.D{{Key: "_id", Value: 1}, {Key: "a", Value: big}})
	require.NoError(t, err)
	_, err = coll.UpdateOne(ctx, bson.D{{Key: "_id", Value: 1}}, bson.D{{Key: "$set", Value: bson.D{{Key: "a", Value: strings.Repeat("y", 9<<20)}}}})
	require.NoError(t, err)
	_, err = coll.InsertOne(ctx, bson.D{{Key: "_id", Value: 2}})
	require.NoError(t, err)

	evs := nextEvents(t, cs, 5) // the insert whole, the update in 3 fragments, the insert
	assert.Nil(t, evs[0].SplitEvent)
	merged := bson.M{}
	for i, e := range evs[1:4] {
		require.NotNil(t, e.SplitEvent, "fragment %d", i+1)
		assert.Equal(t, i+1, e.SplitEvent.Fragment)
		assert.Equal(t, 3, e.SplitEvent.Of)
		var m bson.M
		require.NoError(t, bson.Unmarshal(e.raw, &m))
		for k, v := range m {
			if k != "_id" && k != "splitEvent" {
				merged[k] = v
			}
		}
	}
	assert.Equal(t, "update", merged["operationType"])
	assert.Len(t, merged["fullDocument"].(bson.M)["a"], 9<<20)
	assert.Len(t, merged["fullDocumentBeforeChange"].(bson.M)["a"], 9<<20)
	assert.Equal(t, "insert", evs[4].OperationType)

	// Resuming from a fragment continues with the next fragment.
	r := watchColl(t, coll, split, options.ChangeStream().SetFullDocument(options.Required).
		SetFullDocumentBeforeChange(options.Required).SetResumeAfter(evs[2].ID))
	rest := nextEvents(t, r, 2)
	require.NotNil(t, rest[0].SplitEvent)
	assert.Equal(t, 3, rest[0].SplitEvent.Fragment)
	assert.Equal(t, "insert", rest[1].OperationType)

	// Without the split stage the event is too large.
	nextEvents(t, whole, 1)
	tctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	require.False(t, whole.Next(tctx))
	assert.EqualValues(t, 10334, commandCode(t, whole.Err()))
}
