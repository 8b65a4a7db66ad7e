package metricmath

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
)

// kind is the type of an intermediate value, in the guide's terms: S, TS,
// TS[], plus the strings and keywords some functions take as arguments.
type kind uint8

const (
	kindScalar kind = iota
	kindSeries
	kindArray
	kindString
	kindKeyword
)

// val is an intermediate value.
type val struct {
	kind kind
	// num is a scalar's value, NaN when it has none.
	num float64
	// series holds a kindSeries' one series or a kindArray's elements.
	series []Series
	// text is a string's or keyword's text.
	text string
}

func scalar(v float64) val { return val{kind: kindScalar, num: v} }

func one(s Series) val { return val{kind: kindSeries, series: []Series{s}} }

func array(ss []Series) val { return val{kind: kindArray, series: ss} }

// typeName names a value's type as CloudWatch's messages do, e.g.
// "Unsupported operand type(s) for ANOMALY_DETECTION_BAND:
// '[Array[TimeSeries], Scalar]'".
func (v val) typeName() string {
	switch v.kind {
	case kindScalar:
		return "Scalar"
	case kindSeries:
		return "TimeSeries"
	case kindArray:
		return "Array[TimeSeries]"
	case kindString:
		return "String"
	}
	return "Keyword"
}

// isSeries reports whether v is a time series or an array of them.
func (v val) isSeries() bool { return v.kind == kindSeries || v.kind == kindArray }

// isNumeric reports whether v is something arithmetic applies to.
func (v val) isNumeric() bool { return v.kind == kindScalar || v.isSeries() }

// unsupported is the error for an operator or function given operands it
// does not take, in number or in type.
func unsupported(op string, args ...val) *Error {
	names := make([]string, len(args))
	for i, a := range args {
		names[i] = a.typeName()
	}
	return &Error{Msg: fmt.Sprintf("Unsupported operand type(s) for %s: '[%s]'", op, strings.Join(names, ", "))}
}

type evaluator struct {
	env Env
	// metrics is the set of env.Order.
	metrics map[string]bool
}

func (ev *evaluator) eval(n *node) (val, error) {
	switch n.kind {
	case nNum:
		return scalar(n.num), nil
	case nStr:
		return val{kind: kindString, text: n.text}, nil
	case nKeyword:
		return val{kind: kindKeyword, text: n.text}, nil
	case nRef:
		return ev.ref(n.text)
	case nArray:
		// An array literal collects series and flattens arrays, so that
		// SUM([METRICS("4xx"), METRICS("5xx")]) sums every match.
		args, err := ev.evalAll(n.args)
		if err != nil {
			return val{}, err
		}
		var out []Series
		for _, a := range args {
			if !a.isSeries() {
				return val{}, unsupported("[]", args...)
			}
			out = append(out, a.series...)
		}
		return array(out), nil
	case nNeg:
		x, err := ev.eval(n.args[0])
		if err != nil {
			return val{}, err
		}
		return pointwiseVal("-", x, func(v float64) float64 { return -v })
	case nNot:
		x, err := ev.eval(n.args[0])
		if err != nil {
			return val{}, err
		}
		return pointwiseVal("NOT", x, func(v float64) float64 {
			if math.IsNaN(v) {
				return v
			}
			return truth(v == 0)
		})
	case nBinary:
		args, err := ev.evalAll(n.args)
		if err != nil {
			return val{}, err
		}
		return applyBinary(n.text, args[0], args[1])
	case nCall:
		args, err := ev.evalAll(n.args)
		if err != nil {
			return val{}, err
		}
		return functions[n.text](ev, n, args)
	}
	return val{}, errSyntax()
}

func (ev *evaluator) evalAll(ns []*node) ([]val, error) {
	out := make([]val, len(ns))
	for i, n := range ns {
		v, err := ev.eval(n)
		if err != nil {
			return nil, err
		}
		out[i] = v
	}
	return out, nil
}

