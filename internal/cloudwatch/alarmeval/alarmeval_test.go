package alarmeval

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// docNow is an evaluation time for the guide's tables: a 5-minute period,
// so the evaluation range of 5 is 11:35 to 12:00.
var docNow = time.Date(2026, 11, 23, 12, 0, 30, 0, time.UTC)

// pattern turns a row of the guide's tables, oldest data point first ("0"
// not breaching, "X" breaching, "-" missing), into points for a
// GreaterThanThreshold 50 alarm with a 5-minute period evaluated at docNow.
func pattern(t *testing.T, row string) []Point {
	t.Helper()
	marks := strings.Fields(row)
	cfg := Config{Period: 5 * time.Minute, EvaluationPeriods: 3}
	if len(marks) != Range(cfg) {
		t.Fatalf("row %q has %d data points, want the evaluation range %d", row, len(marks), Range(cfg))
	}
	start, _ := Window(cfg, docNow)
	var points []Point
	for i, m := range marks {
		ts := start.Add(time.Duration(i) * 5 * time.Minute)
		switch m {
		case "0":
			points = append(points, Point{Timestamp: ts, Value: 10, SampleCount: 1})
		case "X":
			points = append(points, Point{Timestamp: ts, Value: 90, SampleCount: 1})
		case "-":
		default:
			t.Fatalf("row %q: unknown mark %q", row, m)
		}
	}
	return points
}

// retain marks a "Retain current state" cell of the guide's tables.
const retain = "retain"

// TestMissingDataTables holds every row of the two tables in "How alarm
// state is evaluated when data is missing" (CloudWatch User Guide,
// AlarmThatSendsEmail.md as last published in awsdocs/amazon-cloudwatch-
// user-guide, 2023-05-17), one case per TreatMissingData column, plus the
// rows that only earlier revisions of the page had and that the current
// rules still decide the same way. The first table is 3 of 3, the second
// the 2 of 3 ("M out of N") example; both evaluate a range of 5.
func TestMissingDataTables(t *testing.T) {
	type row struct {
		m                                     int
		points                                string
		missing, ignore, breaching, notBreach string
	}
	rows := []row{
		// Datapoints to Alarm and Evaluation Periods both 3.
		{3, "0 - X - X", StateOK, StateOK, StateOK, StateOK},
		{3, "0 - - - -", StateOK, StateOK, StateOK, StateOK},
		{3, "- - - - -", StateInsufficientData, retain, StateAlarm, StateOK},
		{3, "0 X X - X", StateAlarm, StateAlarm, StateAlarm, StateAlarm},
		{3, "- - X - -", StateAlarm, retain, StateAlarm, StateOK},
		// Earlier revisions of the first table.
		{3, "- - - - X", StateInsufficientData, retain, StateAlarm, StateOK},
		{3, "X - - - -", StateAlarm, retain, StateAlarm, StateOK},
		// 2 out of 3.
		{2, "0 - X - X", StateAlarm, StateAlarm, StateAlarm, StateAlarm},
		{2, "0 0 X 0 X", StateAlarm, StateAlarm, StateAlarm, StateAlarm},
		{2, "0 - X - -", StateOK, StateOK, StateAlarm, StateOK},
		{2, "- - - - 0", StateOK, StateOK, StateAlarm, StateOK},
		{2, "- - - X -", StateAlarm, retain, StateAlarm, StateOK},
		// An earlier revision of the second table.
		{2, "- - - - X", StateInsufficientData, retain, StateAlarm, StateOK},
	}
	for _, r := range rows {
		for _, col := range []struct{ treat, want string }{
			{TreatMissing, r.missing}, {TreatIgnore, r.ignore},
			{TreatBreaching, r.breaching}, {TreatNotBreaching, r.notBreach},
		} {
			name := strings.ReplaceAll(r.points, " ", "") + "/" + col.treat
			if r.m == 2 {
				name = "2of3/" + name
			} else {
				name = "3of3/" + name
			}
			t.Run(name, func(t *testing.T) {
				cfg := Config{
					Period: 5 * time.Minute, EvaluationPeriods: 3, DatapointsToAlarm: r.m,
					Threshold: 50, Comparison: GreaterThanThreshold, TreatMissingData: col.treat, Statistic: "Average",
				}
				points := pattern(t, r.points)
				for _, current := range []string{StateOK, StateAlarm, StateInsufficientData} {
					out := Evaluate(cfg, points, docNow, current)
					if col.want == retain {
						if !out.Keep || out.State != current || out.Reason != "" {
							t.Errorf("from %s: got %+v, want the state kept", current, out)
						}
						continue
					}
					if out.Keep || out.State != col.want {
						t.Errorf("from %s: got state %s keep %v (%s), want %s", current, out.State, out.Keep, out.Reason, col.want)
					}
					if !json.Valid([]byte(out.ReasonData)) {
						t.Errorf("reason data is not JSON: %s", out.ReasonData)
					}
				}
			})
		}
	}
}

