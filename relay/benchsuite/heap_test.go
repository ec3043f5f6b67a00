package benchsuite

import (
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"testing"

	"github.com/stretchr/testify/require"
)

var retained [][]byte

//go:noinline
func holdHeapForTest() {
	for range 64 {
		retained = append(retained, make([]byte, 256<<10))
	}
}

func TestReadHeapProfile(t *testing.T) {
	holdHeapForTest()
	defer func() { retained = nil }()
	runtime.GC()
	dir := t.TempDir()
	path := filepath.Join(dir, "relay-default-backlog.heap.pprof")
	f, err := os.Create(path)
	require.NoError(t, err)
	require.NoError(t, pprof.Lookup("heap").WriteTo(f, 0))
	require.NoError(t, f.Close())

	h, err := ReadHeapProfile(path, 3)
	require.NoError(t, err)
	require.GreaterOrEqual(t, h.InUse, int64(8<<20), "16 MiB are held")
	require.Len(t, h.Top, 3)
	require.Equal(t, "benchsuite.holdHeapForTest", h.Top[0].Func)
	require.Contains(t, h.String(), "MiB in use (`benchsuite.holdHeapForTest`")

	rep := &Report{Results: []Result{{Workload: Backlog, Config: ConfigDefault, Process: true}, {Workload: Backlog, Config: ConfigFloor}}}
	rep.AttachHeapProfiles(dir)
	require.NotNil(t, rep.Results[0].Heap)
	require.Nil(t, rep.Results[1].Heap, "the floor has no relay process")

	_, err = ReadHeapProfile(filepath.Join(dir, "missing"), 3)
	require.Error(t, err)
	require.NoError(t, os.WriteFile(path, []byte("not a profile"), 0o644))
	_, err = ReadHeapProfile(path, 3)
	require.ErrorContains(t, err, "heap profile")
}
