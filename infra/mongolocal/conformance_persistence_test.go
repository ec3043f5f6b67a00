package mongolocal_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/mongo"
	"go.mongodb.org/mongo-driver/mongo/options"

	"github.com/changerelay/changerelay/infra/mongolocal"
	"github.com/changerelay/changerelay/infra/mongotest"
)

func TestPersistenceAcrossRestart(t *testing.T) {
	skipExternal(t)
	ctx := ctxT(t)
	dir := t.TempDir()

	first, err := mongolocal.Start(ctx, mongolocal.Config{DBPath: dir})
	require.NoError(t, err)
	client := mongotest.Connect(t, first.URI())
	db := client.Database("persist")
	require.NoError(t, db.CreateCollection(ctx, "withImages", options.CreateCollection().SetChangeStreamPreAndPostImages(bson.D{{Key: "enabled", Value: true}})))
	coll := db.Collection("items")
	_, err = coll.Indexes().CreateOne(ctx, mongo.IndexModel{Keys: bson.D{{Key: "sku", Value: 1}}, Options: options.Index().SetUnique(true)})
	require.NoError(t, err)
	_, err = coll.InsertMany(ctx, []any{bson.D{{Key: "_id", Value: 1}, {Key: "sku", Value: "a"}}, bson.D{{Key: "_id", Value: 2}, {Key: "sku", Value: "b"}}})
	require.NoError(t, err)
	cs, err := coll.Watch(ctx, mongo.Pipeline{})
	require.NoError(t, err)
	_, err = coll.UpdateOne(ctx, bson.D{{Key: "_id", Value: 2}}, bson.D{{Key: "$set", Value: bson.D{{Key: "qty", Value: 7}}}})
	require.NoError(t, err)
	require.True(t, cs.Next(ctx))
	token := cs.ResumeToken()
	require.NoError(t, cs.Close(ctx))
	_, err = coll.DeleteOne(ctx, bson.D{{Key: "_id", Value: 1}})
	require.NoError(t, err)
	require.NoError(t, client.Disconnect(ctx))
	require.NoError(t, first.Close())

	second := mongotest.Start(t, mongolocal.Config{DBPath: dir})
	client = mongotest.Connect(t, second.URI())
	db = client.Database("persist")
	coll = db.Collection("items")

	var doc bson.M
	require.NoError(t, coll.FindOne(ctx, bson.D{{Key: "_id", Value: 2}}).Decode(&doc))
	assert.EqualValues(t, 7, doc["qty"])
	n, err := coll.CountDocuments(ctx, bson.D{})
	require.NoError(t, err)
	assert.EqualValues(t, 1, n)

	_, err = coll.InsertOne(ctx, bson.D{{Key: "sku", Value: "b"}})
	assert.True(t, mongo.IsDuplicateKeyError(err), "the unique index survived: %v", err)

	specs, err := db.ListCollectionSpecifications(ctx, bson.D{{Key: "name", Value: "withImages"}})
	require.NoError(t, err)
	require.Len(t, specs, 1)
	_, err = specs[0].Options.LookupErr("changeStreamPreAndPostImages", "enabled")
	assert.NoError(t, err, "collection options survived")

	// the change history survived: resume after the update, see the delete
	cs, err = coll.Watch(ctx, mongo.Pipeline{}, options.ChangeStream().SetResumeAfter(token))
	require.NoError(t, err)
	defer cs.Close(ctx)
	require.True(t, cs.Next(ctx))
	assert.Equal(t, "delete", cs.Current.Lookup("operationType").StringValue())
}
