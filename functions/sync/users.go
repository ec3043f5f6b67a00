package sync

import (
	"context"
	"fmt"

	"go.mongodb.org/mongo-driver/bson"

	"github.com/changerelay/changerelay/functions/changeevent"
	"github.com/changerelay/changerelay/functions/model"
	"github.com/changerelay/changerelay/functions/store"
)

// users rewrites the author copy of every article and comment of a user
// whose profile changed: one guarded updateMany per collection, setting the
// projection of the users document as it is now.
type users struct{ s *store.Store }

var profileFields = []string{"username", "bio", "image"}

func (u *users) validate(ev *changeevent.Event) error {
	_, err := docID(ev)
	return err
}

func (u *users) apply(ctx context.Context, items []*item) {
	var gs groups
	for _, it := range items {
		if !touchesProfile(&it.ev) {
			continue // an update of other fields leaves every copy as it is
		}
		id, _ := docID(&it.ev)
		gs.get(id).add(it, it.ev.ClusterTime)
	}
	if len(gs.order) == 0 {
		return
	}
	authors, err := u.s.Authors(ctx, gs.ids())
	if err != nil {
		for _, g := range gs.order {
			g.fail(err)
		}
		return
	}
	for _, g := range gs.order {
		if err := u.rewrite(ctx, g, authors[g.id]); err != nil {
			g.fail(err)
		}
	}
}

// rewrite sets author on every article and comment of the user whose copy
// is older than the group's version.
func (u *users) rewrite(ctx context.Context, g *group, author any) error {
	filter := bson.D{
		{Key: model.FieldAuthorID, Value: g.id},
		{Key: model.AuthorVersion, Value: model.Older(g.version)},
	}
	update := bson.D{{Key: "$set", Value: bson.D{
		{Key: model.FieldAuthor, Value: author},
		{Key: model.AuthorVersion, Value: g.version},
	}}}
	for _, coll := range []string{model.Articles, model.Comments} {
		cctx, cancel := u.s.Call(ctx)
		_, err := u.s.Coll(coll).UpdateMany(cctx, filter, update)
		cancel()
		if err != nil {
			return fmt.Errorf("rewrite %s author copies of user %s: %w", coll, g.id.Hex(), err)
		}
	}
	return nil
}

func touchesProfile(ev *changeevent.Event) bool {
	for _, f := range profileFields {
		if ev.Touches(f) {
			return true
		}
	}
	return false
}
