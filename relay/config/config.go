package config

import (
	"fmt"
	"os"
	"strings"
	"time"
)

// Change-stream fullDocument modes.
const (
	FullDocumentDefault       = "default"
	FullDocumentUpdateLookup  = "updateLookup"
	FullDocumentWhenAvailable = "whenAvailable"
	FullDocumentRequired      = "required"
	FullDocumentOff           = "off"
)

// Initial sync modes: what the first start without a checkpoint does.
const (
	InitialSyncRepair = "repair" // invoke the repair function, then stream from its cluster time
	InitialSyncNow    = "now"    // stream from now on, leaving existing data as it is
)

// OrderingKeyDocument orders events by their documentKey (the default).
const OrderingKeyDocument = "documentKey"

// Config is the whole relay configuration.
type Config struct {
	MongoDB    MongoDB    `yaml:"mongodb"`
	Lambda     Lambda     `yaml:"lambda"`
	HTTP       HTTP       `yaml:"http"`
	Checkpoint Checkpoint `yaml:"checkpoint"`
	DeadLetter DeadLetter `yaml:"deadLetter"`
	Lease      Lease      `yaml:"lease"`
	Retry      Retry      `yaml:"retry"`
	Stream     Stream     `yaml:"stream"`
	Repair     Repair     `yaml:"repair"`
	// InitialSync is "repair" (default) or "now".
	InitialSync string `yaml:"initialSync"`
	// ShutdownGrace bounds how long SIGINT/SIGTERM waits for in-flight work.
	ShutdownGrace time.Duration `yaml:"shutdownGrace"`
	// LogLevel is debug, info (default), warn or error.
	LogLevel string `yaml:"logLevel"`
	// Routes map collections to functions; empty means DefaultRoutes().
	Routes []Route `yaml:"routes"`
}

// MongoDB names the replica set and database the relay watches.
type MongoDB struct {
	URI      string `yaml:"uri"`      // default mongodb://127.0.0.1:27017/?replicaSet=rs0
	Database string `yaml:"database"` // default conduit
}

// Lambda configures the invocation client.
type Lambda struct {
	// Endpoint overrides the Lambda API endpoint (LocalStack, sam local
	// start-lambda, the project's lambdahost). Empty means AWS.
	Endpoint string `yaml:"endpoint"`
	Region   string `yaml:"region"` // default us-east-1
	// FunctionPrefix is prepended to every function name that is not an ARN.
	FunctionPrefix string `yaml:"functionPrefix"`
	// SDKMaxAttempts is the SDK's own retry for transport errors and 5xx
	// (throttling is left to the relay, which honours retry-after).
	SDKMaxAttempts int `yaml:"sdkMaxAttempts"` // default 3
}

// HTTP configures the operations endpoint (/healthz, /readyz, /metrics).
type HTTP struct {
	// Addr is the listen address; "off" disables the server.
	Addr string `yaml:"addr"` // default 127.0.0.1:9090
	// Pprof also serves Go's profiles under /debug/pprof/ (heap, CPU,
	// goroutines). Off by default: turn it on only on a private address.
	Pprof bool `yaml:"pprof"`
}

// Checkpoint configures where and how often resume tokens are stored.
type Checkpoint struct {
	Collection string        `yaml:"collection"` // default _relay_checkpoints
	Interval   time.Duration `yaml:"interval"`   // default 1s
}

// DeadLetter configures where events go after their last attempt.
type DeadLetter struct {
	Collection string `yaml:"collection"` // default _relay_deadletters
	// SQSQueueURL, when set, also sends every dead letter to this queue.
	SQSQueueURL string `yaml:"sqsQueueURL"`
	// SQSEndpoint overrides the SQS API endpoint (LocalStack).
	SQSEndpoint string `yaml:"sqsEndpoint"`
}

// Lease configures the single-active-relay lease.
type Lease struct {
	Collection    string        `yaml:"collection"`    // default _relay_lease
	Duration      time.Duration `yaml:"duration"`      // default 15s
	RenewInterval time.Duration `yaml:"renewInterval"` // default Duration/3
	// Owner identifies this relay; default hostname-pid.
	Owner string `yaml:"owner"`
}

// Retry is the backoff between attempts of a failed event.
type Retry struct {
	InitialBackoff time.Duration `yaml:"initialBackoff"` // default 500ms
	MaxBackoff     time.Duration `yaml:"maxBackoff"`     // default 2m
	Multiplier     float64       `yaml:"multiplier"`     // default 2
	Jitter         float64       `yaml:"jitter"`         // default 0.2 (±20%)
}

