package checkpoint_test

import (
	"math/rand/v2"
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

// A slow event at the head must not make the tracker hold every position
// read behind it: done runs collapse, and the safe position is unchanged.
func TestTrackerStaysSmallBehindASlowHead(t *testing.T) {
	tr := checkpoint.NewTracker(checkpoint.Position{})
	slow := ev("SLOW", 1)
	tr.Add(slow)
	const inFlight = 50
	var window []*change.Event
	for i := range 200_000 {
		e := ev("E", uint32(10+2*i))
		tr.Add(e)
		tr.Mark(checkpoint.TimePosition(primitive.Timestamp{T: uint32(11 + 2*i)})) // a skipped event
		window = append(window, e)
		if len(window) > inFlight {
			tr.Done(window[0].Seq)
			window = window[1:]
		}
		if n := tr.Len(); n > 4*(inFlight+1)+1024 {
			t.Fatalf("after %d events behind a slow head the tracker holds %d positions", i+1, n)
		}
	}
	require.True(t, tr.Safe().IsZero(), "the slow event is not done")
	for _, e := range window {
		tr.Done(e.Seq)
	}
	require.True(t, tr.Safe().IsZero())
	tr.Done(slow.Seq)
	require.Equal(t, primitive.Timestamp{T: 11 + 2*199_999}, tr.Safe().ClusterTime)
	require.Zero(t, tr.Len())
}

// The safe position matches a plain model (the last position of the
// longest done prefix) under random adds, marks and completions.
func TestTrackerMatchesModel(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 11))
	for round := range 50 {
		tr := checkpoint.NewTracker(checkpoint.Position{})
		type pos struct {
			t    uint32
			done bool
			ev   *change.Event
		}
		var model []*pos
		var open []*pos
		safe := uint32(0)
		for i := range 5000 {
			ts := uint32(i + 1)
			switch r := rng.IntN(10); {
			case r < 4:
				e := ev("E", ts)
				tr.Add(e)
				p := &pos{t: ts, ev: e}
				model = append(model, p)
				open = append(open, p)
			case r < 7:
				tr.Mark(checkpoint.TimePosition(primitive.Timestamp{T: ts}))
				model = append(model, &pos{t: ts, done: true})
			default:
				if len(open) == 0 {
					continue
				}
				j := rng.IntN(len(open))
				if rng.IntN(4) == 0 {
					j = 0 // often the oldest
				}
				open[j].done = true
				tr.Done(open[j].ev.Seq)
				open = append(open[:j], open[j+1:]...)
			}
			for len(model) > 0 && model[0].done {
				safe = model[0].t
				model = model[1:]
			}
			require.Equal(t, safe, tr.Safe().ClusterTime.T, "round %d step %d", round, i)
		}
	}
}

// A position kept by the tracker owns its token: the event's buffer can be
// reused (the reader lends the driver's buffer) without changing it.
func TestPositionsOwnTheirToken(t *testing.T) {
	raw, err := bson.Marshal(bson.D{{Key: "_id", Value: bson.D{{Key: "_data", Value: "82AA"}}},
		{Key: "clusterTime", Value: primitive.Timestamp{T: 5}}})
	require.NoError(t, err)
	p := checkpoint.RawPosition(raw)
	e := ev("AA", 6)
	q := checkpoint.EventPosition(e)
	for i := range raw {
		raw[i] = 0
	}
	for i := range e.Token {
		e.Token[i] = 0
	}
	require.Equal(t, tok("82AA"), p.Token)
	require.Equal(t, tok("AA"), q.Token)
}
