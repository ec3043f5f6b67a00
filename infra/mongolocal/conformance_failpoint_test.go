package mongolocal_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/mongo"
	"go.mongodb.org/mongo-driver/mongo/options"

	"github.com/changerelay/changerelay/infra/mongotest"
)

// failCommand configures the failCommand fail point and turns it off at cleanup.
func failCommand(t *testing.T, client *mongo.Client, mode any, data bson.D) {
	t.Helper()
	ctx := ctxT(t)
	require.NoError(t, client.Database("admin").RunCommand(ctx, bson.D{
		{Key: "configureFailPoint", Value: "failCommand"}, {Key: "mode", Value: mode}, {Key: "data", Value: data},
	}).Err())
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = client.Database("admin").RunCommand(ctx, bson.D{{Key: "configureFailPoint", Value: "failCommand"}, {Key: "mode", Value: "off"}}).Err()
	})
}

func TestFailPoints(t *testing.T) {
	uri := mongotest.URI(t)
	client := mongotest.Connect(t, uri, options.Client().SetRetryReads(false).SetRetryWrites(false))
	db := mongotest.FreshDatabase(t, client)
	coll := db.Collection("fp")
	ctx := ctxT(t)
	_, err := coll.InsertOne(ctx, bson.D{{Key: "_id", Value: 1}})
	require.NoError(t, err)

	t.Run("errorCode and labels, times", func(t *testing.T) {
		failCommand(t, client, bson.D{{Key: "times", Value: 1}}, bson.D{
			{Key: "failCommands", Value: bson.A{"find"}}, {Key: "errorCode", Value: 91},
			{Key: "errorLabels", Value: bson.A{"ResumableChangeStreamError"}},
		})
		err := coll.FindOne(ctx, bson.D{}).Err()
		var ce mongo.CommandError
		require.True(t, errors.As(err, &ce), "got %v", err)
		assert.EqualValues(t, 91, ce.Code)
		assert.True(t, ce.HasErrorLabel("ResumableChangeStreamError"))
		require.NoError(t, coll.FindOne(ctx, bson.D{}).Err(), "times: 1 fails once")
	})

	t.Run("alwaysOn and off", func(t *testing.T) {
		failCommand(t, client, "alwaysOn", bson.D{{Key: "failCommands", Value: bson.A{"count"}}, {Key: "errorCode", Value: 2}})
		for i := 0; i < 3; i++ {
			_, err := coll.EstimatedDocumentCount(ctx)
			require.Error(t, err)
		}
		require.NoError(t, client.Database("admin").RunCommand(ctx, bson.D{{Key: "configureFailPoint", Value: "failCommand"}, {Key: "mode", Value: "off"}}).Err())
		_, err := coll.EstimatedDocumentCount(ctx)
		require.NoError(t, err)
	})

	t.Run("closeConnection", func(t *testing.T) {
		failCommand(t, client, bson.D{{Key: "times", Value: 1}}, bson.D{{Key: "failCommands", Value: bson.A{"find"}}, {Key: "closeConnection", Value: true}})
		err := coll.FindOne(ctx, bson.D{}).Err()
		require.Error(t, err)
		assert.True(t, mongo.IsNetworkError(err), "got %v", err)
		require.NoError(t, coll.FindOne(ctx, bson.D{}).Err())
	})

	t.Run("blockConnection", func(t *testing.T) {
		failCommand(t, client, bson.D{{Key: "times", Value: 1}}, bson.D{
			{Key: "failCommands", Value: bson.A{"find"}}, {Key: "blockConnection", Value: true}, {Key: "blockTimeMS", Value: 300},
		})
		start := time.Now()
		require.NoError(t, coll.FindOne(ctx, bson.D{}).Err())
		assert.GreaterOrEqual(t, time.Since(start), 300*time.Millisecond)
	})

	t.Run("driver retries a retryable write error", func(t *testing.T) {
		retrying := mongotest.Connect(t, uri)
		failCommand(t, client, bson.D{{Key: "times", Value: 1}}, bson.D{
			{Key: "failCommands", Value: bson.A{"insert"}}, {Key: "errorCode", Value: 91}, {Key: "errorLabels", Value: bson.A{"RetryableWriteError"}},
		})
		_, err := retrying.Database(db.Name()).Collection("fp").InsertOne(ctx, bson.D{{Key: "_id", Value: 2}})
		require.NoError(t, err)
		n, err := coll.CountDocuments(ctx, bson.D{})
		require.NoError(t, err)
		assert.EqualValues(t, 2, n)
	})
}
