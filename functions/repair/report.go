package repair

import (
	"fmt"
	"strings"
	"time"

	"go.mongodb.org/mongo-driver/bson/primitive"
)

// Invariant is what a run found for one invariant of the contract.
type Invariant struct {
	Name        string `json:"name"`
	Description string `json:"description"`
	// Checked documents (tags: distinct tags compared).
	Checked int64 `json:"checked"`
	// Drifted is how many differed from the recomputation.
	Drifted int64 `json:"drifted"`
	// Fixed is how many were written (0 in a dry run).
	Fixed int64 `json:"fixed"`
	// Conflicts is how many changed while being fixed and were left to the
	// handler that changed them.
	Conflicts int64 `json:"conflicts"`
}

// Report is the result of a run.
type Report struct {
	DryRun    bool      `json:"dryRun"`
	StartedAt time.Time `json:"startedAt"`
	// ClusterTime is the cluster time at the start: every write committed
	// before it is reflected in what the run checked.
	ClusterTime primitive.Timestamp `json:"clusterTime"`
	DurationMs  int64               `json:"durationMs"`
	Invariants  []Invariant         `json:"invariants"`
	// Drift is the total number of drifted documents and tags.
	Drift int64 `json:"drift"`
	// Fixed is the total number written.
	Fixed int64 `json:"fixed"`
}

// Positions of the invariants in Report.Invariants.
const (
	i1 = iota
	i2
	i3
	i4
)

func (inv Invariant) summary() string {
	return fmt.Sprintf("checked=%d drifted=%d fixed=%d conflicts=%d", inv.Checked, inv.Drifted, inv.Fixed, inv.Conflicts)
}

func (r *Report) total() {
	r.Drift, r.Fixed = 0, 0
	for _, inv := range r.Invariants {
		r.Drift += inv.Drifted
		r.Fixed += inv.Fixed
	}
}

// String renders the report as a table.
func (r Report) String() string {
	var b strings.Builder
	mode := "repair"
	if r.DryRun {
		mode = "repair (dry run)"
	}
	fmt.Fprintf(&b, "%s at cluster time %d.%d, %d ms\n", mode, r.ClusterTime.T, r.ClusterTime.I, r.DurationMs)
	fmt.Fprintf(&b, "%-4s %10s %10s %10s %10s  %s\n", "inv", "checked", "drifted", "fixed", "conflicts", "what")
	for _, inv := range r.Invariants {
		fmt.Fprintf(&b, "%-4s %10d %10d %10d %10d  %s\n", inv.Name, inv.Checked, inv.Drifted, inv.Fixed, inv.Conflicts, inv.Description)
	}
	fmt.Fprintf(&b, "drift %d, fixed %d\n", r.Drift, r.Fixed)
	return b.String()
}

func newReport(dryRun bool) Report {
	return Report{
		DryRun:    dryRun,
		StartedAt: time.Now().UTC(),
		Invariants: []Invariant{
			{Name: "I1", Description: "articles.author = projection of the author's users document"},
			{Name: "I2", Description: "comments.author = projection of the author's users document"},
			{Name: "I3", Description: "articles.favoritesCount = number of its favorites"},
			{Name: "I4", Description: "tags = recount of every tag over all articles"},
		},
	}
}
