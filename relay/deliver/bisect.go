package deliver

import "context"

// Bisect isolates the event that makes a whole batch fail, as Lambda's
// BisectBatchOnFunctionError does: when every event of a batch of two or
// more fails with the same function or transport error, the batch is split
// in halves, delivered in order, recursively. Events that succeed in a half
// are done; only events that fail on their own are charged an attempt.
// Throttling and partial batch failures are never bisected.
type Bisect struct {
	Next Deliverer
}

var _ Deliverer = (*Bisect)(nil)

// Deliver delivers b, bisecting on a whole-batch failure.
func (x *Bisect) Deliver(ctx context.Context, b Batch) Result {
	res := x.Next.Deliver(ctx, b)
	if len(b.Events) < 2 || ctx.Err() != nil || !wholeBatchFailure(res) {
		return res
	}
	n := len(b.Events)
	lo, hi := make([]int, 0, n/2), make([]int, 0, n-n/2)
	for i := range n {
		if i < n/2 {
			lo = append(lo, i)
		} else {
			hi = append(hi, i)
		}
	}
	return sequence(ctx, x, b, [][]int{lo, hi})
}

func wholeBatchFailure(res Result) bool {
	if len(res) == 0 || res[0] == nil {
		return false
	}
	first := res[0]
	if first.Kind != KindFunction && first.Kind != KindTransport {
		return false
	}
	for _, f := range res {
		if f != first {
			return false
		}
	}
	return true
}
