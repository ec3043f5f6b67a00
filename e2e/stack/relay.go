package stack

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/changerelay/changerelay/e2e/harness"
)

// RelayConfig configures one relay process.
type RelayConfig struct {
	// Name labels the process and its log file; default "relay".
	Name string
	// YAML, when set, is written to a file passed with --config.
	YAML string
	// InitialSync sets RELAY_INITIAL_SYNC ("repair" or "now"); "" keeps
	// the relay's default.
	InitialSync string
	// Owner sets RELAY_OWNER (the lease owner); default the Name.
	Owner string
	// LeaseDuration sets RELAY_LEASE_DURATION; default 3s so a restarted
	// relay takes over quickly after a SIGKILL.
	LeaseDuration time.Duration
	// Env is added last (it wins).
	Env []string
}

// Relay is a running relay process.
type Relay struct {
	*harness.Process
	// HTTPAddr serves /healthz, /readyz and /metrics.
	HTTPAddr string
	env      []string
	args     []string
	bin      string
}

// RelayEnv is the environment a relay (or a relay subcommand) needs to
// reach this stack.
func (s *Stack) RelayEnv() []string {
	env := []string{
		"MONGODB_URI=" + s.MongoURI,
		"MONGODB_DATABASE=" + s.Database,
		"LAMBDA_ENDPOINT=" + s.LambdaEndpoint,
		"FUNCTION_PREFIX=" + s.FunctionPrefix,
	}
	return append(env, awsEnv()...)
}

// awsEnv supplies a region and dummy credentials unless the environment has
// them, so the AWS SDK never goes looking for instance metadata.
func awsEnv() []string {
	var env []string
	if os.Getenv("AWS_REGION") == "" {
		env = append(env, "AWS_REGION=us-east-1")
	}
	if os.Getenv("AWS_ACCESS_KEY_ID") == "" {
		env = append(env, "AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test")
	}
	return env
}

// StartRelay starts `relay run` against the stack and returns once it has
// started; call WaitReady to wait for /readyz.
func (s *Stack) StartRelay(ctx context.Context, cfg RelayConfig) (*Relay, error) {
	if cfg.Name == "" {
		cfg.Name = "relay"
	}
	if cfg.Owner == "" {
		cfg.Owner = cfg.Name
	}
	if cfg.LeaseDuration == 0 {
		cfg.LeaseDuration = 3 * time.Second
	}
	addr, err := harness.FreeAddr()
	if err != nil {
		return nil, err
	}
	env := append(s.RelayEnv(),
		"RELAY_HTTP_ADDR="+addr,
		"RELAY_OWNER="+cfg.Owner,
		"RELAY_LEASE_DURATION="+cfg.LeaseDuration.String(),
		"LOG_LEVEL=info",
	)
	if cfg.InitialSync != "" {
		env = append(env, "RELAY_INITIAL_SYNC="+cfg.InitialSync)
	}
	env = append(env, cfg.Env...)
	args := []string{"run"}
	if cfg.YAML != "" {
		path := filepath.Join(s.cfg.LogDir, cfg.Name+".yaml")
		if err := os.WriteFile(path, []byte(cfg.YAML), 0o644); err != nil {
			return nil, fmt.Errorf("stack: %w", err)
		}
		args = append(args, "--config", path)
	}
	p, err := harness.Start(harness.Spec{
		Name: cfg.Name, Path: s.cfg.Bins.Relay, Args: args, Env: env,
		LogFile: filepath.Join(s.cfg.LogDir, cfg.Name+".log"),
	})
	if err != nil {
		return nil, err
	}
	return &Relay{Process: p, HTTPAddr: addr, env: env, args: args, bin: s.cfg.Bins.Relay}, nil
}

// WaitReady waits until /readyz answers 200.
func (r *Relay) WaitReady(ctx context.Context) error {
	if err := harness.WaitHTTP(ctx, "http://"+r.HTTPAddr+"/readyz", r.Process); err != nil {
		return fmt.Errorf("stack: relay %s not ready: %w\n%s", r.Name(), err, r.Tail(30))
	}
	return nil
}

// Metrics scrapes the relay's /metrics.
func (r *Relay) Metrics(ctx context.Context) (harness.Metrics, error) {
	return harness.Scrape(ctx, "http://"+r.HTTPAddr+"/metrics")
}

// Command runs a relay subcommand (status, deadletters list|replay, ...)
// with the relay's environment and configuration, and returns its output.
func (r *Relay) Command(ctx context.Context, args ...string) (string, error) {
	full := append([]string{}, args...)
	for i := 1; i+1 < len(r.args); i++ { // pass --config along
		if r.args[i] == "--config" {
			full = append(full, "--config", r.args[i+1])
		}
	}
	return runCommand(ctx, r.bin, r.env, full...)
}

// RelayCommand runs a relay subcommand against the stack without a running
// relay.
func (s *Stack) RelayCommand(ctx context.Context, args ...string) (string, error) {
	return runCommand(ctx, s.cfg.Bins.Relay, s.RelayEnv(), args...)
}

// RunIndexes runs the indexes command (idempotent) against the stack.
func (s *Stack) RunIndexes(ctx context.Context) (string, error) {
	return runCommand(ctx, s.cfg.Bins.Indexes, s.RelayEnv())
}

func runCommand(ctx context.Context, bin string, env []string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = append(os.Environ(), env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return out.String(), fmt.Errorf("stack: %s %v: %w\n%s", filepath.Base(bin), args, err, tailLines(out.String(), 5))
	}
	return out.String(), nil
}

// tailLines returns the last n lines of s.
func tailLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// StartRelayReady starts a relay and waits for /readyz. If the relay exits
// because another process took its free port in the meantime, it tries
// again on a new port (at most three times).
func (s *Stack) StartRelayReady(ctx context.Context, cfg RelayConfig) (*Relay, error) {
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		r, err := s.StartRelay(ctx, cfg)
		if err != nil {
			return nil, err
		}
		err = r.WaitReady(ctx)
		if err == nil {
			return r, nil
		}
		lastErr = err
		_ = r.Kill()
		if !strings.Contains(r.Tail(50), "address already in use") {
			return r, err
		}
	}
	return nil, lastErr
}
