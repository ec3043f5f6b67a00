package mongolocal

import (
	"math/rand/v2"
	"sync"
	"time"

	"go.mongodb.org/mongo-driver/bson"

	"github.com/changerelay/changerelay/infra/mongolocal/changestream"
)

// cursor is an open server cursor: either the remaining documents of a
// query, or a change stream.
type cursor struct {
	id     int64
	ns     string // "db.coll"
	docs   []bson.Raw
	stream *changestream.Cursor
	used   time.Time
	busy   bool
}

type cursors struct {
	mu   sync.Mutex
	byID map[int64]*cursor
}

func newCursors() *cursors { return &cursors{byID: map[int64]*cursor{}} }

// add registers c and assigns its id.
func (cs *cursors) add(c *cursor) int64 {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	for {
		id := rand.Int64N(1<<62) + 1
		if _, taken := cs.byID[id]; !taken {
			c.id = id
			break
		}
	}
	c.used = time.Now()
	cs.byID[c.id] = c
	return c.id
}

// acquire marks a cursor busy for one getMore; ok=false if unknown or busy.
func (cs *cursors) acquire(id int64) (*cursor, bool) {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	c, ok := cs.byID[id]
	if !ok || c.busy {
		return nil, false
	}
	c.busy = true
	return c, true
}

func (cs *cursors) release(c *cursor) {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	c.busy = false
	c.used = time.Now()
}

func (cs *cursors) isChangeStream(id int64) bool {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	c, ok := cs.byID[id]
	return ok && c.stream != nil
}

func (cs *cursors) ns(id int64) (string, bool) {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	c, ok := cs.byID[id]
	if !ok {
		return "", false
	}
	return c.ns, true
}

// remove forgets a cursor and closes its stream; it reports whether it existed.
func (cs *cursors) remove(id int64) bool {
	cs.mu.Lock()
	c, ok := cs.byID[id]
	delete(cs.byID, id)
	cs.mu.Unlock()
	if ok && c.stream != nil {
		c.stream.Close()
	}
	return ok
}

// reap closes cursors idle for longer than idle (mongod: 10 minutes).
func (cs *cursors) reap(idle time.Duration) {
	cs.mu.Lock()
	var old []int64
	for id, c := range cs.byID {
		if !c.busy && time.Since(c.used) > idle {
			old = append(old, id)
		}
	}
	cs.mu.Unlock()
	for _, id := range old {
		cs.remove(id)
	}
}

func (cs *cursors) closeAll() {
	cs.mu.Lock()
	ids := make([]int64, 0, len(cs.byID))
	for id := range cs.byID {
		ids = append(ids, id)
	}
	cs.mu.Unlock()
	for _, id := range ids {
		cs.remove(id)
	}
}
