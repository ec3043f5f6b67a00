package harness_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/changerelay/changerelay/e2e/harness"
)

func startShell(t *testing.T, script string) *harness.Process {
	t.Helper()
	p, err := harness.Start(harness.Spec{
		Name: "sh", Path: "/bin/sh", Args: []string{"-c", script},
		Env: []string{"GREETING=hello"}, LogFile: filepath.Join(t.TempDir(), "sh.log"),
	})
	require.NoError(t, err)
	t.Cleanup(func() { _ = p.Kill() })
	return p
}

func TestProcessLinesAndStop(t *testing.T) {
	p := startShell(t, `trap 'echo bye; exit 0' TERM; echo "$GREETING"; echo "READY port=1234"; while :; do sleep 0.05; done`)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	m, err := p.WaitLine(ctx, `READY port=(\d+)`)
	require.NoError(t, err)
	assert.Equal(t, "1234", m[1])
	assert.True(t, p.Running())

	require.NoError(t, p.Stop(5*time.Second))
	assert.False(t, p.Running())
	assert.Contains(t, p.Tail(10), "bye")
	log, err := os.ReadFile(p.LogFile())
	require.NoError(t, err)
	assert.Contains(t, string(log), "hello\nREADY port=1234\n")
}

func TestProcessKill(t *testing.T) {
	p := startShell(t, `trap '' TERM; echo up; while :; do sleep 0.05; done`)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := p.WaitLine(ctx, "^up$")
	require.NoError(t, err)

	err = p.Stop(300 * time.Millisecond)
	require.Error(t, err, "SIGTERM is ignored, so Stop has to kill")
	assert.False(t, p.Running())
	var ws syscall.WaitStatus
	if ee, ok := p.ExitErr().(interface{ Sys() any }); ok {
		ws, _ = ee.Sys().(syscall.WaitStatus)
	}
	assert.Equal(t, syscall.SIGKILL, ws.Signal())
}

func TestWaitLineFailsWhenOutputEnds(t *testing.T) {
	p := startShell(t, `echo only`)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := p.WaitLine(ctx, "never")
	require.Error(t, err)
	assert.NotErrorIs(t, err, context.DeadlineExceeded)
}

func TestWaitLineFrom(t *testing.T) {
	p := startShell(t, `echo tick 1; echo tick 2; echo tick 3`)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	m, next, err := p.WaitLineFrom(ctx, `tick (\d)`, 0)
	require.NoError(t, err)
	assert.Equal(t, "1", m[1])
	m, _, err = p.WaitLineFrom(ctx, `tick (\d)`, next)
	require.NoError(t, err)
	assert.Equal(t, "2", m[1])
}

func TestWaitHTTP(t *testing.T) {
	ready := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-ready:
			w.WriteHeader(http.StatusOK)
		default:
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	defer srv.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	require.Error(t, harness.WaitHTTP(ctx, srv.URL, nil))

	close(ready)
	ctx2, cancel2 := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel2()
	require.NoError(t, harness.WaitHTTP(ctx2, srv.URL, nil))
}

func TestFreeAddr(t *testing.T) {
	addr, err := harness.FreeAddr()
	require.NoError(t, err)
	assert.Regexp(t, `^127\.0\.0\.1:\d+$`, addr)
}

func TestParseMetrics(t *testing.T) {
	text := `# HELP relay_events_read_total Change events read.
# TYPE relay_events_read_total counter
relay_events_read_total{route="articles"} 12
relay_events_read_total{route="users"} 3
relay_lag_seconds{route="users"} 0.25
relay_events_skipped_total{reason="derived_only",route="articles"} 7
weird{a="x\"y",b="z"} 1e3
process_resident_memory_bytes 1.2345e+07
broken{ 1
`
	m := harness.ParseMetrics(text)
	assert.Equal(t, 15.0, m.Sum("relay_events_read_total"))
	assert.Equal(t, 12.0, m.Sum("relay_events_read_total", "route", "articles"))
	assert.Equal(t, 7.0, m.Sum("relay_events_skipped_total", "reason", "derived_only"))
	assert.Equal(t, 0.25, m.Max("relay_lag_seconds"))
	assert.Equal(t, 1000.0, m.Sum("weird", "a", `x"y`))
	assert.Equal(t, 12345000.0, m.Sum("process_resident_memory_bytes"))
	assert.True(t, m.Has("relay_lag_seconds"))
	assert.False(t, m.Has("broken"))
}

func TestRepoRoot(t *testing.T) {
	root, err := harness.RepoRoot(".")
	require.NoError(t, err)
	assert.FileExists(t, filepath.Join(root, "go.work"))
	_, err = harness.RepoRoot(t.TempDir())
	assert.ErrorIs(t, err, harness.ErrNoRepoRoot)
}
