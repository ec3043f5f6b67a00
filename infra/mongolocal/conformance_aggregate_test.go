package mongolocal_test

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/mongo"
	"go.mongodb.org/mongo-driver/mongo/options"

	"github.com/changerelay/changerelay/infra/mongotest"
)

func TestAggregate(t *testing.T) {
	ctx := ctxT(t)
	coll := mongotest.Database(t).Collection("articles")
	_, err := coll.InsertMany(ctx, []any{
		bson.D{{Key: "_id", Value: 1}, {Key: "author", Value: "ann"}, {Key: "tags", Value: bson.A{"go", "db"}}, {Key: "likes", Value: 3}},
		bson.D{{Key: "_id", Value: 2}, {Key: "author", Value: "bob"}, {Key: "tags", Value: bson.A{"go"}}, {Key: "likes", Value: 5}},
		bson.D{{Key: "_id", Value: 3}, {Key: "author", Value: "ann"}, {Key: "tags", Value: bson.A{}}, {Key: "likes", Value: 1}},
	})
	require.NoError(t, err)

	cases := []struct {
		name     string
		pipeline bson.A
		want     []bson.M
	}{
		{
			name: "tag counts",
			pipeline: bson.A{
				bson.D{{Key: "$unwind", Value: "$tags"}},
				bson.D{{Key: "$group", Value: bson.D{{Key: "_id", Value: "$tags"}, {Key: "n", Value: bson.D{{Key: "$sum", Value: 1}}}}}},
				bson.D{{Key: "$sort", Value: bson.D{{Key: "n", Value: -1}, {Key: "_id", Value: 1}}}},
			},
			want: []bson.M{{"_id": "go", "n": int32(2)}, {"_id": "db", "n": int32(1)}},
		},
		{
			name: "group by author with first, push and sum of field",
			pipeline: bson.A{
				bson.D{{Key: "$sort", Value: bson.D{{Key: "_id", Value: 1}}}},
				bson.D{{Key: "$group", Value: bson.D{
					{Key: "_id", Value: bson.D{{Key: "a", Value: "$author"}}},
					{Key: "first", Value: bson.D{{Key: "$first", Value: "$_id"}}},
					{Key: "ids", Value: bson.D{{Key: "$push", Value: "$_id"}}},
					{Key: "likes", Value: bson.D{{Key: "$sum", Value: "$likes"}}},
				}}},
				bson.D{{Key: "$sort", Value: bson.D{{Key: "_id.a", Value: 1}}}},
			},
			want: []bson.M{
				{"_id": bson.M{"a": "ann"}, "first": int32(1), "ids": bson.A{int32(1), int32(3)}, "likes": int32(4)},
				{"_id": bson.M{"a": "bob"}, "first": int32(2), "ids": bson.A{int32(2)}, "likes": int32(5)},
			},
		},
		{
			name: "match project skip limit",
			pipeline: bson.A{
				bson.D{{Key: "$match", Value: bson.D{{Key: "likes", Value: bson.D{{Key: "$gte", Value: 1}}}}}},
				bson.D{{Key: "$sort", Value: bson.D{{Key: "likes", Value: 1}}}},
				bson.D{{Key: "$skip", Value: 1}},
				bson.D{{Key: "$limit", Value: 1}},
				bson.D{{Key: "$project", Value: bson.D{{Key: "_id", Value: 0}, {Key: "who", Value: "$author"}, {Key: "likes", Value: 1}}}},
			},
			want: []bson.M{{"who": "ann", "likes": int32(3)}},
		},
		{
			name:     "count",
			pipeline: bson.A{bson.D{{Key: "$match", Value: bson.D{{Key: "author", Value: "ann"}}}}, bson.D{{Key: "$count", Value: "total"}}},
			want:     []bson.M{{"total": int32(2)}},
		},
		{
			name:     "count of nothing",
			pipeline: bson.A{bson.D{{Key: "$match", Value: bson.D{{Key: "author", Value: "zed"}}}}, bson.D{{Key: "$count", Value: "total"}}},
			want:     []bson.M{},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cur, err := coll.Aggregate(ctx, tc.pipeline)
			require.NoError(t, err)
			got := []bson.M{}
			require.NoError(t, cur.All(ctx, &got))
			assert.Equal(t, tc.want, got)
		})
	}

	t.Run("batches across getMore", func(t *testing.T) {
		cur, err := coll.Aggregate(ctx, bson.A{bson.D{{Key: "$sort", Value: bson.D{{Key: "_id", Value: 1}}}}}, options.Aggregate().SetBatchSize(1))
		require.NoError(t, err)
		var got []bson.M
		require.NoError(t, cur.All(ctx, &got))
		assert.Len(t, got, 3)
	})

	t.Run("unknown stage", func(t *testing.T) {
		_, err := coll.Aggregate(ctx, bson.A{bson.D{{Key: "$frobnicate", Value: bson.D{}}}})
		var ce mongo.CommandError
		require.True(t, errors.As(err, &ce), "got %v", err)
		assert.EqualValues(t, 40324, ce.Code)
		assert.Contains(t, ce.Message, "$frobnicate")
	})
}

func TestUnknownCommand(t *testing.T) {
	ctx := ctxT(t)
	err := mongotest.Database(t).RunCommand(ctx, bson.D{{Key: "frobnicate", Value: 1}}).Err()
	var ce mongo.CommandError
	require.True(t, errors.As(err, &ce), "got %v", err)
	assert.EqualValues(t, 59, ce.Code)
	assert.Equal(t, "CommandNotFound", ce.Name)
}
