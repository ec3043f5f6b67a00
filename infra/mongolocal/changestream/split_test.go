package changestream_test

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"go.mongodb.org/mongo-driver/bson"

	"github.com/changerelay/changerelay/infra/mongolocal/changestream"
	"github.com/changerelay/changerelay/infra/mongolocal/mongoerr"
)

// largeUpdate is an update whose event with both images exceeds 16 MB
// (each part alone is under it), as in MongoDB's own split tests.
func largeUpdate(id int32) changestream.Entry {
	big := strings.Repeat("x", 9<<20)
	pre := bson.D{{Key: "_id", Value: id}, {Key: "a", Value: big}}
	post := bson.D{{Key: "_id", Value: id}, {Key: "a", Value: strings.Repeat("y", 9<<20)}}
	e := updateEntry("db", "c", id, bson.D{{Key: "a", Value: strings.Repeat("y", 9<<20)}}, post)
	e.PreImage, e.PostImage = &pre, &post
	return e
}

func TestLargeEventWithoutSplit(t *testing.T) {
	l := openLog(t, changestream.Config{})
	images := bson.D{{Key: "fullDocument", Value: "required"}, {Key: "fullDocumentBeforeChange", Value: "required"}}
	c := watch(t, l, stream("db", "c", images))
	plain := watch(t, l, stream("db", "c", bson.D{}))
	appendAll(t, l, largeUpdate(1))
	_, err := c.Next(context.Background(), 0, 0)
	requireCode(t, err, mongoerr.Location10334)
	require.Equal(t, "BSONObjectTooLarge", mongoerr.As(err).CodeName())

	// Without images the same event fits.
	b, err := plain.Next(context.Background(), 0, 0)
	require.NoError(t, err)
	require.Len(t, b.Events, 1)
	_, hasSplit := b.Events[0].LookupErr("splitEvent")
	require.Error(t, hasSplit)
}

func TestSplitLargeEvent(t *testing.T) {
	l := openLog(t, changestream.Config{})
	images := bson.D{{Key: "fullDocument", Value: "required"}, {Key: "fullDocumentBeforeChange", Value: "required"}}
	split := bson.D{{Key: "$changeStreamSplitLargeEvent", Value: bson.D{}}}
	c := watch(t, l, stream("db", "c", images, split))
	start := c.PostBatchResumeToken()
	appendAll(t, l, largeUpdate(1), insertEntry("db", "c", 2, nil))

	var frags []bson.Raw
	for len(frags) < 4 {
		b, err := c.Next(context.Background(), 0, 0)
		require.NoError(t, err)
		require.NotEmpty(t, b.Events)
		for _, ev := range b.Events {
			require.LessOrEqual(t, len(ev), 19<<20)
		}
		frags = append(frags, b.Events...)
	}
	require.Len(t, frags, 4)
	// Reassemble: every field but _id and splitEvent, from fragments 1..3.
	whole := bson.M{}
	var tokens []bson.Raw
	for i, f := range frags[:3] {
		e := decode(t, f)
		require.Equal(t, bson.M{"fragment": int32(i + 1), "of": int32(3)}, e.SplitEvent)
		tokens = append(tokens, e.ID)
		var m bson.M
		require.NoError(t, bson.Unmarshal(f, &m))
		delete(m, "_id")
		delete(m, "splitEvent")
		for k, v := range m {
			require.NotContains(t, whole, k)
			whole[k] = v
		}
	}
	require.Equal(t, "update", whole["operationType"])
	require.Len(t, whole["fullDocument"].(bson.M)["a"], 9<<20)
	require.Len(t, whole["fullDocumentBeforeChange"].(bson.M)["a"], 9<<20)
	require.Len(t, whole["updateDescription"].(bson.M)["updatedFields"].(bson.M)["a"], 9<<20)
	require.Equal(t, "insert", decode(t, frags[3]).OperationType)
	for i := 1; i < len(tokens); i++ {
		require.Less(t, tokens[i-1].Lookup("_data").StringValue(), tokens[i].Lookup("_data").StringValue())
	}

	// Resuming from a fragment returns the remaining fragments, then the
	// next event; from the last fragment, the next event.
	r := watch(t, l, stream("db", "c", append(bson.D{{Key: "resumeAfter", Value: tokens[1]}}, images...), split))
	b, err := r.Next(context.Background(), 0, 0)
	require.NoError(t, err)
	require.Len(t, b.Events, 2)
	require.Equal(t, bson.M{"fragment": int32(3), "of": int32(3)}, decode(t, b.Events[0]).SplitEvent)
	require.Equal(t, "insert", decode(t, b.Events[1]).OperationType)

	r2 := watch(t, l, stream("db", "c", append(bson.D{{Key: "resumeAfter", Value: tokens[2]}}, images...), split))
	require.Equal(t, []string{"insert"}, ops(readN(t, r2, 1)))

	// Resuming from a fragment without the split stage is refused.
	_, err = l.Watch(context.Background(), stream("db", "c", append(bson.D{{Key: "resumeAfter", Value: tokens[1]}}, images...)))
	requireCode(t, err, mongoerr.ChangeStreamFatalError)

	// Resuming from a fragment with a pipeline that makes the event small
	// cannot find the resume point.
	r3 := watch(t, l, stream("db", "c", bson.D{{Key: "resumeAfter", Value: tokens[1]}}, split))
	_, err = r3.Next(context.Background(), 0, 0)
	requireCode(t, err, mongoerr.ChangeStreamFatalError)

	// The whole stream from its start, split, yields the same tokens.
	r4 := watch(t, l, stream("db", "c", append(bson.D{{Key: "resumeAfter", Value: start}}, images...), split))
	again := readN(t, r4, 3)
	for i := range again {
		require.Equal(t, tokens[i], again[i].ID)
	}
}

