package conduit

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/bson/bsontype"
	"go.mongodb.org/mongo-driver/mongo"
	"go.mongodb.org/mongo-driver/mongo/options"
)

// MaxExamples is how many mismatches a report describes per invariant.
const MaxExamples = 5

// InvariantReport is the outcome of checking one invariant.
type InvariantReport struct {
	Name       string   // "I1" .. "I4"
	What       string   // what was checked, in words
	Checked    int      // documents (tags: tag names) checked
	Mismatched int      // of which differ from the recomputation
	Examples   []string // up to MaxExamples mismatches, described
}

// Report is the outcome of Check.
type Report struct {
	I1, I2, I3, I4 InvariantReport
}

// Invariants returns the four reports in order.
func (r Report) Invariants() []InvariantReport {
	return []InvariantReport{r.I1, r.I2, r.I3, r.I4}
}

// Mismatched is the total number of mismatches (the drift).
func (r Report) Mismatched() int {
	return r.I1.Mismatched + r.I2.Mismatched + r.I3.Mismatched + r.I4.Mismatched
}

// OK reports whether every invariant holds.
func (r Report) OK() bool { return r.Mismatched() == 0 }

// Summary is a one-line rendering: "I1 0/2000 I2 3/9000 ...".
func (r Report) Summary() string {
	parts := make([]string, 0, 4)
	for _, inv := range r.Invariants() {
		parts = append(parts, fmt.Sprintf("%s %d/%d", inv.Name, inv.Mismatched, inv.Checked))
	}
	return strings.Join(parts, "  ")
}

// String renders the report with its examples.
func (r Report) String() string {
	var b strings.Builder
	for _, inv := range r.Invariants() {
		fmt.Fprintf(&b, "%s %-40s checked %7d  mismatched %d\n", inv.Name, inv.What, inv.Checked, inv.Mismatched)
		for _, ex := range inv.Examples {
			fmt.Fprintf(&b, "    %s\n", ex)
		}
	}
	return b.String()
}

func (inv *InvariantReport) mismatch(format string, args ...any) {
	inv.Mismatched++
	if len(inv.Examples) < MaxExamples {
		inv.Examples = append(inv.Examples, fmt.Sprintf(format, args...))
	}
}

// Check recomputes the derived data of db from its source collections, as
// DATA_MODEL.md defines it, and compares it with what is stored. It reads
// the collections one after the other without a snapshot, so it is
// meaningful once writes have stopped; while they go on it measures drift.
//
// Rules, straight from the contract:
//   - I1/I2: author is a document with exactly the keys username, bio and
//     image, each equal (same BSON type and value) to the user's field, a
//     missing field as null; null when the user does not exist. A missing
//     author field is a mismatch.
//   - I3: favoritesCount is a number equal to the count of favorites with
//     that articleId; a missing favoritesCount is a mismatch.
//   - I4: the tags collection holds exactly one {_id: tag, count: n} per tag
//     in use, n the number of distinct articles listing it, no zero counts.
//     Only string elements of array tagLists are tags: a tagList of another
//     type, which the contract does not allow, contributes none.
//
// Fields named _sync, and collections whose names start with "_", are the
// project's bookkeeping and are ignored.
func Check(ctx context.Context, db *mongo.Database) (Report, error) {
	rep := Report{
		I1: InvariantReport{Name: "I1", What: "articles.author = projection of user"},
		I2: InvariantReport{Name: "I2", What: "comments.author = projection of user"},
		I3: InvariantReport{Name: "I3", What: "articles.favoritesCount = count"},
		I4: InvariantReport{Name: "I4", What: "tags = distinct-per-article counts"},
	}

	authors := map[string]bson.Raw{} // user _id key -> projection
	err := scan(ctx, db.Collection(CollUsers), bson.D{{Key: "username", Value: 1}, {Key: "bio", Value: 1}, {Key: "image", Value: 1}},
		func(doc bson.Raw) {
			authors[idKey(doc.Lookup("_id"))] = projection(doc)
		})
	if err != nil {
		return rep, err
	}

	favorites := map[string]int64{}
	err = scan(ctx, db.Collection(CollFavorites), bson.D{{Key: "articleId", Value: 1}}, func(doc bson.Raw) {
		if v, err := doc.LookupErr("articleId"); err == nil {
			favorites[idKey(v)]++
		}
	})
	if err != nil {
		return rep, err
	}

	tagCounts := map[string]int64{}
	err = scan(ctx, db.Collection(CollArticles), bson.D{{Key: "authorId", Value: 1}, {Key: "author", Value: 1}, {Key: "favoritesCount", Value: 1}, {Key: "tagList", Value: 1}},
		func(doc bson.Raw) {
			id := doc.Lookup("_id")
			checkAuthor(&rep.I1, "article", id, doc, authors)

			rep.I3.Checked++
			want := favorites[idKey(id)]
			got, err := doc.LookupErr("favoritesCount")
			if err != nil {
				rep.I3.mismatch("article %s: favoritesCount missing, want %d", id, want)
			} else if n, ok := asInt(got); !ok || n != want {
				rep.I3.mismatch("article %s: favoritesCount %s, want %d", id, got, want)
			}

			for _, t := range articleTags(doc) {
				tagCounts[t]++
			}
		})
	if err != nil {
		return rep, err
	}

	err = scan(ctx, db.Collection(CollComments), bson.D{{Key: "authorId", Value: 1}, {Key: "author", Value: 1}},
		func(doc bson.Raw) {
			checkAuthor(&rep.I2, "comment", doc.Lookup("_id"), doc, authors)
		})
	if err != nil {
		return rep, err
	}

	seen := map[string]bool{}
	err = scan(ctx, db.Collection(CollTags), bson.D{{Key: "count", Value: 1}}, func(doc bson.Raw) {
		rep.I4.Checked++
		idv := doc.Lookup("_id")
		name, ok := idv.StringValueOK()
		if !ok {
			rep.I4.mismatch("tags: document with non-string _id %s", idv)
			return
		}
		seen[name] = true
		want := tagCounts[name]
		got, err := doc.LookupErr("count")
		switch {
		case want == 0:
			rep.I4.mismatch("tags %q: count %s, but no article lists it (want no document)", name, got)
		case err != nil:
			rep.I4.mismatch("tags %q: count missing, want %d", name, want)
		default:
			if n, ok := asInt(got); !ok || n != want {
				rep.I4.mismatch("tags %q: count %s, want %d", name, got, want)
			}
		}
	})
	if err != nil {
		return rep, err
	}
	missing := make([]string, 0)
	for name := range tagCounts {
		if !seen[name] {
			missing = append(missing, name)
		}
	}
	sort.Strings(missing)
	for _, name := range missing {
		rep.I4.Checked++
		rep.I4.mismatch("tags %q: no document, want count %d", name, tagCounts[name])
	}
	return rep, nil
}

