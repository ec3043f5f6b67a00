package benchsuite

import (
	"encoding/binary"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/bson/primitive"

	"github.com/changerelay/changerelay/infra/conduit"
)

func TestParseStatCPU(t *testing.T) {
	tests := []struct {
		name string
		stat string
		want float64
		err  bool
	}{
		{"plain", "123 (relay) S 1 2 3 4 5 6 7 8 9 10 250 150 0 0", 4.0, false},
		{"spaces and parens in name", "9 (a (b) c) R 1 2 3 4 5 6 7 8 9 10 100 1 0 0", 1.01, false},
		{"truncated", "9 (x) R 1 2", 0, true},
		{"no name", "garbage", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseStatCPU(tt.stat)
			if tt.err {
				assert.Error(t, err)
				return
			}
			require.NoError(t, err)
			assert.InDelta(t, tt.want, got, 1e-9)
		})
	}
}

func TestStatusKB(t *testing.T) {
	status := "Name:\trelay\nVmHWM:\t   20480 kB\nVmRSS:\t   10240 kB\n"
	assert.Equal(t, int64(10240), statusKB(status, "VmRSS:"))
	assert.Equal(t, int64(20480), statusKB(status, "VmHWM:"))
	assert.Equal(t, int64(0), statusKB(status, "VmSwap:"))
	s, ok := readProc(os.Getpid())
	require.True(t, ok)
	assert.Positive(t, s.RSS)
	assert.GreaterOrEqual(t, s.HWM, s.RSS)
}

func wireMsg(t *testing.T, cmd bson.D) []byte {
	body, err := bson.Marshal(cmd)
	require.NoError(t, err)
	msg := make([]byte, 16, 21+len(body))
	msg = append(msg, 0, 0, 0, 0, 0) // flagBits, section kind 0
	msg = append(msg, body...)
	binary.LittleEndian.PutUint32(msg[0:4], uint32(len(msg)))
	binary.LittleEndian.PutUint32(msg[12:16], opMsg)
	return msg
}

func TestCommandName(t *testing.T) {
	assert.Equal(t, "find", commandName(wireMsg(t, bson.D{{Key: "find", Value: "articles"}, {Key: "$db", Value: "conduit"}})))
	legacy := make([]byte, 20)
	binary.LittleEndian.PutUint32(legacy[12:16], opQuery)
	assert.Equal(t, "OP_QUERY", commandName(legacy))
	assert.Equal(t, "?", commandName([]byte{1, 2}))
	bad := wireMsg(t, bson.D{{Key: "x", Value: 1}})
	bad[20] = 7 // unknown section kind
	assert.Equal(t, "?", commandName(bad))
}

// TestProxyCountsRequests runs the proxy in front of an echo server.
func TestProxyCountsRequests(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		buf := make([]byte, 1<<16)
		for {
			n, err := c.Read(buf)
			if err != nil {
				return
			}
			if _, err := c.Write(buf[:n]); err != nil {
				return
			}
		}
	}()
	p, err := StartDBProxy(ln.Addr().String())
	require.NoError(t, err)
	defer p.Close()
	assert.True(t, strings.HasSuffix(p.URI(), "/?directConnection=true"))
	c, err := net.Dial("tcp", strings.TrimSuffix(strings.TrimPrefix(p.URI(), "mongodb://"), "/?directConnection=true"))
	require.NoError(t, err)
	defer c.Close()
	for _, cmd := range []string{"hello", "find", "find", "update"} {
		msg := wireMsg(t, bson.D{{Key: cmd, Value: 1}})
		_, err := c.Write(msg)
		require.NoError(t, err)
		back := make([]byte, len(msg))
		_, err = c.Read(back)
		require.NoError(t, err)
	}
	require.Eventually(t, func() bool { return p.Counts()["update"] == 1 }, 5*time.Second, 10*time.Millisecond)
	counts := p.Counts()
	assert.Equal(t, int64(2), counts["find"])
	assert.Equal(t, int64(3), RoundTrips(counts), "hello is connection upkeep")
	assert.Equal(t, map[string]int64{"find": 2}, DiffCounts(map[string]int64{"hello": 1, "update": 1}, counts))
	assert.Equal(t, "find 2, update 1", TopCommands(counts, 5))
}

func TestQuantile(t *testing.T) {
	v := []float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
	assert.Equal(t, 5.0, quantile(v, 0.5))
	assert.Equal(t, 10.0, quantile(v, 0.99))
	assert.Equal(t, 1.0, quantile(v, 0))
	assert.Equal(t, 0.0, quantile(nil, 0.5))
}

