package repair_test

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/bson/primitive"

	"github.com/changerelay/changerelay/functions/internal/fixture"
	"github.com/changerelay/changerelay/functions/repair"
)

// BenchmarkRepair100k: repair over 100,000 articles (1,000 users, 20,000
// favorites, 50 tags), every derived value already right; one op is a full
// check-and-fix run with pages of 1,000.
func BenchmarkRepair100k(b *testing.B) {
	const nUsers, nArticles, nFavorites, nTags = 1_000, 100_000, 20_000, 50
	e := fixture.New(b, fixture.Options{NoStream: true, PageSize: 1000})
	r := rand.New(rand.NewPCG(1, 2))
	users := make([]primitive.ObjectID, nUsers)
	var docs []any
	for i := range users {
		users[i] = primitive.NewObjectID()
		docs = append(docs, bson.D{{Key: "_id", Value: users[i]}, {Key: "username", Value: fmt.Sprint("u", i)}, {Key: "bio", Value: "b"}})
	}
	insertMany(b, e, "users", docs)
	articles := make([]primitive.ObjectID, nArticles)
	favCount := map[primitive.ObjectID]int{}
	var favs []any
	for range nFavorites {
		a := r.IntN(nArticles)
		if articles[a].IsZero() {
			articles[a] = primitive.NewObjectID()
		}
		favCount[articles[a]]++
		favs = append(favs, bson.D{{Key: "userId", Value: primitive.NewObjectID()}, {Key: "articleId", Value: articles[a]}})
	}
	tagCount := map[string]int{}
	docs = docs[:0]
	for i := range articles {
		if articles[i].IsZero() {
			articles[i] = primitive.NewObjectID()
		}
		u := r.IntN(nUsers)
		tags := bson.A{}
		seen := map[string]bool{}
		for range 3 {
			t := fmt.Sprint("tag", r.IntN(nTags))
			tags = append(tags, t)
			if !seen[t] {
				seen[t] = true
				tagCount[t]++
			}
		}
		docs = append(docs, bson.D{{Key: "_id", Value: articles[i]}, {Key: "slug", Value: fmt.Sprint("s", i)},
			{Key: "tagList", Value: tags}, {Key: "authorId", Value: users[u]},
			{Key: "author", Value: bson.D{{Key: "username", Value: fmt.Sprint("u", u)}, {Key: "bio", Value: "b"}, {Key: "image", Value: nil}}},
			{Key: "favoritesCount", Value: favCount[articles[i]]}})
	}
	insertMany(b, e, "articles", docs)
	insertMany(b, e, "favorites", favs)
	docs = docs[:0]
	for t, n := range tagCount {
		docs = append(docs, bson.D{{Key: "_id", Value: t}, {Key: "count", Value: n}})
	}
	insertMany(b, e, "tags", docs)
	b.Run("check", func(b *testing.B) {
		for range b.N {
			report, err := repair.Run(e.Ctx, repair.Config{Store: e.Store})
			require.NoError(b, err)
			require.Zero(b, report.Drift, "%s", report)
		}
		b.ReportMetric(float64(nArticles*b.N)/b.Elapsed().Seconds(), "articles/s")
	})
	// Every tenth article gets a wrong count and a stale author copy.
	b.Run("fix-10pct", func(b *testing.B) {
		for range b.N {
			b.StopTimer()
			_, err := e.Coll("articles").UpdateMany(e.Ctx, bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: everyTenth(articles)}}}},
				bson.D{{Key: "$set", Value: bson.D{{Key: "favoritesCount", Value: -1}, {Key: "author.username", Value: "stale"}}}})
			require.NoError(b, err)
			b.StartTimer()
			report, err := repair.Run(e.Ctx, repair.Config{Store: e.Store})
			require.NoError(b, err)
			require.EqualValues(b, 2*nArticles/10, report.Fixed, "%s", report)
		}
		b.ReportMetric(float64(nArticles*b.N)/b.Elapsed().Seconds(), "articles/s")
	})
}

func everyTenth(ids []primitive.ObjectID) []primitive.ObjectID {
	var out []primitive.ObjectID
	for i := 0; i < len(ids); i += 10 {
		out = append(out, ids[i])
	}
	return out
}

func insertMany(b *testing.B, e *fixture.Env, coll string, docs []any) {
	for start := 0; start < len(docs); start += 5000 {
		_, err := e.Coll(coll).InsertMany(e.Ctx, docs[start:min(start+5000, len(docs))])
		require.NoError(b, err)
	}
}
