// Command relay tails MongoDB change streams and invokes Lambda functions
// with the events. See relay/README.md.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/changerelay/changerelay/relay/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Main(ctx, os.Args[1:], cli.Env{Stdout: os.Stdout, Stderr: os.Stderr})
	stop()
	os.Exit(code)
}
