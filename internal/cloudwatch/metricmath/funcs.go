package metricmath

import (
	"cmp"
	"math"
	"slices"
	"strings"
	"time"
)

// maxPoints bounds the points one generated series can have (FILL,
// TIME_SERIES, the timestamp functions): GetMetricData returns at most
// 100,800 datapoints per call.
const maxPoints = 100_800

// function evaluates a call; call is its node, for the name and for
// functions that look at how an argument was written (PERIOD).
type function func(ev *evaluator, call *node, args []val) (val, error)

// functions are the functions of the guide's "Functions supported for
// metric math" table that this package implements.
var functions = map[string]function{
	"ABS":   mathFunc(math.Abs),
	"CEIL":  mathFunc(math.Ceil),
	"FLOOR": mathFunc(math.Floor),
	"LOG":   mathFunc(math.Log),
	"LOG10": mathFunc(math.Log10),

	"SUM":             aggregate(sum),
	"AVG":             aggregate(avg),
	"MIN":             aggregate(minOf),
	"MAX":             aggregate(maxOf),
	"STDDEV":          aggregate(stddev),
	"DATAPOINT_COUNT": aggregate(func(xs []float64, _ int) float64 { return float64(len(xs)) }),
	"METRIC_COUNT":    fnMetricCount,

	"METRICS":                fnMetrics,
	"PERIOD":                 fnPeriod,
	"FILL":                   fnFill,
	"IF":                     fnIf,
	"RATE":                   seriesFunc(rate),
	"DIFF":                   seriesFunc(diff),
	"DIFF_TIME":              seriesFunc(diffTime),
	"RUNNING_SUM":            seriesFunc(runningSum),
	"TIME_SERIES":            fnTimeSeries,
	"REMOVE_EMPTY":           fnRemoveEmpty,
	"FIRST":                  pick(func(ss []Series) Series { return ss[0] }),
	"LAST":                   pick(func(ss []Series) Series { return ss[len(ss)-1] }),
	"SORT":                   fnSort,
	"SLICE":                  fnSlice,
	"ANOMALY_DETECTION_BAND": fnBand,

	// "Days of the week are numbered 1 to 7 (Monday to Sunday) and hours
	// 0-23" (AWS blog, "Enhance CloudWatch metrics with metric math
	// functions"); all in UTC, as CloudWatch's timestamps are.
	"MINUTE": timeFunc(func(t time.Time) float64 { return float64(t.Minute()) }),
	"HOUR":   timeFunc(func(t time.Time) float64 { return float64(t.Hour()) }),
	"DAY":    timeFunc(func(t time.Time) float64 { return float64((int(t.Weekday())+6)%7 + 1) }),
	"DATE":   timeFunc(func(t time.Time) float64 { return float64(t.Day()) }),
	"MONTH":  timeFunc(func(t time.Time) float64 { return float64(t.Month()) }),
	"YEAR":   timeFunc(func(t time.Time) float64 { return float64(t.Year()) }),
	"EPOCH":  timeFunc(func(t time.Time) float64 { return float64(t.Unix()) }),
}

// unsupportedFunctions are CloudWatch functions this package does not
// implement: they read data other than the request's metrics (other
// metrics by search, quotas, Contributor Insights, Lambda data sources,
// Performance Insights).
var unsupportedFunctions = map[string]bool{
	"SEARCH":              true,
	"SERVICE_QUOTA":       true,
	"INSIGHT_RULE_METRIC": true,
	"LAMBDA":              true,
	"DB_PERF_INSIGHTS":    true,
}

// mathFunc applies f to every point: ABS, CEIL, FLOOR, LOG, LOG10. The guide
// lists TS and TS[]; a scalar is accepted too, as in ABS(MIN(m1)).
func mathFunc(f func(float64) float64) function {
	return func(_ *evaluator, call *node, args []val) (val, error) {
		if len(args) != 1 {
			return val{}, unsupported(call.text, args...)
		}
		return pointwiseVal(call.text, args[0], f)
	}
}

