// Package harness starts and stops the real processes of the pipeline for
// end-to-end tests and the demo: it builds binaries with `go build`, runs
// them as child processes in their own process group with their output in
// a log file, waits for readiness (a log line, an HTTP endpoint), signals
// them (SIGTERM, SIGKILL) and scrapes Prometheus metrics.
//
// Nothing here knows about testing.T; the e2e tests wrap it with cleanups.
package harness
