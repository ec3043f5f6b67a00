package stream_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/bson/primitive"
	"go.mongodb.org/mongo-driver/mongo"

	"github.com/changerelay/changerelay/infra/mongolocal"
	"github.com/changerelay/changerelay/infra/mongotest"
	"github.com/changerelay/changerelay/relay/checkpoint"
	"github.com/changerelay/changerelay/relay/repair"
	"github.com/changerelay/changerelay/relay/stream"
)

// sink records events (their documentKey _id) and positions.
type sink struct {
	mu        sync.Mutex
	ids       []int32
	ops       []string
	raws      []bson.Raw
	positions []checkpoint.Position
}

func (s *sink) Event(_ context.Context, raw bson.Raw) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ops = append(s.ops, raw.Lookup("operationType").StringValue())
	raw = append(bson.Raw(nil), raw...) // the reader's buffer is only lent
	s.raws = append(s.raws, raw)
	if v, ok := raw.Lookup("documentKey", "_id").Int32OK(); ok {
		s.ids = append(s.ids, v)
	}
	s.positions = append(s.positions, checkpoint.TokenPosition(raw.Lookup("_id").Document(), time.Now()))
	return nil
}

func (s *sink) Position(_ context.Context, p checkpoint.Position) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.positions = append(s.positions, p)
}

func (s *sink) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.ids)
}

func (s *sink) lastPosition() checkpoint.Position {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.positions) == 0 {
		return checkpoint.Position{}
	}
	return s.positions[len(s.positions)-1]
}

func cfg(coll string) stream.Config {
	return stream.Config{Route: coll, Collection: coll, OperationTypes: []string{"insert", "update", "replace", "delete"},
		FullDocument: "updateLookup", MaxAwaitTime: 50 * time.Millisecond, ReopenBackoff: 10 * time.Millisecond, ReopenMaxBackoff: 50 * time.Millisecond, SplitLargeEvents: true}
}

func run(t *testing.T, r *stream.Reader, start checkpoint.Position) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx, start) }()
	t.Cleanup(func() {
		cancel()
		require.NoError(t, <-done)
	})
}

func now(t *testing.T, db *mongo.Database) checkpoint.Position {
	ts, err := repair.ClusterTime(t.Context(), db)
	require.NoError(t, err)
	return checkpoint.TimePosition(ts)
}

func insert(t *testing.T, coll *mongo.Collection, from, to int) {
	for i := from; i < to; i++ {
		_, err := coll.InsertOne(t.Context(), bson.D{{Key: "_id", Value: int32(i)}})
		require.NoError(t, err)
	}
}

// requireExactly asserts the sink saw ids 0..n-1, each once, in order.
func requireExactly(t *testing.T, s *sink, n int) {
	require.Eventually(t, func() bool { return s.count() >= n }, 15*time.Second, 5*time.Millisecond, "got %d of %d", s.count(), n)
	s.mu.Lock()
	defer s.mu.Unlock()
	require.Len(t, s.ids, n)
	for i, id := range s.ids {
		require.EqualValues(t, i, id, "event %d", i)
	}
}

func TestFaultsOnGetMoreLeaveNoGap(t *testing.T) {
	if testing.Short() {
		t.Skip("slow")
	}
	client := mongotest.Client(t)
	db := mongotest.FreshDatabase(t, client)
	admin := client.Database("admin")
	faults := []struct {
		name string
		data bson.D
	}{
		{"close connection", bson.D{{Key: "closeConnection", Value: true}}},
		{"non-resumable BadValue", bson.D{{Key: "errorCode", Value: 2}}},
		{"non-resumable with times 3", bson.D{{Key: "errorCode", Value: 280}}},
		{"labelled resumable", bson.D{{Key: "errorCode", Value: 1}, {Key: "errorLabels", Value: bson.A{"ResumableChangeStreamError"}}}},
	}
	for _, code := range []int{6, 7, 43, 63, 89, 91, 133, 150, 189, 234, 262, 9001, 10107, 11600, 11602, 13388, 13435, 13436} {
		faults = append(faults, struct {
			name string
			data bson.D
		}{fmt.Sprint("code ", code), bson.D{{Key: "errorCode", Value: code}}})
	}
	coll := db.Collection("faults")
	s := &sink{}
	r := stream.New(cfg("faults"), db, s, nil, nil, testLog())
	run(t, r, now(t, db))
	n := 0
	for _, f := range faults {
		times := 1
		if f.name == "non-resumable with times 3" {
			times = 3
		}
		err := admin.RunCommand(t.Context(), bson.D{{Key: "configureFailPoint", Value: "failCommand"},
			{Key: "mode", Value: bson.D{{Key: "times", Value: times}}},
			{Key: "data", Value: append(bson.D{{Key: "failCommands", Value: bson.A{"getMore"}}}, f.data...)}}).Err()
		require.NoError(t, err, f.name)
		insert(t, coll, n, n+5)
		n += 5
		requireExactly(t, s, n)
	}
	_ = admin.RunCommand(t.Context(), bson.D{{Key: "configureFailPoint", Value: "failCommand"}, {Key: "mode", Value: "off"}})
}