func TestBatchesStayUnder16MB(t *testing.T) {
	l := openLog(t, changestream.Config{})
	c := watch(t, l, stream("db", "c", bson.D{}))
	payload := strings.Repeat("z", 3<<20)
	for i := int32(0); i < 12; i++ {
		appendAll(t, l, insertEntry("db", "c", i, bson.D{{Key: "p", Value: payload}}))
	}
	total := 0
	for total < 12 {
		b, err := c.Next(context.Background(), 0, 0)
		require.NoError(t, err)
		require.NotEmpty(t, b.Events)
		size := 0
		for _, e := range b.Events {
			size += len(e)
		}
		require.LessOrEqual(t, size, 19<<20)
		total += len(b.Events)
	}
	require.Equal(t, 12, total)
}

// TestManySmallEventsFitOneReply: a batch of many small events, wrapped in a
// getMore reply, stays within the reply limit (maxBsonObjectSize + 16 KiB):
// each array element costs more than its own bytes.
func TestManySmallEventsFitOneReply(t *testing.T) {
	if testing.Short() {
		t.Skip("appends 100,000 events")
	}
	l := openLog(t, changestream.Config{})
	c := watch(t, l, stream("db", "c", bson.D{}))
	const n = 100_000
	pad := strings.Repeat("x", 100)
	entries := make([]changestream.Entry, 0, 1000)
	for i := int32(0); i < n; i++ {
		entries = append(entries, insertEntry("db", "c", i, bson.D{{Key: "p", Value: pad}}))
		if len(entries) == cap(entries) {
			appendAll(t, l, entries...)
			entries = entries[:0]
		}
	}
	total, batches := 0, 0
	for total < n {
		b, err := c.Next(context.Background(), 0, 0)
		require.NoError(t, err)
		require.NotEmpty(t, b.Events)
		arr := make(bson.A, len(b.Events))
		for i, e := range b.Events {
			arr[i] = e
		}
		reply, err := bson.Marshal(bson.D{{Key: "cursor", Value: bson.D{
			{Key: "nextBatch", Value: arr},
			{Key: "id", Value: int64(1)},
			{Key: "ns", Value: "db.c"},
			{Key: "postBatchResumeToken", Value: b.PostBatchResumeToken},
		}}, {Key: "ok", Value: 1.0}})
		require.NoError(t, err)
		require.LessOrEqual(t, len(reply), 16<<20+16<<10)
		total += len(b.Events)
		batches++
	}
	require.Equal(t, n, total)
	require.Greater(t, batches, 1, "the events exceed one reply, so they must span batches")
}
