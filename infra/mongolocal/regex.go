package mongolocal

import (
	"fmt"
	"regexp"
	"strings"
	"sync"

	"github.com/256dpi/lungo/bsonkit"
	"github.com/256dpi/lungo/mongokit"
	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/bson/primitive"

	"github.com/changerelay/changerelay/infra/mongolocal/mongoerr"
)

// lungo's matcher has no regular expressions; mongolocal registers $regex
// with it and rewrites filters so that /pattern/ values and
// {$regex, $options} pairs reach it as one primitive.Regex.
func init() {
	mongokit.ExpressionQueryOperators["$regex"] = matchRegex
}

var regexCache sync.Map // "options/pattern" -> *regexp.Regexp

func compileRegex(re primitive.Regex) (*regexp.Regexp, error) {
	key := re.Options + "/" + re.Pattern
	if v, ok := regexCache.Load(key); ok {
		return v.(*regexp.Regexp), nil
	}
	flags := ""
	for _, o := range re.Options {
		switch o {
		case 'i', 'm', 's':
			flags += string(o)
		case 'u':
		default:
			return nil, fmt.Errorf("invalid flag in regex options: %c", o)
		}
	}
	pattern := re.Pattern
	if flags != "" {
		pattern = "(?" + flags + ")" + pattern
	}
	compiled, err := regexp.Compile(pattern)
	if err != nil {
		return nil, fmt.Errorf("Regular expression is invalid: %v", err)
	}
	regexCache.Store(key, compiled)
	return compiled, nil
}

func matchRegex(_ mongokit.Context, doc bsonkit.Doc, _, path string, v any) error {
	re, ok := v.(primitive.Regex)
	if !ok {
		str, isStr := v.(string)
		if !isStr {
			return fmt.Errorf("$regex has to be a string")
		}
		re = primitive.Regex{Pattern: str}
	}
	compiled, err := compileRegex(re)
	if err != nil {
		return err
	}
	test := func(field any) bool {
		switch f := field.(type) {
		case string:
			return compiled.MatchString(f)
		case primitive.Regex:
			return f == re
		case primitive.Symbol:
			return compiled.MatchString(string(f))
		}
		return false
	}
	value, _ := bsonkit.All(doc, path, true, true)
	if arr, ok := value.(bson.A); ok {
		for _, item := range arr {
			if test(item) {
				return nil
			}
		}
		return mongokit.ErrNotMatched
	}
	if test(value) {
		return nil
	}
	return mongokit.ErrNotMatched
}

// prepareFilter rewrites a filter for lungo's matcher (regular expressions)
// and checks it, so an invalid filter fails even when no document is examined.
func prepareFilter(q bson.D) (bsonkit.Doc, *mongoerr.Error) {
	out, err := normalizeFilter(q)
	if err != nil {
		return nil, mongoerr.As(err)
	}
	if e := validateFilter(&out); e != nil {
		return nil, e
	}
	return &out, nil
}

func normalizeFilter(q bson.D) (bson.D, error) {
	out := make(bson.D, 0, len(q))
	for _, e := range q {
		switch {
		case e.Key == "$and" || e.Key == "$or" || e.Key == "$nor":
			arr, ok := e.Value.(bson.A)
			if !ok {
				return nil, mongoerr.New(mongoerr.BadValue, "%s must be an array", e.Key)
			}
			list := make(bson.A, 0, len(arr))
			for _, item := range arr {
				d, ok := item.(bson.D)
				if !ok {
					return nil, mongoerr.New(mongoerr.BadValue, "%s argument's entries must be objects", e.Key)
				}
				n, err := normalizeFilter(d)
				if err != nil {
					return nil, err
				}
				list = append(list, n)
			}
			out = append(out, bson.E{Key: e.Key, Value: list})
		case strings.HasPrefix(e.Key, "$"):
			out = append(out, e)
		default:
			v, err := normalizeCondition(e.Value)
			if err != nil {
				return nil, err
			}
			out = append(out, bson.E{Key: e.Key, Value: v})
		}
	}
	return out, nil
}

// normalizeCondition rewrites the value of a field condition.
func normalizeCondition(v any) (any, error) {
	switch x := v.(type) {
	case primitive.Regex:
		return bson.D{{Key: "$regex", Value: x}}, nil
	case bson.D:
		if len(x) == 0 || !strings.HasPrefix(x[0].Key, "$") {
			return x, nil // an embedded document compared by equality
		}
		return normalizeOperators(x)
	}
	return v, nil
}

func normalizeOperators(ops bson.D) (bson.D, error) {
	var regex *primitive.Regex
	var options *string
	out := make(bson.D, 0, len(ops))
	for _, op := range ops {
		switch op.Key {
		case "$regex":
			switch r := op.Value.(type) {
			case primitive.Regex:
				regex = &r
			case string:
				regex = &primitive.Regex{Pattern: r}
			default:
				return nil, mongoerr.New(mongoerr.BadValue, "$regex has to be a string")
			}
		case "$options":
			s, ok := op.Value.(string)
			if !ok {
				return nil, mongoerr.New(mongoerr.BadValue, "$options has to be a string")
			}
			options = &s
		case "$not":
			switch n := op.Value.(type) {
			case primitive.Regex:
				out = append(out, bson.E{Key: "$not", Value: bson.D{{Key: "$regex", Value: n}}})
			case bson.D:
				inner, err := normalizeOperators(n)
				if err != nil {
					return nil, err
				}
				out = append(out, bson.E{Key: "$not", Value: inner})
			default:
				out = append(out, op)
			}
		case "$elemMatch":
			d, ok := op.Value.(bson.D)
			if !ok {
				out = append(out, op)
				continue
			}
			var inner bson.D
			var err error
			if len(d) > 0 && strings.HasPrefix(d[0].Key, "$") && d[0].Key != "$and" && d[0].Key != "$or" && d[0].Key != "$nor" {
				inner, err = normalizeOperators(d)
			} else {
				inner, err = normalizeFilter(d)
			}
			if err != nil {
				return nil, err
			}
			out = append(out, bson.E{Key: "$elemMatch", Value: inner})
		case "$in", "$nin", "$all":
			if arr, ok := op.Value.(bson.A); ok {
				for _, item := range arr {
					if _, isRe := item.(primitive.Regex); isRe {
						return nil, mongoerr.New(mongoerr.NotImplemented, "regular expressions inside %s are not supported by mongolocal", op.Key)
					}
				}
			}
			out = append(out, op)
		default:
			out = append(out, op)
		}
	}
	if options != nil {
		if regex == nil {
			return nil, mongoerr.New(51074, "$options needs a $regex")
		}
		if regex.Options != "" && *options != "" {
			return nil, mongoerr.New(51075, "options set in both $regex and $options")
		}
		regex.Options += *options
	}
	if regex != nil {
		if _, err := compileRegex(*regex); err != nil {
			return nil, mongoerr.New(51091, "%v", err)
		}
		out = append(out, bson.E{Key: "$regex", Value: *regex})
	}
	return out, nil
}
