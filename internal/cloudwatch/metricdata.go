package cloudwatch

import (
	"context"
	"regexp"
	"slices"
	"strconv"
	"time"

	api "github.com/nephele-dev/nephele/internal/api/cloudwatch"
	"github.com/nephele-dev/nephele/internal/cloudwatch/metricmath"
	"github.com/nephele-dev/nephele/internal/cloudwatch/tsdb"
	"github.com/nephele-dev/nephele/internal/page"
)

// GetMetricData's quotas ("GetMetricData" API reference).
const (
	maxQueries          = 500
	defaultMaxDatapoint = 100800
)

// queryID is the form of a MetricDataQuery Id: "The first character must
// be a lowercase letter", then letters, digits and underscores.
var queryID = regexp.MustCompile(`^[a-z][a-zA-Z0-9_]*$`)

// GetMetricData answers metric-stat queries and metric math expressions
// over a time range, paginated by MaxDatapoints.
func (s *Service) GetMetricData(ctx context.Context, in *api.GetMetricDataInput) (*api.GetMetricDataOutput, error) {
	switch {
	case len(in.MetricDataQueries) == 0:
		return nil, missing("MetricDataQueries")
	case in.StartTime == nil:
		return nil, missing("StartTime")
	case in.EndTime == nil:
		return nil, missing("EndTime")
	}
	if len(in.MetricDataQueries) > maxQueries {
		return nil, invalidValue("The collection MetricDataQueries must not have a size greater than %d.", maxQueries)
	}
	if !in.StartTime.Before(*in.EndTime) {
		return nil, invalidValue("The parameter StartTime must be less than the parameter EndTime.")
	}
	descending, err := scanDescending(in.ScanBy)
	if err != nil {
		return nil, err
	}
	maxPoints := defaultMaxDatapoint
	if in.MaxDatapoints != nil {
		if *in.MaxDatapoints <= 0 {
			return nil, invalidValue("The parameter MaxDatapoints must be greater than 0.")
		}
		maxPoints = int(*in.MaxDatapoints)
	}
	offset := 0
	if in.NextToken != nil {
		key, err := page.Decode(*in.NextToken)
		if err != nil {
			return nil, badToken()
		}
		if offset, err = strconv.Atoi(key); err != nil || offset < 0 {
			return nil, badToken()
		}
	}
	results, err := s.runQueries(s.db(scopeOf(ctx)), in.MetricDataQueries, *in.StartTime, *in.EndTime, s.clk.Now())
	if err != nil {
		return nil, err
	}
	out := &api.GetMetricDataOutput{MetricDataResults: []api.MetricDataResult{}}
	// Pages cut the results' datapoints, taken in order, into runs of
	// maxPoints; a result the page cuts short is PartialData.
	pos := 0
	for _, r := range results {
		n := len(r.series.Values)
		from, to := max(offset-pos, 0), min(offset+maxPoints-pos, n)
		pos += n
		if from > n || (from == n && n > 0) || to < from || (n == 0 && offset > 0) {
			continue
		}
		ts, vs := r.series.Timestamps, r.series.Values
		if descending {
			ts, vs = slices.Clone(ts), slices.Clone(vs)
			slices.Reverse(ts)
			slices.Reverse(vs)
		}
		res := api.MetricDataResult{
			Id: ptr(r.id), Label: ptr(r.series.Label), StatusCode: ptr("Complete"),
			Timestamps: utc(ts[from:to]), Values: slices.Clone(vs[from:to]),
		}
		if to < n {
			res.StatusCode = ptr("PartialData")
		}
		out.MetricDataResults = append(out.MetricDataResults, res)
	}
	if offset+maxPoints < pos {
		out.NextToken = ptr(page.Encode(strconv.Itoa(offset + maxPoints)))
	}
	return out, nil
}

func utc(ts []time.Time) []time.Time {
	out := make([]time.Time, len(ts))
	for i, t := range ts {
		out[i] = t.UTC()
	}
	return out
}

// queryResult is one series a returned query produced.
type queryResult struct {
	id     string
	series metricmath.Series
}

// runQueries validates and answers MetricDataQueries over [start, end):
// metric stats from db, then expressions in dependency order. It returns
// the series of the queries whose ReturnData is true (the default), in
// query order.
func (s *Service) runQueries(db *tsdb.DB, queries []api.MetricDataQuery, start, end, now time.Time) ([]queryResult, error) {
	all, err := evalQueries(db, queries, start, end, now)
	if err != nil {
		return nil, err
	}
	var out []queryResult
	for _, q := range queries {
		if q.ReturnData != nil && !*q.ReturnData {
			continue
		}
		for _, sr := range all[str(q.Id)] {
			out = append(out, queryResult{id: str(q.Id), series: sr})
		}
	}
	return out, nil
}

