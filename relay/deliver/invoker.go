package deliver

import (
	"context"
	"fmt"
	"time"
)

// Invoker invokes a function synchronously with a JSON payload and returns
// its JSON reply. Errors are *FunctionError, *ThrottledError or any other
// error (transport, service).
type Invoker interface {
	Invoke(ctx context.Context, function string, payload []byte) ([]byte, error)
}

// FunctionError is a function's own error: Lambda's X-Amz-Function-Error
// (Handled: the handler returned an error; Unhandled: crash, panic,
// timeout, out of memory).
type FunctionError struct {
	Type    string // Handled or Unhandled
	Payload []byte // {"errorMessage", "errorType", ...}
}

func (e *FunctionError) Error() string {
	p := e.Payload
	if len(p) > 512 {
		p = p[:512]
	}
	return fmt.Sprintf("function error (%s): %s", e.Type, p)
}

// ThrottledError is a 429 TooManyRequestsException.
type ThrottledError struct {
	RetryAfter time.Duration
	Err        error
}

func (e *ThrottledError) Error() string {
	return fmt.Sprintf("throttled (retry after %s): %v", e.RetryAfter, e.Err)
}

func (e *ThrottledError) Unwrap() error { return e.Err }

// RequestTooLargeError is a 413 RequestTooLargeException.
type RequestTooLargeError struct{ Err error }

func (e *RequestTooLargeError) Error() string { return "request too large: " + e.Err.Error() }

func (e *RequestTooLargeError) Unwrap() error { return e.Err }
