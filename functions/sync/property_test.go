package sync_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	gosync "sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/bson/primitive"
	"go.mongodb.org/mongo-driver/event"
	"go.mongodb.org/mongo-driver/mongo"
	"go.mongodb.org/mongo-driver/mongo/options"

	"github.com/changerelay/changerelay/functions/envelope"
	"github.com/changerelay/changerelay/functions/internal/fixture"
	"github.com/changerelay/changerelay/functions/sync"
)

// TestConvergenceProperty writes random histories with every operator the
// contract lists, records the real change events, and delivers them with
// duplicates, shuffled across documents, in random batches, some batches
// twice at once, lagging behind the writes; then checks I1..I4 with the
// independent checker. Seeded: a failure names its seed and mode.
func TestConvergenceProperty(t *testing.T) {
	seeds, rounds, writes := []uint64{1, 2, 3, 4, 5, 6}, 10, 60
	if testing.Short() {
		seeds, rounds, writes = []uint64{1}, 6, 40
	}
	for _, preImages := range []bool{true, false} {
		for _, seed := range seeds {
			t.Run(fmt.Sprintf("seed=%d,preImages=%v", seed, preImages), func(t *testing.T) {
				runProperty(t, seed, preImages, rounds, writes)
			})
		}
	}
}

func runProperty(t *testing.T, seed uint64, preImages bool, rounds, writes int) {
	// The handlers' writes are delayed at random, which widens the window
	// between a handler's read and its write: stale writes then race newer
	// ones often, as they would under load.
	jitter := &event.CommandMonitor{Started: func(_ context.Context, ev *event.CommandStartedEvent) {
		switch ev.CommandName {
		case "update", "delete", "insert", "aggregate":
			time.Sleep(time.Duration(rand.IntN(2000)) * time.Microsecond)
		}
	}}
	e := fixture.New(t, fixture.Options{NoPreImages: !preImages, PageSize: 7, Monitor: jitter})
	_, err := e.Coll("favorites").Indexes().CreateOne(e.Ctx, mongo.IndexModel{
		Keys: bson.D{{Key: "userId", Value: 1}, {Key: "articleId", Value: 1}}, Options: options.Index().SetUnique(true),
	})
	require.NoError(t, err)
	w := &writer{t: t, e: e, r: rand.New(rand.NewPCG(seed, 1))}
	d := &deliverer{t: t, e: e, r: rand.New(rand.NewPCG(seed, 2)), handlers: map[string]*sync.Handler{}}
	for _, c := range []string{"users", "articles", "comments", "favorites"} {
		d.handlers[c] = e.Handler(c)
	}
	w.seed()
	var pending []bson.Raw
	for round := 0; round < rounds; round++ {
		pending = append(pending, e.Events(false)...)
		now, later := d.split(pending)
		pending = later
		// Deliver this round's events while the application keeps writing.
		var wg gosync.WaitGroup
		wg.Add(1)
		go func() { defer wg.Done(); d.deliver(now) }()
		for range writes {
			w.step()
		}
		wg.Wait()
	}
	pending = append(pending, e.Events(false)...)
	d.deliver(pending)
	e.Sync()
	violations, err := fixture.Check(e.Ctx, e.DB)
	require.NoError(t, err)
	require.Empty(t, violations, "seed %d preImages %v: invariants violated after %d writes", seed, preImages, w.n)
}

// writer makes random source writes.
type writer struct {
	t                                    *testing.T
	e                                    *fixture.Env
	r                                    *rand.Rand
	users, articles, comments, favorites []primitive.ObjectID
	n                                    int
}

var tagPool = []string{"go", "db", "mongo", "lambda", "aws", "rust", "test", "ops"}

func (w *writer) pick(ids []primitive.ObjectID) primitive.ObjectID {
	if len(ids) == 0 || w.r.IntN(20) == 0 {
		return primitive.NewObjectID() // a reference to nothing
	}
	return ids[w.r.IntN(len(ids))]
}

func (w *writer) tags() bson.A {
	out := bson.A{}
	for range w.r.IntN(4) {
		out = append(out, tagPool[w.r.IntN(len(tagPool))])
	}
	return out
}

func (w *writer) seed() {
	for range 5 {
		w.insertUser()
	}
	for range 8 {
		w.insertArticle()
	}
	for range 8 {
		w.insertComment()
		w.insertFavorite()
	}
}

