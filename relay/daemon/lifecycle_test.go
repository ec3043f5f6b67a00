package daemon_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"
	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/mongo"

	"github.com/changerelay/changerelay/infra/mongolocal"
	"github.com/changerelay/changerelay/infra/mongotest"
	"github.com/changerelay/changerelay/relay/cli"
	"github.com/changerelay/changerelay/relay/config"
	"github.com/changerelay/changerelay/relay/internal/lambdafake"
	"github.com/changerelay/changerelay/relay/internal/relaytest"
)

func checkpointOf(t *testing.T, db *mongo.Database, route string) bson.M {
	var cp bson.M
	err := db.Collection("_relay_checkpoints").FindOne(t.Context(), bson.D{{Key: "_id", Value: route}}).Decode(&cp)
	require.NoError(t, err)
	return cp
}

func TestGracefulShutdownFinishesInFlightWork(t *testing.T) {
	e := newEnv(t)
	var started atomic.Int32
	record := e.rec.Handler("users", nil)
	e.fake.Handle("users", func(ctx context.Context, p []byte) lambdafake.Reply {
		started.Add(1)
		time.Sleep(500 * time.Millisecond) // in flight when the signal comes
		return record(ctx, p)
	})
	cfg := e.config()
	usersOnly(cfg)
	cfg.Routes[0].Concurrency = 2
	cfg.Routes[0].BatchSize = 3
	d, stop := e.start(t, cfg)
	insertUsers(t, e, 0, 10)
	relaytest.Eventually(t, 10*time.Second, func() bool {
		return testutil.ToFloat64(d.Metrics().EventsRead.WithLabelValues("users")) == 10
	}, "events not read")
	relaytest.Eventually(t, 10*time.Second, func() bool { return started.Load() > 0 }, "no invocation started")
	begin := time.Now()
	require.NoError(t, stop(), "graceful shutdown returns nil (exit 0)")
	require.Less(t, time.Since(begin), cfg.ShutdownGrace+2*time.Second)
	for _, c := range e.fake.Calls("users") {
		require.False(t, c.End.IsZero(), "every started invocation finished")
	}
	require.Len(t, e.rec.IDs("users"), 10, "queued work was finished within the grace period")
	cp := checkpointOf(t, e.db, "users")
	require.EqualValues(t, 0, cp["inFlight"])

	// nothing is delivered again after a restart
	e.rec = &relaytest.Recorder{}
	e.fake.Handle("users", e.rec.Handler("users", nil))
	_, stop = e.start(t, cfg)
	insertUsers(t, e, 10, 11)
	relaytest.Eventually(t, 10*time.Second, func() bool { return len(e.rec.IDs("users")) >= 1 }, "new event")
	require.NoError(t, stop())
	require.Len(t, e.rec.IDs("users"), 1)
}

func TestShutdownGraceAbandonsSlowWork(t *testing.T) {
	e := newEnv(t)
	release := make(chan struct{})
	var started atomic.Int32
	e.fake.Handle("users", func(ctx context.Context, p []byte) lambdafake.Reply {
		started.Add(1)
		select {
		case <-release:
		case <-ctx.Done():
		}
		return lambdafake.Reply{Status: 500}
	})
	cfg := e.config()
	usersOnly(cfg)
	cfg.ShutdownGrace = 300 * time.Millisecond
	_, stop := e.start(t, cfg)
	insertUsers(t, e, 0, 5)
	relaytest.Eventually(t, 10*time.Second, func() bool { return started.Load() > 0 }, "no invocation started")
	begin := time.Now()
	require.NoError(t, stop())
	require.Less(t, time.Since(begin), 3*time.Second, "in-flight work abandoned after the grace period")
	close(release)
	// the abandoned events come again after a restart
	e.fake.Handle("users", e.rec.Handler("users", nil))
	_, stop = e.start(t, cfg)
	relaytest.Eventually(t, 10*time.Second, func() bool { return len(e.rec.IDs("users")) == 5 }, "redelivered %d of 5", len(e.rec.IDs("users")))
	require.NoError(t, stop())
}

func TestInitialSyncRepairRunsOnce(t *testing.T) {
	e := newEnv(t)
	var repairs atomic.Int32
	e.fake.Handle("repair", func(_ context.Context, p []byte) lambdafake.Reply {
		repairs.Add(1)
		if string(p) != `{"dryRun":false}` {
			return lambdafake.Reply{FunctionError: "Handled", Body: []byte(`{"errorMessage":"bad payload"}`)}
		}
		return lambdafake.Reply{Body: []byte(`{"dryRun":false,"drift":0}`)}
	})
	insertUsers(t, e, 0, 5) // existing data: the repair's business
	cfg := e.config()
	cfg.InitialSync = config.InitialSyncRepair
	_, stop := e.start(t, cfg)
	require.EqualValues(t, 1, repairs.Load())
	insertUsers(t, e, 5, 8)
	relaytest.Eventually(t, 10*time.Second, func() bool { return len(e.rec.IDs("users")) >= 3 }, "new events")
	require.NoError(t, stop())
	cp := checkpointOf(t, e.db, "articles")
	require.NotZero(t, cp["clusterTime"], "quiet routes got a checkpoint at the repair time")
	_, stop = e.start(t, cfg)
	require.NoError(t, stop())
	require.EqualValues(t, 1, repairs.Load(), "a checkpoint exists: no second repair")
	for id, n := range e.rec.IDs("users") {
		require.Equal(t, 1, n, id)
	}
}

