package benchsuite

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/bson/primitive"
	"go.mongodb.org/mongo-driver/mongo"
	"go.mongodb.org/mongo-driver/mongo/options"

	"github.com/changerelay/changerelay/functions/derived"
	"github.com/changerelay/changerelay/infra/conduit"
)

// FenceCollection receives one marker document after a workload: when the
// tracker reads it, it has read every source write of the workload.
const FenceCollection = "_bench_fence"

// What a requirement waits for on one document.
type needKind uint8

const (
	needAuthor needKind = iota // _sync.authorVersion >= the source write's cluster time
	needFav                    // _sync.favVersion >= the source write's cluster time
	needShadow                 // a _sync.tags write after the source write (tags reconciled)
)

type docKey struct {
	coll byte // 'a' articles, 'c' comments
	id   primitive.ObjectID
}

// requirement is one source write and the derived writes that show it
// converged.
type requirement struct {
	start    time.Time // the source write's wallTime
	seq      int       // the source event's position in the run (1-based)
	label    string
	op       string
	pending  int
	resolved int
	last     time.Time // wallTime of the last derived write that met a need
}

type need struct {
	req *requirement
	ct  primitive.Timestamp
}

type docNeeds struct {
	byKind [3][]need // in change-log order, so by cluster time
}

// Tracker turns the change log of the database into write-to-converged
// latencies. It reads every event of the source collections (requirements)
// and of the functions' derived writes (which meet them) in commit order,
// so it needs no clock but the server's wallTime on both ends.
type Tracker struct {
	mu sync.Mutex

	authorDocs map[primitive.ObjectID]map[docKey]struct{} // user -> its articles and comments
	docAuthor  map[docKey]primitive.ObjectID
	favArticle map[primitive.ObjectID]primitive.ObjectID // favorite -> article
	docs       map[docKey]*docNeeds
	gone       map[docKey]bool // deleted articles and comments (ids are never reused)
	openSet    map[*requirement]struct{}

	latencies      []time.Duration
	labels         []string
	open           int // requirements with needs left
	sourceEvents   int
	derivedEvents  int
	untracked      int // source events with no derived field to watch
	dropped        int // requirements whose targets were all deleted first
	firstSource    time.Time
	lastSource     time.Time
	lastResolve    time.Time
	lastDerived    time.Time
	lastProgress   time.Time
	fenceSeen      string
	lastEventWall  time.Time
	watchErr       error
	eventsReadRaw  int
	nonObjectIDDoc int
}

// NewTracker starts from the source state of ds (as seeded): who wrote
// which article and comment, and which article each favorite is for.
func NewTracker(ds *conduit.Dataset) *Tracker {
	t := &Tracker{
		authorDocs: map[primitive.ObjectID]map[docKey]struct{}{},
		docAuthor:  map[docKey]primitive.ObjectID{},
		favArticle: make(map[primitive.ObjectID]primitive.ObjectID, len(ds.Favorites)),
		docs:       map[docKey]*docNeeds{},
		gone:       map[docKey]bool{},
		openSet:    map[*requirement]struct{}{},
	}
	for _, a := range ds.Articles {
		t.setAuthor(docKey{'a', a.ID}, a.AuthorID, true)
	}
	for _, c := range ds.Comments {
		t.setAuthor(docKey{'c', c.ID}, c.AuthorID, true)
	}
	for _, f := range ds.Favorites {
		t.favArticle[f.ID] = f.ArticleID
	}
	return t
}

// Watch tails the database from start until ctx ends, feeding the
// tracker. It returns when the stream fails or ctx ends.
func (t *Tracker) Watch(ctx context.Context, db *mongo.Database, start primitive.Timestamp) error {
	colls := bson.A{conduit.CollUsers, conduit.CollArticles, conduit.CollComments, conduit.CollFavorites, FenceCollection}
	pipeline := mongo.Pipeline{{{Key: "$match", Value: bson.D{{Key: "ns.coll", Value: bson.D{{Key: "$in", Value: colls}}}}}}}
	opts := options.ChangeStream().SetStartAtOperationTime(&start).SetBatchSize(2000).SetMaxAwaitTime(200 * time.Millisecond)
	cs, err := db.Watch(ctx, pipeline, opts)
	if err != nil {
		return fmt.Errorf("tracker: watch: %w", err)
	}
	defer cs.Close(context.WithoutCancel(ctx))
	for cs.Next(ctx) {
		t.Observe(cs.Current)
	}
	if err := cs.Err(); err != nil && ctx.Err() == nil {
		t.mu.Lock()
		t.watchErr = err
		t.mu.Unlock()
		return fmt.Errorf("tracker: %w", err)
	}
	return nil
}

