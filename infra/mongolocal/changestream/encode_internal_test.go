package changestream

import (
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/bson/primitive"
)

func TestEncodeDocMatchesMarshal(t *testing.T) {
	oid := primitive.NewObjectID()
	d := bson.D{
		{Key: "_id", Value: oid},
		{Key: "s", Value: "text"},
		{Key: "i32", Value: int32(-5)},
		{Key: "i64", Value: int64(1) << 40},
		{Key: "int", Value: 7},
		{Key: "bigint", Value: math.MaxInt32 + 1},
		{Key: "f", Value: 1.5},
		{Key: "b", Value: true},
		{Key: "null", Value: nil},
		{Key: "date", Value: primitive.NewDateTimeFromTime(time.UnixMilli(1_700_000_000_000))},
		{Key: "ts", Value: primitive.Timestamp{T: 1, I: 2}},
		{Key: "dec", Value: primitive.NewDecimal128(1, 2)},
		{Key: "bin", Value: primitive.Binary{Subtype: 4, Data: []byte("0123456789abcdef")}},
		{Key: "min", Value: primitive.MinKey{}},
		{Key: "max", Value: primitive.MaxKey{}},
		{Key: "undef", Value: primitive.Undefined{}},
		{Key: "re", Value: primitive.Regex{Pattern: "^a", Options: "i"}},
		{Key: "js", Value: primitive.JavaScript("x")},
		{Key: "arr", Value: bson.A{1, "two", bson.D{{Key: "three", Value: bson.A{}}}}},
		{Key: "doc", Value: bson.D{{Key: "nested", Value: bson.D{}}}},
		{Key: "ptr", Value: &bson.D{{Key: "p", Value: 1}}},
	}
	want, err := bson.Marshal(d)
	require.NoError(t, err)
	got, err := encodeDoc(d)
	require.NoError(t, err)
	require.Equal(t, bson.Raw(want), got)

	_, err = encodeDoc(bson.D{{Key: "ch", Value: make(chan int)}})
	require.Error(t, err)
}

func TestDecodeDocMatchesUnmarshal(t *testing.T) {
	d := bson.D{
		{Key: "_id", Value: primitive.NewObjectID()},
		{Key: "s", Value: "text"}, {Key: "i32", Value: int32(-5)}, {Key: "i64", Value: int64(1) << 40},
		{Key: "f", Value: 1.5}, {Key: "b", Value: true}, {Key: "null", Value: nil},
		{Key: "date", Value: primitive.NewDateTimeFromTime(time.UnixMilli(1_700_000_000_000))},
		{Key: "ts", Value: primitive.Timestamp{T: 1, I: 2}}, {Key: "dec", Value: primitive.NewDecimal128(1, 2)},
		{Key: "bin", Value: primitive.Binary{Subtype: 4, Data: []byte("0123456789abcdef")}},
		{Key: "min", Value: primitive.MinKey{}}, {Key: "max", Value: primitive.MaxKey{}},
		{Key: "undef", Value: primitive.Undefined{}}, {Key: "re", Value: primitive.Regex{Pattern: "^a", Options: "i"}},
		{Key: "js", Value: primitive.JavaScript("x")}, {Key: "sym", Value: primitive.Symbol("y")},
		{Key: "arr", Value: bson.A{int32(1), "two", bson.D{{Key: "three", Value: bson.A{}}}}},
		{Key: "doc", Value: bson.D{{Key: "nested", Value: bson.D{}}}},
	}
	raw, err := bson.Marshal(d)
	require.NoError(t, err)
	var want bson.D
	require.NoError(t, bson.Unmarshal(raw, &want))
	got, err := decodeDoc(raw)
	require.NoError(t, err)
	require.Equal(t, want, got)

	_, err = decodeDoc([]byte{1, 2})
	require.Error(t, err)
}
