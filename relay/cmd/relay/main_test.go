package main_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/bson/primitive"
	"go.mongodb.org/mongo-driver/mongo"
	"go.mongodb.org/mongo-driver/mongo/options"

	"github.com/changerelay/changerelay/infra/mongotest"
	"github.com/changerelay/changerelay/relay/internal/lambdafake"
	"github.com/changerelay/changerelay/relay/internal/relaytest"
	"github.com/changerelay/changerelay/relay/repair"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// relayBinary builds the relay once per test run.
func relayBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "relaybin")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "relay")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	require.NoError(t, buildErr)
	return binPath
}

const testConfig = `
checkpoint: {interval: 50ms}
lease: {duration: 2s, renewInterval: 300ms}
retry: {initialBackoff: 10ms, maxBackoff: 200ms}
stream: {maxAwaitTime: 100ms, reopenBackoff: 20ms, reopenMaxBackoff: 200ms}
initialSync: now
shutdownGrace: 5s
logLevel: info
`

// proc is a relay process.
type proc struct {
	cmd  *exec.Cmd
	addr chan string
	done chan error
}

func startRelay(t *testing.T, uri, db, lambda, owner string) *proc {
	t.Helper()
	cfgPath := filepath.Join(t.TempDir(), "relay.yaml")
	require.NoError(t, os.WriteFile(cfgPath, []byte(testConfig), 0o600))
	cmd := exec.Command(relayBinary(t), "run", "-config", cfgPath)
	cmd.Env = append(os.Environ(),
		"MONGODB_URI="+uri, "MONGODB_DATABASE="+db, "LAMBDA_ENDPOINT="+lambda,
		"RELAY_HTTP_ADDR=127.0.0.1:0", "RELAY_OWNER="+owner)
	stderr, err := cmd.StderrPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	p := &proc{cmd: cmd, addr: make(chan string, 1), done: make(chan error, 1)}
	addrRE := regexp.MustCompile(`"msg":"operations endpoint listening".*"addr":"([^"]+)"`)
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			if m := addrRE.FindStringSubmatch(sc.Text()); m != nil {
				p.addr <- m[1]
			}
			if os.Getenv("RELAY_TEST_LOG") != "" {
				fmt.Fprintf(os.Stderr, "[%s] %s\n", owner, sc.Text())
			}
		}
		_, _ = io.Copy(io.Discard, stderr)
		p.done <- cmd.Wait()
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
	})
	select {
	case a := <-p.addr:
		p.addr <- a
	case <-time.After(20 * time.Second):
		t.Fatalf("relay %s did not start", owner)
	}
	return p
}

func (p *proc) url(path string) string {
	a := <-p.addr
	p.addr <- a
	return "http://" + a + path
}