// event builds a change event as the tracker reads it.
func event(coll, op string, id primitive.ObjectID, ct uint32, wall time.Time, extra ...bson.E) bson.Raw {
	d := bson.D{
		{Key: "_id", Value: bson.D{{Key: "_data", Value: "x"}}},
		{Key: "operationType", Value: op},
		{Key: "clusterTime", Value: primitive.Timestamp{T: ct, I: 1}},
		{Key: "wallTime", Value: primitive.NewDateTimeFromTime(wall)},
		{Key: "ns", Value: bson.D{{Key: "db", Value: "conduit"}, {Key: "coll", Value: coll}}},
		{Key: "documentKey", Value: bson.D{{Key: "_id", Value: id}}},
	}
	raw, _ := bson.Marshal(append(d, extra...))
	return raw
}

func updated(fields bson.D) bson.E {
	return bson.E{Key: "updateDescription", Value: bson.D{{Key: "updatedFields", Value: fields}, {Key: "removedFields", Value: bson.A{}}}}
}

func TestTracker(t *testing.T) {
	user, art1, art2, com, fav := primitive.NewObjectID(), primitive.NewObjectID(), primitive.NewObjectID(), primitive.NewObjectID(), primitive.NewObjectID()
	ds := &conduit.Dataset{
		Users:     []conduit.User{{ID: user}},
		Articles:  []conduit.Article{{ID: art1, AuthorID: user}, {ID: art2, AuthorID: user}},
		Comments:  []conduit.Comment{{ID: com, AuthorID: user}},
		Favorites: []conduit.Favorite{{ID: fav, ArticleID: art1}},
	}
	base := time.UnixMilli(1_700_000_000_000)
	ms := func(n int) time.Time { return base.Add(time.Duration(n) * time.Millisecond) }
	tr := NewTracker(ds)

	// A rename fans out to two articles and a comment.
	tr.Observe(event("users", "update", user, 10, ms(0), updated(bson.D{{Key: "username", Value: "new"}})))
	// An unfavorite of art1 (no pre-image: the tracker knows the article).
	tr.Observe(event("favorites", "delete", fav, 11, ms(1)))
	// A bio-less update of an unrelated field is not timed.
	tr.Observe(event("users", "update", user, 12, ms(2), updated(bson.D{{Key: "email", Value: "e"}})))
	p := tr.Progress()
	assert.Equal(t, 3, p.SourceEvents)
	assert.Equal(t, 2, p.Open)
	assert.Equal(t, 1, p.Untracked)

	// The users function: art1 (dotted path), the comment (a whole _sync).
	tr.Observe(event("articles", "update", art1, 13, ms(20), updated(bson.D{
		{Key: "author", Value: bson.D{{Key: "username", Value: "new"}}},
		{Key: "_sync.authorVersion", Value: primitive.Timestamp{T: 10, I: 1}}})))
	tr.Observe(event("comments", "update", com, 14, ms(25), updated(bson.D{
		{Key: "author", Value: bson.D{{Key: "username", Value: "new"}}},
		{Key: "_sync", Value: bson.D{{Key: "authorVersion", Value: primitive.Timestamp{T: 10, I: 1}}}}})))
	// An older version does not meet the need.
	tr.Observe(event("articles", "update", art2, 15, ms(26), updated(bson.D{
		{Key: "_sync.authorVersion", Value: primitive.Timestamp{T: 9, I: 1}}})))
	assert.Equal(t, 2, tr.Progress().Open)
	// The favorites function recounts art1 at the unfavorite's version.
	tr.Observe(event("articles", "update", art1, 16, ms(31), updated(bson.D{
		{Key: "favoritesCount", Value: 0}, {Key: "_sync.favVersion", Value: primitive.Timestamp{T: 11, I: 1}}})))
	assert.Equal(t, 1, tr.Progress().Open)
	// art2 is deleted before its copy was written: the rename settles at its
	// last derived write.
	tr.Observe(event("articles", "delete", art2, 17, ms(40)))
	p = tr.Progress()
	assert.Equal(t, 0, p.Open)
	assert.Equal(t, 2, p.Resolved)
	lat, labels := tr.Latencies()
	assert.Equal(t, []time.Duration{30 * time.Millisecond, 25 * time.Millisecond}, lat)
	assert.Equal(t, []string{"favorite", "user"}, labels)

	// A favorite of the deleted article waits for nothing.
	tr.Observe(event("favorites", "insert", primitive.NewObjectID(), 18, ms(41),
		bson.E{Key: "fullDocument", Value: bson.D{{Key: "articleId", Value: art2}}}))
	assert.Equal(t, 0, tr.Progress().Open)

	// An inserted article needs its author copy, count and tags shadow.
	art3 := primitive.NewObjectID()
	tr.Observe(event("articles", "insert", art3, 20, ms(50),
		bson.E{Key: "fullDocument", Value: bson.D{{Key: "authorId", Value: user}, {Key: "tagList", Value: bson.A{"go"}}}}))
	tr.Observe(event("articles", "update", art3, 21, ms(55), updated(bson.D{
		{Key: "author", Value: nil}, {Key: "favoritesCount", Value: 0},
		{Key: "_sync", Value: bson.D{{Key: "authorVersion", Value: primitive.Timestamp{T: 20, I: 1}}, {Key: "favVersion", Value: primitive.Timestamp{T: 20, I: 1}}}}})))
	assert.Equal(t, 1, tr.Progress().Open, "still waiting for the tags shadow")
	tr.Observe(event("articles", "update", art3, 22, ms(60), updated(bson.D{{Key: "_sync.tags", Value: bson.A{"go"}}})))
	assert.Equal(t, 0, tr.Progress().Open)
	assert.Empty(t, tr.OpenSummary())
	lat, _ = tr.Latencies()
	assert.Equal(t, 10*time.Millisecond, lat[len(lat)-1])

	// A fence marks the end of a workload.
	tr.Observe(event(FenceCollection, "insert", primitive.NewObjectID(), 30, ms(70),
		bson.E{Key: "fullDocument", Value: bson.D{{Key: "name", Value: "f1"}}}))
	assert.Equal(t, "f1", tr.Progress().Fence)
}

