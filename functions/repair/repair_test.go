package repair_test

import (
	"context"
	"math"
	"strings"
	gosync "sync"
	"testing"

	"github.com/stretchr/testify/require"
	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/bson/primitive"

	"github.com/changerelay/changerelay/functions/internal/fixture"
	"github.com/changerelay/changerelay/functions/repair"
)

// corrupt builds a converged world and then breaks it behind the handlers'
// back in every way the contract can drift, returning the drift expected
// per invariant.
func corrupt(t *testing.T, e *fixture.Env) map[string]int64 {
	u1, u2, u3 := e.InsertUser("u1"), e.InsertUser("u2", bson.E{Key: "bio", Value: "b"}), e.InsertUser("u3")
	a := []primitive.ObjectID{
		e.InsertArticle(u1, "go", "db"), e.InsertArticle(u1, "go"), e.InsertArticle(u2, "rust"),
		e.InsertArticle(u2, "db", "db"), e.InsertArticle(u3), e.InsertArticle(u3, "go"),
	}
	c := []primitive.ObjectID{e.InsertComment(a[0], u1), e.InsertComment(a[0], u2), e.InsertComment(a[1], u3), e.InsertComment(a[2], u2)}
	e.InsertFavorite(u1, a[0])
	e.InsertFavorite(u2, a[0])
	e.InsertFavorite(u2, a[3])
	e.Sync()
	e.RequireConverged()

	future := primitive.Timestamp{T: math.MaxUint32, I: 1}
	set := func(coll string, id any, fields ...bson.E) { e.Update(coll, id, fixture.Set(fields...)) }
	unset := func(coll string, id any, field string) {
		e.Update(coll, id, bson.D{{Key: "$unset", Value: bson.D{{Key: field, Value: ""}}}})
	}
	// I1: a wrong copy, a missing one, one with an extra key, and the two
	// articles of a user deleted without its event being handled.
	set("articles", a[0], bson.E{Key: "author.username", Value: "wrong"})
	unset("articles", a[1], "author")
	set("articles", a[2], bson.E{Key: "author.email", Value: "x@y"})
	_, err := e.Coll("users").DeleteOne(e.Ctx, bson.D{{Key: "_id", Value: u3}})
	require.NoError(t, err)
	// I2: null for an existing user, a wrong copy behind a bogus future
	// version, and the comment of the deleted user.
	set("comments", c[0], bson.E{Key: "author", Value: nil})
	set("comments", c[1], bson.E{Key: "author.username", Value: "wrong"}, bson.E{Key: "_sync.authorVersion", Value: future})
	// I3: a wrong count behind a bogus future version, a missing one, one
	// of the wrong type, and a double.
	set("articles", a[0], bson.E{Key: "favoritesCount", Value: 99}, bson.E{Key: "_sync.favVersion", Value: future})
	unset("articles", a[1], "favoritesCount")
	set("articles", a[2], bson.E{Key: "favoritesCount", Value: "0"})
	set("articles", a[3], bson.E{Key: "favoritesCount", Value: 1.0})
	// I4: a tag nobody uses, a missing tag, a wrong count, an extra field,
	// a non-string _id.
	_, err = e.Coll("tags").InsertMany(e.Ctx, []any{
		bson.D{{Key: "_id", Value: "ghost"}, {Key: "count", Value: 3}},
		bson.D{{Key: "_id", Value: 5}, {Key: "count", Value: 1}},
	})
	require.NoError(t, err)
	_, err = e.Coll("tags").DeleteOne(e.Ctx, bson.D{{Key: "_id", Value: "go"}})
	require.NoError(t, err)
	set("tags", "db", bson.E{Key: "count", Value: 42})
	set("tags", "rust", bson.E{Key: "foo", Value: 1})

	violations, err := fixture.Check(e.Ctx, e.DB)
	require.NoError(t, err)
	require.NotEmpty(t, violations)
	return map[string]int64{"I1": 5, "I2": 3, "I3": 4, "I4": 5}
}

func byName(r repair.Report) map[string]repair.Invariant {
	out := map[string]repair.Invariant{}
	for _, inv := range r.Invariants {
		out[inv.Name] = inv
	}
	return out
}

