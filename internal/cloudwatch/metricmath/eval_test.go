package metricmath

import (
	"errors"
	"math"
	"slices"
	"sync"
	"testing"
	"time"
)

// evalCase is an expression and its expected result, rendered as render
// does, or "error: " and the error's message.
type evalCase struct {
	name, expr, want string
}

func runEvalCases(t *testing.T, env Env, tests []evalCase) {
	t.Helper()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := evalString(t, tc.expr, env); got != tc.want {
				t.Errorf("%s\n got %s\nwant %s", tc.expr, got, tc.want)
			}
		})
	}
}

func TestArithmetic(t *testing.T) {
	runEvalCases(t, testEnv(), []evalCase{
		{"scalar_precedence", "1 + 2 * 3", "7"},
		{"scalar_parentheses", "(1 + 2) * 3", "9"},
		{"scalar_left_associative", "10 - 4 - 3", "3"},
		{"scalar_division_left_associative", "8 / 4 / 2", "1"},
		{"scalar_power_right_associative", "2 ^ 3 ^ 2", "512"},
		{"scalar_unary_minus_below_power", "-2 ^ 2", "-4"},
		{"scalar_negative_exponent", "2 ^ -1", "0.5"},
		{"scalar_exponent_literal", "1.5e2", "150"},
		{"scalar_division_by_zero_has_no_value", "1 / 0", "NaN"},
		{"scalar_overflow_has_no_value", "10 ^ 400", "NaN"},
		{"series_times_scalar", "m1 * 2", "M1{0:60 1:40 2:0 3:0}"},
		{"scalar_times_series_keeps_the_series_label", "2 * m1 - 10", "M1{0:50 1:30 2:-10 3:-10}"},
		{"unary_minus_on_series", "-m2", "M2{0:-20 2:-20}"},
		{"series_plus_series_keeps_common_timestamps", "m1 + m2", "M1{0:50 2:20}"},
		{"series_divided_by_series", "m1 / m2", "M1{0:1.5 2:0}"},
		{"division_by_zero_drops_the_point", "m2 / m1", "M2{0:0.6666666666666666}"},
		{"series_power", "m2 ^ 2", "M2{0:400 2:400}"},
		{"series_minus_its_average", "m1 - AVG(m1)", "M1{0:17.5 1:7.5 2:-12.5 3:-12.5}"},
		{"scalar_without_value_empties_the_series", "m1 + AVG(empty)", "M1{}"},
		{"array_times_scalar", "e1 * 10", "[A{0:10 1:20 2:30} B{0:100 1:200}]"},
		{"series_minus_array", "m1 - e1", "[M1{0:29 1:18 2:-3} M1{0:20 1:0}]"},
		{"array_literal_times_scalar", "[m1, m2] * 2", "[M1{0:60 1:40 2:0 3:0} M2{0:40 2:40}]"},
		{"unary_minus_on_array", "SUM(-[m1, m2])", "{0:-50 1:-20 2:-20 3:0}"},
		{"the_guides_sum_of_quotients", "SUM(100 / [m1, m2])", "{0:8.333333333333334 1:5 2:5}"},
		{"array_literals_flatten", "METRIC_COUNT([e1, m1, [m2, e1]])", "6"},
		{"two_arrays_do_not_combine", "e1 + e1", "error: Unsupported operand type(s) for +: '[Array[TimeSeries], Array[TimeSeries]]'"},
		{"array_of_scalars", "[1, 2]", "error: Unsupported operand type(s) for []: '[Scalar, Scalar]'"},
		{"keyword_operand", "ABS(REPEAT)", "error: Unsupported operand type(s) for ABS: '[Keyword]'"},
		{"unknown_id", "m9 + 1", "error: Unrecognized metric or expression id 'm9'"},
	})
}

