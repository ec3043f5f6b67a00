package mongotest_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.mongodb.org/mongo-driver/bson"

	"github.com/changerelay/changerelay/infra/mongotest"
)

func TestDatabaseIsFreshAndDroppedAtCleanup(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	client := mongotest.Client(t)
	var name string
	t.Run("inner", func(t *testing.T) {
		db := mongotest.FreshDatabase(t, client)
		name = db.Name()
		assert.True(t, strings.HasPrefix(name, "t_"))
		assert.LessOrEqual(t, len(name), 63)
		_, err := db.Collection("c").InsertOne(ctx, bson.D{{Key: "a", Value: 1}})
		require.NoError(t, err)
	})
	names, err := client.ListDatabaseNames(ctx, bson.D{})
	require.NoError(t, err)
	assert.NotContains(t, names, name, "the database is dropped when the test ends")
}

func TestDatabaseNamesAreUnique(t *testing.T) {
	assert.NotEqual(t, mongotest.DatabaseName(t), mongotest.DatabaseName(t))
}
