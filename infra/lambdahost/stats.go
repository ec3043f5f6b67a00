package lambdahost

import (
	"sync"
	"time"
)

// Stats is the host's counters, served as JSON at GET /_host/stats.
type Stats struct {
	Functions map[string]FunctionStats `json:"functions"`
}

// FunctionStats counts one function's invocations since the host started.
type FunctionStats struct {
	// Invocations ran in an environment (synchronous and asynchronous),
	// including those that ended in a function error. Throttled ones are not counted.
	Invocations int64 `json:"invocations"`
	// Async is how many of Invocations were Event invocations.
	Async int64 `json:"async"`
	// Errors is how many invocations ended in a function error (Handled or Unhandled).
	Errors int64 `json:"errors"`
	// Timeouts is how many of Errors were timeouts.
	Timeouts int64 `json:"timeouts"`
	// Throttles is how many invocations were refused with 429.
	Throttles int64 `json:"throttles"`
	// InFlight is the invocations running now.
	InFlight int64 `json:"inFlight"`
	// DurationMs sums and bounds the invocations' durations, in milliseconds.
	DurationMs DurationStats `json:"durationMs"`
	// Concurrency is the pool size.
	Concurrency int `json:"concurrency"`
	// Environments describes each environment of the pool.
	Environments []EnvironmentStats `json:"environments"`
}

// DurationStats summarizes durations in milliseconds.
type DurationStats struct {
	Total float64 `json:"total"`
	Max   float64 `json:"max"`
	Avg   float64 `json:"avg"`
}

// EnvironmentStats describes one execution environment.
type EnvironmentStats struct {
	Index int `json:"index"`
	// State is "stopped" (not started, or its process exited), "idle" or "busy".
	State string `json:"state"`
	// PID is the emulator process, when running.
	PID int `json:"pid,omitempty"`
	// RuntimePIDs are the runtime (bootstrap) processes last seen under the emulator.
	RuntimePIDs []int `json:"runtimePids,omitempty"`
	// Starts counts emulator starts; more than one means restarts.
	Starts      int   `json:"starts"`
	Invocations int64 `json:"invocations"`
}

type counters struct {
	mu sync.Mutex
	s  FunctionStats
}

func (c *counters) begin() {
	c.mu.Lock()
	c.s.InFlight++
	c.mu.Unlock()
}

func (c *counters) end(d time.Duration, res result, async bool) {
	ms := float64(d) / float64(time.Millisecond)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.s.InFlight--
	c.s.Invocations++
	if async {
		c.s.Async++
	}
	if res.functionError != "" {
		c.s.Errors++
	}
	if res.timedOut {
		c.s.Timeouts++
	}
	c.s.DurationMs.Total += ms
	if ms > c.s.DurationMs.Max {
		c.s.DurationMs.Max = ms
	}
}

func (c *counters) abort() {
	c.mu.Lock()
	c.s.InFlight--
	c.mu.Unlock()
}

func (c *counters) throttle() {
	c.mu.Lock()
	c.s.Throttles++
	c.mu.Unlock()
}

func (c *counters) snapshot() FunctionStats {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.s
	if s.Invocations > 0 {
		s.DurationMs.Avg = s.DurationMs.Total / float64(s.Invocations)
	}
	return s
}

func (e *environment) stats() EnvironmentStats {
	e.mu.Lock()
	defer e.mu.Unlock()
	st := EnvironmentStats{Index: e.index, State: "stopped", Starts: e.starts, Invocations: e.invocations}
	if e.proc != nil {
		select {
		case <-e.proc.exited:
		default:
			st.PID = e.proc.pid
			st.State = "idle"
			if e.busy {
				st.State = "busy"
			}
			for _, r := range e.proc.lastRuntimes() {
				st.RuntimePIDs = append(st.RuntimePIDs, r.PID)
			}
		}
	}
	return st
}
