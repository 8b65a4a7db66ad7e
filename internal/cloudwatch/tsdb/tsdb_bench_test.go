package tsdb

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"testing"
	"time"
)

// benchMetrics returns n metrics shaped like EC2's: a namespace, a name
// and one instance dimension.
func benchMetrics(n int) []Metric {
	ms := make([]Metric, n)
	for i := range ms {
		ms[i] = NewMetric("AWS/EC2", "CPUUtilization", []Dimension{{"InstanceId", fmt.Sprintf("i-%017x", i)}})
	}
	return ms
}

// BenchmarkPut measures ingestion of single values, the PutMetricData and
// built-in metrics hot path; puts/s is the figure to compare with the
// 1 million/s target.
func BenchmarkPut(b *testing.B) {
	b.Run("standard_1000_metrics", func(b *testing.B) {
		ms := benchMetrics(1000)
		db := New()
		s := Sample{Values: []float64{42}}
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			at := t0.Add(time.Duration(i/len(ms)) * time.Minute)
			s.Timestamp = at
			db.Put(ms[i%len(ms)], s, at)
			i++
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "puts/s")
	})
	b.Run("high_resolution_1_metric", func(b *testing.B) {
		db := New()
		s := Sample{Values: []float64{42}, StorageResolution: 1}
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			at := t0.Add(time.Duration(i) * time.Second)
			s.Timestamp = at
			s.Values[0] = float64(i % 100)
			db.Put(testMetric, s, at)
			i++
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "puts/s")
	})
	b.Run("merge_into_same_minute", func(b *testing.B) {
		// Many values a minute: every Put after the first merges into a
		// datapoint with a distribution.
		ms := benchMetrics(100)
		db := New()
		s := Sample{Values: []float64{0}}
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			at := t0.Add(time.Duration(i/(len(ms)*60)) * time.Minute)
			s.Timestamp = at
			s.Values[0] = float64(i % 1000)
			db.Put(ms[i%len(ms)], s, at)
			i++
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "puts/s")
	})
	b.Run("parallel_standard", func(b *testing.B) {
		ms := benchMetrics(1000)
		db := New()
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			r := rand.New(rand.NewPCG(rand.Uint64(), 0))
			s := Sample{Values: []float64{42}}
			i := 0
			for pb.Next() {
				at := t0.Add(time.Duration(i/len(ms)) * time.Minute)
				s.Timestamp = at
				db.Put(ms[r.IntN(len(ms))], s, at)
				i++
			}
		})
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "puts/s")
	})
}

// fill1000x1000 returns 1,000 metrics with a value a minute for 1,000
// minutes, 1,000,000 datapoints.
func fill1000x1000() (*DB, []Metric) {
	ms := benchMetrics(1000)
	db := New()
	r := rand.New(rand.NewPCG(1, 1))
	for minute := range 1000 {
		at := t0.Add(time.Duration(minute) * time.Minute)
		for _, m := range ms {
			db.Put(m, Sample{Timestamp: at, Values: []float64{float64(r.IntN(100))}}, at)
		}
	}
	return db, ms
}

// fillHighRes returns one high-resolution metric with a value every second
// for 1,000,000 seconds (11.6 days).
func fillHighRes() *DB {
	db := New()
	r := rand.New(rand.NewPCG(2, 2))
	for i := range 1_000_000 {
		at := sec(i)
		db.Put(testMetric, Sample{Timestamp: at, Values: []float64{float64(r.IntN(1000))}, StorageResolution: 1}, at)
	}
	return db
}

// BenchmarkQuery measures aggregation of 1,000,000 stored datapoints per
// op, with Average and p99 read from every bucket; ns/datapoint is the
// cost of one datapoint.
func BenchmarkQuery(b *testing.B) {
	b.Run("1000_metrics_x_1000_minutes", func(b *testing.B) {
		db, ms := fill1000x1000()
		now := t0.Add(1000 * time.Minute)
		b.ReportAllocs()
		for b.Loop() {
			n := 0
			for _, m := range ms {
				for _, bk := range db.Query(Query{Metric: m, Start: t0, End: now, Period: 5 * time.Minute}, now) {
					bk.Statistic("Average")
					bk.Statistic("p99")
					n += int(bk.SampleCount)
				}
			}
			if n != 1_000_000 {
				b.Fatalf("aggregated %d datapoints", n)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/1e6, "ns/datapoint")
	})
	for _, period := range []time.Duration{time.Minute, time.Hour} {
		b.Run(fmt.Sprintf("1_metric_1M_seconds_period_%v", period), func(b *testing.B) {
			db := fillHighRes()
			// Seen from the end of the data: 3 hours stay per second, the
			// rest is read as per-minute roll-ups.
			now := sec(1_000_000)
			b.ReportAllocs()
			for b.Loop() {
				n := 0
				for _, bk := range db.Query(Query{Metric: testMetric, Start: t0, End: now, Period: period}, now) {
					bk.Statistic("Average")
					bk.Statistic("p99")
					n += int(bk.SampleCount)
				}
				if n != 1_000_000 {
					b.Fatalf("aggregated %d datapoints", n)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/1e6, "ns/datapoint")
		})
	}
}

// heapInUse returns the live heap after a full collection.
func heapInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// BenchmarkMemory reports the heap each stored datapoint costs
// (bytes/datapoint), including the metric's own overhead spread over its
// datapoints.
func BenchmarkMemory(b *testing.B) {
	cases := []struct {
		name string
		fill func() *DB
	}{
		{"1000_metrics_x_1000_minutes", func() *DB { db, _ := fill1000x1000(); return db }},
		{"high_resolution_1M_seconds", fillHighRes},
		{"1000_metrics_x_100_minutes_5_values_each", func() *DB {
			db := New()
			r := rand.New(rand.NewPCG(3, 3))
			for minute := range 100 {
				at := t0.Add(time.Duration(minute) * time.Minute)
				for _, m := range benchMetrics(1000) {
					vs := []float64{r.Float64(), r.Float64(), r.Float64(), r.Float64(), r.Float64()}
					db.Put(m, Sample{Timestamp: at, Values: vs}, at)
				}
			}
			return db
		}},
		{"1000_metrics_x_100_minutes_statistic_sets", func() *DB {
			db := New()
			for minute := range 100 {
				at := t0.Add(time.Duration(minute) * time.Minute)
				for _, m := range benchMetrics(1000) {
					db.Put(m, Sample{Timestamp: at, Stats: &StatSet{SampleCount: 10, Sum: 50, Min: 1, Max: 9}}, at)
				}
			}
			return db
		}},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			var perPoint float64
			for b.Loop() {
				before := heapInUse()
				db := c.fill()
				after := heapInUse()
				perPoint = float64(after-before) / float64(db.Len())
				runtime.KeepAlive(db)
			}
			b.ReportMetric(perPoint, "bytes/datapoint")
		})
	}
}

// BenchmarkCompact measures a Compact pass that rolls a day of 1-second
// data up to minutes.
func BenchmarkCompact(b *testing.B) {
	for b.Loop() {
		b.StopTimer()
		db := New()
		for i := range 86400 {
			db.Put(testMetric, highRes(sec(i), float64(i%100)), sec(i))
		}
		b.StartTimer()
		db.Compact(sec(86400))
	}
}
