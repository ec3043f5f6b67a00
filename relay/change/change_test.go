package change_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/bson/primitive"

	"github.com/changerelay/changerelay/relay/change"
)

func raw(t *testing.T, d bson.D) bson.Raw {
	t.Helper()
	b, err := bson.Marshal(d)
	require.NoError(t, err)
	return b
}

func TestOrderingKey(t *testing.T) {
	art := primitive.NewObjectID()
	withFull := raw(t, bson.D{
		{Key: "documentKey", Value: bson.D{{Key: "_id", Value: 1}}},
		{Key: "fullDocument", Value: bson.D{{Key: "articleId", Value: art}}},
	})
	withBefore := raw(t, bson.D{
		{Key: "documentKey", Value: bson.D{{Key: "_id", Value: 2}}},
		{Key: "fullDocument", Value: nil},
		{Key: "fullDocumentBeforeChange", Value: bson.D{{Key: "articleId", Value: art}}},
	})
	bare := raw(t, bson.D{{Key: "documentKey", Value: bson.D{{Key: "_id", Value: 2}}}})
	require.Equal(t, change.OrderingKey(withFull, "articleId"), change.OrderingKey(withBefore, "articleId"))
	require.NotEqual(t, change.OrderingKey(withFull, "documentKey"), change.OrderingKey(withBefore, "documentKey"))
	require.Equal(t, change.OrderingKey(withBefore, "documentKey"), change.OrderingKey(bare, "articleId"), "falls back to documentKey")
	require.NotEqual(t, change.OrderingKey(raw(t, bson.D{{Key: "documentKey", Value: bson.D{{Key: "_id", Value: int32(1)}}}}), ""),
		change.OrderingKey(raw(t, bson.D{{Key: "documentKey", Value: bson.D{{Key: "_id", Value: "1"}}}}), ""))
}

func TestParse(t *testing.T) {
	now := time.Now()
	buf := raw(t, bson.D{
		{Key: "_id", Value: bson.D{{Key: "_data", Value: "82000000050000000A"}}},
		{Key: "operationType", Value: "insert"},
		{Key: "clusterTime", Value: primitive.Timestamp{T: 5, I: 10}},
		{Key: "wallTime", Value: primitive.NewDateTimeFromTime(now.Add(-time.Minute))},
		{Key: "ns", Value: bson.D{{Key: "db", Value: "conduit"}, {Key: "coll", Value: "users"}}},
		{Key: "documentKey", Value: bson.D{{Key: "_id", Value: 7}}},
		{Key: "fullDocument", Value: bson.D{{Key: "_id", Value: 7}}},
	})
	ev, err := change.Parse(buf, "documentKey", now)
	require.NoError(t, err)
	clear(buf) // the reader lends its buffer: the event must not keep any of it
	require.Equal(t, "82000000050000000A", ev.ID)
	require.Equal(t, primitive.Timestamp{T: 5, I: 10}, ev.ClusterTime)
	require.Equal(t, "users", ev.Coll)
	require.Contains(t, string(ev.JSON), `"$timestamp"`)
	require.WithinDuration(t, now.Add(-time.Minute), ev.Born(), time.Second)
	ts, ok := change.TokenTime(ev.Token)
	require.True(t, ok)
	require.Equal(t, primitive.Timestamp{T: 5, I: 10}, ts)

	_, err = change.Parse(raw(t, bson.D{{Key: "operationType", Value: "insert"}}), "documentKey", now)
	require.ErrorIs(t, err, change.ErrNotAnEvent)
}

func TestAssembler(t *testing.T) {
	frag := func(n, of int, id string, fields ...bson.E) bson.Raw {
		d := bson.D{{Key: "_id", Value: bson.D{{Key: "_data", Value: id}}}, {Key: "splitEvent", Value: bson.D{{Key: "fragment", Value: n}, {Key: "of", Value: of}}}}
		return raw(t, append(d, fields...))
	}
	var a change.Assembler
	out, err := a.Add(frag(1, 3, "A1", bson.E{Key: "operationType", Value: "update"}, bson.E{Key: "fullDocument", Value: bson.D{{Key: "x", Value: 1}}}))
	require.NoError(t, err)
	require.Nil(t, out)
	require.True(t, a.Pending())
	out, err = a.Add(frag(2, 3, "A2", bson.E{Key: "fullDocumentBeforeChange", Value: bson.D{{Key: "x", Value: 0}}}))
	require.NoError(t, err)
	require.Nil(t, out)
	out, err = a.Add(frag(3, 3, "A3", bson.E{Key: "ns", Value: bson.D{{Key: "coll", Value: "articles"}}}))
	require.NoError(t, err)
	require.False(t, a.Pending())
	require.Equal(t, "A3", out.Lookup("_id", "_data").StringValue())
	require.Equal(t, "update", out.Lookup("operationType").StringValue())
	require.EqualValues(t, 0, out.Lookup("fullDocumentBeforeChange", "x").AsInt64())
	require.Equal(t, "articles", out.Lookup("ns", "coll").StringValue())
	_, err = out.LookupErr("splitEvent")
	require.Error(t, err)

	// out of order: 2 without 1
	_, err = a.Add(frag(2, 2, "B2"))
	require.ErrorIs(t, err, change.ErrFragmentOrder)
	// a whole event passes through
	whole := raw(t, bson.D{{Key: "_id", Value: bson.D{{Key: "_data", Value: "C"}}}})
	out, err = a.Add(whole)
	require.NoError(t, err)
	require.Equal(t, whole, out)
}
