// Package changestream is mongolocal's change log and change-stream cursors.
//
// The server appends every committed write to a Log (in commit order); the
// Log assigns MongoDB-shaped resume tokens, keeps pre- and post-images,
// applies retention by size and age, and serves $changeStream cursors.
//
// API CONTRACT (shared by the server and this package; keep it stable):
//
//	Open(cfg Config) (*Log, error)
//	(*Log).Append(entries []Entry) error            // commit order; wakes waiting cursors
//	(*Log).LastTime() primitive.Timestamp           // cluster time of the newest entry
//	(*Log).Watch(ctx, Request) (*Cursor, error)      // errors are *mongoerr.Error
//	(*Cursor).Next(ctx, batchSize, maxWait) (Batch, error)
//	(*Cursor).PostBatchResumeToken() bson.Raw       // current token, without reading
//	(*Cursor).Close()
//	(*Log).Close() error
//
// Architecture: the Log keeps one immutable record per entry (raw BSON
// pieces, a position and the cluster time) in a slice searched by position
// and cluster time, optionally mirrored to an append-only file. A Cursor
// holds a position in that slice, builds MongoDB 7.0 event documents for the
// records its scope (collection, database or cluster) selects, runs the
// user's stages over them, and waits on the Log's broadcast channel when it
// has caught up.
package changestream

import (
	"context"
	"log/slog"
	"time"

	"github.com/256dpi/lungo/bsonkit"
	"go.mongodb.org/mongo-driver/bson"
)

// Entry is one committed change as the server hands it over.
type Entry struct {
	// Oplog is lungo's oplog entry for the write, unchanged:
	// {_id: {ts}, clusterTime, operationType, ns: {db, coll}, documentKey,
	// fullDocument, updateDescription}. For a rename the server synthesizes
	// one in the same shape with operationType "rename" and an extra
	// field to: {db, coll}.
	Oplog bsonkit.Doc
	// PreImage is the document before the write (update, replace, delete),
	// set only when the collection has changeStreamPreAndPostImages enabled.
	PreImage bsonkit.Doc
	// PostImage is the document after the write (update, replace), set
	// only when the collection has changeStreamPreAndPostImages enabled.
	PostImage bsonkit.Doc
	// LSID and TxnNumber are set for writes made in a transaction.
	LSID      bsonkit.Doc
	TxnNumber *int64
	// WallTime is the write's wall-clock time (the event's wallTime, and
	// what MaxAge retention measures). Zero means the time of Append.
	WallTime time.Time
}

// Config configures a Log.
type Config struct {
	// Dir persists the log under this directory; "" keeps it in memory.
	Dir string
	// MaxEntries and MaxAge bound retention; the oldest entries go first.
	// Zero means the package default (DefaultMaxEntries, DefaultMaxAge).
	MaxEntries int
	MaxAge     time.Duration
	// Lookup returns the current document for fullDocument: updateLookup
	// (nil, nil when it no longer exists).
	Lookup func(ctx context.Context, db, coll string, id any) (bsonkit.Doc, error)
	// Logger receives diagnostics (a damaged log file, compactions); nil
	// discards them.
	Logger *slog.Logger
}

// Request is an aggregate whose first stage is $changeStream.
type Request struct {
	DB       string     // the database the aggregate ran on ("admin" for a cluster stream)
	Coll     string     // the collection, "" for aggregate: 1
	Pipeline []bson.Raw // the whole pipeline, $changeStream first
}

// Batch is what one cursor read returns.
type Batch struct {
	Events               []bson.Raw
	PostBatchResumeToken bson.Raw
	// Exhausted reports that the stream ended (after an invalidate): reply
	// with cursor id 0 and forget the cursor.
	Exhausted bool
}
