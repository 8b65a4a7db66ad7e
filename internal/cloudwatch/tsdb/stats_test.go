package tsdb

import (
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"
	"time"
)

func TestValidStatistic(t *testing.T) {
	valid := []string{
		"SampleCount", "Average", "Sum", "Minimum", "Maximum",
		"p0", "p0.0", "p50", "p99", "p99.9", "p99.99", "p100", "P90", "p99.1234567891",
		"tm99", "TM99", "tm99.5", "wm98", "tc90", "ts90", "IQM", "iqm",
		"TM(2%:98%)", "tm(10%:90%)", "TM(150:1000)", "TM(:95%)", "TM(5%:)",
		"WM(10%:90%)", "wm(:99%)", "TC(0.005:0.030)", "TS(80%:)", "ts(:500)",
		"PR(:300)", "PR(100:2000)", "pr(0.5:)",
	}
	invalid := []string{
		"", "average", "AVERAGE", "Avg", "p", "p-1", "p101", "p100.1", "p99.", "p.9", "p 99", "p99%",
		"p1e2", "p99.12345678901", "tm", "tm101", "tm(", "TM()", "TM(:)", "TM(2%:98)", "TM(98%:2%)",
		"TM(50:50)", "TM(2%:98%", "TM 2%:98%", "TM(2%;98%)", "TM(101%:)", "PR(10%:)", "pr90",
		"PR", "xx(1:2)", "IQM(1:2)", "TM(-1:5)", "TM(1::5)",
	}
	for _, s := range valid {
		if !ValidStatistic(s) {
			t.Errorf("ValidStatistic(%q) = false, want true", s)
		}
	}
	for _, s := range invalid {
		if ValidStatistic(s) {
			t.Errorf("ValidStatistic(%q) = true, want false", s)
		}
	}
}

// bucketOf returns the one-minute bucket of the given samples.
func bucketOf(t *testing.T, samples ...Sample) Bucket {
	t.Helper()
	db := New()
	for _, s := range samples {
		s.Timestamp = t0
		db.Put(testMetric, s, t0)
	}
	return one(t, db, time.Minute, t0)
}

// oneTo returns a sample of the values 1 to n.
func oneTo(n int) Sample {
	s := Sample{}
	for i := 1; i <= n; i++ {
		s.Values = append(s.Values, float64(i))
	}
	return s
}

