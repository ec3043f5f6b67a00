package harness

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// ErrNoRepoRoot is returned when no go.work is found above a directory.
var ErrNoRepoRoot = errors.New("harness: no go.work found in any parent directory")

// RepoRoot returns the nearest directory at or above dir holding go.work.
func RepoRoot(dir string) (string, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("harness: %w", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.work")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", ErrNoRepoRoot
		}
		dir = parent
	}
}

// Build runs `go build -o out pkgs...` in root (a workspace root, so every
// module's packages build). With one package out is the executable; with
// several it is a directory that receives one executable per package, named
// after the package's last path element. Packages are paths relative to root
// ("./relay/cmd/relay") or module package paths.
func Build(ctx context.Context, root, out string, pkgs ...string) error {
	abs, err := filepath.Abs(out)
	if err != nil {
		return fmt.Errorf("harness: build: %w", err)
	}
	if len(pkgs) > 1 {
		if err := os.MkdirAll(abs, 0o755); err != nil {
			return fmt.Errorf("harness: build: %w", err)
		}
		abs += string(filepath.Separator)
	}
	args := append([]string{"build", "-o", abs}, pkgs...)
	cmd := exec.CommandContext(ctx, goBinary(), args...)
	cmd.Dir = root
	cmd.Env = os.Environ()
	var output bytes.Buffer
	cmd.Stdout, cmd.Stderr = &output, &output
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("harness: go build %v: %w\n%s", pkgs, err, output.String())
	}
	return nil
}

// PackageExists reports whether root holds the package directory pkg with
// at least one Go file, for skipping while a dependency is not written yet.
func PackageExists(root, pkg string) bool {
	matches, _ := filepath.Glob(filepath.Join(root, pkg, "*.go"))
	return len(matches) > 0
}

// goBinary is the go command that runs this program's build: $GO if set,
// else "go" from PATH.
func goBinary() string {
	if g := os.Getenv("GO"); g != "" {
		return g
	}
	return "go"
}
