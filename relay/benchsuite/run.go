package benchsuite

import (
	"context"
	"fmt"
	"io"
	"math"
	"slices"
	"sync"
	"time"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/mongo"

	"github.com/changerelay/changerelay/infra/conduit"
	"github.com/changerelay/changerelay/relay/repair"
)

// ConfigSpec is one configuration of a run.
type ConfigSpec struct {
	Name   string
	Floor  bool
	Routes RouteSettings
	// MemoryLimit, when set, is the relay's GOMEMLIMIT (Go's soft memory
	// limit: the collector runs more often as the process nears it).
	MemoryLimit string
}

// Describe renders the configuration for the report.
func (c ConfigSpec) Describe() string {
	if c.Floor {
		return fmt.Sprintf("the handlers called in-process on the change streams' events (≤%d per call, %d calls in flight per collection, partitioned by document); no relay, no Lambda", FloorBatch, FloorWorkers)
	}
	d := "relay binary, every route: " + c.Routes.String()
	if c.MemoryLimit != "" {
		d += "; GOMEMLIMIT=" + c.MemoryLimit
	}
	return d
}

// Configuration names.
const (
	ConfigFloor   = "floor"
	ConfigNaive   = "naive"
	ConfigDefault = "relay-default"
	ConfigTuned   = "relay-tuned"
	// ConfigMemLimit is the defaults under a Go soft memory limit near the
	// memory target (what automemlimit does in a container).
	ConfigMemLimit = "relay-memlimit"
)

// DefaultConfigs are the configurations of `make bench`.
var DefaultConfigs = []ConfigSpec{
	{Name: ConfigFloor, Floor: true},
	{Name: ConfigNaive, Routes: RouteSettings{BatchSize: 1, Concurrency: 1}},
	{Name: ConfigDefault},
	{Name: ConfigTuned, Routes: RouteSettings{BatchSize: 500, KeyEventsPerBatch: 500}},
	{Name: ConfigMemLimit, MemoryLimit: "40MiB"},
}

// Runner runs configurations against workloads on one Env.
type Runner struct {
	Env      *Env
	Scale    Scale
	Dataset  *conduit.Dataset
	LogDir   string
	Progress io.Writer

	cuts map[string]int // backlog: the script prefix that wrote the target number of events
}

// writeBacklog writes the backlog script until the tracker has seen
// w.Events source events (a write may cause thousands: deleteMany,
// updateMany), the first time; later runs write the same prefix.
func (r *Runner) writeBacklog(ctx context.Context, db *mongo.Database, w Workload, exec conduit.ExecConfig, tr *Tracker) error {
	if r.cuts == nil {
		r.cuts = map[string]int{}
	}
	if cut, ok := r.cuts[w.Name]; ok {
		if _, err := conduit.Execute(ctx, db, w.Script[:cut], exec); err != nil {
			return fmt.Errorf("workload: %w", err)
		}
		return nil
	}
	wctx, stop := context.WithCancel(ctx)
	defer stop()
	var mu sync.Mutex
	last, stopped := -1, false
	exec.AfterApply = func(i int, _ conduit.Op, _ time.Time) {
		mu.Lock()
		defer mu.Unlock()
		last = max(last, i)
		if !stopped && tr.Progress().SourceEvents >= w.Events {
			stopped = true
			stop()
		}
	}
	_, err := conduit.Execute(wctx, db, w.Script, exec)
	mu.Lock()
	defer mu.Unlock()
	if err != nil && !stopped {
		return fmt.Errorf("workload: %w", err)
	}
	r.cuts[w.Name] = last + 1
	r.logf("  [%s] %d writes caused %d change events: every configuration gets these writes", w.Name, last+1, tr.Progress().SourceEvents)
	return nil
}

func (r *Runner) logf(format string, args ...any) {
	if r.Progress != nil {
		fmt.Fprintf(r.Progress, format+"\n", args...)
	}
}

func (r *Runner) sut(spec ConfigSpec, workload string) SUT {
	if spec.Floor {
		return &Floor{URI: r.Env.Proxy.URI(), Database: r.Env.DB.Name(), Logf: func(format string, args ...any) {
			r.logf("  [floor] "+format, args...)
		}}
	}
	return &RelayProc{Label: spec.Name, Bin: r.Env.RelayBin, Dir: r.LogDir, MongoURI: r.Env.Proxy.URI(),
		Database: r.Env.DB.Name(), LambdaEndpoint: r.Env.Stack.LambdaEndpoint(), Routes: spec.Routes, MemoryLimit: spec.MemoryLimit,
		HeapProfile: heapProfilePath(r.LogDir, spec.Name, workload)}
}

