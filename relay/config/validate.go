package config

import (
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"
)

// MaxPayloadLimit is the most MaxPayloadBytes may be: under Lambda's
// 6 MB synchronous request limit.
const MaxPayloadLimit = 6_000_000

var (
	validOperationTypes = []string{"insert", "update", "replace", "delete"}
	validFullDocument   = []string{FullDocumentDefault, FullDocumentUpdateLookup, FullDocumentWhenAvailable, FullDocumentRequired}
	validBeforeChange   = []string{FullDocumentOff, FullDocumentWhenAvailable, FullDocumentRequired}
	validLogLevels      = []string{"debug", "info", "warn", "error"}
	fieldPath           = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z0-9_]+)*$`)
	collectionName      = regexp.MustCompile(`^[^$\x00]+$`)
)

// Validate reports every bad setting, each named by its path, for example
// "routes[1].batchSize: must be between 1 and 10000".
func (c *Config) Validate() error {
	v := &validator{}
	if u, err := url.Parse(c.MongoDB.URI); err != nil || (u.Scheme != "mongodb" && u.Scheme != "mongodb+srv") {
		v.add("mongodb.uri", "must be a mongodb:// or mongodb+srv:// URI")
	}
	if c.MongoDB.Database == "" || strings.ContainsAny(c.MongoDB.Database, "/\\. \"$") {
		v.add("mongodb.database", "must be a database name")
	}
	if c.Lambda.Endpoint != "" {
		if u, err := url.Parse(c.Lambda.Endpoint); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			v.add("lambda.endpoint", "must be an http(s) URL such as http://127.0.0.1:3001")
		}
	}
	v.intRange("lambda.sdkMaxAttempts", c.Lambda.SDKMaxAttempts, 1, 10)
	v.duration("checkpoint.interval", c.Checkpoint.Interval, 10*time.Millisecond, time.Minute)
	v.internalCollection("checkpoint.collection", c.Checkpoint.Collection)
	v.internalCollection("deadLetter.collection", c.DeadLetter.Collection)
	v.internalCollection("lease.collection", c.Lease.Collection)
	if c.DeadLetter.SQSQueueURL != "" {
		if u, err := url.Parse(c.DeadLetter.SQSQueueURL); err != nil || u.Host == "" {
			v.add("deadLetter.sqsQueueURL", "must be a queue URL")
		}
	}
	v.duration("lease.duration", c.Lease.Duration, time.Second, time.Hour)
	if c.Lease.RenewInterval <= 0 || c.Lease.RenewInterval >= c.Lease.Duration {
		v.add("lease.renewInterval", "must be positive and shorter than lease.duration")
	}
	v.duration("retry.initialBackoff", c.Retry.InitialBackoff, time.Millisecond, time.Hour)
	if c.Retry.MaxBackoff < c.Retry.InitialBackoff || c.Retry.MaxBackoff > 24*time.Hour {
		v.add("retry.maxBackoff", "must be at least retry.initialBackoff and at most 24h")
	}
	if c.Retry.Multiplier < 1 || c.Retry.Multiplier > 10 {
		v.add("retry.multiplier", "must be between 1 and 10")
	}
	if c.Retry.Jitter < 0 || c.Retry.Jitter > 1 {
		v.add("retry.jitter", "must be between 0 and 1")
	}
	v.duration("stream.maxAwaitTime", c.Stream.MaxAwaitTime, 10*time.Millisecond, time.Minute)
	v.duration("stream.reopenBackoff", c.Stream.ReopenBackoff, time.Millisecond, time.Minute)
	v.intRange("stream.batchSize", c.Stream.BatchSize, 1, 100000)
	if c.Stream.ReopenMaxBackoff < c.Stream.ReopenBackoff {
		v.add("stream.reopenMaxBackoff", "must be at least stream.reopenBackoff")
	}
	if c.Repair.Function == "" {
		v.add("repair.function", "must name a function")
	}
	v.duration("repair.timeout", c.Repair.Timeout, time.Second, 15*time.Minute)
	v.oneOf("initialSync", c.InitialSync, []string{InitialSyncRepair, InitialSyncNow})
	v.duration("shutdownGrace", c.ShutdownGrace, 0, time.Hour)
	v.oneOf("logLevel", c.LogLevel, validLogLevels)
	if len(c.Routes) == 0 {
		v.add("routes", "must list at least one route")
	}
	names := map[string]int{}
	for i, r := range c.Routes {
		p := fmt.Sprintf("routes[%d]", i)
		if j, dup := names[r.Name]; dup {
			v.add(p+".name", fmt.Sprintf("%q is also the name of routes[%d]", r.Name, j))
		}
		names[r.Name] = i
		r.validate(v, p)
	}
	return v.err()
}

func (r Route) validate(v *validator, p string) {
	if r.Collection == "" || !collectionName.MatchString(r.Collection) || strings.HasPrefix(r.Collection, "system.") {
		v.add(p+".collection", "must name a collection")
	}
	if r.Name == "" {
		v.add(p+".name", "must not be empty")
	}
	if r.Function == "" {
		v.add(p+".function", "must name a function")
	}
	for j, op := range r.OperationTypes {
		v.oneOf(fmt.Sprintf("%s.operationTypes[%d]", p, j), op, validOperationTypes)
	}
	v.oneOf(p+".fullDocument", r.FullDocument, validFullDocument)
	v.oneOf(p+".fullDocumentBeforeChange", r.FullDocumentBeforeChange, validBeforeChange)
	if r.OrderingKey != OrderingKeyDocument && !fieldPath.MatchString(r.OrderingKey) {
		v.add(p+".orderingKey", `must be "documentKey" or a field path such as "articleId"`)
	}
	v.intRange(p+".batchSize", r.BatchSize, 1, 10000)
	v.duration(p+".batchWindow", r.BatchWindow, 0, 5*time.Minute)
	v.intRange(p+".maxPayloadBytes", r.MaxPayloadBytes, 1024, MaxPayloadLimit)
	v.intRange(p+".concurrency", r.Concurrency, 1, 1000)
	v.intRange(p+".keyEventsPerBatch", r.KeyEventsPerBatch, 1, 10000)
	v.intRange(p+".maxAttempts", r.MaxAttempts, 1, 10000)
	v.duration(p+".maxEventAge", r.MaxEventAge, time.Second, 7*24*time.Hour)
	if r.MaxBufferedEvents < r.BatchSize || r.MaxBufferedEvents > 10_000_000 {
		v.add(p+".maxBufferedEvents", "must be between batchSize and 10000000")
	}
	v.duration(p+".functionTimeout", r.FunctionTimeout, time.Second, 15*time.Minute)
}

type validator struct{ errs []error }

func (v *validator) add(setting, msg string) {
	v.errs = append(v.errs, fmt.Errorf("%s: %s", setting, msg))
}

func (v *validator) err() error { return errors.Join(v.errs...) }

func (v *validator) intRange(setting string, n, lo, hi int) {
	if n < lo || n > hi {
		v.add(setting, fmt.Sprintf("must be between %d and %d", lo, hi))
	}
}

func (v *validator) duration(setting string, d, lo, hi time.Duration) {
	if d < lo || d > hi {
		v.add(setting, fmt.Sprintf("must be between %s and %s", lo, hi))
	}
}

func (v *validator) oneOf(setting, s string, allowed []string) {
	if !slices.Contains(allowed, s) {
		v.add(setting, fmt.Sprintf("%q is not one of %s", s, strings.Join(allowed, ", ")))
	}
}

func (v *validator) internalCollection(setting, name string) {
	if !strings.HasPrefix(name, "_") || !collectionName.MatchString(name) {
		v.add(setting, `must be a collection name starting with "_"`)
	}
}
