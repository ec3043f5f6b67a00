package derived

import (
	"strings"

	"go.mongodb.org/mongo-driver/bson"
)

// SyncField is the reserved top-level field for the project's bookkeeping
// (version guards and shadows). The contract lets the project keep it on any
// document.
const SyncField = "_sync"

// topLevel lists, per source collection, the top-level fields only this
// project writes.
var topLevel = map[string][]string{
	"users":     {SyncField},
	"articles":  {"author", "favoritesCount", SyncField},
	"comments":  {"author", SyncField},
	"favorites": {SyncField},
}

// Fields returns the top-level derived fields of a collection (always
// including _sync).
func Fields(coll string) []string {
	if f, ok := topLevel[coll]; ok {
		return append([]string(nil), f...)
	}
	return []string{SyncField}
}

// IsDerivedPath reports whether a dotted field path of a document in coll
// lies under a derived field (for example "author.bio" or "_sync.tags.0").
func IsDerivedPath(coll, path string) bool {
	head, _, _ := strings.Cut(path, ".")
	for _, f := range Fields(coll) {
		if head == f {
			return true
		}
	}
	return false
}

// OnlyDerived reports whether event is an update whose changes all lie under
// derived fields of coll: updatedFields, removedFields and truncatedArrays.
// Such events are caused by the functions' own writes and need no handling.
// Any other operation type, and any malformed event, returns false so that
// the handler sees it (and reports it if it is bad).
func OnlyDerived(coll string, event bson.Raw) bool {
	op, ok := event.Lookup("operationType").StringValueOK()
	if !ok || op != "update" {
		return false
	}
	desc, ok := event.Lookup("updateDescription").DocumentOK()
	if !ok {
		return false
	}
	return allDerivedKeys(coll, desc.Lookup("updatedFields")) &&
		allDerivedElems(coll, desc.Lookup("removedFields"), removedPath) &&
		allDerivedElems(coll, desc.Lookup("truncatedArrays"), truncatedPath)
}

func allDerivedKeys(coll string, v bson.RawValue) bool {
	if v.Type == 0 {
		return true
	}
	doc, ok := v.DocumentOK()
	if !ok {
		return false
	}
	elems, err := doc.Elements()
	if err != nil {
		return false
	}
	for _, e := range elems {
		if !IsDerivedPath(coll, e.Key()) {
			return false
		}
	}
	return true
}

// allDerivedElems reports whether every element of the array v names a
// derived path of coll, the path read from each element by path.
func allDerivedElems(coll string, v bson.RawValue, path func(bson.RawValue) (string, bool)) bool {
	if v.Type == 0 {
		return true
	}
	arr, ok := v.ArrayOK()
	if !ok {
		return false
	}
	vals, err := arr.Values()
	if err != nil {
		return false
	}
	for _, e := range vals {
		p, ok := path(e)
		if !ok || !IsDerivedPath(coll, p) {
			return false
		}
	}
	return true
}

// removedPath reads an element of removedFields: the path itself.
func removedPath(e bson.RawValue) (string, bool) { return e.StringValueOK() }

// truncatedPath reads an element of truncatedArrays: {field, newSize}.
func truncatedPath(e bson.RawValue) (string, bool) {
	d, ok := e.DocumentOK()
	if !ok {
		return "", false
	}
	return d.Lookup("field").StringValueOK()
}
