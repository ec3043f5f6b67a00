package mongolocal

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"strings"
	"testing"

	"go.mongodb.org/mongo-driver/bson"
)

func seedMsg(body bson.D) []byte {
	doc, _ := bson.Marshal(body)
	b := binary.LittleEndian.AppendUint32(nil, uint32(16+4+1+len(doc)))
	b = binary.LittleEndian.AppendUint32(b, 1)
	b = binary.LittleEndian.AppendUint32(b, 0)
	b = binary.LittleEndian.AppendUint32(b, uint32(opMsg))
	b = binary.LittleEndian.AppendUint32(b, 0)
	b = append(b, 0)
	return append(b, doc...)
}

// FuzzParseMessage checks that no input makes the message parser panic, and
// that whatever it accepts has well-formed documents.
func FuzzParseMessage(f *testing.F) {
	f.Add(seedMsg(bson.D{{Key: "ping", Value: 1}, {Key: "$db", Value: "admin"}}))
	f.Add(seedMsg(bson.D{{Key: "insert", Value: "c"}, {Key: "documents", Value: bson.A{bson.D{{Key: "a", Value: 1}}}}, {Key: "$db", Value: "t"}}))
	f.Add([]byte{})
	f.Add(make([]byte, 16))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := ParseMessage(data)
		if err == nil {
			if m.Body != nil {
				if err := m.Body.Validate(); err != nil {
					t.Fatalf("accepted invalid body: %v", err)
				}
			}
		}
		// the streaming reader must agree with the parser
		m2, err2 := ReadMessage(bytes.NewReader(data))
		if err == nil && err2 != nil {
			t.Fatalf("ParseMessage accepted what ReadMessage refused: %v", err2)
		}
		_ = m2
	})
}

// FuzzCommand runs arbitrary command documents through the dispatcher: no
// input may panic the server (the dispatcher recovers, but should not need to).
func FuzzCommand(f *testing.F) {
	f.Add([]byte(seedMsg(bson.D{{Key: "find", Value: "c"}, {Key: "filter", Value: bson.D{{Key: "a", Value: 1}}}, {Key: "$db", Value: "t"}})))
	f.Add([]byte(seedMsg(bson.D{{Key: "update", Value: "c"}, {Key: "updates", Value: bson.A{bson.D{{Key: "q", Value: bson.D{}}, {Key: "u", Value: bson.D{{Key: "$set", Value: bson.D{{Key: "a", Value: 1}}}}}}}}, {Key: "$db", Value: "t"}})))
	f.Add([]byte(seedMsg(bson.D{{Key: "aggregate", Value: "c"}, {Key: "pipeline", Value: bson.A{bson.D{{Key: "$group", Value: bson.D{{Key: "_id", Value: "$a"}}}}}}, {Key: "cursor", Value: bson.D{}}, {Key: "$db", Value: "t"}})))
	srv := newTestServer(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := ParseMessage(data)
		if err != nil || m.OpCode != opMsg {
			return
		}
		c := &conn{s: srv, closed: make(chan struct{}), nc: nopConn{}}
		cmd, err := c.parseCommand(m)
		if err != nil || strings.EqualFold(cmd.Name, "configureFailPoint") {
			return // a fail point could block the fuzzer on purpose
		}
		reply := srv.run(t.Context(), cmd)
		if msg, _ := lookupD(reply, "errmsg"); strings.HasPrefix(fmt.Sprint(msg), "internal error running") {
			t.Fatalf("command panicked: %v", reply)
		}
	})
}
