package sync

import (
	"context"
	"fmt"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/bson/primitive"
	"go.mongodb.org/mongo-driver/mongo"

	"github.com/changerelay/changerelay/functions/changeevent"
	"github.com/changerelay/changerelay/functions/model"
	"github.com/changerelay/changerelay/functions/store"
)

// articles keeps an article's author copy and favoritesCount (after an
// insert, a replace or an authorId change) and the tags collection (after
// any change of tagList, an insert, a replace or a delete).
type articles struct{ s *store.Store }

// articleWork is what a batch asks of one article.
type articleWork struct {
	group
	author, favs, tags bool
	// newTags are the tags the events assign; oldTags those of the
	// pre-images (tagList and the shadow they carried).
	newTags, oldTags []string
	// needShadow: an update of tagList without a pre-image; the old tags
	// must come from the shadow on the current document.
	needShadow bool
	// unknownOld: a delete or replace without a pre-image; the old tags are
	// unknown and only a reconciliation of every tag is safe.
	unknownOld bool
}

func (a *articles) validate(ev *changeevent.Event) error {
	if _, err := docID(ev); err != nil {
		return err
	}
	if err := checkAuthorID(ev); err != nil {
		return err
	}
	if ev.FullDocument != nil {
		if _, err := model.TagSet(ev.FullDocument.Lookup(model.FieldTagList)); err != nil {
			return invalidDoc(err)
		}
	}
	if _, err := model.TagValues(ev.Updated); err != nil {
		return invalidDoc(err)
	}
	return nil
}

func (a *articles) apply(ctx context.Context, items []*item) {
	order := a.plan(items)
	if len(order) == 0 {
		return
	}
	ids := make([]primitive.ObjectID, 0, len(order))
	for _, w := range order {
		ids = append(ids, w.id)
	}
	current, err := readCurrent(ctx, a.s, model.Articles, ids, model.FieldAuthorID, model.FieldTagList, "_sync")
	if err != nil {
		for _, w := range order {
			w.fail(err)
		}
		return
	}
	for _, w := range order {
		if doc, ok := current[w.id]; ok {
			if _, err := model.TagSet(doc.Lookup(model.FieldTagList)); err != nil {
				w.fail(invalidDoc(err))
			}
		}
	}
	a.copies(ctx, order, current)
	a.tagsPhase(ctx, order, current)
}

// plan groups the items by article and decides what each article needs.
// An event that changes nothing a derived value depends on is applied as
// it is: there is nothing to do.
func (a *articles) plan(items []*item) []*articleWork {
	works := map[primitive.ObjectID]*articleWork{}
	var order []*articleWork
	for _, it := range items {
		ev := &it.ev
		var need articleWork
		switch ev.Op {
		case changeevent.OpInsert, changeevent.OpReplace:
			need.author, need.favs, need.tags = true, true, true
			need.newTags, _ = model.TagSet(ev.FullDocument.Lookup(model.FieldTagList))
			if ev.Op == changeevent.OpReplace {
				need.addBefore(ev, true)
			}
		case changeevent.OpDelete:
			need.tags = true
			need.addBefore(ev, true)
		case changeevent.OpUpdate:
			need.author = ev.Touches(model.FieldAuthorID) || ev.Touches(model.FieldAuthor)
			need.favs = ev.Touches(model.FieldFavoritesCount)
			if ev.Touches(model.FieldTagList) {
				need.tags = true
				need.newTags, _ = model.TagValues(ev.Updated)
				if ev.FullDocument != nil {
					need.newTags = model.Union(need.newTags, model.LenientTagSet(ev.FullDocument.Lookup(model.FieldTagList)))
				}
				need.addBefore(ev, false)
			}
		}
		if !(need.author || need.favs || need.tags) {
			continue
		}
		id, _ := docID(ev)
		w, ok := works[id]
		if !ok {
			w = &articleWork{group: group{id: id}}
			works[id] = w
			order = append(order, w)
		}
		w.merge(&need)
		w.add(it, ev.ClusterTime)
	}
	return order
}

