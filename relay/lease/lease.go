// Package lease makes one relay active per database: a document in
// _relay_lease names the owner, an epoch that grows with every change of
// hands, and an expiry the owner keeps pushing forward. Another relay takes
// over once the expiry has passed; the epoch fences the checkpoints of the
// relay that lost it (see package checkpoint).
package lease

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/mongo"
	"go.mongodb.org/mongo-driver/mongo/options"
	"go.mongodb.org/mongo-driver/mongo/writeconcern"
)

// ErrLost is returned by Hold when the lease was taken over or could not
// be renewed before it expired.
var ErrLost = errors.New("lease lost")

// DocID is the lease document's _id.
const DocID = "relay"

// Record is the lease document.
type Record struct {
	ID         string    `bson:"_id"`
	Owner      string    `bson:"owner"`
	Epoch      int64     `bson:"epoch"`
	ExpiresAt  time.Time `bson:"expiresAt"`
	AcquiredAt time.Time `bson:"acquiredAt"`
	RenewedAt  time.Time `bson:"renewedAt"`
}

// Config configures a Lease.
type Config struct {
	Owner         string
	Duration      time.Duration // default 15s
	RenewInterval time.Duration // default Duration/3
	// Now is the clock (tests); default time.Now. Relays compare expiry
	// times with their own clocks, so keep them in sync (NTP): skew
	// shortens or lengthens a takeover by the same amount.
	Now func() time.Time
}

// Lease is this relay's side of the lease.
type Lease struct {
	cfg   Config
	coll  *mongo.Collection
	log   *slog.Logger
	epoch int64
	until time.Time
}

// New uses collection name in db.
func New(db *mongo.Database, name string, cfg Config, log *slog.Logger) *Lease {
	if cfg.Duration <= 0 {
		cfg.Duration = 15 * time.Second
	}
	if cfg.RenewInterval <= 0 || cfg.RenewInterval >= cfg.Duration {
		cfg.RenewInterval = cfg.Duration / 3
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	coll := db.Collection(name, options.Collection().SetWriteConcern(writeconcern.Majority()))
	return &Lease{cfg: cfg, coll: coll, log: log}
}

// Epoch is the epoch of the last acquisition.
func (l *Lease) Epoch() int64 { return l.epoch }

// Acquire waits until this relay holds the lease and returns its epoch.
func (l *Lease) Acquire(ctx context.Context) (int64, error) {
	for {
		ok, err := l.TryAcquire(ctx)
		if err != nil && ctx.Err() == nil {
			l.log.Warn("lease acquisition failed", "error", err)
		}
		if ok {
			return l.epoch, nil
		}
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-time.After(l.cfg.RenewInterval):
		}
	}
}

// TryAcquire takes the lease if it is free, expired, or already this
// owner's; every acquisition raises the epoch.
func (l *Lease) TryAcquire(ctx context.Context) (bool, error) {
	now := l.cfg.Now().UTC()
	var cur Record
	err := l.coll.FindOne(ctx, bson.D{{Key: "_id", Value: DocID}}).Decode(&cur)
	if errors.Is(err, mongo.ErrNoDocuments) {
		rec := Record{ID: DocID, Owner: l.cfg.Owner, Epoch: 1, ExpiresAt: now.Add(l.cfg.Duration), AcquiredAt: now, RenewedAt: now}
		_, err := l.coll.InsertOne(ctx, rec)
		if mongo.IsDuplicateKeyError(err) {
			return false, nil
		}
		if err != nil {
			return false, fmt.Errorf("create lease: %w", err)
		}
		l.acquired(rec)
		return true, nil
	}
	if err != nil {
		return false, fmt.Errorf("read lease: %w", err)
	}
	if cur.Owner != l.cfg.Owner && now.Before(cur.ExpiresAt) {
		return false, nil
	}
	rec := Record{ID: DocID, Owner: l.cfg.Owner, Epoch: cur.Epoch + 1, ExpiresAt: now.Add(l.cfg.Duration), AcquiredAt: now, RenewedAt: now}
	// Conditional on the document we read: of two relays racing for an
	// expired lease, one wins.
	res, err := l.coll.ReplaceOne(ctx, bson.D{{Key: "_id", Value: DocID}, {Key: "epoch", Value: cur.Epoch}, {Key: "owner", Value: cur.Owner}}, rec)
	if err != nil {
		return false, fmt.Errorf("take over lease: %w", err)
	}
	if res.ModifiedCount == 0 && res.MatchedCount == 0 {
		return false, nil
	}
	l.acquired(rec)
	if cur.Owner != l.cfg.Owner {
		l.log.Info("took over lease", "from", cur.Owner, "expiredAt", cur.ExpiresAt)
	}
	return true, nil
}

func (l *Lease) acquired(rec Record) {
	l.epoch = rec.Epoch
	l.until = rec.ExpiresAt
	l.log.Info("lease acquired", "owner", rec.Owner, "epoch", rec.Epoch, "expiresAt", rec.ExpiresAt)
}

// Hold renews the lease every RenewInterval until ctx ends (nil) or the
// lease is lost (ErrLost): taken over, or not renewed before it expired.
func (l *Lease) Hold(ctx context.Context) error {
	t := time.NewTicker(l.cfg.RenewInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		err := l.Renew(ctx)
		switch {
		case errors.Is(err, ErrLost):
			return err
		case err != nil && ctx.Err() == nil:
			l.log.Warn("lease renewal failed", "error", err)
			if !l.cfg.Now().Before(l.until) {
				return fmt.Errorf("%w: not renewed before it expired: %w", ErrLost, err)
			}
		}
	}
}

// Renew pushes the expiry forward if this relay still holds the lease.
func (l *Lease) Renew(ctx context.Context) error {
	now := l.cfg.Now().UTC()
	until := now.Add(l.cfg.Duration)
	res, err := l.coll.UpdateOne(ctx,
		bson.D{{Key: "_id", Value: DocID}, {Key: "owner", Value: l.cfg.Owner}, {Key: "epoch", Value: l.epoch}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "expiresAt", Value: until}, {Key: "renewedAt", Value: now}}}})
	if err != nil {
		return fmt.Errorf("renew lease: %w", err)
	}
	if res.MatchedCount == 0 {
		return fmt.Errorf("%w: epoch %d is no longer current", ErrLost, l.epoch)
	}
	l.until = until
	return nil
}

// Release gives the lease up (on graceful shutdown) so that a standby
// takes over at once.
func (l *Lease) Release(ctx context.Context) error {
	_, err := l.coll.UpdateOne(ctx,
		bson.D{{Key: "_id", Value: DocID}, {Key: "owner", Value: l.cfg.Owner}, {Key: "epoch", Value: l.epoch}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "expiresAt", Value: l.cfg.Now().UTC()}}}})
	if err != nil {
		return fmt.Errorf("release lease: %w", err)
	}
	return nil
}

// Read returns the lease document, if any.
func Read(ctx context.Context, db *mongo.Database, name string) (Record, bool, error) {
	var rec Record
	err := db.Collection(name).FindOne(ctx, bson.D{{Key: "_id", Value: DocID}}).Decode(&rec)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return rec, false, nil
	}
	if err != nil {
		return rec, false, fmt.Errorf("read lease: %w", err)
	}
	return rec, true, nil
}