// scan streams every document of coll with the given projection.
func scan(ctx context.Context, coll *mongo.Collection, proj bson.D, fn func(bson.Raw)) error {
	cur, err := coll.Find(ctx, bson.D{}, options.Find().SetProjection(proj).SetBatchSize(5000))
	if err != nil {
		return fmt.Errorf("check: read %s: %w", coll.Name(), err)
	}
	defer cur.Close(ctx)
	for cur.Next(ctx) {
		fn(cur.Current)
	}
	if err := cur.Err(); err != nil {
		return fmt.Errorf("check: read %s: %w", coll.Name(), err)
	}
	return nil
}

// idKey turns an _id of any BSON type into a map key.
func idKey(v bson.RawValue) string {
	return string(rune(v.Type)) + string(v.Value)
}

// projection renders {username, bio, image} of a user document, a missing
// key as null.
func projection(user bson.Raw) bson.Raw {
	d := bson.D{}
	for _, k := range authorKeys {
		if v, err := user.LookupErr(k); err == nil {
			d = append(d, bson.E{Key: k, Value: v})
		} else {
			d = append(d, bson.E{Key: k, Value: nil})
		}
	}
	raw, _ := bson.Marshal(d)
	return raw
}

var authorKeys = []string{"username", "bio", "image"}

func checkAuthor(inv *InvariantReport, what string, id bson.RawValue, doc bson.Raw, authors map[string]bson.Raw) {
	inv.Checked++
	want, userExists := bson.Raw(nil), false
	if aid, err := doc.LookupErr("authorId"); err == nil {
		want, userExists = authors[idKey(aid)]
	}
	got, err := doc.LookupErr("author")
	if err != nil {
		inv.mismatch("%s %s: author missing, want %s", what, id, describe(want, userExists))
		return
	}
	if !userExists {
		if got.Type != bsontype.Null {
			inv.mismatch("%s %s: author %s, want null (no such user)", what, id, got)
		}
		return
	}
	if !sameAuthor(got, want) {
		inv.mismatch("%s %s: author %s, want %s", what, id, got, want)
	}
}

func describe(want bson.Raw, exists bool) string {
	if !exists {
		return "null"
	}
	return want.String()
}

// sameAuthor compares an author copy with the wanted projection: exactly the
// three keys (a _sync key aside), each the same BSON value.
func sameAuthor(got bson.RawValue, want bson.Raw) bool {
	doc, ok := got.DocumentOK()
	if !ok {
		return false
	}
	elems, err := doc.Elements()
	if err != nil {
		return false
	}
	n := 0
	for _, e := range elems {
		if e.Key() == SyncField {
			continue
		}
		n++
		w, err := want.LookupErr(e.Key())
		if err != nil || !sameValue(e.Value(), w) {
			return false
		}
	}
	return n == len(authorKeys)
}

func sameValue(a, b bson.RawValue) bool {
	return a.Type == b.Type && string(a.Value) == string(b.Value)
}

// asInt reads an integral number of any BSON numeric type.
func asInt(v bson.RawValue) (int64, bool) {
	switch v.Type {
	case bsontype.Int32:
		return int64(v.Int32()), true
	case bsontype.Int64:
		return v.Int64(), true
	case bsontype.Double:
		f := v.Double()
		if f == float64(int64(f)) {
			return int64(f), true
		}
	}
	return 0, false
}

// articleTags returns the distinct string tags of an article's tagList.
func articleTags(doc bson.Raw) []string {
	v, err := doc.LookupErr("tagList")
	if err != nil {
		return nil
	}
	arr, ok := v.ArrayOK()
	if !ok {
		return nil
	}
	vals, err := arr.Values()
	if err != nil {
		return nil
	}
	seen := map[string]bool{}
	var out []string
	for _, e := range vals {
		if s, ok := e.StringValueOK(); ok && !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}
