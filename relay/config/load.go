package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"gopkg.in/yaml.v3"
)

// Load reads the YAML file at path (none when path is ""), applies the
// environment overrides read through getenv (os.Getenv when nil), fills the
// defaults and validates. The error names the bad setting.
func Load(path string, getenv func(string) string) (*Config, error) {
	c := &Config{}
	if path != "" {
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("read config: %w", err)
		}
		if err := Parse(data, c); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
	}
	if getenv == nil {
		getenv = os.Getenv
	}
	if err := c.ApplyEnv(getenv); err != nil {
		return nil, err
	}
	c.SetDefaults()
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return c, nil
}

// Parse decodes YAML into c, rejecting unknown keys.
func Parse(data []byte, c *Config) error {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(c); err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("parse config: %w", err)
	}
	return nil
}

// Env lists the environment overrides and the setting each one replaces.
var Env = []struct{ Name, Setting string }{
	{"MONGODB_URI", "mongodb.uri"},
	{"MONGODB_DATABASE", "mongodb.database"},
	{"LAMBDA_ENDPOINT", "lambda.endpoint"},
	{"FUNCTION_PREFIX", "lambda.functionPrefix"},
	{"AWS_REGION", "lambda.region"},
	{"RELAY_HTTP_ADDR", "http.addr"},
	{"LOG_LEVEL", "logLevel"},
	{"DEADLETTER_SQS_URL", "deadLetter.sqsQueueURL"},
	{"SQS_ENDPOINT", "deadLetter.sqsEndpoint"},
	{"RELAY_INITIAL_SYNC", "initialSync"},
	{"RELAY_OWNER", "lease.owner"},
	{"RELAY_LEASE_DURATION", "lease.duration"},
	{"RELAY_SHUTDOWN_GRACE", "shutdownGrace"},
	{"REPAIR_FUNCTION", "repair.function"},
}

// ApplyEnv overrides settings from the environment (see Env).
func (c *Config) ApplyEnv(getenv func(string) string) error {
	strs := map[string]*string{
		"MONGODB_URI":        &c.MongoDB.URI,
		"MONGODB_DATABASE":   &c.MongoDB.Database,
		"LAMBDA_ENDPOINT":    &c.Lambda.Endpoint,
		"FUNCTION_PREFIX":    &c.Lambda.FunctionPrefix,
		"AWS_REGION":         &c.Lambda.Region,
		"RELAY_HTTP_ADDR":    &c.HTTP.Addr,
		"LOG_LEVEL":          &c.LogLevel,
		"DEADLETTER_SQS_URL": &c.DeadLetter.SQSQueueURL,
		"SQS_ENDPOINT":       &c.DeadLetter.SQSEndpoint,
		"RELAY_INITIAL_SYNC": &c.InitialSync,
		"RELAY_OWNER":        &c.Lease.Owner,
		"REPAIR_FUNCTION":    &c.Repair.Function,
	}
	durations := map[string]*time.Duration{
		"RELAY_LEASE_DURATION": &c.Lease.Duration,
		"RELAY_SHUTDOWN_GRACE": &c.ShutdownGrace,
	}
	for _, e := range Env {
		v := getenv(e.Name)
		if v == "" {
			continue
		}
		if p, ok := strs[e.Name]; ok {
			*p = v
			continue
		}
		d, err := time.ParseDuration(v)
		if err != nil {
			return fmt.Errorf("%s (%s): %q is not a duration such as 15s", e.Name, e.Setting, v)
		}
		*durations[e.Name] = d
	}
	return nil
}
