package benchsuite

import (
	"fmt"
	"math"
	"path/filepath"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
)

// WritePlots renders the report's figures into dir and returns their file
// names: the latency distribution of each workload, the throughput of
// every configuration, and the relay's memory during the backlog.
func WritePlots(dir string, rep *Report) ([]string, error) {
	var files []string
	for _, w := range rep.Workloads {
		if w.Name == Backlog {
			continue
		}
		name := fmt.Sprintf("latency_%s.png", w.Name)
		ok, err := latencyPlot(filepath.Join(dir, name), w.Name, rep)
		if err != nil {
			return files, err
		}
		if ok {
			files = append(files, name)
		}
	}
	if err := throughputPlot(filepath.Join(dir, "throughput.png"), rep); err != nil {
		return files, err
	}
	files = append(files, "throughput.png")
	ok, err := memoryPlot(filepath.Join(dir, "backlog_memory.png"), rep)
	if err != nil {
		return files, err
	}
	if ok {
		files = append(files, "backlog_memory.png")
	}
	return files, nil
}

// latencyPlot draws the CDF of write-to-converged latency per
// configuration, on a log scale.
func latencyPlot(path, workload string, rep *Report) (bool, error) {
	p := plot.New()
	p.Title.Text = fmt.Sprintf("Write-to-converged latency, %s workload", workload)
	p.X.Label.Text = "latency (ms, log scale)"
	p.Y.Label.Text = "fraction of writes converged"
	p.X.Scale = plot.LogScale{}
	p.X.Tick.Marker = plot.LogTicks{Prec: -1}
	p.Y.Min, p.Y.Max = 0, 1
	p.Legend.Top = false
	p.Legend.Left = false
	var lines []string
	for _, r := range rep.Results {
		if r.Workload != workload || len(r.Latencies) == 0 {
			continue
		}
		if err := addLine(p, rep.configIndex(r.Config), fmt.Sprintf("%s (p99 %s ms)", r.Config, fmtNum(r.P99)), cdf(r.Latencies, 400)); err != nil {
			return false, err
		}
		lines = append(lines, r.Config)
	}
	if len(lines) == 0 {
		return false, nil
	}
	p.Legend.Top = false
	return true, p.Save(8*vg.Inch, 4.5*vg.Inch, path)
}

// cdf samples the empirical distribution of sorted values (clamped to at
// least 0.5 ms for the log axis) at up to n points.
func cdf(sorted []float64, n int) plotter.XYs {
	step := max(1, len(sorted)/n)
	var pts plotter.XYs
	for i := 0; i < len(sorted); i += step {
		pts = append(pts, plotter.XY{X: math.Max(sorted[i], 0.5), Y: float64(i+1) / float64(len(sorted))})
	}
	pts = append(pts, plotter.XY{X: math.Max(sorted[len(sorted)-1], 0.5), Y: 1})
	return pts
}

// throughputPlot draws events per second per configuration, grouped by
// workload (fan-out in derived writes per second), on a log scale.
func throughputPlot(path string, rep *Report) error {
	p := plot.New()
	p.Title.Text = "Throughput per configuration (fan-out: derived writes/s)"
	p.Y.Label.Text = "events per second (log scale)"
	// Bars start at 0, which a log axis cannot show: the bars are log10 of
	// the value on a linear axis, labelled in powers of ten.
	var names []string
	for _, w := range rep.Workloads {
		names = append(names, w.Name)
	}
	n := len(rep.Configs)
	top := 1.0
	width := vg.Points(float64(60) / float64(max(n, 1)) * 1.6)
	for i, c := range rep.Configs {
		vals := make(plotter.Values, len(rep.Workloads))
		for j, w := range rep.Workloads {
			vals[j] = 1
			if r := rep.Find(w.Name, c.Name); r != nil {
				v := r.EventsPerSec
				if w.Name == Fanout {
					v = r.DerivedPerSec
				}
				vals[j] = math.Log10(math.Max(v, 1))
			}
			top = math.Max(top, vals[j])
		}
		bars, err := plotter.NewBarChart(vals, width)
		if err != nil {
			return err
		}
		bars.Color = plotutil.Color(i)
		bars.LineStyle.Width = 0
		bars.Offset = width * vg.Length(float64(i)-float64(n-1)/2)
		p.Add(bars)
		p.Legend.Add(c.Name, bars)
	}
	p.Legend.Top = true
	p.Legend.Left = true
	p.Y.Min, p.Y.Max = 0, math.Ceil(top)
	var ticks []plot.Tick
	for k := 0; k <= int(math.Ceil(top)); k++ {
		ticks = append(ticks, plot.Tick{Value: float64(k), Label: powerLabel(k)})
	}
	p.Y.Tick.Marker = plot.ConstantTicks(ticks)
	p.NominalX(names...)
	return p.Save(8*vg.Inch, 4.5*vg.Inch, path)
}

// memoryPlot draws the relay's resident memory over time during the
// backlog catch-up, per relay configuration, with its idle size.
func memoryPlot(path string, rep *Report) (bool, error) {
	p := plot.New()
	p.Title.Text = "Relay resident memory during the backlog catch-up"
	p.X.Label.Text = "seconds since the relay started"
	p.Y.Label.Text = "RSS (MiB)"
	p.Y.Min = 0
	var lines []string
	for _, r := range rep.Results {
		if r.Workload != Backlog || len(r.Memory) == 0 {
			continue
		}
		var pts plotter.XYs
		for _, s := range r.Memory {
			pts = append(pts, plotter.XY{X: s.At, Y: float64(s.RSS) / (1 << 20)})
		}
		if err := addLine(p, rep.configIndex(r.Config), fmt.Sprintf("%s (idle %.0f MiB, peak %.0f MiB)", r.Config, mib(r.IdleRSS), mib(r.PeakRSS)), pts); err != nil {
			return false, err
		}
		lines = append(lines, r.Config)
	}
	if len(lines) == 0 {
		return false, nil
	}
	p.Legend.Top = false
	p.Legend.Left = false
	return true, p.Save(8*vg.Inch, 4.5*vg.Inch, path)
}

func mib(b int64) float64 { return float64(b) / (1 << 20) }

func powerLabel(k int) string {
	switch {
	case k >= 6:
		return fmt.Sprintf("%.0fM", math.Pow10(k-6))
	case k >= 3:
		return fmt.Sprintf("%.0fk", math.Pow10(k-3))
	default:
		return fmt.Sprintf("%.0f", math.Pow10(k))
	}
}

// addLine draws a configuration's line in its own color and dashes, the
// same in every figure.
func addLine(p *plot.Plot, idx int, name string, pts plotter.XYs) error {
	l, err := plotter.NewLine(pts)
	if err != nil {
		return err
	}
	l.Color = plotutil.Color(idx)
	l.Dashes = plotutil.Dashes(idx)
	l.Width = vg.Points(1.5)
	p.Add(l)
	p.Legend.Add(name, l)
	return nil
}

func (r *Report) configIndex(name string) int {
	for i, c := range r.Configs {
		if c.Name == name {
			return i
		}
	}
	return len(r.Configs)
}
