package e2e_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/changerelay/changerelay/e2e/stack"
	"github.com/changerelay/changerelay/infra/conduit"
)

// TestRelayKilledMidStreamAndRestarted kills the relay with SIGKILL at
// random instants while a workload runs, restarts it each time, and checks
// that nothing was lost: the invariants hold once the workload stops.
func TestRelayKilledMidStreamAndRestarted(t *testing.T) {
	p := newPipeline(t, pipelineOptions{})
	ds := p.seed(smallSeed, 5)
	p.startRelay(stack.RelayConfig{})

	script, err := conduit.Generate(ds, conduit.WorkloadConfig{Rand: newRand(55), StormSize: 30, StormChunk: 10}, 1500, nil)
	require.NoError(t, err)

	done := make(chan error, 1)
	go func() {
		// Paced so that the kills land in the middle of the stream.
		_, err := conduit.Execute(p.ctx, p.db, script, conduit.ExecConfig{Concurrency: 2, Rate: 250})
		done <- err
	}()

	r := newRand(56)
	kills := 0
	for running := true; running || kills < 3; {
		wait := time.Duration(300+r.IntN(1200)) * time.Millisecond
		select {
		case err := <-done:
			require.NoError(t, err)
			running, done = false, nil
			continue
		case <-time.After(wait):
		case <-p.ctx.Done():
			t.Fatal("case deadline")
		}
		if kills >= 6 {
			continue
		}
		victim := p.relay()
		require.NoError(t, victim.Kill())
		kills++
		t.Logf("kill %d: relay pid %d killed after %s", kills, victim.PID(), wait)
		p.startRelay(stack.RelayConfig{})
	}

	rep := p.waitConverged(convergeTimeout)
	t.Logf("converged after %d kills: %s", kills, rep.Summary())
	assert.GreaterOrEqual(t, kills, 3)
	assert.Empty(t, p.deadLetters())
}