func TestStatistic(t *testing.T) {
	type want struct {
		v  float64
		ok bool
	}
	yes := func(v float64) want { return want{v, true} }
	no := want{}
	tests := []struct {
		name    string
		samples []Sample
		tol     float64 // relative; 0 means exact (to rounding)
		stats   map[string]want
	}{
		{
			name:    "basic",
			samples: []Sample{{Values: []float64{2, 4, 9}}},
			stats: map[string]want{
				"SampleCount": yes(3), "Sum": yes(15), "Average": yes(5), "Minimum": yes(2), "Maximum": yes(9),
				"bogus": no,
			},
		},
		{
			name:    "percentiles_of_a_small_set_are_exact",
			samples: []Sample{oneTo(10)},
			stats: map[string]want{
				"p0": yes(1), "p10": yes(1), "p11": yes(2), "p50": yes(5), "p90": yes(9), "p99": yes(10), "p100": yes(10),
				"P50": yes(5),
			},
		},
		{
			name:    "percentiles_of_100_values_are_within_1%",
			samples: []Sample{oneTo(100)},
			tol:     0.01,
			stats:   map[string]want{"p99": yes(99), "p99.5": yes(100), "p1": yes(1), "p25": yes(25)},
		},
		{
			name:    "counts_weight_percentiles",
			samples: []Sample{{Values: []float64{1, 100}, Counts: []float64{99, 1}}},
			stats:   map[string]want{"p99": yes(1), "p99.5": yes(100), "Average": yes(1.99), "SampleCount": yes(100)},
		},
		{
			name:    "trimmed_mean_count_and_sum",
			samples: []Sample{oneTo(10)},
			stats: map[string]want{
				"tm90": yes(5), "TM(10%:90%)": yes(5.5), "IQM": yes(5.5),
				"tc90": yes(9), "ts90": yes(45), "TC(10%:90%)": yes(8), "TS(80%:)": yes(19),
				"TM(3:7)": yes(5.5), "TC(3:7)": yes(4), "TS(3:7)": yes(22), "TM(:2)": yes(1.5),
				"TM(10:)": no, "TC(10:)": yes(0),
			},
		},
		{
			name:    "trimmed_count_interpolates",
			samples: []Sample{oneTo(4)},
			stats:   map[string]want{"tc90": yes(3.6), "ts90": yes(1 + 2 + 3 + 0.6*4)},
		},
		{
			name:    "winsorized_mean",
			samples: []Sample{oneTo(10)},
			stats: map[string]want{
				"wm90":        yes((1 + 2 + 3 + 4 + 5 + 6 + 7 + 8 + 9 + 9) / 10.0),
				"WM(20%:80%)": yes((2 + 2 + 3 + 4 + 5 + 6 + 7 + 8 + 8 + 8) / 10.0),
				"WM(3:5)":     yes((3 + 3 + 3 + 4 + 5 + 5 + 5 + 5 + 5 + 5) / 10.0),
			},
		},
		{
			name:    "percentile_rank_excludes_lower_includes_upper",
			samples: []Sample{oneTo(10)},
			stats:   map[string]want{"PR(:3)": yes(30), "PR(3:5)": yes(20), "PR(5:)": yes(50), "PR(:0.5)": yes(0)},
		},
		{
			name:    "statistic_set_has_no_percentiles",
			samples: []Sample{{Stats: &StatSet{SampleCount: 10, Sum: 55, Min: 1, Max: 10}}},
			stats: map[string]want{
				"Average": yes(5.5), "p50": no, "tm90": no, "PR(:3)": no, "IQM": no, "wm90": no, "tc90": no,
			},
		},
		{
			name:    "statistic_set_with_one_sample_has_percentiles",
			samples: []Sample{{Stats: &StatSet{SampleCount: 1, Sum: 7, Min: 7, Max: 7}}},
			stats:   map[string]want{"p50": yes(7), "p99": yes(7), "tm90": yes(7)},
		},
		{
			name:    "statistic_set_with_min_equal_max_has_percentiles",
			samples: []Sample{{Stats: &StatSet{SampleCount: 4, Sum: 12, Min: 3, Max: 3}}},
			stats:   map[string]want{"p10": yes(3), "tc90": yes(3.6), "PR(:3)": yes(100)},
		},
		{
			name:    "statistic_set_merged_with_values_has_no_percentiles",
			samples: []Sample{{Values: []float64{1, 2}}, {Stats: &StatSet{SampleCount: 2, Sum: 7, Min: 3, Max: 4}}},
			stats:   map[string]want{"SampleCount": yes(4), "p50": no},
		},
		{
			name:    "statistic_sets_merged_with_equal_values_have_percentiles",
			samples: []Sample{{Stats: &StatSet{SampleCount: 2, Sum: 6, Min: 3, Max: 3}}, {Values: []float64{5}}},
			stats:   map[string]want{"p50": yes(3), "p90": yes(5)},
		},
		{
			name:    "negative_values_have_no_percentiles",
			samples: []Sample{{Values: []float64{-1, 2, 3}}},
			stats:   map[string]want{"Minimum": yes(-1), "Average": yes(4.0 / 3), "p50": no, "PR(:1)": no},
		},
		{
			name: "long_constant_run_then_other_values",
			samples: []Sample{
				{Values: slices.Repeat([]float64{7}, 300)},
				{Values: []float64{1, 100}},
			},
			stats: map[string]want{"SampleCount": yes(302), "p0.1": yes(1), "p50": yes(7), "p99.5": yes(7), "p100": yes(100), "PR(:7)": yes(100 * 301.0 / 302)},
		},
		{
			name:    "zero_is_not_negative",
			samples: []Sample{{Values: []float64{0, 0, 5}}},
			stats:   map[string]want{"p50": yes(0), "p90": yes(5)},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := bucketOf(t, tt.samples...)
			tol := max(tt.tol, 1e-9)
			for name, w := range tt.stats {
				v, ok := b.Statistic(name)
				if ok != w.ok || ok && !approx(v, w.v, tol) {
					t.Errorf("Statistic(%q) = %v, %v; want %v, %v", name, v, ok, w.v, w.ok)
				}
			}
		})
	}
}

