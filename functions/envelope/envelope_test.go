package envelope_test

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"
	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/bson/bsontype"
	"go.mongodb.org/mongo-driver/bson/primitive"

	"github.com/changerelay/changerelay/functions/envelope"
)

func TestEventRoundTrip(t *testing.T) {
	oid := primitive.NewObjectID()
	raw, err := bson.Marshal(bson.D{
		{Key: "_id", Value: bson.D{{Key: "_data", Value: "8263A1"}}},
		{Key: "operationType", Value: "insert"},
		{Key: "clusterTime", Value: primitive.Timestamp{T: 10, I: 2}},
		{Key: "documentKey", Value: bson.D{{Key: "_id", Value: oid}}},
	})
	require.NoError(t, err)

	js, err := envelope.EncodeEvent(raw)
	require.NoError(t, err)
	require.Contains(t, string(js), `"$timestamp"`)
	require.Contains(t, string(js), `"$oid"`)

	back, err := envelope.DecodeEvent(js)
	require.NoError(t, err)
	require.Equal(t, bson.Raw(raw), back)

	id, err := envelope.EventID(back)
	require.NoError(t, err)
	require.Equal(t, "8263A1", id)

	id, err = envelope.EventIDFromJSON(js)
	require.NoError(t, err)
	require.Equal(t, "8263A1", id)
}

func TestEventIDMissing(t *testing.T) {
	cases := map[string]string{
		"no id":       `{"operationType":"insert"}`,
		"id not doc":  `{"_id":"x"}`,
		"data number": `{"_id":{"_data":5}}`,
		"not json":    `{`,
	}
	for name, in := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := envelope.EventIDFromJSON(json.RawMessage(in))
			require.ErrorIs(t, err, envelope.ErrNoEventID)
		})
	}
}

func TestEnvelopeJSON(t *testing.T) {
	in := `{"eventSource":"aws:docdb","eventSourceArn":"arn:x","events":[{"event":{"_id":{"_data":"01"}}}]}`
	var env envelope.Envelope
	require.NoError(t, json.Unmarshal([]byte(in), &env))
	require.Len(t, env.Events, 1)
	out, err := json.Marshal(envelope.Response{BatchItemFailures: []envelope.BatchItemFailure{{ItemIdentifier: "01"}}})
	require.NoError(t, err)
	require.JSONEq(t, `{"batchItemFailures":[{"itemIdentifier":"01"}]}`, string(out))
}

func TestDecodeRelaxedEvent(t *testing.T) {
	raw, err := envelope.DecodeEvent(json.RawMessage(`{"_id":{"_data":"01"},"wallTime":{"$date":"2025-01-12T14:03:00Z"},"n":1,"big":3000000000,"x":{"$numberDouble":"1.0"}}`))
	require.NoError(t, err)
	require.Equal(t, bsontype.DateTime, raw.Lookup("wallTime").Type)
	require.Equal(t, bsontype.Int32, raw.Lookup("n").Type)
	require.Equal(t, bsontype.Int64, raw.Lookup("big").Type)
	require.Equal(t, bsontype.Double, raw.Lookup("x").Type)
}
