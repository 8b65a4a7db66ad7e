package tsdb

import (
	"fmt"
	"math"
	"slices"
	"sync"
	"testing"
	"time"
)

// t0 is a minute-aligned instant the tests measure from.
var t0 = time.Date(2025, 3, 10, 12, 0, 0, 0, time.UTC)

var testMetric = NewMetric("App", "Latency", []Dimension{{"Service", "api"}})

// value returns a standard-resolution single-value sample.
func value(at time.Time, v float64) Sample {
	return Sample{Timestamp: at, Values: []float64{v}}
}

// highRes returns a high-resolution single-value sample.
func highRes(at time.Time, v float64) Sample {
	return Sample{Timestamp: at, Values: []float64{v}, StorageResolution: 1}
}

// sec returns t0 plus n seconds.
func sec(n int) time.Time { return t0.Add(time.Duration(n) * time.Second) }

// bucketStats is the exported part of a Bucket, for comparisons.
type bucketStats struct {
	At                         time.Duration // from t0
	SampleCount, Sum, Min, Max float64
	Unit                       string
}

func statsOf(bs []Bucket) []bucketStats {
	out := make([]bucketStats, len(bs))
	for i, b := range bs {
		out[i] = bucketStats{b.Timestamp.Sub(t0), b.SampleCount, b.Sum, b.Min, b.Max, b.Unit}
	}
	return out
}

func TestKey(t *testing.T) {
	tests := []struct {
		name string
		a, b Metric
		same bool
	}{
		{"dimension_order_does_not_matter",
			Metric{"N", "M", []Dimension{{"A", "1"}, {"B", "2"}}},
			Metric{"N", "M", []Dimension{{"B", "2"}, {"A", "1"}}}, true},
		{"namespace_and_name_do_not_run_together",
			Metric{"ab", "c", nil}, Metric{"a", "bc", nil}, false},
		{"dimension_name_and_value_do_not_run_together",
			Metric{"N", "M", []Dimension{{"ab", "c"}}},
			Metric{"N", "M", []Dimension{{"a", "bc"}}}, false},
		{"zero_bytes_are_escaped",
			Metric{"N", "M", []Dimension{{"x", "\x02\x00"}}},
			Metric{"N", "M", []Dimension{{"x\x00", "\x02"}}}, false},
		{"no_dimensions_differs_from_empty_value",
			Metric{"N", "M", nil}, Metric{"N", "M", []Dimension{{"", ""}}}, false},
		{"dimension_value_matters",
			Metric{"N", "M", []Dimension{{"A", "1"}}}, Metric{"N", "M", []Dimension{{"A", "2"}}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.a.Key() == tt.b.Key(); got != tt.same {
				t.Errorf("Key(%v) == Key(%v) is %v, want %v", tt.a, tt.b, got, tt.same)
			}
		})
	}
}

func TestKeyOrder(t *testing.T) {
	// Keys sort by namespace, then name, then dimensions, component by
	// component, so ListMetrics pages come in a natural order.
	ordered := []Metric{
		{"A", "M", nil},
		{"A", "M", []Dimension{{"X", "1"}}},
		{"A", "M", []Dimension{{"X", "1"}, {"Y", "1"}}},
		{"A", "M", []Dimension{{"X", "2"}}},
		{"A", "M", []Dimension{{"X\x00", "1"}}},
		{"A", "M", []Dimension{{"XA", "1"}}},
		{"A", "M2", nil},
		{"A\x00", "M", nil},
		{"AB", "M", nil},
	}
	for i := 1; i < len(ordered); i++ {
		if a, b := ordered[i-1].Key(), ordered[i].Key(); a >= b {
			t.Errorf("Key(%q) >= Key(%q)", ordered[i-1], ordered[i])
		}
	}
}

func TestNewMetricCopies(t *testing.T) {
	dims := []Dimension{{"B", "2"}, {"A", "1"}}
	m := NewMetric("N", "M", dims)
	if dims[0].Name != "B" {
		t.Error("NewMetric sorted the caller's slice")
	}
	if m.Dimensions[0].Name != "A" {
		t.Errorf("NewMetric did not sort: %v", m.Dimensions)
	}
}

