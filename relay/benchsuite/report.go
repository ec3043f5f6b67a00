package benchsuite

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// Report is a whole run: every configuration on every workload.
type Report struct {
	Scale     Scale          `json:"scale"`
	Machine   string         `json:"machine"`
	GoVersion string         `json:"goVersion"`
	Started   time.Time      `json:"started"`
	Duration  float64        `json:"durationSeconds"`
	Configs   []ConfigInfo   `json:"configs"`
	Workloads []WorkloadInfo `json:"workloads"`
	Results   []Result       `json:"results"`
	Notes     []string       `json:"notes"`
}

// ConfigInfo names and describes a configuration.
type ConfigInfo struct {
	Name        string `json:"name"`
	Description string `json:"description"`
}

// WorkloadInfo names and describes a workload.
type WorkloadInfo struct {
	Name        string `json:"name"`
	Description string `json:"description"`
}

// Find returns the result of a configuration on a workload.
func (r *Report) Find(workload, config string) *Result {
	for i := range r.Results {
		if r.Results[i].Workload == workload && r.Results[i].Config == config {
			return &r.Results[i]
		}
	}
	return nil
}

// ReadReport loads a results.json written by Write. The latencies are
// not in it: the latency plots are not redrawn from it.
func ReadReport(path string) (*Report, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var r Report
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	for i := range r.Results {
		r.Results[i].rates()
	}
	return &r, nil
}

// Write stores results.json, the plots and report.md in dir.
func (r *Report) Write(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	js, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "results.json"), js, 0o644); err != nil {
		return err
	}
	plots, err := WritePlots(dir, r)
	if err != nil {
		return fmt.Errorf("plots: %w", err)
	}
	// Latency plots of an earlier rendering stay when re-rendering from JSON.
	for _, w := range r.Workloads {
		name := "latency_" + w.Name + ".png"
		if _, err := os.Stat(filepath.Join(dir, name)); err == nil && !slices.Contains(plots, name) {
			plots = append([]string{name}, plots...)
		}
	}
	return os.WriteFile(filepath.Join(dir, "report.md"), []byte(r.Markdown(plots)), 0o644)
}

func fmtNum(v float64) string {
	switch {
	case v == 0:
		return "0"
	case math.Abs(v) >= 100:
		return fmt.Sprintf("%.0f", v)
	case math.Abs(v) >= 10:
		return fmt.Sprintf("%.1f", v)
	case math.Abs(v) >= 1:
		return fmt.Sprintf("%.2f", v)
	default:
		return fmt.Sprintf("%.3f", v)
	}
}

func ratio(a, b float64) string {
	if a <= 0 || b <= 0 {
		return "–"
	}
	return fmtNum(a/b) + "×"
}

