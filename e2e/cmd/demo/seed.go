package main

import (
	"context"
	"math/rand/v2"
	"time"

	"go.mongodb.org/mongo-driver/mongo"

	"github.com/changerelay/changerelay/infra/conduit"
)

// seed writes the converged data set, printing each collection's progress.
func seed(ctx context.Context, db *mongo.Database, cfg config, out *printer) (*conduit.Dataset, error) {
	sc := cfg.Seed
	sc.Rand = rand.New(rand.NewPCG(cfg.RandomSeed, cfg.RandomSeed^0x5eed))
	start := time.Now()
	last := ""
	ds, err := conduit.Seed(ctx, db, sc, func(p conduit.Progress) {
		if p.Done == p.Total || p.Collection != last {
			out.Line("%-10s %7d / %d", p.Collection, p.Done, p.Total)
		}
		last = p.Collection
	})
	if err != nil {
		return nil, err
	}
	out.Line("seeded in %s (converged: every derived field already right)", time.Since(start).Round(100*time.Millisecond))
	return ds, nil
}
