// Package daemon is `relay run`: it connects, serves the operations
// endpoints, waits for the lease, fences and loads the checkpoints, runs
// every route until the context ends (graceful shutdown within the grace
// period) or the lease is lost (then it stands by again).
package daemon

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"go.mongodb.org/mongo-driver/bson/primitive"
	"go.mongodb.org/mongo-driver/mongo"
	"go.mongodb.org/mongo-driver/mongo/options"

	"github.com/changerelay/changerelay/relay/checkpoint"
	"github.com/changerelay/changerelay/relay/config"
	"github.com/changerelay/changerelay/relay/deadletter"
	"github.com/changerelay/changerelay/relay/deliver"
	"github.com/changerelay/changerelay/relay/lease"
	"github.com/changerelay/changerelay/relay/metrics"
	"github.com/changerelay/changerelay/relay/ops"
	"github.com/changerelay/changerelay/relay/repair"
	"github.com/changerelay/changerelay/relay/route"
)

// Daemon is a running relay.
type Daemon struct {
	cfg     *config.Config
	log     *slog.Logger
	metrics *metrics.Metrics
	client  *mongo.Client
	db      *mongo.Database
	invoker deliver.Invoker
	dead    *deadletter.Store
	cps     *checkpoint.Store
	repair  *repair.Runner
	lease   *lease.Lease
	ops     *ops.Server
	state   atomic.Value // string: starting, standby, active, stopping
}

// Options override the daemon's dependencies (tests).
type Options struct {
	Invoker deliver.Invoker
	Metrics *metrics.Metrics
}

// New connects to MongoDB and builds the invoker; it does not start work.
func New(ctx context.Context, cfg *config.Config, log *slog.Logger, o Options) (*Daemon, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	d := &Daemon{cfg: cfg, log: log, metrics: o.Metrics}
	d.state.Store("starting")
	if d.metrics == nil {
		d.metrics = metrics.New()
	}
	client, err := mongo.Connect(ctx, options.Client().ApplyURI(cfg.MongoDB.URI).SetAppName("changerelay"))
	if err != nil {
		return nil, fmt.Errorf("connect to MongoDB: %w", err)
	}
	d.client = client
	d.db = client.Database(cfg.MongoDB.Database)
	d.invoker = o.Invoker
	if d.invoker == nil {
		longest := cfg.Repair.Timeout
		for _, r := range cfg.Routes {
			longest = max(longest, r.FunctionTimeout)
		}
		inv, err := deliver.NewLambdaInvoker(ctx, deliver.LambdaConfig{
			Endpoint: cfg.Lambda.Endpoint, Region: cfg.Lambda.Region,
			HTTPTimeout: config.HTTPTimeout(longest), MaxAttempts: cfg.Lambda.SDKMaxAttempts,
		})
		if err != nil {
			_ = client.Disconnect(ctx)
			return nil, err
		}
		d.invoker = inv
	}
	var sender deadletter.Sender
	if cfg.DeadLetter.SQSQueueURL != "" {
		endpoint := cfg.DeadLetter.SQSEndpoint
		if endpoint == "" {
			endpoint = cfg.Lambda.Endpoint
		}
		s, err := deadletter.NewSQSSender(ctx, cfg.DeadLetter.SQSQueueURL, cfg.Lambda.Region, endpoint, endpoint != "" && !deliver.CredentialsInEnv())
		if err != nil {
			_ = client.Disconnect(ctx)
			return nil, err
		}
		sender = s
	}
	d.dead = deadletter.NewStore(d.db, cfg.DeadLetter.Collection, sender)
	d.cps = checkpoint.NewStore(d.db, cfg.Checkpoint.Collection)
	d.repair = &repair.Runner{Invoker: d.invoker, Function: cfg.FunctionName(cfg.Repair.Function),
		Timeout: config.HTTPTimeout(cfg.Repair.Timeout), DB: d.db, Metrics: d.metrics, Log: log}
	d.lease = lease.New(d.db, cfg.Lease.Collection, lease.Config{Owner: cfg.Lease.Owner, Duration: cfg.Lease.Duration, RenewInterval: cfg.Lease.RenewInterval}, log)
	return d, nil
}

// Metrics returns the daemon's metrics.
func (d *Daemon) Metrics() *metrics.Metrics { return d.metrics }

// OpsAddr is the operations server's address ("" when off or not started).
func (d *Daemon) OpsAddr() string {
	if d.ops == nil {
		return ""
	}
	return d.ops.Addr()
}

// Ready reports readiness for /readyz.
func (d *Daemon) Ready() (bool, string) {
	s, _ := d.state.Load().(string)
	return s == "active", s
}

