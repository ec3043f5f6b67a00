package e2e_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/bson/primitive"

	"github.com/changerelay/changerelay/e2e/stack"
	"github.com/changerelay/changerelay/infra/conduit"
)

// quickFailYAML routes the four collections with few attempts and short
// backoff, so failures reach the dead-letter collection within a test;
// commentsFunction, if set, overrides the comments route's function.
func quickFailYAML(commentsFunction string) string {
	var b strings.Builder
	b.WriteString("retry:\n  initialBackoff: 50ms\n  maxBackoff: 400ms\nroutes:\n")
	for _, coll := range []string{"users", "articles", "comments", "favorites"} {
		fn := coll
		if coll == "comments" && commentsFunction != "" {
			fn = commentsFunction
		}
		fmt.Fprintf(&b, "  - collection: %s\n    function: %s\n    maxAttempts: 3\n    functionTimeout: 10s\n", coll, fn)
	}
	return b.String()
}

// failComments inserts comments (whose function is failing) among other
// writes, waits until every other invariant holds and the comments' events
// are dead-lettered, and checks that only comments drift.
func failComments(t *testing.T, p *pipeline, ds *conduit.Dataset, relay *stack.Relay, comments int) {
	t.Helper()
	g, err := conduit.NewGenerator(ds, conduit.WorkloadConfig{Rand: newRand(88)})
	require.NoError(t, err)
	script := g.Next(comments, conduit.Mix{conduit.KindInsertComment: 1})
	script = append(script, g.Next(60, conduit.Mix{conduit.KindRetag: 2, conduit.KindFavorite: 2, conduit.KindInsertArticle: 1})...)
	p.execute(script, conduit.ExecConfig{})

	deadline, cancel := context.WithTimeout(p.ctx, convergeTimeout)
	defer cancel()
	var rep conduit.Report
	for {
		rep, err = conduit.Check(deadline, p.db)
		require.NoError(t, err)
		m, merr := relay.Metrics(deadline)
		if rep.I1.Mismatched == 0 && rep.I3.Mismatched == 0 && rep.I4.Mismatched == 0 &&
			merr == nil && m.Sum("relay_in_flight_events") == 0 && m.Sum("relay_events_dead_lettered_total", "route", "comments") > 0 {
			break
		}
		select {
		case <-deadline.Done():
			t.Fatalf("other routes did not converge while comments failed:\n%s", rep.String())
		case <-time.After(250 * time.Millisecond):
		}
	}
	assert.Positive(t, rep.I2.Mismatched, "comments inserted with stale authors stay stale while their function fails")
	letters := p.deadLetters()
	require.NotEmpty(t, letters)
	for _, dl := range letters {
		route, _ := dl.Lookup("route").StringValueOK()
		assert.Equal(t, "comments", route, "only the comments route fails: %s", dl)
	}
}

// TestFailingFunctionDeadLettersThenRepairs routes comments to a function
// that does not exist: its events fail, are retried and dead-lettered
// while the other routes keep converging. `relay deadletters list` shows
// them; once the route is fixed, new events flow again and repair (the
// remedy for work that died with the letters, which still name the missing
// function) converges everything.
func TestFailingFunctionDeadLettersThenRepairs(t *testing.T) {
	p := newPipeline(t, pipelineOptions{})
	ds := p.seed(smallSeed, 8)
	broken := p.startRelay(stack.RelayConfig{YAML: quickFailYAML("no-such-function")})
	failComments(t, p, ds, broken, 30)
	letters := len(p.deadLetters())
	out, err := broken.Command(p.ctx, "deadletters", "list", "--route", "comments")
	require.NoError(t, err)
	assert.Contains(t, out, fmt.Sprintf("%d dead letter(s)", letters))
	require.NoError(t, broken.Stop(30*time.Second))

	p.startRelay(stack.RelayConfig{YAML: quickFailYAML("")})
	_, err = p.db.Collection(conduit.CollComments).InsertOne(p.ctx, conduit.Comment{
		ID: primitive.ObjectID{0xc0, 1}, ArticleID: ds.Articles[0].ID, AuthorID: ds.Users[0].ID, Body: "after the fix",
	}.SourceDoc())
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		var c conduit.Comment
		err := p.db.Collection(conduit.CollComments).FindOne(p.ctx, bson.D{{Key: "_id", Value: primitive.ObjectID{0xc0, 1}}}).Decode(&c)
		return err == nil && c.Author != nil
	}, convergeTimeout, 200*time.Millisecond, "comments flow again once the route is fixed")

	rep, raw, err := p.stack.Repair(p.ctx, false)
	require.NoError(t, err, string(raw))
	assert.Positive(t, rep.Fixed, "repair fixes what the dead-lettered events would have done")
	p.waitConverged(convergeTimeout)
}

