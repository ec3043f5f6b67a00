package dispatch_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/changerelay/changerelay/relay/change"
	"github.com/changerelay/changerelay/relay/deliver"
	"github.com/changerelay/changerelay/relay/dispatch"
)

// harness runs a dispatcher over a fake deliverer and checks per-key order.
type harness struct {
	t        *testing.T
	d        *dispatch.Dispatcher
	mu       sync.Mutex
	done     map[uint64]int // seq → times done
	handled  map[string][]uint64
	inFlight map[string]bool
	batches  [][]*change.Event
	dead     []*change.Event
	cancel   context.CancelFunc
	ran      chan error
}

type deadFunc func(ev *change.Event) error

func (f deadFunc) DeadLetter(_ context.Context, _, _ string, ev *change.Event, _ string) error {
	return f(ev)
}

// fail decides per event and attempt; nil means success.
type fail func(ev *change.Event, attempt int) *deliver.Failure

func newHarness(t *testing.T, cfg dispatch.Config, f fail, latency time.Duration) *harness {
	h := &harness{t: t, done: map[uint64]int{}, handled: map[string][]uint64{}, inFlight: map[string]bool{}}
	attempts := map[uint64]int{}
	core := deliver.DelivererFunc(func(ctx context.Context, b deliver.Batch) deliver.Result {
		h.mu.Lock()
		keys := map[string]bool{}
		for _, ev := range b.Events {
			if h.inFlight[ev.Key] && !keys[ev.Key] {
				t.Errorf("key %s delivered concurrently", ev.Key)
			}
			keys[ev.Key] = true
		}
		for k := range keys {
			h.inFlight[k] = true
		}
		h.batches = append(h.batches, b.Events)
		h.mu.Unlock()
		if latency > 0 {
			time.Sleep(time.Duration(rand.Int64N(int64(latency))))
		}
		res := make(deliver.Result, len(b.Events))
		h.mu.Lock()
		defer h.mu.Unlock()
		for i, ev := range b.Events {
			attempts[ev.Seq]++
			if f != nil {
				res[i] = f(ev, attempts[ev.Seq])
			}
			if res[i] == nil {
				h.handled[ev.Key] = append(h.handled[ev.Key], ev.Seq)
			}
		}
		for k := range keys {
			delete(h.inFlight, k)
		}
		return res
	})
	dead := deadFunc(func(ev *change.Event) error {
		h.mu.Lock()
		defer h.mu.Unlock()
		h.dead = append(h.dead, ev)
		return nil
	})
	if cfg.Backoff.Initial == 0 {
		cfg.Backoff = dispatch.Backoff{Initial: time.Millisecond, Max: 5 * time.Millisecond, Multiplier: 2}
	}
	h.d = dispatch.New(cfg, core, dead, func(ev *change.Event) {
		h.mu.Lock()
		h.done[ev.Seq]++
		h.mu.Unlock()
	}, nil, nil)
	ctx, cancel := context.WithCancel(t.Context())
	h.cancel = cancel
	h.ran = make(chan error, 1)
	go func() { h.ran <- h.d.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		<-h.ran
	})
	return h
}

func event(seq uint64, key string) *change.Event {
	id := fmt.Sprintf("%016X", seq)
	return &change.Event{Seq: seq, ID: id, Key: key, JSON: json.RawMessage(`{"_id":{"_data":"` + id + `"}}`), ReadAt: time.Now()}
}

func (h *harness) submitAll(n int, key func(i int) string) {
	for i := range n {
		require.NoError(h.t, h.d.Submit(h.t.Context(), event(uint64(i+1), key(i))))
	}
}

func (h *harness) waitDone(n int) {
	require.Eventually(h.t, func() bool {
		h.mu.Lock()
		defer h.mu.Unlock()
		return len(h.done) == n
	}, 20*time.Second, 5*time.Millisecond)
}

// checkOrder asserts that every key's handled sequence is increasing.
func (h *harness) checkOrder() {
	h.mu.Lock()
	defer h.mu.Unlock()
	for k, seqs := range h.handled {
		for i := 1; i < len(seqs); i++ {
			require.Less(h.t, seqs[i-1], seqs[i], "key %s handled out of order: %v", k, seqs)
		}
	}
	for seq, n := range h.done {
		require.Equal(h.t, 1, n, "event %d done twice", seq)
	}
}

func TestOrderPerKeyUnderConcurrency(t *testing.T) {
	h := newHarness(t, dispatch.Config{BatchSize: 10, Concurrency: 8}, nil, 2*time.Millisecond)
	h.submitAll(3000, func(i int) string { return fmt.Sprint(rand.IntN(40)) })
	h.waitDone(3000)
	h.checkOrder()
	require.Zero(t, h.d.Pending())
	h.mu.Lock()
	defer h.mu.Unlock()
	require.Less(t, len(h.batches), 3000, "events are batched")
}

