package indexes_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.mongodb.org/mongo-driver/bson"

	"github.com/changerelay/changerelay/functions/indexes"
	"github.com/changerelay/changerelay/infra/mongotest"
)

func TestEnsureIsIdempotent(t *testing.T) {
	db := mongotest.Database(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// One collection exists already, without pre-images.
	require.NoError(t, db.CreateCollection(ctx, "articles"))
	for range 2 {
		require.NoError(t, indexes.Ensure(ctx, db, nil))
	}
	specs, err := db.ListCollectionSpecifications(ctx, bson.D{})
	require.NoError(t, err)
	enabled := map[string]bool{}
	for _, s := range specs {
		enabled[s.Name] = s.Options.Lookup("changeStreamPreAndPostImages", "enabled").Boolean()
	}
	for _, coll := range []string{"users", "articles", "comments", "favorites"} {
		require.True(t, enabled[coll], "pre-images on %s", coll)
	}
	for _, ix := range indexes.Needed {
		specs, err := db.Collection(ix.Collection).Indexes().ListSpecifications(ctx)
		require.NoError(t, err)
		var names []string
		for _, s := range specs {
			names = append(names, s.Name)
		}
		require.Contains(t, names, ix.Name)
	}
}
