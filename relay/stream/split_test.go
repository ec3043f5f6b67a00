package stream_test

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.mongodb.org/mongo-driver/bson"

	"github.com/changerelay/changerelay/infra/mongotest"
	"github.com/changerelay/changerelay/relay/stream"
)

// An update whose pre- and post-image together exceed 16 MB comes as
// $changeStreamSplitLargeEvent fragments; the reader hands over one whole
// event.
func TestLargeEventIsReassembled(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: writes 9 MB documents")
	}
	db := mongotest.Database(t)
	ctx := t.Context()
	require.NoError(t, db.RunCommand(ctx, bson.D{{Key: "create", Value: "big"},
		{Key: "changeStreamPreAndPostImages", Value: bson.D{{Key: "enabled", Value: true}}}}).Err())
	coll := db.Collection("big")
	_, err := coll.InsertOne(ctx, bson.D{{Key: "_id", Value: int32(1)}, {Key: "blob", Value: strings.Repeat("a", 9<<20)}})
	require.NoError(t, err)

	c := cfg("big")
	c.FullDocument, c.FullDocumentBeforeChange = "whenAvailable", "whenAvailable"
	s := &sink{}
	run(t, stream.New(c, db, s, nil, nil, testLog()), now(t, db))
	_, err = coll.UpdateOne(ctx, bson.D{{Key: "_id", Value: int32(1)}}, bson.D{{Key: "$set", Value: bson.D{{Key: "blob", Value: strings.Repeat("b", 9<<20)}}}})
	require.NoError(t, err)
	_, err = coll.InsertOne(ctx, bson.D{{Key: "_id", Value: int32(2)}})
	require.NoError(t, err)

	require.Eventually(t, func() bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		return len(s.ids) > 0 && s.ids[len(s.ids)-1] == 2
	}, 30*time.Second, 10*time.Millisecond)
	s.mu.Lock()
	defer s.mu.Unlock()
	// (the insert of document 1 may come first: the start time is inclusive)
	n := len(s.ops)
	require.Equal(t, []string{"update", "insert"}, s.ops[n-2:])
	up := s.raws[n-2]
	require.Len(t, up.Lookup("fullDocument", "blob").StringValue(), 9<<20)
	require.Len(t, up.Lookup("fullDocumentBeforeChange", "blob").StringValue(), 9<<20)
	require.Greater(t, len(up), 16<<20, "the whole event is over 16 MB")
	_, err = up.LookupErr("splitEvent")
	require.Error(t, err, "fragments are merged")
}
