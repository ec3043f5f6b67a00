// Command devstack runs the Docker-free stack until Ctrl-C: mongolocal, the
// functions built for this machine, and the local Lambda host serving them.
// When everything is ready it prints, on stdout, lines a shell can source:
//
//	MONGODB_URI=mongodb://127.0.0.1:27017/?replicaSet=rs0
//	MONGODB_DATABASE=conduit
//	LAMBDA_ENDPOINT=http://127.0.0.1:3002
//
// Logs and function output go to stderr (and bin/local/logs/<function>.log).
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/changerelay/changerelay/infra/devstack"
	"github.com/changerelay/changerelay/infra/lambdahost"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "devstack:", err)
		os.Exit(1)
	}
}

func run() error {
	cfg := devstack.Config{Env: map[string]string{}}
	var functions string
	var quiet, verbose bool
	flag.StringVar(&cfg.MongoAddr, "mongo-addr", "127.0.0.1:27017", "mongolocal listen address (127.0.0.1:0 for a free port)")
	flag.StringVar(&cfg.MongoURI, "mongo-uri", "", "use this MongoDB (a replica set) instead of starting mongolocal")
	flag.StringVar(&cfg.DBPath, "dbpath", "", "persist mongolocal's data here (default: in memory)")
	flag.StringVar(&cfg.Database, "database", "conduit", "the functions' MONGODB_DATABASE")
	flag.StringVar(&cfg.LambdaAddr, "lambda-addr", "127.0.0.1:3002", "Invoke API listen address (127.0.0.1:0 for a free port)")
	flag.IntVar(&cfg.Concurrency, "concurrency", 2, "execution environments per function")
	flag.DurationVar(&cfg.QueueTimeout, "queue-timeout", lambdahost.DefaultQueueTimeout, "how long an invocation waits for a free environment before 429")
	flag.StringVar(&functions, "functions", strings.Join(devstack.DefaultFunctions, ","), "functions to build and serve")
	flag.StringVar(&cfg.BinDir, "bin-dir", "", "where native bootstraps go (default <repo>/bin/local)")
	flag.StringVar(&cfg.LogDir, "log-dir", "", "per-function log files (default <bin-dir>/logs; - for none)")
	flag.BoolVar(&cfg.SkipBuild, "skip-build", false, "serve the bootstraps already built")
	flag.BoolVar(&cfg.SkipIndexes, "skip-indexes", false, "do not run functions/cmd/indexes")
	flag.Func("env", "K=V added to every function's environment (repeatable)", func(s string) error {
		k, v, ok := strings.Cut(s, "=")
		if !ok || k == "" {
			return fmt.Errorf("want K=V, got %q", s)
		}
		cfg.Env[k] = v
		return nil
	})
	flag.BoolVar(&quiet, "quiet", false, "do not copy function output to stderr")
	flag.BoolVar(&verbose, "v", false, "log debug messages")
	flag.Parse()
	cfg.Functions = strings.Split(functions, ",")

	level := slog.LevelInfo
	if verbose {
		level = slog.LevelDebug
	}
	cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	if !quiet {
		cfg.FunctionOutput = os.Stderr
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	stack, err := devstack.Start(ctx, cfg)
	if err != nil {
		return err
	}
	for _, kv := range stack.Env() {
		fmt.Println(kv)
	}
	cfg.Logger.Info("devstack ready: export the lines above and run the relay (make relay); Ctrl-C stops everything")
	<-ctx.Done()
	cfg.Logger.Info("devstack: shutting down")
	return stack.Close()
}
