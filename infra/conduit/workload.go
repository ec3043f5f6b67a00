package conduit

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"sort"
	"time"

	"go.mongodb.org/mongo-driver/bson/primitive"
)

// Kind names what the application meant by a write.
type Kind string

// The kinds of source writes a workload mixes.
const (
	KindRenameUser          Kind = "rename-user"           // $set username
	KindUpdateProfile       Kind = "update-profile"        // $set/$unset bio and image, null values
	KindReplaceUser         Kind = "replace-user"          // replaceOne of a user, keys may go missing
	KindInsertUser          Kind = "insert-user"           // insertOne
	KindDeleteUser          Kind = "delete-user"           // deleteOne: author copies become null
	KindRetag               Kind = "retag"                 // $push, $push $each, $pull, $addToSet, $set, $unset of tagList
	KindRetagMany           Kind = "retag-many"            // updateMany $addToSet / $pull of one tag
	KindReplaceArticle      Kind = "replace-article"       // replaceOne that drops the derived fields
	KindChangeArticleAuthor Kind = "change-article-author" // $set authorId, sometimes to a missing user
	KindInsertArticle       Kind = "insert-article"        // with a stale, null or missing author copy
	KindEditArticle         Kind = "edit-article"          // $set of fields nothing derives from
	KindDeleteArticle       Kind = "delete-article"        // deleteOne, often with its comments and favorites
	KindInsertComment       Kind = "insert-comment"        // with a stale, null or missing author copy
	KindUpdateComment       Kind = "update-comment"        // $set body, $set authorId, replaceOne
	KindDeleteComment       Kind = "delete-comment"        // deleteOne
	KindFavorite            Kind = "favorite"              // insertOne
	KindFavoriteStorm       Kind = "favorite-storm"        // insertMany bursts on a hot article, with some unfavorites
	KindUnfavorite          Kind = "unfavorite"            // deleteOne by (userId, articleId)
	KindUnfavoriteMany      Kind = "unfavorite-many"       // deleteMany by article or by user
	KindDeleteMany          Kind = "delete-many"           // deleteMany of a user's comments or articles
)

// Mix weighs the kinds a workload draws from.
type Mix map[Kind]int

// DefaultMix is a steady mixed RealWorld workload with every kind.
var DefaultMix = Mix{
	KindRenameUser: 6, KindUpdateProfile: 6, KindReplaceUser: 2, KindInsertUser: 2, KindDeleteUser: 1,
	KindRetag: 12, KindRetagMany: 1, KindReplaceArticle: 4, KindChangeArticleAuthor: 3,
	KindInsertArticle: 6, KindEditArticle: 3, KindDeleteArticle: 2,
	KindInsertComment: 8, KindUpdateComment: 3, KindDeleteComment: 2,
	KindFavorite: 15, KindFavoriteStorm: 1, KindUnfavorite: 8, KindUnfavoriteMany: 1, KindDeleteMany: 1,
}

// Mixes for workloads that stress one thing.
var (
	RenameMix = Mix{KindRenameUser: 3, KindUpdateProfile: 2, KindReplaceUser: 1}
	RetagMix  = Mix{KindRetag: 10, KindRetagMany: 1, KindReplaceArticle: 2, KindInsertArticle: 2}
	StormMix  = Mix{KindFavoriteStorm: 1}
	DeleteMix = Mix{KindDeleteArticle: 3, KindDeleteComment: 3, KindUnfavorite: 3, KindUnfavoriteMany: 1, KindDeleteMany: 1, KindDeleteUser: 1}
)

// Script is a reproducible sequence of source writes.
type Script []Op

// Kinds counts the ops of each kind.
func (s Script) Kinds() map[Kind]int {
	out := map[Kind]int{}
	for _, op := range s {
		out[op.Kind]++
	}
	return out
}

