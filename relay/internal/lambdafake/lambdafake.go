// Package lambdafake is an in-process server speaking the Lambda Invoke API
// (POST /2015-03-31/functions/{name}/invocations), for tests: per-function
// handlers, function errors, throttling with Retry-After, and a record of
// every invocation.
package lambdafake

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"

	"github.com/changerelay/changerelay/functions/envelope"
)

// Reply is what a handler answers.
type Reply struct {
	// Status defaults to 200.
	Status int
	// FunctionError sets X-Amz-Function-Error (Handled or Unhandled).
	FunctionError string
	// Throttle answers 429 TooManyRequestsException with this Retry-After.
	Throttle   bool
	RetryAfter string
	Body       []byte
}

// Handler answers one invocation.
type Handler func(ctx context.Context, payload []byte) Reply

// Call is one recorded invocation.
type Call struct {
	Function string
	Payload  []byte
	Start    time.Time
	End      time.Time
	Reply    Reply
}

// Server is the fake.
type Server struct {
	srv      *httptest.Server
	mu       sync.Mutex
	handlers map[string]Handler
	calls    []Call
}

// New starts a server on 127.0.0.1. Unknown functions answer 404
// ResourceNotFoundException. Close it when done.
func New() *Server {
	s := &Server{handlers: map[string]Handler{}}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	return s
}

// URL is the endpoint to give the relay (LAMBDA_ENDPOINT).
func (s *Server) URL() string { return s.srv.URL }

// Close stops the server.
func (s *Server) Close() { s.srv.Close() }

// Handle sets the handler of a function.
func (s *Server) Handle(function string, h Handler) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.handlers[function] = h
}

// Calls returns the recorded invocations of function ("" for all).
func (s *Server) Calls(function string) []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Call
	for _, c := range s.calls {
		if function == "" || c.Function == function {
			out = append(out, c)
		}
	}
	return out
}

// Reset forgets the recorded calls.
func (s *Server) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = nil
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	const prefix = "/2015-03-31/functions/"
	if r.Method != http.MethodPost || !strings.HasPrefix(r.URL.Path, prefix) || !strings.HasSuffix(r.URL.Path, "/invocations") {
		http.NotFound(w, r)
		return
	}
	name := strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, prefix), "/invocations")
	payload, _ := io.ReadAll(r.Body)
	s.mu.Lock()
	h := s.handlers[name]
	s.mu.Unlock()
	start := time.Now()
	var reply Reply
	if h == nil {
		reply = Reply{Status: http.StatusNotFound, Body: []byte(`{"Type":"User","message":"Function not found: ` + name + `"}`)}
		w.Header().Set("X-Amzn-ErrorType", "ResourceNotFoundException")
	} else {
		reply = h(r.Context(), payload)
	}
	s.mu.Lock()
	s.calls = append(s.calls, Call{Function: name, Payload: payload, Start: start, End: time.Now(), Reply: reply})
	s.mu.Unlock()
	switch {
	case reply.Throttle:
		w.Header().Set("X-Amzn-ErrorType", "TooManyRequestsException")
		w.Header().Set("Content-Type", "application/json")
		if reply.RetryAfter != "" {
			w.Header().Set("Retry-After", reply.RetryAfter)
		}
		w.WriteHeader(http.StatusTooManyRequests)
		_, _ = w.Write([]byte(`{"Type":"User","message":"Rate Exceeded.","Reason":"ReservedFunctionConcurrentInvocationLimitExceeded"}`))
		return
	case reply.FunctionError != "":
		w.Header().Set("X-Amz-Function-Error", reply.FunctionError)
	}
	w.Header().Set("X-Amz-Executed-Version", "$LATEST")
	w.Header().Set("Content-Type", "application/json")
	if reply.Status == 0 {
		reply.Status = http.StatusOK
	}
	w.WriteHeader(reply.Status)
	_, _ = w.Write(reply.Body)
}

// Events decodes an envelope payload into its events' Extended JSON.
func Events(payload []byte) ([]json.RawMessage, error) {
	var env envelope.Envelope
	if err := json.Unmarshal(payload, &env); err != nil {
		return nil, err
	}
	out := make([]json.RawMessage, len(env.Events))
	for i, r := range env.Events {
		out[i] = r.Event
	}
	return out, nil
}

// PerEvent builds a handler from a function of each event: a non-nil
// error reports that event in batchItemFailures.
func PerEvent(f func(ctx context.Context, id string, event json.RawMessage) error) Handler {
	return func(ctx context.Context, payload []byte) Reply {
		events, err := Events(payload)
		if err != nil {
			return Reply{FunctionError: "Unhandled", Body: []byte(`{"errorMessage":"bad envelope"}`)}
		}
		var resp envelope.Response
		resp.BatchItemFailures = []envelope.BatchItemFailure{}
		for _, ev := range events {
			id, _ := envelope.EventIDFromJSON(ev)
			if err := f(ctx, id, ev); err != nil {
				resp.BatchItemFailures = append(resp.BatchItemFailures, envelope.BatchItemFailure{ItemIdentifier: id})
			}
		}
		body, _ := json.Marshal(resp)
		return Reply{Body: body}
	}
}

// OK answers every invocation with an empty batchItemFailures list.
func OK(context.Context, []byte) Reply {
	return Reply{Body: []byte(`{"batchItemFailures":[]}`)}
}
