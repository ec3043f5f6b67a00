package conduit_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/bson/primitive"
	"go.mongodb.org/mongo-driver/mongo"

	"github.com/changerelay/changerelay/infra/conduit"
	"github.com/changerelay/changerelay/infra/mongotest"
)

// handBuilt holds the IDs of a small converged database written document by
// document, with the contract's corner cases.
type handBuilt struct {
	u1, u2, u3, ghost  primitive.ObjectID
	a1, a2, a3, a4, a5 primitive.ObjectID
	c1, c2, c3         primitive.ObjectID
}

func oid(n byte) primitive.ObjectID {
	var id primitive.ObjectID
	id[0], id[11] = 0x65, n
	return id
}

func author(username, bio, image any) bson.D {
	return bson.D{{Key: "username", Value: username}, {Key: "bio", Value: bio}, {Key: "image", Value: image}}
}

// buildConverged writes a converged database by hand:
//   - u1 has every field; u2 has bio null and no image; u3 only a username;
//     ghost does not exist;
//   - a1 lists "go" twice (counted once) and has a _sync field and an int32
//     count; a3's author is a missing user (null) and its count a double;
//     a4 has a non-array tagList; a5 has no tagList and a _sync key in its
//     author copy;
//   - a favorite of a deleted article, a tag document with a _sync field and
//     a _relay collection, all of which Check ignores.
func buildConverged(t *testing.T, db *mongo.Database) handBuilt {
	t.Helper()
	ctx := context.Background()
	h := handBuilt{u1: oid(1), u2: oid(2), u3: oid(3), ghost: oid(4),
		a1: oid(11), a2: oid(12), a3: oid(13), a4: oid(14), a5: oid(15),
		c1: oid(21), c2: oid(22), c3: oid(23)}
	insert := func(coll string, docs ...any) {
		_, err := db.Collection(coll).InsertMany(ctx, docs)
		require.NoError(t, err, coll)
	}
	insert(conduit.CollUsers,
		bson.D{{Key: "_id", Value: h.u1}, {Key: "username", Value: "ann"}, {Key: "email", Value: "ann@x"}, {Key: "bio", Value: "hi"}, {Key: "image", Value: "ann.png"}},
		bson.D{{Key: "_id", Value: h.u2}, {Key: "username", Value: "bob"}, {Key: "email", Value: "bob@x"}, {Key: "bio", Value: nil}},
		bson.D{{Key: "_id", Value: h.u3}, {Key: "username", Value: "cat"}},
	)
	insert(conduit.CollArticles,
		bson.D{{Key: "_id", Value: h.a1}, {Key: "slug", Value: "a1"}, {Key: "tagList", Value: bson.A{"go", "db", "go"}}, {Key: "authorId", Value: h.u1},
			{Key: "author", Value: author("ann", "hi", "ann.png")}, {Key: "favoritesCount", Value: int32(2)}, {Key: "_sync", Value: bson.D{{Key: "v", Value: 5}}}},
		bson.D{{Key: "_id", Value: h.a2}, {Key: "slug", Value: "a2"}, {Key: "tagList", Value: bson.A{"db"}}, {Key: "authorId", Value: h.u2},
			{Key: "author", Value: author("bob", nil, nil)}, {Key: "favoritesCount", Value: int64(0)}},
		bson.D{{Key: "_id", Value: h.a3}, {Key: "slug", Value: "a3"}, {Key: "tagList", Value: bson.A{}}, {Key: "authorId", Value: h.ghost},
			{Key: "author", Value: nil}, {Key: "favoritesCount", Value: 1.0}},
		bson.D{{Key: "_id", Value: h.a4}, {Key: "slug", Value: "a4"}, {Key: "tagList", Value: "not-an-array"}, {Key: "authorId", Value: h.u3},
			{Key: "author", Value: author("cat", nil, nil)}, {Key: "favoritesCount", Value: 0}},
		bson.D{{Key: "_id", Value: h.a5}, {Key: "slug", Value: "a5"}, {Key: "authorId", Value: h.u3},
			{Key: "author", Value: append(author("cat", nil, nil), bson.E{Key: "_sync", Value: 1})}, {Key: "favoritesCount", Value: 0}},
	)
	insert(conduit.CollComments,
		bson.D{{Key: "_id", Value: h.c1}, {Key: "articleId", Value: h.a1}, {Key: "authorId", Value: h.u2}, {Key: "author", Value: author("bob", nil, nil)}},
		bson.D{{Key: "_id", Value: h.c2}, {Key: "articleId", Value: h.a2}, {Key: "authorId", Value: h.ghost}, {Key: "author", Value: nil}},
		bson.D{{Key: "_id", Value: h.c3}, {Key: "articleId", Value: h.a2}, {Key: "authorId", Value: h.u1}, {Key: "author", Value: author("ann", "hi", "ann.png")},
			{Key: "_sync", Value: bson.D{{Key: "author", Value: "whatever"}}}},
	)
	insert(conduit.CollFavorites,
		bson.D{{Key: "_id", Value: oid(31)}, {Key: "userId", Value: h.u2}, {Key: "articleId", Value: h.a1}},
		bson.D{{Key: "_id", Value: oid(32)}, {Key: "userId", Value: h.u3}, {Key: "articleId", Value: h.a1}},
		bson.D{{Key: "_id", Value: oid(33)}, {Key: "userId", Value: h.u1}, {Key: "articleId", Value: h.a3}},
		bson.D{{Key: "_id", Value: oid(34)}, {Key: "userId", Value: h.u1}, {Key: "articleId", Value: oid(99)}},
	)
	insert(conduit.CollTags,
		bson.D{{Key: "_id", Value: "go"}, {Key: "count", Value: 1}},
		bson.D{{Key: "_id", Value: "db"}, {Key: "count", Value: int64(2)}, {Key: "_sync", Value: "x"}},
	)
	insert("_relay_checkpoints", bson.D{{Key: "_id", Value: "articles"}, {Key: "token", Value: "junk"}})
	return h
}

