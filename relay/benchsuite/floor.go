package benchsuite

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
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

// Floor is the lower bound: the functions' handlers called in-process on
// the events a change stream returns, one reader per source collection and
// FloorWorkers handler calls in flight per collection (partitioned by
// documentKey), with no relay machinery (no checkpoint, lease, retries with
// backoff, dead letters, derived-event bookkeeping) and no Lambda hop.
type Floor struct {
	URI      string // the database, through the counting proxy
	Database string
	// Logf, if set, receives stream errors (the floor resumes after them).
	Logf func(format string, args ...any)

	client *mongo.Client
	cancel context.CancelFunc
	wg     sync.WaitGroup
	calls  atomic.Int64
	retry  atomic.Int64
	mu     sync.Mutex
	err    error
}

// FloorBatch bounds the events handed to a handler at once, and
// FloorWorkers is the handler calls in flight per collection: the relay's
// default batch size and concurrency.
const (
	FloorBatch   = 100
	FloorWorkers = 4
)

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
		f.wg.Go(func() { f.read(runCtx, cs, db.Collection(coll), pipeline, h, db.Name()) })
	}
	return nil
}

// read hands the events of one collection to FloorWorkers workers,
// partitioned by documentKey (so one document's events stay in order), each
// of which calls the handler on what is queued for it (at most FloorBatch
// events) as soon as it is free.
func (f *Floor) read(ctx context.Context, cs *mongo.ChangeStream, coll *mongo.Collection, pipeline mongo.Pipeline, h *fnsync.Handler, dbName string) {
	arn := "changerelay:" + dbName + "." + h.Collection()
	queues := make([]chan envelope.Record, FloorWorkers)
	var wg sync.WaitGroup
	for i := range queues {
		queues[i] = make(chan envelope.Record, 4*FloorBatch)
		wg.Go(func() { f.work(ctx, queues[i], h, arn) })
	}
	defer func() {
		for _, q := range queues {
			close(q)
		}
		wg.Wait()
	}()
	for reopened := 0; ; reopened++ {
		for cs.Next(ctx) {
			if derived.OnlyDerived(h.Collection(), cs.Current) {
				continue
			}
			rec, err := envelope.EncodeEvent(cs.Current)
			if err != nil {
				f.fail(err)
				continue
			}
			key := fnv.New32a()
			_, _ = key.Write(cs.Current.Lookup("documentKey").Value)
			select {
			case queues[key.Sum32()%FloorWorkers] <- envelope.Record{Event: rec}:
			case <-ctx.Done():
			}
		}
		err, token := cs.Err(), cs.ResumeToken()
		_ = cs.Close(context.WithoutCancel(ctx))
		if ctx.Err() != nil {
			return
		}
		// Like any consumer, resume after the last event read.
		f.logf("floor: %s change stream failed (%v); resuming", h.Collection(), err)
		if reopened == 10 {
			f.fail(fmt.Errorf("floor: %s change stream: %w", h.Collection(), err))
			return
		}
		opts := options.ChangeStream().SetResumeAfter(token).SetFullDocument(options.UpdateLookup).
			SetFullDocumentBeforeChange(options.WhenAvailable).SetMaxAwaitTime(time.Second)
		if cs, err = coll.Watch(ctx, pipeline, opts); err != nil {
			f.fail(fmt.Errorf("floor: reopen %s: %w", h.Collection(), err))
			return
		}
	}
}

// work calls the handler on batches of what is queued.
func (f *Floor) work(ctx context.Context, q <-chan envelope.Record, h *fnsync.Handler, arn string) {
	for first := range q {
		recs := []envelope.Record{first}
	fill:
		for len(recs) < FloorBatch {
			select {
			case r, ok := <-q:
				if !ok {
					break fill
				}
				recs = append(recs, r)
			default:
				break fill
			}
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
				f.fail(fmt.Errorf("%s batch still failing after %d attempts: %v %v", h.Collection(), attempt, err, resp.BatchItemFailures))
				break
			}
			f.retry.Add(1)
			time.Sleep(time.Duration(attempt+1) * 20 * time.Millisecond) // backoff between attempts, not synchronization
		}
	}
}

func (f *Floor) logf(format string, args ...any) {
	if f.Logf != nil {
		f.Logf(format, args...)
	}
}

// Err returns the first error the floor met (it goes on after it).
func (f *Floor) Err() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.err
}

func (f *Floor) fail(err error) {
	f.logf("floor: %v", err)
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