// aggregate makes SUM, AVG, MIN, MAX, STDDEV and DATAPOINT_COUNT: of a
// single series, a scalar over its points ("a single time series as input
// returns a scalar"); of an array, one series whose point at each timestamp
// aggregates the points the series have there. f gets the values present
// and the number of series (or points), which AVG divides by: "Missing
// values are treated as 0."
func aggregate(f func(xs []float64, n int) float64) function {
	return func(_ *evaluator, call *node, args []val) (val, error) {
		if len(args) != 1 || !args[0].isSeries() {
			return val{}, unsupported(call.text, args...)
		}
		x := args[0]
		if x.kind == kindSeries {
			s := x.series[0]
			return scalar(finite(f(s.Values, len(s.Values)))), nil
		}
		times := unionTimes(x.series)
		next := make([]int, len(x.series))
		out := newBuilder("", len(times))
		present := make([]float64, 0, len(x.series))
		for _, t := range times {
			present = present[:0]
			for k, s := range x.series {
				if next[k] < len(s.Timestamps) && s.Timestamps[next[k]].Equal(t) {
					present = append(present, s.Values[next[k]])
					next[k]++
				}
			}
			out.add(t, f(present, len(x.series)))
		}
		return one(out.s), nil
	}
}

func sum(xs []float64, _ int) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	total := 0.0
	for _, x := range xs {
		total += x
	}
	return total
}

func avg(xs []float64, n int) float64 {
	if n == 0 {
		return math.NaN()
	}
	return sum(xs, n) / float64(n)
}

func minOf(xs []float64, _ int) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	return slices.Min(xs)
}

func maxOf(xs []float64, _ int) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	return slices.Max(xs)
}

// stddev is the population standard deviation; the guide does not say
// which CloudWatch uses.
func stddev(xs []float64, _ int) float64 {
	_, sd := meanStd(xs)
	return sd
}

func meanStd(xs []float64) (mean, sd float64) {
	if len(xs) == 0 {
		return math.NaN(), math.NaN()
	}
	mean = sum(xs, len(xs)) / float64(len(xs))
	ss := 0.0
	for _, x := range xs {
		ss += (x - mean) * (x - mean)
	}
	return mean, math.Sqrt(ss / float64(len(xs)))
}

// fnMetricCount is METRIC_COUNT: "the number of metrics in the time series
// array". A single series counts as an array of one, since an Id with one
// series is a TS however it was made.
func fnMetricCount(_ *evaluator, call *node, args []val) (val, error) {
	if len(args) != 1 || !args[0].isSeries() {
		return val{}, unsupported(call.text, args...)
	}
	return scalar(float64(len(args[0].series))), nil
}

// fnMetrics is METRICS() and METRICS("s"): the MetricStat queries'
// results, in query order; with a string, those whose Id contains it (the
// guide: "contain that string in their Id field"). It is always an array.
func fnMetrics(ev *evaluator, call *node, args []val) (val, error) {
	sub := ""
	switch {
	case len(args) == 1 && args[0].kind == kindString:
		sub = args[0].text
	case len(args) != 0:
		return val{}, unsupported(call.text, args...)
	}
	out := []Series{}
	for _, id := range ev.env.Order {
		if !strings.Contains(id, sub) {
			continue
		}
		for _, s := range ev.env.Inputs[id] {
			out = append(out, normalize(s))
		}
	}
	return array(out), nil
}

// fnPeriod is PERIOD(m1): the metric's period in seconds. "Valid input is
// metrics, not the results of other expressions", so the argument must be
// the Id of a MetricStat query.
func fnPeriod(ev *evaluator, call *node, args []val) (val, error) {
	if len(args) != 1 || args[0].kind != kindSeries {
		return val{}, unsupported(call.text, args...)
	}
	arg := call.args[0]
	if arg.kind != nRef || !ev.metrics[arg.text] {
		return val{}, &Error{Msg: "The argument of PERIOD must be the id of a metric, not an expression"}
	}
	period := ev.env.Periods[arg.text]
	if period <= 0 {
		period = ev.env.Period
	}
	if period <= 0 {
		return scalar(math.NaN()), nil
	}
	return scalar(period.Seconds()), nil
}