func TestPartialFailuresRetryOnlyFailedAndKeepOrder(t *testing.T) {
	h := newHarness(t, dispatch.Config{BatchSize: 20, Concurrency: 4, MaxAttempts: 100}, func(ev *change.Event, attempt int) *deliver.Failure {
		if ev.Seq%7 == 0 && attempt < 3 {
			return &deliver.Failure{Kind: deliver.KindItem, Err: errors.New("try later")}
		}
		return nil
	}, time.Millisecond)
	h.submitAll(1000, func(i int) string { return fmt.Sprint(i % 13) })
	h.waitDone(1000)
	h.checkOrder()
	h.mu.Lock()
	defer h.mu.Unlock()
	require.Empty(t, h.dead)
	total := 0
	for _, seqs := range h.handled {
		total += len(seqs)
	}
	require.Equal(t, 1000, total, "handled exactly once each: only failed items were retried")
}

func TestKeyEventsPerBatchRedeliversLaterEventsOfFailedKey(t *testing.T) {
	var mu sync.Mutex
	var sent [][]uint64
	failedOnce := false
	core := deliver.DelivererFunc(func(_ context.Context, b deliver.Batch) deliver.Result {
		mu.Lock()
		defer mu.Unlock()
		var seqs []uint64
		res := make(deliver.Result, len(b.Events))
		for i, ev := range b.Events {
			seqs = append(seqs, ev.Seq)
			if ev.Seq == 2 && !failedOnce {
				failedOnce = true
				res[i] = &deliver.Failure{Kind: deliver.KindItem}
			}
		}
		sent = append(sent, seqs)
		return res
	})
	done := make(chan uint64, 10)
	d := dispatch.New(dispatch.Config{BatchSize: 10, BatchWindow: 50 * time.Millisecond, KeyEventsPerBatch: 10,
		Backoff: dispatch.Backoff{Initial: time.Millisecond, Max: time.Millisecond, Multiplier: 1}},
		core, nil, func(ev *change.Event) { done <- ev.Seq }, nil, nil)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	go d.Run(ctx)
	for i := 1; i <= 4; i++ {
		require.NoError(t, d.Submit(ctx, event(uint64(i), "k")))
	}
	var got []uint64
	for range 4 {
		select {
		case s := <-done:
			got = append(got, s)
		case <-time.After(5 * time.Second):
			t.Fatal("events not done")
		}
	}
	require.ElementsMatch(t, []uint64{1, 2, 3, 4}, got)
	mu.Lock()
	defer mu.Unlock()
	require.Equal(t, [][]uint64{{1, 2, 3, 4}, {2, 3, 4}}, sent)
}

func TestPoisonEventDeadLettersWhileOtherKeysFlow(t *testing.T) {
	poisonSeen := make(chan struct{}, 100)
	h := newHarness(t, dispatch.Config{BatchSize: 5, Concurrency: 1, MaxAttempts: 4,
		Backoff: dispatch.Backoff{Initial: 100 * time.Millisecond, Max: 100 * time.Millisecond, Multiplier: 1}},
		func(ev *change.Event, attempt int) *deliver.Failure {
			if ev.Seq == 1 {
				poisonSeen <- struct{}{}
				return &deliver.Failure{Kind: deliver.KindFunction, Err: errors.New("poison")}
			}
			return nil
		}, 0)
	// event 1 is poison on key "p"; 2 and 3 also key "p" wait for it; others flow.
	require.NoError(t, h.d.Submit(t.Context(), event(1, "p")))
	<-poisonSeen
	for i := 2; i <= 200; i++ {
		key := fmt.Sprint(i)
		if i <= 3 {
			key = "p"
		}
		require.NoError(t, h.d.Submit(t.Context(), event(uint64(i), key)))
	}
	// the other keys finish while the poison event is still backing off
	require.Eventually(t, func() bool {
		h.mu.Lock()
		defer h.mu.Unlock()
		return len(h.done) >= 197
	}, 5*time.Second, time.Millisecond)
	h.mu.Lock()
	require.Empty(t, h.dead, "others flowed before the poison event's attempts ran out")
	h.mu.Unlock()
	h.waitDone(200)
	h.checkOrder()
	h.mu.Lock()
	defer h.mu.Unlock()
	require.Len(t, h.dead, 1)
	require.EqualValues(t, 1, h.dead[0].Seq)
	require.Equal(t, 4, h.dead[0].Tries)
	require.Len(t, h.dead[0].Attempts, 4)
	require.Equal(t, []uint64{2, 3}, h.handled["p"])
}

