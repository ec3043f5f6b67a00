package sync_test

import (
	"testing"

	"github.com/stretchr/testify/require"
	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/bson/primitive"

	"github.com/changerelay/changerelay/functions/internal/fixture"
)

func TestCommentsHandler(t *testing.T) {
	type world struct{ alice, bob, article, comment primitive.ObjectID }
	cases := []struct {
		name       string
		act        func(t *testing.T, e *fixture.Env, w *world)
		wantAuthor func(w *world) any // username of the comment's author copy, or nil
	}{
		{
			name:       "insert sets the author copy",
			act:        func(t *testing.T, e *fixture.Env, w *world) {},
			wantAuthor: func(w *world) any { return "alice" },
		},
		{
			name: "authorId change copies the new author",
			act: func(t *testing.T, e *fixture.Env, w *world) {
				e.Update("comments", w.comment, fixture.Set(bson.E{Key: "authorId", Value: w.bob}))
			},
			wantAuthor: func(w *world) any { return "bob" },
		},
		{
			name: "authorId removed copies null",
			act: func(t *testing.T, e *fixture.Env, w *world) {
				e.Update("comments", w.comment, bson.D{{Key: "$unset", Value: bson.D{{Key: "authorId", Value: ""}}}})
			},
			wantAuthor: func(w *world) any { return nil },
		},
		{
			name: "replace without author gets it back",
			act: func(t *testing.T, e *fixture.Env, w *world) {
				_, err := e.Coll("comments").ReplaceOne(e.Ctx, bson.D{{Key: "_id", Value: w.comment}},
					bson.D{{Key: "articleId", Value: w.article}, {Key: "authorId", Value: w.bob}, {Key: "body", Value: "x"}})
				require.NoError(t, err)
			},
			wantAuthor: func(w *world) any { return "bob" },
		},
		{
			name: "body change does nothing",
			act: func(t *testing.T, e *fixture.Env, w *world) {
				e.Update("comments", w.comment, fixture.Set(bson.E{Key: "body", Value: "edited"}))
			},
			wantAuthor: func(w *world) any { return "alice" },
		},
		{
			name: "an author that does not exist copies null",
			act: func(t *testing.T, e *fixture.Env, w *world) {
				e.Update("comments", w.comment, fixture.Set(bson.E{Key: "authorId", Value: primitive.NewObjectID()}))
			},
			wantAuthor: func(w *world) any { return nil },
		},
		{
			name: "delete is a no-op",
			act: func(t *testing.T, e *fixture.Env, w *world) {
				_, err := e.Coll("comments").DeleteOne(e.Ctx, bson.D{{Key: "_id", Value: w.comment}})
				require.NoError(t, err)
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := fixture.New(t, fixture.Options{Twice: true})
			w := &world{alice: e.InsertUser("alice"), bob: e.InsertUser("bob")}
			w.article = e.InsertArticle(w.alice)
			w.comment = e.InsertComment(w.article, w.alice)
			e.Sync()
			tc.act(t, e, w)
			e.Sync()
			if tc.wantAuthor != nil {
				doc := e.Doc("comments", w.comment)
				require.Contains(t, doc, "author")
				if want := tc.wantAuthor(w); want == nil {
					require.Nil(t, doc["author"])
				} else {
					require.Equal(t, want, doc["author"].(bson.M)["username"])
				}
			}
			e.RequireConverged()
		})
	}
}
