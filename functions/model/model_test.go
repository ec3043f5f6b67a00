package model_test

import (
	"testing"

	"github.com/stretchr/testify/require"
	"go.mongodb.org/mongo-driver/bson"

	"github.com/changerelay/changerelay/functions/model"
)

func rawValue(t *testing.T, v any) bson.RawValue {
	t.Helper()
	raw, err := bson.Marshal(bson.D{{Key: "v", Value: v}})
	require.NoError(t, err)
	return bson.Raw(raw).Lookup("v")
}

func TestTagSet(t *testing.T) {
	cases := []struct {
		name    string
		value   any
		want    []string
		wantErr bool
	}{
		{"sorted and distinct", bson.A{"go", "db", "go"}, []string{"db", "go"}, false},
		{"empty", bson.A{}, []string{}, false},
		{"null", nil, nil, false},
		{"string", "go", nil, true},
		{"number element", bson.A{"go", 1}, nil, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := model.TagSet(rawValue(t, tc.value))
			if tc.wantErr {
				require.Error(t, err)
				require.Empty(t, model.LenientTagSet(rawValue(t, "x")))
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}
	require.Equal(t, []string{"go"}, model.LenientTagSet(rawValue(t, bson.A{"go", 1, nil})))
}

func TestTagValues(t *testing.T) {
	updated, err := bson.Marshal(bson.D{{Key: "tagList.3", Value: "x"}, {Key: "tagList", Value: bson.A{"a", "b"}}, {Key: "title", Value: "t"}, {Key: "tagListing", Value: "no"}})
	require.NoError(t, err)
	got, err := model.TagValues(updated)
	require.NoError(t, err)
	require.Equal(t, []string{"a", "b", "x"}, got)
	bad, err := bson.Marshal(bson.D{{Key: "tagList.0", Value: 5}})
	require.NoError(t, err)
	_, err = model.TagValues(bad)
	require.Error(t, err)
}

func TestAuthorProjection(t *testing.T) {
	user, err := bson.Marshal(bson.D{{Key: "_id", Value: 1}, {Key: "email", Value: "e"}, {Key: "image", Value: "i"}, {Key: "username", Value: "u"}})
	require.NoError(t, err)
	p := model.AuthorProjection(user)
	require.Equal(t, bson.D{{Key: "username", Value: rawValue(t, "u")}, {Key: "bio", Value: nil}, {Key: "image", Value: rawValue(t, "i")}}, p)
	require.Nil(t, model.AuthorProjection(nil))

	want := bson.D{{Key: "username", Value: "u"}, {Key: "bio", Value: nil}, {Key: "image", Value: "i"}}
	require.True(t, model.SameAuthor(rawValue(t, want), p))
	require.False(t, model.SameAuthor(rawValue(t, bson.D{{Key: "bio", Value: nil}, {Key: "username", Value: "u"}, {Key: "image", Value: "i"}}), p), "key order")
	require.False(t, model.SameAuthor(rawValue(t, append(want, bson.E{Key: "x", Value: 1})), p), "extra key")
	require.True(t, model.SameAuthor(rawValue(t, nil), nil))
	require.False(t, model.SameAuthor(bson.RawValue{}, nil), "a missing author is not null")
}
