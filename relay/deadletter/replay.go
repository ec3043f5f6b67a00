package deadletter

import (
	"context"
	"fmt"
	"time"

	"github.com/changerelay/changerelay/relay/change"
	"github.com/changerelay/changerelay/relay/deliver"
)

// Result is the outcome of replaying one letter.
type Result struct {
	Letter Letter
	Err    error
}

// Replay re-drives the letters f selects, one invocation each, in the
// order they were dead-lettered, and marks those the function handled.
// function names the function to invoke for a letter (the route's current
// function, so that fixing the configuration and replaying works); nil
// means the function stored in the letter. Functions converge from current
// state, so an old event replayed after newer ones does no harm.
func (s *Store) Replay(ctx context.Context, f Filter, d deliver.Deliverer, function func(Letter) string) ([]Result, error) {
	letters, err := s.List(ctx, f)
	if err != nil {
		return nil, err
	}
	var out []Result
	for _, l := range letters {
		if function != nil {
			l.Function = function(l)
		}
		res := Result{Letter: l}
		res.Err = replayOne(ctx, l, d)
		attempt := change.Attempt{At: time.Now().UTC(), Kind: "replay:" + l.Function}
		if res.Err != nil {
			attempt.Error = res.Err.Error()
		}
		if err := s.recordReplay(ctx, l.ID, attempt, res.Err == nil); err != nil {
			return out, err
		}
		out = append(out, res)
	}
	return out, nil
}

func replayOne(ctx context.Context, l Letter, d deliver.Deliverer) error {
	if l.Event == nil {
		return ErrNoEvent
	}
	ev, err := change.Parse(l.Event, "documentKey", time.Now())
	if err != nil {
		return err
	}
	r := d.Deliver(ctx, deliver.Batch{Route: l.Route, Function: l.Function, Events: []*change.Event{ev}})
	if len(r) == 1 && r[0] != nil {
		return fmt.Errorf("replay %s: %w", l.ID, r[0])
	}
	return nil
}
