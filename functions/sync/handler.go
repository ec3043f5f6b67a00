package sync

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"go.mongodb.org/mongo-driver/bson"

	"github.com/changerelay/changerelay/functions/changeevent"
	"github.com/changerelay/changerelay/functions/derived"
	"github.com/changerelay/changerelay/functions/envelope"
	"github.com/changerelay/changerelay/functions/model"
	"github.com/changerelay/changerelay/functions/store"
)

// ErrNotOwned rejects an event from a namespace the handler does not own.
var ErrNotOwned = errors.New("event from a namespace this function does not own")

// ErrBatchFailed is returned (wrapped) when no event of a batch could be
// applied, or when a failed event has no id to report it by.
var ErrBatchFailed = errors.New("batch failed")

// item is one valid event on its way through an applier.
type item struct {
	ev  changeevent.Event
	err error
}

// applier is the collection-specific part of a handler.
type applier interface {
	// validate checks the fields of one event the applier relies on.
	validate(ev *changeevent.Event) error
	// apply applies the items, setting err on those that failed. It must
	// not panic and must leave every item either applied or failed.
	apply(ctx context.Context, items []*item)
}

// Handler handles the change events of one source collection.
type Handler struct {
	cfg     Config
	coll    string
	db      string
	applier applier
}

func newHandler(coll string, cfg Config, mk func(*store.Store) applier) (*Handler, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg.setDefaults()
	return &Handler{cfg: cfg, coll: coll, db: cfg.Store.DB().Name(), applier: mk(cfg.Store)}, nil
}

// NewUsers returns the users handler.
func NewUsers(cfg Config) (*Handler, error) {
	return newHandler(model.Users, cfg, func(s *store.Store) applier { return &users{s: s} })
}

// NewArticles returns the articles handler.
func NewArticles(cfg Config) (*Handler, error) {
	return newHandler(model.Articles, cfg, func(s *store.Store) applier { return &articles{s: s} })
}

// NewComments returns the comments handler.
func NewComments(cfg Config) (*Handler, error) {
	return newHandler(model.Comments, cfg, func(s *store.Store) applier { return &comments{s: s} })
}

// NewFavorites returns the favorites handler.
func NewFavorites(cfg Config) (*Handler, error) {
	return newHandler(model.Favorites, cfg, func(s *store.Store) applier { return &favorites{s: s} })
}

// New returns the handler of a source collection by name.
func New(coll string, cfg Config) (*Handler, error) {
	switch coll {
	case model.Users:
		return NewUsers(cfg)
	case model.Articles:
		return NewArticles(cfg)
	case model.Comments:
		return NewComments(cfg)
	case model.Favorites:
		return NewFavorites(cfg)
	}
	return nil, fmt.Errorf("sync: no handler for collection %q", coll)
}

// Collection returns the collection the handler owns.
func (h *Handler) Collection() string { return h.coll }

// Handle decodes a raw envelope and handles it: the Lambda entry point.
func (h *Handler) Handle(ctx context.Context, payload json.RawMessage) (envelope.Response, error) {
	var env envelope.Envelope
	if err := json.Unmarshal(payload, &env); err != nil {
		h.cfg.Logger.ErrorContext(ctx, "envelope is not valid JSON", "function", h.coll, "error", err)
		return envelope.Response{}, fmt.Errorf("%w: envelope is not valid JSON: %w", ErrBatchFailed, err)
	}
	return h.HandleEnvelope(ctx, env)
}

