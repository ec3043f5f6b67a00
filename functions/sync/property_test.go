package sync_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	gosync "sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/event"

	"github.com/changerelay/changerelay/functions/envelope"
	"github.com/changerelay/changerelay/functions/internal/fixture"
	"github.com/changerelay/changerelay/functions/sync"
)

// TestConvergenceProperty writes random histories with every operator the
// contract lists, records the real change events, and delivers them with
// duplicates, shuffled across documents, in random batches, some batches
// twice at once, lagging behind the writes; then checks I1..I4 with the
// independent checker. Seeded: a failure names its seed and mode.
func TestConvergenceProperty(t *testing.T) {
	seeds, rounds, writes := []uint64{1, 2, 3, 4}, 10, 60
	if testing.Short() {
		seeds, rounds, writes = []uint64{1}, 6, 40
	}
	// PROPERTY_SEEDS=N runs seeds 1..N, for a longer soak.
	if n, err := strconv.Atoi(os.Getenv("PROPERTY_SEEDS")); err == nil && n > 0 {
		seeds = nil
		for i := 1; i <= n; i++ {
			seeds = append(seeds, uint64(i))
		}
	}
	for _, preImages := range []bool{true, false} {
		for _, seed := range seeds {
			t.Run(fmt.Sprintf("seed=%d,preImages=%v", seed, preImages), func(t *testing.T) {
				runProperty(t, seed, preImages, rounds, writes)
			})
		}
	}
}

func runProperty(t *testing.T, seed uint64, preImages bool, rounds, writes int) {
	// The handlers' writes are delayed at random, which widens the window
	// between a handler's read and its write: stale writes then race newer
	// ones often, as they would under load.
	jitter := &event.CommandMonitor{Started: func(_ context.Context, ev *event.CommandStartedEvent) {
		switch ev.CommandName {
		case "update", "delete", "insert", "aggregate":
			if rand.IntN(10) == 0 { // a slow invocation
				time.Sleep(time.Duration(rand.IntN(15000)) * time.Microsecond)
			} else {
				time.Sleep(time.Duration(rand.IntN(500)) * time.Microsecond)
			}
		}
	}}
	e := fixture.New(t, fixture.Options{NoPreImages: !preImages, PageSize: 7, Monitor: jitter})
	w := fixture.NewWriter(e, seed)
	d := &deliverer{t: t, e: e, r: rand.New(rand.NewPCG(seed, 2)), handlers: map[string]*sync.Handler{}}
	for _, c := range []string{"users", "articles", "comments", "favorites"} {
		d.handlers[c] = e.Handler(c)
	}
	w.Seed()
	var pending []bson.Raw
	// Each round's deliveries run while the application keeps writing and
	// while the previous round's deliveries may still run: an invocation
	// can outlive the relay that made it and overlap later ones.
	var prev *gosync.WaitGroup
	for round := 0; round < rounds; round++ {
		pending = append(pending, e.Events(false)...)
		now, later := d.split(pending)
		pending = later
		plan := d.plan(now)
		wg := &gosync.WaitGroup{}
		wg.Add(1)
		go func() { defer wg.Done(); d.run(plan) }()
		for range writes {
			w.Step()
		}
		if prev != nil {
			prev.Wait()
		}
		prev = wg
	}
	prev.Wait()
	pending = append(pending, e.Events(false)...)
	d.run(d.plan(pending))
	e.Sync()
	violations, err := fixture.Check(e.Ctx, e.DB)
	require.NoError(t, err)
	require.Empty(t, violations, "seed %d preImages %v: invariants violated after %d writes", seed, preImages, w.Writes())
}

// deliverer plays a relay that delivers at least once, in any order across
// documents, in batches, some of them twice at once.
type deliverer struct {
	t        *testing.T
	e        *fixture.Env
	r        *rand.Rand
	handlers map[string]*sync.Handler
}

