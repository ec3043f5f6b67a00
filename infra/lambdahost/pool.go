package lambdahost

import (
	"context"
	"errors"
	"sync"
	"time"
)

var errThrottled = errors.New("lambdahost: all environments busy")

// pool hands out a function's environments, one invocation each.
type pool struct {
	free chan struct{} // one token per idle environment
	mu   sync.Mutex
	idle []*environment // most recently used last
	all  []*environment
}

func newPool(envs []*environment) *pool {
	p := &pool{free: make(chan struct{}, len(envs)), all: envs}
	for i := len(envs) - 1; i >= 0; i-- {
		p.idle = append(p.idle, envs[i])
		p.free <- struct{}{}
	}
	return p
}

// acquire waits up to wait for an idle environment (forever when block),
// then fails with errThrottled. A negative wait does not wait.
func (p *pool) acquire(ctx context.Context, wait time.Duration, block bool) (*environment, error) {
	select {
	case <-p.free:
		return p.take(), nil
	default:
	}
	var timeout <-chan time.Time
	if !block {
		if wait < 0 {
			return nil, errThrottled
		}
		t := time.NewTimer(wait)
		defer t.Stop()
		timeout = t.C
	}
	select {
	case <-p.free:
		return p.take(), nil
	case <-timeout:
		return nil, errThrottled
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// take pops an idle environment, preferring a warm one (like Lambda, which
// reuses warm environments before starting new ones).
func (p *pool) take() *environment {
	p.mu.Lock()
	defer p.mu.Unlock()
	pick := len(p.idle) - 1
	for i := len(p.idle) - 1; i >= 0; i-- {
		if p.idle[i].running() != nil {
			pick = i
			break
		}
	}
	e := p.idle[pick]
	p.idle = append(p.idle[:pick], p.idle[pick+1:]...)
	return e
}

func (p *pool) release(e *environment) {
	p.mu.Lock()
	p.idle = append(p.idle, e)
	p.mu.Unlock()
	p.free <- struct{}{}
}
