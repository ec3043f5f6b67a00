package stack

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// TargetDevstack is the Docker-free stack run by the devstack command
// (`make devstack`) instead of separate processes.
const TargetDevstack = "devstack"

// StartDevstack runs the devstack command on free ports, serving the
// function binaries of cfg.Bins (linked into its bin dir as bootstraps,
// so it does not build them again), and reads its MONGODB_URI= and
// LAMBDA_ENDPOINT= lines.
func StartDevstack(ctx context.Context, cfg Config) (*Stack, error) {
	if cfg.Bins == nil || cfg.LogDir == "" {
		return nil, errors.New("stack: Config.Bins and Config.LogDir are required")
	}
	binDir := filepath.Join(cfg.LogDir, "devstack-bin")
	links := map[string]string{"indexes": cfg.Bins.Indexes}
	for _, name := range FunctionNames {
		links[name] = cfg.Bins.Functions[name]
	}
	for name, src := range links {
		dst := filepath.Join(binDir, name, "bootstrap")
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return nil, fmt.Errorf("stack: %w", err)
		}
		if err := os.Symlink(src, dst); err != nil {
			return nil, fmt.Errorf("stack: %w", err)
		}
	}
	p, err := startDevstackProcess(cfg, binDir)
	if err != nil {
		return nil, err
	}
	s := &Stack{cfg: cfg, Target: TargetDevstack, host: p}
	for _, want := range []struct {
		dst     *string
		pattern string
	}{
		{&s.MongoURI, `^MONGODB_URI=(\S+)`},
		{&s.Database, `^MONGODB_DATABASE=(\S+)`},
		{&s.LambdaEndpoint, `^LAMBDA_ENDPOINT=(\S+)`},
	} {
		m, err := p.WaitLine(ctx, want.pattern)
		if err != nil {
			_ = p.Kill()
			return nil, fmt.Errorf("stack: devstack: %w\n%s", err, p.Tail(20))
		}
		*want.dst = m[1]
	}
	return s, nil
}
