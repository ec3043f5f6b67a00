package conduit

import (
	"encoding/binary"
	"math/rand/v2"
	"time"

	"go.mongodb.org/mongo-driver/bson/primitive"
)

// epoch is the fixed instant generated data is dated from, so that a given
// random seed always yields the same documents.
var epoch = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

// idGen makes ObjectIDs that depend only on its random source: a fixed
// timestamp per generator, four random bytes, then a counter, so the IDs of
// one generator never collide.
type idGen struct {
	ts   uint32
	salt uint32
	n    uint32
}

func newIDGen(r *rand.Rand, at time.Time) *idGen {
	return &idGen{ts: uint32(at.Unix()), salt: r.Uint32()}
}

func (g *idGen) next() primitive.ObjectID {
	g.n++
	var id primitive.ObjectID
	binary.BigEndian.PutUint32(id[0:4], g.ts)
	binary.BigEndian.PutUint32(id[4:8], g.salt)
	binary.BigEndian.PutUint32(id[8:12], g.n)
	return id
}

// at returns the date of the i-th generated event after base, with BSON's
// millisecond precision so documents round-trip unchanged.
func at(base time.Time, i int) time.Time {
	return base.Add(time.Duration(i) * time.Second).UTC().Truncate(time.Millisecond)
}
