// Package cmd_test runs each built bootstrap under the official Lambda
// runtime interface emulator and invokes it with every sample event
// through the Lambda Invoke API.
package cmd_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	gosync "sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/changerelay/changerelay/functions/envelope"
	"github.com/changerelay/changerelay/functions/events"
	"github.com/changerelay/changerelay/functions/internal/fixture"
	"github.com/changerelay/changerelay/functions/repair"
)

var functions = []string{"users", "articles", "comments", "favorites", "repair"}

func TestBootstrapsUnderEmulator(t *testing.T) {
	if testing.Short() {
		t.Skip("builds five bootstraps and the emulator")
	}
	dir := t.TempDir()
	build(t, dir)

	e := fixture.New(t, fixture.Options{NoStream: true})
	e.SampleBase()
	for _, step := range fixture.SampleScenario() {
		step.Write(e)
	}
	samples, err := events.All()
	require.NoError(t, err)

	fns := map[string]*emulated{}
	for _, fn := range functions {
		fns[fn] = start(t, dir, fn, e.URI, e.DB.Name())
	}
	for _, s := range samples {
		t.Run(s.Name, func(t *testing.T) {
			payload := bytes.ReplaceAll(s.Payload, []byte(`"db": "conduit"`), []byte(`"db": "`+e.DB.Name()+`"`))
			out := fns[s.Function].invoke(t, payload)
			if s.Function == "repair" {
				var report repair.Report
				require.NoError(t, json.Unmarshal(out, &report), string(out))
				require.Len(t, report.Invariants, 4, string(out))
				return
			}
			var resp envelope.Response
			require.NoError(t, json.Unmarshal(out, &resp), string(out))
			require.NotNil(t, resp.BatchItemFailures, string(out))
			require.Empty(t, resp.BatchItemFailures, string(out))
		})
	}

	// A bad event is reported, not crashed on.
	bad := `{"eventSource":"aws:docdb","events":[{"event":{"_id":{"_data":"bad"},"operationType":"drop"}}]}`
	out := fns["articles"].invoke(t, []byte(bad))
	require.Contains(t, string(out), "errorMessage", string(out))

	// The repair bootstrap converges what no sample event covered.
	var report repair.Report
	require.NoError(t, json.Unmarshal(fns["repair"].invoke(t, []byte(`{"dryRun":false}`)), &report))
	e.RequireConverged()
	require.NoError(t, json.Unmarshal(fns["repair"].invoke(t, []byte(`{"dryRun":true}`)), &report))
	require.Zero(t, report.Drift)

	// JSON logs carry the request id and the event ids.
	logs := fns["articles"].output()
	require.Contains(t, logs, `"requestId":`)
	require.Contains(t, logs, `"firstEventId":`)
	require.Contains(t, logs, `"eventId":"bad"`)
}

// build compiles the emulator (pinned in infra/go.mod) and every bootstrap
// for this machine's architecture, as `make build` does for Lambda's.
func build(t *testing.T, dir string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	run := func(workdir string, env []string, args ...string) {
		cmd := exec.CommandContext(ctx, "go", args...)
		cmd.Dir = workdir
		cmd.Env = append(os.Environ(), env...)
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "go %s: %s", strings.Join(args, " "), out)
	}
	run("../../infra", nil, "build", "-o", filepath.Join(dir, "aws-lambda-rie"),
		"github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie")
	env := []string{"CGO_ENABLED=0", "GOOS=linux", "GOARCH=" + runtime.GOARCH}
	for _, fn := range functions {
		run(".", env, "build", "-tags", "lambda.norpc", "-trimpath", "-ldflags", "-s -w",
			"-o", filepath.Join(dir, fn, "bootstrap"), "./"+fn)
	}
}

// emulated is one function running under the emulator.
type emulated struct {
	addr string
	mu   gosync.Mutex
	logs bytes.Buffer
}

func (f *emulated) Write(p []byte) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.logs.Write(p)
}

func (f *emulated) output() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.logs.String()
}

func start(t *testing.T, dir, fn, uri, db string) *emulated {
	t.Helper()
	addr, runtimeAPI := freeAddr(t), freeAddr(t)
	f := &emulated{addr: addr}
	cmd := exec.Command(filepath.Join(dir, "aws-lambda-rie"),
		"--runtime-interface-emulator-address", addr, "--runtime-api-address", runtimeAPI,
		"--log-level", "error", filepath.Join(dir, fn, "bootstrap"))
	cmd.Dir = filepath.Join(dir, fn)
	cmd.Env = append(os.Environ(), "MONGODB_URI="+uri, "MONGODB_DATABASE="+db,
		"AWS_LAMBDA_FUNCTION_NAME="+fn, "AWS_LAMBDA_FUNCTION_TIMEOUT=60", "AWS_LAMBDA_LOG_LEVEL=DEBUG")
	cmd.Stdout, cmd.Stderr = f, f
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("%s output:\n%s", fn, f.output())
		}
	})
	require.Eventually(t, func() bool {
		c, err := net.DialTimeout("tcp", addr, 100*time.Millisecond)
		if err == nil {
			_ = c.Close()
		}
		return err == nil
	}, 10*time.Second, 20*time.Millisecond, "emulator for %s did not listen", fn)
	return f
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	return l.Addr().String()
}

// invoke calls the function through the Invoke API and returns the reply.
func (f *emulated) invoke(t *testing.T, payload []byte) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	url := fmt.Sprintf("http://%s/2015-03-31/functions/function/invocations", f.addr)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(payload))
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode, string(out))
	return out
}
