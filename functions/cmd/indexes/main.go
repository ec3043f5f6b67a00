// Command indexes prepares a database for the functions, idempotently:
// pre- and post-images on the source collections and the handlers'
// indexes. It reads MONGODB_URI (or MONGODB_URI_SECRET_ARN) and
// MONGODB_DATABASE. `make indexes` runs it.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/changerelay/changerelay/functions/indexes"
	"github.com/changerelay/changerelay/functions/logging"
	"github.com/changerelay/changerelay/functions/mongoconn"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "indexes:", err)
		os.Exit(1)
	}
}

func run() error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	cfg, err := mongoconn.FromEnv(os.Getenv)
	if err != nil {
		return err
	}
	client, db, err := mongoconn.Connect(ctx, cfg, nil, nil)
	if err != nil {
		return err
	}
	defer client.Disconnect(context.WithoutCancel(ctx))
	if err := indexes.Ensure(ctx, db, logging.CLI(os.Stderr, false)); err != nil {
		return err
	}
	fmt.Println("indexes: database", cfg.Database, "ready")
	return nil
}
