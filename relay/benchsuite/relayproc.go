package benchsuite

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"go.mongodb.org/mongo-driver/bson/primitive"

	"github.com/changerelay/changerelay/relay/ops"
)

// RouteSettings override the relay's defaults on every route; zero values
// keep the defaults.
type RouteSettings struct {
	BatchSize         int
	BatchWindow       time.Duration
	Concurrency       int
	KeyEventsPerBatch int
}

// String renders the settings for the report.
func (s RouteSettings) String() string {
	if s == (RouteSettings{}) {
		return "defaults (batchSize 100, batchWindow 0, concurrency 4, keyEventsPerBatch 100 on the default routes)"
	}
	var parts []string
	if s.BatchSize > 0 {
		parts = append(parts, fmt.Sprintf("batchSize %d", s.BatchSize))
	}
	if s.BatchWindow > 0 {
		parts = append(parts, fmt.Sprintf("batchWindow %s", s.BatchWindow))
	}
	if s.Concurrency > 0 {
		parts = append(parts, fmt.Sprintf("concurrency %d", s.Concurrency))
	}
	if s.KeyEventsPerBatch > 0 {
		parts = append(parts, fmt.Sprintf("keyEventsPerBatch %d", s.KeyEventsPerBatch))
	}
	return strings.Join(parts, ", ")
}

// RelayProc runs the relay binary (`relay run`) as a child process with a
// generated configuration, and watches it through /proc.
type RelayProc struct {
	Label          string
	Bin            string
	Dir            string // configuration and log files
	MongoURI       string // through the counting proxy
	Database       string
	LambdaEndpoint string
	Routes         RouteSettings
	MemoryLimit    string // GOMEMLIMIT; empty: none
	// HeapProfile, when set, is where the relay's heap profile
	// (/debug/pprof/heap) is saved each time its RSS reaches a new peak
	// 10% above the last saved one: the last file shows what the peak held.
	HeapProfile string

	opsURL  string
	cmd     *exec.Cmd
	log     *os.File
	started time.Time
	mu      sync.Mutex
	samples []MemSample
	idle    int64
	stopS   chan struct{}
	doneS   chan struct{}
	exited  chan error
}

// Name implements SUT.
func (r *RelayProc) Name() string { return r.Label }

func (r *RelayProc) config(httpAddr string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "mongodb:\n  uri: %q\n  database: %s\n", r.MongoURI, r.Database)
	fmt.Fprintf(&b, "lambda:\n  endpoint: %q\n", r.LambdaEndpoint)
	fmt.Fprintf(&b, "http:\n  addr: %s\n  pprof: %t\n", httpAddr, r.HeapProfile != "")
	b.WriteString("initialSync: now\nlogLevel: warn\n")
	if r.Routes != (RouteSettings{}) {
		b.WriteString("routes:\n")
		for _, c := range []string{"users", "articles", "comments", "favorites"} {
			fmt.Fprintf(&b, "  - collection: %s\n", c)
			if r.Routes.BatchSize > 0 {
				fmt.Fprintf(&b, "    batchSize: %d\n", r.Routes.BatchSize)
			}
			if r.Routes.BatchWindow > 0 {
				fmt.Fprintf(&b, "    batchWindow: %s\n", r.Routes.BatchWindow)
			}
			if r.Routes.Concurrency > 0 {
				fmt.Fprintf(&b, "    concurrency: %d\n", r.Routes.Concurrency)
			}
			if r.Routes.KeyEventsPerBatch > 0 {
				fmt.Fprintf(&b, "    keyEventsPerBatch: %d\n", r.Routes.KeyEventsPerBatch)
			}
		}
	}
	return b.String()
}

// Prime implements SUT: start the relay (it stores its first checkpoint at
// the current cluster time), measure its idle memory, and stop it.
func (r *RelayProc) Prime(ctx context.Context, _ primitive.Timestamp) (int64, error) {
	if err := r.start(ctx); err != nil {
		return 0, err
	}
	idle := r.idle
	if _, err := r.Stop(ctx); err != nil {
		return 0, err
	}
	return idle, nil
}

// Start implements SUT. Without a checkpoint the relay streams from its
// start (initialSync: now), so the run writes only after Start returns.
func (r *RelayProc) Start(ctx context.Context, _ primitive.Timestamp) error {
	return r.start(ctx)
}

