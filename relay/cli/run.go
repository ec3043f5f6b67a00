package cli

import (
	"context"
	"fmt"
	"net"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/changerelay/changerelay/relay/config"
	"github.com/changerelay/changerelay/relay/daemon"
	"github.com/changerelay/changerelay/relay/ops"
)

func load(fs flags, args []string, env Env) (*config.Config, error) {
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	return config.Load(*fs.config, env.Getenv)
}

func runCmd(ctx context.Context, args []string, env Env) error {
	cfg, err := load(newFlags("run", env), args, env)
	if err != nil {
		return err
	}
	log := newLogger(env.Stderr, cfg.LogLevel)
	setMemoryLimit(log)
	d, err := daemon.New(ctx, cfg, log, daemon.Options{})
	if err != nil {
		return err
	}
	return d.Run(ctx)
}

func validateCmd(_ context.Context, args []string, env Env) error {
	cfg, err := load(newFlags("validate-config", env), args, env)
	if err != nil {
		return err
	}
	out, err := yaml.Marshal(cfg)
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "# configuration is valid\n%s", out)
	return nil
}

func healthCmd(ctx context.Context, args []string, env Env) error {
	cfg, err := load(newFlags("healthcheck", env), args, env)
	if err != nil {
		return err
	}
	_, port, err := net.SplitHostPort(cfg.HTTP.Addr)
	if err != nil {
		return fmt.Errorf("http.addr %q: %w", cfg.HTTP.Addr, err)
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	return ops.Check(ctx, "http://"+net.JoinHostPort("127.0.0.1", port)+"/healthz")
}
