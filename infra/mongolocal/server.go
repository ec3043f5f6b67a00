package mongolocal

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/256dpi/lungo/bsonkit"
	"go.mongodb.org/mongo-driver/bson/primitive"

	"github.com/changerelay/changerelay/infra/mongolocal/changestream"
)

// Server is a running mongolocal.
type Server struct {
	cfg        Config
	log        *slog.Logger
	ln         net.Listener
	store      *store
	changes    *changestream.Log
	cursors    *cursors
	retries    *retryCache
	failpoints *failpoints
	idHashes   idHashes
	electionID primitive.ObjectID
	started    time.Time

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	connMu sync.Mutex
	conns  map[*conn]struct{}
	nextID atomic.Int64

	lastTime  atomic.Uint64 // cluster time of the newest commit (T<<32 | I)
	closeOnce sync.Once
	closeErr  error
}

// Start opens the data (DBPath) and starts serving on cfg.Addr. The server
// runs until Close is called or ctx is cancelled.
func Start(ctx context.Context, cfg Config) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg.setDefaults()

	st, err := openStore(cfg.DBPath)
	if err != nil {
		return nil, fmt.Errorf("mongolocal: open store: %w", err)
	}
	s := &Server{
		cfg:        cfg,
		log:        cfg.Logger,
		store:      st,
		cursors:    newCursors(),
		retries:    newRetryCache(10_000, 30*time.Minute),
		failpoints: &failpoints{},
		electionID: primitive.ObjectID{0x7f, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 1},
		started:    time.Now(),
		conns:      map[*conn]struct{}{},
	}
	s.changes, err = changestream.Open(changestream.Config{
		Dir:        changelogDir(cfg.DBPath),
		MaxEntries: cfg.OplogMaxEntries,
		MaxAge:     cfg.OplogMaxAge,
		Lookup:     s.lookupDocument,
		Logger:     cfg.Logger,
	})
	if err != nil {
		return nil, fmt.Errorf("mongolocal: open change log: %w", err)
	}
	s.observeTime(s.changes.LastTime())
	s.observeTime(bsonkit.Now())

	s.ln, err = net.Listen("tcp", cfg.Addr)
	if err != nil {
		_ = s.changes.Close()
		return nil, fmt.Errorf("mongolocal: listen on %s: %w", cfg.Addr, err)
	}
	s.ctx, s.cancel = context.WithCancel(context.WithoutCancel(ctx))
	s.wg.Add(2)
	go s.acceptLoop()
	go s.background(ctx)
	s.log.Info("mongolocal: serving", "addr", s.Addr(), "dbpath", cfg.DBPath)
	return s, nil
}

// URI is a connection string for the server, e.g.
// "mongodb://127.0.0.1:PORT/?replicaSet=rs0".
func (s *Server) URI() string {
	return fmt.Sprintf("mongodb://%s/?replicaSet=%s", s.Addr(), url.QueryEscape(s.cfg.ReplSetName))
}

// Addr is the address the server listens on (host:port).
func (s *Server) Addr() string {
	addr := s.ln.Addr().(*net.TCPAddr)
	ip := addr.IP
	if ip.IsUnspecified() {
		ip = net.IPv4(127, 0, 0, 1)
	}
	return net.JoinHostPort(ip.String(), fmt.Sprint(addr.Port))
}

// Close stops accepting connections, closes every open connection and
// cursor, and flushes the data. It is safe to call more than once.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		s.cancel()
		err := s.ln.Close()
		if errors.Is(err, net.ErrClosed) {
			err = nil
		}
		s.connMu.Lock()
		for c := range s.conns {
			c.closeNow()
		}
		s.connMu.Unlock()
		s.wg.Wait()
		s.cursors.closeAll()
		// take the write lock so no write is half done when the log closes
		s.store.wmu.Lock()
		err = errors.Join(err, s.changes.Close())
		s.store.wmu.Unlock()
		s.closeErr = err
		s.log.Info("mongolocal: stopped", "addr", s.Addr())
	})
	return s.closeErr
}

func (s *Server) acceptLoop() {
	defer s.wg.Done()
	for {
		nc, err := s.ln.Accept()
		if err != nil {
			if s.ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return
			}
			s.log.Warn("mongolocal: accept", "err", err)
			select {
			case <-time.After(10 * time.Millisecond):
				continue
			case <-s.ctx.Done():
				return
			}
		}
		c := &conn{id: s.nextID.Add(1), nc: nc, s: s, closed: make(chan struct{})}
		s.connMu.Lock()
		if s.ctx.Err() != nil {
			s.connMu.Unlock()
			_ = nc.Close()
			return
		}
		s.conns[c] = struct{}{}
		s.connMu.Unlock()
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			c.serve(s.ctx)
			s.connMu.Lock()
			delete(s.conns, c)
			s.connMu.Unlock()
		}()
	}
}

// background closes the server when the Start context ends, reaps idle
// cursors and expired retry records, and deletes documents past their TTL.
func (s *Server) background(startCtx context.Context) {
	defer s.wg.Done()
	tick := time.NewTicker(time.Minute)
	defer tick.Stop()
	for {
		select {
		case <-s.ctx.Done():
			return
		case <-startCtx.Done():
			go func() { _ = s.Close() }()
			return
		case <-tick.C:
			s.cursors.reap(10 * time.Minute)
			s.retries.reap()
			// the TTL monitor, as mongod runs it every 60 seconds
			if err := s.write(func(w *writeTxn) error { w.expire(time.Now()); return nil }); err != nil {
				s.log.Warn("mongolocal: TTL expiry", "err", err)
			}
		}
	}
}

// clusterTime is the cluster time replies carry: the newest commit.
func (s *Server) clusterTime() primitive.Timestamp {
	v := s.lastTime.Load()
	return primitive.Timestamp{T: uint32(v >> 32), I: uint32(v)}
}

func (s *Server) observeTime(ts primitive.Timestamp) {
	v := uint64(ts.T)<<32 | uint64(ts.I)
	for {
		old := s.lastTime.Load()
		if v <= old || s.lastTime.CompareAndSwap(old, v) {
			return
		}
	}
}
