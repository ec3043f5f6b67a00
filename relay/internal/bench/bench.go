package bench

import (
	"bufio"
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/mongo"

	"github.com/changerelay/changerelay/relay/checkpoint"
	"github.com/changerelay/changerelay/relay/config"
	"github.com/changerelay/changerelay/relay/daemon"
	"github.com/changerelay/changerelay/relay/deliver"
	"github.com/changerelay/changerelay/relay/repair"
)

var timeNow = time.Now

// Kind names the relay under test.
type Kind string

// The relays compared.
const (
	Default   Kind = "default" // the relay with its default configuration
	NaiveKind Kind = "naive"   // one event per invocation, one at a time
)

// Env is what every scenario runs against: one MongoDB, one function host
// behind a recording proxy.
type Env struct {
	URI     string
	Client  *mongo.Client
	Proxy   *Proxy
	Invoker deliver.Invoker // to the proxy
	Log     *slog.Logger
}

// Result is one scenario's figures.
type Result struct {
	Kind        Kind
	Events      int
	Invocations int
	Elapsed     time.Duration
	PerSecond   float64
	P50, P99    time.Duration
}

func (r Result) String() string {
	return fmt.Sprintf("%-8s %7d events %6d invocations %9.0f events/s  p50 %8s  p99 %8s",
		r.Kind, r.Events, r.Invocations, r.PerSecond, r.P50.Round(100*time.Microsecond), r.P99.Round(100*time.Microsecond))
}

