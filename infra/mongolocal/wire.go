package mongolocal

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"

	"go.mongodb.org/mongo-driver/bson"
)

// Wire opcodes (MongoDB wire protocol).
const (
	opReply      int32 = 1
	opQuery      int32 = 2004
	opGetMore    int32 = 2005
	opKillCursor int32 = 2007
	opCompressed int32 = 2012
	opMsg        int32 = 2013
)

// OP_MSG flag bits.
const (
	flagChecksumPresent uint32 = 1 << 0
	flagMoreToCome      uint32 = 1 << 1
	flagExhaustAllowed  uint32 = 1 << 16
)

const (
	headerLen = 16
	// maxMessageSize is maxMessageSizeBytes as the handshake announces it.
	maxMessageSize = 48_000_000
	// maxBSONSize is maxBsonObjectSize.
	maxBSONSize = 16 * 1024 * 1024
)

// errMessage marks a message the server cannot parse; the connection that
// sent it is closed.
var errMessage = errors.New("malformed message")

// Message is one parsed request.
type Message struct {
	RequestID  int32
	ResponseTo int32
	OpCode     int32

	// OP_MSG
	Flags     uint32
	Body      bson.Raw
	Sequences []Sequence

	// OP_QUERY
	Collection string // full collection name, e.g. "admin.$cmd"
	Query      bson.Raw
}

// Sequence is an OP_MSG kind-1 section.
type Sequence struct {
	Identifier string
	Docs       []bson.Raw
}

// ReadMessage reads one message from r. An io.EOF before the first byte is
// returned unchanged; anything malformed wraps errMessage.
func ReadMessage(r io.Reader) (*Message, error) {
	var hdr [headerLen]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return nil, err
	}
	length := int32(binary.LittleEndian.Uint32(hdr[:4]))
	if length < headerLen || length > maxMessageSize {
		return nil, fmt.Errorf("%w: message length %d outside [%d, %d]", errMessage, length, headerLen, maxMessageSize)
	}
	buf := make([]byte, length)
	copy(buf, hdr[:])
	if _, err := io.ReadFull(r, buf[headerLen:]); err != nil {
		return nil, fmt.Errorf("%w: truncated message: %v", errMessage, err)
	}
	return ParseMessage(buf)
}

// ParseMessage parses one complete wire message (header included).
func ParseMessage(b []byte) (*Message, error) {
	if len(b) < headerLen {
		return nil, fmt.Errorf("%w: short header", errMessage)
	}
	length := int32(binary.LittleEndian.Uint32(b[:4]))
	if int(length) != len(b) || length > maxMessageSize {
		return nil, fmt.Errorf("%w: length field %d does not match %d bytes", errMessage, length, len(b))
	}
	m := &Message{
		RequestID:  int32(binary.LittleEndian.Uint32(b[4:8])),
		ResponseTo: int32(binary.LittleEndian.Uint32(b[8:12])),
		OpCode:     int32(binary.LittleEndian.Uint32(b[12:16])),
	}
	rest := b[headerLen:]
	switch m.OpCode {
	case opMsg:
		return m, parseMsg(m, rest)
	case opQuery:
		return m, parseQuery(m, rest)
	default:
		return nil, fmt.Errorf("%w: unsupported opcode %d", errMessage, m.OpCode)
	}
}

func parseMsg(m *Message, b []byte) error {
	if len(b) < 4 {
		return fmt.Errorf("%w: OP_MSG without flags", errMessage)
	}
	m.Flags = binary.LittleEndian.Uint32(b[:4])
	b = b[4:]
	// Required bits other than the three known ones must be rejected (bits 0-15).
	if m.Flags&0xffff&^(flagChecksumPresent|flagMoreToCome) != 0 {
		return fmt.Errorf("%w: unknown required OP_MSG flag bits %#x", errMessage, m.Flags)
	}
	if m.Flags&flagChecksumPresent != 0 {
		if len(b) < 4 {
			return fmt.Errorf("%w: missing checksum", errMessage)
		}
		b = b[:len(b)-4]
	}
	for len(b) > 0 {
		kind := b[0]
		b = b[1:]
		switch kind {
		case 0:
			doc, rest, err := readDoc(b)
			if err != nil {
				return err
			}
			if m.Body != nil {
				return fmt.Errorf("%w: more than one body section", errMessage)
			}
			m.Body, b = doc, rest
		case 1:
			if len(b) < 4 {
				return fmt.Errorf("%w: short document sequence", errMessage)
			}
			size := int(int32(binary.LittleEndian.Uint32(b[:4])))
			if size < 4 || size > len(b) {
				return fmt.Errorf("%w: document sequence size %d", errMessage, size)
			}
			sec := b[4:size]
			b = b[size:]
			idx := indexByte(sec, 0)
			if idx < 0 {
				return fmt.Errorf("%w: unterminated sequence identifier", errMessage)
			}
			seq := Sequence{Identifier: string(sec[:idx])}
			sec = sec[idx+1:]
			for len(sec) > 0 {
				doc, rest, err := readDoc(sec)
				if err != nil {
					return err
				}
				seq.Docs = append(seq.Docs, doc)
				sec = rest
			}
			m.Sequences = append(m.Sequences, seq)
		default:
			return fmt.Errorf("%w: unknown OP_MSG section kind %d", errMessage, kind)
		}
	}
	if m.Body == nil {
		return fmt.Errorf("%w: OP_MSG without body section", errMessage)
	}
	return nil
}

