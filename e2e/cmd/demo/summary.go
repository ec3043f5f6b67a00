package main

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/mongo"

	"github.com/changerelay/changerelay/e2e/harness"
	"github.com/changerelay/changerelay/e2e/stack"
	"github.com/changerelay/changerelay/infra/conduit"
)

// summary gathers the figures the demo ends with.
type summary struct {
	played    played
	playStart time.Time
	lastWrite time.Time
	converged time.Time

	metrics     harness.Metrics
	host        map[string]stack.FunctionStats
	deadLetters int64
	check       conduit.Report
}

func (s *summary) collect(ctx context.Context, st *stack.Stack, relay *stack.Relay, db *mongo.Database) error {
	var err error
	if s.metrics, err = relay.Metrics(ctx); err != nil {
		return err
	}
	if s.host, err = st.HostStats(ctx); err != nil {
		return err
	}
	if s.deadLetters, err = db.Collection("_relay_deadletters").CountDocuments(ctx, bson.D{}); err != nil {
		return err
	}
	s.check, err = conduit.Check(ctx, db)
	return err
}

func (s *summary) print(out *printer) {
	m := s.metrics
	read := m.Sum("relay_events_read_total")
	delivered := m.Sum("relay_events_delivered_total")
	skipped := m.Sum("relay_events_skipped_total", "reason", "derived_only")
	invocations := m.Sum("relay_invocations_total")

	out.Line("writes played:          %d statements (%d docs inserted, %d modified, %d deleted) in %s",
		s.played.Ops, s.played.Inserted, s.played.Modified, s.played.Deleted, s.lastWrite.Sub(s.playStart).Round(10*time.Millisecond))
	out.Line("convergence:            %s after the last write (%s from the first)",
		s.converged.Sub(s.lastWrite).Round(10*time.Millisecond), s.converged.Sub(s.playStart).Round(10*time.Millisecond))
	out.Line("change events read:     %.0f (%.0f delivered, %.0f skipped as derived-only, the functions' own writes)", read, delivered, skipped)
	out.Line("relay invocations:      %.0f (%.1f events per invocation), dead letters: %d", invocations, ratio(delivered, invocations), s.deadLetters)

	var names []string
	var hostTotal int64
	for name := range s.host {
		names = append(names, name)
	}
	sort.Strings(names)
	var parts []string
	for _, name := range names {
		f := s.host[name]
		hostTotal += f.Invocations
		parts = append(parts, fmt.Sprintf("%s %d", name, f.Invocations))
	}
	out.Line("lambda host invocations: %d (%s)", hostTotal, strings.Join(parts, ", "))
	out.Line("conduit.Check:          %s", s.check.Summary())
}

func ratio(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}

func printRepair(out *printer, rep stack.RepairReport) {
	out.Line("%-4s %10s %10s  %s", "inv", "checked", "drifted", "what")
	for _, inv := range rep.Invariants {
		out.Line("%-4s %10d %10d  %s", inv.Name, inv.Checked, inv.Drifted, inv.Description)
	}
	out.Line("drift %d (dry run: nothing written), %d ms", rep.Drift, rep.DurationMs)
}
