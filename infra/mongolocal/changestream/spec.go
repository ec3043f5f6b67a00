package changestream

import (
	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/bson/bsontype"
	"go.mongodb.org/mongo-driver/bson/primitive"

	"github.com/changerelay/changerelay/infra/mongolocal/mongoerr"
)

// fullDocument and fullDocumentBeforeChange modes.
const (
	modeDefault       = "default"
	modeUpdateLookup  = "updateLookup"
	modeWhenAvailable = "whenAvailable"
	modeRequired      = "required"
	modeOff           = "off"
)

// spec is a parsed $changeStream request.
type spec struct {
	db, coll     string // scope: coll "" is a database stream, db "" the cluster
	fullDocument string
	beforeChange string
	resume       *token // resumeAfter or startAfter
	startAfter   bool   // resume came from startAfter
	startAt      *primitive.Timestamp
	stages       []stage
	split        bool // $changeStreamSplitLargeEvent is the last stage
	filterOnly   bool // every stage is a $match
}

// internalDBs are the databases change streams may not watch directly.
var internalDBs = map[string]bool{"admin": true, "config": true, "local": true}

// parseRequest validates req as mongod does and returns its spec.
func parseRequest(req Request) (*spec, error) {
	if len(req.Pipeline) == 0 {
		return nil, mongoerr.New(mongoerr.BadValue, "a change stream pipeline must start with $changeStream")
	}
	first := req.Pipeline[0]
	elems, err := first.Elements()
	if err != nil || len(elems) != 1 || elems[0].Key() != "$changeStream" {
		return nil, mongoerr.New(mongoerr.BadValue, "a change stream pipeline must start with $changeStream")
	}
	opts, ok := elems[0].Value().DocumentOK()
	if !ok {
		return nil, mongoerr.New(codeChangeStreamSpecType,
			"$changeStream stage expects a document as argument")
	}
	s := &spec{db: req.DB, coll: req.Coll, fullDocument: modeDefault, beforeChange: modeOff}
	cluster := false
	var resumeAfter, startAfter *token
	optElems, err := opts.Elements()
	if err != nil {
		return nil, mongoerr.New(mongoerr.FailedToParse, "$changeStream: %v", err)
	}
	for _, e := range optElems {
		key, v := e.Key(), e.Value()
		switch key {
		case "fullDocument":
			if s.fullDocument, err = enumOption(key, v, modeDefault, modeUpdateLookup, modeWhenAvailable, modeRequired); err != nil {
				return nil, err
			}
		case "fullDocumentBeforeChange":
			if s.beforeChange, err = enumOption(key, v, modeOff, modeWhenAvailable, modeRequired); err != nil {
				return nil, err
			}
		case "resumeAfter", "startAfter":
			t, err := parseToken(key, v)
			if err != nil {
				return nil, err
			}
			if key == "resumeAfter" {
				resumeAfter = &t
			} else {
				startAfter = &t
			}
		case "startAtOperationTime":
			t, i, ok := v.TimestampOK()
			if !ok {
				return nil, wrongType(key, v.Type, "timestamp")
			}
			s.startAt = &primitive.Timestamp{T: t, I: i}
		case "allChangesForCluster":
			if cluster, err = boolOption(key, v); err != nil {
				return nil, err
			}
		case "showExpandedEvents", "showSystemEvents", "showRawUpdateDescription", "allowToRunOnConfigDB",
			"allowToRunOnSystemNS":
			if _, err := boolOption(key, v); err != nil {
				return nil, err
			}
		default:
			// Internal options mongos adds ("$_generateV2ResumeTokens", ...).
			if len(key) > 2 && key[:2] == "$_" {
				continue
			}
			return nil, mongoerr.New(mongoerr.Location40415, "BSON field '$changeStream.%s' is an unknown field.", key)
		}
	}

	if resumeAfter != nil && startAfter != nil {
		return nil, mongoerr.New(codeResumeAndStartAfter,
			"Do not specify both 'resumeAfter' and 'startAfter' in a $changeStream stage")
	}
	if startAfter != nil {
		s.resume, s.startAfter = startAfter, true
	} else {
		s.resume = resumeAfter
	}
	if s.resume != nil && s.startAt != nil {
		return nil, mongoerr.New(codeResumeOptionsExclusive,
			"Only one type of resume option is allowed, but multiple were found")
	}
	if resumeAfter != nil && resumeAfter.kind == kindInvalidate {
		return nil, mongoerr.New(mongoerr.InvalidResumeToken,
			"Attempting to resume a change stream using 'resumeAfter' is not allowed from an invalidate notification")
	}

	if err := s.checkScope(cluster); err != nil {
		return nil, err
	}
	if s.stages, s.split, err = parseStages(req.Pipeline[1:]); err != nil {
		return nil, err
	}
	s.filterOnly = true
	for _, st := range s.stages {
		if _, ok := st.(matchStage); !ok {
			s.filterOnly = false
		}
	}
	if s.resume != nil && s.resume.fragment > 0 && !s.split {
		return nil, mongoerr.New(mongoerr.ChangeStreamFatalError,
			"Attempted to resume from a split event, but the resumed stream does not contain $changeStreamSplitLargeEvent")
	}
	return s, nil
}

// checkScope applies mongod's namespace rules and sets the stream's scope.
func (s *spec) checkScope(cluster bool) error {
	ns := s.db
	if s.coll != "" {
		ns += "." + s.coll
	} else {
		ns += ".$cmd.aggregate"
	}
	if cluster {
		if s.db != "admin" || s.coll != "" {
			return mongoerr.New(mongoerr.InvalidOptions,
				"A $changeStream with 'allChangesForCluster:true' may only be opened on the 'admin' database, "+
					"and with no collection name; found %s", ns)
		}
		s.db = ""
		return nil
	}
	if internalDBs[s.db] {
		return mongoerr.New(mongoerr.InvalidNamespace,
			"$changeStream may not be opened on the internal %s database", s.db)
	}
	if len(s.coll) >= 7 && s.coll[:7] == "system." {
		return mongoerr.New(mongoerr.InvalidNamespace,
			"$changeStream may not be opened on the internal %s collection", ns)
	}
	return nil
}

func enumOption(key string, v bson.RawValue, allowed ...string) (string, error) {
	str, ok := v.StringValueOK()
	if !ok {
		return "", wrongType(key, v.Type, "string")
	}
	for _, a := range allowed {
		if str == a {
			return str, nil
		}
	}
	return "", mongoerr.New(mongoerr.BadValue,
		"Enumeration value '%s' for field '$changeStream.%s' is not a valid value.", str, key)
}

func boolOption(key string, v bson.RawValue) (bool, error) {
	switch v.Type {
	case bsontype.Boolean:
		return v.Boolean(), nil
	case bsontype.Int32, bsontype.Int64, bsontype.Double:
		n, _ := v.AsInt64OK()
		return n != 0, nil
	}
	return false, wrongType(key, v.Type, "bool")
}

func wrongType(key string, got bsontype.Type, want string) error {
	return mongoerr.New(mongoerr.TypeMismatch,
		"BSON field '$changeStream.%s' is the wrong type '%s', expected type '%s'", key, typeName(got), want)
}