// Documents is the number of documents the script inserts plus its other
// statements: a lower bound on the change events it causes.
func (s Script) Documents() int {
	n := 0
	for _, op := range s {
		if op.Action == InsertMany || op.Action == InsertOne {
			n += len(op.Docs)
		} else {
			n++
		}
	}
	return n
}

// WorkloadConfig configures a Generator.
type WorkloadConfig struct {
	// Rand drives every choice. Required.
	Rand *rand.Rand
	// HotArticles is how many articles favorite storms aim at; default 3.
	HotArticles int
	// StormSize is the number of favorites one storm inserts (capped by the
	// users who have not favorited the article yet); default 200.
	StormSize int
	// StormChunk is the number of favorites per insertMany in a storm;
	// default 50.
	StormChunk int
}

// ErrBadWorkloadConfig is returned (wrapped) for an invalid WorkloadConfig.
var ErrBadWorkloadConfig = errors.New("conduit: invalid workload config")

func (c *WorkloadConfig) setDefaults() {
	if c.HotArticles == 0 {
		c.HotArticles = 3
	}
	if c.StormSize == 0 {
		c.StormSize = 200
	}
	if c.StormChunk == 0 {
		c.StormChunk = 50
	}
}

// Validate names the first bad setting.
func (c WorkloadConfig) Validate() error {
	switch {
	case c.Rand == nil:
		return fmt.Errorf("%w: Rand is required", ErrBadWorkloadConfig)
	case c.HotArticles < 0, c.StormSize < 0, c.StormChunk < 0:
		return fmt.Errorf("%w: sizes must not be negative", ErrBadWorkloadConfig)
	}
	return nil
}

// Generator produces scripts of source writes against a model of the
// database's source state, which it advances as if each script were applied
// in order. Successive calls continue where the last one left off.
type Generator struct {
	cfg  WorkloadConfig
	r    *rand.Rand
	ids  *idGen
	step int
	base time.Time

	users        map[primitive.ObjectID]*User
	userPool     *pool
	deletedUsers []primitive.ObjectID
	usernames    map[string]bool

	articles    map[primitive.ObjectID]*Article
	articlePool *pool
	hot         []primitive.ObjectID

	comments    map[primitive.ObjectID]*Comment
	commentPool *pool

	favorites    map[primitive.ObjectID]Favorite
	favPool      *pool
	favPairs     map[[2]primitive.ObjectID]primitive.ObjectID
	favByArticle map[primitive.ObjectID]map[primitive.ObjectID]bool

	tags []string
}

// NewGenerator models ds (which it copies) as the current source state.
func NewGenerator(ds *Dataset, cfg WorkloadConfig) (*Generator, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	g := &Generator{
		cfg: cfg, r: cfg.Rand, base: epoch.Add(24 * time.Hour),
		users: map[primitive.ObjectID]*User{}, userPool: newPool(), usernames: map[string]bool{},
		articles: map[primitive.ObjectID]*Article{}, articlePool: newPool(),
		comments: map[primitive.ObjectID]*Comment{}, commentPool: newPool(),
		favorites: map[primitive.ObjectID]Favorite{}, favPool: newPool(),
		favPairs:     map[[2]primitive.ObjectID]primitive.ObjectID{},
		favByArticle: map[primitive.ObjectID]map[primitive.ObjectID]bool{},
		tags:         append([]string(nil), ds.Tags...),
	}
	g.ids = newIDGen(g.r, g.base)
	if len(g.tags) == 0 {
		g.tags = tagVocabulary(20)
	}
	for _, u := range ds.Users {
		g.addUser(u)
	}
	for _, a := range ds.Articles {
		a.TagList = append([]string(nil), a.TagList...)
		a.Author, a.FavoritesCount = nil, 0
		g.articles[a.ID] = &a
		g.articlePool.add(a.ID)
		if len(g.hot) < cfg.HotArticles {
			g.hot = append(g.hot, a.ID)
		}
	}
	for _, c := range ds.Comments {
		c.Author = nil
		g.comments[c.ID] = &c
		g.commentPool.add(c.ID)
	}
	for _, f := range ds.Favorites {
		g.addFavorite(f)
	}
	return g, nil
}

