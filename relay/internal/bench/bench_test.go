package bench_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/changerelay/changerelay/infra/mongotest"
	"github.com/changerelay/changerelay/relay/deliver"
	"github.com/changerelay/changerelay/relay/internal/bench"
	"github.com/changerelay/changerelay/relay/internal/lambdafake"
)

// newEnv serves the functions from lambdafake with a fixed 1.5 ms per
// invocation (what lambdahost measures for a warm no-op function);
// relaybench uses the real lambdahost.
func newEnv(b *testing.B) *bench.Env {
	fake := lambdafake.New()
	b.Cleanup(fake.Close)
	for _, f := range []string{"users", "articles", "comments", "favorites", "repair"} {
		fake.Handle(f, func(ctx context.Context, p []byte) lambdafake.Reply {
			time.Sleep(1500 * time.Microsecond)
			return lambdafake.OK(ctx, p)
		})
	}
	proxy := bench.NewProxy(fake.URL())
	b.Cleanup(proxy.Close)
	inv, err := deliver.NewLambdaInvoker(b.Context(), deliver.LambdaConfig{Endpoint: proxy.URL(), Region: "us-east-1", HTTPTimeout: time.Minute})
	if err != nil {
		b.Fatal(err)
	}
	uri := mongotest.URI(b)
	return &bench.Env{URI: uri, Client: mongotest.Connect(b, uri), Proxy: proxy, Invoker: inv, Log: slog.New(slog.DiscardHandler)}
}

func report(b *testing.B, r bench.Result) {
	b.ReportMetric(r.PerSecond, "events/s")
	b.ReportMetric(float64(r.P50.Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(r.P99.Microseconds())/1000, "p99-ms")
	b.ReportMetric(float64(r.Events)/float64(r.Invocations), "events/invocation")
}

// BenchmarkThroughput: 2000 events written at once, default relay vs naive.
func BenchmarkThroughput(b *testing.B) {
	for _, kind := range []bench.Kind{bench.Default, bench.NaiveKind} {
		b.Run(string(kind), func(b *testing.B) {
			env := newEnv(b)
			var r bench.Result
			for b.Loop() {
				var err error
				if r, err = env.Throughput(b.Context(), kind, 2000); err != nil {
					b.Fatal(err)
				}
			}
			report(b, r)
		})
	}
}

// BenchmarkLatency: 100 events/s for 2s, write-to-invocation latency.
func BenchmarkLatency(b *testing.B) {
	for _, kind := range []bench.Kind{bench.Default, bench.NaiveKind} {
		b.Run(string(kind), func(b *testing.B) {
			env := newEnv(b)
			var r bench.Result
			for b.Loop() {
				var err error
				if r, err = env.Latency(b.Context(), kind, 100, 2*time.Second); err != nil {
					b.Fatal(err)
				}
			}
			report(b, r)
		})
	}
}
