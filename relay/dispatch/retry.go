package dispatch

import (
	"math"
	"math/rand/v2"
	"time"
)

// Backoff is exponential backoff with jitter.
type Backoff struct {
	Initial    time.Duration
	Max        time.Duration
	Multiplier float64
	// Jitter spreads each delay uniformly by ±Jitter (0.2 = ±20%).
	Jitter float64
}

// Delay returns the wait before attempt n+1, after n failed attempts (n ≥ 1).
func (b Backoff) Delay(n int) time.Duration {
	if n < 1 {
		n = 1
	}
	d := float64(b.Initial) * math.Pow(b.Multiplier, float64(n-1))
	if d > float64(b.Max) || math.IsInf(d, 0) || math.IsNaN(d) {
		d = float64(b.Max)
	}
	if b.Jitter > 0 {
		d *= 1 + b.Jitter*(2*rand.Float64()-1)
	}
	return time.Duration(d)
}
