package store_test

import (
	"testing"

	"github.com/stretchr/testify/require"
	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/mongo"
	"go.mongodb.org/mongo-driver/mongo/options"

	"github.com/changerelay/changerelay/functions/internal/fixture"
)

func TestReconcileTags(t *testing.T) {
	cases := []struct {
		name       string
		tagDoc     bson.D // nil: no document for "go"
		articles   int    // articles tagged "go"
		wantCount  int64  // 0: no document wanted
		wantWrites int
	}{
		{name: "missing document is created", articles: 2, wantCount: 2, wantWrites: 1},
		{name: "wrong count is fixed", tagDoc: bson.D{{Key: "count", Value: 5}}, articles: 2, wantCount: 2, wantWrites: 1},
		{name: "right count is left alone", tagDoc: bson.D{{Key: "count", Value: 2}}, articles: 2, wantCount: 2},
		{name: "a double count is rewritten", tagDoc: bson.D{{Key: "count", Value: 2.0}}, articles: 2, wantCount: 2, wantWrites: 1},
		{name: "an extra field is dropped", tagDoc: bson.D{{Key: "count", Value: 2}, {Key: "x", Value: 1}}, articles: 2, wantCount: 2, wantWrites: 1},
		{name: "an unused tag is deleted", tagDoc: bson.D{{Key: "count", Value: 1}}, wantWrites: 1},
		{name: "a zero count is deleted", tagDoc: bson.D{{Key: "count", Value: 0}}, wantWrites: 1},
		{name: "nothing to do", articles: 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := fixture.New(t, fixture.Options{NoStream: true})
			u := e.InsertUser("u")
			for range tc.articles {
				e.InsertArticle(u, "go", "go")
			}
			if tc.tagDoc != nil {
				_, err := e.Coll("tags").InsertOne(e.Ctx, append(bson.D{{Key: "_id", Value: "go"}}, tc.tagDoc...))
				require.NoError(t, err)
			}
			res, err := e.Store.ReconcileTags(e.Ctx, []string{"go"})
			require.NoError(t, err)
			require.Equal(t, tc.wantWrites, res.Written)
			if tc.wantCount == 0 {
				require.NotContains(t, e.Tags(), "go")
			} else {
				require.Equal(t, map[string]int64{"go": tc.wantCount}, e.Tags())
			}
			again, err := e.Store.ReconcileTags(e.Ctx, []string{"go"})
			require.NoError(t, err)
			require.Zero(t, again.Written, "a second reconciliation writes nothing")
		})
	}
}

func TestClusterTimeCoversWrites(t *testing.T) {
	e := fixture.New(t, fixture.Options{NoStream: true})
	before := e.Now()
	sess, err := e.DB.Client().StartSession(options.Session().SetCausalConsistency(true))
	require.NoError(t, err)
	defer sess.EndSession(e.Ctx)
	err = mongo.WithSession(e.Ctx, sess, func(sc mongo.SessionContext) error {
		_, err := e.Coll("users").InsertOne(sc, bson.D{{Key: "username", Value: "x"}})
		return err
	})
	require.NoError(t, err)
	write := *sess.OperationTime()
	after := e.Now()
	require.True(t, write.After(before), "write %v after %v", write, before)
	require.False(t, write.After(after), "cluster time %v covers the write at %v", after, write)
}

func TestBulkWriteTreatsDuplicateKeysAsLostRaces(t *testing.T) {
	e := fixture.New(t, fixture.Options{NoStream: true})
	_, err := e.Coll("tags").InsertOne(e.Ctx, bson.D{{Key: "_id", Value: "go"}, {Key: "count", Value: 1}})
	require.NoError(t, err)
	n, err := e.Store.BulkWrite(e.Ctx, "tags", []mongo.WriteModel{
		mongo.NewInsertOneModel().SetDocument(bson.D{{Key: "_id", Value: "go"}, {Key: "count", Value: 2}}),
		mongo.NewInsertOneModel().SetDocument(bson.D{{Key: "_id", Value: "db"}, {Key: "count", Value: 1}}),
	})
	require.NoError(t, err)
	require.EqualValues(t, 1, n)
	require.Equal(t, map[string]int64{"go": 1, "db": 1}, e.Tags())
}
