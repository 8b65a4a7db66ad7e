package tsdb

import (
	"math"
	"strconv"
	"strings"
)

// statKind is a statistic family, per "CloudWatch statistics definitions".
type statKind uint8

const (
	statSampleCount statKind = iota
	statAverage
	statSum
	statMinimum
	statMaximum
	statPercentile    // pNN.NN
	statTrimmedMean   // tmNN, TM(a:b), IQM
	statWinsorized    // wmNN, WM(a:b)
	statTrimmedCount  // tcNN, TC(a:b)
	statTrimmedSum    // tsNN, TS(a:b)
	statPercentileRnk // PR(a:b)
)

// stat is a parsed statistic name. For the bounded families, lo and hi
// are the bounds: percentages (0 to 100) when pct is set, else absolute
// values, where the range is (lo, hi] as AWS defines it; a missing bound
// is -Inf/+Inf (absolute) or 0/100 (percent).
type stat struct {
	kind   statKind
	p      float64 // the percentile, for statPercentile
	lo, hi float64
	pct    bool
}

// boundedPrefixes are the two-letter extended statistics with bounds.
var boundedPrefixes = map[string]statKind{
	"tm": statTrimmedMean,
	"wm": statWinsorized,
	"tc": statTrimmedCount,
	"ts": statTrimmedSum,
	"pr": statPercentileRnk,
}

// maxDecimals is how many decimal places a bound may have ("up to 10
// decimal places" in the statistics definitions).
const maxDecimals = 10

// ValidStatistic reports whether name is a statistic CloudWatch accepts:
// SampleCount, Average, Sum, Minimum, Maximum, a percentile p0 to p100
// (p99, p99.9), a trimmed mean, winsorized mean, trimmed count or trimmed
// sum with an upper percentage (tm99, wm98, tc90, ts90) or bounds in
// parentheses, either both percentages or both absolute values (TM(2%:98%),
// TC(0.005:0.030), TS(80%:)), a percentile rank with absolute bounds
// (PR(:300), PR(100:2000)), or IQM. The extended statistics' letters may be
// either case, as the AWS console and SDKs write them both ways.
func ValidStatistic(name string) bool {
	_, ok := parseStat(name)
	return ok
}

// parseStat parses a statistic name; see ValidStatistic.
func parseStat(name string) (stat, bool) {
	switch name { // the statistics every datapoint has
	case "SampleCount":
		return stat{kind: statSampleCount}, true
	case "Average":
		return stat{kind: statAverage}, true
	case "Sum":
		return stat{kind: statSum}, true
	case "Minimum":
		return stat{kind: statMinimum}, true
	case "Maximum":
		return stat{kind: statMaximum}, true
	}
	if strings.EqualFold(name, "IQM") {
		return stat{kind: statTrimmedMean, lo: 25, hi: 75, pct: true}, true
	}
	if len(name) >= 3 {
		if k, ok := boundedPrefixes[strings.ToLower(name[:2])]; ok {
			return parseBounded(k, name[2:])
		}
	}
	if len(name) >= 2 && (name[0] == 'p' || name[0] == 'P') {
		p, ok := parseNumber(name[1:])
		if !ok || p > 100 {
			return stat{}, false
		}
		return stat{kind: statPercentile, p: p}, true
	}
	return stat{}, false
}

// parseBounded parses what follows a bounded statistic's two letters:
// "NN" (an upper percentage) or "(lo:hi)".
func parseBounded(k statKind, s string) (stat, bool) {
	st := stat{kind: k}
	if s[0] != '(' {
		if k == statPercentileRnk {
			return stat{}, false // a rank needs absolute bounds
		}
		v, ok := parseNumber(s)
		if !ok || v > 100 {
			return stat{}, false
		}
		st.lo, st.hi, st.pct = 0, v, true
		return st, true
	}
	if s[len(s)-1] != ')' {
		return stat{}, false
	}
	los, his, ok := strings.Cut(s[1:len(s)-1], ":")
	if !ok || los == "" && his == "" {
		return stat{}, false
	}
	lo, loPct, okLo := parseBound(los)
	hi, hiPct, okHi := parseBound(his)
	if !okLo || !okHi {
		return stat{}, false
	}
	switch {
	case los != "" && his != "" && loPct != hiPct:
		return stat{}, false // one kind of bound at a time
	case los != "":
		st.pct = loPct
	default:
		st.pct = hiPct
	}
	if st.pct && k == statPercentileRnk {
		return stat{}, false
	}
	if st.pct {
		if los == "" {
			lo = 0
		}
		if his == "" {
			hi = 100
		}
		if lo > 100 || hi > 100 {
			return stat{}, false
		}
	} else {
		if los == "" {
			lo = math.Inf(-1)
		}
		if his == "" {
			hi = math.Inf(1)
		}
	}
	if lo >= hi {
		return stat{}, false
	}
	st.lo, st.hi = lo, hi
	return st, true
}