func (r *RelayProc) start(ctx context.Context) error {
	addr, err := freeAddr()
	if err != nil {
		return err
	}
	cfgPath := filepath.Join(r.Dir, r.Label+".yaml")
	if err := os.WriteFile(cfgPath, []byte(r.config(addr)), 0o644); err != nil {
		return fmt.Errorf("relay config: %w", err)
	}
	logf, err := os.OpenFile(filepath.Join(r.Dir, r.Label+".log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("relay log: %w", err)
	}
	cmd := exec.Command(r.Bin, "run", "-config", cfgPath)
	cmd.Env = append(os.Environ(), "RELAY_CONFIG=", "MONGODB_URI=", "MONGODB_DATABASE=", "LAMBDA_ENDPOINT=",
		"RELAY_HTTP_ADDR=", "LOG_LEVEL=", "RELAY_INITIAL_SYNC=", "FUNCTION_PREFIX=", "AWS_REGION=us-east-1",
		"AWS_ACCESS_KEY_ID=bench", "AWS_SECRET_ACCESS_KEY=bench", "GOMEMLIMIT="+r.MemoryLimit, "GOGC=")
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		_ = logf.Close()
		return fmt.Errorf("start relay: %w", err)
	}
	r.cmd, r.log, r.started, r.opsURL = cmd, logf, time.Now(), "http://"+addr
	r.samples, r.idle = nil, 0
	r.stopS, r.doneS, r.exited = make(chan struct{}), make(chan struct{}), make(chan error, 1)
	go func() { r.exited <- cmd.Wait() }()
	go r.sample()
	if err := r.waitReady(ctx, "http://"+addr+"/readyz"); err != nil {
		_, _ = r.Stop(ctx)
		return fmt.Errorf("relay %s: %w (log: %s)", r.Label, err, logf.Name())
	}
	// Idle size: ready, streams open, nothing to do yet.
	if s, ok := readProc(cmd.Process.Pid); ok {
		r.mu.Lock()
		r.idle = s.RSS
		r.mu.Unlock()
	}
	return nil
}

func (r *RelayProc) waitReady(ctx context.Context, url string) error {
	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(60 * time.Second)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		resp, err := client.Get(url)
		if err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case err := <-r.exited:
			r.exited <- err
			return fmt.Errorf("exited before ready: %v", err)
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not ready after 60s")
		}
	}
}

// sample records the resident memory every 100 ms until stopped.
func (r *RelayProc) sample() {
	defer close(r.doneS)
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	var profiled int64
	for {
		if s, ok := readProc(r.cmd.Process.Pid); ok {
			r.mu.Lock()
			r.samples = append(r.samples, MemSample{At: time.Since(r.started).Seconds(), RSS: s.RSS})
			idle := r.idle
			r.mu.Unlock()
			if r.HeapProfile != "" && idle > 0 && s.RSS > idle*3/2 && s.RSS > profiled*11/10 {
				if r.saveHeap() == nil {
					profiled = s.RSS
				}
			}
		}
		select {
		case <-r.stopS:
			return
		case <-t.C:
		}
	}
}

// saveHeap writes the relay's heap profile (as of its last GC) to
// HeapProfile.
func (r *RelayProc) saveHeap() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	data, err := ops.Get(ctx, r.opsURL+"/debug/pprof/heap")
	if err != nil {
		return err
	}
	return os.WriteFile(r.HeapProfile, data, 0o644)
}

// Stop implements SUT: CPU and peak memory are read just before SIGTERM;
// the relay then shuts down gracefully (its checkpoint is stored).
func (r *RelayProc) Stop(ctx context.Context) (SUTStats, error) {
	if r.cmd == nil {
		return SUTStats{}, nil
	}
	st := SUTStats{Process: true, IdleRSS: r.idle}
	if s, ok := readProc(r.cmd.Process.Pid); ok {
		st.CPUSeconds, st.PeakRSS = s.CPUSeconds, s.HWM
	}
	close(r.stopS)
	<-r.doneS
	r.mu.Lock()
	st.Memory = r.samples
	r.mu.Unlock()
	_ = r.cmd.Process.Signal(syscall.SIGTERM)
	var err error
	select {
	case err = <-r.exited:
	case <-time.After(40 * time.Second):
		_ = r.cmd.Process.Kill()
		err = fmt.Errorf("relay %s did not stop within 40s after SIGTERM", r.Label)
		<-r.exited
	case <-ctx.Done():
		_ = r.cmd.Process.Kill()
		<-r.exited
		err = ctx.Err()
	}
	_ = r.log.Close()
	r.cmd = nil
	if ee, ok := err.(*exec.ExitError); ok {
		err = fmt.Errorf("relay %s exited: %v (log: %s)", r.Label, ee, r.log.Name())
	}
	return st, err
}

func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("free port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}
