package changestream

import (
	"math/rand"
	"sort"
	"testing"

	"github.com/stretchr/testify/require"
	"go.mongodb.org/mongo-driver/bson/primitive"
)

func TestTokenRoundTripAndOrder(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	var toks []token
	for i := 0; i < 500; i++ {
		toks = append(toks, token{
			ts:       primitive.Timestamp{T: uint32(rng.Intn(4)), I: uint32(rng.Intn(1 << 31))},
			seq:      uint64(rng.Intn(1 << 40)),
			kind:     tokenKind(rng.Intn(3)),
			fragment: uint16(rng.Intn(3)),
		})
	}
	for _, tk := range toks {
		got, err := decodeTokenData(tk.data())
		require.NoError(t, err)
		require.Equal(t, tk, got)
		require.Len(t, tk.data(), 2*tokenLen)
	}
	byString := append([]token(nil), toks...)
	sort.Slice(byString, func(i, j int) bool { return byString[i].data() < byString[j].data() })
	byFields := append([]token(nil), toks...)
	sort.Slice(byFields, func(i, j int) bool {
		a, b := byFields[i], byFields[j]
		if c := a.ts.Compare(b.ts); c != 0 {
			return c < 0
		}
		if a.seq != b.seq {
			return a.seq < b.seq
		}
		if a.kind != b.kind {
			return a.kind < b.kind
		}
		return a.fragment < b.fragment
	})
	require.Equal(t, byFields, byString)
}

func TestTokenOrderMatchesLogOrder(t *testing.T) {
	ts := primitive.Timestamp{T: 10, I: 1}
	event := token{ts: ts, seq: 5, kind: kindEvent}
	fragment := token{ts: ts, seq: 5, kind: kindEvent, fragment: 2}
	invalidate := token{ts: ts, seq: 5, kind: kindInvalidate}
	hwm := highWater(ts, 6)
	next := token{ts: primitive.Timestamp{T: 10, I: 2}, seq: 6, kind: kindEvent}
	for _, pair := range [][2]token{{event, fragment}, {fragment, invalidate}, {invalidate, hwm}, {hwm, next}} {
		require.True(t, pair[0].less(pair[1]), "%s < %s", pair[0].data(), pair[1].data())
	}
}
