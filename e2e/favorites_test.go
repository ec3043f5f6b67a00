package e2e_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.mongodb.org/mongo-driver/bson"

	"github.com/changerelay/changerelay/e2e/stack"
	"github.com/changerelay/changerelay/infra/conduit"
)

// TestFavoritesKeepFavoritesCountRight sends favorite storms at hot
// articles (insertMany bursts with unfavorites between them), single
// favorites and unfavorites, and deleteMany by article and by user.
func TestFavoritesKeepFavoritesCountRight(t *testing.T) {
	p := newPipeline(t, pipelineOptions{})
	cfg := smallSeed
	cfg.Users = 200 // room for storms
	ds := p.seed(cfg, 3)
	p.startRelay(stack.RelayConfig{})

	g, err := conduit.NewGenerator(ds, conduit.WorkloadConfig{Rand: newRand(33), HotArticles: 2, StormSize: 150, StormChunk: 25})
	require.NoError(t, err)
	script := g.Next(3, conduit.StormMix)
	script = append(script, g.Next(150, conduit.Mix{conduit.KindFavorite: 5, conduit.KindUnfavorite: 3, conduit.KindUnfavoriteMany: 1})...)
	stats := p.execute(script, conduit.ExecConfig{Concurrency: 2})
	t.Logf("applied %d ops, %d favorites inserted, %d deleted", stats.Ops, stats.Inserted, stats.Deleted)

	p.waitConverged(convergeTimeout)

	for _, hot := range g.HotArticles() {
		var art conduit.Article
		require.NoError(t, p.db.Collection(conduit.CollArticles).FindOne(p.ctx, bson.D{{Key: "_id", Value: hot}}).Decode(&art))
		n, err := p.db.Collection(conduit.CollFavorites).CountDocuments(p.ctx, bson.D{{Key: "articleId", Value: hot}})
		require.NoError(t, err)
		assert.Equal(t, n, art.FavoritesCount, "hot article %s", hot.Hex())
		assert.Positive(t, n)
	}
	m := p.metrics()
	events := m.Sum("relay_events_delivered_total", "route", "favorites")
	invocations := m.Sum("relay_invocations_total", "route", "favorites")
	t.Logf("favorites route: %.0f events delivered in %.0f invocations", events, invocations)
	assert.Less(t, invocations, events, "a storm is batched, not one invocation per event")
}
