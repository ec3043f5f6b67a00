package mongolocal_test

import (
	"context"
	"fmt"
	"testing"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/mongo"
	"go.mongodb.org/mongo-driver/mongo/options"

	"github.com/changerelay/changerelay/infra/mongolocal"
	"github.com/changerelay/changerelay/infra/mongotest"
)

func benchCollection(b *testing.B) *mongo.Collection {
	b.Helper()
	return mongotest.Database(b).Collection("bench")
}

// BenchmarkInsert measures inserts through the official driver: one
// document per insertOne, and batches of 100 per insertMany.
func BenchmarkInsert(b *testing.B) {
	ctx := context.Background()
	b.Run("insertOne", func(b *testing.B) {
		coll := benchCollection(b)
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if _, err := coll.InsertOne(ctx, bson.D{{Key: "i", Value: i}, {Key: "name", Value: "article"}}); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "docs/s")
	})
	b.Run("insertOne-dbpath", func(b *testing.B) {
		// with --dbpath every commit rewrites the data file: the cost grows
		// with the data; here a collection of 1,000 documents
		srv := mongotest.Start(b, mongolocal.Config{DBPath: b.TempDir()})
		coll := mongotest.Connect(b, srv.URI()).Database("bench").Collection("bench")
		docs := make([]any, 1000)
		for i := range docs {
			docs[i] = bson.D{{Key: "i", Value: -i}, {Key: "name", Value: "article"}}
		}
		if _, err := coll.InsertMany(ctx, docs); err != nil {
			b.Fatal(err)
		}
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if _, err := coll.InsertOne(ctx, bson.D{{Key: "_id", Value: i}, {Key: "name", Value: "article"}}); err != nil {
				b.Fatal(err)
			}
			if _, err := coll.DeleteOne(ctx, bson.D{{Key: "_id", Value: i}}); err != nil {
				b.Fatal(err)
			}
		}
	})
	for _, batch := range []int{100, 1000} {
		b.Run(fmt.Sprintf("insertMany%d", batch), func(b *testing.B) {
			coll := benchCollection(b)
			docs := make([]any, batch)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				for j := range docs {
					docs[j] = bson.D{{Key: "i", Value: i*batch + j}, {Key: "name", Value: "article"}}
				}
				if _, err := coll.InsertMany(ctx, docs); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "docs/s")
		})
	}
}

// BenchmarkUpdateMany10k measures one updateMany that changes 10,000
// documents (a fan-out like renaming a user across their articles).
func BenchmarkUpdateMany10k(b *testing.B) {
	ctx := context.Background()
	coll := benchCollection(b)
	docs := make([]any, 10_000)
	for i := range docs {
		docs[i] = bson.D{{Key: "author", Value: "ann"}, {Key: "n", Value: i}}
	}
	if _, err := coll.InsertMany(ctx, docs); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		res, err := coll.UpdateMany(ctx, bson.D{{Key: "author", Value: "ann"}}, bson.D{{Key: "$set", Value: bson.D{{Key: "authorName", Value: fmt.Sprint("Ann ", i)}}}})
		if err != nil {
			b.Fatal(err)
		}
		if res.ModifiedCount != 10_000 {
			b.Fatalf("modified %d", res.ModifiedCount)
		}
	}
}

// BenchmarkBulkUpdateByID measures an unordered bulkWrite of 1,000
// updateOne statements, each pinned by _id with a compare-and-set
// condition, on a 10,000-document collection.
func BenchmarkBulkUpdateByID(b *testing.B) {
	ctx := context.Background()
	coll := benchCollection(b)
	docs := make([]any, 10_000)
	for i := range docs {
		docs[i] = bson.D{{Key: "_id", Value: i}, {Key: "version", Value: 0}}
	}
	if _, err := coll.InsertMany(ctx, docs); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		models := make([]mongo.WriteModel, 1000)
		for j := range models {
			id := (i*1000 + j) % 10_000
			models[j] = mongo.NewUpdateOneModel().
				SetFilter(bson.D{{Key: "_id", Value: id}, {Key: "version", Value: bson.D{{Key: "$lt", Value: i + 1}}}}).
				SetUpdate(bson.D{{Key: "$set", Value: bson.D{{Key: "version", Value: i + 1}}}})
		}
		if _, err := coll.BulkWrite(ctx, models, options.BulkWrite().SetOrdered(false)); err != nil {
			b.Fatal(err)
		}
	}
}
