package benchsuite

import (
	"cmp"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/google/pprof/profile"
)

// HeapSummary is what the relay's Go heap held at its last profiled peak
// (the profile is as of the collection before it): the live data, which
// Go's collector lets grow to about twice its size before collecting.
type HeapSummary struct {
	InUse int64      `json:"inUseBytes"`
	Top   []HeapItem `json:"top"`
}

// HeapItem is the memory allocated by one function and still in use.
type HeapItem struct {
	Func  string `json:"func"`
	Bytes int64  `json:"bytes"`
}

// ReadHeapProfile summarises a heap profile (/debug/pprof/heap): the bytes
// in use and the top functions that allocated them (flat).
func ReadHeapProfile(path string, top int) (*HeapSummary, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	p, err := profile.Parse(f)
	if err != nil {
		return nil, fmt.Errorf("heap profile %s: %w", path, err)
	}
	idx := slices.IndexFunc(p.SampleType, func(st *profile.ValueType) bool { return st.Type == "inuse_space" })
	if idx < 0 {
		return nil, fmt.Errorf("heap profile %s: no inuse_space", path)
	}
	byFunc := map[string]int64{}
	var sum HeapSummary
	for _, s := range p.Sample {
		v := s.Value[idx]
		sum.InUse += v
		name := "?"
		if len(s.Location) > 0 && len(s.Location[0].Line) > 0 && s.Location[0].Line[0].Function != nil {
			name = shortFunc(s.Location[0].Line[0].Function.Name)
		}
		byFunc[name] += v
	}
	for name, v := range byFunc {
		sum.Top = append(sum.Top, HeapItem{Func: name, Bytes: v})
	}
	slices.SortFunc(sum.Top, func(a, b HeapItem) int { return cmp.Or(cmp.Compare(b.Bytes, a.Bytes), strings.Compare(a.Func, b.Func)) })
	if len(sum.Top) > top {
		sum.Top = sum.Top[:top]
	}
	return &sum, nil
}

// shortFunc drops the module path: mongo-driver/.../topology.(*connection).read
// becomes topology.(*connection).read.
func shortFunc(name string) string {
	if i := strings.LastIndex(name, "/"); i >= 0 {
		return name[i+1:]
	}
	return name
}

// heapProfilePath is where a relay run saves its heap profile.
func heapProfilePath(logDir, config, workload string) string {
	return filepath.Join(logDir, config+"-"+workload+".heap.pprof")
}

// AttachHeapProfiles reads each relay run's heap profile from logDir
// (heapProfilePath) into its result, where not done yet.
func (r *Report) AttachHeapProfiles(logDir string) {
	for i := range r.Results {
		res := &r.Results[i]
		if res.Heap != nil || !res.Process {
			continue
		}
		if h, err := ReadHeapProfile(heapProfilePath(logDir, res.Config, res.Workload), 5); err == nil {
			res.Heap = h
		}
	}
}

// String renders the summary for the report.
func (h *HeapSummary) String() string {
	parts := make([]string, 0, len(h.Top))
	for _, it := range h.Top {
		parts = append(parts, fmt.Sprintf("`%s` %.1f", it.Func, mib(it.Bytes)))
	}
	return fmt.Sprintf("%.1f MiB in use (%s)", mib(h.InUse), strings.Join(parts, ", "))
}
