package mongolocal_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/mongo"
	"go.mongodb.org/mongo-driver/mongo/options"

	"github.com/changerelay/changerelay/infra/mongotest"
)

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// directURI turns a replica-set URI into a directConnection one.
func directURI(uri string) string {
	base, _, _ := strings.Cut(uri, "?")
	if strings.Count(base, ",") > 0 {
		return "" // a multi-host real deployment: no single direct host
	}
	return base + "?directConnection=true"
}

func TestHandshake(t *testing.T) {
	uri := mongotest.URI(t)
	cases := []struct {
		name string
		uri  string
	}{
		{"replicaSet", uri},
		{"directConnection", directURI(uri)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.uri == "" {
				t.Skip("deployment has several hosts")
			}
			ctx := ctxT(t)
			client := mongotest.Connect(t, tc.uri)
			var hello bson.M
			require.NoError(t, client.Database("admin").RunCommand(ctx, bson.D{{Key: "hello", Value: 1}}).Decode(&hello))
			assert.Equal(t, true, hello["isWritablePrimary"])
			assert.NotEmpty(t, hello["setName"])
			assert.GreaterOrEqual(t, toInt(hello["maxWireVersion"]), 17)
			assert.Equal(t, 30, toInt(hello["logicalSessionTimeoutMinutes"]))

			var isMaster bson.M
			require.NoError(t, client.Database("admin").RunCommand(ctx, bson.D{{Key: "isMaster", Value: 1}}).Decode(&isMaster))
			assert.Equal(t, true, isMaster["ismaster"])

			require.NoError(t, client.Ping(ctx, nil))
			var info bson.M
			require.NoError(t, client.Database("admin").RunCommand(ctx, bson.D{{Key: "buildInfo", Value: 1}}).Decode(&info))
			assert.NotEmpty(t, info["version"])

			db := mongotest.FreshDatabase(t, client)
			_, err := db.Collection("c").InsertOne(ctx, bson.D{{Key: "x", Value: 1}})
			require.NoError(t, err)
			n, err := db.Collection("c").CountDocuments(ctx, bson.D{})
			require.NoError(t, err)
			assert.EqualValues(t, 1, n)
		})
	}
}

func TestClusterTimeInReplies(t *testing.T) {
	ctx := ctxT(t)
	db := mongotest.Database(t)
	res := db.RunCommand(ctx, bson.D{{Key: "insert", Value: "c"}, {Key: "documents", Value: bson.A{bson.D{{Key: "a", Value: 1}}}}})
	raw, err := res.Raw()
	require.NoError(t, err)
	_, err = raw.LookupErr("$clusterTime", "clusterTime")
	require.NoError(t, err)
	_, err = raw.LookupErr("operationTime")
	require.NoError(t, err)
}

func TestSessionsAndRetryableWrites(t *testing.T) {
	ctx := ctxT(t)
	db := mongotest.Database(t)
	coll := db.Collection("c")
	sess, err := db.Client().StartSession()
	require.NoError(t, err)
	defer sess.EndSession(ctx)
	err = mongo.WithSession(ctx, sess, func(sc mongo.SessionContext) error {
		_, err := coll.InsertOne(sc, bson.D{{Key: "_id", Value: 1}})
		if err != nil {
			return err
		}
		_, err = coll.UpdateOne(sc, bson.D{{Key: "_id", Value: 1}}, bson.D{{Key: "$inc", Value: bson.D{{Key: "n", Value: 1}}}})
		return err
	})
	require.NoError(t, err)
	var doc bson.M
	require.NoError(t, coll.FindOne(ctx, bson.D{}).Decode(&doc))
	assert.EqualValues(t, 1, doc["n"])
}

func toInt(v any) int {
	switch n := v.(type) {
	case int32:
		return int(n)
	case int64:
		return int(n)
	case float64:
		return int(n)
	}
	return -1
}

var _ = options.Client