// Stream configures the change-stream readers.
type Stream struct {
	// MaxAwaitTime is how long one getMore waits for events; it is also
	// how often a quiet collection's token is refreshed.
	MaxAwaitTime time.Duration `yaml:"maxAwaitTime"` // default 1s
	// ReopenBackoff and ReopenMaxBackoff bound reopening after errors.
	ReopenBackoff    time.Duration `yaml:"reopenBackoff"`    // default 500ms
	ReopenMaxBackoff time.Duration `yaml:"reopenMaxBackoff"` // default 30s
	// SplitLargeEvents requests $changeStreamSplitLargeEvent when the
	// server supports it (7.0+, 6.0.9+). Default true.
	SplitLargeEvents *bool `yaml:"splitLargeEvents"`
	// BatchSize bounds the events per getMore, and so what the driver
	// buffers. Default 1000.
	BatchSize int `yaml:"batchSize"`
}

// Repair configures the function run on history loss and initial sync.
type Repair struct {
	Function string        `yaml:"function"` // default repair
	Timeout  time.Duration `yaml:"timeout"`  // default 900s
}

// Route sends one collection's change events to one function.
type Route struct {
	// Name identifies the route (checkpoints, metrics); default the collection.
	Name       string `yaml:"name"`
	Collection string `yaml:"collection"`
	// Function is the Lambda function; FunctionPrefix is prepended unless
	// it is an ARN. Default the collection name.
	Function string `yaml:"function"`
	// OperationTypes to deliver; default insert, update, replace, delete.
	OperationTypes []string `yaml:"operationTypes"`
	// FullDocument: default, updateLookup (default), whenAvailable, required.
	FullDocument string `yaml:"fullDocument"`
	// FullDocumentBeforeChange: off, whenAvailable (default), required.
	FullDocumentBeforeChange string `yaml:"fullDocumentBeforeChange"`
	// OrderingKey: "documentKey" (default) or a field path such as
	// "articleId", read from fullDocument, else fullDocumentBeforeChange.
	OrderingKey string `yaml:"orderingKey"`
	// BatchSize is the most events per invocation; default 100.
	BatchSize int `yaml:"batchSize"`
	// BatchWindow waits this long for a batch to fill; default 0 (send
	// what is ready as soon as a worker is free).
	BatchWindow time.Duration `yaml:"batchWindow"`
	// MaxPayloadBytes bounds one invocation's payload; default 5 MiB,
	// at most 6,000,000 (Lambda's synchronous limit is 6 MB).
	MaxPayloadBytes int `yaml:"maxPayloadBytes"`
	// Concurrency is the most invocations in flight; default 4.
	Concurrency int `yaml:"concurrency"`
	// KeyEventsPerBatch is the most events of one ordering key in a batch.
	// 1 (default): a key's next event is sent only after the previous one
	// succeeded. More: a key's events go in order in one invocation and a
	// failure redelivers the key's later events too (Lambda semantics).
	// The default routes (DefaultRoutes) use DefaultRouteKeyEvents.
	KeyEventsPerBatch int `yaml:"keyEventsPerBatch"`
	// MaxAttempts before an event is dead-lettered; default 10.
	MaxAttempts int `yaml:"maxAttempts"`
	// MaxEventAge before an event is dead-lettered; default 24h.
	MaxEventAge time.Duration `yaml:"maxEventAge"`
	// MaxBufferedEvents bounds events read but not yet done; reading
	// pauses when it is reached. Default max(1000, 4×batchSize×concurrency).
	MaxBufferedEvents int `yaml:"maxBufferedEvents"`
	// FunctionTimeout is the function's own timeout; the HTTP client
	// waits 30s longer. Default 60s.
	FunctionTimeout time.Duration `yaml:"functionTimeout"`
	// BisectOnError splits a failing batch to isolate the bad event
	// (BisectBatchOnFunctionError). Default true.
	BisectOnError *bool `yaml:"bisectOnError"`
}

// Default returns the configuration used when no file and no environment
// say otherwise: every default applied, the four default routes.
func Default() *Config {
	c := &Config{}
	c.SetDefaults()
	return c
}

// DefaultRoutes routes users, articles, comments and favorites to the
// functions of the same names (functions/).
//
// They let a document's queued events travel together (keyEventsPerBatch
// DefaultRouteKeyEvents): those functions recompute derived state from the
// source documents and are idempotent, so a batch holding several events of
// one key, or a later event seen again after a retry, converges to the same
// state, and a hot key (a user renamed again and again) costs one fan-out
// per batch instead of one per event. A route of your own keeps the strict
// default of 1 unless you set it.
func DefaultRoutes() []Route {
	var routes []Route
	for _, name := range []string{"users", "articles", "comments", "favorites"} {
		routes = append(routes, Route{Name: name, Collection: name, Function: name, KeyEventsPerBatch: DefaultRouteKeyEvents})
	}
	return routes
}

