package mongolocal_test

import (
	"encoding/binary"
	"io"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/bson/primitive"

	"github.com/changerelay/changerelay/infra/mongolocal"
	"github.com/changerelay/changerelay/infra/mongotest"
)

func skipExternal(t *testing.T) {
	t.Helper()
	if mongotest.External() {
		t.Skip("mongolocal-only test")
	}
}

func opMsg(t *testing.T, reqID int32, body bson.D) []byte {
	t.Helper()
	doc, err := bson.Marshal(body)
	require.NoError(t, err)
	b := binary.LittleEndian.AppendUint32(nil, uint32(16+4+1+len(doc)))
	b = binary.LittleEndian.AppendUint32(b, uint32(reqID))
	b = binary.LittleEndian.AppendUint32(b, 0)
	b = binary.LittleEndian.AppendUint32(b, 2013)
	b = binary.LittleEndian.AppendUint32(b, 0)
	b = append(b, 0)
	return append(b, doc...)
}

func opQuery(t *testing.T, reqID int32, ns string, body bson.D) []byte {
	t.Helper()
	doc, err := bson.Marshal(body)
	require.NoError(t, err)
	payload := binary.LittleEndian.AppendUint32(nil, 0)
	payload = append(append(payload, ns...), 0)
	payload = binary.LittleEndian.AppendUint32(payload, 0)
	payload = binary.LittleEndian.AppendUint32(payload, uint32(0xffffffff))
	payload = append(payload, doc...)
	b := binary.LittleEndian.AppendUint32(nil, uint32(16+len(payload)))
	b = binary.LittleEndian.AppendUint32(b, uint32(reqID))
	b = binary.LittleEndian.AppendUint32(b, 0)
	b = binary.LittleEndian.AppendUint32(b, 2004)
	return append(b, payload...)
}

// readReply reads one reply and returns its opcode and document.
func readReply(t *testing.T, c net.Conn) (int32, bson.Raw) {
	t.Helper()
	require.NoError(t, c.SetReadDeadline(time.Now().Add(10*time.Second)))
	var hdr [16]byte
	_, err := io.ReadFull(c, hdr[:])
	require.NoError(t, err)
	n := binary.LittleEndian.Uint32(hdr[:4])
	op := int32(binary.LittleEndian.Uint32(hdr[12:]))
	rest := make([]byte, n-16)
	_, err = io.ReadFull(c, rest)
	require.NoError(t, err)
	switch op {
	case 2013:
		return op, bson.Raw(rest[5:])
	case 1:
		return op, bson.Raw(rest[20:])
	}
	t.Fatalf("unexpected opcode %d", op)
	return 0, nil
}

func dial(t *testing.T, srv *mongolocal.Server) net.Conn {
	t.Helper()
	c, err := net.DialTimeout("tcp", srv.Addr(), 5*time.Second)
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// closed reports whether the server closed c (reads EOF/reset before the deadline).
func closed(c net.Conn) bool {
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	var b [1]byte
	_, err := c.Read(b[:])
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		return false
	}
	return err != nil
}

func TestLegacyHandshake(t *testing.T) {
	skipExternal(t)
	srv := mongotest.Start(t, mongolocal.Config{})
	c := dial(t, srv)
	_, err := c.Write(opQuery(t, 1, "admin.$cmd", bson.D{{Key: "isMaster", Value: 1}, {Key: "helloOk", Value: true}}))
	require.NoError(t, err)
	op, doc := readReply(t, c)
	assert.EqualValues(t, 1, op, "OP_QUERY is answered with OP_REPLY")
	assert.True(t, doc.Lookup("ismaster").Boolean())
	assert.True(t, doc.Lookup("helloOk").Boolean())
	assert.EqualValues(t, 21, doc.Lookup("maxWireVersion").Int32())
	assert.Equal(t, "rs0", doc.Lookup("setName").StringValue())
	_, hasTV := doc.LookupErr("topologyVersion")
	assert.Error(t, hasTV, "no topologyVersion: drivers poll")

	_, err = c.Write(opQuery(t, 2, "admin.$cmd", bson.D{{Key: "find", Value: "x"}}))
	require.NoError(t, err)
	_, doc = readReply(t, c)
	assert.EqualValues(t, 352, doc.Lookup("code").Int32())

	_, err = c.Write(opMsg(t, 3, bson.D{{Key: "hello", Value: 1}, {Key: "$db", Value: "admin"}}))
	require.NoError(t, err)
	op, doc = readReply(t, c)
	assert.EqualValues(t, 2013, op)
	assert.True(t, doc.Lookup("isWritablePrimary").Boolean())
}

