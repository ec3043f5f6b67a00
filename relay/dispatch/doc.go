// Package dispatch delivers one route's events: in order and never
// concurrently for events with the same ordering key, in parallel across
// keys up to the route's concurrency, in batches formed from keys that are
// not in flight. It owns retry timing (backoff with jitter; retry-after on
// throttling) and dead-lettering after the maximum attempts or event age.
// Memory is bounded: Submit blocks while MaxBuffered events are pending.
package dispatch
