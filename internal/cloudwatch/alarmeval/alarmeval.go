// Package alarmeval decides a CloudWatch metric alarm's state from the data
// points of its evaluation range, and words the decision the way CloudWatch
// does: the StateReason sentence, the StateReasonData JSON, and the
// HistorySummary and HistoryData of the StateUpdate history item.
//
// The rules come from the CloudWatch User Guide's "Using Amazon CloudWatch
// alarms" (AlarmThatSendsEmail.html): "Evaluating an alarm", "Configuring how
// CloudWatch alarms treat missing data" with its two tables of examples,
// "Avoiding premature transitions to alarm state" and "Percentile-based
// CloudWatch alarms and low data samples". The wording and JSON shapes come
// from state reasons and reason data that real alarms produced, as captured
// in SNS notifications, EventBridge events and DescribeAlarms output. Where
// neither says, the choice made here is written on the code that makes it.
//
// Nothing here reads a clock: the caller passes the evaluation time.
package alarmeval

import (
	"math"
	"strconv"
	"strings"
	"time"
)

// Alarm states.
const (
	StateOK               = "OK"
	StateAlarm            = "ALARM"
	StateInsufficientData = "INSUFFICIENT_DATA"
)

// InitialReason is the StateReason of an alarm that has not been evaluated
// yet, as DescribeAlarms shows it right after PutMetricAlarm or
// PutCompositeAlarm creates the alarm.
const InitialReason = "Unchecked: Initial alarm creation"

// Treatments of missing data (PutMetricAlarm TreatMissingData).
const (
	TreatMissing      = "missing"
	TreatIgnore       = "ignore"
	TreatBreaching    = "breaching"
	TreatNotBreaching = "notBreaching"
)

// Comparison is a PutMetricAlarm ComparisonOperator.
type Comparison string

// The comparison operators. The last three compare a value with an anomaly
// detection band instead of a static threshold.
const (
	GreaterThanOrEqualToThreshold            Comparison = "GreaterThanOrEqualToThreshold"
	GreaterThanThreshold                     Comparison = "GreaterThanThreshold"
	LessThanThreshold                        Comparison = "LessThanThreshold"
	LessThanOrEqualToThreshold               Comparison = "LessThanOrEqualToThreshold"
	LessThanLowerOrGreaterThanUpperThreshold Comparison = "LessThanLowerOrGreaterThanUpperThreshold"
	LessThanLowerThreshold                   Comparison = "LessThanLowerThreshold"
	GreaterThanUpperThreshold                Comparison = "GreaterThanUpperThreshold"
)

// Band reports whether c compares with an anomaly detection band.
func (c Comparison) Band() bool {
	switch c {
	case LessThanLowerOrGreaterThanUpperThreshold, LessThanLowerThreshold, GreaterThanUpperThreshold:
		return true
	}
	return false
}

// Breaching reports whether p is on the ALARM side of the comparison.
func (c Comparison) Breaching(p Point, threshold float64) bool {
	v := p.Value
	switch c {
	case GreaterThanOrEqualToThreshold:
		return v >= threshold
	case GreaterThanThreshold:
		return v > threshold
	case LessThanThreshold:
		return v < threshold
	case LessThanOrEqualToThreshold:
		return v <= threshold
	case LessThanLowerOrGreaterThanUpperThreshold:
		return v < p.Lower || v > p.Upper
	case LessThanLowerThreshold:
		return v < p.Lower
	case GreaterThanUpperThreshold:
		return v > p.Upper
	}
	return false
}

// phrase is how a state reason says the comparison, e.g. "greater than or
// equal to", before "the threshold (...)".
func (c Comparison) phrase() string {
	switch c {
	case GreaterThanOrEqualToThreshold:
		return "greater than or equal to"
	case GreaterThanThreshold:
		return "greater than"
	case LessThanThreshold:
		return "less than"
	case LessThanOrEqualToThreshold:
		return "less than or equal to"
	}
	return ""
}

