package lambdahost

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// functionsFile is the YAML (or JSON) shape read by LoadFunctions.
type functionsFile struct {
	Defaults  fileFunction      `yaml:"defaults"`
	Env       map[string]string `yaml:"env"`
	Functions []fileFunction    `yaml:"functions"`
}

type fileFunction struct {
	Name        string            `yaml:"name"`
	Bootstrap   string            `yaml:"bootstrap"`
	Timeout     int               `yaml:"timeout"` // seconds, like SAM's Timeout
	Memory      int               `yaml:"memory"`
	Concurrency int               `yaml:"concurrency"`
	Env         map[string]string `yaml:"env"`
}

// LoadFunctions reads function descriptions from a YAML or JSON file:
//
//	defaults: {timeout: 60, memory: 256, concurrency: 2}   # optional
//	env: {MONGODB_DATABASE: conduit}                      # optional, every function
//	functions:
//	  - name: users
//	    bootstrap: ../bin/local/users/bootstrap  # relative to this file
//	    timeout: 60                              # seconds
//	    env: {MONGODB_URI: "${MONGODB_URI}"}     # ${VAR} expands from the host's environment
//
// Unknown fields are errors. The result is not validated; Start does that.
func LoadFunctions(path string) ([]FunctionConfig, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("lambdahost: read functions file: %w", err)
	}
	var file functionsFile
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&file); err != nil {
		return nil, fmt.Errorf("lambdahost: parse functions file %s: %w", path, err)
	}
	if len(file.Functions) == 0 {
		return nil, fmt.Errorf("lambdahost: functions file %s lists no functions", path)
	}
	base := filepath.Dir(path)
	out := make([]FunctionConfig, 0, len(file.Functions))
	for _, f := range file.Functions {
		fc := FunctionConfig{
			Name:        f.Name,
			Bootstrap:   f.Bootstrap,
			Timeout:     time.Duration(firstNonZero(f.Timeout, file.Defaults.Timeout)) * time.Second,
			MemoryMB:    firstNonZero(f.Memory, file.Defaults.Memory),
			Concurrency: firstNonZero(f.Concurrency, file.Defaults.Concurrency),
			Env:         mergeEnv(file.Env, file.Defaults.Env, f.Env),
		}
		if fc.Bootstrap != "" && !filepath.IsAbs(fc.Bootstrap) {
			fc.Bootstrap = filepath.Join(base, fc.Bootstrap)
		}
		for k, v := range fc.Env {
			fc.Env[k] = os.ExpandEnv(v)
		}
		out = append(out, fc)
	}
	return out, nil
}

// ParseFunctionFlag parses "name=path/to/bootstrap", the form of the
// command's repeated --function flag.
func ParseFunctionFlag(s string) (FunctionConfig, error) {
	name, path, ok := strings.Cut(s, "=")
	if !ok || name == "" || path == "" {
		return FunctionConfig{}, fmt.Errorf("lambdahost: function %q: want name=path/to/bootstrap", s)
	}
	return FunctionConfig{Name: name, Bootstrap: path}, nil
}

func firstNonZero(v ...int) int {
	for _, x := range v {
		if x != 0 {
			return x
		}
	}
	return 0
}

func mergeEnv(layers ...map[string]string) map[string]string {
	out := map[string]string{}
	for _, l := range layers {
		for k, v := range l {
			out[k] = v
		}
	}
	return out
}
