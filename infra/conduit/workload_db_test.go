package conduit_test

import (
	"context"
	"sort"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/mongo"

	"github.com/changerelay/changerelay/infra/conduit"
	"github.com/changerelay/changerelay/infra/mongotest"
)

// normalize clears what LoadDataset reads beyond the generator's model
// (derived fields) and sorts, so datasets compare by source state.
func normalize(ds *conduit.Dataset) *conduit.Dataset {
	out := &conduit.Dataset{Users: ds.Users, Comments: ds.Comments, Favorites: ds.Favorites}
	for _, a := range ds.Articles {
		a.Author, a.FavoritesCount = nil, 0
		if len(a.TagList) == 0 {
			a.TagList = nil
		}
		out.Articles = append(out.Articles, a)
	}
	for i := range out.Comments {
		out.Comments[i].Author = nil
	}
	sort.Slice(out.Users, func(i, j int) bool { return out.Users[i].ID.Hex() < out.Users[j].ID.Hex() })
	sort.Slice(out.Articles, func(i, j int) bool { return out.Articles[i].ID.Hex() < out.Articles[j].ID.Hex() })
	sort.Slice(out.Comments, func(i, j int) bool { return out.Comments[i].ID.Hex() < out.Comments[j].ID.Hex() })
	sort.Slice(out.Favorites, func(i, j int) bool { return out.Favorites[i].ID.Hex() < out.Favorites[j].ID.Hex() })
	return out
}

// writeDerived sets every derived field from an in-memory recomputation:
// the test's stand-in for the functions.
func writeDerived(t *testing.T, db *mongo.Database, ds *conduit.Dataset) {
	t.Helper()
	ctx := context.Background()
	conv := conduit.Converge(ds)
	for _, a := range ds.Articles {
		_, err := db.Collection(conduit.CollArticles).UpdateOne(ctx, bson.D{{Key: "_id", Value: a.ID}},
			bson.D{{Key: "$set", Value: bson.D{
				{Key: "author", Value: conv.Authors[a.AuthorID]},
				{Key: "favoritesCount", Value: conv.FavoritesCount[a.ID]},
			}}})
		require.NoError(t, err)
	}
	for _, c := range ds.Comments {
		_, err := db.Collection(conduit.CollComments).UpdateOne(ctx, bson.D{{Key: "_id", Value: c.ID}},
			bson.D{{Key: "$set", Value: bson.D{{Key: "author", Value: conv.Authors[c.AuthorID]}}}})
		require.NoError(t, err)
	}
	_, err := db.Collection(conduit.CollTags).DeleteMany(ctx, bson.D{})
	require.NoError(t, err)
	if len(conv.Tags) > 0 {
		docs := make([]any, len(conv.Tags))
		for i, tag := range conv.Tags {
			docs[i] = tag
		}
		_, err = db.Collection(conduit.CollTags).InsertMany(ctx, docs)
		require.NoError(t, err)
	}
}

// TestExecuteMatchesModel applies a mixed script and checks that the
// database ends where the generator's model says, then that Check passes
// once the derived fields are recomputed from that model.
func TestExecuteMatchesModel(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: applies a 600-step script")
	}
	db := mongotest.Database(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	ds, err := conduit.Seed(ctx, db, conduit.SeedConfig{Users: 30, Articles: 120, Comments: 200, Favorites: 400, SourceOnly: true, Rand: newRand(21)}, nil)
	require.NoError(t, err)
	g, err := conduit.NewGenerator(ds, conduit.WorkloadConfig{Rand: newRand(22), StormSize: 25, StormChunk: 10})
	require.NoError(t, err)
	script := g.Next(600, nil)

	var progressed int
	stats, err := conduit.Execute(ctx, db, script, conduit.ExecConfig{Progress: func(conduit.ExecStats) { progressed++ }})
	require.NoError(t, err)
	assert.Equal(t, len(script), stats.Ops)
	assert.Zero(t, stats.Duplicates, "a sequential script never repeats a favorite")
	assert.Positive(t, progressed)

	loaded, err := conduit.LoadDataset(ctx, db)
	require.NoError(t, err)
	want := normalize(g.Dataset())
	got := normalize(loaded)
	require.Equal(t, len(want.Users), len(got.Users))
	assert.Equal(t, want.Users, got.Users)
	assert.Equal(t, want.Articles, got.Articles)
	assert.Equal(t, want.Comments, got.Comments)
	assert.Equal(t, want.Favorites, got.Favorites)

	rep, err := conduit.Check(ctx, db)
	require.NoError(t, err)
	assert.False(t, rep.OK(), "a source-only database with a workload applied has drift")

	writeDerived(t, db, g.Dataset())
	rep, err = conduit.Check(ctx, db)
	require.NoError(t, err)
	assert.True(t, rep.OK(), rep.String())
}

func TestExecuteConcurrently(t *testing.T) {
	db := mongotest.Database(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	ds, err := conduit.Seed(ctx, db, conduit.SeedConfig{Users: 20, Articles: 50, Comments: 50, Favorites: 100, Rand: newRand(31)}, nil)
	require.NoError(t, err)
	script, err := conduit.Generate(ds, conduit.WorkloadConfig{Rand: newRand(32), StormSize: 10}, 200, nil)
	require.NoError(t, err)

	var applied int
	stats, err := conduit.Execute(ctx, db, script, conduit.ExecConfig{Concurrency: 4, AfterApply: func(int, conduit.Op, time.Time) {}, Progress: func(s conduit.ExecStats) { applied = s.Ops }})
	require.NoError(t, err)
	assert.Equal(t, len(script), stats.Ops)
	assert.Equal(t, len(script), applied)

	loaded, err := conduit.LoadDataset(ctx, db)
	require.NoError(t, err)
	writeDerived(t, db, loaded)
	rep, err := conduit.Check(ctx, db)
	require.NoError(t, err)
	assert.True(t, rep.OK(), rep.String())
}

func TestExecuteStopsOnError(t *testing.T) {
	db := mongotest.Database(t)
	ctx := context.Background()
	_, err := db.Collection(conduit.CollArticles).InsertOne(ctx, bson.D{{Key: "slug", Value: "x"}})
	require.NoError(t, err)
	script := conduit.Script{
		{Kind: conduit.KindEditArticle, Action: conduit.UpdateOne, Coll: conduit.CollArticles,
			Filter: bson.D{}, Update: bson.D{{Key: "$bogus", Value: 1}}},
		{Kind: conduit.KindInsertUser, Action: conduit.InsertOne, Coll: conduit.CollUsers, Docs: []any{bson.D{{Key: "x", Value: 1}}}},
	}
	stats, err := conduit.Execute(ctx, db, script, conduit.ExecConfig{})
	require.Error(t, err)
	assert.Zero(t, stats.Ops)
}