func TestComparisonAndLogic(t *testing.T) {
	runEvalCases(t, testEnv(), []evalCase{
		// The guide's table: metric1 [30, 20, 0, 0], metric2 [20, -, 20, -].
		{"guide_less_than_treats_missing_as_0", "m1 < m2", "M1{0:0 1:0 2:1 3:0}"},
		{"guide_at_least_scalar", "m1 >= 30", "M1{0:1 1:0 2:0 3:0}"},
		{"guide_and", "m1 > 15 AND m2 > 15", "M1{0:1 1:0 2:0 3:0}"},
		{"and_symbol", "m1 > 15 && m2 > 15", "M1{0:1 1:0 2:0 3:0}"},
		{"or", "m1 > 25 OR m2 > 15", "M1{0:1 1:0 2:1 3:0}"},
		{"or_symbol", "m1 > 25 || m2 > 15", "M1{0:1 1:0 2:1 3:0}"},
		{"equal", "m1 == 0", "M1{0:0 1:0 2:1 3:1}"},
		{"not_equal", "m1 != 0", "M1{0:1 1:1 2:0 3:0}"},
		{"less_or_equal", "m1 <= 20", "M1{0:0 1:1 2:1 3:1}"},
		{"greater", "m1 > m2", "M1{0:1 1:1 2:0 3:0}"},
		{"not", "NOT m1", "M1{0:0 1:0 2:1 3:1}"},
		{"not_of_comparison", "NOT m1 > 15", "M1{0:0 1:0 2:1 3:1}"},
		{"scalar_comparison", "1 < 2", "1"},
		{"scalar_logic", "2 == 2 AND 1 != 1", "0"},
		{"scalar_not", "NOT 0", "1"},
		{"comparison_with_valueless_scalar_drops", "m1 > AVG(empty)", "M1{}"},
		{"comparison_on_array", "e1 > 1", "[A{0:0 1:1 2:1} B{0:1 1:1}]"},
	})
}

func TestAggregates(t *testing.T) {
	runEvalCases(t, testEnv(), []evalCase{
		{"sum_of_series_is_scalar", "SUM(m1)", "50"},
		{"avg_of_series_is_scalar", "AVG(m1)", "12.5"},
		{"min_of_series_is_scalar", "MIN(m1)", "0"},
		{"max_of_series_is_scalar", "MAX(m1)", "30"},
		{"stddev_of_series_is_population", "STDDEV(p)", "1"},
		{"stddev_of_uneven_series", "STDDEV(m1)", "12.99038105676658"},
		{"aggregate_of_empty_series_has_no_value", "AVG(empty)", "NaN"},
		{"sum_of_empty_series_has_no_value", "SUM(empty)", "NaN"},
		{"sum_of_array_over_union", "SUM([m1, m2])", "{0:50 1:20 2:20 3:0}"},
		{"avg_of_array_counts_missing_as_0", "AVG([m1, m2])", "{0:25 1:10 2:10 3:0}"},
		{"min_of_array_over_present", "MIN([m1, m2])", "{0:20 1:20 2:0 3:0}"},
		{"max_of_array_over_present", "MAX([m1, m2])", "{0:30 1:20 2:20 3:0}"},
		{"stddev_of_array", "STDDEV([m1, m2])", "{0:5 1:0 2:10 3:0}"},
		{"aggregate_of_an_expressions_array", "SUM(e1)", "{0:11 1:22 2:3}"},
		{"the_guides_ratio", "SUM([m1, m2]) / AVG(m2)", "{0:2.5 1:1 2:1 3:0}"},
		{"datapoint_count_of_series", "DATAPOINT_COUNT(m1)", "4"},
		{"datapoint_count_of_empty_series", "DATAPOINT_COUNT(empty)", "0"},
		{"datapoint_count_of_array", "DATAPOINT_COUNT([m1, m2])", "{0:2 1:1 2:2 3:1}"},
		{"metric_count", "METRIC_COUNT([m1, m2, empty])", "3"},
		{"metric_count_of_a_single_series", "METRIC_COUNT(m1)", "1"},
		{"aggregate_of_scalar", "AVG(5)", "error: Unsupported operand type(s) for AVG: '[Scalar]'"},
		{"aggregate_without_arguments", "AVG()", "error: Unsupported operand type(s) for AVG: '[]'"},
		{"aggregate_of_two_arguments", "SUM(m1, m2)", "error: Unsupported operand type(s) for SUM: '[TimeSeries, TimeSeries]'"},
	})
}

