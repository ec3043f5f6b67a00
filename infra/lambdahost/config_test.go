package lambdahost_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/changerelay/changerelay/infra/lambdahost"
)

func TestConfigValidateNamesTheBadSetting(t *testing.T) {
	good := func() lambdahost.FunctionConfig {
		return lambdahost.FunctionConfig{Name: "f", Bootstrap: testBootstrap, Timeout: time.Second, MemoryMB: 128, Concurrency: 1}
	}
	with := func(mut func(*lambdahost.FunctionConfig)) lambdahost.Config {
		f := good()
		mut(&f)
		return lambdahost.Config{Functions: []lambdahost.FunctionConfig{f}}
	}
	tests := []struct {
		name string
		cfg  lambdahost.Config
		want string // "" = valid
	}{
		{name: "valid", cfg: with(func(*lambdahost.FunctionConfig) {})},
		{name: "no functions", cfg: lambdahost.Config{}, want: "Functions"},
		{name: "bad name", cfg: with(func(f *lambdahost.FunctionConfig) { f.Name = "a/b" }), want: "Name"},
		{name: "no bootstrap", cfg: with(func(f *lambdahost.FunctionConfig) { f.Bootstrap = "" }), want: "Bootstrap"},
		{name: "missing bootstrap", cfg: with(func(f *lambdahost.FunctionConfig) { f.Bootstrap = "/nonexistent/bootstrap" }), want: "Bootstrap"},
		{name: "directory bootstrap", cfg: with(func(f *lambdahost.FunctionConfig) { f.Bootstrap = os.TempDir() }), want: "Bootstrap"},
		{name: "fractional timeout", cfg: with(func(f *lambdahost.FunctionConfig) { f.Timeout = 1500 * time.Millisecond }), want: "Timeout"},
		{name: "timeout over 900s", cfg: with(func(f *lambdahost.FunctionConfig) { f.Timeout = 901 * time.Second }), want: "Timeout"},
		{name: "small memory", cfg: with(func(f *lambdahost.FunctionConfig) { f.MemoryMB = 64 }), want: "MemoryMB"},
		{name: "zero concurrency", cfg: with(func(f *lambdahost.FunctionConfig) { f.Concurrency = 0 }), want: "Concurrency"},
		{name: "reserved env", cfg: with(func(f *lambdahost.FunctionConfig) {
			f.Env = map[string]string{"AWS_LAMBDA_MAX_CONCURRENCY": "4"}
		}), want: "Env"},
		{name: "duplicate", cfg: lambdahost.Config{Functions: []lambdahost.FunctionConfig{good(), good()}}, want: "duplicate"},
		{name: "negative retry-after", cfg: func() lambdahost.Config {
			c := with(func(*lambdahost.FunctionConfig) {})
			c.RetryAfter = -time.Second
			return c
		}(), want: "RetryAfter"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			if tt.want == "" {
				assert.NoError(t, err)
				return
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
		})
	}
}

func TestStartAppliesDefaultsThenValidates(t *testing.T) {
	_, err := lambdahost.Start(context.Background(), lambdahost.Config{
		Functions: []lambdahost.FunctionConfig{{Name: "f", Bootstrap: "/nonexistent"}}})
	require.ErrorContains(t, err, "Bootstrap")

	h := startHost(t, lambdahost.Config{Functions: []lambdahost.FunctionConfig{{Name: "f", Bootstrap: testBootstrap}}})
	st := h.Stats().Functions["f"]
	assert.Equal(t, lambdahost.DefaultConcurrency, st.Concurrency)
	assert.True(t, strings.HasPrefix(h.Endpoint(), "http://127.0.0.1:"))
}

