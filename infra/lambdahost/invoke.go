package lambdahost

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// Function error kinds, the values of X-Amz-Function-Error.
const (
	FunctionErrorHandled   = "Handled"
	FunctionErrorUnhandled = "Unhandled"
)

const (
	// hardTimeoutGrace is how long past the function timeout the host waits
	// for the emulator (which enforces the timeout itself) before it kills
	// the environment.
	hardTimeoutGrace = 5 * time.Second
	// maxResponseBytes bounds what the host reads from the emulator, which
	// itself refuses runtime responses over 6 MiB + 100 bytes.
	maxResponseBytes = MaxPayloadBytes + 64*1024
	// logTailWait bounds the wait for an invocation's REPORT line.
	logTailWait = 250 * time.Millisecond
)

type invocation struct {
	requestID     string
	payload       []byte
	clientContext string
	tail          bool
}

type result struct {
	payload       []byte
	functionError string // "", Handled or Unhandled
	timedOut      bool
	logTail       []byte
}

// invoke runs one invocation in the environment, which the caller holds
// exclusively. An error means the invocation did not run (the environment
// could not start, or the host is closing).
func (e *environment) invoke(ctx context.Context, inv invocation) (result, error) {
	p, err := e.ensure(ctx)
	if err != nil {
		return result{}, err
	}
	e.mu.Lock()
	e.busy = true
	e.invocations++
	e.mu.Unlock()
	defer func() {
		e.mu.Lock()
		e.busy = false
		e.mu.Unlock()
	}()

	var capture *logCapture
	if inv.tail {
		capture = e.out.capture(inv.requestID)
	}
	res, healthy, err := e.call(ctx, p, inv)
	if err != nil {
		return result{}, err
	}
	if !healthy {
		p.stop() // the next invocation starts a fresh emulator
	} else {
		p.refreshRuntimes()
	}
	if capture != nil {
		res.logTail = e.out.finish(ctx, capture, logTailWait)
	}
	return res, nil
}

// call posts the payload to the emulator and maps its answer. healthy is
// false when the emulator must be replaced.
func (e *environment) call(ctx context.Context, p *process, inv invocation) (res result, healthy bool, err error) {
	timeout := e.fn.cfg.Timeout
	reqCtx, cancel := context.WithTimeout(ctx, timeout+hardTimeoutGrace)
	defer cancel()
	req, err := http.NewRequestWithContext(reqCtx, http.MethodPost, p.url, bytes.NewReader(inv.payload))
	if err != nil {
		return result{}, false, fmt.Errorf("lambdahost: %w", err)
	}
	req.Header.Set("X-Amzn-RequestId", inv.requestID)
	if inv.clientContext != "" {
		req.Header.Set("X-Amz-Client-Context", inv.clientContext)
	}
	resp, err := e.fn.host.client.Do(req)
	var body []byte
	if err == nil {
		body, err = io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes+1))
		_ = resp.Body.Close()
	}
	if err != nil {
		switch {
		case ctx.Err() != nil:
			return result{}, false, errClosed
		case errors.Is(reqCtx.Err(), context.DeadlineExceeded):
			return timeoutResult(inv.requestID, timeout), false, nil
		}
		return unhandled("Runtime.ExitError", fmt.Sprintf("RequestId: %s Error: %s: %s",
			inv.requestID, errEnvExited, p.exitReason(err))), false, nil
	}
	if len(body) > maxResponseBytes {
		return unhandled("Function.ResponseSizeTooLarge", fmt.Sprintf(
			"Response payload size exceeded maximum allowed payload size (%d bytes).", MaxPayloadBytes)), true, nil
	}
	res, healthy = mapResponse(inv.requestID, resp.StatusCode, body)
	return res, healthy, nil
}

// exitReason describes why a request to the emulator failed: its exit status
// if it exited (waiting briefly for it), else the transport error.
func (p *process) exitReason(transportErr error) string {
	t := time.NewTimer(time.Second)
	defer t.Stop()
	select {
	case <-p.exited:
		return fmt.Sprint(p.err)
	case <-t.C:
		return transportErr.Error()
	}
}

// mapResponse turns the emulator's answer into Lambda's. The emulator drops
// the runtime's error-type header, so errors are recognised by status and
// body: 200 with a bare {"errorMessage","errorType"} object is an error the
// function returned (Handled); 502 is a crash or exit (Unhandled), as are the
// emulator's own error types (Runtime.*, Sandbox.*, Function.*); 200 with
// "Task timed out after N.00 seconds" is a timeout.
func mapResponse(requestID string, status int, body []byte) (res result, healthy bool) {
	switch status {
	case http.StatusOK:
		if text := string(body); strings.HasPrefix(text, "Task timed out after ") {
			return result{
				payload:       errorPayload("Sandbox.Timedout", "RequestId: "+requestID+" Error: "+text),
				functionError: FunctionErrorUnhandled,
				timedOut:      true,
			}, true
		}
		if typ, ok := parseErrorPayload(body); ok {
			kind := FunctionErrorHandled
			if platformErrorType(typ) {
				kind = FunctionErrorUnhandled
			}
			return result{payload: body, functionError: kind}, true
		}
		return result{payload: body}, true
	case http.StatusBadGateway:
		if _, ok := parseErrorPayload(body); ok {
			return result{payload: body, functionError: FunctionErrorUnhandled}, true
		}
		msg := strings.TrimSpace(string(body))
		if msg == "" { // what the emulator answers when the runtime fails to initialize
			msg = "the runtime failed to initialize or exited (see the function's log)"
		}
		return unhandled("Runtime.Unknown", "RequestId: "+requestID+" Error: "+msg), true
	}
	return unhandled("Runtime.Unknown", fmt.Sprintf("RequestId: %s Error: runtime interface emulator answered %d: %s",
		requestID, status, strings.TrimSpace(string(body)))), false
}

func timeoutResult(requestID string, timeout time.Duration) result {
	r := unhandled("Sandbox.Timedout", fmt.Sprintf("RequestId: %s Error: Task timed out after %.2f seconds", requestID, timeout.Seconds()))
	r.timedOut = true
	return r
}

func unhandled(typ, msg string) result {
	return result{payload: errorPayload(typ, msg), functionError: FunctionErrorUnhandled}
}

func errorPayload(typ, msg string) []byte {
	b, _ := json.Marshal(struct {
		ErrorType    string `json:"errorType"`
		ErrorMessage string `json:"errorMessage"`
	}{typ, msg})
	return b
}

// parseErrorPayload reports whether body is a Lambda error object: a JSON
// object with a string errorMessage and no members beyond errorType,
// stackTrace and cause.
func parseErrorPayload(body []byte) (errorType string, ok bool) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(body, &m); err != nil {
		return "", false
	}
	var msg string
	if raw, has := m["errorMessage"]; !has || json.Unmarshal(raw, &msg) != nil {
		return "", false
	}
	for k := range m {
		switch k {
		case "errorMessage", "errorType", "stackTrace", "cause":
		default:
			return "", false
		}
	}
	if raw, has := m["errorType"]; has {
		if json.Unmarshal(raw, &errorType) != nil {
			return "", false
		}
	}
	return errorType, true
}

func platformErrorType(typ string) bool {
	for _, p := range []string{"Runtime.", "Sandbox.", "Function."} {
		if strings.HasPrefix(typ, p) {
			return true
		}
	}
	return false
}
