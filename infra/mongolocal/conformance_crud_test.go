package mongolocal_test

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/bson/primitive"
	"go.mongodb.org/mongo-driver/mongo"
	"go.mongodb.org/mongo-driver/mongo/options"

	"github.com/changerelay/changerelay/infra/mongotest"
)

func TestInsertFind(t *testing.T) {
	ctx := ctxT(t)
	coll := mongotest.Database(t).Collection("items")
	docs := make([]any, 0, 250)
	for i := 0; i < 250; i++ {
		docs = append(docs, bson.D{{Key: "_id", Value: i}, {Key: "n", Value: i % 10}, {Key: "tags", Value: bson.A{"a", "b"}}})
	}
	res, err := coll.InsertMany(ctx, docs)
	require.NoError(t, err)
	require.Len(t, res.InsertedIDs, 250)

	cases := []struct {
		name   string
		filter bson.D
		opts   *options.FindOptions
		want   []int
	}{
		{"sort skip limit", bson.D{{Key: "n", Value: 3}}, options.Find().SetSort(bson.D{{Key: "_id", Value: -1}}).SetSkip(1).SetLimit(3), []int{233, 223, 213}},
		{"operators", bson.D{{Key: "_id", Value: bson.D{{Key: "$gte", Value: 10}, {Key: "$lt", Value: 13}}}}, options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}), []int{10, 11, 12}},
		{"in", bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: bson.A{5, 7, 1000}}}}}, options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}), []int{5, 7}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cur, err := coll.Find(ctx, tc.filter, tc.opts)
			require.NoError(t, err)
			var got []struct {
				ID int `bson:"_id"`
			}
			require.NoError(t, cur.All(ctx, &got))
			ids := make([]int, 0, len(got))
			for _, g := range got {
				ids = append(ids, g.ID)
			}
			assert.Equal(t, tc.want, ids)
		})
	}

	t.Run("cursor across getMore", func(t *testing.T) {
		cur, err := coll.Find(ctx, bson.D{}, options.Find().SetBatchSize(7).SetSort(bson.D{{Key: "_id", Value: 1}}))
		require.NoError(t, err)
		n := 0
		for cur.Next(ctx) {
			assert.EqualValues(t, n, cur.Current.Lookup("_id").AsInt64())
			n++
		}
		require.NoError(t, cur.Err())
		assert.Equal(t, 250, n)
	})

	t.Run("projection", func(t *testing.T) {
		var got bson.M
		require.NoError(t, coll.FindOne(ctx, bson.D{{Key: "_id", Value: 4}}, options.FindOne().SetProjection(bson.D{{Key: "n", Value: 1}, {Key: "_id", Value: 0}})).Decode(&got))
		assert.Equal(t, bson.M{"n": int32(4)}, got)
	})

	t.Run("kill cursor", func(t *testing.T) {
		cur, err := coll.Find(ctx, bson.D{}, options.Find().SetBatchSize(2))
		require.NoError(t, err)
		require.True(t, cur.Next(ctx))
		require.NoError(t, cur.Close(ctx))
	})

	t.Run("no documents", func(t *testing.T) {
		err := coll.FindOne(ctx, bson.D{{Key: "_id", Value: -1}}).Err()
		assert.ErrorIs(t, err, mongo.ErrNoDocuments)
	})
}

