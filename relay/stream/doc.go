// Package stream reads one route's change stream and hands whole events
// (split-event fragments reassembled) and resume positions to a Sink.
//
// It opens the stream after the checkpoint (startAfter) or at a cluster
// time (startAtOperationTime). The driver resumes once by itself on
// resumable errors; on any other error, or when the cursor ends, the reader
// reopens after the last position it has handed over, with backoff, so
// nothing is skipped and nothing already queued is read twice. After each
// batch, empty ones included, it hands over the postBatchResumeToken, which
// keeps checkpoints fresh on quiet collections. On invalidate (drop,
// rename) it reopens with startAfter the invalidate event. When the resume
// point is gone from the oplog (ChangeStreamHistoryLost) it calls the
// HistoryLost handler, which converges the data (the repair function) and
// returns the cluster time to resume from.
package stream
