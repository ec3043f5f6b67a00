// Package repair runs the repair function, which converges every derived
// field as of a cluster time, for the two cases where the relay cannot
// deliver the events in between: a resume point lost from the oplog, and
// the first start with existing data.
package repair

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/bson/primitive"
	"go.mongodb.org/mongo-driver/mongo"
	"go.mongodb.org/mongo-driver/mongo/options"
	"go.mongodb.org/mongo-driver/mongo/readconcern"

	"github.com/changerelay/changerelay/relay/deliver"
	"github.com/changerelay/changerelay/relay/metrics"
)

// Payload is the event the repair function receives.
const Payload = `{"dryRun":false}`

// Runner invokes the repair function, one run at a time.
type Runner struct {
	Invoker  deliver.Invoker
	Function string
	// Timeout bounds one run (the function's timeout plus a margin).
	Timeout time.Duration
	// DB is the watched database; the cluster time is read from it.
	DB      *mongo.Database
	Metrics *metrics.Metrics
	Log     *slog.Logger

	mu sync.Mutex
}

// Converge takes the cluster time T, runs the repair function (which
// converges everything as of a time at or after T) and returns T: the
// stream resumes at T, so that no write after T is missed.
func (r *Runner) Converge(ctx context.Context) (primitive.Timestamp, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	ts, err := ClusterTime(ctx, r.DB)
	if err != nil {
		r.count("error")
		return ts, err
	}
	log := r.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log.Warn("running repair", "function", r.Function, "clusterTime", ts)
	runCtx := ctx
	if r.Timeout > 0 {
		var cancel context.CancelFunc
		runCtx, cancel = context.WithTimeout(ctx, r.Timeout)
		defer cancel()
	}
	start := time.Now()
	reply, err := r.Invoker.Invoke(runCtx, r.Function, []byte(Payload))
	if err != nil {
		r.count("error")
		return ts, fmt.Errorf("repair function %s: %w", r.Function, err)
	}
	r.count("ok")
	log.Warn("repair done", "function", r.Function, "clusterTime", ts, "took", time.Since(start), "report", string(truncate(reply, 2048)))
	return ts, nil
}

func (r *Runner) count(outcome string) {
	if r.Metrics != nil {
		r.Metrics.Repairs.WithLabelValues(outcome).Inc()
	}
}

func truncate(b []byte, n int) []byte {
	if len(b) > n {
		return b[:n]
	}
	return b
}

// ClusterTime returns the deployment's current majority-committed cluster
// time: the operationTime of a majority read.
func ClusterTime(ctx context.Context, db *mongo.Database) (primitive.Timestamp, error) {
	sess, err := db.Client().StartSession()
	if err != nil {
		return primitive.Timestamp{}, fmt.Errorf("cluster time: %w", err)
	}
	defer sess.EndSession(ctx)
	coll := db.Collection("_relay_clock", options.Collection().SetReadConcern(readconcern.Majority()))
	err = mongo.WithSession(ctx, sess, func(sc mongo.SessionContext) error {
		err := coll.FindOne(sc, bson.D{}).Err()
		if errors.Is(err, mongo.ErrNoDocuments) {
			return nil
		}
		return err
	})
	if err != nil {
		return primitive.Timestamp{}, fmt.Errorf("cluster time: %w", err)
	}
	if ts := sess.OperationTime(); ts != nil && !ts.IsZero() {
		return *ts, nil
	}
	if ct := sess.ClusterTime(); ct != nil {
		if t, i, ok := ct.Lookup("$clusterTime", "clusterTime").TimestampOK(); ok {
			return primitive.Timestamp{T: t, I: i}, nil
		}
	}
	return primitive.Timestamp{}, errors.New("cluster time: the server reported none (not a replica set?)")
}
