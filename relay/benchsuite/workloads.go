package benchsuite

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sort"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/bson/primitive"
	"go.mongodb.org/mongo-driver/mongo"
	"go.mongodb.org/mongo-driver/mongo/options"

	"github.com/changerelay/changerelay/infra/conduit"
)

// Workload names.
const (
	Steady  = "steady"
	Burst   = "burst"
	Fanout  = "fanout"
	Backlog = "backlog"
)

// Workloads in the order a run measures them.
var Workloads = []string{Steady, Burst, Fanout, Backlog}

// Workload is a script of source writes and how to apply it.
type Workload struct {
	Name        string
	Description string
	Script      conduit.Script
	Exec        conduit.ExecConfig // Rate, Concurrency
	// Backlog: the script is written while the configuration is stopped,
	// until Events change events (the first run decides the prefix).
	Backlog bool
	Events  int
}

// Dataset builds the data set of a scale: conduit's seed generator, with
// the top HeavyUsers article authors given HeavyComments comments each.
func Dataset(s Scale) (*conduit.Dataset, []primitive.ObjectID, error) {
	ds, err := conduit.SeedConfig{Users: s.Users, Articles: s.Articles, Comments: s.Comments, Favorites: s.Favorites,
		Rand: rand.New(rand.NewPCG(7, 1))}.Generate()
	if err != nil {
		return nil, nil, err
	}
	count := map[primitive.ObjectID]int{}
	for _, a := range ds.Articles {
		count[a.AuthorID]++
	}
	users := make([]primitive.ObjectID, 0, len(count))
	for u := range count {
		users = append(users, u)
	}
	sort.Slice(users, func(i, j int) bool {
		if count[users[i]] != count[users[j]] {
			return count[users[i]] > count[users[j]]
		}
		return users[i].Hex() < users[j].Hex()
	})
	heavy := users[:min(s.HeavyUsers, len(users))]
	r := rand.New(rand.NewPCG(7, 2))
	for _, u := range heavy {
		for i := 0; i < s.HeavyComments; i++ {
			ds.Comments[r.IntN(len(ds.Comments))].AuthorID = u
		}
	}
	return ds, heavy, nil
}

// HeavyCounts returns how many articles and comments a user wrote.
func HeavyCounts(ds *conduit.Dataset, u primitive.ObjectID) (articles, comments int) {
	for _, a := range ds.Articles {
		if a.AuthorID == u {
			articles++
		}
	}
	for _, c := range ds.Comments {
		if c.AuthorID == u {
			comments++
		}
	}
	return articles, comments
}

// BuildWorkloads generates every workload's script from ds; the same
// scripts run against every configuration.
func BuildWorkloads(s Scale, ds *conduit.Dataset, heavy []primitive.ObjectID) (map[string]Workload, error) {
	out := map[string]Workload{}
	gen := func(seed uint64, storm int) (*conduit.Generator, error) {
		return conduit.NewGenerator(ds, conduit.WorkloadConfig{Rand: rand.New(rand.NewPCG(seed, 3)), HotArticles: s.HotArticles, StormSize: storm})
	}

	g, err := gen(11, 0)
	if err != nil {
		return nil, err
	}
	var steady conduit.Script
	for len(steady) < s.SteadyOps {
		steady = append(steady, g.Next(1, conduit.DefaultMix)...)
	}
	out[Steady] = Workload{Name: Steady, Script: steady,
		Exec:        conduit.ExecConfig{Rate: s.SteadyRate, Concurrency: 1},
		Description: fmt.Sprintf("%d writes of the default RealWorld mix (every kind of write) at %.0f writes/s, one at a time", len(steady), s.SteadyRate)}

	storm := max(50, s.StormEvents/(s.HotArticles+1))
	g, err = gen(12, storm)
	if err != nil {
		return nil, err
	}
	var burst conduit.Script
	for burst.Documents() < s.StormEvents {
		burst = append(burst, g.Next(1, conduit.StormMix)...)
	}
	out[Burst] = Workload{Name: Burst, Script: burst, Exec: conduit.ExecConfig{Concurrency: 2},
		Description: fmt.Sprintf("favorite storm: %d favorites (insertMany of 50, a few unfavorites) on %d hot articles, as fast as the database takes them", burst.Documents(), s.HotArticles)}

	var fan conduit.Script
	for i := 0; i < s.FanoutRenames; i++ {
		for j, u := range heavy {
			fan = append(fan, conduit.Op{Kind: conduit.KindRenameUser, Action: conduit.UpdateOne, Coll: conduit.CollUsers,
				Filter: bson.D{{Key: "_id", Value: u}},
				Update: bson.D{{Key: "$set", Value: bson.D{{Key: "username", Value: fmt.Sprintf("fanout-%d-%d", j, i)}}}}})
		}
	}
	var sizes []string
	for _, u := range heavy {
		a, c := HeavyCounts(ds, u)
		sizes = append(sizes, fmt.Sprintf("%d+%d", a, c))
	}
	out[Fanout] = Workload{Name: Fanout, Script: fan, Exec: conduit.ExecConfig{Concurrency: 1},
		Description: fmt.Sprintf("%d renames of %d users with articles+comments %v, back to back", len(fan), len(heavy), sizes)}

	g, err = gen(13, 0)
	if err != nil {
		return nil, err
	}
	var backlog conduit.Script
	for backlog.Documents() < s.BacklogEvents {
		backlog = append(backlog, g.Next(100, conduit.DefaultMix)...)
	}
	out[Backlog] = Workload{Name: Backlog, Script: backlog, Exec: conduit.ExecConfig{Concurrency: 4}, Backlog: true, Events: s.BacklogEvents,
		Description: fmt.Sprintf("catch-up: writes of the default mix until %d change events, written while the configuration is stopped; then it starts", s.BacklogEvents)}
	return out, nil
}

// InsertDataset writes ds converged (derived fields included), as
// conduit.Seed does, in insertMany batches of 5000.
func InsertDataset(ctx context.Context, db *mongo.Database, ds *conduit.Dataset) error {
	conv := conduit.Converge(ds)
	var users, articles, comments, favorites, tags []any
	for _, u := range ds.Users {
		users = append(users, u.Doc())
	}
	for _, a := range ds.Articles {
		articles = append(articles, a.ConvergedDoc(conv.Authors[a.AuthorID], conv.FavoritesCount[a.ID]))
	}
	for _, c := range ds.Comments {
		comments = append(comments, c.ConvergedDoc(conv.Authors[c.AuthorID]))
	}
	for _, f := range ds.Favorites {
		favorites = append(favorites, f.Doc())
	}
	for _, t := range conv.Tags {
		tags = append(tags, bson.D{{Key: "_id", Value: t.Name}, {Key: "count", Value: t.Count}})
	}
	for _, c := range []struct {
		name string
		docs []any
	}{{conduit.CollUsers, users}, {conduit.CollArticles, articles}, {conduit.CollComments, comments},
		{conduit.CollFavorites, favorites}, {conduit.CollTags, tags}} {
		for i := 0; i < len(c.docs); i += 5000 {
			if _, err := db.Collection(c.name).InsertMany(ctx, c.docs[i:min(i+5000, len(c.docs))], options.InsertMany().SetOrdered(false)); err != nil {
				return fmt.Errorf("insert %s: %w", c.name, err)
			}
		}
	}
	return nil
}
