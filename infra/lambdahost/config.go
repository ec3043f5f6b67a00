package lambdahost

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"regexp"
	"strings"
	"time"
)

// Defaults applied by Config.setDefaults and FunctionConfig.setDefaults.
const (
	DefaultAddr         = "127.0.0.1:0"
	DefaultQueueTimeout = 10 * time.Second
	DefaultStartTimeout = 15 * time.Second
	DefaultRetryAfter   = time.Second
	DefaultRIELogLevel  = "warn"
	DefaultTimeout      = 3 * time.Second // Lambda's default function timeout
	DefaultMemoryMB     = 128             // Lambda's default memory size
	DefaultConcurrency  = 2
	// MaxPayloadBytes is Lambda's limit for a synchronous request payload (6 MB).
	MaxPayloadBytes = 6 * 1024 * 1024
	// MaxTimeout is Lambda's largest function timeout.
	MaxTimeout = 900 * time.Second
)

// Config configures a Host. The zero value plus at least one function is valid.
type Config struct {
	// Addr is the listen address of the Invoke API. Default "127.0.0.1:0" (a free port).
	Addr string
	// Functions served by the host. Names must be unique.
	Functions []FunctionConfig
	// RIEPath is the aws-lambda-rie binary. Empty: $AWS_LAMBDA_RIE, then
	// aws-lambda-rie on $PATH, then a binary built once into CacheDir (see EnsureRIE).
	RIEPath string
	// CacheDir is where EnsureRIE builds the emulator. Default: the user cache dir.
	CacheDir string
	// RIELogLevel is passed to the emulator's --log-level (its own log lines,
	// not the function's). Default "warn".
	RIELogLevel string
	// Eager starts every environment of every function in Start; otherwise an
	// environment starts on the first invocation that needs it.
	Eager bool
	// QueueTimeout bounds how long a synchronous invocation waits for a free
	// environment before a 429 TooManyRequestsException. Default 10s; a
	// negative value throttles at once when every environment is busy.
	QueueTimeout time.Duration
	// RetryAfter is the Retry-After hint sent with a 429. Default 1s.
	RetryAfter time.Duration
	// StartTimeout bounds how long an environment may take to accept
	// connections after its process starts. Default 15s.
	StartTimeout time.Duration
	// LogDir, when set, receives one file per function, <name>.log, with the
	// output of all its environments (each line prefixed by the environment).
	LogDir string
	// Output, when set, also receives every function output line, prefixed
	// with "[name#env]". For terminals (like `sam local start-lambda`).
	Output io.Writer
	// Logger receives the host's own events and, at debug level, function
	// output lines with the attributes function and env. Nil discards.
	Logger *slog.Logger
}

// FunctionConfig describes one function.
type FunctionConfig struct {
	// Name is the function name callers use (also as an ARN or with a qualifier).
	Name string `json:"name" yaml:"name"`
	// Bootstrap is the path to the function's executable, built for this machine.
	Bootstrap string `json:"bootstrap" yaml:"bootstrap"`
	// Env is the function's environment (Lambda's Environment.Variables).
	Env map[string]string `json:"env,omitempty" yaml:"env,omitempty"`
	// Timeout is the function timeout, in whole seconds. Default 3s, at most 900s.
	Timeout time.Duration `json:"-" yaml:"-"`
	// MemoryMB is reported to the function (AWS_LAMBDA_FUNCTION_MEMORY_SIZE); not enforced. Default 128.
	MemoryMB int `json:"memory,omitempty" yaml:"memory,omitempty"`
	// Concurrency is the pool size: at most this many invocations run at once. Default 2.
	Concurrency int `json:"concurrency,omitempty" yaml:"concurrency,omitempty"`
}

var functionNameRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

