package sync

import (
	"context"

	"go.mongodb.org/mongo-driver/bson/primitive"
	"go.mongodb.org/mongo-driver/mongo"

	"github.com/changerelay/changerelay/functions/changeevent"
	"github.com/changerelay/changerelay/functions/model"
	"github.com/changerelay/changerelay/functions/store"
)

// favorites recounts favoritesCount of the articles a batch's favorites
// changed: one aggregation for all of them and one bulk write, however
// many events each article has in the batch.
type favorites struct{ s *store.Store }

func (f *favorites) validate(ev *changeevent.Event) error {
	if _, err := docID(ev); err != nil {
		return err
	}
	if ev.FullDocument != nil && (ev.Op == changeevent.OpInsert || ev.Op == changeevent.OpReplace) {
		if _, err := model.RequiredObjectID(ev.FullDocument, model.FieldArticleID); err != nil {
			return invalidDoc(err)
		}
	}
	if ev.Updated != nil {
		if _, _, err := model.OptionalObjectID(ev.Updated, model.FieldArticleID); err != nil {
			return invalidDoc(err)
		}
	}
	return nil
}

func (f *favorites) apply(ctx context.Context, items []*item) {
	var gs groups
	var unknown group // events whose previous article is unknown
	for _, it := range items {
		ev := &it.ev
		if ev.Op == changeevent.OpUpdate && !ev.Touches(model.FieldArticleID) {
			continue // a favorite's other fields count for nothing
		}
		for _, id := range newArticle(ev) {
			gs.get(id).add(it, ev.ClusterTime)
		}
		if ev.Op == changeevent.OpInsert {
			continue
		}
		if ev.Before == nil {
			unknown.add(it, ev.ClusterTime)
			continue
		}
		if id, ok, _ := model.OptionalObjectID(ev.Before, model.FieldArticleID); ok {
			gs.get(id).add(it, ev.ClusterTime)
		}
	}
	if len(gs.order) > 0 {
		if err := f.recount(ctx, gs.order); err != nil {
			for _, g := range gs.order {
				g.fail(err)
			}
		}
	}
	if len(unknown.items) > 0 {
		if err := recountAllFavorites(ctx, f.s, unknown.version); err != nil {
			unknown.fail(err)
		}
	}
}

// newArticle returns the article a favorite belongs to after the event.
func newArticle(ev *changeevent.Event) []primitive.ObjectID {
	var doc = ev.FullDocument
	if ev.Op == changeevent.OpUpdate {
		if id, ok, _ := model.OptionalObjectID(ev.Updated, model.FieldArticleID); ok {
			return []primitive.ObjectID{id}
		}
	}
	if doc == nil || ev.Op == changeevent.OpDelete {
		return nil
	}
	if id, ok, _ := model.OptionalObjectID(doc, model.FieldArticleID); ok {
		return []primitive.ObjectID{id}
	}
	return nil
}

// recount counts the favorites of the groups' articles and stores each
// count under the group's version.
func (f *favorites) recount(ctx context.Context, gs []*group) error {
	ids := make([]primitive.ObjectID, 0, len(gs))
	for _, g := range gs {
		ids = append(ids, g.id)
	}
	counts, err := f.s.FavoriteCounts(ctx, ids)
	if err != nil {
		return err
	}
	models := make([]mongo.WriteModel, 0, len(gs))
	for _, g := range gs {
		models = append(models, favoritesCountWrite(g.id, counts[g.id], g.version))
	}
	_, err = f.s.BulkWrite(ctx, model.Articles, models)
	return err
}
