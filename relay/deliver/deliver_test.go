package deliver_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/changerelay/changerelay/relay/change"
	"github.com/changerelay/changerelay/relay/deliver"
	"github.com/changerelay/changerelay/relay/internal/lambdafake"
	"github.com/changerelay/changerelay/relay/metrics"
)

func newInvoker(t *testing.T, fake *lambdafake.Server, timeout time.Duration) *deliver.LambdaInvoker {
	t.Helper()
	inv, err := deliver.NewLambdaInvoker(t.Context(), deliver.LambdaConfig{Endpoint: fake.URL(), Region: "us-east-1", HTTPTimeout: timeout, MaxAttempts: 3})
	require.NoError(t, err)
	return inv
}

func events(n int, key func(i int) string, size int) []*change.Event {
	out := make([]*change.Event, n)
	for i := range out {
		id := fmt.Sprintf("82%08X", i)
		pad := strings.Repeat("x", size)
		out[i] = &change.Event{ID: id, Key: key(i), Coll: "users", JSON: json.RawMessage(fmt.Sprintf(`{"_id":{"_data":%q},"pad":%q}`, id, pad))}
	}
	return out
}

func byIndex(i int) string { return fmt.Sprint(i) }

func TestLambdaInvokerErrors(t *testing.T) {
	fake := lambdafake.New()
	defer fake.Close()
	var flaky atomic.Int32
	fake.Handle("ok", func(_ context.Context, p []byte) lambdafake.Reply {
		return lambdafake.Reply{Body: []byte(`{"echo":` + string(p) + `}`)}
	})
	fake.Handle("handled", func(context.Context, []byte) lambdafake.Reply {
		return lambdafake.Reply{FunctionError: "Handled", Body: []byte(`{"errorMessage":"boom","errorType":"errorString"}`)}
	})
	fake.Handle("panics", func(context.Context, []byte) lambdafake.Reply {
		return lambdafake.Reply{FunctionError: "Unhandled", Body: []byte(`{"errorMessage":"runtime error","errorType":"Runtime.ExitError"}`)}
	})
	fake.Handle("throttled", func(context.Context, []byte) lambdafake.Reply {
		return lambdafake.Reply{Throttle: true, RetryAfter: "3"}
	})
	fake.Handle("flaky500", func(context.Context, []byte) lambdafake.Reply {
		if flaky.Add(1) < 3 {
			return lambdafake.Reply{Status: 500, Body: []byte(`{"message":"internal"}`)}
		}
		return lambdafake.Reply{Body: []byte(`null`)}
	})
	fake.Handle("slow", func(ctx context.Context, _ []byte) lambdafake.Reply {
		select {
		case <-ctx.Done():
		case <-time.After(5 * time.Second):
		}
		return lambdafake.Reply{Body: []byte(`null`)}
	})
	inv := newInvoker(t, fake, 300*time.Millisecond)
	ctx := t.Context()

	out, err := inv.Invoke(ctx, "ok", []byte(`{"a":1}`))
	require.NoError(t, err)
	require.JSONEq(t, `{"echo":{"a":1}}`, string(out))

	_, err = inv.Invoke(ctx, "handled", []byte(`{}`))
	var fe *deliver.FunctionError
	require.ErrorAs(t, err, &fe)
	require.Equal(t, "Handled", fe.Type)
	require.Contains(t, fe.Error(), "boom")

	_, err = inv.Invoke(ctx, "panics", []byte(`{}`))
	require.ErrorAs(t, err, &fe)
	require.Equal(t, "Unhandled", fe.Type)

	_, err = inv.Invoke(ctx, "throttled", []byte(`{}`))
	var te *deliver.ThrottledError
	require.ErrorAs(t, err, &te)
	require.Equal(t, 3*time.Second, te.RetryAfter)
	require.Len(t, fake.Calls("throttled"), 1, "429 is left to the relay, not retried by the SDK")

	_, err = inv.Invoke(ctx, "flaky500", []byte(`{}`))
	require.NoError(t, err, "5xx is retried by the SDK")
	require.Len(t, fake.Calls("flaky500"), 3)

	start := time.Now()
	_, err = inv.Invoke(ctx, "slow", []byte(`{}`))
	require.Error(t, err)
	require.Less(t, time.Since(start), 4*time.Second)

	_, err = inv.Invoke(ctx, "missing", []byte(`{}`))
	require.Error(t, err)
	require.NotErrorAs(t, err, &fe)
}

func TestEnvelopePartialFailures(t *testing.T) {
	fake := lambdafake.New()
	defer fake.Close()
	evs := events(5, byIndex, 1)
	fake.Handle("f", lambdafake.PerEvent(func(_ context.Context, id string, _ json.RawMessage) error {
		if id == evs[1].ID || id == evs[3].ID {
			return fmt.Errorf("no")
		}
		return nil
	}))
	fake.Handle("unknown", func(context.Context, []byte) lambdafake.Reply {
		return lambdafake.Reply{Body: []byte(`{"batchItemFailures":[{"itemIdentifier":"nope"}]}`)}
	})
	fake.Handle("empty", func(context.Context, []byte) lambdafake.Reply { return lambdafake.Reply{} })
	env := &deliver.Envelope{Invoker: newInvoker(t, fake, 5*time.Second), Database: "conduit", Timeout: 5 * time.Second}
	b := deliver.Batch{Route: "users", Function: "f", Events: evs}
	res := env.Deliver(t.Context(), b)
	require.Len(t, res, 5)
	for i, f := range res {
		if i == 1 || i == 3 {
			require.NotNil(t, f)
			require.Equal(t, deliver.KindItem, f.Kind)
		} else {
			require.Nil(t, f, "event %d", i)
		}
	}
	payload := fake.Calls("f")[0].Payload
	var probe struct {
		EventSource, EventSourceArn string
		Events                      []map[string]json.RawMessage
	}
	require.NoError(t, json.Unmarshal(payload, &probe))
	require.Equal(t, "changerelay", probe.EventSource)
	require.Equal(t, "changerelay:conduit/users", probe.EventSourceArn)
	require.Len(t, probe.Events, 5)
	require.LessOrEqual(t, len(payload), deliver.EnvelopeSize(probe.EventSourceArn, evs))

	b.Function = "unknown"
	res = env.Deliver(t.Context(), b)
	require.Equal(t, 5, res.Failed())
	require.Equal(t, deliver.KindFunction, res[0].Kind)

	b.Function = "empty"
	require.True(t, env.Deliver(t.Context(), b).OK())
}

