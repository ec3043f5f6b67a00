// Package deliver turns a batch of change events into function invocations.
//
// The core is Envelope, a Deliverer that encodes the batch as the
// DocumentDB-style envelope, calls an Invoker (Lambda's Invoke API) and maps
// the reply, including partial batch failures, to a per-event Result. Each
// cross-cutting behaviour is a decorator in a file of its own: Split keeps
// payloads under the size limit, Bisect isolates the event that makes a
// whole batch fail, Instrument records metrics. Retry timing and
// dead-lettering are decided by the dispatcher from the Result.
package deliver
