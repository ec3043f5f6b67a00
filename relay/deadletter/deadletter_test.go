package deadletter_test

import (
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.mongodb.org/mongo-driver/bson"

	"github.com/changerelay/changerelay/infra/mongotest"
	"github.com/changerelay/changerelay/relay/change"
	"github.com/changerelay/changerelay/relay/deadletter"
)

// fakeSQS answers SendMessage (AWS JSON 1.0) and records the bodies.
type fakeSQS struct {
	mu     sync.Mutex
	bodies []string
	queue  []string
}

func (f *fakeSQS) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	var in struct{ QueueUrl, MessageBody string }
	_ = json.Unmarshal(b, &in)
	if r.Header.Get("X-Amz-Target") != "AmazonSQS.SendMessage" {
		http.Error(w, "unexpected "+r.Header.Get("X-Amz-Target"), http.StatusBadRequest)
		return
	}
	f.mu.Lock()
	f.bodies = append(f.bodies, in.MessageBody)
	f.queue = append(f.queue, in.QueueUrl)
	f.mu.Unlock()
	sum := md5.Sum([]byte(in.MessageBody))
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	_ = json.NewEncoder(w).Encode(map[string]string{"MessageId": "m-1", "MD5OfMessageBody": hex.EncodeToString(sum[:])})
}

func event(t *testing.T, id string, pad int) *change.Event {
	raw, err := bson.Marshal(bson.D{
		{Key: "_id", Value: bson.D{{Key: "_data", Value: id}}},
		{Key: "operationType", Value: "update"},
		{Key: "ns", Value: bson.D{{Key: "db", Value: "conduit"}, {Key: "coll", Value: "users"}}},
		{Key: "documentKey", Value: bson.D{{Key: "_id", Value: 7}}},
		{Key: "fullDocument", Value: bson.D{{Key: "bio", Value: strings.Repeat("x", pad)}}},
	})
	require.NoError(t, err)
	ev, err := change.Parse(raw, "documentKey", time.Now())
	require.NoError(t, err)
	ev.Record(change.Attempt{At: time.Now(), Error: "boom", Kind: "function"}, true)
	return ev
}

func TestDeadLetterToCollectionAndSQS(t *testing.T) {
	db := mongotest.Database(t)
	fake := &fakeSQS{}
	srv := httptest.NewServer(fake)
	defer srv.Close()
	queue := srv.URL + "/000000000000/relay-dlq"
	sender, err := deadletter.NewSQSSender(t.Context(), queue, "us-east-1", srv.URL, true)
	require.NoError(t, err)
	store := deadletter.NewStore(db, "_relay_deadletters", sender)

	ev := event(t, "82AA", 10)
	require.NoError(t, store.DeadLetter(t.Context(), "users", "users", ev, "failed 1 attempts"))
	// the same event again (after a restart) updates its letter
	require.NoError(t, store.DeadLetter(t.Context(), "users", "users", ev, "failed 1 attempts"))
	big := event(t, "82BB", 300<<10)
	require.NoError(t, store.DeadLetter(t.Context(), "users", "users", big, "too large"))

	letters, err := store.List(t.Context(), deadletter.Filter{Route: "users"})
	require.NoError(t, err)
	require.Len(t, letters, 2)
	require.Equal(t, "users/82AA", letters[0].ID)
	require.Equal(t, "failed 1 attempts", letters[0].Reason)
	require.Len(t, letters[0].Attempts, 1)
	require.Equal(t, "update", letters[0].OperationType)
	require.NotNil(t, letters[0].Event)
	counts, err := store.Count(t.Context())
	require.NoError(t, err)
	require.Equal(t, map[string]int{"users": 2}, counts)

	fake.mu.Lock()
	defer fake.mu.Unlock()
	require.Len(t, fake.bodies, 3)
	require.Equal(t, queue, fake.queue[0])
	var msg map[string]any
	require.NoError(t, json.Unmarshal([]byte(fake.bodies[0]), &msg))
	require.Equal(t, "users/82AA", msg["id"])
	require.NotNil(t, msg["event"], "the event travels in the message")
	msg = nil
	require.NoError(t, json.Unmarshal([]byte(fake.bodies[2]), &msg))
	require.Nil(t, msg["event"], "an event too large for SQS is left out")
	require.Equal(t, true, msg["eventOmitted"])
	require.Less(t, len(fake.bodies[2]), 256<<10)
}
