package autoscaling

import (
	"context"
	"math"
	"strings"
	"sync"
	"testing"
	"time"

	api "github.com/nephele-dev/nephele/internal/api/autoscaling"
	cwapi "github.com/nephele-dev/nephele/internal/api/cloudwatch"
	"github.com/nephele-dev/nephele/internal/clock"
	"github.com/nephele-dev/nephele/internal/store"
)

// fakeMetrics answers GetMetricData from hourly functions by namespace and
// metric name, one datapoint an hour from since (NaN: no datapoint).
type fakeMetrics struct {
	mu     sync.Mutex
	since  time.Time
	series map[string]func(t time.Time) float64 // "namespace/name" → value
	calls  int
	last   *cwapi.GetMetricDataInput
}

func (f *fakeMetrics) GetMetricData(ctx context.Context, in *cwapi.GetMetricDataInput) (*cwapi.GetMetricDataOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	f.last = in
	out := &cwapi.GetMetricDataOutput{}
	for _, q := range in.MetricDataQueries {
		if q.ReturnData != nil && !*q.ReturnData {
			continue
		}
		res := cwapi.MetricDataResult{Id: q.Id}
		ms := q.MetricStat
		if ms == nil || deref(ms.Period) != 3600 {
			out.MetricDataResults = append(out.MetricDataResults, res)
			continue
		}
		fn := f.series[str(ms.Metric.Namespace)+"/"+str(ms.Metric.MetricName)]
		for t := in.StartTime.Truncate(time.Hour); fn != nil && t.Before(*in.EndTime); t = t.Add(time.Hour) {
			if t.Before(f.since) || t.Before(*in.StartTime) {
				continue
			}
			if v := fn(t); !math.IsNaN(v) {
				res.Timestamps, res.Values = append(res.Timestamps, t), append(res.Values, v)
			}
		}
		out.MetricDataResults = append(out.MetricDataResults, res)
	}
	return out, nil
}

// predStart is 08:00 on a Monday.
var predStart = at("2026-11-23T08:00:00Z")

// peak is a load of 100 an hour, 500 from 09:00 to 11:00 every day.
func peak(t time.Time) float64 {
	if t.Hour() >= 9 && t.Hour() < 11 {
		return 500
	}
	return 100
}

// predEnv is a service with one group, web (min 1, max 10, desired 1), on
// a fake clock, reading metrics from a fake; no controller runs: tests
// call the predictor's pass.
type predEnv struct {
	s   *Service
	clk *clock.Fake
	m   *fakeMetrics
	ctx context.Context
	sc  scope
}

