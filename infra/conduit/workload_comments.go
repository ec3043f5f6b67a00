package conduit

import (
	"slices"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/bson/primitive"
)

func (g *Generator) insertComment() []Op {
	article, ok := g.articlePool.pickHot(g.r)
	if !ok {
		return nil
	}
	author, ok := g.someAuthorID()
	if !ok {
		return nil
	}
	c := Comment{ID: g.ids.next(), ArticleID: article, AuthorID: author, Body: sentence(g.r, 10),
		CreatedAt: g.now(), UpdatedAt: g.now()}
	g.comments[c.ID] = &c
	g.commentPool.add(c.ID)
	doc := c.SourceDoc()
	if v, present := g.staleAuthor(); present {
		doc = append(doc, bson.E{Key: "author", Value: v})
	}
	return []Op{{Kind: KindInsertComment, Action: InsertOne, Coll: CollComments, Docs: []any{doc}}}
}

func (g *Generator) updateComment() []Op {
	id, ok := g.commentPool.pick(g.r)
	if !ok {
		return nil
	}
	c := g.comments[id]
	c.UpdatedAt = g.now()
	switch g.r.IntN(3) {
	case 0:
		c.Body = sentence(g.r, 10)
		return []Op{{Kind: KindUpdateComment, Action: UpdateOne, Coll: CollComments, Filter: byID(id),
			Update: set(bson.E{Key: "body", Value: c.Body}, bson.E{Key: "updatedAt", Value: c.UpdatedAt})}}
	case 1:
		author, ok := g.someAuthorID()
		if !ok {
			return nil
		}
		c.AuthorID = author
		return []Op{{Kind: KindUpdateComment, Action: UpdateOne, Coll: CollComments, Filter: byID(id),
			Update: set(bson.E{Key: "authorId", Value: author}, bson.E{Key: "updatedAt", Value: c.UpdatedAt})}}
	default: // a replace drops the author copy
		c.Body = sentence(g.r, 10)
		return []Op{{Kind: KindUpdateComment, Action: ReplaceOne, Coll: CollComments, Filter: byID(id),
			Update: c.SourceDoc()[1:]}}
	}
}

func (g *Generator) deleteComment() []Op {
	id, ok := g.commentPool.pick(g.r)
	if !ok {
		return nil
	}
	g.removeComment(id)
	return []Op{{Kind: KindDeleteComment, Action: DeleteOne, Coll: CollComments, Filter: byID(id)}}
}

func (g *Generator) newFavorite(user, article primitive.ObjectID) Favorite {
	f := Favorite{ID: g.ids.next(), UserID: user, ArticleID: article, CreatedAt: g.now()}
	g.addFavorite(f)
	return f
}

func (g *Generator) favorite() []Op {
	for attempt := 0; attempt < 10; attempt++ {
		article, ok := g.articlePool.pickHot(g.r)
		if !ok {
			return nil
		}
		user, _ := g.userPool.pick(g.r)
		if _, dup := g.favPairs[[2]primitive.ObjectID{user, article}]; dup {
			continue
		}
		f := g.newFavorite(user, article)
		return []Op{{Kind: KindFavorite, Action: InsertOne, Coll: CollFavorites, Docs: []any{f.Doc()}}}
	}
	return nil
}

// favoriteStorm sends StormSize favorites at one hot article in insertMany
// chunks, with a few unfavorites in between.
func (g *Generator) favoriteStorm() []Op {
	live := slices.DeleteFunc(append([]primitive.ObjectID(nil), g.hot...), func(id primitive.ObjectID) bool {
		return !g.articlePool.has(id)
	})
	if len(live) == 0 {
		return nil
	}
	article := pick(g.r, live)
	var ops []Op
	var chunk []any
	flush := func() {
		if len(chunk) > 0 {
			ops = append(ops, Op{Kind: KindFavoriteStorm, Action: InsertMany, Coll: CollFavorites, Docs: chunk})
			chunk = nil
		}
	}
	inserted := 0
	for _, i := range g.r.Perm(g.userPool.len()) {
		if inserted == g.cfg.StormSize {
			break
		}
		user := g.userPool.ids[i]
		if _, dup := g.favPairs[[2]primitive.ObjectID{user, article}]; dup {
			continue
		}
		chunk = append(chunk, g.newFavorite(user, article).Doc())
		inserted++
		if len(chunk) == g.cfg.StormChunk {
			flush()
			if g.r.IntN(3) == 0 {
				ops = append(ops, g.unfavoriteOn(article)...)
			}
		}
	}
	flush()
	return ops
}

