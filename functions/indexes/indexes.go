// Package indexes prepares a database for the handlers, idempotently: it
// enables change-stream pre- and post-images on the source collections
// (creating them when missing) and creates the indexes the handlers' reads
// and fan-out writes use.
package indexes

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/mongo"
	"go.mongodb.org/mongo-driver/mongo/options"

	"github.com/changerelay/changerelay/functions/model"
)

// Index is one index the handlers need.
type Index struct {
	Collection string
	Name       string
	Keys       bson.D
}

// Needed lists the indexes: the users handler's fan-out by authorId, the
// tag recount by tagList (multikey), the favorites recount by articleId.
var Needed = []Index{
	{model.Articles, "authorId_1", bson.D{{Key: model.FieldAuthorID, Value: 1}}},
	{model.Articles, "tagList_1", bson.D{{Key: model.FieldTagList, Value: 1}}},
	{model.Comments, "authorId_1", bson.D{{Key: model.FieldAuthorID, Value: 1}}},
	{model.Favorites, "articleId_1", bson.D{{Key: model.FieldArticleID, Value: 1}}},
}

// Server error codes this package branches on.
const (
	codeNamespaceNotFound = 26
	codeNamespaceExists   = 48
)

// Ensure enables pre- and post-images on the source collections and
// creates the indexes. Running it again changes nothing.
func Ensure(ctx context.Context, db *mongo.Database, log *slog.Logger) error {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	for _, coll := range model.SourceCollections {
		if err := enableImages(ctx, db, coll); err != nil {
			return err
		}
		log.InfoContext(ctx, "pre- and post-images enabled", "collection", coll)
	}
	for _, ix := range Needed {
		_, err := db.Collection(ix.Collection).Indexes().CreateOne(ctx, mongo.IndexModel{
			Keys: ix.Keys, Options: options.Index().SetName(ix.Name),
		})
		if err != nil {
			return fmt.Errorf("create index %s on %s: %w", ix.Name, ix.Collection, err)
		}
		log.InfoContext(ctx, "index ready", "collection", ix.Collection, "index", ix.Name)
	}
	return nil
}

func enableImages(ctx context.Context, db *mongo.Database, coll string) error {
	images := bson.D{{Key: "enabled", Value: true}}
	for attempt := 0; attempt < 3; attempt++ {
		err := db.RunCommand(ctx, bson.D{{Key: "collMod", Value: coll}, {Key: "changeStreamPreAndPostImages", Value: images}}).Err()
		if !hasCode(err, codeNamespaceNotFound) {
			if err != nil {
				return fmt.Errorf("enable pre-images on %s: %w", coll, err)
			}
			return nil
		}
		err = db.RunCommand(ctx, bson.D{{Key: "create", Value: coll}, {Key: "changeStreamPreAndPostImages", Value: images}}).Err()
		if err == nil {
			return nil
		}
		if !hasCode(err, codeNamespaceExists) {
			return fmt.Errorf("create %s with pre-images: %w", coll, err)
		}
		// Created concurrently: collMod again.
	}
	return fmt.Errorf("enable pre-images on %s: collection keeps appearing and disappearing", coll)
}

func hasCode(err error, code int32) bool {
	var ce mongo.CommandError
	return errors.As(err, &ce) && ce.Code == code
}
