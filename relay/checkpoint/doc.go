// Package checkpoint tracks which events of a route are done and stores
// the resume position past which everything is done.
//
// The Tracker sees every event in stream order (plus the positions that
// need no work: skipped events, postBatchResumeTokens, repair times) and
// yields the position of the highest event such that it and every event
// before it are done. The Store keeps one document per route in
// _relay_checkpoints, written with majority write concern and fenced by the
// lease epoch: a write from a relay whose epoch is older than the
// document's fails with ErrFenced. The Writer stores the tracker's
// position periodically, with the route's status (in-flight count).
package checkpoint
