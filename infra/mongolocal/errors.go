package mongolocal

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/256dpi/lungo"
	"github.com/256dpi/lungo/bsonkit"
	"github.com/256dpi/lungo/mongokit"
	"go.mongodb.org/mongo-driver/bson"

	"github.com/changerelay/changerelay/infra/mongolocal/mongoerr"
)

var (
	reDuplicate = regexp.MustCompile(`duplicate document for index "([^"]*)"`)
	reOperator  = regexp.MustCompile(`unknown (?:expression|comparison|top level|bits) operator "([^"]*)"`)
	reExpected  = regexp.MustCompile(`expected operator, got "([^"]*)"`)
)

// context in which a lungo error happened; it picks MongoDB's code.
type errContext int

const (
	inQuery errContext = iota
	inUpdate
	inProjection
)

// engineError translates a lungo error into MongoDB's code and message.
// doc, when known, is the document whose write failed (for DuplicateKey).
func engineError(err error, where errContext, h lungo.Handle, cat *lungo.Catalog, doc bsonkit.Doc) *mongoerr.Error {
	if err == nil {
		return nil
	}
	if me, ok := err.(*mongoerr.Error); ok {
		return me
	}
	msg := err.Error()
	if m := reDuplicate.FindStringSubmatch(msg); m != nil {
		return duplicateKey(h, cat, m[1], doc)
	}
	switch {
	case strings.Contains(msg, "document _id is immutable"), strings.Contains(msg, "query _id and replacement _id must match"):
		return mongoerr.New(mongoerr.ImmutableField, "Performing an update on the path '_id' would modify the immutable field '_id'")
	case strings.Contains(msg, "conflicting key"):
		return mongoerr.New(mongoerr.ConflictingUpdateOperators, "Updating the path would create a conflict: %s", msg)
	case strings.Contains(msg, "empty update document"):
		return mongoerr.New(mongoerr.FailedToParse, "Update document requires at least one update operator")
	case strings.Contains(msg, "cannot have a mix of inclusion and exclusion"):
		return mongoerr.New(31254, "Cannot do exclusion on field in inclusion projection")
	}
	if m := reOperator.FindStringSubmatch(msg); m != nil {
		if where == inUpdate && strings.HasPrefix(m[1], "$") {
			return mongoerr.New(mongoerr.FailedToParse, "Unknown modifier: %s. Expected a valid update modifier or pipeline-style update specified as an array", m[1])
		}
		if strings.Contains(msg, "top level") {
			return mongoerr.New(mongoerr.BadValue, "unknown top level operator: %s", m[1])
		}
		return mongoerr.New(mongoerr.BadValue, "unknown operator: %s", m[1])
	}
	if m := reExpected.FindStringSubmatch(msg); m != nil {
		return mongoerr.New(mongoerr.BadValue, "unknown operator: %s", m[1])
	}
	return mongoerr.New(mongoerr.BadValue, "%s", msg)
}

// duplicateKey builds mongod's E11000 error, with keyPattern and keyValue
// when the document is known.
func duplicateKey(h lungo.Handle, cat *lungo.Catalog, index string, doc bsonkit.Doc) *mongoerr.Error {
	var pattern, value bson.D
	if cat != nil {
		if ns := cat.Namespaces[h]; ns != nil {
			if idx := ns.Indexes[index]; idx != nil {
				pattern = *idx.Config().Key
			}
		}
	}
	if pattern == nil && index == "_id_" {
		pattern = bson.D{{Key: "_id", Value: int32(1)}}
	}
	if doc != nil {
		for _, k := range pattern {
			v := bsonkit.Get(doc, k.Key)
			if v == bsonkit.Missing {
				v = nil
			}
			value = append(value, bson.E{Key: k.Key, Value: v})
		}
	}
	return mongoerr.New(mongoerr.DuplicateKey, "E11000 duplicate key error collection: %s index: %s dup key: %s", h.String(), index, formatKey(value))
}

func formatKey(d bson.D) string {
	if len(d) == 0 {
		return "{ }"
	}
	parts := make([]string, 0, len(d))
	for _, e := range d {
		parts = append(parts, fmt.Sprintf("%s: %s", e.Key, formatValue(e.Value)))
	}
	return "{ " + strings.Join(parts, ", ") + " }"
}

func formatValue(v any) string {
	switch x := v.(type) {
	case string:
		return fmt.Sprintf("%q", x)
	case nil:
		return "null"
	}
	raw, err := bson.Marshal(bson.D{{Key: "v", Value: v}})
	if err == nil {
		if val, err := bson.Raw(raw).LookupErr("v"); err == nil {
			return val.String()
		}
	}
	return fmt.Sprint(v)
}

// validateFilter reports an invalid query even when no document would be
// examined (mongod parses the whole filter before it runs).
func validateFilter(q bsonkit.Doc) *mongoerr.Error {
	if q == nil || len(*q) == 0 {
		return nil
	}
	if _, err := mongokit.Match(&bson.D{}, q); err != nil {
		return engineError(err, inQuery, lungo.Handle{}, nil, nil)
	}
	return nil
}
