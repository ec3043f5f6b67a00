package stream

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/bson/primitive"
	"go.mongodb.org/mongo-driver/mongo"
	"go.mongodb.org/mongo-driver/mongo/options"

	"github.com/changerelay/changerelay/relay/change"
	"github.com/changerelay/changerelay/relay/checkpoint"
	"github.com/changerelay/changerelay/relay/metrics"
)

// Sink receives what the reader reads, in stream order.
type Sink interface {
	// Event takes a whole change event; it may block (backpressure). raw
	// is the driver's buffer, valid only during the call: a sink copies
	// what it keeps, so events it skips cost no allocation.
	Event(ctx context.Context, raw bson.Raw) error
	// Position takes a resume position with nothing to deliver: a
	// postBatchResumeToken, an invalidate, a repair's cluster time.
	Position(ctx context.Context, p checkpoint.Position)
}

// HistoryLost converges the data when the stream cannot resume and returns
// the cluster time to resume from.
type HistoryLost func(ctx context.Context) (primitive.Timestamp, error)

// Config configures a Reader.
type Config struct {
	Route                    string
	Collection               string
	OperationTypes           []string
	FullDocument             string
	FullDocumentBeforeChange string
	// MaxAwaitTime is getMore's maxTimeMS: how often an idle stream
	// returns an empty batch with a fresh postBatchResumeToken.
	MaxAwaitTime     time.Duration
	ReopenBackoff    time.Duration
	ReopenMaxBackoff time.Duration
	// SplitLargeEvents asks for $changeStreamSplitLargeEvent when the
	// server supports it.
	SplitLargeEvents bool
	// BatchSize bounds the events per getMore (default 1000), and so the
	// driver's buffer: a backlog is read in pieces as the queues drain.
	BatchSize int
}

// Reader reads one route's change stream.
type Reader struct {
	cfg     Config
	db      *mongo.Database
	sink    Sink
	onLost  HistoryLost
	metrics *metrics.Metrics
	log     *slog.Logger
	split   bool
}

// New creates a reader of cfg.Collection in db. m and log may be nil.
func New(cfg Config, db *mongo.Database, sink Sink, onLost HistoryLost, m *metrics.Metrics, log *slog.Logger) *Reader {
	if cfg.BatchSize <= 0 {
		cfg.BatchSize = 1000
	}
	if cfg.MaxAwaitTime <= 0 {
		cfg.MaxAwaitTime = time.Second
	}
	if cfg.ReopenBackoff <= 0 {
		cfg.ReopenBackoff = 500 * time.Millisecond
	}
	if cfg.ReopenMaxBackoff < cfg.ReopenBackoff {
		cfg.ReopenMaxBackoff = 30 * time.Second
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Reader{cfg: cfg, db: db, sink: sink, onLost: onLost, metrics: m, log: log.With("route", cfg.Route)}
}

// errReopen asks Run to reopen at once (invalidate, cursor closed).
type errReopen struct{ reason string }

func (e errReopen) Error() string { return "change stream ended: " + e.reason }

// Run reads from start until ctx ends (then it returns nil) or the sink
// fails.
func (r *Reader) Run(ctx context.Context, start checkpoint.Position) error {
	if r.cfg.SplitLargeEvents {
		r.split = SupportsSplitLargeEvent(ctx, r.db.Client())
	}
	pos := start
	failures := 0
	for ctx.Err() == nil {
		err := r.readFrom(ctx, &pos)
		if ctx.Err() != nil {
			return nil
		}
		var reopen errReopen
		switch {
		case errors.As(err, &reopen):
			r.count(reopen.reason)
			failures = 0
			continue
		case IsHistoryLost(err):
			r.count("history_lost")
			if r.metrics != nil {
				r.metrics.HistoryLost.WithLabelValues(r.cfg.Route).Inc()
			}
			r.log.Error("resume point is no longer in the oplog; running repair", "error", err)
			ts, lerr := r.recover(ctx)
			if lerr != nil {
				return nil // ctx ended
			}
			pos = checkpoint.TimePosition(ts)
			r.sink.Position(ctx, pos)
			failures = 0
			continue
		case r.split && isUnknownStage(err):
			r.log.Warn("server refused $changeStreamSplitLargeEvent; reading without it", "error", err)
			r.split = false
			continue
		}
		var sinkErr sinkError
		if errors.As(err, &sinkErr) {
			return sinkErr.err
		}
		failures++
		wait := backoff(r.cfg.ReopenBackoff, r.cfg.ReopenMaxBackoff, failures)
		r.count("error")
		r.log.Warn("change stream failed; reopening", "error", err, "in", wait)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(wait):
		}
	}
	return nil
}