// Run serves until ctx ends, then shuts down gracefully and returns nil.
func (d *Daemon) Run(ctx context.Context) error {
	defer func() {
		c, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = d.client.Disconnect(c)
	}()
	if d.cfg.HTTP.Addr != "off" {
		h := ops.Handler(d.metrics, d.Ready)
		if d.cfg.HTTP.Pprof {
			h = ops.WithProfiles(h)
		}
		srv, err := ops.Listen(d.cfg.HTTP.Addr, h)
		if err != nil {
			return err
		}
		d.ops = srv
		d.log.Info("operations endpoint listening", "addr", srv.Addr())
		defer func() {
			c, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
			defer cancel()
			_ = srv.Shutdown(c)
		}()
	}
	for {
		d.state.Store("standby")
		d.log.Info("waiting for the lease", "owner", d.cfg.Lease.Owner)
		epoch, err := d.lease.Acquire(ctx)
		if err != nil {
			return nil // ctx ended while standing by
		}
		d.metrics.LeaseHeld.Set(1)
		err = d.active(ctx, epoch)
		d.metrics.LeaseHeld.Set(0)
		if ctx.Err() != nil {
			c, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			if rerr := d.lease.Release(c); rerr != nil {
				d.log.Warn("lease release failed", "error", rerr)
			}
			cancel()
			d.log.Info("relay stopped")
			return nil
		}
		d.log.Error("lost the lease; standing by", "error", err)
	}
}

// active runs the routes while this relay holds the lease at epoch.
func (d *Daemon) active(ctx context.Context, epoch int64) error {
	holdCtx, stopHold := context.WithCancel(context.WithoutCancel(ctx))
	defer stopHold()
	readCtx, cancelRead := context.WithCancel(ctx)
	defer cancelRead()
	workCtx, cancelWork := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelWork()

	var lost atomic.Value
	stop := func(err error) {
		lost.CompareAndSwap(nil, err)
		cancelRead()
		cancelWork()
	}
	holdDone := make(chan struct{})
	go func() {
		defer close(holdDone)
		if err := d.lease.Hold(holdCtx); err != nil {
			stop(err)
		}
	}()

	names := make([]string, len(d.cfg.Routes))
	for i, r := range d.cfg.Routes {
		names[i] = r.Name
	}
	if err := d.cps.Fence(readCtx, names, epoch, d.cfg.Lease.Owner); err != nil {
		stop(err)
		return err
	}
	starts, err := d.startPositions(readCtx, epoch)
	if err != nil {
		stop(err)
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	deps := route.Deps{DB: d.db, Invoker: d.invoker, DeadLetters: d.dead, Checkpoints: d.cps,
		HistoryLost: d.repair.Converge, Metrics: d.metrics, Log: d.log, Epoch: epoch, Owner: d.cfg.Lease.Owner}
	var wg sync.WaitGroup
	for _, r := range d.cfg.Routes {
		rt := route.New(d.cfg, r, deps, starts[r.Name])
		wg.Go(func() {
			if err := rt.Run(readCtx, workCtx); err != nil {
				stop(err)
			}
		})
	}
	d.state.Store("active")
	d.log.Info("relay active", "epoch", epoch, "routes", names)
	routesDone := make(chan struct{})
	go func() {
		wg.Wait()
		close(routesDone)
	}()
	select {
	case <-routesDone:
	case <-readCtx.Done():
		d.state.Store("stopping")
		if ctx.Err() != nil {
			d.log.Info("shutting down: finishing in-flight work", "grace", d.cfg.ShutdownGrace)
		}
		select {
		case <-routesDone:
		case <-time.After(d.cfg.ShutdownGrace):
			d.log.Warn("shutdown grace expired: abandoning in-flight work (it is redelivered after restart)")
			cancelWork()
			<-routesDone
		}
	}
	stopHold()
	<-holdDone
	if err, _ := lost.Load().(error); err != nil {
		return err
	}
	return nil
}

// startPositions loads each route's checkpoint; routes without one start
// per initialSync: after a repair, or now.
func (d *Daemon) startPositions(ctx context.Context, epoch int64) (map[string]checkpoint.Position, error) {
	starts := map[string]checkpoint.Position{}
	var missing []string
	for _, r := range d.cfg.Routes {
		rec, ok, err := d.cps.Load(ctx, r.Name)
		if err != nil {
			return nil, err
		}
		if ok {
			starts[r.Name] = rec.Position()
			continue
		}
		missing = append(missing, r.Name)
	}
	if len(missing) == 0 {
		return starts, nil
	}
	var pos checkpoint.Position
	if d.cfg.InitialSync == config.InitialSyncNow {
		ts, err := repair.ClusterTime(ctx, d.db)
		if err != nil {
			return nil, err
		}
		pos = checkpoint.TimePosition(ts)
		d.log.Info("first start: streaming from now", "routes", missing, "clusterTime", ts)
	} else {
		d.log.Info("first start: running repair as the initial sync", "routes", missing)
		ts, err := d.convergeRetrying(ctx)
		if err != nil {
			return nil, err
		}
		pos = checkpoint.TimePosition(ts)
	}
	for _, name := range missing {
		starts[name] = pos
		rec := checkpoint.Record{Route: name, ClusterTime: pos.ClusterTime, Time: pos.Time, Epoch: epoch, Owner: d.cfg.Lease.Owner, UpdatedAt: time.Now().UTC()}
		if err := d.cps.Save(ctx, rec); err != nil {
			return nil, err
		}
	}
	return starts, nil
}

func (d *Daemon) convergeRetrying(ctx context.Context) (ts primitive.Timestamp, err error) {
	for n := 0; ; n++ {
		ts, err = d.repair.Converge(ctx)
		if err == nil || ctx.Err() != nil {
			return ts, err
		}
		wait := min(time.Second<<min(n, 6), time.Minute)
		d.log.Error("initial repair failed; retrying", "error", err, "in", wait)
		select {
		case <-ctx.Done():
			return ts, ctx.Err()
		case <-time.After(wait):
		}
	}
}
