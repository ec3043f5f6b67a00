package change

import (
	"encoding/binary"
	"encoding/hex"
	"time"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/bson/primitive"
)

// TokenTime returns the cluster time encoded at the start of a resume
// token's _data (KeyString: type byte 130, then the timestamp as 8
// big-endian bytes), the form MongoDB and mongolocal use.
func TokenTime(token bson.Raw) (primitive.Timestamp, bool) {
	data, ok := token.Lookup("_data").StringValueOK()
	if !ok || len(data) < 18 {
		return primitive.Timestamp{}, false
	}
	b, err := hex.DecodeString(data[:18])
	if err != nil || b[0] != 130 {
		return primitive.Timestamp{}, false
	}
	v := binary.BigEndian.Uint64(b[1:9])
	return primitive.Timestamp{T: uint32(v >> 32), I: uint32(v)}, true
}

// Time converts a cluster time to wall-clock time (second precision).
func Time(ts primitive.Timestamp) time.Time {
	if ts.T == 0 {
		return time.Time{}
	}
	return time.Unix(int64(ts.T), 0)
}