// recorder is a core Deliverer that fails events by predicate and records batches.
type recorder struct {
	batches [][]string
	fail    func(ev *change.Event) bool
	partial bool
}

func (r *recorder) Deliver(_ context.Context, b deliver.Batch) deliver.Result {
	var ids []string
	bad := false
	res := make(deliver.Result, len(b.Events))
	for i, ev := range b.Events {
		ids = append(ids, ev.ID)
		if r.fail(ev) {
			bad = true
			res[i] = &deliver.Failure{Kind: deliver.KindItem}
		}
	}
	r.batches = append(r.batches, ids)
	if bad && !r.partial {
		return deliver.Fail(len(b.Events), &deliver.Failure{Kind: deliver.KindFunction})
	}
	return res
}

func TestBisectIsolatesPoison(t *testing.T) {
	evs := events(16, byIndex, 1)
	poison := evs[11]
	rec := &recorder{fail: func(ev *change.Event) bool { return ev == poison }}
	res := (&deliver.Bisect{Next: rec}).Deliver(t.Context(), deliver.Batch{Events: evs})
	require.Equal(t, 1, res.Failed())
	require.NotNil(t, res[11])
	require.Equal(t, deliver.KindFunction, res[11].Kind)
	require.LessOrEqual(t, len(rec.batches), 1+2*4, "log2(16) levels of two halves")
}

func TestBisectHoldsLaterEventsOfFailedKey(t *testing.T) {
	// keys: 0..3 repeat; event 1 (key 1) is poison; event 5 (key 1) must not be sent before it.
	evs := events(8, func(i int) string { return fmt.Sprint(i % 4) }, 1)
	rec := &recorder{fail: func(ev *change.Event) bool { return ev == evs[1] }}
	res := (&deliver.Bisect{Next: rec}).Deliver(t.Context(), deliver.Batch{Events: evs})
	require.Equal(t, deliver.KindFunction, res[1].Kind)
	require.NotNil(t, res[5])
	require.Equal(t, deliver.KindNotAttempted, res[5].Kind)
	for _, b := range rec.batches[1:] {
		if len(b) < 8 {
			require.NotContains(t, b, evs[5].ID)
		}
	}
	for i, f := range res {
		if i != 1 && i != 5 {
			require.Nil(t, f, "event %d", i)
		}
	}
}

func TestBisectNotOnThrottleOrPartial(t *testing.T) {
	evs := events(4, byIndex, 1)
	calls := 0
	throttled := deliver.DelivererFunc(func(_ context.Context, b deliver.Batch) deliver.Result {
		calls++
		return deliver.Fail(len(b.Events), &deliver.Failure{Kind: deliver.KindThrottled})
	})
	(&deliver.Bisect{Next: throttled}).Deliver(t.Context(), deliver.Batch{Events: evs})
	require.Equal(t, 1, calls)
	rec := &recorder{partial: true, fail: func(ev *change.Event) bool { return true }}
	(&deliver.Bisect{Next: rec}).Deliver(t.Context(), deliver.Batch{Events: evs})
	require.Len(t, rec.batches, 1)
}

func TestSplitByPayload(t *testing.T) {
	evs := events(10, byIndex, 400)
	evs[4] = events(1, func(int) string { return "big" }, 5000)[0]
	evs[4].ID = "big"
	rec := &recorder{fail: func(*change.Event) bool { return false }}
	split := &deliver.Split{Next: rec, MaxBytes: 2048, Database: "conduit"}
	res := split.Deliver(t.Context(), deliver.Batch{Events: evs})
	require.NotNil(t, res[4])
	require.Equal(t, deliver.KindTooLarge, res[4].Kind)
	require.ErrorIs(t, res[4].Err, deliver.ErrTooLarge)
	require.Equal(t, 1, res.Failed())
	require.Greater(t, len(rec.batches), 1)
	seen := 0
	for _, b := range rec.batches {
		var sub []*change.Event
		for _, id := range b {
			for _, ev := range evs {
				if ev.ID == id {
					sub = append(sub, ev)
				}
			}
		}
		require.LessOrEqual(t, deliver.EnvelopeSize(deliver.SourceARN("conduit", "users"), sub), 2048)
		seen += len(b)
	}
	require.Equal(t, 9, seen)
}

func TestChainWithMetrics(t *testing.T) {
	m := metrics.New()
	evs := events(6, byIndex, 10)
	rec := &recorder{fail: func(ev *change.Event) bool { return ev == evs[2] }}
	d := deliver.Chain(rec, m, "conduit", 1<<20, true)
	res := d.Deliver(t.Context(), deliver.Batch{Route: "users", Events: evs})
	require.Equal(t, 1, res.Failed())
	require.Equal(t, http.StatusOK, 200)
	mfs, err := m.Registry.Gather()
	require.NoError(t, err)
	found := false
	for _, mf := range mfs {
		if mf.GetName() == "relay_invocations_total" {
			found = true
		}
	}
	require.True(t, found)
}