// Observe feeds one change event (in commit order).
func (t *Tracker) Observe(ev bson.Raw) {
	coll, _ := ev.Lookup("ns", "coll").StringValueOK()
	op, _ := ev.Lookup("operationType").StringValueOK()
	ct, _, _ := timestampOf(ev.Lookup("clusterTime"))
	wall := ev.Lookup("wallTime").Time()
	t.mu.Lock()
	defer t.mu.Unlock()
	t.eventsReadRaw++
	t.lastEventWall = wall
	if coll == FenceCollection {
		if op == "insert" {
			t.fenceSeen, _ = ev.Lookup("fullDocument", "name").StringValueOK()
		}
		return
	}
	id, ok := ev.Lookup("documentKey", "_id").ObjectIDOK()
	if !ok {
		t.nonObjectIDDoc++
		return
	}
	if op == "update" && (coll == conduit.CollArticles || coll == conduit.CollComments) && derived.OnlyDerived(coll, ev) {
		t.derivedEvents++
		t.lastDerived = wall
		t.derivedWrite(docKey{coll[0], id}, ev.Lookup("updateDescription", "updatedFields"), ct, wall)
		return
	}
	if op == "update" && derived.OnlyDerived(coll, ev) {
		return // bookkeeping on users or favorites: not a source write
	}
	t.sourceEvents++
	if t.firstSource.IsZero() {
		t.firstSource = wall
	}
	t.lastSource = wall
	req := &requirement{start: wall, op: op, seq: t.sourceEvents}
	var targets []docKey
	var kinds []needKind
	add := func(k docKey, kind needKind) {
		if t.gone[k] {
			return // deleted before this write: nothing will be written to it
		}
		targets = append(targets, k)
		kinds = append(kinds, kind)
	}
	switch coll {
	case conduit.CollFavorites:
		req.label = "favorite"
		var articles []primitive.ObjectID
		old, hadOld := t.favArticle[id]
		switch op {
		case "insert", "replace":
			if a, ok := ev.Lookup("fullDocument", "articleId").ObjectIDOK(); ok {
				t.favArticle[id] = a
				articles = append(articles, a)
			}
			if op == "replace" && hadOld {
				articles = append(articles, old)
			}
		case "delete":
			delete(t.favArticle, id)
			if hadOld {
				articles = append(articles, old)
			}
		case "update":
			if a, ok := ev.Lookup("updateDescription", "updatedFields", "articleId").ObjectIDOK(); ok {
				t.favArticle[id] = a
				articles = append(articles, a)
				if hadOld {
					articles = append(articles, old)
				}
			}
		}
		slices.SortFunc(articles, func(a, b primitive.ObjectID) int { return strings.Compare(a.Hex(), b.Hex()) })
		for _, a := range slices.Compact(articles) {
			add(docKey{'a', a}, needFav)
		}
	case conduit.CollUsers:
		req.label = "user"
		if op != "update" || touchesProfile(ev) {
			for k := range t.authorDocs[id] {
				add(k, needAuthor)
			}
		}
	case conduit.CollArticles, conduit.CollComments:
		k := docKey{coll[0], id}
		req.label = coll[:len(coll)-1]
		switch op {
		case "insert", "replace":
			if a, ok := ev.Lookup("fullDocument", "authorId").ObjectIDOK(); ok {
				t.setAuthor(k, a, true)
			} else {
				t.setAuthor(k, primitive.NilObjectID, false)
			}
			add(k, needAuthor)
			if coll == conduit.CollArticles {
				add(k, needFav)
				add(k, needShadow)
			}
		case "update":
			upd := ev.Lookup("updateDescription", "updatedFields")
			if v := upd.Document().Lookup("authorId"); v.Type != 0 {
				a, ok := v.ObjectIDOK()
				t.setAuthor(k, a, ok)
				add(k, needAuthor)
			} else if removed(ev, "authorId") {
				t.setAuthor(k, primitive.NilObjectID, false)
				add(k, needAuthor)
			}
		case "delete":
			t.gone[k] = true
			t.dropDoc(k, wall)
			t.setAuthor(k, primitive.NilObjectID, false)
		}
	}
	if len(targets) == 0 {
		t.untracked++
		return
	}
	req.pending = len(targets)
	t.open++
	t.openSet[req] = struct{}{}
	for i, k := range targets {
		d := t.docs[k]
		if d == nil {
			d = &docNeeds{}
			t.docs[k] = d
		}
		d.byKind[kinds[i]] = append(d.byKind[kinds[i]], need{req: req, ct: ct})
	}
}