// Config is what the evaluation needs of a metric alarm.
type Config struct {
	// Period is the length of one data point.
	Period time.Duration
	// EvaluationPeriods is N, the number of data points evaluated.
	EvaluationPeriods int
	// DatapointsToAlarm is M, how many of the N must breach for ALARM. Zero
	// means the alarm has none set: M is N, and the state reason uses the
	// older wording without "out of the last" (see [Evaluate]).
	DatapointsToAlarm int
	// Threshold is the static threshold; band comparisons ignore it.
	Threshold float64
	// Comparison is the ComparisonOperator.
	Comparison Comparison
	// TreatMissingData is "missing" (the default, also for ""), "ignore",
	// "breaching" or "notBreaching".
	TreatMissingData string
	// Statistic is the alarm's Statistic or ExtendedStatistic, e.g.
	// "Average" or "p99", as StateReasonData names it.
	Statistic string
	// Percentile says Statistic is a percentile (pNN), to which
	// EvaluateLowSampleCountPercentile applies.
	Percentile bool
	// EvaluateLowSampleCountPercentile is "evaluate" (the default) or
	// "ignore".
	EvaluateLowSampleCountPercentile string
	// MetricMath says the alarm watches a metric math expression (Metrics
	// rather than MetricName). Its reason data has no statistic, and its
	// evaluated data points no sample count. Band comparisons are always on
	// an expression, so they are treated as MetricMath whatever this says.
	MetricMath bool
	// Unit is the alarm's Unit, if set; reason data then carries it.
	Unit string
}

// Point is one period's data point.
type Point struct {
	// Timestamp is the start of the period.
	Timestamp time.Time
	// Value is the statistic (or expression value) for the period.
	Value float64
	// SampleCount is the number of raw values behind Value.
	SampleCount float64
	// Lower and Upper are the anomaly detection band at this point, for
	// band comparisons.
	Lower, Upper float64
}

// Outcome is the decision of one evaluation.
type Outcome struct {
	// State is the alarm's state after the evaluation: "OK", "ALARM" or
	// "INSUFFICIENT_DATA". When Keep is true it is the current state.
	State string
	// Keep is true when the alarm must stay as it is, reason included:
	// missing data treated as "ignore", or a percentile alarm with too few
	// samples and EvaluateLowSampleCountPercentile "ignore".
	Keep bool
	// Reason is the StateReason; empty when Keep.
	Reason string
	// ReasonData is the StateReasonData JSON; empty when Keep.
	ReasonData string
}

// Range is how many of the most recent periods the evaluator must fetch for
// cfg: the evaluation range. The guide: "CloudWatch attempts to retrieve a
// higher number of data points than the number specified as Evaluation
// Periods ... The exact number ... depends on the length of the alarm period
// and whether it is based on a metric with standard resolution or high
// resolution". Its only worked example is Evaluation Periods 3 with an
// evaluation range of 5; AWS publishes no formula, so the range here is
// always EvaluationPeriods + 2, which reproduces that example.
func Range(cfg Config) int {
	return evaluationPeriods(cfg) + 2
}

// Cadence is how often CloudWatch evaluates an alarm, and so the unit its
// windows are aligned to: every minute for periods of a minute or more,
// every 10 seconds for high-resolution periods (10, 20 or 30 seconds), and
// every hour when EvaluationPeriods × Period exceeds one day (the guide's
// "Evaluating an alarm" and "Example of evaluating a multi-day alarm").
func Cadence(cfg Config) time.Duration {
	switch {
	case cfg.Period > 0 && cfg.Period < time.Minute:
		return 10 * time.Second
	case time.Duration(evaluationPeriods(cfg))*cfg.Period > 24*time.Hour:
		return time.Hour
	}
	return time.Minute
}

// Window is the time span of the evaluation range at now: Range(cfg)
// periods ending at now truncated to the Cadence, so the newest period is
// the newest complete one. The guide: with a 5-minute period, "at the end
// of minute 5 the alarm evaluates based on data from minutes 1 to 5. Then at
// the end of minute 6, ... from minutes 2 to 6"; real reason data agrees
// (queryDate 06:01:18, newest data point 05:56 for a 300-second period).
func Window(cfg Config, now time.Time) (start, end time.Time) {
	end = now.UTC().Truncate(Cadence(cfg))
	return end.Add(-time.Duration(Range(cfg)) * period(cfg)), end
}

func evaluationPeriods(cfg Config) int {
	return max(cfg.EvaluationPeriods, 1)
}

func period(cfg Config) time.Duration {
	if cfg.Period <= 0 {
		return time.Minute
	}
	return cfg.Period
}

