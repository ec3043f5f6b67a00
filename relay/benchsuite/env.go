package benchsuite

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"go.mongodb.org/mongo-driver/mongo"
	"go.mongodb.org/mongo-driver/mongo/options"

	"github.com/changerelay/changerelay/infra/conduit"
	"github.com/changerelay/changerelay/infra/devstack"
	"github.com/changerelay/changerelay/infra/lambdahost"
	"github.com/changerelay/changerelay/infra/mongolocal"
)

// EnvConfig configures the stack the configurations run on.
type EnvConfig struct {
	Root   string // repository root (go.work); default: found from the working directory
	BinDir string // builds; default Root/bin/bench
	LogDir string // function and relay logs
	Scale  Scale
	// SkipBuild reuses the binaries already in BinDir.
	SkipBuild bool
}

// Env is the Docker-free stack: an in-memory mongolocal, a counting proxy in
// front of it for everything under test, the functions under lambdahost,
// and the relay binary.
type Env struct {
	cfg      EnvConfig
	Mongo    *mongolocal.Server
	Proxy    *DBProxy
	Stack    *devstack.Stack
	Client   *mongo.Client // the bench's own connection, not through the proxy
	DB       *mongo.Database
	RelayBin string
}

// StartEnv builds the functions and the relay, and starts the stack.
func StartEnv(ctx context.Context, cfg EnvConfig) (*Env, error) {
	if cfg.Root == "" {
		wd, err := os.Getwd()
		if err != nil {
			return nil, err
		}
		if cfg.Root, err = devstack.FindRoot(wd); err != nil {
			return nil, err
		}
	}
	if cfg.BinDir == "" {
		cfg.BinDir = filepath.Join(cfg.Root, "bin", "bench")
	}
	if cfg.LogDir == "" {
		cfg.LogDir = filepath.Join(cfg.BinDir, "logs")
	}
	if err := os.MkdirAll(cfg.LogDir, 0o755); err != nil {
		return nil, err
	}
	e := &Env{cfg: cfg, RelayBin: filepath.Join(cfg.BinDir, "relay")}
	if !cfg.SkipBuild {
		if err := goBuild(ctx, cfg.Root, e.RelayBin, "./relay/cmd/relay"); err != nil {
			return nil, err
		}
	}
	srv, err := mongolocal.Start(context.WithoutCancel(ctx), mongolocal.Config{OplogMaxEntries: cfg.Scale.Retention, OplogMaxAge: 24 * time.Hour})
	if err != nil {
		return nil, fmt.Errorf("mongolocal: %w", err)
	}
	e.Mongo = srv
	if e.Proxy, err = StartDBProxy(srv.Addr()); err != nil {
		e.Close()
		return nil, err
	}
	e.Stack, err = devstack.Start(ctx, devstack.Config{Root: cfg.Root, BinDir: filepath.Join(cfg.BinDir, "functions"),
		SkipBuild: cfg.SkipBuild, MongoURI: e.Proxy.URI(), Concurrency: cfg.Scale.HostConcurrency,
		LogDir: filepath.Join(cfg.LogDir, "functions"), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		e.Close()
		return nil, err
	}
	e.Client, err = mongo.Connect(ctx, options.Client().ApplyURI(srv.URI()).SetAppName("bench"))
	if err != nil {
		e.Close()
		return nil, err
	}
	e.DB = e.Client.Database(e.Stack.Database())
	return e, nil
}

// Reset drops the database, recreates the functions' indexes (and
// pre-image settings) and inserts ds converged.
func (e *Env) Reset(ctx context.Context, ds *conduit.Dataset) error {
	if err := e.DB.Drop(ctx); err != nil {
		return fmt.Errorf("drop: %w", err)
	}
	cmd := exec.CommandContext(ctx, filepath.Join(e.cfg.BinDir, "functions", "indexes", "bootstrap"))
	cmd.Env = append(os.Environ(), "MONGODB_URI="+e.Mongo.URI(), "MONGODB_DATABASE="+e.DB.Name())
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("indexes: %w\n%s", err, strings.TrimSpace(out.String()))
	}
	return InsertDataset(ctx, e.DB, ds)
}

// LambdaStats returns the host's counters.
func (e *Env) LambdaStats() lambdahost.Stats { return e.Stack.Host().Stats() }

// FunctionPIDs lists the emulator and runtime processes of the functions.
func (e *Env) FunctionPIDs() []int {
	var pids []int
	for _, fs := range e.LambdaStats().Functions {
		for _, env := range fs.Environments {
			if env.PID > 0 {
				pids = append(pids, env.PID)
			}
			pids = append(pids, env.RuntimePIDs...)
		}
	}
	return pids
}

// Close stops everything.
func (e *Env) Close() {
	if e.Client != nil {
		_ = e.Client.Disconnect(context.Background())
	}
	if e.Stack != nil {
		_ = e.Stack.Close()
	}
	if e.Proxy != nil {
		_ = e.Proxy.Close()
	}
	if e.Mongo != nil {
		_ = e.Mongo.Close()
	}
}

func goBuild(ctx context.Context, root, out, pkg string) error {
	cmd := exec.CommandContext(ctx, "go", "build", "-o", out, pkg)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build %s: %w\n%s", pkg, err, b)
	}
	return nil
}
