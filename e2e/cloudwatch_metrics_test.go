package e2e

import (
	"context"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"

	"github.com/nephele-dev/nephele/internal/clock"
	"github.com/nephele-dev/nephele/internal/server"
	"github.com/nephele-dev/nephele/internal/testenv"
)

// cwStart is the fake clock's start in the CloudWatch tests: on a minute,
// so periods line up with what the test publishes.
var cwStart = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)

func near(a, b float64) bool { return math.Abs(a-b) <= 1e-9*math.Max(1, math.Abs(b)) }

// TestCloudWatchMetricsSDK publishes values, value lists with counts,
// statistic sets and high-resolution data through the Go SDK (CBOR), and
// reads them back with GetMetricStatistics, GetMetricData (with metric
// math and paging) and ListMetrics.
func TestCloudWatchMetricsSDK(t *testing.T) {
	clk := clock.NewFake(cwStart)
	env := testenv.Start(t, server.Config{Clock: clk})
	ctx := context.Background()
	c := cloudwatch.NewFromConfig(env.AWSConfig())
	dims := []cwtypes.Dimension{{Name: aws.String("Service"), Value: aws.String("checkout")}}
	at := func(min int) *time.Time { return aws.Time(cwStart.Add(time.Duration(min) * time.Minute)) }
	_, err := c.PutMetricData(ctx, &cloudwatch.PutMetricDataInput{
		Namespace: aws.String("Shop"),
		MetricData: []cwtypes.MetricDatum{
			{MetricName: aws.String("Latency"), Dimensions: dims, Timestamp: at(-10), Unit: cwtypes.StandardUnitMilliseconds, Value: aws.Float64(100)},
			{MetricName: aws.String("Latency"), Dimensions: dims, Timestamp: at(-10), Unit: cwtypes.StandardUnitMilliseconds, Values: []float64{10, 20, 30}, Counts: []float64{1, 1, 2}},
			{MetricName: aws.String("Latency"), Dimensions: dims, Timestamp: at(-9), Unit: cwtypes.StandardUnitMilliseconds,
				StatisticValues: &cwtypes.StatisticSet{SampleCount: aws.Float64(4), Sum: aws.Float64(400), Minimum: aws.Float64(50), Maximum: aws.Float64(150)}},
			{MetricName: aws.String("Orders"), Dimensions: dims, Timestamp: at(-8), Value: aws.Float64(3)},
			{MetricName: aws.String("Orders"), Dimensions: dims, Timestamp: at(-7), Value: aws.Float64(5)},
			{MetricName: aws.String("Orders"), Dimensions: dims, Timestamp: at(-6), Value: aws.Float64(9)},
		},
	})
	if err != nil {
		t.Fatalf("PutMetricData: %v", err)
	}
	stats, err := c.GetMetricStatistics(ctx, &cloudwatch.GetMetricStatisticsInput{
		Namespace: aws.String("Shop"), MetricName: aws.String("Latency"), Dimensions: dims,
		StartTime: at(-10), EndTime: at(-8), Period: aws.Int32(60),
		Statistics: []cwtypes.Statistic{cwtypes.StatisticAverage, cwtypes.StatisticSum, cwtypes.StatisticSampleCount, cwtypes.StatisticMinimum, cwtypes.StatisticMaximum},
	})
	if err != nil {
		t.Fatalf("GetMetricStatistics: %v", err)
	}
	if len(stats.Datapoints) != 2 || aws.ToString(stats.Label) != "Latency" {
		t.Fatalf("datapoints = %+v", stats.Datapoints)
	}
	byMinute := map[int64]cwtypes.Datapoint{}
	for _, dp := range stats.Datapoints {
		byMinute[aws.ToTime(dp.Timestamp).Unix()] = dp
	}
	// Minute -10: 100 once, 10, 20 and 30 twice: five samples, sum 190.
	first := byMinute[at(-10).Unix()]
	if !near(aws.ToFloat64(first.SampleCount), 5) || !near(aws.ToFloat64(first.Sum), 190) || !near(aws.ToFloat64(first.Average), 38) ||
		!near(aws.ToFloat64(first.Minimum), 10) || !near(aws.ToFloat64(first.Maximum), 100) || first.Unit != cwtypes.StandardUnitMilliseconds {
		t.Errorf("minute -10 = %+v", first)
	}
	second := byMinute[at(-9).Unix()]
	if !near(aws.ToFloat64(second.SampleCount), 4) || !near(aws.ToFloat64(second.Average), 100) || !near(aws.ToFloat64(second.Maximum), 150) {
		t.Errorf("minute -9 (statistic set) = %+v", second)
	}
	pct, err := c.GetMetricStatistics(ctx, &cloudwatch.GetMetricStatisticsInput{
		Namespace: aws.String("Shop"), MetricName: aws.String("Latency"), Dimensions: dims,
		StartTime: at(-10), EndTime: at(-9), Period: aws.Int32(60), ExtendedStatistics: []string{"p100", "p0"},
	})
	if err != nil || len(pct.Datapoints) != 1 {
		t.Fatalf("percentiles: %+v, %v", pct, err)
	}
	if p100 := pct.Datapoints[0].ExtendedStatistics["p100"]; math.Abs(p100-100) > 1 {
		t.Errorf("p100 = %v, want 100", p100)
	}

	// Metric math over the Orders series, newest first by default.
	data, err := c.GetMetricData(ctx, &cloudwatch.GetMetricDataInput{
		StartTime: at(-8), EndTime: at(-5),
		MetricDataQueries: []cwtypes.MetricDataQuery{
			{Id: aws.String("m1"), ReturnData: aws.Bool(false), MetricStat: &cwtypes.MetricStat{
				Metric: &cwtypes.Metric{Namespace: aws.String("Shop"), MetricName: aws.String("Orders"), Dimensions: dims},
				Period: aws.Int32(60), Stat: aws.String("Sum")}},
			{Id: aws.String("doubled"), Expression: aws.String("m1 * 2"), Label: aws.String("Orders x2")},
			{Id: aws.String("rate"), Expression: aws.String("DIFF(m1)")},
		},
	})
	if err != nil {
		t.Fatalf("GetMetricData: %v", err)
	}
	if len(data.MetricDataResults) != 2 {
		t.Fatalf("results = %+v", data.MetricDataResults)
	}
	doubled := data.MetricDataResults[0]
	if aws.ToString(doubled.Id) != "doubled" || aws.ToString(doubled.Label) != "Orders x2" || doubled.StatusCode != cwtypes.StatusCodeComplete {
		t.Errorf("doubled = %+v", doubled)
	}
	if want := []float64{18, 10, 6}; !equalFloats(doubled.Values, want) || !doubled.Timestamps[0].Equal(*at(-6)) {
		t.Errorf("doubled values %v at %v, want %v newest first", doubled.Values, doubled.Timestamps, want)
	}
	if want := []float64{4, 2}; !equalFloats(data.MetricDataResults[1].Values, want) {
		t.Errorf("DIFF = %v, want %v", data.MetricDataResults[1].Values, want)
	}

	// Paging by MaxDatapoints, oldest first.
	var pages [][]float64
	var token *string
	for range 5 {
		out, err := c.GetMetricData(ctx, &cloudwatch.GetMetricDataInput{
			StartTime: at(-8), EndTime: at(-5), MaxDatapoints: aws.Int32(2), NextToken: token, ScanBy: cwtypes.ScanByTimestampAscending,
			MetricDataQueries: []cwtypes.MetricDataQuery{{Id: aws.String("m1"), MetricStat: &cwtypes.MetricStat{
				Metric: &cwtypes.Metric{Namespace: aws.String("Shop"), MetricName: aws.String("Orders"), Dimensions: dims},
				Period: aws.Int32(60), Stat: aws.String("Maximum")}}},
		})
		if err != nil {
			t.Fatalf("GetMetricData page: %v", err)
		}
		for _, r := range out.MetricDataResults {
			pages = append(pages, r.Values)
		}
		if token = out.NextToken; token == nil {
			break
		}
	}
	if len(pages) != 2 || !equalFloats(pages[0], []float64{3, 5}) || !equalFloats(pages[1], []float64{9}) {
		t.Errorf("pages = %v, want [3 5] then [9]", pages)
	}

	// High-resolution data answers a 10-second period.
	for i := range 6 {
		_, err := c.PutMetricData(ctx, &cloudwatch.PutMetricDataInput{Namespace: aws.String("Shop"), MetricData: []cwtypes.MetricDatum{{
			MetricName: aws.String("Queue"), StorageResolution: aws.Int32(1), Value: aws.Float64(float64(i)),
			Timestamp: aws.Time(cwStart.Add(-time.Minute + time.Duration(i)*10*time.Second)),
		}}})
		if err != nil {
			t.Fatal(err)
		}
	}
	hires, err := c.GetMetricStatistics(ctx, &cloudwatch.GetMetricStatisticsInput{
		Namespace: aws.String("Shop"), MetricName: aws.String("Queue"), StartTime: at(-1), EndTime: at(0),
		Period: aws.Int32(10), Statistics: []cwtypes.Statistic{cwtypes.StatisticMaximum},
	})
	if err != nil || len(hires.Datapoints) != 6 {
		t.Errorf("10-second datapoints: %+v, %v", hires, err)
	}

	// ListMetrics by name and by dimension.
	list, err := c.ListMetrics(ctx, &cloudwatch.ListMetricsInput{Namespace: aws.String("Shop"),
		Dimensions: []cwtypes.DimensionFilter{{Name: aws.String("Service")}}})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, m := range list.Metrics {
		names = append(names, aws.ToString(m.MetricName))
	}
	if strings.Join(names, ",") != "Latency,Orders" {
		t.Errorf("ListMetrics by dimension = %v", names)
	}
	active, err := c.ListMetrics(ctx, &cloudwatch.ListMetricsInput{RecentlyActive: cwtypes.RecentlyActivePt3h, MetricName: aws.String("Queue")})
	if err != nil || len(active.Metrics) != 1 {
		t.Errorf("recently active: %+v, %v", active, err)
	}
	clk.Advance(4 * time.Hour)
	active, err = c.ListMetrics(ctx, &cloudwatch.ListMetricsInput{RecentlyActive: cwtypes.RecentlyActivePt3h, MetricName: aws.String("Queue")})
	if err != nil || len(active.Metrics) != 0 {
		t.Errorf("recently active after 4 hours: %+v, %v", active, err)
	}
}

