package sync_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"go.mongodb.org/mongo-driver/bson/primitive"

	"github.com/changerelay/changerelay/functions/envelope"
	"github.com/changerelay/changerelay/functions/internal/fixture"
	"github.com/changerelay/changerelay/functions/sync"
)

func TestBadInput(t *testing.T) {
	e := fixture.New(t, fixture.Options{})
	author := e.InsertUser("alice")
	e.InsertArticle(author, "good")
	var good json.RawMessage
	for _, ev := range e.Events(false) {
		if coll, _ := ev.Lookup("ns", "coll").StringValueOK(); coll == "articles" {
			js, err := envelope.EncodeEvent(ev)
			require.NoError(t, err)
			good = js
		}
	}
	require.NotNil(t, good)

	db := e.DB.Name()
	oid := primitive.NewObjectID().Hex()
	event := func(id, op, ns, rest string) string {
		return fmt.Sprintf(`{"_id":{"_data":%q},"operationType":%q,"clusterTime":{"$timestamp":{"t":1,"i":1}},"ns":%s%s}`, id, op, ns, rest)
	}
	articlesNS := fmt.Sprintf(`{"db":%q,"coll":"articles"}`, db)
	key := fmt.Sprintf(`,"documentKey":{"_id":{"$oid":%q}}`, oid)

	cases := []struct {
		name        string
		payload     string
		wantFailed  []string
		wantErr     bool
		goodApplied bool
	}{
		{name: "envelope is not JSON", payload: `{"events": [`, wantErr: true},
		{name: "no events", payload: `{"eventSource":"aws:docdb","events":[]}`},
		{name: "null events", payload: `{"eventSource":"aws:docdb","events":null}`},
		{
			name:        "event that is not extended JSON fails alone",
			payload:     batch(good, `{"_id":{"_data":"bad1"},"clusterTime":{"$timestamp":{"t":"x"}}}`),
			wantFailed:  []string{"bad1"},
			goodApplied: true,
		},
		{
			name:        "unknown operationType",
			payload:     batch(good, event("bad2", "drop", articlesNS, key)),
			wantFailed:  []string{"bad2"},
			goodApplied: true,
		},
		{
			name:        "missing documentKey",
			payload:     batch(good, event("bad3", "delete", articlesNS, "")),
			wantFailed:  []string{"bad3"},
			goodApplied: true,
		},
		{
			name:        "documentKey that is not an ObjectId",
			payload:     batch(good, event("bad4", "delete", articlesNS, `,"documentKey":{"_id":"slug"}`)),
			wantFailed:  []string{"bad4"},
			goodApplied: true,
		},
		{
			name: "tagList of the wrong type",
			payload: batch(good, event("bad5", "insert", articlesNS,
				key+fmt.Sprintf(`,"fullDocument":{"_id":{"$oid":%q},"tagList":"go"}`, oid))),
			wantFailed:  []string{"bad5"},
			goodApplied: true,
		},
		{
			name: "authorId of the wrong type",
			payload: batch(good, event("bad6", "update", articlesNS,
				key+`,"updateDescription":{"updatedFields":{"authorId":42},"removedFields":[]}`)),
			wantFailed:  []string{"bad6"},
			goodApplied: true,
		},
		{
			name:        "update without updateDescription",
			payload:     batch(good, event("bad7", "update", articlesNS, key)),
			wantFailed:  []string{"bad7"},
			goodApplied: true,
		},
		{
			name:        "another collection's event",
			payload:     batch(good, event("bad8", "delete", fmt.Sprintf(`{"db":%q,"coll":"comments"}`, db), key)),
			wantFailed:  []string{"bad8"},
			goodApplied: true,
		},
		{
			name:        "another database's event",
			payload:     batch(good, event("bad9", "delete", `{"db":"elsewhere","coll":"articles"}`, key)),
			wantFailed:  []string{"bad9"},
			goodApplied: true,
		},
		{
			name:        "missing clusterTime",
			payload:     batch(good, strings.Replace(event("bad10", "delete", articlesNS, key), `"clusterTime":{"$timestamp":{"t":1,"i":1}},`, "", 1)),
			wantFailed:  []string{"bad10"},
			goodApplied: true,
		},
		{
			name:        "the same bad event twice is reported once",
			payload:     batch(good, event("bad11", "drop", articlesNS, key), event("bad11", "drop", articlesNS, key)),
			wantFailed:  []string{"bad11"},
			goodApplied: true,
		},
		{
			name:        "an event without id fails the batch, the rest is still applied",
			payload:     batch(good, `{"operationType":"insert"}`),
			wantErr:     true,
			goodApplied: true,
		},
		{name: "an event that is a JSON string", payload: batch(`"hello"`), wantErr: true},
		{name: "a null event", payload: batch(`null`), wantErr: true},
		{
			name:       "every event bad fails the batch",
			payload:    batch(event("bad12", "drop", articlesNS, key), event("bad13", "invalidate", articlesNS, key)),
			wantFailed: []string{"bad12", "bad13"},
			wantErr:    true,
		},
	}
	h := e.Handler("articles")
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.Coll("tags").DeleteMany(e.Ctx, map[string]any{})
			require.NoError(t, err)
			resp, err := h.Handle(e.Ctx, json.RawMessage(tc.payload))
			if tc.wantErr {
				require.ErrorIs(t, err, sync.ErrBatchFailed)
			} else {
				require.NoError(t, err)
			}
			var got []string
			for _, f := range resp.BatchItemFailures {
				got = append(got, f.ItemIdentifier)
			}
			require.ElementsMatch(t, tc.wantFailed, got)
			if tc.goodApplied {
				require.Equal(t, map[string]int64{"good": 1}, e.Tags())
			}
		})
	}
}

func batch(events ...any) string {
	var parts []string
	for _, ev := range events {
		var s string
		switch x := ev.(type) {
		case json.RawMessage:
			s = string(x)
		case string:
			s = x
		}
		parts = append(parts, `{"event":`+s+`}`)
	}
	return `{"eventSource":"aws:docdb","eventSourceArn":"arn:test","events":[` + strings.Join(parts, ",") + `]}`
}