func TestCheckPassesOnHandBuiltConvergedDB(t *testing.T) {
	db := mongotest.Database(t)
	buildConverged(t, db)

	rep, err := conduit.Check(context.Background(), db)
	require.NoError(t, err)
	assert.True(t, rep.OK(), rep.String())
	assert.Equal(t, 5, rep.I1.Checked)
	assert.Equal(t, 3, rep.I2.Checked)
	assert.Equal(t, 5, rep.I3.Checked)
	assert.Equal(t, 2, rep.I4.Checked)
}

func TestCheckDetectsDrift(t *testing.T) {
	type mutation func(t *testing.T, db *mongo.Database, h handBuilt)
	update := func(coll string, id func(handBuilt) any, upd bson.D) mutation {
		return func(t *testing.T, db *mongo.Database, h handBuilt) {
			res, err := db.Collection(coll).UpdateOne(context.Background(), bson.D{{Key: "_id", Value: id(h)}}, upd)
			require.NoError(t, err)
			require.Equal(t, int64(1), res.MatchedCount)
		}
	}
	insert := func(coll string, doc func(handBuilt) bson.D) mutation {
		return func(t *testing.T, db *mongo.Database, h handBuilt) {
			_, err := db.Collection(coll).InsertOne(context.Background(), doc(h))
			require.NoError(t, err)
		}
	}
	del := func(coll string, id func(handBuilt) any) mutation {
		return func(t *testing.T, db *mongo.Database, h handBuilt) {
			res, err := db.Collection(coll).DeleteOne(context.Background(), bson.D{{Key: "_id", Value: id(h)}})
			require.NoError(t, err)
			require.Equal(t, int64(1), res.DeletedCount)
		}
	}
	set := func(k string, v any) bson.D { return bson.D{{Key: "$set", Value: bson.D{{Key: k, Value: v}}}} }
	unset := func(k string) bson.D { return bson.D{{Key: "$unset", Value: bson.D{{Key: k, Value: ""}}}} }
	a1 := func(h handBuilt) any { return h.a1 }
	a2 := func(h handBuilt) any { return h.a2 }
	a3 := func(h handBuilt) any { return h.a3 }
	a4 := func(h handBuilt) any { return h.a4 }
	c1 := func(h handBuilt) any { return h.c1 }
	c3 := func(h handBuilt) any { return h.c3 }
	tag := func(name string) func(handBuilt) any { return func(handBuilt) any { return name } }

	tests := []struct {
		name   string
		mutate mutation
		want   map[string]int // invariant -> mismatches
	}{
		{"stale username in article", update(conduit.CollArticles, a1, set("author.username", "old")), map[string]int{"I1": 1}},
		{"article author missing", update(conduit.CollArticles, a2, unset("author")), map[string]int{"I1": 1}},
		{"article author with an extra key", update(conduit.CollArticles, a1, set("author.email", "ann@x")), map[string]int{"I1": 1}},
		{"article author missing a key instead of null", update(conduit.CollArticles, a2, unset("author.image")), map[string]int{"I1": 1}},
		{"article author with a wrong type", update(conduit.CollArticles, a1, set("author.username", 7)), map[string]int{"I1": 1}},
		{"article author not null for a missing user", update(conduit.CollArticles, a3, set("author", author("ghost", nil, nil))), map[string]int{"I1": 1}},
		{"article author null for an existing user", update(conduit.CollArticles, a4, set("author", nil)), map[string]int{"I1": 1}},
		{"article moved to another author", update(conduit.CollArticles, a1, set("authorId", oid(2))), map[string]int{"I1": 1}},
		{"stale comment author", update(conduit.CollComments, c1, set("author.bio", "stale")), map[string]int{"I2": 1}},
		{"comment author missing", update(conduit.CollComments, c3, unset("author")), map[string]int{"I2": 1}},
		{"user renamed, copies stale", update(conduit.CollUsers, func(h handBuilt) any { return h.u2 }, set("username", "bobby")), map[string]int{"I1": 1, "I2": 1}},
		{"user gained an image", update(conduit.CollUsers, func(h handBuilt) any { return h.u3 }, set("image", "cat.png")), map[string]int{"I1": 2}},
		{"user deleted, copies stale", del(conduit.CollUsers, func(h handBuilt) any { return h.u1 }), map[string]int{"I1": 1, "I2": 1}},
		{"wrong favoritesCount", update(conduit.CollArticles, a1, set("favoritesCount", 3)), map[string]int{"I3": 1}},
		{"favoritesCount missing", update(conduit.CollArticles, a2, unset("favoritesCount")), map[string]int{"I3": 1}},
		{"favoritesCount of a wrong type", update(conduit.CollArticles, a2, set("favoritesCount", "0")), map[string]int{"I3": 1}},
		{"favorite not counted", insert(conduit.CollFavorites, func(h handBuilt) bson.D {
			return bson.D{{Key: "userId", Value: h.u1}, {Key: "articleId", Value: h.a2}}
		}), map[string]int{"I3": 1}},
		{"wrong tag count", update(conduit.CollTags, tag("go"), set("count", 2)), map[string]int{"I4": 1}},
		{"tag document missing", del(conduit.CollTags, tag("db")), map[string]int{"I4": 1}},
		{"extra tag document", insert(conduit.CollTags, func(handBuilt) bson.D {
			return bson.D{{Key: "_id", Value: "rust"}, {Key: "count", Value: 1}}
		}), map[string]int{"I4": 1}},
		{"zero tag document", insert(conduit.CollTags, func(handBuilt) bson.D {
			return bson.D{{Key: "_id", Value: "rust"}, {Key: "count", Value: 0}}
		}), map[string]int{"I4": 1}},
		{"tag pushed, not counted", update(conduit.CollArticles, a2, bson.D{{Key: "$push", Value: bson.D{{Key: "tagList", Value: "go"}}}}), map[string]int{"I4": 1}},
		{"tag pulled, not counted", update(conduit.CollArticles, a1, bson.D{{Key: "$pull", Value: bson.D{{Key: "tagList", Value: "go"}}}}), map[string]int{"I4": 1}},
		{"article deleted, counts stale", del(conduit.CollArticles, a1), map[string]int{"I4": 2}},
		// Bookkeeping is ignored.
		{"_sync changed", update(conduit.CollArticles, a2, set("_sync", bson.D{{Key: "v", Value: 9}})), nil},
		{"_relay collection changed", insert("_relay_deadletters", func(handBuilt) bson.D { return bson.D{{Key: "x", Value: 1}} }), nil},
		{"tag listed twice more", update(conduit.CollArticles, a1, bson.D{{Key: "$push", Value: bson.D{{Key: "tagList", Value: "db"}}}}), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db := mongotest.Database(t)
			h := buildConverged(t, db)
			tt.mutate(t, db, h)

			rep, err := conduit.Check(context.Background(), db)
			require.NoError(t, err)
			got := map[string]int{}
			for _, inv := range rep.Invariants() {
				if inv.Mismatched > 0 {
					got[inv.Name] = inv.Mismatched
					assert.NotEmpty(t, inv.Examples, inv.Name)
				}
			}
			want := tt.want
			if want == nil {
				want = map[string]int{}
			}
			assert.Equal(t, want, got, rep.String())
		})
	}
}

