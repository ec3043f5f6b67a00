package lambdahost_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/stretchr/testify/require"

	"github.com/changerelay/changerelay/infra/lambdahost"
)

// testBootstrap is the test function (internal/testfunction), built once by TestMain.
var testBootstrap string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "lambdahost-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	testBootstrap = filepath.Join(dir, "testfunction", "bootstrap")
	cmd := exec.Command("go", "build", "-tags", "lambda.norpc", "-o", testBootstrap, "./internal/testfunction")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build test function: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

// fn describes the test function under name with the given pool size.
func fn(name string, concurrency int) lambdahost.FunctionConfig {
	return lambdahost.FunctionConfig{Name: name, Bootstrap: testBootstrap, Concurrency: concurrency,
		Timeout: 10 * time.Second, Env: map[string]string{"GREETING": "hello"}}
}

// startHost starts a host on a free port and closes it at cleanup.
func startHost(t *testing.T, cfg lambdahost.Config) *lambdahost.Host {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	h, err := lambdahost.Start(ctx, cfg)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, h.Close()) })
	return h
}

// client is an SDK Lambda client pointed at the host, as the relay builds one.
func client(h *lambdahost.Host, retry bool) *lambda.Client {
	opts := lambda.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(h.Endpoint()),
		Credentials:  credentials.NewStaticCredentialsProvider("test", "test", ""),
	}
	if !retry {
		opts.Retryer = aws.NopRetryer{}
	}
	return lambda.New(opts)
}

func ctxT(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

func invoke(t *testing.T, c *lambda.Client, name string, payload any) *lambda.InvokeOutput {
	t.Helper()
	b, err := json.Marshal(payload)
	require.NoError(t, err)
	out, err := c.Invoke(ctxT(t, time.Minute), &lambda.InvokeInput{FunctionName: aws.String(name), Payload: b})
	require.NoError(t, err)
	return out
}

type lambdaError struct {
	ErrorMessage string `json:"errorMessage"`
	ErrorType    string `json:"errorType"`
}

func decode[T any](t *testing.T, b []byte) T {
	t.Helper()
	var v T
	require.NoError(t, json.Unmarshal(b, &v), string(b))
	return v
}

type timing struct {
	PID     int   `json:"pid"`
	StartNS int64 `json:"startNs"`
	EndNS   int64 `json:"endNs"`
}

func readFile(path string) (string, error) {
	b, err := os.ReadFile(path)
	return string(b), err
}

func invokeInput(name, payload string) *lambda.InvokeInput {
	return &lambda.InvokeInput{FunctionName: aws.String(name), Payload: []byte(payload)}
}

func goBinary(t *testing.T) string {
	p, err := exec.LookPath("go")
	require.NoError(t, err)
	return p
}
