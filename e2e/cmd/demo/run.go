package main

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"time"

	"go.mongodb.org/mongo-driver/mongo"
	"go.mongodb.org/mongo-driver/mongo/options"

	"github.com/changerelay/changerelay/e2e/harness"
	"github.com/changerelay/changerelay/e2e/stack"
	"github.com/changerelay/changerelay/infra/conduit"
)

// errDrift is returned when the pipeline did not converge to zero drift.
var errDrift = errors.New("drift remains")

func run(ctx context.Context, cfg config, out *printer) (err error) {
	fmt.Fprintln(out.w, "changerelay demo: the whole pipeline on the Docker-free stack (mongolocal, the local Lambda host, the relay)")
	logDir, err := os.MkdirTemp("", "changerelay-demo-")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil || cfg.Keep {
			fmt.Fprintf(out.w, "\nlogs kept in %s\n", logDir)
			return
		}
		_ = os.RemoveAll(logDir)
	}()

	out.Step("building the relay, the functions, mongolocal, the local Lambda host and the devstack command")
	bins, err := buildOrReuse(ctx, cfg, logDir, out)
	if err != nil {
		return err
	}

	out.Step("starting the Docker-free stack (the devstack command: mongolocal, the local Lambda host, the functions)")
	st, err := stack.StartDevstack(ctx, stack.Config{Bins: bins, LogDir: logDir, Concurrency: 4})
	if err != nil {
		return err
	}
	defer func() {
		out.Line("shutting down the stack")
		if cerr := st.Close(); cerr != nil {
			out.Line("stack: %v", cerr)
		}
	}()
	out.Line("MONGODB_URI=%s", st.MongoURI)
	out.Line("LAMBDA_ENDPOINT=%s", st.LambdaEndpoint)
	if _, err := st.RunIndexes(ctx); err != nil {
		return err
	}
	out.Line("indexes and pre-images ready")

	client, err := mongo.Connect(ctx, options.Client().ApplyURI(st.MongoURI).SetTimeout(time.Minute))
	if err != nil {
		return err
	}
	defer client.Disconnect(context.WithoutCancel(ctx))
	db := client.Database(st.Database)

	out.Step("seeding a RealWorld data set: %d users, %d articles, %d comments, %d favorites",
		cfg.Seed.Users, cfg.Seed.Articles, cfg.Seed.Comments, cfg.Seed.Favorites)
	ds, err := seed(ctx, db, cfg, out)
	if err != nil {
		return err
	}

	out.Step("starting the relay")
	readyCtx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	relay, err := st.StartRelayReady(readyCtx, stack.RelayConfig{Name: "relay"})
	if err != nil {
		return err
	}
	defer func() {
		out.Line("stopping the relay (SIGTERM)")
		if serr := relay.Stop(30 * time.Second); serr != nil {
			out.Line("relay: %v", serr)
		}
	}()
	out.Line("relay pid %d ready (initial sync by repair done); metrics on http://%s/metrics", relay.PID(), relay.HTTPAddr)

	g, err := conduit.NewGenerator(ds, conduit.WorkloadConfig{
		Rand:        rand.New(rand.NewPCG(cfg.RandomSeed+1, cfg.RandomSeed+2)),
		HotArticles: cfg.HotArticles, StormSize: cfg.StormSize, StormChunk: cfg.StormChunk,
	})
	if err != nil {
		return err
	}
	script := phases(g, cfg.Scale)
	total := 0
	for _, ph := range script {
		total += len(ph.Script)
	}
	out.Step("playing %d writes in %d phases while the relay runs", total, len(script))
	mon := startMonitor(ctx, db, relay, out)
	played, err := play(ctx, db, script, out)
	if err != nil {
		mon.stop()
		return err
	}
	lastWrite := time.Now()

	out.Step("waiting for convergence")
	converged, err := mon.waitConverged(ctx, cfg.ConvergeTimeout)
	mon.stop()
	if err != nil {
		return err
	}

	out.Step("results")
	sum := summary{played: played, playStart: played.Start, lastWrite: lastWrite, converged: converged}
	if err := sum.collect(ctx, st, relay, db); err != nil {
		return err
	}
	sum.print(out)

	out.Step("repair dry run (the repair function through the Invoke API)")
	rep, _, err := st.Repair(ctx, true)
	if err != nil {
		return err
	}
	printRepair(out, rep)
	if rep.Drift != 0 || !sum.check.OK() {
		return fmt.Errorf("%w: repair dry run found %d, conduit.Check %d", errDrift, rep.Drift, sum.check.Mismatched())
	}
	out.Line("zero drift: every invariant of DATA_MODEL.md holds")
	return nil
}

func buildOrReuse(ctx context.Context, cfg config, logDir string, out *printer) (*stack.Binaries, error) {
	if cfg.BinDir != "" {
		out.Line("using the binaries in %s", cfg.BinDir)
		return stack.Existing(cfg.BinDir), nil
	}
	root, err := harness.RepoRoot(".")
	if err != nil {
		return nil, err
	}
	start := time.Now()
	bins, err := stack.Build(ctx, root, logDir+"/bin")
	if err != nil {
		return nil, err
	}
	out.Line("built in %s", time.Since(start).Round(100*time.Millisecond))
	return bins, nil
}
