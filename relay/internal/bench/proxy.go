// Package bench measures the relay against a naive relay (one event per
// invocation, one at a time) on the same function host: events per second,
// write-to-invocation latency, and resident memory while catching up with a
// backlog. relaybench and the go test benchmarks run it.
package bench

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"sync"
	"time"
)

// Proxy sits in front of a function host and records, per event, when its
// first invocation arrived and the latency since the write (the event's
// wallTime).
type Proxy struct {
	upstream string
	client   *http.Client
	srv      *httptest.Server

	mu          sync.Mutex
	arrived     map[string]bool
	latencies   []time.Duration
	invocations int
	last        time.Time
	waiters     []waiter
}

type waiter struct {
	n  int
	ch chan struct{}
}

// NewProxy starts a proxy to upstream (an Invoke API endpoint).
func NewProxy(upstream string) *Proxy {
	p := &Proxy{upstream: upstream, client: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}, arrived: map[string]bool{}}
	p.srv = httptest.NewServer(http.HandlerFunc(p.serve))
	return p
}

// URL is the endpoint to give a relay.
func (p *Proxy) URL() string { return p.srv.URL }

// Close stops the proxy.
func (p *Proxy) Close() { p.srv.Close() }

// Reset forgets what was recorded.
func (p *Proxy) Reset() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.arrived, p.latencies, p.invocations, p.last = map[string]bool{}, nil, 0, time.Time{}
}

type probe struct {
	Events []struct {
		Event struct {
			ID struct {
				Data string `json:"_data"`
			} `json:"_id"`
			WallTime struct {
				Date struct {
					Millis json.Number `json:"$numberLong"`
				} `json:"$date"`
			} `json:"wallTime"`
		} `json:"event"`
	} `json:"events"`
}

func (p *Proxy) serve(w http.ResponseWriter, r *http.Request) {
	now := time.Now()
	body, _ := io.ReadAll(r.Body)
	var pr probe
	_ = json.Unmarshal(body, &pr)
	p.mu.Lock()
	p.invocations++
	for _, e := range pr.Events {
		id := e.Event.ID.Data
		if p.arrived[id] {
			continue
		}
		p.arrived[id] = true
		if ms, err := e.Event.WallTime.Date.Millis.Int64(); err == nil && ms > 0 {
			p.latencies = append(p.latencies, now.Sub(time.UnixMilli(ms)))
		}
	}
	p.last = now
	n := len(p.arrived)
	kept := p.waiters[:0]
	for _, wt := range p.waiters {
		if n >= wt.n {
			close(wt.ch)
		} else {
			kept = append(kept, wt)
		}
	}
	p.waiters = kept
	p.mu.Unlock()

	req, err := http.NewRequestWithContext(r.Context(), r.Method, p.upstream+r.URL.Path, bytes.NewReader(body))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	req.Header = r.Header.Clone()
	resp, err := p.client.Do(req)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	for k, v := range resp.Header {
		w.Header()[k] = v
	}
	w.WriteHeader(resp.StatusCode)
	_, _ = io.Copy(w, resp.Body)
}

// WaitFor returns a channel closed once n distinct events have arrived.
func (p *Proxy) WaitFor(n int) <-chan struct{} {
	p.mu.Lock()
	defer p.mu.Unlock()
	ch := make(chan struct{})
	if len(p.arrived) >= n {
		close(ch)
		return ch
	}
	p.waiters = append(p.waiters, waiter{n, ch})
	return ch
}

// Arrived returns the ids of the events that arrived.
func (p *Proxy) Arrived() map[string]bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make(map[string]bool, len(p.arrived))
	for k := range p.arrived {
		out[k] = true
	}
	return out
}

// Stats summarizes what arrived.
type Stats struct {
	Events      int
	Invocations int
	Last        time.Time
	P50, P99    time.Duration
}

// Stats returns the figures so far.
func (p *Proxy) Stats() Stats {
	p.mu.Lock()
	defer p.mu.Unlock()
	lat := append([]time.Duration(nil), p.latencies...)
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	return Stats{Events: len(p.arrived), Invocations: p.invocations, Last: p.last, P50: quantile(lat, 0.50), P99: quantile(lat, 0.99)}
}

func quantile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(q * float64(len(sorted)-1))
	return sorted[i]
}