func TestUpdate(t *testing.T) {
	ctx := ctxT(t)
	coll := mongotest.Database(t).Collection("u")
	_, err := coll.InsertMany(ctx, []any{
		bson.D{{Key: "_id", Value: 1}, {Key: "n", Value: 1}, {Key: "arr", Value: bson.A{bson.D{{Key: "k", Value: "x"}, {Key: "v", Value: 1}}, bson.D{{Key: "k", Value: "y"}, {Key: "v", Value: 2}}}}},
		bson.D{{Key: "_id", Value: 2}, {Key: "n", Value: 2}},
		bson.D{{Key: "_id", Value: 3}, {Key: "n", Value: 2}},
	})
	require.NoError(t, err)

	res, err := coll.UpdateMany(ctx, bson.D{{Key: "n", Value: 2}}, bson.D{{Key: "$set", Value: bson.D{{Key: "s", Value: "two"}}}, {Key: "$inc", Value: bson.D{{Key: "c", Value: 1}}}})
	require.NoError(t, err)
	assert.EqualValues(t, 2, res.MatchedCount)
	assert.EqualValues(t, 2, res.ModifiedCount)

	res, err = coll.UpdateOne(ctx, bson.D{{Key: "_id", Value: 2}}, bson.D{{Key: "$set", Value: bson.D{{Key: "s", Value: "two"}}}})
	require.NoError(t, err)
	assert.EqualValues(t, 1, res.MatchedCount)
	assert.EqualValues(t, 0, res.ModifiedCount, "a no-op update modifies nothing")

	res, err = coll.UpdateOne(ctx, bson.D{{Key: "_id", Value: 9}}, bson.D{{Key: "$set", Value: bson.D{{Key: "s", Value: "nine"}}}}, options.Update().SetUpsert(true))
	require.NoError(t, err)
	assert.EqualValues(t, 0, res.MatchedCount)
	assert.EqualValues(t, 9, res.UpsertedID)

	_, err = coll.UpdateOne(ctx, bson.D{{Key: "_id", Value: 1}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "arr.$[e].v", Value: 10}}}},
		options.Update().SetArrayFilters(options.ArrayFilters{Filters: []any{bson.D{{Key: "e.k", Value: "y"}}}}))
	require.NoError(t, err)

	rres, err := coll.ReplaceOne(ctx, bson.D{{Key: "_id", Value: 3}}, bson.D{{Key: "replaced", Value: true}})
	require.NoError(t, err)
	assert.EqualValues(t, 1, rres.ModifiedCount)

	var one, three bson.M
	require.NoError(t, coll.FindOne(ctx, bson.D{{Key: "_id", Value: 1}}).Decode(&one))
	assert.EqualValues(t, 10, one["arr"].(bson.A)[1].(bson.M)["v"])
	require.NoError(t, coll.FindOne(ctx, bson.D{{Key: "_id", Value: 3}}).Decode(&three))
	assert.Equal(t, bson.M{"_id": int32(3), "replaced": true}, three)

	_, err = coll.UpdateOne(ctx, bson.D{{Key: "_id", Value: 1}}, bson.D{{Key: "$bogus", Value: bson.D{{Key: "a", Value: 1}}}})
	var we mongo.WriteException
	require.True(t, errors.As(err, &we), "got %v", err)
	assert.Equal(t, 9, we.WriteErrors[0].Code) // FailedToParse
}

func TestDeleteAndFindAndModify(t *testing.T) {
	ctx := ctxT(t)
	coll := mongotest.Database(t).Collection("d")
	_, err := coll.InsertMany(ctx, []any{
		bson.D{{Key: "_id", Value: 1}, {Key: "g", Value: "a"}},
		bson.D{{Key: "_id", Value: 2}, {Key: "g", Value: "a"}},
		bson.D{{Key: "_id", Value: 3}, {Key: "g", Value: "b"}},
		bson.D{{Key: "_id", Value: 4}, {Key: "g", Value: "b"}},
	})
	require.NoError(t, err)

	dres, err := coll.DeleteOne(ctx, bson.D{{Key: "g", Value: "a"}})
	require.NoError(t, err)
	assert.EqualValues(t, 1, dres.DeletedCount)

	var before, after bson.M
	require.NoError(t, coll.FindOneAndUpdate(ctx, bson.D{{Key: "g", Value: "b"}}, bson.D{{Key: "$set", Value: bson.D{{Key: "x", Value: 1}}}},
		options.FindOneAndUpdate().SetSort(bson.D{{Key: "_id", Value: -1}})).Decode(&before))
	assert.EqualValues(t, 4, before["_id"])
	assert.NotContains(t, before, "x")

	require.NoError(t, coll.FindOneAndUpdate(ctx, bson.D{{Key: "_id", Value: 4}}, bson.D{{Key: "$inc", Value: bson.D{{Key: "x", Value: 1}}}},
		options.FindOneAndUpdate().SetReturnDocument(options.After).SetProjection(bson.D{{Key: "x", Value: 1}})).Decode(&after))
	assert.Equal(t, bson.M{"_id": int32(4), "x": int32(2)}, after)

	var upserted bson.M
	require.NoError(t, coll.FindOneAndUpdate(ctx, bson.D{{Key: "_id", Value: 7}}, bson.D{{Key: "$set", Value: bson.D{{Key: "g", Value: "c"}}}},
		options.FindOneAndUpdate().SetUpsert(true).SetReturnDocument(options.After)).Decode(&upserted))
	assert.Equal(t, bson.M{"_id": int32(7), "g": "c"}, upserted)

	var replaced bson.M
	require.NoError(t, coll.FindOneAndReplace(ctx, bson.D{{Key: "_id", Value: 7}}, bson.D{{Key: "g", Value: "d"}},
		options.FindOneAndReplace().SetReturnDocument(options.After)).Decode(&replaced))
	assert.Equal(t, bson.M{"_id": int32(7), "g": "d"}, replaced)

	var removed bson.M
	require.NoError(t, coll.FindOneAndDelete(ctx, bson.D{{Key: "_id", Value: 7}}).Decode(&removed))
	assert.EqualValues(t, 7, removed["_id"])
	assert.ErrorIs(t, coll.FindOneAndDelete(ctx, bson.D{{Key: "_id", Value: 7}}).Err(), mongo.ErrNoDocuments)

	dres, err = coll.DeleteMany(ctx, bson.D{})
	require.NoError(t, err)
	assert.EqualValues(t, 3, dres.DeletedCount)
}

