package stack

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/changerelay/changerelay/e2e/harness"
)

// Target names.
const (
	TargetLocal      = "local"      // the Docker-free stack (default)
	TargetLocalStack = "localstack" // LocalStack and a real MongoDB, from the environment
)

// TargetFromEnv returns the target E2E_TARGET selects.
func TargetFromEnv() string {
	if os.Getenv("E2E_TARGET") == TargetLocalStack {
		return TargetLocalStack
	}
	return TargetLocal
}

// Config configures a Stack.
type Config struct {
	// Bins are the built binaries. Required.
	Bins *Binaries
	// LogDir receives one log file per process. Required.
	LogDir string
	// Database is the database functions and relay use; default "conduit"
	// (for LocalStack, $MONGODB_DATABASE or "conduit", since the deployed
	// functions read it).
	Database string
	// Concurrency is each function's pool size on the local host; default 2.
	Concurrency int
	// FunctionTimeout is each function's timeout on the local host; default 60s.
	FunctionTimeout time.Duration
	// FunctionEnv is added to every local function's environment.
	FunctionEnv map[string]string
}

// Stack is a running target: a database and the functions behind a Lambda
// Invoke API endpoint.
type Stack struct {
	cfg            Config
	Target         string
	MongoURI       string
	Database       string
	LambdaEndpoint string
	FunctionPrefix string

	mongo    *harness.Process
	host     *harness.Process
	hostAddr string
	hosts    int
}

// Start starts the target E2E_TARGET selects: the Docker-free stack, or
// the LocalStack one from MONGODB_URI, LAMBDA_ENDPOINT and FUNCTION_PREFIX.
func Start(ctx context.Context, cfg Config) (*Stack, error) {
	if TargetFromEnv() == TargetLocalStack {
		return FromEnv(cfg)
	}
	return StartLocal(ctx, cfg)
}

// FromEnv describes the LocalStack target; nothing is started.
func FromEnv(cfg Config) (*Stack, error) {
	s := &Stack{cfg: cfg, Target: TargetLocalStack,
		MongoURI:       os.Getenv("MONGODB_URI"),
		LambdaEndpoint: os.Getenv("LAMBDA_ENDPOINT"),
		FunctionPrefix: os.Getenv("FUNCTION_PREFIX"),
		Database:       os.Getenv("MONGODB_DATABASE"),
	}
	if s.Database == "" {
		s.Database = "conduit"
	}
	if s.MongoURI == "" || s.LambdaEndpoint == "" {
		return nil, errors.New("stack: E2E_TARGET=localstack needs MONGODB_URI and LAMBDA_ENDPOINT (and FUNCTION_PREFIX for a SAM stack)")
	}
	return s, nil
}

