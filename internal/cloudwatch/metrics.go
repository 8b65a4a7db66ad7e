package cloudwatch

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	api "github.com/nephele-dev/nephele/internal/api/cloudwatch"
	"github.com/nephele-dev/nephele/internal/cloudwatch/tsdb"
	"github.com/nephele-dev/nephele/internal/page"
)

// CloudWatch's quotas and rules for PutMetricData ("CloudWatch service
// quotas", PutMetricData API reference).
const (
	maxMetricData    = 1000
	maxDimensions    = 30
	maxValues        = 150
	maxPastAge       = 14 * 24 * time.Hour
	maxFutureSkew    = 2 * time.Hour
	maxGMSDatapoints = 1440
	listMetricsPage  = 500
	recentlyActive   = 3 * time.Hour
)

// valueLimit is the magnitude CloudWatch accepts: "Values must be in the
// range of -2^360 to 2^360".
var valueLimit = math.Ldexp(1, 360)

// PutMetricData stores datapoints. The whole call is checked first, so a
// rejected call stores nothing; every bad member is named in one message,
// one line each, as CloudWatch lists them.
func (s *Service) PutMetricData(ctx context.Context, in *api.PutMetricDataInput) (*api.PutMetricDataOutput, error) {
	ns := str(in.Namespace)
	if ns == "" {
		return nil, missing("Namespace")
	}
	if strings.HasPrefix(ns, "AWS/") {
		return nil, invalidValue("The value AWS/ for parameter Namespace is invalid.")
	}
	if len(in.MetricData) == 0 && len(in.EntityMetricData) == 0 {
		return nil, missing("MetricData")
	}
	if n := len(in.MetricData); n > maxMetricData {
		return nil, invalidValue("The collection MetricData must not have a size greater than %d.", maxMetricData)
	}
	data := in.MetricData
	for _, e := range in.EntityMetricData {
		data = append(data, e.MetricData...)
	}
	now := s.clk.Now()
	type put struct {
		m tsdb.Metric
		s tsdb.Sample
	}
	puts := make([]put, 0, len(data))
	var problems []string
	for i, d := range data {
		p, problem := checkDatum(d, member("MetricData", i), now)
		if problem != "" {
			problems = append(problems, problem)
			continue
		}
		puts = append(puts, put{m: tsdb.NewMetric(ns, str(d.MetricName), dimsIn(d.Dimensions)), s: p})
	}
	if len(problems) > 0 {
		return nil, invalidValue("%s", strings.Join(problems, "\n"))
	}
	db := s.db(scopeOf(ctx))
	for _, p := range puts {
		db.Put(p.m, p.s, now)
	}
	return &api.PutMetricDataOutput{}, nil
}

