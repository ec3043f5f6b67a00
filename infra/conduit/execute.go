package conduit

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"go.mongodb.org/mongo-driver/mongo"
)

// ExecConfig configures Execute.
type ExecConfig struct {
	// Concurrency is the number of ops in flight at once; default 1 (in
	// script order). Above 1, ops on the same document may land in any
	// order, as with several application servers.
	Concurrency int
	// Rate paces the script at this many ops per second; 0 is as fast as
	// the database takes them.
	Rate float64
	// Progress, if set, is called after every ProgressEvery ops and at the end.
	Progress      func(ExecStats)
	ProgressEvery int // default 100
	// AfterApply, if set, is called after each op with its index in the
	// script and the time its write was acknowledged (for latency
	// measurements). It must be safe for concurrent use when Concurrency > 1.
	AfterApply func(index int, op Op, done time.Time)
}

// ExecStats counts what Execute did.
type ExecStats struct {
	Ops        int // ops applied (including those that hit a duplicate)
	Total      int // ops in the script
	Inserted   int64
	Matched    int64
	Modified   int64
	Deleted    int64
	Duplicates int // inserts refused by a unique index, tolerated
	Elapsed    time.Duration
}

// Execute applies script to db and returns what it did. A duplicate key
// error (possible when ops race with Concurrency > 1, or when the script
// replays over a database it already changed) is counted, not returned; any
// other error stops the run and is returned with the stats so far.
func Execute(ctx context.Context, db *mongo.Database, script Script, cfg ExecConfig) (ExecStats, error) {
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = 1
	}
	if cfg.ProgressEvery <= 0 {
		cfg.ProgressEvery = 100
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	var (
		mu      sync.Mutex
		stats   = ExecStats{Total: len(script)}
		firstEr error
		next    atomic.Int64
		wg      sync.WaitGroup
	)
	start := time.Now()
	record := func(r Result, dup bool) {
		mu.Lock()
		defer mu.Unlock()
		stats.Ops++
		stats.Inserted += r.Inserted
		stats.Matched += r.Matched
		stats.Modified += r.Modified
		stats.Deleted += r.Deleted
		if dup {
			stats.Duplicates++
		}
		if cfg.Progress != nil && stats.Ops%cfg.ProgressEvery == 0 {
			s := stats
			s.Elapsed = time.Since(start)
			cfg.Progress(s)
		}
	}
	fail := func(err error) {
		mu.Lock()
		defer mu.Unlock()
		if firstEr == nil {
			firstEr = err
			cancel()
		}
	}

	for w := 0; w < cfg.Concurrency; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= len(script) || ctx.Err() != nil {
					return
				}
				if err := pace(ctx, start, i, cfg.Rate); err != nil {
					return
				}
				r, err := script[i].Apply(ctx, db)
				dup := err != nil && mongo.IsDuplicateKeyError(err)
				if err != nil && !dup {
					fail(fmt.Errorf("op %d: %w", i, err))
					return
				}
				if cfg.AfterApply != nil {
					cfg.AfterApply(i, script[i], time.Now())
				}
				record(r, dup)
			}
		}()
	}
	wg.Wait()

	stats.Elapsed = time.Since(start)
	if cfg.Progress != nil {
		cfg.Progress(stats)
	}
	if firstEr == nil && ctx.Err() != nil {
		firstEr = ctx.Err()
	}
	if firstEr != nil && errors.Is(firstEr, context.Canceled) && stats.Ops == len(script) {
		firstEr = nil
	}
	return stats, firstEr
}

// pace waits until op i is due at rate ops per second.
func pace(ctx context.Context, start time.Time, i int, rate float64) error {
	if rate <= 0 {
		return nil
	}
	due := start.Add(time.Duration(float64(i) / rate * float64(time.Second)))
	d := time.Until(due)
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
