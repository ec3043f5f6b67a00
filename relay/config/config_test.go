package config_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/changerelay/changerelay/relay/config"
)

func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestDefaults(t *testing.T) {
	c, err := config.Load("", env(nil))
	require.NoError(t, err)
	require.Equal(t, "conduit", c.MongoDB.Database)
	require.Len(t, c.Routes, 4)
	for i, name := range []string{"users", "articles", "comments", "favorites"} {
		r := c.Routes[i]
		require.Equal(t, name, r.Name)
		require.Equal(t, name, r.Collection)
		require.Equal(t, name, r.Function)
		require.Equal(t, 100, r.BatchSize)
		require.Equal(t, config.OrderingKeyDocument, r.OrderingKey)
		require.Equal(t, config.FullDocumentWhenAvailable, r.FullDocumentBeforeChange)
		require.Equal(t, []string{"insert", "update", "replace", "delete"}, r.OperationTypes)
		require.Less(t, r.MaxPayloadBytes, config.MaxPayloadLimit)
		require.True(t, r.Bisect())
		require.Equal(t, config.DefaultRouteKeyEvents, r.KeyEventsPerBatch, "the shipped functions converge with a key's events batched")
	}
	require.Equal(t, "_relay_checkpoints", c.Checkpoint.Collection)
	require.Equal(t, "_relay_deadletters", c.DeadLetter.Collection)
	require.Equal(t, "_relay_lease", c.Lease.Collection)
	require.Equal(t, config.InitialSyncRepair, c.InitialSync)
	require.Equal(t, "repair", c.Repair.Function)
	require.Equal(t, c.Routes, config.Default().Routes)
}

func TestEnvOverrides(t *testing.T) {
	c, err := config.Load("", env(map[string]string{
		"MONGODB_URI":          "mongodb://db:27017/?replicaSet=x",
		"MONGODB_DATABASE":     "other",
		"LAMBDA_ENDPOINT":      "http://127.0.0.1:3001",
		"FUNCTION_PREFIX":      "stack-",
		"AWS_REGION":           "eu-west-1",
		"RELAY_HTTP_ADDR":      ":9090",
		"RELAY_LEASE_DURATION": "30s",
		"RELAY_INITIAL_SYNC":   "now",
		"DEADLETTER_SQS_URL":   "http://localhost:4566/000000000000/dlq",
	}))
	require.NoError(t, err)
	require.Equal(t, "mongodb://db:27017/?replicaSet=x", c.MongoDB.URI)
	require.Equal(t, "other", c.MongoDB.Database)
	require.Equal(t, "http://127.0.0.1:3001", c.Lambda.Endpoint)
	require.Equal(t, "stack-users", c.FunctionName(c.Routes[0].Function))
	require.Equal(t, "arn:aws:lambda:x", c.FunctionName("arn:aws:lambda:x"))
	require.Equal(t, "eu-west-1", c.Lambda.Region)
	require.Equal(t, ":9090", c.HTTP.Addr)
	require.Equal(t, 30*time.Second, c.Lease.Duration)
	require.Equal(t, 10*time.Second, c.Lease.RenewInterval)
	require.Equal(t, "now", c.InitialSync)
	require.NotEmpty(t, c.DeadLetter.SQSQueueURL)
}

func TestEnvBadDuration(t *testing.T) {
	_, err := config.Load("", env(map[string]string{"RELAY_SHUTDOWN_GRACE": "soon"}))
	require.ErrorContains(t, err, "RELAY_SHUTDOWN_GRACE (shutdownGrace)")
}

func TestYAMLFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "relay.yaml")
	require.NoError(t, os.WriteFile(path, []byte(`
mongodb:
  database: blog
lambda:
  functionPrefix: prod-
routes:
  - collection: comments
    orderingKey: articleId
    batchSize: 10
    batchWindow: 250ms
    bisectOnError: false
  - name: favs
    collection: favorites
    function: favorites-v2
    operationTypes: [insert, delete]
`), 0o600))
	c, err := config.Load(path, env(map[string]string{"MONGODB_DATABASE": "fromenv"}))
	require.NoError(t, err)
	require.Equal(t, "fromenv", c.MongoDB.Database, "environment wins over the file")
	require.Len(t, c.Routes, 2)
	require.Equal(t, "comments", c.Routes[0].Name)
	require.Equal(t, "comments", c.Routes[0].Function)
	require.Equal(t, "articleId", c.Routes[0].OrderingKey)
	require.Equal(t, 10, c.Routes[0].BatchSize)
	require.Equal(t, 250*time.Millisecond, c.Routes[0].BatchWindow)
	require.False(t, c.Routes[0].Bisect())
	require.Equal(t, "favs", c.Routes[1].Name)
	require.Equal(t, "prod-favorites-v2", c.FunctionName(c.Routes[1].Function))
	require.Equal(t, []string{"insert", "delete"}, c.Routes[1].OperationTypes)
	require.Equal(t, 1, c.Routes[1].KeyEventsPerBatch, "a route of one's own keeps strict per-key order")
}

