package devstack

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/changerelay/changerelay/infra/lambdahost"
	"github.com/changerelay/changerelay/infra/mongolocal"
)

// indexesCommand creates the functions' indexes when present (functions/cmd/indexes).
const indexesCommand = "indexes"

// Function settings as in template.yaml.
var (
	defaultTimeout = 60 * time.Second
	defaultMemory  = 256
	repairTimeout  = 900 * time.Second
	repairMemory   = 1024
)

// Stack is a running Docker-free stack.
type Stack struct {
	cfg   Config
	mongo *mongolocal.Server // nil with Config.MongoURI
	uri   string
	host  *lambdahost.Host

	closeOnce sync.Once
	closeErr  error
}

// Start builds the functions (unless SkipBuild), starts mongolocal (unless
// MongoURI is set), creates the indexes (unless SkipIndexes or there is no
// indexes command) and starts the Lambda host. ctx bounds the start only;
// Close stops everything.
func Start(ctx context.Context, cfg Config) (*Stack, error) {
	cfg.Functions = append([]string(nil), cfg.Functions...)
	if err := cfg.setDefaults(); err != nil {
		return nil, err
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	log := cfg.Logger
	withIndexes := !cfg.SkipIndexes && hasGoFiles(filepath.Join(cfg.Root, "functions", "cmd", indexesCommand))
	if !cfg.SkipBuild {
		names := cfg.Functions
		if withIndexes {
			names = append(append([]string(nil), names...), indexesCommand)
		}
		start := time.Now()
		if err := Build(ctx, cfg.Root, cfg.BinDir, names...); err != nil {
			return nil, err
		}
		log.Info("functions built", "dir", cfg.BinDir, "functions", strings.Join(names, ","), "took", time.Since(start).Round(time.Millisecond))
	}

	s := &Stack{cfg: cfg, uri: cfg.MongoURI}
	if s.uri == "" {
		// mongolocal runs until its Start context ends; the stack runs until Close.
		srv, err := mongolocal.Start(context.WithoutCancel(ctx), mongolocal.Config{Addr: cfg.MongoAddr, DBPath: cfg.DBPath,
			Logger: log.With("component", "mongolocal")})
		if err != nil {
			return nil, fmt.Errorf("devstack: mongolocal: %w", err)
		}
		s.mongo = srv
		s.uri = srv.URI()
		log.Info("mongolocal started", "uri", s.uri)
	}
	if withIndexes {
		if err := s.runIndexes(ctx); err != nil {
			_ = s.Close()
			return nil, err
		}
	}

	hostCfg := lambdahost.Config{
		Addr:         cfg.LambdaAddr,
		QueueTimeout: cfg.QueueTimeout,
		LogDir:       cfg.LogDir,
		Output:       cfg.FunctionOutput,
		Logger:       log.With("component", "lambdahost"),
	}
	for _, name := range cfg.Functions {
		env := map[string]string{"MONGODB_URI": s.uri, "MONGODB_DATABASE": cfg.Database}
		for k, v := range cfg.Env {
			env[k] = v
		}
		fc := lambdahost.FunctionConfig{Name: name, Bootstrap: Bootstrap(cfg.BinDir, name), Env: env,
			Timeout: defaultTimeout, MemoryMB: defaultMemory, Concurrency: cfg.Concurrency}
		if name == "repair" {
			fc.Timeout, fc.MemoryMB = repairTimeout, repairMemory
		}
		hostCfg.Functions = append(hostCfg.Functions, fc)
	}
	host, err := lambdahost.Start(ctx, hostCfg)
	if err != nil {
		_ = s.Close()
		return nil, fmt.Errorf("devstack: %w", err)
	}
	s.host = host
	return s, nil
}

func (s *Stack) runIndexes(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(s.cfg.BinDir, indexesCommand, "bootstrap"))
	cmd.Env = append(os.Environ(), "MONGODB_URI="+s.uri, "MONGODB_DATABASE="+s.cfg.Database)
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("devstack: indexes: %w\n%s", err, strings.TrimSpace(out.String()))
	}
	s.cfg.Logger.Info("indexes created", "database", s.cfg.Database)
	return nil
}

// MongoURI is the connection string of the stack's database server.
func (s *Stack) MongoURI() string { return s.uri }

// Database is the functions' MONGODB_DATABASE.
func (s *Stack) Database() string { return s.cfg.Database }

// LambdaEndpoint is the Invoke API base URL (LAMBDA_ENDPOINT).
func (s *Stack) LambdaEndpoint() string { return s.host.Endpoint() }

// Host is the Lambda host, for its Stats.
func (s *Stack) Host() *lambdahost.Host { return s.host }

// Env is the environment a relay needs to run against the stack.
func (s *Stack) Env() []string {
	return []string{"MONGODB_URI=" + s.MongoURI(), "MONGODB_DATABASE=" + s.Database(), "LAMBDA_ENDPOINT=" + s.LambdaEndpoint()}
}

// Close stops the Lambda host (every function process), then mongolocal.
// It is idempotent.
func (s *Stack) Close() error {
	s.closeOnce.Do(func() {
		var errs []error
		if s.host != nil {
			errs = append(errs, s.host.Close())
		}
		if s.mongo != nil {
			errs = append(errs, s.mongo.Close())
		}
		s.closeErr = errors.Join(errs...)
	})
	return s.closeErr
}

func hasGoFiles(dir string) bool {
	m, _ := filepath.Glob(filepath.Join(dir, "*.go"))
	return len(m) > 0
}
