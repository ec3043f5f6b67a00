// Package cli implements the relay command line: run, status,
// deadletters list|replay, validate-config and healthcheck.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
)

// Env is the process environment the commands read.
type Env struct {
	Stdout, Stderr io.Writer
	Getenv         func(string) string
}

const usage = `usage: relay <command> [flags]

commands:
  run                         tail the change streams and invoke the functions (the daemon)
  status                      print each route's checkpoint, lag, in-flight count and dead letters
  deadletters list            list dead letters [--route R] [--id ID] [--all] [--json]
  deadletters replay          re-drive dead letters [--route R] [--id ID]
  validate-config             load and validate the configuration, print it
  healthcheck                 GET /healthz of the local relay; exit 0 on 200

every command takes -config relay.yaml (default $RELAY_CONFIG); environment
variables override the file (see README.md).
`

// Main runs the command in args and returns the exit code.
func Main(ctx context.Context, args []string, env Env) int {
	if env.Getenv == nil {
		env.Getenv = os.Getenv
	}
	if len(args) == 0 {
		fmt.Fprint(env.Stderr, usage)
		return 2
	}
	cmd, rest := args[0], args[1:]
	if cmd == "deadletters" {
		if len(rest) == 0 {
			fmt.Fprint(env.Stderr, usage)
			return 2
		}
		cmd, rest = "deadletters "+rest[0], rest[1:]
	}
	commands := map[string]func(context.Context, []string, Env) error{
		"run":                runCmd,
		"status":             statusCmd,
		"deadletters list":   deadLettersList,
		"deadletters replay": deadLettersReplay,
		"validate-config":    validateCmd,
		"healthcheck":        healthCmd,
	}
	f, ok := commands[cmd]
	if !ok {
		if cmd != "help" && cmd != "-h" && cmd != "--help" {
			fmt.Fprintf(env.Stderr, "relay: unknown command %q\n", cmd)
		}
		fmt.Fprint(env.Stderr, usage)
		return 2
	}
	if err := f(ctx, rest, env); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 2
		}
		fmt.Fprintf(env.Stderr, "relay %s: %v\n", cmd, err)
		return 1
	}
	return 0
}

// flags is the flag set of a command, with -config.
type flags struct {
	*flag.FlagSet
	config *string
}

func newFlags(name string, env Env) flags {
	fs := flag.NewFlagSet("relay "+name, flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	return flags{FlagSet: fs, config: fs.String("config", env.Getenv("RELAY_CONFIG"), "configuration file (YAML)")}
}

func newLogger(w io.Writer, level string) *slog.Logger {
	var l slog.Level
	_ = l.UnmarshalText([]byte(strings.ToUpper(level)))
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: l}))
}
