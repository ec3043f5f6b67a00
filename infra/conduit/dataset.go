package conduit

import (
	"context"
	"fmt"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/mongo"
)

// Dataset is the source state of a database as the workload generator sees
// it: what Seed wrote, or what LoadDataset read back.
type Dataset struct {
	Users     []User
	Articles  []Article
	Comments  []Comment
	Favorites []Favorite
	// Tags is the vocabulary new tag lists draw from.
	Tags []string
}

// LoadDataset reads the source fields of every user, article, comment and
// favorite in db, for generating a workload against an existing database.
// Documents that do not decode into the typed model (for example an article
// whose tagList is not a list of strings) are skipped.
func LoadDataset(ctx context.Context, db *mongo.Database) (*Dataset, error) {
	ds := &Dataset{}
	var err error
	if ds.Users, err = loadAll[User](ctx, db.Collection(CollUsers)); err != nil {
		return nil, err
	}
	if ds.Articles, err = loadAll[Article](ctx, db.Collection(CollArticles)); err != nil {
		return nil, err
	}
	if ds.Comments, err = loadAll[Comment](ctx, db.Collection(CollComments)); err != nil {
		return nil, err
	}
	if ds.Favorites, err = loadAll[Favorite](ctx, db.Collection(CollFavorites)); err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	for _, a := range ds.Articles {
		for _, t := range a.TagList {
			if !seen[t] {
				seen[t] = true
				ds.Tags = append(ds.Tags, t)
			}
		}
	}
	if len(ds.Tags) == 0 {
		ds.Tags = tagVocabulary(20)
	}
	return ds, nil
}

func loadAll[T any](ctx context.Context, coll *mongo.Collection) ([]T, error) {
	cur, err := coll.Find(ctx, bson.D{})
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", coll.Name(), err)
	}
	defer cur.Close(ctx)
	var out []T
	for cur.Next(ctx) {
		var v T
		if err := cur.Decode(&v); err != nil {
			continue
		}
		out = append(out, v)
	}
	if err := cur.Err(); err != nil {
		return nil, fmt.Errorf("load %s: %w", coll.Name(), err)
	}
	return out, nil
}
