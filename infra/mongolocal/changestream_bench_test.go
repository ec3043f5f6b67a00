package mongolocal_test

import (
	"context"
	"sort"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/mongo"
	"go.mongodb.org/mongo-driver/mongo/options"

	"github.com/changerelay/changerelay/infra/mongotest"
)

// BenchmarkChangeEventLatency measures write-to-event latency through the
// official driver: a watcher sits in an awaiting getMore while the writer
// inserts (or updates, with fullDocument: updateLookup) one document and
// waits until the watcher has received its event. ns/op is the mean;
// p50-µs and p99-µs are reported too.
func BenchmarkChangeEventLatency(b *testing.B) {
	for _, bc := range []struct {
		name   string
		opts   *options.ChangeStreamOptions
		update bool // updateOne $inc on one document instead of insertOne
	}{
		{"insert", options.ChangeStream(), false},
		{"update-updateLookup", options.ChangeStream().SetFullDocument(options.UpdateLookup), true},
	} {
		b.Run(bc.name, func(b *testing.B) {
			client := mongotest.Client(b)
			coll := mongotest.FreshDatabase(b, client).Collection("latency")
			ctx, cancel := context.WithCancel(context.Background())
			cs, err := coll.Watch(ctx, mongo.Pipeline{}, bc.opts.SetMaxAwaitTime(10*time.Second))
			if err != nil {
				b.Fatal(err)
			}
			received := make(chan time.Time, 1)
			done := make(chan struct{})
			go func() {
				defer close(done)
				defer close(received)
				for cs.Next(ctx) {
					received <- time.Now()
				}
			}()
			// The driver's ChangeStream is not safe for a concurrent Close:
			// stop the reader first.
			defer func() {
				cancel()
				<-done
				_ = cs.Close(context.Background())
			}()

			doc := bson.D{{Key: "name", Value: "latency"}, {Key: "n", Value: 0}}
			write := func() error {
				_, err := coll.InsertOne(ctx, doc)
				return err
			}
			if bc.update {
				if _, err := coll.InsertOne(ctx, bson.D{{Key: "_id", Value: "counter"}, {Key: "n", Value: 0}}); err != nil {
					b.Fatal(err)
				}
				<-received
				write = func() error {
					_, err := coll.UpdateOne(ctx, bson.D{{Key: "_id", Value: "counter"}}, bson.D{{Key: "$inc", Value: bson.D{{Key: "n", Value: 1}}}})
					return err
				}
			}
			latencies := make([]time.Duration, 0, b.N)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				start := time.Now()
				if err := write(); err != nil {
					b.Fatal(err)
				}
				at, ok := <-received
				if !ok {
					b.Fatalf("change stream ended: %v", cs.Err())
				}
				latencies = append(latencies, at.Sub(start))
			}
			b.StopTimer()
			sort.Slice(latencies, func(i, j int) bool { return latencies[i] < latencies[j] })
			b.ReportMetric(float64(latencies[len(latencies)/2].Microseconds()), "p50-µs")
			b.ReportMetric(float64(latencies[len(latencies)*99/100].Microseconds()), "p99-µs")
		})
	}
}
