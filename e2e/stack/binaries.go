package stack

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/changerelay/changerelay/e2e/harness"
)

// FunctionNames are the Lambda functions of the project.
var FunctionNames = []string{"users", "articles", "comments", "favorites", "repair"}

// rie is the runtime interface emulator, pinned as a tool of the infra module.
const riePackage = "github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie"

// packages maps each binary to its package, relative to the repository root.
var packages = map[string]string{
	"relay":      "./relay/cmd/relay",
	"mongolocal": "./infra/cmd/mongolocal",
	"lambdahost": "./infra/cmd/lambdahost",
	"devstack":   "./infra/cmd/devstack",
	"demo":       "./e2e/cmd/demo",
	"indexes":    "./functions/cmd/indexes",
	"users":      "./functions/cmd/users",
	"articles":   "./functions/cmd/articles",
	"comments":   "./functions/cmd/comments",
	"favorites":  "./functions/cmd/favorites",
	"repair":     "./functions/cmd/repair",
}

// Binaries are the built executables.
type Binaries struct {
	Dir        string
	Relay      string
	Mongolocal string
	LambdaHost string
	Devstack   string
	Demo       string
	Indexes    string
	RIE        string
	// Functions maps a function name to its executable (its bootstrap).
	Functions map[string]string
}

// Missing lists the packages of the pipeline not present in root yet.
func Missing(root string) []string {
	var out []string
	for _, pkg := range packages {
		if !harness.PackageExists(root, pkg) {
			out = append(out, pkg)
		}
	}
	sort.Strings(out)
	return out
}

// Build compiles every binary of the pipeline into dir with one `go build`
// (which builds packages in parallel and reuses the build cache).
func Build(ctx context.Context, root, dir string) (*Binaries, error) {
	if missing := Missing(root); len(missing) > 0 {
		return nil, fmt.Errorf("stack: packages not written yet: %s", strings.Join(missing, ", "))
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("stack: %w", err)
	}
	pkgs := make([]string, 0, len(packages)+1)
	for _, pkg := range packages {
		pkgs = append(pkgs, pkg)
	}
	sort.Strings(pkgs)
	pkgs = append(pkgs, riePackage)
	if err := harness.Build(ctx, root, dir, pkgs...); err != nil {
		// Once more: a build cache trimmed or written by a concurrent go
		// command can fail one build ("could not import ... open : no such
		// file"); a real compile error fails again.
		if err2 := harness.Build(ctx, root, dir, pkgs...); err2 != nil {
			return nil, err2
		}
	}
	return Existing(dir), nil
}

// Existing describes binaries already built into dir by Build.
func Existing(dir string) *Binaries {
	b := &Binaries{
		Dir:        dir,
		Relay:      filepath.Join(dir, "relay"),
		Mongolocal: filepath.Join(dir, "mongolocal"),
		LambdaHost: filepath.Join(dir, "lambdahost"),
		Devstack:   filepath.Join(dir, "devstack"),
		Demo:       filepath.Join(dir, "demo"),
		Indexes:    filepath.Join(dir, "indexes"),
		RIE:        filepath.Join(dir, "aws-lambda-rie"),
		Functions:  map[string]string{},
	}
	for _, name := range FunctionNames {
		b.Functions[name] = filepath.Join(dir, name)
	}
	return b
}