// Markdown renders the report.
func (r *Report) Markdown(plots []string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# changerelay benchmark (%s scale)\n\n", r.Scale.Name)
	fmt.Fprintf(&b, "Run %s, %s. Machine: %s, %s. Stack: mongolocal (in-memory, in the bench process), "+
		"the functions under the runtime interface emulator behind lambdahost (%d environments per function), "+
		"the relay binary as a child process; all database traffic of the system under test through a counting proxy.\n\n",
		r.Started.UTC().Format("2006-01-02 15:04 UTC"), (time.Duration(r.Duration) * time.Second).String(), r.Machine, r.GoVersion, r.Scale.HostConcurrency)

	b.WriteString("## Configurations\n\n| name | what runs |\n| --- | --- |\n")
	for _, c := range r.Configs {
		fmt.Fprintf(&b, "| %s | %s |\n", c.Name, c.Description)
	}
	b.WriteString("\n## Workloads\n\n")
	for _, w := range r.Workloads {
		fmt.Fprintf(&b, "- **%s**: %s\n", w.Name, w.Description)
	}
	b.WriteString("\n## Results\n\n")
	b.WriteString("Latency is write-to-converged, measured by the bench from the change log (source write's commit to the commit of the derived write that reflects it). " +
		"Throughput is source change events per second from the first write (backlog: from the start of the configuration) to the last convergence. " +
		"Calls/event: Lambda invocations (floor: in-process handler calls) per source event. DB trips: requests of the relay and the functions (or the floor) to the database, per source event.\n\n")
	for _, w := range r.Workloads {
		fmt.Fprintf(&b, "### %s\n\n", w.Name)
		b.WriteString("| config | events | events/s | vs naive | vs floor | p50 ms | p95 ms | p99 ms | p99 vs floor | calls/event | DB trips/event | relay CPU s | functions CPU s | relay RSS idle → peak MiB | converged |\n")
		b.WriteString("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |\n")
		naive, floor := r.Find(w.Name, ConfigNaive), r.Find(w.Name, ConfigFloor)
		for _, c := range r.Configs {
			res := r.Find(w.Name, c.Name)
			if res == nil {
				continue
			}
			if res.Error != "" {
				fmt.Fprintf(&b, "| %s | error: %s |||||||||||||| |\n", c.Name, strings.ReplaceAll(res.Error, "|", "/"))
				continue
			}
			tput := res.EventsPerSec
			tputCell := fmtNum(tput)
			if w.Name == Fanout {
				tput = res.DerivedPerSec
				tputCell = fmt.Sprintf("%s (%s copies/s)", fmtNum(res.EventsPerSec), fmtNum(res.DerivedPerSec))
			}
			var vsNaive, vsFloor, p99Floor string = "–", "–", "–"
			if naive != nil && naive.Error == "" {
				nt := naive.EventsPerSec
				if w.Name == Fanout {
					nt = naive.DerivedPerSec
				}
				vsNaive = ratio(tput, nt)
			}
			if floor != nil && floor.Error == "" {
				ft := floor.EventsPerSec
				if w.Name == Fanout {
					ft = floor.DerivedPerSec
				}
				vsFloor = ratio(tput, ft)
				p99Floor = ratio(res.P99, floor.P99)
			}
			cpu, rss := "–", "–"
			if res.Process {
				cpu = fmtNum(res.RelayCPU)
				rss = fmt.Sprintf("%.0f → %.0f", mib(res.IdleRSS), mib(res.PeakRSS))
			}
			conv := "yes"
			if !res.Converged {
				conv = "NO: " + res.Check
			}
			if res.TimedOut {
				conv += fmt.Sprintf(" (timed out after %.0f s with %d timed writes open; events/s counts ≈%d events taken as processed)", res.Elapsed, res.Unresolved, res.ProcessedEstimate)
			}
			fmt.Fprintf(&b, "| %s | %d | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n",
				c.Name, res.Events, tputCell, vsNaive, vsFloor, fmtNum(res.P50), fmtNum(res.P95), fmtNum(res.P99), p99Floor,
				fmtNum(res.InvPerEvent), fmtNum(res.TripsPerEvent), cpu, fmtNum(res.FunctionsCPU), rss, conv)
		}
		b.WriteString("\n")
	}

	b.WriteString("## Targets\n\n| target | configuration | measured | met |\n| --- | --- | --- | --- |\n")
	targets := r.Targets()
	for _, t := range targets {
		fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", t.Target, t.Config, t.Measured, t.Verdict)
	}
	b.WriteString("\n")
	writeWhy(&b, targets)
	if len(plots) > 0 {
		b.WriteString("## Figures\n\n")
		for _, p := range plots {
			fmt.Fprintf(&b, "![%s](%s)\n\n", strings.TrimSuffix(p, ".png"), p)
		}
	}
	b.WriteString("## Details\n\nTimed / untracked / dropped / open: source events whose convergence was timed; events with no derived field to watch; events whose target was deleted first; events still open at the end. p99 by source: the timed writes of each source collection (n). Load: the machine's 1-minute load average at the start and the end of the run (other work shares the 2 cores).\n\n")
	b.WriteString("| workload | config | timed / untracked / dropped / open | p99 ms by source (n) | derived writes | invocations by function | top DB commands | Lambda errors / throttles | load |\n| --- | --- | --- | --- | ---: | --- | --- | --- | --- |\n")
	for _, res := range r.Results {
		var fns []string
		for _, n := range []string{"users", "articles", "comments", "favorites"} {
			if v := res.InvocationsByFn[n]; v > 0 {
				fns = append(fns, fmt.Sprintf("%s %d", n, v))
			}
		}
		if res.HandlerCalls > 0 {
			fns = append(fns, fmt.Sprintf("in-process calls %d", res.HandlerCalls))
		}
		var by []string
		for _, l := range []string{"user", "article", "comment", "favorite"} {
			if v, ok := res.BySource[l]; ok {
				by = append(by, fmt.Sprintf("%s %s (%d)", l, fmtNum(v.P99), v.N))
			}
		}
		fmt.Fprintf(&b, "| %s | %s | %d / %d / %d / %d | %s | %d | %s | %s | %d / %d | %.1f → %.1f |\n", res.Workload, res.Config,
			res.Tracked, res.Untracked, res.Dropped, res.Unresolved, strings.Join(by, ", "), res.DerivedWrites, strings.Join(fns, ", "), res.TopCommands, res.LambdaErrors, res.Throttles, res.Load[0], res.Load[1])
	}
	b.WriteString("\n")
	for _, n := range r.Notes {
		fmt.Fprintf(&b, "- %s\n", n)
	}
	return b.String()
}

// TargetCheck is one target of the issue against one configuration.
type TargetCheck struct {
	Target, Config, Measured, Verdict string
	Met                               bool
	// backlog is the run a memory target was measured on (nil for the
	// other targets).
	backlog *Result
}