func (r *Reader) recover(ctx context.Context) (primitive.Timestamp, error) {
	for n := 1; ; n++ {
		ts, err := r.onLost(ctx)
		if err == nil {
			return ts, nil
		}
		if ctx.Err() != nil {
			return ts, ctx.Err()
		}
		wait := backoff(time.Second, time.Minute, n)
		r.log.Error("repair failed; retrying", "error", err, "in", wait)
		select {
		case <-ctx.Done():
			return ts, ctx.Err()
		case <-time.After(wait):
		}
	}
}

func (r *Reader) count(reason string) {
	if r.metrics != nil {
		r.metrics.StreamReopens.WithLabelValues(r.cfg.Route, reason).Inc()
	}
}

type sinkError struct{ err error }

func (e sinkError) Error() string { return e.err.Error() }

// readFrom opens the stream at *pos and reads until an error, moving *pos
// past every whole event and token it hands to the sink.
func (r *Reader) readFrom(ctx context.Context, pos *checkpoint.Position) error {
	cs, err := r.db.Collection(r.cfg.Collection).Watch(ctx, r.pipeline(), r.options(*pos))
	if err != nil {
		return fmt.Errorf("open change stream on %s: %w", r.cfg.Collection, err)
	}
	defer func() {
		closeCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = cs.Close(closeCtx)
	}()
	r.log.Debug("change stream open", "startAfter", pos.Token, "startAt", pos.ClusterTime)
	var asm change.Assembler
	for {
		if cs.TryNext(ctx) {
			whole, err := asm.Add(cs.Current)
			if err != nil {
				r.log.Warn("split event fragments out of order", "error", err)
			}
			if whole != nil {
				if op, _ := whole.Lookup("operationType").StringValueOK(); op == "invalidate" {
					*pos = checkpoint.RawPosition(whole)
					r.sink.Position(ctx, *pos)
					r.log.Info("change stream invalidated; reopening after it")
					return errReopen{reason: "invalidate"}
				}
				if err := r.sink.Event(ctx, whole); err != nil {
					return sinkError{err}
				}
				*pos = checkpoint.RawPosition(whole)
			}
			if cs.RemainingBatchLength() == 0 && !asm.Pending() {
				r.batchEnd(ctx, cs, pos, false)
			}
			continue
		}
		if err := cs.Err(); err != nil {
			return err
		}
		if cs.ID() == 0 {
			return errReopen{reason: "cursor_closed"}
		}
		if !asm.Pending() {
			r.batchEnd(ctx, cs, pos, true)
		}
	}
}

// batchEnd hands over the postBatchResumeToken when it moved. After an
// empty batch (caughtUp) the stream is at its head: the position's time is
// now, even if the token did not move (a server without writes, or without
// a periodic no-op writer, keeps the same token), so lag reads ~0 when idle.
func (r *Reader) batchEnd(ctx context.Context, cs *mongo.ChangeStream, pos *checkpoint.Position, caughtUp bool) {
	token := cs.ResumeToken()
	if token == nil || (!caughtUp && bytes.Equal(token, pos.Token)) {
		return
	}
	now := time.Now()
	p := checkpoint.TokenPosition(append(bson.Raw(nil), token...), now)
	if caughtUp {
		p.Time = now
	}
	*pos = p
	r.sink.Position(ctx, p)
}

func (r *Reader) pipeline() mongo.Pipeline {
	ops := append(bson.A{"invalidate"}, toA(r.cfg.OperationTypes)...)
	p := mongo.Pipeline{{{Key: "$match", Value: bson.D{{Key: "operationType", Value: bson.D{{Key: "$in", Value: ops}}}}}}}
	if r.split {
		p = append(p, bson.D{{Key: "$changeStreamSplitLargeEvent", Value: bson.D{}}})
	}
	return p
}

func (r *Reader) options(pos checkpoint.Position) *options.ChangeStreamOptions {
	o := options.ChangeStream().SetMaxAwaitTime(r.cfg.MaxAwaitTime).SetBatchSize(int32(r.cfg.BatchSize))
	if r.cfg.FullDocument != "" {
		o.SetFullDocument(options.FullDocument(r.cfg.FullDocument))
	}
	if r.cfg.FullDocumentBeforeChange != "" {
		o.SetFullDocumentBeforeChange(options.FullDocument(r.cfg.FullDocumentBeforeChange))
	}
	switch {
	case pos.Token != nil:
		o.SetStartAfter(pos.Token)
	case !pos.ClusterTime.IsZero():
		ts := pos.ClusterTime
		o.SetStartAtOperationTime(&ts)
	}
	return o
}

func toA(ss []string) bson.A {
	out := make(bson.A, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

func backoff(initial, maxWait time.Duration, n int) time.Duration {
	d := initial
	for i := 1; i < n && d < maxWait; i++ {
		d *= 2
	}
	return min(d, maxWait)
}