func (c *Config) setDefaults() {
	if c.Addr == "" {
		c.Addr = DefaultAddr
	}
	if c.QueueTimeout == 0 {
		c.QueueTimeout = DefaultQueueTimeout
	}
	if c.RetryAfter == 0 {
		c.RetryAfter = DefaultRetryAfter
	}
	if c.StartTimeout == 0 {
		c.StartTimeout = DefaultStartTimeout
	}
	if c.RIELogLevel == "" {
		c.RIELogLevel = DefaultRIELogLevel
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	for i := range c.Functions {
		c.Functions[i].setDefaults()
	}
}

func (f *FunctionConfig) setDefaults() {
	if f.Timeout == 0 {
		f.Timeout = DefaultTimeout
	}
	if f.MemoryMB == 0 {
		f.MemoryMB = DefaultMemoryMB
	}
	if f.Concurrency == 0 {
		f.Concurrency = DefaultConcurrency
	}
}

// Validate reports the first bad setting by name. It checks the config as
// given, so call it after filling in what you want defaulted (Start applies
// defaults first, then validates).
func (c Config) Validate() error {
	if len(c.Functions) == 0 {
		return errors.New("lambdahost: Functions: at least one function is required")
	}
	if c.RetryAfter < 0 {
		return fmt.Errorf("lambdahost: RetryAfter: must not be negative, got %s", c.RetryAfter)
	}
	if c.StartTimeout < 0 {
		return fmt.Errorf("lambdahost: StartTimeout: must not be negative, got %s", c.StartTimeout)
	}
	seen := make(map[string]bool, len(c.Functions))
	for i, f := range c.Functions {
		if err := f.Validate(); err != nil {
			return fmt.Errorf("lambdahost: Functions[%d]: %w", i, err)
		}
		if seen[f.Name] {
			return fmt.Errorf("lambdahost: Functions[%d].Name: duplicate function %q", i, f.Name)
		}
		seen[f.Name] = true
	}
	return nil
}

// Validate reports the first bad field of a function by name.
func (f FunctionConfig) Validate() error {
	if !functionNameRE.MatchString(f.Name) {
		return fmt.Errorf("Name: %q is not a Lambda function name (1-64 of A-Z a-z 0-9 - _)", f.Name)
	}
	if f.Bootstrap == "" {
		return fmt.Errorf("Bootstrap: function %q has no bootstrap path", f.Name)
	}
	st, err := os.Stat(f.Bootstrap)
	if err != nil {
		return fmt.Errorf("Bootstrap: function %q: %w", f.Name, err)
	}
	if st.IsDir() || st.Mode().Perm()&0o111 == 0 {
		return fmt.Errorf("Bootstrap: function %q: %s is not an executable file", f.Name, f.Bootstrap)
	}
	if f.Timeout <= 0 || f.Timeout > MaxTimeout || f.Timeout%time.Second != 0 {
		return fmt.Errorf("Timeout: function %q: want whole seconds in 1s..900s, got %s", f.Name, f.Timeout)
	}
	if f.MemoryMB < 128 || f.MemoryMB > 10240 {
		return fmt.Errorf("MemoryMB: function %q: want 128..10240, got %d", f.Name, f.MemoryMB)
	}
	if f.Concurrency < 1 || f.Concurrency > 256 {
		return fmt.Errorf("Concurrency: function %q: want 1..256, got %d", f.Name, f.Concurrency)
	}
	for k := range f.Env {
		if k == "" || strings.ContainsAny(k, "=\x00") {
			return fmt.Errorf("Env: function %q: bad variable name %q", f.Name, k)
		}
		if reservedEnv[k] {
			return fmt.Errorf("Env: function %q: %s is reserved by the host", f.Name, k)
		}
	}
	return nil
}

// reservedEnv are variables the host sets itself; AWS_LAMBDA_MAX_CONCURRENCY
// would switch the emulator into its managed-instances mode.
var reservedEnv = map[string]bool{
	"AWS_LAMBDA_FUNCTION_NAME":        true,
	"AWS_LAMBDA_FUNCTION_TIMEOUT":     true,
	"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": true,
	"AWS_LAMBDA_FUNCTION_VERSION":     true,
	"AWS_LAMBDA_RUNTIME_API":          true,
	"AWS_LAMBDA_MAX_CONCURRENCY":      true,
}