func TestCountAndDistinct(t *testing.T) {
	ctx := ctxT(t)
	coll := mongotest.Database(t).Collection("cd")
	_, err := coll.InsertMany(ctx, []any{
		bson.D{{Key: "t", Value: "go"}, {Key: "k", Value: 1}},
		bson.D{{Key: "t", Value: "go"}, {Key: "k", Value: 2}},
		bson.D{{Key: "t", Value: "js"}, {Key: "k", Value: 2}},
	})
	require.NoError(t, err)
	n, err := coll.CountDocuments(ctx, bson.D{{Key: "t", Value: "go"}})
	require.NoError(t, err)
	assert.EqualValues(t, 2, n)
	n, err = coll.CountDocuments(ctx, bson.D{}, options.Count().SetSkip(1).SetLimit(1))
	require.NoError(t, err)
	assert.EqualValues(t, 1, n)
	n, err = coll.EstimatedDocumentCount(ctx)
	require.NoError(t, err)
	assert.EqualValues(t, 3, n)
	n, err = mongotest.Database(t).Collection("missing").CountDocuments(ctx, bson.D{})
	require.NoError(t, err)
	assert.EqualValues(t, 0, n)
	vals, err := coll.Distinct(ctx, "t", bson.D{{Key: "k", Value: 2}})
	require.NoError(t, err)
	assert.ElementsMatch(t, []any{"go", "js"}, vals)
}