func TestPointFunctions(t *testing.T) {
	runEvalCases(t, testEnv(), []evalCase{
		{"abs", "ABS(m2 - m1)", "M2{0:10 2:20}"},
		{"abs_of_scalar", "ABS(-3)", "3"},
		{"abs_of_array", "ABS(-e1)", "[A{0:1 1:2 2:3} B{0:10 1:20}]"},
		{"ceil", "CEIL(m1 / 7)", "M1{0:5 1:3 2:0 3:0}"},
		{"floor", "FLOOR(m1 / 7)", "M1{0:4 1:2 2:0 3:0}"},
		{"log10", "LOG10(p10)", "P10{0:0 1:1 2:2}"},
		{"log", "LOG(p10)", "P10{0:0 1:2.302585092994046 2:4.605170185988092}"},
		{"log_of_zero_drops_the_point", "LOG10(m1)", "M1{0:1.4771212547196624 1:1.301029995663981}"},
		{"diff", "DIFF(s)", "S{1:1 2:2 3:3 4:4}"},
		{"diff_over_a_gap", "DIFF(g)", "G{3:3}"},
		{"diff_time", "DIFF_TIME(g)", "G{3:180}"},
		{"rate_is_per_second", "RATE(s)", "S{1:0.016666666666666666 2:0.03333333333333333 3:0.05 4:0.06666666666666667}"},
		{"rate_of_array", "RATE(e1) * 60", "[A{1:1 2:1} B{1:10}]"},
		{"running_sum", "RUNNING_SUM(s)", "S{0:1 1:3 2:7 3:14 4:25}"},
		{"the_guides_running_sum_of_array", "RUNNING_SUM([m1, m2])", "[M1{0:30 1:50 2:50 3:50} M2{0:20 2:40}]"},
		{"rate_of_scalar", "RATE(5)", "error: Unsupported operand type(s) for RATE: '[Scalar]'"},
		{"ceil_of_string", `CEIL("x")`, "error: Unsupported operand type(s) for CEIL: '[String]'"},
	})
}

func TestFill(t *testing.T) {
	runEvalCases(t, testEnv(), []evalCase{
		{"with_scalar", "FILL(g, 0)", "G{0:1 1:0 2:0 3:4 4:0}"},
		{"with_scalar_expression", "FILL(g, MIN(m1))", "G{0:1 1:0 2:0 3:4 4:0}"},
		{"with_valueless_scalar_fills_nothing", "FILL(g, AVG(empty))", "G{0:1 3:4}"},
		{"repeat", "FILL(g, REPEAT)", "G{0:1 1:1 2:1 3:4 4:4}"},
		{"repeat_leaves_a_leading_gap", "FILL(lead, REPEAT)", "L{2:5 3:5 4:5}"},
		{"linear", "FILL(g, LINEAR)", "G{0:1 1:2 2:3 3:4}"},
		{"linear_leaves_gaps_at_the_ends", "FILL(lead, LINEAR)", "L{2:5}"},
		{"with_series", "FILL(m2, m1)", "M2{0:20 1:20 2:20 3:0}"},
		{"empty_series_with_scalar", "FILL(empty, 7)", "E{0:7 1:7 2:7 3:7 4:7}"},
		{"empty_series_with_repeat", "FILL(empty, REPEAT)", "E{}"},
		{"array", "FILL(e1, 0)", "[A{0:1 1:2 2:3 3:0 4:0} B{0:10 1:20 2:0 3:0 4:0}]"},
		{"array_with_series", "FILL([m2, g], s)", "[M2{0:20 1:2 2:20 3:7 4:11} G{0:1 1:2 2:4 3:4 4:11}]"},
		{"then_arithmetic_keeps_every_point", "m2 + FILL(g, 0)", "M2{0:21 2:20}"},
		{"fill_both_operands", "FILL(m2, 0) + FILL(g, 0)", "M2{0:21 1:0 2:20 3:4 4:0}"},
		{"one_argument", "FILL(m1)", "error: Unsupported operand type(s) for FILL: '[TimeSeries]'"},
		{"unknown_keyword", "FILL(m1, NEAREST)", "error: Unsupported operand type(s) for FILL: '[TimeSeries, Keyword]'"},
		{"of_scalar", "FILL(5, 0)", "error: Unsupported operand type(s) for FILL: '[Scalar, Scalar]'"},
		{"with_array", "FILL(m1, e1)", "error: Unsupported operand type(s) for FILL: '[TimeSeries, Array[TimeSeries]]'"},
	})
}

