package benchsuite

import (
	"context"
	"io"
	"os"
	"testing"
	"time"
)

// BenchmarkPipeline is the go test -bench variant of the suite at the tiny
// scale: every configuration on every workload, reporting events/s, the
// p99 write-to-converged latency and calls per event, so that benchstat can
// compare two commits (make bench-go). It starts the whole stack (builds the
// functions and the relay), so it runs only with BENCH_PIPELINE=1.
func BenchmarkPipeline(b *testing.B) {
	if os.Getenv("BENCH_PIPELINE") == "" {
		b.Skip("set BENCH_PIPELINE=1 (make bench-go): starts mongolocal, lambdahost and the relay")
	}
	scale := Scales["tiny"]
	ctx := context.Background()
	logDir := b.TempDir()
	env, err := StartEnv(ctx, EnvConfig{LogDir: logDir, Scale: scale})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(env.Close)
	ds, heavy, err := Dataset(scale)
	if err != nil {
		b.Fatal(err)
	}
	works, err := BuildWorkloads(scale, ds, heavy)
	if err != nil {
		b.Fatal(err)
	}
	var progress io.Writer
	if testing.Verbose() {
		progress = os.Stderr
	}
	runner := &Runner{Env: env, Scale: scale, Dataset: ds, LogDir: logDir, Progress: progress}
	warm := works[Steady]
	warm.Script, warm.Exec.Rate = warm.Script[:100], 0
	if r := runner.Run(ctx, ConfigSpec{Name: "warmup"}, warm); r.Error != "" {
		b.Fatal(r.Error)
	}
	for _, name := range Workloads {
		for _, spec := range DefaultConfigs {
			b.Run(name+"/"+spec.Name, func(b *testing.B) {
				var res Result
				for range b.N {
					res = runner.Run(ctx, spec, works[name])
					if res.Error != "" {
						b.Fatal(res.Error)
					}
					if !res.Converged {
						b.Fatalf("not converged: %s", res.Check)
					}
				}
				b.ReportMetric(res.EventsPerSec, "events/s")
				b.ReportMetric(res.P99, "p99-ms")
				b.ReportMetric(res.InvPerEvent, "calls/event")
				b.ReportMetric(res.TripsPerEvent, "dbtrips/event")
				b.ReportMetric(float64(res.Elapsed)*float64(time.Second)/float64(max(res.Events, 1)), "ns/event")
			})
		}
	}
}