// derivedWrite meets the needs a function's write of derived fields shows.
func (t *Tracker) derivedWrite(k docKey, updated bson.RawValue, ct primitive.Timestamp, wall time.Time) {
	d := t.docs[k]
	if d == nil {
		return
	}
	av, fv, shadow := syncStamps(updated.Document())
	if av != nil {
		d.byKind[needAuthor] = t.meet(d.byKind[needAuthor], func(n need) bool { return !n.ct.After(*av) }, wall)
	}
	if fv != nil {
		d.byKind[needFav] = t.meet(d.byKind[needFav], func(n need) bool { return !n.ct.After(*fv) }, wall)
	}
	if shadow {
		d.byKind[needShadow] = t.meet(d.byKind[needShadow], func(n need) bool { return n.ct.Before(ct) }, wall)
	}
	if len(d.byKind[0])+len(d.byKind[1])+len(d.byKind[2]) == 0 {
		delete(t.docs, k)
	}
}

// meet removes the leading needs that ok accepts (they are in cluster
// time order) and settles their requirements.
func (t *Tracker) meet(ns []need, ok func(need) bool, wall time.Time) []need {
	i := 0
	for ; i < len(ns) && ok(ns[i]); i++ {
		r := ns[i].req
		r.pending--
		r.resolved++
		if wall.After(r.last) {
			r.last = wall
		}
		t.lastProgress = wall
		if r.pending == 0 {
			t.settle(r)
		}
	}
	return ns[i:]
}

func (t *Tracker) settle(r *requirement) {
	t.open--
	delete(t.openSet, r)
	if r.resolved == 0 {
		t.dropped++
		return
	}
	lat := r.last.Sub(r.start)
	if lat < 0 {
		lat = 0
	}
	t.latencies = append(t.latencies, lat)
	t.labels = append(t.labels, r.label)
	if r.last.After(t.lastResolve) {
		t.lastResolve = r.last
	}
}

// dropDoc forgets a deleted document's needs: nothing will be written to it.
func (t *Tracker) dropDoc(k docKey, wall time.Time) {
	d := t.docs[k]
	if d == nil {
		return
	}
	delete(t.docs, k)
	for _, ns := range d.byKind {
		for _, n := range ns {
			n.req.pending--
			if n.req.pending == 0 {
				t.settle(n.req)
			}
		}
	}
}

func (t *Tracker) setAuthor(k docKey, user primitive.ObjectID, has bool) {
	if old, ok := t.docAuthor[k]; ok {
		delete(t.authorDocs[old], k)
		delete(t.docAuthor, k)
	}
	if !has {
		return
	}
	m := t.authorDocs[user]
	if m == nil {
		m = map[docKey]struct{}{}
		t.authorDocs[user] = m
	}
	m[k] = struct{}{}
	t.docAuthor[k] = user
}

