package benchsuite

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"time"
)

// SuiteConfig configures a whole run.
type SuiteConfig struct {
	Scale     Scale
	Configs   []ConfigSpec
	Workloads []string
	OutDir    string // results/<timestamp>
	Root      string
	SkipBuild bool
	Progress  io.Writer
}

// Validate names the first bad setting.
func (c SuiteConfig) Validate() error {
	switch {
	case c.Scale.Name == "":
		return fmt.Errorf("benchsuite: Scale is required")
	case len(c.Configs) == 0:
		return fmt.Errorf("benchsuite: Configs: none")
	case len(c.Workloads) == 0:
		return fmt.Errorf("benchsuite: Workloads: none")
	case c.OutDir == "":
		return fmt.Errorf("benchsuite: OutDir is required")
	}
	for _, w := range c.Workloads {
		if !slices.Contains(Workloads, w) {
			return fmt.Errorf("benchsuite: Workloads: unknown %q (%v)", w, Workloads)
		}
	}
	return nil
}

// RunSuite starts the stack, runs every configuration on every workload
// (same data set, same scripts) and writes the report into OutDir.
func RunSuite(ctx context.Context, cfg SuiteConfig) (*Report, error) {
	logf := func(format string, args ...any) {
		if cfg.Progress != nil {
			fmt.Fprintf(cfg.Progress, format+"\n", args...)
		}
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	started := time.Now()
	rep := &Report{Scale: cfg.Scale, Machine: fmt.Sprintf("%d CPUs, %s", runtime.NumCPU(), machine()), GoVersion: runtime.Version(), Started: started}
	for _, c := range cfg.Configs {
		rep.Configs = append(rep.Configs, ConfigInfo{Name: c.Name, Description: c.Describe()})
	}
	logDir := filepath.Join(cfg.OutDir, "logs")
	if err := os.MkdirAll(logDir, 0o755); err != nil {
		return nil, err
	}
	logf("building the functions and the relay, starting mongolocal + lambdahost ...")
	env, err := StartEnv(ctx, EnvConfig{Root: cfg.Root, LogDir: logDir, Scale: cfg.Scale, SkipBuild: cfg.SkipBuild})
	if err != nil {
		return nil, err
	}
	defer env.Close()
	logf("stack ready in %s (mongolocal %s, lambda %s)", time.Since(started).Round(100*time.Millisecond), env.Mongo.Addr(), env.Stack.LambdaEndpoint())

	ds, heavy, err := Dataset(cfg.Scale)
	if err != nil {
		return nil, err
	}
	works, err := BuildWorkloads(cfg.Scale, ds, heavy)
	if err != nil {
		return nil, err
	}
	for _, name := range cfg.Workloads {
		w, ok := works[name]
		if !ok {
			return nil, fmt.Errorf("benchsuite: unknown workload %q", name)
		}
		rep.Workloads = append(rep.Workloads, WorkloadInfo{Name: w.Name, Description: w.Description})
	}
	logf("data set: %d users, %d articles, %d comments, %d favorites (seeded converged before every run)",
		len(ds.Users), len(ds.Articles), len(ds.Comments), len(ds.Favorites))
	runner := &Runner{Env: env, Scale: cfg.Scale, Dataset: ds, LogDir: logDir, Progress: cfg.Progress}

	// Warm-up (not reported): start the function environments.
	warm := works[Steady]
	warm.Name = "warmup"
	warm.Script = warm.Script[:min(len(warm.Script), 200)]
	warm.Exec.Rate, warm.Exec.Concurrency = 0, 4
	logf("warm-up: %d writes through relay-default (not reported)", len(warm.Script))
	if r := runner.Run(ctx, ConfigSpec{Name: "warmup", Routes: RouteSettings{}}, warm); r.Error != "" {
		return nil, fmt.Errorf("warm-up: %s", r.Error)
	}

	for _, name := range cfg.Workloads {
		w := works[name]
		logf("\n== workload %s: %s", w.Name, w.Description)
		for _, c := range cfg.Configs {
			if ctx.Err() != nil {
				rep.Duration = time.Since(started).Seconds()
				return rep, ctx.Err()
			}
			logf("-- %s on %s", c.Name, w.Name)
			rep.Results = append(rep.Results, runner.Run(ctx, c, w))
		}
	}
	rep.Duration = time.Since(started).Seconds()
	rep.AttachHeapProfiles(logDir)
	var load float64
	for _, r := range rep.Results {
		load += (r.Load[0] + r.Load[1]) / 2
	}
	if n := len(rep.Results); n > 0 {
		rep.Notes = append(rep.Notes, fmt.Sprintf("The machine's 1-minute load average during the runs was %.1f on average on %d CPUs: other work shared the machine, so absolute figures are noisy; the configurations ran one after the other, interleaved per workload, so they saw similar conditions.", load/float64(n), runtime.NumCPU()))
	}
	rep.Notes = append(rep.Notes,
		"Latencies use the server's wallTime on both ends (millisecond resolution).",
		"Writes with no derived field to watch (an article body edit, a comment delete, a favorite's other fields) count as events but are not timed; retags and article deletes are not timed either (the tags collection carries no version stamp), but their convergence is part of the final invariant check.",
		"The fan-out row's events/s counts the renames; its throughput is the derived copies written per second.",
		"Backlog latency includes the time the configuration was stopped while the backlog was written; its throughput counts from the configuration's start.")
	return rep, nil
}
