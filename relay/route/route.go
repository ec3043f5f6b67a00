// Package route runs one route's pipeline: the change-stream reader feeds
// the checkpoint tracker and the dispatcher; the dispatcher delivers
// through the deliverer chain and reports done events to the tracker; the
// checkpoint writer stores the tracker's safe position.
package route

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"sync"
	"time"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/mongo"

	"github.com/changerelay/changerelay/functions/derived"
	"github.com/changerelay/changerelay/relay/change"
	"github.com/changerelay/changerelay/relay/checkpoint"
	"github.com/changerelay/changerelay/relay/config"
	"github.com/changerelay/changerelay/relay/deliver"
	"github.com/changerelay/changerelay/relay/dispatch"
	"github.com/changerelay/changerelay/relay/metrics"
	"github.com/changerelay/changerelay/relay/stream"
)

// Deps are what a route needs from the daemon.
type Deps struct {
	DB          *mongo.Database
	Invoker     deliver.Invoker
	DeadLetters dispatch.DeadLetterer
	Checkpoints checkpoint.Saver
	HistoryLost stream.HistoryLost
	Metrics     *metrics.Metrics
	Log         *slog.Logger
	Epoch       int64
	Owner       string
}

// Route is one running route.
type Route struct {
	cfg        config.Route
	tracker    *checkpoint.Tracker
	dispatcher *dispatch.Dispatcher
	reader     *stream.Reader
	writer     *checkpoint.Writer
	metrics    *metrics.Metrics
	log        *slog.Logger
	start      checkpoint.Position
}

// New builds route r of cfg, starting at start.
func New(cfg *config.Config, r config.Route, deps Deps, start checkpoint.Position) *Route {
	base := deps.Log
	if base == nil {
		base = slog.New(slog.DiscardHandler)
	}
	log := base.With("route", r.Name)
	p := &Route{cfg: r, metrics: deps.Metrics, log: log, start: start}
	p.tracker = checkpoint.NewTracker(start)
	core := &deliver.Envelope{Invoker: deps.Invoker, Database: cfg.MongoDB.Database, Timeout: config.HTTPTimeout(r.FunctionTimeout)}
	chain := deliver.Chain(core, deps.Metrics, cfg.MongoDB.Database, r.MaxPayloadBytes, r.Bisect())
	p.dispatcher = dispatch.New(dispatch.Config{
		Route: r.Name, Function: cfg.FunctionName(r.Function),
		BatchSize: r.BatchSize, MaxBytes: r.MaxPayloadBytes, BatchWindow: r.BatchWindow,
		Concurrency: r.Concurrency, KeyEventsPerBatch: r.KeyEventsPerBatch,
		MaxAttempts: r.MaxAttempts, MaxEventAge: r.MaxEventAge, MaxBuffered: r.MaxBufferedEvents,
		Backoff: dispatch.Backoff{Initial: cfg.Retry.InitialBackoff, Max: cfg.Retry.MaxBackoff, Multiplier: cfg.Retry.Multiplier, Jitter: cfg.Retry.Jitter},
	}, chain, deps.DeadLetters, func(ev *change.Event) { p.tracker.Done(ev.Seq) }, deps.Metrics, log)
	p.reader = stream.New(stream.Config{
		Route: r.Name, Collection: r.Collection, OperationTypes: r.OperationTypes,
		FullDocument: r.FullDocument, FullDocumentBeforeChange: beforeChange(r.FullDocumentBeforeChange),
		MaxAwaitTime: cfg.Stream.MaxAwaitTime, ReopenBackoff: cfg.Stream.ReopenBackoff, ReopenMaxBackoff: cfg.Stream.ReopenMaxBackoff,
		SplitLargeEvents: cfg.Stream.SplitLargeEvents == nil || *cfg.Stream.SplitLargeEvents,
		BatchSize:        cfg.Stream.BatchSize,
	}, deps.DB, p, deps.HistoryLost, deps.Metrics, base)
	p.writer = &checkpoint.Writer{
		Store: deps.Checkpoints, Route: r.Name, Epoch: deps.Epoch, Owner: deps.Owner, Tracker: p.tracker,
		Interval: cfg.Checkpoint.Interval, Metrics: deps.Metrics, Log: base,
	}
	return p
}

