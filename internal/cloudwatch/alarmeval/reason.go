package alarmeval

import (
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// longList is the count of data points from which a reason stops listing
// them inline and instead says "The most recent datapoints which crossed
// the threshold: [...]" with the five newest. Real reasons list 1 to 4 data
// points inline ("4 out of the last 5 datapoints [...]") and switch at 5
// ("5 out of the last 5 datapoints were less than the threshold (65.0). The
// most recent datapoints which crossed the threshold: [five]", and likewise
// for 24 and 30).
const longList = 5

// reason words the StateReason of a transition to state (OK or ALARM) that
// rests on the evaluated slots. The wordings, from real alarms:
//
//	Threshold Crossed: 1 out of the last 1 datapoints [55.0 (23/11/26 12:00:00)] was greater than the threshold (50.0) (minimum 1 datapoint for OK -> ALARM transition).
//	Threshold Crossed: 1 out of the last 2 datapoints [0.0 (02/06/23 12:28:00)] was not greater than or equal to the threshold (1.0) (minimum 1 datapoint for ALARM -> OK transition).
//	Threshold Crossed: 30 out of the last 30 datapoints were greater than the threshold (20.0). The most recent datapoints which crossed the threshold: [five] (minimum 30 datapoints for OK -> ALARM transition).
//	Thresholds Crossed: 2 out of the last 2 datapoints [a, b] were less than the lower thresholds [l1, l2] or greater than the upper thresholds [u1, u2] (minimum 2 datapoints for OK -> ALARM transition).
//	Threshold Crossed: no datapoints were received for 2 periods and 2 missing datapoints were treated as [Breaching].
//
// and, for an alarm without DatapointsToAlarm:
//
//	Threshold Crossed: 1 datapoint [21.5 (26/10/23 16:42:00)] was greater than the threshold (2.0).
//	Threshold Crossed: 24 datapoints were greater than the threshold (0.0). The most recent datapoints which crossed the threshold: [five].
//
// The count is of the evaluated data points on the new state's side
// (breaching for ALARM, not breaching for OK); the list shows the real
// ones among them, newest first. The minimum is M for ALARM and N-M+1 for
// OK: the fewest that decide it.
func reason(cfg Config, slots []slot, evaluated []int, state string) string {
	band := cfg.Comparison.Band()
	prefix := "Threshold Crossed: "
	if band {
		prefix = "Thresholds Crossed: "
	}
	toAlarm := state == StateAlarm
	var support, listed []int // newest first
	for k := len(evaluated) - 1; k >= 0; k-- {
		s := slots[evaluated[k]]
		if (s.real || s.filled) && s.breach == toAlarm {
			support = append(support, evaluated[k])
			if s.real {
				listed = append(listed, evaluated[k])
			}
		}
	}
	x := len(support)
	if len(listed) == 0 {
		// Only filled-in periods decide it. Real alarms word the all-missing
		// case so; a mix of filled periods and real ones on the other side
		// is worded the same way here (no real sample of it was found).
		f := x
		as := "NonBreaching"
		if toAlarm {
			as = "Breaching"
		}
		return prefix + "no datapoints were received for " + count(f, "period") + " and " +
			count(f, "missing datapoint") + " " + wasWere(f) + " treated as [" + as + "]."
	}
	long := x >= longList
	if len(listed) > longList {
		listed = listed[:longList]
	}
	cmp := comparison(cfg, slots, listed, toAlarm)
	var b strings.Builder
	b.WriteString(prefix)
	n, m := evaluationPeriods(cfg), datapointsToAlarm(cfg)
	if cfg.DatapointsToAlarm > 0 {
		b.WriteString(strconv.Itoa(x) + " out of the last " + strconv.Itoa(n) + " datapoints ")
	} else {
		b.WriteString(count(x, "datapoint") + " ")
	}
	if long {
		b.WriteString(wasWere(x) + " " + cmp + ". " + mostRecent(toAlarm) + ": " + pointList(slots, listed))
	} else {
		b.WriteString(pointList(slots, listed) + " " + wasWere(x) + " " + cmp)
	}
	if cfg.DatapointsToAlarm > 0 {
		minimum, dir := m, "OK -> ALARM"
		if !toAlarm {
			minimum, dir = n-m+1, "ALARM -> OK"
		}
		b.WriteString(" (minimum " + count(minimum, "datapoint") + " for " + dir + " transition)")
	}
	b.WriteString(".")
	return b.String()
}

// mostRecent introduces the list of a long reason. For ALARM it is the
// phrase real alarms use. For OK no real long sample was found; the older
// wording "The most recent datapoints: [38.958, 40.292]" of an OK reason is
// used, since an OK reason lists points that did not cross.
func mostRecent(toAlarm bool) string {
	if toAlarm {
		return "The most recent datapoints which crossed the threshold"
	}
	return "The most recent datapoints"
}

// comparison words how the listed points compare: "greater than the
// threshold (50.0)", "not greater than the upper thresholds [225.7]", ...
func comparison(cfg Config, slots []slot, listed []int, toAlarm bool) string {
	not := ""
	if !toAlarm {
		not = "not "
	}
	bounds := func(upper bool) string {
		vals := make([]string, len(listed))
		for k, i := range listed {
			v := slots[i].point.Lower
			if upper {
				v = slots[i].point.Upper
			}
			vals[k] = JavaDouble(v)
		}
		return "[" + strings.Join(vals, ", ") + "]"
	}
	switch cfg.Comparison {
	case LessThanLowerOrGreaterThanUpperThreshold:
		return not + "less than the lower thresholds " + bounds(false) + " or " + not + "greater than the upper thresholds " + bounds(true)
	case LessThanLowerThreshold:
		return not + "less than the lower thresholds " + bounds(false)
	case GreaterThanUpperThreshold:
		return not + "greater than the upper thresholds " + bounds(true)
	}
	return not + cfg.Comparison.phrase() + " the threshold (" + JavaDouble(cfg.Threshold) + ")"
}

// pointList renders "[55.0 (23/11/26 12:00:00), 54.0 (23/11/26 11:59:00)]".
func pointList(slots []slot, listed []int) string {
	parts := make([]string, len(listed))
	for k, i := range listed {
		parts[k] = JavaDouble(slots[i].point.Value) + " (" + ReasonTime(slots[i].start) + ")"
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

// reasonData renders the StateReasonData JSON, fields in AWS's order:
//
//	{"version":"1.0","queryDate":"2024-09-19T06:01:18.043+0000","startDate":"2024-09-19T05:56:00.000+0000",
//	 "unit":"Seconds","statistic":"Average","period":300,"recentDatapoints":[1.0166666666666666],"threshold":90.0,
//	 "evaluatedDatapoints":[{"timestamp":"2024-09-19T05:56:00.000+0000","sampleCount":1.0,"value":1.0166666666666666}]}
//
// startDate is the oldest evaluated real data point and is absent when
// there is none; recentDatapoints are the evaluated real values, oldest
// first; evaluatedDatapoints are every evaluated period, newest first, a
// missing one with its timestamp alone. An expression alarm has no
// statistic and its points no sampleCount; a band alarm has no threshold
// but recentLowerThresholds and/or recentUpperThresholds, and each point
// its "threshold" (for the two-sided comparison "lowerThreshold" and
// "upperThreshold", a guess: no real sample of it was found).
func reasonData(cfg Config, slots []slot, evaluated []int, now time.Time) string {
	band := cfg.Comparison.Band()
	math := cfg.MetricMath || band
	lower := cfg.Comparison == LessThanLowerOrGreaterThanUpperThreshold || cfg.Comparison == LessThanLowerThreshold
	upper := cfg.Comparison == LessThanLowerOrGreaterThanUpperThreshold || cfg.Comparison == GreaterThanUpperThreshold
	var real []int // oldest first
	for _, i := range evaluated {
		if slots[i].real {
			real = append(real, i)
		}
	}
	var j jsonWriter
	j.open('{')
	j.key("version")
	j.str("1.0")
	j.key("queryDate")
	j.str(DataTime(now))
	if len(real) > 0 {
		j.key("startDate")
		j.str(DataTime(slots[real[0]].start))
	}
	if cfg.Unit != "" {
		j.key("unit")
		j.str(cfg.Unit)
	}
	if !math && cfg.Statistic != "" {
		j.key("statistic")
		j.str(cfg.Statistic)
	}
	j.key("period")
	j.raw(strconv.FormatInt(int64(period(cfg)/time.Second), 10))
	numbers := func(name string, f func(Point) float64) {
		j.key(name)
		j.open('[')
		for _, i := range real {
			j.num(f(slots[i].point))
		}
		j.close(']')
	}
	numbers("recentDatapoints", func(p Point) float64 { return p.Value })
	if !band {
		j.key("threshold")
		j.num(cfg.Threshold)
	}
	if lower {
		numbers("recentLowerThresholds", func(p Point) float64 { return p.Lower })
	}
	if upper {
		numbers("recentUpperThresholds", func(p Point) float64 { return p.Upper })
	}
	j.key("evaluatedDatapoints")
	j.open('[')
	for k := len(evaluated) - 1; k >= 0; k-- {
		s := slots[evaluated[k]]
		j.open('{')
		j.key("timestamp")
		j.str(DataTime(s.start))
		if s.real {
			if !math {
				j.key("sampleCount")
				j.num(s.point.SampleCount)
			}
			j.key("value")
			j.num(s.point.Value)
			switch {
			case lower && upper:
				j.key("lowerThreshold")
				j.num(s.point.Lower)
				j.key("upperThreshold")
				j.num(s.point.Upper)
			case lower:
				j.key("threshold")
				j.num(s.point.Lower)
			case upper:
				j.key("threshold")
				j.num(s.point.Upper)
			}
		}
		j.close('}')
	}
	j.close(']')
	j.close('}')
	return j.String()
}

// jsonWriter writes compact JSON with fields in the order written, numbers
// as Java renders doubles, and strings escaped as Jackson does (no HTML
// escaping, non-ASCII kept).
type jsonWriter struct {
	b     strings.Builder
	comma bool // a value precedes at this level
}

func (j *jsonWriter) sep() {
	if j.comma {
		j.b.WriteByte(',')
	}
	j.comma = true
}

func (j *jsonWriter) open(c byte) {
	j.sep()
	j.b.WriteByte(c)
	j.comma = false
}

func (j *jsonWriter) close(c byte) {
	j.b.WriteByte(c)
	j.comma = true
}

func (j *jsonWriter) key(k string) {
	j.sep()
	appendString(&j.b, k)
	j.b.WriteByte(':')
	j.comma = false
}

func (j *jsonWriter) str(s string) {
	j.sep()
	appendString(&j.b, s)
}

func (j *jsonWriter) num(f float64) { j.raw(JavaDouble(f)) }

func (j *jsonWriter) raw(s string) {
	j.sep()
	j.b.WriteString(s)
}

func (j *jsonWriter) String() string { return j.b.String() }

// appendString writes s as a JSON string. Invalid UTF-8 becomes U+FFFD so
// the output is always valid JSON.
func appendString(b *strings.Builder, s string) {
	const hex = "0123456789abcdef"
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"':
			b.WriteString(`\"`)
		case r == '\\':
			b.WriteString(`\\`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x20:
			b.WriteString(`\u00`)
			b.WriteByte(hex[r>>4])
			b.WriteByte(hex[r&0xf])
		case r == utf8.RuneError:
			b.WriteRune(utf8.RuneError)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
}
