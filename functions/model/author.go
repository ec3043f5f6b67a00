package model

import (
	"bytes"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/bson/bsontype"
)

// authorKeys are the keys of the author copy, in the order they are written.
var authorKeys = []string{"username", "bio", "image"}

// AuthorProjection is the author copy of a users document: exactly
// username, bio and image, a missing key copied as null. A nil user (the
// user does not exist) projects to nil, written as null.
func AuthorProjection(user bson.Raw) any {
	if user == nil {
		return nil
	}
	out := make(bson.D, 0, len(authorKeys))
	for _, k := range authorKeys {
		v := user.Lookup(k)
		if v.Type == 0 {
			out = append(out, bson.E{Key: k, Value: nil})
			continue
		}
		out = append(out, bson.E{Key: k, Value: v})
	}
	return out
}

// UserProjectionFields is the find projection that reads what
// AuthorProjection needs.
func UserProjectionFields() bson.D {
	out := bson.D{}
	for _, k := range authorKeys {
		out = append(out, bson.E{Key: k, Value: 1})
	}
	return out
}

// SameAuthor reports whether a stored author value equals the expected
// projection exactly (same keys, order and values; null for nil).
func SameAuthor(stored bson.RawValue, expected any) bool {
	if expected == nil {
		return stored.Type == bsontype.Null
	}
	if stored.Type != bsontype.EmbeddedDocument {
		return false
	}
	want, err := bson.Marshal(expected)
	if err != nil {
		return false
	}
	return bytes.Equal(stored.Value, want)
}
