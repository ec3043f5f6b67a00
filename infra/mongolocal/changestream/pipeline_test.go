package changestream_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/bson/primitive"

	"github.com/changerelay/changerelay/infra/mongolocal/changestream"
	"github.com/changerelay/changerelay/infra/mongolocal/mongoerr"
)

func TestWatchErrors(t *testing.T) {
	tok := bson.D{{Key: "_data", Value: "82" + "00000001" + "00000001" + "0000000000000001" + "01" + "0000"}}
	tests := []struct {
		name string
		req  changestream.Request
		code int
	}{
		{"resumeAfter and startAfter", stream("db", "c", bson.D{{Key: "resumeAfter", Value: tok}, {Key: "startAfter", Value: tok}}), 50865},
		{"token and startAtOperationTime", stream("db", "c", bson.D{{Key: "resumeAfter", Value: tok},
			{Key: "startAtOperationTime", Value: bson.D{}}}), mongoerr.TypeMismatch},
		{"token and time", stream("db", "c", bson.D{{Key: "startAfter", Value: tok},
			{Key: "startAtOperationTime", Value: tsValue()}}), 40674},
		{"bad fullDocument", stream("db", "c", bson.D{{Key: "fullDocument", Value: "sometimes"}}), mongoerr.BadValue},
		{"fullDocument type", stream("db", "c", bson.D{{Key: "fullDocument", Value: 1}}), mongoerr.TypeMismatch},
		{"bad fullDocumentBeforeChange", stream("db", "c", bson.D{{Key: "fullDocumentBeforeChange", Value: "default"}}), mongoerr.BadValue},
		{"unknown option", stream("db", "c", bson.D{{Key: "fullDoc", Value: "x"}}), mongoerr.Location40415},
		{"token without _data", stream("db", "c", bson.D{{Key: "resumeAfter", Value: bson.D{}}}), 40647},
		{"token not hex", stream("db", "c", bson.D{{Key: "resumeAfter", Value: bson.D{{Key: "_data", Value: "zz"}}}}), mongoerr.FailedToParse},
		{"foreign token", stream("db", "c", bson.D{{Key: "resumeAfter", Value: bson.D{{Key: "_data", Value: "8263A1"}}}}), 260},
		{"cluster stream off admin", stream("db", "", bson.D{{Key: "allChangesForCluster", Value: true}}), mongoerr.InvalidOptions},
		{"cluster stream on a collection", stream("admin", "c", bson.D{{Key: "allChangesForCluster", Value: true}}), mongoerr.InvalidOptions},
		{"admin database", stream("admin", "", bson.D{}), mongoerr.InvalidNamespace},
		{"local collection", stream("local", "oplog.rs", bson.D{}), mongoerr.InvalidNamespace},
		{"unknown stage", stream("db", "c", bson.D{}, bson.D{{Key: "$frobnicate", Value: bson.D{}}}), mongoerr.UnrecognizedPipelineStage},
		{"forbidden stage", stream("db", "c", bson.D{}, bson.D{{Key: "$group", Value: bson.D{{Key: "_id", Value: nil}}}}), mongoerr.IllegalOperation},
		{"second $changeStream", stream("db", "c", bson.D{}, bson.D{{Key: "$changeStream", Value: bson.D{}}}), 40602},
		{"split not last", stream("db", "c", bson.D{}, bson.D{{Key: "$changeStreamSplitLargeEvent", Value: bson.D{}}},
			bson.D{{Key: "$match", Value: bson.D{}}}), 7182802},
		{"split twice", stream("db", "c", bson.D{}, bson.D{{Key: "$changeStreamSplitLargeEvent", Value: bson.D{}}},
			bson.D{{Key: "$changeStreamSplitLargeEvent", Value: bson.D{}}}), 7182802},
		{"split with arguments", stream("db", "c", bson.D{}, bson.D{{Key: "$changeStreamSplitLargeEvent", Value: bson.D{{Key: "x", Value: 1}}}}), 7182800},
		{"bad $match operator", stream("db", "c", bson.D{}, bson.D{{Key: "$match", Value: bson.D{{Key: "a", Value: bson.D{{Key: "$frob", Value: 1}}}}}}), mongoerr.BadValue},
		{"unsupported expression", stream("db", "c", bson.D{}, bson.D{{Key: "$set", Value: bson.D{{Key: "x", Value: bson.D{{Key: "$concat", Value: bson.A{"a"}}}}}}}), 168},
		{"two fields in a stage", stream("db", "c", bson.D{}, bson.D{{Key: "$match", Value: bson.D{}}, {Key: "$project", Value: bson.D{}}}), 40323},
		{"$changeStream not a document", changestream.Request{DB: "db", Coll: "c", Pipeline: []bson.Raw{mustRaw(bson.D{{Key: "$changeStream", Value: 1}})}}, 50808},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := openLog(t, changestream.Config{})
			c, err := l.Watch(context.Background(), tt.req)
			require.Nil(t, c)
			requireCode(t, err, tt.code)
		})
	}
}

func tsValue() any { return primitive.Timestamp{T: 1, I: 1} }

