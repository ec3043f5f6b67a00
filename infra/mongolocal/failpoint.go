package mongolocal

import (
	"context"
	"strings"
	"sync"

	"go.mongodb.org/mongo-driver/bson"

	"github.com/changerelay/changerelay/infra/mongolocal/mongoerr"
)

// failCommand is the configuration of mongod's failCommand fail point.
type failCommand struct {
	Commands          map[string]bool
	ErrorCode         int
	ErrorLabels       []string // nil: mongod's default labels
	CloseConnection   bool
	BlockConnection   bool
	BlockTimeMS       int64
	AppName           string
	WriteConcernError bson.D
	times             int64 // remaining activations; -1 = always
}

type failpoints struct {
	mu   sync.Mutex
	fail *failCommand
}

// match returns the active fail point for cmd, consuming one activation.
func (f *failpoints) match(cmd *command) *failCommand {
	f.mu.Lock()
	defer f.mu.Unlock()
	fp := f.fail
	if fp == nil || !fp.Commands[cmd.Name] {
		return nil
	}
	if fp.AppName != "" && (cmd.conn == nil || cmd.conn.appName != fp.AppName) {
		return nil
	}
	if fp.times == 0 {
		f.fail = nil
		return nil
	}
	if fp.times > 0 {
		fp.times--
		if fp.times == 0 {
			f.fail = nil
		}
	}
	return fp
}

// cmdConfigureFailPoint implements {configureFailPoint: "failCommand", mode, data}.
func cmdConfigureFailPoint(_ context.Context, s *Server, cmd *command) (bson.D, error) {
	if cmd.DB != "admin" {
		return nil, mongoerr.New(mongoerr.Unauthorized, "configureFailPoint may only be run against the admin database.")
	}
	name, _ := cmd.first().(string)
	if name != "failCommand" {
		return nil, mongoerr.New(mongoerr.FailedToParse, "Cannot find failpoint: %s (mongolocal implements only failCommand)", name)
	}
	mode, ok := cmd.get("mode")
	if !ok {
		return nil, mongoerr.New(mongoerr.IllegalOperation, "Missing mode")
	}
	fp := &failCommand{Commands: map[string]bool{}}
	switch m := mode.(type) {
	case string:
		switch m {
		case "off":
			s.failpoints.mu.Lock()
			s.failpoints.fail = nil
			s.failpoints.mu.Unlock()
			return bson.D{{Key: "count", Value: int32(0)}}, nil
		case "alwaysOn":
			fp.times = -1
		default:
			return nil, mongoerr.New(mongoerr.BadValue, "unknown mode: %s", m)
		}
	case bson.D:
		if v, ok := lookupD(m, "times"); ok {
			n, isNum := toInt64(v)
			if !isNum || n < 0 {
				return nil, mongoerr.New(mongoerr.BadValue, "'times' option to 'mode' must be a non-negative integer")
			}
			fp.times = n
		} else if _, ok := lookupD(m, "activationProbability"); ok {
			return nil, mongoerr.New(mongoerr.NotImplemented, "mode activationProbability is not supported by mongolocal")
		} else if _, ok := lookupD(m, "skip"); ok {
			return nil, mongoerr.New(mongoerr.NotImplemented, "mode skip is not supported by mongolocal")
		} else {
			return nil, mongoerr.New(mongoerr.BadValue, "invalid mode object")
		}
	default:
		return nil, mongoerr.New(mongoerr.TypeMismatch, "'mode' must be a string or an object")
	}
	data, _, err := cmd.doc("data")
	if err != nil {
		return nil, err
	}
	for _, e := range data {
		switch e.Key {
		case "failCommands":
			arr, ok := e.Value.(bson.A)
			if !ok {
				return nil, mongoerr.New(mongoerr.TypeMismatch, "'failCommands' must be an array of strings")
			}
			for _, v := range arr {
				name, ok := v.(string)
				if !ok {
					return nil, mongoerr.New(mongoerr.TypeMismatch, "'failCommands' must be an array of strings")
				}
				fp.Commands[name] = true
			}
		case "errorCode":
			n, ok := toInt64(e.Value)
			if !ok {
				return nil, mongoerr.New(mongoerr.TypeMismatch, "'errorCode' must be a number")
			}
			fp.ErrorCode = int(n)
		case "errorLabels":
			arr, ok := e.Value.(bson.A)
			if !ok {
				return nil, mongoerr.New(mongoerr.TypeMismatch, "'errorLabels' must be an array of strings")
			}
			fp.ErrorLabels = []string{}
			for _, v := range arr {
				label, ok := v.(string)
				if !ok {
					return nil, mongoerr.New(mongoerr.TypeMismatch, "'errorLabels' must be an array of strings")
				}
				fp.ErrorLabels = append(fp.ErrorLabels, label)
			}
		case "closeConnection":
			fp.CloseConnection = truthy(e.Value)
		case "blockConnection":
			fp.BlockConnection = truthy(e.Value)
		case "blockTimeMS":
			n, ok := toInt64(e.Value)
			if !ok || n < 0 {
				return nil, mongoerr.New(mongoerr.BadValue, "'blockTimeMS' must be a non-negative number")
			}
			fp.BlockTimeMS = n
		case "appName":
			fp.AppName, _ = e.Value.(string)
		case "writeConcernError":
			fp.WriteConcernError, _ = e.Value.(bson.D)
		case "failInternalCommands", "threadName", "namespace":
			// accepted, not used
		default:
			if !strings.HasPrefix(e.Key, "$") {
				return nil, mongoerr.New(mongoerr.BadValue, "unsupported failCommand data field %q", e.Key)
			}
		}
	}
	if len(fp.Commands) == 0 {
		return nil, mongoerr.New(mongoerr.BadValue, "'failCommands' must be a non-empty array")
	}
	if fp.BlockConnection && fp.BlockTimeMS == 0 {
		return nil, mongoerr.New(mongoerr.BadValue, "'blockTimeMS' must be set when 'blockConnection' is true")
	}
	s.failpoints.mu.Lock()
	s.failpoints.fail = fp
	s.failpoints.mu.Unlock()
	return bson.D{{Key: "count", Value: int32(0)}}, nil
}