// seriesFunc applies a series transform to a series or to each of an
// array's: RATE, DIFF, DIFF_TIME, RUNNING_SUM.
func seriesFunc(f func(Series) Series) function {
	return func(_ *evaluator, call *node, args []val) (val, error) {
		if len(args) != 1 || !args[0].isSeries() {
			return val{}, unsupported(call.text, args...)
		}
		return mapSeries(args[0], f), nil
	}
}

// rate is "the difference between the latest data point value and the
// previous data point value, divided by the time difference in seconds";
// the first point has no previous one and gives none.
func rate(s Series) Series {
	return consecutive(s, func(dv float64, dt time.Duration) float64 { return dv / dt.Seconds() })
}

// diff is each value minus the preceding one.
func diff(s Series) Series {
	return consecutive(s, func(dv float64, _ time.Duration) float64 { return dv })
}

// diffTime is the seconds between each timestamp and the preceding one.
func diffTime(s Series) Series {
	return consecutive(s, func(_ float64, dt time.Duration) float64 { return dt.Seconds() })
}

// consecutive computes a point at each timestamp but the first from its
// change since the previous point.
func consecutive(s Series, f func(dv float64, dt time.Duration) float64) Series {
	out := newBuilder(s.Label, len(s.Values))
	for i := 1; i < len(s.Values); i++ {
		out.add(s.Timestamps[i], f(s.Values[i]-s.Values[i-1], s.Timestamps[i].Sub(s.Timestamps[i-1])))
	}
	return out.s
}

func runningSum(s Series) Series {
	out := newBuilder(s.Label, len(s.Values))
	total := 0.0
	for i, v := range s.Values {
		total += v
		out.add(s.Timestamps[i], total)
	}
	return out.s
}

// fnIf is IF(condition, trueValue[, falseValue]), as the guide's "Using IF
// expressions" section specifies. With a series condition, each of its
// points gives a point: trueValue's where the condition is non-zero (0 if
// a trueValue series has no point there), falseValue's where it is zero
// (none if a falseValue series has no point there, or there is no
// falseValue). A scalar condition picks a whole argument; "an empty time
// series, if metric3 is omitted". Arrays are not accepted.
func fnIf(_ *evaluator, call *node, args []val) (val, error) {
	if len(args) < 2 || len(args) > 3 {
		return val{}, unsupported(call.text, args...)
	}
	for _, a := range args {
		if a.kind != kindScalar && a.kind != kindSeries {
			return val{}, unsupported(call.text, args...)
		}
	}
	cond, yes := args[0], args[1]
	no, hasNo := val{}, len(args) == 3
	if hasNo {
		no = args[2]
	}
	label := ""
	if yes.kind == kindSeries {
		label = yes.series[0].Label
	}
	if cond.kind == kindScalar {
		switch {
		case math.IsNaN(cond.num):
			if yes.kind == kindScalar && (!hasNo || no.kind == kindScalar) {
				return scalar(math.NaN()), nil
			}
			return one(Series{Label: label}), nil
		case cond.num != 0:
			return yes, nil
		case hasNo:
			return no, nil
		}
		return one(Series{Label: label}), nil
	}
	c := cond.series[0]
	if label == "" {
		label = c.Label
	}
	out := newBuilder(label, len(c.Values))
	for i, cv := range c.Values {
		t := c.Timestamps[i]
		switch {
		case cv != 0 && yes.kind == kindScalar:
			out.add(t, yes.num)
		case cv != 0:
			v, _ := lookup(yes.series[0], t)
			out.add(t, v)
		case !hasNo:
		case no.kind == kindScalar:
			out.add(t, no.num)
		default:
			if v, ok := lookup(no.series[0], t); ok {
				out.add(t, v)
			}
		}
	}
	return one(out.s), nil
}

