package changestream_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.mongodb.org/mongo-driver/bson"

	"github.com/changerelay/changerelay/infra/mongolocal/changestream"
	"github.com/changerelay/changerelay/infra/mongolocal/mongoerr"
)

func TestNextWaitsForAppend(t *testing.T) {
	l := openLog(t, changestream.Config{})
	c := watch(t, l, stream("db", "c", bson.D{}))
	got := make(chan changestream.Batch, 1)
	go func() {
		b, err := c.Next(context.Background(), 0, 30*time.Second)
		if err == nil {
			got <- b
		}
		close(got)
	}()
	// Writes the stream does not show keep it waiting.
	appendAll(t, l, insertEntry("db", "other", 1, nil))
	appendAll(t, l, insertEntry("db", "c", 2, nil))
	select {
	case b, ok := <-got:
		require.True(t, ok, "Next failed")
		require.Len(t, b.Events, 1)
	case <-time.After(10 * time.Second):
		t.Fatal("Next did not wake up on Append")
	}
}

func TestNextReturnsEmptyAfterMaxWait(t *testing.T) {
	l := openLog(t, changestream.Config{})
	c := watch(t, l, stream("db", "c", bson.D{}))
	start := time.Now()
	b, err := c.Next(context.Background(), 0, 100*time.Millisecond)
	require.NoError(t, err)
	require.Empty(t, b.Events)
	require.NotEmpty(t, b.PostBatchResumeToken)
	require.GreaterOrEqual(t, time.Since(start), 100*time.Millisecond)
}

func TestNextHonoursContextAndClose(t *testing.T) {
	l := openLog(t, changestream.Config{})
	c := watch(t, l, stream("db", "c", bson.D{}))
	ctx, cancel := context.WithCancel(context.Background())
	errs := make(chan error, 1)
	go func() {
		_, err := c.Next(ctx, 0, time.Minute)
		errs <- err
	}()
	cancel()
	select {
	case err := <-errs:
		require.True(t, errors.Is(err, context.Canceled), "%v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("Next ignored cancellation")
	}

	go func() {
		_, err := c.Next(context.Background(), 0, time.Minute)
		errs <- err
	}()
	c.Close()
	select {
	case err := <-errs:
		requireCode(t, err, mongoerr.CursorNotFound)
	case <-time.After(10 * time.Second):
		t.Fatal("Next ignored Close")
	}
}

func TestLogCloseWakesCursors(t *testing.T) {
	l, err := changestream.Open(changestream.Config{})
	require.NoError(t, err)
	c, err := l.Watch(context.Background(), stream("db", "c", bson.D{}))
	require.NoError(t, err)
	errs := make(chan error, 1)
	go func() {
		_, err := c.Next(context.Background(), 0, time.Minute)
		errs <- err
	}()
	require.NoError(t, l.Close())
	select {
	case err := <-errs:
		require.Error(t, err)
	case <-time.After(10 * time.Second):
		t.Fatal("Next ignored Log.Close")
	}
	require.ErrorIs(t, l.Append([]changestream.Entry{insertEntry("db", "c", 1, nil)}), changestream.ErrClosed)
}

func TestConcurrentAppendAndCursors(t *testing.T) {
	l := openLog(t, changestream.Config{MaxEntries: 100_000})
	const writers, perWriter, readers = 3, 300, 4
	var wg sync.WaitGroup
	results := make([][]int32, readers)
	for r := 0; r < readers; r++ {
		c := watch(t, l, stream("db", "c", bson.D{}))
		wg.Add(1)
		go func(r int) {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			for len(results[r]) < writers*perWriter {
				b, err := c.Next(ctx, 50, 50*time.Millisecond)
				if err != nil {
					return
				}
				for _, raw := range b.Events {
					results[r] = append(results[r], raw.Lookup("documentKey", "_id").Int32())
				}
			}
		}(r)
	}
	var wwg sync.WaitGroup
	for w := 0; w < writers; w++ {
		wwg.Add(1)
		go func(w int) {
			defer wwg.Done()
			for i := 0; i < perWriter; i++ {
				_ = l.Append([]changestream.Entry{insertEntry("db", "c", int32(w*perWriter+i), nil)})
			}
		}(w)
	}
	wwg.Wait()
	wg.Wait()
	for r := 1; r < readers; r++ {
		require.Len(t, results[r], writers*perWriter)
		require.Equal(t, results[0], results[r], "every cursor sees the same order")
	}
}
