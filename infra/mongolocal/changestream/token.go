package changestream

import (
	"encoding/binary"
	"encoding/hex"
	"strings"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/bson/bsontype"
	"go.mongodb.org/mongo-driver/bson/primitive"
	"go.mongodb.org/mongo-driver/x/bsonx/bsoncore"

	"github.com/changerelay/changerelay/infra/mongolocal/mongoerr"
)

// tokenKind orders tokens that share a cluster time and a position.
type tokenKind byte

const (
	// kindHighWater is a postBatchResumeToken that means "everything before
	// position seq": it resumes at seq.
	kindHighWater tokenKind = 0
	// kindEvent is the token of the event of the record at seq.
	kindEvent tokenKind = 1
	// kindInvalidate is the token of the invalidate that follows the event
	// of the record at seq.
	kindInvalidate tokenKind = 2
)

// tokenVersion is the first byte of every token; 0x82 is also the first byte
// of MongoDB's own tokens (a KeyString timestamp), so ours look alike.
const tokenVersion = 0x82

// tokenLen is the number of bytes a token's _data encodes.
const tokenLen = 1 + 8 + 8 + 1 + 2

// token is a decoded resume token. Tokens sort as the log does: by cluster
// time, then position, then kind, then fragment, and the encoding is
// big-endian in that order, so their hex strings sort the same way.
type token struct {
	ts       primitive.Timestamp
	seq      uint64
	kind     tokenKind
	fragment uint16 // 1-based fragment number of a split event, 0 when not split
}

// data returns the token's _data string (upper-case hex, like MongoDB's).
func (t token) data() string {
	var b [tokenLen]byte
	b[0] = tokenVersion
	binary.BigEndian.PutUint32(b[1:], t.ts.T)
	binary.BigEndian.PutUint32(b[5:], t.ts.I)
	binary.BigEndian.PutUint64(b[9:], t.seq)
	b[17] = byte(t.kind)
	binary.BigEndian.PutUint16(b[18:], t.fragment)
	return strings.ToUpper(hex.EncodeToString(b[:]))
}

// raw returns the token as the document clients see: {_data: "<hex>"}.
func (t token) raw() bson.Raw {
	return bsoncore.BuildDocument(nil, bsoncore.AppendStringElement(nil, "_data", t.data()))
}

// less orders tokens.
func (t token) less(o token) bool {
	return t.data() < o.data()
}

// parseToken decodes a resume token given as an option value.
func parseToken(field string, v bson.RawValue) (token, error) {
	doc, ok := v.DocumentOK()
	if !ok {
		return token{}, mongoerr.New(mongoerr.TypeMismatch,
			"BSON field '$changeStream.%s' is the wrong type '%s', expected type 'object'", field, typeName(v.Type))
	}
	dv, err := doc.LookupErr("_data")
	if err != nil {
		return token{}, mongoerr.New(codeTokenMissingData,
			"The change stream resume token has a missing or wrong-typed _data field")
	}
	s, ok := dv.StringValueOK()
	if !ok {
		return token{}, mongoerr.New(codeTokenMissingData,
			"The change stream resume token has a missing or wrong-typed _data field")
	}
	return decodeTokenData(s)
}

// decodeTokenData decodes a token's _data string.
func decodeTokenData(s string) (token, error) {
	b, err := hex.DecodeString(s)
	if err != nil {
		return token{}, mongoerr.New(mongoerr.FailedToParse, "resume token string was not a valid hex string")
	}
	if len(b) != tokenLen || b[0] != tokenVersion || b[17] > byte(kindInvalidate) {
		return token{}, mongoerr.New(mongoerr.InvalidResumeToken,
			"resume token %q was not issued by this server", s)
	}
	return token{
		ts:       primitive.Timestamp{T: binary.BigEndian.Uint32(b[1:]), I: binary.BigEndian.Uint32(b[5:])},
		seq:      binary.BigEndian.Uint64(b[9:]),
		kind:     tokenKind(b[17]),
		fragment: binary.BigEndian.Uint16(b[18:]),
	}, nil
}

// typeName is MongoDB's name for a BSON type, for error messages.
func typeName(t bsontype.Type) string {
	switch t {
	case bsontype.Double:
		return "double"
	case bsontype.String:
		return "string"
	case bsontype.EmbeddedDocument:
		return "object"
	case bsontype.Array:
		return "array"
	case bsontype.Binary:
		return "binData"
	case bsontype.ObjectID:
		return "objectId"
	case bsontype.Boolean:
		return "bool"
	case bsontype.DateTime:
		return "date"
	case bsontype.Null:
		return "null"
	case bsontype.Int32:
		return "int"
	case bsontype.Timestamp:
		return "timestamp"
	case bsontype.Int64:
		return "long"
	case bsontype.Decimal128:
		return "decimal"
	default:
		return t.String()
	}
}