func TestNamespaces(t *testing.T) {
	ctx := ctxT(t)
	db := mongotest.Database(t)
	require.NoError(t, db.CreateCollection(ctx, "a"))
	err := db.CreateCollection(ctx, "a", options.CreateCollection().SetChangeStreamPreAndPostImages(bson.D{{Key: "enabled", Value: true}}))
	var ce mongo.CommandError
	require.True(t, errors.As(err, &ce), "got %v", err)
	assert.EqualValues(t, 48, ce.Code)

	require.NoError(t, db.CreateCollection(ctx, "b", options.CreateCollection().SetChangeStreamPreAndPostImages(bson.D{{Key: "enabled", Value: true}})))
	names, err := db.ListCollectionNames(ctx, bson.D{})
	require.NoError(t, err)
	assert.ElementsMatch(t, []string{"a", "b"}, names)

	specs, err := db.ListCollectionSpecifications(ctx, bson.D{{Key: "name", Value: "b"}})
	require.NoError(t, err)
	require.Len(t, specs, 1)
	v, err := specs[0].Options.LookupErr("changeStreamPreAndPostImages", "enabled")
	require.NoError(t, err)
	assert.True(t, v.Boolean())

	require.NoError(t, db.RunCommand(ctx, bson.D{{Key: "collMod", Value: "a"}, {Key: "changeStreamPreAndPostImages", Value: bson.D{{Key: "enabled", Value: true}}}}).Err())
	specs, err = db.ListCollectionSpecifications(ctx, bson.D{{Key: "name", Value: "a"}})
	require.NoError(t, err)
	require.Len(t, specs, 1)
	_, err = specs[0].Options.LookupErr("changeStreamPreAndPostImages", "enabled")
	require.NoError(t, err)

	dbs, err := db.Client().ListDatabaseNames(ctx, bson.D{})
	require.NoError(t, err)
	assert.Contains(t, dbs, db.Name())

	_, err = db.Collection("a").InsertOne(ctx, bson.D{{Key: "_id", Value: 1}})
	require.NoError(t, err)
	_, err = db.Collection("a").Indexes().CreateOne(ctx, mongo.IndexModel{Keys: bson.D{{Key: "x", Value: 1}}})
	require.NoError(t, err)
	require.NoError(t, db.Client().Database("admin").RunCommand(ctx, bson.D{
		{Key: "renameCollection", Value: db.Name() + ".a"}, {Key: "to", Value: db.Name() + ".c"},
	}).Err())
	names, err = db.ListCollectionNames(ctx, bson.D{})
	require.NoError(t, err)
	assert.ElementsMatch(t, []string{"b", "c"}, names)
	n, err := db.Collection("c").CountDocuments(ctx, bson.D{})
	require.NoError(t, err)
	assert.EqualValues(t, 1, n)
	idx, err := db.Collection("c").Indexes().ListSpecifications(ctx)
	require.NoError(t, err)
	assert.Len(t, idx, 2)

	err = db.Client().Database("admin").RunCommand(ctx, bson.D{
		{Key: "renameCollection", Value: db.Name() + ".nope"}, {Key: "to", Value: db.Name() + ".d"},
	}).Err()
	require.True(t, errors.As(err, &ce), "got %v", err)
	assert.EqualValues(t, 26, ce.Code)

	require.NoError(t, db.Collection("c").Drop(ctx))
	require.NoError(t, db.Collection("never-existed").Drop(ctx))
	names, err = db.ListCollectionNames(ctx, bson.D{})
	require.NoError(t, err)
	assert.Equal(t, []string{"b"}, names)

	require.NoError(t, db.Drop(ctx))
	dbs, err = db.Client().ListDatabaseNames(ctx, bson.D{})
	require.NoError(t, err)
	assert.NotContains(t, dbs, db.Name())
}

