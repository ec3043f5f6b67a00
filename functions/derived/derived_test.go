package derived_test

import (
	"testing"

	"github.com/stretchr/testify/require"
	"go.mongodb.org/mongo-driver/bson"

	"github.com/changerelay/changerelay/functions/derived"
)

func TestOnlyDerived(t *testing.T) {
	update := func(updated bson.D, removed bson.A, truncated bson.A) bson.Raw {
		desc := bson.D{{Key: "updatedFields", Value: updated}, {Key: "removedFields", Value: removed}}
		if truncated != nil {
			desc = append(desc, bson.E{Key: "truncatedArrays", Value: truncated})
		}
		raw, err := bson.Marshal(bson.D{{Key: "operationType", Value: "update"}, {Key: "updateDescription", Value: desc}})
		require.NoError(t, err)
		return raw
	}
	other := func(op string) bson.Raw {
		raw, err := bson.Marshal(bson.D{{Key: "operationType", Value: op}})
		require.NoError(t, err)
		return raw
	}
	cases := []struct {
		name  string
		coll  string
		event bson.Raw
		want  bool
	}{
		{"article author copy", "articles", update(bson.D{{Key: "author", Value: nil}, {Key: "_sync.authorVersion", Value: 1}}, bson.A{}, nil), true},
		{"article author subfield", "articles", update(bson.D{{Key: "author.username", Value: "x"}}, bson.A{}, nil), true},
		{"article favoritesCount", "articles", update(bson.D{{Key: "favoritesCount", Value: 3}, {Key: "_sync.favVersion", Value: 1}}, bson.A{}, nil), true},
		{"article shadow", "articles", update(bson.D{{Key: "_sync.tags", Value: bson.A{"go"}}}, bson.A{}, bson.A{bson.D{{Key: "field", Value: "_sync.tags"}, {Key: "newSize", Value: 1}}}), true},
		{"article title", "articles", update(bson.D{{Key: "title", Value: "t"}}, bson.A{}, nil), false},
		{"article tag and author", "articles", update(bson.D{{Key: "author", Value: nil}, {Key: "tagList", Value: bson.A{}}}, bson.A{}, nil), false},
		{"article removed source field", "articles", update(bson.D{}, bson.A{"tagList"}, nil), false},
		{"article removed derived field", "articles", update(bson.D{}, bson.A{"author"}, nil), true},
		{"article truncated tagList", "articles", update(bson.D{}, bson.A{}, bson.A{bson.D{{Key: "field", Value: "tagList"}, {Key: "newSize", Value: 1}}}), false},
		{"authorship looks alike", "articles", update(bson.D{{Key: "authorId", Value: 1}}, bson.A{}, nil), false},
		{"comment author", "comments", update(bson.D{{Key: "author", Value: nil}}, bson.A{}, nil), true},
		{"comment favoritesCount is not derived", "comments", update(bson.D{{Key: "favoritesCount", Value: 1}}, bson.A{}, nil), false},
		{"users author is a source field", "users", update(bson.D{{Key: "author", Value: 1}}, bson.A{}, nil), false},
		{"users _sync", "users", update(bson.D{{Key: "_sync.x", Value: 1}}, bson.A{}, nil), true},
		{"empty update", "articles", update(bson.D{}, bson.A{}, nil), true},
		{"insert", "articles", other("insert"), false},
		{"delete", "articles", other("delete"), false},
		{"update without description", "articles", other("update"), false},
		{"not BSON", "articles", bson.Raw{1, 2, 3}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, derived.OnlyDerived(tc.coll, tc.event))
		})
	}
}
