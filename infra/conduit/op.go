package conduit

import (
	"context"
	"fmt"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/mongo"
	"go.mongodb.org/mongo-driver/mongo/options"
)

// Action is the write statement an Op issues.
type Action string

// The write statements the contract allows the application.
const (
	InsertOne  Action = "insertOne"
	InsertMany Action = "insertMany"
	UpdateOne  Action = "updateOne"
	UpdateMany Action = "updateMany"
	ReplaceOne Action = "replaceOne"
	DeleteOne  Action = "deleteOne"
	DeleteMany Action = "deleteMany"
)

// Op is one source write of a workload script.
type Op struct {
	Kind   Kind   // what the application meant, e.g. KindRenameUser
	Action Action // the statement
	Coll   string
	Filter bson.D // update, replace and delete
	Update any    // the update document, or the replacement
	Docs   []any  // insertOne (one) and insertMany
}

// Result counts what one Op did.
type Result struct {
	Inserted, Matched, Modified, Deleted int64
}

// String renders the op for logs.
func (op Op) String() string {
	switch op.Action {
	case InsertOne, InsertMany:
		return fmt.Sprintf("%s %s.%s(%d docs)", op.Kind, op.Coll, op.Action, len(op.Docs))
	default:
		return fmt.Sprintf("%s %s.%s(%v, %v)", op.Kind, op.Coll, op.Action, op.Filter, op.Update)
	}
}

// Apply issues the op against db.
func (op Op) Apply(ctx context.Context, db *mongo.Database) (Result, error) {
	c := db.Collection(op.Coll)
	var res Result
	switch op.Action {
	case InsertOne:
		if len(op.Docs) != 1 {
			return res, fmt.Errorf("%s: insertOne needs exactly one document, got %d", op.Kind, len(op.Docs))
		}
		if _, err := c.InsertOne(ctx, op.Docs[0]); err != nil {
			return res, fmt.Errorf("%s: %w", op, err)
		}
		res.Inserted = 1
	case InsertMany:
		r, err := c.InsertMany(ctx, op.Docs, options.InsertMany().SetOrdered(false))
		if r != nil {
			res.Inserted = int64(len(r.InsertedIDs))
		}
		if err != nil {
			return res, fmt.Errorf("%s: %w", op, err)
		}
	case UpdateOne, UpdateMany:
		update := c.UpdateOne
		if op.Action == UpdateMany {
			update = c.UpdateMany
		}
		r, err := update(ctx, op.Filter, op.Update)
		if err != nil {
			return res, fmt.Errorf("%s: %w", op, err)
		}
		res.Matched, res.Modified = r.MatchedCount, r.ModifiedCount
	case ReplaceOne:
		r, err := c.ReplaceOne(ctx, op.Filter, op.Update)
		if err != nil {
			return res, fmt.Errorf("%s: %w", op, err)
		}
		res.Matched, res.Modified = r.MatchedCount, r.ModifiedCount
	case DeleteOne, DeleteMany:
		del := c.DeleteOne
		if op.Action == DeleteMany {
			del = c.DeleteMany
		}
		r, err := del(ctx, op.Filter)
		if err != nil {
			return res, fmt.Errorf("%s: %w", op, err)
		}
		res.Deleted = r.DeletedCount
	default:
		return res, fmt.Errorf("%s: unknown action %q", op.Kind, op.Action)
	}
	return res, nil
}