// TestFunctionWithBrokenEnvironmentDeadLettersThenReplays points the
// comments function at a database that is not there: every invocation
// fails inside the function, its events are dead-lettered while the other
// functions converge; with the environment fixed, the dead letters are
// replayed and everything converges.
func TestFunctionWithBrokenEnvironmentDeadLettersThenReplays(t *testing.T) {
	p := newPipeline(t, pipelineOptions{})
	if p.stack.Target != stack.TargetLocal {
		t.Skip("function environments are under test control only on the Docker-free stack")
	}
	ds := p.seed(smallSeed, 11)
	require.NoError(t, p.stack.StopFunctions(false))
	require.NoError(t, p.stack.StartFunctions(p.ctx, map[string]map[string]string{"comments": {
		"MONGODB_URI":     "mongodb://127.0.0.1:1/?directConnection=true&serverSelectionTimeoutMS=300",
		"DB_CALL_TIMEOUT": "1s",
	}}))
	relay := p.startRelay(stack.RelayConfig{YAML: quickFailYAML("")})
	failComments(t, p, ds, relay, 8)

	require.NoError(t, p.stack.StopFunctions(false))
	require.NoError(t, p.stack.StartFunctions(p.ctx, nil))
	out, err := relay.Command(p.ctx, "deadletters", "replay")
	require.NoError(t, err)
	t.Logf("relay deadletters replay: %s", lastLine(out))
	p.waitConverged(convergeTimeout)
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

// TestFunctionHostDownThenBack kills the local Lambda host while a workload
// runs: invocations fail and are retried with backoff; when the host is back
// everything converges with no event dead-lettered.
func TestFunctionHostDownThenBack(t *testing.T) {
	p := newPipeline(t, pipelineOptions{})
	if p.stack.Target != stack.TargetLocal {
		t.Skip("the function host is under test control only on the Docker-free stack")
	}
	ds := p.seed(smallSeed, 9)
	p.startRelay(stack.RelayConfig{})
	g, err := conduit.NewGenerator(ds, conduit.WorkloadConfig{Rand: newRand(99)})
	require.NoError(t, err)

	p.execute(g.Next(100, nil), conduit.ExecConfig{})
	require.NoError(t, p.stack.StopFunctions(true))
	p.execute(g.Next(200, nil), conduit.ExecConfig{Concurrency: 2})

	ctx, cancel := context.WithTimeout(p.ctx, convergeTimeout)
	defer cancel()
	require.Eventually(t, func() bool {
		m, err := p.relay().Metrics(ctx)
		return err == nil && m.Sum("relay_events_retried_total") > 0
	}, convergeTimeout, 200*time.Millisecond, "the relay should retry while the host is down")

	require.NoError(t, p.stack.StartFunctions(p.ctx, nil))
	rep := p.waitConverged(convergeTimeout + time.Minute) // backoff may have grown
	t.Logf("converged after the outage: %s", rep.Summary())
	assert.Empty(t, p.deadLetters())
}

// TestPoisonEventDeadLettersWhileOthersConverge inserts an article whose
// tagList is not a list: the articles function rejects that event, the relay
// dead-letters it after its attempts, and every other write converges
// meanwhile. When the application fixes the article, it converges too.
func TestPoisonEventDeadLettersWhileOthersConverge(t *testing.T) {
	p := newPipeline(t, pipelineOptions{})
	ds := p.seed(smallSeed, 10)
	p.startRelay(stack.RelayConfig{YAML: quickFailYAML("")})

	// Its author is outside the data set, so the workload never touches it.
	poison, poisonAuthor := primitive.ObjectID{0xba, 0xd0}, primitive.ObjectID{0xba, 0xd1}
	_, err := p.db.Collection(conduit.CollUsers).InsertOne(p.ctx, conduit.User{ID: poisonAuthor, Username: "poisoner", Email: "p@example.org"}.Doc())
	require.NoError(t, err)
	_, err = p.db.Collection(conduit.CollArticles).InsertOne(p.ctx, bson.D{
		{Key: "_id", Value: poison}, {Key: "slug", Value: "poison"}, {Key: "title", Value: "poison"},
		{Key: "tagList", Value: 42}, {Key: "authorId", Value: poisonAuthor},
	})
	require.NoError(t, err)
	script, err := conduit.Generate(ds, conduit.WorkloadConfig{Rand: newRand(100)}, 300, nil)
	require.NoError(t, err)
	p.execute(script, conduit.ExecConfig{Concurrency: 2})

	ctx, cancel := context.WithTimeout(p.ctx, convergeTimeout)
	defer cancel()
	var rep conduit.Report
	for {
		rep, err = conduit.Check(ctx, p.db)
		require.NoError(t, err)
		if onlyAbout(rep, poison) && len(p.deadLetters()) > 0 && p.relayIdle(ctx) {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("no dead letter, or drift beyond the poison article:\n%s", rep.String())
		case <-time.After(250 * time.Millisecond):
		}
	}
	letters := p.deadLetters()
	require.Len(t, letters, 1, "only the poison event is dead-lettered")
	assert.Contains(t, letters[0].String(), poison.Hex())

	// The application fixes the document; the fix flows through the relay.
	_, err = p.db.Collection(conduit.CollArticles).UpdateOne(p.ctx, bson.D{{Key: "_id", Value: poison}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "tagList", Value: bson.A{"antidote"}}}}})
	require.NoError(t, err)
	require.Eventually(t, func() bool { return tagCounts(t, p)["antidote"] == 1 }, convergeTimeout, 200*time.Millisecond)

	// What the dead-lettered insert would have done is left to repair, the
	// documented remedy after a dead letter.
	rep2, raw, err := p.stack.Repair(p.ctx, false)
	require.NoError(t, err, string(raw))
	t.Logf("repair after the fix: drift %d, fixed %d", rep2.Drift, rep2.Fixed)
	p.waitConverged(convergeTimeout)
	dry, raw, err := p.stack.Repair(p.ctx, true)
	require.NoError(t, err, string(raw))
	assert.Zero(t, dry.Drift, string(raw))
}

// onlyAbout reports whether every mismatch in rep concerns the document id.
func onlyAbout(rep conduit.Report, id primitive.ObjectID) bool {
	for _, inv := range rep.Invariants() {
		if inv.Mismatched > len(inv.Examples) {
			return false
		}
		for _, ex := range inv.Examples {
			if !strings.Contains(ex, id.Hex()) {
				return false
			}
		}
	}
	return true
}