// ref is the result of the query with the given Id, copied so that the
// result never shares memory with env.Inputs.
func (ev *evaluator) ref(id string) (val, error) {
	in, ok := ev.env.Inputs[id]
	if !ok {
		return val{}, &Error{Msg: fmt.Sprintf("Unrecognized metric or expression id '%s'", id)}
	}
	out := make([]Series, len(in))
	for i, s := range in {
		out[i] = normalize(s)
	}
	if len(out) == 1 {
		return one(out[0]), nil
	}
	return array(out), nil
}

// normalize copies s into the form the functions assume: strictly
// ascending timestamps (a later duplicate wins) and finite values.
func normalize(s Series) Series {
	n := min(len(s.Timestamps), len(s.Values))
	idx := make([]int, 0, n)
	for i := range n {
		if isFinite(s.Values[i]) {
			idx = append(idx, i)
		}
	}
	slices.SortStableFunc(idx, func(a, b int) int { return s.Timestamps[a].Compare(s.Timestamps[b]) })
	out := Series{Label: s.Label, Timestamps: make([]time.Time, 0, len(idx)), Values: make([]float64, 0, len(idx))}
	for _, i := range idx {
		if k := len(out.Timestamps); k > 0 && out.Timestamps[k-1].Equal(s.Timestamps[i]) {
			out.Values[k-1] = s.Values[i]
			continue
		}
		out.Timestamps = append(out.Timestamps, s.Timestamps[i])
		out.Values = append(out.Values, s.Values[i])
	}
	return out
}

func isFinite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// finite maps infinities to NaN, a scalar's "no value".
func finite(v float64) float64 {
	if math.IsInf(v, 0) {
		return math.NaN()
	}
	return v
}

