package lambdahost

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
)

// The runtime interface emulator pinned as a tool in infra/go.mod.
const (
	RIEPackage = "github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie"
	RIEVersion = "v0.0.0-20261030222936-bef5c4ba774d"
	// RIEEnv names the environment variable that may point at an emulator binary.
	RIEEnv = "AWS_LAMBDA_RIE"
)

const infraModule = "github.com/changerelay/changerelay/infra"

var (
	rieMu    sync.Mutex
	rieBuilt = map[string]string{} // cache dir -> binary
)

// EnsureRIE returns the path of an aws-lambda-rie binary. In order: path if
// not empty; $AWS_LAMBDA_RIE; aws-lambda-rie on $PATH; otherwise a binary in
// cacheDir (default: the user cache dir) named after the pinned version,
// built there once with the go command. The build uses the infra module's
// go.mod when this package was compiled from its source tree, and
// `go install ...@RIEVersion` otherwise. Concurrent callers, also in other
// processes, are safe: the binary appears by an atomic rename.
func EnsureRIE(ctx context.Context, path, cacheDir string) (string, error) {
	if path != "" {
		return checkExecutable(path)
	}
	if p := os.Getenv(RIEEnv); p != "" {
		return checkExecutable(p)
	}
	if p, err := exec.LookPath("aws-lambda-rie"); err == nil {
		return p, nil
	}
	if cacheDir == "" {
		dir, err := os.UserCacheDir()
		if err != nil {
			dir = os.TempDir()
		}
		cacheDir = filepath.Join(dir, "changerelay", "lambdahost")
	}
	rieMu.Lock()
	defer rieMu.Unlock()
	if p, ok := rieBuilt[cacheDir]; ok {
		return p, nil
	}
	target := filepath.Join(cacheDir, fmt.Sprintf("aws-lambda-rie-%s-%s-%s", RIEVersion, runtime.GOOS, runtime.GOARCH))
	if _, err := checkExecutable(target); err == nil {
		rieBuilt[cacheDir] = target
		return target, nil
	}
	if err := buildRIE(ctx, cacheDir, target); err != nil {
		return "", err
	}
	rieBuilt[cacheDir] = target
	return target, nil
}

func checkExecutable(p string) (string, error) {
	st, err := os.Stat(p)
	if err != nil {
		return "", fmt.Errorf("lambdahost: runtime interface emulator: %w", err)
	}
	if st.IsDir() || st.Mode().Perm()&0o111 == 0 {
		return "", fmt.Errorf("lambdahost: runtime interface emulator %s is not an executable file", p)
	}
	return p, nil
}

func buildRIE(ctx context.Context, cacheDir, target string) error {
	if err := os.MkdirAll(cacheDir, 0o755); err != nil {
		return fmt.Errorf("lambdahost: build emulator: %w", err)
	}
	tmp, err := os.MkdirTemp(cacheDir, "build-")
	if err != nil {
		return fmt.Errorf("lambdahost: build emulator: %w", err)
	}
	defer os.RemoveAll(tmp)

	var cmd *exec.Cmd
	out := filepath.Join(tmp, "aws-lambda-rie")
	if dir := infraSourceDir(); dir != "" {
		cmd = exec.CommandContext(ctx, "go", "build", "-o", out, RIEPackage)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	} else {
		cmd = exec.CommandContext(ctx, "go", "install", RIEPackage+"@"+RIEVersion)
		cmd.Dir = tmp
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOBIN="+tmp, "GOWORK=off", "GOFLAGS=-mod=mod")
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("lambdahost: build emulator (%s): %w: %s", strings.Join(cmd.Args, " "), err, strings.TrimSpace(stderr.String()))
	}
	if err := os.Rename(out, target); err != nil {
		return fmt.Errorf("lambdahost: install emulator: %w", err)
	}
	return nil
}

// infraSourceDir is the infra module's directory when this file was compiled
// from a source tree that still exists (go test, go run, go build here).
func infraSourceDir() string {
	_, file, _, ok := runtime.Caller(0)
	if !ok || !filepath.IsAbs(file) {
		return ""
	}
	dir := filepath.Dir(filepath.Dir(file))
	data, err := os.ReadFile(filepath.Join(dir, "go.mod"))
	if err != nil || !bytes.Contains(data, []byte("module "+infraModule+"\n")) {
		return ""
	}
	return dir
}

var errClosed = errors.New("lambdahost: host closed")