// StartLocal starts mongolocal (in memory, free port) and the local Lambda
// host serving every function against it.
func StartLocal(ctx context.Context, cfg Config) (*Stack, error) {
	if cfg.Bins == nil || cfg.LogDir == "" {
		return nil, errors.New("stack: Config.Bins and Config.LogDir are required")
	}
	if cfg.Database == "" {
		cfg.Database = "conduit"
	}
	if cfg.Concurrency == 0 {
		cfg.Concurrency = 2
	}
	if cfg.FunctionTimeout == 0 {
		cfg.FunctionTimeout = 60 * time.Second
	}
	s := &Stack{cfg: cfg, Target: TargetLocal, Database: cfg.Database}
	mongo, err := harness.Start(harness.Spec{
		Name: "mongolocal", Path: cfg.Bins.Mongolocal, Args: []string{"--addr", "127.0.0.1:0"},
		LogFile: filepath.Join(cfg.LogDir, "mongolocal.log"),
	})
	if err != nil {
		return nil, err
	}
	s.mongo = mongo
	m, err := mongo.WaitLine(ctx, `^(mongodb://\S+)`)
	if err != nil {
		s.Close()
		return nil, fmt.Errorf("stack: mongolocal did not print its URI: %w\n%s", err, mongo.Tail(20))
	}
	s.MongoURI = m[1]
	if err := s.StartFunctions(ctx, nil); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// StartFunctions starts the local Lambda host (on the same address as
// before, if it ran already). envOf, if not nil, adds environment to single
// functions by name (it wins over the stack's).
func (s *Stack) StartFunctions(ctx context.Context, envOf map[string]map[string]string) error {
	if s.Target != TargetLocal {
		return errors.New("stack: the function host is not under test control on " + s.Target)
	}
	if s.host != nil && s.host.Running() {
		return errors.New("stack: the function host is running already")
	}
	addr := s.hostAddr
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	env := map[string]string{"MONGODB_URI": s.MongoURI, "MONGODB_DATABASE": s.Database}
	for k, v := range s.cfg.FunctionEnv {
		env[k] = v
	}
	args := []string{
		"--addr", addr,
		"--rie", s.cfg.Bins.RIE,
		"--concurrency", fmt.Sprint(s.cfg.Concurrency),
		"--timeout", fmt.Sprint(int(s.cfg.FunctionTimeout.Seconds())),
		"--log-dir", filepath.Join(s.cfg.LogDir, "functions"),
	}
	keys := make([]string, 0, len(env))
	for k := range env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		args = append(args, "--env", k+"="+env[k])
	}
	s.hosts++
	if len(envOf) == 0 {
		for _, name := range FunctionNames {
			args = append(args, "--function", name+"="+s.cfg.Bins.Functions[name])
		}
	} else {
		file, err := s.functionsFile(envOf)
		if err != nil {
			return err
		}
		args = append(args, "--functions", file)
	}
	host, err := harness.Start(harness.Spec{
		Name: "lambdahost", Path: s.cfg.Bins.LambdaHost, Args: append(args, "--quiet"),
		LogFile: filepath.Join(s.cfg.LogDir, fmt.Sprintf("lambdahost-%d.log", s.hosts)),
	})
	if err != nil {
		return err
	}
	s.host = host
	m, err := host.WaitLine(ctx, `LAMBDA_ENDPOINT=(http://(\S+))`)
	if err != nil {
		_ = host.Kill()
		return fmt.Errorf("stack: lambdahost did not print its endpoint: %w\n%s", err, host.Tail(20))
	}
	s.LambdaEndpoint, s.hostAddr = m[1], m[2]
	return nil
}

// functionsFile writes a lambdahost functions file with per-function
// environment.
func (s *Stack) functionsFile(envOf map[string]map[string]string) (string, error) {
	var b strings.Builder
	b.WriteString("functions:\n")
	for _, name := range FunctionNames {
		fmt.Fprintf(&b, "  - name: %s\n    bootstrap: %q\n", name, s.cfg.Bins.Functions[name])
		if env := envOf[name]; len(env) > 0 {
			b.WriteString("    env:\n")
			keys := make([]string, 0, len(env))
			for k := range env {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				fmt.Fprintf(&b, "      %s: %q\n", k, env[k])
			}
		}
	}
	path := filepath.Join(s.cfg.LogDir, fmt.Sprintf("functions-%d.yaml", s.hosts))
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		return "", fmt.Errorf("stack: %w", err)
	}
	return path, nil
}

// StopFunctions stops the local Lambda host (SIGKILL when kill is true),
// so that invocations fail until StartFunctions.
func (s *Stack) StopFunctions(kill bool) error {
	if s.host == nil {
		return nil
	}
	if kill {
		return s.host.Kill()
	}
	return s.host.Stop(10 * time.Second)
}

// Processes are the processes the stack started (for showing logs).
func (s *Stack) Processes() []*harness.Process {
	var out []*harness.Process
	for _, p := range []*harness.Process{s.mongo, s.host} {
		if p != nil {
			out = append(out, p)
		}
	}
	return out
}

// Close stops whatever the stack started.
func (s *Stack) Close() error {
	var errs []error
	if s.host != nil {
		errs = append(errs, s.host.Stop(10*time.Second))
	}
	if s.mongo != nil {
		errs = append(errs, s.mongo.Stop(10*time.Second))
	}
	return errors.Join(errs...)
}

func startDevstackProcess(cfg Config, binDir string) (*harness.Process, error) {
	return harness.Start(harness.Spec{
		Name: "devstack", Path: cfg.Bins.Devstack,
		Args: []string{"--mongo-addr", "127.0.0.1:0", "--lambda-addr", "127.0.0.1:0",
			"--bin-dir", binDir, "--skip-build", "--quiet", "--log-dir", filepath.Join(cfg.LogDir, "functions"),
			"--concurrency", fmt.Sprint(cmp.Or(cfg.Concurrency, 2))},
		Env:     []string{"AWS_LAMBDA_RIE=" + cfg.Bins.RIE},
		LogFile: filepath.Join(cfg.LogDir, "devstack.log"),
	})
}
