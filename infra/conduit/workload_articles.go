package conduit

import (
	"fmt"
	"slices"
	"strings"

	"go.mongodb.org/mongo-driver/bson"
)

func (g *Generator) retag() []Op {
	id, ok := g.articlePool.pickHot(g.r)
	if !ok {
		return nil
	}
	a := g.articles[id]
	t := pick(g.r, g.tags)
	stamp := bson.E{Key: "updatedAt", Value: g.now()}
	var update bson.D
	switch g.r.IntN(7) {
	case 0: // may list a tag twice
		if len(a.TagList) > 0 && g.r.IntN(3) == 0 {
			t = pick(g.r, a.TagList)
		}
		a.TagList = append(a.TagList, t)
		update = bson.D{{Key: "$push", Value: bson.D{{Key: "tagList", Value: t}}}}
	case 1:
		more := []string{t, pick(g.r, g.tags)}
		a.TagList = append(a.TagList, more...)
		update = bson.D{{Key: "$push", Value: bson.D{{Key: "tagList", Value: bson.D{{Key: "$each", Value: more}}}}}}
	case 2, 3:
		if len(a.TagList) > 0 {
			t = pick(g.r, a.TagList)
		}
		a.TagList = slices.DeleteFunc(a.TagList, func(s string) bool { return s == t })
		update = bson.D{{Key: "$pull", Value: bson.D{{Key: "tagList", Value: t}}}}
	case 4:
		if !slices.Contains(a.TagList, t) {
			a.TagList = append(a.TagList, t)
		}
		update = bson.D{{Key: "$addToSet", Value: bson.D{{Key: "tagList", Value: t}}}}
	case 5:
		a.TagList = tagList(g.r, g.tags)
		update = set(bson.E{Key: "tagList", Value: nonNil(a.TagList)}, stamp)
	default:
		if g.r.IntN(3) != 0 { // keep $unset rare
			a.TagList = tagList(g.r, g.tags)
			update = set(bson.E{Key: "tagList", Value: nonNil(a.TagList)}, stamp)
			break
		}
		a.TagList = nil
		update = bson.D{{Key: "$unset", Value: bson.D{{Key: "tagList", Value: ""}}}}
	}
	a.UpdatedAt = g.now()
	if update[0].Key != "$set" {
		update = append(update, bson.E{Key: "$set", Value: bson.D{stamp}})
	}
	return []Op{{Kind: KindRetag, Action: UpdateOne, Coll: CollArticles, Filter: byID(id), Update: update}}
}

func (g *Generator) retagMany() []Op {
	t := pick(g.r, g.tags)
	if g.r.IntN(2) == 0 {
		// The tag disappears from every article: its tags document must go.
		for _, id := range g.articlePool.ids {
			a := g.articles[id]
			if slices.Contains(a.TagList, t) {
				a.TagList = slices.DeleteFunc(a.TagList, func(s string) bool { return s == t })
			}
		}
		return []Op{{Kind: KindRetagMany, Action: UpdateMany, Coll: CollArticles,
			Filter: bson.D{{Key: "tagList", Value: t}},
			Update: bson.D{{Key: "$pull", Value: bson.D{{Key: "tagList", Value: t}}}}}}
	}
	author, ok := g.userPool.pickHot(g.r)
	if !ok {
		return nil
	}
	for _, id := range g.articlePool.ids {
		a := g.articles[id]
		if a.AuthorID == author && !slices.Contains(a.TagList, t) {
			a.TagList = append(a.TagList, t)
		}
	}
	return []Op{{Kind: KindRetagMany, Action: UpdateMany, Coll: CollArticles,
		Filter: bson.D{{Key: "authorId", Value: author}},
		Update: bson.D{{Key: "$addToSet", Value: bson.D{{Key: "tagList", Value: t}}}}}}
}

// replaceArticle replaces an article with its source fields only, dropping
// author and favoritesCount, as the contract allows.
func (g *Generator) replaceArticle() []Op {
	id, ok := g.articlePool.pickHot(g.r)
	if !ok {
		return nil
	}
	a := g.articles[id]
	if g.r.IntN(2) == 0 {
		a.TagList = tagList(g.r, g.tags)
	}
	if g.r.IntN(5) == 0 {
		if author, ok := g.someAuthorID(); ok {
			a.AuthorID = author
		}
	}
	a.Body = sentence(g.r, 20)
	a.UpdatedAt = g.now()
	a.TagList = nonNil(a.TagList)
	doc := a.SourceDoc()[1:] // without _id
	return []Op{{Kind: KindReplaceArticle, Action: ReplaceOne, Coll: CollArticles, Filter: byID(id), Update: doc}}
}

func (g *Generator) changeArticleAuthor() []Op {
	id, ok := g.articlePool.pick(g.r)
	if !ok {
		return nil
	}
	author, ok := g.someAuthorID()
	if !ok {
		return nil
	}
	g.articles[id].AuthorID = author
	return []Op{{Kind: KindChangeArticleAuthor, Action: UpdateOne, Coll: CollArticles, Filter: byID(id),
		Update: set(bson.E{Key: "authorId", Value: author})}}
}

func (g *Generator) insertArticle() []Op {
	author, ok := g.someAuthorID()
	if !ok {
		return nil
	}
	title := sentence(g.r, 4)
	a := Article{
		ID: g.ids.next(), Title: title, Description: sentence(g.r, 6), Body: sentence(g.r, 20),
		Slug:     fmt.Sprintf("%s-s%d", strings.ReplaceAll(title, " ", "-"), g.step),
		TagList:  nonNil(tagList(g.r, g.tags)),
		AuthorID: author, CreatedAt: g.now(), UpdatedAt: g.now(),
	}
	g.articles[a.ID] = &a
	g.articlePool.add(a.ID)
	doc := a.SourceDoc()
	if v, present := g.staleAuthor(); present {
		doc = append(doc, bson.E{Key: "author", Value: v})
	}
	return []Op{{Kind: KindInsertArticle, Action: InsertOne, Coll: CollArticles, Docs: []any{doc}}}
}

func (g *Generator) editArticle() []Op {
	id, ok := g.articlePool.pickHot(g.r)
	if !ok {
		return nil
	}
	a := g.articles[id]
	a.Title, a.UpdatedAt = sentence(g.r, 4), g.now()
	return []Op{{Kind: KindEditArticle, Action: UpdateOne, Coll: CollArticles, Filter: byID(id),
		Update: set(bson.E{Key: "title", Value: a.Title}, bson.E{Key: "updatedAt", Value: a.UpdatedAt})}}
}

// deleteArticle deletes an article and usually, as an application would,
// its comments and favorites; sometimes it leaves them behind.
func (g *Generator) deleteArticle() []Op {
	if g.articlePool.len() < 2 {
		return nil
	}
	id, _ := g.articlePool.pick(g.r)
	if slices.Contains(g.hot, id) {
		return nil
	}
	g.removeArticle(id)
	ops := []Op{{Kind: KindDeleteArticle, Action: DeleteOne, Coll: CollArticles, Filter: byID(id)}}
	if g.r.IntN(10) < 7 {
		g.removeCommentsWhere(func(c *Comment) bool { return c.ArticleID == id })
		g.removeFavoritesOf(id)
		ops = append(ops,
			Op{Kind: KindDeleteArticle, Action: DeleteMany, Coll: CollComments, Filter: bson.D{{Key: "articleId", Value: id}}},
			Op{Kind: KindDeleteArticle, Action: DeleteMany, Coll: CollFavorites, Filter: bson.D{{Key: "articleId", Value: id}}},
		)
	}
	return ops
}
