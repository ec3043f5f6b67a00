package conduit

import (
	"math/rand/v2"

	"go.mongodb.org/mongo-driver/bson/primitive"
)

// pool is a set of live IDs with O(1) add, remove and random pick.
type pool struct {
	ids []primitive.ObjectID
	at  map[primitive.ObjectID]int
}

func newPool() *pool { return &pool{at: map[primitive.ObjectID]int{}} }

func (p *pool) add(id primitive.ObjectID) {
	if _, ok := p.at[id]; ok {
		return
	}
	p.at[id] = len(p.ids)
	p.ids = append(p.ids, id)
}

func (p *pool) remove(id primitive.ObjectID) {
	i, ok := p.at[id]
	if !ok {
		return
	}
	last := p.ids[len(p.ids)-1]
	p.ids[i] = last
	p.at[last] = i
	p.ids = p.ids[:len(p.ids)-1]
	delete(p.at, id)
}

func (p *pool) has(id primitive.ObjectID) bool { _, ok := p.at[id]; return ok }
func (p *pool) len() int                       { return len(p.ids) }

// pick returns a uniformly random member; ok is false when empty.
func (p *pool) pick(r *rand.Rand) (primitive.ObjectID, bool) {
	if len(p.ids) == 0 {
		return primitive.NilObjectID, false
	}
	return p.ids[r.IntN(len(p.ids))], true
}

// pickHot favours the members added first (the seeded hot ones), so that
// updates pile up on a few documents and conflict.
func (p *pool) pickHot(r *rand.Rand) (primitive.ObjectID, bool) {
	if len(p.ids) == 0 {
		return primitive.NilObjectID, false
	}
	return p.ids[newZipf(r, len(p.ids), 1.2, 3)()], true
}
