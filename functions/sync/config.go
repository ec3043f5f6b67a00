package sync

import (
	"errors"
	"io"
	"log/slog"
	"time"

	"github.com/changerelay/changerelay/functions/store"
)

// DefaultDeadlineMargin is kept free before the invocation's deadline so a
// handler can still report partial failures instead of being cut off.
const DefaultDeadlineMargin = 2 * time.Second

// Config configures a Handler.
type Config struct {
	// Store is the database access. Required.
	Store *store.Store
	// Logger receives one line per failed event and one per batch; nil
	// discards. In Lambda it is lambdacontext's handler (request id).
	Logger *slog.Logger
	// DeadlineMargin is subtracted from the context's deadline for the work
	// of a batch (default 2s, at most a tenth of the time left).
	DeadlineMargin time.Duration
}

// Validate names the first bad setting.
func (c Config) Validate() error {
	switch {
	case c.Store == nil:
		return errors.New("sync: Store is required")
	case c.DeadlineMargin < 0:
		return errors.New("sync: DeadlineMargin must not be negative")
	}
	return nil
}

func (c *Config) setDefaults() {
	if c.Logger == nil {
		c.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if c.DeadlineMargin == 0 {
		c.DeadlineMargin = DefaultDeadlineMargin
	}
}
