package metricmath

import (
	"math"
	"strconv"
	"strings"
	"testing"
	"time"
)

// t0 is a Monday, so DAY() of it is 1.
var t0 = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

// gap marks a missing point in series().
var gap = math.NaN()

// series is a series with one point a minute from t0, skipping gaps.
func series(label string, values ...float64) Series {
	s := Series{Label: label}
	for i, v := range values {
		if math.IsNaN(v) {
			continue
		}
		s.Timestamps = append(s.Timestamps, t0.Add(time.Duration(i)*time.Minute))
		s.Values = append(s.Values, v)
	}
	return s
}

// testEnv has five one-minute periods from t0 and these inputs:
//
//	m1    [30 20  0  0  -]   the guide's comparison example
//	m2    [20  -  20 -  -]
//	c1    [ 1  1  0  0  -]   the guide's IF example
//	c2    [30  -  0  0 30]
//	c3    [ 0  0 20  - 20]
//	s     [ 1  2  4  7 11]
//	g     [ 1  -  -  4  -]   gaps to FILL
//	lead  [ -  -  5  -  -]
//	p     [ 1  3  -  -  -]   mean 2, standard deviation 1
//	p10   [ 1 10 100 -  -]
//	empty []
//	e1    two series, A [1 2 3 - -] and B [10 20 - - -]: an expression's array
//
// m1 and m2 are MetricStat queries; the rest are expressions.
func testEnv() Env {
	return Env{
		Inputs: map[string][]Series{
			"m1":    {series("M1", 30, 20, 0, 0)},
			"m2":    {series("M2", 20, gap, 20)},
			"c1":    {series("C1", 1, 1, 0, 0)},
			"c2":    {series("C2", 30, gap, 0, 0, 30)},
			"c3":    {series("C3", 0, 0, 20, gap, 20)},
			"s":     {series("S", 1, 2, 4, 7, 11)},
			"g":     {series("G", 1, gap, gap, 4)},
			"lead":  {series("L", gap, gap, 5)},
			"p":     {series("P", 1, 3)},
			"p10":   {series("P10", 1, 10, 100)},
			"empty": {series("E")},
			"e1":    {series("A", 1, 2, 3), series("B", 10, 20)},
		},
		Order:  []string{"m1", "m2"},
		Start:  t0,
		End:    t0.Add(5 * time.Minute),
		Period: time.Minute,
	}
}

// render writes a Value compactly: a scalar as its number; a series as its
// label and {minute:value ...}, minutes counted from t0; an array as its
// series in brackets.
func render(v Value) string {
	if v.Scalar != nil {
		return num(*v.Scalar)
	}
	if len(v.Series) == 1 {
		return renderSeries(v.Series[0])
	}
	parts := make([]string, len(v.Series))
	for i, s := range v.Series {
		parts[i] = renderSeries(s)
	}
	return "[" + strings.Join(parts, " ") + "]"
}

func renderSeries(s Series) string {
	var b strings.Builder
	b.WriteString(s.Label + "{")
	for i, t := range s.Timestamps {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(num(t.Sub(t0).Minutes()) + ":" + num(s.Values[i]))
	}
	b.WriteString("}")
	return b.String()
}

func num(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

// evalString parses and evaluates expr in env, rendering the result or the
// error's message.
func evalString(t *testing.T, expr string, env Env) string {
	t.Helper()
	e, err := Parse(expr)
	if err != nil {
		return "error: " + err.Error()
	}
	v, err := e.Eval(env)
	if err != nil {
		return "error: " + err.Error()
	}
	return render(v)
}

// checkValue reports what is wrong with a Value's shape, or "".
func checkValue(v Value) string {
	if (v.Scalar != nil) == (v.Series != nil) {
		return "exactly one of Scalar and Series must be set"
	}
	for _, s := range v.Series {
		if len(s.Timestamps) != len(s.Values) {
			return "timestamps and values differ in length"
		}
		for i, x := range s.Values {
			if math.IsNaN(x) || math.IsInf(x, 0) {
				return "a value is not finite"
			}
			if i > 0 && !s.Timestamps[i-1].Before(s.Timestamps[i]) {
				return "timestamps are not strictly ascending"
			}
		}
	}
	return ""
}
