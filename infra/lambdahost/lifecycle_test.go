package lambdahost_test

import (
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/changerelay/changerelay/infra/lambdahost"
)

// gone reports whether pid no longer runs (a zombie counts as gone).
func gone(pid int) bool {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return syscall.Kill(pid, 0) != nil
	}
	s := string(data)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	return len(fields) > 0 && (fields[0] == "Z" || fields[0] == "X")
}

func TestEnvironmentRestartsAfterItsProcessDies(t *testing.T) {
	h := startHost(t, lambdahost.Config{Functions: []lambdahost.FunctionConfig{fn("phoenix", 1)}})
	c := client(h, true)

	first := decode[int](t, invoke(t, c, "phoenix", map[string]any{"op": "pid"}).Payload)
	env := h.Stats().Functions["phoenix"].Environments[0]
	require.NotZero(t, env.PID)
	require.Contains(t, env.RuntimePIDs, first)

	require.NoError(t, syscall.Kill(env.PID, syscall.SIGKILL))
	require.Eventually(t, func() bool {
		return h.Stats().Functions["phoenix"].Environments[0].State == "stopped"
	}, 10*time.Second, 10*time.Millisecond)
	require.Eventually(t, func() bool { return gone(first) }, 10*time.Second, 10*time.Millisecond,
		"the dead emulator's runtime is stopped too")

	out := invoke(t, c, "phoenix", map[string]any{"op": "pid"})
	require.Nil(t, out.FunctionError, string(out.Payload))
	assert.NotEqual(t, first, decode[int](t, out.Payload))
	after := h.Stats().Functions["phoenix"].Environments[0]
	assert.Equal(t, 2, after.Starts)
	assert.NotEqual(t, env.PID, after.PID)
}

func TestCloseLeavesNoProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("starts several environments")
	}
	ctx := ctxT(t, 2*time.Minute)
	h, err := lambdahost.Start(ctx, lambdahost.Config{Eager: true,
		Functions: []lambdahost.FunctionConfig{fn("one", 2), fn("two", 1)}})
	require.NoError(t, err)
	t.Cleanup(func() { _ = h.Close() })

	for _, f := range h.Stats().Functions {
		for _, e := range f.Environments {
			assert.Equal(t, "idle", e.State, "eager start")
		}
	}
	// Start the runtimes (the emulator starts them on the first invocation),
	// one of them busy while the host closes.
	parallelSleeps(t, client(h, true), "one", 2, 10)
	invoke(t, client(h, true), "two", map[string]any{"op": "echo"})
	busy := make(chan struct{})
	go func() {
		defer close(busy)
		_, _ = client(h, false).Invoke(ctx, invokeInput("two", `{"op":"sleep","ms":20000}`))
	}()
	require.Eventually(t, func() bool { return h.Stats().Functions["two"].InFlight == 1 }, 30*time.Second, 10*time.Millisecond)

	var pids []int
	for _, f := range h.Stats().Functions {
		for _, e := range f.Environments {
			require.NotZero(t, e.PID)
			require.NotEmpty(t, e.RuntimePIDs)
			pids = append(pids, e.PID)
			pids = append(pids, e.RuntimePIDs...)
		}
	}
	require.Len(t, pids, 6)

	start := time.Now()
	require.NoError(t, h.Close())
	assert.Less(t, time.Since(start), 10*time.Second)
	for _, pid := range pids {
		assert.True(t, gone(pid), "process %d still runs", pid)
	}
	<-busy
	require.NoError(t, h.Close(), "Close is idempotent")
}
