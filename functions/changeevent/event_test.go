package changeevent_test

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"
	"go.mongodb.org/mongo-driver/bson/primitive"

	"github.com/changerelay/changerelay/functions/changeevent"
)

const base = `"_id":{"_data":"826B"},"clusterTime":{"$timestamp":{"t":7,"i":3}},"ns":{"db":"conduit","coll":"articles"},"documentKey":{"_id":{"$oid":"65a1f1d7e4b0a1b2c3d4e601"}}`

func TestDecode(t *testing.T) {
	cases := []struct {
		name    string
		event   string
		wantID  string
		wantErr bool
		check   func(t *testing.T, ev changeevent.Event)
	}{
		{
			name:   "insert",
			event:  `{` + base + `,"operationType":"insert","fullDocument":{"_id":{"$oid":"65a1f1d7e4b0a1b2c3d4e601"},"tagList":["go"]}}`,
			wantID: "826B",
			check: func(t *testing.T, ev changeevent.Event) {
				require.Equal(t, changeevent.OpInsert, ev.Op)
				require.Equal(t, primitive.Timestamp{T: 7, I: 3}, ev.ClusterTime)
				require.Equal(t, "conduit", ev.DB)
				require.Equal(t, "articles", ev.Coll)
				require.NotNil(t, ev.FullDocument)
				require.True(t, ev.Touches("anything"))
			},
		},
		{
			name:   "update",
			event:  `{` + base + `,"operationType":"update","updateDescription":{"updatedFields":{"tagList.2":"x"},"removedFields":["bio"],"truncatedArrays":[{"field":"list","newSize":1}]}}`,
			wantID: "826B",
			check: func(t *testing.T, ev changeevent.Event) {
				require.True(t, ev.Touches("tagList"))
				require.True(t, ev.Touches("bio"))
				require.True(t, ev.Touches("list"))
				require.False(t, ev.Touches("tag"))
				require.Equal(t, []string{"bio"}, ev.Removed)
			},
		},
		{
			name:   "delete with pre-image",
			event:  `{` + base + `,"operationType":"delete","fullDocumentBeforeChange":{"tagList":["a"]}}`,
			wantID: "826B",
			check: func(t *testing.T, ev changeevent.Event) {
				require.NotNil(t, ev.Before)
				require.Nil(t, ev.FullDocument)
			},
		},
		{
			name:   "null images",
			event:  `{` + base + `,"operationType":"delete","fullDocumentBeforeChange":null,"fullDocument":null}`,
			wantID: "826B",
			check:  func(t *testing.T, ev changeevent.Event) { require.Nil(t, ev.Before) },
		},
		{name: "not extended JSON", event: `{"_id":{"_data":"x"},"a":{"$oid":"zz"}}`, wantID: "x", wantErr: true},
		{name: "no id", event: `{"operationType":"insert"}`, wantErr: true},
		{name: "id not a string", event: `{"_id":{"_data":1}}`, wantErr: true},
		{name: "drop", event: `{` + base + `,"operationType":"drop"}`, wantID: "826B", wantErr: true},
		{name: "operationType not a string", event: `{` + base + `,"operationType":1}`, wantID: "826B", wantErr: true},
		{name: "clusterTime a date", event: `{"_id":{"_data":"y"},"operationType":"delete","clusterTime":{"$date":"2025-01-01T00:00:00Z"}}`, wantID: "y", wantErr: true},
		{name: "ns missing", event: `{"_id":{"_data":"y"},"operationType":"delete","clusterTime":{"$timestamp":{"t":1,"i":1}}}`, wantID: "y", wantErr: true},
		{name: "documentKey without _id", event: `{"_id":{"_data":"y"},"operationType":"delete","clusterTime":{"$timestamp":{"t":1,"i":1}},"ns":{"db":"d","coll":"c"},"documentKey":{}}`, wantID: "y", wantErr: true},
		{name: "insert without fullDocument", event: `{` + base + `,"operationType":"insert"}`, wantID: "826B", wantErr: true},
		{name: "fullDocument a string", event: `{` + base + `,"operationType":"insert","fullDocument":"x"}`, wantID: "826B", wantErr: true},
		{name: "update without description", event: `{` + base + `,"operationType":"update"}`, wantID: "826B", wantErr: true},
		{name: "removedFields not strings", event: `{` + base + `,"operationType":"update","updateDescription":{"updatedFields":{},"removedFields":[1]}}`, wantID: "826B", wantErr: true},
		{name: "updatedFields an array", event: `{` + base + `,"operationType":"update","updateDescription":{"updatedFields":[]}}`, wantID: "826B", wantErr: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ev, id, err := changeevent.Decode(json.RawMessage(tc.event))
			require.Equal(t, tc.wantID, id)
			if tc.wantErr {
				require.ErrorIs(t, err, changeevent.ErrInvalid)
				return
			}
			require.NoError(t, err)
			tc.check(t, ev)
		})
	}
}
