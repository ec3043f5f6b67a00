package e2e_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/changerelay/changerelay/e2e/stack"
	"github.com/changerelay/changerelay/infra/conduit"
)

// TestRapidConflictingUpdatesConverge plays a mixed workload of every kind
// of source write from four concurrent writers, as fast as the database
// takes them, with updates piling up on a few hot documents.
func TestRapidConflictingUpdatesConverge(t *testing.T) {
	p := newPipeline(t, pipelineOptions{Concurrency: 3})
	ds := p.seed(smallSeed, 4)
	p.startRelay(stack.RelayConfig{})

	script, err := conduit.Generate(ds, conduit.WorkloadConfig{Rand: newRand(44), StormSize: 20, StormChunk: 10}, 1200, nil)
	require.NoError(t, err)
	stats := p.execute(script, conduit.ExecConfig{Concurrency: 4})
	t.Logf("applied %d ops in %s (%d duplicates tolerated)", stats.Ops, stats.Elapsed, stats.Duplicates)

	rep := p.waitConverged(convergeTimeout)
	t.Logf("converged: %s", rep.Summary())
	assert.Empty(t, p.deadLetters(), "no valid write may be dead-lettered")
	m := p.metrics()
	t.Logf("relay: read %.0f, delivered %.0f, skipped %.0f (derived only), invocations %.0f",
		m.Sum("relay_events_read_total"), m.Sum("relay_events_delivered_total"),
		m.Sum("relay_events_skipped_total"), m.Sum("relay_invocations_total"))
	assert.Positive(t, m.Sum("relay_events_skipped_total", "reason", "derived_only"),
		"the functions' own writes come back as derived-only events and are skipped")
}
