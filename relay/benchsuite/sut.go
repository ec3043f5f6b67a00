package benchsuite

import (
	"context"

	"go.mongodb.org/mongo-driver/bson/primitive"
)

// SUT is one configuration under test: what turns source writes into
// derived writes.
type SUT interface {
	// Name is the configuration's name in the report.
	Name() string
	// Prime prepares a start from the current position without processing
	// anything yet (the relay stores its checkpoint); the backlog workload
	// then writes, and Start resumes from there. Returns the idle resident
	// memory when there is a process to measure (0 otherwise).
	Prime(ctx context.Context, from primitive.Timestamp) (idleRSS int64, err error)
	// Start begins processing the changes after from (or after the
	// position Prime stored) and returns once it is ready.
	Start(ctx context.Context, from primitive.Timestamp) error
	// Stop ends processing and returns what was measured.
	Stop(ctx context.Context) (SUTStats, error)
}

// SUTStats is what a configuration reports about itself: only what cannot
// be seen from outside (handler calls of the floor; the relay process's
// CPU and memory from /proc).
type SUTStats struct {
	HandlerCalls int64       // floor: in-process handler invocations
	HandlerRetry int64       // floor: batches retried
	CPUSeconds   float64     // relay process: utime+stime
	PeakRSS      int64       // relay process: VmHWM, bytes
	IdleRSS      int64       // relay process: VmRSS when ready, before work
	Memory       []MemSample // relay process: VmRSS over time
	Process      bool        // a process was measured
}

// MemSample is one resident-memory sample.
type MemSample struct {
	At  float64 `json:"t"`   // seconds since the process started
	RSS int64   `json:"rss"` // bytes
}

var (
	_ SUT = (*Floor)(nil)
	_ SUT = (*RelayProc)(nil)
)