func TestSeedConvergedPassesCheck(t *testing.T) {
	db := mongotest.Database(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var last conduit.Progress
	ds, err := conduit.Seed(ctx, db, conduit.SeedConfig{Users: 40, Articles: 300, Comments: 500, Favorites: 1500, BatchSize: 200, Rand: newRand(11)},
		func(p conduit.Progress) { last = p })
	require.NoError(t, err)
	assert.Equal(t, conduit.CollTags, last.Collection)

	rep, err := conduit.Check(ctx, db)
	require.NoError(t, err)
	assert.True(t, rep.OK(), rep.String())
	assert.Equal(t, len(ds.Articles), rep.I1.Checked)
	assert.Equal(t, len(ds.Comments), rep.I2.Checked)
	assert.Equal(t, len(conduit.Converge(ds).Tags), rep.I4.Checked)

	n, err := db.Collection(conduit.CollFavorites).CountDocuments(ctx, bson.D{})
	require.NoError(t, err)
	assert.Equal(t, int64(1500), n)
}

func TestSeedSourceOnlyDrifts(t *testing.T) {
	db := mongotest.Database(t)
	ctx := context.Background()
	_, err := conduit.Seed(ctx, db, conduit.SeedConfig{Users: 5, Articles: 20, Comments: 10, Favorites: 30, SourceOnly: true, Rand: newRand(12)}, nil)
	require.NoError(t, err)
	rep, err := conduit.Check(ctx, db)
	require.NoError(t, err)
	assert.Equal(t, 20, rep.I1.Mismatched)
	assert.Equal(t, 10, rep.I2.Mismatched)
	assert.Equal(t, 20, rep.I3.Mismatched)
	assert.Positive(t, rep.I4.Mismatched)
}