// TestMOfN: "Datapoints to Alarm is the number of data points within the
// Evaluation Periods that must be breaching ... The breaching data points
// don't have to be consecutive", and the figure's 3-of-3 walk-through.
func TestMOfN(t *testing.T) {
	now := time.Date(2026, 11, 23, 12, 0, 30, 0, time.UTC)
	series := func(marks string) []Point {
		cfg := Config{Period: time.Minute, EvaluationPeriods: len(marks)}
		start, _ := Window(cfg, now)
		start = start.Add(2 * time.Minute) // the last len(marks) periods of the range
		var ps []Point
		for i, c := range marks {
			v := 1.0
			if c == 'X' {
				v = 5
			}
			ps = append(ps, Point{Timestamp: start.Add(time.Duration(i) * time.Minute), Value: v, SampleCount: 1})
		}
		return ps
	}
	tests := []struct {
		name  string
		n, m  int
		marks string
		want  string
	}{
		{"4_of_5_not_consecutive", 5, 4, "XX0XX", StateAlarm},
		{"4_of_5_three_breach", 5, 4, "X00XX", StateOK},
		{"3_of_3_all_breach", 3, 3, "XXX", StateAlarm},
		{"3_of_3_dip_at_period_six", 3, 3, "XX0", StateOK},
		{"1_of_3_any_breach", 3, 1, "00X", StateAlarm},
		{"1_of_3_none", 3, 1, "000", StateOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := Config{Period: time.Minute, EvaluationPeriods: tt.n, DatapointsToAlarm: tt.m, Threshold: 3, Comparison: GreaterThanThreshold}
			if out := Evaluate(cfg, series(tt.marks), now, StateOK); out.State != tt.want {
				t.Errorf("got %s (%s), want %s", out.State, out.Reason, tt.want)
			}
		})
	}
}

func TestComparisons(t *testing.T) {
	tests := []struct {
		cmp                 Comparison
		below, equal, above bool
	}{
		{GreaterThanOrEqualToThreshold, false, true, true},
		{GreaterThanThreshold, false, false, true},
		{LessThanThreshold, true, false, false},
		{LessThanOrEqualToThreshold, true, true, false},
	}
	for _, tt := range tests {
		t.Run(string(tt.cmp), func(t *testing.T) {
			for _, c := range []struct {
				v    float64
				want bool
			}{{9, tt.below}, {10, tt.equal}, {11, tt.above}} {
				if got := tt.cmp.Breaching(Point{Value: c.v}, 10); got != c.want {
					t.Errorf("%v against 10: got %v, want %v", c.v, got, c.want)
				}
			}
		})
	}
}

func TestBandComparisons(t *testing.T) {
	tests := []struct {
		cmp                  Comparison
		below, inside, above bool
	}{
		{LessThanLowerOrGreaterThanUpperThreshold, true, false, true},
		{LessThanLowerThreshold, true, false, false},
		{GreaterThanUpperThreshold, false, false, true},
	}
	for _, tt := range tests {
		t.Run(string(tt.cmp), func(t *testing.T) {
			if !tt.cmp.Band() {
				t.Fatal("not a band comparison")
			}
			for _, c := range []struct {
				v    float64
				want bool
			}{{1, tt.below}, {5, tt.inside}, {10, tt.inside}, {20, tt.above}} {
				// The band's own edges are inside: "less than the lower" and
				// "greater than the upper" are strict.
				if got := tt.cmp.Breaching(Point{Value: c.v, Lower: 5, Upper: 10}, 0); got != c.want {
					t.Errorf("%v against [5, 10]: got %v, want %v", c.v, got, c.want)
				}
			}
		})
	}
	if GreaterThanThreshold.Band() {
		t.Error("GreaterThanThreshold is not a band comparison")
	}
}

func TestLowSampleCountPercentile(t *testing.T) {
	now := time.Date(2026, 11, 23, 12, 0, 30, 0, time.UTC)
	at := time.Date(2026, 11, 23, 11, 59, 0, 0, time.UTC)
	tests := []struct {
		name     string
		stat     string
		evaluate string
		samples  float64
		keep     bool
	}{
		{"p99_ignore_999_samples_keeps", "p99", "ignore", 999, true},
		{"p99_ignore_1000_samples_evaluates", "p99", "ignore", 1000, false},
		{"p99_evaluate_few_samples_evaluates", "p99", "evaluate", 3, false},
		{"p99_default_few_samples_evaluates", "p99", "", 3, false},
		{"p50_needs_20", "p50", "ignore", 19, true},
		{"p50_has_20", "p50", "ignore", 20, false},
		{"p10_needs_100", "p10", "ignore", 99, true},
		{"p10_has_100", "p10", "ignore", 100, false},
		{"p99.9_needs_10000", "p99.9", "ignore", 9999, true},
		{"p99.9_has_10000", "p99.9", "ignore", 10000, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := Config{
				Period: time.Minute, EvaluationPeriods: 1, Threshold: 5, Comparison: GreaterThanThreshold,
				Statistic: tt.stat, Percentile: true, EvaluateLowSampleCountPercentile: tt.evaluate,
			}
			out := Evaluate(cfg, []Point{{Timestamp: at, Value: 10, SampleCount: tt.samples}}, now, StateOK)
			if out.Keep != tt.keep {
				t.Fatalf("got %+v, want keep %v", out, tt.keep)
			}
			if tt.keep && out.State != StateOK {
				t.Errorf("kept state %s, want OK", out.State)
			}
			if !tt.keep && out.State != StateAlarm {
				t.Errorf("got %s, want ALARM", out.State)
			}
		})
	}
}