// checkDatum validates one MetricDatum and returns it as a sample, or the
// line of the error message that explains what is wrong with it.
func checkDatum(d api.MetricDatum, name string, now time.Time) (tsdb.Sample, string) {
	if str(d.MetricName) == "" {
		return tsdb.Sample{}, fmt.Sprintf("The parameter %s.MetricName is required.", name)
	}
	if len(d.Dimensions) > maxDimensions {
		return tsdb.Sample{}, fmt.Sprintf("The collection %s.Dimensions must not have a size greater than %d.", name, maxDimensions)
	}
	for j, dim := range d.Dimensions {
		if str(dim.Name) == "" || str(dim.Value) == "" {
			return tsdb.Sample{}, fmt.Sprintf("The parameter %s.Dimensions.member.%d must have a Name and a Value.", name, j+1)
		}
	}
	set := 0
	if d.Value != nil {
		set++
	}
	if len(d.Values) > 0 {
		set++
	}
	if d.StatisticValues != nil {
		set++
	}
	switch {
	case set == 0:
		return tsdb.Sample{}, fmt.Sprintf("The parameters %s.Value, %[1]s.Values and %[1]s.StatisticValues are all missing; one is required.", name)
	case set > 1:
		return tsdb.Sample{}, fmt.Sprintf("The parameters %s.Value, %[1]s.Values and %[1]s.StatisticValues are mutually exclusive and you have specified more than one.", name)
	}
	res := 60
	if d.StorageResolution != nil {
		res = int(*d.StorageResolution)
		if res != 1 && res != 60 {
			return tsdb.Sample{}, fmt.Sprintf("The value %d for parameter %s.StorageResolution is invalid. Valid values are 1 and 60.", res, name)
		}
	}
	ts := now
	if d.Timestamp != nil {
		ts = *d.Timestamp
		if ts.Before(now.Add(-maxPastAge)) {
			return tsdb.Sample{}, fmt.Sprintf("The parameter %s.Timestamp must specify a time within the past two weeks.", name)
		}
		if ts.After(now.Add(maxFutureSkew)) {
			return tsdb.Sample{}, fmt.Sprintf("The parameter %s.Timestamp must specify a time no more than two hours in the future.", name)
		}
	}
	sample := tsdb.Sample{Timestamp: ts, Unit: str(d.Unit), StorageResolution: res}
	badValue := func(v float64) bool { return math.IsNaN(v) || math.IsInf(v, 0) || math.Abs(v) > valueLimit }
	switch {
	case d.Value != nil:
		if badValue(*d.Value) {
			return tsdb.Sample{}, fmt.Sprintf("The value %v for parameter %s.Value is invalid.", *d.Value, name)
		}
		sample.Values = []float64{*d.Value}
	case len(d.Values) > 0:
		if len(d.Values) > maxValues {
			return tsdb.Sample{}, fmt.Sprintf("The collection %s.Values must not have a size greater than %d.", name, maxValues)
		}
		if len(d.Counts) > 0 && len(d.Counts) != len(d.Values) {
			return tsdb.Sample{}, fmt.Sprintf("The parameters %s.Values and %[1]s.Counts must be of the same size.", name)
		}
		for j, v := range d.Values {
			if badValue(v) {
				return tsdb.Sample{}, fmt.Sprintf("The value %v for parameter %s.Values.member.%d is invalid.", v, name, j+1)
			}
		}
		for j, c := range d.Counts {
			if badValue(c) || c < 0 {
				return tsdb.Sample{}, fmt.Sprintf("The value %v for parameter %s.Counts.member.%d is invalid.", c, name, j+1)
			}
		}
		sample.Values, sample.Counts = d.Values, d.Counts
	default:
		sv := d.StatisticValues
		if sv.SampleCount == nil || sv.Sum == nil || sv.Minimum == nil || sv.Maximum == nil {
			return tsdb.Sample{}, fmt.Sprintf("The parameter %s.StatisticValues must have SampleCount, Sum, Minimum and Maximum.", name)
		}
		for _, v := range []float64{*sv.SampleCount, *sv.Sum, *sv.Minimum, *sv.Maximum} {
			if badValue(v) {
				return tsdb.Sample{}, fmt.Sprintf("The value %v for parameter %s.StatisticValues is invalid.", v, name)
			}
		}
		if *sv.SampleCount <= 0 {
			return tsdb.Sample{}, fmt.Sprintf("The parameter %s.StatisticValues.SampleCount must be greater than 0.", name)
		}
		if *sv.Minimum > *sv.Maximum {
			return tsdb.Sample{}, fmt.Sprintf("The parameter %s.StatisticValues.Minimum must be less than or equal to %[1]s.StatisticValues.Maximum.", name)
		}
		sample.Stats = &tsdb.StatSet{SampleCount: *sv.SampleCount, Sum: *sv.Sum, Min: *sv.Minimum, Max: *sv.Maximum}
	}
	return sample, ""
}

// dimsIn converts request dimensions.
func dimsIn(in []api.Dimension) []tsdb.Dimension {
	out := make([]tsdb.Dimension, len(in))
	for i, d := range in {
		out[i] = tsdb.Dimension{Name: str(d.Name), Value: str(d.Value)}
	}
	return out
}

// dimsOut converts stored dimensions; nil when there are none.
func dimsOut(in []tsdb.Dimension) []api.Dimension {
	var out []api.Dimension
	for _, d := range in {
		out = append(out, api.Dimension{Name: ptr(d.Name), Value: ptr(d.Value)})
	}
	return out
}

// checkPeriod applies CloudWatch's rule for a statistics period: 1, 5,
// 10, 20 or 30 seconds for high-resolution data, else a multiple of 60.
func checkPeriod(param string, p int32) error {
	switch {
	case p <= 0:
		return invalidValue("The parameter %s must be greater than 0.", param)
	case p < 60 && !slices.Contains([]int32{1, 5, 10, 20, 30}, p):
		return invalidValue("The parameter %s must be 1, 5, 10, 20, 30, or a multiple of 60.", param)
	case p >= 60 && p%60 != 0:
		return invalidValue("The parameter %s must be a multiple of 60.", param)
	}
	return nil
}

// roundStart rounds a query's start as CloudWatch does ("GetMetricStatistics",
// StartTime): down to the minute when under 15 days old, to five minutes
// up to 63 days, to the hour beyond; sub-minute periods start on a
// multiple of the period.
func roundStart(start, now time.Time, period time.Duration) time.Time {
	age := now.Sub(start)
	switch {
	case period < time.Minute:
		return start.Truncate(period)
	case age > 63*24*time.Hour:
		return start.Truncate(time.Hour)
	case age > 15*24*time.Hour:
		return start.Truncate(5 * time.Minute)
	default:
		return start.Truncate(time.Minute)
	}
}