func TestQueryAggregates(t *testing.T) {
	tests := []struct {
		name    string
		samples []Sample
		q       Query // Metric is filled in
		want    []bucketStats
	}{
		{
			name:    "values_in_one_minute_merge",
			samples: []Sample{value(sec(0), 1), value(sec(10), 3), value(sec(59), 5)},
			q:       Query{Start: t0, End: sec(3600), Period: time.Minute},
			want:    []bucketStats{{0, 3, 9, 1, 5, "None"}},
		},
		{
			name:    "standard_timestamps_round_down_to_the_minute",
			samples: []Sample{value(sec(61), 2), value(sec(119), 4), value(sec(120), 8)},
			q:       Query{Start: t0, End: sec(3600), Period: time.Minute},
			want:    []bucketStats{{time.Minute, 2, 6, 2, 4, "None"}, {2 * time.Minute, 1, 8, 8, 8, "None"}},
		},
		{
			name:    "period_merges_minutes",
			samples: []Sample{value(sec(0), 1), value(sec(60), 2), value(sec(240), 3), value(sec(300), 4)},
			q:       Query{Start: t0, End: sec(3600), Period: 5 * time.Minute},
			want:    []bucketStats{{0, 3, 6, 1, 3, "None"}, {5 * time.Minute, 1, 4, 4, 4, "None"}},
		},
		{
			name:    "range_is_half_open",
			samples: []Sample{value(sec(-60), 1), value(sec(0), 2), value(sec(60), 3), value(sec(120), 4)},
			q:       Query{Start: t0, End: sec(120), Period: time.Minute},
			want:    []bucketStats{{0, 1, 2, 2, 2, "None"}, {time.Minute, 1, 3, 3, 3, "None"}},
		},
		{
			name:    "buckets_start_at_start_not_at_the_epoch",
			samples: []Sample{value(sec(60), 1), value(sec(120), 2), value(sec(180), 3)},
			q:       Query{Start: sec(60), End: sec(3600), Period: 2 * time.Minute},
			want:    []bucketStats{{time.Minute, 2, 3, 1, 2, "None"}, {3 * time.Minute, 1, 3, 3, 3, "None"}},
		},
		{
			name:    "high_resolution_keeps_seconds",
			samples: []Sample{highRes(sec(1), 1), highRes(sec(1), 2), highRes(sec(2), 4)},
			q:       Query{Start: t0, End: sec(60), Period: time.Second},
			want:    []bucketStats{{time.Second, 2, 3, 1, 2, "None"}, {2 * time.Second, 1, 4, 4, 4, "None"}},
		},
		{
			name:    "high_resolution_and_standard_merge_in_a_minute",
			samples: []Sample{highRes(sec(5), 1), value(sec(30), 2), highRes(sec(59), 3)},
			q:       Query{Start: t0, End: sec(600), Period: time.Minute},
			want:    []bucketStats{{0, 3, 6, 1, 3, "None"}},
		},
		{
			name:    "short_period_puts_standard_data_in_the_bucket_of_its_minute",
			samples: []Sample{highRes(sec(10), 1), value(sec(30), 2)},
			q:       Query{Start: t0, End: sec(60), Period: 10 * time.Second},
			want:    []bucketStats{{0, 1, 2, 2, 2, "None"}, {10 * time.Second, 1, 1, 1, 1, "None"}},
		},
		{
			name:    "counts_weight_values",
			samples: []Sample{{Timestamp: t0, Values: []float64{1, 10}, Counts: []float64{3, 2}}},
			q:       Query{Start: t0, End: sec(60), Period: time.Minute},
			want:    []bucketStats{{0, 5, 23, 1, 10, "None"}},
		},
		{
			name:    "zero_counts_are_ignored",
			samples: []Sample{{Timestamp: t0, Values: []float64{1, 10}, Counts: []float64{0, 2}}},
			q:       Query{Start: t0, End: sec(60), Period: time.Minute},
			want:    []bucketStats{{0, 2, 20, 10, 10, "None"}},
		},
		{
			name: "statistic_sets_add_up",
			samples: []Sample{
				{Timestamp: t0, Stats: &StatSet{SampleCount: 4, Sum: 10, Min: 1, Max: 4}},
				value(sec(1), 7),
			},
			q:    Query{Start: t0, End: sec(60), Period: time.Minute},
			want: []bucketStats{{0, 5, 17, 1, 7, "None"}},
		},
		{
			name:    "unit_filter_keeps_one_unit",
			samples: []Sample{{Timestamp: t0, Values: []float64{1}, Unit: "Seconds"}, {Timestamp: t0, Values: []float64{1000}, Unit: "Milliseconds"}},
			q:       Query{Start: t0, End: sec(60), Period: time.Minute, Unit: "Milliseconds"},
			want:    []bucketStats{{0, 1, 1000, 1000, 1000, "Milliseconds"}},
		},
		{
			name:    "unit_none_matches_data_without_unit",
			samples: []Sample{value(t0, 1), {Timestamp: t0, Values: []float64{2}, Unit: "Count"}},
			q:       Query{Start: t0, End: sec(60), Period: time.Minute, Unit: "None"},
			want:    []bucketStats{{0, 1, 1, 1, 1, "None"}},
		},
		{
			name:    "unit_filter_without_data_returns_nothing",
			samples: []Sample{value(t0, 1)},
			q:       Query{Start: t0, End: sec(60), Period: time.Minute, Unit: "Count"},
			want:    []bucketStats{},
		},
		{
			name: "mixed_units_report_the_most_common",
			samples: []Sample{
				{Timestamp: t0, Values: []float64{1}, Unit: "Seconds"},
				{Timestamp: t0, Values: []float64{2, 3}, Unit: "Milliseconds"},
				{Timestamp: sec(60), Values: []float64{4}, Unit: "Seconds"},
			},
			q: Query{Start: t0, End: sec(120), Period: time.Minute},
			want: []bucketStats{
				{0, 3, 6, 1, 3, "Milliseconds"},
				{time.Minute, 1, 4, 4, 4, "Seconds"},
			},
		},
		{
			name: "mixed_units_tie_goes_to_the_first_published",
			samples: []Sample{
				{Timestamp: sec(60), Values: []float64{1}, Unit: "Seconds"},
				{Timestamp: t0, Values: []float64{2}, Unit: "Milliseconds"},
				{Timestamp: t0, Values: []float64{3}, Unit: "Seconds"},
			},
			q:    Query{Start: t0, End: sec(60), Period: time.Minute},
			want: []bucketStats{{0, 2, 5, 2, 3, "Seconds"}},
		},
		{
			name:    "late_data_is_inserted_in_order",
			samples: []Sample{value(sec(600), 3), value(sec(0), 1), value(sec(300), 2), value(sec(300), 2)},
			q:       Query{Start: t0, End: sec(3600), Period: time.Minute},
			want:    []bucketStats{{0, 1, 1, 1, 1, "None"}, {5 * time.Minute, 2, 4, 2, 2, "None"}, {10 * time.Minute, 1, 3, 3, 3, "None"}},
		},
		{
			name:    "empty_samples_are_ignored",
			samples: []Sample{{Timestamp: t0}, {Timestamp: t0, Stats: &StatSet{}}},
			q:       Query{Start: t0, End: sec(60), Period: time.Minute},
			want:    []bucketStats{},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db := New()
			for _, s := range tt.samples {
				db.Put(testMetric, s, t0)
			}
			tt.q.Metric = testMetric
			got := statsOf(db.Query(tt.q, sec(3600)))
			if !slices.Equal(got, tt.want) {
				t.Errorf("Query =\n%v\nwant\n%v", got, tt.want)
			}
		})
	}
}