func TestIndexes(t *testing.T) {
	ctx := ctxT(t)
	coll := mongotest.Database(t).Collection("ix")
	names, err := coll.Indexes().CreateMany(ctx, []mongo.IndexModel{
		{Keys: bson.D{{Key: "email", Value: 1}}, Options: options.Index().SetUnique(true)},
		{Keys: bson.D{{Key: "a", Value: 1}, {Key: "b", Value: -1}}},
		{Keys: bson.D{{Key: "slug", Value: 1}}, Options: options.Index().SetUnique(true).SetName("slug_partial").
			SetPartialFilterExpression(bson.D{{Key: "slug", Value: bson.D{{Key: "$exists", Value: true}}}})},
	})
	require.NoError(t, err)
	assert.Equal(t, []string{"email_1", "a_1_b_-1", "slug_partial"}, names)

	specs, err := coll.Indexes().ListSpecifications(ctx)
	require.NoError(t, err)
	byName := map[string]*mongo.IndexSpecification{}
	for _, s := range specs {
		byName[s.Name] = s
	}
	require.Contains(t, byName, "_id_")
	require.Contains(t, byName, "email_1")
	require.NotNil(t, byName["email_1"].Unique)
	assert.True(t, *byName["email_1"].Unique)

	_, err = coll.InsertOne(ctx, bson.D{{Key: "email", Value: "a@x"}})
	require.NoError(t, err)
	_, err = coll.InsertOne(ctx, bson.D{{Key: "email", Value: "a@x"}})
	assert.True(t, mongo.IsDuplicateKeyError(err), "got %v", err)
	var we mongo.WriteException
	require.True(t, errors.As(err, &we))
	assert.Equal(t, 11000, we.WriteErrors[0].Code)

	// partial: documents without slug do not collide
	_, err = coll.InsertMany(ctx, []any{bson.D{{Key: "email", Value: "b@x"}}, bson.D{{Key: "email", Value: "c@x"}}})
	require.NoError(t, err)

	// unordered insertMany reports the failing index and keeps going
	_, err = coll.InsertMany(ctx, []any{
		bson.D{{Key: "email", Value: "d@x"}}, bson.D{{Key: "email", Value: "a@x"}}, bson.D{{Key: "email", Value: "e@x"}},
	}, options.InsertMany().SetOrdered(false))
	var bwe mongo.BulkWriteException
	require.True(t, errors.As(err, &bwe), "got %v", err)
	require.Len(t, bwe.WriteErrors, 1)
	assert.Equal(t, 1, bwe.WriteErrors[0].Index)
	n, err := coll.CountDocuments(ctx, bson.D{})
	require.NoError(t, err)
	assert.EqualValues(t, 5, n)

	// update into a duplicate
	_, err = coll.UpdateOne(ctx, bson.D{{Key: "email", Value: "b@x"}}, bson.D{{Key: "$set", Value: bson.D{{Key: "email", Value: "a@x"}}}})
	assert.True(t, mongo.IsDuplicateKeyError(err), "got %v", err)

	_, err = coll.Indexes().DropOne(ctx, "a_1_b_-1")
	require.NoError(t, err)
	_, err = coll.Indexes().DropOne(ctx, "nope_1")
	var ce mongo.CommandError
	require.True(t, errors.As(err, &ce), "got %v", err)
	assert.EqualValues(t, 27, ce.Code)
	specs, err = coll.Indexes().ListSpecifications(ctx)
	require.NoError(t, err)
	assert.Len(t, specs, 3)
	_, err = coll.Indexes().DropAll(ctx)
	require.NoError(t, err)
	specs, err = coll.Indexes().ListSpecifications(ctx)
	require.NoError(t, err)
	assert.Len(t, specs, 1)

	// a unique index over existing duplicates fails with DuplicateKey
	_, err = coll.InsertOne(ctx, bson.D{{Key: "email", Value: "a@x"}})
	require.NoError(t, err)
	_, err = coll.Indexes().CreateOne(ctx, mongo.IndexModel{Keys: bson.D{{Key: "email", Value: 1}}, Options: options.Index().SetUnique(true)})
	require.True(t, errors.As(err, &ce), "got %v", err)
	assert.EqualValues(t, 11000, ce.Code)
}

func TestDocumentIDs(t *testing.T) {
	ctx := ctxT(t)
	coll := mongotest.Database(t).Collection("ids")
	id := bson.D{{Key: "a", Value: 1}, {Key: "b", Value: "x"}}
	_, err := coll.InsertOne(ctx, bson.D{{Key: "n", Value: 1}, {Key: "_id", Value: id}})
	require.NoError(t, err)
	_, err = coll.UpdateOne(ctx, bson.D{{Key: "_id", Value: id}}, bson.D{{Key: "$inc", Value: bson.D{{Key: "n", Value: 1}}}})
	require.NoError(t, err)
	_, err = coll.ReplaceOne(ctx, bson.D{{Key: "_id", Value: id}}, bson.D{{Key: "_id", Value: id}, {Key: "n", Value: 5}})
	require.NoError(t, err)
	raw, err := coll.FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Raw()
	require.NoError(t, err)
	elems, err := raw.Elements()
	require.NoError(t, err)
	assert.Equal(t, "_id", elems[0].Key(), "_id is stored first")
	assert.EqualValues(t, 5, raw.Lookup("n").Int32())

	_, err = coll.ReplaceOne(ctx, bson.D{{Key: "_id", Value: id}}, bson.D{{Key: "_id", Value: 2}})
	var we mongo.WriteException
	require.True(t, errors.As(err, &we), "got %v", err)
	assert.Equal(t, 66, we.WriteErrors[0].Code) // ImmutableField

	_, err = coll.UpdateOne(ctx, bson.D{{Key: "_id", Value: id}}, bson.D{{Key: "$set", Value: bson.D{{Key: "_id", Value: 3}}}})
	require.True(t, errors.As(err, &we), "got %v", err)
	assert.Equal(t, 66, we.WriteErrors[0].Code)

	_, err = coll.InsertOne(ctx, bson.D{{Key: "_id", Value: bson.A{1}}})
	require.True(t, errors.As(err, &we), "got %v", err)
	assert.Equal(t, 53, we.WriteErrors[0].Code) // InvalidIdField
}