// datapointsToAlarm is M, within 1..N.
func datapointsToAlarm(cfg Config) int {
	n := evaluationPeriods(cfg)
	if cfg.DatapointsToAlarm <= 0 || cfg.DatapointsToAlarm > n {
		return n
	}
	return cfg.DatapointsToAlarm
}

func treatment(cfg Config) string {
	switch cfg.TreatMissingData {
	case TreatIgnore, TreatBreaching, TreatNotBreaching:
		return cfg.TreatMissingData
	}
	return TreatMissing
}

// slot is one period of the evaluation range.
type slot struct {
	start  time.Time
	point  Point
	real   bool // the period has data
	filled bool // a missing period filled in by TreatMissingData
	breach bool
}

// Evaluate decides the alarm's state at now from points: the data points
// of the evaluation range (see [Window]), ascending, at most one per
// period, periods without data absent. Points outside the range are
// ignored; of two in one period the later wins. current is the alarm's
// state before the evaluation.
//
// The decision follows "How alarm state is evaluated when data is missing":
//
//   - With at least N real data points in the range, the most recent N are
//     evaluated and TreatMissingData is not consulted: ALARM when at least
//     M of them breach, otherwise OK.
//   - With fewer, breaching and notBreaching fill in the most recent missing
//     periods ("CloudWatch uses missing data points only as few times as
//     possible") up to N and evaluate those with the real ones.
//   - missing and ignore evaluate the real points alone: ALARM when M of
//     them breach, OK when any does not. When every real point breaches but
//     fewer than M, the alarm goes to ALARM only if the oldest breaching
//     point is at least M periods old ("Avoiding premature transitions to
//     alarm state"); otherwise missing gives INSUFFICIENT_DATA and ignore
//     keeps the current state. With no data at all, missing gives
//     INSUFFICIENT_DATA and ignore keeps the state. (The prose of the
//     premature-transition section would also put "0 - X - -" with 2 of 3
//     in ALARM; the guide's table says OK, and the table is followed.)
//
// A percentile alarm with EvaluateLowSampleCountPercentile "ignore" keeps
// its state while any evaluated data point has fewer samples than the
// percentile needs: 10/(1-p) for p in [0.5, 1), 10/p for p in (0, 0.5).
func Evaluate(cfg Config, points []Point, now time.Time, current string) Outcome {
	n, m := evaluationPeriods(cfg), datapointsToAlarm(cfg)
	p := period(cfg)
	start, _ := Window(cfg, now)
	slots := make([]slot, Range(cfg))
	for i := range slots {
		slots[i].start = start.Add(time.Duration(i) * p)
	}
	for _, pt := range points {
		d := pt.Timestamp.Sub(start)
		if d < 0 {
			continue
		}
		i := int(d / p)
		if i >= len(slots) {
			continue
		}
		slots[i].point, slots[i].real = pt, true
		slots[i].breach = cfg.Comparison.Breaching(pt, cfg.Threshold)
	}
	var real []int
	for i := range slots {
		if slots[i].real {
			real = append(real, i)
		}
	}
	keep := Outcome{State: current, Keep: true}
	treat := treatment(cfg)

	// evaluated lists the slots the decision rests on, oldest first.
	var evaluated []int
	var state string
	switch {
	case len(real) >= n:
		evaluated = real[len(real)-n:]
	case treat == TreatBreaching || treat == TreatNotBreaching:
		evaluated = fill(slots, real, n, treat == TreatBreaching)
	default:
		evaluated = fill(slots, real, n, false)
		for _, i := range evaluated {
			slots[i].filled = false // missing and ignore fill nothing in
		}
		breaching, good := 0, 0
		for _, i := range real {
			if slots[i].breach {
				breaching++
			} else {
				good++
			}
		}
		switch {
		case breaching >= m:
			state = StateAlarm
		case good > 0:
			state = StateOK
		case treat == TreatIgnore:
			return keep
		case breaching > 0 && len(slots)-real[0] >= m:
			state = StateAlarm // premature-transition rule: the oldest breach has aged
		default:
			if lowSamples(cfg, slots, evaluated) {
				return keep
			}
			unknown := n - len(real)
			return Outcome{
				State:      StateInsufficientData,
				Reason:     "Insufficient Data: " + count(unknown, "datapoint") + " " + wasWere(unknown) + " unknown.",
				ReasonData: reasonData(cfg, slots, evaluated, now),
			}
		}
	}
	if lowSamples(cfg, slots, evaluated) {
		return keep
	}
	if state == "" {
		breaching := 0
		for _, i := range evaluated {
			if slots[i].breach {
				breaching++
			}
		}
		state = StateOK
		if breaching >= m {
			state = StateAlarm
		}
	}
	return Outcome{
		State:      state,
		Reason:     reason(cfg, slots, evaluated, state),
		ReasonData: reasonData(cfg, slots, evaluated, now),
	}
}

