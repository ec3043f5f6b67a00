package e2e_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/bson/primitive"

	"github.com/changerelay/changerelay/e2e/stack"
	"github.com/changerelay/changerelay/infra/conduit"
)

// TestProfileUpdateReachesEveryArticleAndComment renames the most prolific
// author, changes their bio and removes their image, then checks every
// article and comment they wrote carries the new profile, with the removed
// key as null.
func TestProfileUpdateReachesEveryArticleAndComment(t *testing.T) {
	p := newPipeline(t, pipelineOptions{})
	ds := p.seed(smallSeed, 1)
	p.startRelay(stack.RelayConfig{})

	author := mostProlific(ds)
	commenter := ds.Comments[0].AuthorID
	users := p.db.Collection(conduit.CollUsers)
	for _, upd := range []bson.D{
		{{Key: "$set", Value: bson.D{{Key: "username", Value: "renamed-once"}}}},
		{{Key: "$set", Value: bson.D{{Key: "username", Value: "renamed-twice"}, {Key: "bio", Value: "new bio"}}}},
		{{Key: "$unset", Value: bson.D{{Key: "image", Value: ""}}}},
	} {
		_, err := users.UpdateOne(p.ctx, bson.D{{Key: "_id", Value: author}}, upd)
		require.NoError(t, err)
	}
	// A replace that drops bio and image altogether.
	_, err := users.ReplaceOne(p.ctx, bson.D{{Key: "_id", Value: commenter}},
		bson.D{{Key: "username", Value: "replaced-commenter"}, {Key: "email", Value: "rc@example.org"}})
	require.NoError(t, err)

	rep := p.waitConverged(convergeTimeout)
	t.Logf("converged: %s", rep.Summary())

	want := bson.M{"username": "renamed-twice", "bio": "new bio", "image": nil}
	n := assertAuthorCopies(t, p, conduit.CollArticles, "authorId", author, want)
	assert.Greater(t, n, 5, "the most prolific author should have many articles")
	assertAuthorCopies(t, p, conduit.CollComments, "authorId", author, want)
	assertAuthorCopies(t, p, conduit.CollComments, "authorId", commenter,
		bson.M{"username": "replaced-commenter", "bio": nil, "image": nil})
}

// assertAuthorCopies checks the author copy of every document in coll by
// user, and returns how many there are.
func assertAuthorCopies(t *testing.T, p *pipeline, coll, field string, user primitive.ObjectID, want bson.M) int {
	t.Helper()
	cur, err := p.db.Collection(coll).Find(p.ctx, bson.D{{Key: field, Value: user}})
	require.NoError(t, err)
	var docs []struct {
		ID     primitive.ObjectID `bson:"_id"`
		Author bson.M             `bson:"author"`
	}
	require.NoError(t, cur.All(p.ctx, &docs))
	for _, d := range docs {
		assert.Equal(t, want, d.Author, "%s %s", coll, d.ID.Hex())
	}
	return len(docs)
}

func mostProlific(ds *conduit.Dataset) primitive.ObjectID {
	counts := map[primitive.ObjectID]int{}
	best := ds.Users[0].ID
	for _, a := range ds.Articles {
		counts[a.AuthorID]++
		if counts[a.AuthorID] > counts[best] {
			best = a.AuthorID
		}
	}
	return best
}