// fnTimeSeries is TIME_SERIES(S): "a non-sparse time series where every
// value is set to a scalar argument", at every Period from Start to End.
func fnTimeSeries(ev *evaluator, call *node, args []val) (val, error) {
	if len(args) != 1 || args[0].kind != kindScalar {
		return val{}, unsupported(call.text, args...)
	}
	out := newBuilder("", 0)
	if ev.env.Period > 0 && !ev.env.Start.IsZero() && ev.env.Start.Before(ev.env.End) {
		for _, t := range steps(ev.env.Start, ev.env.Start, ev.env.End, ev.env.Period) {
			out.add(t, args[0].num)
		}
	}
	return one(out.s), nil
}

// timeFunc makes MINUTE, HOUR, DAY, DATE, MONTH, YEAR and EPOCH, which
// "take the period and range of the time series and return a new
// non-sparse time series where each value is based on its timestamp".
func timeFunc(f func(time.Time) float64) function {
	return func(ev *evaluator, call *node, args []val) (val, error) {
		if len(args) != 1 || !args[0].isSeries() {
			return val{}, unsupported(call.text, args...)
		}
		return mapSeries(args[0], func(s Series) Series {
			grid := ev.grid(s)
			out := newBuilder(s.Label, len(grid))
			for _, t := range grid {
				out.add(t, f(t.UTC()))
			}
			return out.s
		}), nil
	}
}

// fnRemoveEmpty is REMOVE_EMPTY: the array without its series that have no
// points.
func fnRemoveEmpty(_ *evaluator, call *node, args []val) (val, error) {
	if len(args) != 1 || !args[0].isSeries() {
		return val{}, unsupported(call.text, args...)
	}
	out := []Series{}
	for _, s := range args[0].series {
		if len(s.Values) > 0 {
			out = append(out, s)
		}
	}
	return array(out), nil
}

// pick makes FIRST and LAST: one series of an array; of an empty array, a
// series without points.
func pick(f func([]Series) Series) function {
	return func(_ *evaluator, call *node, args []val) (val, error) {
		if len(args) != 1 || !args[0].isSeries() {
			return val{}, unsupported(call.text, args...)
		}
		if len(args[0].series) == 0 {
			return one(Series{}), nil
		}
		return one(f(args[0].series)), nil
	}
}

// sortStats are the statistics SORT can order by: "AVG, MIN, MAX, or SUM".
var sortStats = map[string]func([]float64, int) float64{
	"AVG": avg, "MIN": minOf, "MAX": maxOf, "SUM": sum,
}

// fnSort is SORT(TS[], AVG|MIN|MAX|SUM, ASC|DESC[, limit]). Series whose
// statistic has no value (no points) sort last either way; ties keep their
// order.
func fnSort(_ *evaluator, call *node, args []val) (val, error) {
	bad := len(args) < 3 || len(args) > 4 || !args[0].isSeries() ||
		args[1].kind != kindKeyword || args[2].kind != kindKeyword ||
		(len(args) == 4 && args[3].kind != kindScalar)
	if bad {
		return val{}, unsupported(call.text, args...)
	}
	stat, ok := sortStats[args[1].text]
	desc := args[2].text == "DESC"
	if !ok || (!desc && args[2].text != "ASC") {
		return val{}, unsupported(call.text, args...)
	}
	type keyed struct {
		key float64
		s   Series
	}
	ss := make([]keyed, len(args[0].series))
	for i, s := range args[0].series {
		ss[i] = keyed{stat(s.Values, len(s.Values)), s}
	}
	slices.SortStableFunc(ss, func(a, b keyed) int {
		an, bn := math.IsNaN(a.key), math.IsNaN(b.key)
		switch {
		case an || bn:
			return cmp.Compare(truth(an), truth(bn))
		case desc:
			return cmp.Compare(b.key, a.key)
		}
		return cmp.Compare(a.key, b.key)
	})
	n := len(ss)
	if len(args) == 4 {
		limit := args[3].num
		if !(limit >= 0) {
			return val{}, unsupported(call.text, args...)
		}
		n = index(limit, n)
	}
	out := make([]Series, n)
	for i := range n {
		out[i] = ss[i].s
	}
	return array(out), nil
}

