package changestream

import (
	"errors"
	"fmt"
	"strings"

	"github.com/256dpi/lungo/bsonkit"
	"github.com/256dpi/lungo/mongokit"
	"go.mongodb.org/mongo-driver/bson"

	"github.com/changerelay/changerelay/infra/mongolocal/mongoerr"
)

// stage is one user stage after $changeStream. apply returns the new event,
// or nil when the event is filtered out.
type stage interface {
	apply(doc bsonkit.Doc) (bsonkit.Doc, error)
}

// forbiddenStages are MongoDB stages that exist but may not follow
// $changeStream (mongod answers IllegalOperation for them).
var forbiddenStages = map[string]bool{
	"$group": true, "$sort": true, "$limit": true, "$skip": true, "$lookup": true, "$unwind": true,
	"$count": true, "$facet": true, "$out": true, "$merge": true, "$bucket": true, "$bucketAuto": true,
	"$sortByCount": true, "$sample": true, "$geoNear": true, "$graphLookup": true, "$indexStats": true,
	"$collStats": true, "$currentOp": true, "$listSessions": true, "$listLocalSessions": true,
	"$densify": true, "$fill": true, "$setWindowFields": true, "$unionWith": true, "$documents": true,
	"$search": true, "$searchMeta": true, "$planCacheStats": true, "$listSearchIndexes": true,
}

// parseStages parses the stages after $changeStream.
func parseStages(raws []bson.Raw) (stages []stage, split bool, err error) {
	for i, raw := range raws {
		elems, err := raw.Elements()
		if err != nil || len(elems) != 1 {
			return nil, false, mongoerr.New(codeStageSpecSingleField,
				"A pipeline stage specification object must contain exactly one field.")
		}
		name, arg := elems[0].Key(), elems[0].Value()
		if split {
			return nil, false, mongoerr.New(codeSplitStagePosition,
				"$changeStreamSplitLargeEvent must be the last stage in the pipeline")
		}
		var st stage
		switch name {
		case "$changeStream":
			return nil, false, mongoerr.New(codeChangeStreamNotFirst,
				"$changeStream is only allowed as the first stage in a pipeline")
		case "$changeStreamSplitLargeEvent":
			if d, ok := arg.DocumentOK(); !ok || len(d) != 5 {
				return nil, false, mongoerr.New(codeSplitSpecNotEmpty,
					"$changeStreamSplitLargeEvent spec should be an empty object")
			}
			split = true
			continue
		case "$match":
			st, err = parseMatch(arg)
		case "$project":
			st, err = parseProject(arg)
		case "$addFields", "$set":
			st, err = parseAddFields(name, arg)
		case "$unset":
			st, err = parseUnset(arg)
		case "$replaceRoot":
			st, err = parseReplaceRoot(arg)
		case "$replaceWith":
			st, err = parseReplaceWith(arg)
		case "$redact":
			return nil, false, mongoerr.New(mongoerr.UnrecognizedPipelineStage,
				"Unrecognized pipeline stage name: '%s' (mongolocal does not support it in change streams)", name)
		default:
			if forbiddenStages[name] {
				return nil, false, mongoerr.New(mongoerr.IllegalOperation,
					"%s is not permitted in a $changeStream pipeline", name)
			}
			return nil, false, mongoerr.New(mongoerr.UnrecognizedPipelineStage,
				"Unrecognized pipeline stage name: '%s'", name)
		}
		if err != nil {
			return nil, false, fmt.Errorf("stage %d (%s): %w", i+1, name, err)
		}
		stages = append(stages, st)
	}
	return stages, split, nil
}

// guard runs fn, turning a panic inside lungo (which panics on some BSON
// types, MaxKey for one) into an error.
func guard(fn func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("unsupported value: %v", r)
		}
	}()
	return fn()
}

// applyStage runs one stage, guarded.
func applyStage(st stage, doc bsonkit.Doc) (out bsonkit.Doc, err error) {
	err = guard(func() error {
		var err error
		out, err = st.apply(doc)
		return err
	})
	var me *mongoerr.Error
	if err != nil && !errors.As(err, &me) {
		err = mongoerr.New(mongoerr.BadValue, "%v", err)
	}
	return out, err
}

// toDoc decodes a raw document into lungo's representation.
func toDoc(raw bson.Raw) (bsonkit.Doc, error) {
	var d bson.D
	err := guard(func() error {
		var err error
		d, err = decodeDoc(raw)
		return err
	})
	if err != nil {
		return nil, err
	}
	return &d, nil
}

