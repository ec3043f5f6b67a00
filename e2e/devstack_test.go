package e2e_test

import (
	"context"
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/changerelay/changerelay/e2e/stack"
	"github.com/changerelay/changerelay/infra/conduit"
)

// TestDevstackCommandServesTheRelay is the README's local workflow: `make
// devstack`, then `make relay` with the lines it printed.
func TestDevstackCommandServesTheRelay(t *testing.T) {
	p := newPipeline(t, pipelineOptions{Devstack: true})
	ds := p.seed(smallSeed, 12)
	p.startRelay(stack.RelayConfig{})
	script, err := conduit.Generate(ds, conduit.WorkloadConfig{Rand: newRand(120)}, 300, nil)
	require.NoError(t, err)
	p.execute(script, conduit.ExecConfig{Concurrency: 2})
	rep := p.waitConverged(convergeTimeout)
	t.Logf("converged on the devstack command: %s", rep.Summary())
}

// TestDemoQuick runs the demo (make demo) end to end on a small data set,
// with the binaries the suite built.
func TestDemoQuick(t *testing.T) {
	requirePipeline(t)
	if stack.TargetFromEnv() != stack.TargetLocal {
		t.Skip("the demo runs on the Docker-free stack")
	}
	ctx, cancel := context.WithTimeout(context.Background(), caseTimeout)
	defer cancel()
	out, err := exec.CommandContext(ctx, bins.Demo, "-quick", "-bin", bins.Dir, "-timeout", "3m").CombinedOutput()
	require.NoError(t, err, "demo output:\n%s", out)
	text := string(out)
	assert.Contains(t, text, "zero drift")
	assert.Regexp(t, `convergence: +\S+ after the last write`, text)
	assert.Regexp(t, `drift 0 \(dry run`, text)
	assert.True(t, strings.Contains(text, "lambda host invocations:"), text)
}
