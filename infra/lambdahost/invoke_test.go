package lambdahost_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/changerelay/changerelay/infra/lambdahost"
)

func TestInvokeEchoesPayloadUnderEveryNameForm(t *testing.T) {
	h := startHost(t, lambdahost.Config{Functions: []lambdahost.FunctionConfig{fn("echo", 1)}})
	c := client(h, true)

	for _, name := range []string{
		"echo",
		"echo:$LATEST",
		"arn:aws:lambda:us-east-1:123456789012:function:echo",
		"arn:aws:lambda:us-east-1:123456789012:function:echo:live",
		"123456789012:function:echo",
	} {
		t.Run(name, func(t *testing.T) {
			in := map[string]any{"op": "echo", "name": name, "n": 42.0}
			out := invoke(t, c, name, in)
			assert.Equal(t, int32(200), out.StatusCode)
			assert.Nil(t, out.FunctionError)
			assert.Equal(t, "$LATEST", aws.ToString(out.ExecutedVersion))
			assert.Equal(t, in, decode[map[string]any](t, out.Payload))
		})
	}
}

func TestFunctionErrorsAreHandledOrUnhandled(t *testing.T) {
	h := startHost(t, lambdahost.Config{Functions: []lambdahost.FunctionConfig{fn("errs", 1)}})
	c := client(h, true)

	tests := []struct {
		name     string
		in       map[string]any
		kind     string
		typ      string
		contains string
	}{
		{name: "returned error", in: map[string]any{"op": "error", "message": "boom"},
			kind: "Handled", typ: "errorString", contains: "boom"},
		{name: "panic", in: map[string]any{"op": "panic", "message": "kaboom"},
			kind: "Unhandled", typ: "string", contains: "kaboom"},
		{name: "exit", in: map[string]any{"op": "exit", "code": 3},
			kind: "Unhandled", typ: "Runtime.ExitError", contains: "exit status 3"},
		{name: "bad input", in: map[string]any{"op": 7},
			kind: "Handled", contains: "decode input"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := invoke(t, c, "errs", tt.in)
			assert.Equal(t, int32(200), out.StatusCode)
			require.NotNil(t, out.FunctionError)
			assert.Equal(t, tt.kind, *out.FunctionError)
			e := decode[lambdaError](t, out.Payload)
			assert.Contains(t, e.ErrorMessage, tt.contains)
			if tt.typ != "" {
				assert.Equal(t, tt.typ, e.ErrorType)
			}

			// The environment serves the next invocation normally.
			next := invoke(t, c, "errs", map[string]any{"op": "echo"})
			assert.Nil(t, next.FunctionError)
		})
	}
	st := h.Stats().Functions["errs"]
	assert.EqualValues(t, 2*len(tests), st.Invocations)
	assert.EqualValues(t, len(tests), st.Errors)
}

func TestFunctionSeesItsEnvironmentOnly(t *testing.T) {
	t.Setenv("LAMBDAHOST_TEST_HOST_ONLY", "leak")
	f := fn("envfn", 1)
	f.MemoryMB = 256
	f.Timeout = 7 * time.Second
	h := startHost(t, lambdahost.Config{Functions: []lambdahost.FunctionConfig{f}})

	out := invoke(t, client(h, true), "envfn", map[string]any{"op": "env", "keys": []string{
		"AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "AWS_LAMBDA_FUNCTION_TIMEOUT",
		"AWS_LAMBDA_FUNCTION_VERSION", "AWS_REGION", "GREETING", "LAMBDAHOST_TEST_HOST_ONLY",
	}})
	require.Nil(t, out.FunctionError, string(out.Payload))
	assert.Equal(t, map[string]string{
		"AWS_LAMBDA_FUNCTION_NAME":        "envfn",
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256",
		"AWS_LAMBDA_FUNCTION_TIMEOUT":     "7",
		"AWS_LAMBDA_FUNCTION_VERSION":     "$LATEST",
		"AWS_REGION":                      "us-east-1",
		"GREETING":                        "hello",
		"LAMBDAHOST_TEST_HOST_ONLY":       "",
	}, decode[map[string]string](t, out.Payload))
}

