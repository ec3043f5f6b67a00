package mongoconn

import (
	"errors"
	"fmt"
	"time"
)

// Environment variables.
const (
	EnvURI         = "MONGODB_URI"
	EnvSecretARN   = "MONGODB_URI_SECRET_ARN"
	EnvDatabase    = "MONGODB_DATABASE"
	EnvCallTimeout = "DB_CALL_TIMEOUT"
)

// Defaults.
const (
	DefaultDatabase       = "conduit"
	DefaultCallTimeout    = 10 * time.Second
	DefaultConnectTimeout = 5 * time.Second
)

// Config is the database configuration of a function.
type Config struct {
	// URI is the connection string. Either URI or SecretARN is required.
	URI string
	// SecretARN names a Secrets Manager secret whose value is the URI, or
	// JSON with a "uri" (or "connectionString") key. Used when URI is empty.
	SecretARN string
	// Database is the data model's database (default "conduit").
	Database string
	// CallTimeout bounds each database call (default 10s); it must stay
	// below the function's timeout, and calls are also cut at the
	// invocation's deadline.
	CallTimeout time.Duration
	// ConnectTimeout bounds server selection and connecting (default 5s).
	ConnectTimeout time.Duration
}

// FromEnv reads a Config from the environment through getenv.
func FromEnv(getenv func(string) string) (Config, error) {
	c := Config{
		URI:       getenv(EnvURI),
		SecretARN: getenv(EnvSecretARN),
		Database:  getenv(EnvDatabase),
	}
	if s := getenv(EnvCallTimeout); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil {
			return c, fmt.Errorf("%s=%q: %w", EnvCallTimeout, s, err)
		}
		c.CallTimeout = d
	}
	c.setDefaults()
	return c, c.Validate()
}

func (c *Config) setDefaults() {
	if c.Database == "" {
		c.Database = DefaultDatabase
	}
	if c.CallTimeout == 0 {
		c.CallTimeout = DefaultCallTimeout
	}
	if c.ConnectTimeout == 0 {
		c.ConnectTimeout = DefaultConnectTimeout
	}
}

// Validate names the first bad setting.
func (c Config) Validate() error {
	switch {
	case c.URI == "" && c.SecretARN == "":
		return fmt.Errorf("set %s or %s", EnvURI, EnvSecretARN)
	case c.CallTimeout < 0:
		return errors.New(EnvCallTimeout + " must not be negative")
	case c.ConnectTimeout < 0:
		return errors.New("ConnectTimeout must not be negative")
	}
	return nil
}