func (w *articleWork) merge(o *articleWork) {
	w.author = w.author || o.author
	w.favs = w.favs || o.favs
	w.tags = w.tags || o.tags
	w.needShadow = w.needShadow || o.needShadow
	w.unknownOld = w.unknownOld || o.unknownOld
	w.newTags = model.Union(w.newTags, o.newTags)
	w.oldTags = model.Union(w.oldTags, o.oldTags)
}

// addBefore takes the old tags from the event's pre-image: its tagList and
// the shadow it carried. Without one, an update falls back to the shadow
// on the current document, a delete or replace to every tag.
func (w *articleWork) addBefore(ev *changeevent.Event, replaced bool) {
	if ev.Before == nil {
		if replaced {
			w.unknownOld = true
		} else {
			w.needShadow = true
		}
		return
	}
	w.oldTags = model.Union(w.oldTags,
		model.LenientTagSet(ev.Before.Lookup(model.FieldTagList)),
		model.LenientTagSet(ev.Before.Lookup("_sync", "tags")))
}

// copies writes the author copy and favoritesCount where needed, guarded by
// their versions, in one bulk write.
func (a *articles) copies(ctx context.Context, order []*articleWork, current map[primitive.ObjectID]bson.Raw) {
	var authorGroups []*group
	var favIDs []primitive.ObjectID
	var favWorks []*articleWork
	for _, w := range order {
		if _, ok := current[w.id]; !ok || w.failed() {
			continue
		}
		if w.author {
			authorGroups = append(authorGroups, &w.group)
		}
		if w.favs {
			favIDs = append(favIDs, w.id)
			favWorks = append(favWorks, w)
		}
	}
	if len(authorGroups) == 0 && len(favWorks) == 0 {
		return
	}
	failCopies := func(err error) {
		for _, g := range authorGroups {
			g.fail(err)
		}
		for _, w := range favWorks {
			w.fail(err)
		}
	}
	models, err := authorWrites(ctx, a.s, authorGroups, current)
	if err != nil {
		failCopies(err)
		return
	}
	counts, err := a.s.FavoriteCounts(ctx, favIDs)
	if err != nil {
		failCopies(err)
		return
	}
	for _, w := range favWorks {
		models = append(models, favoritesCountWrite(w.id, counts[w.id], w.version))
	}
	if _, err := a.s.BulkWrite(ctx, model.Articles, models); err != nil {
		failCopies(err)
	}
}

// favoritesCountWrite sets an article's favoritesCount to n, counted after
// the write of version v, unless a count of a later version is stored.
func favoritesCountWrite(id primitive.ObjectID, n int64, v primitive.Timestamp) mongo.WriteModel {
	return mongo.NewUpdateOneModel().
		SetFilter(bson.D{{Key: "_id", Value: id}, {Key: model.FavVersion, Value: model.Older(v)}}).
		SetUpdate(bson.D{{Key: "$set", Value: bson.D{
			{Key: model.FieldFavoritesCount, Value: n},
			{Key: model.FavVersion, Value: v},
		}}})
}

// tagsPhase reconciles every tag the batch may have changed, then moves
// each article's shadow to its current tags with a compare-and-set. An
// article whose tagList or shadow changed meanwhile goes round again.
func (a *articles) tagsPhase(ctx context.Context, order []*articleWork, current map[primitive.ObjectID]bson.Raw) {
	var pending []*articleWork
	for _, w := range order {
		if w.tags && !w.failed() {
			pending = append(pending, w)
		}
	}
	for round := 0; len(pending) > 0; round++ {
		if round > 0 {
			ids := make([]primitive.ObjectID, 0, len(pending))
			for _, w := range pending {
				ids = append(ids, w.id)
			}
			var err error
			if current, err = readCurrent(ctx, a.s, model.Articles, ids, model.FieldTagList, "_sync"); err != nil {
				failWorks(pending, err)
				return
			}
		}
		if round == maxTagRounds {
			failWorks(pending, fmt.Errorf("article tags kept changing: %w", store.ErrContention))
			return
		}
		var err error
		if pending, err = a.tagRound(ctx, pending, current); err != nil {
			failWorks(pending, err)
			return
		}
	}
}

