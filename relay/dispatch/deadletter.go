package dispatch

import (
	"context"

	"github.com/changerelay/changerelay/relay/change"
)

// DeadLetterer stores an event that will not be retried, with the reason
// and its attempt history (ev.Attempts). The event counts as done once
// DeadLetter returns nil.
type DeadLetterer interface {
	DeadLetter(ctx context.Context, route, function string, ev *change.Event, reason string) error
}
