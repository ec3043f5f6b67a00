package dispatch

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/changerelay/changerelay/relay/change"
	"github.com/changerelay/changerelay/relay/deliver"
	"github.com/changerelay/changerelay/relay/metrics"
)

// Config configures a Dispatcher. Zero values take the route defaults of
// package config.
type Config struct {
	Route    string
	Function string
	// BatchSize, MaxBytes and BatchWindow shape batches: at most
	// BatchSize events and (except a single event) MaxBytes of payload,
	// waiting up to BatchWindow for a batch to fill.
	BatchSize   int
	MaxBytes    int
	BatchWindow time.Duration
	// Concurrency bounds batches in flight.
	Concurrency int
	// KeyEventsPerBatch bounds the events of one key in a batch. With 1
	// (the default) a key's next event is sent only after the previous
	// one succeeded, so a function never applies events of a key out of
	// order. With more, a key's events go in order in one invocation and,
	// after a failure, the failed event and all later ones of its key are
	// sent again (Lambda stream semantics: a function that applied a later
	// event before the failed one sees it again afterwards).
	KeyEventsPerBatch int
	// MaxAttempts and MaxEventAge decide when a failing event is
	// dead-lettered.
	MaxAttempts int
	MaxEventAge time.Duration
	// MaxBuffered bounds events submitted and not yet done.
	MaxBuffered int
	Backoff     Backoff
}

func (c *Config) setDefaults() {
	if c.BatchSize <= 0 {
		c.BatchSize = 100
	}
	if c.MaxBytes <= 0 {
		c.MaxBytes = 5 << 20
	}
	if c.Concurrency <= 0 {
		c.Concurrency = 4
	}
	if c.KeyEventsPerBatch <= 0 {
		c.KeyEventsPerBatch = 1
	}
	if c.MaxAttempts <= 0 {
		c.MaxAttempts = 10
	}
	if c.MaxEventAge <= 0 {
		c.MaxEventAge = 24 * time.Hour
	}
	if c.MaxBuffered < c.BatchSize {
		c.MaxBuffered = max(1000, 4*c.BatchSize*c.Concurrency)
	}
	if c.Backoff.Initial <= 0 {
		c.Backoff = Backoff{Initial: 500 * time.Millisecond, Max: 2 * time.Minute, Multiplier: 2, Jitter: 0.2}
	}
}

// ErrClosed is returned by Submit after Close.
var ErrClosed = errors.New("dispatcher closed")

// Dispatcher schedules one route's events; see the package documentation.
type Dispatcher struct {
	cfg      Config
	deliver  deliver.Deliverer
	dead     DeadLetterer
	onDone   func(*change.Event)
	metrics  *metrics.Metrics
	log      *slog.Logger
	submitCh chan *change.Event
	closeCh  chan struct{}
	closing  sync.Once
	results  chan settled
	pending  atomic.Int64

	// owned by Run's loop
	keys        map[string]*keyState
	ready       fifo
	delayed     delays
	readyEvents int
	readyBytes  int
	windowStart time.Time
	inflight    int
	closed      bool
}

// New creates a dispatcher delivering through d. onDone is called (from
// the dispatcher's goroutine) for every event handled or dead-lettered, in
// no particular order across keys. m and log may be nil; log should carry
// the route.
func New(cfg Config, d deliver.Deliverer, dead DeadLetterer, onDone func(*change.Event), m *metrics.Metrics, log *slog.Logger) *Dispatcher {
	cfg.setDefaults()
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if onDone == nil {
		onDone = func(*change.Event) {}
	}
	return &Dispatcher{
		cfg: cfg, deliver: d, dead: dead, onDone: onDone, metrics: m, log: log,
		submitCh: make(chan *change.Event),
		closeCh:  make(chan struct{}),
		results:  make(chan settled, cfg.Concurrency),
		keys:     map[string]*keyState{},
	}
}