type counters struct {
	db     map[string]int64
	inv    map[string]int64
	errs   int64
	thr    int64
	fnCPU  float64
	taken  time.Time
	fnPIDs []int
}

func (r *Runner) snapshot() counters {
	c := counters{db: r.Env.Proxy.Counts(), inv: map[string]int64{}, taken: time.Now()}
	for name, fs := range r.Env.LambdaStats().Functions {
		c.inv[name] = fs.Invocations
		c.errs += fs.Errors
		c.thr += fs.Throttles
	}
	c.fnPIDs = r.Env.FunctionPIDs()
	c.fnCPU = cpuOf(c.fnPIDs)
	return c
}

// Run measures one configuration on one workload.
func (r *Runner) Run(ctx context.Context, spec ConfigSpec, w Workload) Result {
	res := Result{Workload: w.Name, Config: spec.Name}
	if err := r.run(ctx, spec, w, &res); err != nil {
		res.Error = err.Error()
		r.logf("  [%s/%s] ERROR: %v", w.Name, spec.Name, err)
	}
	return res
}

func (r *Runner) run(ctx context.Context, spec ConfigSpec, w Workload, res *Result) error {
	tag := fmt.Sprintf("[%s/%s]", w.Name, spec.Name)
	t0 := time.Now()
	res.Load[0] = loadAverage()
	if err := r.Env.Reset(ctx, r.Dataset); err != nil {
		return fmt.Errorf("reset: %w", err)
	}
	r.logf("  %s database reset and seeded in %s", tag, time.Since(t0).Round(100*time.Millisecond))
	db := r.Env.DB
	from, err := repair.ClusterTime(ctx, db)
	if err != nil {
		return err
	}
	tr := NewTracker(r.Dataset)
	watchCtx, stopWatch := context.WithCancel(ctx)
	watchDone := make(chan error, 1)
	go func() { watchDone <- tr.Watch(watchCtx, db, from) }()
	defer func() { stopWatch(); <-watchDone }()

	sut := r.sut(spec, w.Name)
	started := false
	defer func() {
		if started {
			_, _ = sut.Stop(context.WithoutCancel(ctx))
		}
	}()
	exec := w.Exec
	exec.ProgressEvery = max(100, len(w.Script)/10)
	exec.Progress = func(s conduit.ExecStats) {
		p := tr.Progress()
		r.logf("  %s wrote %d/%d writes in %s | events seen %d, converged %d, open %d",
			tag, s.Ops, s.Total, s.Elapsed.Round(100*time.Millisecond), p.SourceEvents, p.Resolved, p.Open)
	}
	var before counters
	var procStart time.Time
	var idle int64
	if w.Backlog {
		if idle, err = sut.Prime(ctx, from); err != nil {
			return err
		}
		if err := r.writeBacklog(ctx, db, w, exec, tr); err != nil {
			return err
		}
		before = r.snapshot()
		procStart = time.Now()
		if err := sut.Start(ctx, from); err != nil {
			return err
		}
		started = true
		r.logf("  %s started after the backlog was written", tag)
	} else {
		if err := sut.Start(ctx, from); err != nil {
			return err
		}
		started = true
		before = r.snapshot()
		if _, err := conduit.Execute(ctx, db, w.Script, exec); err != nil {
			return fmt.Errorf("workload: %w", err)
		}
	}
	fence := fmt.Sprintf("%s/%s/%d", w.Name, spec.Name, time.Now().UnixNano())
	if _, err := db.Collection(FenceCollection).InsertOne(ctx, bson.D{{Key: "name", Value: fence}}); err != nil {
		return fmt.Errorf("fence: %w", err)
	}

	// Wait until every timed write converged and the invariants hold (the
	// untimed writes, retags for example, are done too), or the deadline.
	deadline := time.Now().Add(r.Scale.RunTimeout)
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	lastResolved, lastChange, lastPrint := -1, time.Now(), time.Now()
	for {
		p := tr.Progress()
		if p.Err != nil {
			return p.Err
		}
		if e, ok := sut.(interface{ Err() error }); ok && e.Err() != nil {
			return fmt.Errorf("%s: %w", spec.Name, e.Err())
		}
		if p.Resolved != lastResolved {
			lastResolved, lastChange = p.Resolved, time.Now()
		}
		stalled := p.Fence == fence && p.Open > 0 && time.Since(lastChange) > 30*time.Second
		if p.Fence == fence && (p.Open == 0 || stalled) {
			rep, err := conduit.Check(ctx, db)
			if err != nil {
				return fmt.Errorf("check: %w", err)
			}
			if rep.OK() {
				if stalled {
					res.Unresolved = p.Open
					r.logf("  %s %d writes never showed a derived write but the invariants hold (%v)", tag, p.Open, tr.OpenSummary())
				}
				break
			}
			lastChange = time.Now()
		}
		if time.Since(lastPrint) >= 2*time.Second {
			lastPrint = time.Now()
			r.logf("  %s converging: events %d, converged %d, open %d, derived writes %d", tag, p.SourceEvents, p.Resolved, p.Open, p.DerivedEvents)
		}
		if time.Now().After(deadline) {
			res.TimedOut = true
			res.Unresolved = p.Open
			res.OldestOpen = max(tr.OldestOpen()-1, 0)
			r.logf("  %s TIMED OUT after %s with %d writes not converged", tag, r.Scale.RunTimeout, p.Open)
			break
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
	after := r.snapshot()
	st, stopErr := sut.Stop(ctx)
	started = false

	p := tr.Progress()
	res.Load[1] = loadAverage()
	lat, labels := tr.Latencies()
	byLabel := map[string][]float64{}
	for i, d := range lat {
		byLabel[labels[i]] = append(byLabel[labels[i]], float64(d)/float64(time.Millisecond))
	}
	res.BySource = map[string]LatencySummary{}
	for l, v := range byLabel {
		slices.Sort(v)
		res.BySource[l] = LatencySummary{N: len(v), P50: quantile(v, 0.5), P99: quantile(v, 0.99)}
	}
	res.Events, res.DerivedWrites, res.Tracked = p.SourceEvents, p.DerivedEvents, p.Resolved
	res.Untracked, res.Dropped = p.Untracked, p.Dropped
	start := p.FirstSource
	if w.Backlog {
		start = procStart
	}
	end := p.LastResolve
	if p.LastDerived.After(end) {
		end = p.LastDerived // untimed writes (retags) finish with a derived write too
	}
	if res.TimedOut || end.Before(start) {
		end = time.Now()
	}
	res.Elapsed = end.Sub(start).Seconds()
	res.OneEventPerCall = spec.Routes.BatchSize == 1
	ms := make([]float64, len(lat))
	for i, d := range lat {
		ms[i] = float64(d) / float64(time.Millisecond)
	}
	slices.Sort(ms)
	res.Latencies = ms
	res.P50, res.P95, res.P99 = quantile(ms, 0.50), quantile(ms, 0.95), quantile(ms, 0.99)
	if len(ms) > 0 {
		res.Max = ms[len(ms)-1]
	}

	res.InvocationsByFn = map[string]int64{}
	for name, n := range after.inv {
		if d := n - before.inv[name]; d > 0 {
			res.InvocationsByFn[name] = d
			res.Invocations += d
		}
	}
	res.LambdaErrors, res.Throttles = after.errs-before.errs, after.thr-before.thr
	res.rates() // after the invocations: a timed-out naive run counts them
	res.HandlerCalls = st.HandlerCalls
	calls := res.Invocations
	if spec.Floor {
		calls = st.HandlerCalls
	}
	if res.Events > 0 {
		res.InvPerEvent = float64(calls) / float64(res.Events)
	}
	res.FavEvents = countFavoriteEvents(w.Script)
	favCalls := res.InvocationsByFn["favorites"]
	if res.FavEvents > 0 && !spec.Floor {
		res.FavInvPerEvent = float64(favCalls) / float64(res.FavEvents)
	}
	dbDiff := DiffCounts(before.db, after.db)
	res.RoundTrips = RoundTrips(dbDiff)
	if res.Events > 0 {
		res.TripsPerEvent = float64(res.RoundTrips) / float64(res.Events)
	}
	res.TopCommands = TopCommands(dbDiff, 4)
	// Environments started during the run count in full; one that exited
	// during the run (none do unless a function crashes) would be missed.
	res.FunctionsCPU = math.Max(0, after.fnCPU-before.fnCPU)
	res.RelayCPU, res.PeakRSS, res.Memory, res.Process = st.CPUSeconds, st.PeakRSS, st.Memory, st.Process
	res.IdleRSS = st.IdleRSS
	if w.Backlog && idle > 0 {
		res.IdleRSS = idle
	}
	if w.Backlog && st.Process {
		res.QueueBytes = queueEstimate(ctx, db, from, spec.Routes)
	}

	rep, err := conduit.Check(ctx, db)
	if err != nil {
		return fmt.Errorf("check: %w", err)
	}
	res.Converged, res.Check = rep.OK(), rep.Summary()
	r.logf("  %s done: %d events in %.1fs = %.0f events/s | p50 %.0f p95 %.0f p99 %.0f ms | %.3f calls/event | %.1f db trips/event | check %s",
		tag, res.Events, res.Elapsed, res.EventsPerSec, res.P50, res.P95, res.P99, res.InvPerEvent, res.TripsPerEvent, res.Check)
	if stopErr != nil {
		return stopErr
	}
	return nil
}
