package changestream

import (
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"time"

	"go.mongodb.org/mongo-driver/bson/primitive"
)

// Defaults for Config.
const (
	DefaultMaxEntries = 1_000_000
	DefaultMaxAge     = 24 * time.Hour
)

// compactMin is the least number of discarded records worth a rewrite of
// the log file; above it, the file is rewritten once it holds as many
// discarded records as live ones.
const compactMin = 4096

// ErrClosed is returned by a closed Log.
var ErrClosed = errors.New("changestream: log is closed")

// Log is the change log: every committed write, in commit order, with the
// position and cluster time resume tokens refer to. It is safe for
// concurrent use by one writer and any number of cursors.
type Log struct {
	cfg    Config
	logger *slog.Logger
	now    func() time.Time

	mu     sync.Mutex
	recs   []*record // recs[i].seq == first+i; records are never modified
	meta   logMeta   // first, lastTS, lostTS, lost
	next   uint64    // position of the next appended record
	notify chan struct{}
	done   chan struct{}
	closed bool
	file   *logFile
}

// Open creates a log, loading Config.Dir's file when set.
func Open(cfg Config) (*Log, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg.setDefaults()
	l := &Log{
		cfg:    cfg,
		logger: cfg.Logger,
		now:    time.Now,
		meta:   logMeta{first: 1},
		next:   1,
		notify: make(chan struct{}),
		done:   make(chan struct{}),
	}
	if cfg.Dir != "" {
		file, meta, recs, err := openLogFile(cfg.Dir, l.logger)
		if err != nil {
			return nil, err
		}
		l.file, l.meta, l.recs = file, meta, recs
		l.next = meta.first + uint64(len(recs))
		l.mu.Lock()
		l.trimLocked()
		l.mu.Unlock()
	}
	return l, nil
}

// Validate reports the first invalid setting.
func (c Config) Validate() error {
	if c.MaxEntries < 0 {
		return fmt.Errorf("changestream: MaxEntries must not be negative, got %d", c.MaxEntries)
	}
	if c.MaxAge < 0 {
		return fmt.Errorf("changestream: MaxAge must not be negative, got %s", c.MaxAge)
	}
	return nil
}

func (c *Config) setDefaults() {
	if c.MaxEntries == 0 {
		c.MaxEntries = DefaultMaxEntries
	}
	if c.MaxAge == 0 {
		c.MaxAge = DefaultMaxAge
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
}

// Append adds committed entries in commit order and wakes waiting cursors.
// An entry the log cannot read fails the call before anything is added.
func (l *Log) Append(entries []Entry) error {
	if len(entries) == 0 {
		return nil
	}
	now := l.now()
	recs := make([]*record, len(entries))
	for i, e := range entries {
		r, err := newRecord(e, now)
		if err != nil {
			return err
		}
		recs[i] = r
	}

	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return ErrClosed
	}
	for _, r := range recs {
		r.seq = l.next
		l.next++
		// Cluster times never go backwards in the log, so binary searches
		// by time hold even if a caller's clock did.
		if r.ts.Before(l.meta.lastTS) {
			r.ts = l.meta.lastTS
		}
		l.meta.lastTS = r.ts
		l.recs = append(l.recs, r)
	}
	var err error
	if l.file != nil {
		if err = l.file.append(recs); err == nil {
			err = l.file.flush()
		}
	}
	l.trimLocked()
	close(l.notify)
	l.notify = make(chan struct{})
	return err
}

// LastTime is the cluster time of the newest entry (zero before the first).
func (l *Log) LastTime() primitive.Timestamp {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.meta.lastTS
}

// Close wakes every waiting cursor and closes the log file. Cursors fail
// from then on.
func (l *Log) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil
	}
	l.closed = true
	close(l.done)
	if l.file != nil {
		return l.file.close()
	}
	return nil
}

// trimLocked applies retention: beyond MaxEntries, or older than MaxAge,
// the oldest records go.
func (l *Log) trimLocked() {
	drop := 0
	if over := len(l.recs) - l.cfg.MaxEntries; over > 0 {
		drop = over
	}
	cutoff := l.now().Add(-l.cfg.MaxAge).UnixMilli()
	for drop < len(l.recs) && l.recs[drop].wall < cutoff {
		drop++
	}
	if drop == 0 {
		return
	}
	l.meta.lost = true
	l.meta.lostTS = l.recs[drop-1].ts
	l.meta.first += uint64(drop)
	// Readers may hold the old slice; re-slicing leaves it intact, and the
	// dropped prefix is freed when append next reallocates.
	l.recs = l.recs[drop:]
	if l.file == nil || l.closed {
		return
	}
	l.file.stale += drop
	if l.file.stale >= compactMin && l.file.stale >= len(l.recs) {
		if err := l.file.compact(l.meta, l.recs); err != nil {
			l.logger.Warn("changestream: log file compaction failed", "error", err)
		}
	}
}

// view is a consistent snapshot of the log for a reader. recs stays valid
// (records are immutable and the slice is never written in place).
type view struct {
	recs   []*record
	first  uint64 // position of recs[0]
	next   uint64 // position after the last record
	lastTS primitive.Timestamp
	lostTS primitive.Timestamp
	lost   bool
	notify <-chan struct{} // closed by the next Append
	closed bool
}

// at returns the record at position seq, or nil outside the view.
func (v *view) at(seq uint64) *record {
	if seq < v.first || seq >= v.next {
		return nil
	}
	return v.recs[seq-v.first]
}

// searchTime returns the position of the first record at or after ts.
func (v *view) searchTime(ts primitive.Timestamp) uint64 {
	i := sort.Search(len(v.recs), func(i int) bool { return !v.recs[i].ts.Before(ts) })
	return v.first + uint64(i)
}

// snapshot returns the current view, applying age retention first so idle
// logs expire too.
func (l *Log) snapshot() view {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.closed && len(l.recs) > 0 && l.recs[0].wall < l.now().Add(-l.cfg.MaxAge).UnixMilli() {
		l.trimLocked()
	}
	return view{
		recs:   l.recs,
		first:  l.meta.first,
		next:   l.next,
		lastTS: l.meta.lastTS,
		lostTS: l.meta.lostTS,
		lost:   l.meta.lost,
		notify: l.notify,
		closed: l.closed,
	}
}
