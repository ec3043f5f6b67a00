// Package boot wires a function's dependencies from its environment, once
// per execution environment: configuration, the MongoDB client, the store.
// The mains stay a few lines over it.
package boot

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"

	"go.mongodb.org/mongo-driver/event"

	"github.com/changerelay/changerelay/functions/mongoconn"
	"github.com/changerelay/changerelay/functions/repair"
	"github.com/changerelay/changerelay/functions/store"
	"github.com/changerelay/changerelay/functions/sync"
)

// Options adjust Store.
type Options struct {
	// PageSize of scans and bulk writes (0: store default).
	PageSize int
	// Monitor observes every database command (nil: none).
	Monitor *event.CommandMonitor
}

// Store reads the configuration through getenv, connects (reading the
// secret if configured) and returns the store.
func Store(ctx context.Context, getenv func(string) string, log *slog.Logger, opts Options) (*store.Store, error) {
	cfg, err := mongoconn.FromEnv(getenv)
	if err != nil {
		return nil, fmt.Errorf("configuration: %w", err)
	}
	_, db, err := mongoconn.Connect(ctx, cfg, nil, opts.Monitor)
	if err != nil {
		return nil, err
	}
	log.Debug("database configured", "database", cfg.Database, "callTimeout", cfg.CallTimeout.String())
	return store.New(store.Config{DB: db, CallTimeout: cfg.CallTimeout, PageSize: opts.PageSize, Logger: log})
}

// RepairHandler is the repair function's Lambda handler: the payload is
// {"dryRun": bool} or a scheduled event; the reply is the report.
func RepairHandler(st *store.Store, log *slog.Logger) func(context.Context, json.RawMessage) (repair.Report, error) {
	return func(ctx context.Context, payload json.RawMessage) (repair.Report, error) {
		req, err := repair.ParseRequest(payload)
		if err != nil {
			log.ErrorContext(ctx, "bad repair payload", "error", err)
			return repair.Report{}, err
		}
		return repair.Run(ctx, repair.Config{Store: st, DryRun: req.DryRun, Logger: log})
	}
}

// Handler builds, from the environment, the handler of the function that
// owns the source collection coll (users, articles, comments, favorites).
func Handler(ctx context.Context, getenv func(string) string, log *slog.Logger, coll string) (*sync.Handler, error) {
	st, err := Store(ctx, getenv, log, Options{})
	if err != nil {
		return nil, err
	}
	return sync.New(coll, sync.Config{Store: st, Logger: log})
}