// exactPercentile is the nearest-rank percentile of sorted values.
func exactPercentile(sorted []float64, p float64) float64 {
	i := int(math.Ceil(p/100*float64(len(sorted))-1e-9)) - 1
	return sorted[max(i, 0)]
}

func TestPercentileAccuracy(t *testing.T) {
	// Past a few dozen distinct values the distribution is binned; the
	// percentiles must stay within 1% of the exact ones.
	r := rand.New(rand.NewPCG(1, 2))
	sets := map[string]func() float64{
		"uniform":     func() float64 { return 1 + 999*r.Float64() },
		"exponential": func() float64 { return r.ExpFloat64() * 50 },
		"lognormal":   func() float64 { return math.Exp(r.NormFloat64()*2) * 0.001 },
		"integers":    func() float64 { return float64(r.IntN(1000)) },
	}
	for name, gen := range sets {
		t.Run(name, func(t *testing.T) {
			var vals []float64
			db := New()
			// 5,000 values over an hour, a few per Put, as an agent
			// publishes, read back over the hour.
			for i := range 1000 {
				s := Sample{Timestamp: sec(i * 3)}
				for range 5 {
					v := gen()
					vals = append(vals, v)
					s.Values = append(s.Values, v)
				}
				db.Put(testMetric, s, sec(i*3))
			}
			slices.Sort(vals)
			b := one(t, db, time.Hour, sec(3600))
			for _, p := range []float64{1, 10, 25, 50, 75, 90, 95, 99, 99.9, 100} {
				got, ok := b.Statistic("p" + strconv.FormatFloat(p, 'f', -1, 64))
				want := exactPercentile(vals, p)
				if !ok || !approx(got, want, 0.01) {
					t.Errorf("p%v = %v, %v; want %v within 1%%", p, got, ok, want)
				}
			}
			sum := 0.0
			for _, v := range vals {
				sum += v
			}
			if got, _ := b.Statistic("TS(0%:100%)"); !approx(got, sum, 0.01) {
				t.Errorf("TS(0%%:100%%) = %v, want %v within 1%%", got, sum)
			}
		})
	}
}

func TestBinOf(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for range 100000 {
		v := math.Exp(r.Float64()*200 - 100)
		if r.IntN(2) == 0 {
			v = -v
		}
		b := binOf(v)
		if math.Abs(b-v) > binRelErr*math.Abs(v) {
			t.Fatalf("binOf(%v) = %v, beyond %v relative error", v, b, binRelErr)
		}
		if binOf(b) != b {
			t.Fatalf("binOf is not idempotent at %v", v)
		}
	}
	for _, v := range []float64{0, math.MaxFloat64, math.SmallestNonzeroFloat64} {
		if b := binOf(v); math.IsNaN(b) || math.IsInf(b, 0) {
			t.Errorf("binOf(%v) = %v", v, b)
		}
	}
}

func TestSketchMerge(t *testing.T) {
	// Adding values one at a time and merging sketches of parts give the
	// same distribution, in either order.
	r := rand.New(rand.NewPCG(5, 6))
	for _, n := range []int{3, 30, 31, 100, 1000} {
		var whole, a, b sketch
		for i := range n {
			v := float64(r.IntN(n*2)) / 7
			whole.add(v, 1)
			if i%3 == 0 {
				a.add(v, 1)
			} else {
				b.add(v, 1)
			}
		}
		ab, ba := a.clone(), b.clone()
		ab.merge(&b)
		ba.merge(&a)
		if !ab.equal(ba) {
			t.Errorf("n=%d: merge is not commutative", n)
		}
		if whole.binned == ab.binned && !whole.equal(ab) {
			t.Errorf("n=%d: merged sketch differs from the whole", n)
		}
		for _, q := range []float64{0, 0.5, 0.9, 0.99, 1} {
			if x, y := quantile(whole.e, float64(n), q), quantile(ab.e, float64(n), q); !approx(x, y, 2*binRelErr) {
				t.Errorf("n=%d q=%v: %v whole, %v merged", n, q, x, y)
			}
		}
	}
}

// equal reports whether s and o hold the same distribution.
func (s *sketch) equal(o *sketch) bool {
	if s == nil || o == nil {
		return s == o
	}
	return s.binned == o.binned && slices.Equal(s.e, o.e)
}