func TestExampleFileIsValid(t *testing.T) {
	c, err := config.Load("../relay.example.yaml", env(nil))
	require.NoError(t, err)
	require.Len(t, c.Routes, 4)
}

func TestYAMLUnknownKey(t *testing.T) {
	path := filepath.Join(t.TempDir(), "relay.yaml")
	require.NoError(t, os.WriteFile(path, []byte("routes:\n  - collection: users\n    batchsize: 5\n"), 0o600))
	_, err := config.Load(path, env(nil))
	require.ErrorContains(t, err, "batchsize")
}

func TestValidate(t *testing.T) {
	cases := []struct {
		name   string
		mutate func(c *config.Config)
		want   string
	}{
		{"batch size too big", func(c *config.Config) { c.Routes[1].BatchSize = 20000 }, "routes[1].batchSize: must be between 1 and 10000"},
		{"negative batch size", func(c *config.Config) { c.Routes[0].BatchSize = -1 }, "routes[0].batchSize: must be between 1 and 10000"},
		{"payload over lambda limit", func(c *config.Config) { c.Routes[2].MaxPayloadBytes = 6 << 20 }, "routes[2].maxPayloadBytes: must be between 1024 and 6000000"},
		{"bad operation type", func(c *config.Config) { c.Routes[0].OperationTypes = []string{"insert", "drop"} }, `routes[0].operationTypes[1]: "drop" is not one of`},
		{"bad fullDocument", func(c *config.Config) { c.Routes[3].FullDocument = "always" }, "routes[3].fullDocument"},
		{"bad before change", func(c *config.Config) { c.Routes[3].FullDocumentBeforeChange = "updateLookup" }, "routes[3].fullDocumentBeforeChange"},
		{"bad ordering key", func(c *config.Config) { c.Routes[2].OrderingKey = "$articleId" }, "routes[2].orderingKey"},
		{"zero concurrency", func(c *config.Config) { c.Routes[0].Concurrency = -3 }, "routes[0].concurrency: must be between 1 and 1000"},
		{"duplicate names", func(c *config.Config) { c.Routes[1].Name = "users" }, `routes[1].name: "users" is also the name of routes[0]`},
		{"buffer below batch", func(c *config.Config) { c.Routes[0].MaxBufferedEvents = 10 }, "routes[0].maxBufferedEvents"},
		{"bad uri", func(c *config.Config) { c.MongoDB.URI = "http://x" }, "mongodb.uri"},
		{"bad endpoint", func(c *config.Config) { c.Lambda.Endpoint = "localhost:3001" }, "lambda.endpoint"},
		{"checkpoint not internal", func(c *config.Config) { c.Checkpoint.Collection = "checkpoints" }, "checkpoint.collection"},
		{"renew too slow", func(c *config.Config) { c.Lease.RenewInterval = c.Lease.Duration }, "lease.renewInterval"},
		{"initial sync", func(c *config.Config) { c.InitialSync = "later" }, `initialSync: "later" is not one of repair, now`},
		{"log level", func(c *config.Config) { c.LogLevel = "loud" }, "logLevel"},
		{"event age", func(c *config.Config) { c.Routes[0].MaxEventAge = 30 * 24 * time.Hour }, "routes[0].maxEventAge"},
		{"jitter", func(c *config.Config) { c.Retry.Jitter = 2 }, "retry.jitter"},
		{"no collection", func(c *config.Config) { c.Routes = []config.Route{{Name: "x", Function: "f"}} }, "routes[0].collection"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := config.Default()
			tc.mutate(c)
			c.SetDefaults()
			err := c.Validate()
			require.Error(t, err)
			require.Contains(t, err.Error(), tc.want)
		})
	}
	require.NoError(t, config.Default().Validate())
}
