package e2e_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/mongo"
	"go.mongodb.org/mongo-driver/mongo/options"

	"github.com/changerelay/changerelay/e2e/harness"
	"github.com/changerelay/changerelay/e2e/stack"
	"github.com/changerelay/changerelay/infra/conduit"
)

// Deadlines. Generous: the suite shares two cores with the rest of `make test`.
const (
	caseTimeout     = 4 * time.Minute
	convergeTimeout = 90 * time.Second
	readyTimeout    = 60 * time.Second
)

// smallSeed is the data set most cases start from: converged, so that any
// drift at the end comes from the writes under test.
var smallSeed = conduit.SeedConfig{Users: 30, Articles: 150, Comments: 300, Favorites: 600, Tags: 15}

// pipeline is one case's running system.
type pipeline struct {
	t      *testing.T
	ctx    context.Context
	stack  *stack.Stack
	client *mongo.Client
	db     *mongo.Database
	relays []*stack.Relay
	runs   int
}

type pipelineOptions struct {
	// Concurrency of each local function's pool (default 2).
	Concurrency int
	// Devstack runs the Docker-free stack through the devstack command
	// (make devstack) rather than separate mongolocal and lambdahost
	// processes.
	Devstack bool
}

// newPipeline starts the target, prepares the database (indexes,
// pre-images) and connects a client. Everything stops at the end of the
// test; on failure the tail of every process's log is printed.
func newPipeline(t *testing.T, o pipelineOptions) *pipeline {
	t.Helper()
	requirePipeline(t)
	ctx, cancel := context.WithTimeout(context.Background(), caseTimeout)
	t.Cleanup(cancel)

	logDir := t.TempDir()
	if keep := os.Getenv("E2E_LOG_DIR"); keep != "" {
		logDir = fmt.Sprintf("%s/%s-%d", keep, strings.ReplaceAll(t.Name(), "/", "_"), time.Now().UnixNano())
		require.NoError(t, os.MkdirAll(logDir, 0o755))
	}
	start := stack.Start
	if o.Devstack {
		if stack.TargetFromEnv() != stack.TargetLocal {
			t.Skip("the devstack command is the Docker-free stack")
		}
		start = stack.StartDevstack
	}
	st, err := start(ctx, stack.Config{Bins: bins, LogDir: logDir, Concurrency: o.Concurrency})
	require.NoError(t, err)
	p := &pipeline{t: t, ctx: ctx, stack: st}
	t.Cleanup(p.close)

	p.client, err = mongo.Connect(ctx, options.Client().ApplyURI(st.MongoURI).SetTimeout(30*time.Second))
	require.NoError(t, err)
	p.db = p.client.Database(st.Database)
	if st.Target == stack.TargetLocalStack {
		// A shared database: start every case from an empty one.
		require.NoError(t, p.db.Drop(ctx))
	}
	out, err := st.RunIndexes(ctx)
	require.NoError(t, err, out)
	return p
}

func (p *pipeline) close() {
	t := p.t
	if t.Failed() {
		procs := p.stack.Processes()
		for _, r := range p.relays {
			procs = append(procs, r.Process)
		}
		for _, proc := range procs {
			t.Logf("---- last lines of %s (%s) ----\n%s", proc.Name(), proc.LogFile(), proc.Tail(40))
		}
	}
	for _, r := range p.relays {
		if r.Running() {
			if err := r.Stop(20 * time.Second); err != nil {
				t.Logf("stopping %s: %v", r.Name(), err)
			}
		}
	}
	if p.client != nil {
		_ = p.client.Disconnect(context.Background())
	}
	if err := p.stack.Close(); err != nil {
		t.Logf("stopping the stack: %v", err)
	}
}

// seed writes a converged data set.
func (p *pipeline) seed(cfg conduit.SeedConfig, seed uint64) *conduit.Dataset {
	p.t.Helper()
	cfg.Rand = newRand(seed)
	ds, err := conduit.Seed(p.ctx, p.db, cfg, nil)
	require.NoError(p.t, err)
	return ds
}

// startRelay starts a relay and waits until it is ready.
func (p *pipeline) startRelay(cfg stack.RelayConfig) *stack.Relay {
	p.t.Helper()
	p.runs++
	if cfg.Name == "" {
		cfg.Name = fmt.Sprintf("relay-%d", p.runs)
	}
	if cfg.Owner == "" {
		cfg.Owner = "e2e-relay"
	}
	ctx, cancel := context.WithTimeout(p.ctx, readyTimeout)
	defer cancel()
	r, err := p.stack.StartRelayReady(ctx, cfg)
	if r != nil {
		p.relays = append(p.relays, r)
	}
	require.NoError(p.t, err)
	return r
}

// relay is the most recently started relay.
func (p *pipeline) relay() *stack.Relay {
	if len(p.relays) == 0 {
		return nil
	}
	return p.relays[len(p.relays)-1]
}

// execute applies a script and fails the test on a write error.
func (p *pipeline) execute(script conduit.Script, cfg conduit.ExecConfig) conduit.ExecStats {
	p.t.Helper()
	stats, err := conduit.Execute(p.ctx, p.db, script, cfg)
	require.NoError(p.t, err)
	return stats
}

// waitConverged polls conduit.Check until every invariant holds and the
// running relay has nothing in flight, or fails after timeout.
func (p *pipeline) waitConverged(timeout time.Duration) conduit.Report {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, timeout)
	defer cancel()
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	var (
		rep     conduit.Report
		lastErr error
	)
	for {
		rep, lastErr = conduit.Check(ctx, p.db)
		if lastErr == nil && rep.OK() && p.relayIdle(ctx) {
			// Confirm: a pass between two invocations of the same batch
			// must not count as convergence.
			if rep2, err := conduit.Check(ctx, p.db); err == nil && rep2.OK() {
				return rep2
			}
		}
		select {
		case <-ctx.Done():
			p.t.Fatalf("not converged within %s (check error: %v):\n%s", timeout, lastErr, rep.String())
			return rep
		case <-tick.C:
		}
	}
}

// relayIdle reports whether the running relay (if any) has no event in
// flight.
func (p *pipeline) relayIdle(ctx context.Context) bool {
	r := p.relay()
	if r == nil || !r.Running() {
		return true
	}
	m, err := r.Metrics(ctx)
	if err != nil {
		return false
	}
	return m.Sum("relay_in_flight_events") == 0
}

// metrics scrapes the running relay.
func (p *pipeline) metrics() harness.Metrics {
	p.t.Helper()
	m, err := p.relay().Metrics(p.ctx)
	require.NoError(p.t, err)
	return m
}

// deadLetters returns every document of the relay's dead-letter collection.
func (p *pipeline) deadLetters() []bson.Raw {
	p.t.Helper()
	cur, err := p.db.Collection("_relay_deadletters").Find(p.ctx, bson.D{})
	require.NoError(p.t, err)
	var out []bson.Raw
	for cur.Next(p.ctx) {
		out = append(out, append(bson.Raw(nil), cur.Current...))
	}
	require.NoError(p.t, cur.Err())
	return out
}

func newRand(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, seed*0x9e3779b97f4a7c15+1)) }