func TestUpsertReplacement(t *testing.T) {
	ctx := ctxT(t)
	coll := mongotest.Database(t).Collection("ur")
	res, err := coll.ReplaceOne(ctx, bson.D{{Key: "_id", Value: "k"}}, bson.D{{Key: "v", Value: 1}}, options.Replace().SetUpsert(true))
	require.NoError(t, err)
	assert.Equal(t, "k", res.UpsertedID)
	res, err = coll.UpdateOne(ctx, bson.D{{Key: "slug", Value: "s"}}, bson.D{{Key: "$setOnInsert", Value: bson.D{{Key: "c", Value: 1}}}, {Key: "$inc", Value: bson.D{{Key: "n", Value: 1}}}}, options.Update().SetUpsert(true))
	require.NoError(t, err)
	require.NotNil(t, res.UpsertedID)
	var got bson.M
	require.NoError(t, coll.FindOne(ctx, bson.D{{Key: "slug", Value: "s"}}, options.FindOne().SetProjection(bson.D{{Key: "_id", Value: 0}})).Decode(&got))
	assert.Equal(t, bson.M{"slug": "s", "c": int32(1), "n": int32(1)}, got)
}

func TestRegexFilters(t *testing.T) {
	ctx := ctxT(t)
	coll := mongotest.Database(t).Collection("re")
	_, err := coll.InsertMany(ctx, []any{
		bson.D{{Key: "_id", Value: 1}, {Key: "title", Value: "Hello World"}, {Key: "tags", Value: bson.A{"go", "mongo"}}},
		bson.D{{Key: "_id", Value: 2}, {Key: "title", Value: "hello there"}, {Key: "tags", Value: bson.A{"js"}}},
		bson.D{{Key: "_id", Value: 3}, {Key: "title", Value: "Bye"}},
	})
	require.NoError(t, err)
	cases := []struct {
		name   string
		filter bson.D
		want   int64
	}{
		{"regex value", bson.D{{Key: "title", Value: primitive.Regex{Pattern: "^Hello"}}}, 1},
		{"regex value with options", bson.D{{Key: "title", Value: primitive.Regex{Pattern: "^hello", Options: "i"}}}, 2},
		{"$regex and $options", bson.D{{Key: "title", Value: bson.D{{Key: "$regex", Value: "^HELLO"}, {Key: "$options", Value: "i"}}}}, 2},
		{"regex over array elements", bson.D{{Key: "tags", Value: primitive.Regex{Pattern: "^mon"}}}, 1},
		{"$not regex", bson.D{{Key: "title", Value: bson.D{{Key: "$not", Value: primitive.Regex{Pattern: "ello"}}}}}, 1},
		{"inside $or", bson.D{{Key: "$or", Value: bson.A{bson.D{{Key: "title", Value: primitive.Regex{Pattern: "Bye"}}}, bson.D{{Key: "_id", Value: 1}}}}}, 2},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			n, err := coll.CountDocuments(ctx, tc.filter)
			require.NoError(t, err)
			assert.Equal(t, tc.want, n)
		})
	}
}

func TestInvalidInputFailsWithoutMatches(t *testing.T) {
	ctx := ctxT(t)
	coll := mongotest.Database(t).Collection("empty")
	_, err := coll.UpdateOne(ctx, bson.D{{Key: "_id", Value: "none"}}, bson.D{{Key: "$bogus", Value: bson.D{{Key: "a", Value: 1}}}})
	var we mongo.WriteException
	require.True(t, errors.As(err, &we), "got %v", err)
	assert.Equal(t, 9, we.WriteErrors[0].Code) // FailedToParse: Unknown modifier

	err = coll.FindOne(ctx, bson.D{{Key: "a", Value: bson.D{{Key: "$bogus", Value: 1}}}}).Err()
	var ce mongo.CommandError
	require.True(t, errors.As(err, &ce), "got %v", err)
	assert.EqualValues(t, 2, ce.Code) // BadValue: unknown operator
}

