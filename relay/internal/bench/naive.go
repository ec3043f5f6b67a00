package bench

import (
	"context"

	"go.mongodb.org/mongo-driver/bson/primitive"
	"go.mongodb.org/mongo-driver/mongo"
	"go.mongodb.org/mongo-driver/mongo/options"

	"github.com/changerelay/changerelay/relay/change"
	"github.com/changerelay/changerelay/relay/deliver"
)

// Naive is the baseline: the seed's worker model. It reads one event,
// invokes the function with it, waits for the reply, and reads the next.
// It keeps no checkpoint at all (which only flatters it).
func Naive(ctx context.Context, coll *mongo.Collection, from primitive.Timestamp, inv deliver.Invoker, function string) error {
	cs, err := coll.Watch(ctx, mongo.Pipeline{}, options.ChangeStream().SetStartAtOperationTime(&from).SetFullDocument(options.UpdateLookup))
	if err != nil {
		return err
	}
	defer cs.Close(context.WithoutCancel(ctx))
	core := &deliver.Envelope{Invoker: inv, Database: coll.Database().Name()}
	for cs.Next(ctx) {
		ev, err := change.Parse(cs.Current, "documentKey", timeNow())
		if err != nil {
			return err
		}
		for {
			res := core.Deliver(ctx, deliver.Batch{Route: coll.Name(), Function: function, Events: []*change.Event{ev}})
			if res.OK() || ctx.Err() != nil {
				break
			}
		}
	}
	if ctx.Err() != nil {
		return nil
	}
	return cs.Err()
}