func TestRetryableWriteNotReapplied(t *testing.T) {
	skipExternal(t)
	srv := mongotest.Start(t, mongolocal.Config{})
	c := dial(t, srv)
	lsid := bson.D{{Key: "id", Value: primitive.Binary{Subtype: 4, Data: make([]byte, 16)}}}
	insert := bson.D{
		{Key: "insert", Value: "c"}, {Key: "documents", Value: bson.A{bson.D{{Key: "x", Value: 1}}}},
		{Key: "lsid", Value: lsid}, {Key: "txnNumber", Value: int64(1)}, {Key: "$db", Value: "retry"},
	}
	for i := int32(1); i <= 2; i++ {
		_, err := c.Write(opMsg(t, i, insert))
		require.NoError(t, err)
		_, doc := readReply(t, c)
		assert.EqualValues(t, 1, doc.Lookup("n").Int32())
	}
	_, err := c.Write(opMsg(t, 3, bson.D{{Key: "count", Value: "c"}, {Key: "$db", Value: "retry"}}))
	require.NoError(t, err)
	_, doc := readReply(t, c)
	assert.EqualValues(t, 1, doc.Lookup("n").Int32(), "the retry was not applied again")
}

func TestBadInput(t *testing.T) {
	skipExternal(t)
	srv := mongotest.Start(t, mongolocal.Config{})
	client := mongotest.Connect(t, srv.URI())
	ctx := ctxT(t)

	header := func(length, op int32) []byte {
		b := binary.LittleEndian.AppendUint32(nil, uint32(length))
		b = binary.LittleEndian.AppendUint32(b, 1)
		b = binary.LittleEndian.AppendUint32(b, 0)
		return binary.LittleEndian.AppendUint32(b, uint32(op))
	}
	badBSON := append(header(16+4+1+8, 2013), 0, 0, 0, 0, 0, 8, 0, 0, 0, 0x42, 0x42, 0x42, 0)
	cases := []struct {
		name string
		data []byte
	}{
		{"length below header", header(4, 2013)},
		{"oversized", header(48_000_001, 2013)},
		{"unknown opcode", append(header(20, 9999), 0, 0, 0, 0)},
		{"bad bson", badBSON},
		{"truncated section", append(header(16+4+1+3, 2013), 0, 0, 0, 0, 0, 5, 0, 0)},
		{"no body section", append(header(20, 2013), 0, 0, 0, 0)},
		{"garbage", []byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n")},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := dial(t, srv)
			_, err := c.Write(tc.data)
			require.NoError(t, err)
			assert.True(t, closed(c), "the server closes a connection that sent %s", tc.name)
			require.NoError(t, client.Ping(ctx, nil), "other clients are still served")
		})
	}

	t.Run("missing $db is an error reply", func(t *testing.T) {
		c := dial(t, srv)
		_, err := c.Write(opMsg(t, 1, bson.D{{Key: "ping", Value: 1}}))
		require.NoError(t, err)
		_, doc := readReply(t, c)
		assert.EqualValues(t, 0, doc.Lookup("ok").Double())
	})

	t.Run("truncated then hang up", func(t *testing.T) {
		c := dial(t, srv)
		msg := opMsg(t, 1, bson.D{{Key: "ping", Value: 1}, {Key: "$db", Value: "admin"}})
		_, err := c.Write(msg[:len(msg)-3])
		require.NoError(t, err)
		require.NoError(t, c.Close())
		require.NoError(t, client.Ping(ctx, nil))
	})
}
