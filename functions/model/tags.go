package model

import (
	"fmt"
	"slices"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/bson/bsontype"
)

// TagSet reads a tagList value as a sorted set of distinct tags. A missing
// or null value is the empty set; anything but an array of strings is an
// error.
func TagSet(v bson.RawValue) ([]string, error) {
	switch v.Type {
	case 0, bsontype.Null, bsontype.Undefined:
		return nil, nil
	case bsontype.Array:
	default:
		return nil, fmt.Errorf("tagList is a %s, not an array", v.Type)
	}
	vals, err := v.Array().Values()
	if err != nil {
		return nil, fmt.Errorf("tagList: %w", err)
	}
	out := make([]string, 0, len(vals))
	for i, e := range vals {
		s, ok := e.StringValueOK()
		if !ok {
			return nil, fmt.Errorf("tagList.%d is a %s, not a string", i, e.Type)
		}
		out = append(out, s)
	}
	return Normalize(out), nil
}

// LenientTagSet is TagSet that skips anything that is not a string tag,
// for counting documents that break the contract.
func LenientTagSet(v bson.RawValue) []string {
	arr, ok := v.ArrayOK()
	if !ok {
		return nil
	}
	vals, _ := arr.Values()
	out := make([]string, 0, len(vals))
	for _, e := range vals {
		if s, ok := e.StringValueOK(); ok {
			out = append(out, s)
		}
	}
	return Normalize(out)
}

// Normalize sorts tags and removes duplicates, in place.
func Normalize(tags []string) []string {
	slices.Sort(tags)
	return slices.Compact(tags)
}

// Union merges tag sets into one sorted set.
func Union(sets ...[]string) []string {
	var out []string
	for _, s := range sets {
		out = append(out, s...)
	}
	return Normalize(out)
}

// TagValues reads the tags an update's updatedFields assign: "tagList" (the
// whole array) or "tagList.<n>" (one element). ok is false when a value has
// the wrong type.
func TagValues(updated bson.Raw) ([]string, error) {
	if updated == nil {
		return nil, nil
	}
	elems, err := updated.Elements()
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range elems {
		key := e.Key()
		switch {
		case key == FieldTagList:
			tags, err := TagSet(e.Value())
			if err != nil {
				return nil, err
			}
			out = append(out, tags...)
		case len(key) > len(FieldTagList) && key[:len(FieldTagList)+1] == FieldTagList+".":
			s, ok := e.Value().StringValueOK()
			if !ok {
				return nil, fmt.Errorf("%s is a %s, not a string", key, e.Value().Type)
			}
			out = append(out, s)
		}
	}
	return Normalize(out), nil
}
