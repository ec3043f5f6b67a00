package lambdahost_test

import (
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/changerelay/changerelay/infra/lambdahost"
)

// parallelSleeps runs n invocations of "sleep ms" at once and returns their timings.
func parallelSleeps(t *testing.T, c *lambda.Client, name string, n, ms int) []timing {
	t.Helper()
	out := make([]timing, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := c.Invoke(ctxT(t, time.Minute), &lambda.InvokeInput{FunctionName: aws.String(name),
				Payload: []byte(`{"op":"sleep","ms":` + itoa(ms) + `}`)})
			if !assert.NoError(t, err) || !assert.Nil(t, res.FunctionError, string(res.Payload)) {
				return
			}
			assert.NoError(t, json.Unmarshal(res.Payload, &out[i]))
		}()
	}
	wg.Wait()
	return out
}

func TestPoolSizeIsConcurrency(t *testing.T) {
	if testing.Short() {
		t.Skip("runs sleeping invocations")
	}
	h := startHost(t, lambdahost.Config{Functions: []lambdahost.FunctionConfig{fn("wide", 3), fn("narrow", 1)}})
	c := client(h, true)

	t.Run("pool of 3 runs 3 at once", func(t *testing.T) {
		ts := parallelSleeps(t, c, "wide", 3, 700)
		latestStart, earliestEnd := ts[0].StartNS, ts[0].EndNS
		pids := map[int]bool{}
		for _, x := range ts {
			latestStart = max(latestStart, x.StartNS)
			earliestEnd = min(earliestEnd, x.EndNS)
			pids[x.PID] = true
		}
		assert.Less(t, latestStart, earliestEnd, "all three overlap")
		assert.Len(t, pids, 3, "each ran in its own environment")
	})
	t.Run("pool of 1 serializes", func(t *testing.T) {
		ts := parallelSleeps(t, c, "narrow", 2, 300)
		first, second := ts[0], ts[1]
		if second.StartNS < first.StartNS {
			first, second = second, first
		}
		assert.GreaterOrEqual(t, second.StartNS, first.EndNS, "the second starts after the first ends")
		assert.Equal(t, first.PID, second.PID)
	})
	assert.EqualValues(t, 0, h.Stats().Functions["narrow"].Throttles)
}

func TestThrottledPastQueueTimeout(t *testing.T) {
	if testing.Short() {
		t.Skip("holds an environment busy")
	}
	h := startHost(t, lambdahost.Config{
		QueueTimeout: 200 * time.Millisecond,
		RetryAfter:   2 * time.Second,
		Functions:    []lambdahost.FunctionConfig{fn("busy", 1)},
	})
	c := client(h, false) // the SDK's retryer would retry a 429

	done := make(chan struct{})
	go func() {
		defer close(done)
		_, err := c.Invoke(ctxT(t, time.Minute), &lambda.InvokeInput{FunctionName: aws.String("busy"),
			Payload: []byte(`{"op":"sleep","ms":3000}`)})
		assert.NoError(t, err)
	}()
	require.Eventually(t, func() bool {
		return h.Stats().Functions["busy"].InFlight == 1
	}, 30*time.Second, 10*time.Millisecond)

	start := time.Now()
	_, err := c.Invoke(ctxT(t, time.Minute), &lambda.InvokeInput{FunctionName: aws.String("busy"), Payload: []byte(`{"op":"echo"}`)})
	tm, ok := isThrottle(err)
	require.True(t, ok, "want TooManyRequestsException, got %v", err)
	assert.GreaterOrEqual(t, time.Since(start), 200*time.Millisecond, "waited for the queue bound")
	assert.Equal(t, "2", aws.ToString(tm.RetryAfterSeconds))
	assert.Equal(t, "ReservedFunctionConcurrentInvocationLimitExceeded", string(tm.Reason))
	assert.EqualValues(t, 1, h.Stats().Functions["busy"].Throttles)
	<-done
}

func TestQueuedInvocationRunsWhenAnEnvironmentFrees(t *testing.T) {
	h := startHost(t, lambdahost.Config{QueueTimeout: 30 * time.Second,
		Functions: []lambdahost.FunctionConfig{fn("queue", 1)}})
	ts := parallelSleeps(t, client(h, false), "queue", 3, 50)
	assert.Len(t, ts, 3)
	st := h.Stats().Functions["queue"]
	assert.EqualValues(t, 3, st.Invocations)
	assert.EqualValues(t, 0, st.Throttles)
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}
