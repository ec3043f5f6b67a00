// Package relaytest holds helpers shared by the relay's integration tests:
// a configuration pointing at a test database and a fake Lambda host, and a
// recorder of the events each function received.
package relaytest

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/changerelay/changerelay/relay/config"
	"github.com/changerelay/changerelay/relay/internal/lambdafake"
)

// Config returns a relay configuration for a test: the given database,
// fast intervals, the fake Lambda endpoint, initialSync now, no HTTP.
func Config(uri, database, lambdaEndpoint string) *config.Config {
	c := &config.Config{}
	c.MongoDB.URI = uri
	c.MongoDB.Database = database
	c.Lambda.Endpoint = lambdaEndpoint
	c.HTTP.Addr = "off"
	c.Checkpoint.Interval = 50 * time.Millisecond
	c.Lease.Duration = 2 * time.Second
	c.Lease.RenewInterval = 200 * time.Millisecond
	c.Retry.InitialBackoff = 10 * time.Millisecond
	c.Retry.MaxBackoff = 100 * time.Millisecond
	c.Stream.MaxAwaitTime = 100 * time.Millisecond
	c.Stream.ReopenBackoff = 20 * time.Millisecond
	c.Stream.ReopenMaxBackoff = 200 * time.Millisecond
	c.InitialSync = config.InitialSyncNow
	c.ShutdownGrace = 5 * time.Second
	c.LogLevel = "debug"
	c.SetDefaults()
	return c
}

// Received is one event as a function received it.
type Received struct {
	Function string
	ID       string
	Op       string
	Coll     string
	Key      string // documentKey._id as Extended JSON
	At       time.Time
	Event    json.RawMessage
}

// Recorder records every event the fake functions receive.
type Recorder struct {
	mu     sync.Mutex
	events []Received
}

// Handler returns a handler for function that records its events and
// answers with fail's verdict per event (nil: handled).
func (r *Recorder) Handler(function string, fail func(Received) error) lambdafake.Handler {
	return lambdafake.PerEvent(func(_ context.Context, id string, ev json.RawMessage) error {
		rec := Received{Function: function, ID: id, At: time.Now(), Event: ev}
		var probe struct {
			Op  string                `json:"operationType"`
			NS  struct{ Coll string } `json:"ns"`
			Key struct {
				ID json.RawMessage `json:"_id"`
			} `json:"documentKey"`
		}
		_ = json.Unmarshal(ev, &probe)
		rec.Op, rec.Coll, rec.Key = probe.Op, probe.NS.Coll, string(probe.Key.ID)
		var err error
		if fail != nil {
			err = fail(rec)
		}
		if err == nil {
			r.mu.Lock()
			r.events = append(r.events, rec)
			r.mu.Unlock()
		}
		return err
	})
}

// Events returns the recorded (handled) events of function ("" for all).
func (r *Recorder) Events(function string) []Received {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []Received
	for _, e := range r.events {
		if function == "" || e.Function == function {
			out = append(out, e)
		}
	}
	return out
}

// IDs returns the distinct event ids handled by function.
func (r *Recorder) IDs(function string) map[string]int {
	out := map[string]int{}
	for _, e := range r.Events(function) {
		out[e.ID]++
	}
	return out
}

// Eventually waits until cond holds or fails the test.
func Eventually(t testing.TB, d time.Duration, cond func() bool, msg string, args ...any) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s: "+msg, append([]any{d}, args...)...)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
