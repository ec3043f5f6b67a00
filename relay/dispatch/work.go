package dispatch

import (
	"context"
	"fmt"
	"time"

	"github.com/changerelay/changerelay/relay/change"
	"github.com/changerelay/changerelay/relay/deliver"
)

// settled is a delivered batch's outcome, computed by the worker.
type settled struct {
	keys      []string
	done      []*change.Event // delivered or dead-lettered
	delivered int
	requeue   map[string]requeue
}

type requeue struct {
	events    []*change.Event
	notBefore time.Time
}

// work delivers a batch and decides, per key, what happens next: events
// before the key's first failure are done; the failed event is retried
// after a backoff or dead-lettered; the key's later events wait behind it.
func (d *Dispatcher) work(ctx context.Context, b *deliver.Batch) settled {
	res := d.deliver.Deliver(ctx, *b)
	out := settled{requeue: map[string]requeue{}}
	byKey := map[string][]int{}
	for i, ev := range b.Events {
		if _, ok := byKey[ev.Key]; !ok {
			out.keys = append(out.keys, ev.Key)
		}
		byKey[ev.Key] = append(byKey[ev.Key], i)
	}
	for _, key := range out.keys {
		idx := byKey[key]
		first := -1
		for j, i := range idx {
			if i >= len(res) || res[i] != nil {
				first = j
				break
			}
			out.done = append(out.done, b.Events[i])
			out.delivered++
		}
		if first < 0 {
			continue
		}
		var rest []*change.Event
		for _, i := range idx[first:] {
			rest = append(rest, b.Events[i])
		}
		f := &deliver.Failure{Kind: deliver.KindNotAttempted}
		if i := idx[first]; i < len(res) {
			f = res[i]
		}
		d.failed(ctx, &out, key, rest, f)
	}
	d.count(out)
	return out
}

// failed handles a key's first failed event (rest[0]) and the events of
// the key behind it.
func (d *Dispatcher) failed(ctx context.Context, out *settled, key string, rest []*change.Event, f *deliver.Failure) {
	ev := rest[0]
	now := time.Now()
	if f.Kind == deliver.KindNotAttempted || ctx.Err() != nil {
		out.requeue[key] = requeue{events: rest}
		return
	}
	ev.Record(change.Attempt{At: now, Error: f.Error(), Kind: string(f.Kind)}, f.Counts())
	reason := ""
	switch {
	case f.Kind == deliver.KindTooLarge:
		reason = fmt.Sprintf("event of %d bytes exceeds maxPayloadBytes %d on its own", ev.Size(), d.cfg.MaxBytes)
	case ev.Tries >= d.cfg.MaxAttempts:
		reason = fmt.Sprintf("failed %d attempts (maxAttempts %d); last: %s", ev.Tries, d.cfg.MaxAttempts, f.Error())
	case now.Sub(ev.Born()) > d.cfg.MaxEventAge:
		reason = fmt.Sprintf("older than maxEventAge %s after %d attempts; last: %s", d.cfg.MaxEventAge, ev.Tries, f.Error())
	}
	if reason == "" {
		delay := d.cfg.Backoff.Delay(max(ev.Tries, 1))
		if f.Kind == deliver.KindThrottled {
			delay = max(delay, f.RetryAfter)
		}
		d.log.Debug("retrying event", "event", ev.ID, "attempt", ev.Tries, "delay", delay, "error", f.Error())
		if d.metrics != nil {
			d.metrics.EventsRetried.WithLabelValues(d.cfg.Route, string(f.Kind)).Inc()
		}
		out.requeue[key] = requeue{events: rest, notBefore: now.Add(delay)}
		return
	}
	if err := d.deadLetter(ctx, ev, reason); err != nil {
		out.requeue[key] = requeue{events: rest}
		return
	}
	d.log.Error("event dead-lettered", "function", d.cfg.Function, "event", ev.ID, "reason", reason)
	if d.metrics != nil {
		d.metrics.EventsDeadLettered.WithLabelValues(d.cfg.Route, string(f.Kind)).Inc()
	}
	out.done = append(out.done, ev)
	if len(rest) > 1 {
		out.requeue[key] = requeue{events: rest[1:]}
	}
}

// deadLetter stores ev, retrying until it is stored or ctx ends: an event
// is never done before its dead letter is safe.
func (d *Dispatcher) deadLetter(ctx context.Context, ev *change.Event, reason string) error {
	wait := Backoff{Initial: 200 * time.Millisecond, Max: 10 * time.Second, Multiplier: 2, Jitter: 0.2}
	for n := 1; ; n++ {
		err := d.dead.DeadLetter(ctx, d.cfg.Route, d.cfg.Function, ev, reason)
		if err == nil {
			return nil
		}
		d.log.Warn("dead-letter write failed", "event", ev.ID, "error", err)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait.Delay(n)):
		}
	}
}

func (d *Dispatcher) count(out settled) {
	if d.metrics != nil && out.delivered > 0 {
		d.metrics.EventsDelivered.WithLabelValues(d.cfg.Route).Add(float64(out.delivered))
	}
}