// evalQueries answers every query, returned or not, by Id.
func evalQueries(db *tsdb.DB, queries []api.MetricDataQuery, start, end, now time.Time) (map[string][]metricmath.Series, error) {
	inputs := map[string][]metricmath.Series{}
	exprs := map[string]*metricmath.Expr{}
	var statIDs []string
	seen := map[string]bool{}
	minPeriod := time.Duration(0)
	for i, q := range queries {
		id := str(q.Id)
		name := member("MetricDataQueries", i)
		if !queryID.MatchString(id) {
			return nil, validation("The value %s for parameter %s.Id is invalid. It must start with a lowercase letter and contain only letters, numbers and underscores.", id, name)
		}
		if seen[id] {
			return nil, validation("The values for parameter id in MetricDataQueries are not unique.")
		}
		seen[id] = true
		if (q.MetricStat == nil) == (q.Expression == nil) {
			return nil, validation("Exactly one element of the metricStat and expression fields must be present in %s.", name)
		}
		if q.MetricStat != nil {
			ms := q.MetricStat
			if ms.Metric == nil || str(ms.Metric.Namespace) == "" || str(ms.Metric.MetricName) == "" {
				return nil, missing(name + ".MetricStat.Metric")
			}
			if ms.Period == nil {
				return nil, missing(name + ".MetricStat.Period")
			}
			if err := checkPeriod(name+".MetricStat.Period", *ms.Period); err != nil {
				return nil, err
			}
			if !tsdb.ValidStatistic(str(ms.Stat)) {
				return nil, invalidValue("The value %s for parameter %s.MetricStat.Stat is invalid.", str(ms.Stat), name)
			}
			period := time.Duration(*ms.Period) * time.Second
			if minPeriod == 0 || period < minPeriod {
				minPeriod = period
			}
			label := str(q.Label)
			if label == "" {
				label = str(ms.Metric.MetricName)
			}
			inputs[id] = []metricmath.Series{statSeries(db, ms, label, start, end, now)}
			statIDs = append(statIDs, id)
			continue
		}
		e, err := metricmath.Parse(str(q.Expression))
		if err != nil {
			return nil, validation("%s", metricmath.WithID(err, id).Error())
		}
		exprs[id] = e
	}
	order, err := metricmath.Order(exprs, statIDs)
	if err != nil {
		return nil, validation("%s", err.Error())
	}
	if minPeriod == 0 {
		minPeriod = time.Minute
	}
	for _, id := range order {
		q := queries[slices.IndexFunc(queries, func(q api.MetricDataQuery) bool { return str(q.Id) == id })]
		period := minPeriod
		if q.Period != nil && *q.Period > 0 {
			period = time.Duration(*q.Period) * time.Second
		}
		for _, ref := range exprs[id].Refs() {
			if !seen[ref] {
				return nil, validation("Error in expression '%s': Unrecognized metric or expression id '%s'", id, ref)
			}
		}
		v, err := exprs[id].Eval(metricmath.Env{Inputs: inputs, Order: statIDs, Start: roundStart(start, now, period), End: end, Period: period})
		if err != nil {
			return nil, validation("%s", metricmath.WithID(err, id).Error())
		}
		if v.Scalar != nil {
			return nil, validation("Error in expression '%s': The expression must return a time series, not a scalar", id)
		}
		label := str(q.Label)
		for i := range v.Series {
			if label != "" && len(v.Series) == 1 {
				v.Series[i].Label = label
			} else if v.Series[i].Label == "" {
				v.Series[i].Label = id
			}
		}
		inputs[id] = v.Series
	}
	return inputs, nil
}

// statSeries is one metric's statistic over [start, end) in its period.
func statSeries(db *tsdb.DB, ms *api.MetricStat, label string, start, end, now time.Time) metricmath.Series {
	out := metricmath.Series{Label: label}
	if db == nil {
		return out
	}
	period := time.Duration(*ms.Period) * time.Second
	buckets := db.Query(tsdb.Query{
		Metric: tsdb.NewMetric(str(ms.Metric.Namespace), str(ms.Metric.MetricName), dimsIn(ms.Metric.Dimensions)),
		Start:  roundStart(start, now, period), End: end, Period: period, Unit: str(ms.Unit),
	}, now)
	for _, b := range buckets {
		if v, ok := b.Statistic(str(ms.Stat)); ok {
			out.Timestamps = append(out.Timestamps, b.Timestamp)
			out.Values = append(out.Values, v)
		}
	}
	return out
}

// scanDescending reads a ScanBy parameter: newest first unless
// TimestampAscending.
func scanDescending(scanBy *string) (bool, error) {
	switch str(scanBy) {
	case "", "TimestampDescending":
		return true, nil
	case "TimestampAscending":
		return false, nil
	}
	return false, invalidValue("The value %s for parameter ScanBy is invalid.", str(scanBy))
}
