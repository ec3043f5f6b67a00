package store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"go.mongodb.org/mongo-driver/mongo"
)

// Defaults of Config.
const (
	DefaultCallTimeout = 10 * time.Second
	DefaultMaxAttempts = 8
	DefaultPageSize    = 1000
)

// Config configures a Store.
type Config struct {
	// DB is the database holding the data model's collections. Required.
	DB *mongo.Database
	// CallTimeout bounds every database call (default 10s). A call never
	// outlives the caller's context either.
	CallTimeout time.Duration
	// MaxAttempts bounds the rounds of a compare-and-set loop before it
	// gives up with ErrContention (default 8).
	MaxAttempts int
	// PageSize is the cursor batch and bulk write size of full scans
	// (default 1000).
	PageSize int
	// Logger receives debug lines; nil discards.
	Logger *slog.Logger
}

// Validate names the first bad setting.
func (c Config) Validate() error {
	switch {
	case c.DB == nil:
		return errors.New("store: DB is required")
	case c.CallTimeout < 0:
		return errors.New("store: CallTimeout must not be negative")
	case c.MaxAttempts < 0:
		return errors.New("store: MaxAttempts must not be negative")
	case c.PageSize < 0:
		return errors.New("store: PageSize must not be negative")
	}
	return nil
}

func (c *Config) setDefaults() {
	if c.CallTimeout == 0 {
		c.CallTimeout = DefaultCallTimeout
	}
	if c.MaxAttempts == 0 {
		c.MaxAttempts = DefaultMaxAttempts
	}
	if c.PageSize == 0 {
		c.PageSize = DefaultPageSize
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
}

// ErrContention is returned when a compare-and-set loop kept losing races
// for MaxAttempts rounds. The caller fails the event; a retry converges.
var ErrContention = errors.New("store: too many concurrent changes, giving up for now")

// Store runs the shared reads and guarded writes.
type Store struct {
	cfg Config
}

// New returns a Store.
func New(cfg Config) (*Store, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg.setDefaults()
	return &Store{cfg: cfg}, nil
}

// DB returns the database.
func (s *Store) DB() *mongo.Database { return s.cfg.DB }

// Coll returns a collection of the database.
func (s *Store) Coll(name string) *mongo.Collection { return s.cfg.DB.Collection(name) }

// PageSize returns the configured page size.
func (s *Store) PageSize() int { return s.cfg.PageSize }

// Logger returns the configured logger.
func (s *Store) Logger() *slog.Logger { return s.cfg.Logger }

// Call returns a context for one database call: the caller's, bounded by
// CallTimeout.
func (s *Store) Call(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, s.cfg.CallTimeout)
}

// BulkWrite runs models unordered in one command (the embedded server and
// MongoDB both apply it as one round trip). Duplicate-key errors are not
// errors here: they mean a concurrent writer inserted first, which every
// caller treats as a lost compare-and-set. It returns the matched+upserted
// count of statements that took effect.
func (s *Store) BulkWrite(ctx context.Context, coll string, models []mongo.WriteModel) (int64, error) {
	if len(models) == 0 {
		return 0, nil
	}
	var applied int64
	for start := 0; start < len(models); start += s.cfg.PageSize {
		end := min(start+s.cfg.PageSize, len(models))
		n, err := s.bulkPage(ctx, coll, models[start:end])
		applied += n
		if err != nil {
			return applied, err
		}
	}
	return applied, nil
}

func (s *Store) bulkPage(ctx context.Context, coll string, models []mongo.WriteModel) (int64, error) {
	cctx, cancel := s.Call(ctx)
	defer cancel()
	res, err := s.Coll(coll).BulkWrite(cctx, models, bulkUnordered)
	var applied int64
	if res != nil {
		applied = res.MatchedCount + res.UpsertedCount + res.InsertedCount + res.DeletedCount
	}
	if err != nil {
		var bwe mongo.BulkWriteException
		if errors.As(err, &bwe) && bwe.WriteConcernError == nil && onlyDuplicateKeys(bwe.WriteErrors) {
			return applied, nil
		}
		return applied, fmt.Errorf("bulk write to %s: %w", coll, err)
	}
	return applied, nil
}

func onlyDuplicateKeys(errs []mongo.BulkWriteError) bool {
	for _, e := range errs {
		if e.Code != 11000 {
			return false
		}
	}
	return true
}