func TestQueriesByID(t *testing.T) {
	ctx := ctxT(t)
	coll := mongotest.Database(t).Collection("byid")
	docs := []any{
		bson.D{{Key: "_id", Value: int64(5)}, {Key: "v", Value: 1}},
		bson.D{{Key: "_id", Value: "five"}, {Key: "v", Value: 2}},
		bson.D{{Key: "_id", Value: 7.0}, {Key: "v", Value: 3}},
	}
	for i := 0; i < 100; i++ {
		docs = append(docs, bson.D{{Key: "_id", Value: primitive.NewObjectID()}, {Key: "v", Value: 100 + i}})
	}
	_, err := coll.InsertMany(ctx, docs)
	require.NoError(t, err)

	cases := []struct {
		name   string
		filter bson.D
		want   []int32
	}{
		{"int matches long", bson.D{{Key: "_id", Value: int32(5)}}, []int32{1}},
		{"double matches long", bson.D{{Key: "_id", Value: 5.0}}, []int32{1}},
		{"int matches double", bson.D{{Key: "_id", Value: int32(7)}}, []int32{3}},
		{"string", bson.D{{Key: "_id", Value: "five"}}, []int32{2}},
		{"$eq", bson.D{{Key: "_id", Value: bson.D{{Key: "$eq", Value: "five"}}}}, []int32{2}},
		{"$in", bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: bson.A{7, "five", 5, "nope"}}}}}, []int32{1, 2, 3}},
		{"with more conditions", bson.D{{Key: "_id", Value: 5}, {Key: "v", Value: bson.D{{Key: "$lt", Value: 1}}}}, []int32{}},
		{"missing", bson.D{{Key: "_id", Value: 6}}, []int32{}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cur, err := coll.Find(ctx, tc.filter)
			require.NoError(t, err)
			got := []int32{}
			for cur.Next(ctx) {
				got = append(got, cur.Current.Lookup("v").Int32())
			}
			require.NoError(t, cur.Err())
			assert.ElementsMatch(t, tc.want, got) // mongod returns $in in index order
		})
	}

	// an ordered bulk of compare-and-set updates by _id, deletes and inserts
	var models []mongo.WriteModel
	for i := 0; i < 3; i++ {
		models = append(models,
			mongo.NewUpdateOneModel().SetFilter(bson.D{{Key: "_id", Value: 5}, {Key: "v", Value: bson.D{{Key: "$lt", Value: 10 + i}}}}).
				SetUpdate(bson.D{{Key: "$set", Value: bson.D{{Key: "v", Value: 10 + i}}}}))
	}
	models = append(models, mongo.NewDeleteOneModel().SetFilter(bson.D{{Key: "_id", Value: "five"}}),
		mongo.NewUpdateOneModel().SetFilter(bson.D{{Key: "_id", Value: "five"}}).SetUpdate(bson.D{{Key: "$set", Value: bson.D{{Key: "v", Value: 0}}}}),
		mongo.NewInsertOneModel().SetDocument(bson.D{{Key: "_id", Value: "six"}}),
		mongo.NewUpdateOneModel().SetFilter(bson.D{{Key: "_id", Value: "six"}}).SetUpdate(bson.D{{Key: "$set", Value: bson.D{{Key: "v", Value: 6}}}}))
	res, err := coll.BulkWrite(ctx, models, options.BulkWrite().SetOrdered(true))
	require.NoError(t, err)
	assert.EqualValues(t, 4, res.MatchedCount)
	assert.EqualValues(t, 1, res.DeletedCount)
	var five, six bson.M
	require.NoError(t, coll.FindOne(ctx, bson.D{{Key: "_id", Value: 5}}).Decode(&five))
	assert.EqualValues(t, 12, five["v"])
	require.NoError(t, coll.FindOne(ctx, bson.D{{Key: "_id", Value: "six"}}).Decode(&six))
	assert.EqualValues(t, 6, six["v"])
	assert.ErrorIs(t, coll.FindOne(ctx, bson.D{{Key: "_id", Value: "five"}}).Err(), mongo.ErrNoDocuments)
}