// fill returns the real slots plus the most recent missing ones, up to n
// slots, oldest first; the missing ones it adds are marked filled and take
// breach as their breaching.
func fill(slots []slot, real []int, n int, breach bool) []int {
	need := n - len(real)
	chosen := make([]bool, len(slots))
	for _, i := range real {
		chosen[i] = true
	}
	for i := len(slots) - 1; i >= 0 && need > 0; i-- {
		if !slots[i].real {
			slots[i].filled, slots[i].breach = true, breach
			chosen[i] = true
			need--
		}
	}
	var out []int
	for i, c := range chosen {
		if c {
			out = append(out, i)
		}
	}
	return out
}

// lowSamples reports whether a percentile alarm that ignores low sample
// counts must skip this evaluation.
func lowSamples(cfg Config, slots []slot, evaluated []int) bool {
	if !cfg.Percentile || cfg.EvaluateLowSampleCountPercentile != "ignore" {
		return false
	}
	need, ok := samplesNeeded(cfg.Statistic)
	if !ok {
		return false
	}
	for _, i := range evaluated {
		if slots[i].real && slots[i].point.SampleCount < need {
			return true
		}
	}
	return false
}

// samplesNeeded is the sample count below which a percentile statistic
// such as "p99" counts as a low sample: 10/(1-p) for p in [0.5, 1) and
// 10/p for p in (0, 0.5), the guide's "Percentile-based CloudWatch alarms
// and low data samples". Computed on the percentage, 1000/(100-pct), so
// that p99 needs exactly 1000.
func samplesNeeded(stat string) (float64, bool) {
	if len(stat) < 2 || (stat[0] != 'p' && stat[0] != 'P') {
		return 0, false
	}
	pct, err := strconv.ParseFloat(stat[1:], 64)
	if err != nil || pct <= 0 || pct >= 100 || math.IsNaN(pct) {
		return 0, false
	}
	var need float64
	if pct >= 50 {
		need = 1000 / (100 - pct)
	} else {
		need = 1000 / pct
	}
	// Float noise (100-99.9 is 0.0999...) must not raise the bar past an
	// integer it only just exceeds.
	return math.Ceil(need - 1e-9), true
}

// count renders "1 datapoint" or "3 datapoints".
func count(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return strconv.Itoa(n) + " " + noun + "s"
}

func wasWere(n int) string {
	if n == 1 {
		return "was"
	}
	return "were"
}

// JavaDouble renders f the way CloudWatch (a Java service) renders doubles
// in state reasons and reason data: Java's Double.toString, so 2 is "2.0",
// 1e7 is "1.0E7" and 0.0001 is "1.0E-4".
func JavaDouble(f float64) string {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	case f == 0:
		if math.Signbit(f) {
			return "-0.0"
		}
		return "0.0"
	}
	if a := math.Abs(f); a >= 1e-3 && a < 1e7 {
		s := strconv.FormatFloat(f, 'f', -1, 64)
		if !strings.Contains(s, ".") {
			s += ".0"
		}
		return s
	}
	s := strconv.FormatFloat(f, 'E', -1, 64)
	mant, exp, _ := strings.Cut(s, "E")
	if !strings.Contains(mant, ".") {
		mant += ".0"
	}
	neg := strings.HasPrefix(exp, "-")
	exp = strings.TrimLeft(strings.TrimLeft(exp, "+-"), "0")
	if neg {
		exp = "-" + exp
	}
	return mant + "E" + exp
}

// ReasonTime is how a state reason dates a data point: "(23/11/26
// 12:00:00)" without the parentheses, UTC.
func ReasonTime(t time.Time) string {
	return t.UTC().Format("02/01/06 15:04:05")
}

// DataTime is how reason data and history data write times:
// "2026-11-23T12:00:00.000+0000", UTC.
func DataTime(t time.Time) string {
	return t.UTC().Format("2006-01-02T15:04:05.000-0700")
}
