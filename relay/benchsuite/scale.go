package benchsuite

import (
	"fmt"
	"time"
)

// Scale sizes the data set and the workloads.
type Scale struct {
	Name string
	// Data set (seeded converged before every run).
	Users, Articles, Comments, Favorites int
	// HeavyUsers are the top article authors; each is also given
	// HeavyComments comments (the fan-out's targets).
	HeavyUsers, HeavyComments int
	// Steady: SteadyOps writes of the default RealWorld mix at SteadyRate
	// writes per second, one at a time.
	SteadyOps  int
	SteadyRate float64
	// Burst: a favorite storm of at least StormEvents favorites on
	// HotArticles articles (insertMany of 50, some unfavorites).
	StormEvents, HotArticles int
	// Fan-out: every heavy user renamed FanoutRenames times.
	FanoutRenames int
	// Backlog: at least BacklogEvents source events of the default mix,
	// written while the configuration is stopped.
	BacklogEvents int
	// RunTimeout bounds one (configuration, workload) run's convergence.
	RunTimeout time.Duration
	// HostConcurrency is lambdahost's pool size per function.
	HostConcurrency int
	// Retention is mongolocal's change-log size (entries): it must cover a
	// backlog and the derived writes of a run.
	Retention int
}

// Scales are the predefined sizes.
var Scales = map[string]Scale{
	// tiny: the go test -bench variant.
	"tiny": {Name: "tiny", Users: 400, Articles: 1000, Comments: 2000, Favorites: 2000,
		HeavyUsers: 1, HeavyComments: 200, SteadyOps: 300, SteadyRate: 30,
		StormEvents: 1000, HotArticles: 3, FanoutRenames: 2, BacklogEvents: 2000,
		RunTimeout: 3 * time.Minute, HostConcurrency: 4, Retention: 200_000},
	// small: `make bench BENCH_SCALE=small`, a few minutes on 2 cores.
	"small": {Name: "small", Users: 1000, Articles: 3000, Comments: 6000, Favorites: 6000,
		HeavyUsers: 2, HeavyComments: 500, SteadyOps: 900, SteadyRate: 30,
		StormEvents: 2000, HotArticles: 3, FanoutRenames: 2, BacklogEvents: 5000,
		RunTimeout: 5 * time.Minute, HostConcurrency: 4, Retention: 300_000},
	// full: the sizes (storm of 10,000, backlog of 100,000).
	"full": {Name: "full", Users: 5000, Articles: 20000, Comments: 40000, Favorites: 40000,
		HeavyUsers: 3, HeavyComments: 2000, SteadyOps: 1500, SteadyRate: 15,
		StormEvents: 10000, HotArticles: 3, FanoutRenames: 2, BacklogEvents: 100000,
		RunTimeout: 15 * time.Minute, HostConcurrency: 4, Retention: 1_500_000},
}

// LookupScale returns a predefined scale by name.
func LookupScale(name string) (Scale, error) {
	s, ok := Scales[name]
	if !ok {
		return Scale{}, fmt.Errorf("benchsuite: unknown scale %q (tiny, small, full)", name)
	}
	return s, nil
}
