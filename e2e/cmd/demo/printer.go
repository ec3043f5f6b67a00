package main

import (
	"fmt"
	"io"
	"sync"
	"time"
)

// printer writes the demo's numbered steps and indented detail lines.
type printer struct {
	mu    sync.Mutex
	w     io.Writer
	step  int
	start time.Time
}

func newPrinter(w io.Writer) *printer { return &printer{w: w, start: time.Now()} }

const totalSteps = 8

// Step starts a numbered step.
func (p *printer) Step(format string, args ...any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.step++
	fmt.Fprintf(p.w, "\n[%d/%d] %s\n", p.step, totalSteps, fmt.Sprintf(format, args...))
}

// Line prints a detail line with the time since the demo started.
func (p *printer) Line(format string, args ...any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprintf(p.w, "  %6.1fs  %s\n", time.Since(p.start).Seconds(), fmt.Sprintf(format, args...))
}

// Block prints text as is, indented.
func (p *printer) Block(text string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, line := range splitLines(text) {
		fmt.Fprintf(p.w, "    %s\n", line)
	}
}

func splitLines(s string) []string {
	var out []string
	start := 0
	for i := 0; i < len(s); i++ {
		if s[i] == '\n' {
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	if start < len(s) {
		out = append(out, s[start:])
	}
	return out
}
