// Package change is the relay's view of one change event: its resume token,
// ordering key, cluster time and the canonical Extended JSON the envelope
// carries; plus helpers that read events: ordering keys, the cluster time
// inside a resume token, and the reassembly of $changeStreamSplitLargeEvent
// fragments. (Whether an event touches only derived fields is decided by
// package functions/derived, shared with the functions.)
package change