// syncStamps reads the version stamps of a derived write's updatedFields,
// whether the server reports "_sync.x" paths or a whole "_sync" document.
func syncStamps(upd bson.Raw) (author, fav *primitive.Timestamp, shadow bool) {
	elems, _ := upd.Elements()
	for _, e := range elems {
		key := e.Key()
		switch {
		case key == "_sync":
			sub, ok := e.Value().DocumentOK()
			if !ok {
				continue
			}
			if ts, _, ok := timestampOf(sub.Lookup("authorVersion")); ok {
				author = &ts
			}
			if ts, _, ok := timestampOf(sub.Lookup("favVersion")); ok {
				fav = &ts
			}
			if sub.Lookup("tags").Type != 0 {
				shadow = true
			}
		case key == "_sync.authorVersion":
			if ts, _, ok := timestampOf(e.Value()); ok {
				author = &ts
			}
		case key == "_sync.favVersion":
			if ts, _, ok := timestampOf(e.Value()); ok {
				fav = &ts
			}
		case key == "_sync.tags" || strings.HasPrefix(key, "_sync.tags."):
			shadow = true
		}
	}
	return author, fav, shadow
}

func timestampOf(v bson.RawValue) (primitive.Timestamp, bool, bool) {
	t, i, ok := v.TimestampOK()
	return primitive.Timestamp{T: t, I: i}, true, ok
}

var profileFields = []string{"username", "bio", "image"}

func touchesProfile(ev bson.Raw) bool {
	for _, f := range profileFields {
		if ev.Lookup("updateDescription", "updatedFields", f).Type != 0 || removed(ev, f) {
			return true
		}
	}
	upd, _ := ev.Lookup("updateDescription", "updatedFields").DocumentOK()
	elems, _ := upd.Elements()
	for _, e := range elems {
		for _, f := range profileFields {
			if strings.HasPrefix(e.Key(), f+".") {
				return true
			}
		}
	}
	return false
}

func removed(ev bson.Raw, field string) bool {
	arr, ok := ev.Lookup("updateDescription", "removedFields").ArrayOK()
	if !ok {
		return false
	}
	vals, _ := arr.Values()
	for _, v := range vals {
		if s, ok := v.StringValueOK(); ok && (s == field || strings.HasPrefix(s, field+".")) {
			return true
		}
	}
	return false
}

// Progress is a snapshot of the tracker.
type Progress struct {
	SourceEvents  int
	DerivedEvents int
	Open          int
	Resolved      int
	Untracked     int
	Dropped       int
	FirstSource   time.Time
	LastSource    time.Time
	LastResolve   time.Time
	LastDerived   time.Time
	LastProgress  time.Time
	LastEventWall time.Time
	Fence         string
	Err           error
}

// Progress returns the counters so far.
func (t *Tracker) Progress() Progress {
	t.mu.Lock()
	defer t.mu.Unlock()
	return Progress{SourceEvents: t.sourceEvents, DerivedEvents: t.derivedEvents, Open: t.open,
		Resolved: len(t.latencies), Untracked: t.untracked, Dropped: t.dropped,
		FirstSource: t.firstSource, LastSource: t.lastSource, LastResolve: t.lastResolve, LastDerived: t.lastDerived,
		LastProgress: t.lastProgress, LastEventWall: t.lastEventWall, Fence: t.fenceSeen, Err: t.watchErr}
}

// Latencies returns the write-to-converged latencies settled so far and
// the label (source collection) of each.
func (t *Tracker) Latencies() ([]time.Duration, []string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return slices.Clone(t.latencies), slices.Clone(t.labels)
}

// OldestOpen is the position (1-based, among the source events) of the
// oldest write not converged yet, 0 when none is open: the events before
// it are taken as processed when a run times out.
func (t *Tracker) OldestOpen() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	oldest := 0
	for r := range t.openSet {
		if oldest == 0 || r.seq < oldest {
			oldest = r.seq
		}
	}
	return oldest
}

// OpenSummary counts the needs still open by source write and kind, for
// diagnosing writes that never showed a derived write.
func (t *Tracker) OpenSummary() map[string]int {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := map[string]int{}
	names := [3]string{"authorVersion", "favVersion", "tags shadow"}
	for _, d := range t.docs {
		for kind, ns := range d.byKind {
			for _, n := range ns {
				out[n.req.label+"."+n.req.op+" waits for "+names[kind]]++
			}
		}
	}
	return out
}

// ErrNotConverged is returned when requirements are still open at the
// deadline.
var ErrNotConverged = errors.New("not converged")