func TestFillGrid(t *testing.T) {
	half := func(label string, minutes ...float64) Series {
		s := Series{Label: label}
		for _, m := range minutes {
			s.Timestamps = append(s.Timestamps, t0.Add(time.Duration(m*float64(time.Minute))))
			s.Values = append(s.Values, m)
		}
		return s
	}
	env := testEnv()
	env.Inputs["off"] = []Series{half("O", 0.5, 2.5)}
	env.Inputs["h"] = []Series{series("H", 1, 2, gap, 4)}
	noRange := env
	noRange.Start, noRange.End, noRange.Period = time.Time{}, time.Time{}, 0
	wide := env
	wide.Start = t0.Add(-2 * time.Minute)

	t.Run("grid_is_in_phase_with_the_points", func(t *testing.T) {
		runEvalCases(t, env, []evalCase{
			{"fill", "FILL(off, 0)", "O{0.5:0.5 1.5:0 2.5:2.5 3.5:0 4.5:0}"},
		})
	})
	t.Run("grid_extends_before_the_first_point", func(t *testing.T) {
		runEvalCases(t, wide, []evalCase{
			{"fill", "FILL(g, 0)", "G{-2:0 -1:0 0:1 1:0 2:0 3:4 4:0}"},
		})
	})
	t.Run("without_range_or_period_the_series_own_span_and_step", func(t *testing.T) {
		runEvalCases(t, noRange, []evalCase{
			{"fill", "FILL(h, 0)", "H{0:1 1:2 2:0 3:4}"},
			{"a_lone_point_has_no_step", "FILL(lead, 0)", "L{2:5}"},
			{"time_series_needs_a_range", "TIME_SERIES(1)", "{}"},
		})
	})
}

func TestIf(t *testing.T) {
	runEvalCases(t, testEnv(), []evalCase{
		// The guide's "Using IF expressions" tables.
		{"guide_series_series_series", "IF(c1, c2, c3)", "C2{0:30 1:0 2:20}"},
		{"guide_series_scalar_series", "IF(c1, 5, c3)", "C1{0:5 1:5 2:20}"},
		{"guide_series_series_scalar", "IF(c1, c2, 5)", "C2{0:30 1:0 2:5 3:5}"},
		{"without_false_value", "IF(c1, c2)", "C2{0:30 1:0}"},
		{"guide_low_values", "IF(m1 < 25, m1)", "M1{1:20 2:0 3:0}"},
		{"guide_two_values", "IF(m1 < 25, 10, 2)", "M1{0:2 1:10 2:10 3:10}"},
		{"scalar_condition_true", "IF(1, m1, m2)", "M1{0:30 1:20 2:0 3:0}"},
		{"scalar_condition_false", "IF(0, m1, m2)", "M2{0:20 2:20}"},
		{"scalar_condition_false_without_false_value", "IF(0, m1)", "M1{}"},
		{"all_scalars", "IF(1 > 2, 3, 4)", "4"},
		{"negative_is_true", "IF(-1, 3, 4)", "3"},
		{"valueless_condition", "IF(AVG(empty), m1)", "M1{}"},
		{"one_argument", "IF(m1)", "error: Unsupported operand type(s) for IF: '[TimeSeries]'"},
		{"array_condition", "IF(e1, 1, 0)", "error: Unsupported operand type(s) for IF: '[Array[TimeSeries], Scalar, Scalar]'"},
	})
}

