package changestream

// TEMPORARY stubs so the server compiles while this package is written.
// The changestream owner replaces this file.

import (
	"context"
	"time"

	"go.mongodb.org/mongo-driver/bson/primitive"

	"github.com/changerelay/changerelay/infra/mongolocal/mongoerr"
)

// Log is the change log.
type Log struct{ last primitive.Timestamp }

// Cursor is an open change stream.
type Cursor struct{}

// Open opens a log.
func Open(cfg Config) (*Log, error) { return &Log{}, nil }

// Append adds committed entries in commit order.
func (l *Log) Append(entries []Entry) error { return nil }

// LastTime is the cluster time of the newest entry.
func (l *Log) LastTime() primitive.Timestamp { return l.last }

// Watch opens a change stream.
func (l *Log) Watch(ctx context.Context, req Request) (*Cursor, error) {
	return nil, mongoerr.New(mongoerr.NotImplemented, "change streams are not implemented yet")
}

// Close closes the log.
func (l *Log) Close() error { return nil }

// Next reads the next batch, waiting up to maxWait for events.
func (c *Cursor) Next(ctx context.Context, batchSize int, maxWait time.Duration) (Batch, error) {
	return Batch{}, nil
}

// Close closes the cursor.
func (c *Cursor) Close() {}