func TestReportWritesMarkdownAndPlots(t *testing.T) {
	rep := &Report{Scale: Scales["tiny"], Machine: "test", GoVersion: "go", Started: time.Now()}
	for _, c := range DefaultConfigs {
		rep.Configs = append(rep.Configs, ConfigInfo{Name: c.Name, Description: c.Describe()})
	}
	for _, w := range Workloads {
		rep.Workloads = append(rep.Workloads, WorkloadInfo{Name: w, Description: w})
	}
	speed := map[string]float64{ConfigFloor: 5000, ConfigNaive: 100, ConfigDefault: 3000, ConfigTuned: 4000, ConfigMemLimit: 2900}
	for _, w := range Workloads {
		for _, c := range DefaultConfigs {
			r := Result{Workload: w, Config: c.Name, Events: 1000, EventsPerSec: speed[c.Name], DerivedPerSec: speed[c.Name] * 2,
				P50: 5, P95: 9, P99: 12, Latencies: []float64{0, 1, 5, 9, 12}, Converged: true, Check: "ok",
				FavEvents: 1000, InvocationsByFn: map[string]int64{"favorites": 10}, FavInvPerEvent: 0.01}
			if c.Name == ConfigNaive {
				r.P99 = 4000
			}
			if !c.Floor {
				r.Process, r.IdleRSS, r.PeakRSS, r.QueueBytes = true, 20<<20, 30<<20, 5<<20
				r.Memory = []MemSample{{0, 20 << 20}, {1, 30 << 20}}
			}
			rep.Results = append(rep.Results, r)
		}
	}
	dir := t.TempDir()
	require.NoError(t, rep.Write(dir))
	md, err := os.ReadFile(filepath.Join(dir, "report.md"))
	require.NoError(t, err)
	assert.Contains(t, string(md), "| relay-default | 1000 | 3000 | 30.0× | 0.600× |")
	assert.Contains(t, string(md), "### Why targets were missed")
	assert.Contains(t, string(md), "backlog of 1000: peak RSS ≤ 1.2 × idle + queues, relay-memlimit: peak 30.0 MiB")
	assert.Contains(t, string(md), "soft memory limit", "the memlimit configuration's reason")
	for _, f := range []string{"latency_steady.png", "latency_burst.png", "throughput.png", "backlog_memory.png", "results.json"} {
		st, err := os.Stat(filepath.Join(dir, f))
		require.NoError(t, err, f)
		assert.Positive(t, st.Size(), f)
	}
	var met, missed int
	for _, tc := range rep.Targets() {
		if tc.Met {
			met++
		} else {
			missed++
		}
	}
	assert.Positive(t, met)
	// 1.2*20+5 = 29 MiB < 30 MiB peak: missed, for each of the three relay configurations.
	assert.Equal(t, 3, missed)
}

func TestRatesAfterTimeout(t *testing.T) {
	tests := []struct {
		name string
		in   Result
		want float64
	}{
		{"converged", Result{Events: 1000, Elapsed: 10}, 100},
		{"timed out, one event per call", Result{Events: 1000, Elapsed: 10, TimedOut: true, OneEventPerCall: true, Invocations: 300}, 30},
		{"timed out, batched", Result{Events: 1000, Elapsed: 10, TimedOut: true, OldestOpen: 500}, 50},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := tt.in
			r.rates()
			assert.InDelta(t, tt.want, r.EventsPerSec, 1e-9)
		})
	}
}

func TestQueuedEventsFollowTheRelayDefaults(t *testing.T) {
	tests := []struct {
		name string
		rs   RouteSettings
		want int64
	}{
		{"defaults: 4 × 100 × 4 buffered + 1000 read ahead", RouteSettings{}, 1600 + 1000},
		{"naive: at least 1000 buffered", RouteSettings{BatchSize: 1, Concurrency: 1}, 1000 + 1000},
		{"tuned: 4 × 500 × 4", RouteSettings{BatchSize: 500, KeyEventsPerBatch: 500}, 8000 + 1000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.want, queuedEvents(tt.rs))
		})
	}
}
