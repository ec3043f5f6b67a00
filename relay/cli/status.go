package cli

import (
	"context"
	"fmt"
	"text/tabwriter"
	"time"

	"go.mongodb.org/mongo-driver/mongo"
	"go.mongodb.org/mongo-driver/mongo/options"

	"github.com/changerelay/changerelay/relay/checkpoint"
	"github.com/changerelay/changerelay/relay/config"
	"github.com/changerelay/changerelay/relay/deadletter"
	"github.com/changerelay/changerelay/relay/lease"
)

func connect(ctx context.Context, cfg *config.Config) (*mongo.Database, func(), error) {
	client, err := mongo.Connect(ctx, options.Client().ApplyURI(cfg.MongoDB.URI).SetAppName("changerelay-cli"))
	if err != nil {
		return nil, nil, fmt.Errorf("connect to MongoDB: %w", err)
	}
	return client.Database(cfg.MongoDB.Database), func() { _ = client.Disconnect(context.WithoutCancel(ctx)) }, nil
}

func statusCmd(ctx context.Context, args []string, env Env) error {
	cfg, err := load(newFlags("status", env), args, env)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	db, closeDB, err := connect(ctx, cfg)
	if err != nil {
		return err
	}
	defer closeDB()
	now := time.Now()
	l, ok, err := lease.Read(ctx, db, cfg.Lease.Collection)
	if err != nil {
		return err
	}
	switch {
	case !ok:
		fmt.Fprintln(env.Stdout, "lease: none (no relay has run)")
	case now.After(l.ExpiresAt):
		fmt.Fprintf(env.Stdout, "lease: expired %s ago (owner %s, epoch %d): no relay is active\n", now.Sub(l.ExpiresAt).Round(time.Second), l.Owner, l.Epoch)
	default:
		fmt.Fprintf(env.Stdout, "lease: held by %s, epoch %d, expires in %s\n", l.Owner, l.Epoch, l.ExpiresAt.Sub(now).Round(time.Second))
	}
	recs, err := checkpoint.NewStore(db, cfg.Checkpoint.Collection).All(ctx)
	if err != nil {
		return err
	}
	byRoute := map[string]checkpoint.Record{}
	for _, r := range recs {
		byRoute[r.Route] = r
	}
	dead, err := deadletter.NewStore(db, cfg.DeadLetter.Collection, nil).Count(ctx)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(env.Stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ROUTE\tCOLLECTION\tFUNCTION\tCHECKPOINT\tLAG\tIN-FLIGHT\tDEAD LETTERS\tUPDATED")
	for _, r := range cfg.Routes {
		rec, ok := byRoute[r.Name]
		cp, lag, inFlight, updated := "none", "-", "-", "-"
		if ok && !rec.Position().IsZero() {
			cp = fmt.Sprintf("%s (%d,%d)", rec.Time.UTC().Format(time.RFC3339), rec.ClusterTime.T, rec.ClusterTime.I)
			lag = now.Sub(rec.Time).Round(100 * time.Millisecond).String()
			inFlight = fmt.Sprint(rec.InFlight)
			updated = now.Sub(rec.UpdatedAt).Round(100*time.Millisecond).String() + " ago"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%d\t%s\n", r.Name, r.Collection, cfg.FunctionName(r.Function), cp, lag, inFlight, dead[r.Name], updated)
	}
	return tw.Flush()
}
