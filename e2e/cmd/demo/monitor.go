package main

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"time"

	"go.mongodb.org/mongo-driver/mongo"

	"github.com/changerelay/changerelay/e2e/harness"
	"github.com/changerelay/changerelay/e2e/stack"
	"github.com/changerelay/changerelay/infra/conduit"
)

// monitor prints a live line every second: the relay's events, lag and
// in-flight count from its /metrics, and the drift conduit.Check measures.
type monitor struct {
	db     *mongo.Database
	relay  *stack.Relay
	out    *printer
	cancel context.CancelFunc
	done   chan struct{}

	mu    sync.Mutex
	drift int
	last  conduit.Report
	check time.Time
}

func startMonitor(ctx context.Context, db *mongo.Database, relay *stack.Relay, out *printer) *monitor {
	ctx, cancel := context.WithCancel(ctx)
	m := &monitor{db: db, relay: relay, out: out, cancel: cancel, done: make(chan struct{}), drift: -1}
	go m.loop(ctx)
	return m
}

func (m *monitor) stop() {
	m.cancel()
	<-m.done
}

func (m *monitor) loop(ctx context.Context) {
	defer close(m.done)
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	checks := make(chan struct{}, 1)
	checks <- struct{}{}
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		// Check runs in the background (it reads every document) so that
		// the live line keeps its beat.
		select {
		case <-checks:
			go func() {
				rep, err := conduit.Check(ctx, m.db)
				if err == nil {
					m.mu.Lock()
					m.drift, m.last, m.check = rep.Mismatched(), rep, time.Now()
					m.mu.Unlock()
				}
				checks <- struct{}{}
			}()
		default:
		}
		met, err := m.relay.Metrics(ctx)
		if err != nil {
			continue
		}
		m.mu.Lock()
		drift := m.drift
		m.mu.Unlock()
		m.out.Line("%s", liveLine(met, drift))
	}
}

func liveLine(met harness.Metrics, drift int) string {
	d := "drift ?"
	if drift >= 0 {
		d = fmt.Sprintf("drift %d", drift)
	}
	return fmt.Sprintf("relay: read %6.0f  delivered %6.0f  skipped %6.0f  invocations %5.0f  in flight %4.0f  lag %5.2fs  | %s",
		met.Sum("relay_events_read_total"), met.Sum("relay_events_delivered_total"),
		met.Sum("relay_events_skipped_total"), met.Sum("relay_invocations_total"),
		met.Sum("relay_in_flight_events"), met.Max("relay_lag_seconds"), d)
}

// waitConverged polls until conduit.Check passes and the relay has nothing
// in flight, and returns when that was first seen.
func (m *monitor) waitConverged(ctx context.Context, timeout time.Duration) (time.Time, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	var last conduit.Report
	for {
		rep, err := conduit.Check(ctx, m.db)
		if err == nil {
			last = rep
			if rep.OK() {
				met, merr := m.relay.Metrics(ctx)
				if merr == nil && met.Sum("relay_in_flight_events") == 0 {
					now := time.Now()
					m.out.Line("converged: %s", rep.Summary())
					return now, nil
				}
			}
		}
		select {
		case <-ctx.Done():
			return time.Time{}, fmt.Errorf("%w: not converged within %s:\n%s", errDrift, timeout, last.String())
		case <-tick.C:
		}
	}
}

func sortedKinds(kinds map[conduit.Kind]int) []conduit.Kind {
	out := make([]conduit.Kind, 0, len(kinds))
	for k := range kinds {
		out = append(out, k)
	}
	sort.Slice(out, func(i, j int) bool {
		return kinds[out[i]] > kinds[out[j]] || kinds[out[i]] == kinds[out[j]] && out[i] < out[j]
	})
	return out
}
