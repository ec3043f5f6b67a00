package lambdahost

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"
)

// Host serves the Lambda Invoke API for a set of functions.
type Host struct {
	cfg    Config
	rie    string
	fns    map[string]*function
	order  []*function
	client *http.Client
	ln     net.Listener
	srv    *http.Server

	ctx     context.Context // cancelled by Close
	cancel  context.CancelFunc
	asyncMu sync.Mutex // orders async.Add against Close's async.Wait
	closing bool       // guarded by asyncMu
	async   sync.WaitGroup

	closeOnce sync.Once
	closeErr  error
}

// Start validates cfg, finds (or builds) the runtime interface emulator,
// listens on cfg.Addr and serves until Close. ctx bounds the start only
// (building the emulator, and starting environments when cfg.Eager).
func Start(ctx context.Context, cfg Config) (*Host, error) {
	cfg.Functions = append([]FunctionConfig(nil), cfg.Functions...)
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	rie, err := EnsureRIE(ctx, cfg.RIEPath, cfg.CacheDir)
	if err != nil {
		return nil, err
	}
	h := &Host{
		cfg: cfg,
		rie: rie,
		fns: make(map[string]*function, len(cfg.Functions)),
		client: &http.Client{Transport: &http.Transport{
			Proxy:               nil, // the emulators are on loopback
			MaxIdleConnsPerHost: 2,
			IdleConnTimeout:     90 * time.Second,
			DisableCompression:  true,
		}},
	}
	h.ctx, h.cancel = context.WithCancel(context.Background())
	for _, fc := range cfg.Functions {
		fn, err := newFunction(h, fc)
		if err != nil {
			_ = h.Close()
			return nil, fmt.Errorf("lambdahost: function %s: %w", fc.Name, err)
		}
		h.fns[fc.Name] = fn
		h.order = append(h.order, fn)
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		_ = h.Close()
		return nil, fmt.Errorf("lambdahost: listen %s: %w", cfg.Addr, err)
	}
	h.ln = ln
	h.srv = &http.Server{Handler: h.routes(), ReadHeaderTimeout: 30 * time.Second}
	go func() {
		if err := h.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			cfg.Logger.Error("invoke API stopped", "err", err)
		}
	}()
	if cfg.Eager {
		if err := h.startAll(ctx); err != nil {
			_ = h.Close()
			return nil, err
		}
	}
	cfg.Logger.Info("lambda host ready", "endpoint", h.Endpoint(), "functions", len(h.order), "emulator", rie)
	return h, nil
}

func (h *Host) startAll(ctx context.Context) error {
	var wg sync.WaitGroup
	errs := make(chan error, 1)
	for _, fn := range h.order {
		for _, e := range fn.envs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := e.ensure(ctx); err != nil {
					select {
					case errs <- err:
					default:
					}
				}
			}()
		}
	}
	wg.Wait()
	select {
	case err := <-errs:
		return err
	default:
		return nil
	}
}

// Addr is the Invoke API's listen address (host:port).
func (h *Host) Addr() string { return h.ln.Addr().String() }

// Endpoint is the base URL for SDK clients (BaseEndpoint) and LAMBDA_ENDPOINT.
func (h *Host) Endpoint() string { return "http://" + h.Addr() }

// Stats returns a snapshot of every function's counters.
func (h *Host) Stats() Stats {
	s := Stats{Functions: make(map[string]FunctionStats, len(h.order))}
	for _, fn := range h.order {
		fs := fn.counters.snapshot()
		for _, e := range fn.envs {
			fs.Environments = append(fs.Environments, e.stats())
		}
		s.Functions[fn.cfg.Name] = fs
	}
	return s
}

// Close stops serving, aborts running invocations and stops every
// environment (the emulator and its runtime processes). It is idempotent.
func (h *Host) Close() error {
	h.closeOnce.Do(func() {
		h.cancel()
		h.asyncMu.Lock()
		h.closing = true
		h.asyncMu.Unlock()
		var errs []error
		if h.srv != nil {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			if err := h.srv.Shutdown(ctx); err != nil {
				_ = h.srv.Close()
			}
			cancel()
		}
		var wg sync.WaitGroup
		for _, fn := range h.order {
			for _, e := range fn.envs {
				wg.Add(1)
				go func() {
					defer wg.Done()
					e.close()
				}()
			}
		}
		wg.Wait()
		h.async.Wait()
		for _, fn := range h.order {
			if err := fn.log.close(); err != nil {
				errs = append(errs, err)
			}
		}
		h.client.CloseIdleConnections()
		h.closeErr = errors.Join(errs...)
		h.cfg.Logger.Info("lambda host stopped")
	})
	return h.closeErr
}
