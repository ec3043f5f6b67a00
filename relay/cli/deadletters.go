package cli

import (
	"context"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/changerelay/changerelay/relay/config"
	"github.com/changerelay/changerelay/relay/deadletter"
	"github.com/changerelay/changerelay/relay/deliver"
)

func letterFlags(name string, env Env) (flags, *string, *string, *bool, *bool) {
	fs := newFlags(name, env)
	route := fs.String("route", "", "only this route")
	id := fs.String("id", "", "only this letter (its id, or the event id)")
	all := fs.Bool("all", false, "include letters already replayed")
	asJSON := fs.Bool("json", false, "print JSON lines, events included")
	return fs, route, id, all, asJSON
}

func deadLettersList(ctx context.Context, args []string, env Env) error {
	fs, route, id, all, asJSON := letterFlags("deadletters list", env)
	cfg, err := load(fs, args, env)
	if err != nil {
		return err
	}
	db, closeDB, err := connect(ctx, cfg)
	if err != nil {
		return err
	}
	defer closeDB()
	letters, err := deadletter.NewStore(db, cfg.DeadLetter.Collection, nil).List(ctx, deadletter.Filter{Route: *route, ID: *id, All: *all})
	if err != nil {
		return err
	}
	if *asJSON {
		for _, l := range letters {
			js, err := l.JSON()
			if err != nil {
				return err
			}
			fmt.Fprintln(env.Stdout, string(js))
		}
		return nil
	}
	tw := tabwriter.NewWriter(env.Stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tROUTE\tOP\tATTEMPTS\tDEAD-LETTERED\tREPLAYED\tREASON")
	for _, l := range letters {
		replayed := "-"
		if l.ReplayedAt != nil {
			replayed = l.ReplayedAt.Format(time.RFC3339)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\t%s\n", l.ID, l.Route, l.OperationType, len(l.Attempts), l.DeadLetteredAt.Format(time.RFC3339), replayed, l.Reason)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "%d dead letter(s)\n", len(letters))
	return nil
}

func deadLettersReplay(ctx context.Context, args []string, env Env) error {
	fs, route, id, all, _ := letterFlags("deadletters replay", env)
	cfg, err := load(fs, args, env)
	if err != nil {
		return err
	}
	db, closeDB, err := connect(ctx, cfg)
	if err != nil {
		return err
	}
	defer closeDB()
	d, err := Deliverer(ctx, cfg, nil)
	if err != nil {
		return err
	}
	// The route's function as configured now (the usual flow is: fix, then
	// replay); the stored name only when the route no longer exists.
	function := func(l deadletter.Letter) string {
		if r, ok := cfg.Route(l.Route); ok {
			return cfg.FunctionName(r.Function)
		}
		return l.Function
	}
	results, err := deadletter.NewStore(db, cfg.DeadLetter.Collection, nil).Replay(ctx, deadletter.Filter{Route: *route, ID: *id, All: *all}, d, function)
	failed := 0
	for _, r := range results {
		if r.Err != nil {
			failed++
			fmt.Fprintf(env.Stdout, "FAILED %s: %v\n", r.Letter.ID, r.Err)
			continue
		}
		fmt.Fprintf(env.Stdout, "replayed %s (function %s)\n", r.Letter.ID, r.Letter.Function)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "%d replayed, %d failed\n", len(results)-failed, failed)
	if failed > 0 {
		return fmt.Errorf("%d dead letter(s) failed again", failed)
	}
	return nil
}

// Deliverer is the replay path to the functions: one invocation per
// letter, without the relay's retries (a failed replay stays a letter).
// inv nil means the Lambda client from cfg.
func Deliverer(ctx context.Context, cfg *config.Config, inv deliver.Invoker) (deliver.Deliverer, error) {
	if inv == nil {
		l, err := deliver.NewLambdaInvoker(ctx, deliver.LambdaConfig{Endpoint: cfg.Lambda.Endpoint, Region: cfg.Lambda.Region,
			HTTPTimeout: config.HTTPTimeout(15 * time.Minute), MaxAttempts: cfg.Lambda.SDKMaxAttempts})
		if err != nil {
			return nil, err
		}
		inv = l
	}
	return &deliver.Envelope{Invoker: inv, Database: cfg.MongoDB.Database}, nil
}
