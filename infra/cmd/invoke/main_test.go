package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/changerelay/changerelay/infra/lambdahost"
)

func TestRunPrintsPayloadLogsAndFunctionError(t *testing.T) {
	dir := t.TempDir()
	bootstrap := filepath.Join(dir, "bootstrap")
	build := exec.Command("go", "build", "-tags", "lambda.norpc", "-o", bootstrap, "../../lambdahost/internal/testfunction")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	out, err := build.CombinedOutput()
	require.NoError(t, err, string(out))

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	h, err := lambdahost.Start(ctx, lambdahost.Config{Functions: []lambdahost.FunctionConfig{{Name: "t", Bootstrap: bootstrap}}})
	require.NoError(t, err)
	defer h.Close()
	t.Setenv("LAMBDA_ENDPOINT", h.Endpoint())
	t.Setenv("FUNCTION_PREFIX", "")

	event := filepath.Join(dir, "event.json")
	require.NoError(t, os.WriteFile(event, []byte(`{"op":"echo","x":1}`), 0o644))
	var stdout, stderr bytes.Buffer
	require.NoError(t, run([]string{"--function", "t", "--event", event}, &stdout, &stderr))
	assert.JSONEq(t, `{"op":"echo","x":1}`, stdout.String())
	assert.Contains(t, stderr.String(), "testfunction op=echo")
	assert.Contains(t, stderr.String(), "StatusCode: 200")

	require.NoError(t, os.WriteFile(event, []byte(`{"op":"error","message":"nope"}`), 0o644))
	stdout.Reset()
	err = run([]string{"--function", "t", "--event", event}, &stdout, &stderr)
	assert.ErrorContains(t, err, "function error: Handled")
	assert.Contains(t, stdout.String(), `"errorMessage": "nope"`)

	err = run([]string{"--function", "missing"}, &stdout, &stderr)
	assert.ErrorContains(t, err, "ResourceNotFoundException")

	var ue usageError
	err = run([]string{"--event", event}, &stdout, &stderr)
	assert.ErrorAs(t, err, &ue)
	err = run([]string{"--function", "t", "--event", filepath.Join(dir, "nope.json")}, &stdout, &stderr)
	assert.ErrorAs(t, err, &ue)
}
