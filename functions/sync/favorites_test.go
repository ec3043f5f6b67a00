package sync_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/bson/primitive"
	"go.mongodb.org/mongo-driver/event"

	"github.com/changerelay/changerelay/functions/internal/fixture"
)

func TestFavoritesHandler(t *testing.T) {
	type world struct {
		users  []primitive.ObjectID
		a1, a2 primitive.ObjectID
		fav    primitive.ObjectID // users[0] favorites a1
	}
	cases := []struct {
		name   string
		act    func(t *testing.T, e *fixture.Env, w *world)
		a1, a2 int64
	}{
		{name: "insert counts", act: func(t *testing.T, e *fixture.Env, w *world) { e.InsertFavorite(w.users[1], w.a1) }, a1: 2},
		{name: "delete uncounts", act: func(t *testing.T, e *fixture.Env, w *world) {
			_, err := e.Coll("favorites").DeleteOne(e.Ctx, bson.D{{Key: "_id", Value: w.fav}})
			require.NoError(t, err)
		}},
		{name: "insertMany over two articles", act: func(t *testing.T, e *fixture.Env, w *world) {
			_, err := e.Coll("favorites").InsertMany(e.Ctx, []any{
				bson.D{{Key: "userId", Value: w.users[1]}, {Key: "articleId", Value: w.a1}},
				bson.D{{Key: "userId", Value: w.users[1]}, {Key: "articleId", Value: w.a2}},
				bson.D{{Key: "userId", Value: w.users[2]}, {Key: "articleId", Value: w.a2}},
			})
			require.NoError(t, err)
		}, a1: 2, a2: 2},
		{name: "deleteMany by user", act: func(t *testing.T, e *fixture.Env, w *world) {
			e.InsertFavorite(w.users[0], w.a2)
			_, err := e.Coll("favorites").DeleteMany(e.Ctx, bson.D{{Key: "userId", Value: w.users[0]}})
			require.NoError(t, err)
		}},
		{name: "moving a favorite to another article recounts both", act: func(t *testing.T, e *fixture.Env, w *world) {
			e.Update("favorites", w.fav, fixture.Set(bson.E{Key: "articleId", Value: w.a2}))
		}, a2: 1},
		{name: "replace recounts old and new article", act: func(t *testing.T, e *fixture.Env, w *world) {
			_, err := e.Coll("favorites").ReplaceOne(e.Ctx, bson.D{{Key: "_id", Value: w.fav}},
				bson.D{{Key: "userId", Value: w.users[0]}, {Key: "articleId", Value: w.a2}})
			require.NoError(t, err)
		}, a2: 1},
		{name: "createdAt change does nothing", act: func(t *testing.T, e *fixture.Env, w *world) {
			e.Update("favorites", w.fav, fixture.Set(bson.E{Key: "createdAt", Value: primitive.NewDateTimeFromTime(primitive.NewObjectID().Timestamp())}))
		}, a1: 1},
		{name: "older events after newer ones converge", act: func(t *testing.T, e *fixture.Env, w *world) {
			f := e.InsertFavorite(w.users[1], w.a1)
			first := e.Events(false)
			_, err := e.Coll("favorites").DeleteOne(e.Ctx, bson.D{{Key: "_id", Value: f}})
			require.NoError(t, err)
			second := e.Events(false)
			e.DeliverAll(second)
			e.DeliverAll(first)
		}, a1: 1},
	}
	for _, mode := range deliveryModes {
		t.Run(modeName(mode), func(t *testing.T) {
			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					e := fixture.New(t, mode)
					w := &world{}
					for _, n := range []string{"u0", "u1", "u2"} {
						w.users = append(w.users, e.InsertUser(n))
					}
					w.a1 = e.InsertArticle(w.users[0])
					w.a2 = e.InsertArticle(w.users[0])
					w.fav = e.InsertFavorite(w.users[0], w.a1)
					e.Sync()
					tc.act(t, e, w)
					e.Sync()
					require.EqualValues(t, tc.a1, e.Doc("articles", w.a1)["favoritesCount"])
					require.EqualValues(t, tc.a2, e.Doc("articles", w.a2)["favoritesCount"])
					e.RequireConverged()
				})
			}
		})
	}
}

// TestFavoritesOneRecountPerArticle: many events for one article in a batch
// cost one count and one write.
func TestFavoritesOneRecountPerArticle(t *testing.T) {
	var commands []string
	mon := &event.CommandMonitor{Started: func(_ context.Context, ev *event.CommandStartedEvent) {
		commands = append(commands, ev.CommandName)
	}}
	e := fixture.New(t, fixture.Options{Monitor: mon})
	u := e.InsertUser("u")
	a := e.InsertArticle(u)
	for range 20 {
		e.InsertFavorite(primitive.NewObjectID(), a)
	}
	events := e.Events(false)
	require.Len(t, events, 22)
	commands = nil
	resp, err := e.Deliver("favorites", events[2:]...)
	require.NoError(t, err)
	require.Empty(t, resp.BatchItemFailures)
	require.Equal(t, []string{"aggregate", "update"}, commands)
	require.EqualValues(t, 20, e.Doc("articles", a)["favoritesCount"])
}
