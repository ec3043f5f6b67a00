package sync_test

import (
	"testing"

	"github.com/stretchr/testify/require"
	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/bson/primitive"

	"github.com/changerelay/changerelay/functions/internal/fixture"
)

func TestUsersHandler(t *testing.T) {
	type world struct {
		user, other        primitive.ObjectID
		articles, comments []primitive.ObjectID
		otherArticle       primitive.ObjectID
	}
	cases := []struct {
		name  string
		act   func(e *fixture.Env, w *world)
		check func(t *testing.T, e *fixture.Env, w *world)
	}{
		{
			name: "rename rewrites every article and comment of the user",
			act: func(e *fixture.Env, w *world) {
				e.Update("users", w.user, fixture.Set(bson.E{Key: "username", Value: "renamed"}))
			},
			check: func(t *testing.T, e *fixture.Env, w *world) {
				for _, id := range w.articles {
					require.Equal(t, "renamed", e.Doc("articles", id)["author"].(bson.M)["username"])
				}
				for _, id := range w.comments {
					require.Equal(t, "renamed", e.Doc("comments", id)["author"].(bson.M)["username"])
				}
				require.Equal(t, "other", e.Doc("articles", w.otherArticle)["author"].(bson.M)["username"])
			},
		},
		{
			name: "unset bio copies null",
			act: func(e *fixture.Env, w *world) {
				e.Update("users", w.user, bson.D{{Key: "$unset", Value: bson.D{{Key: "bio", Value: ""}}}})
			},
			check: func(t *testing.T, e *fixture.Env, w *world) {
				a := e.Doc("articles", w.articles[0])["author"].(bson.M)
				require.Contains(t, a, "bio")
				require.Nil(t, a["bio"])
			},
		},
		{
			name: "delete sets the copies to null",
			act: func(e *fixture.Env, w *world) {
				_, err := e.Coll("users").DeleteOne(e.Ctx, bson.D{{Key: "_id", Value: w.user}})
				require.NoError(t, err)
			},
			check: func(t *testing.T, e *fixture.Env, w *world) {
				doc := e.Doc("comments", w.comments[0])
				require.Contains(t, doc, "author")
				require.Nil(t, doc["author"])
			},
		},
		{
			name: "replace copies the new profile",
			act: func(e *fixture.Env, w *world) {
				_, err := e.Coll("users").ReplaceOne(e.Ctx, bson.D{{Key: "_id", Value: w.user}},
					bson.D{{Key: "username", Value: "new"}, {Key: "email", Value: "n@x"}, {Key: "image", Value: "i.png"}})
				require.NoError(t, err)
			},
			check: func(t *testing.T, e *fixture.Env, w *world) {
				require.Equal(t, bson.M{"username": "new", "bio": nil, "image": "i.png"}, e.Doc("articles", w.articles[1])["author"])
			},
		},
		{
			name: "email change leaves the copies untouched",
			act: func(e *fixture.Env, w *world) {
				e.Update("users", w.user, fixture.Set(bson.E{Key: "email", Value: "changed@x"}))
				events := e.Events(true)
				require.Len(t, events, 1)
				e.DeliverAll(events)
				require.Empty(t, e.Events(true), "no derived write expected")
			},
			check: func(t *testing.T, e *fixture.Env, w *world) {},
		},
		{
			name: "an older event delivered after a newer one changes nothing",
			act: func(e *fixture.Env, w *world) {
				e.Update("users", w.user, fixture.Set(bson.E{Key: "username", Value: "first"}))
				first := e.Events(false)
				e.Update("users", w.user, fixture.Set(bson.E{Key: "username", Value: "second"}))
				second := e.Events(false)
				e.DeliverAll(second)
				e.DeliverAll(first)
				e.DeliverAll(first)
			},
			check: func(t *testing.T, e *fixture.Env, w *world) {
				require.Equal(t, "second", e.Doc("articles", w.articles[0])["author"].(bson.M)["username"])
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := fixture.New(t, fixture.Options{})
			w := &world{user: e.InsertUser("alice", bson.E{Key: "bio", Value: "hi"}), other: e.InsertUser("other")}
			for range 3 {
				a := e.InsertArticle(w.user, "go")
				w.articles = append(w.articles, a)
				w.comments = append(w.comments, e.InsertComment(a, w.user))
			}
			w.otherArticle = e.InsertArticle(w.other)
			e.Sync()
			e.RequireConverged()
			tc.act(e, w)
			e.Sync()
			tc.check(t, e, w)
			e.RequireConverged()
		})
	}
}