// fnSlice is SLICE(TS[], start[, end]): the series from start (inclusive)
// to end (exclusive), counting from 0; indexes beyond the array are
// clamped to it.
func fnSlice(_ *evaluator, call *node, args []val) (val, error) {
	if len(args) < 2 || len(args) > 3 || !args[0].isSeries() {
		return val{}, unsupported(call.text, args...)
	}
	for _, a := range args[1:] {
		if a.kind != kindScalar || math.IsNaN(a.num) {
			return val{}, unsupported(call.text, args...)
		}
	}
	ss := args[0].series
	lo, hi := index(args[1].num, len(ss)), len(ss)
	if len(args) == 3 {
		hi = index(args[2].num, len(ss))
	}
	if lo > hi {
		lo = hi
	}
	return array(slices.Clone(ss[lo:hi])), nil
}

// index converts a scalar to an index into n things, clamped to [0, n].
func index(x float64, n int) int {
	switch {
	case x <= 0:
		return 0
	case x >= float64(n):
		return n
	}
	return int(x)
}

// fnBand is ANOMALY_DETECTION_BAND(m1[, stddevs]); see Expr.Eval for how it
// differs from CloudWatch's.
func fnBand(_ *evaluator, call *node, args []val) (val, error) {
	if len(args) < 1 || len(args) > 2 || args[0].kind != kindSeries || (len(args) == 2 && args[1].kind != kindScalar) {
		return val{}, unsupported(call.text, args...)
	}
	k := 2.0
	if len(args) == 2 {
		k = math.Abs(args[1].num)
	}
	s := args[0].series[0]
	mean, sd := meanStd(s.Values)
	upper := newBuilder(strings.TrimSpace(s.Label+" Upper"), len(s.Values))
	lower := newBuilder(strings.TrimSpace(s.Label+" Lower"), len(s.Values))
	for _, t := range s.Timestamps {
		upper.add(t, mean+k*sd)
		lower.add(t, mean-k*sd)
	}
	return array([]Series{upper.s, lower.s}), nil
}

// fnFill is FILL(m, value|series|REPEAT|LINEAR): the series with a point at
// every Period of the request's range (see grid), the missing ones filled
// with a scalar; with another series' value at that timestamp, if it has
// one; with REPEAT, "the most recent actual value" before the gap; with
// LINEAR, by linear interpolation between the values at the beginning and
// the end of the gap. REPEAT leaves a gap at the start, and LINEAR gaps at
// either end, unfilled: they have no value to repeat or interpolate from.
func fnFill(ev *evaluator, call *node, args []val) (val, error) {
	if len(args) != 2 || !args[0].isSeries() {
		return val{}, unsupported(call.text, args...)
	}
	var fill func(grid []time.Time, s Series) Series
	switch filler := args[1]; {
	case filler.kind == kindScalar:
		fill = func(grid []time.Time, s Series) Series {
			return fillGaps(grid, s, func(time.Time, int) (float64, bool) { return filler.num, true })
		}
	case filler.kind == kindSeries:
		fill = func(grid []time.Time, s Series) Series {
			return fillGaps(grid, s, func(t time.Time, _ int) (float64, bool) { return lookup(filler.series[0], t) })
		}
	case filler.kind == kindKeyword && filler.text == "REPEAT":
		fill = func(grid []time.Time, s Series) Series {
			return fillGaps(grid, s, func(_ time.Time, next int) (float64, bool) {
				if next == 0 {
					return 0, false
				}
				return s.Values[next-1], true
			})
		}
	case filler.kind == kindKeyword && filler.text == "LINEAR":
		fill = func(grid []time.Time, s Series) Series {
			return fillGaps(grid, s, func(t time.Time, next int) (float64, bool) {
				if next == 0 || next == len(s.Values) {
					return 0, false
				}
				t0, t1 := s.Timestamps[next-1], s.Timestamps[next]
				v0, v1 := s.Values[next-1], s.Values[next]
				return v0 + (v1-v0)*float64(t.Sub(t0))/float64(t1.Sub(t0)), true
			})
		}
	default:
		return val{}, unsupported(call.text, args...)
	}
	return mapSeries(args[0], func(s Series) Series { return fill(ev.grid(s), s) }), nil
}

