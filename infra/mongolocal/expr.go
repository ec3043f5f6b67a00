package mongolocal

import (
	"strings"

	"github.com/256dpi/lungo/bsonkit"
	"github.com/256dpi/lungo/mongokit"
	"go.mongodb.org/mongo-driver/bson"

	"github.com/changerelay/changerelay/infra/mongolocal/mongoerr"
)

// evalExpr evaluates the aggregation expression subset mongolocal supports:
// field paths ("$a.b", "$$ROOT", "$$CURRENT"), {$literal: v}, documents and
// arrays of expressions, and constants. Missing fields yield bsonkit.Missing.
func evalExpr(doc bsonkit.Doc, v any) (any, error) {
	switch x := v.(type) {
	case string:
		switch {
		case x == "$$ROOT" || x == "$$CURRENT":
			return *doc, nil
		case strings.HasPrefix(x, "$$ROOT.") || strings.HasPrefix(x, "$$CURRENT."):
			_, path, _ := strings.Cut(x, ".")
			return bsonkit.Get(doc, path), nil
		case strings.HasPrefix(x, "$$"):
			return nil, mongoerr.New(17276, "Use of undefined variable: %s", strings.TrimPrefix(x, "$$"))
		case strings.HasPrefix(x, "$"):
			if len(x) == 1 {
				return nil, mongoerr.New(16872, "'$' by itself is not a valid FieldPath")
			}
			return bsonkit.Get(doc, x[1:]), nil
		}
		return x, nil
	case bson.D:
		if len(x) > 0 && strings.HasPrefix(x[0].Key, "$") {
			if len(x) != 1 {
				return nil, mongoerr.New(15983, "an expression specification must contain exactly one field, the name of the expression. Found %d fields", len(x))
			}
			switch x[0].Key {
			case "$literal":
				return x[0].Value, nil
			}
			return nil, mongoerr.New(mongoerr.InvalidPipelineOperator, "Unrecognized expression '%s'", x[0].Key)
		}
		out := make(bson.D, 0, len(x))
		for _, e := range x {
			val, err := evalExpr(doc, e.Value)
			if err != nil {
				return nil, err
			}
			if val == bsonkit.Missing {
				continue
			}
			out = append(out, bson.E{Key: e.Key, Value: val})
		}
		return out, nil
	case bson.A:
		out := make(bson.A, 0, len(x))
		for _, item := range x {
			val, err := evalExpr(doc, item)
			if err != nil {
				return nil, err
			}
			if val == bsonkit.Missing {
				val = nil
			}
			out = append(out, val)
		}
		return out, nil
	}
	return v, nil
}

// isFlag reports a projection value that includes (1/true) or excludes (0/false).
func isFlag(v any) (include, ok bool) {
	switch x := v.(type) {
	case bool:
		return x, true
	case int32, int64, float64:
		n, _ := toInt64(x)
		if f, isF := x.(float64); isF {
			return f != 0, true
		}
		return n != 0, true
	}
	return false, false
}

func stageProject(list bsonkit.List, arg any) (bsonkit.List, error) {
	spec, ok := arg.(bson.D)
	if !ok || len(spec) == 0 {
		return nil, mongoerr.New(mongoerr.Location16410, "$project specification must be an object with at least one field")
	}
	flags := bson.D{}
	var computed bson.D
	for _, e := range spec {
		if _, isFlag := isFlag(e.Value); isFlag {
			flags = append(flags, e)
		} else {
			computed = append(computed, e)
		}
	}
	if len(computed) == 0 {
		return mongokit.ProjectList(list, &flags)
	}
	// inclusion projection with computed fields
	for _, f := range flags {
		if inc, _ := isFlag(f.Value); !inc && f.Key != "_id" {
			return nil, mongoerr.New(31254, "Invalid $project :: caused by :: Cannot do exclusion on field %s in inclusion projection", f.Key)
		}
	}
	out := make(bsonkit.List, 0, len(list))
	for _, doc := range list {
		base := &bson.D{}
		hideID := false
		for _, f := range flags {
			if inc, _ := isFlag(f.Value); !inc {
				hideID = true
				continue
			}
		}
		if len(flags) > 0 {
			incl := bson.D{}
			for _, f := range flags {
				incl = append(incl, f)
			}
			p, err := mongokit.Project(doc, &incl)
			if err != nil {
				return nil, err
			}
			base = p
		} else if !hideID {
			if id := bsonkit.Get(doc, "_id"); id != bsonkit.Missing {
				*base = append(*base, bson.E{Key: "_id", Value: id})
			}
		}
		for _, c := range computed {
			val, err := evalExpr(doc, c.Value)
			if err != nil {
				return nil, err
			}
			if val == bsonkit.Missing {
				continue
			}
			if _, err := bsonkit.Put(base, c.Key, val, false); err != nil {
				return nil, err
			}
		}
		out = append(out, base)
	}
	return out, nil
}

