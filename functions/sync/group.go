package sync

import (
	"fmt"
	"slices"

	"go.mongodb.org/mongo-driver/bson/primitive"

	"github.com/changerelay/changerelay/functions/changeevent"
	"github.com/changerelay/changerelay/functions/model"
)

// group collects the items that concern one document, with the highest
// cluster time among them: the version a recount on their behalf writes.
type group struct {
	id      primitive.ObjectID
	items   []*item
	version primitive.Timestamp
}

func (g *group) add(it *item, v primitive.Timestamp) {
	if !slices.Contains(g.items, it) {
		g.items = append(g.items, it)
	}
	g.version = model.Max(g.version, v)
}

func (g *group) fail(err error) { failAll(g.items, err) }

// groups keeps groups by document id in first-seen order.
type groups struct {
	byID  map[primitive.ObjectID]*group
	order []*group
}

func (gs *groups) get(id primitive.ObjectID) *group {
	if gs.byID == nil {
		gs.byID = map[primitive.ObjectID]*group{}
	}
	g, ok := gs.byID[id]
	if !ok {
		g = &group{id: id}
		gs.byID[id] = g
		gs.order = append(gs.order, g)
	}
	return g
}

func (gs *groups) ids() []primitive.ObjectID {
	out := make([]primitive.ObjectID, 0, len(gs.order))
	for _, g := range gs.order {
		out = append(out, g.id)
	}
	return out
}

// docID reads documentKey._id, which the data model makes an ObjectId.
func docID(ev *changeevent.Event) (primitive.ObjectID, error) {
	oid, ok := ev.DocID.ObjectIDOK()
	if !ok {
		return oid, fmt.Errorf("%w: documentKey._id is a %s, not an ObjectId", changeevent.ErrInvalid, ev.DocID.Type)
	}
	return oid, nil
}