func verdict(ok bool) string {
	if ok {
		return "yes"
	}
	return "**no**"
}

// Targets evaluates the targets for the relay configurations.
func (r *Report) Targets() []TargetCheck {
	var out []TargetCheck
	for _, c := range r.Configs {
		if c.Name == ConfigFloor || c.Name == ConfigNaive {
			continue
		}
		for _, w := range []string{Backlog, Burst} {
			res, naive := r.Find(w, c.Name), r.Find(w, ConfigNaive)
			if res == nil || naive == nil || res.Error != "" || naive.Error != "" || naive.EventsPerSec == 0 {
				continue
			}
			x := res.EventsPerSec / naive.EventsPerSec
			note := ""
			out = append(out, TargetCheck{Target: "throughput ≥ 20× naive (" + w + ")", Config: c.Name,
				Measured: fmt.Sprintf("%s vs %s events/s = %s%s", fmtNum(res.EventsPerSec), fmtNum(naive.EventsPerSec), fmtNum(x)+"×", note), Met: x >= 20, Verdict: verdict(x >= 20)})
		}
		if res, floor := r.Find(Steady, c.Name), r.Find(Steady, ConfigFloor); res != nil && floor != nil && floor.P99 > 0 && res.Error == "" {
			x := res.P99 / floor.P99
			out = append(out, TargetCheck{Target: "steady p99 ≤ 3× floor", Config: c.Name,
				Measured: fmt.Sprintf("%s ms vs %s ms = %s×", fmtNum(res.P99), fmtNum(floor.P99), fmtNum(x)), Met: x <= 3, Verdict: verdict(x <= 3)})
		}
		if res := r.Find(Burst, c.Name); res != nil && res.FavEvents > 0 && res.Error == "" {
			ok := res.FavInvPerEvent <= 1.0/50 && res.Converged
			out = append(out, TargetCheck{Target: fmt.Sprintf("storm of %d favorites: ≤ 1 invocation per 50 events", res.FavEvents), Config: c.Name,
				Measured: fmt.Sprintf("%d favorites invocations for %d events = 1 per %s", res.InvocationsByFn["favorites"], res.FavEvents, fmtNum(1/math.Max(res.FavInvPerEvent, 1e-9))), Met: ok, Verdict: verdict(ok)})
		}
		if res := r.Find(Backlog, c.Name); res != nil && res.Process && res.Error == "" {
			limit := 1.2*float64(res.IdleRSS) + float64(res.QueueBytes)
			ok := float64(res.PeakRSS) <= limit
			out = append(out, TargetCheck{Target: fmt.Sprintf("backlog of %d: peak RSS ≤ 1.2 × idle + queues", res.Events), Config: c.Name,
				Measured: fmt.Sprintf("peak %.1f MiB vs 1.2 × %.1f + %.1f (queues: (maxBufferedEvents + stream.batchSize) × mean event size) = %.1f MiB", mib(res.PeakRSS), mib(res.IdleRSS), mib(res.QueueBytes), limit/(1<<20)), Met: ok, Verdict: verdict(ok),
				backlog: res})
		}
	}
	return out
}

// writeWhy explains each missed target from what the run measured.
func writeWhy(b *strings.Builder, targets []TargetCheck) {
	var missed []TargetCheck
	for _, t := range targets {
		if !t.Met {
			missed = append(missed, t)
		}
	}
	if len(missed) == 0 {
		return
	}
	b.WriteString("### Why targets were missed\n\n")
	for _, t := range missed {
		res := t.backlog
		if res == nil {
			fmt.Fprintf(b, "- %s, %s: see the workload's table above; relay/benchsuite/README.md discusses the run.\n", t.Target, t.Config)
			continue
		}
		fmt.Fprintf(b, "- %s, %s: peak %.1f MiB = %.1f MiB idle (binary, runtime, driver pools, open streams) + %.1f MiB while catching up, of which the queues are estimated at %.1f MiB as BSON.",
			t.Target, t.Config, mib(res.PeakRSS), mib(res.IdleRSS), mib(res.PeakRSS-res.IdleRSS), mib(res.QueueBytes))
		if res.Heap != nil {
			fmt.Fprintf(b, " The Go heap at the last profiled peak: %s.", res.Heap)
		}
		b.WriteString(" The relay holds each queued event as its envelope's Extended JSON (larger than its BSON) and the read-ahead as the driver's getMore replies; Go's collector lets the heap grow to about twice its live data before it collects (GOGC=100), and freed pages return to the system lazily.")
		if t.Config == ConfigMemLimit {
			b.WriteString(" This configuration runs under a soft memory limit below what its live data and the runtime need, so the collector runs often and the peak settles above the limit.")
		}
		b.WriteString("\n")
	}
	b.WriteString("\n")
}
