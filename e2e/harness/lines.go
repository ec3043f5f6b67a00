package harness

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"regexp"
	"strings"
	"sync"
)

// maxLines bounds the output a process keeps in memory for WaitLine and
// Tail; the log file keeps everything.
const maxLines = 20000

// lines collects a process's output lines and wakes waiters on each one.
type lines struct {
	mu      sync.Mutex
	all     []string
	dropped int
	changed chan struct{} // closed and replaced on every new line
	closed  bool
}

func newLines() *lines { return &lines{changed: make(chan struct{})} }

// consume reads r line by line until EOF.
func (l *lines) consume(r io.Reader) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 4*1024*1024)
	for sc.Scan() {
		l.add(sc.Text())
	}
}

func (l *lines) add(line string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.all = append(l.all, line)
	if len(l.all) > maxLines {
		n := len(l.all) - maxLines
		l.all = append(l.all[:0:0], l.all[n:]...)
		l.dropped += n
	}
	close(l.changed)
	l.changed = make(chan struct{})
}

func (l *lines) close() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.closed {
		l.closed = true
		close(l.changed)
	}
}

// wait returns the submatches of the first line (from line number `from`
// on) that matches re, and the number of the line after it.
func (l *lines) wait(ctx context.Context, re *regexp.Regexp, from int) ([]string, int, error) {
	for {
		l.mu.Lock()
		start := max(0, from-l.dropped)
		for i := start; i < len(l.all); i++ {
			if m := re.FindStringSubmatch(l.all[i]); m != nil {
				l.mu.Unlock()
				return m, l.dropped + i + 1, nil
			}
		}
		next := l.dropped + len(l.all)
		ch, closed := l.changed, l.closed
		l.mu.Unlock()
		if closed {
			return nil, next, fmt.Errorf("harness: output ended before a line matched %q", re)
		}
		select {
		case <-ctx.Done():
			return nil, next, fmt.Errorf("harness: waiting for a line matching %q: %w", re, ctx.Err())
		case <-ch:
			from = next
		}
	}
}

func (l *lines) tail(n int) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	start := max(0, len(l.all)-n)
	return strings.Join(l.all[start:], "\n")
}

func (l *lines) count() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.dropped + len(l.all)
}