func TestArrayFunctions(t *testing.T) {
	runEvalCases(t, testEnv(), []evalCase{
		{"remove_empty", "REMOVE_EMPTY([m1, empty, m2])", "[M1{0:30 1:20 2:0 3:0} M2{0:20 2:20}]"},
		{"remove_empty_to_nothing", "REMOVE_EMPTY([empty])", "[]"},
		{"first", "FIRST(e1)", "A{0:1 1:2 2:3}"},
		{"last", "LAST(e1)", "B{0:10 1:20}"},
		{"first_of_empty_array", `FIRST(METRICS("none"))`, "{}"},
		// AVG: m1 12.5, m2 20, s 5; MAX: m1 30, m2 20, s 11.
		{"sort_desc", "SORT([m1, m2, s], AVG, DESC)", "[M2{0:20 2:20} M1{0:30 1:20 2:0 3:0} S{0:1 1:2 2:4 3:7 4:11}]"},
		{"sort_asc_with_limit", "SORT([m1, m2, s], MAX, ASC, 2)", "[S{0:1 1:2 2:4 3:7 4:11} M2{0:20 2:20}]"},
		{"sort_by_sum_limit_beyond_length", "METRIC_COUNT(SORT([m1, m2], SUM, ASC, 10))", "2"},
		{"sort_empty_series_last", "SORT([empty, p, m2], MIN, DESC)", "[M2{0:20 2:20} P{0:1 1:3} E{}]"},
		{"sort_empty_series_last_ascending", "SORT([empty, m2, p], MIN, ASC)", "[P{0:1 1:3} M2{0:20 2:20} E{}]"},
		{"guide_first_of_sort", "IF(FIRST(SORT([m1, m2], AVG, DESC)) > 15, 1, 0)", "M2{0:1 2:1}"},
		{"sort_unknown_statistic", "SORT(e1, MEDIAN, ASC)", "error: Unsupported operand type(s) for SORT: '[Array[TimeSeries], Keyword, Keyword]'"},
		{"sort_unknown_order", "SORT(e1, AVG, UP)", "error: Unsupported operand type(s) for SORT: '[Array[TimeSeries], Keyword, Keyword]'"},
		{"sort_negative_limit", "SORT(e1, AVG, ASC, -1)", "error: Unsupported operand type(s) for SORT: '[Array[TimeSeries], Keyword, Keyword, Scalar]'"},
		{"slice_from", "SLICE([m1, m2, s], 1)", "[M2{0:20 2:20} S{0:1 1:2 2:4 3:7 4:11}]"},
		{"slice_range", "SLICE([m1, m2, s], 0, 2)", "[M1{0:30 1:20 2:0 3:0} M2{0:20 2:20}]"},
		{"slice_beyond_the_end", "SLICE([m1, m2, s], 5)", "[]"},
		{"slice_backwards", "SLICE([m1, m2, s], 2, 1)", "[]"},
		{"slice_valueless_index", "SLICE(e1, 0 / 0)", "error: Unsupported operand type(s) for SLICE: '[Array[TimeSeries], Scalar]'"},
	})
}

func TestMetrics(t *testing.T) {
	env := Env{
		Inputs: map[string][]Series{
			"errors_4xx": {series("4xx", 1, 2)},
			"errors_5xx": {series("5xx", 3, gap, 5)},
			"requests":   {series("Requests", 10, 10, 10)},
			"rate":       {series("Rate", 0.4, 0.2)},
		},
		// rate is an expression: METRICS() does not see it.
		Order:  []string{"errors_4xx", "errors_5xx", "requests"},
		Start:  t0,
		End:    t0.Add(3 * time.Minute),
		Period: time.Minute,
	}
	runEvalCases(t, env, []evalCase{
		{"all_metrics_in_query_order", "METRICS()", "[4xx{0:1 1:2} 5xx{0:3 2:5} Requests{0:10 1:10 2:10}]"},
		{"id_substring", `METRICS("errors")`, "[4xx{0:1 1:2} 5xx{0:3 2:5}]"},
		{"substring_is_case_sensitive", `METRICS("Errors")`, "[]"},
		{"label_is_not_searched", `METRICS("Requests")`, "[]"},
		{"single_quotes", `METRICS('req')`, "Requests{0:10 1:10 2:10}"},
		{"a_match_of_one_is_still_an_array", `METRIC_COUNT(METRICS("req"))`, "1"},
		{"guide_sum_of_matches", `SUM(METRICS("errors")) / SUM(METRICS("requests")) * 100`, "{0:40 1:20 2:50}"},
		{"guide_multiple_strings", "SUM([METRICS(“4xx”), METRICS(“5xx”)])", "{0:4 1:2 2:5}"},
		{"guide_divide_every_metric", "METRICS() / 100", "[4xx{0:0.01 1:0.02} 5xx{0:0.03 2:0.05} Requests{0:0.1 1:0.1 2:0.1}]"},
		{"no_match_is_an_empty_array", `METRICS("nothing")`, "[]"},
		{"sum_of_no_match", `SUM(METRICS("nothing"))`, "{}"},
		{"guide_fill_metrics", `FILL(METRICS("5xx"), 0)`, "5xx{0:3 1:0 2:5}"},
		{"not_a_string", "METRICS(5)", "error: Unsupported operand type(s) for METRICS: '[Scalar]'"},
		{"two_strings", `METRICS("a", "b")`, "error: Unsupported operand type(s) for METRICS: '[String, String]'"},
	})
}

