package changestream

import (
	"errors"
	"fmt"
	"math"
	"strconv"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/bson/bsontype"
	"go.mongodb.org/mongo-driver/bson/primitive"
	"go.mongodb.org/mongo-driver/x/bsonx/bsoncore"
)

// encodeDoc encodes a document of the types lungo's bsonkit uses without
// the driver's reflection (a large share of Append's cost otherwise); it
// produces the bytes bson.Marshal would, falling back to it for any other
// type.
func encodeDoc(d bson.D) (bson.Raw, error) {
	idx, b := bsoncore.AppendDocumentStart(make([]byte, 0, 64+32*len(d)))
	b, err := appendFields(b, d)
	if err != nil {
		return nil, err
	}
	return bsoncore.AppendDocumentEnd(b, idx)
}

func appendFields(b []byte, d bson.D) ([]byte, error) {
	var err error
	for _, e := range d {
		if b, err = appendElement(b, e.Key, e.Value); err != nil {
			return nil, err
		}
	}
	return b, nil
}

// header appends an element's type and key (bsoncore's AppendHeader
// allocates a concatenated string per call).
func header(b []byte, t bsontype.Type, key string) []byte {
	b = append(b, byte(t))
	b = append(b, key...)
	return append(b, 0)
}

func appendElement(b []byte, key string, v any) ([]byte, error) {
	var err error
	switch t := v.(type) {
	case bson.D:
		b = header(b, bsontype.EmbeddedDocument, key)
		idx, b := bsoncore.AppendDocumentStart(b)
		if b, err = appendFields(b, t); err != nil {
			return nil, err
		}
		return bsoncore.AppendDocumentEnd(b, idx)
	case *bson.D:
		if t == nil {
			return header(b, bsontype.Null, key), nil
		}
		return appendElement(b, key, *t)
	case bson.A:
		b = header(b, bsontype.Array, key)
		idx, b := bsoncore.AppendArrayStart(b)
		var num [20]byte
		for i, x := range t {
			if b, err = appendElement(b, string(strconv.AppendInt(num[:0], int64(i), 10)), x); err != nil {
				return nil, err
			}
		}
		return bsoncore.AppendArrayEnd(b, idx)
	case string:
		return bsoncore.AppendString(header(b, bsontype.String, key), t), nil
	case int32:
		return bsoncore.AppendInt32(header(b, bsontype.Int32, key), t), nil
	case int64:
		return bsoncore.AppendInt64(header(b, bsontype.Int64, key), t), nil
	case int:
		if t >= math.MinInt32 && t <= math.MaxInt32 {
			return bsoncore.AppendInt32(header(b, bsontype.Int32, key), int32(t)), nil
		}
		return bsoncore.AppendInt64(header(b, bsontype.Int64, key), int64(t)), nil
	case float64:
		return bsoncore.AppendDouble(header(b, bsontype.Double, key), t), nil
	case bool:
		return bsoncore.AppendBoolean(header(b, bsontype.Boolean, key), t), nil
	case nil, primitive.Null:
		return header(b, bsontype.Null, key), nil
	case primitive.ObjectID:
		return bsoncore.AppendObjectID(header(b, bsontype.ObjectID, key), t), nil
	case primitive.DateTime:
		return bsoncore.AppendDateTime(header(b, bsontype.DateTime, key), int64(t)), nil
	case primitive.Timestamp:
		return bsoncore.AppendTimestamp(header(b, bsontype.Timestamp, key), t.T, t.I), nil
	case primitive.Decimal128:
		return bsoncore.AppendDecimal128(header(b, bsontype.Decimal128, key), t), nil
	case primitive.Binary:
		return bsoncore.AppendBinary(header(b, bsontype.Binary, key), t.Subtype, t.Data), nil
	case primitive.MinKey:
		return header(b, bsontype.MinKey, key), nil
	case primitive.MaxKey:
		return header(b, bsontype.MaxKey, key), nil
	case primitive.Undefined:
		return header(b, bsontype.Undefined, key), nil
	}
	// Anything else (regular expressions, JavaScript, a Go type the caller
	// put in): let the driver encode the element.
	doc, err := bson.Marshal(bson.D{{Key: key, Value: v}})
	if err != nil {
		return nil, fmt.Errorf("field %q: %w", key, err)
	}
	return append(b, doc[4:len(doc)-1]...), nil
}

// decodeDoc decodes a document into the representation lungo works with
// (bson.D, bson.A and primitive values), as bson.Unmarshal into a bson.D
// does, without reflection.
func decodeDoc(raw []byte) (bson.D, error) {
	if len(raw) < 5 {
		return nil, errors.New("document too short")
	}
	d := make(bson.D, 0, 8)
	rem := raw[4 : len(raw)-1]
	for len(rem) > 0 {
		elem, rest, ok := bsoncore.ReadElement(rem)
		if !ok {
			return nil, errors.New("malformed document")
		}
		rem = rest
		v, err := decodeValue(elem.Value())
		if err != nil {
			return nil, err
		}
		d = append(d, bson.E{Key: elem.Key(), Value: v})
	}
	return d, nil
}

func decodeValue(v bsoncore.Value) (any, error) {
	switch v.Type {
	case bsontype.EmbeddedDocument:
		doc, ok := v.DocumentOK()
		if !ok {
			return nil, errors.New("malformed document")
		}
		return decodeDoc(doc)
	case bsontype.Array:
		arr, ok := v.ArrayOK()
		if !ok {
			return nil, errors.New("malformed array")
		}
		vals, err := arr.Values()
		if err != nil {
			return nil, err
		}
		out := make(bson.A, len(vals))
		for i, x := range vals {
			if out[i], err = decodeValue(x); err != nil {
				return nil, err
			}
		}
		return out, nil
	case bsontype.String:
		return v.StringValue(), nil
	case bsontype.Int32:
		return v.Int32(), nil
	case bsontype.Int64:
		return v.Int64(), nil
	case bsontype.Double:
		return v.Double(), nil
	case bsontype.Boolean:
		return v.Boolean(), nil
	case bsontype.Null:
		return nil, nil
	case bsontype.ObjectID:
		return v.ObjectID(), nil
	case bsontype.DateTime:
		return primitive.DateTime(v.DateTime()), nil
	case bsontype.Timestamp:
		t, i := v.Timestamp()
		return primitive.Timestamp{T: t, I: i}, nil
	case bsontype.Decimal128:
		return v.Decimal128(), nil
	case bsontype.MinKey:
		return primitive.MinKey{}, nil
	case bsontype.MaxKey:
		return primitive.MaxKey{}, nil
	}
	// Rare types: the driver's decoder.
	var out any
	if err := (bson.RawValue{Type: v.Type, Value: v.Data}).Unmarshal(&out); err != nil {
		return nil, err
	}
	return out, nil
}