func TestThrottleHonoursRetryAfterAndIsNotCharged(t *testing.T) {
	var calls []time.Time
	var mu sync.Mutex
	h := newHarness(t, dispatch.Config{MaxAttempts: 1}, func(ev *change.Event, attempt int) *deliver.Failure {
		mu.Lock()
		defer mu.Unlock()
		calls = append(calls, time.Now())
		if attempt <= 2 {
			return &deliver.Failure{Kind: deliver.KindThrottled, RetryAfter: 150 * time.Millisecond}
		}
		return nil
	}, 0)
	h.submitAll(1, func(int) string { return "k" })
	h.waitDone(1)
	mu.Lock()
	defer mu.Unlock()
	require.Len(t, calls, 3)
	require.GreaterOrEqual(t, calls[1].Sub(calls[0]), 150*time.Millisecond)
	require.GreaterOrEqual(t, calls[2].Sub(calls[1]), 150*time.Millisecond)
	require.Empty(t, h.dead, "throttling does not count toward maxAttempts")
}

func TestMaxEventAgeAndTooLarge(t *testing.T) {
	h := newHarness(t, dispatch.Config{MaxAttempts: 1000, MaxEventAge: time.Second}, func(ev *change.Event, attempt int) *deliver.Failure {
		if ev.Seq == 2 {
			return &deliver.Failure{Kind: deliver.KindTooLarge, Err: deliver.ErrTooLarge}
		}
		return &deliver.Failure{Kind: deliver.KindTransport, Err: errors.New("down")}
	}, 0)
	old := event(1, "a")
	old.ReadAt = time.Now().Add(-time.Hour)
	require.NoError(t, h.d.Submit(t.Context(), old))
	require.NoError(t, h.d.Submit(t.Context(), event(2, "b")))
	h.waitDone(2)
	h.mu.Lock()
	defer h.mu.Unlock()
	require.Len(t, h.dead, 2)
	for _, ev := range h.dead {
		require.Equal(t, 1, ev.Tries)
	}
}

func TestBackpressureBoundsPending(t *testing.T) {
	release := make(chan struct{})
	var maxPending atomic.Int64
	h := newHarness(t, dispatch.Config{BatchSize: 10, Concurrency: 2, MaxBuffered: 50}, func(*change.Event, int) *deliver.Failure {
		<-release
		return nil
	}, 0)
	submitted := atomic.Int64{}
	go func() {
		for i := range 500 {
			if h.d.Submit(t.Context(), event(uint64(i+1), fmt.Sprint(i))) != nil {
				return
			}
			submitted.Add(1)
			if p := int64(h.d.Pending()); p > maxPending.Load() {
				maxPending.Store(p)
			}
		}
	}()
	require.Eventually(t, func() bool { return submitted.Load() == 50 }, 5*time.Second, time.Millisecond)
	// Submit blocks: nothing more gets in while the function is stuck.
	require.Never(t, func() bool { return submitted.Load() > 50 }, 100*time.Millisecond, 5*time.Millisecond)
	close(release)
	h.waitDone(500)
	require.LessOrEqual(t, maxPending.Load(), int64(50))
}

func TestBatchWindowFillsBatches(t *testing.T) {
	h := newHarness(t, dispatch.Config{BatchSize: 50, BatchWindow: 200 * time.Millisecond, Concurrency: 1}, nil, 0)
	h.submitAll(30, func(i int) string { return fmt.Sprint(i) })
	h.waitDone(30)
	h.mu.Lock()
	defer h.mu.Unlock()
	require.Len(t, h.batches, 1, "all 30 events waited for one batch")
}

func TestCloseDrains(t *testing.T) {
	h := newHarness(t, dispatch.Config{BatchSize: 3, Concurrency: 2}, nil, 5*time.Millisecond)
	h.submitAll(100, func(i int) string { return fmt.Sprint(i % 5) })
	h.d.Close()
	select {
	case err := <-h.ran:
		require.NoError(t, err)
		h.ran <- nil
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after Close")
	}
	require.ErrorIs(t, h.d.Submit(t.Context(), event(101, "x")), dispatch.ErrClosed)
	h.mu.Lock()
	defer h.mu.Unlock()
	require.Len(t, h.done, 100)
}

func TestBackoffDelay(t *testing.T) {
	b := dispatch.Backoff{Initial: 100 * time.Millisecond, Max: time.Second, Multiplier: 2, Jitter: 0.2}
	cases := []struct {
		n      int
		lo, hi time.Duration
	}{
		{1, 80 * time.Millisecond, 120 * time.Millisecond},
		{2, 160 * time.Millisecond, 240 * time.Millisecond},
		{4, 640 * time.Millisecond, 960 * time.Millisecond},
		{10, 800 * time.Millisecond, 1200 * time.Millisecond},
		{1000, 800 * time.Millisecond, 1200 * time.Millisecond},
	}
	for _, tc := range cases {
		t.Run(fmt.Sprint(tc.n), func(t *testing.T) {
			for range 50 {
				d := b.Delay(tc.n)
				require.GreaterOrEqual(t, d, tc.lo)
				require.LessOrEqual(t, d, tc.hi)
			}
		})
	}
}
