package mongolocal

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"go.mongodb.org/mongo-driver/bson"

	"github.com/changerelay/changerelay/infra/mongolocal/mongoerr"
)

// conn is one client connection, served by one goroutine.
type conn struct {
	id      int64
	nc      net.Conn
	s       *Server
	appName string

	closed chan struct{} // closed by a closeConnection fail point
	once   sync.Once
}

func (c *conn) closeNow() {
	_ = c.nc.Close()
}

func (c *conn) serve(ctx context.Context) {
	defer c.closeNow()
	defer func() {
		if r := recover(); r != nil {
			c.s.log.Error("mongolocal: connection panicked", "conn", c.id, "panic", r, "stack", string(debug.Stack()))
		}
	}()
	r := bufio.NewReaderSize(c.nc, 64*1024)
	w := bufio.NewWriterSize(c.nc, 64*1024)
	var out []byte
	for {
		msg, err := ReadMessage(r)
		if err != nil {
			if !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) && ctx.Err() == nil {
				c.s.log.Warn("mongolocal: closing connection", "conn", c.id, "err", err)
			}
			return
		}
		reply, isReply, ok := c.handle(ctx, msg)
		if !ok {
			return
		}
		if reply == nil {
			continue // moreToCome: the client wants no answer
		}
		body, err := bson.Marshal(reply)
		if err != nil {
			c.s.log.Error("mongolocal: encode reply", "conn", c.id, "err", err)
			body, _ = bson.Marshal(c.s.errorReply(mongoerr.New(mongoerr.InternalError, "cannot encode reply: %v", err)))
		}
		if len(body) > maxBSONSize+16*1024 {
			body, _ = bson.Marshal(c.s.errorReply(mongoerr.New(mongoerr.Location10334, "reply of %d bytes exceeds the maximum BSON size", len(body))))
		}
		out = out[:0]
		if isReply {
			out = appendReply(out, int32(c.s.nextID.Add(1)), msg.RequestID, body)
		} else {
			out = appendMsg(out, int32(c.s.nextID.Add(1)), msg.RequestID, 0, body)
		}
		if _, err := w.Write(out); err != nil {
			return
		}
		if err := w.Flush(); err != nil {
			return
		}
	}
}

// handle turns one message into a reply. isReply selects OP_REPLY framing;
// ok=false closes the connection.
func (c *conn) handle(ctx context.Context, msg *Message) (reply bson.D, isReply, ok bool) {
	switch msg.OpCode {
	case opQuery:
		db, isCmd := msg.queryDB()
		if !isCmd {
			return c.s.errorReply(mongoerr.New(mongoerr.UnsupportedOpQueryCommand, "Unsupported OP_QUERY on %q. The client driver may require an upgrade.", msg.Collection)), true, true
		}
		var body bson.D
		if err := bson.Unmarshal(msg.Query, &body); err != nil {
			return nil, false, false
		}
		// legacy wrapping: {$query: {...}, $readPreference: ...}
		if len(body) > 0 && body[0].Key == "$query" {
			if inner, isDoc := body[0].Value.(bson.D); isDoc {
				body = inner
			}
		}
		if len(body) == 0 {
			return c.s.errorReply(mongoerr.New(mongoerr.FailedToParse, "empty command")), true, true
		}
		name := strings.ToLower(body[0].Key)
		if name != "ismaster" && name != "hello" {
			return c.s.errorReply(mongoerr.New(mongoerr.UnsupportedOpQueryCommand, "Unsupported OP_QUERY command: %s. The client driver may require an upgrade.", body[0].Key)), true, true
		}
		cmd := &command{Name: body[0].Key, DB: db, Body: body, conn: c}
		return c.s.run(ctx, cmd), true, !c.isClosed()
	case opMsg:
		cmd, err := c.parseCommand(msg)
		if err != nil {
			return c.s.errorReply(mongoerr.As(err)), false, true
		}
		reply := c.s.run(ctx, cmd)
		if c.isClosed() {
			return nil, false, false
		}
		if msg.Flags&flagMoreToCome != 0 {
			return nil, false, true
		}
		return reply, false, true
	}
	return nil, false, false
}

func (c *conn) isClosed() bool {
	select {
	case <-c.closed:
		return true
	default:
		return false
	}
}

// closeForFailpoint closes the socket and marks the connection closed.
func (c *conn) closeForFailpoint() {
	c.once.Do(func() { close(c.closed) })
	c.closeNow()
}

// parseCommand builds a command from an OP_MSG body and its sequences.
func (c *conn) parseCommand(msg *Message) (*command, error) {
	var body bson.D
	if err := bson.Unmarshal(msg.Body, &body); err != nil {
		return nil, mongoerr.New(mongoerr.InvalidBSON, "invalid BSON in command body: %v", err)
	}
	if len(body) == 0 {
		return nil, mongoerr.New(mongoerr.FailedToParse, "Command document is empty")
	}
	for _, seq := range msg.Sequences {
		arr := make(bson.A, 0, len(seq.Docs))
		for _, raw := range seq.Docs {
			var d bson.D
			if err := bson.Unmarshal(raw, &d); err != nil {
				return nil, mongoerr.New(mongoerr.InvalidBSON, "invalid BSON in document sequence %q: %v", seq.Identifier, err)
			}
			arr = append(arr, d)
		}
		body = append(body, bson.E{Key: seq.Identifier, Value: arr})
	}
	cmd := &command{Name: body[0].Key, Body: body, conn: c}
	db, ok := cmd.get("$db")
	dbName, isStr := db.(string)
	if !ok || !isStr || dbName == "" {
		return nil, mongoerr.New(mongoerr.FailedToParse, "OP_MSG requests require a $db argument")
	}
	if strings.ContainsAny(dbName, "/\\. \"$\x00") {
		return nil, mongoerr.New(mongoerr.InvalidNamespace, "Invalid database name: '%s'", dbName)
	}
	cmd.DB = dbName
	return cmd, nil
}

// sleepCtx waits ms milliseconds or until ctx ends.
func sleepCtx(ctx context.Context, ms int64) error {
	t := time.NewTimer(time.Duration(ms) * time.Millisecond)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
