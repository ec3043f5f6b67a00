package conduit

import (
	"time"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/bson/primitive"
)

// Collection names of the contract.
const (
	CollUsers     = "users"
	CollArticles  = "articles"
	CollComments  = "comments"
	CollFavorites = "favorites"
	CollTags      = "tags"
)

// DefaultDatabase is the database the project uses unless MONGODB_DATABASE
// says otherwise.
const DefaultDatabase = "conduit"

// SyncField is the reserved field name for the project's own bookkeeping.
const SyncField = "_sync"

// User is a source document of the users collection. A nil Bio is stored as
// null; a nil Image is left out of the document, so both shapes the contract
// mentions (null and missing) occur.
type User struct {
	ID       primitive.ObjectID `bson:"_id"`
	Username string             `bson:"username"`
	Email    string             `bson:"email"`
	Bio      *string            `bson:"bio"`
	Image    *string            `bson:"image,omitempty"`
}

// Author is the derived copy of a user in articles and comments: exactly
// these three keys, missing ones as null.
type Author struct {
	Username *string `bson:"username"`
	Bio      *string `bson:"bio"`
	Image    *string `bson:"image"`
}

// Article is a document of the articles collection. Author and
// FavoritesCount are derived; SourceDoc leaves them out.
type Article struct {
	ID             primitive.ObjectID `bson:"_id"`
	Slug           string             `bson:"slug"`
	Title          string             `bson:"title"`
	Description    string             `bson:"description"`
	Body           string             `bson:"body"`
	TagList        []string           `bson:"tagList"`
	AuthorID       primitive.ObjectID `bson:"authorId"`
	CreatedAt      time.Time          `bson:"createdAt"`
	UpdatedAt      time.Time          `bson:"updatedAt"`
	Author         *Author            `bson:"author,omitempty"`
	FavoritesCount int64              `bson:"favoritesCount,omitempty"`
}

// Comment is a document of the comments collection. Author is derived.
type Comment struct {
	ID        primitive.ObjectID `bson:"_id"`
	ArticleID primitive.ObjectID `bson:"articleId"`
	AuthorID  primitive.ObjectID `bson:"authorId"`
	Body      string             `bson:"body"`
	CreatedAt time.Time          `bson:"createdAt"`
	UpdatedAt time.Time          `bson:"updatedAt"`
	Author    *Author            `bson:"author,omitempty"`
}

// Favorite is a document of the favorites collection, unique on
// (userId, articleId).
type Favorite struct {
	ID        primitive.ObjectID `bson:"_id"`
	UserID    primitive.ObjectID `bson:"userId"`
	ArticleID primitive.ObjectID `bson:"articleId"`
	CreatedAt time.Time          `bson:"createdAt"`
}

// Tag is a document of the derived tags collection.
type Tag struct {
	Name  string `bson:"_id"`
	Count int64  `bson:"count"`
}

// ProjectAuthor returns the author copy of u as the contract defines it; nil
// (stored as null) when the user does not exist.
func ProjectAuthor(u *User) *Author {
	if u == nil {
		return nil
	}
	name := u.Username
	return &Author{Username: &name, Bio: u.Bio, Image: u.Image}
}

// Doc renders the user as the application writes it.
func (u User) Doc() bson.D {
	d := bson.D{
		{Key: "_id", Value: u.ID},
		{Key: "username", Value: u.Username},
		{Key: "email", Value: u.Email},
		{Key: "bio", Value: strOrNull(u.Bio)},
	}
	if u.Image != nil {
		d = append(d, bson.E{Key: "image", Value: *u.Image})
	}
	return d
}

// SourceDoc renders the article's source fields only, as the application
// writes it (no author, no favoritesCount).
func (a Article) SourceDoc() bson.D {
	return bson.D{
		{Key: "_id", Value: a.ID},
		{Key: "slug", Value: a.Slug},
		{Key: "title", Value: a.Title},
		{Key: "description", Value: a.Description},
		{Key: "body", Value: a.Body},
		{Key: "tagList", Value: nonNil(a.TagList)},
		{Key: "authorId", Value: a.AuthorID},
		{Key: "createdAt", Value: a.CreatedAt},
		{Key: "updatedAt", Value: a.UpdatedAt},
	}
}

// ConvergedDoc renders the article with its derived fields set to the given
// values, as a converged database holds it.
func (a Article) ConvergedDoc(author *Author, favoritesCount int64) bson.D {
	return append(a.SourceDoc(),
		bson.E{Key: "author", Value: authorValue(author)},
		bson.E{Key: "favoritesCount", Value: favoritesCount},
	)
}

// SourceDoc renders the comment's source fields only.
func (c Comment) SourceDoc() bson.D {
	return bson.D{
		{Key: "_id", Value: c.ID},
		{Key: "articleId", Value: c.ArticleID},
		{Key: "authorId", Value: c.AuthorID},
		{Key: "body", Value: c.Body},
		{Key: "createdAt", Value: c.CreatedAt},
		{Key: "updatedAt", Value: c.UpdatedAt},
	}
}

// ConvergedDoc renders the comment with its author copy.
func (c Comment) ConvergedDoc(author *Author) bson.D {
	return append(c.SourceDoc(), bson.E{Key: "author", Value: authorValue(author)})
}

// Doc renders the favorite.
func (f Favorite) Doc() bson.D {
	return bson.D{
		{Key: "_id", Value: f.ID},
		{Key: "userId", Value: f.UserID},
		{Key: "articleId", Value: f.ArticleID},
		{Key: "createdAt", Value: f.CreatedAt},
	}
}

// authorValue renders an author copy: a document with exactly three keys, or
// null.
func authorValue(a *Author) any {
	if a == nil {
		return nil
	}
	return bson.D{
		{Key: "username", Value: strOrNull(a.Username)},
		{Key: "bio", Value: strOrNull(a.Bio)},
		{Key: "image", Value: strOrNull(a.Image)},
	}
}

func strOrNull(s *string) any {
	if s == nil {
		return nil
	}
	return *s
}

// nonNil returns a copy of tags, never nil: documents and ops must not share
// a backing array with the generator's model, which changes in place.
func nonNil(tags []string) []string {
	return append([]string{}, tags...)
}
