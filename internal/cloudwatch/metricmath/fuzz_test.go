package metricmath

import (
	"errors"
	"testing"
)

// fuzzSeeds are expressions from the tests and the guide, valid and not.
var fuzzSeeds = []string{
	"m1 + m2 * 2", "2 ^ 3 ^ 2", "-2 ^ 2", "m1 > 15 AND m2 > 15 OR NOT e1",
	"m1 >= 30 && m2 != 0 || m1 <= m2", "SUM([m1, m2]) / AVG(m2)", "SUM(100 / [m1, m2])",
	"AVG([m1, m2] / m1)", "METRICS() * 100", `SUM(METRICS("m"))`, "SUM([METRICS(“1”), METRICS('2')])",
	"FILL(m1, 0)", "FILL(METRICS(), REPEAT)", "FILL(e1, LINEAR)", "FILL(m2, m1)", "FILL(empty, MIN(m1))",
	"IF(m1 < 25, m1)", "IF(m1, m2, 5)", "IF(0, m1)", "IF(e1, 1, 0)",
	"RATE(m1)", "DIFF(e1)", "DIFF_TIME(m1)", "RUNNING_SUM([m1, m2])",
	"ABS(m1 - m2)", "CEIL(m1 / 7)", "FLOOR(METRICS())", "LOG(m1)", "LOG10(e1)",
	"m1 / PERIOD(m1)", "TIME_SERIES(MAX(m1))", "REMOVE_EMPTY([m1, empty])",
	"FIRST(SORT(METRICS(), AVG, DESC, 1))", "LAST(SLICE(e1, 1, 2))", "METRIC_COUNT(e1)",
	"DATAPOINT_COUNT([m1, e1])", "STDDEV(m1)", "ANOMALY_DETECTION_BAND(m1, 3)",
	"LAST(ANOMALY_DETECTION_BAND(e1))", "IF(DAY(m1) < 6 AND HOUR(m1) >= 9, EPOCH(m1))",
	"MINUTE(m1) + DATE(m1) + MONTH(m1) + YEAR(m1)",
	"", "m1 +", "(m1", "FOO(m1)", "SEARCH('x', 'Average', 300)", "1e999", "[m1,]", "m9",
	"((((((((((m1))))))))))", "- - - m1", "NOT NOT m1", "1 / 0", "10 ^ 400 - 10 ^ 400",
}

// FuzzParse checks that no input makes Parse panic or return anything but
// an *Error, and that whatever parses evaluates, in a small env, to an
// *Error or a well-formed Value, and prints as text that parses back to
// the same expression.
func FuzzParse(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s)
	}
	env := testEnv()
	env.Periods = nil
	f.Fuzz(func(t *testing.T, src string) {
		e, err := Parse(src)
		if err != nil {
			var me *Error
			if !errors.As(err, &me) {
				t.Fatalf("Parse(%q) error %T is not *Error", src, err)
			}
			return
		}
		e.Refs()
		e.UsesMetrics()
		again, err := Parse(e.String())
		if err != nil || again.String() != e.String() {
			t.Fatalf("Parse(%q).String() = %q does not parse back: %v", src, e.String(), err)
		}
		v, err := e.Eval(env)
		if err != nil {
			var me *Error
			if !errors.As(err, &me) {
				t.Fatalf("Eval(%q) error %T is not *Error", src, err)
			}
			return
		}
		if msg := checkValue(v); msg != "" {
			t.Fatalf("Eval(%q): %s", src, msg)
		}
	})
}
