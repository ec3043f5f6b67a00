package mongolocal

import (
	"fmt"
	"log/slog"
	"net"
	"time"
)

// Config configures a Server. The zero value is usable: an in-memory server
// on a free loopback port.
type Config struct {
	// Addr is the TCP address to listen on. Default "127.0.0.1:0" (a free port).
	Addr string
	// DBPath persists data and change history under this directory; "" keeps
	// everything in memory.
	DBPath string
	// ReplSetName is the replica set name the server reports. Default "rs0".
	ReplSetName string
	// OplogMaxEntries bounds change-log retention by count. Default 1_000_000.
	OplogMaxEntries int
	// OplogMaxAge bounds change-log retention by age. Default 24h.
	OplogMaxAge time.Duration
	// Logger receives diagnostics; nil discards them.
	Logger *slog.Logger
}

func (c *Config) setDefaults() {
	if c.Addr == "" {
		c.Addr = "127.0.0.1:0"
	}
	if c.ReplSetName == "" {
		c.ReplSetName = "rs0"
	}
	if c.OplogMaxEntries == 0 {
		c.OplogMaxEntries = 1_000_000
	}
	if c.OplogMaxAge == 0 {
		c.OplogMaxAge = 24 * time.Hour
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
}

// Validate reports the first invalid setting.
func (c Config) Validate() error {
	if c.Addr != "" {
		if _, _, err := net.SplitHostPort(c.Addr); err != nil {
			return fmt.Errorf("mongolocal: invalid Addr %q: %w", c.Addr, err)
		}
	}
	if c.OplogMaxEntries < 0 {
		return fmt.Errorf("mongolocal: OplogMaxEntries must not be negative, got %d", c.OplogMaxEntries)
	}
	if c.OplogMaxAge < 0 {
		return fmt.Errorf("mongolocal: OplogMaxAge must not be negative, got %s", c.OplogMaxAge)
	}
	return nil
}