func (p *proc) ready() bool {
	resp, err := http.Get(p.url("/readyz"))
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

func (p *proc) kill(t *testing.T) {
	require.NoError(t, p.cmd.Process.Signal(syscall.SIGKILL))
	<-p.done
}

// oracle watches every routed collection from a cluster time and collects
// the ids of all events: what the relay must deliver.
type oracle struct {
	mu  sync.Mutex
	ids map[string]string // event id → collection
}

func watchAll(t *testing.T, ctx context.Context, db *mongo.Database, from primitive.Timestamp) *oracle {
	o := &oracle{ids: map[string]string{}}
	for _, coll := range []string{"users", "articles", "comments", "favorites"} {
		cs, err := db.Collection(coll).Watch(ctx, mongo.Pipeline{}, options.ChangeStream().SetStartAtOperationTime(&from).SetMaxAwaitTime(100*time.Millisecond))
		require.NoError(t, err)
		go func() {
			defer cs.Close(context.Background())
			for cs.Next(ctx) {
				id := cs.Current.Lookup("_id", "_data").StringValue()
				o.mu.Lock()
				o.ids[id] = coll
				o.mu.Unlock()
			}
		}()
	}
	return o
}

func (o *oracle) snapshot() map[string]string {
	o.mu.Lock()
	defer o.mu.Unlock()
	out := make(map[string]string, len(o.ids))
	for k, v := range o.ids {
		out[k] = v
	}
	return out
}

// workload writes to the four collections until ctx ends.
func workload(ctx context.Context, db *mongo.Database, seed uint64) (writes int) {
	r := rand.New(rand.NewPCG(seed, 1))
	colls := []string{"users", "articles", "comments", "favorites"}
	for ctx.Err() == nil {
		coll := db.Collection(colls[r.IntN(len(colls))])
		id := r.IntN(200)
		var err error
		switch r.IntN(4) {
		case 0, 1:
			_, err = coll.UpdateOne(ctx, bson.D{{Key: "_id", Value: id}}, bson.D{{Key: "$set", Value: bson.D{{Key: "v", Value: r.Int()}}}}, options.Update().SetUpsert(true))
		case 2:
			_, err = coll.ReplaceOne(ctx, bson.D{{Key: "_id", Value: id}}, bson.D{{Key: "w", Value: r.Int()}}, options.Replace().SetUpsert(true))
		case 3:
			_, err = coll.DeleteOne(ctx, bson.D{{Key: "_id", Value: id}})
		}
		if err == nil {
			writes++
		}
		time.Sleep(time.Duration(r.IntN(3)) * time.Millisecond)
	}
	return writes
}

type env struct {
	uri  string
	db   *mongo.Database
	fake *lambdafake.Server
	rec  *relaytest.Recorder
}

func newEnv(t *testing.T) *env {
	uri := mongotest.URI(t)
	e := &env{uri: uri, db: mongotest.FreshDatabase(t, mongotest.Connect(t, uri)), fake: lambdafake.New(), rec: &relaytest.Recorder{}}
	t.Cleanup(e.fake.Close)
	for _, f := range []string{"users", "articles", "comments", "favorites"} {
		e.fake.Handle(f, e.rec.Handler(f, nil))
	}
	e.fake.Handle("repair", lambdafake.OK)
	return e
}

// missing returns the oracle's events no function received.
func (e *env) missing(o *oracle) []string {
	got := map[string]bool{}
	for _, r := range e.rec.Events("") {
		got[r.ID] = true
	}
	var out []string
	for id, coll := range o.snapshot() {
		if !got[id] {
			out = append(out, coll+"/"+id)
		}
	}
	return out
}

func TestCrashSafetyUnderSIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: kills and restarts the relay 20+ times")
	}
	e := newEnv(t)
	ctx := t.Context()
	t0, err := repair.ClusterTime(ctx, e.db)
	require.NoError(t, err)
	o := watchAll(t, ctx, e.db, t0)

	p := startRelay(t, e.uri, e.db.Name(), e.fake.URL(), "crash-0")
	relaytest.Eventually(t, 20*time.Second, p.ready, "relay not ready")
	wctx, stopWork := context.WithCancel(ctx)
	writes := make(chan int, 1)
	go func() { writes <- workload(wctx, e.db, 42) }()

	r := rand.New(rand.NewPCG(7, 7))
	kills := 0
	for kills < 22 {
		time.Sleep(time.Duration(50+r.IntN(700)) * time.Millisecond)
		p.kill(t)
		kills++
		p = startRelay(t, e.uri, e.db.Name(), e.fake.URL(), fmt.Sprint("crash-", kills))
		// the lease of a killed relay with another owner expires first
		// sometimes let it become active before the next kill
		if r.IntN(3) == 0 {
			relaytest.Eventually(t, 20*time.Second, p.ready, "relay %d not ready", kills)
		}
	}
	stopWork()
	n := <-writes
	relaytest.Eventually(t, 30*time.Second, p.ready, "final relay not ready")
	relaytest.Eventually(t, 60*time.Second, func() bool { return len(e.missing(o)) == 0 }, "events never delivered: %d of %d", len(e.missing(o)), len(o.snapshot()))
	require.NoError(t, p.cmd.Process.Signal(syscall.SIGTERM))
	select {
	case err := <-p.done:
		require.NoError(t, err, "SIGTERM exits 0")
	case <-time.After(15 * time.Second):
		t.Fatal("relay did not exit on SIGTERM")
	}
	dups := len(e.rec.Events("")) - len(o.snapshot())
	t.Logf("%d kills, %d writes, %d events, %d delivered (%d duplicates)", kills, n, len(o.snapshot()), len(e.rec.Events("")), dups)
	require.Greater(t, len(o.snapshot()), 500)
}

func TestLeaseTakeoverWithoutCheckpointRegression(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: runs relay processes")
	}
	e := newEnv(t)
	ctx := t.Context()
	t0, err := repair.ClusterTime(ctx, e.db)
	require.NoError(t, err)
	o := watchAll(t, ctx, e.db, t0)
	a := startRelay(t, e.uri, e.db.Name(), e.fake.URL(), "relay-a")
	relaytest.Eventually(t, 20*time.Second, a.ready, "a not ready")
	b := startRelay(t, e.uri, e.db.Name(), e.fake.URL(), "relay-b")
	require.Never(t, b.ready, time.Second, 50*time.Millisecond, "b must stand by while a is active")

	// watch the checkpoints: they never move backwards
	var regress []string
	var mu sync.Mutex
	pollCtx, stopPoll := context.WithCancel(ctx)
	polled := make(chan struct{})
	go func() {
		defer close(polled)
		last := map[string]primitive.Timestamp{}
		for pollCtx.Err() == nil {
			cur, err := e.db.Collection("_relay_checkpoints").Find(pollCtx, bson.D{})
			if err == nil {
				var recs []struct {
					ID          string              `bson:"_id"`
					ClusterTime primitive.Timestamp `bson:"clusterTime"`
				}
				_ = cur.All(pollCtx, &recs)
				for _, r := range recs {
					if r.ClusterTime.Before(last[r.ID]) {
						mu.Lock()
						regress = append(regress, fmt.Sprintf("%s: %v -> %v", r.ID, last[r.ID], r.ClusterTime))
						mu.Unlock()
					}
					if r.ClusterTime.After(last[r.ID]) {
						last[r.ID] = r.ClusterTime
					}
				}
			}
			time.Sleep(20 * time.Millisecond)
		}
	}()
	wctx, stopWork := context.WithCancel(ctx)
	writes := make(chan int, 1)
	go func() { writes <- workload(wctx, e.db, 9) }()
	time.Sleep(time.Second)
	killedAt := time.Now()
	a.kill(t)
	relaytest.Eventually(t, 10*time.Second, b.ready, "b did not take over")
	took := time.Since(killedAt)
	require.Less(t, took, 2*time.Second+2*time.Second, "takeover within the lease duration (plus a renew interval)")
	time.Sleep(time.Second)
	stopWork()
	<-writes
	relaytest.Eventually(t, 30*time.Second, func() bool { return len(e.missing(o)) == 0 }, "events never delivered: %d", len(e.missing(o)))
	stopPoll()
	<-polled
	mu.Lock()
	defer mu.Unlock()
	require.Empty(t, regress, "checkpoint regressed")
	t.Logf("takeover after %s", took)
}