func TestQuietCollectionKeepsTokenFresh(t *testing.T) {
	db := mongotest.Database(t)
	s := &sink{}
	r := stream.New(cfg("quiet"), db, s, nil, nil, testLog())
	start := now(t, db)
	run(t, r, start)
	insert(t, db.Collection("busy"), 0, 3)
	var first checkpoint.Position
	require.Eventually(t, func() bool { first = s.lastPosition(); return first.Token != nil }, 10*time.Second, 5*time.Millisecond)
	time.Sleep(1100 * time.Millisecond) // let the cluster time move by a second (its resolution)
	insert(t, db.Collection("busy"), 3, 6)
	require.Eventually(t, func() bool {
		p := s.lastPosition()
		return p.ClusterTime.After(first.ClusterTime) && p.ClusterTime.After(start.ClusterTime)
	}, 10*time.Second, 5*time.Millisecond, "postBatchResumeToken did not advance on a quiet collection")
	require.Zero(t, s.count())
}

func TestResumeAfterTokenAndInvalidate(t *testing.T) {
	db := mongotest.Database(t)
	coll := db.Collection("inv")
	s := &sink{}
	start := now(t, db)
	ctx, cancel := context.WithCancel(t.Context())
	r := stream.New(cfg("inv"), db, s, nil, nil, testLog())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx, start) }()
	insert(t, coll, 0, 5)
	requireExactly(t, s, 5)
	cancel()
	require.NoError(t, <-done)

	// resume after the last position: nothing twice, nothing missed
	insert(t, coll, 5, 8)
	r = stream.New(cfg("inv"), db, s, nil, nil, testLog())
	run(t, r, s.lastPosition())
	requireExactly(t, s, 8)

	// drop: invalidate, then the stream reopens after it and sees the new collection
	require.NoError(t, coll.Drop(t.Context()))
	insert(t, coll, 8, 10)
	requireExactly(t, s, 10)
}

func TestHistoryLostRunsRepairAndResumesAtItsTime(t *testing.T) {
	if mongotest.External() {
		t.Skip("needs a mongolocal with a tiny oplog")
	}
	srv := mongotest.Start(t, mongolocal.Config{OplogMaxEntries: 20})
	db := mongotest.FreshDatabase(t, mongotest.Connect(t, srv.URI()))
	coll := db.Collection("lost")
	insert(t, coll, 0, 2)
	// a token from the start of history
	cs, err := coll.Watch(t.Context(), mongo.Pipeline{}, optionsStartAt(now(t, db)))
	require.NoError(t, err)
	insert(t, coll, 2, 3)
	require.True(t, cs.Next(t.Context()))
	old := checkpoint.TokenPosition(append(bson.Raw(nil), cs.ResumeToken()...), time.Now())
	require.NoError(t, cs.Close(t.Context()))
	insert(t, coll, 3, 100) // pushes the token out of the oplog

	var repairs int
	var repairedAt primitive.Timestamp
	var mu sync.Mutex
	onLost := func(ctx context.Context) (primitive.Timestamp, error) {
		mu.Lock()
		defer mu.Unlock()
		repairs++
		ts, err := repair.ClusterTime(ctx, db)
		repairedAt = ts
		return ts, err
	}
	s := &sink{}
	r := stream.New(cfg("lost"), db, s, onLost, nil, testLog())
	run(t, r, old)
	require.Eventually(t, func() bool { mu.Lock(); defer mu.Unlock(); return repairs == 1 }, 10*time.Second, 5*time.Millisecond)
	insert(t, coll, 100, 105)
	require.Eventually(t, func() bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		return len(s.ids) > 0 && s.ids[len(s.ids)-1] == 104
	}, 10*time.Second, 5*time.Millisecond)
	s.mu.Lock()
	defer s.mu.Unlock()
	// startAtOperationTime is inclusive: the last write before the repair
	// (at its cluster time) may come again, nothing older does.
	require.GreaterOrEqual(t, s.ids[0], int32(99), "only events from the repair's cluster time on: %v", s.ids)
	require.Subset(t, s.ids, []int32{100, 101, 102, 103, 104})
	mu.Lock()
	defer mu.Unlock()
	require.Equal(t, repairedAt, s.positions[0].ClusterTime, "the repair time is handed over as a position")
	require.Nil(t, s.positions[0].Token)
}

func TestVersionSupportsSplit(t *testing.T) {
	cases := map[string]bool{"7.0.0": true, "8.0.4": true, "6.0.9": true, "6.0.8": false, "6.1.0": true, "5.0.20": false, "7.0.2-rc1": true, "": false, "garbage": false}
	for v, want := range cases {
		require.Equal(t, want, stream.VersionSupportsSplit(v), v)
	}
}
