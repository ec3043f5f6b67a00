package main_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/bson/primitive"
	"go.mongodb.org/mongo-driver/mongo"
	"go.mongodb.org/mongo-driver/mongo/options"

	"github.com/changerelay/changerelay/functions/derived"
	"github.com/changerelay/changerelay/infra/conduit"
	"github.com/changerelay/changerelay/infra/devstack"
	"github.com/changerelay/changerelay/infra/mongotest"
	"github.com/changerelay/changerelay/relay/internal/bench"
	"github.com/changerelay/changerelay/relay/internal/relaytest"
)

// sourceOracle collects the ids of the events the relay must deliver: every
// source write on the four collections, not the functions' own writes.
func sourceOracle(t *testing.T, ctx context.Context, db *mongo.Database, from primitive.Timestamp) *oracle {
	o := &oracle{ids: map[string]string{}}
	for _, coll := range []string{"users", "articles", "comments", "favorites"} {
		cs, err := db.Collection(coll).Watch(ctx, mongo.Pipeline{}, options.ChangeStream().SetStartAtOperationTime(&from).SetMaxAwaitTime(100*time.Millisecond))
		require.NoError(t, err)
		go func() {
			defer cs.Close(context.Background())
			for cs.Next(ctx) {
				if derived.OnlyDerived(coll, cs.Current) {
					continue
				}
				op := cs.Current.Lookup("operationType").StringValue()
				if op != "insert" && op != "update" && op != "replace" && op != "delete" {
					continue
				}
				o.mu.Lock()
				o.ids[cs.Current.Lookup("_id", "_data").StringValue()] = coll
				o.mu.Unlock()
			}
		}()
	}
	return o
}

// TestCrashSafetyRealFunctions runs the project's functions under the
// local Lambda host (runtime interface emulator), seeds a RealWorld data
// set without derived fields (the relay's first start converges it with
// repair), runs a mixed workload while killing the relay with SIGKILL 20+
// times, then checks that every source event was delivered at least once
// and that the invariants I1..I4 hold by an independent recomputation.
func TestCrashSafetyRealFunctions(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: builds the functions and kills the relay 20+ times")
	}
	if runtime.GOOS != "linux" {
		t.Skip("the runtime interface emulator runs on Linux")
	}
	ctx := t.Context()
	wd, _ := os.Getwd()
	root, err := devstack.FindRoot(wd)
	require.NoError(t, err)
	uri := mongotest.URI(t)
	client := mongotest.Connect(t, uri)
	db := mongotest.FreshDatabase(t, client)
	stack, err := devstack.Start(ctx, devstack.Config{Root: root, BinDir: filepath.Join(t.TempDir(), "bin"), MongoURI: uri,
		Database: db.Name(), Concurrency: 2, LogDir: "-"})
	require.NoError(t, err)
	t.Cleanup(func() { _ = stack.Close() })
	proxy := bench.NewProxy(stack.LambdaEndpoint())
	t.Cleanup(proxy.Close)

	r := rand.New(rand.NewPCG(11, 12))
	ds, err := conduit.Seed(ctx, db, conduit.SeedConfig{Users: 40, Articles: 150, Comments: 300, Favorites: 600, Tags: 15, Rand: r, SourceOnly: true}, nil)
	require.NoError(t, err)

	t.Setenv("RELAY_INITIAL_SYNC", "repair")
	p := startRelay(t, uri, db.Name(), proxy.URL(), "crash")
	relaytest.Eventually(t, 2*time.Minute, p.ready, "relay not ready (initial repair)")
	var cp struct {
		ClusterTime primitive.Timestamp `bson:"clusterTime"`
	}
	require.NoError(t, db.Collection("_relay_checkpoints").FindOne(ctx, bson.D{{Key: "_id", Value: "users"}}).Decode(&cp))
	rep, err := conduit.Check(ctx, db)
	require.NoError(t, err)
	require.True(t, rep.OK(), "the initial repair converged the seed:\n%s", rep)
	o := sourceOracle(t, ctx, db, cp.ClusterTime)

	g, err := conduit.NewGenerator(ds, conduit.WorkloadConfig{Rand: r, HotArticles: 3, StormSize: 40, StormChunk: 10})
	require.NoError(t, err)
	script := g.Next(1200, conduit.DefaultMix)
	var execErr error
	var wg sync.WaitGroup
	wg.Go(func() {
		_, execErr = conduit.Execute(ctx, db, script, conduit.ExecConfig{Concurrency: 2, Rate: 100})
	})
	workDone := make(chan struct{})
	go func() { wg.Wait(); close(workDone) }()
	kills := 0
	for kills < 20 || !closed(workDone) {
		time.Sleep(time.Duration(100+r.IntN(600)) * time.Millisecond)
		p.kill(t)
		kills++
		p = startRelay(t, uri, db.Name(), proxy.URL(), "crash")
	}
	require.NoError(t, execErr)
	relaytest.Eventually(t, 2*time.Minute, func() bool { return len(missingFrom(o, proxy.Arrived())) == 0 },
		"source events never delivered: %d of %d", len(missingFrom(o, proxy.Arrived())), len(o.snapshot()))
	relaytest.Eventually(t, 2*time.Minute, func() bool { return idle(ctx, db) }, "relay did not settle")
	rep, err = conduit.Check(ctx, db)
	require.NoError(t, err)
	require.True(t, rep.OK(), "invariants after %d kills:\n%s", kills, rep)
	require.NoError(t, p.cmd.Process.Signal(syscall.SIGTERM))
	require.NoError(t, <-p.done)
	t.Logf("%d kills, %d ops, %d source events all delivered (%d invocations); %s", kills, len(script), len(o.snapshot()), proxy.Stats().Invocations, rep.Summary())
}

func closed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

func missingFrom(o *oracle, arrived map[string]bool) []string {
	var out []string
	for id, coll := range o.snapshot() {
		if !arrived[id] {
			out = append(out, fmt.Sprint(coll, "/", id))
		}
	}
	return out
}

// idle reports whether every route's stored checkpoint shows nothing in flight.
func idle(ctx context.Context, db *mongo.Database) bool {
	cur, err := db.Collection("_relay_checkpoints").Find(ctx, bson.D{})
	if err != nil {
		return false
	}
	var recs []struct {
		InFlight  int       `bson:"inFlight"`
		UpdatedAt time.Time `bson:"updatedAt"`
	}
	if cur.All(ctx, &recs) != nil || len(recs) < 4 {
		return false
	}
	for _, r := range recs {
		if r.InFlight != 0 || time.Since(r.UpdatedAt) > 5*time.Second {
			return false
		}
	}
	return true
}
