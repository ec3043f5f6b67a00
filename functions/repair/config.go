package repair

import (
	"errors"
	"io"
	"log/slog"

	"github.com/changerelay/changerelay/functions/store"
)

// Config configures a run.
type Config struct {
	// Store is the database access (its PageSize is the page size).
	// Required.
	Store *store.Store
	// DryRun only reports.
	DryRun bool
	// Logger receives a progress line per page and a summary; nil discards.
	Logger *slog.Logger
}

// Validate names the first bad setting.
func (c Config) Validate() error {
	if c.Store == nil {
		return errors.New("repair: Store is required")
	}
	return nil
}

func (c *Config) setDefaults() {
	if c.Logger == nil {
		c.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
}
