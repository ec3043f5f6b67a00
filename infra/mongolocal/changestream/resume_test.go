package changestream_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/bson/primitive"

	"github.com/changerelay/changerelay/infra/mongolocal/changestream"
	"github.com/changerelay/changerelay/infra/mongolocal/mongoerr"
)

func ids(t *testing.T, evs []event) []int32 {
	t.Helper()
	var out []int32
	for _, e := range evs {
		out = append(out, e.DocumentKey["_id"].(int32))
	}
	return out
}

func TestResumeFromEveryToken(t *testing.T) {
	l := openLog(t, changestream.Config{})
	c := watch(t, l, stream("db", "c", bson.D{}))
	for i := int32(1); i <= 5; i++ {
		appendAll(t, l, insertEntry("db", "c", i, nil), insertEntry("db", "other", i, nil))
	}
	evs := readN(t, c, 5)
	for i, e := range evs {
		for _, opt := range []string{"resumeAfter", "startAfter"} {
			r := watch(t, l, stream("db", "c", bson.D{{Key: opt, Value: e.ID}}))
			b, err := r.Next(context.Background(), 0, 0)
			require.NoError(t, err)
			var rest []event
			for _, raw := range b.Events {
				rest = append(rest, decode(t, raw))
			}
			require.Equal(t, ids(t, evs[i+1:]), ids(t, rest), "%s token %d", opt, i)
		}
	}
}

func TestStartAtOperationTime(t *testing.T) {
	l := openLog(t, changestream.Config{})
	c := watch(t, l, stream("db", "c", bson.D{}))
	appendAll(t, l, insertEntry("db", "c", 1, nil), insertEntry("db", "c", 2, nil), insertEntry("db", "c", 3, nil))
	evs := readN(t, c, 3)

	r := watch(t, l, stream("db", "c", bson.D{{Key: "startAtOperationTime", Value: evs[1].ClusterTime}}))
	require.Equal(t, []int32{2, 3}, ids(t, readN(t, r, 2)))

	// A time after everything: only later writes.
	future := primitive.Timestamp{T: evs[2].ClusterTime.T + 3600}
	f := watch(t, l, stream("db", "c", bson.D{{Key: "startAtOperationTime", Value: future}}))
	appendAll(t, l, insertEntry("db", "c", 4, nil)) // before the start time: skipped
	requireEmpty(t, f)
}

func TestPostBatchResumeToken(t *testing.T) {
	l := openLog(t, changestream.Config{})
	c := watch(t, l, stream("db", "c", bson.D{}))
	initial := requireEmpty(t, c).PostBatchResumeToken
	require.Equal(t, initial, c.PostBatchResumeToken())

	// Writes elsewhere move the high-water mark of a quiet stream.
	appendAll(t, l, insertEntry("db", "other", 1, nil))
	moved := requireEmpty(t, c).PostBatchResumeToken
	require.Greater(t, moved.Lookup("_data").StringValue(), initial.Lookup("_data").StringValue())

	// Resuming from a high-water mark misses nothing and repeats nothing.
	appendAll(t, l, insertEntry("db", "c", 2, nil))
	r := watch(t, l, stream("db", "c", bson.D{{Key: "resumeAfter", Value: moved}}))
	require.Equal(t, []int32{2}, ids(t, readN(t, r, 1)))

	// A batch that ends on an event reports that event's token; one that
	// read past it reports a later high-water mark.
	b, err := c.Next(context.Background(), 0, 0)
	require.NoError(t, err)
	require.Len(t, b.Events, 1)
	require.Equal(t, decode(t, b.Events[0]).ID, b.PostBatchResumeToken)
	appendAll(t, l, insertEntry("db", "c", 3, nil), insertEntry("db", "other", 4, nil))
	b, err = c.Next(context.Background(), 0, 0)
	require.NoError(t, err)
	require.Len(t, b.Events, 1)
	require.Greater(t, b.PostBatchResumeToken.Lookup("_data").StringValue(),
		decode(t, b.Events[0]).ID.Lookup("_data").StringValue())

	// Tokens from a batch cut by batchSize resume exactly after the last event.
	appendAll(t, l, insertEntry("db", "c", 5, nil), insertEntry("db", "c", 6, nil))
	b, err = c.Next(context.Background(), 1, 0)
	require.NoError(t, err)
	require.Equal(t, decode(t, b.Events[0]).ID, b.PostBatchResumeToken)
	r2 := watch(t, l, stream("db", "c", bson.D{{Key: "resumeAfter", Value: b.PostBatchResumeToken}}))
	require.Equal(t, []int32{6}, ids(t, readN(t, r2, 1)))
}

func TestHistoryLost(t *testing.T) {
	l := openLog(t, changestream.Config{MaxEntries: 3})
	c := watch(t, l, stream("db", "c", bson.D{}))
	lagging := watch(t, l, stream("db", "c", bson.D{}))
	appendAll(t, l, insertEntry("db", "c", 1, nil), insertEntry("db", "c", 2, nil))
	evs := readN(t, c, 2)
	appendAll(t, l, insertEntry("db", "c", 3, nil), insertEntry("db", "c", 4, nil), insertEntry("db", "c", 5, nil))

	// Entry 2 is gone: resuming after entry 1 cannot be done.
	_, err := l.Watch(context.Background(), stream("db", "c", bson.D{{Key: "resumeAfter", Value: evs[0].ID}}))
	requireCode(t, err, mongoerr.ChangeStreamHistoryLost)
	_, err = l.Watch(context.Background(), stream("db", "c", bson.D{{Key: "startAtOperationTime", Value: evs[0].ClusterTime}}))
	requireCode(t, err, mongoerr.ChangeStreamHistoryLost)

	// Resuming after entry 2 needs only retained entries.
	r := watch(t, l, stream("db", "c", bson.D{{Key: "resumeAfter", Value: evs[1].ID}}))
	require.Equal(t, []int32{3, 4, 5}, ids(t, readN(t, r, 3)))

	// An open cursor that fell behind retention fails too.
	_, err = lagging.Next(context.Background(), 0, 0)
	requireCode(t, err, mongoerr.ChangeStreamHistoryLost)
	require.Equal(t, "ChangeStreamHistoryLost", mongoerr.As(err).CodeName())
}

func TestRetentionByAge(t *testing.T) {
	l := openLog(t, changestream.Config{MaxAge: time.Hour})
	c := watch(t, l, stream("db", "c", bson.D{}))
	old := insertEntry("db", "c", 1, nil)
	old.WallTime = time.Now().Add(-2 * time.Hour)
	appendAll(t, l, old, insertEntry("db", "c", 2, nil))
	_, err := c.Next(context.Background(), 0, 0)
	requireCode(t, err, mongoerr.ChangeStreamHistoryLost)

	c2 := watch(t, l, stream("db", "c", bson.D{{Key: "startAtOperationTime", Value: l.LastTime()}}))
	require.Equal(t, []int32{2}, ids(t, readN(t, c2, 1)))
}

func TestTokenFromAnotherHistory(t *testing.T) {
	a := openLog(t, changestream.Config{})
	ca := watch(t, a, stream("db", "c", bson.D{}))
	appendAll(t, a, insertEntry("db", "c", 1, nil))
	tok := readN(t, ca, 1)[0].ID

	b := openLog(t, changestream.Config{})
	appendAll(t, b, insertEntry("db", "c", 1, nil), insertEntry("db", "c", 2, nil))
	_, err := b.Watch(context.Background(), stream("db", "c", bson.D{{Key: "resumeAfter", Value: tok}}))
	requireCode(t, err, mongoerr.ChangeStreamHistoryLost)
}