// Submit hands an event over, blocking while MaxBuffered events are
// pending (backpressure: nothing is dropped).
func (d *Dispatcher) Submit(ctx context.Context, ev *change.Event) error {
	select {
	case d.submitCh <- ev:
		return nil
	case <-d.closeCh:
		return ErrClosed
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Close stops accepting events. Run then delivers what is ready and in
// flight and returns once only events waiting for a retry (or nothing)
// remain.
func (d *Dispatcher) Close() { d.closing.Do(func() { close(d.closeCh) }) }

// Pending is the number of events submitted and not yet done.
func (d *Dispatcher) Pending() int { return int(d.pending.Load()) }

// Run schedules until ctx is cancelled (in-flight invocations are
// cancelled, their outcomes still recorded) or until Close and drained.
func (d *Dispatcher) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	closeCh := d.closeCh
	for {
		now := time.Now()
		d.promote(now)
		for d.inflight < d.cfg.Concurrency && ctx.Err() == nil {
			b := d.formBatch(now)
			if b == nil {
				break
			}
			d.inflight++
			wg.Go(func() { d.results <- d.work(ctx, b) })
		}
		if d.closed && d.inflight == 0 && d.readyEvents == 0 {
			return nil
		}
		var submit chan *change.Event
		if !d.closed && d.Pending() < d.cfg.MaxBuffered {
			submit = d.submitCh
		}
		if wake, ok := d.nextWake(now); ok {
			timer.Reset(max(wake.Sub(now), time.Millisecond))
		} else {
			timer.Reset(time.Hour)
		}
		select {
		case ev := <-submit:
			d.add(ev, now)
		case <-closeCh:
			d.closed, closeCh = true, nil
		case r := <-d.results:
			d.settle(r, time.Now())
		case <-timer.C:
		case <-ctx.Done():
			for d.inflight > 0 {
				d.settle(<-d.results, time.Now())
			}
			wg.Wait()
			return nil
		}
	}
}

func (d *Dispatcher) add(ev *change.Event, now time.Time) {
	d.pending.Add(1)
	ks := d.keys[ev.Key]
	if ks == nil {
		ks = &keyState{}
		d.keys[ev.Key] = ks
	}
	ks.queue = append(ks.queue, ev)
	ks.bytes += ev.Size()
	if ks.inReady {
		d.countReady(1, ev.Size(), now)
		return
	}
	d.schedule(ev.Key, ks, now)
}

// schedule puts a key on the ready queue when it has events, is not in
// flight and is not waiting for a retry; it forgets idle keys.
func (d *Dispatcher) schedule(key string, ks *keyState, now time.Time) {
	switch {
	case ks.inFlight || ks.inReady:
	case len(ks.queue) == 0:
		delete(d.keys, key)
	case ks.notBefore.After(now):
	default:
		ks.notBefore = time.Time{}
		ks.inReady = true
		d.ready.push(key)
		d.countReady(len(ks.queue), ks.bytes, now)
	}
}

func (d *Dispatcher) countReady(events, bytes int, now time.Time) {
	if d.readyEvents == 0 && events > 0 {
		d.windowStart = now
	}
	d.readyEvents += events
	d.readyBytes += bytes
}

// promote makes keys whose retry delay has passed ready again.
func (d *Dispatcher) promote(now time.Time) {
	for {
		at, ok := d.delayed.next()
		if !ok || at.After(now) {
			return
		}
		key := d.delayed.take()
		if ks := d.keys[key]; ks != nil && !ks.notBefore.After(now) {
			d.schedule(key, ks, now)
		}
	}
}

func (d *Dispatcher) nextWake(now time.Time) (time.Time, bool) {
	wake, ok := d.delayed.next()
	if d.cfg.BatchWindow > 0 && d.readyEvents > 0 && d.inflight < d.cfg.Concurrency {
		w := d.windowStart.Add(d.cfg.BatchWindow)
		if !ok || w.Before(wake) {
			wake, ok = w, true
		}
	}
	return wake, ok
}

// formBatch takes events of ready keys, oldest key first, up to BatchSize
// events and MaxBytes; every key taken is in flight until its batch
// settles. Within BatchWindow it waits for a fuller batch.
func (d *Dispatcher) formBatch(now time.Time) *deliver.Batch {
	if d.readyEvents == 0 {
		return nil
	}
	full := d.readyEvents >= d.cfg.BatchSize || d.readyBytes >= d.cfg.MaxBytes
	if d.cfg.BatchWindow > 0 && !full && !d.closed && now.Before(d.windowStart.Add(d.cfg.BatchWindow)) {
		return nil
	}
	b := &deliver.Batch{Route: d.cfg.Route, Function: d.cfg.Function}
	size := 0
	for d.ready.len() > 0 && len(b.Events) < d.cfg.BatchSize {
		key := d.ready.peek()
		ks := d.keys[key]
		n, bytes := 0, 0
		for n < len(ks.queue) && n < d.cfg.KeyEventsPerBatch && len(b.Events) < d.cfg.BatchSize {
			s := ks.queue[n].Size()
			if len(b.Events) > 0 && size+s > d.cfg.MaxBytes {
				break
			}
			b.Events = append(b.Events, ks.queue[n])
			size += s
			bytes += s
			n++
		}
		if n == 0 {
			break
		}
		d.ready.pop()
		d.readyEvents -= len(ks.queue)
		d.readyBytes -= ks.bytes
		ks.inReady, ks.inFlight = false, true
		ks.queue = append(ks.queue[:0:0], ks.queue[n:]...)
		ks.bytes -= bytes
		if size >= d.cfg.MaxBytes {
			break
		}
	}
	if d.readyEvents > 0 {
		d.windowStart = now
	}
	return b
}

// settle applies a batch's outcome: done events leave, failed ones go back
// to the front of their key's queue, possibly after a delay.
func (d *Dispatcher) settle(r settled, now time.Time) {
	d.inflight--
	for _, ev := range r.done {
		d.pending.Add(-1)
		d.onDone(ev)
	}
	for key, rq := range r.requeue {
		ks := d.keys[key]
		ks.queue = append(rq.events, ks.queue...)
		for _, ev := range rq.events {
			ks.bytes += ev.Size()
		}
		if rq.notBefore.After(now) {
			ks.notBefore = rq.notBefore
			d.delayed.add(rq.notBefore, key)
		}
	}
	for _, key := range r.keys {
		ks := d.keys[key]
		ks.inFlight = false
		d.schedule(key, ks, now)
	}
}