// TestReasons compares reasons and reason data with ones real alarms
// produced, rebuilt from the same configuration, data points and query
// time. Each case names where its sample comes from.
func TestReasons(t *testing.T) {
	ts := func(s string) time.Time {
		t.Helper()
		v, err := time.Parse("2006-01-02T15:04:05.000Z", s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	tests := []struct {
		name       string
		cfg        Config
		points     []Point
		now        string
		current    string
		state      string
		reason     string
		reasonData string // empty: only checked to be JSON
	}{
		{
			// The brief's example, OK -> ALARM with DatapointsToAlarm 1.
			name:    "1_of_1_to_alarm",
			cfg:     Config{Period: time.Minute, EvaluationPeriods: 1, DatapointsToAlarm: 1, Threshold: 50, Comparison: GreaterThanThreshold, Statistic: "Average"},
			points:  []Point{{Timestamp: ts("2026-11-23T12:00:00.000Z"), Value: 55, SampleCount: 1}},
			now:     "2026-11-23T12:01:18.043Z",
			current: StateOK,
			state:   StateAlarm,
			reason:  "Threshold Crossed: 1 out of the last 1 datapoints [55.0 (23/11/26 12:00:00)] was greater than the threshold (50.0) (minimum 1 datapoint for OK -> ALARM transition).",
			reasonData: `{"version":"1.0","queryDate":"2026-11-23T12:01:18.043+0000","startDate":"2026-11-23T12:00:00.000+0000",` +
				`"statistic":"Average","period":60,"recentDatapoints":[55.0],"threshold":50.0,` +
				`"evaluatedDatapoints":[{"timestamp":"2026-11-23T12:00:00.000+0000","sampleCount":1.0,"value":55.0}]}`,
		},
		{
			// DescribeAlarms of a console alarm (DatapointsToAlarm 1), 2024-09-19.
			name:    "1_of_1_to_ok",
			cfg:     Config{Period: 5 * time.Minute, EvaluationPeriods: 1, DatapointsToAlarm: 1, Threshold: 90, Comparison: GreaterThanOrEqualToThreshold, Statistic: "Average"},
			points:  []Point{{Timestamp: ts("2024-09-19T05:56:00.000Z"), Value: 1.0166666666666666, SampleCount: 1}},
			now:     "2024-09-19T06:01:18.043Z",
			current: StateAlarm,
			state:   StateOK,
			reason:  "Threshold Crossed: 1 out of the last 1 datapoints [1.0166666666666666 (19/09/24 05:56:00)] was not greater than or equal to the threshold (90.0) (minimum 1 datapoint for ALARM -> OK transition).",
			reasonData: `{"version":"1.0","queryDate":"2024-09-19T06:01:18.043+0000","startDate":"2024-09-19T05:56:00.000+0000",` +
				`"statistic":"Average","period":300,"recentDatapoints":[1.0166666666666666],"threshold":90.0,` +
				`"evaluatedDatapoints":[{"timestamp":"2024-09-19T05:56:00.000+0000","sampleCount":1.0,"value":1.0166666666666666}]}`,
		},
		{
			// LocalStack's snapshot of AWS (test_put_metric_alarm, 2023-10-26):
			// no DatapointsToAlarm, so the older wording.
			name:    "classic_1_datapoint_with_unit",
			cfg:     Config{Period: 30 * time.Second, EvaluationPeriods: 1, Threshold: 2, Comparison: GreaterThanThreshold, Statistic: "Average", Unit: "Seconds", TreatMissingData: TreatNotBreaching},
			points:  []Point{{Timestamp: ts("2023-10-26T16:42:00.000Z"), Value: 21.5, SampleCount: 2}},
			now:     "2023-10-26T16:42:31.000Z",
			current: StateInsufficientData,
			state:   StateAlarm,
			reason:  "Threshold Crossed: 1 datapoint [21.5 (26/10/23 16:42:00)] was greater than the threshold (2.0).",
			reasonData: `{"version":"1.0","queryDate":"2023-10-26T16:42:31.000+0000","startDate":"2023-10-26T16:42:00.000+0000",` +
				`"unit":"Seconds","statistic":"Average","period":30,"recentDatapoints":[21.5],"threshold":2.0,` +
				`"evaluatedDatapoints":[{"timestamp":"2023-10-26T16:42:00.000+0000","sampleCount":2.0,"value":21.5}]}`,
		},
		{
			// The same snapshot: all missing, treated as breaching.
			name:    "all_missing_breaching",
			cfg:     Config{Period: 10 * time.Second, EvaluationPeriods: 2, Threshold: 2, Comparison: GreaterThanThreshold, Statistic: "Average", Unit: "Seconds", TreatMissingData: TreatBreaching},
			now:     "2023-09-12T11:56:52.000Z",
			current: StateInsufficientData,
			state:   StateAlarm,
			reason:  "Threshold Crossed: no datapoints were received for 2 periods and 2 missing datapoints were treated as [Breaching].",
			reasonData: `{"version":"1.0","queryDate":"2023-09-12T11:56:52.000+0000","unit":"Seconds","statistic":"Average","period":10,` +
				`"recentDatapoints":[],"threshold":2.0,` +
				`"evaluatedDatapoints":[{"timestamp":"2023-09-12T11:56:40.000+0000"},{"timestamp":"2023-09-12T11:56:30.000+0000"}]}`,
		},
		{
			// A post-mortem of a real 900-second heartbeat alarm (2 of 2,
			// LessThanThreshold 1, breaching), created at 00:26:07 and
			// evaluated at 00:26:28: the periods of 23:56 and 00:11 were
			// judged, and it went to ALARM.
			name:    "heartbeat_created_without_data",
			cfg:     Config{Period: 15 * time.Minute, EvaluationPeriods: 2, DatapointsToAlarm: 2, Threshold: 1, Comparison: LessThanThreshold, Statistic: "Maximum", TreatMissingData: TreatBreaching},
			now:     "2026-09-29T00:26:28.954Z",
			current: StateInsufficientData,
			state:   StateAlarm,
			reason:  "Threshold Crossed: no datapoints were received for 2 periods and 2 missing datapoints were treated as [Breaching].",
			reasonData: `{"version":"1.0","queryDate":"2026-09-29T00:26:28.954+0000","statistic":"Maximum","period":900,` +
				`"recentDatapoints":[],"threshold":1.0,` +
				`"evaluatedDatapoints":[{"timestamp":"2026-09-29T00:11:00.000+0000"},{"timestamp":"2026-09-28T23:56:00.000+0000"}]}`,
		},
		{
			// The same alarm at 00:50:28: one good point in the 00:35 period,
			// the other period still missing and breaching, and back to OK
			// ("minimum 1 datapoint for ALARM -> OK transition").
			name:    "heartbeat_recovers_on_one_point",
			cfg:     Config{Period: 15 * time.Minute, EvaluationPeriods: 2, DatapointsToAlarm: 2, Threshold: 1, Comparison: LessThanThreshold, Statistic: "Maximum", TreatMissingData: TreatBreaching},
			points:  []Point{{Timestamp: ts("2026-09-29T00:35:00.000Z"), Value: 1, SampleCount: 1}},
			now:     "2026-09-29T00:50:28.954Z",
			current: StateAlarm,
			state:   StateOK,
			reason:  "Threshold Crossed: 1 out of the last 2 datapoints [1.0 (29/09/26 00:35:00)] was not less than the threshold (1.0) (minimum 1 datapoint for ALARM -> OK transition).",
			reasonData: `{"version":"1.0","queryDate":"2026-09-29T00:50:28.954+0000","startDate":"2026-09-29T00:35:00.000+0000",` +
				`"statistic":"Maximum","period":900,"recentDatapoints":[1.0],"threshold":1.0,"evaluatedDatapoints":[` +
				`{"timestamp":"2026-09-29T00:35:00.000+0000","sampleCount":1.0,"value":1.0},{"timestamp":"2026-09-29T00:20:00.000+0000"}]}`,
		},
		{
			name:    "all_missing_not_breaching",
			cfg:     Config{Period: 30 * time.Second, EvaluationPeriods: 1, Threshold: 2, Comparison: GreaterThanThreshold, Statistic: "Average", Unit: "Seconds", TreatMissingData: TreatNotBreaching},
			now:     "2023-10-26T16:50:00.000Z",
			current: StateAlarm,
			state:   StateOK,
			reason:  "Threshold Crossed: no datapoints were received for 1 period and 1 missing datapoint was treated as [NonBreaching].",
		},
		{
			// An EventBridge event's previousState, 2024-10-26.
			name:    "insufficient_data",
			cfg:     Config{Period: time.Minute, EvaluationPeriods: 1, Threshold: 1, Comparison: GreaterThanOrEqualToThreshold, Statistic: "Sum"},
			now:     "2024-10-26T18:38:52.499Z",
			current: StateOK,
			state:   StateInsufficientData,
			reason:  "Insufficient Data: 1 datapoint was unknown.",
			reasonData: `{"version":"1.0","queryDate":"2024-10-26T18:38:52.499+0000","statistic":"Sum","period":60,` +
				`"recentDatapoints":[],"threshold":1.0,"evaluatedDatapoints":[{"timestamp":"2024-10-26T18:37:00.000+0000"}]}`,
		},
		{
			// An SNS notification, 2021-07-14: the newest period (23:19) had no
			// data yet, so the range reached back to 23:16.
			name: "3_of_3_newest_first",
			cfg:  Config{Period: time.Minute, EvaluationPeriods: 3, DatapointsToAlarm: 3, Threshold: 7, Comparison: GreaterThanOrEqualToThreshold, Statistic: "Maximum"},
			points: []Point{
				{Timestamp: ts("2021-07-14T23:16:00.000Z"), Value: 9.18241509182415, SampleCount: 1},
				{Timestamp: ts("2021-07-14T23:17:00.000Z"), Value: 9.72, SampleCount: 1},
				{Timestamp: ts("2021-07-14T23:18:00.000Z"), Value: 8.891518474692088, SampleCount: 1},
			},
			now:     "2021-07-14T23:20:50.708Z",
			current: StateOK,
			state:   StateAlarm,
			reason:  "Threshold Crossed: 3 out of the last 3 datapoints [8.891518474692088 (14/07/21 23:18:00), 9.72 (14/07/21 23:17:00), 9.18241509182415 (14/07/21 23:16:00)] were greater than or equal to the threshold (7.0) (minimum 3 datapoints for OK -> ALARM transition).",
		},
		{
			// A CloudWatch email, 2023-06-02: 2 of 2, ALARM -> OK on one good point.
			name: "1_out_of_2_to_ok",
			cfg:  Config{Period: time.Minute, EvaluationPeriods: 2, DatapointsToAlarm: 2, Threshold: 1, Comparison: GreaterThanOrEqualToThreshold, Statistic: "Maximum"},
			points: []Point{
				{Timestamp: ts("2023-06-02T12:27:00.000Z"), Value: 1, SampleCount: 1},
				{Timestamp: ts("2023-06-02T12:28:00.000Z"), Value: 0, SampleCount: 1},
			},
			now:     "2023-06-02T12:29:30.000Z",
			current: StateAlarm,
			state:   StateOK,
			reason:  "Threshold Crossed: 1 out of the last 2 datapoints [0.0 (02/06/23 12:28:00)] was not greater than or equal to the threshold (1.0) (minimum 1 datapoint for ALARM -> OK transition).",
		},
		{
			// DescribeAlarms, 2024-12-19: 24 breaching points, no
			// DatapointsToAlarm, the newest period not in yet.
			name:    "classic_long_list",
			cfg:     Config{Period: time.Minute, EvaluationPeriods: 24, Threshold: 0, Comparison: GreaterThanThreshold, Statistic: "Sum"},
			points:  minutes(ts("2024-12-19T08:10:00.000Z"), 24, 1),
			now:     "2024-12-19T08:35:01.260Z",
			current: StateOK,
			state:   StateAlarm,
			reason:  "Threshold Crossed: 24 datapoints were greater than the threshold (0.0). The most recent datapoints which crossed the threshold: [1.0 (19/12/24 08:33:00), 1.0 (19/12/24 08:32:00), 1.0 (19/12/24 08:31:00), 1.0 (19/12/24 08:30:00), 1.0 (19/12/24 08:29:00)].",
		},
		{
			// An SNS notification, 2024-12-06: 30 of 30.
			name:    "m_of_n_long_list",
			cfg:     Config{Period: time.Minute, EvaluationPeriods: 30, DatapointsToAlarm: 30, Threshold: 20, Comparison: GreaterThanThreshold, Statistic: "Maximum"},
			points:  append(minutes(ts("2024-12-06T05:05:00.000Z"), 28, 59), Point{Timestamp: ts("2024-12-06T05:33:00.000Z"), Value: 60, SampleCount: 1}, Point{Timestamp: ts("2024-12-06T05:34:00.000Z"), Value: 60, SampleCount: 1}),
			now:     "2024-12-06T05:36:35.649Z",
			current: StateOK,
			state:   StateAlarm,
			reason:  "Threshold Crossed: 30 out of the last 30 datapoints were greater than the threshold (20.0). The most recent datapoints which crossed the threshold: [60.0 (06/12/24 05:34:00), 60.0 (06/12/24 05:33:00), 59.0 (06/12/24 05:32:00), 59.0 (06/12/24 05:31:00), 59.0 (06/12/24 05:30:00)] (minimum 30 datapoints for OK -> ALARM transition).",
		},
		{
			// "Avoiding premature transitions to alarm state": - - X - -, 3 of 3.
			name:    "premature_alarm",
			cfg:     Config{Period: 5 * time.Minute, EvaluationPeriods: 3, DatapointsToAlarm: 3, Threshold: 50, Comparison: LessThanThreshold, Statistic: "Average"},
			points:  []Point{{Timestamp: ts("2026-11-23T11:45:00.000Z"), Value: 0, SampleCount: 1}},
			now:     "2026-11-23T12:00:30.000Z",
			current: StateOK,
			state:   StateAlarm,
			reason:  "Threshold Crossed: 1 out of the last 3 datapoints [0.0 (23/11/26 11:45:00)] was less than the threshold (50.0) (minimum 3 datapoints for OK -> ALARM transition).",
			reasonData: `{"version":"1.0","queryDate":"2026-11-23T12:00:30.000+0000","startDate":"2026-11-23T11:45:00.000+0000",` +
				`"statistic":"Average","period":300,"recentDatapoints":[0.0],"threshold":50.0,"evaluatedDatapoints":[` +
				`{"timestamp":"2026-11-23T11:55:00.000+0000"},{"timestamp":"2026-11-23T11:50:00.000+0000"},` +
				`{"timestamp":"2026-11-23T11:45:00.000+0000","sampleCount":1.0,"value":0.0}]}`,
		},
		{
			// An alarm's Lambda event, 2024-07-25: an ANOMALY_DETECTION_BAND
			// alarm, GreaterThanUpperThreshold.
			name:    "band_upper_to_alarm",
			cfg:     Config{Period: time.Minute, EvaluationPeriods: 1, DatapointsToAlarm: 1, Comparison: GreaterThanUpperThreshold, MetricMath: true},
			points:  []Point{{Timestamp: ts("2024-07-25T07:21:00.000Z"), Value: 239, SampleCount: 1, Upper: 225.71426732099445, Lower: 10}},
			now:     "2024-07-25T07:22:32.386Z",
			current: StateOK,
			state:   StateAlarm,
			reason:  "Thresholds Crossed: 1 out of the last 1 datapoints [239.0 (25/07/24 07:21:00)] was greater than the upper thresholds [225.71426732099445] (minimum 1 datapoint for OK -> ALARM transition).",
			reasonData: `{"version":"1.0","queryDate":"2024-07-25T07:22:32.386+0000","startDate":"2024-07-25T07:21:00.000+0000",` +
				`"period":60,"recentDatapoints":[239.0],"recentUpperThresholds":[225.71426732099445],` +
				`"evaluatedDatapoints":[{"timestamp":"2024-07-25T07:21:00.000+0000","value":239.0,"threshold":225.71426732099445}]}`,
		},
		{
			// The same event's previousState.
			name:    "band_upper_to_ok",
			cfg:     Config{Period: time.Minute, EvaluationPeriods: 1, DatapointsToAlarm: 1, Comparison: GreaterThanUpperThreshold, MetricMath: true},
			points:  []Point{{Timestamp: ts("2024-07-25T06:59:00.000Z"), Value: 209, SampleCount: 1, Upper: 330.3191408914422}},
			now:     "2024-07-25T07:00:44.734Z",
			current: StateAlarm,
			state:   StateOK,
			reason:  "Thresholds Crossed: 1 out of the last 1 datapoints [209.0 (25/07/24 06:59:00)] was not greater than the upper thresholds [330.3191408914422] (minimum 1 datapoint for ALARM -> OK transition).",
			reasonData: `{"version":"1.0","queryDate":"2024-07-25T07:00:44.734+0000","startDate":"2024-07-25T06:59:00.000+0000",` +
				`"period":60,"recentDatapoints":[209.0],"recentUpperThresholds":[330.3191408914422],` +
				`"evaluatedDatapoints":[{"timestamp":"2024-07-25T06:59:00.000+0000","value":209.0,"threshold":330.3191408914422}]}`,
		},
		{
			// The EventBridge sample of the guide's "Alarm events and
			// EventBridge", 2019-10-03: a two-sided band.
			name:    "band_both_to_alarm",
			cfg:     Config{Period: time.Minute, EvaluationPeriods: 1, DatapointsToAlarm: 1, Comparison: LessThanLowerOrGreaterThanUpperThreshold, MetricMath: true},
			points:  []Point{{Timestamp: ts("2019-10-03T15:58:00.000Z"), Value: 0, Lower: 0.020599444741798756, Upper: 0.3006915352732461}},
			now:     "2019-10-03T16:00:04.650Z",
			current: StateOK,
			state:   StateAlarm,
			reason:  "Thresholds Crossed: 1 out of the last 1 datapoints [0.0 (03/10/19 15:58:00)] was less than the lower thresholds [0.020599444741798756] or greater than the upper thresholds [0.3006915352732461] (minimum 1 datapoint for OK -> ALARM transition).",
		},
		{
			name:    "band_both_to_ok",
			cfg:     Config{Period: time.Minute, EvaluationPeriods: 1, DatapointsToAlarm: 1, Comparison: LessThanLowerOrGreaterThanUpperThreshold, MetricMath: true},
			points:  []Point{{Timestamp: ts("2019-10-03T15:57:00.000Z"), Value: 0.166666666664241, Lower: 0.0206719426210418, Upper: 0.30076870222143803}},
			now:     "2019-10-03T15:59:04.670Z",
			current: StateAlarm,
			state:   StateOK,
			reason:  "Thresholds Crossed: 1 out of the last 1 datapoints [0.166666666664241 (03/10/19 15:57:00)] was not less than the lower thresholds [0.0206719426210418] or not greater than the upper thresholds [0.30076870222143803] (minimum 1 datapoint for ALARM -> OK transition).",
		},
		{
			// An SNS notification, 2019-11-22: 2 of 2 on a 5-minute band.
			name: "band_two_points",
			cfg:  Config{Period: 5 * time.Minute, EvaluationPeriods: 2, DatapointsToAlarm: 2, Comparison: LessThanLowerOrGreaterThanUpperThreshold, MetricMath: true},
			points: []Point{
				{Timestamp: ts("2019-11-22T00:52:00.000Z"), Value: 27.035814838199848, Lower: 31.317673764600034, Upper: 32.68864166862828},
				{Timestamp: ts("2019-11-22T00:57:00.000Z"), Value: 28.244242980188464, Lower: 31.723549397187316, Upper: 33.09242087209403},
			},
			now:     "2019-11-22T01:02:17.570Z",
			current: StateOK,
			state:   StateAlarm,
			reason:  "Thresholds Crossed: 2 out of the last 2 datapoints [28.244242980188464 (22/11/19 00:57:00), 27.035814838199848 (22/11/19 00:52:00)] were less than the lower thresholds [31.723549397187316, 31.317673764600034] or greater than the upper thresholds [33.09242087209403, 32.68864166862828] (minimum 2 datapoints for OK -> ALARM transition).",
		},
		{
			// A metric math alarm: no statistic, no sampleCount.
			name:    "metric_math",
			cfg:     Config{Period: time.Minute, EvaluationPeriods: 1, DatapointsToAlarm: 1, Threshold: 65, Comparison: LessThanThreshold, Statistic: "Average", MetricMath: true},
			points:  []Point{{Timestamp: ts("2020-04-29T23:32:00.000Z"), Value: 0, SampleCount: 1}},
			now:     "2020-04-29T23:33:34.876Z",
			current: StateInsufficientData,
			state:   StateAlarm,
			reason:  "Threshold Crossed: 1 out of the last 1 datapoints [0.0 (29/04/20 23:32:00)] was less than the threshold (65.0) (minimum 1 datapoint for OK -> ALARM transition).",
			reasonData: `{"version":"1.0","queryDate":"2020-04-29T23:33:34.876+0000","startDate":"2020-04-29T23:32:00.000+0000",` +
				`"period":60,"recentDatapoints":[0.0],"threshold":65.0,` +
				`"evaluatedDatapoints":[{"timestamp":"2020-04-29T23:32:00.000+0000","value":0.0}]}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := Evaluate(tt.cfg, tt.points, ts(tt.now), tt.current)
			if out.Keep || out.State != tt.state {
				t.Fatalf("got state %s keep %v, want %s", out.State, out.Keep, tt.state)
			}
			if out.Reason != tt.reason {
				t.Errorf("reason\n got %s\nwant %s", out.Reason, tt.reason)
			}
			if !json.Valid([]byte(out.ReasonData)) {
				t.Fatalf("reason data is not JSON: %s", out.ReasonData)
			}
			if tt.reasonData != "" && out.ReasonData != tt.reasonData {
				t.Errorf("reason data\n got %s\nwant %s", out.ReasonData, tt.reasonData)
			}
		})
	}
}

// minutes is n one-minute points of value v from start.
func minutes(start time.Time, n int, v float64) []Point {
	ps := make([]Point, n)
	for i := range ps {
		ps[i] = Point{Timestamp: start.Add(time.Duration(i) * time.Minute), Value: v, SampleCount: 1}
	}
	return ps
}

func TestHistory(t *testing.T) {
	// The AWS CLI reference's describe-alarm-history example.
	want := `{"version":"1.0","oldState":{"stateValue":"ALARM","stateReason":"testing purposes"},` +
		`"newState":{"stateValue":"OK","stateReason":"Threshold Crossed: 2 datapoints were not greater than the threshold (70.0). The most recent datapoints: [38.958, 40.292].",` +
		`"stateReasonData":{"version":"1.0","queryDate":"2014-04-09T18:59:06.419+0000","startDate":"2014-04-09T18:44:00.000+0000","statistic":"Average","period":300,"recentDatapoints":[38.958,40.292],"threshold":70.0}}}`
	got := HistoryData(
		Snapshot{Value: "ALARM", Reason: "testing purposes"},
		Snapshot{Value: "OK", Reason: "Threshold Crossed: 2 datapoints were not greater than the threshold (70.0). The most recent datapoints: [38.958, 40.292].",
			ReasonData: `{"version":"1.0","queryDate":"2014-04-09T18:59:06.419+0000","startDate":"2014-04-09T18:44:00.000+0000","statistic":"Average","period":300,"recentDatapoints":[38.958,40.292],"threshold":70.0}`},
	)
	if got != want {
		t.Errorf("history data\n got %s\nwant %s", got, want)
	}
	if got := HistorySummary("myalarm", "ALARM", "OK"); got != "Alarm updated from ALARM to OK" {
		t.Errorf("summary = %q", got)
	}
	// Invalid reason data is left out rather than breaking the JSON; quotes
	// and non-ASCII in a reason are escaped as JSON needs and no more.
	got = HistoryData(Snapshot{Value: "OK", Reason: `say "hi" <ü>`, ReasonData: "{"}, Snapshot{Value: "ALARM", Reason: InitialReason})
	want = `{"version":"1.0","oldState":{"stateValue":"OK","stateReason":"say \"hi\" <ü>"},"newState":{"stateValue":"ALARM","stateReason":"Unchecked: Initial alarm creation"}}`
	if got != want {
		t.Errorf("history data\n got %s\nwant %s", got, want)
	}
}

func TestJavaDouble(t *testing.T) {
	tests := []struct {
		in   float64
		want string
	}{
		{0, "0.0"}, {2, "2.0"}, {-3, "-3.0"}, {21.5, "21.5"}, {1.0166666666666666, "1.0166666666666666"},
		{0.001, "0.001"}, {0.0001, "1.0E-4"}, {9999999, "9999999.0"}, {1e7, "1.0E7"},
		{12345678.9, "1.23456789E7"}, {2126585, "2126585.0"}, {-1.5e-10, "-1.5E-10"},
	}
	for _, tt := range tests {
		if got := JavaDouble(tt.in); got != tt.want {
			t.Errorf("JavaDouble(%v) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestWindow(t *testing.T) {
	now := time.Date(2026, 9, 29, 0, 26, 28, 954e6, time.UTC)
	tests := []struct {
		name       string
		cfg        Config
		start, end time.Time
		cadence    time.Duration
	}{
		{
			// A real 900-second, 2-period alarm evaluated at 00:26:28 judged
			// the periods starting 23:56 and 00:11, the newest two of its range.
			name: "minute_cadence", cfg: Config{Period: 15 * time.Minute, EvaluationPeriods: 2},
			start: time.Date(2026, 9, 28, 23, 26, 0, 0, time.UTC), end: time.Date(2026, 9, 29, 0, 26, 0, 0, time.UTC),
			cadence: time.Minute,
		},
		{
			name: "high_resolution", cfg: Config{Period: 10 * time.Second, EvaluationPeriods: 3},
			start: time.Date(2026, 9, 29, 0, 25, 30, 0, time.UTC), end: time.Date(2026, 9, 29, 0, 26, 20, 0, time.UTC),
			cadence: 10 * time.Second,
		},
		{
			name: "multi_day", cfg: Config{Period: 6 * time.Hour, EvaluationPeriods: 5},
			start: time.Date(2026, 9, 27, 6, 0, 0, 0, time.UTC), end: time.Date(2026, 9, 29, 0, 0, 0, 0, time.UTC),
			cadence: time.Hour,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start, end := Window(tt.cfg, now)
			if !start.Equal(tt.start) || !end.Equal(tt.end) {
				t.Errorf("window = %v .. %v, want %v .. %v", start, end, tt.start, tt.end)
			}
			if c := Cadence(tt.cfg); c != tt.cadence {
				t.Errorf("cadence = %v, want %v", c, tt.cadence)
			}
		})
	}
	if r := Range(Config{EvaluationPeriods: 3}); r != 5 {
		t.Errorf("Range for 3 periods = %d, want the guide's 5", r)
	}
}

// TestPointsOutsideRange: data older than the range, or newer than the
// newest complete period, does not count.
func TestPointsOutsideRange(t *testing.T) {
	cfg := Config{Period: time.Minute, EvaluationPeriods: 1, Threshold: 5, Comparison: GreaterThanThreshold}
	now := time.Date(2026, 1, 1, 12, 0, 30, 0, time.UTC)
	points := []Point{
		{Timestamp: now.Add(-time.Hour), Value: 10},
		{Timestamp: time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC), Value: 10}, // the period still running
	}
	if out := Evaluate(cfg, points, now, StateOK); out.State != StateInsufficientData {
		t.Errorf("got %s (%s), want INSUFFICIENT_DATA", out.State, out.Reason)
	}
}

func FuzzEvaluate(f *testing.F) {
	f.Add(uint8(3), uint8(2), uint8(0), uint8(1), uint16(0b1010), 50.0, 60.0)
	f.Add(uint8(1), uint8(0), uint8(3), uint8(6), uint16(0), 0.0, 1e9)
	f.Add(uint8(30), uint8(30), uint8(2), uint8(4), uint16(0xffff), -1.0, -2.0)
	treats := []string{"", TreatIgnore, TreatBreaching, TreatNotBreaching, "bogus"}
	cmps := []Comparison{GreaterThanOrEqualToThreshold, GreaterThanThreshold, LessThanThreshold, LessThanOrEqualToThreshold,
		LessThanLowerOrGreaterThanUpperThreshold, LessThanLowerThreshold, GreaterThanUpperThreshold, "bogus"}
	now := time.Date(2026, 1, 1, 12, 0, 30, 0, time.UTC)
	f.Fuzz(func(t *testing.T, n, m, treat, cmp uint8, mask uint16, threshold, value float64) {
		cfg := Config{
			Period: time.Minute, EvaluationPeriods: int(n % 40), DatapointsToAlarm: int(m % 45),
			Threshold: threshold, Comparison: cmps[int(cmp)%len(cmps)], TreatMissingData: treats[int(treat)%len(treats)],
			Statistic: "p90", Percentile: mask&1 == 1, EvaluateLowSampleCountPercentile: "ignore",
		}
		start, _ := Window(cfg, now)
		var points []Point
		for i := range Range(cfg) {
			if mask>>(i%16)&1 == 1 {
				points = append(points, Point{Timestamp: start.Add(time.Duration(i) * time.Minute), Value: value + float64(i), SampleCount: float64(i * 50), Lower: threshold, Upper: threshold + 1})
			}
		}
		out := Evaluate(cfg, points, now, StateOK)
		if out.Keep {
			if out.State != StateOK || out.Reason != "" {
				t.Fatalf("kept with %+v", out)
			}
			return
		}
		switch out.State {
		case StateOK, StateAlarm, StateInsufficientData:
		default:
			t.Fatalf("state %q", out.State)
		}
		if out.Reason == "" || !json.Valid([]byte(out.ReasonData)) {
			t.Fatalf("reason %q data %s", out.Reason, out.ReasonData)
		}
	})
}
