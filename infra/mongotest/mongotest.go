// Package mongotest gives tests a MongoDB to talk to: $MONGODB_URI when it
// is set (a real replica set), otherwise a fresh in-memory mongolocal that
// the test's cleanup stops.
package mongotest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"strings"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/mongo"
	"go.mongodb.org/mongo-driver/mongo/options"

	"github.com/changerelay/changerelay/infra/mongolocal"
)

// EnvURI names the variable that points the tests at a real deployment.
const EnvURI = "MONGODB_URI"

// External reports whether tests run against $MONGODB_URI rather than mongolocal.
func External() bool { return os.Getenv(EnvURI) != "" }

// URI returns $MONGODB_URI if set, else starts a mongolocal that is closed
// when the test ends.
func URI(t testing.TB) string {
	t.Helper()
	if uri := os.Getenv(EnvURI); uri != "" {
		return uri
	}
	return Start(t, mongolocal.Config{}).URI()
}

// Start starts a mongolocal with cfg (Addr defaults to a free loopback
// port) and closes it at cleanup. It ignores $MONGODB_URI: use it for
// mongolocal-only tests.
func Start(t testing.TB, cfg mongolocal.Config) *mongolocal.Server {
	t.Helper()
	srv, err := mongolocal.Start(context.Background(), cfg)
	if err != nil {
		t.Fatalf("mongotest: start mongolocal: %v", err)
	}
	t.Cleanup(func() {
		if err := srv.Close(); err != nil {
			t.Errorf("mongotest: close mongolocal: %v", err)
		}
	})
	return srv
}

// Client returns a client connected to URI(t), disconnected at cleanup.
func Client(t testing.TB) *mongo.Client {
	t.Helper()
	return Connect(t, URI(t))
}

// Connect returns a client connected (and pinged) to uri, disconnected at cleanup.
func Connect(t testing.TB, uri string, opts ...*options.ClientOptions) *mongo.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	all := append([]*options.ClientOptions{options.Client().ApplyURI(uri)}, opts...)
	client, err := mongo.Connect(ctx, all...)
	if err != nil {
		t.Fatalf("mongotest: connect %s: %v", uri, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = client.Disconnect(ctx)
	})
	if err := client.Ping(ctx, nil); err != nil {
		t.Fatalf("mongotest: ping %s: %v", uri, err)
	}
	return client
}

// Database returns a freshly named database on Client(t), dropped at cleanup.
func Database(t testing.TB) *mongo.Database {
	t.Helper()
	return FreshDatabase(t, Client(t))
}

// FreshDatabase returns a uniquely named database on client, dropped at cleanup.
func FreshDatabase(t testing.TB, client *mongo.Client) *mongo.Database {
	t.Helper()
	db := client.Database(DatabaseName(t))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = db.Drop(ctx)
	})
	return db
}

// DatabaseName returns a unique database name derived from the test name
// (MongoDB limits names to 63 bytes and forbids /\. "$).
func DatabaseName(t testing.TB) string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	name := strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '_', r == '-':
			return r
		}
		return '_'
	}, t.Name())
	if len(name) > 40 {
		name = name[len(name)-40:]
	}
	return "t_" + name + "_" + hex.EncodeToString(b[:])
}
