package benchsuite

import (
	"context"
	"math"
	"time"

	"go.mongodb.org/mongo-driver/bson/primitive"
	"go.mongodb.org/mongo-driver/mongo"
	"go.mongodb.org/mongo-driver/mongo/options"

	"github.com/changerelay/changerelay/infra/conduit"
	"github.com/changerelay/changerelay/relay/config"
)

// Result is one (workload, configuration) run.
type Result struct {
	Workload string `json:"workload"`
	Config   string `json:"config"`

	Events        int     `json:"events"`        // source change events
	DerivedWrites int     `json:"derivedWrites"` // the functions' writes of derived fields
	Tracked       int     `json:"tracked"`       // events whose convergence was timed
	Untracked     int     `json:"untracked"`     // events with no derived field to watch
	Dropped       int     `json:"dropped"`       // targets deleted before they converged
	Unresolved    int     `json:"unresolved"`    // still open when the run ended
	Elapsed       float64 `json:"elapsedSeconds"`
	EventsPerSec  float64 `json:"eventsPerSecond"`
	DerivedPerSec float64 `json:"derivedWritesPerSecond"`

	P50 float64 `json:"p50ms"`
	P95 float64 `json:"p95ms"`
	P99 float64 `json:"p99ms"`
	Max float64 `json:"maxms"`

	Invocations     int64            `json:"invocations"`
	InvocationsByFn map[string]int64 `json:"invocationsByFunction"`
	HandlerCalls    int64            `json:"handlerCalls,omitempty"`
	InvPerEvent     float64          `json:"invocationsPerEvent"`
	FavEvents       int              `json:"favoriteEvents"`
	FavInvPerEvent  float64          `json:"favoritesInvocationsPerFavoriteEvent"`
	LambdaErrors    int64            `json:"lambdaErrors"`
	Throttles       int64            `json:"throttles"`

	RoundTrips    int64   `json:"dbRoundTrips"`
	TripsPerEvent float64 `json:"dbRoundTripsPerEvent"`
	TopCommands   string  `json:"topCommands"`

	RelayCPU     float64     `json:"relayCpuSeconds"`
	FunctionsCPU float64     `json:"functionsCpuSeconds"`
	PeakRSS      int64       `json:"relayPeakRssBytes"`
	IdleRSS      int64       `json:"relayIdleRssBytes"`
	QueueBytes   int64       `json:"relayQueueBytesEstimate,omitempty"`
	Memory       []MemSample `json:"relayRss,omitempty"`
	// Heap is the relay's Go heap at its last profiled RSS peak.
	Heap    *HeapSummary `json:"relayHeapAtPeak,omitempty"`
	Process bool         `json:"process"`

	Converged bool   `json:"converged"`
	Check     string `json:"check"`
	TimedOut  bool   `json:"timedOut"`
	// ProcessedEstimate: after a timeout, the events taken as processed,
	// which the throughput counts: the invocations when each carries one
	// event (naive), else the events before the oldest write not converged.
	ProcessedEstimate int    `json:"processedEstimate,omitempty"`
	OneEventPerCall   bool   `json:"oneEventPerCall,omitempty"`
	OldestOpen        int    `json:"oldestOpenEvent,omitempty"`
	Error             string `json:"error,omitempty"`

	BySource map[string]LatencySummary `json:"latencyBySource"`
	Load     [2]float64                `json:"loadAverage1m"` // at the start and the end of the run

	Latencies []float64 `json:"-"` // ms, for the plots
}

// rates computes the throughput from Events, DerivedWrites and Elapsed.
// A run that timed out counts only the events it is known to have
// processed (see ProcessedEstimate).
func (r *Result) rates() {
	if r.Elapsed <= 0 {
		return
	}
	events := float64(r.Events)
	if r.TimedOut {
		switch {
		case r.OneEventPerCall:
			events = float64(min(r.Invocations, int64(r.Events)))
		case r.OldestOpen > 0:
			events = float64(r.OldestOpen)
		}
		r.ProcessedEstimate = int(events)
	}
	r.EventsPerSec = events / r.Elapsed
	r.DerivedPerSec = float64(r.DerivedWrites) / r.Elapsed
}

// LatencySummary is the latency of the writes of one source collection.
type LatencySummary struct {
	N   int     `json:"n"`
	P50 float64 `json:"p50ms"`
	P99 float64 `json:"p99ms"`
}

func countFavoriteEvents(s conduit.Script) int {
	n := 0
	for _, op := range s {
		if op.Coll != conduit.CollFavorites {
			continue
		}
		if op.Action == conduit.InsertMany || op.Action == conduit.InsertOne {
			n += len(op.Docs)
		} else {
			n++
		}
	}
	return n
}

// quantile is the nearest-rank quantile of sorted values.
func quantile(sorted []float64, q float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(q*float64(len(sorted)))) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

// queueEstimate is the memory the relay's configured queues may hold:
// every route's queuedEvents times the average size of that collection's
// change events as the relay reads them (updateLookup, pre-images when
// available), sampled from the backlog.
func queueEstimate(ctx context.Context, db *mongo.Database, from primitive.Timestamp, rs RouteSettings) int64 {
	buffered := queuedEvents(rs)
	var total int64
	for _, coll := range []string{conduit.CollUsers, conduit.CollArticles, conduit.CollComments, conduit.CollFavorites} {
		total += buffered * avgEventSize(ctx, db.Collection(coll), from)
	}
	return total
}

// queuedEvents is how many events one route holds at most with these
// settings, as the relay's configuration defaults them: maxBufferedEvents
// (default max(1000, 4 × batchSize × concurrency)) plus the read-ahead of
// one getMore reply (stream.batchSize, default 1000), which the driver
// holds while the reader waits for room.
func queuedEvents(rs RouteSettings) int64 {
	c := config.Config{Routes: []config.Route{{Collection: "bench", BatchSize: rs.BatchSize, Concurrency: rs.Concurrency}}}
	c.SetDefaults()
	return int64(c.Routes[0].MaxBufferedEvents + c.Stream.BatchSize)
}

func avgEventSize(ctx context.Context, coll *mongo.Collection, from primitive.Timestamp) int64 {
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	opts := options.ChangeStream().SetStartAtOperationTime(&from).SetFullDocument(options.UpdateLookup).
		SetFullDocumentBeforeChange(options.WhenAvailable).SetMaxAwaitTime(100 * time.Millisecond)
	cs, err := coll.Watch(ctx, mongo.Pipeline{}, opts)
	if err != nil {
		return 0
	}
	defer cs.Close(context.WithoutCancel(ctx))
	var n, size int64
	for n < 2000 && cs.TryNext(ctx) {
		n++
		size += int64(len(cs.Current))
	}
	if n == 0 {
		return 0
	}
	return size / n
}