func TestAPIErrors(t *testing.T) {
	h := startHost(t, lambdahost.Config{Functions: []lambdahost.FunctionConfig{fn("api", 1)}})
	c := client(h, false)
	ctx := ctxT(t, time.Minute)

	t.Run("unknown function is ResourceNotFoundException", func(t *testing.T) {
		_, err := c.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("nope"), Payload: []byte(`{}`)})
		var nf *types.ResourceNotFoundException
		require.ErrorAs(t, err, &nf)
		assert.Contains(t, nf.ErrorMessage(), "function:nope")
		assert.Equal(t, "User", aws.ToString(nf.Type))
	})
	t.Run("payload over 6 MB is RequestTooLargeException", func(t *testing.T) {
		big := append(append([]byte(`"`), bytes.Repeat([]byte("x"), lambdahost.MaxPayloadBytes)...), '"')
		_, err := c.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("api"), Payload: big})
		var tl *types.RequestTooLargeException
		require.ErrorAs(t, err, &tl)
		assert.Contains(t, tl.ErrorMessage(), "6291456")
	})
	t.Run("payload that is not JSON is InvalidRequestContentException", func(t *testing.T) {
		_, err := c.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("api"), Payload: []byte(`{nope`)})
		var ic *types.InvalidRequestContentException
		require.ErrorAs(t, err, &ic)
	})
	t.Run("client context that is not base64 is InvalidParameterValueException", func(t *testing.T) {
		_, err := c.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("api"), Payload: []byte(`{"op":"echo"}`),
			ClientContext: aws.String("not base64!")})
		var ip *types.InvalidParameterValueException
		require.ErrorAs(t, err, &ip)
		out, err := c.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("api"), Payload: []byte(`{"op":"echo"}`),
			ClientContext: aws.String(base64.StdEncoding.EncodeToString([]byte(`{"custom":{"a":"b"}}`)))})
		require.NoError(t, err)
		assert.Nil(t, out.FunctionError)
	})
	t.Run("raw 404 has Lambda's header and body", func(t *testing.T) {
		resp, err := http.Post(h.Endpoint()+"/2015-03-31/functions/nope/invocations", "application/json", strings.NewReader("{}"))
		require.NoError(t, err)
		defer resp.Body.Close()
		assert.Equal(t, http.StatusNotFound, resp.StatusCode)
		assert.Equal(t, "ResourceNotFoundException", resp.Header.Get("X-Amzn-ErrorType"))
		var body map[string]string
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&body))
		assert.Equal(t, "User", body["Type"])
		assert.Contains(t, body["Message"], "Function not found")
	})
}

func TestInvocationTypes(t *testing.T) {
	h := startHost(t, lambdahost.Config{Functions: []lambdahost.FunctionConfig{fn("types", 1)}})
	c := client(h, true)
	ctx := ctxT(t, time.Minute)

	dry, err := c.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("types"), InvocationType: types.InvocationTypeDryRun})
	require.NoError(t, err)
	assert.Equal(t, int32(204), dry.StatusCode)

	ev, err := c.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("types"),
		InvocationType: types.InvocationTypeEvent, Payload: []byte(`{"op":"echo"}`)})
	require.NoError(t, err)
	assert.Equal(t, int32(202), ev.StatusCode)
	require.Eventually(t, func() bool {
		return h.Stats().Functions["types"].Async == 1
	}, 30*time.Second, 20*time.Millisecond)
	assert.EqualValues(t, 1, h.Stats().Functions["types"].Invocations, "DryRun does not run the function")
}