// Generate is NewGenerator followed by one Next.
func Generate(ds *Dataset, cfg WorkloadConfig, steps int, mix Mix) (Script, error) {
	g, err := NewGenerator(ds, cfg)
	if err != nil {
		return nil, err
	}
	return g.Next(steps, mix), nil
}

// Next draws steps kinds from mix (DefaultMix if empty) and returns their
// writes. A step may issue several statements (a storm, an article deleted
// with its comments); a kind that does not apply to the current state (no
// comment left to delete) is redrawn.
func (g *Generator) Next(steps int, mix Mix) Script {
	if len(mix) == 0 {
		mix = DefaultMix
	}
	kinds, total := sortedKinds(mix)
	var out Script
	for i := 0; i < steps && total > 0; i++ {
		for attempt := 0; attempt < 20; attempt++ {
			g.step++
			ops := g.generate(drawKind(g.r, kinds, mix, total))
			if len(ops) > 0 {
				out = append(out, ops...)
				break
			}
		}
	}
	return out
}

// Dataset returns the modelled source state after the scripts generated so
// far, sorted by ID.
func (g *Generator) Dataset() *Dataset {
	ds := &Dataset{Tags: append([]string(nil), g.tags...)}
	for _, id := range sortedIDs(g.userPool.ids) {
		ds.Users = append(ds.Users, *g.users[id])
	}
	for _, id := range sortedIDs(g.articlePool.ids) {
		a := *g.articles[id]
		a.TagList = append([]string(nil), a.TagList...)
		ds.Articles = append(ds.Articles, a)
	}
	for _, id := range sortedIDs(g.commentPool.ids) {
		ds.Comments = append(ds.Comments, *g.comments[id])
	}
	for _, id := range sortedIDs(g.favPool.ids) {
		ds.Favorites = append(ds.Favorites, g.favorites[id])
	}
	return ds
}

// HotArticles returns the articles favorite storms aim at.
func (g *Generator) HotArticles() []primitive.ObjectID {
	return append([]primitive.ObjectID(nil), g.hot...)
}

func (g *Generator) generate(k Kind) []Op {
	switch k {
	case KindRenameUser:
		return g.renameUser()
	case KindUpdateProfile:
		return g.updateProfile()
	case KindReplaceUser:
		return g.replaceUser()
	case KindInsertUser:
		return g.insertUser()
	case KindDeleteUser:
		return g.deleteUser()
	case KindRetag:
		return g.retag()
	case KindRetagMany:
		return g.retagMany()
	case KindReplaceArticle:
		return g.replaceArticle()
	case KindChangeArticleAuthor:
		return g.changeArticleAuthor()
	case KindInsertArticle:
		return g.insertArticle()
	case KindEditArticle:
		return g.editArticle()
	case KindDeleteArticle:
		return g.deleteArticle()
	case KindInsertComment:
		return g.insertComment()
	case KindUpdateComment:
		return g.updateComment()
	case KindDeleteComment:
		return g.deleteComment()
	case KindFavorite:
		return g.favorite()
	case KindFavoriteStorm:
		return g.favoriteStorm()
	case KindUnfavorite:
		return g.unfavorite()
	case KindUnfavoriteMany:
		return g.unfavoriteMany()
	case KindDeleteMany:
		return g.deleteMany()
	}
	return nil
}

func sortedKinds(mix Mix) ([]Kind, int) {
	kinds := make([]Kind, 0, len(mix))
	total := 0
	for k, w := range mix {
		if w > 0 {
			kinds = append(kinds, k)
			total += w
		}
	}
	sort.Slice(kinds, func(i, j int) bool { return kinds[i] < kinds[j] })
	return kinds, total
}