func TestQueryUnknownMetric(t *testing.T) {
	db := New()
	db.Put(testMetric, value(t0, 1), t0)
	other := NewMetric("App", "Latency", []Dimension{{"Service", "web"}})
	if got := db.Query(Query{Metric: other, Start: t0, End: sec(60), Period: time.Minute}, t0); len(got) != 0 {
		t.Errorf("Query of another metric = %v", got)
	}
	// Dimensions in another order address the same metric.
	same := Metric{testMetric.Namespace, testMetric.Name, slices.Clone(testMetric.Dimensions)}
	if got := db.Query(Query{Metric: same, Start: t0, End: sec(60), Period: time.Minute}, t0); len(got) != 1 {
		t.Errorf("Query of the same metric = %v", got)
	}
}

func TestPutIgnoresCallerMutation(t *testing.T) {
	db := New()
	dims := []Dimension{{"A", "1"}}
	db.Put(Metric{"N", "M", dims}, value(t0, 1), t0)
	dims[0].Value = "2"
	got := db.List(ListFilter{}, t0)
	if len(got) != 1 || got[0].Dimensions[0].Value != "1" {
		t.Errorf("List = %v, want the metric as put", got)
	}
	got[0].Dimensions[0].Value = "3"
	if again := db.List(ListFilter{}, t0); again[0].Dimensions[0].Value != "1" {
		t.Errorf("List returned the stored dimensions, not a copy")
	}
}

