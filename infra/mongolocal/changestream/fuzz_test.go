package changestream_test

import (
	"context"
	"testing"

	"go.mongodb.org/mongo-driver/bson"

	"github.com/changerelay/changerelay/infra/mongolocal/changestream"
)

// FuzzWatch feeds arbitrary bytes as the $changeStream stage and as a later
// stage: Watch and the first reads must fail cleanly, never panic.
func FuzzWatch(f *testing.F) {
	f.Add([]byte(mustRaw(bson.D{{Key: "$changeStream", Value: bson.D{{Key: "fullDocument", Value: "updateLookup"}}}})),
		[]byte(mustRaw(bson.D{{Key: "$match", Value: bson.D{{Key: "operationType", Value: "insert"}}}})))
	f.Add([]byte(mustRaw(bson.D{{Key: "$changeStream", Value: bson.D{{Key: "resumeAfter", Value: bson.D{{Key: "_data", Value: "82"}}}}}})),
		[]byte(mustRaw(bson.D{{Key: "$set", Value: bson.D{{Key: "x", Value: "$$ROOT.ns"}}}})))
	f.Add([]byte(mustRaw(bson.D{{Key: "$changeStream", Value: bson.D{}}})),
		[]byte(mustRaw(bson.D{{Key: "$replaceRoot", Value: bson.D{{Key: "newRoot", Value: bson.A{"$ns"}}}}})))
	f.Add([]byte{5, 0, 0, 0, 0}, []byte{0xff, 0xff, 0xff, 0x7f, 3})
	f.Fuzz(func(t *testing.T, first, second []byte) {
		l, err := changestream.Open(changestream.Config{})
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = l.Close() }()
		_ = l.Append([]changestream.Entry{insertEntry("db", "c", 1, bson.D{{Key: "a", Value: 1}}), oplog("drop", "db", "c")})
		for _, req := range []changestream.Request{
			{DB: "db", Coll: "c", Pipeline: []bson.Raw{first}},
			{DB: "db", Coll: "c", Pipeline: []bson.Raw{mustRaw(bson.D{{Key: "$changeStream", Value: bson.D{{Key: "startAtOperationTime", Value: bsonTS(0)}}}}), second}},
		} {
			c, err := l.Watch(context.Background(), req)
			if err != nil {
				continue
			}
			_, _ = c.Next(context.Background(), 0, 0)
			c.Close()
		}
	})
}