func TestHistoryLostRepairsAndConverges(t *testing.T) {
	if mongotest.External() {
		t.Skip("needs a mongolocal with a tiny oplog")
	}
	srv := mongotest.Start(t, mongolocal.Config{OplogMaxEntries: 50})
	e := newEnv(t)
	e.uri = srv.URI()
	e.db = mongotest.FreshDatabase(t, mongotest.Connect(t, srv.URI()))
	var repairs atomic.Int32
	e.fake.Handle("repair", func(context.Context, []byte) lambdafake.Reply {
		repairs.Add(1)
		return lambdafake.Reply{Body: []byte(`{}`)}
	})
	cfg := e.config()
	usersOnly(cfg)
	_, stop := e.start(t, cfg)
	insertUsers(t, e, 0, 5)
	relaytest.Eventually(t, 10*time.Second, func() bool { return len(e.rec.IDs("users")) == 5 }, "first events")
	require.NoError(t, stop())
	insertUsers(t, e, 5, 200) // the relay is down; the checkpoint falls out of the oplog
	_, stop = e.start(t, cfg)
	relaytest.Eventually(t, 10*time.Second, func() bool { return repairs.Load() == 1 }, "repair ran")
	insertUsers(t, e, 1000, 1003)
	// Different keys are delivered in parallel: wait for each of the three,
	// not for the last one to be recorded last.
	relaytest.Eventually(t, 20*time.Second, func() bool {
		seen := map[string]bool{}
		for _, ev := range e.rec.Events("users") {
			seen[ev.Key] = true
		}
		return seen[`{"$numberInt":"1000"}`] && seen[`{"$numberInt":"1001"}`] && seen[`{"$numberInt":"1002"}`]
	}, "events after the repair flow")
	require.NoError(t, stop())
	require.EqualValues(t, 1, repairs.Load())
}

func TestOperationsEndpointsAndStatus(t *testing.T) {
	e := newEnv(t)
	cfg := e.config()
	cfg.HTTP.Addr = "127.0.0.1:0"
	d, stop := e.start(t, cfg)
	insertUsers(t, e, 0, 3)
	_, err := e.db.Collection("articles").InsertOne(t.Context(), bson.D{{Key: "_id", Value: 1}})
	require.NoError(t, err)
	_, err = e.db.Collection("articles").UpdateOne(t.Context(), bson.D{{Key: "_id", Value: 1}}, bson.D{{Key: "$set", Value: bson.D{{Key: "favoritesCount", Value: 2}}}})
	require.NoError(t, err)
	relaytest.Eventually(t, 10*time.Second, func() bool { return len(e.rec.IDs("users")) == 3 }, "events")
	base := "http://" + d.OpsAddr()
	get := func(path string) (int, string) {
		resp, err := http.Get(base + path)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	code, _ := get("/healthz")
	require.Equal(t, 200, code)
	code, body := get("/readyz")
	require.Equal(t, 200, code, body)
	relaytest.Eventually(t, 5*time.Second, func() bool {
		_, m := get("/metrics")
		return bytes.Contains([]byte(m), []byte(`relay_events_skipped_total{reason="derived_only",route="articles"} 1`))
	}, "skipped metric")
	relaytest.Eventually(t, 5*time.Second, func() bool {
		_, m := get("/metrics")
		return bytes.Contains([]byte(m), []byte(`relay_lag_seconds{route="users"}`)) &&
			bytes.Contains([]byte(m), []byte(`relay_checkpoint_age_seconds{route="users"}`))
	}, "lag and checkpoint age metrics")
	_, m := get("/metrics")
	for _, want := range []string{
		`relay_events_read_total{route="users"} 3`,
		`relay_events_delivered_total{route="users"} 3`,
		`relay_invocation_duration_seconds_bucket`,
		`relay_batch_size_bucket`,
		`relay_lag_seconds{route="users"}`,
		`relay_checkpoint_age_seconds{route="users"}`,
		`relay_in_flight_events{route="users"} 0`,
		`relay_lease_held 1`,
	} {
		require.True(t, strings.Contains(m, want), "metrics lack %s", want)
	}

	// an idle route at the head of its stream has ~no lag, however long it idles
	time.Sleep(1500 * time.Millisecond)
	_, m = get("/metrics")
	lag := regexp.MustCompile(`relay_lag_seconds\{route="favorites"\} (\S+)`).FindStringSubmatch(m)
	require.NotNil(t, lag)
	v, err := strconv.ParseFloat(lag[1], 64)
	require.NoError(t, err)
	require.Less(t, v, 1.0, "idle lag")

	var out, errOut bytes.Buffer
	envs := map[string]string{"MONGODB_URI": e.uri, "MONGODB_DATABASE": e.db.Name()}
	require.Equal(t, 0, cli.Main(t.Context(), []string{"status"}, cli.Env{Stdout: &out, Stderr: &errOut, Getenv: func(k string) string { return envs[k] }}), errOut.String())
	require.Contains(t, out.String(), "lease: held by")
	require.Contains(t, out.String(), "users")
	require.Contains(t, out.String(), "IN-FLIGHT")
	require.NoError(t, stop())
}
