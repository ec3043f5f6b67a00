package benchsuite

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/bson/primitive"
	"go.mongodb.org/mongo-driver/mongo"
	"go.mongodb.org/mongo-driver/mongo/options"

	fnsync "github.com/changerelay/changerelay/functions/sync"

	"github.com/changerelay/changerelay/functions/derived"
	"github.com/changerelay/changerelay/functions/envelope"
	"github.com/changerelay/changerelay/functions/store"
	"github.com/changerelay/changerelay/infra/conduit"
)

// Floor is the lower bound: the functions' handlers called in-process, one
// reader per source collection, on the events a change stream returns, in
// the batches one getMore returns them (at most FloorBatch), with no relay
// machinery (no checkpoint, lease, queue or ordering) and no Lambda hop.
type Floor struct {
	URI      string // the database, through the counting proxy
	Database string

	client *mongo.Client
	cancel context.CancelFunc
	wg     sync.WaitGroup
	calls  atomic.Int64
	retry  atomic.Int64
	mu     sync.Mutex
	err    error
}

// FloorBatch bounds the events handed to a handler at once (the relay's
// default batch size).
const FloorBatch = 100

// Name implements SUT.
func (f *Floor) Name() string { return "floor" }

// Prime implements SUT: the floor keeps no position of its own; Start is
// given the cluster time to start from.
func (f *Floor) Prime(context.Context, primitive.Timestamp) (int64, error) { return 0, nil }

// Start implements SUT.
func (f *Floor) Start(ctx context.Context, from primitive.Timestamp) error {
	client, err := mongo.Connect(ctx, options.Client().ApplyURI(f.URI).SetAppName("bench-floor"))
	if err != nil {
		return fmt.Errorf("floor: %w", err)
	}
	f.client = client
	db := client.Database(f.Database)
	st, err := store.New(store.Config{DB: db})
	if err != nil {
		return fmt.Errorf("floor: %w", err)
	}
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	f.cancel = cancel
	for _, coll := range []string{conduit.CollUsers, conduit.CollArticles, conduit.CollComments, conduit.CollFavorites} {
		h, err := fnsync.New(coll, fnsync.Config{Store: st})
		if err != nil {
			cancel()
			return fmt.Errorf("floor: %w", err)
		}
		pipeline := mongo.Pipeline{{{Key: "$match", Value: bson.D{{Key: "operationType", Value: bson.D{{Key: "$in", Value: bson.A{"insert", "update", "replace", "delete"}}}}}}}}
		opts := options.ChangeStream().SetStartAtOperationTime(&from).SetFullDocument(options.UpdateLookup).
			SetFullDocumentBeforeChange(options.WhenAvailable).SetMaxAwaitTime(time.Second)
		cs, err := db.Collection(coll).Watch(ctx, pipeline, opts)
		if err != nil {
			cancel()
			return fmt.Errorf("floor: watch %s: %w", coll, err)
		}
		f.wg.Go(func() { f.read(runCtx, cs, h, db.Name()) })
	}
	return nil
}

func (f *Floor) read(ctx context.Context, cs *mongo.ChangeStream, h *fnsync.Handler, dbName string) {
	defer cs.Close(context.WithoutCancel(ctx))
	arn := "changerelay:" + dbName + "." + h.Collection()
	for cs.Next(ctx) {
		var recs []envelope.Record
		for {
			if !derived.OnlyDerived(h.Collection(), cs.Current) {
				rec, err := envelope.EncodeEvent(cs.Current)
				if err != nil {
					f.fail(err)
					return
				}
				recs = append(recs, envelope.Record{Event: rec})
			}
			if len(recs) == FloorBatch || cs.RemainingBatchLength() == 0 || !cs.Next(ctx) {
				break
			}
		}
		if len(recs) == 0 {
			continue
		}
		env := envelope.Envelope{EventSource: envelope.EventSourceRelay, EventSourceArn: arn, Events: recs}
		for attempt := 0; ; attempt++ {
			f.calls.Add(1)
			resp, err := h.HandleEnvelope(ctx, env)
			if err == nil && len(resp.BatchItemFailures) == 0 {
				break
			}
			if ctx.Err() != nil {
				return
			}
			if attempt == 20 {
				f.fail(fmt.Errorf("floor: %s batch still failing after %d attempts: %v %v", h.Collection(), attempt, err, resp.BatchItemFailures))
				break
			}
			f.retry.Add(1)
			time.Sleep(time.Duration(attempt+1) * 20 * time.Millisecond) // backoff between attempts, not synchronization
		}
	}
	if err := cs.Err(); err != nil && ctx.Err() == nil {
		f.fail(err)
	}
}

func (f *Floor) fail(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err == nil {
		f.err = err
	}
}

// Stop implements SUT.
func (f *Floor) Stop(ctx context.Context) (SUTStats, error) {
	if f.cancel != nil {
		f.cancel()
	}
	f.wg.Wait()
	if f.client != nil {
		_ = f.client.Disconnect(ctx)
	}
	f.mu.Lock()
	err := f.err
	f.mu.Unlock()
	if errors.Is(err, context.Canceled) {
		err = nil
	}
	return SUTStats{HandlerCalls: f.calls.Load(), HandlerRetry: f.retry.Load()}, err
}
