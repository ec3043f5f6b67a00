// Package events holds one sample event per function and operation, in
// the envelope Lambda's event source mapping for Amazon DocumentDB sends
// (canonical Extended JSON), and the repair function's payloads. The
// tests deliver them, `sam local invoke -e functions/events/<file>` too.
// They describe the sample world of internal/fixture (database "conduit");
// regenerate them with `go test ./events -run TestGenerate -update`.
package events

import (
	"embed"
	"io/fs"
	"path"
	"strings"
)

//go:embed *.json
var files embed.FS

// Sample is one sample event file.
type Sample struct {
	// Name is the file name without .json, e.g. "articles-update-tags".
	Name string
	// Function is the function it is for: the name's first part.
	Function string
	// Payload is the file's content.
	Payload []byte
}

// All returns every sample, in file name order.
func All() ([]Sample, error) {
	entries, err := fs.ReadDir(files, ".")
	if err != nil {
		return nil, err
	}
	out := make([]Sample, 0, len(entries))
	for _, e := range entries {
		data, err := files.ReadFile(e.Name())
		if err != nil {
			return nil, err
		}
		name := strings.TrimSuffix(e.Name(), path.Ext(e.Name()))
		fn, _, _ := strings.Cut(name, "-")
		out = append(out, Sample{Name: name, Function: fn, Payload: data})
	}
	return out, nil
}