// fillGaps returns s with a point at every timestamp of grid, which holds
// all of s's. A missing point gets filler's value, if it gives one; filler
// is told the index of s's next actual point after the gap.
func fillGaps(grid []time.Time, s Series, filler func(t time.Time, next int) (float64, bool)) Series {
	out := newBuilder(s.Label, len(grid))
	next := 0
	for _, t := range grid {
		if next < len(s.Timestamps) && s.Timestamps[next].Equal(t) {
			out.add(t, s.Values[next])
			next++
			continue
		}
		if v, ok := filler(t, next); ok {
			out.add(t, v)
		}
	}
	return out.s
}

// grid is the timestamps a non-sparse version of s has: every Period from
// s's first point (or from Start, if it has none) that falls in [Start,
// End), together with s's own timestamps. Anchoring on s's points keeps the
// grid in phase with them whatever Start is. Without a range in env, s's
// own span is used; without a Period, the smallest gap between s's points.
func (ev *evaluator) grid(s Series) []time.Time {
	period := ev.env.Period
	if period <= 0 {
		period = minGap(s.Timestamps)
	}
	start, end := ev.env.Start, ev.env.End
	if start.IsZero() || end.IsZero() || !start.Before(end) {
		if len(s.Timestamps) == 0 {
			return nil
		}
		start, end = s.Timestamps[0], s.Timestamps[len(s.Timestamps)-1].Add(1)
	}
	anchor := start
	if len(s.Timestamps) > 0 {
		anchor = s.Timestamps[0]
	}
	var grid []time.Time
	if period > 0 {
		grid = steps(anchor, start, end, period)
	}
	return mergeTimes(grid, s.Timestamps)
}

// steps returns anchor + k·period for every integer k that falls in
// [start, end), at most maxPoints of them.
func steps(anchor, start, end time.Time, period time.Duration) []time.Time {
	t := anchor.Add(start.Sub(anchor) / period * period)
	for i := 0; t.Before(start) && i < maxPoints; i++ {
		t = t.Add(period)
	}
	var out []time.Time
	for ; t.Before(end) && !t.Before(start) && len(out) < maxPoints; t = t.Add(period) {
		out = append(out, t)
	}
	return out
}

// minGap is the smallest interval between consecutive timestamps, or 0.
func minGap(ts []time.Time) time.Duration {
	var gap time.Duration
	for i := 1; i < len(ts); i++ {
		if d := ts[i].Sub(ts[i-1]); d > 0 && (gap == 0 || d < gap) {
			gap = d
		}
	}
	return gap
}

// mergeTimes merges two ascending lists of distinct timestamps.
func mergeTimes(a, b []time.Time) []time.Time {
	out := make([]time.Time, 0, len(a)+len(b))
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		switch {
		case j == len(b) || (i < len(a) && a[i].Before(b[j])):
			out = append(out, a[i])
			i++
		case i == len(a) || b[j].Before(a[i]):
			out = append(out, b[j])
			j++
		default:
			out = append(out, a[i])
			i++
			j++
		}
	}
	return out
}
