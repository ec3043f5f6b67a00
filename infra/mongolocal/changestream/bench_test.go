package changestream_test

import (
	"context"
	"testing"

	"go.mongodb.org/mongo-driver/bson"

	"github.com/changerelay/changerelay/infra/mongolocal/changestream"
)

// BenchmarkAppend measures appending one insert entry (in memory, and with
// the log file).
func BenchmarkAppend(b *testing.B) {
	for _, bc := range []struct {
		name string
		dir  bool
	}{{"memory", false}, {"file", true}} {
		b.Run(bc.name, func(b *testing.B) {
			cfg := changestream.Config{MaxEntries: 100_000}
			if bc.dir {
				cfg.Dir = b.TempDir()
			}
			l, err := changestream.Open(cfg)
			if err != nil {
				b.Fatal(err)
			}
			defer func() { _ = l.Close() }()
			doc := bson.D{{Key: "title", Value: "a title"}, {Key: "body", Value: "some text of an article"}}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if err := l.Append([]changestream.Entry{insertEntry("db", "c", i, doc)}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkCursorRead measures reading events: a collection stream over a
// log where half the entries are for another collection, with and without
// a $match stage.
func BenchmarkCursorRead(b *testing.B) {
	for _, bc := range []struct {
		name   string
		stages []bson.D
	}{
		{"plain", nil},
		{"match", []bson.D{{{Key: "$match", Value: bson.D{{Key: "operationType", Value: "insert"}}}}}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			l, err := changestream.Open(changestream.Config{})
			if err != nil {
				b.Fatal(err)
			}
			defer func() { _ = l.Close() }()
			c, err := l.Watch(context.Background(), stream("db", "c", bson.D{}, bc.stages...))
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			doc := bson.D{{Key: "title", Value: "a title"}}
			entries := make([]changestream.Entry, 0, 2*b.N)
			for i := 0; i < b.N; i++ {
				entries = append(entries, insertEntry("db", "c", i, doc), insertEntry("db", "other", i, doc))
			}
			if err := l.Append(entries); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			read := 0
			for read < b.N {
				batch, err := c.Next(context.Background(), 1000, 0)
				if err != nil {
					b.Fatal(err)
				}
				read += len(batch.Events)
			}
		})
	}
}