func truth(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// builder accumulates a series' points, dropping any that are not finite.
type builder struct{ s Series }

func (b *builder) add(t time.Time, v float64) {
	if isFinite(v) {
		b.s.Timestamps = append(b.s.Timestamps, t)
		b.s.Values = append(b.s.Values, v)
	}
}

func newBuilder(label string, capacity int) *builder {
	return &builder{s: Series{Label: label, Timestamps: make([]time.Time, 0, capacity), Values: make([]float64, 0, capacity)}}
}

// pointwise applies f to every point of s.
func pointwise(s Series, f func(float64) float64) Series {
	b := newBuilder(s.Label, len(s.Values))
	for i, v := range s.Values {
		b.add(s.Timestamps[i], f(v))
	}
	return b.s
}

// mapSeries applies f to a series, or to each series of an array.
func mapSeries(v val, f func(Series) Series) val {
	out := make([]Series, len(v.series))
	for i, s := range v.series {
		out[i] = f(s)
	}
	return val{kind: v.kind, series: out}
}

// pointwiseVal applies f to a scalar, to each point of a series, or to each
// point of each series of an array: the shape of unary minus, NOT, ABS and
// the like.
func pointwiseVal(op string, x val, f func(float64) float64) (val, error) {
	switch x.kind {
	case kindScalar:
		return scalar(finite(f(x.num))), nil
	case kindSeries, kindArray:
		return mapSeries(x, func(s Series) Series { return pointwise(s, f) }), nil
	}
	return val{}, unsupported(op, x)
}

// binaryOp is an infix operator.
type binaryOp struct {
	f func(a, b float64) float64
	// union marks the comparison and logical operators: between two series
	// they produce a point wherever either has one, treating the other's
	// missing point as 0 (the guide: "the function treats the missing
	// value in the other time series as 0"). Arithmetic produces a point
	// only where both have one.
	union bool
}

var binaryOps = map[string]binaryOp{
	"+": {f: func(a, b float64) float64 { return a + b }},
	"-": {f: func(a, b float64) float64 { return a - b }},
	"*": {f: func(a, b float64) float64 { return a * b }},
	// "If the value of a data point causes a function to attempt to divide
	// by zero, the data point is dropped": NaN is dropped.
	"/": {f: func(a, b float64) float64 {
		if b == 0 {
			return math.NaN()
		}
		return a / b
	}},
	"^":   {f: math.Pow},
	"==":  {f: compare(func(a, b float64) bool { return a == b }), union: true},
	"!=":  {f: compare(func(a, b float64) bool { return a != b }), union: true},
	"<":   {f: compare(func(a, b float64) bool { return a < b }), union: true},
	"<=":  {f: compare(func(a, b float64) bool { return a <= b }), union: true},
	">":   {f: compare(func(a, b float64) bool { return a > b }), union: true},
	">=":  {f: compare(func(a, b float64) bool { return a >= b }), union: true},
	"AND": {f: compare(func(a, b float64) bool { return a != 0 && b != 0 }), union: true},
	"OR":  {f: compare(func(a, b float64) bool { return a != 0 || b != 0 }), union: true},
}

// compare lifts a predicate to 1/0, keeping NaN (a scalar without a value)
// so that the point is dropped rather than compared.
func compare(p func(a, b float64) bool) func(a, b float64) float64 {
	return func(a, b float64) float64 {
		if math.IsNaN(a) || math.IsNaN(b) {
			return math.NaN()
		}
		return truth(p(a, b))
	}
}

// applyBinary applies an infix operator. Between scalars it gives a scalar;
// with a series, a series; an array applies the operator to each of its
// series (the guide's "TS[] TS" and "METRICS()*100"). Two arrays do not
// combine.
func applyBinary(op string, l, r val) (val, error) {
	spec := binaryOps[op]
	if !l.isNumeric() || !r.isNumeric() || (l.kind == kindArray && r.kind == kindArray) {
		return val{}, unsupported(op, l, r)
	}
	switch {
	case l.kind == kindScalar && r.kind == kindScalar:
		return scalar(finite(spec.f(l.num, r.num))), nil
	case l.kind == kindArray:
		return mapSeries(l, func(s Series) Series { return combine(spec, one(s), r) }), nil
	case r.kind == kindArray:
		return mapSeries(r, func(s Series) Series { return combine(spec, l, one(s)) }), nil
	}
	return one(combine(spec, l, r)), nil
}

// combine applies an operator to a scalar or series and a series or scalar,
// at least one of them a series. The result keeps the left series' label.
func combine(spec binaryOp, l, r val) Series {
	if l.kind == kindScalar {
		return pointwise(r.series[0], func(b float64) float64 { return spec.f(l.num, b) })
	}
	if r.kind == kindScalar {
		return pointwise(l.series[0], func(a float64) float64 { return spec.f(a, r.num) })
	}
	a, b := l.series[0], r.series[0]
	out := newBuilder(a.Label, min(len(a.Values), len(b.Values)))
	i, j := 0, 0
	for i < len(a.Values) || j < len(b.Values) {
		var c int
		switch {
		case i == len(a.Values):
			c = 1
		case j == len(b.Values):
			c = -1
		default:
			c = a.Timestamps[i].Compare(b.Timestamps[j])
		}
		switch {
		case c == 0:
			out.add(a.Timestamps[i], spec.f(a.Values[i], b.Values[j]))
			i++
			j++
		case c < 0:
			if spec.union {
				out.add(a.Timestamps[i], spec.f(a.Values[i], 0))
			}
			i++
		default:
			if spec.union {
				out.add(b.Timestamps[j], spec.f(0, b.Values[j]))
			}
			j++
		}
	}
	return out.s
}

// lookup returns s's value at t.
func lookup(s Series, t time.Time) (float64, bool) {
	i, ok := slices.BinarySearchFunc(s.Timestamps, t, time.Time.Compare)
	if !ok {
		return 0, false
	}
	return s.Values[i], true
}

// unionTimes returns every timestamp of any of ss, ascending, each once.
func unionTimes(ss []Series) []time.Time {
	var all []time.Time
	for _, s := range ss {
		all = append(all, s.Timestamps...)
	}
	slices.SortFunc(all, time.Time.Compare)
	return slices.CompactFunc(all, time.Time.Equal)
}