func (g *Generator) unfavoriteOn(article primitive.ObjectID) []Op {
	ids := make([]primitive.ObjectID, 0, len(g.favByArticle[article]))
	for id := range g.favByArticle[article] {
		ids = append(ids, id)
	}
	if len(ids) == 0 {
		return nil
	}
	f := g.favorites[pick(g.r, sortedIDs(ids))]
	g.removeFavorite(f.ID)
	return []Op{{Kind: KindUnfavorite, Action: DeleteOne, Coll: CollFavorites,
		Filter: bson.D{{Key: "userId", Value: f.UserID}, {Key: "articleId", Value: f.ArticleID}}}}
}

func (g *Generator) unfavorite() []Op {
	id, ok := g.favPool.pick(g.r)
	if !ok {
		return nil
	}
	f := g.favorites[id]
	g.removeFavorite(id)
	return []Op{{Kind: KindUnfavorite, Action: DeleteOne, Coll: CollFavorites,
		Filter: bson.D{{Key: "userId", Value: f.UserID}, {Key: "articleId", Value: f.ArticleID}}}}
}

func (g *Generator) unfavoriteMany() []Op {
	if g.r.IntN(2) == 0 {
		article, ok := g.articlePool.pick(g.r)
		if !ok {
			return nil
		}
		g.removeFavoritesOf(article)
		return []Op{{Kind: KindUnfavoriteMany, Action: DeleteMany, Coll: CollFavorites,
			Filter: bson.D{{Key: "articleId", Value: article}}}}
	}
	user, ok := g.userPool.pick(g.r)
	if !ok {
		return nil
	}
	var gone []primitive.ObjectID
	for _, id := range g.favPool.ids {
		if g.favorites[id].UserID == user {
			gone = append(gone, id)
		}
	}
	for _, id := range gone {
		g.removeFavorite(id)
	}
	return []Op{{Kind: KindUnfavoriteMany, Action: DeleteMany, Coll: CollFavorites,
		Filter: bson.D{{Key: "userId", Value: user}}}}
}

// deleteMany removes a user's comments, or those of a user's articles that
// carry one tag.
func (g *Generator) deleteMany() []Op {
	user, ok := g.userPool.pick(g.r)
	if !ok {
		return nil
	}
	if g.r.IntN(2) == 0 {
		for _, id := range g.articlePool.ids {
			a := g.articles[id]
			if a.AuthorID != user || len(a.TagList) == 0 || slices.Contains(g.hot, id) {
				continue
			}
			t := a.TagList[0]
			var gone []primitive.ObjectID
			for _, id := range g.articlePool.ids {
				b := g.articles[id]
				if b.AuthorID == user && slices.Contains(b.TagList, t) && !slices.Contains(g.hot, id) {
					gone = append(gone, id)
				}
			}
			for _, id := range gone {
				g.removeArticle(id)
			}
			filter := bson.D{{Key: "authorId", Value: user}, {Key: "tagList", Value: t}}
			if hot := g.hotOf(user); len(hot) > 0 {
				filter = append(filter, bson.E{Key: "_id", Value: bson.D{{Key: "$nin", Value: hot}}})
			}
			return []Op{{Kind: KindDeleteMany, Action: DeleteMany, Coll: CollArticles, Filter: filter}}
		}
	}
	g.removeCommentsWhere(func(c *Comment) bool { return c.AuthorID == user })
	return []Op{{Kind: KindDeleteMany, Action: DeleteMany, Coll: CollComments,
		Filter: bson.D{{Key: "authorId", Value: user}}}}
}

// hotOf returns the hot articles written by user, which deletes spare.
func (g *Generator) hotOf(user primitive.ObjectID) []primitive.ObjectID {
	var out []primitive.ObjectID
	for _, id := range g.hot {
		if a, ok := g.articles[id]; ok && a.AuthorID == user {
			out = append(out, id)
		}
	}
	return out
}
