package e2e_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.mongodb.org/mongo-driver/bson"

	"github.com/changerelay/changerelay/e2e/stack"
	"github.com/changerelay/changerelay/infra/conduit"
)

// TestTagChangesKeepTheTagListRight changes tag lists with every operator
// the contract names, a replace, an updateMany that removes a tag from every
// article, an insert and a delete, then checks the tags collection.
func TestTagChangesKeepTheTagListRight(t *testing.T) {
	p := newPipeline(t, pipelineOptions{})
	ds := p.seed(smallSeed, 2)
	p.startRelay(stack.RelayConfig{})

	articles := p.db.Collection(conduit.CollArticles)
	a := func(i int) bson.D { return bson.D{{Key: "_id", Value: ds.Articles[i].ID}} }
	popular := conduit.Converge(ds).Tags[0].Name // some tag in use, to remove everywhere
	for _, tc := range []struct {
		filter bson.D
		update bson.D
	}{
		{a(1), bson.D{{Key: "$push", Value: bson.D{{Key: "tagList", Value: "e2e-pushed"}}}}},
		{a(1), bson.D{{Key: "$push", Value: bson.D{{Key: "tagList", Value: "e2e-pushed"}}}}}, // listed twice: counts once
		{a(2), bson.D{{Key: "$addToSet", Value: bson.D{{Key: "tagList", Value: "e2e-pushed"}}}}},
		{a(3), bson.D{{Key: "$set", Value: bson.D{{Key: "tagList", Value: bson.A{"e2e-set", "e2e-set", "e2e-other"}}}}}},
		{a(3), bson.D{{Key: "$pull", Value: bson.D{{Key: "tagList", Value: "e2e-other"}}}}},
		{a(4), bson.D{{Key: "$unset", Value: bson.D{{Key: "tagList", Value: ""}}}}},
		{a(5), bson.D{{Key: "$push", Value: bson.D{{Key: "tagList", Value: bson.D{{Key: "$each", Value: bson.A{"e2e-each-1", "e2e-each-2"}}}}}}}},
	} {
		_, err := articles.UpdateOne(p.ctx, tc.filter, tc.update)
		require.NoError(t, err)
	}
	_, err := articles.UpdateMany(p.ctx, bson.D{{Key: "tagList", Value: popular}},
		bson.D{{Key: "$pull", Value: bson.D{{Key: "tagList", Value: popular}}}})
	require.NoError(t, err)

	replaced := ds.Articles[6]
	replaced.TagList = []string{"e2e-replaced"}
	_, err = articles.ReplaceOne(p.ctx, a(6), replaced.SourceDoc()[1:])
	require.NoError(t, err)

	fresh := conduit.Article{ID: [12]byte{0xee, 1}, Slug: "e2e-fresh", Title: "fresh", TagList: []string{"e2e-fresh", "e2e-set"},
		AuthorID: ds.Users[0].ID}
	_, err = articles.InsertOne(p.ctx, fresh.SourceDoc())
	require.NoError(t, err)
	_, err = articles.DeleteOne(p.ctx, a(7))
	require.NoError(t, err)

	p.waitConverged(convergeTimeout)

	counts := tagCounts(t, p)
	assert.Equal(t, int64(2), counts["e2e-pushed"])
	assert.Equal(t, int64(2), counts["e2e-set"])
	assert.Equal(t, int64(1), counts["e2e-each-1"])
	assert.Equal(t, int64(1), counts["e2e-replaced"])
	assert.Equal(t, int64(1), counts["e2e-fresh"])
	assert.NotContains(t, counts, "e2e-other")
	assert.NotContains(t, counts, popular, "a tag no article lists any more has no document")
}

func tagCounts(t *testing.T, p *pipeline) map[string]int64 {
	t.Helper()
	cur, err := p.db.Collection(conduit.CollTags).Find(p.ctx, bson.D{})
	require.NoError(t, err)
	var tags []conduit.Tag
	require.NoError(t, cur.All(p.ctx, &tags))
	out := map[string]int64{}
	for _, tag := range tags {
		out[tag.Name] = tag.Count
	}
	return out
}
