package sync_test

import (
	"context"
	gosync "sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/bson/primitive"
	"go.mongodb.org/mongo-driver/event"

	"github.com/changerelay/changerelay/functions/internal/fixture"
)

// gate holds the first command named cmd on collection coll until
// released: it freezes an invocation between its reads and its write.
type gate struct {
	mu       gosync.Mutex
	cmd      string
	coll     string
	reached  chan struct{}
	released chan struct{}
}

func newGate() *gate { return &gate{} }

func (g *gate) arm(cmd, coll string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.cmd, g.coll = cmd, coll
	g.reached, g.released = make(chan struct{}), make(chan struct{})
}

func (g *gate) monitor() *event.CommandMonitor {
	return &event.CommandMonitor{Started: func(_ context.Context, ev *event.CommandStartedEvent) {
		g.mu.Lock()
		coll, _ := ev.Command.Lookup(ev.CommandName).StringValueOK()
		hit := g.cmd != "" && ev.CommandName == g.cmd && coll == g.coll
		var reached, released chan struct{}
		if hit {
			g.cmd = ""
			reached, released = g.reached, g.released
		}
		g.mu.Unlock()
		if hit {
			close(reached)
			<-released
		}
	}}
}

// TestStaleInvocationLoses freezes an invocation after its reads, lets a
// newer change be handled, then lets the frozen one write: the newer value
// must survive.
func TestStaleInvocationLoses(t *testing.T) {
	type world struct {
		alice, bob primitive.ObjectID
		article    primitive.ObjectID
	}
	cases := []struct {
		name   string
		gate   [2]string // command and collection the stale invocation stops at
		first  func(t *testing.T, e *fixture.Env, w *world)
		second func(t *testing.T, e *fixture.Env, w *world)
		check  func(t *testing.T, e *fixture.Env, w *world)
	}{
		{
			name:   "favorites recount",
			gate:   [2]string{"update", "articles"},
			first:  func(t *testing.T, e *fixture.Env, w *world) { e.InsertFavorite(w.alice, w.article) },
			second: func(t *testing.T, e *fixture.Env, w *world) { e.InsertFavorite(w.bob, w.article) },
			check: func(t *testing.T, e *fixture.Env, w *world) {
				require.EqualValues(t, 2, e.Doc("articles", w.article)["favoritesCount"])
			},
		},
		{
			name: "user rename fan-out",
			gate: [2]string{"update", "articles"},
			first: func(t *testing.T, e *fixture.Env, w *world) {
				e.Update("users", w.alice, fixture.Set(bson.E{Key: "username", Value: "first"}))
			},
			second: func(t *testing.T, e *fixture.Env, w *world) {
				e.Update("users", w.alice, fixture.Set(bson.E{Key: "username", Value: "second"}))
			},
			check: func(t *testing.T, e *fixture.Env, w *world) {
				require.Equal(t, "second", e.Doc("articles", w.article)["author"].(bson.M)["username"])
			},
		},
		{
			name: "tag created by a stale recount is removed again",
			gate: [2]string{"insert", "tags"},
			first: func(t *testing.T, e *fixture.Env, w *world) {
				e.Update("articles", w.article, push("tagList", "x"))
			},
			second: func(t *testing.T, e *fixture.Env, w *world) {
				e.Update("articles", w.article, pull("tagList", "x"))
			},
			check: func(t *testing.T, e *fixture.Env, w *world) {
				require.Equal(t, map[string]int64{"go": 1}, e.Tags())
			},
		},
		{
			name: "a stale recount that no later recount contradicts is verified away",
			gate: [2]string{"update", "tags"},
			first: func(t *testing.T, e *fixture.Env, w *world) {
				w.bob = e.InsertArticle(w.bob, "go") // reuses the field for the new article
			},
			second: func(t *testing.T, e *fixture.Env, w *world) {
				_, err := e.Coll("articles").DeleteOne(e.Ctx, bson.D{{Key: "_id", Value: w.bob}})
				require.NoError(t, err)
			},
			check: func(t *testing.T, e *fixture.Env, w *world) {
				require.Equal(t, map[string]int64{"go": 1}, e.Tags())
			},
		},
		{
			name: "tag count written by a stale recount is corrected",
			gate: [2]string{"update", "tags"},
			first: func(t *testing.T, e *fixture.Env, w *world) {
				e.InsertArticle(w.bob, "go")
			},
			second: func(t *testing.T, e *fixture.Env, w *world) {
				e.InsertArticle(w.bob, "go")
			},
			check: func(t *testing.T, e *fixture.Env, w *world) {
				require.Equal(t, map[string]int64{"go": 3}, e.Tags())
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := newGate()
			e := fixture.New(t, fixture.Options{Monitor: g.monitor()})
			w := &world{alice: e.InsertUser("alice"), bob: e.InsertUser("bob")}
			w.article = e.InsertArticle(w.alice, "go")
			e.Sync()

			tc.first(t, e, w)
			stale := e.Events(false)
			g.arm(tc.gate[0], tc.gate[1])
			done := make(chan error, 1)
			go func() { done <- e.TryDeliverAll(stale) }()
			select {
			case <-g.reached:
			case <-time.After(10 * time.Second):
				t.Fatal("the stale invocation never reached its write")
			}
			tc.second(t, e, w)
			e.DeliverAll(e.Events(false))
			close(g.released)
			select {
			case err := <-done:
				require.NoError(t, err)
			case <-time.After(10 * time.Second):
				t.Fatal("the stale invocation did not finish")
			}
			e.Sync()
			tc.check(t, e, w)
			e.RequireConverged()
		})
	}
}
