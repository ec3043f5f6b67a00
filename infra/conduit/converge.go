package conduit

import (
	"sort"

	"go.mongodb.org/mongo-driver/bson/primitive"
)

// Converged holds the derived values that a data set implies, computed in
// memory from its source documents.
type Converged struct {
	// Authors maps a user ID to its author copy; a missing key means the
	// user does not exist (the copy is null).
	Authors map[primitive.ObjectID]*Author
	// FavoritesCount maps an article ID to its number of favorites.
	FavoritesCount map[primitive.ObjectID]int64
	// Tags is the tags collection, sorted by name.
	Tags []Tag
}

// Converge computes the derived values of ds as the contract defines them.
func Converge(ds *Dataset) Converged {
	c := Converged{
		Authors:        make(map[primitive.ObjectID]*Author, len(ds.Users)),
		FavoritesCount: make(map[primitive.ObjectID]int64, len(ds.Articles)),
	}
	for i := range ds.Users {
		c.Authors[ds.Users[i].ID] = ProjectAuthor(&ds.Users[i])
	}
	for _, f := range ds.Favorites {
		c.FavoritesCount[f.ArticleID]++
	}
	counts := map[string]int64{}
	for _, a := range ds.Articles {
		for _, t := range distinct(a.TagList) {
			counts[t]++
		}
	}
	for name, n := range counts {
		c.Tags = append(c.Tags, Tag{Name: name, Count: n})
	}
	sort.Slice(c.Tags, func(i, j int) bool { return c.Tags[i].Name < c.Tags[j].Name })
	return c
}

func distinct(tags []string) []string {
	seen := make(map[string]bool, len(tags))
	out := tags[:0:0]
	for _, t := range tags {
		if !seen[t] {
			seen[t] = true
			out = append(out, t)
		}
	}
	return out
}