func TestPeriod(t *testing.T) {
	env := testEnv()
	runEvalCases(t, env, []evalCase{
		{"request_period", "PERIOD(m1)", "60"},
		{"guide_per_second", "m1 / PERIOD(m1)", "M1{0:0.5 1:0.3333333333333333 2:0 3:0}"},
		{"expression_id", "PERIOD(c1)", "error: The argument of PERIOD must be the id of a metric, not an expression"},
		{"computed_series", "PERIOD(m1 + 1)", "error: The argument of PERIOD must be the id of a metric, not an expression"},
		{"array", "PERIOD(e1)", "error: Unsupported operand type(s) for PERIOD: '[Array[TimeSeries]]'"},
		{"scalar", "PERIOD(60)", "error: Unsupported operand type(s) for PERIOD: '[Scalar]'"},
	})
	env.Periods = map[string]time.Duration{"m1": 5 * time.Minute}
	runEvalCases(t, env, []evalCase{
		{"metric_period", "PERIOD(m1)", "300"},
		{"other_metric_falls_back", "PERIOD(m2)", "60"},
	})
}

func TestTimeSeriesAndTimestampFunctions(t *testing.T) {
	runEvalCases(t, testEnv(), []evalCase{
		{"time_series", "TIME_SERIES(10)", "{0:10 1:10 2:10 3:10 4:10}"},
		{"guide_time_series_of_max", "TIME_SERIES(MAX(m1))", "{0:30 1:30 2:30 3:30 4:30}"},
		{"time_series_of_valueless_scalar", "TIME_SERIES(AVG(empty))", "{}"},
		{"time_series_of_series", "TIME_SERIES(m1)", "error: Unsupported operand type(s) for TIME_SERIES: '[TimeSeries]'"},
		{"minute_is_non_sparse", "MINUTE(m2)", "M2{0:0 1:1 2:2 3:3 4:4}"},
		{"hour", "HOUR(m1)", "M1{0:0 1:0 2:0 3:0 4:0}"},
		{"day_monday_is_1", "DAY(m1)", "M1{0:1 1:1 2:1 3:1 4:1}"},
		{"date", "DATE(m1)", "M1{0:1 1:1 2:1 3:1 4:1}"},
		{"month", "MONTH(m1)", "M1{0:1 1:1 2:1 3:1 4:1}"},
		{"year", "YEAR(m1)", "M1{0:2024 1:2024 2:2024 3:2024 4:2024}"},
		{"epoch", "EPOCH(p) - 1704067200", "P{0:0 1:60 2:120 3:180 4:240}"},
		// DAY and HOUR are non-sparse, so the condition is true at minute 4,
		// where m1 has no point: "the value of 0", as the guide's IF says.
		{"blog_weekday_business_hours", "IF(DAY(m1) < 6 AND HOUR(m1) < 1, m1)", "M1{0:30 1:20 2:0 3:0 4:0}"},
		{"of_scalar", "HOUR(1)", "error: Unsupported operand type(s) for HOUR: '[Scalar]'"},
	})
	sunday := testEnv()
	start := time.Date(2024, 1, 7, 23, 58, 0, 0, time.UTC)
	sunday.Start, sunday.End = start, start.Add(3*time.Minute)
	sunday.Inputs["x"] = []Series{{Timestamps: []time.Time{start}, Values: []float64{1}}}
	e, err := Parse("DAY(x)")
	if err != nil {
		t.Fatal(err)
	}
	got := mustEval(t, e, sunday).Series[0]
	// 23:58 and 23:59 on Sunday, then 00:00 on Monday.
	if want := []float64{7, 7, 1}; !slices.Equal(got.Values, want) {
		t.Errorf("DAY across Sunday midnight = %v, want %v", got.Values, want)
	}
}

