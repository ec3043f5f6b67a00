// Command lambdahost serves the AWS Lambda Invoke API on one port for
// functions built as local executables, each run by pools of the official
// runtime interface emulator: the Docker-free twin of `sam local start-lambda`.
//
//	go run ./infra/cmd/lambdahost --addr 127.0.0.1:3002 --functions functions.yaml
//	go run ./infra/cmd/lambdahost --function users=bin/local/users/bootstrap --env MONGODB_URI=... --concurrency 2
//
// It prints LAMBDA_ENDPOINT=http://... on stdout when ready and stops every
// environment on SIGINT or SIGTERM.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/changerelay/changerelay/infra/lambdahost"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "lambdahost:", err)
		os.Exit(1)
	}
}

func run() error {
	var (
		cfg       lambdahost.Config
		file      string
		fns       []lambdahost.FunctionConfig
		env       = map[string]string{}
		conc      int
		timeout   int
		memory    int
		verbose   bool
		quietFunc bool
	)
	flag.StringVar(&cfg.Addr, "addr", "127.0.0.1:3002", "listen address of the Invoke API")
	flag.StringVar(&file, "functions", "", "YAML or JSON file describing the functions")
	flag.Func("function", "a function as name=path/to/bootstrap (repeatable)", func(s string) error {
		f, err := lambdahost.ParseFunctionFlag(s)
		fns = append(fns, f)
		return err
	})
	flag.Func("env", "K=V added to every function's environment (repeatable)", func(s string) error {
		k, v, ok := strings.Cut(s, "=")
		if !ok || k == "" {
			return fmt.Errorf("want K=V, got %q", s)
		}
		env[k] = v
		return nil
	})
	flag.IntVar(&conc, "concurrency", lambdahost.DefaultConcurrency, "environments per function, unless the functions file says otherwise")
	flag.IntVar(&timeout, "timeout", int(lambdahost.DefaultTimeout.Seconds()), "function timeout in seconds, unless the functions file says otherwise")
	flag.IntVar(&memory, "memory", lambdahost.DefaultMemoryMB, "memory size in MB reported to functions, unless the functions file says otherwise")
	flag.BoolVar(&cfg.Eager, "eager", false, "start every environment now instead of on first use")
	flag.DurationVar(&cfg.QueueTimeout, "queue-timeout", lambdahost.DefaultQueueTimeout, "how long an invocation waits for a free environment before 429")
	flag.StringVar(&cfg.LogDir, "log-dir", "", "directory for per-function log files (<name>.log)")
	flag.StringVar(&cfg.RIEPath, "rie", "", "aws-lambda-rie binary (default: $AWS_LAMBDA_RIE, $PATH, or built once into the user cache)")
	flag.StringVar(&cfg.RIELogLevel, "rie-log-level", lambdahost.DefaultRIELogLevel, "log level of the emulator's own messages")
	flag.BoolVar(&quietFunc, "quiet", false, "do not copy function output to stderr")
	flag.BoolVar(&verbose, "v", false, "log debug messages")
	flag.Parse()

	level := slog.LevelInfo
	if verbose {
		level = slog.LevelDebug
	}
	cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	if !quietFunc {
		cfg.Output = os.Stderr
	}

	if file != "" {
		loaded, err := lambdahost.LoadFunctions(file)
		if err != nil {
			return err
		}
		fns = append(fns, loaded...)
	}
	if len(fns) == 0 {
		return errors.New("no functions: give --functions FILE or --function name=path (see -h)")
	}
	for i := range fns {
		f := &fns[i]
		if f.Concurrency == 0 {
			f.Concurrency = conc
		}
		if f.Timeout == 0 {
			f.Timeout = time.Duration(timeout) * time.Second
		}
		if f.MemoryMB == 0 {
			f.MemoryMB = memory
		}
		if len(env) > 0 {
			merged := make(map[string]string, len(env)+len(f.Env))
			for k, v := range env {
				merged[k] = v
			}
			for k, v := range f.Env {
				merged[k] = v
			}
			f.Env = merged
		}
	}
	cfg.Functions = fns

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	host, err := lambdahost.Start(ctx, cfg)
	if err != nil {
		return err
	}
	fmt.Printf("LAMBDA_ENDPOINT=%s\n", host.Endpoint())
	<-ctx.Done()
	cfg.Logger.Info("lambdahost: shutting down")
	return host.Close()
}
