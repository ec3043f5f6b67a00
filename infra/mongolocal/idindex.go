package mongolocal

import (
	"math"
	"slices"
	"sort"
	"strconv"
	"sync"

	"github.com/256dpi/lungo/bsonkit"
	"github.com/256dpi/lungo/mongokit"
	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/bson/primitive"
)

// lungo's matcher scans every document; queries that pin _id (equality or
// $in, possibly with more conditions, like a compare-and-set filter) are
// answered from a hash of _id values instead. Only _id values whose MongoDB
// equality a string key can express take part (strings, ObjectIDs and
// numbers, which compare by value across int/long/double); a collection
// holding any other kind of _id is scanned as before.

// idHash maps keyed _id values to positions in a collection's list.
type idHash struct {
	pos      map[string]int
	complete bool // every document's _id is keyable
}

// idKeyOf returns the hash key of an _id value, if it has one.
func idKeyOf(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return "s" + x, true
	case primitive.ObjectID:
		return "o" + string(x[:]), true
	case int32:
		return "n" + strconv.FormatInt(int64(x), 10), true
	case int64:
		return "n" + strconv.FormatInt(x, 10), true
	case float64:
		if x == math.Trunc(x) && x >= math.MinInt64 && x < math.MaxInt64 {
			return "n" + strconv.FormatInt(int64(x), 10), true
		}
		if math.IsNaN(x) {
			return "", false
		}
		return "f" + strconv.FormatFloat(x, 'g', -1, 64), true
	}
	return "", false
}

func buildIDHash(list bsonkit.List) *idHash {
	h := &idHash{pos: make(map[string]int, len(list)), complete: true}
	for i, d := range list {
		k, ok := idKeyOf(bsonkit.Get(d, "_id"))
		if !ok {
			return &idHash{}
		}
		h.pos[k] = i
	}
	return h
}

// idKeys returns the keys a query's _id condition allows; ok=false when
// the query does not pin _id to keyable values.
func idKeys(query bsonkit.Doc) ([]string, bool) {
	if query == nil {
		return nil, false
	}
	v, ok := lookupD(*query, "_id")
	if !ok {
		return nil, false
	}
	if ops, isDoc := v.(bson.D); isDoc {
		if len(ops) != 1 {
			return nil, false
		}
		switch ops[0].Key {
		case "$eq":
			v = ops[0].Value
		case "$in":
			arr, isArr := ops[0].Value.(bson.A)
			if !isArr {
				return nil, false
			}
			keys := make([]string, 0, len(arr))
			for _, item := range arr {
				k, ok := idKeyOf(item)
				if !ok {
					return nil, false
				}
				keys = append(keys, k)
			}
			return keys, true
		default:
			return nil, false
		}
	}
	k, ok := idKeyOf(v)
	if !ok {
		return nil, false
	}
	return []string{k}, true
}

// findByID answers query over list from h; ok=false when the fast path
// does not apply.
func findByID(h *idHash, list bsonkit.List, query, sortDoc bsonkit.Doc, limit int) (bsonkit.List, bool, error) {
	if h == nil || !h.complete {
		return nil, false, nil
	}
	keys, ok := idKeys(query)
	if !ok {
		return nil, false, nil
	}
	var at []int
	for _, k := range keys {
		if i, ok := h.pos[k]; ok {
			at = append(at, i)
		}
	}
	sort.Ints(at)
	at = slices.Compact(at)
	cands := make(bsonkit.List, 0, len(at))
	for _, i := range at {
		cands = append(cands, list[i])
	}
	var err error
	if sortDoc != nil && len(*sortDoc) > 0 {
		if cands, err = mongokit.Sort(cands, sortDoc); err != nil {
			return nil, true, err
		}
	}
	found, err := mongokit.Filter(cands, query, limit)
	return found, true, err
}

// idHashes caches the _id hash of published (immutable) collections for reads.
type idHashes struct {
	mu    sync.Mutex
	byCol map[*mongokit.Collection]*idHash
	order []*mongokit.Collection
}

const idHashCacheSize = 64

func (c *idHashes) get(col *mongokit.Collection) *idHash {
	c.mu.Lock()
	defer c.mu.Unlock()
	if h, ok := c.byCol[col]; ok {
		return h
	}
	h := buildIDHash(col.Documents.List)
	if c.byCol == nil {
		c.byCol = map[*mongokit.Collection]*idHash{}
	}
	c.byCol[col] = h
	c.order = append(c.order, col)
	if len(c.order) > idHashCacheSize {
		delete(c.byCol, c.order[0])
		c.order = c.order[1:]
	}
	return h
}