func eventKey(ev bson.Raw) string {
	coll, _ := ev.Lookup("ns", "coll").StringValueOK()
	return coll + "/" + ev.Lookup("documentKey", "_id").String()
}

// split keeps per-document order and returns, for each document, a random
// prefix of its events to deliver now and the rest for later.
func (d *deliverer) split(events []bson.Raw) (now, later []bson.Raw) {
	cut := map[string]bool{}
	for _, ev := range events {
		k := eventKey(ev)
		if !cut[k] && d.r.IntN(4) == 0 {
			cut[k] = true
		}
		if cut[k] {
			later = append(later, ev)
		} else {
			now = append(now, ev)
		}
	}
	return now, later
}

type delivery struct {
	coll   string
	events []bson.Raw
	twice  bool
}

// wave is a set of batches that run at once.
type wave []delivery

// plan shuffles events across documents (keeping each document's order),
// adds duplicates, and splits them into per-collection batches of random
// size grouped in waves of up to 3 concurrent batches, some of which run
// twice at once. Planning draws from the seeded source only.
func (d *deliverer) plan(events []bson.Raw) []wave {
	queues := map[string][]bson.Raw{}
	var keys []string
	for _, ev := range events {
		k := eventKey(ev)
		if _, ok := queues[k]; !ok {
			keys = append(keys, k)
		}
		queues[k] = append(queues[k], ev)
	}
	var order []bson.Raw
	for len(keys) > 0 {
		i := d.r.IntN(len(keys))
		k := keys[i]
		order = append(order, queues[k][0])
		queues[k] = queues[k][1:]
		if len(queues[k]) == 0 {
			keys = append(keys[:i], keys[i+1:]...)
		}
	}
	for i := 0; i < len(order); i++ {
		if d.r.IntN(8) == 0 { // a duplicate, delivered later
			j := i + 1 + d.r.IntN(len(order)-i)
			order = append(order[:j], append([]bson.Raw{order[i]}, order[j:]...)...)
			i++
		}
	}
	var batches []delivery
	open := map[string]int{}
	for _, ev := range order {
		coll, _ := ev.Lookup("ns", "coll").StringValueOK()
		i, ok := open[coll]
		if !ok || len(batches[i].events) >= 1+d.r.IntN(12) {
			batches = append(batches, delivery{coll: coll, twice: d.r.IntN(5) == 0})
			i = len(batches) - 1
			open[coll] = i
		}
		batches[i].events = append(batches[i].events, ev)
	}
	var waves []wave
	for start := 0; start < len(batches); {
		n := min(1+d.r.IntN(3), len(batches)-start)
		waves = append(waves, batches[start:start+n])
		start += n
	}
	return waves
}

// run delivers the waves in order, the batches of a wave concurrently.
func (d *deliverer) run(waves []wave) {
	for _, wv := range waves {
		var wg gosync.WaitGroup
		for _, b := range wv {
			runs := 1
			if b.twice {
				runs = 2
			}
			for range runs {
				wg.Add(1)
				go func() { defer wg.Done(); d.handle(b.coll, b.events) }()
			}
		}
		wg.Wait()
	}
}

// handle delivers a batch and, like the relay, retries what failed.
func (d *deliverer) handle(coll string, events []bson.Raw) {
	for attempt := 0; len(events) > 0; attempt++ {
		if attempt == 5 {
			d.t.Errorf("%s: events still failing after %d attempts", coll, attempt)
			return
		}
		resp, err := d.handlers[coll].Handle(context.Background(), fixture.Payload(d.t, events...))
		if err != nil {
			continue // the whole batch again
		}
		events = failedOnly(events, resp)
	}
}

func failedOnly(events []bson.Raw, resp envelope.Response) []bson.Raw {
	failed := map[string]bool{}
	for _, f := range resp.BatchItemFailures {
		failed[f.ItemIdentifier] = true
	}
	var out []bson.Raw
	for _, ev := range events {
		if id, _ := envelope.EventID(ev); failed[id] {
			out = append(out, ev)
		}
	}
	return out
}