func (w *writer) coll(name string) *mongo.Collection { return w.e.Coll(name) }

func (w *writer) insertUser() {
	id := primitive.NewObjectID()
	doc := bson.D{{Key: "_id", Value: id}, {Key: "username", Value: fmt.Sprintf("u%d", w.r.IntN(1000))}, {Key: "email", Value: id.Hex()}}
	if w.r.IntN(2) == 0 {
		doc = append(doc, bson.E{Key: "bio", Value: fmt.Sprintf("bio%d", w.r.IntN(10))})
	}
	if w.r.IntN(3) == 0 {
		doc = append(doc, bson.E{Key: "image", Value: nil})
	}
	w.do(w.coll("users").InsertOne(w.e.Ctx, doc))
	w.users = append(w.users, id)
}

func (w *writer) articleDoc() bson.D {
	doc := bson.D{{Key: "title", Value: "t"}, {Key: "body", Value: "b"}, {Key: "tagList", Value: w.tags()}, {Key: "authorId", Value: w.pick(w.users)}}
	switch w.r.IntN(4) {
	case 0:
		doc = append(doc, bson.E{Key: "author", Value: bson.D{{Key: "username", Value: "stale"}}})
	case 1:
		doc = append(doc, bson.E{Key: "author", Value: nil}, bson.E{Key: "favoritesCount", Value: 7})
	}
	return doc
}

func (w *writer) insertArticle() {
	id := primitive.NewObjectID()
	doc := append(bson.D{{Key: "_id", Value: id}, {Key: "slug", Value: id.Hex()}}, w.articleDoc()...)
	w.do(w.coll("articles").InsertOne(w.e.Ctx, doc))
	w.articles = append(w.articles, id)
}

func (w *writer) insertComment() {
	id := primitive.NewObjectID()
	doc := bson.D{{Key: "_id", Value: id}, {Key: "articleId", Value: w.pick(w.articles)}, {Key: "authorId", Value: w.pick(w.users)}, {Key: "body", Value: "c"}}
	if w.r.IntN(3) == 0 {
		doc = append(doc, bson.E{Key: "author", Value: bson.D{{Key: "username", Value: "stale"}}})
	}
	w.do(w.coll("comments").InsertOne(w.e.Ctx, doc))
	w.comments = append(w.comments, id)
}

func (w *writer) insertFavorite() {
	id := primitive.NewObjectID()
	_, err := w.coll("favorites").InsertOne(w.e.Ctx, bson.D{{Key: "_id", Value: id}, {Key: "userId", Value: w.pick(w.users)}, {Key: "articleId", Value: w.pick(w.articles)}})
	if !mongo.IsDuplicateKeyError(err) {
		w.do(nil, err)
	}
	w.favorites = append(w.favorites, id)
}

func (w *writer) do(_ any, err error) {
	w.n++
	require.NoError(w.t, err)
}

func byID(id primitive.ObjectID) bson.D { return bson.D{{Key: "_id", Value: id}} }

