package daemon_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.mongodb.org/mongo-driver/bson"

	"github.com/changerelay/changerelay/relay/cli"
	"github.com/changerelay/changerelay/relay/config"
	"github.com/changerelay/changerelay/relay/internal/lambdafake"
	"github.com/changerelay/changerelay/relay/internal/relaytest"
)

func usersOnly(c *config.Config) {
	c.Routes = []config.Route{{Name: "users", Collection: "users", Function: "users"}}
	c.SetDefaults()
}

func insertUsers(t *testing.T, e *env, from, to int, extra ...bson.E) {
	t.Helper()
	var docs []any
	for i := from; i < to; i++ {
		docs = append(docs, append(bson.D{{Key: "_id", Value: i}, {Key: "username", Value: fmt.Sprint("u", i)}}, extra...))
	}
	_, err := e.db.Collection("users").InsertMany(t.Context(), docs)
	require.NoError(t, err)
}

func TestFunctionFailuresAreRetried(t *testing.T) {
	cases := []struct {
		name  string
		reply lambdafake.Reply
	}{
		{"handled error", lambdafake.Reply{FunctionError: "Handled", Body: []byte(`{"errorMessage":"db down","errorType":"errorString"}`)}},
		{"panic", lambdafake.Reply{FunctionError: "Unhandled", Body: []byte(`{"errorMessage":"runtime error: invalid memory address","errorType":"Runtime.ExitError"}`)}},
		{"timeout", lambdafake.Reply{FunctionError: "Unhandled", Body: []byte(`{"errorMessage":"Task timed out after 60.00 seconds","errorType":"Sandbox.Timedout"}`)}},
		{"throttled", lambdafake.Reply{Throttle: true, RetryAfter: "0.2"}},
		{"service error", lambdafake.Reply{Status: 502, Body: []byte(`{"message":"bad gateway"}`)}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			var mu sync.Mutex
			failures := 0
			ok := e.rec.Handler("users", nil)
			e.fake.Handle("users", func(ctx context.Context, p []byte) lambdafake.Reply {
				mu.Lock()
				failing := failures < 4
				failures++
				mu.Unlock()
				if failing {
					return tc.reply
				}
				return ok(ctx, p)
			})
			cfg := e.config()
			usersOnly(cfg)
			d, _ := e.start(t, cfg)
			insertUsers(t, e, 0, 20)
			relaytest.Eventually(t, 15*time.Second, func() bool { return len(e.rec.IDs("users")) == 20 }, "delivered %d of 20", len(e.rec.IDs("users")))
			require.Zero(t, countLetters(t, e), "nothing dead-lettered")
			_ = d
		})
	}
}

func countLetters(t *testing.T, e *env) int64 {
	n, err := e.db.Collection("_relay_deadletters").CountDocuments(t.Context(), bson.D{})
	require.NoError(t, err)
	return n
}

