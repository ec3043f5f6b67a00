package changestream_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
	"go.mongodb.org/mongo-driver/bson"

	"github.com/changerelay/changerelay/infra/mongolocal/changestream"
	"github.com/changerelay/changerelay/infra/mongolocal/mongoerr"
)

func TestPersistenceReload(t *testing.T) {
	dir := t.TempDir()
	l, err := changestream.Open(changestream.Config{Dir: dir})
	require.NoError(t, err)
	c, err := l.Watch(context.Background(), stream("db", "c", bson.D{}))
	require.NoError(t, err)
	pre := bson.D{{Key: "_id", Value: 1}, {Key: "a", Value: "before"}}
	upd := updateEntry("db", "c", 1, bson.D{{Key: "a", Value: "after"}}, nil)
	upd.PreImage = &pre
	require.NoError(t, l.Append([]changestream.Entry{insertEntry("db", "c", 1, nil), upd, insertEntry("db", "c", 3, nil)}))
	evs := readN(t, c, 3)
	last := l.LastTime()
	require.NoError(t, l.Close())

	l2 := openLog(t, changestream.Config{Dir: dir})
	require.Equal(t, last, l2.LastTime())
	r := watch(t, l2, stream("db", "c", bson.D{{Key: "resumeAfter", Value: evs[0].ID}, {Key: "fullDocumentBeforeChange", Value: "required"}}))
	got := readN(t, r, 2)
	require.Equal(t, evs[1].ID, got[0].ID)
	require.Equal(t, mustRaw(pre), got[0].FullDocumentBeforeChange)
	require.Equal(t, evs[2].ID, got[1].ID)

	// New entries continue the history: tokens keep increasing.
	appendAll(t, l2, insertEntry("db", "c", 4, nil))
	next := readN(t, r, 1)[0]
	require.Greater(t, next.ID.Lookup("_data").StringValue(), evs[2].ID.Lookup("_data").StringValue())
}

func TestPersistenceTornTail(t *testing.T) {
	dir := t.TempDir()
	l, err := changestream.Open(changestream.Config{Dir: dir})
	require.NoError(t, err)
	require.NoError(t, l.Append([]changestream.Entry{insertEntry("db", "c", 1, nil), insertEntry("db", "c", 2, nil)}))
	require.NoError(t, l.Close())

	path := filepath.Join(dir, "changelog.bson")
	info, err := os.Stat(path)
	require.NoError(t, err)
	require.NoError(t, os.Truncate(path, info.Size()-7)) // a torn last record

	l2 := openLog(t, changestream.Config{Dir: dir})
	c := watch(t, l2, stream("db", "c", bson.D{{Key: "startAtOperationTime", Value: bsonTS(0)}}))
	require.Equal(t, []int32{1}, ids(t, readN(t, c, 1)))
	appendAll(t, l2, insertEntry("db", "c", 3, nil))
	require.Equal(t, []int32{3}, ids(t, readN(t, c, 1)))
}

func TestPersistenceCompaction(t *testing.T) {
	dir := t.TempDir()
	l, err := changestream.Open(changestream.Config{Dir: dir, MaxEntries: 10})
	require.NoError(t, err)
	c, err := l.Watch(context.Background(), stream("db", "c", bson.D{}))
	require.NoError(t, err)
	var first []event
	for i := int32(0); i < 10_000; i++ {
		require.NoError(t, l.Append([]changestream.Entry{insertEntry("db", "c", i, nil)}))
		if i == 0 {
			first = readN(t, c, 1)
		}
	}
	info, err := os.Stat(filepath.Join(dir, "changelog.bson"))
	require.NoError(t, err)
	require.Less(t, info.Size(), int64(2_000_000), "the file is compacted, not only appended")
	require.NoError(t, l.Close())

	l2 := openLog(t, changestream.Config{Dir: dir, MaxEntries: 10})
	_, err = l2.Watch(context.Background(), stream("db", "c", bson.D{{Key: "resumeAfter", Value: first[0].ID}}))
	requireCode(t, err, mongoerr.ChangeStreamHistoryLost)
	r := watch(t, l2, stream("db", "c", bson.D{{Key: "startAtOperationTime", Value: l2.LastTime()}}))
	require.Equal(t, []int32{9_999}, ids(t, readN(t, r, 1)))
}
