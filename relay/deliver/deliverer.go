package deliver

import (
	"context"
	"errors"
	"time"

	"github.com/changerelay/changerelay/relay/change"
)

// Batch is the events of one route for one invocation, in stream order.
type Batch struct {
	Route    string
	Function string
	Events   []*change.Event
}

// Deliverer delivers a batch and reports, per event, whether it failed.
type Deliverer interface {
	Deliver(ctx context.Context, b Batch) Result
}

// DelivererFunc adapts a function to Deliverer.
type DelivererFunc func(ctx context.Context, b Batch) Result

// Deliver calls f.
func (f DelivererFunc) Deliver(ctx context.Context, b Batch) Result { return f(ctx, b) }

// Result has one entry per event of the batch: nil when the event was
// handled, its failure otherwise.
type Result []*Failure

// Kind classifies a failure; it decides retry timing and dead-lettering.
type Kind string

// Failure kinds.
const (
	KindFunction     Kind = "function"      // the function returned an error (Handled or Unhandled)
	KindItem         Kind = "item"          // the function named the event in batchItemFailures
	KindThrottled    Kind = "throttled"     // 429; not counted as an attempt, honours RetryAfter
	KindTransport    Kind = "transport"     // network error, timeout, 5xx or other service error
	KindTooLarge     Kind = "too_large"     // the event alone exceeds the payload limit; never retried
	KindNotAttempted Kind = "not_attempted" // held back behind a failed earlier event of the same key
)

// Failure is why an event was not handled.
type Failure struct {
	Kind       Kind
	Err        error
	RetryAfter time.Duration
}

// Counts reports whether the failure counts as an attempt.
func (f *Failure) Counts() bool {
	return f.Kind != KindThrottled && f.Kind != KindNotAttempted
}

// Error renders the failure for logs and dead letters.
func (f *Failure) Error() string {
	if f.Err == nil {
		return string(f.Kind)
	}
	return string(f.Kind) + ": " + f.Err.Error()
}

// Fail returns a Result failing all n events with f.
func Fail(n int, f *Failure) Result {
	r := make(Result, n)
	for i := range r {
		r[i] = f
	}
	return r
}

// OK reports whether every event was handled.
func (r Result) OK() bool {
	for _, f := range r {
		if f != nil {
			return false
		}
	}
	return true
}

// Failed counts the failed events.
func (r Result) Failed() int {
	n := 0
	for _, f := range r {
		if f != nil {
			n++
		}
	}
	return n
}

// ErrTooLarge is the error of a KindTooLarge failure.
var ErrTooLarge = errors.New("event exceeds the route's maxPayloadBytes on its own")
