package lambdahost

import (
	"os"
	"path/filepath"
	"sort"
	"strconv"
)

// function is one configured function and its pool of environments.
type function struct {
	host      *Host
	cfg       FunctionConfig
	bootstrap string   // absolute path
	environ   []string // the emulator's (and so the function's) environment
	log       *functionLog
	envs      []*environment
	pool      *pool
	counters  counters
}

func newFunction(h *Host, cfg FunctionConfig) (*function, error) {
	bootstrap, err := filepath.Abs(cfg.Bootstrap)
	if err != nil {
		return nil, err
	}
	log, err := openFunctionLog(cfg.Name, h.cfg.LogDir, h.cfg.Output, h.cfg.Logger)
	if err != nil {
		return nil, err
	}
	fn := &function{host: h, cfg: cfg, bootstrap: bootstrap, environ: functionEnviron(cfg), log: log}
	fn.counters.s.Concurrency = cfg.Concurrency
	for i := 0; i < cfg.Concurrency; i++ {
		fn.envs = append(fn.envs, &environment{fn: fn, index: i, out: &envOutput{log: log, env: i}})
	}
	fn.pool = newPool(fn.envs)
	return fn, nil
}

// inheritedEnv are the host variables a function sees; everything else comes
// from its configuration, as in Lambda.
var inheritedEnv = []string{"PATH", "HOME", "TMPDIR", "TZ", "LANG",
	"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"}

func functionEnviron(cfg FunctionConfig) []string {
	env := map[string]string{}
	for _, k := range inheritedEnv {
		if v, ok := os.LookupEnv(k); ok {
			env[k] = v
		}
	}
	region := os.Getenv("AWS_REGION")
	if region == "" {
		region = os.Getenv("AWS_DEFAULT_REGION")
	}
	if region == "" {
		region = fakeRegion
	}
	env["AWS_REGION"] = region
	env["AWS_DEFAULT_REGION"] = region
	for k, v := range cfg.Env {
		env[k] = v
	}
	env["AWS_LAMBDA_FUNCTION_NAME"] = cfg.Name
	env["AWS_LAMBDA_FUNCTION_VERSION"] = "$LATEST"
	env["AWS_LAMBDA_FUNCTION_TIMEOUT"] = strconv.Itoa(int(cfg.Timeout.Seconds()))
	env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] = strconv.Itoa(cfg.MemoryMB)
	env["AWS_LAMBDA_LOG_GROUP_NAME"] = "/aws/lambda/" + cfg.Name
	env["AWS_LAMBDA_LOG_STREAM_NAME"] = "$LATEST"
	env["_HANDLER"] = "bootstrap"
	out := make([]string, 0, len(env))
	for k, v := range env {
		out = append(out, k+"="+v)
	}
	sort.Strings(out)
	return out
}