// parseBound parses one side of "(lo:hi)": empty, a number, or a number
// with "%".
func parseBound(s string) (v float64, pct, ok bool) {
	if s == "" {
		return 0, false, true
	}
	if strings.HasSuffix(s, "%") {
		pct = true
		s = s[:len(s)-1]
	}
	v, ok = parseNumber(s)
	return v, pct, ok
}

// parseNumber parses a non-negative decimal with at most maxDecimals
// places and no sign, exponent or spaces, the form statistic names use.
func parseNumber(s string) (float64, bool) {
	intPart, frac, hasDot := strings.Cut(s, ".")
	if intPart == "" || !allDigits(intPart) || hasDot && (frac == "" || len(frac) > maxDecimals || !allDigits(frac)) {
		return 0, false
	}
	v, err := strconv.ParseFloat(s, 64)
	return v, err == nil
}

// allDigits reports whether s is all ASCII digits.
func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// Statistic returns the bucket's value of a CloudWatch statistic (see
// ValidStatistic for the names). ok is false for an invalid name, for an
// Average of no samples, and for the percentile family when the values are
// unknown: when some of the data came as a statistic set (unless its
// SampleCount was 1 or its Minimum equalled its Maximum), when any value is
// negative ("Percentile statistics are not available for metrics when any
// of the metric values are negative numbers"), or when a trimmed mean has
// no values in range. Percentiles of binned distributions are within 1% of
// the true value.
func (b Bucket) Statistic(name string) (v float64, ok bool) {
	st, ok := parseStat(name)
	if !ok {
		return 0, false
	}
	switch st.kind {
	case statSampleCount:
		return b.SampleCount, true
	case statAverage:
		if b.SampleCount == 0 {
			return 0, false
		}
		return b.Sum / b.SampleCount, true
	case statSum:
		return b.Sum, true
	case statMinimum:
		return b.Min, true
	case statMaximum:
		return b.Max, true
	}
	e := b.values()
	if e == nil || b.Min < 0 {
		return 0, false
	}
	w := 0.0
	for _, x := range e {
		w += x.w
	}
	if !(w > 0) {
		return 0, false
	}
	switch st.kind {
	case statPercentile:
		return clamp(quantile(e, w, st.p/100), b.Min, b.Max), true
	case statPercentileRnk:
		n, _ := inRange(e, st.lo, st.hi)
		return 100 * n / w, true
	case statWinsorized:
		lo, hi := st.lo, st.hi
		if st.pct {
			lo, hi = quantile(e, w, lo/100), quantile(e, w, hi/100)
		}
		s := 0.0
		for _, x := range e {
			s += clamp(x.v, lo, hi) * x.w
		}
		return s / w, true
	}
	var n, s float64
	if st.pct {
		n, s = trimmed(e, w*st.lo/100, w*st.hi/100)
	} else {
		n, s = inRange(e, st.lo, st.hi)
	}
	switch st.kind {
	case statTrimmedCount:
		return n, true
	case statTrimmedSum:
		return s, true
	}
	if n == 0 {
		return 0, false
	}
	return s / n, true
}

// values returns the bucket's distribution as sorted weighted values, or
// nil when it is unknown.
func (b *Bucket) values() []wv {
	switch {
	case b.dist != nil:
		return b.dist.e
	case b.Min == b.Max:
		return []wv{{b.Min, b.SampleCount}}
	}
	return nil
}

// quantile returns the smallest value with at least q of the weight w at
// or below it (the nearest-rank percentile; q 0 is the minimum). The
// comparison allows for rounding in q*w, so p99 of 100 values is the 99th.
func quantile(e []wv, w, q float64) float64 {
	target := q*w - w*1e-12
	cum := 0.0
	for _, x := range e {
		cum += x.w
		if cum >= target {
			return x.v
		}
	}
	return e[len(e)-1].v
}

// trimmed returns the weight and weighted sum of the values ranked between
// lo and hi (weights, not fractions), counting a value that straddles a
// boundary in part: AWS notes trimmed counts are interpolated and may be
// fractional.
func trimmed(e []wv, lo, hi float64) (n, s float64) {
	cum := 0.0
	for _, x := range e {
		a, b := max(cum, lo), min(cum+x.w, hi)
		if b > a {
			n += b - a
			s += (b - a) * x.v
		}
		cum += x.w
	}
	return n, s
}

// inRange returns the weight and weighted sum of the values in (lo, hi]:
// "percentile rank is exclusive on the lower bound and inclusive on the
// upper bound", and trimmed means with absolute bounds drop values at or
// below the lower one.
func inRange(e []wv, lo, hi float64) (n, s float64) {
	for _, x := range e {
		if x.v > lo && x.v <= hi {
			n += x.w
			s += x.w * x.v
		}
	}
	return n, s
}

// clamp limits v to [lo, hi].
func clamp(v, lo, hi float64) float64 {
	return min(max(v, lo), hi)
}
