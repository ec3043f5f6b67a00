// Package metrics holds the relay's Prometheus metrics, on a registry of
// its own (no global state), and the per-route gauges read at scrape time.
package metrics

import (
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Metrics is every metric the relay exports.
type Metrics struct {
	Registry *prometheus.Registry

	EventsRead         *prometheus.CounterVec   // route
	EventsDelivered    *prometheus.CounterVec   // route
	EventsSkipped      *prometheus.CounterVec   // route, reason
	EventsRetried      *prometheus.CounterVec   // route, kind
	EventsDeadLettered *prometheus.CounterVec   // route, kind
	Invocations        *prometheus.CounterVec   // route, outcome
	InvocationSeconds  *prometheus.HistogramVec // route
	BatchSize          *prometheus.HistogramVec // route
	DeliverySeconds    *prometheus.HistogramVec // route: write (wallTime) to successful invocation
	StreamReopens      *prometheus.CounterVec   // route, reason
	HistoryLost        *prometheus.CounterVec   // route
	Repairs            *prometheus.CounterVec   // outcome
	CheckpointWrites   *prometheus.CounterVec   // route, outcome
	LeaseHeld          prometheus.Gauge

	mu     sync.Mutex
	routes map[string]RouteState
}

// RouteState reports a route's live figures at scrape time.
type RouteState interface {
	// CheckpointTime is the cluster time of the latest checkpoint (for an
	// idle stream at its head: when the head was last seen).
	CheckpointTime() time.Time
	// CheckpointWritten is when a checkpoint was last stored.
	CheckpointWritten() time.Time
	// InFlight is the number of events read but not done.
	InFlight() int
}

// New creates the metrics on a fresh registry, with Go and process collectors.
func New() *Metrics {
	m := &Metrics{Registry: prometheus.NewRegistry(), routes: map[string]RouteState{}}
	f := factory{m.Registry}
	m.EventsRead = f.counter("relay_events_read_total", "Change events read from the streams.", "route")
	m.EventsDelivered = f.counter("relay_events_delivered_total", "Events handled by their function.", "route")
	m.EventsSkipped = f.counter("relay_events_skipped_total", "Events not invoked (derived_only: they touch only derived fields; operation: not routed).", "route", "reason")
	m.EventsRetried = f.counter("relay_events_retried_total", "Events scheduled for another attempt.", "route", "kind")
	m.EventsDeadLettered = f.counter("relay_events_dead_lettered_total", "Events written to the dead-letter collection.", "route", "kind")
	m.Invocations = f.counter("relay_invocations_total", "Function invocations by outcome.", "route", "outcome")
	m.InvocationSeconds = f.histogram("relay_invocation_duration_seconds", "Invocation latency.", prometheus.ExponentialBuckets(0.001, 2, 16), "route")
	m.BatchSize = f.histogram("relay_batch_size", "Events per invocation.", []float64{1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 10000}, "route")
	m.DeliverySeconds = f.histogram("relay_delivery_seconds", "From the write (event wallTime) to its successful invocation.", prometheus.ExponentialBuckets(0.001, 2, 20), "route")
	m.StreamReopens = f.counter("relay_stream_reopens_total", "Change streams reopened after an error or invalidate.", "route", "reason")
	m.HistoryLost = f.counter("relay_history_lost_total", "Resume points found missing from the oplog (ChangeStreamHistoryLost).", "route")
	m.Repairs = f.counter("relay_repairs_total", "Repair function runs.", "outcome")
	m.CheckpointWrites = f.counter("relay_checkpoint_writes_total", "Checkpoint writes by outcome.", "route", "outcome")
	m.LeaseHeld = prometheus.NewGauge(prometheus.GaugeOpts{Name: "relay_lease_held", Help: "1 while this relay holds the lease (is active)."})
	m.Registry.MustRegister(m.LeaseHeld, routeCollector{m},
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// SetRoute registers (or with nil, removes) a route's live state.
func (m *Metrics) SetRoute(name string, s RouteState) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if s == nil {
		delete(m.routes, name)
		return
	}
	m.routes[name] = s
}

type factory struct{ r *prometheus.Registry }

func (f factory) counter(name, help string, labels ...string) *prometheus.CounterVec {
	c := prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, labels)
	f.r.MustRegister(c)
	return c
}

func (f factory) histogram(name, help string, buckets []float64, labels ...string) *prometheus.HistogramVec {
	h := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: name, Help: help, Buckets: buckets}, labels)
	f.r.MustRegister(h)
	return h
}

var (
	lagDesc      = prometheus.NewDesc("relay_lag_seconds", "Now minus the cluster time of the route's latest checkpoint (stored within checkpoint.interval); ~0 on an idle stream at its head.", []string{"route"}, nil)
	ageDesc      = prometheus.NewDesc("relay_checkpoint_age_seconds", "Time since the route's checkpoint was last stored.", []string{"route"}, nil)
	inFlightDesc = prometheus.NewDesc("relay_in_flight_events", "Events read but not yet done.", []string{"route"}, nil)
)

type routeCollector struct{ m *Metrics }

func (c routeCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- lagDesc
	ch <- ageDesc
	ch <- inFlightDesc
}

func (c routeCollector) Collect(ch chan<- prometheus.Metric) {
	c.m.mu.Lock()
	defer c.m.mu.Unlock()
	now := time.Now()
	for name, s := range c.m.routes {
		if t := s.CheckpointTime(); !t.IsZero() {
			ch <- prometheus.MustNewConstMetric(lagDesc, prometheus.GaugeValue, max(0, now.Sub(t).Seconds()), name)
		}
		if t := s.CheckpointWritten(); !t.IsZero() {
			ch <- prometheus.MustNewConstMetric(ageDesc, prometheus.GaugeValue, now.Sub(t).Seconds(), name)
		}
		ch <- prometheus.MustNewConstMetric(inFlightDesc, prometheus.GaugeValue, float64(s.InFlight()), name)
	}
}
