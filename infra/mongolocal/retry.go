package mongolocal

import (
	"fmt"
	"strings"
	"sync"
	"time"

	"go.mongodb.org/mongo-driver/bson"
)

// retryCache remembers the replies of retryable writes by (lsid, txnNumber)
// so a retried write is answered without being applied twice.
type retryCache struct {
	mu    sync.Mutex
	max   int
	ttl   time.Duration
	byKey map[string]retryRecord
	order []string
}

type retryRecord struct {
	reply bson.D
	at    time.Time
}

func newRetryCache(max int, ttl time.Duration) *retryCache {
	return &retryCache{max: max, ttl: ttl, byKey: map[string]retryRecord{}}
}

// retryKey identifies a retryable write; ok=false for anything else.
func retryKey(cmd *command) (string, bool) {
	switch strings.ToLower(cmd.Name) {
	case "insert", "update", "delete", "findandmodify":
	default:
		return "", false
	}
	txn, ok := cmd.int64("txnNumber")
	if !ok {
		return "", false
	}
	lsid, ok := cmd.get("lsid")
	if !ok {
		return "", false
	}
	return fmt.Sprintf("%s|%d|%s", idKey(lsid), txn, cmd.Name), true
}

func (rc *retryCache) get(key string) (bson.D, bool) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	r, ok := rc.byKey[key]
	if !ok || time.Since(r.at) > rc.ttl {
		return nil, false
	}
	return r.reply, true
}

func (rc *retryCache) put(key string, reply bson.D) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if _, ok := rc.byKey[key]; !ok {
		rc.order = append(rc.order, key)
	}
	rc.byKey[key] = retryRecord{reply: reply, at: time.Now()}
	for len(rc.order) > rc.max {
		delete(rc.byKey, rc.order[0])
		rc.order = rc.order[1:]
	}
}

func (rc *retryCache) reap() {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	for len(rc.order) > 0 {
		r, ok := rc.byKey[rc.order[0]]
		if ok && time.Since(r.at) <= rc.ttl {
			return
		}
		delete(rc.byKey, rc.order[0])
		rc.order = rc.order[1:]
	}
}
