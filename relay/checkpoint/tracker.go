package checkpoint

import (
	"sync"
	"time"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/bson/primitive"

	"github.com/changerelay/changerelay/relay/change"
)

// Position is a point in a change stream to resume from: after Token, or
// at ClusterTime when there is no token (after a repair or a "now" start).
type Position struct {
	Token       bson.Raw
	ClusterTime primitive.Timestamp
	// Time is ClusterTime as wall-clock time, for lag.
	Time time.Time
}

// IsZero reports whether p is no position at all.
func (p Position) IsZero() bool { return p.Token == nil && p.ClusterTime.IsZero() }

// EventPosition is the position just after ev. It owns a copy of the
// token, so a position kept after the event is done does not keep the
// whole event alive.
func EventPosition(ev *change.Event) Position {
	return Position{Token: cloneToken(ev.Token), ClusterTime: ev.ClusterTime, Time: change.Time(ev.ClusterTime)}
}

// RawPosition is the position just after a change event as read; it owns
// a copy of the token (ev may be the driver's buffer).
func RawPosition(ev bson.Raw) Position {
	token, _ := ev.Lookup("_id").DocumentOK()
	p := TokenPosition(cloneToken(token), time.Now())
	if t, i, ok := ev.Lookup("clusterTime").TimestampOK(); ok {
		p.ClusterTime = primitive.Timestamp{T: t, I: i}
		p.Time = change.Time(p.ClusterTime)
	}
	return p
}

// TokenPosition is the position after a token that is not an event (a
// postBatchResumeToken); its time is decoded from the token, else now.
func TokenPosition(token bson.Raw, now time.Time) Position {
	p := Position{Token: token, Time: now}
	if ts, ok := change.TokenTime(token); ok {
		p.ClusterTime, p.Time = ts, change.Time(ts)
	}
	return p
}

func cloneToken(t bson.Raw) bson.Raw {
	if t == nil {
		return nil
	}
	return append(bson.Raw(nil), t...)
}

// TimePosition is the position at a cluster time, with no token.
func TimePosition(ts primitive.Timestamp) Position {
	return Position{ClusterTime: ts, Time: change.Time(ts)}
}

// Tracker finds the position past which every event is done.
//
// It holds an entry per position read since the oldest event not yet done.
// Only the last of a run of done entries matters (the safe position jumps
// over the run at once), so runs are collapsed once the entries pass
// minCompact and again each time they double: while one slow event holds
// the head, the entries stay proportional to the events in flight, however
// many events finish behind it.
type Tracker struct {
	mu      sync.Mutex
	entries []*entry
	head    int
	pending map[uint64]*entry
	nextSeq uint64
	safe    Position
	// compactAt is the length of entries[head:] that triggers a collapse.
	compactAt int
}

// minCompact is the smallest backlog of entries worth collapsing.
const minCompact = 1024

type entry struct {
	seq  uint64
	pos  Position
	done bool
}

// NewTracker starts tracking from the position the stream opens at.
func NewTracker(start Position) *Tracker {
	return &Tracker{safe: start, pending: map[uint64]*entry{}}
}

// Add registers an event that has work to do, assigning ev.Seq.
func (t *Tracker) Add(ev *change.Event) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.nextSeq++
	ev.Seq = t.nextSeq
	e := &entry{seq: ev.Seq, pos: EventPosition(ev)}
	t.entries = append(t.entries, e)
	t.pending[e.seq] = e
}

// Mark registers a position with nothing to do: a skipped event, a
// postBatchResumeToken, the time a repair converged to.
func (t *Tracker) Mark(p Position) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.nextSeq++
	if t.head == len(t.entries) {
		t.safe = p
		return
	}
	if tail := t.entries[len(t.entries)-1]; tail.done {
		tail.pos = p // consecutive done entries collapse into the last
		return
	}
	t.entries = append(t.entries, &entry{seq: t.nextSeq, pos: p, done: true})
}

// Done records that the event with this sequence number is done.
func (t *Tracker) Done(seq uint64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	e, ok := t.pending[seq]
	if !ok {
		return
	}
	delete(t.pending, seq)
	e.done = true
	for t.head < len(t.entries) && t.entries[t.head].done {
		t.safe = t.entries[t.head].pos
		t.entries[t.head] = nil
		t.head++
	}
	switch live := len(t.entries) - t.head; {
	case live == 0:
		t.entries, t.head = t.entries[:0], 0
	case live >= max(minCompact, t.compactAt):
		t.collapse()
	case t.head > 4096 && t.head*2 > len(t.entries):
		t.entries = append([]*entry(nil), t.entries[t.head:]...)
		t.head = 0
	}
}

// collapse drops every done entry followed by another done entry, and
// moves what is left to the front. The next collapse waits until the
// entries double, so the work stays linear in the positions read.
func (t *Tracker) collapse() {
	live := t.entries[t.head:]
	kept := make([]*entry, 0, len(live)/2+1)
	for i, e := range live {
		if e.done && i+1 < len(live) && live[i+1].done {
			continue
		}
		kept = append(kept, e)
	}
	t.entries, t.head = kept, 0
	t.compactAt = 2 * len(kept)
}

// Safe is the position past which every event is done.
func (t *Tracker) Safe() Position {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.safe
}

// Pending is the number of events not yet done.
func (t *Tracker) Pending() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.pending)
}
