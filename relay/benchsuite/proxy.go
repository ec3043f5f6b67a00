package benchsuite

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"sort"
	"strings"
	"sync"

	"go.mongodb.org/mongo-driver/bson"
)

// Wire protocol op codes the proxy looks into.
const (
	opMsg   = 2013
	opQuery = 2004
)

// handshakeCommands are connection upkeep, not work: they are counted
// apart from the round trips the report shows.
var handshakeCommands = map[string]bool{
	"hello": true, "ismaster": true, "isMaster": true, "ping": true, "buildinfo": true, "buildInfo": true,
	"saslStart": true, "saslContinue": true, "endSessions": true, "getParameter": true, "OP_QUERY": true,
}

// DBProxy is a TCP proxy in front of the database that counts the requests
// (round trips) the system under test sends, by command name. mongolocal
// has no opcounters; counting on the wire works the same for a real
// server. Clients must connect with directConnection=true, or server
// discovery would lead them past the proxy.
type DBProxy struct {
	ln       net.Listener
	upstream string

	mu     sync.Mutex
	counts map[string]int64
	conns  map[net.Conn]bool
	closed bool
	wg     sync.WaitGroup
}

// StartDBProxy listens on a free loopback port and forwards to upstream
// (host:port).
func StartDBProxy(upstream string) (*DBProxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("db proxy: %w", err)
	}
	p := &DBProxy{ln: ln, upstream: upstream, counts: map[string]int64{}, conns: map[net.Conn]bool{}}
	p.wg.Add(1)
	go p.accept()
	return p, nil
}

// URI is the connection string through the proxy.
func (p *DBProxy) URI() string {
	return "mongodb://" + p.ln.Addr().String() + "/?directConnection=true"
}

// Counts returns a copy of the counters.
func (p *DBProxy) Counts() map[string]int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make(map[string]int64, len(p.counts))
	for k, v := range p.counts {
		out[k] = v
	}
	return out
}

// RoundTrips sums the counters other than connection upkeep.
func RoundTrips(counts map[string]int64) int64 {
	var n int64
	for k, v := range counts {
		if !handshakeCommands[k] {
			n += v
		}
	}
	return n
}

// DiffCounts returns b - a per command.
func DiffCounts(a, b map[string]int64) map[string]int64 {
	out := map[string]int64{}
	for k, v := range b {
		if d := v - a[k]; d != 0 {
			out[k] = d
		}
	}
	return out
}

// TopCommands renders the largest counters, for the report.
func TopCommands(counts map[string]int64, n int) string {
	type kv struct {
		k string
		v int64
	}
	var all []kv
	for k, v := range counts {
		if !handshakeCommands[k] {
			all = append(all, kv{k, v})
		}
	}
	sort.Slice(all, func(i, j int) bool { return all[i].v > all[j].v || all[i].v == all[j].v && all[i].k < all[j].k })
	var parts []string
	for i, e := range all {
		if i == n {
			break
		}
		parts = append(parts, fmt.Sprintf("%s %d", e.k, e.v))
	}
	return strings.Join(parts, ", ")
}

// Close stops accepting and closes every connection.
func (p *DBProxy) Close() error {
	p.mu.Lock()
	p.closed = true
	for c := range p.conns {
		_ = c.Close()
	}
	p.mu.Unlock()
	err := p.ln.Close()
	p.wg.Wait()
	return err
}

func (p *DBProxy) track(c net.Conn, add bool) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if add {
		if p.closed {
			return false
		}
		p.conns[c] = true
	} else {
		delete(p.conns, c)
	}
	return true
}

func (p *DBProxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.wg.Add(1)
		go p.serve(c)
	}
}

func (p *DBProxy) serve(client net.Conn) {
	defer p.wg.Done()
	server, err := net.Dial("tcp", p.upstream)
	if err != nil {
		_ = client.Close()
		return
	}
	if !p.track(client, true) || !p.track(server, true) {
		_ = client.Close()
		_ = server.Close()
		return
	}
	defer func() {
		_ = client.Close()
		_ = server.Close()
		p.track(client, false)
		p.track(server, false)
	}()
	done := make(chan struct{})
	go func() {
		_, _ = io.Copy(client, server)
		_ = client.Close()
		close(done)
	}()
	_ = p.forward(server, client)
	_ = server.Close()
	<-done
}

// forward copies whole messages from client to server, counting each.
func (p *DBProxy) forward(dst io.Writer, src io.Reader) error {
	var header [16]byte
	buf := make([]byte, 0, 64<<10)
	for {
		if _, err := io.ReadFull(src, header[:]); err != nil {
			return err
		}
		n := int(binary.LittleEndian.Uint32(header[0:4]))
		if n < 16 || n > 64<<20 {
			return errors.New("db proxy: bad message length")
		}
		if cap(buf) < n {
			buf = make([]byte, 0, n)
		}
		buf = append(buf[:0], header[:]...)
		buf = buf[:n]
		if _, err := io.ReadFull(src, buf[16:]); err != nil {
			return err
		}
		p.count(commandName(buf))
		if _, err := dst.Write(buf); err != nil {
			return err
		}
	}
}

func (p *DBProxy) count(name string) {
	p.mu.Lock()
	p.counts[name]++
	p.mu.Unlock()
}

// commandName reads the command of one request: the first key of an
// OP_MSG's body section, "OP_QUERY" for legacy handshakes, else the op code.
func commandName(msg []byte) string {
	if len(msg) < 16 {
		return "?"
	}
	op := int32(binary.LittleEndian.Uint32(msg[12:16]))
	switch op {
	case opMsg:
		// flagBits, then sections; section kind 0 is the body document.
		b := msg[20:]
		for len(b) > 0 {
			kind := b[0]
			b = b[1:]
			switch kind {
			case 0:
				doc := bson.Raw(b)
				if len(b) < 5 {
					return "?"
				}
				if el, err := doc.IndexErr(0); err == nil {
					return el.Key()
				}
				return "?"
			case 1:
				if len(b) < 4 {
					return "?"
				}
				size := int(binary.LittleEndian.Uint32(b[:4]))
				if size < 4 || size > len(b) {
					return "?"
				}
				b = b[size:]
			default:
				return "?"
			}
		}
		return "?"
	case opQuery:
		return "OP_QUERY"
	}
	return fmt.Sprintf("op%d", op)
}