// matchStage is $match, evaluated by lungo's matcher.
type matchStage struct{ query bsonkit.Doc }

func parseMatch(arg bson.RawValue) (stage, error) {
	raw, ok := arg.DocumentOK()
	if !ok {
		return nil, mongoerr.New(codeMatchSpecType, "the match filter must be an expression in an object")
	}
	q, err := toDoc(raw)
	if err != nil {
		return nil, mongoerr.New(mongoerr.FailedToParse, "$match: %v", err)
	}
	// Run once on an empty document so unknown operators fail the
	// aggregate, as mongod's parser does, instead of the first getMore.
	if err := guard(func() error { _, err := mongokit.Match(&bson.D{}, q); return err }); err != nil {
		return nil, mongoerr.New(mongoerr.BadValue, "$match: %v", err)
	}
	return matchStage{q}, nil
}

func (s matchStage) apply(doc bsonkit.Doc) (bsonkit.Doc, error) {
	ok, err := mongokit.Match(doc, s.query)
	if err != nil {
		return nil, mongoerr.New(mongoerr.BadValue, "$match: %v", err)
	}
	if !ok {
		return nil, nil
	}
	return doc, nil
}

// projectStage is $project, evaluated by lungo's projector.
type projectStage struct{ proj bsonkit.Doc }

func parseProject(arg bson.RawValue) (stage, error) {
	raw, ok := arg.DocumentOK()
	if !ok {
		return nil, mongoerr.New(codeProjectSpecType, "$project specification must be an object")
	}
	if len(raw) == 5 {
		return nil, mongoerr.New(51272, "projection specification must have at least one field")
	}
	p, err := toDoc(raw)
	if err != nil {
		return nil, mongoerr.New(mongoerr.FailedToParse, "$project: %v", err)
	}
	if err := guard(func() error { _, err := mongokit.Project(&bson.D{{Key: "_id", Value: nil}}, p); return err }); err != nil {
		return nil, mongoerr.New(mongoerr.BadValue, "$project: %v", err)
	}
	return projectStage{p}, nil
}

func (s projectStage) apply(doc bsonkit.Doc) (bsonkit.Doc, error) {
	out, err := mongokit.Project(doc, s.proj)
	if err != nil {
		return nil, mongoerr.New(mongoerr.BadValue, "$project: %v", err)
	}
	return out, nil
}

// addFieldsStage is $addFields / $set with literal and field-path values.
type addFieldsStage struct{ fields bson.D }

func parseAddFields(name string, arg bson.RawValue) (stage, error) {
	raw, ok := arg.DocumentOK()
	if !ok {
		return nil, mongoerr.New(40272, "%s specification stage must be an object, got %s", name, typeName(arg.Type))
	}
	d, err := toDoc(raw)
	if err != nil {
		return nil, mongoerr.New(mongoerr.FailedToParse, "%s: %v", name, err)
	}
	for _, e := range *d {
		if err := checkExpr(e.Value); err != nil {
			return nil, err
		}
	}
	return addFieldsStage{*d}, nil
}

func (s addFieldsStage) apply(doc bsonkit.Doc) (bsonkit.Doc, error) {
	for _, e := range s.fields {
		v := evalExpr(e.Value, doc)
		if v == bsonkit.Missing {
			continue
		}
		if _, err := bsonkit.Put(doc, e.Key, v, false); err != nil {
			return nil, mongoerr.New(mongoerr.BadValue, "$addFields: %v", err)
		}
	}
	return doc, nil
}

// unsetStage is $unset.
type unsetStage struct{ paths []string }

func parseUnset(arg bson.RawValue) (stage, error) {
	if s, ok := arg.StringValueOK(); ok {
		return unsetStage{[]string{s}}, nil
	}
	arr, ok := arg.ArrayOK()
	if !ok {
		return nil, mongoerr.New(31002, "$unset specification must be a string or an array")
	}
	vals, err := arr.Values()
	if err != nil {
		return nil, mongoerr.New(mongoerr.FailedToParse, "$unset: %v", err)
	}
	var paths []string
	for _, v := range vals {
		s, ok := v.StringValueOK()
		if !ok {
			return nil, mongoerr.New(31120, "$unset specification must be a string or an array containing only string values")
		}
		paths = append(paths, s)
	}
	if len(paths) == 0 {
		return nil, mongoerr.New(31119, "$unset specification must be a string or an array with at least one field")
	}
	return unsetStage{paths}, nil
}

func (s unsetStage) apply(doc bsonkit.Doc) (bsonkit.Doc, error) {
	for _, p := range s.paths {
		bsonkit.Unset(doc, p)
	}
	return doc, nil
}

