package mongolocal

import (
	"context"
	"fmt"
	"math"
	"runtime/debug"
	"strings"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/bson/primitive"

	"github.com/changerelay/changerelay/infra/mongolocal/mongoerr"
)

// command is one parsed request: the body of an OP_MSG (document sequences
// merged in as arrays) or the query of a legacy OP_QUERY.
type command struct {
	Name string // as sent (first key)
	DB   string
	Body bson.D
	conn *conn
}

// handler runs a command and returns the reply fields before ok, $clusterTime
// and operationTime are added.
type handler func(ctx context.Context, s *Server, cmd *command) (bson.D, error)

// commands maps command names (lower case) to handlers.
var commands map[string]handler

func init() {
	commands = map[string]handler{
		"hello":                   cmdHello,
		"ismaster":                cmdHello,
		"ping":                    cmdPing,
		"buildinfo":               cmdBuildInfo,
		"endsessions":             cmdPing,
		"killallsessions":         cmdPing,
		"refreshsessions":         cmdPing,
		"getlasterror":            cmdPing,
		"getparameter":            cmdGetParameter,
		"setparameter":            cmdSetParameter,
		"getcmdlineopts":          cmdGetCmdLineOpts,
		"hostinfo":                cmdHostInfo,
		"serverstatus":            cmdServerStatus,
		"replsetgetstatus":        cmdReplSetGetStatus,
		"connectionstatus":        cmdConnectionStatus,
		"whatsmyuri":              cmdWhatsMyURI,
		"getfreemonitoringstatus": cmdPing,
		"configurefailpoint":      cmdConfigureFailPoint,
		"insert":                  cmdInsert,
		"update":                  cmdUpdate,
		"delete":                  cmdDelete,
		"find":                    cmdFind,
		"getmore":                 cmdGetMore,
		"killcursors":             cmdKillCursors,
		"findandmodify":           cmdFindAndModify,
		"count":                   cmdCount,
		"distinct":                cmdDistinct,
		"aggregate":               cmdAggregate,
		"listdatabases":           cmdListDatabases,
		"listcollections":         cmdListCollections,
		"create":                  cmdCreate,
		"drop":                    cmdDrop,
		"dropdatabase":            cmdDropDatabase,
		"renamecollection":        cmdRenameCollection,
		"collmod":                 cmdCollMod,
		"createindexes":           cmdCreateIndexes,
		"listindexes":             cmdListIndexes,
		"dropindexes":             cmdDropIndexes,
		"deleteindexes":           cmdDropIndexes,
		"dbstats":                 cmdDBStats,
		"collstats":               cmdCollStats,
		"committransaction":       cmdNoTransaction,
		"aborttransaction":        cmdNoTransaction,
	}
}

// canonicalNames spells each command as MongoDB does; a command must be
// sent with that spelling (isMaster and findAndModify are accepted in any case).
var canonicalNames = map[string]string{
	"hello": "hello", "ismaster": "isMaster", "ping": "ping", "buildinfo": "buildInfo",
	"endsessions": "endSessions", "killallsessions": "killAllSessions", "refreshsessions": "refreshSessions",
	"getlasterror": "getLastError", "getparameter": "getParameter", "setparameter": "setParameter",
	"getcmdlineopts": "getCmdLineOpts", "hostinfo": "hostInfo", "serverstatus": "serverStatus",
	"replsetgetstatus": "replSetGetStatus", "connectionstatus": "connectionStatus", "whatsmyuri": "whatsmyuri",
	"getfreemonitoringstatus": "getFreeMonitoringStatus",
	"configurefailpoint":      "configureFailPoint", "insert": "insert", "update": "update", "delete": "delete",
	"find": "find", "getmore": "getMore", "killcursors": "killCursors", "findandmodify": "findAndModify",
	"count": "count", "distinct": "distinct", "aggregate": "aggregate", "listdatabases": "listDatabases",
	"listcollections": "listCollections", "create": "create", "drop": "drop", "dropdatabase": "dropDatabase",
	"renamecollection": "renameCollection", "collmod": "collMod", "createindexes": "createIndexes",
	"listindexes": "listIndexes", "dropindexes": "dropIndexes", "deleteindexes": "deleteIndexes",
	"dbstats": "dbStats", "collstats": "collStats", "committransaction": "commitTransaction",
	"aborttransaction": "abortTransaction",
}

// lookup finds the handler for a command name. MongoDB accepts isMaster in
// any case and findAndModify also as findandmodify; other names are exact.
func lookup(name string) (handler, bool) {
	lower := strings.ToLower(name)
	h, ok := commands[lower]
	if !ok {
		return nil, false
	}
	if lower == "ismaster" || lower == "findandmodify" || canonicalNames[lower] == name {
		return h, true
	}
	return nil, false
}

