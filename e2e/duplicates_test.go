package e2e_test

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/mongo"
	"go.mongodb.org/mongo-driver/mongo/options"

	"github.com/changerelay/changerelay/e2e/stack"
	"github.com/changerelay/changerelay/functions/envelope"
	"github.com/changerelay/changerelay/infra/conduit"
)

// TestDuplicateDeliveriesThroughTheInvokeAPI records real change events,
// lets the relay deliver them, then invokes the functions directly with the
// same (by now stale) events again: twice at once, and in reverse order.
// Nothing may move backwards.
func TestDuplicateDeliveriesThroughTheInvokeAPI(t *testing.T) {
	p := newPipeline(t, pipelineOptions{})
	ds := p.seed(smallSeed, 6)
	p.startRelay(stack.RelayConfig{})

	author := mostProlific(ds)
	hot := ds.Articles[0].ID
	users := p.db.Collection(conduit.CollUsers)
	articles := p.db.Collection(conduit.CollArticles)
	favorites := p.db.Collection(conduit.CollFavorites)
	usersStream := watch(t, p, users)
	articlesStream := watch(t, p, articles)
	favoritesStream := watch(t, p, favorites)

	// Each older event is read before the newer write, so its fullDocument
	// is the older state.
	_, err := users.UpdateOne(p.ctx, bson.D{{Key: "_id", Value: author}}, bson.D{{Key: "$set", Value: bson.D{{Key: "username", Value: "dup-old"}}}})
	require.NoError(t, err)
	oldRename := next(t, p, usersStream)
	_, err = users.UpdateOne(p.ctx, bson.D{{Key: "_id", Value: author}}, bson.D{{Key: "$set", Value: bson.D{{Key: "username", Value: "dup-new"}}}})
	require.NoError(t, err)
	newRename := next(t, p, usersStream)

	_, err = articles.UpdateOne(p.ctx, bson.D{{Key: "_id", Value: hot}}, bson.D{{Key: "$push", Value: bson.D{{Key: "tagList", Value: "dup-tag"}}}})
	require.NoError(t, err)
	oldPush := next(t, p, articlesStream)
	_, err = articles.UpdateOne(p.ctx, bson.D{{Key: "_id", Value: hot}}, bson.D{{Key: "$pull", Value: bson.D{{Key: "tagList", Value: "dup-tag"}}}})
	require.NoError(t, err)
	newPull := next(t, p, articlesStream)

	fav := conduit.Favorite{ID: [12]byte{0xdd, 1}, UserID: ds.Users[len(ds.Users)-1].ID, ArticleID: hot}
	_, err = favorites.DeleteMany(p.ctx, bson.D{{Key: "userId", Value: fav.UserID}, {Key: "articleId", Value: hot}})
	require.NoError(t, err)
	_, err = favorites.InsertOne(p.ctx, fav.Doc())
	require.NoError(t, err)
	favInsert := nextOf(t, p, favoritesStream, "insert")

	p.waitConverged(convergeTimeout)
	before := snapshot(t, p, author, hot)

	for _, tc := range []struct {
		function string
		events   []bson.Raw
	}{
		{"users", []bson.Raw{oldRename}},
		{"users", []bson.Raw{newRename, oldRename}},
		{"articles", []bson.Raw{oldPush}},
		{"articles", []bson.Raw{newPull, oldPush}},
		{"favorites", []bson.Raw{favInsert, favInsert}},
	} {
		payload := envelopeOf(t, tc.events...)
		var wg sync.WaitGroup
		for range 2 { // the same batch twice, at the same time
			wg.Add(1)
			go func() {
				defer wg.Done()
				res, err := p.stack.Invoke(p.ctx, tc.function, payload)
				if !assert.NoError(t, err) {
					return
				}
				assert.Empty(t, res.FunctionError, "%s: %s", tc.function, res.Payload)
				var reply envelope.Response
				if assert.NoError(t, json.Unmarshal(res.Payload, &reply), string(res.Payload)) {
					assert.Empty(t, reply.BatchItemFailures, "%s", tc.function)
				}
			}()
		}
		wg.Wait()
	}

	rep, err := conduit.Check(p.ctx, p.db)
	require.NoError(t, err)
	assert.True(t, rep.OK(), rep.String())
	assert.Equal(t, before, snapshot(t, p, author, hot), "re-delivered stale events changed derived data")
}