// DefaultRouteKeyEvents is keyEventsPerBatch on the default routes: the
// default batchSize, so a hot key's events may fill a whole batch.
const DefaultRouteKeyEvents = 100

// SetDefaults fills every zero setting with its default.
func (c *Config) SetDefaults() {
	setString(&c.MongoDB.URI, "mongodb://127.0.0.1:27017/?replicaSet=rs0")
	setString(&c.MongoDB.Database, "conduit")
	setString(&c.Lambda.Region, "us-east-1")
	setInt(&c.Lambda.SDKMaxAttempts, 3)
	setString(&c.HTTP.Addr, "127.0.0.1:9090")
	setString(&c.Checkpoint.Collection, "_relay_checkpoints")
	setDuration(&c.Checkpoint.Interval, time.Second)
	setString(&c.DeadLetter.Collection, "_relay_deadletters")
	setString(&c.Lease.Collection, "_relay_lease")
	setDuration(&c.Lease.Duration, 15*time.Second)
	setDuration(&c.Lease.RenewInterval, c.Lease.Duration/3)
	if c.Lease.Owner == "" {
		host, _ := os.Hostname()
		c.Lease.Owner = fmt.Sprintf("%s-%d", host, os.Getpid())
	}
	setDuration(&c.Retry.InitialBackoff, 500*time.Millisecond)
	setDuration(&c.Retry.MaxBackoff, 2*time.Minute)
	if c.Retry.Multiplier == 0 {
		c.Retry.Multiplier = 2
	}
	if c.Retry.Jitter == 0 {
		c.Retry.Jitter = 0.2
	}
	setDuration(&c.Stream.MaxAwaitTime, time.Second)
	setDuration(&c.Stream.ReopenBackoff, 500*time.Millisecond)
	setDuration(&c.Stream.ReopenMaxBackoff, 30*time.Second)
	setBool(&c.Stream.SplitLargeEvents, true)
	setInt(&c.Stream.BatchSize, 1000)
	setString(&c.Repair.Function, "repair")
	setDuration(&c.Repair.Timeout, 900*time.Second)
	setString(&c.InitialSync, InitialSyncRepair)
	setDuration(&c.ShutdownGrace, 20*time.Second)
	setString(&c.LogLevel, "info")
	if len(c.Routes) == 0 {
		c.Routes = DefaultRoutes()
	}
	for i := range c.Routes {
		c.Routes[i].setDefaults()
	}
}

func (r *Route) setDefaults() {
	setString(&r.Name, r.Collection)
	setString(&r.Function, r.Collection)
	if len(r.OperationTypes) == 0 {
		r.OperationTypes = []string{"insert", "update", "replace", "delete"}
	}
	setString(&r.FullDocument, FullDocumentUpdateLookup)
	setString(&r.FullDocumentBeforeChange, FullDocumentWhenAvailable)
	setString(&r.OrderingKey, OrderingKeyDocument)
	setInt(&r.BatchSize, 100)
	setInt(&r.MaxPayloadBytes, 5<<20)
	setInt(&r.Concurrency, 4)
	setInt(&r.KeyEventsPerBatch, 1)
	setInt(&r.MaxAttempts, 10)
	setDuration(&r.MaxEventAge, 24*time.Hour)
	setInt(&r.MaxBufferedEvents, max(1000, 4*r.BatchSize*r.Concurrency))
	setDuration(&r.FunctionTimeout, 60*time.Second)
	setBool(&r.BisectOnError, true)
}

// FunctionName resolves a configured function to the name invoked:
// FunctionPrefix + name, or the name itself when it is an ARN.
func (c *Config) FunctionName(function string) string {
	if strings.HasPrefix(function, "arn:") {
		return function
	}
	return c.Lambda.FunctionPrefix + function
}

// Route returns the route with this name.
func (c *Config) Route(name string) (Route, bool) {
	for _, r := range c.Routes {
		if r.Name == name {
			return r, true
		}
	}
	return Route{}, false
}

// Bisect reports whether failing batches are split.
func (r Route) Bisect() bool { return r.BisectOnError == nil || *r.BisectOnError }

// HTTPTimeout is the invocation client's timeout: above the function's own.
func HTTPTimeout(functionTimeout time.Duration) time.Duration {
	return functionTimeout + 30*time.Second
}

func setString(p *string, v string) {
	if *p == "" {
		*p = v
	}
}

func setInt(p *int, v int) {
	if *p == 0 {
		*p = v
	}
}

func setDuration(p *time.Duration, v time.Duration) {
	if *p == 0 {
		*p = v
	}
}

func setBool(p **bool, v bool) {
	if *p == nil {
		*p = &v
	}
}
