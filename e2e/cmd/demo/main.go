// Command demo runs the whole changerelay pipeline on the Docker-free stack
// in one go (`make demo`): it builds every binary, starts mongolocal and
// the local Lambda host with the functions, prepares and seeds a
// RealWorld-like database, starts the relay, plays a script of changes
// (renames, retagging, favorite storms, a mixed workload, deletes) while
// showing progress, lag and drift, then reports how long convergence took,
// how many events and invocations it cost, runs a repair dry run that must
// find zero drift, and shuts everything down.
//
//	go run ./e2e/cmd/demo [-users 300 -articles 3000 -comments 6000 -favorites 30000] [-quick] [-keep]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	cfg := defaultConfig()
	flag.IntVar(&cfg.Seed.Users, "users", cfg.Seed.Users, "users to seed")
	flag.IntVar(&cfg.Seed.Articles, "articles", cfg.Seed.Articles, "articles to seed")
	flag.IntVar(&cfg.Seed.Comments, "comments", cfg.Seed.Comments, "comments to seed")
	flag.IntVar(&cfg.Seed.Favorites, "favorites", cfg.Seed.Favorites, "favorites to seed")
	flag.Uint64Var(&cfg.RandomSeed, "seed", cfg.RandomSeed, "random seed of the data set and the script")
	flag.Float64Var(&cfg.Scale, "scale", cfg.Scale, "multiplies the number of steps of every phase of the script")
	quick := flag.Bool("quick", false, "a small data set and script (for a smoke test)")
	flag.StringVar(&cfg.BinDir, "bin", "", "use binaries already built in this directory instead of building")
	flag.BoolVar(&cfg.Keep, "keep", false, "keep the logs directory")
	flag.DurationVar(&cfg.Timeout, "timeout", cfg.Timeout, "give up after this long")
	flag.Parse()
	if *quick {
		cfg.quick()
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()
	start := time.Now()
	err := run(ctx, cfg, newPrinter(os.Stdout))
	switch {
	case errors.Is(err, errDrift):
		fmt.Fprintf(os.Stderr, "demo: %v\n", err)
		os.Exit(1)
	case err != nil:
		fmt.Fprintf(os.Stderr, "demo: %v (after %s)\n", err, time.Since(start).Round(time.Second))
		os.Exit(1)
	}
}
