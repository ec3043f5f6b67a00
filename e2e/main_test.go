package e2e_test

import (
	"context"
	"flag"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/changerelay/changerelay/e2e/harness"
	"github.com/changerelay/changerelay/e2e/stack"
)

// The binaries, built once for the whole suite by TestMain.
var (
	bins     *stack.Binaries
	buildErr error
)

func TestMain(m *testing.M) {
	flag.Parse()
	os.Exit(run(m))
}

func run(m *testing.M) int {
	if testing.Short() {
		return m.Run()
	}
	root, err := harness.RepoRoot(".")
	if err != nil {
		buildErr = err
		return m.Run()
	}
	dir, err := os.MkdirTemp("", "changerelay-e2e-bin-")
	if err != nil {
		buildErr = err
		return m.Run()
	}
	defer os.RemoveAll(dir)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	start := time.Now()
	bins, buildErr = stack.Build(ctx, root, dir)
	if buildErr == nil {
		fmt.Fprintf(os.Stderr, "e2e: built the pipeline in %s (target %s)\n", time.Since(start).Round(time.Millisecond), stack.TargetFromEnv())
	}
	return m.Run()
}

// requirePipeline skips in -short mode and fails when the binaries did not build.
func requirePipeline(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("end-to-end suite: slow, real processes; skipped with -short (make test runs it)")
	}
	if buildErr != nil {
		t.Fatalf("building the pipeline: %v", buildErr)
	}
}