func stageAddFields(list bsonkit.List, arg any) (bsonkit.List, error) {
	spec, ok := arg.(bson.D)
	if !ok {
		return nil, mongoerr.New(40272, "$addFields specification stage must be an object")
	}
	out := make(bsonkit.List, 0, len(list))
	for _, doc := range list {
		c := bsonkit.Clone(doc)
		for _, e := range spec {
			val, err := evalExpr(doc, e.Value)
			if err != nil {
				return nil, err
			}
			if val == bsonkit.Missing {
				continue
			}
			if _, err := bsonkit.Put(c, e.Key, val, false); err != nil {
				return nil, err
			}
		}
		out = append(out, c)
	}
	return out, nil
}

// accumulator is one $group output field.
type accumulator struct {
	field, op string
	arg       any
}

type groupState struct {
	id   any
	vals []any
	seen []bool
	n    []int
}

func stageGroup(list bsonkit.List, arg any) (bsonkit.List, error) {
	spec, ok := arg.(bson.D)
	if !ok {
		return nil, mongoerr.New(15947, "a group's fields must be specified in an object")
	}
	idExpr, hasID := lookupD(spec, "_id")
	if !hasID {
		return nil, mongoerr.New(mongoerr.Location15955, "a group specification must include an _id")
	}
	var accs []accumulator
	for _, e := range spec {
		if e.Key == "_id" {
			continue
		}
		d, ok := e.Value.(bson.D)
		if !ok || len(d) != 1 {
			return nil, mongoerr.New(40234, "The field '%s' must be an accumulator object", e.Key)
		}
		switch d[0].Key {
		case "$sum", "$first", "$last", "$push", "$addToSet", "$min", "$max", "$avg", "$count":
		default:
			return nil, mongoerr.New(mongoerr.Location15952, "unknown group operator '%s'", d[0].Key)
		}
		accs = append(accs, accumulator{field: e.Key, op: d[0].Key, arg: d[0].Value})
	}
	groups := map[string]*groupState{}
	var order []string
	for _, doc := range list {
		id, err := evalExpr(doc, idExpr)
		if err != nil {
			return nil, err
		}
		if id == bsonkit.Missing {
			id = nil
		}
		key := idKey(id)
		g := groups[key]
		if g == nil {
			g = &groupState{id: id, vals: make([]any, len(accs)), seen: make([]bool, len(accs)), n: make([]int, len(accs))}
			groups[key] = g
			order = append(order, key)
		}
		for i, a := range accs {
			var v any = bsonkit.Missing
			if a.op != "$count" {
				if v, err = evalExpr(doc, a.arg); err != nil {
					return nil, err
				}
			}
			accumulate(g, i, a.op, v)
		}
	}
	out := make(bsonkit.List, 0, len(groups))
	for _, key := range order {
		g := groups[key]
		d := bson.D{{Key: "_id", Value: g.id}}
		for i, a := range accs {
			d = append(d, bson.E{Key: a.field, Value: finish(g, i, a.op)})
		}
		out = append(out, &d)
	}
	return out, nil
}

func isNumber(v any) bool {
	switch v.(type) {
	case int32, int64, float64:
		return true
	}
	return false
}

func accumulate(g *groupState, i int, op string, v any) {
	switch op {
	case "$sum", "$avg":
		if g.vals[i] == nil {
			g.vals[i] = int32(0)
		}
		if isNumber(v) {
			g.vals[i] = bsonkit.Add(g.vals[i], v)
			g.n[i]++
		}
	case "$count":
		if g.vals[i] == nil {
			g.vals[i] = int32(0)
		}
		g.vals[i] = bsonkit.Add(g.vals[i], int32(1))
	case "$first":
		if !g.seen[i] {
			if v == bsonkit.Missing {
				v = nil
			}
			g.vals[i], g.seen[i] = v, true
		}
	case "$last":
		if v == bsonkit.Missing {
			v = nil
		}
		g.vals[i], g.seen[i] = v, true
	case "$push", "$addToSet":
		arr, _ := g.vals[i].(bson.A)
		if arr == nil {
			arr = bson.A{}
		}
		if v != bsonkit.Missing {
			dup := false
			if op == "$addToSet" {
				for _, x := range arr {
					if bsonkit.Compare(x, v) == 0 {
						dup = true
						break
					}
				}
			}
			if !dup {
				arr = append(arr, v)
			}
		}
		g.vals[i] = arr
	case "$min", "$max":
		if v == bsonkit.Missing || v == nil {
			return
		}
		if !g.seen[i] {
			g.vals[i], g.seen[i] = v, true
			return
		}
		c := bsonkit.Compare(v, g.vals[i])
		if op == "$min" && c < 0 || op == "$max" && c > 0 {
			g.vals[i] = v
		}
	}
}

func finish(g *groupState, i int, op string) any {
	switch op {
	case "$avg":
		if g.n[i] == 0 {
			return nil
		}
		switch s := g.vals[i].(type) {
		case int32:
			return float64(s) / float64(g.n[i])
		case int64:
			return float64(s) / float64(g.n[i])
		case float64:
			return s / float64(g.n[i])
		}
		return nil
	case "$push", "$addToSet":
		if g.vals[i] == nil {
			return bson.A{}
		}
	}
	return g.vals[i]
}
