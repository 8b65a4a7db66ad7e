package tsdb

import (
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"
	"time"
)

// TestQueryMatchesReference checks every path that builds a bucket's
// distribution (few values sorted, many values with few distinct, many
// distinct in dense bins, big buckets fed value by value, merged stored
// sketches) against statistics computed directly from the raw values.
func TestQueryMatchesReference(t *testing.T) {
	gens := map[string]func(r *rand.Rand) float64{
		"few_distinct":   func(r *rand.Rand) float64 { return float64(r.IntN(5)) },
		"many_distinct":  func(r *rand.Rand) float64 { return 1 + r.Float64()*1e4 },
		"with_zeros":     func(r *rand.Rand) float64 { return float64(r.IntN(3)) * r.Float64() * 100 },
		"tiny_and_large": func(r *rand.Rand) float64 { return math.Exp(r.NormFloat64() * 10) },
		"with_negatives": func(r *rand.Rand) float64 { return r.NormFloat64() * 10 },
		"constant":       func(r *rand.Rand) float64 { return 7 },
	}
	periods := []time.Duration{time.Second, 10 * time.Second, time.Minute, 5 * time.Minute, time.Hour}
	for name, gen := range gens {
		for _, multi := range []bool{false, true} {
			label := name
			if multi {
				label += "/several_values_per_put"
			}
			t.Run(label, func(t *testing.T) {
				r := rand.New(rand.NewPCG(11, 12))
				db := New()
				type raw struct {
					at int64
					v  float64
				}
				var all []raw
				const span = 4 * 3600 // seconds, past the 3 hours of high resolution
				now := sec(span)
				for i := 0; i < span; i += 1 + r.IntN(3) {
					s := Sample{Timestamp: sec(i), StorageResolution: 1}
					for range 1 + boolInt(multi)*r.IntN(4) {
						v := gen(r)
						s.Values = append(s.Values, v)
						all = append(all, raw{int64(i), v})
					}
					db.Put(testMetric, s, now)
				}
				for pass, period := range append(periods, periods...) {
					if pass == len(periods) {
						db.Compact(now) // the same again from rolled-up data
					}
					bs := db.Query(Query{Metric: testMetric, Start: t0, End: now, Period: period}, now)
					// The reference: the raw values per bucket, where a
					// value older than 3 hours counts at its minute.
					cut := now.Add(-3*time.Hour).Truncate(time.Minute).Unix() - t0.Unix()
					ref := map[int64][]float64{}
					for _, x := range all {
						at := x.at
						if at < cut {
							at = at / 60 * 60
						}
						k := at / int64(period/time.Second)
						ref[k] = append(ref[k], x.v)
					}
					if len(bs) != len(ref) {
						t.Fatalf("period %v: %d buckets, want %d", period, len(bs), len(ref))
					}
					for _, b := range bs {
						k := int64(b.Timestamp.Sub(t0) / period)
						vals := ref[k]
						slices.Sort(vals)
						checkBucket(t, period, b, vals)
					}
				}
			})
		}
	}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// checkBucket compares b's statistics with those of its sorted raw
// values.
func checkBucket(t *testing.T, period time.Duration, b Bucket, vals []float64) {
	t.Helper()
	sum := 0.0
	for _, v := range vals {
		sum += v
	}
	if b.SampleCount != float64(len(vals)) || b.Min != vals[0] || b.Max != vals[len(vals)-1] || !approx(b.Sum, sum, 1e-9) {
		t.Fatalf("period %v at %v: count %v sum %v min %v max %v; want %d %v %v %v",
			period, b.Timestamp, b.SampleCount, b.Sum, b.Min, b.Max, len(vals), sum, vals[0], vals[len(vals)-1])
	}
	distinct := len(slices.Compact(slices.Clone(vals)))
	for _, p := range []float64{0, 1, 10, 50, 90, 99, 99.9, 100} {
		got, ok := b.Statistic("p" + strconv.FormatFloat(p, 'f', -1, 64))
		if vals[0] < 0 {
			if ok {
				t.Fatalf("period %v: p%v of negative values = %v, want unavailable", period, p, got)
			}
			continue
		}
		want := exactPercentile(vals, p)
		tol := binRelErr * 1.0001
		if distinct <= exactMax {
			tol = 1e-12 // few distinct values stay exact
		}
		if !ok || math.Abs(got-want) > tol*math.Abs(want) {
			t.Fatalf("period %v at %v (%d values, %d distinct): p%v = %v, %v; want %v",
				period, b.Timestamp, len(vals), distinct, p, got, ok, want)
		}
	}
}

func TestBigBucketOfSingleValues(t *testing.T) {
	// Buckets of more than maxPending single values switch to a sketch
	// part-way; a constant run before the switch must still count.
	tests := []struct {
		name string
		vals []float64
	}{
		{"constant_run_then_other_values", append(slices.Repeat([]float64{7}, maxPending+44), 1, 100)},
		{"constant_run_longer_than_twice_the_limit", append(slices.Repeat([]float64{7}, 3*maxPending), 9)},
		{"many_distinct_then_constant", append(seq(1, 100), slices.Repeat([]float64{50}, 2*maxPending)...)},
		{"zeros_and_many_distinct", append(slices.Repeat([]float64{0}, maxPending), seq(1, 2*maxPending)...)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db := New()
			for i, v := range tt.vals {
				db.Put(testMetric, highRes(sec(i), v), sec(i))
			}
			now := sec(len(tt.vals))
			bs := db.Query(Query{Metric: testMetric, Start: t0, End: now, Period: time.Hour}, now)
			if len(bs) != 1 {
				t.Fatalf("%d buckets, want 1", len(bs))
			}
			sorted := slices.Sorted(slices.Values(tt.vals))
			checkBucket(t, time.Hour, bs[0], sorted)
		})
	}
}

// seq returns from, from+1, ..., n.
func seq(from, n int) []float64 {
	var out []float64
	for i := from; i <= n; i++ {
		out = append(out, float64(i))
	}
	return out
}