func TestPoisonEventDeadLettersOthersFlowThenReplay(t *testing.T) {
	e := newEnv(t)
	var poisoned sync.Map
	poisoned.Store(`{"$numberInt":"13"}`, true)
	e.fake.Handle("users", e.rec.Handler("users", func(r relaytest.Received) error {
		if _, bad := poisoned.Load(r.Key); bad && r.Op == "insert" {
			return errors.New("poison")
		}
		return nil
	}))
	cfg := e.config()
	usersOnly(cfg)
	cfg.Routes[0].MaxAttempts = 3
	cfg.Routes[0].Concurrency = 1
	_, stop := e.start(t, cfg)
	insertUsers(t, e, 0, 30)
	// other keys, and the poison key's later event, flow
	relaytest.Eventually(t, 15*time.Second, func() bool { return len(e.rec.IDs("users")) == 29 }, "delivered %d of 29", len(e.rec.IDs("users")))
	relaytest.Eventually(t, 15*time.Second, func() bool { return countLetters(t, e) == 1 }, "dead letter")
	_, err := e.db.Collection("users").UpdateOne(t.Context(), bson.D{{Key: "_id", Value: 13}}, bson.D{{Key: "$set", Value: bson.D{{Key: "bio", Value: "later"}}}})
	require.NoError(t, err)

	var letter bson.M
	require.NoError(t, e.db.Collection("_relay_deadletters").FindOne(t.Context(), bson.D{}).Decode(&letter))
	require.Equal(t, "users", letter["route"])
	require.Equal(t, "insert", letter["operationType"])
	require.Contains(t, letter["reason"], "failed 3 attempts")
	require.Len(t, letter["attempts"], 3)
	require.NotNil(t, letter["event"])
	relaytest.Eventually(t, 10*time.Second, func() bool {
		for _, r := range e.rec.Events("users") {
			if r.Key == `{"$numberInt":"13"}` && r.Op == "update" {
				return true
			}
		}
		return false
	}, "the poison key's later update is delivered after the poison event is dead-lettered")
	require.NoError(t, stop())

	// list, then replay once the function is fixed
	var out, errOut bytes.Buffer
	envs := map[string]string{"MONGODB_URI": e.uri, "MONGODB_DATABASE": e.db.Name(), "LAMBDA_ENDPOINT": e.fake.URL()}
	cliEnv := cli.Env{Stdout: &out, Stderr: &errOut, Getenv: func(k string) string { return envs[k] }}
	require.Equal(t, 0, cli.Main(t.Context(), []string{"deadletters", "list"}, cliEnv), errOut.String())
	require.Contains(t, out.String(), "1 dead letter(s)")
	require.Contains(t, out.String(), "failed 3 attempts")

	out.Reset()
	require.Equal(t, 1, cli.Main(t.Context(), []string{"deadletters", "replay", "--route", "users"}, cliEnv), "still failing")
	require.Contains(t, out.String(), "FAILED")

	poisoned.Delete(`{"$numberInt":"13"}`)
	out.Reset()
	require.Equal(t, 0, cli.Main(t.Context(), []string{"deadletters", "replay", "--route", "users"}, cliEnv), errOut.String())
	require.Contains(t, out.String(), "1 replayed, 0 failed")
	replayed := 0
	for _, r := range e.rec.Events("users") {
		if r.Key == `{"$numberInt":"13"}` && r.Op == "insert" {
			replayed++
		}
	}
	require.Equal(t, 1, replayed)

	out.Reset()
	require.Equal(t, 0, cli.Main(t.Context(), []string{"deadletters", "list"}, cliEnv))
	require.Contains(t, out.String(), "0 dead letter(s)")
	out.Reset()
	require.Equal(t, 0, cli.Main(t.Context(), []string{"deadletters", "list", "--all", "--json"}, cliEnv))
	var js map[string]any
	require.NoError(t, json.Unmarshal(bytes.TrimSpace(out.Bytes()), &js))
	require.NotNil(t, js["replayedAt"])
	require.NotNil(t, js["event"])
}

func TestPayloadSplitAndOversizedEvent(t *testing.T) {
	e := newEnv(t)
	cfg := e.config()
	usersOnly(cfg)
	cfg.Routes[0].MaxPayloadBytes = 8 << 10
	cfg.Routes[0].BatchWindow = 300 * time.Millisecond
	cfg.Routes[0].Concurrency = 1
	_, stop := e.start(t, cfg)
	insertUsers(t, e, 0, 40, bson.E{Key: "bio", Value: strings.Repeat("b", 1000)})
	_, err := e.db.Collection("users").InsertOne(t.Context(), bson.D{{Key: "_id", Value: 1000}, {Key: "bio", Value: strings.Repeat("B", 20<<10)}})
	require.NoError(t, err)
	insertUsers(t, e, 40, 45)
	relaytest.Eventually(t, 15*time.Second, func() bool { return len(e.rec.IDs("users")) == 45 }, "delivered %d of 45", len(e.rec.IDs("users")))
	relaytest.Eventually(t, 15*time.Second, func() bool { return countLetters(t, e) == 1 }, "oversized event dead-lettered")
	require.NoError(t, stop())
	calls := e.fake.Calls("users")
	multi := 0
	for _, c := range calls {
		require.LessOrEqual(t, len(c.Payload), 8<<10)
		events, err := lambdafake.Events(c.Payload)
		require.NoError(t, err)
		if len(events) > 1 {
			multi++
		}
	}
	require.Positive(t, multi, "events were batched")
	var letter bson.M
	require.NoError(t, e.db.Collection("_relay_deadletters").FindOne(t.Context(), bson.D{}).Decode(&letter))
	require.Contains(t, letter["reason"], "exceeds maxPayloadBytes 8192")
	require.EqualValues(t, 1000, letter["event"].(bson.M)["documentKey"].(bson.M)["_id"])
}