// put stores samples into a new DB, each received at t0.
func newDB(samples ...Sample) *DB {
	db := New()
	for _, s := range samples {
		db.Put(testMetric, s, t0)
	}
	return db
}

// one returns the single bucket of a query over [t0, t0+period).
func one(t *testing.T, db *DB, period time.Duration, now time.Time) Bucket {
	t.Helper()
	bs := db.Query(Query{Metric: testMetric, Start: t0, End: t0.Add(period), Period: period}, now)
	if len(bs) != 1 {
		t.Fatalf("Query returned %d buckets, want 1: %v", len(bs), statsOf(bs))
	}
	return bs[0]
}

// approx reports whether got is within rel of want.
func approx(got, want, rel float64) bool {
	if want == 0 {
		return math.Abs(got) <= rel
	}
	return math.Abs(got-want) <= rel*math.Abs(want)
}

func TestRollUp(t *testing.T) {
	// Each level keeps its resolution until its retention has passed;
	// then the same data answers at the next level's resolution, and
	// after 455 days it is gone. Compact must not change any answer.
	const h, d = time.Hour, 24 * time.Hour
	tests := []struct {
		name   string
		sample func(time.Time, float64) Sample
		age    time.Duration // now - t0
		period time.Duration // query period
		want   []time.Duration
	}{
		{"seconds_within_3h", highRes, 3*h - time.Minute, time.Second, []time.Duration{0, 1 * time.Second, 61 * time.Second}},
		{"seconds_after_3h_become_minutes", highRes, 3*h + 2*time.Minute, time.Second, []time.Duration{0, time.Minute}},
		{"minutes_within_15d", value, 15*d - time.Hour, time.Minute, []time.Duration{0, time.Minute}},
		{"minutes_after_15d_become_5_minutes", value, 15*d + time.Hour, time.Minute, []time.Duration{0}},
		{"high_resolution_after_15d_is_5_minutes", highRes, 15*d + time.Hour, time.Second, []time.Duration{0}},
		{"5_minutes_within_63d", value, 63*d - time.Hour, time.Minute, []time.Duration{0}},
		{"5_minutes_after_63d_become_hours", value, 63*d + 2*time.Hour, time.Minute, []time.Duration{0}},
		{"hours_within_455d", value, 455*d - 2*time.Hour, time.Minute, []time.Duration{0}},
		{"gone_after_455d", value, 455*d + 2*time.Hour, time.Minute, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Values at 0 s, 1 s and 61 s after t0, and one at 6 minutes.
			db := New()
			for i, at := range []int{0, 1, 61} {
				db.Put(testMetric, tt.sample(sec(at), float64(i+1)), t0)
			}
			db.Put(testMetric, tt.sample(sec(3600+360), 100), t0)
			now := t0.Add(tt.age)
			q := Query{Metric: testMetric, Start: t0, End: t0.Add(time.Hour), Period: tt.period}
			before := db.Query(q, now)
			db.Compact(now)
			after := db.Query(q, now)
			var got []time.Duration
			for _, b := range after {
				got = append(got, b.Timestamp.Sub(t0))
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("bucket times after Compact = %v, want %v", got, tt.want)
			}
			if !slices.Equal(statsOf(before), statsOf(after)) {
				t.Errorf("Compact changed the answer:\nbefore %v\nafter  %v", statsOf(before), statsOf(after))
			}
			if tt.want != nil {
				total := 0.0
				for _, b := range after {
					total += b.Sum
				}
				if total != 6 {
					t.Errorf("sum of buckets = %v, want 6 (roll-up loses nothing)", total)
				}
				// Percentiles survive roll-up.
				all := db.Query(Query{Metric: testMetric, Start: t0, End: t0.Add(time.Hour), Period: time.Hour}, now)
				if p, ok := all[0].Statistic("p50"); !ok || p != 2 {
					t.Errorf("p50 after roll-up = %v, %v; want 2", p, ok)
				}
			}
		})
	}
}