// HandleEnvelope applies a batch. It returns batchItemFailures naming the
// events that failed, and an error only when every event failed or a failed
// event carries no id (then the whole batch must be retried; applying the
// others again is harmless).
func (h *Handler) HandleEnvelope(ctx context.Context, env envelope.Envelope) (envelope.Response, error) {
	start := time.Now()
	resp := envelope.Response{BatchItemFailures: []envelope.BatchItemFailure{}}
	if len(env.Events) == 0 {
		return resp, nil
	}
	ctx, cancel := h.workContext(ctx)
	defer cancel()

	var (
		items           []*item
		failed, skipped int
		unidentified    int
		firstErr        error
		failedIDs       []string
		firstID, lastID string
	)
	fail := func(id string, ev *changeevent.Event, err error) {
		failed++
		if firstErr == nil {
			firstErr = err
		}
		h.logFailure(ctx, id, ev, err)
		if id == "" {
			unidentified++
			return
		}
		failedIDs = append(failedIDs, id)
	}
	for _, rec := range env.Events {
		ev, id, err := changeevent.Decode(rec.Event)
		if firstID == "" {
			firstID = id
		}
		if id != "" {
			lastID = id
		}
		if err == nil && (ev.DB != h.db || ev.Coll != h.coll) {
			err = fmt.Errorf("%w: %s.%s (this is the %s.%s function)", ErrNotOwned, ev.DB, ev.Coll, h.db, h.coll)
		}
		if err == nil && derived.OnlyDerived(h.coll, ev.Raw) {
			skipped++
			h.cfg.Logger.DebugContext(ctx, "derived-only event skipped", "eventId", id)
			continue
		}
		if err == nil {
			err = h.applier.validate(&ev)
		}
		if err != nil {
			fail(id, &ev, err)
			continue
		}
		items = append(items, &item{ev: ev})
	}
	h.applySafely(ctx, items)
	for _, it := range items {
		if it.err != nil {
			fail(it.ev.ID, &it.ev, it.err)
		}
	}

	slices.Sort(failedIDs)
	for _, id := range slices.Compact(failedIDs) {
		resp.BatchItemFailures = append(resp.BatchItemFailures, envelope.BatchItemFailure{ItemIdentifier: id})
	}
	h.cfg.Logger.InfoContext(ctx, "batch handled",
		"function", h.coll, "events", len(env.Events), "applied", len(env.Events)-failed-skipped,
		"skippedDerivedOnly", skipped, "failed", failed,
		"firstEventId", firstID, "lastEventId", lastID, "durationMs", time.Since(start).Milliseconds())

	switch {
	case unidentified > 0:
		return resp, fmt.Errorf("%w: %d failed events carry no _id._data: %w", ErrBatchFailed, unidentified, firstErr)
	case failed == len(env.Events):
		return resp, fmt.Errorf("%w: all %d events failed: %w", ErrBatchFailed, failed, firstErr)
	}
	return resp, nil
}

// applySafely runs the applier, turning a panic (a bug) into failures of
// the items not yet decided rather than a crashed runtime.
func (h *Handler) applySafely(ctx context.Context, items []*item) {
	if len(items) == 0 {
		return
	}
	defer func() {
		if r := recover(); r != nil {
			err := fmt.Errorf("internal error: %v", r)
			for _, it := range items {
				if it.err == nil {
					it.err = err
				}
			}
		}
	}()
	h.applier.apply(ctx, items)
}

func (h *Handler) workContext(ctx context.Context) (context.Context, context.CancelFunc) {
	deadline, ok := ctx.Deadline()
	if !ok {
		return context.WithCancel(ctx)
	}
	margin := min(h.cfg.DeadlineMargin, time.Until(deadline)/10)
	return context.WithDeadline(ctx, deadline.Add(-margin))
}

func (h *Handler) logFailure(ctx context.Context, id string, ev *changeevent.Event, err error) {
	attrs := []any{"function", h.coll, "eventId", id, "error", err.Error()}
	if ev != nil && ev.Op != "" {
		attrs = append(attrs, "operationType", ev.Op)
	}
	if ev != nil && ev.DocID.Type != 0 {
		attrs = append(attrs, "documentKey", rawString(ev.DocID))
	}
	h.cfg.Logger.WarnContext(ctx, "event failed", attrs...)
}

func rawString(v bson.RawValue) string {
	if oid, ok := v.ObjectIDOK(); ok {
		return oid.Hex()
	}
	return v.String()
}

// failAll marks every item that has not failed yet.
func failAll(items []*item, err error) {
	for _, it := range items {
		if it.err == nil {
			it.err = err
		}
	}
}
