package main

import (
	"context"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/mongo"

	"github.com/changerelay/changerelay/infra/conduit"
)

// played is what the script did.
type played struct {
	Start    time.Time
	Ops      int
	Inserted int64
	Modified int64
	Deleted  int64
	Phases   []string
}

// play applies the phases one after the other.
func play(ctx context.Context, db *mongo.Database, script []phase, out *printer) (played, error) {
	res := played{Start: time.Now()}
	for _, ph := range script {
		kinds := ph.Script.Kinds()
		out.Line("phase %q: %d writes (%s)", ph.Name, len(ph.Script), describeKinds(kinds))
		stats, err := conduit.Execute(ctx, db, ph.Script, conduit.ExecConfig{Concurrency: ph.Concurrency})
		if err != nil {
			return res, fmt.Errorf("phase %s: %w", ph.Name, err)
		}
		res.Ops += stats.Ops
		res.Inserted += stats.Inserted
		res.Modified += stats.Modified
		res.Deleted += stats.Deleted
		line := fmt.Sprintf("%s: %d writes in %s (%d inserted, %d modified, %d deleted)",
			ph.Name, stats.Ops, stats.Elapsed.Round(10*time.Millisecond), stats.Inserted, stats.Modified, stats.Deleted)
		res.Phases = append(res.Phases, line)
		out.Line("phase %q done: %d inserted, %d modified, %d deleted in %s",
			ph.Name, stats.Inserted, stats.Modified, stats.Deleted, stats.Elapsed.Round(10*time.Millisecond))
	}
	return res, nil
}

func describeKinds(kinds map[conduit.Kind]int) string {
	s := ""
	for _, k := range sortedKinds(kinds) {
		if s != "" {
			s += ", "
		}
		s += fmt.Sprintf("%s %d", k, kinds[k])
	}
	return s
}
