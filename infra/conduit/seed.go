package conduit

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/bson/primitive"
	"go.mongodb.org/mongo-driver/mongo"
	"go.mongodb.org/mongo-driver/mongo/options"
)

// SeedConfig sizes a seeded data set.
type SeedConfig struct {
	Users     int // at least 1
	Articles  int
	Comments  int
	Favorites int // capped by the number of distinct (user, article) pairs
	Tags      int // size of the tag vocabulary; default 20
	// Rand drives every choice, so one seed always gives the same data set.
	// Required.
	Rand *rand.Rand
	// SourceOnly writes only what the application writes (no author copies,
	// no favoritesCount, no tags collection). By default the data set is
	// seeded converged: Check passes on it.
	SourceOnly bool
	// BatchSize is the number of documents per insertMany; default 5000.
	// The embedded server copies a namespace per write statement, so large
	// batches matter.
	BatchSize int
}

// Progress reports how far seeding is.
type Progress struct {
	Collection string
	Done       int
	Total      int
}

// ErrBadSeedConfig is returned (wrapped) for an invalid SeedConfig.
var ErrBadSeedConfig = errors.New("conduit: invalid seed config")

func (c *SeedConfig) setDefaults() {
	if c.Tags == 0 {
		c.Tags = 20
	}
	if c.BatchSize == 0 {
		c.BatchSize = 5000
	}
}

// Validate names the first bad setting.
func (c SeedConfig) Validate() error {
	switch {
	case c.Rand == nil:
		return fmt.Errorf("%w: Rand is required", ErrBadSeedConfig)
	case c.Users < 1:
		return fmt.Errorf("%w: Users must be at least 1, got %d", ErrBadSeedConfig, c.Users)
	case c.Articles < 0, c.Comments < 0, c.Favorites < 0, c.Tags < 0, c.BatchSize < 0:
		return fmt.Errorf("%w: counts must not be negative", ErrBadSeedConfig)
	case c.Articles == 0 && (c.Comments > 0 || c.Favorites > 0):
		return fmt.Errorf("%w: Comments and Favorites need Articles", ErrBadSeedConfig)
	}
	return nil
}

// Generate builds the data set in memory without writing it.
func (c SeedConfig) Generate() (*Dataset, error) {
	c.setDefaults()
	if err := c.Validate(); err != nil {
		return nil, err
	}
	r := c.Rand
	ids := newIDGen(r, epoch)
	ds := &Dataset{Tags: tagVocabulary(c.Tags)}

	for i := 0; i < c.Users; i++ {
		name := fmt.Sprintf("%s_%04d", firstNames[i%len(firstNames)], i)
		u := User{ID: ids.next(), Username: name, Email: name + "@example.org"}
		if r.IntN(10) < 7 {
			bio := fmt.Sprintf("I write about %s and %s.", pick(r, words), pick(r, words))
			u.Bio = &bio
		}
		if r.IntN(10) < 6 {
			img := fmt.Sprintf("https://img.example.org/%s.png", name)
			u.Image = &img
		}
		ds.Users = append(ds.Users, u)
	}

	authors := newZipf(r, len(ds.Users), 1.1, 2)
	for i := 0; i < c.Articles; i++ {
		title := sentence(r, 3+r.IntN(4))
		ds.Articles = append(ds.Articles, Article{
			ID:          ids.next(),
			Slug:        fmt.Sprintf("%s-%d", strings.ReplaceAll(title, " ", "-"), i),
			Title:       title,
			Description: sentence(r, 8),
			Body:        sentence(r, 30),
			TagList:     tagList(r, ds.Tags),
			AuthorID:    ds.Users[authors()].ID,
			CreatedAt:   at(epoch, i),
			UpdatedAt:   at(epoch, i),
		})
	}

	hotArticles := newZipf(r, len(ds.Articles), 1.05, 5)
	for i := 0; i < c.Comments; i++ {
		ds.Comments = append(ds.Comments, Comment{
			ID:        ids.next(),
			ArticleID: ds.Articles[hotArticles()].ID,
			AuthorID:  ds.Users[r.IntN(len(ds.Users))].ID,
			Body:      sentence(r, 12),
			CreatedAt: at(epoch, c.Articles+i),
			UpdatedAt: at(epoch, c.Articles+i),
		})
	}

	ds.Favorites = seedFavorites(r, ids, ds, c.Favorites, hotArticles)
	return ds, nil
}