func TestLogTailAndLogFile(t *testing.T) {
	dir := t.TempDir()
	h := startHost(t, lambdahost.Config{LogDir: dir, Functions: []lambdahost.FunctionConfig{fn("logs", 1)}})

	out, err := client(h, true).Invoke(ctxT(t, time.Minute), &lambda.InvokeInput{
		FunctionName: aws.String("logs"), LogType: types.LogTypeTail, Payload: []byte(`{"op":"echo"}`)})
	require.NoError(t, err)
	tail, err := base64.StdEncoding.DecodeString(aws.ToString(out.LogResult))
	require.NoError(t, err)
	assert.Contains(t, string(tail), "testfunction op=echo")
	assert.Contains(t, string(tail), "REPORT RequestId:")

	require.NoError(t, h.Close())
	data, err := readFile(dir + "/logs.log")
	require.NoError(t, err)
	assert.Contains(t, data, "[env 0] testfunction op=echo")
}

func TestStatsEndpoint(t *testing.T) {
	h := startHost(t, lambdahost.Config{Functions: []lambdahost.FunctionConfig{fn("a", 2), fn("b", 1)}})
	c := client(h, true)
	invoke(t, c, "a", map[string]any{"op": "echo"})
	invoke(t, c, "a", map[string]any{"op": "error", "message": "x"})

	resp, err := http.Get(h.Endpoint() + "/_host/stats")
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	var st lambdahost.Stats
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&st))
	a := st.Functions["a"]
	assert.EqualValues(t, 2, a.Invocations)
	assert.EqualValues(t, 1, a.Errors)
	assert.Equal(t, 2, a.Concurrency)
	assert.Len(t, a.Environments, 2)
	assert.Positive(t, a.DurationMs.Total)
	assert.EqualValues(t, 0, st.Functions["b"].Invocations)
}

func TestTimeoutIsAnUnhandledError(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for a function timeout")
	}
	f := fn("slow", 1)
	f.Timeout = time.Second
	h := startHost(t, lambdahost.Config{Functions: []lambdahost.FunctionConfig{f}})
	c := client(h, true)

	start := time.Now()
	out := invoke(t, c, "slow", map[string]any{"op": "sleep", "ms": 5000})
	assert.Less(t, time.Since(start), 4*time.Second)
	require.NotNil(t, out.FunctionError, "payload: %s", out.Payload)
	assert.Equal(t, "Unhandled", *out.FunctionError)
	e := decode[lambdaError](t, out.Payload)
	assert.Equal(t, "Sandbox.Timedout", e.ErrorType)
	assert.Contains(t, e.ErrorMessage, "Task timed out after 1.00 seconds")

	next := invoke(t, c, "slow", map[string]any{"op": "echo"})
	assert.Nil(t, next.FunctionError)
	assert.EqualValues(t, 1, h.Stats().Functions["slow"].Timeouts)
}

func TestOversizedResponseIsUnhandled(t *testing.T) {
	if testing.Short() {
		t.Skip("moves 7 MB through the emulator")
	}
	h := startHost(t, lambdahost.Config{Functions: []lambdahost.FunctionConfig{fn("big", 1)}})
	out := invoke(t, client(h, true), "big", map[string]any{"op": "big", "size": 7 << 20})
	require.NotNil(t, out.FunctionError, "payload of %d bytes", len(out.Payload))
	assert.Equal(t, "Unhandled", *out.FunctionError)
	assert.Contains(t, decode[lambdaError](t, out.Payload).ErrorType, "ResponseSizeTooLarge")
}

func isThrottle(err error) (*types.TooManyRequestsException, bool) {
	var tm *types.TooManyRequestsException
	return tm, errors.As(err, &tm)
}

func TestInitFailureIsUnhandled(t *testing.T) {
	f := fn("broken", 1)
	f.Env["TESTFUNCTION_INIT_EXIT"] = "1"
	h := startHost(t, lambdahost.Config{Functions: []lambdahost.FunctionConfig{f}})
	c := client(h, true)
	for range 2 { // and again: every invocation retries the init, as Lambda does
		out := invoke(t, c, "broken", map[string]any{"op": "echo"})
		require.NotNil(t, out.FunctionError)
		assert.Equal(t, "Unhandled", *out.FunctionError)
		e := decode[lambdaError](t, out.Payload)
		assert.Equal(t, "Runtime.Unknown", e.ErrorType)
		assert.Contains(t, e.ErrorMessage, "failed to initialize")
	}
}