func beforeChange(mode string) string {
	if mode == config.FullDocumentOff {
		return ""
	}
	return mode
}

// Name is the route's name.
func (p *Route) Name() string { return p.cfg.Name }

// State reports the route's live figures (metrics, status).
func (p *Route) State() *checkpoint.Writer { return p.writer }

// Run reads until readCtx ends, then lets the dispatcher finish what it
// can until workCtx ends, and stores the last safe checkpoint. It returns
// an error wrapping checkpoint.ErrFenced when a newer relay took over.
func (p *Route) Run(readCtx, workCtx context.Context) error {
	workCtx, cancelWork := context.WithCancel(workCtx)
	defer cancelWork()
	readCtx, cancelRead := context.WithCancel(readCtx)
	defer cancelRead()
	if p.metrics != nil {
		p.metrics.SetRoute(p.cfg.Name, p.writer)
	}
	var wg sync.WaitGroup
	var fenced error
	var mu sync.Mutex
	fail := func(err error) {
		mu.Lock()
		defer mu.Unlock()
		if fenced == nil {
			fenced = err
		}
		cancelRead()
		cancelWork()
	}
	dispatched := make(chan struct{})
	wg.Go(func() {
		defer close(dispatched)
		_ = p.dispatcher.Run(workCtx)
	})
	wg.Go(func() {
		if err := p.writer.Run(workCtx); err != nil {
			fail(err)
		}
	})
	wg.Go(func() {
		if err := p.reader.Run(readCtx, p.start); err != nil && !errors.Is(err, context.Canceled) && !errors.Is(err, dispatch.ErrClosed) {
			p.log.Error("reader stopped", "error", err)
		}
		p.dispatcher.Close()
	})
	<-dispatched
	cancelRead()
	cancelWork()
	wg.Wait()
	flushCtx, cancel := context.WithTimeout(context.WithoutCancel(readCtx), 10*time.Second)
	defer cancel()
	if fenced == nil {
		if err := p.writer.Flush(flushCtx, true); errors.Is(err, checkpoint.ErrFenced) {
			fenced = err
		}
	}
	pos := p.tracker.Safe()
	p.log.Info("route stopped", "checkpointTime", pos.Time, "inFlight", p.tracker.Pending())
	return fenced
}

// Event is the reader's sink: skip or track, then dispatch. Skipped
// events are recognised on the raw BSON, before any copy or encoding.
func (p *Route) Event(ctx context.Context, raw bson.Raw) error {
	if p.metrics != nil {
		p.metrics.EventsRead.WithLabelValues(p.cfg.Name).Inc()
	}
	op, _ := raw.Lookup("operationType").StringValueOK()
	coll, _ := raw.Lookup("ns", "coll").StringValueOK()
	switch {
	case !slices.Contains(p.cfg.OperationTypes, op):
		p.skip("operation")
	case derived.OnlyDerived(coll, raw):
		p.skip("derived_only")
	default:
		ev, err := change.Parse(raw, p.cfg.OrderingKey, time.Now()) // keeps no part of raw
		if err != nil {
			p.skip("malformed")
			p.log.Error("skipping a change event that cannot be read", "error", err)
			return nil
		}
		p.tracker.Add(ev)
		return p.dispatcher.Submit(ctx, ev)
	}
	if pos := checkpoint.RawPosition(raw); pos.Token != nil {
		p.tracker.Mark(pos)
	}
	return nil
}

// Position is the reader's sink for positions with nothing to deliver.
func (p *Route) Position(_ context.Context, pos checkpoint.Position) {
	p.tracker.Mark(pos)
}

func (p *Route) skip(reason string) {
	if p.metrics != nil {
		p.metrics.EventsSkipped.WithLabelValues(p.cfg.Name, reason).Inc()
	}
}