// replaceRootStage is $replaceRoot / $replaceWith.
type replaceRootStage struct{ newRoot any }

func parseReplaceRoot(arg bson.RawValue) (stage, error) {
	raw, ok := arg.DocumentOK()
	if !ok {
		return nil, mongoerr.New(40229, "expected an object as specification for $replaceRoot stage, got %s", typeName(arg.Type))
	}
	v, err := raw.LookupErr("newRoot")
	if err != nil {
		return nil, mongoerr.New(codeReplaceRootMissingField, "no newRoot specified for the $replaceRoot stage")
	}
	return parseReplaceWith(v)
}

func parseReplaceWith(arg bson.RawValue) (stage, error) {
	var v any
	if err := arg.Unmarshal(&v); err != nil {
		return nil, mongoerr.New(mongoerr.FailedToParse, "$replaceRoot: %v", err)
	}
	v = normalize(v)
	if err := checkExpr(v); err != nil {
		return nil, err
	}
	return replaceRootStage{v}, nil
}

func (s replaceRootStage) apply(doc bsonkit.Doc) (bsonkit.Doc, error) {
	v := evalExpr(s.newRoot, doc)
	d, ok := v.(bson.D)
	if !ok {
		return nil, mongoerr.New(codeReplaceRootNotObject,
			"'newRoot' expression must evaluate to an object, but resulting value was: %v", v)
	}
	return &d, nil
}

// normalize turns what bson decodes into an interface{} into the types
// lungo works with (bson.D and bson.A).
func normalize(v any) any {
	switch t := v.(type) {
	case bson.D:
		for i := range t {
			t[i].Value = normalize(t[i].Value)
		}
		return t
	case bson.A:
		for i := range t {
			t[i] = normalize(t[i])
		}
		return t
	case bson.M:
		return normalize(bsonkit.MustConvert(t))
	case bsonkit.Doc:
		return normalize(*t)
	}
	return v
}

// checkExpr accepts the expression subset evalExpr implements: literals,
// "$field.path", "$$ROOT"/"$$CURRENT", {$literal: v}, and documents and
// arrays of those.
func checkExpr(v any) error {
	switch t := v.(type) {
	case string:
		if strings.HasPrefix(t, "$$") && t != "$$ROOT" && t != "$$CURRENT" &&
			!strings.HasPrefix(t, "$$ROOT.") && !strings.HasPrefix(t, "$$CURRENT.") {
			return mongoerr.New(17276, "Use of undefined variable: %s", strings.SplitN(t[2:], ".", 2)[0])
		}
	case bson.D:
		if len(t) > 0 && strings.HasPrefix(t[0].Key, "$") {
			if len(t) == 1 && t[0].Key == "$literal" {
				return nil
			}
			return mongoerr.New(mongoerr.InvalidPipelineOperator,
				"Unrecognized expression '%s' (mongolocal supports literals, field paths and $literal in "+
					"change stream stages)", t[0].Key)
		}
		for _, e := range t {
			if err := checkExpr(e.Value); err != nil {
				return err
			}
		}
	case bson.A:
		for _, e := range t {
			if err := checkExpr(e); err != nil {
				return err
			}
		}
	}
	return nil
}

// evalExpr evaluates an expression checkExpr accepted.
func evalExpr(v any, root bsonkit.Doc) any {
	switch t := v.(type) {
	case string:
		switch {
		case t == "$$ROOT" || t == "$$CURRENT":
			return bsonkit.Clone(root)
		case strings.HasPrefix(t, "$$ROOT."):
			return bsonkit.Get(root, t[len("$$ROOT."):])
		case strings.HasPrefix(t, "$$CURRENT."):
			return bsonkit.Get(root, t[len("$$CURRENT."):])
		case strings.HasPrefix(t, "$"):
			return bsonkit.Get(root, t[1:])
		}
		return t
	case bson.D:
		if len(t) == 1 && t[0].Key == "$literal" {
			return t[0].Value
		}
		out := make(bson.D, 0, len(t))
		for _, e := range t {
			if ev := evalExpr(e.Value, root); ev != bsonkit.Missing {
				out = append(out, bson.E{Key: e.Key, Value: ev})
			}
		}
		return out
	case bson.A:
		out := make(bson.A, len(t))
		for i, e := range t {
			ev := evalExpr(e, root)
			if ev == bsonkit.Missing {
				ev = nil
			}
			out[i] = ev
		}
		return out
	}
	return v
}
