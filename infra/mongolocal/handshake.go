package mongolocal

import (
	"context"
	"os"
	"runtime"
	"strings"
	"time"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/bson/primitive"

	"github.com/changerelay/changerelay/infra/mongolocal/mongoerr"
)

// Version is the MongoDB version mongolocal reports.
const (
	Version        = "7.0.0"
	maxWireVersion = 21
)

// cmdHello answers hello and the legacy isMaster as the primary of a
// single-node replica set. topologyVersion is left out, so drivers poll
// instead of using awaitable hello.
func cmdHello(_ context.Context, s *Server, cmd *command) (bson.D, error) {
	if client, ok, _ := cmd.doc("client"); ok && cmd.conn != nil {
		if app, ok := lookupD(client, "application"); ok {
			if d, ok := app.(bson.D); ok {
				if name, ok := lookupD(d, "name"); ok {
					cmd.conn.appName, _ = name.(string)
				}
			}
		}
	}
	me := s.Addr()
	if cmd.conn != nil {
		if la := cmd.conn.nc.LocalAddr(); la != nil {
			me = la.String()
		}
	}
	now := time.Now()
	ts := s.clusterTime()
	opTime := bson.D{{Key: "ts", Value: ts}, {Key: "t", Value: int64(1)}}
	writeDate := primitive.NewDateTimeFromTime(time.Unix(int64(ts.T), 0))
	var out bson.D
	if cmd.has("helloOk") {
		out = append(out, bson.E{Key: "helloOk", Value: true})
	}
	if strings.ToLower(cmd.Name) == "hello" {
		out = append(out, bson.E{Key: "isWritablePrimary", Value: true})
	} else {
		out = append(out, bson.E{Key: "ismaster", Value: true})
	}
	var connID int64
	if cmd.conn != nil {
		connID = cmd.conn.id
	}
	out = append(out,
		bson.E{Key: "hosts", Value: bson.A{me}},
		bson.E{Key: "setName", Value: s.cfg.ReplSetName},
		bson.E{Key: "setVersion", Value: int32(1)},
		bson.E{Key: "secondary", Value: false},
		bson.E{Key: "primary", Value: me},
		bson.E{Key: "me", Value: me},
		bson.E{Key: "electionId", Value: s.electionID},
		bson.E{Key: "lastWrite", Value: bson.D{
			{Key: "opTime", Value: opTime},
			{Key: "lastWriteDate", Value: writeDate},
			{Key: "majorityOpTime", Value: opTime},
			{Key: "majorityWriteDate", Value: writeDate},
		}},
		bson.E{Key: "maxBsonObjectSize", Value: int32(maxBSONSize)},
		bson.E{Key: "maxMessageSizeBytes", Value: int32(maxMessageSize)},
		bson.E{Key: "maxWriteBatchSize", Value: int32(100000)},
		bson.E{Key: "localTime", Value: primitive.NewDateTimeFromTime(now)},
		bson.E{Key: "logicalSessionTimeoutMinutes", Value: int32(30)},
		bson.E{Key: "connectionId", Value: connID},
		bson.E{Key: "minWireVersion", Value: int32(0)},
		bson.E{Key: "maxWireVersion", Value: int32(maxWireVersion)},
		bson.E{Key: "readOnly", Value: false},
	)
	return out, nil
}

func cmdPing(context.Context, *Server, *command) (bson.D, error) { return bson.D{}, nil }

func cmdBuildInfo(context.Context, *Server, *command) (bson.D, error) {
	return bson.D{
		{Key: "version", Value: Version},
		{Key: "gitVersion", Value: "mongolocal"},
		{Key: "versionArray", Value: bson.A{int32(7), int32(0), int32(0), int32(0)}},
		{Key: "bits", Value: int32(64)},
		{Key: "debug", Value: false},
		{Key: "maxBsonObjectSize", Value: int32(maxBSONSize)},
		{Key: "storageEngines", Value: bson.A{"lungo"}},
		{Key: "javascriptEngine", Value: "none"},
		{Key: "modules", Value: bson.A{}},
		{Key: "openssl", Value: bson.D{{Key: "running", Value: "disabled"}}},
		{Key: "buildEnvironment", Value: bson.D{{Key: "target_os", Value: runtime.GOOS}, {Key: "target_arch", Value: runtime.GOARCH}}},
	}, nil
}

// parameters are the server parameters getParameter reports.
func (s *Server) parameters() bson.D {
	return bson.D{
		{Key: "featureCompatibilityVersion", Value: bson.D{{Key: "version", Value: "7.0"}}},
		{Key: "enableTestCommands", Value: true},
		{Key: "transactionLifetimeLimitSeconds", Value: int32(60)},
		{Key: "maxBSONDepth", Value: int32(200)},
		{Key: "authenticationMechanisms", Value: bson.A{}},
		{Key: "changeStreamOptions", Value: bson.D{{Key: "preAndPostImages", Value: bson.D{{Key: "expireAfterSeconds", Value: "off"}}}}},
	}
}