// step makes one random write.
func (w *writer) step() {
	ctx := w.e.Ctx
	set := func(k string, v any) bson.D { return bson.D{{Key: "$set", Value: bson.D{{Key: k, Value: v}}}} }
	op := func(o, k string, v any) bson.D { return bson.D{{Key: o, Value: bson.D{{Key: k, Value: v}}}} }
	tag := func() string { return tagPool[w.r.IntN(len(tagPool))] }
	switch w.r.IntN(30) {
	case 0:
		w.insertUser()
	case 1:
		w.do(w.coll("users").UpdateOne(ctx, byID(w.pick(w.users)), set("username", fmt.Sprintf("n%d", w.r.IntN(1000)))))
	case 2:
		w.do(w.coll("users").UpdateOne(ctx, byID(w.pick(w.users)), op("$unset", []string{"bio", "image"}[w.r.IntN(2)], "")))
	case 3:
		w.do(w.coll("users").ReplaceOne(ctx, byID(w.pick(w.users)), bson.D{{Key: "username", Value: fmt.Sprintf("r%d", w.r.IntN(1000))}, {Key: "image", Value: "i"}}))
	case 4:
		if w.r.IntN(3) == 0 {
			w.do(w.coll("users").DeleteOne(ctx, byID(w.pick(w.users))))
		} else {
			w.do(w.coll("users").UpdateOne(ctx, byID(w.pick(w.users)), set("email", "e")))
		}
	case 5, 6:
		w.insertArticle()
	case 7:
		docs := []any{}
		for range 1 + w.r.IntN(3) {
			id := primitive.NewObjectID()
			docs = append(docs, append(bson.D{{Key: "_id", Value: id}}, w.articleDoc()...))
			w.articles = append(w.articles, id)
		}
		w.do(w.coll("articles").InsertMany(ctx, docs))
	case 8, 9:
		w.do(w.coll("articles").UpdateOne(ctx, byID(w.pick(w.articles)), op("$push", "tagList", tag())))
	case 10, 11:
		w.do(w.coll("articles").UpdateOne(ctx, byID(w.pick(w.articles)), op("$pull", "tagList", tag())))
	case 12:
		w.do(w.coll("articles").UpdateOne(ctx, byID(w.pick(w.articles)), op("$addToSet", "tagList", tag())))
	case 13:
		w.do(w.coll("articles").UpdateOne(ctx, byID(w.pick(w.articles)), set("tagList", w.tags())))
	case 14:
		w.do(w.coll("articles").UpdateOne(ctx, byID(w.pick(w.articles)), op("$unset", "tagList", "")))
	case 15:
		w.do(w.coll("articles").UpdateOne(ctx, byID(w.pick(w.articles)), set("authorId", w.pick(w.users))))
	case 16:
		w.do(w.coll("articles").UpdateMany(ctx, bson.D{{Key: "authorId", Value: w.pick(w.users)}}, op("$addToSet", "tagList", tag())))
	case 17:
		w.do(w.coll("articles").UpdateMany(ctx, bson.D{{Key: "tagList", Value: tag()}}, op("$pull", "tagList", tag())))
	case 18:
		w.do(w.coll("articles").ReplaceOne(ctx, byID(w.pick(w.articles)), w.articleDoc()))
	case 19:
		// Read-modify-write that carries old derived fields and _sync back.
		var doc bson.D
		id := w.pick(w.articles)
		if err := w.coll("articles").FindOne(ctx, byID(id)).Decode(&doc); err == nil {
			for i := range doc {
				if doc[i].Key == "tagList" {
					doc[i].Value = w.tags()
				}
			}
			w.do(w.coll("articles").ReplaceOne(ctx, byID(id), doc))
		}
	case 20:
		w.do(w.coll("articles").DeleteOne(ctx, byID(w.pick(w.articles))))
	case 21:
		if w.r.IntN(4) == 0 {
			w.do(w.coll("articles").DeleteMany(ctx, bson.D{{Key: "tagList", Value: tag()}, {Key: "authorId", Value: w.pick(w.users)}}))
		}
	case 22:
		w.insertComment()
	case 23:
		w.do(w.coll("comments").UpdateOne(ctx, byID(w.pick(w.comments)), set("authorId", w.pick(w.users))))
	case 24:
		w.do(w.coll("comments").ReplaceOne(ctx, byID(w.pick(w.comments)), bson.D{{Key: "articleId", Value: w.pick(w.articles)}, {Key: "authorId", Value: w.pick(w.users)}, {Key: "body", Value: "r"}}))
	case 25:
		if w.r.IntN(2) == 0 {
			w.do(w.coll("comments").DeleteOne(ctx, byID(w.pick(w.comments))))
		} else {
			w.do(w.coll("comments").UpdateMany(ctx, bson.D{{Key: "articleId", Value: w.pick(w.articles)}}, set("body", "m")))
		}
	case 26, 27:
		w.insertFavorite()
	case 28:
		if w.r.IntN(2) == 0 {
			w.do(w.coll("favorites").DeleteOne(ctx, byID(w.pick(w.favorites))))
		} else {
			w.do(w.coll("favorites").DeleteMany(ctx, bson.D{{Key: "userId", Value: w.pick(w.users)}}))
		}
	case 29:
		var err error
		if w.r.IntN(2) == 0 {
			_, err = w.coll("favorites").UpdateOne(ctx, byID(w.pick(w.favorites)), set("articleId", w.pick(w.articles)))
		} else {
			_, err = w.coll("favorites").ReplaceOne(ctx, byID(w.pick(w.favorites)), bson.D{{Key: "userId", Value: w.pick(w.users)}, {Key: "articleId", Value: w.pick(w.articles)}})
		}
		if !mongo.IsDuplicateKeyError(err) {
			w.do(nil, err)
		}
	}
}