// GetMetricStatistics aggregates one metric's datapoints into periods.
func (s *Service) GetMetricStatistics(ctx context.Context, in *api.GetMetricStatisticsInput) (*api.GetMetricStatisticsOutput, error) {
	switch {
	case str(in.Namespace) == "":
		return nil, missing("Namespace")
	case str(in.MetricName) == "":
		return nil, missing("MetricName")
	case in.StartTime == nil:
		return nil, missing("StartTime")
	case in.EndTime == nil:
		return nil, missing("EndTime")
	case in.Period == nil:
		return nil, missing("Period")
	}
	if len(in.Statistics) == 0 && len(in.ExtendedStatistics) == 0 {
		return nil, missing("Statistics")
	}
	if len(in.Statistics) > 0 && len(in.ExtendedStatistics) > 0 {
		return nil, invalidCombination("Statistics and ExtendedStatistics are mutually exclusive; specify one or the other.")
	}
	if len(in.ExtendedStatistics) > 10 {
		return nil, invalidValue("The collection ExtendedStatistics must not have a size greater than 10.")
	}
	for i, st := range in.ExtendedStatistics {
		if !tsdb.ValidStatistic(st) || isBasicStatistic(st) {
			return nil, invalidValue("The value %s for parameter ExtendedStatistics.member.%d is invalid.", st, i+1)
		}
	}
	if len(in.Dimensions) > maxDimensions {
		return nil, invalidValue("The collection Dimensions must not have a size greater than %d.", maxDimensions)
	}
	if err := checkPeriod("Period", *in.Period); err != nil {
		return nil, err
	}
	if !in.StartTime.Before(*in.EndTime) {
		return nil, invalidValue("The parameter StartTime must be less than the parameter EndTime.")
	}
	now := s.clk.Now()
	period := time.Duration(*in.Period) * time.Second
	start := roundStart(*in.StartTime, now, period)
	if n := int64((in.EndTime.Sub(start) + period - 1) / period); n > maxGMSDatapoints {
		return nil, invalidCombination("You have requested up to %d datapoints, which exceeds the limit of %s. You may reduce the datapoints requested by increasing Period, or decreasing the time range.", n, "1,440")
	}
	out := &api.GetMetricStatisticsOutput{Label: in.MetricName}
	db := s.peekDB(scopeOf(ctx))
	if db == nil {
		return out, nil
	}
	buckets := db.Query(tsdb.Query{
		Metric: tsdb.NewMetric(str(in.Namespace), str(in.MetricName), dimsIn(in.Dimensions)),
		Start:  start, End: *in.EndTime, Period: period, Unit: str(in.Unit),
	}, now)
	for _, b := range buckets {
		dp := api.Datapoint{Timestamp: ptr(b.Timestamp.UTC()), Unit: ptr(unitName(b.Unit))}
		for _, st := range in.Statistics {
			v, _ := b.Statistic(st)
			switch st {
			case "SampleCount":
				dp.SampleCount = ptr(v)
			case "Average":
				dp.Average = ptr(v)
			case "Sum":
				dp.Sum = ptr(v)
			case "Minimum":
				dp.Minimum = ptr(v)
			case "Maximum":
				dp.Maximum = ptr(v)
			}
		}
		for _, st := range in.ExtendedStatistics {
			if v, ok := b.Statistic(st); ok {
				if dp.ExtendedStatistics == nil {
					dp.ExtendedStatistics = map[string]float64{}
				}
				dp.ExtendedStatistics[st] = v
			}
		}
		out.Datapoints = append(out.Datapoints, dp)
	}
	return out, nil
}

// isBasicStatistic reports whether name is one of the five statistics
// that go in Statistics rather than ExtendedStatistics.
func isBasicStatistic(name string) bool {
	switch name {
	case "SampleCount", "Average", "Sum", "Minimum", "Maximum":
		return true
	}
	return false
}

// unitName is a stored unit as CloudWatch reports it.
func unitName(u string) string {
	if u == "" {
		return "None"
	}
	return u
}

// ListMetrics lists the metrics with datapoints retained, 500 a page.
func (s *Service) ListMetrics(ctx context.Context, in *api.ListMetricsInput) (*api.ListMetricsOutput, error) {
	if len(in.Dimensions) > 10 {
		return nil, invalidValue("The collection Dimensions must not have a size greater than 10.")
	}
	f := tsdb.ListFilter{Namespace: str(in.Namespace), Name: str(in.MetricName)}
	for i, d := range in.Dimensions {
		if str(d.Name) == "" {
			return nil, missing(fmt.Sprintf("Dimensions.member.%d.Name", i+1))
		}
		f.Dimensions = append(f.Dimensions, tsdb.DimensionFilter{Name: str(d.Name), Value: str(d.Value)})
	}
	switch str(in.RecentlyActive) {
	case "":
	case "PT3H":
		f.RecentlyActive = true
	default:
		return nil, invalidValue("The value %s for parameter RecentlyActive is invalid. Valid value is PT3H.", str(in.RecentlyActive))
	}
	var all []tsdb.Metric
	if db := s.peekDB(scopeOf(ctx)); db != nil {
		all = db.List(f, s.clk.Now())
	}
	pg, next, err := page.ByKey(all, tsdb.Metric.Key, str(in.NextToken), listMetricsPage, listMetricsPage, 0)
	if err != nil {
		return nil, badToken()
	}
	out := &api.ListMetricsOutput{Metrics: []api.Metric{}}
	for _, m := range pg {
		out.Metrics = append(out.Metrics, api.Metric{Namespace: ptr(m.Namespace), MetricName: ptr(m.Name), Dimensions: dimsOut(m.Dimensions)})
	}
	if next != "" {
		out.NextToken = &next
	}
	return out, nil
}
