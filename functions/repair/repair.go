package repair

import (
	"context"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/bson/primitive"
	"go.mongodb.org/mongo-driver/mongo"
	"go.mongodb.org/mongo-driver/mongo/options"

	"github.com/changerelay/changerelay/functions/model"
	"github.com/changerelay/changerelay/functions/store"
)

// Run checks and fixes I1..I4 and reports what it found.
func Run(ctx context.Context, cfg Config) (Report, error) {
	if err := cfg.Validate(); err != nil {
		return Report{}, err
	}
	cfg.setDefaults()
	r := &run{cfg: cfg, s: cfg.Store, report: newReport(cfg.DryRun), tagCounts: map[string]int64{}, start: time.Now()}
	t0, err := r.s.ClusterTime(ctx)
	if err != nil {
		return r.report, err
	}
	r.report.ClusterTime = t0
	cfg.Logger.InfoContext(ctx, "repair started", "dryRun", cfg.DryRun,
		"clusterTime", fmt.Sprintf("%d.%d", t0.T, t0.I), "pageSize", r.s.PageSize())
	for _, phase := range []func(context.Context) error{r.articles, r.comments, r.tags} {
		if err := phase(ctx); err != nil {
			r.finish()
			return r.report, err
		}
	}
	r.finish()
	attrs := []any{"dryRun", cfg.DryRun, "drift", r.report.Drift, "fixed", r.report.Fixed, "durationMs", r.report.DurationMs}
	for _, inv := range r.report.Invariants {
		attrs = append(attrs, inv.Name, inv.summary())
	}
	cfg.Logger.InfoContext(ctx, "repair finished", attrs...)
	return r.report, nil
}

type run struct {
	cfg       Config
	s         *store.Store
	report    Report
	tagCounts map[string]int64
	// favCounts is one count of all favorites per article, taken before
	// the walk: it finds the candidates, which are then recounted.
	favCounts map[primitive.ObjectID]int64
	start     time.Time
}

func (r *run) finish() {
	r.report.DurationMs = time.Since(r.start).Milliseconds()
	r.report.total()
}

func (r *run) progress(ctx context.Context, phase string, idx ...int) {
	attrs := []any{"phase", phase, "elapsedMs", time.Since(r.start).Milliseconds()}
	for _, i := range idx {
		inv := r.report.Invariants[i]
		attrs = append(attrs, inv.Name, inv.summary())
	}
	r.cfg.Logger.InfoContext(ctx, "repair progress", attrs...)
}

// articles walks the articles: their author copy (I1), their favoritesCount
// (I3), and their tags for the recount of I4.
func (r *run) articles(ctx context.Context) error {
	var err error
	if r.favCounts, err = r.s.AllFavoriteCounts(ctx); err != nil {
		return fmt.Errorf("repair articles: %w", err)
	}
	cur, err := r.s.Coll(model.Articles).Find(ctx, bson.D{}, options.Find().
		SetProjection(bson.D{
			{Key: model.FieldAuthorID, Value: 1}, {Key: model.FieldAuthor, Value: 1},
			{Key: model.FieldFavoritesCount, Value: 1}, {Key: model.FieldTagList, Value: 1},
			{Key: model.AuthorVersion, Value: 1}, {Key: model.FavVersion, Value: 1},
		}).SetBatchSize(int32(r.s.PageSize())))
	if err != nil {
		return fmt.Errorf("scan articles: %w", err)
	}
	err = r.s.Scan(ctx, cur, func(page []bson.Raw) error {
		for _, doc := range page {
			for _, t := range model.LenientTagSet(doc.Lookup(model.FieldTagList)) {
				r.tagCounts[t]++
			}
		}
		// T is taken after the page was read and before the sources are:
		// every value below is computed from reads that see all writes up
		// to T, so T is a valid version for it.
		t, err := r.s.ClusterTime(ctx)
		if err != nil {
			return err
		}
		if err := r.authorPage(ctx, model.Articles, page, t, i1); err != nil {
			return err
		}
		if err := r.favoritesPage(ctx, page, t); err != nil {
			return err
		}
		r.progress(ctx, model.Articles, i1, i3)
		return nil
	})
	if err != nil {
		return fmt.Errorf("repair articles: %w", err)
	}
	return nil
}

// comments walks the comments' author copies (I2).
func (r *run) comments(ctx context.Context) error {
	cur, err := r.s.Coll(model.Comments).Find(ctx, bson.D{}, options.Find().
		SetProjection(bson.D{
			{Key: model.FieldAuthorID, Value: 1}, {Key: model.FieldAuthor, Value: 1},
			{Key: model.AuthorVersion, Value: 1},
		}).SetBatchSize(int32(r.s.PageSize())))
	if err != nil {
		return fmt.Errorf("scan comments: %w", err)
	}
	err = r.s.Scan(ctx, cur, func(page []bson.Raw) error {
		t, err := r.s.ClusterTime(ctx)
		if err != nil {
			return err
		}
		if err := r.authorPage(ctx, model.Comments, page, t, i2); err != nil {
			return err
		}
		r.progress(ctx, model.Comments, i2)
		return nil
	})
	if err != nil {
		return fmt.Errorf("repair comments: %w", err)
	}
	return nil
}

