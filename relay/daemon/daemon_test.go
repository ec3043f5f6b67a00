package daemon_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/mongo"

	"github.com/changerelay/changerelay/infra/mongotest"
	"github.com/changerelay/changerelay/relay/config"
	"github.com/changerelay/changerelay/relay/daemon"
	"github.com/changerelay/changerelay/relay/internal/lambdafake"
	"github.com/changerelay/changerelay/relay/internal/relaytest"
)

type env struct {
	uri  string
	db   *mongo.Database
	fake *lambdafake.Server
	rec  *relaytest.Recorder
}

func newEnv(t *testing.T) *env {
	t.Helper()
	uri := mongotest.URI(t)
	client := mongotest.Connect(t, uri)
	e := &env{uri: uri, db: mongotest.FreshDatabase(t, client), fake: lambdafake.New(), rec: &relaytest.Recorder{}}
	t.Cleanup(e.fake.Close)
	for _, f := range []string{"users", "articles", "comments", "favorites"} {
		e.fake.Handle(f, e.rec.Handler(f, nil))
	}
	e.fake.Handle("repair", lambdafake.OK)
	return e
}

func (e *env) config() *config.Config {
	return relaytest.Config(e.uri, e.db.Name(), e.fake.URL())
}

func logger(t *testing.T) *slog.Logger {
	if os.Getenv("RELAY_TEST_LOG") != "" {
		return slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return nil
}

// start runs a daemon until the returned stop is called (or the test ends).
func (e *env) start(t *testing.T, cfg *config.Config) (d *daemon.Daemon, stop func() error) {
	t.Helper()
	d, err := daemon.New(t.Context(), cfg, logger(t), daemon.Options{})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	stopped := false
	stop = func() error {
		if stopped {
			return nil
		}
		stopped = true
		cancel()
		select {
		case err := <-done:
			return err
		case <-time.After(30 * time.Second):
			return fmt.Errorf("daemon did not stop")
		}
	}
	t.Cleanup(func() { _ = stop() })
	relaytest.Eventually(t, 10*time.Second, func() bool { ok, _ := d.Ready(); return ok }, "relay never became active")
	return d, stop
}

func TestEndToEnd(t *testing.T) {
	e := newEnv(t)
	_, stop := e.start(t, e.config())
	ctx := t.Context()
	users := e.db.Collection("users")
	for i := range 50 {
		_, err := users.InsertOne(ctx, bson.D{{Key: "_id", Value: i}, {Key: "username", Value: fmt.Sprint("u", i)}})
		require.NoError(t, err)
	}
	_, err := users.UpdateMany(ctx, bson.D{}, bson.D{{Key: "$set", Value: bson.D{{Key: "bio", Value: "x"}}}})
	require.NoError(t, err)
	_, err = e.db.Collection("articles").InsertOne(ctx, bson.D{{Key: "_id", Value: 1}, {Key: "title", Value: "t"}})
	require.NoError(t, err)
	// the functions' own write: derived only, not invoked
	_, err = e.db.Collection("articles").UpdateOne(ctx, bson.D{{Key: "_id", Value: 1}}, bson.D{{Key: "$set", Value: bson.D{{Key: "author", Value: nil}, {Key: "favoritesCount", Value: 0}}}})
	require.NoError(t, err)
	_, err = users.DeleteOne(ctx, bson.D{{Key: "_id", Value: 3}})
	require.NoError(t, err)

	relaytest.Eventually(t, 10*time.Second, func() bool { return len(e.rec.IDs("users")) == 101 }, "users events: %d", len(e.rec.IDs("users")))
	relaytest.Eventually(t, 10*time.Second, func() bool { return len(e.rec.IDs("articles")) == 1 }, "articles events")
	require.NoError(t, stop())
	arts := e.rec.Events("articles")
	require.Len(t, arts, 1)
	require.Equal(t, "insert", arts[0].Op)

	// per document, insert before update before delete
	seen := map[string][]string{}
	for _, ev := range e.rec.Events("users") {
		seen[ev.Key] = append(seen[ev.Key], ev.Op)
	}
	require.Equal(t, []string{"insert", "update", "delete"}, seen[`{"$numberInt":"3"}`])
	require.Equal(t, []string{"insert", "update"}, seen[`{"$numberInt":"4"}`])

	var cp bson.M
	require.NoError(t, e.db.Collection("_relay_checkpoints").FindOne(ctx, bson.D{{Key: "_id", Value: "users"}}).Decode(&cp))
	require.NotNil(t, cp["token"])
}