// TestRelayRestartedFromAnOlderCheckpoint stops the relay, puts back a
// checkpoint from before a workload it had already delivered, and restarts
// it: every event of that workload is delivered a second time.
func TestRelayRestartedFromAnOlderCheckpoint(t *testing.T) {
	p := newPipeline(t, pipelineOptions{})
	ds := p.seed(smallSeed, 7)
	g, err := conduit.NewGenerator(ds, conduit.WorkloadConfig{Rand: newRand(77), StormSize: 20, StormChunk: 10})
	require.NoError(t, err)

	p.startRelay(stack.RelayConfig{})
	p.execute(g.Next(200, nil), conduit.ExecConfig{})
	p.waitConverged(convergeTimeout)
	require.NoError(t, p.relay().Stop(30*time.Second), "graceful stop stores the checkpoint")
	old := checkpoints(t, p)
	require.NotEmpty(t, old, "the relay stored no checkpoint")

	r2 := p.startRelay(stack.RelayConfig{})
	p.execute(g.Next(400, nil), conduit.ExecConfig{Concurrency: 2})
	p.waitConverged(convergeTimeout)
	firstRead := p.metrics().Sum("relay_events_read_total")
	require.NoError(t, r2.Stop(30*time.Second))

	coll := p.db.Collection("_relay_checkpoints")
	_, err = coll.DeleteMany(p.ctx, bson.D{})
	require.NoError(t, err)
	_, err = coll.InsertMany(p.ctx, old)
	require.NoError(t, err)

	p.startRelay(stack.RelayConfig{})
	rep := p.waitConverged(convergeTimeout)
	reread := p.metrics().Sum("relay_events_read_total")
	t.Logf("first run read %.0f events, the restarted relay re-read %.0f: %s", firstRead, reread, rep.Summary())
	assert.GreaterOrEqual(t, reread, firstRead*0.9, "the restarted relay should re-read the second workload")
	assert.Empty(t, p.deadLetters())
}

func checkpoints(t *testing.T, p *pipeline) []any {
	t.Helper()
	cur, err := p.db.Collection("_relay_checkpoints").Find(p.ctx, bson.D{})
	require.NoError(t, err)
	var out []any
	for cur.Next(p.ctx) {
		out = append(out, append(bson.Raw(nil), cur.Current...))
	}
	require.NoError(t, cur.Err())
	return out
}

// watch opens a change stream shaped like the relay's (post-image by
// lookup, pre-image when available).
func watch(t *testing.T, p *pipeline, coll *mongo.Collection) *mongo.ChangeStream {
	t.Helper()
	cs, err := coll.Watch(p.ctx, mongo.Pipeline{}, options.ChangeStream().
		SetFullDocument(options.UpdateLookup).
		SetFullDocumentBeforeChange(options.WhenAvailable))
	require.NoError(t, err)
	t.Cleanup(func() { _ = cs.Close(context.Background()) })
	return cs
}

// next returns the stream's next event that is not a derived-only update
// (the functions write into the collections they watch).
func next(t *testing.T, p *pipeline, cs *mongo.ChangeStream) bson.Raw {
	return nextOf(t, p, cs, "")
}

func nextOf(t *testing.T, p *pipeline, cs *mongo.ChangeStream, op string) bson.Raw {
	t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 30*time.Second)
	defer cancel()
	for cs.Next(ctx) {
		ev := append(bson.Raw(nil), cs.Current...)
		typ, _ := ev.Lookup("operationType").StringValueOK()
		if op != "" && typ != op {
			continue
		}
		if typ == "update" && derivedOnly(ev) {
			continue
		}
		return ev
	}
	require.NoError(t, cs.Err())
	t.Fatal("change stream ended")
	return nil
}

// derivedOnly reports whether an update touched only derived fields.
func derivedOnly(ev bson.Raw) bool {
	desc, ok := ev.Lookup("updateDescription").DocumentOK()
	if !ok {
		return false
	}
	derived := map[string]bool{"author": true, "favoritesCount": true, "_sync": true}
	var fields []string
	if upd, ok := desc.Lookup("updatedFields").DocumentOK(); ok {
		elems, _ := upd.Elements()
		for _, e := range elems {
			fields = append(fields, e.Key())
		}
	}
	if rem, ok := desc.Lookup("removedFields").ArrayOK(); ok {
		vals, _ := rem.Values()
		for _, v := range vals {
			fields = append(fields, v.StringValue())
		}
	}
	for _, f := range fields {
		root := f
		for i := range f {
			if f[i] == '.' {
				root = f[:i]
				break
			}
		}
		if !derived[root] {
			return false
		}
	}
	return len(fields) > 0
}

func envelopeOf(t *testing.T, events ...bson.Raw) []byte {
	t.Helper()
	env := envelope.Envelope{EventSource: envelope.EventSourceRelay, EventSourceArn: "e2e"}
	for _, ev := range events {
		js, err := envelope.EncodeEvent(ev)
		require.NoError(t, err)
		env.Events = append(env.Events, envelope.Record{Event: js})
	}
	out, err := json.Marshal(env)
	require.NoError(t, err)
	return out
}

// snapshot reads the derived data the duplicated events concern.
func snapshot(t *testing.T, p *pipeline, author, article any) bson.M {
	t.Helper()
	out := bson.M{}
	var a bson.M
	require.NoError(t, p.db.Collection(conduit.CollArticles).FindOne(p.ctx, bson.D{{Key: "_id", Value: article}}).Decode(&a))
	out["article.favoritesCount"] = a["favoritesCount"]
	out["article.author"] = a["author"]
	out["tags"] = tagCounts(t, p)
	cur, err := p.db.Collection(conduit.CollArticles).Find(p.ctx, bson.D{{Key: "authorId", Value: author}},
		options.Find().SetProjection(bson.D{{Key: "author", Value: 1}}))
	require.NoError(t, err)
	var copies []bson.M
	require.NoError(t, cur.All(p.ctx, &copies))
	out["copies"] = copies
	return out
}
