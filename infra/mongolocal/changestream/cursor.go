package changestream

import (
	"context"
	"fmt"
	"sync"
	"time"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/bson/primitive"

	"github.com/changerelay/changerelay/infra/mongolocal/mongoerr"
)

// maxBatchEvents bounds the number of events in one batch when the caller
// sets no batch size (mongod's getMore is bounded by 16 MB only).
const maxBatchEvents = 100_000

// item is one document waiting to be returned.
type item struct {
	raw   bson.Raw // nil: an invalidate a stage filtered out (it still ends the stream)
	tok   token
	final bool // an invalidate: the stream ends with it
}

// Cursor is an open change stream. Next may be called by one goroutine at a
// time; Close and PostBatchResumeToken by any.
type Cursor struct {
	log  *Log
	spec *spec

	mu        sync.Mutex // serializes Next
	pos       uint64     // position of the next record to read
	skipEvent bool       // the event of the record at pos was delivered before a resume
	skipFrags int        // fragments of the record at pos delivered before a resume
	minTS     primitive.Timestamp
	scanTS    primitive.Timestamp // cluster time of the last record read
	dirty     bool                // records were read after the last returned item
	pending   []item
	exhausted bool
	err       error // the stream failed; every later Next reports it
	deferred  error // an error to report after the batch that preceded it

	tokMu sync.Mutex
	pbrt  token

	closeOnce sync.Once
	closed    chan struct{}
}

// Watch opens a change stream. Errors are *mongoerr.Error with mongod's
// codes and messages.
func (l *Log) Watch(ctx context.Context, req Request) (*Cursor, error) {
	s, err := parseRequest(req)
	if err != nil {
		return nil, err
	}
	v := l.snapshot()
	if v.closed {
		return nil, errShutdown()
	}
	c := &Cursor{log: l, spec: s, closed: make(chan struct{})}
	if err := c.start(&v); err != nil {
		return nil, err
	}
	return c, nil
}

func errShutdown() error {
	return mongoerr.New(mongoerr.InterruptedAtShutdown, "interrupted at shutdown")
}

// start positions the cursor for the spec's resume options.
func (c *Cursor) start(v *view) error {
	s := c.spec
	switch {
	case s.resume != nil:
		return c.resumeFrom(v, *s.resume)
	case s.startAt != nil:
		at := *s.startAt
		if v.lost && !at.After(v.lostTS) {
			return errHistoryLost()
		}
		c.pos = v.searchTime(at)
		c.minTS = at
		c.pbrt = highWater(at, c.pos)
	default:
		c.pos = v.next
		ts := v.lastTS
		if ts.IsZero() {
			ts = primitive.Timestamp{T: uint32(c.log.now().Unix())}
		}
		c.pbrt = highWater(ts, c.pos)
	}
	return nil
}

// resumeFrom positions the cursor just after token t.
func (c *Cursor) resumeFrom(v *view, t token) error {
	c.pbrt = t
	c.pos = t.seq
	switch {
	case t.kind == kindInvalidate: // startAfter; resumeAfter was refused
		c.pos = t.seq + 1
	case t.kind == kindEvent && t.fragment > 0:
		c.skipFrags = int(t.fragment)
	case t.kind == kindEvent:
		c.skipEvent = true
	}

	if c.pos > v.next || (c.pos == v.next && c.skipEvent) ||
		(c.pos == v.next && c.skipFrags > 0) {
		// A position this log has not reached: a token from another
		// history, unless it is not older than anything here.
		if t.ts.Before(v.lastTS) {
			return errHistoryLost()
		}
		c.pos, c.skipEvent, c.skipFrags = v.next, false, 0
		c.minTS = t.ts
		return nil
	}
	if t.kind == kindHighWater {
		// The stream that issued it had skipped everything before t.ts.
		c.minTS = t.ts
	} else if r := v.at(t.seq); r != nil && !r.ts.Equal(t.ts) {
		return errHistoryLost() // a token from another history
	}
	need := c.pos // the first record that must still be retained
	if c.skipEvent {
		need++ // the record itself matters only for an invalidate after it
	}
	if need < v.first {
		return errHistoryLost()
	}
	if c.pos < v.first {
		c.pos, c.skipEvent = v.first, false
	}
	return nil
}

// PostBatchResumeToken returns the stream's current resume point: what the
// last batch reported, or the starting point before any.
func (c *Cursor) PostBatchResumeToken() bson.Raw {
	c.tokMu.Lock()
	defer c.tokMu.Unlock()
	return c.pbrt.raw()
}

func (c *Cursor) setPBRT(t token) {
	c.tokMu.Lock()
	c.pbrt = t
	c.tokMu.Unlock()
}

func (c *Cursor) currentPBRT() token {
	c.tokMu.Lock()
	defer c.tokMu.Unlock()
	return c.pbrt
}

// Close ends the stream; a Next waiting for events returns at once.
func (c *Cursor) Close() {
	c.closeOnce.Do(func() { close(c.closed) })
}