func TestLoadFunctions(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("LAMBDAHOST_TEST_URI", "mongodb://x")
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, []byte(body), 0o644))
		return p
	}

	fns, err := lambdahost.LoadFunctions(write("functions.yaml", `
defaults: {timeout: 60, memory: 256, concurrency: 3}
env: {MONGODB_DATABASE: conduit}
functions:
  - name: users
    bootstrap: bin/users/bootstrap
    env: {MONGODB_URI: "${LAMBDAHOST_TEST_URI}"}
  - name: repair
    bootstrap: /abs/repair/bootstrap
    timeout: 900
    concurrency: 1
`))
	require.NoError(t, err)
	assert.Equal(t, []lambdahost.FunctionConfig{
		{Name: "users", Bootstrap: filepath.Join(dir, "bin/users/bootstrap"), Timeout: time.Minute, MemoryMB: 256,
			Concurrency: 3, Env: map[string]string{"MONGODB_DATABASE": "conduit", "MONGODB_URI": "mongodb://x"}},
		{Name: "repair", Bootstrap: "/abs/repair/bootstrap", Timeout: 900 * time.Second, MemoryMB: 256,
			Concurrency: 1, Env: map[string]string{"MONGODB_DATABASE": "conduit"}},
	}, fns)

	fns, err = lambdahost.LoadFunctions(write("functions.json", `{"functions":[{"name":"a","bootstrap":"a/bootstrap","timeout":5}]}`))
	require.NoError(t, err)
	require.Len(t, fns, 1)
	assert.Equal(t, 5*time.Second, fns[0].Timeout)

	_, err = lambdahost.LoadFunctions(write("typo.yaml", "functions:\n  - name: a\n    bootstrp: x\n"))
	assert.ErrorContains(t, err, "bootstrp")
	_, err = lambdahost.LoadFunctions(write("empty.yaml", "functions: []\n"))
	assert.ErrorContains(t, err, "no functions")
	_, err = lambdahost.LoadFunctions(filepath.Join(dir, "missing.yaml"))
	assert.Error(t, err)
}

func TestParseFunctionFlag(t *testing.T) {
	f, err := lambdahost.ParseFunctionFlag("users=bin/local/users/bootstrap")
	require.NoError(t, err)
	assert.Equal(t, lambdahost.FunctionConfig{Name: "users", Bootstrap: "bin/local/users/bootstrap"}, f)
	for _, bad := range []string{"", "users", "=x", "users="} {
		_, err := lambdahost.ParseFunctionFlag(bad)
		assert.Error(t, err, bad)
	}
}

func TestRIEVersionMatchesGoMod(t *testing.T) {
	data, err := os.ReadFile("../go.mod")
	require.NoError(t, err)
	assert.Contains(t, string(data), "github.com/aws/aws-lambda-runtime-interface-emulator "+lambdahost.RIEVersion)
	assert.Contains(t, string(data), "tool "+lambdahost.RIEPackage)
}

func TestEnsureRIEPrefersExplicitPath(t *testing.T) {
	_, err := lambdahost.EnsureRIE(context.Background(), "/nonexistent/aws-lambda-rie", "")
	assert.Error(t, err)
	t.Setenv(lambdahost.RIEEnv, testBootstrap) // any executable will do for the lookup
	p, err := lambdahost.EnsureRIE(context.Background(), "", "")
	require.NoError(t, err)
	assert.Equal(t, testBootstrap, p)
}

func TestEnsureRIEBuildsOnceIntoCacheDir(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the emulator")
	}
	t.Setenv(lambdahost.RIEEnv, "")
	t.Setenv("PATH", filepath.Dir(goBinary(t))) // the go command, but no aws-lambda-rie
	cache := t.TempDir()
	ctx := ctxT(t, 5*time.Minute)
	p, err := lambdahost.EnsureRIE(ctx, "", cache)
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(p, cache))
	st, err := os.Stat(p)
	require.NoError(t, err)
	assert.NotZero(t, st.Mode().Perm()&0o111)

	again, err := lambdahost.EnsureRIE(ctx, "", cache)
	require.NoError(t, err)
	assert.Equal(t, p, again)
}
