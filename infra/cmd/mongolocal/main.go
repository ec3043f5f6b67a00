// Command mongolocal serves the MongoDB wire protocol on lungo's engine for
// development and tests (no authentication; loopback by default).
//
//	go run ./infra/cmd/mongolocal --addr 127.0.0.1:27017 [--dbpath DIR]
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/changerelay/changerelay/infra/mongolocal"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "mongolocal:", err)
		os.Exit(1)
	}
}

func run() error {
	cfg := mongolocal.Config{}
	flag.StringVar(&cfg.Addr, "addr", "127.0.0.1:27017", "TCP address to listen on")
	flag.StringVar(&cfg.DBPath, "dbpath", "", "directory for data and change history (default: in memory)")
	flag.StringVar(&cfg.ReplSetName, "replset", "rs0", "replica set name to report")
	flag.IntVar(&cfg.OplogMaxEntries, "oplog-max-entries", 1_000_000, "change history retention by count")
	flag.DurationVar(&cfg.OplogMaxAge, "oplog-max-age", 24*time.Hour, "change history retention by age")
	verbose := flag.Bool("v", false, "log debug messages")
	flag.Parse()

	level := slog.LevelInfo
	if *verbose {
		level = slog.LevelDebug
	}
	cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	srv, err := mongolocal.Start(ctx, cfg)
	if err != nil {
		return err
	}
	fmt.Println(srv.URI())
	<-ctx.Done()
	cfg.Logger.Info("mongolocal: shutting down")
	return srv.Close()
}