// startRelay starts the relay of kind on db, streaming from now, and
// returns a stop function.
func (e *Env) startRelay(ctx context.Context, kind Kind, db *mongo.Database) (func(), error) {
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	switch kind {
	case NaiveKind:
		ts, err := repair.ClusterTime(ctx, db)
		if err != nil {
			cancel()
			return nil, err
		}
		wg.Go(func() { _ = Naive(ctx, db.Collection("users"), ts, e.Invoker, "users") })
	default:
		cfg := config.Default()
		cfg.MongoDB.URI, cfg.MongoDB.Database = e.URI, db.Name()
		cfg.Lambda.Endpoint = e.Proxy.URL()
		cfg.HTTP.Addr = "off"
		cfg.InitialSync = config.InitialSyncNow
		d, err := daemon.New(ctx, cfg, e.Log, daemon.Options{Invoker: e.Invoker})
		if err != nil {
			cancel()
			return nil, err
		}
		wg.Go(func() { _ = d.Run(ctx) })
		for ok, _ := d.Ready(); !ok; ok, _ = d.Ready() {
			if ctx.Err() != nil {
				cancel()
				return nil, ctx.Err()
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	return func() { cancel(); wg.Wait() }, nil
}

func (e *Env) freshDB(ctx context.Context, name string) (*mongo.Database, func()) {
	db := e.Client.Database(fmt.Sprintf("bench_%s_%d", name, time.Now().UnixNano()))
	return db, func() { _ = db.Drop(context.WithoutCancel(ctx)) }
}

// Throughput writes n events as fast as it can (insertMany of 100) while
// the relay runs, and measures from the first write to the last event's
// first invocation.
func (e *Env) Throughput(ctx context.Context, kind Kind, n int) (Result, error) {
	db, drop := e.freshDB(ctx, "tp")
	defer drop()
	stop, err := e.startRelay(ctx, kind, db)
	if err != nil {
		return Result{}, err
	}
	defer stop()
	e.Proxy.Reset()
	start := time.Now()
	if err := insertUsers(ctx, db, 0, n, 100); err != nil {
		return Result{}, err
	}
	if err := wait(ctx, e.Proxy.WaitFor(n), 10*time.Minute); err != nil {
		return Result{}, fmt.Errorf("%s throughput: %w (%d of %d)", kind, err, e.Proxy.Stats().Events, n)
	}
	s := e.Proxy.Stats()
	el := s.Last.Sub(start)
	return Result{Kind: kind, Events: s.Events, Invocations: s.Invocations, Elapsed: el, PerSecond: float64(s.Events) / el.Seconds(), P50: s.P50, P99: s.P99}, nil
}

// Latency writes one event every 1/rate for d and measures each event's
// write-to-invocation latency.
func (e *Env) Latency(ctx context.Context, kind Kind, rate int, d time.Duration) (Result, error) {
	db, drop := e.freshDB(ctx, "lat")
	defer drop()
	stop, err := e.startRelay(ctx, kind, db)
	if err != nil {
		return Result{}, err
	}
	defer stop()
	e.Proxy.Reset()
	tick := time.NewTicker(time.Second / time.Duration(rate))
	defer tick.Stop()
	start := time.Now()
	n := 0
	for time.Since(start) < d {
		<-tick.C
		if err := insertUsers(ctx, db, n, n+1, 1); err != nil {
			return Result{}, err
		}
		n++
	}
	if err := wait(ctx, e.Proxy.WaitFor(n), time.Minute); err != nil {
		return Result{}, fmt.Errorf("%s latency: %w", kind, err)
	}
	s := e.Proxy.Stats()
	return Result{Kind: kind, Events: s.Events, Invocations: s.Invocations, Elapsed: time.Since(start), PerSecond: float64(rate), P50: s.P50, P99: s.P99}, nil
}

// Memory is the relay process's resident memory while catching up.
type Memory struct {
	Backlog  int
	PeakRSS  int64 // bytes
	CatchUp  time.Duration
	Rate     float64
	Settings string
}

func (m Memory) String() string {
	return fmt.Sprintf("backlog %7d: peak RSS %6.1f MiB, caught up in %s (%.0f events/s)", m.Backlog, float64(m.PeakRSS)/(1<<20), m.CatchUp.Round(10*time.Millisecond), m.Rate)
}

// Backlog writes n events while no relay runs, then starts the relay
// binary at bin from a checkpoint before them and samples its RSS until it
// has delivered them all.
func (e *Env) Backlog(ctx context.Context, bin string, n int) (Memory, error) {
	db, drop := e.freshDB(ctx, "rss")
	defer drop()
	ts, err := repair.ClusterTime(ctx, db)
	if err != nil {
		return Memory{}, err
	}
	store := checkpoint.NewStore(db, "_relay_checkpoints")
	for _, r := range config.DefaultRoutes() {
		if err := store.Save(ctx, checkpoint.Record{Route: r.Name, ClusterTime: ts, Time: time.Unix(int64(ts.T), 0), UpdatedAt: time.Now()}); err != nil {
			return Memory{}, err
		}
	}
	if err := insertUsers(ctx, db, 0, n, 1000); err != nil {
		return Memory{}, err
	}
	e.Proxy.Reset()
	cmd := exec.CommandContext(ctx, bin, "run")
	cmd.Env = append(os.Environ(), "MONGODB_URI="+e.URI, "MONGODB_DATABASE="+db.Name(),
		"LAMBDA_ENDPOINT="+e.Proxy.URL(), "RELAY_HTTP_ADDR=off", "LOG_LEVEL=warn")
	cmd.Stderr = os.Stderr
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return Memory{}, err
	}
	defer func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
	}()
	done := e.Proxy.WaitFor(n)
	var peak int64
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	deadline := time.After(20 * time.Minute)
	for {
		select {
		case <-done:
			el := time.Since(start)
			if rss := rssOf(cmd.Process.Pid); rss > peak {
				peak = rss
			}
			return Memory{Backlog: n, PeakRSS: peak, CatchUp: el, Rate: float64(n) / el.Seconds()}, nil
		case <-t.C:
			if rss := rssOf(cmd.Process.Pid); rss > peak {
				peak = rss
			}
		case <-deadline:
			return Memory{}, fmt.Errorf("backlog %d: only %d delivered", n, e.Proxy.Stats().Events)
		case <-ctx.Done():
			return Memory{}, ctx.Err()
		}
	}
}

// rssOf reads VmRSS of a process from /proc (Linux), in bytes.
func rssOf(pid int) int64 {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}

func insertUsers(ctx context.Context, db *mongo.Database, from, to, chunk int) error {
	coll := db.Collection("users")
	for i := from; i < to; i += chunk {
		docs := make([]any, 0, chunk)
		for j := i; j < min(i+chunk, to); j++ {
			docs = append(docs, bson.D{{Key: "_id", Value: j}, {Key: "username", Value: "user" + strconv.Itoa(j)}, {Key: "bio", Value: "a short bio"}})
		}
		if _, err := coll.InsertMany(ctx, docs); err != nil {
			return fmt.Errorf("insert users: %w", err)
		}
	}
	return nil
}

func wait(ctx context.Context, ch <-chan struct{}, d time.Duration) error {
	select {
	case <-ch:
		return nil
	case <-time.After(d):
		return fmt.Errorf("timed out after %s", d)
	case <-ctx.Done():
		return ctx.Err()
	}
}
