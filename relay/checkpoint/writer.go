package checkpoint

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/changerelay/changerelay/relay/metrics"
)

// Saver is the part of Store a Writer needs.
type Saver interface {
	Save(ctx context.Context, rec Record) error
}

// timeGranularity is how far the position's time alone (an idle stream at
// its head) must move before it is stored again.
const timeGranularity = 5 * time.Second

// Writer stores a route's safe position every Interval (when it moved, or
// at least every Heartbeat so that the status stays fresh).
type Writer struct {
	Store     Saver
	Route     string
	Epoch     int64
	Owner     string
	Tracker   *Tracker
	Interval  time.Duration
	Heartbeat time.Duration
	Metrics   *metrics.Metrics
	Log       *slog.Logger

	mu      sync.Mutex
	saved   Record
	savedAt time.Time
}

// Run writes until ctx ends; it returns ErrFenced (wrapped) when a newer
// relay owns the checkpoint, nil when ctx ends.
func (w *Writer) Run(ctx context.Context) error {
	if w.Heartbeat <= 0 {
		w.Heartbeat = 10 * w.Interval
	}
	t := time.NewTicker(w.Interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			if err := w.Flush(ctx, false); errors.Is(err, ErrFenced) {
				return err
			}
		}
	}
}

// Flush stores the safe position now if it moved (or always, with force).
func (w *Writer) Flush(ctx context.Context, force bool) error {
	pos := w.Tracker.Safe()
	if pos.IsZero() {
		return nil
	}
	rec := Record{
		Route: w.Route, Token: pos.Token, ClusterTime: pos.ClusterTime, Time: pos.Time,
		Epoch: w.Epoch, Owner: w.Owner, UpdatedAt: time.Now().UTC(), InFlight: w.Tracker.Pending(),
	}
	w.mu.Lock()
	same := bytes.Equal(rec.Token, w.saved.Token) && rec.ClusterTime == w.saved.ClusterTime && rec.InFlight == w.saved.InFlight &&
		rec.Time.Sub(w.saved.Time) < timeGranularity
	fresh := time.Since(w.savedAt) < w.Heartbeat
	w.mu.Unlock()
	if same && fresh && !force {
		return nil
	}
	err := w.Store.Save(ctx, rec)
	outcome := "ok"
	switch {
	case errors.Is(err, ErrFenced):
		outcome = "fenced"
	case err != nil:
		outcome = "error"
	}
	if w.Metrics != nil {
		w.Metrics.CheckpointWrites.WithLabelValues(w.Route, outcome).Inc()
	}
	if err != nil {
		if w.Log != nil && ctx.Err() == nil {
			w.Log.Warn("checkpoint write failed", "route", w.Route, "error", err)
		}
		return err
	}
	w.mu.Lock()
	w.saved, w.savedAt = rec, time.Now()
	w.mu.Unlock()
	return nil
}

// CheckpointTime is the time of the route's latest safe position (stored
// within one Interval): the cluster time of the last done event, or, for
// an idle stream at its head, when the head was last seen.
func (w *Writer) CheckpointTime() time.Time {
	return w.Tracker.Safe().Time
}

// CheckpointWritten is when the position was last stored.
func (w *Writer) CheckpointWritten() time.Time {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.savedAt
}

// InFlight is the route's number of events not yet done.
func (w *Writer) InFlight() int { return w.Tracker.Pending() }

// Saved returns the last stored record.
func (w *Writer) Saved() Record {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.saved
}

var _ metrics.RouteState = (*Writer)(nil)
