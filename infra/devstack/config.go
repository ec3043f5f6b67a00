package devstack

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"time"
)

// DefaultFunctions are the project's functions (functions/cmd/<name>).
var DefaultFunctions = []string{"users", "articles", "comments", "favorites", "repair"}

// Config configures a Stack. The zero value builds and serves the default
// functions against a fresh in-memory mongolocal, on free ports.
type Config struct {
	// Root is the repository root (the directory holding go.work). Default:
	// the nearest go.work at or above the working directory.
	Root string
	// Functions to build and serve. Default DefaultFunctions.
	Functions []string
	// BinDir receives the native builds, BinDir/<name>/bootstrap. Default Root/bin/local.
	BinDir string
	// SkipBuild serves the bootstraps already in BinDir.
	SkipBuild bool
	// SkipIndexes does not run functions/cmd/indexes against the database.
	SkipIndexes bool

	// MongoURI, when set, is used instead of starting mongolocal (for example
	// a real replica set).
	MongoURI string
	// MongoAddr is mongolocal's listen address. Default "127.0.0.1:0".
	MongoAddr string
	// DBPath persists mongolocal's data; "" keeps it in memory.
	DBPath string
	// Database is the functions' MONGODB_DATABASE. Default "conduit".
	Database string

	// LambdaAddr is the Invoke API's listen address. Default "127.0.0.1:0".
	LambdaAddr string
	// Concurrency is the pool size of every function. Default 2.
	Concurrency int
	// QueueTimeout bounds an invocation's wait for a free environment
	// before a 429. Default lambdahost.DefaultQueueTimeout.
	QueueTimeout time.Duration
	// Env is added to every function's environment.
	Env map[string]string
	// LogDir receives one log file per function. Default BinDir/logs; "-" for none.
	LogDir string
	// FunctionOutput, when set, receives every function output line.
	FunctionOutput io.Writer
	// Logger receives the stack's events. Nil discards.
	Logger *slog.Logger
}

func (c *Config) setDefaults() error {
	if c.Root == "" {
		wd, err := os.Getwd()
		if err != nil {
			return fmt.Errorf("devstack: %w", err)
		}
		root, err := FindRoot(wd)
		if err != nil {
			return err
		}
		c.Root = root
	}
	if len(c.Functions) == 0 {
		c.Functions = DefaultFunctions
	}
	if c.BinDir == "" {
		c.BinDir = filepath.Join(c.Root, "bin", "local")
	}
	if c.MongoAddr == "" {
		c.MongoAddr = "127.0.0.1:0"
	}
	if c.Database == "" {
		c.Database = "conduit"
	}
	if c.LambdaAddr == "" {
		c.LambdaAddr = "127.0.0.1:0"
	}
	if c.Concurrency == 0 {
		c.Concurrency = 2
	}
	switch c.LogDir {
	case "":
		c.LogDir = filepath.Join(c.BinDir, "logs")
	case "-":
		c.LogDir = ""
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return nil
}

// Validate names the first bad setting.
func (c Config) Validate() error {
	if st, err := os.Stat(filepath.Join(c.Root, "go.work")); err != nil || st.IsDir() {
		return fmt.Errorf("devstack: Root: %s holds no go.work", c.Root)
	}
	if c.Concurrency < 1 {
		return fmt.Errorf("devstack: Concurrency: want at least 1, got %d", c.Concurrency)
	}
	if c.Database == "" {
		return errors.New("devstack: Database: empty")
	}
	for _, name := range c.Functions {
		if !c.SkipBuild {
			if _, err := os.Stat(filepath.Join(c.Root, "functions", "cmd", name)); err != nil {
				return fmt.Errorf("devstack: Functions: no functions/cmd/%s: %w", name, err)
			}
		}
	}
	return nil
}

// FindRoot returns the nearest directory at or above dir holding go.work.
func FindRoot(dir string) (string, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("devstack: %w", err)
	}
	for d := dir; ; d = filepath.Dir(d) {
		if st, err := os.Stat(filepath.Join(d, "go.work")); err == nil && !st.IsDir() {
			return d, nil
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("devstack: no go.work at or above %s", dir)
		}
	}
}