func TestRepairFixesCorruptedDatabase(t *testing.T) {
	for _, pageSize := range []int{2, 1000} {
		t.Run("pageSize="+map[int]string{2: "2", 1000: "1000"}[pageSize], func(t *testing.T) {
			e := fixture.New(t, fixture.Options{PageSize: pageSize})
			want := corrupt(t, e)

			dry, err := repair.Run(e.Ctx, repair.Config{Store: e.Store, DryRun: true})
			require.NoError(t, err)
			got := byName(dry)
			for name, n := range want {
				require.Equal(t, n, got[name].Drifted, "dry run drift of %s", name)
				require.Zero(t, got[name].Fixed, "dry run must not fix %s", name)
			}
			require.EqualValues(t, 6, got["I1"].Checked)
			require.EqualValues(t, 4, got["I2"].Checked)
			require.EqualValues(t, 6, got["I3"].Checked)
			violations, err := fixture.Check(e.Ctx, e.DB)
			require.NoError(t, err)
			require.NotEmpty(t, violations, "a dry run changed the database")

			fixed, err := repair.Run(e.Ctx, repair.Config{Store: e.Store})
			require.NoError(t, err)
			got = byName(fixed)
			for name, n := range want {
				require.Equal(t, n, got[name].Drifted, "drift of %s", name)
				require.Equal(t, n, got[name].Fixed, "fixed of %s", name)
				require.Zero(t, got[name].Conflicts, "conflicts of %s", name)
			}
			e.RequireConverged()

			again, err := repair.Run(e.Ctx, repair.Config{Store: e.Store})
			require.NoError(t, err)
			require.Zero(t, again.Drift, "second run:\n%s", again)
			require.Zero(t, again.Fixed)

			// The handlers take over from repair's versions: a rename after
			// the repair still reaches the copy repair wrote.
			e.Events(false) // the corruption's own events are not delivered
			var u2 bson.M
			require.NoError(t, e.Coll("users").FindOne(e.Ctx, bson.D{{Key: "username", Value: "u2"}}).Decode(&u2))
			e.Update("users", u2["_id"], fixture.Set(bson.E{Key: "username", Value: "u2b"}))
			e.Sync()
			e.RequireConverged()
		})
	}
}

// TestRepairWhileHandlersRun runs repair in the middle of a workload whose
// events are being handled; afterwards the state converges.
func TestRepairWhileHandlersRun(t *testing.T) {
	e := fixture.New(t, fixture.Options{PageSize: 5})
	w := fixture.NewWriter(e, 7)
	w.Seed()
	e.Sync()
	var wg gosync.WaitGroup
	stop := make(chan struct{})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			if _, err := repair.Run(context.Background(), repair.Config{Store: e.Store}); err != nil {
				t.Errorf("repair: %v", err)
				return
			}
		}
	}()
	for range 10 {
		for range 30 {
			w.Step()
		}
		require.NoError(t, e.TryDeliverAll(e.Events(false)))
	}
	close(stop)
	wg.Wait()
	e.Sync()
	e.RequireConverged()
	final, err := repair.Run(e.Ctx, repair.Config{Store: e.Store, DryRun: true})
	require.NoError(t, err)
	require.Zero(t, final.Drift, "%s", final)
}

func TestReportString(t *testing.T) {
	e := fixture.New(t, fixture.Options{NoStream: true})
	r, err := repair.Run(e.Ctx, repair.Config{Store: e.Store, DryRun: true})
	require.NoError(t, err)
	s := r.String()
	for _, want := range []string{"dry run", "I1", "I2", "I3", "I4", "drift 0"} {
		require.True(t, strings.Contains(s, want), "%q in\n%s", want, s)
	}
}

func TestParseRequest(t *testing.T) {
	cases := []struct {
		name    string
		payload string
		want    repair.Request
		wantErr bool
	}{
		{name: "empty", payload: ""},
		{name: "null", payload: "null"},
		{name: "dry run", payload: `{"dryRun":true}`, want: repair.Request{DryRun: true}},
		{name: "real run", payload: `{"dryRun":false}`},
		{name: "scheduled event", payload: `{"version":"0","detail-type":"Scheduled Event","source":"aws.events","detail":{}}`},
		{name: "scheduled event with detail", payload: `{"detail-type":"Scheduled Event","detail":{"dryRun":true}}`, want: repair.Request{DryRun: true}},
		{name: "unknown fields are ignored", payload: `{"reason":"history lost","dryRun":true}`, want: repair.Request{DryRun: true}},
		{name: "not JSON", payload: `{`, wantErr: true},
		{name: "dryRun not a bool", payload: `{"dryRun":"yes"}`, wantErr: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := repair.ParseRequest([]byte(tc.payload))
			if tc.wantErr {
				require.Error(t, err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}
}