func TestPipelineStages(t *testing.T) {
	tests := []struct {
		name   string
		stages []bson.D
		check  func(t *testing.T, evs []bson.Raw)
	}{
		{"$match on operationType", []bson.D{{{Key: "$match", Value: bson.D{{Key: "operationType", Value: bson.D{{Key: "$in", Value: bson.A{"update", "delete"}}}}}}}},
			func(t *testing.T, evs []bson.Raw) {
				require.Len(t, evs, 2)
				require.Equal(t, "update", evs[0].Lookup("operationType").StringValue())
				require.Equal(t, "delete", evs[1].Lookup("operationType").StringValue())
			}},
		{"$match on fullDocument", []bson.D{{{Key: "$match", Value: bson.D{{Key: "fullDocument.n", Value: bson.D{{Key: "$gte", Value: 2}}}}}}},
			func(t *testing.T, evs []bson.Raw) {
				require.Len(t, evs, 1)
				require.Equal(t, int32(2), evs[0].Lookup("documentKey", "_id").Int32())
			}},
		{"$project inclusion", []bson.D{{{Key: "$project", Value: bson.D{{Key: "operationType", Value: 1}, {Key: "documentKey", Value: 1}}}}},
			func(t *testing.T, evs []bson.Raw) {
				require.Len(t, evs, 4)
				keys := func(r bson.Raw) []string {
					el, _ := r.Elements()
					var k []string
					for _, e := range el {
						k = append(k, e.Key())
					}
					return k
				}
				require.ElementsMatch(t, []string{"_id", "operationType", "documentKey"}, keys(evs[0]))
			}},
		{"$project exclusion", []bson.D{{{Key: "$project", Value: bson.D{{Key: "fullDocument", Value: 0}}}}},
			func(t *testing.T, evs []bson.Raw) {
				_, err := evs[0].LookupErr("fullDocument")
				require.Error(t, err)
				require.Equal(t, "insert", evs[0].Lookup("operationType").StringValue())
			}},
		{"$addFields, $set, $unset", []bson.D{
			{{Key: "$addFields", Value: bson.D{{Key: "copied", Value: "$documentKey._id"}, {Key: "lit", Value: bson.D{{Key: "$literal", Value: "$x"}}}}}},
			{{Key: "$set", Value: bson.D{{Key: "nested.k", Value: 5}}}},
			{{Key: "$unset", Value: bson.A{"ns", "wallTime"}}},
		}, func(t *testing.T, evs []bson.Raw) {
			require.Equal(t, int32(1), evs[0].Lookup("copied").Int32())
			require.Equal(t, "$x", evs[0].Lookup("lit").StringValue())
			require.Equal(t, int32(5), evs[0].Lookup("nested", "k").Int32())
			_, err := evs[0].LookupErr("ns")
			require.Error(t, err)
		}},
		{"$replaceRoot keeping _id", []bson.D{{{Key: "$replaceRoot", Value: bson.D{{Key: "newRoot", Value: bson.D{
			{Key: "_id", Value: "$_id"}, {Key: "op", Value: "$operationType"}}}}}}},
			func(t *testing.T, evs []bson.Raw) {
				require.Len(t, evs, 4)
				require.Equal(t, "insert", evs[0].Lookup("op").StringValue())
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := openLog(t, changestream.Config{})
			c := watch(t, l, stream("db", "c", bson.D{}, tt.stages...))
			appendAll(t, l,
				insertEntry("db", "c", 1, bson.D{{Key: "n", Value: 1}}),
				insertEntry("db", "c", 2, bson.D{{Key: "n", Value: 2}}),
				updateEntry("db", "c", 1, bson.D{{Key: "n", Value: 3}}, nil),
				deleteEntry("db", "c", 2),
			)
			b, err := c.Next(context.Background(), 0, 0)
			require.NoError(t, err)
			tt.check(t, b.Events)
		})
	}
}

func TestProjectingOutIDIsFatal(t *testing.T) {
	for _, st := range []bson.D{
		{{Key: "$project", Value: bson.D{{Key: "_id", Value: 0}}}},
		{{Key: "$unset", Value: "_id"}},
		{{Key: "$set", Value: bson.D{{Key: "_id", Value: "mine"}}}},
		{{Key: "$replaceRoot", Value: bson.D{{Key: "newRoot", Value: "$documentKey"}}}},
	} {
		l := openLog(t, changestream.Config{})
		c := watch(t, l, stream("db", "c", bson.D{}, st))
		appendAll(t, l, insertEntry("db", "c", 1, nil))
		_, err := c.Next(context.Background(), 0, 0)
		requireCode(t, err, mongoerr.ChangeStreamFatalError)
		// The cursor is dead afterwards.
		_, err = c.Next(context.Background(), 0, 0)
		requireCode(t, err, mongoerr.ChangeStreamFatalError)
	}
}

func TestFilteredInvalidateStillEndsTheStream(t *testing.T) {
	l := openLog(t, changestream.Config{})
	c := watch(t, l, stream("db", "c", bson.D{}, bson.D{{Key: "$match", Value: bson.D{{Key: "operationType", Value: "insert"}}}}))
	appendAll(t, l, insertEntry("db", "c", 1, nil), oplog("drop", "db", "c"))
	b, err := c.Next(context.Background(), 0, 0)
	require.NoError(t, err)
	require.Len(t, b.Events, 1)
	require.True(t, b.Exhausted)
}