func TestCompactBoundsMemory(t *testing.T) {
	db := New()
	// A day of high-resolution data, every second.
	for i := range 86400 {
		db.Put(testMetric, highRes(sec(i), float64(i%7)), sec(i))
	}
	if db.Len() != 86400 {
		t.Fatalf("Len = %d, want 86400", db.Len())
	}
	now := sec(86400)
	q := Query{Metric: testMetric, Start: t0, End: now, Period: time.Hour}
	before := db.Query(q, now)
	db.Compact(now)
	// 3 hours stay per second, the other 21 hours become minutes.
	if want := 3*3600 + 21*60; db.Len() != want {
		t.Errorf("Len after Compact = %d, want %d", db.Len(), want)
	}
	after := db.Query(q, now)
	if !slices.Equal(statsOf(before), statsOf(after)) {
		t.Errorf("Compact changed the answer:\nbefore %v\nafter  %v", statsOf(before), statsOf(after))
	}
	for i := range before {
		for _, st := range []string{"p10", "p50", "p99", "tm90", "IQM"} {
			a, okA := before[i].Statistic(st)
			b, okB := after[i].Statistic(st)
			if okA != okB || !approx(a, b, 0.01) {
				t.Errorf("bucket %d %s: %v,%v before, %v,%v after Compact", i, st, a, okA, b, okB)
			}
		}
	}
	// Long after, everything is gone, metric included.
	later := now.Add(456 * 24 * time.Hour)
	db.Compact(later)
	if db.Len() != 0 {
		t.Errorf("Len after 456 days = %d, want 0", db.Len())
	}
	if got := db.List(ListFilter{AllRetained: true}, later); len(got) != 0 {
		t.Errorf("List after 456 days = %v, want none", got)
	}
}

func TestPutOldData(t *testing.T) {
	// A datum older than its resolution's retention goes straight to the
	// level that still keeps its time.
	db := New()
	now := t0.Add(20 * 24 * time.Hour)
	db.Put(testMetric, highRes(sec(7), 1), now)
	db.Put(testMetric, highRes(sec(290), 2), now)
	bs := db.Query(Query{Metric: testMetric, Start: t0, End: sec(3600), Period: time.Second}, now)
	if got := statsOf(bs); !slices.Equal(got, []bucketStats{{0, 2, 3, 1, 2, "None"}}) {
		t.Errorf("Query = %v, want one 5-minute datapoint", got)
	}
	if db.Len() != 1 {
		t.Errorf("Len = %d, want 1", db.Len())
	}
	db.Put(testMetric, value(sec(0), 1), t0.Add(500*24*time.Hour))
	if db.Len() != 1 {
		t.Errorf("a datum past all retention was stored")
	}
}

