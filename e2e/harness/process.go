package harness

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sync"
	"syscall"
	"time"
)

// Spec describes a child process.
type Spec struct {
	// Name labels the process in errors and logs.
	Name string
	// Path is the executable; Args its arguments (without the program name).
	Path string
	Args []string
	// Env is added to this process's environment (later entries win).
	Env []string
	// Dir is the working directory; "" is the current one.
	Dir string
	// LogFile receives stdout and stderr, interleaved as written. Required.
	LogFile string
}

// Process is a running child process in its own process group, so that
// signals reach whatever it started (the Lambda host's emulators, say).
type Process struct {
	spec  Spec
	cmd   *exec.Cmd
	out   *lines
	done  chan struct{}
	mu    sync.Mutex
	exit  error
	reads sync.WaitGroup
}

// Start starts the process described by spec.
func Start(spec Spec) (*Process, error) {
	if spec.LogFile == "" {
		return nil, fmt.Errorf("harness: start %s: LogFile is required", spec.Name)
	}
	if err := os.MkdirAll(filepath.Dir(spec.LogFile), 0o755); err != nil {
		return nil, fmt.Errorf("harness: start %s: %w", spec.Name, err)
	}
	logf, err := os.OpenFile(spec.LogFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("harness: start %s: %w", spec.Name, err)
	}
	r, w, err := os.Pipe()
	if err != nil {
		logf.Close()
		return nil, fmt.Errorf("harness: start %s: %w", spec.Name, err)
	}
	cmd := exec.Command(spec.Path, spec.Args...)
	cmd.Dir = spec.Dir
	cmd.Env = append(os.Environ(), spec.Env...)
	cmd.Stdout, cmd.Stderr = w, w
	cmd.SysProcAttr = sysProcAttr()
	fmt.Fprintf(logf, "=== %s: %s %v (%s)\n", spec.Name, spec.Path, spec.Args, time.Now().Format(time.RFC3339Nano))
	if err := cmd.Start(); err != nil {
		r.Close()
		w.Close()
		logf.Close()
		return nil, fmt.Errorf("harness: start %s: %w", spec.Name, err)
	}
	w.Close() // the child holds its own copy; EOF comes when it and its children exit

	p := &Process{spec: spec, cmd: cmd, out: newLines(), done: make(chan struct{})}
	p.reads.Add(1)
	go func() {
		defer p.reads.Done()
		defer logf.Close()
		defer r.Close()
		p.out.consume(io.TeeReader(r, logf))
		p.out.close()
	}()
	go func() {
		err := cmd.Wait()
		p.mu.Lock()
		p.exit = err
		p.mu.Unlock()
		close(p.done)
	}()
	return p, nil
}

// Name is the process's label.
func (p *Process) Name() string { return p.spec.Name }

// PID is the process id (also its process group id).
func (p *Process) PID() int { return p.cmd.Process.Pid }

// LogFile is where the output goes.
func (p *Process) LogFile() string { return p.spec.LogFile }

// Done is closed when the process has exited.
func (p *Process) Done() <-chan struct{} { return p.done }

// ExitErr is the process's exit error once Done is closed (nil for exit 0).
func (p *Process) ExitErr() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.exit
}

// Running reports whether the process has not exited yet.
func (p *Process) Running() bool {
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

// WaitLine waits for an output line matching pattern, searching the whole
// output so far first, and returns the line's submatches.
func (p *Process) WaitLine(ctx context.Context, pattern string) ([]string, error) {
	m, _, err := p.WaitLineFrom(ctx, pattern, 0)
	return m, err
}

// WaitLineFrom is WaitLine searching from output line number from on; it
// also returns the number of the line after the match, to continue from.
func (p *Process) WaitLineFrom(ctx context.Context, pattern string, from int) ([]string, int, error) {
	re, err := regexp.Compile(pattern)
	if err != nil {
		return nil, from, fmt.Errorf("harness: %s: %w", p.spec.Name, err)
	}
	m, next, err := p.out.wait(ctx, re, from)
	if err != nil {
		return nil, next, fmt.Errorf("%s: %w", p.spec.Name, err)
	}
	return m, next, nil
}

// Lines is the number of output lines so far.
func (p *Process) Lines() int { return p.out.count() }

// Tail returns the last n output lines.
func (p *Process) Tail(n int) string { return p.out.tail(n) }

// Signal sends sig to the process group.
func (p *Process) Signal(sig syscall.Signal) error {
	if !p.Running() {
		return nil
	}
	if err := signalGroup(p.cmd.Process.Pid, sig); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("harness: signal %s to %s: %w", sig, p.spec.Name, err)
	}
	return nil
}

// Kill sends SIGKILL to the process group and waits for the exit (at most
// ten seconds).
func (p *Process) Kill() error {
	if err := p.Signal(syscall.SIGKILL); err != nil {
		return err
	}
	select {
	case <-p.done:
		p.reapGroup()
		return nil
	case <-time.After(10 * time.Second):
		return fmt.Errorf("harness: %s did not exit after SIGKILL", p.spec.Name)
	}
}

// Stop sends SIGTERM and waits up to grace for the exit, then kills. It
// returns the exit error of a graceful exit (nil for status 0), or an error
// saying it had to kill.
func (p *Process) Stop(grace time.Duration) error {
	if !p.Running() {
		p.reapGroup()
		return p.ExitErr()
	}
	if err := p.Signal(syscall.SIGTERM); err != nil {
		return err
	}
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case <-p.done:
		p.reapGroup()
		return p.ExitErr()
	case <-t.C:
		if err := p.Kill(); err != nil {
			return err
		}
		return fmt.Errorf("harness: %s did not exit within %s of SIGTERM; killed", p.spec.Name, grace)
	}
}

// reapGroup kills whatever the process left behind in its group and waits
// briefly for its output to drain.
func (p *Process) reapGroup() {
	_ = signalGroup(p.cmd.Process.Pid, syscall.SIGKILL)
	drained := make(chan struct{})
	go func() { p.reads.Wait(); close(drained) }()
	select {
	case <-drained:
	case <-time.After(2 * time.Second):
	}
}
