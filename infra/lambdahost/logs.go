package lambdahost

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// maxLogTail is what Lambda returns in X-Amz-Log-Result: the last 4 KB.
const maxLogTail = 4096

// functionLog fans the output lines of a function's environments out to its
// log file, Config.Output and the logger.
type functionLog struct {
	name   string
	logger *slog.Logger
	mu     sync.Mutex // serializes writes to file and out
	file   *os.File
	out    io.Writer
}

func openFunctionLog(name, dir string, out io.Writer, logger *slog.Logger) (*functionLog, error) {
	l := &functionLog{name: name, logger: logger, out: out}
	if dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("lambdahost: log dir: %w", err)
		}
		f, err := os.OpenFile(filepath.Join(dir, name+".log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			return nil, fmt.Errorf("lambdahost: log file: %w", err)
		}
		l.file = f
	}
	return l, nil
}

func (l *functionLog) line(env int, text string) {
	l.logger.Debug("function output", "function", l.name, "env", env, "line", text)
	if l.file == nil && l.out == nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.file != nil {
		fmt.Fprintf(l.file, "%s [env %d] %s\n", time.Now().UTC().Format("2006-01-02T15:04:05.000Z"), env, text)
	}
	if l.out != nil {
		fmt.Fprintf(l.out, "[%s#%d] %s\n", l.name, env, text)
	}
}

func (l *functionLog) close() error {
	if l.file == nil {
		return nil
	}
	return l.file.Close()
}

// envOutput is the stdout and stderr of one environment's emulator process
// (which also carries the function's output). It splits lines and, while an
// invocation asks for its log tail, captures them.
type envOutput struct {
	log  *functionLog
	env  int
	mu   sync.Mutex
	part []byte
	tail *logCapture
}

type logCapture struct {
	buf    bytes.Buffer
	report string        // the "REPORT RequestId: <id>" line prefix that ends an invocation
	done   chan struct{} // closed when that line arrives
}

func (o *envOutput) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.part = append(o.part, p...)
	for {
		i := bytes.IndexByte(o.part, '\n')
		if i < 0 {
			break
		}
		o.emit(string(bytes.TrimRight(o.part[:i], "\r")))
		o.part = o.part[i+1:]
	}
	if len(o.part) > 64*1024 { // a very long line without newline: flush it
		o.emit(string(o.part))
		o.part = o.part[:0]
	}
	return len(p), nil
}

func (o *envOutput) flush() {
	o.mu.Lock()
	defer o.mu.Unlock()
	if len(o.part) > 0 {
		o.emit(string(o.part))
		o.part = nil
	}
}

// emit is called with o.mu held.
func (o *envOutput) emit(text string) {
	o.log.line(o.env, text)
	if c := o.tail; c != nil {
		c.buf.WriteString(text)
		c.buf.WriteByte('\n')
		if c.buf.Len() > 4*maxLogTail {
			keep := c.buf.Bytes()[c.buf.Len()-maxLogTail:]
			c.buf = *bytes.NewBuffer(append([]byte(nil), keep...))
		}
		if strings.HasPrefix(text, c.report) {
			close(c.done)
			o.tail = nil
		}
	}
}

// capture starts collecting lines for the invocation requestID.
func (o *envOutput) capture(requestID string) *logCapture {
	c := &logCapture{report: "REPORT RequestId: " + requestID, done: make(chan struct{})}
	o.mu.Lock()
	o.tail = c
	o.mu.Unlock()
	return c
}

// finish waits briefly for the invocation's REPORT line (the emulator prints
// it just before answering, but the pipe may lag) and returns the last 4 KB.
func (o *envOutput) finish(ctx context.Context, c *logCapture, wait time.Duration) []byte {
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-c.done:
	case <-t.C:
	case <-ctx.Done():
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.tail == c {
		o.tail = nil
	}
	b := c.buf.Bytes()
	if len(b) > maxLogTail {
		b = b[len(b)-maxLogTail:]
	}
	return append([]byte(nil), b...)
}
