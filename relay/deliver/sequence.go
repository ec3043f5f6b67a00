package deliver

import (
	"context"

	"github.com/changerelay/changerelay/relay/change"
)

// sequence delivers parts of b (index lists, in stream order) one after
// another through d. An event whose ordering key already failed in an
// earlier part is not sent: it is KindNotAttempted, so that no event
// overtakes an earlier failed event of its key.
func sequence(ctx context.Context, d Deliverer, b Batch, parts [][]int) Result {
	res := make(Result, len(b.Events))
	failedKeys := map[string]bool{}
	held := &Failure{Kind: KindNotAttempted}
	for _, part := range parts {
		var send []int
		for _, i := range part {
			if failedKeys[b.Events[i].Key] || ctx.Err() != nil {
				res[i] = held
				continue
			}
			send = append(send, i)
		}
		if len(send) == 0 {
			continue
		}
		sub := Batch{Route: b.Route, Function: b.Function, Events: make([]*change.Event, len(send))}
		for j, i := range send {
			sub.Events[j] = b.Events[i]
		}
		r := d.Deliver(ctx, sub)
		for j, i := range send {
			if r[j] != nil {
				res[i] = r[j]
				failedKeys[b.Events[i].Key] = true
			}
		}
	}
	return res
}