func equalFloats(a, b []float64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !near(a[i], b[i]) {
			return false
		}
	}
	return true
}

// TestCloudWatchMetricErrors checks that bad input gets CloudWatch's
// error and stores nothing.
func TestCloudWatchMetricErrors(t *testing.T) {
	clk := clock.NewFake(cwStart)
	env := testenv.Start(t, server.Config{Clock: clk})
	ctx := context.Background()
	c := cloudwatch.NewFromConfig(env.AWSConfig())
	datum := func(mod func(*cwtypes.MetricDatum)) []cwtypes.MetricDatum {
		d := cwtypes.MetricDatum{MetricName: aws.String("M"), Value: aws.Float64(1)}
		mod(&d)
		return []cwtypes.MetricDatum{{MetricName: aws.String("Good"), Value: aws.Float64(1)}, d}
	}
	manyDims := make([]cwtypes.Dimension, 31)
	for i := range manyDims {
		manyDims[i] = cwtypes.Dimension{Name: aws.String(string(rune('a'+i%26)) + strings.Repeat("x", i/26)), Value: aws.String("v")}
	}
	tests := []struct {
		name, code, message string
		in                  cloudwatch.PutMetricDataInput
	}{
		{"aws_namespace", "InvalidParameterValue", "Namespace", cloudwatch.PutMetricDataInput{Namespace: aws.String("AWS/EC2"), MetricData: datum(func(*cwtypes.MetricDatum) {})}},
		{"too_old", "InvalidParameterValue", "MetricData.member.2.Timestamp must specify a time within the past two weeks",
			cloudwatch.PutMetricDataInput{Namespace: aws.String("App"), MetricData: datum(func(d *cwtypes.MetricDatum) { d.Timestamp = aws.Time(cwStart.Add(-15 * 24 * time.Hour)) })}},
		{"too_new", "InvalidParameterValue", "Timestamp",
			cloudwatch.PutMetricDataInput{Namespace: aws.String("App"), MetricData: datum(func(d *cwtypes.MetricDatum) { d.Timestamp = aws.Time(cwStart.Add(3 * time.Hour)) })}},
		{"value_and_values", "InvalidParameterValue", "mutually exclusive",
			cloudwatch.PutMetricDataInput{Namespace: aws.String("App"), MetricData: datum(func(d *cwtypes.MetricDatum) { d.Values = []float64{1} })}},
		{"counts_mismatch", "InvalidParameterValue", "same size",
			cloudwatch.PutMetricDataInput{Namespace: aws.String("App"), MetricData: datum(func(d *cwtypes.MetricDatum) { d.Value = nil; d.Values = []float64{1, 2}; d.Counts = []float64{1} })}},
		{"resolution", "InvalidParameterValue", "StorageResolution",
			cloudwatch.PutMetricDataInput{Namespace: aws.String("App"), MetricData: datum(func(d *cwtypes.MetricDatum) { d.StorageResolution = aws.Int32(5) })}},
		// The model's own limit: CloudWatch's framework answers it.
		{"dimensions", "ValidationError", "metricData.2.member.dimensions",
			cloudwatch.PutMetricDataInput{Namespace: aws.String("App"), MetricData: datum(func(d *cwtypes.MetricDatum) { d.Dimensions = manyDims })}},
		{"too_many", "InvalidParameterValue", "1000", cloudwatch.PutMetricDataInput{Namespace: aws.String("App"), MetricData: make([]cwtypes.MetricDatum, 1001)}},
	}
	for i := range tests[len(tests)-1].in.MetricData {
		tests[len(tests)-1].in.MetricData[i] = cwtypes.MetricDatum{MetricName: aws.String("M"), Value: aws.Float64(1)}
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := c.PutMetricData(ctx, &tt.in)
			if apiCode(err) != tt.code || !strings.Contains(err.Error(), tt.message) {
				t.Errorf("err = %v, want %s mentioning %q", err, tt.code, tt.message)
			}
		})
	}
	// Nothing of a rejected call is kept, not even its good members.
	list, err := c.ListMetrics(ctx, &cloudwatch.ListMetricsInput{})
	if err != nil || len(list.Metrics) != 0 {
		t.Errorf("after rejected calls ListMetrics = %+v, %v", list, err)
	}

	_, err = c.GetMetricStatistics(ctx, &cloudwatch.GetMetricStatisticsInput{
		Namespace: aws.String("App"), MetricName: aws.String("M"), StartTime: aws.Time(cwStart.Add(-time.Hour)), EndTime: aws.Time(cwStart),
		Period: aws.Int32(60), Statistics: []cwtypes.Statistic{cwtypes.StatisticAverage}, ExtendedStatistics: []string{"p99"},
	})
	if apiCode(err) != "InvalidParameterCombination" {
		t.Errorf("Statistics with ExtendedStatistics: %v", err)
	}
	_, err = c.GetMetricStatistics(ctx, &cloudwatch.GetMetricStatisticsInput{
		Namespace: aws.String("App"), MetricName: aws.String("M"), StartTime: aws.Time(cwStart.Add(-48 * time.Hour)), EndTime: aws.Time(cwStart),
		Period: aws.Int32(60), Statistics: []cwtypes.Statistic{cwtypes.StatisticAverage},
	})
	if apiCode(err) != "InvalidParameterCombination" || !strings.Contains(err.Error(), "1,440") {
		t.Errorf("2,880 datapoints: %v", err)
	}
	_, err = c.GetMetricStatistics(ctx, &cloudwatch.GetMetricStatisticsInput{
		Namespace: aws.String("App"), MetricName: aws.String("M"), StartTime: aws.Time(cwStart.Add(-time.Hour)), EndTime: aws.Time(cwStart),
		Period: aws.Int32(90), Statistics: []cwtypes.Statistic{cwtypes.StatisticAverage},
	})
	if apiCode(err) != "InvalidParameterValue" {
		t.Errorf("period 90: %v", err)
	}
	_, err = c.GetMetricData(ctx, &cloudwatch.GetMetricDataInput{
		StartTime: aws.Time(cwStart.Add(-time.Hour)), EndTime: aws.Time(cwStart),
		MetricDataQueries: []cwtypes.MetricDataQuery{{Id: aws.String("e1"), Expression: aws.String("SUM(")}},
	})
	if apiCode(err) != "ValidationError" {
		t.Errorf("bad expression: %v", err)
	}
	_, err = c.GetMetricData(ctx, &cloudwatch.GetMetricDataInput{
		StartTime: aws.Time(cwStart.Add(-time.Hour)), EndTime: aws.Time(cwStart),
		MetricDataQueries: []cwtypes.MetricDataQuery{{Id: aws.String("e1"), Expression: aws.String("m9 * 2")}},
	})
	if apiCode(err) != "ValidationError" {
		t.Errorf("unknown id: %v", err)
	}
}