func TestList(t *testing.T) {
	db := New()
	ec2a := NewMetric("AWS/EC2", "CPUUtilization", []Dimension{{"InstanceId", "i-a"}})
	ec2b := NewMetric("AWS/EC2", "CPUUtilization", []Dimension{{"InstanceId", "i-b"}})
	ec2asg := NewMetric("AWS/EC2", "CPUUtilization", []Dimension{{"AutoScalingGroupName", "g"}, {"InstanceId", "i-b"}})
	net := NewMetric("AWS/EC2", "NetworkIn", []Dimension{{"InstanceId", "i-a"}})
	app := NewMetric("App", "Requests", nil)
	old := NewMetric("App", "Old", nil)
	db.Put(ec2a, value(t0, 1), t0)
	db.Put(ec2b, value(t0, 1), t0)
	db.Put(ec2asg, value(t0, 1), t0)
	db.Put(net, value(t0, 1), t0)
	db.Put(app, value(t0.Add(-24*time.Hour), 1), t0.Add(-4*time.Hour)) // received 4 hours ago
	db.Put(old, value(t0.Add(-20*24*time.Hour), 1), t0.Add(-15*24*time.Hour))

	tests := []struct {
		name string
		f    ListFilter
		want []Metric
	}{
		{"all_reported_in_two_weeks", ListFilter{}, []Metric{ec2asg, ec2a, ec2b, net, app}},
		{"all_retained", ListFilter{AllRetained: true}, []Metric{ec2asg, ec2a, ec2b, net, old, app}},
		{"namespace", ListFilter{Namespace: "App"}, []Metric{app}},
		{"name", ListFilter{Name: "CPUUtilization"}, []Metric{ec2asg, ec2a, ec2b}},
		{"dimension_value", ListFilter{Dimensions: []DimensionFilter{{"InstanceId", "i-b"}}}, []Metric{ec2asg, ec2b}},
		{"dimension_any_value", ListFilter{Dimensions: []DimensionFilter{{"AutoScalingGroupName", ""}}}, []Metric{ec2asg}},
		{"all_dimension_filters_must_match", ListFilter{Dimensions: []DimensionFilter{{"InstanceId", "i-a"}, {"AutoScalingGroupName", ""}}}, nil},
		{"dimension_name_absent", ListFilter{Dimensions: []DimensionFilter{{"ImageId", ""}}}, nil},
		{"recently_active_means_received_in_3h", ListFilter{RecentlyActive: true, Namespace: "App"}, nil},
		{"recently_active", ListFilter{RecentlyActive: true, Name: "NetworkIn"}, []Metric{net}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := db.List(tt.f, t0)
			if len(got) != len(tt.want) {
				t.Fatalf("List = %v, want %v", got, tt.want)
			}
			for i := range got {
				if got[i].Key() != tt.want[i].Key() {
					t.Errorf("List[%d] = %v, want %v", i, got[i], tt.want[i])
				}
			}
		})
	}
	// A metric leaves ListMetrics two weeks after its last datum.
	if got := db.List(ListFilter{Namespace: "App"}, t0.Add(14*24*time.Hour)); len(got) != 0 {
		t.Errorf("List two weeks later = %v, want none", got)
	}
}

func TestLen(t *testing.T) {
	db := New()
	db.Put(testMetric, value(t0, 1), t0)
	db.Put(testMetric, value(sec(30), 1), t0)                                          // same minute
	db.Put(testMetric, highRes(sec(30), 1), t0)                                        // another level
	db.Put(testMetric, Sample{Timestamp: t0, Values: []float64{1}, Unit: "Count"}, t0) // another unit
	db.Put(NewMetric("N", "M", nil), value(t0, 1), t0)
	if db.Len() != 4 {
		t.Errorf("Len = %d, want 4", db.Len())
	}
}