const maxTagRounds = 5

// tagRound reconciles the tags of pending articles and sets their shadows.
// It returns the articles whose shadow compare-and-set lost a race.
func (a *articles) tagRound(ctx context.Context, pending []*articleWork, current map[primitive.ObjectID]bson.Raw) ([]*articleWork, error) {
	var affected []string
	all := false
	type cas struct {
		w       *articleWork
		tagList bson.RawValue
		shadow  bson.RawValue
		tags    []string
	}
	var sets []cas
	for _, w := range pending {
		affected = model.Union(affected, w.newTags, w.oldTags)
		doc, exists := current[w.id]
		if !exists {
			// Deleted: its own delete event reconciles what it had; only a
			// delete or replace without pre-image needs every tag.
			all = all || w.unknownOld
			continue
		}
		cur, _ := model.TagSet(doc.Lookup(model.FieldTagList))
		shadowVal := doc.Lookup("_sync", "tags")
		shadow := model.LenientTagSet(shadowVal)
		affected = model.Union(affected, cur, shadow)
		if w.unknownOld || (w.needShadow && shadowVal.Type == 0) {
			all = true
		}
		sets = append(sets, cas{w: w, tagList: doc.Lookup(model.FieldTagList), shadow: shadowVal, tags: cur})
	}
	var err error
	if all {
		_, err = a.s.ReconcileAllTags(ctx, affected)
	} else {
		_, err = a.s.ReconcileTags(ctx, affected)
	}
	if err != nil {
		return pending, err
	}
	if len(sets) == 0 {
		return nil, nil
	}
	models := make([]mongo.WriteModel, 0, len(sets))
	for _, c := range sets {
		tags := c.tags
		if tags == nil {
			tags = []string{}
		}
		models = append(models, mongo.NewUpdateOneModel().
			SetFilter(bson.D{
				{Key: "_id", Value: c.w.id},
				{Key: model.FieldTagList, Value: model.Exact(c.tagList)},
				{Key: model.TagShadow, Value: model.Exact(c.shadow)},
			}).
			SetUpdate(bson.D{{Key: "$set", Value: bson.D{{Key: model.TagShadow, Value: tags}}}}))
	}
	matched, err := a.s.BulkWrite(ctx, model.Articles, models)
	if err != nil {
		return pending, err
	}
	if int(matched) == len(models) {
		return nil, nil
	}
	// Some compare-and-set lost: find which by reading the articles again.
	ids := make([]primitive.ObjectID, 0, len(sets))
	for _, c := range sets {
		ids = append(ids, c.w.id)
	}
	now, err := readCurrent(ctx, a.s, model.Articles, ids, model.FieldTagList, "_sync")
	if err != nil {
		return pending, err
	}
	var again []*articleWork
	for _, c := range sets {
		doc, ok := now[c.w.id]
		if !ok {
			continue
		}
		if !sameValue(doc.Lookup(model.FieldTagList), c.tagList) || !shadowIs(doc.Lookup("_sync", "tags"), c.tags) {
			again = append(again, c.w)
		}
	}
	return again, nil
}

func (w *articleWork) failed() bool {
	for _, it := range w.items {
		if it.err != nil {
			return true
		}
	}
	return false
}

func failWorks(ws []*articleWork, err error) {
	for _, w := range ws {
		w.fail(err)
	}
}

func sameValue(a, b bson.RawValue) bool {
	return a.Type == b.Type && string(a.Value) == string(b.Value)
}

func shadowIs(v bson.RawValue, tags []string) bool {
	got := model.LenientTagSet(v)
	if len(got) != len(tags) {
		return false
	}
	for i := range got {
		if got[i] != tags[i] {
			return false
		}
	}
	return v.Type != 0
}
