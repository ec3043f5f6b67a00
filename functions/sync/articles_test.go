package sync_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/bson/primitive"

	"github.com/changerelay/changerelay/functions/internal/fixture"
)

// deliveryModes runs a case with and without pre-images, each batch
// delivered once or twice.
var deliveryModes = []fixture.Options{
	{},
	{Twice: true},
	{NoPreImages: true},
	{NoPreImages: true, Twice: true},
}

func modeName(o fixture.Options) string {
	return fmt.Sprintf("preImages=%v,twice=%v", !o.NoPreImages, o.Twice)
}

func TestArticlesHandler(t *testing.T) {
	type world struct {
		alice, bob primitive.ObjectID
		a1, a2     primitive.ObjectID // a1: [go, db] by alice; a2: [go] by bob
	}
	cases := []struct {
		name     string
		act      func(t *testing.T, e *fixture.Env, w *world)
		wantTags map[string]int64
		check    func(t *testing.T, e *fixture.Env, w *world)
	}{
		{
			name:     "insert counts its tags and sets author and favoritesCount",
			act:      func(t *testing.T, e *fixture.Env, w *world) { e.InsertArticle(w.bob, "rust", "go", "rust") },
			wantTags: map[string]int64{"go": 3, "db": 1, "rust": 1},
		},
		{
			name: "insert with a stale author copy gets the real one",
			act: func(t *testing.T, e *fixture.Env, w *world) {
				_, err := e.Coll("articles").InsertOne(e.Ctx, bson.D{
					{Key: "tagList", Value: bson.A{}}, {Key: "authorId", Value: w.alice},
					{Key: "author", Value: bson.D{{Key: "username", Value: "stale"}}},
				})
				require.NoError(t, err)
			},
			wantTags: map[string]int64{"go": 2, "db": 1},
		},
		{
			name:     "push adds a tag",
			act:      func(t *testing.T, e *fixture.Env, w *world) { e.Update("articles", w.a2, push("tagList", "db")) },
			wantTags: map[string]int64{"go": 2, "db": 2},
		},
		{
			name:     "pull removes a tag and its document when unused",
			act:      func(t *testing.T, e *fixture.Env, w *world) { e.Update("articles", w.a1, pull("tagList", "db")) },
			wantTags: map[string]int64{"go": 2},
		},
		{
			name: "set replaces the whole list",
			act: func(t *testing.T, e *fixture.Env, w *world) {
				e.Update("articles", w.a1, fixture.Set(bson.E{Key: "tagList", Value: bson.A{"x", "y"}}))
			},
			wantTags: map[string]int64{"go": 1, "x": 1, "y": 1},
		},
		{
			name: "unset drops every tag of the article",
			act: func(t *testing.T, e *fixture.Env, w *world) {
				e.Update("articles", w.a1, bson.D{{Key: "$unset", Value: bson.D{{Key: "tagList", Value: ""}}}})
			},
			wantTags: map[string]int64{"go": 1},
		},
		{
			name: "addToSet of a present tag changes nothing",
			act: func(t *testing.T, e *fixture.Env, w *world) {
				e.Update("articles", w.a1, bson.D{{Key: "$addToSet", Value: bson.D{{Key: "tagList", Value: "go"}}}})
			},
			wantTags: map[string]int64{"go": 2, "db": 1},
		},
		{
			name: "a tag listed twice counts once",
			act: func(t *testing.T, e *fixture.Env, w *world) {
				e.Update("articles", w.a2, push("tagList", "go"))
			},
			wantTags: map[string]int64{"go": 2, "db": 1},
		},
		{
			name: "updateMany retags every article",
			act: func(t *testing.T, e *fixture.Env, w *world) {
				_, err := e.Coll("articles").UpdateMany(e.Ctx, bson.D{}, pull("tagList", "go"))
				require.NoError(t, err)
			},
			wantTags: map[string]int64{"db": 1},
		},
		{
			name: "authorId change copies the new author",
			act: func(t *testing.T, e *fixture.Env, w *world) {
				e.Update("articles", w.a1, fixture.Set(bson.E{Key: "authorId", Value: w.bob}))
			},
			wantTags: map[string]int64{"go": 2, "db": 1},
			check: func(t *testing.T, e *fixture.Env, w *world) {
				require.Equal(t, "bob", e.Doc("articles", w.a1)["author"].(bson.M)["username"])
			},
		},
		{
			name: "authorId of a missing user copies null",
			act: func(t *testing.T, e *fixture.Env, w *world) {
				e.Update("articles", w.a1, fixture.Set(bson.E{Key: "authorId", Value: primitive.NewObjectID()}))
			},
			wantTags: map[string]int64{"go": 2, "db": 1},
		},
		{
			name: "replace that drops derived fields gets them back",
			act: func(t *testing.T, e *fixture.Env, w *world) {
				e.InsertFavorite(w.bob, w.a1)
				e.Sync()
				_, err := e.Coll("articles").ReplaceOne(e.Ctx, bson.D{{Key: "_id", Value: w.a1}},
					bson.D{{Key: "title", Value: "new"}, {Key: "tagList", Value: bson.A{"db", "new"}}, {Key: "authorId", Value: w.alice}})
				require.NoError(t, err)
			},
			wantTags: map[string]int64{"go": 1, "db": 1, "new": 1},
			check: func(t *testing.T, e *fixture.Env, w *world) {
				doc := e.Doc("articles", w.a1)
				require.EqualValues(t, 1, doc["favoritesCount"])
				require.Equal(t, "alice", doc["author"].(bson.M)["username"])
			},
		},
		{
			name: "replace that copies stale derived fields is corrected",
			act: func(t *testing.T, e *fixture.Env, w *world) {
				old := e.Doc("articles", w.a1)
				e.InsertFavorite(w.bob, w.a1)
				e.Update("users", w.alice, fixture.Set(bson.E{Key: "username", Value: "alice2"}))
				e.Sync()
				old["tagList"] = bson.A{"go"}
				_, err := e.Coll("articles").ReplaceOne(e.Ctx, bson.D{{Key: "_id", Value: w.a1}}, old)
				require.NoError(t, err)
			},
			wantTags: map[string]int64{"go": 2},
			check: func(t *testing.T, e *fixture.Env, w *world) {
				doc := e.Doc("articles", w.a1)
				require.EqualValues(t, 1, doc["favoritesCount"])
				require.Equal(t, "alice2", doc["author"].(bson.M)["username"])
			},
		},
		{
			name: "delete uncounts its tags",
			act: func(t *testing.T, e *fixture.Env, w *world) {
				_, err := e.Coll("articles").DeleteOne(e.Ctx, bson.D{{Key: "_id", Value: w.a1}})
				require.NoError(t, err)
			},
			wantTags: map[string]int64{"go": 1},
		},
		{
			name: "deleteMany empties the tags collection",
			act: func(t *testing.T, e *fixture.Env, w *world) {
				_, err := e.Coll("articles").DeleteMany(e.Ctx, bson.D{})
				require.NoError(t, err)
			},
			wantTags: map[string]int64{},
		},
		{
			name: "title change does nothing",
			act: func(t *testing.T, e *fixture.Env, w *world) {
				e.Update("articles", w.a1, fixture.Set(bson.E{Key: "title", Value: "other"}))
			},
			wantTags: map[string]int64{"go": 2, "db": 1},
		},
		{
			name: "events delivered newest first converge",
			act: func(t *testing.T, e *fixture.Env, w *world) {
				e.Update("articles", w.a1, push("tagList", "x"))
				first := e.Events(false)
				e.Update("articles", w.a1, pull("tagList", "x"))
				e.Update("articles", w.a1, pull("tagList", "go"))
				second := e.Events(false)
				e.DeliverAll(second)
				e.DeliverAll(first)
			},
			wantTags: map[string]int64{"go": 1, "db": 1},
		},
	}
	for _, mode := range deliveryModes {
		t.Run(modeName(mode), func(t *testing.T) {
			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					e := fixture.New(t, mode)
					w := &world{alice: e.InsertUser("alice"), bob: e.InsertUser("bob")}
					w.a1 = e.InsertArticle(w.alice, "go", "db")
					w.a2 = e.InsertArticle(w.bob, "go")
					e.Sync()
					e.RequireConverged()
					tc.act(t, e, w)
					e.Sync()
					require.Equal(t, tc.wantTags, e.Tags())
					if tc.check != nil {
						tc.check(t, e, w)
					}
					e.RequireConverged()
				})
			}
		})
	}
}

func push(field string, v any) bson.D {
	return bson.D{{Key: "$push", Value: bson.D{{Key: field, Value: v}}}}
}

func pull(field string, v any) bson.D {
	return bson.D{{Key: "$pull", Value: bson.D{{Key: field, Value: v}}}}
}
