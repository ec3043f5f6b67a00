package checkpoint_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/bson/primitive"

	"github.com/changerelay/changerelay/relay/change"
	"github.com/changerelay/changerelay/relay/checkpoint"
)

func tok(s string) bson.Raw {
	b, _ := bson.Marshal(bson.D{{Key: "_data", Value: s}})
	return b
}

func ev(s string, t uint32) *change.Event {
	return &change.Event{ID: s, Token: tok(s), ClusterTime: primitive.Timestamp{T: t}}
}

func TestTrackerAdvancesOnlyPastContiguousDone(t *testing.T) {
	start := checkpoint.TimePosition(primitive.Timestamp{T: 1})
	tr := checkpoint.NewTracker(start)
	a, b, c := ev("A", 2), ev("B", 3), ev("C", 4)
	tr.Add(a)
	tr.Add(b)
	tr.Mark(checkpoint.TokenPosition(tok("SKIP"), time.Now())) // a skipped event
	tr.Add(c)
	require.Equal(t, start, tr.Safe())
	require.Equal(t, 3, tr.Pending())

	tr.Done(b.Seq)
	require.Equal(t, start, tr.Safe(), "A is not done")
	tr.Done(a.Seq)
	require.Equal(t, tok("SKIP"), tr.Safe().Token, "A, B and the skipped event are done")
	tr.Done(c.Seq)
	require.Equal(t, tok("C"), tr.Safe().Token)
	require.Equal(t, primitive.Timestamp{T: 4}, tr.Safe().ClusterTime)

	// postBatchResumeToken when nothing is pending moves at once
	tr.Mark(checkpoint.TokenPosition(tok("PBRT"), time.Now()))
	require.Equal(t, tok("PBRT"), tr.Safe().Token)
	require.Zero(t, tr.Pending())
	tr.Done(c.Seq) // twice is harmless
	require.Equal(t, tok("PBRT"), tr.Safe().Token)
}

func TestTrackerMarksCollapseBehindPending(t *testing.T) {
	tr := checkpoint.NewTracker(checkpoint.Position{})
	a := ev("A", 2)
	tr.Add(a)
	for i := range 10000 {
		tr.Mark(checkpoint.TimePosition(primitive.Timestamp{T: uint32(10 + i)}))
	}
	require.True(t, tr.Safe().IsZero())
	tr.Done(a.Seq)
	require.Equal(t, primitive.Timestamp{T: 10009}, tr.Safe().ClusterTime)
}

func TestTokenTime(t *testing.T) {
	p := checkpoint.TokenPosition(tok("8265A1B2C3000000012B"), time.Now())
	require.Equal(t, uint32(0x65A1B2C3), p.ClusterTime.T)
	require.Equal(t, uint32(1), p.ClusterTime.I)
	now := time.Now()
	p = checkpoint.TokenPosition(tok("zz"), now)
	require.Equal(t, now, p.Time)
}