func seedFavorites(r *rand.Rand, ids *idGen, ds *Dataset, n int, hot func() int) []Favorite {
	if len(ds.Articles) == 0 {
		return nil
	}
	if max := len(ds.Users) * len(ds.Articles); n > max {
		n = max
	}
	seen := make(map[[2]primitive.ObjectID]bool, n)
	out := make([]Favorite, 0, n)
	for attempts := 0; len(out) < n && attempts < 50*n+1000; attempts++ {
		article := ds.Articles[hot()].ID
		if attempts%4 == 3 { // spread some load past the hot articles
			article = ds.Articles[r.IntN(len(ds.Articles))].ID
		}
		user := ds.Users[r.IntN(len(ds.Users))].ID
		key := [2]primitive.ObjectID{user, article}
		if seen[key] {
			continue
		}
		seen[key] = true
		out = append(out, Favorite{ID: ids.next(), UserID: user, ArticleID: article, CreatedAt: at(epoch, len(out))})
	}
	// Dense corner (few users and articles): fill the remaining pairs in order.
	for ui := 0; len(out) < n && ui < len(ds.Users); ui++ {
		for ai := 0; len(out) < n && ai < len(ds.Articles); ai++ {
			key := [2]primitive.ObjectID{ds.Users[ui].ID, ds.Articles[ai].ID}
			if !seen[key] {
				seen[key] = true
				out = append(out, Favorite{ID: ids.next(), UserID: key[0], ArticleID: key[1], CreatedAt: at(epoch, len(out))})
			}
		}
	}
	return out
}

// Seed generates the data set described by cfg and inserts it into db in
// insertMany batches, calling progress (if not nil) after each batch. It
// returns what it wrote, for Generate to build a workload on.
func Seed(ctx context.Context, db *mongo.Database, cfg SeedConfig, progress func(Progress)) (*Dataset, error) {
	cfg.setDefaults()
	ds, err := cfg.Generate()
	if err != nil {
		return nil, err
	}
	if progress == nil {
		progress = func(Progress) {}
	}
	w := batchWriter{db: db, size: cfg.BatchSize, progress: progress}

	users := make([]any, len(ds.Users))
	for i, u := range ds.Users {
		users[i] = u.Doc()
	}
	if err := w.insert(ctx, CollUsers, users); err != nil {
		return nil, err
	}

	conv := Converge(ds)
	articles := make([]any, len(ds.Articles))
	for i, a := range ds.Articles {
		if cfg.SourceOnly {
			articles[i] = a.SourceDoc()
		} else {
			articles[i] = a.ConvergedDoc(conv.Authors[a.AuthorID], conv.FavoritesCount[a.ID])
		}
	}
	if err := w.insert(ctx, CollArticles, articles); err != nil {
		return nil, err
	}

	comments := make([]any, len(ds.Comments))
	for i, c := range ds.Comments {
		if cfg.SourceOnly {
			comments[i] = c.SourceDoc()
		} else {
			comments[i] = c.ConvergedDoc(conv.Authors[c.AuthorID])
		}
	}
	if err := w.insert(ctx, CollComments, comments); err != nil {
		return nil, err
	}

	favorites := make([]any, len(ds.Favorites))
	for i, f := range ds.Favorites {
		favorites[i] = f.Doc()
	}
	if err := w.insert(ctx, CollFavorites, favorites); err != nil {
		return nil, err
	}

	if !cfg.SourceOnly {
		tags := make([]any, 0, len(conv.Tags))
		for _, t := range conv.Tags {
			tags = append(tags, bson.D{{Key: "_id", Value: t.Name}, {Key: "count", Value: t.Count}})
		}
		if err := w.insert(ctx, CollTags, tags); err != nil {
			return nil, err
		}
	}
	return ds, nil
}

type batchWriter struct {
	db       *mongo.Database
	size     int
	progress func(Progress)
}

func (w batchWriter) insert(ctx context.Context, coll string, docs []any) error {
	c := w.db.Collection(coll)
	opts := options.InsertMany().SetOrdered(false)
	for start := 0; start < len(docs); start += w.size {
		end := min(start+w.size, len(docs))
		if _, err := c.InsertMany(ctx, docs[start:end], opts); err != nil {
			return fmt.Errorf("seed %s [%d:%d]: %w", coll, start, end, err)
		}
		w.progress(Progress{Collection: coll, Done: end, Total: len(docs)})
	}
	return nil
}

// newZipf returns a picker of indexes in [0, n) where low indexes are hot.
func newZipf(r *rand.Rand, n int, s, v float64) func() int {
	if n <= 1 {
		return func() int { return 0 }
	}
	z := rand.NewZipf(r, s, v, uint64(n-1))
	return func() int { return int(z.Uint64()) }
}

func pick[T any](r *rand.Rand, from []T) T { return from[r.IntN(len(from))] }

func sentence(r *rand.Rand, n int) string {
	parts := make([]string, n)
	for i := range parts {
		parts[i] = pick(r, words)
	}
	return strings.Join(parts, " ")
}

// tagList draws 0..4 tags, favouring popular ones, and now and then lists
// one twice (which the contract counts once).
func tagList(r *rand.Rand, vocab []string) []string {
	if len(vocab) == 0 {
		return []string{}
	}
	z := newZipf(r, len(vocab), 1.2, 2)
	n := r.IntN(5)
	out := make([]string, 0, n+1)
	for i := 0; i < n; i++ {
		out = append(out, vocab[z()])
	}
	if n > 0 && r.IntN(20) == 0 {
		out = append(out, out[0])
	}
	return out
}
