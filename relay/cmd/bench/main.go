// Command bench is the end-to-end benchmark suite (`make bench`): the
// floor, a naive relay, the relay with its defaults and tuned, on the same
// RealWorld workloads on the Docker-free stack, in one run. It writes
// results/<timestamp>/ (report.md, results.json, PNG plots, logs) and, with
// -latest, copies report.md and the plots to results/latest/.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/changerelay/changerelay/infra/devstack"
	"github.com/changerelay/changerelay/relay/benchsuite"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	scaleName := fs.String("scale", "small", "tiny | small | full")
	configs := fs.String("configs", "", "comma-separated configurations (default all: floor,naive,relay-default,relay-tuned)")
	workloads := fs.String("workloads", strings.Join(benchsuite.Workloads, ","), "comma-separated workloads")
	out := fs.String("out", "", "results root (default <repo>/results)")
	latest := fs.Bool("latest", false, "also copy report.md and the plots to <results>/latest (default: true for -scale full)")
	skipBuild := fs.Bool("skip-build", false, "reuse the binaries in bin/bench")
	render := fs.String("render", "", "only re-render report.md and the plots of a results directory from its results.json")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *render != "" {
		rep, err := benchsuite.ReadReport(filepath.Join(*render, "results.json"))
		if err != nil {
			return err
		}
		rep.AttachHeapProfiles(filepath.Join(*render, "logs"))
		if err := rep.Write(*render); err != nil {
			return err
		}
		printTargets(rep)
		return nil
	}
	scale, err := benchsuite.LookupScale(*scaleName)
	if err != nil {
		return err
	}
	var specs []benchsuite.ConfigSpec
	for _, c := range benchsuite.DefaultConfigs {
		if *configs == "" || slices.Contains(strings.Split(*configs, ","), c.Name) {
			specs = append(specs, c)
		}
	}
	if len(specs) == 0 {
		return fmt.Errorf("-configs %q names no configuration", *configs)
	}
	wd, err := os.Getwd()
	if err != nil {
		return err
	}
	root, err := devstack.FindRoot(wd)
	if err != nil {
		return err
	}
	if *out == "" {
		*out = filepath.Join(root, "results")
	}
	dir := filepath.Join(*out, time.Now().UTC().Format("20060102-150405")+"-"+scale.Name)
	fmt.Printf("bench: scale %s, results in %s\n", scale.Name, dir)
	rep, err := benchsuite.RunSuite(ctx, benchsuite.SuiteConfig{Scale: scale, Configs: specs, Workloads: strings.Split(*workloads, ","),
		OutDir: dir, Root: root, SkipBuild: *skipBuild, Progress: os.Stdout})
	if rep != nil && len(rep.Results) > 0 {
		if werr := rep.Write(dir); werr != nil {
			return werr
		}
		fmt.Printf("\nreport: %s\n", filepath.Join(dir, "report.md"))
		if *latest || (scale.Name == "full" && err == nil && !flagSet(fs, "latest")) {
			if cerr := copyLatest(dir, filepath.Join(*out, "latest")); cerr != nil {
				return cerr
			}
			fmt.Printf("copied to %s\n", filepath.Join(*out, "latest"))
		}
		printTargets(rep)
	}
	return err
}

func flagSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

func printTargets(rep *benchsuite.Report) {
	fmt.Println("\ntargets:")
	for _, t := range rep.Targets() {
		fmt.Printf("  %-55s %-14s %-5s %s\n", t.Target, t.Config, strings.Trim(t.Verdict, "*"), t.Measured)
	}
}

// copyLatest replaces latest/ with the report, results.json and the plots.
func copyLatest(from, to string) error {
	if err := os.RemoveAll(to); err != nil {
		return err
	}
	if err := os.MkdirAll(to, 0o755); err != nil {
		return err
	}
	entries, err := os.ReadDir(from)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if e.IsDir() || !(strings.HasSuffix(e.Name(), ".png") || e.Name() == "report.md" || e.Name() == "results.json") {
			continue
		}
		if err := copyFile(filepath.Join(from, e.Name()), filepath.Join(to, e.Name())); err != nil {
			return err
		}
	}
	return nil
}

func copyFile(from, to string) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(to)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		_ = out.Close()
		return err
	}
	return out.Close()
}
