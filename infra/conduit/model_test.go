package conduit_test

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/changerelay/changerelay/infra/conduit"
)

func newRand(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)) }

func TestSeedConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		cfg  conduit.SeedConfig
		ok   bool
	}{
		{"valid", conduit.SeedConfig{Users: 1, Articles: 1, Rand: newRand(1)}, true},
		{"no rand", conduit.SeedConfig{Users: 1}, false},
		{"no users", conduit.SeedConfig{Rand: newRand(1)}, false},
		{"negative", conduit.SeedConfig{Users: 1, Articles: -1, Rand: newRand(1)}, false},
		{"favorites without articles", conduit.SeedConfig{Users: 1, Favorites: 1, Rand: newRand(1)}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			if tt.ok {
				assert.NoError(t, err)
			} else {
				assert.ErrorIs(t, err, conduit.ErrBadSeedConfig)
			}
		})
	}
}

func TestGenerateIsReproducible(t *testing.T) {
	gen := func() (*conduit.Dataset, conduit.Script) {
		ds, err := conduit.SeedConfig{Users: 30, Articles: 100, Comments: 200, Favorites: 400, Rand: newRand(7)}.Generate()
		require.NoError(t, err)
		script, err := conduit.Generate(ds, conduit.WorkloadConfig{Rand: newRand(8)}, 300, nil)
		require.NoError(t, err)
		return ds, script
	}
	ds1, s1 := gen()
	ds2, s2 := gen()
	assert.Equal(t, ds1, ds2)
	require.Equal(t, len(s1), len(s2))
	for i := range s1 {
		require.Equal(t, s1[i].String(), s2[i].String(), "op %d", i)
	}
	assert.GreaterOrEqual(t, len(s1), 300)
}

func TestSeedSizesAndUniqueness(t *testing.T) {
	ds, err := conduit.SeedConfig{Users: 5, Articles: 4, Comments: 10, Favorites: 100, Rand: newRand(3)}.Generate()
	require.NoError(t, err)
	assert.Len(t, ds.Users, 5)
	assert.Len(t, ds.Articles, 4)
	assert.Len(t, ds.Comments, 10)
	assert.Len(t, ds.Favorites, 20, "capped at users x articles")
	pairs := map[[2]string]bool{}
	for _, f := range ds.Favorites {
		k := [2]string{f.UserID.Hex(), f.ArticleID.Hex()}
		assert.False(t, pairs[k], "duplicate favorite pair")
		pairs[k] = true
	}
}

func TestConverge(t *testing.T) {
	ds, err := conduit.SeedConfig{Users: 20, Articles: 60, Comments: 10, Favorites: 300, Rand: newRand(4)}.Generate()
	require.NoError(t, err)
	conv := conduit.Converge(ds)
	var total int64
	for _, n := range conv.FavoritesCount {
		total += n
	}
	assert.Equal(t, int64(len(ds.Favorites)), total)
	for _, tag := range conv.Tags {
		assert.Positive(t, tag.Count, tag.Name)
	}
	for _, u := range ds.Users {
		a := conv.Authors[u.ID]
		require.NotNil(t, a)
		assert.Equal(t, u.Username, *a.Username)
		assert.Equal(t, u.Bio, a.Bio)
		assert.Equal(t, u.Image, a.Image)
	}
}

func TestScriptCoversEveryKind(t *testing.T) {
	ds, err := conduit.SeedConfig{Users: 50, Articles: 200, Comments: 300, Favorites: 500, Rand: newRand(5)}.Generate()
	require.NoError(t, err)
	script, err := conduit.Generate(ds, conduit.WorkloadConfig{Rand: newRand(6), StormSize: 40}, 2000, nil)
	require.NoError(t, err)
	kinds := script.Kinds()
	for k := range conduit.DefaultMix {
		assert.Positive(t, kinds[k], "kind %s never drawn", k)
	}
	actions := map[conduit.Action]bool{}
	for _, op := range script {
		actions[op.Action] = true
	}
	for _, a := range []conduit.Action{conduit.InsertOne, conduit.InsertMany, conduit.UpdateOne, conduit.UpdateMany,
		conduit.ReplaceOne, conduit.DeleteOne, conduit.DeleteMany} {
		assert.True(t, actions[a], "action %s never used", a)
	}
}