func TestAnomalyDetectionBand(t *testing.T) {
	runEvalCases(t, testEnv(), []evalCase{
		// p is [1, 3]: mean 2, standard deviation 1.
		{"default_two_deviations_upper_first", "ANOMALY_DETECTION_BAND(p)", "[P Upper{0:4 1:4} P Lower{0:0 1:0}]"},
		{"deviations_argument", "ANOMALY_DETECTION_BAND(p, 3)", "[P Upper{0:5 1:5} P Lower{0:-1 1:-1}]"},
		{"guide_last_is_the_lower_bound", "LAST(ANOMALY_DETECTION_BAND(p))", "P Lower{0:0 1:0}"},
		{"first_is_the_upper_bound", "FIRST(ANOMALY_DETECTION_BAND(p))", "P Upper{0:4 1:4}"},
		{"outside_the_band", "m1 > FIRST(ANOMALY_DETECTION_BAND(m1, 1))", "M1{0:1 1:0 2:0 3:0}"},
		{"of_empty_series", "ANOMALY_DETECTION_BAND(empty)", "[E Upper{} E Lower{}]"},
		// The message Grafana users saw from CloudWatch.
		{"of_array", "ANOMALY_DETECTION_BAND(e1, 2)", "error: Unsupported operand type(s) for ANOMALY_DETECTION_BAND: '[Array[TimeSeries], Scalar]'"},
		{"deviations_not_scalar", "ANOMALY_DETECTION_BAND(m1, m2)", "error: Unsupported operand type(s) for ANOMALY_DETECTION_BAND: '[TimeSeries, TimeSeries]'"},
	})
}

func TestEvalResultShape(t *testing.T) {
	env := testEnv()
	for _, expr := range []string{"AVG(m1)", "m1", "e1", "REMOVE_EMPTY([empty])", "1 / 0"} {
		e, err := Parse(expr)
		if err != nil {
			t.Fatal(err)
		}
		v, err := e.Eval(env)
		if err != nil {
			t.Fatal(err)
		}
		if v.Scalar != nil {
			if v.Series != nil {
				t.Errorf("%s: both Scalar and Series set", expr)
			}
			continue
		}
		if msg := checkValue(v); msg != "" {
			t.Errorf("%s: %s", expr, msg)
		}
	}
}

func TestEvalErrorsAreTyped(t *testing.T) {
	e, err := Parse("FILL(m1)")
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.Eval(testEnv())
	var me *Error
	if !errors.As(err, &me) {
		t.Fatalf("error %T is not *Error", err)
	}
	if got, want := WithID(err, "e7").Error(), "Error in expression 'e7': Unsupported operand type(s) for FILL: '[TimeSeries]'"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestInputsAreNormalised(t *testing.T) {
	env := testEnv()
	env.Inputs["raw"] = []Series{{
		Label:      "R",
		Timestamps: []time.Time{t0.Add(2 * time.Minute), t0, t0, t0.Add(time.Minute), t0.Add(3 * time.Minute)},
		Values:     []float64{3, 1, 5, math.NaN(), math.Inf(1)},
	}}
	env.Inputs["short"] = []Series{{Label: "S", Timestamps: []time.Time{t0, t0.Add(time.Minute)}, Values: []float64{1}}}
	runEvalCases(t, env, []evalCase{
		{"sorted_deduplicated_finite", "raw", "R{0:5 2:3}"},
		{"mismatched_lengths_truncate", "short", "S{0:1}"},
	})
}

func TestEvalDoesNotShareMemoryWithInputs(t *testing.T) {
	env := testEnv()
	for _, expr := range []string{"m1", "METRICS()", "FIRST([m1])", "SLICE([m1, m2], 0)"} {
		e, err := Parse(expr)
		if err != nil {
			t.Fatal(err)
		}
		v, err := e.Eval(env)
		if err != nil {
			t.Fatal(err)
		}
		v.Series[0].Values[0] = -1
		v.Series[0].Timestamps[0] = time.Time{}
		if env.Inputs["m1"][0].Values[0] != 30 || !env.Inputs["m1"][0].Timestamps[0].Equal(t0) {
			t.Fatalf("%s: changing the result changed the input", expr)
		}
	}
}

func TestConcurrentEval(t *testing.T) {
	e, err := Parse("FILL(METRICS(), LINEAR) * 2 + SUM(e1)")
	if err != nil {
		t.Fatal(err)
	}
	env := testEnv()
	want := render(mustEval(t, e, env))
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			v, err := e.Eval(env)
			if err != nil || render(v) != want {
				t.Errorf("concurrent Eval = %v, %v", render(v), err)
			}
		})
	}
	wg.Wait()
}

func mustEval(t *testing.T, e *Expr, env Env) Value {
	t.Helper()
	v, err := e.Eval(env)
	if err != nil {
		t.Fatal(err)
	}
	return v
}