// authorPage checks the author copies of one page and fixes the drifted
// ones with a compare-and-set on the authorId and version as read, setting
// version t.
func (r *run) authorPage(ctx context.Context, coll string, page []bson.Raw, t primitive.Timestamp, idx int) error {
	var userIDs []primitive.ObjectID
	for _, doc := range page {
		if uid, ok, err := model.OptionalObjectID(doc, model.FieldAuthorID); ok && err == nil {
			userIDs = append(userIDs, uid)
		}
	}
	authors, err := r.s.Authors(ctx, userIDs)
	if err != nil {
		return err
	}
	inv := &r.report.Invariants[idx]
	var models []mongo.WriteModel
	for _, doc := range page {
		inv.Checked++
		var want any
		if uid, ok, err := model.OptionalObjectID(doc, model.FieldAuthorID); ok && err == nil {
			want = authors[uid]
		}
		if model.SameAuthor(doc.Lookup(model.FieldAuthor), want) {
			continue
		}
		inv.Drifted++
		models = append(models, mongo.NewUpdateOneModel().
			SetFilter(bson.D{
				{Key: "_id", Value: doc.Lookup("_id")},
				{Key: model.FieldAuthorID, Value: model.Exact(doc.Lookup(model.FieldAuthorID))},
				{Key: model.AuthorVersion, Value: model.Exact(doc.Lookup("_sync", "authorVersion"))},
			}).
			SetUpdate(bson.D{{Key: "$set", Value: bson.D{
				{Key: model.FieldAuthor, Value: want},
				{Key: model.AuthorVersion, Value: t},
			}}}))
	}
	return r.write(ctx, coll, models, inv)
}

// favoritesPage checks favoritesCount of one page of articles (I3). The
// articles whose count differs from the count taken before the walk are
// recounted now (after t) and fixed if they still differ; one that matched
// that earlier count was right then, and any change since has an event.
func (r *run) favoritesPage(ctx context.Context, page []bson.Raw, t primitive.Timestamp) error {
	inv := &r.report.Invariants[i3]
	var candidates []primitive.ObjectID
	byID := map[primitive.ObjectID]bson.Raw{}
	for _, doc := range page {
		inv.Checked++
		id, ok := doc.Lookup("_id").ObjectIDOK()
		if !ok {
			continue
		}
		if got, ok := model.CountValue(doc.Lookup(model.FieldFavoritesCount)); ok && got == r.favCounts[id] {
			continue
		}
		candidates = append(candidates, id)
		byID[id] = doc
	}
	counts, err := r.s.FavoriteCounts(ctx, candidates)
	if err != nil {
		return err
	}
	var models []mongo.WriteModel
	for _, id := range candidates {
		doc, want := byID[id], counts[id]
		if got, ok := model.CountValue(doc.Lookup(model.FieldFavoritesCount)); ok && got == want {
			continue
		}
		inv.Drifted++
		models = append(models, mongo.NewUpdateOneModel().
			SetFilter(bson.D{
				{Key: "_id", Value: id},
				{Key: model.FavVersion, Value: model.Exact(doc.Lookup("_sync", "favVersion"))},
			}).
			SetUpdate(bson.D{{Key: "$set", Value: bson.D{
				{Key: model.FieldFavoritesCount, Value: want},
				{Key: model.FavVersion, Value: t},
			}}}))
	}
	return r.write(ctx, model.Articles, models, inv)
}

// tags compares the tags collection with the recount gathered while
// walking the articles, and reconciles each drifted tag (I4). The
// reconciliation recounts those tags again, so a tag that changed since
// the walk ends up right too.
func (r *run) tags(ctx context.Context) error {
	inv := &r.report.Invariants[i4]
	checked, drifted, junk, err := r.s.TagDrift(ctx, r.tagCounts)
	if err != nil {
		return err
	}
	inv.Checked = int64(checked + len(junk))
	inv.Drifted = int64(len(drifted) + len(junk))
	if !r.cfg.DryRun {
		n, err := r.s.DeleteJunkTags(ctx, junk)
		if err != nil {
			return err
		}
		res, err := r.s.ReconcileTags(ctx, drifted)
		if err != nil {
			return err
		}
		inv.Fixed = n + int64(res.Fixed)
	}
	r.progress(ctx, model.Tags, i4)
	return nil
}

// write applies one page of fixes; a statement that matched nothing lost a
// compare-and-set to a concurrent change.
func (r *run) write(ctx context.Context, coll string, models []mongo.WriteModel, inv *Invariant) error {
	if r.cfg.DryRun || len(models) == 0 {
		return nil
	}
	n, err := r.s.BulkWrite(ctx, coll, models)
	if err != nil {
		return err
	}
	inv.Fixed += n
	inv.Conflicts += int64(len(models)) - n
	return nil
}