// run executes a command and returns the complete reply document.
func (s *Server) run(ctx context.Context, cmd *command) (reply bson.D) {
	defer func() {
		if r := recover(); r != nil {
			s.log.Error("mongolocal: command panicked", "command", cmd.Name, "panic", r, "stack", string(debug.Stack()))
			reply = s.errorReply(mongoerr.New(mongoerr.InternalError, "internal error running %s: %v", cmd.Name, r))
		}
	}()
	h, ok := lookup(cmd.Name)
	if !ok {
		return s.errorReply(mongoerr.New(mongoerr.CommandNotFound, "no such command: '%s'", cmd.Name))
	}
	if err := checkTransaction(cmd); err != nil {
		return s.errorReply(mongoerr.As(err))
	}

	// fail points come before the command runs, as in mongod
	fp := s.failpoints.match(cmd)
	var wcErr bson.D
	if fp != nil {
		if fp.BlockConnection && fp.BlockTimeMS > 0 {
			if err := sleepCtx(ctx, fp.BlockTimeMS); err != nil {
				return s.errorReply(mongoerr.New(mongoerr.Interrupted, "operation interrupted"))
			}
		}
		if fp.CloseConnection {
			cmd.conn.closeForFailpoint()
			return nil
		}
		if fp.ErrorCode != 0 {
			e := &mongoerr.Error{Code: fp.ErrorCode, Msg: fmt.Sprintf("Failing command via 'failCommand' failpoint")}
			if fp.ErrorLabels != nil {
				e.Labels = fp.ErrorLabels
			} else {
				e.Labels = s.defaultLabels(cmd, fp.ErrorCode)
			}
			return s.errorReply(e)
		}
		wcErr = fp.WriteConcernError
	}

	// retryable writes: a retry of (lsid, txnNumber) gets the first answer
	key, retryable := retryKey(cmd)
	if retryable {
		if cached, ok := s.retries.get(key); ok {
			return s.okReply(cached)
		}
	}
	body, err := h(ctx, s, cmd)
	if err != nil {
		e := mongoerr.As(err)
		if e.Labels == nil {
			e = e.WithLabels(s.defaultLabels(cmd, e.Code)...)
		}
		return s.errorReply(e)
	}
	if retryable {
		s.retries.put(key, body)
	}
	if wcErr != nil {
		body = append(body, bson.E{Key: "writeConcernError", Value: wcErr})
	}
	return s.okReply(body)
}

// retryableWriteCodes are the codes mongod labels RetryableWriteError.
var retryableWriteCodes = map[int]bool{
	6: true, 7: true, 89: true, 91: true, 189: true, 262: true, 9001: true, 10107: true,
	11600: true, 11602: true, 13435: true, 13436: true, 63: true, 150: true, 134: true,
}

// resumableCodes are the change-stream codes labelled ResumableChangeStreamError.
var resumableCodes = map[int]bool{
	6: true, 7: true, 43: true, 63: true, 89: true, 91: true, 133: true, 150: true, 189: true,
	234: true, 262: true, 9001: true, 10107: true, 11600: true, 11602: true, 13388: true,
	13435: true, 13436: true,
}

// defaultLabels returns the labels mongod attaches to an error for a command.
func (s *Server) defaultLabels(cmd *command, code int) []string {
	var labels []string
	switch strings.ToLower(cmd.Name) {
	case "insert", "update", "delete", "findandmodify":
		if cmd.has("txnNumber") && retryableWriteCodes[code] {
			labels = append(labels, "RetryableWriteError")
		}
	case "getmore":
		if resumableCodes[code] {
			if id, ok := cmd.int64("getMore"); ok && s.cursors.isChangeStream(id) {
				labels = append(labels, "ResumableChangeStreamError")
			}
		}
	}
	return labels
}

func (s *Server) okReply(body bson.D) bson.D {
	out := make(bson.D, 0, len(body)+3)
	out = append(out, body...)
	out = append(out, bson.E{Key: "ok", Value: 1.0})
	return s.withClusterTime(out)
}

func (s *Server) errorReply(e *mongoerr.Error) bson.D {
	out := bson.D{
		{Key: "ok", Value: 0.0},
		{Key: "errmsg", Value: e.Msg},
		{Key: "code", Value: int32(e.Code)},
		{Key: "codeName", Value: e.CodeName()},
	}
	if len(e.Labels) > 0 {
		out = append(out, bson.E{Key: "errorLabels", Value: e.Labels})
	}
	return s.withClusterTime(out)
}

func (s *Server) withClusterTime(d bson.D) bson.D {
	ts := s.clusterTime()
	return append(d,
		bson.E{Key: "$clusterTime", Value: bson.D{
			{Key: "clusterTime", Value: ts},
			{Key: "signature", Value: bson.D{
				{Key: "hash", Value: primitive.Binary{Subtype: 0, Data: make([]byte, 20)}},
				{Key: "keyId", Value: int64(0)},
			}},
		}},
		bson.E{Key: "operationTime", Value: ts},
	)
}

// checkTransaction refuses multi-document transactions, which mongolocal
// does not implement.
func checkTransaction(cmd *command) error {
	if cmd.has("startTransaction") || cmd.has("autocommit") {
		return mongoerr.New(mongoerr.NotImplemented, "multi-document transactions are not supported by mongolocal")
	}
	return nil
}