func parseQuery(m *Message, b []byte) error {
	if len(b) < 4 {
		return fmt.Errorf("%w: OP_QUERY without flags", errMessage)
	}
	b = b[4:]
	idx := indexByte(b, 0)
	if idx < 0 {
		return fmt.Errorf("%w: unterminated collection name", errMessage)
	}
	m.Collection = string(b[:idx])
	b = b[idx+1:]
	if len(b) < 8 {
		return fmt.Errorf("%w: OP_QUERY without skip/return", errMessage)
	}
	b = b[8:]
	doc, rest, err := readDoc(b)
	if err != nil {
		return err
	}
	m.Query = doc
	if len(rest) > 0 { // optional returnFieldsSelector
		if _, _, err := readDoc(rest); err != nil {
			return err
		}
	}
	return nil
}

// readDoc reads one validated BSON document from the front of b.
func readDoc(b []byte) (bson.Raw, []byte, error) {
	if len(b) < 5 {
		return nil, nil, fmt.Errorf("%w: short BSON document", errMessage)
	}
	size := int(int32(binary.LittleEndian.Uint32(b[:4])))
	if size < 5 || size > len(b) {
		return nil, nil, fmt.Errorf("%w: BSON document size %d", errMessage, size)
	}
	doc := bson.Raw(b[:size])
	if err := doc.Validate(); err != nil {
		return nil, nil, fmt.Errorf("%w: invalid BSON: %v", errMessage, err)
	}
	return doc, b[size:], nil
}

func indexByte(b []byte, c byte) int {
	for i, x := range b {
		if x == c {
			return i
		}
	}
	return -1
}

// DB returns the database an OP_QUERY command targets ("admin" for "admin.$cmd").
func (m *Message) queryDB() (string, bool) {
	db, coll, ok := strings.Cut(m.Collection, ".")
	return db, ok && coll == "$cmd" && db != ""
}

// appendMsg encodes an OP_MSG reply with one body section.
func appendMsg(dst []byte, requestID, responseTo int32, flags uint32, body []byte) []byte {
	length := headerLen + 4 + 1 + len(body)
	dst = binary.LittleEndian.AppendUint32(dst, uint32(length))
	dst = binary.LittleEndian.AppendUint32(dst, uint32(requestID))
	dst = binary.LittleEndian.AppendUint32(dst, uint32(responseTo))
	dst = binary.LittleEndian.AppendUint32(dst, uint32(opMsg))
	dst = binary.LittleEndian.AppendUint32(dst, flags)
	dst = append(dst, 0)
	return append(dst, body...)
}

// appendReply encodes a legacy OP_REPLY carrying one document.
func appendReply(dst []byte, requestID, responseTo int32, doc []byte) []byte {
	length := headerLen + 4 + 8 + 4 + 4 + len(doc)
	dst = binary.LittleEndian.AppendUint32(dst, uint32(length))
	dst = binary.LittleEndian.AppendUint32(dst, uint32(requestID))
	dst = binary.LittleEndian.AppendUint32(dst, uint32(responseTo))
	dst = binary.LittleEndian.AppendUint32(dst, uint32(opReply))
	dst = binary.LittleEndian.AppendUint32(dst, 0) // responseFlags
	dst = binary.LittleEndian.AppendUint64(dst, 0) // cursorID
	dst = binary.LittleEndian.AppendUint32(dst, 0) // startingFrom
	dst = binary.LittleEndian.AppendUint32(dst, 1) // numberReturned
	return append(dst, doc...)
}
