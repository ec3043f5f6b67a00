package lambdahost

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"time"
)

// stopGrace is how long an emulator gets to stop its runtime after SIGTERM.
const stopGrace = 3 * time.Second

// environment is one execution environment of a function: at most one
// emulator process at a time, restarted when it has died.
type environment struct {
	fn    *function
	index int
	out   *envOutput

	life   sync.Mutex // serializes starting and closing
	closed bool       // guarded by life: no more starts

	mu          sync.Mutex
	proc        *process
	busy        bool
	starts      int
	invocations int64
}

// process is one running emulator.
type process struct {
	cmd    *exec.Cmd
	pid    int
	url    string
	exited chan struct{}
	err    error // set before exited closes

	mu       sync.Mutex
	runtimes []procRef // the emulator's runtime processes last seen
}

// running returns the live process, or nil.
func (e *environment) running() *process {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.proc == nil {
		return nil
	}
	select {
	case <-e.proc.exited:
		return nil
	default:
		return e.proc
	}
}

// ensure returns a live process, starting (or restarting) the emulator.
func (e *environment) ensure(ctx context.Context) (*process, error) {
	if p := e.running(); p != nil {
		return p, nil
	}
	e.life.Lock()
	defer e.life.Unlock()
	if e.closed {
		return nil, errClosed
	}
	if p := e.running(); p != nil {
		return p, nil
	}
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ { // a port may be taken between probe and bind
		p, err := e.spawn(ctx)
		if err == nil {
			e.mu.Lock()
			restart := e.starts > 0
			e.proc = p
			e.starts++
			e.mu.Unlock()
			e.fn.host.cfg.Logger.Info("environment started", "function", e.fn.cfg.Name, "env", e.index, "pid", p.pid, "restart", restart)
			return p, nil
		}
		lastErr = err
		if ctx.Err() != nil {
			break
		}
	}
	return nil, fmt.Errorf("lambdahost: start environment %s#%d: %w", e.fn.cfg.Name, e.index, lastErr)
}

func (e *environment) spawn(ctx context.Context) (*process, error) {
	h := e.fn.host
	apiAddr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	runtimeAddr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(h.rie,
		"--log-level", h.cfg.RIELogLevel,
		"--runtime-interface-emulator-address", apiAddr,
		"--runtime-api-address", runtimeAddr,
		e.fn.bootstrap)
	cmd.Dir = filepath.Dir(e.fn.bootstrap)
	cmd.Env = e.fn.environ
	cmd.Stdout = e.out
	cmd.Stderr = e.out
	cmd.SysProcAttr = sysProcAttr()
	cmd.WaitDelay = time.Second // the runtime may hold the output pipe a little longer
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("exec emulator: %w", err)
	}
	p := &process{
		cmd:    cmd,
		pid:    cmd.Process.Pid,
		url:    "http://" + apiAddr + "/2015-03-31/functions/function/invocations",
		exited: make(chan struct{}),
	}
	go p.wait(e)

	ctx, cancel := context.WithTimeout(ctx, h.cfg.StartTimeout)
	defer cancel()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		if canDial(apiAddr) && canDial(runtimeAddr) {
			return p, nil
		}
		select {
		case <-p.exited:
			return nil, fmt.Errorf("emulator exited before it was ready: %v", p.err)
		case <-ctx.Done():
			p.stop()
			return nil, fmt.Errorf("emulator not ready: %w", ctx.Err())
		case <-tick.C:
		}
	}
}

func (p *process) wait(e *environment) {
	p.err = p.cmd.Wait()
	e.out.flush()
	// The emulator's runtimes run in process groups of their own; if the
	// emulator died without stopping them, stop them now.
	for _, r := range p.lastRuntimes() {
		r.kill()
	}
	close(p.exited)
	select {
	case <-e.fn.host.ctx.Done():
	default:
		e.fn.host.cfg.Logger.Info("environment exited", "function", e.fn.cfg.Name, "env", e.index, "pid", p.pid, "err", p.err)
	}
}

// refreshRuntimes records the emulator's current runtime processes.
func (p *process) refreshRuntimes() {
	kids := childProcs(p.pid)
	p.mu.Lock()
	if len(kids) > 0 {
		p.runtimes = kids
	}
	p.mu.Unlock()
}

func (p *process) lastRuntimes() []procRef {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]procRef(nil), p.runtimes...)
}

// stop asks the emulator to stop (it kills its runtime on SIGTERM), then
// kills its process group and runtimes if it does not exit in time.
func (p *process) stop() {
	select {
	case <-p.exited:
		return
	default:
	}
	p.refreshRuntimes()
	signalGroup(p.pid, syscall.SIGTERM)
	t := time.NewTimer(stopGrace)
	defer t.Stop()
	select {
	case <-p.exited:
		return
	case <-t.C:
	}
	signalGroup(p.pid, syscall.SIGKILL)
	for _, r := range p.lastRuntimes() {
		r.kill()
	}
	<-p.exited
}

// close stops the environment's process, if any, for good.
func (e *environment) close() {
	e.life.Lock()
	defer e.life.Unlock()
	e.closed = true
	e.mu.Lock()
	p := e.proc
	e.mu.Unlock()
	if p != nil {
		p.stop()
	}
}

func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("lambdahost: free port: %w", err)
	}
	addr := ln.Addr().String()
	if err := ln.Close(); err != nil {
		return "", fmt.Errorf("lambdahost: free port: %w", err)
	}
	return addr, nil
}

func canDial(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
	if err != nil {
		return false
	}
	_ = c.Close()
	return true
}

var errEnvExited = errors.New("execution environment exited")
