// Command relaybench compares the relay with its default configuration
// against a naive relay (one event per invocation, one at a time) on the
// same local function host (lambdahost running a no-op function under the
// runtime interface emulator), and measures the relay's resident memory
// while it catches up with a backlog. `make bench-relay` runs it.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"go.mongodb.org/mongo-driver/mongo"
	"go.mongodb.org/mongo-driver/mongo/options"

	"github.com/changerelay/changerelay/infra/lambdahost"
	"github.com/changerelay/changerelay/infra/mongolocal"
	"github.com/changerelay/changerelay/relay/deliver"
	"github.com/changerelay/changerelay/relay/internal/bench"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "relaybench:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context) error {
	events := flag.Int("events", 5000, "events written in the throughput run")
	rate := flag.Int("rate", 50, "events per second in the latency run")
	latFor := flag.Duration("latency-for", 5*time.Second, "duration of the latency run")
	backlogs := flag.String("backlogs", "10000,100000", "backlog sizes for the memory run (empty: skip)")
	concurrency := flag.Int("host-concurrency", 4, "execution environments per function in lambdahost")
	flag.Parse()

	tmp, err := os.MkdirTemp("", "relaybench")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	fmt.Println("building the relay and the no-op function ...")
	relayBin := filepath.Join(tmp, "relay")
	fnBin := filepath.Join(tmp, "echofn", "bootstrap")
	if err := build(ctx, relayBin, "github.com/changerelay/changerelay/relay/cmd/relay"); err != nil {
		return err
	}
	if err := build(ctx, fnBin, "github.com/changerelay/changerelay/relay/internal/bench/echofn", "-tags", "lambda.norpc"); err != nil {
		return err
	}

	uri := os.Getenv("MONGODB_URI")
	if uri == "" {
		srv, err := mongolocal.Start(ctx, mongolocal.Config{})
		if err != nil {
			return err
		}
		defer srv.Close()
		uri = srv.URI()
	}
	var fns []lambdahost.FunctionConfig
	for _, name := range []string{"users", "articles", "comments", "favorites", "repair"} {
		fns = append(fns, lambdahost.FunctionConfig{Name: name, Bootstrap: fnBin, Timeout: 60 * time.Second, Concurrency: *concurrency})
	}
	host, err := lambdahost.Start(ctx, lambdahost.Config{Functions: fns, Eager: true})
	if err != nil {
		return fmt.Errorf("start lambdahost: %w", err)
	}
	defer host.Close()
	proxy := bench.NewProxy(host.Endpoint())
	defer proxy.Close()
	inv, err := deliver.NewLambdaInvoker(ctx, deliver.LambdaConfig{Endpoint: proxy.URL(), Region: "us-east-1", HTTPTimeout: 90 * time.Second})
	if err != nil {
		return err
	}
	client, err := mongo.Connect(ctx, options.Client().ApplyURI(uri))
	if err != nil {
		return err
	}
	defer client.Disconnect(context.WithoutCancel(ctx))
	env := &bench.Env{URI: uri, Client: client, Proxy: proxy, Invoker: inv, Log: slog.New(slog.DiscardHandler)}

	fmt.Printf("machine: %s/%s, %d CPUs (%s), %s; MongoDB: %s; functions: lambdahost, %d environments each\n\n",
		runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), cpuModel(), runtime.Version(), mongoKind(), *concurrency)

	fmt.Printf("throughput: %d events written as fast as possible (insertMany of 100)\n", *events)
	for _, k := range []bench.Kind{bench.Default, bench.NaiveKind} {
		r, err := env.Throughput(ctx, k, *events)
		if err != nil {
			return err
		}
		fmt.Println("  " + r.String())
	}
	fmt.Printf("\nlatency: %d events/s for %s, write (wallTime) to first invocation\n", *rate, *latFor)
	for _, k := range []bench.Kind{bench.Default, bench.NaiveKind} {
		r, err := env.Latency(ctx, k, *rate, *latFor)
		if err != nil {
			return err
		}
		fmt.Println("  " + r.String())
	}
	if *backlogs != "" {
		fmt.Println("\nmemory: the relay process catching up with a backlog (default configuration)")
		for _, s := range strings.Split(*backlogs, ",") {
			var n int
			if _, err := fmt.Sscan(strings.TrimSpace(s), &n); err != nil {
				return fmt.Errorf("-backlogs: %w", err)
			}
			m, err := env.Backlog(ctx, relayBin, n)
			if err != nil {
				return err
			}
			fmt.Println("  " + m.String())
		}
	}
	return nil
}

func build(ctx context.Context, out, pkg string, flags ...string) error {
	args := append([]string{"build", "-o", out}, flags...)
	cmd := exec.CommandContext(ctx, "go", append(args, pkg)...)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build %s: %v\n%s", pkg, err, b)
	}
	return nil
}

func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return "unknown CPU"
	}
	for _, line := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown CPU"
}

func mongoKind() string {
	if os.Getenv("MONGODB_URI") != "" {
		return "$MONGODB_URI"
	}
	return "mongolocal (in process)"
}