func TestConcurrentUse(t *testing.T) {
	db := New()
	var wg sync.WaitGroup
	const writers, perWriter = 8, 2000
	for w := range writers {
		wg.Go(func() {
			m := NewMetric("N", "M", []Dimension{{"W", fmt.Sprint(w % 4)}})
			for i := range perWriter {
				s := value(sec(i*10), float64(i))
				if i%3 == 0 {
					s = highRes(sec(i*10), float64(i))
				}
				db.Put(m, s, sec(i*10))
			}
		})
	}
	for range 4 {
		wg.Go(func() {
			for i := range 200 {
				m := NewMetric("N", "M", []Dimension{{"W", fmt.Sprint(i % 4)}})
				for _, b := range db.Query(Query{Metric: m, Start: t0, End: sec(perWriter * 10), Period: time.Minute}, sec(i*100)) {
					b.Statistic("p90")
				}
				db.List(ListFilter{Namespace: "N"}, sec(i*100))
				if i%50 == 0 {
					db.Compact(sec(i * 100))
					if _, err := db.MarshalBinary(); err != nil {
						t.Error(err)
					}
				}
				db.Len()
			}
		})
	}
	wg.Wait()
	total := 0.0
	for w := range 4 {
		m := NewMetric("N", "M", []Dimension{{"W", fmt.Sprint(w)}})
		for _, b := range db.Query(Query{Metric: m, Start: t0, End: sec(perWriter * 10), Period: time.Hour}, sec(perWriter*10)) {
			total += b.SampleCount
		}
	}
	if total != writers*perWriter {
		t.Errorf("stored %v samples, want %d", total, writers*perWriter)
	}
}

func TestUnsortedDimensions(t *testing.T) {
	// Callers normally use NewMetric, but a literal Metric with the
	// dimensions in another order still addresses the same series.
	db := New()
	a := Metric{"N", "M", []Dimension{{"B", "2"}, {"A", "1"}}}
	b := Metric{"N", "M", []Dimension{{"A", "1"}, {"B", "2"}}}
	db.Put(a, value(t0, 1), t0)
	db.Put(b, value(t0, 2), t0)
	bs := db.Query(Query{Metric: a, Start: t0, End: sec(60), Period: time.Minute}, t0)
	if len(bs) != 1 || bs[0].SampleCount != 2 {
		t.Errorf("Query = %v, want both values in one bucket", statsOf(bs))
	}
	if got := db.List(ListFilter{}, t0); len(got) != 1 || got[0].Dimensions[0].Name != "A" {
		t.Errorf("List = %v, want one metric with sorted dimensions", got)
	}
}

func TestTierOffsets(t *testing.T) {
	// Timestamps are 32-bit offsets from a base that moves when needed;
	// a point too far from the rest to fit is dropped.
	const year = 365 * 86400
	base := t0.Unix()
	tr := &tier{}
	for _, ts := range []int64{base, base - 40*year, base + 20*year, base - 10*year} {
		if !tr.put(ts, point{cnt: 1, sum: 1, min: 1, max: 1}) {
			t.Fatalf("put(%d) failed", ts)
		}
	}
	if tr.put(base+100*year, point{cnt: 1, sum: 1, min: 1, max: 1}) {
		t.Error("a point 140 years from the oldest was stored")
	}
	want := []int64{base - 40*year, base - 10*year, base, base + 20*year}
	for i, w := range want {
		if tr.ts(i) != w {
			t.Errorf("ts(%d) = %d, want %d", i, tr.ts(i), w)
		}
	}
}

func TestPutDoesNotAllocate(t *testing.T) {
	// The ingestion hot path: a single value into an existing metric,
	// with the Sample (Values included) built by the caller on the stack.
	db := New()
	db.Put(testMetric, value(t0, 1), t0)
	allocs := testing.AllocsPerRun(1000, func() {
		db.Put(testMetric, Sample{Timestamp: t0, Values: []float64{2}}, t0)
	})
	if allocs != 0 {
		t.Errorf("Put allocates %v times, want 0", allocs)
	}
}
