package main

import (
	"time"

	"github.com/changerelay/changerelay/infra/conduit"
)

// config is what the demo does, and at what size.
type config struct {
	Seed       conduit.SeedConfig
	RandomSeed uint64
	// Scale multiplies every phase's steps.
	Scale float64
	// Storm sizes the favorite storms.
	HotArticles, StormSize, StormChunk int
	// BinDir holds prebuilt binaries; "" builds them.
	BinDir string
	// Keep keeps the logs.
	Keep    bool
	Timeout time.Duration
	// ConvergeTimeout bounds the wait after the last write.
	ConvergeTimeout time.Duration
}

func defaultConfig() config {
	return config{
		Seed:        conduit.SeedConfig{Users: 300, Articles: 3000, Comments: 6000, Favorites: 30000, Tags: 40},
		RandomSeed:  2024,
		Scale:       1,
		HotArticles: 5, StormSize: 300, StormChunk: 50,
		Timeout:         20 * time.Minute,
		ConvergeTimeout: 5 * time.Minute,
	}
}

// quick shrinks everything for a smoke test.
func (c *config) quick() {
	c.Seed = conduit.SeedConfig{Users: 40, Articles: 200, Comments: 400, Favorites: 1000, Tags: 15}
	c.Scale = 0.2
	c.HotArticles, c.StormSize, c.StormChunk = 2, 40, 10
	c.ConvergeTimeout = 2 * time.Minute
}
