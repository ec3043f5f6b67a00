package harness

import (
	"context"
	"strconv"
	"strings"
)

// Sample is one line of the Prometheus text format.
type Sample struct {
	Name   string
	Labels map[string]string
	Value  float64
}

// Metrics is a scrape: every sample, in order.
type Metrics []Sample

// Scrape fetches and parses a /metrics endpoint.
func Scrape(ctx context.Context, url string) (Metrics, error) {
	body, err := Get(ctx, url)
	if err != nil {
		return nil, err
	}
	return ParseMetrics(string(body)), nil
}

// ParseMetrics reads the Prometheus text exposition format, skipping
// comments and lines it cannot read.
func ParseMetrics(text string) Metrics {
	var out Metrics
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || line[0] == '#' {
			continue
		}
		if s, ok := parseSample(line); ok {
			out = append(out, s)
		}
	}
	return out
}

func parseSample(line string) (Sample, bool) {
	s := Sample{Labels: map[string]string{}}
	rest := line
	if i := strings.IndexByte(line, '{'); i >= 0 {
		j := strings.LastIndexByte(line, '}')
		if j < i {
			return s, false
		}
		s.Name = line[:i]
		parseLabels(line[i+1:j], s.Labels)
		rest = strings.TrimSpace(line[j+1:])
	} else {
		f := strings.Fields(line)
		if len(f) < 2 {
			return s, false
		}
		s.Name, rest = f[0], strings.Join(f[1:], " ")
	}
	f := strings.Fields(rest)
	if len(f) == 0 {
		return s, false
	}
	v, err := strconv.ParseFloat(f[0], 64)
	if err != nil {
		return s, false
	}
	s.Value = v
	return s, true
}

func parseLabels(text string, into map[string]string) {
	for len(text) > 0 {
		eq := strings.IndexByte(text, '=')
		if eq < 0 || eq+1 >= len(text) || text[eq+1] != '"' {
			return
		}
		key := strings.TrimSpace(strings.TrimPrefix(text[:eq], ","))
		var val strings.Builder
		i := eq + 2
		for ; i < len(text) && text[i] != '"'; i++ {
			if text[i] == '\\' && i+1 < len(text) {
				i++
				switch text[i] {
				case 'n':
					val.WriteByte('\n')
				default:
					val.WriteByte(text[i])
				}
				continue
			}
			val.WriteByte(text[i])
		}
		into[key] = val.String()
		text = strings.TrimLeft(text[min(i+1, len(text)):], ", ")
	}
}

// Sum adds the values of every sample called name whose labels include all
// of the given key=value pairs.
func (m Metrics) Sum(name string, labels ...string) float64 {
	var total float64
	for _, s := range m {
		if s.Name == name && s.match(labels) {
			total += s.Value
		}
	}
	return total
}

// Max is the largest value among matching samples (0 if none).
func (m Metrics) Max(name string, labels ...string) float64 {
	var out float64
	for _, s := range m {
		if s.Name == name && s.match(labels) && s.Value > out {
			out = s.Value
		}
	}
	return out
}

// Has reports whether any sample is called name.
func (m Metrics) Has(name string) bool {
	for _, s := range m {
		if s.Name == name {
			return true
		}
	}
	return false
}

func (s Sample) match(pairs []string) bool {
	for i := 0; i+1 < len(pairs); i += 2 {
		if s.Labels[pairs[i]] != pairs[i+1] {
			return false
		}
	}
	return true
}
