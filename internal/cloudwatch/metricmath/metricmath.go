// Package metricmath parses and evaluates CloudWatch metric math: the
// Expression of a GetMetricData MetricDataQuery and of the Metrics of a
// metric math alarm (PutMetricAlarm).
//
// Syntax and semantics follow "Metric math syntax and functions" in the
// CloudWatch User Guide (using-metric-math.html). Where the guide is silent,
// the choice made here is written on the code that makes it. The main ones:
//
//   - Arithmetic (+ - * / ^) between two time series keeps only the
//     timestamps both have: a point missing from either operand is missing
//     from the result, and FILL is how to say what a gap means. (The
//     guide's arithmetic section says "Missing values in a time series are
//     treated as 0"; this package does not follow that sentence.)
//   - Comparison and logical operators between two time series treat a
//     missing point as 0, as the guide's worked example shows.
//   - A point whose value would not be finite (division by zero, LOG of 0)
//     is dropped, as the guide says for division by zero.
//   - A scalar can have no value (AVG of a series with no points, 1/0); it
//     is NaN, and any point computed from it is dropped.
//   - ANOMALY_DETECTION_BAND trains no model: see [Expr.Eval].
package metricmath

import (
	"errors"
	"fmt"
	"math"
	"time"
)

// Series is one time series: ascending Timestamps with their Values, and a
// Label. Timestamps and Values have the same length.
type Series struct {
	Label      string
	Timestamps []time.Time
	Values     []float64
}

// Value is an expression's result: a scalar or one or more series. A query's
// final result must be series (the guide: "The final result of any math
// expression must be a single time series or an array of time series");
// Eval leaves that rule to the caller, since scalars are fine inside a
// larger expression.
type Value struct {
	// Scalar is set when the result is a single number. It is NaN when the
	// scalar has no value, e.g. AVG of a series without datapoints.
	Scalar *float64
	// Series holds the result otherwise: one series, or an array of them
	// (possibly empty, e.g. from REMOVE_EMPTY).
	Series []Series
}

// Env is what an expression can see.
type Env struct {
	// Inputs are the results of other queries by Id. A MetricStat query has
	// one series; an expression may have several. An Id with exactly one
	// series is a time series (TS) to the functions; with any other number
	// it is an array (TS[]).
	Inputs map[string][]Series
	// Order lists the Ids of the MetricStat queries, in query order.
	// METRICS() returns these and only these: "Math expressions aren't
	// included." PERIOD accepts only these Ids.
	Order []string
	// Start and End bound the request's range [Start, End); FILL,
	// TIME_SERIES and the timestamp functions produce points in it.
	Start, End time.Time
	// Period is the granularity of the points FILL and friends produce,
	// and what PERIOD returns for an Id not in Periods.
	Period time.Duration
	// Periods optionally gives a MetricStat query's own period, for PERIOD.
	Periods map[string]time.Duration
}

// Error is a metric math error. Msg reads as the part of CloudWatch's
// ValidationError after the expression's Id ("Invalid syntax", "Function
// 'FOO' not found"); Error() renders the whole message once ID is known.
type Error struct {
	// ID is the Id of the query whose expression failed. Parse and Eval
	// do not know it and leave it empty; WithID fills it in. Order sets it
	// to an expression in the cycle it reports.
	ID string
	// Msg is the message, without the Id.
	Msg string
}

// Error returns the message as CloudWatch words it, "Error in expression
// 'e1': Invalid syntax", or just Msg while ID is unknown.
func (e *Error) Error() string {
	if e.ID == "" {
		return e.Msg
	}
	return fmt.Sprintf("Error in expression '%s': %s", e.ID, e.Msg)
}

// WithID returns err with its ID set to id if it is an *Error, and err
// unchanged otherwise. The *Error inside err is copied, not modified.
func WithID(err error, id string) error {
	var me *Error
	if !errors.As(err, &me) {
		return err
	}
	out := *me
	out.ID = id
	return &out
}

// Expr is a parsed metric math expression. It is immutable, so one Expr may
// be evaluated concurrently.
type Expr struct {
	src  string
	root *node
}

// Parse parses a metric math expression. A malformed expression gives an
// *Error with Msg "Invalid syntax", the message CloudWatch uses; a call of a
// function CloudWatch does not have gives "Function 'NAME' not found".
// Argument counts and types are checked by Eval, when they are known.
func Parse(expr string) (*Expr, error) {
	root, err := parse(expr)
	if err != nil {
		return nil, err
	}
	return &Expr{src: expr, root: root}, nil
}

// String returns the expression fully parenthesised, which shows how it was
// parsed: "m1 + m2 * 2" is "(m1 + (m2 * 2))".
func (e *Expr) String() string { return e.root.String() }

// Source returns the text the expression was parsed from.
func (e *Expr) Source() string { return e.src }

// Refs returns the query Ids the expression names directly, each once, in
// the order they first appear. Ids reached through METRICS() are not
// included; see UsesMetrics.
func (e *Expr) Refs() []string {
	var out []string
	seen := map[string]bool{}
	e.root.walk(func(n *node) {
		if n.kind == nRef && !seen[n.text] {
			seen[n.text] = true
			out = append(out, n.text)
		}
	})
	return out
}

// UsesMetrics reports whether the expression calls METRICS(), and so depends
// on every MetricStat query.
func (e *Expr) UsesMetrics() bool {
	uses := false
	e.root.walk(func(n *node) {
		if n.kind == nCall && n.text == "METRICS" {
			uses = true
		}
	})
	return uses
}

// Eval evaluates the expression in env. Errors are *Error: an Id missing
// from env.Inputs, or a function or operator given arguments of the wrong
// number or type ("Unsupported operand type(s) for FILL: '[TimeSeries]'",
// the form CloudWatch uses).
//
// ANOMALY_DETECTION_BAND is a simplification: CloudWatch trains a model on
// up to two weeks of history, with hourly and daily seasonality; here the
// band is the mean of the series' points in the request ± the given number
// (default 2) of their population standard deviations, the same at every
// timestamp of the series. The result is the array [upper, lower], labelled
// "<label> Upper" and "<label> Lower": the guide's FIRST/LAST entry says
// LAST(ANOMALY_DETECTION_BAND(m1)) "returns the lower bound".
func (e *Expr) Eval(env Env) (Value, error) {
	ev := &evaluator{env: env, metrics: make(map[string]bool, len(env.Order))}
	for _, id := range env.Order {
		ev.metrics[id] = true
	}
	v, err := ev.eval(e.root)
	if err != nil {
		return Value{}, err
	}
	switch v.kind {
	case kindScalar:
		s := v.num
		if math.IsInf(s, 0) {
			s = math.NaN()
		}
		return Value{Scalar: &s}, nil
	case kindSeries, kindArray:
		if v.series == nil {
			v.series = []Series{}
		}
		return Value{Series: v.series}, nil
	}
	// Strings and keywords parse only as function arguments.
	return Value{}, errSyntax()
}
