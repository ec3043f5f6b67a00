package model

import (
	"fmt"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/bson/bsontype"
	"go.mongodb.org/mongo-driver/bson/primitive"
)

// OptionalObjectID reads a reference field (authorId): an ObjectId, or
// absent/null (ok false). Any other type is an error.
func OptionalObjectID(doc bson.Raw, key string) (id primitive.ObjectID, ok bool, err error) {
	v := doc.Lookup(key)
	switch v.Type {
	case 0, bsontype.Null, bsontype.Undefined:
		return id, false, nil
	case bsontype.ObjectID:
		return v.ObjectID(), true, nil
	default:
		return id, false, fmt.Errorf("%s is a %s, not an ObjectId", key, v.Type)
	}
}

// RequiredObjectID reads a reference field that must be an ObjectId.
func RequiredObjectID(doc bson.Raw, key string) (primitive.ObjectID, error) {
	id, ok, err := OptionalObjectID(doc, key)
	if err != nil {
		return id, err
	}
	if !ok {
		return id, fmt.Errorf("%s is missing", key)
	}
	return id, nil
}

// CountValue reads a stored counter as an integer; ok is false when it is
// missing or not an int32/int64 (a double or anything else is drift to fix).
func CountValue(v bson.RawValue) (int64, bool) {
	switch v.Type {
	case bsontype.Int32:
		return int64(v.Int32()), true
	case bsontype.Int64:
		return v.Int64(), true
	default:
		return 0, false
	}
}

// Exact returns a query condition matching exactly the stored value v of a
// field as read (absent: $exists false). It makes a compare-and-set filter.
func Exact(v bson.RawValue) any {
	if v.Type == 0 {
		return bson.D{{Key: "$exists", Value: false}}
	}
	// For an array this also matches an array holding it as an element,
	// which a source document of the contract never does.
	return bson.D{{Key: "$eq", Value: v}}
}

// Older is the version guard: the stored version is absent, of another type,
// or lower than v. Comparing with $not/$gte keeps one clause for all three.
func Older(v primitive.Timestamp) bson.D {
	return bson.D{{Key: "$not", Value: bson.D{{Key: "$gte", Value: v}}}}
}

// NotNewer matches a stored version absent, of another type, or at most v.
func NotNewer(v primitive.Timestamp) bson.D {
	return bson.D{{Key: "$not", Value: bson.D{{Key: "$gt", Value: v}}}}
}

// Max returns the later of two versions.
func Max(a, b primitive.Timestamp) primitive.Timestamp {
	if a.After(b) {
		return a
	}
	return b
}