// An event over 16 MB arrives split, is reassembled, and, larger than any
// invocation may be, is dead-lettered with the reason; later events of the
// same document still flow.
func TestEventOver16MBIsDeadLetteredWithReason(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: writes 9 MB documents")
	}
	e := newEnv(t)
	ctx := t.Context()
	require.NoError(t, e.db.RunCommand(ctx, bson.D{{Key: "create", Value: "users"},
		{Key: "changeStreamPreAndPostImages", Value: bson.D{{Key: "enabled", Value: true}}}}).Err())
	users := e.db.Collection("users")
	_, err := users.InsertOne(ctx, bson.D{{Key: "_id", Value: 1}, {Key: "bio", Value: strings.Repeat("a", 9<<20)}})
	require.NoError(t, err)
	cfg := e.config()
	usersOnly(cfg)
	cfg.Routes[0].FullDocument = config.FullDocumentWhenAvailable
	_, stop := e.start(t, cfg)
	_, err = users.UpdateOne(ctx, bson.D{{Key: "_id", Value: 1}}, bson.D{{Key: "$set", Value: bson.D{{Key: "bio", Value: strings.Repeat("b", 9<<20)}}}})
	require.NoError(t, err)
	// its pre-image is still 9 MB: too large as well, but under 15 MB it is kept
	_, err = users.UpdateOne(ctx, bson.D{{Key: "_id", Value: 1}}, bson.D{{Key: "$set", Value: bson.D{{Key: "bio", Value: "short"}}}})
	require.NoError(t, err)
	_, err = users.UpdateOne(ctx, bson.D{{Key: "_id", Value: 1}}, bson.D{{Key: "$set", Value: bson.D{{Key: "bio", Value: "shorter"}}}})
	require.NoError(t, err)
	relaytest.Eventually(t, 30*time.Second, func() bool { return countLetters(t, e) == 2 }, "the huge events are dead-lettered")
	cur, err := e.db.Collection("_relay_deadletters").Find(ctx, bson.D{})
	require.NoError(t, err)
	var letters []bson.M
	require.NoError(t, cur.All(ctx, &letters))
	omitted := 0
	for _, l := range letters {
		require.Contains(t, l["reason"], "exceeds maxPayloadBytes")
		if l["eventOmitted"] == true {
			omitted++
			require.Greater(t, l["eventBytes"], int32(16<<20))
		}
	}
	require.Equal(t, 1, omitted, "the event over 15 MB is not kept in its letter")
	relaytest.Eventually(t, 30*time.Second, func() bool {
		for _, r := range e.rec.Events("users") {
			if r.Op == "update" && strings.Contains(string(r.Event), `"shorter"`) {
				return true
			}
		}
		return false
	}, "the next event of the document flows")
	require.NoError(t, stop())
}

// The usual flow: the route named a wrong function, its events died; fix
// the configuration, replay: the letters go to the route's function now.
func TestReplayUsesTheRoutesCurrentFunction(t *testing.T) {
	e := newEnv(t)
	cfg := e.config()
	usersOnly(cfg)
	cfg.Routes[0].Function = "missing"
	cfg.Routes[0].MaxAttempts = 2
	_, stop := e.start(t, cfg)
	insertUsers(t, e, 0, 3)
	relaytest.Eventually(t, 15*time.Second, func() bool { return countLetters(t, e) == 3 }, "letters")
	require.NoError(t, stop())

	path := t.TempDir() + "/relay.yaml"
	require.NoError(t, os.WriteFile(path, []byte("routes: [{name: users, collection: users, function: users}]\n"), 0o600))
	var out, errOut bytes.Buffer
	envs := map[string]string{"MONGODB_URI": e.uri, "MONGODB_DATABASE": e.db.Name(), "LAMBDA_ENDPOINT": e.fake.URL()}
	code := cli.Main(t.Context(), []string{"deadletters", "replay", "-config", path}, cli.Env{Stdout: &out, Stderr: &errOut, Getenv: func(k string) string { return envs[k] }})
	require.Equal(t, 0, code, out.String()+errOut.String())
	require.Contains(t, out.String(), "3 replayed, 0 failed")
	require.Contains(t, out.String(), "(function users)")
	require.Len(t, e.rec.IDs("users"), 3)
}
