package conduit_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/changerelay/changerelay/infra/conduit"
	"github.com/changerelay/changerelay/infra/mongotest"
)

// demoSize is the data set of `make demo`.
var demoSize = conduit.SeedConfig{Users: 300, Articles: 3000, Comments: 6000, Favorites: 30000, Tags: 40}

func BenchmarkSeed(b *testing.B) {
	client := mongotest.Client(b)
	for i := 0; b.Loop(); i++ {
		db := client.Database(fmt.Sprintf("bench_seed_%04d", i))
		cfg := demoSize
		cfg.Rand = newRand(1)
		_, err := conduit.Seed(context.Background(), db, cfg, nil)
		require.NoError(b, err)
		b.StopTimer()
		require.NoError(b, db.Drop(context.Background()))
		b.StartTimer()
	}
}

func BenchmarkCheck(b *testing.B) {
	db := mongotest.Database(b)
	cfg := demoSize
	cfg.Rand = newRand(1)
	_, err := conduit.Seed(context.Background(), db, cfg, nil)
	require.NoError(b, err)
	for b.Loop() {
		rep, err := conduit.Check(context.Background(), db)
		require.NoError(b, err)
		require.True(b, rep.OK())
	}
}

func BenchmarkGenerate(b *testing.B) {
	cfg := demoSize
	cfg.Rand = newRand(1)
	ds, err := cfg.Generate()
	require.NoError(b, err)
	for b.Loop() {
		_, err := conduit.Generate(ds, conduit.WorkloadConfig{Rand: newRand(2)}, 1000, nil)
		require.NoError(b, err)
	}
}
