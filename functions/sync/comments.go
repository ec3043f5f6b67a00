package sync

import (
	"context"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/bson/primitive"
	"go.mongodb.org/mongo-driver/mongo"

	"github.com/changerelay/changerelay/functions/changeevent"
	"github.com/changerelay/changerelay/functions/model"
	"github.com/changerelay/changerelay/functions/store"
)

// comments sets a comment's author copy when it is inserted, replaced or
// its authorId changes: from the comment and the users document as they
// are now, guarded by the version and by the authorId it was computed for.
type comments struct{ s *store.Store }

func (c *comments) validate(ev *changeevent.Event) error {
	if _, err := docID(ev); err != nil {
		return err
	}
	return checkAuthorID(ev)
}

func (c *comments) apply(ctx context.Context, items []*item) {
	var gs groups
	for _, it := range items {
		if it.ev.Op == changeevent.OpDelete || !(it.ev.Touches(model.FieldAuthorID) || it.ev.Touches(model.FieldAuthor)) {
			continue
		}
		id, _ := docID(&it.ev)
		gs.get(id).add(it, it.ev.ClusterTime)
	}
	if len(gs.order) == 0 {
		return
	}
	if err := setAuthors(ctx, c.s, model.Comments, gs.order); err != nil {
		for _, g := range gs.order {
			g.fail(err)
		}
	}
}

// setAuthors recomputes the author copy of the documents of coll in gs.
// Groups whose current document has a malformed authorId fail alone.
func setAuthors(ctx context.Context, s *store.Store, coll string, gs []*group) error {
	ids := make([]primitive.ObjectID, 0, len(gs))
	for _, g := range gs {
		ids = append(ids, g.id)
	}
	current, err := readCurrent(ctx, s, coll, ids, model.FieldAuthorID)
	if err != nil {
		return err
	}
	models, err := authorWrites(ctx, s, gs, current)
	if err != nil {
		return err
	}
	_, err = s.BulkWrite(ctx, coll, models)
	return err
}

// authorWrites returns the guarded author writes for the groups whose
// document exists in current, failing the groups with a malformed authorId.
func authorWrites(ctx context.Context, s *store.Store, gs []*group, current map[primitive.ObjectID]bson.Raw) ([]mongo.WriteModel, error) {
	type target struct {
		g        *group
		authorID bson.RawValue
		user     primitive.ObjectID
		hasUser  bool
	}
	var targets []target
	var userIDs []primitive.ObjectID
	for _, g := range gs {
		doc, ok := current[g.id]
		if !ok {
			continue // deleted since: nothing to copy into
		}
		uid, has, err := model.OptionalObjectID(doc, model.FieldAuthorID)
		if err != nil {
			g.fail(invalidDoc(err))
			continue
		}
		targets = append(targets, target{g: g, authorID: doc.Lookup(model.FieldAuthorID), user: uid, hasUser: has})
		if has {
			userIDs = append(userIDs, uid)
		}
	}
	authors, err := s.Authors(ctx, userIDs)
	if err != nil {
		return nil, err
	}
	models := make([]mongo.WriteModel, 0, len(targets))
	for _, t := range targets {
		var author any
		if t.hasUser {
			author = authors[t.user]
		}
		models = append(models, mongo.NewUpdateOneModel().
			SetFilter(bson.D{
				{Key: "_id", Value: t.g.id},
				{Key: model.FieldAuthorID, Value: model.Exact(t.authorID)},
				{Key: model.AuthorVersion, Value: model.Older(t.g.version)},
			}).
			SetUpdate(bson.D{{Key: "$set", Value: bson.D{
				{Key: model.FieldAuthor, Value: author},
				{Key: model.AuthorVersion, Value: t.g.version},
			}}}))
	}
	return models, nil
}

// checkAuthorID validates authorId where an event carries it.
func checkAuthorID(ev *changeevent.Event) error {
	if ev.FullDocument != nil {
		if _, _, err := model.OptionalObjectID(ev.FullDocument, model.FieldAuthorID); err != nil {
			return invalidDoc(err)
		}
	}
	if ev.Updated != nil {
		if _, _, err := model.OptionalObjectID(ev.Updated, model.FieldAuthorID); err != nil {
			return invalidDoc(err)
		}
	}
	return nil
}
