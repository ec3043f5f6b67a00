package dispatch

import (
	"container/heap"
	"time"

	"github.com/changerelay/changerelay/relay/change"
)

// keyState is one ordering key's queue.
type keyState struct {
	queue     []*change.Event
	bytes     int
	inFlight  bool
	inReady   bool
	notBefore time.Time
}

// fifo is a queue of keys.
type fifo struct {
	items []string
	head  int
}

func (q *fifo) push(k string) { q.items = append(q.items, k) }
func (q *fifo) len() int      { return len(q.items) - q.head }
func (q *fifo) peek() string  { return q.items[q.head] }

func (q *fifo) pop() string {
	k := q.items[q.head]
	q.items[q.head] = ""
	q.head++
	if q.head > 1024 && q.head*2 > len(q.items) {
		q.items = append([]string(nil), q.items[q.head:]...)
		q.head = 0
	}
	return k
}

// delays is a min-heap of keys waiting for their notBefore.
type delays []delayed

type delayed struct {
	at  time.Time
	key string
}

func (h delays) Len() int           { return len(h) }
func (h delays) Less(i, j int) bool { return h[i].at.Before(h[j].at) }
func (h delays) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *delays) Push(x any)        { *h = append(*h, x.(delayed)) }
func (h *delays) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

func (h *delays) add(at time.Time, key string) { heap.Push(h, delayed{at, key}) }
func (h *delays) next() (time.Time, bool) {
	if len(*h) == 0 {
		return time.Time{}, false
	}
	return (*h)[0].at, true
}
func (h *delays) take() string { return heap.Pop(h).(delayed).key }