func cmdNoTransaction(context.Context, *Server, *command) (bson.D, error) {
	return nil, mongoerr.New(mongoerr.NoSuchTransaction, "Transaction was aborted (mongolocal does not support multi-document transactions)")
}

// --- field accessors ---------------------------------------------------------

func (c *command) get(key string) (any, bool) {
	for _, e := range c.Body {
		if e.Key == key {
			return e.Value, true
		}
	}
	return nil, false
}

func (c *command) has(key string) bool {
	_, ok := c.get(key)
	return ok
}

// first returns the value of the command's first field (the collection name
// for most commands).
func (c *command) first() any {
	if len(c.Body) == 0 {
		return nil
	}
	return c.Body[0].Value
}

// collection returns the collection named by the command's first field.
func (c *command) collection() (string, error) {
	name, ok := c.first().(string)
	if !ok {
		return "", mongoerr.New(mongoerr.InvalidNamespace, "collection name has invalid type %s", typeName(c.first()))
	}
	if name == "" {
		return "", mongoerr.New(mongoerr.InvalidNamespace, "Invalid namespace specified '%s.'", c.DB)
	}
	if strings.ContainsRune(name, 0) || strings.HasPrefix(name, ".") || strings.HasSuffix(name, ".") {
		return "", mongoerr.New(mongoerr.InvalidNamespace, "Invalid namespace specified '%s.%s'", c.DB, name)
	}
	return name, nil
}

func (c *command) string(key string) (string, bool, error) {
	v, ok := c.get(key)
	if !ok || v == nil {
		return "", false, nil
	}
	str, isStr := v.(string)
	if !isStr {
		return "", true, mongoerr.New(mongoerr.TypeMismatch, "BSON field '%s.%s' is the wrong type '%s', expected type 'string'", c.Name, key, typeName(v))
	}
	return str, true, nil
}

func (c *command) doc(key string) (bson.D, bool, error) {
	v, ok := c.get(key)
	if !ok || v == nil {
		return nil, false, nil
	}
	d, isDoc := v.(bson.D)
	if !isDoc {
		return nil, true, mongoerr.New(mongoerr.TypeMismatch, "BSON field '%s.%s' is the wrong type '%s', expected type 'object'", c.Name, key, typeName(v))
	}
	return d, true, nil
}

func (c *command) array(key string) (bson.A, bool, error) {
	v, ok := c.get(key)
	if !ok || v == nil {
		return nil, false, nil
	}
	a, isArr := v.(bson.A)
	if !isArr {
		return nil, true, mongoerr.New(mongoerr.TypeMismatch, "BSON field '%s.%s' is the wrong type '%s', expected type 'array'", c.Name, key, typeName(v))
	}
	return a, true, nil
}

func (c *command) int64(key string) (int64, bool) {
	v, ok := c.get(key)
	if !ok {
		return 0, false
	}
	return toInt64(v)
}

// intField reads an optional integral numeric field.
func (c *command) intField(key string) (int64, bool, error) {
	v, ok := c.get(key)
	if !ok || v == nil {
		return 0, false, nil
	}
	n, isNum := toInt64(v)
	if !isNum {
		return 0, true, mongoerr.New(mongoerr.TypeMismatch, "BSON field '%s.%s' is the wrong type '%s', expected types '[long, int, decimal, double]'", c.Name, key, typeName(v))
	}
	return n, true, nil
}

func (c *command) boolField(key string, def bool) bool {
	v, ok := c.get(key)
	if !ok {
		return def
	}
	return truthy(v)
}

func toInt64(v any) (int64, bool) {
	switch n := v.(type) {
	case int32:
		return int64(n), true
	case int64:
		return n, true
	case float64:
		if math.IsNaN(n) || math.IsInf(n, 0) || n != math.Trunc(n) {
			return 0, false
		}
		return int64(n), true
	case primitive.Decimal128:
		i, _, err := n.BigInt()
		if err != nil || !i.IsInt64() {
			return 0, false
		}
		return i.Int64(), true
	}
	return 0, false
}

func truthy(v any) bool {
	switch b := v.(type) {
	case bool:
		return b
	case nil, primitive.Null, primitive.Undefined:
		return false
	case int32:
		return b != 0
	case int64:
		return b != 0
	case float64:
		return b != 0
	}
	return true
}

func typeName(v any) string {
	switch v.(type) {
	case nil, primitive.Null:
		return "null"
	case string:
		return "string"
	case int32:
		return "int"
	case int64:
		return "long"
	case float64:
		return "double"
	case bool:
		return "bool"
	case bson.D, bson.M:
		return "object"
	case bson.A:
		return "array"
	case primitive.ObjectID:
		return "objectId"
	case primitive.DateTime:
		return "date"
	case primitive.Timestamp:
		return "timestamp"
	case primitive.Binary:
		return "binData"
	case primitive.Decimal128:
		return "decimal"
	case primitive.Regex:
		return "regex"
	}
	return fmt.Sprintf("%T", v)
}

func lookupD(d bson.D, key string) (any, bool) {
	for _, e := range d {
		if e.Key == key {
			return e.Value, true
		}
	}
	return nil, false
}
