package lease_test

import (
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.mongodb.org/mongo-driver/bson/primitive"

	"github.com/changerelay/changerelay/infra/mongotest"
	"github.com/changerelay/changerelay/relay/checkpoint"
	"github.com/changerelay/changerelay/relay/lease"
)

type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func TestLeaseTakeoverAndFencing(t *testing.T) {
	db := mongotest.Database(t)
	ctx := t.Context()
	clk := &clock{now: time.Now()}
	a := lease.New(db, "_relay_lease", lease.Config{Owner: "a", Duration: 10 * time.Second, Now: clk.Now}, nil)
	b := lease.New(db, "_relay_lease", lease.Config{Owner: "b", Duration: 10 * time.Second, Now: clk.Now}, nil)

	ok, err := a.TryAcquire(ctx)
	require.NoError(t, err)
	require.True(t, ok)
	require.EqualValues(t, 1, a.Epoch())
	ok, err = b.TryAcquire(ctx)
	require.NoError(t, err)
	require.False(t, ok, "a holds it")

	store := checkpoint.NewStore(db, "_relay_checkpoints")
	require.NoError(t, store.Fence(ctx, []string{"users"}, a.Epoch(), "a"))
	require.NoError(t, store.Save(ctx, checkpoint.Record{Route: "users", ClusterTime: primitive.Timestamp{T: 10}, Epoch: a.Epoch(), Owner: "a"}))

	clk.Add(5 * time.Second)
	require.NoError(t, a.Renew(ctx))
	clk.Add(8 * time.Second)
	ok, _ = b.TryAcquire(ctx)
	require.False(t, ok, "renewed: not expired yet")

	clk.Add(11 * time.Second) // a stopped renewing
	ok, err = b.TryAcquire(ctx)
	require.NoError(t, err)
	require.True(t, ok)
	require.EqualValues(t, 2, b.Epoch())
	require.ErrorIs(t, a.Renew(ctx), lease.ErrLost)

	// b fences before loading; a's late write cannot move the checkpoint
	require.NoError(t, store.Fence(ctx, []string{"users", "articles"}, b.Epoch(), "b"))
	err = store.Save(ctx, checkpoint.Record{Route: "users", ClusterTime: primitive.Timestamp{T: 99}, Epoch: a.Epoch(), Owner: "a"})
	require.ErrorIs(t, err, checkpoint.ErrFenced)
	err = store.Save(ctx, checkpoint.Record{Route: "articles", ClusterTime: primitive.Timestamp{T: 99}, Epoch: a.Epoch(), Owner: "a"})
	require.ErrorIs(t, err, checkpoint.ErrFenced, "a route b has never written is fenced too")
	rec, ok, err := store.Load(ctx, "users")
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, primitive.Timestamp{T: 10}, rec.ClusterTime)
	require.EqualValues(t, 2, rec.Epoch)
	require.Error(t, store.Fence(ctx, []string{"users"}, a.Epoch(), "a"), "an old epoch cannot fence back")

	require.NoError(t, b.Release(ctx))
	ok, err = a.TryAcquire(ctx)
	require.NoError(t, err)
	require.True(t, ok, "released: taken at once")
	require.EqualValues(t, 3, a.Epoch())
	rl, found, err := lease.Read(ctx, db, "_relay_lease")
	require.NoError(t, err)
	require.True(t, found)
	require.Equal(t, "a", rl.Owner)
}
