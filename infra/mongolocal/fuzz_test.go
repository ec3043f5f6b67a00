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

// FuzzQuery feeds arbitrary BSON documents to the query, update, projection
// and aggregation paths of a server holding a few documents.
func FuzzQuery(f *testing.F) {
	seed := func(d bson.D) []byte { b, _ := bson.Marshal(d); return b }
	f.Add(seed(bson.D{{Key: "a", Value: bson.D{{Key: "$gt", Value: 1}}}}), seed(bson.D{{Key: "$set", Value: bson.D{{Key: "b", Value: 1}}}}))
	f.Add(seed(bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: bson.A{1, "x"}}}}}), seed(bson.D{{Key: "$push", Value: bson.D{{Key: "arr", Value: bson.D{{Key: "$each", Value: bson.A{1, 2}}}}}}}))
	f.Add(seed(bson.D{{Key: "t", Value: bson.D{{Key: "$regex", Value: "^a"}, {Key: "$options", Value: "i"}}}}), seed(bson.D{{Key: "x", Value: "$a"}, {Key: "n", Value: bson.D{{Key: "$sum", Value: 1}}}}))
	f.Add(seed(bson.D{{Key: "$or", Value: bson.A{bson.D{{Key: "a", Value: 1}}, bson.D{{Key: "arr", Value: bson.D{{Key: "$elemMatch", Value: bson.D{{Key: "$gt", Value: 0}}}}}}}}}), seed(bson.D{{Key: "$unset", Value: bson.D{{Key: "a", Value: ""}}}}))
	srv := newTestServer(f)
	conn := &conn{s: srv, closed: make(chan struct{}), nc: nopConn{}}
	run := func(t *testing.T, body bson.D) {
		body = append(body, bson.E{Key: "$db", Value: "fuzz"})
		// as from the wire: only BSON's own types
		raw, err := bson.Marshal(body)
		if err != nil {
			return
		}
		body = nil
		if err := bson.Unmarshal(raw, &body); err != nil {
			t.Fatal(err)
		}
		reply := srv.run(t.Context(), &command{Name: body[0].Key, DB: "fuzz", Body: body, conn: conn})
		if msg, _ := lookupD(reply, "errmsg"); strings.HasPrefix(fmt.Sprint(msg), "internal error running") {
			t.Fatalf("%s panicked: %v", body[0].Key, reply)
		}
	}
	docs := bson.A{
		bson.D{{Key: "_id", Value: 1}, {Key: "a", Value: 1}, {Key: "arr", Value: bson.A{1, 2}}, {Key: "t", Value: "abc"}},
		bson.D{{Key: "_id", Value: "x"}, {Key: "a", Value: bson.D{{Key: "b", Value: 2}}}, {Key: "arr", Value: bson.A{bson.D{{Key: "c", Value: 1}}}}},
		bson.D{{Key: "_id", Value: bson.D{{Key: "k", Value: 1}}}, {Key: "a", Value: nil}},
	}
	f.Fuzz(func(t *testing.T, first, second []byte) {
		// the driver's Validate panics on a length field below 5; the wire
		// parser (readDoc) checks it first, and so does this harness
		var a, b bson.D
		if _, _, err := readDoc(first); err != nil || bson.Unmarshal(first, &a) != nil {
			return
		}
		if _, _, err := readDoc(second); err != nil || bson.Unmarshal(second, &b) != nil {
			return
		}
		run(t, bson.D{{Key: "drop", Value: "c"}})
		run(t, bson.D{{Key: "insert", Value: "c"}, {Key: "documents", Value: docs}})
		run(t, bson.D{{Key: "find", Value: "c"}, {Key: "filter", Value: a}, {Key: "projection", Value: b}, {Key: "sort", Value: b}})
		run(t, bson.D{{Key: "count", Value: "c"}, {Key: "query", Value: a}})
		run(t, bson.D{{Key: "distinct", Value: "c"}, {Key: "key", Value: "a"}, {Key: "query", Value: a}})
		run(t, bson.D{{Key: "aggregate", Value: "c"}, {Key: "cursor", Value: bson.D{}}, {Key: "pipeline", Value: bson.A{
			bson.D{{Key: "$match", Value: a}}, bson.D{{Key: "$project", Value: b}},
		}}})
		group := append(bson.D{{Key: "_id", Value: "$a"}}, b...)
		run(t, bson.D{{Key: "aggregate", Value: "c"}, {Key: "cursor", Value: bson.D{}}, {Key: "pipeline", Value: bson.A{
			bson.D{{Key: "$unwind", Value: "$arr"}}, bson.D{{Key: "$group", Value: group}}, bson.D{{Key: "$sort", Value: a}},
		}}})
		run(t, bson.D{{Key: "update", Value: "c"}, {Key: "updates", Value: bson.A{
			bson.D{{Key: "q", Value: a}, {Key: "u", Value: b}, {Key: "multi", Value: true}},
			bson.D{{Key: "q", Value: a}, {Key: "u", Value: b}, {Key: "upsert", Value: true}},
		}}})
		run(t, bson.D{{Key: "findAndModify", Value: "c"}, {Key: "query", Value: a}, {Key: "update", Value: b}, {Key: "new", Value: true}, {Key: "fields", Value: a}})
		run(t, bson.D{{Key: "createIndexes", Value: "c"}, {Key: "indexes", Value: bson.A{bson.D{{Key: "key", Value: b}, {Key: "name", Value: "i"}, {Key: "partialFilterExpression", Value: a}}}}})
		run(t, bson.D{{Key: "delete", Value: "c"}, {Key: "deletes", Value: bson.A{bson.D{{Key: "q", Value: a}, {Key: "limit", Value: 0}}}}})
	})
}