func newPredEnv(t *testing.T, history time.Duration) *predEnv {
	t.Helper()
	clk := clock.NewFake(predStart)
	m := &fakeMetrics{since: predStart.Add(-history), series: map[string]func(time.Time) float64{"App/Web/Requests": peak}}
	s := New(store.NewMemory(), clk, Options{MetricHistory: m})
	e := &predEnv{s: s, clk: clk, m: m, ctx: context.Background()}
	e.sc = scopeOf(e.ctx)
	err := s.st.Update(func(tx store.Tx) error {
		return putGroup(tx, e.sc, groupRecord{Name: "web", ARN: "arn:aws:autoscaling:us-east-1:000000000000:autoScalingGroup:x:autoScalingGroupName/web", Min: 1, Max: 10, Desired: 1})
	})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// customized is a metric specification on the App/Web Requests metric, at
// 100 requests an instance.
func customized() api.PredictiveScalingMetricSpecification {
	stat := func(id, name, stat string) []api.MetricDataQuery {
		return []api.MetricDataQuery{{Id: ptr(id), MetricStat: &api.MetricStat{Metric: &api.Metric{Namespace: ptr("App/Web"), MetricName: ptr(name)}, Stat: ptr(stat)}}}
	}
	return api.PredictiveScalingMetricSpecification{
		TargetValue:                          ptr(100.0),
		CustomizedLoadMetricSpecification:    &api.PredictiveScalingCustomizedLoadMetric{MetricDataQueries: stat("load", "Requests", "Sum")},
		CustomizedScalingMetricSpecification: &api.PredictiveScalingCustomizedScalingMetric{MetricDataQueries: stat("scaling", "Requests", "Average")},
	}
}

func (e *predEnv) put(t *testing.T, name string, c api.PredictiveScalingConfiguration) {
	t.Helper()
	_, err := e.s.PutScalingPolicy(e.ctx, &api.PutScalingPolicyType{AutoScalingGroupName: ptr("web"), PolicyName: ptr(name),
		PolicyType: ptr("PredictiveScaling"), PredictiveScalingConfiguration: &c})
	if err != nil {
		t.Fatalf("PutScalingPolicy: %v", err)
	}
}

func (e *predEnv) forecast(t *testing.T, name string, from, to time.Time) *api.GetPredictiveScalingForecastAnswer {
	t.Helper()
	out, err := e.s.GetPredictiveScalingForecast(e.ctx, &api.GetPredictiveScalingForecastType{AutoScalingGroupName: ptr("web"), PolicyName: ptr(name), StartTime: &from, EndTime: &to})
	if err != nil {
		t.Fatalf("GetPredictiveScalingForecast: %v", err)
	}
	return out
}

func (e *predEnv) group(t *testing.T) groupRecord {
	t.Helper()
	var g groupRecord
	if err := e.s.st.View(func(tx store.Tx) error {
		var err error
		g, err = loadGroup(tx, e.sc, "web")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return g
}

func (e *predEnv) setDesired(t *testing.T, n int) {
	t.Helper()
	if err := e.s.st.Update(func(tx store.Tx) error {
		g, err := loadGroup(tx, e.sc, "web")
		if err != nil {
			return err
		}
		g.Desired = n
		return putGroup(tx, e.sc, g)
	}); err != nil {
		t.Fatal(err)
	}
}

func TestCheckPredictive(t *testing.T) {
	pair := func(typ string, label *string) api.PredictiveScalingMetricSpecification {
		return api.PredictiveScalingMetricSpecification{TargetValue: ptr(50.0), PredefinedMetricPairSpecification: &api.PredictiveScalingPredefinedMetricPair{PredefinedMetricType: ptr(typ), ResourceLabel: label}}
	}
	cfg := func(specs ...api.PredictiveScalingMetricSpecification) *api.PredictiveScalingConfiguration {
		return &api.PredictiveScalingConfiguration{MetricSpecifications: specs}
	}
	label := ptr("app/my-alb/778d41231b141a0f/targetgroup/my-alb-target-group/943f017f100becff")
	with := func(c *api.PredictiveScalingConfiguration, f func(*api.PredictiveScalingConfiguration)) *api.PredictiveScalingConfiguration {
		f(c)
		return c
	}
	tests := []struct {
		name string
		c    *api.PredictiveScalingConfiguration
		bad  string // "" valid, else a word of the message
	}{
		{"CPU pair", cfg(pair("ASGCPUUtilization", nil)), ""},
		{"ALB pair with its label", cfg(pair("ALBRequestCount", label)), ""},
		{"customized load and scaling", cfg(customized()), ""},
		{"predefined load and scaling", cfg(api.PredictiveScalingMetricSpecification{TargetValue: ptr(50.0),
			PredefinedLoadMetricSpecification:    &api.PredictiveScalingPredefinedLoadMetric{PredefinedMetricType: ptr("ASGTotalCPUUtilization")},
			PredefinedScalingMetricSpecification: &api.PredictiveScalingPredefinedScalingMetric{PredefinedMetricType: ptr("ASGAverageCPUUtilization")}}), ""},
		{"IncreaseMaxCapacity with a buffer", with(cfg(pair("ASGCPUUtilization", nil)), func(c *api.PredictiveScalingConfiguration) {
			c.MaxCapacityBreachBehavior, c.MaxCapacityBuffer = ptr("IncreaseMaxCapacity"), ptr(int32(10))
		}), ""},
		{"no configuration", nil, "required"},
		{"no metric specification", cfg(), "Exactly one"},
		{"two metric specifications", cfg(pair("ASGCPUUtilization", nil), pair("ASGNetworkIn", nil)), "Exactly one"},
		{"buffer time over an hour", with(cfg(pair("ASGCPUUtilization", nil)), func(c *api.PredictiveScalingConfiguration) { c.SchedulingBufferTime = ptr(int32(3601)) }), "SchedulingBufferTime"},
		{"IncreaseMaxCapacity without a buffer", with(cfg(pair("ASGCPUUtilization", nil)), func(c *api.PredictiveScalingConfiguration) {
			c.MaxCapacityBreachBehavior = ptr("IncreaseMaxCapacity")
		}), "MaxCapacityBuffer"},
		{"a buffer without IncreaseMaxCapacity", with(cfg(pair("ASGCPUUtilization", nil)), func(c *api.PredictiveScalingConfiguration) { c.MaxCapacityBuffer = ptr(int32(10)) }), "MaxCapacityBuffer"},
		{"target of zero", cfg(api.PredictiveScalingMetricSpecification{TargetValue: ptr(0.0), PredefinedMetricPairSpecification: pair("ASGCPUUtilization", nil).PredefinedMetricPairSpecification}), "TargetValue"},
		{"ALB pair without a label", cfg(pair("ALBRequestCount", nil)), "ResourceLabel"},
		{"CPU pair with a label", cfg(pair("ASGCPUUtilization", label)), "ResourceLabel"},
		{"malformed label", cfg(pair("ALBRequestCount", ptr("my-alb"))), "ResourceLabel"},
		{"pair and a load metric", cfg(api.PredictiveScalingMetricSpecification{TargetValue: ptr(50.0),
			PredefinedMetricPairSpecification: pair("ASGCPUUtilization", nil).PredefinedMetricPairSpecification,
			PredefinedLoadMetricSpecification: &api.PredictiveScalingPredefinedLoadMetric{PredefinedMetricType: ptr("ASGTotalCPUUtilization")}}), "cannot be combined"},
		{"load metric alone", cfg(api.PredictiveScalingMetricSpecification{TargetValue: ptr(50.0),
			PredefinedLoadMetricSpecification: &api.PredictiveScalingPredefinedLoadMetric{PredefinedMetricType: ptr("ASGTotalCPUUtilization")}}), "both a load metric and a scaling metric"},
		{"nothing but a target", cfg(api.PredictiveScalingMetricSpecification{TargetValue: ptr(50.0)}), "Specify either"},
		{"query with both expression and stat", cfg(func() api.PredictiveScalingMetricSpecification {
			m := customized()
			m.CustomizedLoadMetricSpecification.MetricDataQueries[0].Expression = ptr("SUM(METRICS())")
			return m
		}()), "Exactly one of Expression and MetricStat"},
		{"two queries returning data", cfg(func() api.PredictiveScalingMetricSpecification {
			m := customized()
			m.CustomizedLoadMetricSpecification.MetricDataQueries = append(m.CustomizedLoadMetricSpecification.MetricDataQueries,
				api.MetricDataQuery{Id: ptr("total"), Expression: ptr("load * 2")})
			return m
		}()), "must return data"},
		{"duplicate query ids", cfg(func() api.PredictiveScalingMetricSpecification {
			m := customized()
			m.CustomizedLoadMetricSpecification.MetricDataQueries = append(m.CustomizedLoadMetricSpecification.MetricDataQueries,
				api.MetricDataQuery{Id: ptr("load"), Expression: ptr("load * 2"), ReturnData: ptr(false)})
			return m
		}()), "Duplicate"},
		{"query id in capitals", cfg(func() api.PredictiveScalingMetricSpecification {
			m := customized()
			m.CustomizedLoadMetricSpecification.MetricDataQueries[0].Id = ptr("Load")
			return m
		}()), "Invalid Id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := checkPredictive(tt.c)
			switch {
			case tt.bad == "" && err != nil:
				t.Errorf("refused: %v", err)
			case tt.bad != "" && (!isValidation(err) || !strings.Contains(err.Error(), tt.bad)):
				t.Errorf("err = %v, want a ValidationError about %q", err, tt.bad)
			}
		})
	}
}

func TestPredictivePolicyDescribedWithDefaults(t *testing.T) {
	e := newPredEnv(t, 72*time.Hour)
	e.put(t, "predict", api.PredictiveScalingConfiguration{MetricSpecifications: []api.PredictiveScalingMetricSpecification{customized()}})
	out, err := e.s.DescribePolicies(e.ctx, &api.DescribePoliciesType{AutoScalingGroupName: ptr("web"), PolicyTypes: []string{"PredictiveScaling"}})
	if err != nil || len(out.ScalingPolicies) != 1 {
		t.Fatalf("DescribePolicies: %+v, %v", out, err)
	}
	c := out.ScalingPolicies[0].PredictiveScalingConfiguration
	if c == nil || str(c.Mode) != "ForecastOnly" || deref(c.SchedulingBufferTime) != 300 || str(c.MaxCapacityBreachBehavior) != "HonorMaxCapacity" ||
		c.MaxCapacityBuffer != nil || len(c.MetricSpecifications) != 1 || deref(c.MetricSpecifications[0].TargetValue) != 100 {
		t.Errorf("configuration = %+v, want the defaults filled in", c)
	}
	// A predictive policy takes no other type's fields.
	_, err = e.s.PutScalingPolicy(e.ctx, &api.PutScalingPolicyType{AutoScalingGroupName: ptr("web"), PolicyName: ptr("x"), PolicyType: ptr("PredictiveScaling"),
		EstimatedInstanceWarmup: ptr(int32(60)), PredictiveScalingConfiguration: c})
	if !isValidation(err) {
		t.Errorf("EstimatedInstanceWarmup on a predictive policy: %v, want ValidationError", err)
	}
}

func TestGetPredictiveScalingForecast(t *testing.T) {
	e := newPredEnv(t, 72*time.Hour)
	e.put(t, "predict", api.PredictiveScalingConfiguration{MetricSpecifications: []api.PredictiveScalingMetricSpecification{customized()}})
	now := e.clk.Now()
	out := e.forecast(t, "predict", now.Add(-24*time.Hour), now.Add(72*time.Hour))
	if len(out.LoadForecast) != 1 || !deref(out.UpdateTime).Equal(now) {
		t.Fatalf("forecast = %+v", out)
	}
	lf, cf := out.LoadForecast[0], out.CapacityForecast
	if len(lf.Timestamps) != 48 || !lf.Timestamps[0].Equal(predStart) || len(cf.Values) != 48 {
		t.Fatalf("load forecast %d hours from %v, capacity %d hours; want 48 from %s", len(lf.Timestamps), lf.Timestamps, len(cf.Values), predStart)
	}
	if lf.MetricSpecification == nil || deref(lf.MetricSpecification.TargetValue) != 100 {
		t.Errorf("MetricSpecification = %+v", lf.MetricSpecification)
	}
	for i, ts := range lf.Timestamps {
		wantLoad, wantCap := 100.0, 1.0
		if ts.Hour() >= 9 && ts.Hour() < 11 {
			wantLoad, wantCap = 500, 5
		}
		if lf.Values[i] != wantLoad || cf.Values[i] != wantCap || !cf.Timestamps[i].Equal(ts) {
			t.Errorf("%s: load %v capacity %v, want %v and %v", ts.Format(time.RFC3339), lf.Values[i], cf.Values[i], wantLoad, wantCap)
		}
	}
	// A range picks its hours.
	part := e.forecast(t, "predict", predStart.Add(time.Hour), predStart.Add(3*time.Hour))
	if got := part.CapacityForecast.Values; len(got) != 2 || got[0] != 5 || got[1] != 5 {
		t.Errorf("09:00-11:00 capacity = %v, want [5 5]", got)
	}
	// The group's maximum clamps the capacity forecast.
	if err := e.s.st.Update(func(tx store.Tx) error {
		g, _ := loadGroup(tx, e.sc, "web")
		g.Max = 3
		return putGroup(tx, e.sc, g)
	}); err != nil {
		t.Fatal(err)
	}
	if got := e.forecast(t, "predict", predStart.Add(time.Hour), predStart.Add(2*time.Hour)).CapacityForecast.Values; len(got) != 1 || got[0] != 3 {
		t.Errorf("capacity with max 3 = %v, want [3]", got)
	}
	// The forecast is kept for 6 hours, then made again.
	calls := e.m.calls
	e.clk.Advance(5 * time.Hour)
	e.forecast(t, "predict", predStart, predStart.Add(time.Hour))
	if e.m.calls != calls {
		t.Errorf("forecast made again after 5 hours")
	}
	e.clk.Advance(time.Hour)
	again := e.forecast(t, "predict", predStart, predStart.Add(72*time.Hour))
	if e.m.calls != calls+1 || !deref(again.UpdateTime).Equal(predStart.Add(6*time.Hour)) {
		t.Errorf("after 6 hours: %d calls (want %d), updated %v", e.m.calls, calls+1, again.UpdateTime)
	}
	// The hours gone by keep what was forecast for them.
	if ts := again.LoadForecast[0].Timestamps; len(ts) != 54 || !ts[0].Equal(predStart) {
		t.Errorf("after a new forecast: %d hours from %v, want 54 from %s", len(ts), ts[0], predStart)
	}

	// Bad requests.
	for _, tt := range []struct {
		name       string
		policy     string
		start, end time.Time
	}{
		{"end before start", "predict", now, now.Add(-time.Hour)},
		{"more than 30 days", "predict", now, now.Add(31 * 24 * time.Hour)},
		{"more than a year back", "predict", now.Add(-400 * 24 * time.Hour), now.Add(-399 * 24 * time.Hour)},
		{"no such policy", "nope", now, now.Add(time.Hour)},
	} {
		_, err := e.s.GetPredictiveScalingForecast(e.ctx, &api.GetPredictiveScalingForecastType{AutoScalingGroupName: ptr("web"), PolicyName: ptr(tt.policy), StartTime: &tt.start, EndTime: &tt.end})
		if !isValidation(err) {
			t.Errorf("%s: %v, want ValidationError", tt.name, err)
		}
	}
	_, err := e.s.PutScalingPolicy(e.ctx, &api.PutScalingPolicyType{AutoScalingGroupName: ptr("web"), PolicyName: ptr("simple"), AdjustmentType: ptr("ChangeInCapacity"), ScalingAdjustment: ptr(int32(1))})
	if err != nil {
		t.Fatal(err)
	}
	end := now.Add(time.Hour)
	if _, err := e.s.GetPredictiveScalingForecast(e.ctx, &api.GetPredictiveScalingForecastType{AutoScalingGroupName: ptr("web"), PolicyName: ptr("simple"), StartTime: &now, EndTime: &end}); !isValidation(err) {
		t.Errorf("forecast of a simple policy: %v, want ValidationError", err)
	}
}

func TestGetPredictiveScalingForecastNeeds24Hours(t *testing.T) {
	e := newPredEnv(t, 23*time.Hour)
	e.put(t, "predict", api.PredictiveScalingConfiguration{MetricSpecifications: []api.PredictiveScalingMetricSpecification{customized()}})
	out := e.forecast(t, "predict", predStart, predStart.Add(48*time.Hour))
	if len(out.LoadForecast) != 0 || out.CapacityForecast == nil || len(out.CapacityForecast.Values) != 0 || out.UpdateTime == nil {
		t.Errorf("forecast from 23 hours = %+v, want empty forecasts", out)
	}
	// An hour later there are 24 hours: the empty forecast is made again.
	e.clk.Advance(time.Hour)
	out = e.forecast(t, "predict", predStart, predStart.Add(48*time.Hour))
	if len(out.LoadForecast) != 1 || len(out.LoadForecast[0].Values) != 47 {
		t.Errorf("forecast from 24 hours = %+v, want 47 hours from 09:00", out)
	}
}

func TestPredictiveForecastAndScale(t *testing.T) {
	e := newPredEnv(t, 72*time.Hour)
	e.put(t, "predict", api.PredictiveScalingConfiguration{Mode: ptr("ForecastAndScale"), MetricSpecifications: []api.PredictiveScalingMetricSpecification{customized()}})
	step := func(at string) {
		e.clk.Set(predStart.Add(mustDuration(t, at)))
		e.s.pred.pass(e.clk.Now())
	}
	// 08:54: the 09:00 peak is more than SchedulingBufferTime (300 s) away.
	step("54m")
	if g := e.group(t); g.Desired != 1 {
		t.Fatalf("08:54: desired %d, want 1", g.Desired)
	}
	// 08:55: capacity for 09:00 (load 500, 100 an instance) is launched.
	step("55m")
	g := e.group(t)
	if g.Desired != 5 {
		t.Fatalf("08:55: desired %d, want 5", g.Desired)
	}
	want := "At 2026-11-23T08:55:00Z the predictive scaling policy predict forecast a capacity of 5 for 2026-11-23T09:00:00Z changing the desired capacity from 1 to 5."
	if g.Cause != want {
		t.Errorf("cause = %q\nwant    %q", g.Cause, want)
	}
	// Within the hour predictive scaling acts once: a scale-in by another
	// policy stands.
	e.setDesired(t, 2)
	step("1h30m")
	if g := e.group(t); g.Desired != 2 {
		t.Errorf("09:30 after a scale-in to 2: desired %d, want 2", g.Desired)
	}
	// 10:55 for 11:00, when the forecast falls to 1: no scale-in.
	e.setDesired(t, 5)
	step("2h55m")
	if g := e.group(t); g.Desired != 5 {
		t.Errorf("10:55: desired %d, want 5 (predictive scaling never scales in)", g.Desired)
	}
	// The next day's peak raises it again.
	e.setDesired(t, 1)
	step("24h55m")
	if g := e.group(t); g.Desired != 5 {
		t.Errorf("next day 08:55: desired %d, want 5", g.Desired)
	}
}

func TestPredictiveSchedulingBufferAndMaxCapacity(t *testing.T) {
	e := newPredEnv(t, 72*time.Hour)
	e.put(t, "predict", api.PredictiveScalingConfiguration{Mode: ptr("ForecastAndScale"), SchedulingBufferTime: ptr(int32(1800)),
		MaxCapacityBreachBehavior: ptr("IncreaseMaxCapacity"), MaxCapacityBuffer: ptr(int32(20)),
		MetricSpecifications: []api.PredictiveScalingMetricSpecification{customized()}})
	if err := e.s.st.Update(func(tx store.Tx) error {
		g, _ := loadGroup(tx, e.sc, "web")
		g.Max = 3
		return putGroup(tx, e.sc, g)
	}); err != nil {
		t.Fatal(err)
	}
	e.clk.Set(predStart.Add(29 * time.Minute))
	e.s.pred.pass(e.clk.Now())
	if g := e.group(t); g.Desired != 1 {
		t.Fatalf("08:29 with a 30-minute buffer: desired %d, want 1", g.Desired)
	}
	e.clk.Set(predStart.Add(30 * time.Minute))
	e.s.pred.pass(e.clk.Now())
	// The forecast of 5 passes the maximum of 3, which rises to 5 + 20%.
	if g := e.group(t); g.Desired != 5 || g.Max != 6 {
		t.Errorf("08:30: desired %d max %d, want 5 and 6", g.Desired, g.Max)
	}
}

func TestPredictiveForecastOnlyDoesNotScale(t *testing.T) {
	e := newPredEnv(t, 72*time.Hour)
	e.put(t, "predict", api.PredictiveScalingConfiguration{MetricSpecifications: []api.PredictiveScalingMetricSpecification{customized()}})
	e.clk.Set(predStart.Add(time.Hour))
	e.s.pred.pass(e.clk.Now())
	if g := e.group(t); g.Desired != 1 {
		t.Errorf("ForecastOnly: desired %d, want 1", g.Desired)
	}
	// The pass made the forecast.
	e.s.pred.mu.Lock()
	_, ok := e.s.pred.forecasts[str(mustPolicy(t, e).Policy.PolicyARN)]
	e.s.pred.mu.Unlock()
	if !ok {
		t.Error("no forecast after a pass")
	}
	// Deleting the policy forgets its forecast.
	if _, err := e.s.DeletePolicy(e.ctx, &api.DeletePolicyType{AutoScalingGroupName: ptr("web"), PolicyName: ptr("predict")}); err != nil {
		t.Fatal(err)
	}
	e.s.pred.pass(e.clk.Now())
	e.s.pred.mu.Lock()
	n := len(e.s.pred.forecasts)
	e.s.pred.mu.Unlock()
	if n != 0 {
		t.Errorf("%d forecasts after DeletePolicy, want 0", n)
	}
}

func TestPredictiveCPUPair(t *testing.T) {
	e := newPredEnv(t, 48*time.Hour)
	// The group's average CPU is 30%, 90% at 09:00-11:00; two instances
	// ran then (GroupInServiceInstances), so the load is 60 and 180.
	e.m.series["AWS/EC2/CPUUtilization"] = func(t time.Time) float64 {
		if peak(t) > 100 {
			return 90
		}
		return 30
	}
	e.m.series["AWS/AutoScaling/GroupInServiceInstances"] = func(time.Time) float64 { return 2 }
	e.put(t, "cpu", api.PredictiveScalingConfiguration{MetricSpecifications: []api.PredictiveScalingMetricSpecification{{
		TargetValue: ptr(50.0), PredefinedMetricPairSpecification: &api.PredictiveScalingPredefinedMetricPair{PredefinedMetricType: ptr("ASGCPUUtilization")}}}})
	out := e.forecast(t, "cpu", predStart, predStart.Add(3*time.Hour))
	if len(out.LoadForecast) != 1 {
		t.Fatalf("forecast = %+v", out)
	}
	if got, want := out.LoadForecast[0].Values, []float64{60, 180, 180}; !equalFloats(got, want) {
		t.Errorf("load = %v, want %v (average CPU × InService)", got, want)
	}
	if got, want := out.CapacityForecast.Values, []float64{2, 4, 4}; !equalFloats(got, want) {
		t.Errorf("capacity = %v, want %v (ceil(load / 50))", got, want)
	}
	q := e.m.last.MetricDataQueries
	if len(q) != 2 || str(q[0].MetricStat.Metric.MetricName) != "CPUUtilization" || str(q[0].MetricStat.Stat) != "Average" ||
		len(q[0].MetricStat.Metric.Dimensions) != 1 || str(q[0].MetricStat.Metric.Dimensions[0].Value) != "web" {
		t.Errorf("queries = %+v", q)
	}
}

func equalFloats(a, b []float64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if math.Abs(a[i]-b[i]) > 1e-9 {
			return false
		}
	}
	return true
}

func mustDuration(t *testing.T, s string) time.Duration {
	t.Helper()
	d, err := time.ParseDuration(s)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func mustPolicy(t *testing.T, e *predEnv) policyRecord {
	t.Helper()
	r, _, err := e.s.findPolicy(e.sc, "web", "predict")
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestPredictiveALBPair(t *testing.T) {
	e := newPredEnv(t, 48*time.Hour)
	// 60,000 requests an hour is 1,000 a minute; at 300 a target per
	// minute that is 4 instances.
	e.m.series["AWS/ApplicationELB/RequestCount"] = func(time.Time) float64 { return 60000 }
	label := "app/shop/50dc6c495c0c9188/targetgroup/web/73e2d6bc24d8a067"
	e.put(t, "alb", api.PredictiveScalingConfiguration{MetricSpecifications: []api.PredictiveScalingMetricSpecification{{TargetValue: ptr(300.0),
		PredefinedMetricPairSpecification: &api.PredictiveScalingPredefinedMetricPair{PredefinedMetricType: ptr("ALBRequestCount"), ResourceLabel: &label}}}})
	out := e.forecast(t, "alb", predStart, predStart.Add(time.Hour))
	if len(out.LoadForecast) != 1 || !equalFloats(out.LoadForecast[0].Values, []float64{1000}) || !equalFloats(out.CapacityForecast.Values, []float64{4}) {
		t.Fatalf("forecast = %+v, want load 1000 a minute and capacity 4", out)
	}
	m := e.m.last.MetricDataQueries[0].MetricStat
	dims := map[string]string{}
	for _, d := range m.Metric.Dimensions {
		dims[str(d.Name)] = str(d.Value)
	}
	if str(m.Stat) != "Sum" || dims["LoadBalancer"] != "app/shop/50dc6c495c0c9188" || dims["TargetGroup"] != "targetgroup/web/73e2d6bc24d8a067" {
		t.Errorf("query = %s %v, want the target group's RequestCount Sum", str(m.Stat), dims)
	}
}
