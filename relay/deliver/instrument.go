package deliver

import (
	"context"
	"time"

	"github.com/changerelay/changerelay/relay/metrics"
)

// Instrument records each invocation's latency, batch size and outcome.
// It wraps the innermost Deliverer, where one Deliver is one invocation.
type Instrument struct {
	Next    Deliverer
	Metrics *metrics.Metrics
}

var _ Deliverer = (*Instrument)(nil)

// Deliver delivers b and records the invocation.
func (m *Instrument) Deliver(ctx context.Context, b Batch) Result {
	start := time.Now()
	res := m.Next.Deliver(ctx, b)
	took := time.Since(start)
	m.Metrics.InvocationSeconds.WithLabelValues(b.Route).Observe(took.Seconds())
	m.Metrics.BatchSize.WithLabelValues(b.Route).Observe(float64(len(b.Events)))
	outcome := "ok"
	switch {
	case res.OK():
	case res.Failed() < len(res):
		outcome = "partial"
	default:
		outcome = string(res[0].Kind)
	}
	m.Metrics.Invocations.WithLabelValues(b.Route, outcome).Inc()
	if outcome == "ok" || outcome == "partial" {
		now := time.Now()
		for i, ev := range b.Events {
			if res[i] == nil {
				m.Metrics.DeliverySeconds.WithLabelValues(b.Route).Observe(now.Sub(ev.Born()).Seconds())
			}
		}
	}
	return res
}

// Chain builds the standard stack for a route: Bisect (optional) around
// Split around Instrument around the core.
func Chain(core Deliverer, m *metrics.Metrics, database string, maxBytes int, bisect bool) Deliverer {
	var d Deliverer = core
	if m != nil {
		d = &Instrument{Next: d, Metrics: m}
	}
	if bisect {
		d = &Bisect{Next: d}
	}
	return &Split{Next: d, MaxBytes: maxBytes, Database: database}
}