// deliverer plays a relay that delivers at least once, in any order across
// documents, in batches, some of them twice at once.
type deliverer struct {
	t        *testing.T
	e        *fixture.Env
	r        *rand.Rand
	handlers map[string]*sync.Handler
}

func eventKey(ev bson.Raw) string {
	coll, _ := ev.Lookup("ns", "coll").StringValueOK()
	return coll + "/" + ev.Lookup("documentKey", "_id").String()
}

// split keeps per-document order and returns, for each document, a random
// prefix of its events to deliver now and the rest for later.
func (d *deliverer) split(events []bson.Raw) (now, later []bson.Raw) {
	cut := map[string]bool{}
	for _, ev := range events {
		k := eventKey(ev)
		if !cut[k] && d.r.IntN(4) == 0 {
			cut[k] = true
		}
		if cut[k] {
			later = append(later, ev)
		} else {
			now = append(now, ev)
		}
	}
	return now, later
}

// deliver shuffles events across documents (keeping each document's
// order), adds duplicates, splits them into per-collection batches of
// random size and runs the batches a few at a time, concurrently, some of
// them twice at once.
func (d *deliverer) deliver(events []bson.Raw) {
	queues := map[string][]bson.Raw{}
	var keys []string
	for _, ev := range events {
		k := eventKey(ev)
		if _, ok := queues[k]; !ok {
			keys = append(keys, k)
		}
		queues[k] = append(queues[k], ev)
	}
	var order []bson.Raw
	for len(keys) > 0 {
		i := d.r.IntN(len(keys))
		k := keys[i]
		order = append(order, queues[k][0])
		queues[k] = queues[k][1:]
		if len(queues[k]) == 0 {
			keys = append(keys[:i], keys[i+1:]...)
		}
	}
	for i := 0; i < len(order); i++ {
		if d.r.IntN(8) == 0 { // a duplicate, delivered later
			j := i + 1 + d.r.IntN(len(order)-i)
			order = append(order[:j], append([]bson.Raw{order[i]}, order[j:]...)...)
			i++
		}
	}
	type batch struct {
		coll   string
		events []bson.Raw
		twice  bool
	}
	var batches []batch
	open := map[string]int{}
	for _, ev := range order {
		coll, _ := ev.Lookup("ns", "coll").StringValueOK()
		i, ok := open[coll]
		if !ok || len(batches[i].events) >= 1+d.r.IntN(12) {
			batches = append(batches, batch{coll: coll, twice: d.r.IntN(5) == 0})
			i = len(batches) - 1
			open[coll] = i
		}
		batches[i].events = append(batches[i].events, ev)
	}
	// Waves of up to 3 batches run concurrently; a batch of a collection
	// never overtakes an earlier batch of the same collection across waves.
	for start := 0; start < len(batches); {
		n := min(1+d.r.IntN(3), len(batches)-start)
		var wg gosync.WaitGroup
		for _, b := range batches[start : start+n] {
			runs := 1
			if b.twice {
				runs = 2
			}
			for range runs {
				wg.Add(1)
				go func() { defer wg.Done(); d.handle(b.coll, b.events) }()
			}
		}
		wg.Wait()
		start += n
	}
}

// handle delivers a batch and, like the relay, retries what failed.
func (d *deliverer) handle(coll string, events []bson.Raw) {
	for attempt := 0; len(events) > 0; attempt++ {
		if attempt == 5 {
			d.t.Errorf("%s: events still failing after %d attempts", coll, attempt)
			return
		}
		resp, err := d.handlers[coll].Handle(context.Background(), fixture.Payload(d.t, events...))
		if err != nil {
			continue // the whole batch again
		}
		events = failedOnly(events, resp)
	}
}

func failedOnly(events []bson.Raw, resp envelope.Response) []bson.Raw {
	failed := map[string]bool{}
	for _, f := range resp.BatchItemFailures {
		failed[f.ItemIdentifier] = true
	}
	var out []bson.Raw
	for _, ev := range events {
		if id, _ := envelope.EventID(ev); failed[id] {
			out = append(out, ev)
		}
	}
	return out
}