// Next returns up to batchSize events (batchSize <= 0: as many as fit in
// 16 MB). When none are ready it waits up to maxWait for new ones, then
// returns an empty batch. Every batch carries a postBatchResumeToken. An
// error other than a cancelled ctx ends the stream.
func (c *Cursor) Next(ctx context.Context, batchSize int, maxWait time.Duration) (Batch, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.deferred != nil {
		c.err, c.deferred = c.deferred, nil
	}
	if c.err != nil {
		return Batch{}, c.err
	}
	if c.exhausted {
		return Batch{}, errCursorGone()
	}
	limit := batchSize
	if limit <= 0 || limit > maxBatchEvents {
		limit = maxBatchEvents
	}
	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for {
		select {
		case <-c.closed:
			return Batch{}, errCursorGone()
		default:
		}
		v := c.log.snapshot()
		if v.closed {
			return Batch{}, errShutdown()
		}
		events, err := c.fill(ctx, &v, limit)
		if err != nil {
			if ctx.Err() == nil {
				c.err = err
			}
			return Batch{}, err
		}
		batch := Batch{Events: events, PostBatchResumeToken: c.currentPBRT().raw(), Exhausted: c.exhausted}
		if len(events) > 0 || c.exhausted || maxWait <= 0 {
			return batch, nil
		}
		if timer == nil {
			timer = time.NewTimer(maxWait)
		}
		select {
		case <-v.notify:
		case <-timer.C:
			return batch, nil
		case <-ctx.Done():
			return Batch{}, fmt.Errorf("changestream: waiting for events: %w", ctx.Err())
		case <-c.closed:
			return Batch{}, errCursorGone()
		case <-c.log.done:
			return Batch{}, errShutdown()
		}
	}
}

// fill moves ready items into a batch, reading records as needed, and
// updates the postBatchResumeToken.
func (c *Cursor) fill(ctx context.Context, v *view, limit int) ([]bson.Raw, error) {
	if len(c.pending) == 0 && c.pos < v.first {
		if c.skipEvent && c.pos+1 == v.first {
			c.pos, c.skipEvent = v.first, false
		} else {
			return nil, errHistoryLost()
		}
	}
	var out []bson.Raw
	size := 0
	for len(out) < limit {
		if len(c.pending) == 0 {
			if c.pos >= v.next {
				break
			}
			if err := ctx.Err(); err != nil {
				return nil, fmt.Errorf("changestream: %w", err)
			}
			r := v.at(c.pos)
			if err := c.produce(ctx, r); err != nil {
				if len(out) > 0 && ctx.Err() == nil {
					// Deliver what precedes the failing event first, as
					// mongod does; the next read reports the error.
					c.deferred = err
					return out, nil
				}
				return nil, err
			}
			c.pos++
			c.skipEvent, c.skipFrags = false, 0
			c.scanTS = r.ts
			c.dirty = true
			continue
		}
		it := c.pending[0]
		if it.raw != nil {
			n := len(it.raw) + batchElementOverhead
			if len(out) > 0 && size+n > maxBatchSize-batchReplyReserve {
				break
			}
			out = append(out, it.raw)
			size += n
		}
		c.pending[0] = item{}
		c.pending = c.pending[1:]
		c.setPBRT(it.tok)
		c.dirty = false
		if it.final {
			c.exhausted = true
			c.pending = nil
			return out, nil
		}
	}
	if len(c.pending) == 0 && c.dirty {
		ts := c.scanTS
		if ts.Before(c.minTS) {
			ts = c.minTS
		}
		c.setPBRT(highWater(ts, c.pos))
		c.dirty = false
	}
	return out, nil
}

// produce queues the items record r yields for this stream.
func (c *Cursor) produce(ctx context.Context, r *record) error {
	if r.ts.Before(c.minTS) {
		return nil
	}
	event, invalidate := c.spec.selects(r)
	if event && !c.skipEvent {
		tok := token{ts: r.ts, seq: r.seq, kind: kindEvent}
		raw, err := c.buildEvent(ctx, r)
		if err != nil {
			return err
		}
		if raw, err = c.transform(raw, tok); err != nil {
			return err
		}
		if raw != nil {
			frags, toks, err := c.fragments(raw, tok)
			if err != nil {
				return err
			}
			if c.skipFrags > 0 {
				if toks[0].fragment == 0 {
					return mongoerr.New(mongoerr.ChangeStreamFatalError,
						"Attempted to resume from a split event fragment, but the event in the resumed stream "+
							"was not large enough to be split")
				}
				if c.skipFrags > len(frags) {
					return mongoerr.New(mongoerr.ChangeStreamFatalError,
						"Attempted to resume from a split event, but the resumed stream produced a different "+
							"split. Ensure that the pipeline used to resume is the same as the original")
				}
				frags, toks = frags[c.skipFrags:], toks[c.skipFrags:]
			}
			for i := range frags {
				c.pending = append(c.pending, item{raw: frags[i], tok: toks[i]})
			}
		}
	}
	if invalidate {
		raw, tok := buildInvalidate(r)
		raw, err := c.transform(raw, tok)
		if err != nil {
			return err
		}
		c.pending = append(c.pending, item{raw: raw, tok: tok, final: true})
	}
	return nil
}