func cmdGetParameter(_ context.Context, s *Server, cmd *command) (bson.D, error) {
	if cmd.DB != "admin" {
		return nil, mongoerr.New(mongoerr.Unauthorized, "getParameter may only be run against the admin database.")
	}
	params := s.parameters()
	all := false
	if v, ok := cmd.first().(string); ok && v == "*" {
		all = true
	}
	if d, ok := cmd.first().(bson.D); ok {
		if v, ok := lookupD(d, "allParameters"); ok && truthy(v) {
			all = true
		}
	}
	if all {
		return params, nil
	}
	var out bson.D
	for _, e := range cmd.Body[1:] {
		if v, ok := lookupD(params, e.Key); ok {
			out = append(out, bson.E{Key: e.Key, Value: v})
		}
	}
	if len(out) == 0 {
		return nil, mongoerr.New(mongoerr.InvalidOptions, "no option found to get")
	}
	return out, nil
}

func cmdSetParameter(_ context.Context, s *Server, cmd *command) (bson.D, error) {
	if cmd.DB != "admin" {
		return nil, mongoerr.New(mongoerr.Unauthorized, "setParameter may only be run against the admin database.")
	}
	params := s.parameters()
	for _, e := range cmd.Body[1:] {
		if strings.HasPrefix(e.Key, "$") || e.Key == "lsid" || e.Key == "comment" {
			continue
		}
		if v, ok := lookupD(params, e.Key); ok {
			return bson.D{{Key: "was", Value: v}}, nil
		}
		return nil, mongoerr.New(mongoerr.InvalidOptions, "attempted to set unrecognized parameter [%s], use help:true to see options", e.Key)
	}
	return nil, mongoerr.New(mongoerr.InvalidOptions, "no option found to set, use help:true to see options")
}

func cmdGetCmdLineOpts(_ context.Context, s *Server, _ *command) (bson.D, error) {
	argv := bson.A{}
	for _, a := range os.Args {
		argv = append(argv, a)
	}
	return bson.D{
		{Key: "argv", Value: argv},
		{Key: "parsed", Value: bson.D{
			{Key: "net", Value: bson.D{{Key: "bindIp", Value: s.Addr()}}},
			{Key: "replication", Value: bson.D{{Key: "replSet", Value: s.cfg.ReplSetName}}},
			{Key: "storage", Value: bson.D{{Key: "dbPath", Value: s.cfg.DBPath}}},
		}},
	}, nil
}

func cmdHostInfo(context.Context, *Server, *command) (bson.D, error) {
	host, _ := os.Hostname()
	return bson.D{
		{Key: "system", Value: bson.D{
			{Key: "currentTime", Value: primitive.NewDateTimeFromTime(time.Now())},
			{Key: "hostname", Value: host},
			{Key: "numCores", Value: int32(runtime.NumCPU())},
		}},
		{Key: "os", Value: bson.D{{Key: "type", Value: runtime.GOOS}}},
	}, nil
}

func cmdServerStatus(_ context.Context, s *Server, _ *command) (bson.D, error) {
	host, _ := os.Hostname()
	s.connMu.Lock()
	current := len(s.conns)
	s.connMu.Unlock()
	return bson.D{
		{Key: "host", Value: host},
		{Key: "version", Value: Version},
		{Key: "process", Value: "mongolocal"},
		{Key: "pid", Value: int64(os.Getpid())},
		{Key: "uptime", Value: time.Since(s.started).Seconds()},
		{Key: "localTime", Value: primitive.NewDateTimeFromTime(time.Now())},
		{Key: "connections", Value: bson.D{{Key: "current", Value: int32(current)}}},
	}, nil
}

func cmdReplSetGetStatus(_ context.Context, s *Server, _ *command) (bson.D, error) {
	ts := s.clusterTime()
	opTime := bson.D{{Key: "ts", Value: ts}, {Key: "t", Value: int64(1)}}
	return bson.D{
		{Key: "set", Value: s.cfg.ReplSetName},
		{Key: "date", Value: primitive.NewDateTimeFromTime(time.Now())},
		{Key: "myState", Value: int32(1)},
		{Key: "term", Value: int64(1)},
		{Key: "optimes", Value: bson.D{{Key: "lastCommittedOpTime", Value: opTime}, {Key: "appliedOpTime", Value: opTime}, {Key: "durableOpTime", Value: opTime}}},
		{Key: "members", Value: bson.A{bson.D{
			{Key: "_id", Value: int32(0)},
			{Key: "name", Value: s.Addr()},
			{Key: "health", Value: 1.0},
			{Key: "state", Value: int32(1)},
			{Key: "stateStr", Value: "PRIMARY"},
			{Key: "optime", Value: opTime},
			{Key: "self", Value: true},
		}}},
	}, nil
}

func cmdConnectionStatus(context.Context, *Server, *command) (bson.D, error) {
	return bson.D{{Key: "authInfo", Value: bson.D{
		{Key: "authenticatedUsers", Value: bson.A{}},
		{Key: "authenticatedUserRoles", Value: bson.A{}},
	}}}, nil
}

func cmdWhatsMyURI(_ context.Context, _ *Server, cmd *command) (bson.D, error) {
	you := ""
	if cmd.conn != nil {
		you = cmd.conn.nc.RemoteAddr().String()
	}
	return bson.D{{Key: "you", Value: you}}, nil
}
