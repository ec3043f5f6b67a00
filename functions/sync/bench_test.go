package sync_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"
	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/bson/primitive"
	"go.mongodb.org/mongo-driver/event"

	"github.com/changerelay/changerelay/functions/internal/fixture"
)

// insertMany inserts docs in batches of 5000.
func insertMany(b *testing.B, e *fixture.Env, coll string, docs []any) {
	for start := 0; start < len(docs); start += 5000 {
		_, err := e.Coll(coll).InsertMany(e.Ctx, docs[start:min(start+5000, len(docs))])
		require.NoError(b, err)
	}
}

// BenchmarkRenameFanOut: a user with 10,000 articles and 10,000 comments
// is renamed; one op is the users handler rewriting all 20,000 copies.
func BenchmarkRenameFanOut(b *testing.B) {
	const n = 10_000
	e := fixture.New(b, fixture.Options{NoStream: true})
	user := e.InsertUser("author")
	var articles, comments []any
	for i := range n {
		articles = append(articles, bson.D{{Key: "slug", Value: fmt.Sprint("a", i)}, {Key: "tagList", Value: bson.A{"go"}},
			{Key: "authorId", Value: user}, {Key: "author", Value: bson.D{{Key: "username", Value: "author"}, {Key: "bio", Value: nil}, {Key: "image", Value: nil}}}})
		comments = append(comments, bson.D{{Key: "articleId", Value: primitive.NewObjectID()}, {Key: "authorId", Value: user}, {Key: "body", Value: "c"}})
	}
	insertMany(b, e, "articles", articles)
	insertMany(b, e, "comments", comments)
	h := e.Handler("users")
	b.ResetTimer()
	for i := range b.N {
		b.StopTimer()
		name := fmt.Sprint("renamed", i)
		e.Update("users", user, fixture.Set(bson.E{Key: "username", Value: name}))
		ev := e.Synth("update", "users", user, e.Now(), bson.E{Key: "updateDescription", Value: bson.D{
			{Key: "updatedFields", Value: bson.D{{Key: "username", Value: name}}}, {Key: "removedFields", Value: bson.A{}},
		}})
		payload := fixture.Payload(b, ev)
		b.StartTimer()
		resp, err := h.Handle(context.Background(), payload)
		require.NoError(b, err)
		require.Empty(b, resp.BatchItemFailures)
	}
	b.StopTimer()
	b.ReportMetric(float64(2*n*b.N)/b.Elapsed().Seconds(), "copies/s")
	var doc bson.M
	require.NoError(b, e.Coll("comments").FindOne(e.Ctx, bson.D{}).Decode(&doc))
	require.Equal(b, fmt.Sprint("renamed", b.N-1), doc["author"].(bson.M)["username"])
}

// BenchmarkFavoritesBatches: 10,000 favorite inserts over 10 articles,
// delivered in batches of 100; one op is all 100 batches. It reports the
// database round trips per event.
func BenchmarkFavoritesBatches(b *testing.B) {
	const events, articles, batch = 10_000, 10, 100
	var roundTrips atomic.Int64
	mon := &event.CommandMonitor{Started: func(context.Context, *event.CommandStartedEvent) { roundTrips.Add(1) }}
	e := fixture.New(b, fixture.Options{NoStream: true, Monitor: mon})
	user := e.InsertUser("fan")
	var ids []primitive.ObjectID
	for range articles {
		ids = append(ids, e.InsertArticle(user))
	}
	favs := make([]bson.D, events)
	docs := make([]any, events)
	for i := range events {
		favs[i] = bson.D{{Key: "_id", Value: primitive.NewObjectID()}, {Key: "userId", Value: primitive.NewObjectID()}, {Key: "articleId", Value: ids[i%articles]}}
		docs[i] = favs[i]
	}
	insertMany(b, e, "favorites", docs)
	h := e.Handler("favorites")
	base := e.Now()
	roundTrips.Store(0)
	b.ResetTimer()
	for i := range b.N {
		b.StopTimer()
		// Every op replays the history with later versions, so that each
		// recount really writes.
		var payloads [][]byte
		for start := 0; start < events; start += batch {
			var evs []bson.Raw
			for k := start; k < start+batch; k++ {
				ct := primitive.Timestamp{T: base.T + uint32(i) + 1, I: uint32(k)}
				evs = append(evs, e.Synth("insert", "favorites", favs[k][0].Value, ct, bson.E{Key: "fullDocument", Value: favs[k]}))
			}
			payloads = append(payloads, fixture.Payload(b, evs...))
		}
		b.StartTimer()
		for _, p := range payloads {
			resp, err := h.Handle(context.Background(), p)
			require.NoError(b, err)
			require.Empty(b, resp.BatchItemFailures)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(roundTrips.Load())/float64(events*b.N), "roundtrips/event")
	b.ReportMetric(float64(events*b.N)/b.Elapsed().Seconds(), "events/s")
	require.EqualValues(b, events/articles, e.Doc("articles", ids[0])["favoritesCount"])
}
