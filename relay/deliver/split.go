package deliver

import (
	"context"
)

// Split keeps every invocation's payload within MaxBytes: a batch that
// would exceed it is cut into consecutive parts delivered in order, and an
// event too large on its own fails with KindTooLarge (it is dead-lettered,
// never retried).
type Split struct {
	Next     Deliverer
	MaxBytes int
	// Database names the watched database in eventSourceArn, as Envelope.
	Database string
}

var _ Deliverer = (*Split)(nil)

// Deliver delivers b in parts that fit.
func (s *Split) Deliver(ctx context.Context, b Batch) Result {
	if len(b.Events) == 0 {
		return nil
	}
	overhead := EnvelopeOverhead(SourceARN(s.Database, b.Events[0].Coll))
	res := make(Result, len(b.Events))
	var parts [][]int
	var cur []int
	size := overhead
	for i, ev := range b.Events {
		if overhead+ev.Size() > s.MaxBytes {
			res[i] = &Failure{Kind: KindTooLarge, Err: ErrTooLarge}
			continue
		}
		if len(cur) > 0 && size+ev.Size() > s.MaxBytes {
			parts = append(parts, cur)
			cur, size = nil, overhead
		}
		cur = append(cur, i)
		size += ev.Size()
	}
	if len(cur) > 0 {
		parts = append(parts, cur)
	}
	if len(parts) == 1 && len(parts[0]) == len(b.Events) {
		return s.Next.Deliver(ctx, b)
	}
	// Events of a key behind a too-large event wait for it to be dead-lettered.
	tooLarge := map[string]bool{}
	for i, f := range res {
		if f != nil {
			tooLarge[b.Events[i].Key] = true
		}
	}
	held := &Failure{Kind: KindNotAttempted}
	var kept [][]int
	for _, part := range parts {
		var k []int
		for _, i := range part {
			if tooLarge[b.Events[i].Key] && firstTooLarge(res, b, i) {
				res[i] = held
				continue
			}
			k = append(k, i)
		}
		if len(k) > 0 {
			kept = append(kept, k)
		}
	}
	sub := sequence(ctx, s.Next, b, kept)
	for i, f := range sub {
		if res[i] == nil {
			res[i] = f
		}
	}
	return res
}

// firstTooLarge reports whether a too-large event of event i's key comes
// before i.
func firstTooLarge(res Result, b Batch, i int) bool {
	for j := 0; j < i; j++ {
		if res[j] != nil && res[j].Kind == KindTooLarge && b.Events[j].Key == b.Events[i].Key {
			return true
		}
	}
	return false
}