func drawKind(r *rand.Rand, kinds []Kind, mix Mix, total int) Kind {
	n := r.IntN(total)
	for _, k := range kinds {
		if n < mix[k] {
			return k
		}
		n -= mix[k]
	}
	return kinds[len(kinds)-1]
}

func sortedIDs(ids []primitive.ObjectID) []primitive.ObjectID {
	out := append([]primitive.ObjectID(nil), ids...)
	sort.Slice(out, func(i, j int) bool { return out[i].Hex() < out[j].Hex() })
	return out
}

func (g *Generator) now() time.Time { return at(g.base, g.step) }

func (g *Generator) addUser(u User) {
	g.users[u.ID] = &u
	g.userPool.add(u.ID)
	g.usernames[u.Username] = true
}

func (g *Generator) addFavorite(f Favorite) {
	g.favorites[f.ID] = f
	g.favPool.add(f.ID)
	g.favPairs[[2]primitive.ObjectID{f.UserID, f.ArticleID}] = f.ID
	if g.favByArticle[f.ArticleID] == nil {
		g.favByArticle[f.ArticleID] = map[primitive.ObjectID]bool{}
	}
	g.favByArticle[f.ArticleID][f.ID] = true
}

func (g *Generator) removeFavorite(id primitive.ObjectID) {
	f, ok := g.favorites[id]
	if !ok {
		return
	}
	delete(g.favorites, id)
	g.favPool.remove(id)
	delete(g.favPairs, [2]primitive.ObjectID{f.UserID, f.ArticleID})
	delete(g.favByArticle[f.ArticleID], id)
}

func (g *Generator) removeArticle(id primitive.ObjectID) {
	delete(g.articles, id)
	g.articlePool.remove(id)
}

func (g *Generator) removeComment(id primitive.ObjectID) {
	delete(g.comments, id)
	g.commentPool.remove(id)
}

// uniqueName returns a username no user has had in this model.
func (g *Generator) uniqueName(prefix string) string {
	for {
		name := fmt.Sprintf("%s-r%d", prefix, g.step)
		if !g.usernames[name] {
			g.usernames[name] = true
			return name
		}
		g.step++
	}
}

// someAuthorID returns a live user, or now and then one that does not exist
// (deleted, or never was), whose author copy is null.
func (g *Generator) someAuthorID() (primitive.ObjectID, bool) {
	if g.r.IntN(10) == 0 {
		if len(g.deletedUsers) > 0 && g.r.IntN(2) == 0 {
			return pick(g.r, g.deletedUsers), true
		}
		return g.ids.next(), true
	}
	return g.userPool.pick(g.r)
}

// staleAuthor returns what the application may put in an inserted article
// or comment: nothing, null, or a stale or foreign copy.
func (g *Generator) staleAuthor() (value any, present bool) {
	switch g.r.IntN(4) {
	case 0:
		return nil, false
	case 1:
		return nil, true
	case 2:
		stale := "stale-" + pick(g.r, firstNames)
		return authorValue(&Author{Username: &stale}), true
	default:
		if id, ok := g.userPool.pick(g.r); ok {
			return authorValue(ProjectAuthor(g.users[id])), true
		}
		return nil, true
	}
}

// removeCommentsWhere removes matching comments. It walks the pool (whose
// order depends only on the ops so far), never a map, so that the pool and
// every later pick stay reproducible.
func (g *Generator) removeCommentsWhere(match func(*Comment) bool) {
	var gone []primitive.ObjectID
	for _, id := range g.commentPool.ids {
		if match(g.comments[id]) {
			gone = append(gone, id)
		}
	}
	for _, id := range gone {
		g.removeComment(id)
	}
}

// removeFavoritesOf removes an article's favorites in ID order.
func (g *Generator) removeFavoritesOf(article primitive.ObjectID) {
	ids := make([]primitive.ObjectID, 0, len(g.favByArticle[article]))
	for id := range g.favByArticle[article] {
		ids = append(ids, id)
	}
	for _, id := range sortedIDs(ids) {
		g.removeFavorite(id)
	}
}
