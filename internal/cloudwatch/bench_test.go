package cloudwatch

import (
	"context"
	"fmt"
	"runtime"
	"testing"
	"time"

	api "github.com/nephele-dev/nephele/internal/api/cloudwatch"
	"github.com/nephele-dev/nephele/internal/clock"
	"github.com/nephele-dev/nephele/internal/cloudwatch/tsdb"
	"github.com/nephele-dev/nephele/internal/store"
)

// BenchmarkGetMetricData1M answers one GetMetricData over a million stored
// datapoints: 500 metrics (the most queries one call takes) of 2,000
// one-minute datapoints each, read back by the hour. The target is
// under 100 ms per call.
func BenchmarkGetMetricData1M(b *testing.B) {
	const metrics, minutes = 500, 2000
	now := t0
	s, err := New(store.NewMemory(), clock.NewFake(now), Options{})
	if err != nil {
		b.Fatal(err)
	}
	db := s.db(scope{Account: "000000000000", Region: "us-east-1"})
	queries := make([]api.MetricDataQuery, metrics)
	for m := range metrics {
		name := fmt.Sprintf("m%03d", m)
		metric := tsdb.NewMetric("Bench", "Latency", []tsdb.Dimension{{Name: "Host", Value: name}})
		for i := range minutes {
			db.Put(metric, tsdb.Sample{Timestamp: now.Add(-time.Duration(minutes-i) * time.Minute), StorageResolution: 60, Values: []float64{float64(i % 97)}}, now)
		}
		queries[m] = api.MetricDataQuery{Id: ptr(name), MetricStat: &api.MetricStat{
			Metric: &api.Metric{Namespace: ptr("Bench"), MetricName: ptr("Latency"), Dimensions: []api.Dimension{{Name: ptr("Host"), Value: ptr(name)}}},
			Period: ptr(int32(3600)), Stat: ptr("Average"),
		}}
	}
	if n := db.Len(); n != metrics*minutes {
		b.Fatalf("stored %d datapoints", n)
	}
	in := &api.GetMetricDataInput{MetricDataQueries: queries, StartTime: ptr(now.Add(-minutes * time.Minute)), EndTime: ptr(now)}
	b.ResetTimer()
	for b.Loop() {
		out, err := s.GetMetricData(context.Background(), in)
		if err != nil || len(out.MetricDataResults) != metrics {
			b.Fatalf("GetMetricData: %v", err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/call")
}

// BenchmarkEvaluate10kAlarms evaluates 10,000 one-minute alarms once, as
// the evaluator does each simulated minute; at --time-scale 60 a
// simulated minute is one real second, so ns/op over 1e9 is the CPU share
// of one core (spread over the cores the evaluator uses).
func BenchmarkEvaluate10kAlarms(b *testing.B) {
	const alarms = 10000
	s, err := New(store.NewMemory(), clock.NewFake(t0), Options{})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	for i := range alarms {
		id := fmt.Sprintf("i-%05d", i)
		for m := 1; m <= 5; m++ {
			s.db(scope{Account: "000000000000", Region: "us-east-1"}).Put(
				tsdb.NewMetric("AWS/EC2", "CPUUtilization", []tsdb.Dimension{{Name: "InstanceId", Value: id}}),
				tsdb.Sample{Timestamp: t0.Add(-time.Duration(m) * time.Minute), StorageResolution: 60, Values: []float64{float64(i % 100)}}, t0)
		}
		_, err := s.PutMetricAlarm(ctx, &api.PutMetricAlarmInput{
			AlarmName: ptr("cpu-" + id), Namespace: ptr("AWS/EC2"), MetricName: ptr("CPUUtilization"),
			Dimensions: []api.Dimension{{Name: ptr("InstanceId"), Value: ptr(id)}},
			Statistic:  ptr("Average"), Period: ptr(int32(60)), EvaluationPeriods: ptr(int32(3)),
			Threshold: ptr(50.0), ComparisonOperator: ptr("GreaterThanThreshold"),
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	s.eval.evaluateAt(t0) // the first pass changes every state; later ones are the steady state
	b.ResetTimer()
	for b.Loop() {
		s.eval.evaluateAt(t0)
	}
	perMinute := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
	b.ReportMetric(perMinute/1e9*100*float64(runtime.GOMAXPROCS(0)), "%core-at-scale-60")
}
