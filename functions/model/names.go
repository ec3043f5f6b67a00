package model

// Collections of the data model.
const (
	Users     = "users"
	Articles  = "articles"
	Comments  = "comments"
	Favorites = "favorites"
	Tags      = "tags"
)

// SourceCollections are the collections the application writes and whose
// change events the functions handle.
var SourceCollections = []string{Users, Articles, Comments, Favorites}

// Bookkeeping fields under _sync (see functions/README.md for the rules).
const (
	// AuthorVersion guards articles.author and comments.author.
	AuthorVersion = "_sync.authorVersion"
	// FavVersion guards articles.favoritesCount.
	FavVersion = "_sync.favVersion"
	// TagShadow is the sorted set of tags an article was last reconciled
	// under; it stands in for a pre-image on updates without one.
	TagShadow = "_sync.tags"
	// TagRev is a tags document's revision, the compare-and-set guard of
	// the tag reconciliation.
	TagRev = "_sync.rev"
)

// Source and derived fields by name.
const (
	FieldAuthorID       = "authorId"
	FieldAuthor         = "author"
	FieldTagList        = "tagList"
	FieldFavoritesCount = "favoritesCount"
	FieldArticleID      = "articleId"
	FieldCount          = "count"
)
