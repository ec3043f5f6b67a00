package devstack

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
)

// Build compiles functions/cmd/<name> for this machine into
// binDir/<name>/bootstrap (CGO off, tag lambda.norpc, as for Lambda's
// provided.al2023 runtime but for the local GOOS/GOARCH), in one go build.
func Build(ctx context.Context, root, binDir string, names ...string) error {
	if len(names) == 0 {
		return nil
	}
	if err := os.MkdirAll(binDir, 0o755); err != nil {
		return fmt.Errorf("devstack: build: %w", err)
	}
	tmp, err := os.MkdirTemp(binDir, ".build-")
	if err != nil {
		return fmt.Errorf("devstack: build: %w", err)
	}
	defer os.RemoveAll(tmp)

	args := []string{"build", "-tags", "lambda.norpc", "-o", tmp + string(filepath.Separator)}
	for _, n := range names {
		args = append(args, "./functions/cmd/"+n)
	}
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS="+runtime.GOOS, "GOARCH="+runtime.GOARCH)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("devstack: go %s: %w\n%s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	for _, n := range names {
		dir := filepath.Join(binDir, n)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("devstack: build: %w", err)
		}
		if err := os.Rename(filepath.Join(tmp, n), filepath.Join(dir, "bootstrap")); err != nil {
			return fmt.Errorf("devstack: build %s: %w", n, err)
		}
	}
	return nil
}

// Bootstrap is the path Build writes for a function.
func Bootstrap(binDir, name string) string {
	return filepath.Join(binDir, name, "bootstrap")
}
