package autoscaling

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"regexp"
	"strings"
	"sync"
	"time"

	api "github.com/nephele-dev/nephele/internal/api/autoscaling"
	cwapi "github.com/nephele-dev/nephele/internal/api/cloudwatch"
	"github.com/nephele-dev/nephele/internal/autoscaling/scaling"
	"github.com/nephele-dev/nephele/internal/store"
)

// Predictive scaling ("Predictive scaling for Amazon EC2 Auto Scaling",
// User Guide; PredictiveScalingConfiguration and
// GetPredictiveScalingForecast, API reference). A PredictiveScaling policy
// names a load metric and a TargetValue; from up to 14 days of the load
// metric's history in CloudWatch (at least 24 hours) the predictor makes an
// hourly load forecast for the next 48 hours and the capacity forecast that
// keeps each instance at the target, again every 6 hours and whenever the
// policy changes (scaling/forecast.go holds the model). A ForecastOnly
// policy only forecasts. A ForecastAndScale policy raises the group's
// desired capacity to the forecast capacity of each hour,
// SchedulingBufferTime ahead of the hour, and never lowers it: "If the
// forecast expects a decrease in load, it will not scale in to remove
// capacity".
//
// Where the documentation is silent the choices are these, each a guess
// until checked against AWS:
//   - the hourly load of the predefined metrics: ASGTotalCPUUtilization (and
//     the network totals) is the group's average AWS/EC2 metric over the
//     hour (the AutoScalingGroupName series) times its InService instances
//     (AWS/AutoScaling GroupInServiceInstances when metrics collection
//     published it for the hour, else the group's capacity now);
//     ALBTargetGroupRequestCount is the target group's RequestCount per
//     minute over the hour; a customized load metric is its queries'
//     returned series at a period of one hour. The scaling and capacity
//     metrics are validated and kept, and TargetValue is read as the load
//     one instance carries;
//   - predictive scaling acts once per forecast hour: a dynamic policy may
//     scale in within the hour without predictive scaling undoing it;
//   - an empty forecast (less than 24 hours of history) is tried again
//     every hour, not every 6;
//   - the wording of the ValidationError messages and of the activity
//     cause ("At T the predictive scaling policy P forecast a capacity of N
//     for H changing the desired capacity from X to Y.").

// MetricReader is what predictive scaling needs of CloudWatch: the load
// metric's history. Calls carry the account and region in ctx
// (service.Scope.Context).
type MetricReader interface {
	GetMetricData(ctx context.Context, in *cwapi.GetMetricDataInput) (*cwapi.GetMetricDataOutput, error)
}

// Predictive scaling's settings, as documented.
const (
	defaultSchedulingBuffer = 300
	maxSchedulingBuffer     = 3600
	// maxForecastSpan is GetPredictiveScalingForecast's longest range.
	maxForecastSpan = 30 * 24 * time.Hour
	// forecastLookback is how far before now GetPredictiveScalingForecast's
	// StartTime may be: "one year before the current date and time".
	forecastLookback = 365 * 24 * time.Hour
	// keepPastForecast is how long forecasts for hours gone by are kept,
	// to answer for them.
	keepPastForecast = 14 * 24 * time.Hour
	// predictEvery is how often, in clock time, ForecastAndScale policies
	// are looked at.
	predictEvery = time.Minute
	// emptyRetry is how soon a forecast that had too little history is
	// tried again.
	emptyRetry = time.Hour
)

// resourceLabel is an ALB target group's ResourceLabel:
// app/<lb-name>/<lb-id>/targetgroup/<tg-name>/<tg-id>.
var resourceLabel = regexp.MustCompile(`^(app/[^/]+/[^/]+)/(targetgroup/[^/]+/[^/]+)$`)

// metric types of the pairs and of the separate load and scaling metrics.
var (
	pairLoad = map[string]string{
		"ASGCPUUtilization": "ASGTotalCPUUtilization", "ASGNetworkIn": "ASGTotalNetworkIn",
		"ASGNetworkOut": "ASGTotalNetworkOut", "ALBRequestCount": "ALBTargetGroupRequestCount",
	}
	albTypes = map[string]bool{"ALBRequestCount": true, "ALBTargetGroupRequestCount": true, "ALBRequestCountPerTarget": true}
)

// checkPredictive applies PutScalingPolicy's rules to a
// PredictiveScalingConfiguration; the gateway has already checked enums,
// ranges and required members.
func checkPredictive(c *api.PredictiveScalingConfiguration) error {
	if c == nil {
		return validation("PredictiveScalingConfiguration is required for a PredictiveScaling policy.")
	}
	if len(c.MetricSpecifications) != 1 {
		return validation("Exactly one MetricSpecification is supported for a predictive scaling policy, got %d.", len(c.MetricSpecifications))
	}
	if b := c.SchedulingBufferTime; b != nil && (*b < 0 || *b > maxSchedulingBuffer) {
		return validation("SchedulingBufferTime must be between 0 and %d seconds.", maxSchedulingBuffer)
	}
	increase := str(c.MaxCapacityBreachBehavior) == "IncreaseMaxCapacity"
	switch {
	case increase && c.MaxCapacityBuffer == nil:
		return validation("MaxCapacityBuffer is required when MaxCapacityBreachBehavior is IncreaseMaxCapacity.")
	case !increase && c.MaxCapacityBuffer != nil:
		return validation("MaxCapacityBuffer can only be specified when MaxCapacityBreachBehavior is IncreaseMaxCapacity.")
	}
	m := c.MetricSpecifications[0]
	if m.TargetValue == nil || *m.TargetValue <= 0 || math.IsInf(*m.TargetValue, 0) || math.IsNaN(*m.TargetValue) {
		return validation("TargetValue must be greater than 0.")
	}
	pair := m.PredefinedMetricPairSpecification != nil
	load := m.PredefinedLoadMetricSpecification != nil || m.CustomizedLoadMetricSpecification != nil
	scale := m.PredefinedScalingMetricSpecification != nil || m.CustomizedScalingMetricSpecification != nil
	switch {
	case m.PredefinedLoadMetricSpecification != nil && m.CustomizedLoadMetricSpecification != nil:
		return validation("Only one of PredefinedLoadMetricSpecification and CustomizedLoadMetricSpecification can be specified.")
	case m.PredefinedScalingMetricSpecification != nil && m.CustomizedScalingMetricSpecification != nil:
		return validation("Only one of PredefinedScalingMetricSpecification and CustomizedScalingMetricSpecification can be specified.")
	case pair && (load || scale):
		return validation("A PredefinedMetricPairSpecification cannot be combined with a load metric or a scaling metric specification.")
	case !pair && !(load && scale):
		return validation("Specify either a PredefinedMetricPairSpecification, or both a load metric and a scaling metric specification.")
	case pair && m.CustomizedCapacityMetricSpecification != nil:
		return validation("A CustomizedCapacityMetricSpecification can only be used with a customized load or scaling metric specification.")
	}
	predefined := []struct {
		field, typ string
		label      *string
		set        bool
	}{
		{"PredefinedMetricPairSpecification", "", nil, pair},
		{"PredefinedLoadMetricSpecification", "", nil, m.PredefinedLoadMetricSpecification != nil},
		{"PredefinedScalingMetricSpecification", "", nil, m.PredefinedScalingMetricSpecification != nil},
	}
	if pair {
		predefined[0].typ, predefined[0].label = str(m.PredefinedMetricPairSpecification.PredefinedMetricType), m.PredefinedMetricPairSpecification.ResourceLabel
	}
	if p := m.PredefinedLoadMetricSpecification; p != nil {
		predefined[1].typ, predefined[1].label = str(p.PredefinedMetricType), p.ResourceLabel
	}
	if p := m.PredefinedScalingMetricSpecification; p != nil {
		predefined[2].typ, predefined[2].label = str(p.PredefinedMetricType), p.ResourceLabel
	}
	for _, p := range predefined {
		if !p.set {
			continue
		}
		switch {
		case albTypes[p.typ] && p.label == nil:
			return validation("ResourceLabel is required in %s for metric type %s.", p.field, p.typ)
		case !albTypes[p.typ] && p.label != nil:
			return validation("ResourceLabel is only supported in %s for the ALB request count metric types, not %s.", p.field, p.typ)
		case p.label != nil && !resourceLabel.MatchString(*p.label):
			return validation("Invalid ResourceLabel %s: expected app/<load-balancer-name>/<load-balancer-id>/targetgroup/<target-group-name>/<target-group-id>.", *p.label)
		}
	}
	for _, q := range []struct {
		field   string
		queries []api.MetricDataQuery
		set     bool
	}{
		{"CustomizedLoadMetricSpecification", customizedQueries(m.CustomizedLoadMetricSpecification), m.CustomizedLoadMetricSpecification != nil},
		{"CustomizedScalingMetricSpecification", scalingQueries(m.CustomizedScalingMetricSpecification), m.CustomizedScalingMetricSpecification != nil},
		{"CustomizedCapacityMetricSpecification", capacityQueries(m.CustomizedCapacityMetricSpecification), m.CustomizedCapacityMetricSpecification != nil},
	} {
		if q.set {
			if err := checkQueries(q.field, q.queries); err != nil {
				return err
			}
		}
	}
	return nil
}

func customizedQueries(c *api.PredictiveScalingCustomizedLoadMetric) []api.MetricDataQuery {
	if c == nil {
		return nil
	}
	return c.MetricDataQueries
}

func scalingQueries(c *api.PredictiveScalingCustomizedScalingMetric) []api.MetricDataQuery {
	if c == nil {
		return nil
	}
	return c.MetricDataQueries
}

func capacityQueries(c *api.PredictiveScalingCustomizedCapacityMetric) []api.MetricDataQuery {
	if c == nil {
		return nil
	}
	return c.MetricDataQueries
}

// queryIDPattern is a MetricDataQuery Id: "The first character must be a
// lowercase letter", then letters, numbers and underscores.
var queryIDPattern = regexp.MustCompile(`^[a-z][a-zA-Z0-9_]*$`)

// checkQueries applies the MetricDataQuery rules: unique Ids of the
// documented form, exactly one of Expression and MetricStat each, and
// exactly one query whose data is returned ("specify true for ReturnData
// for only the final math expression").
func checkQueries(field string, qs []api.MetricDataQuery) error {
	if len(qs) == 0 {
		return validation("%s must have at least one MetricDataQuery.", field)
	}
	seen := map[string]bool{}
	returned := 0
	for _, q := range qs {
		id := str(q.Id)
		if !queryIDPattern.MatchString(id) {
			return validation("Invalid Id %s in %s: it must start with a lowercase letter and contain only letters, numbers and underscores.", id, field)
		}
		if seen[id] {
			return validation("Duplicate Id %s in %s: the Ids of the MetricDataQueries must be unique.", id, field)
		}
		seen[id] = true
		if (q.Expression == nil) == (q.MetricStat == nil) {
			return validation("Exactly one of Expression and MetricStat must be specified in the MetricDataQuery %s of %s.", id, field)
		}
		if s := q.MetricStat; s != nil && (s.Metric == nil || str(s.Metric.Namespace) == "" || str(s.Metric.MetricName) == "" || str(s.Stat) == "") {
			return validation("The MetricStat of the MetricDataQuery %s of %s needs a Metric with a Namespace and MetricName, and a Stat.", id, field)
		}
		if q.ReturnData == nil || *q.ReturnData {
			returned++
		}
	}
	if returned != 1 {
		return validation("Exactly one MetricDataQuery in %s must return data (ReturnData true); %d do.", field, returned)
	}
	return nil
}

// predictiveConfig is a configuration as stored and as DescribePolicies
// returns it: the defaults filled in (Mode ForecastOnly,
// SchedulingBufferTime 300, MaxCapacityBreachBehavior HonorMaxCapacity).
func predictiveConfig(c *api.PredictiveScalingConfiguration) *api.PredictiveScalingConfiguration {
	if c == nil {
		return nil
	}
	out := *c
	if out.Mode == nil {
		out.Mode = ptr("ForecastOnly")
	}
	if out.SchedulingBufferTime == nil {
		out.SchedulingBufferTime = ptr(int32(defaultSchedulingBuffer))
	}
	if out.MaxCapacityBreachBehavior == nil {
		out.MaxCapacityBreachBehavior = ptr("HonorMaxCapacity")
	}
	return &out
}

// forecast is a policy's latest forecast.
type forecast struct {
	// config is what the forecast was made from: a change makes it stale.
	config  string
	updated time.Time
	// ok is false when there was too little history to forecast.
	ok bool
	// load holds the forecast hours, earlier forecasts' past hours first.
	load scaling.Hourly
}

// predictor is the controller of predictive policies: it keeps their
// forecasts fresh and, every minute of clock time, lets ForecastAndScale
// policies raise their groups' capacity.
type predictor struct {
	s      *Service
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu        sync.Mutex
	forecasts map[string]forecast  // policy ARN → forecast
	applied   map[string]time.Time // policy ARN → the last hour it scaled for
}

func newPredictor(s *Service) *predictor {
	ctx, cancel := context.WithCancel(context.Background())
	return &predictor{s: s, ctx: ctx, cancel: cancel, forecasts: map[string]forecast{}, applied: map[string]time.Time{}}
}

func (p *predictor) start() {
	p.wg.Add(1)
	go p.run()
}

func (p *predictor) stop() {
	p.cancel()
	p.wg.Wait()
}

// forget drops the forecasts, as Reset drops the policies.
func (p *predictor) forget() {
	p.mu.Lock()
	p.forecasts, p.applied = map[string]forecast{}, map[string]time.Time{}
	p.mu.Unlock()
}

func (p *predictor) run() {
	defer p.wg.Done()
	t := p.s.clk.NewTicker(predictEvery)
	defer t.Stop()
	for {
		select {
		case <-p.ctx.Done():
			return
		case <-t.C():
			p.pass(p.s.clk.Now().UTC())
		}
	}
}

// predictivePolicy is a stored predictive policy and its scope.
type predictivePolicy struct {
	sc  scope
	rec policyRecord
}

// pass refreshes every predictive policy's forecast that is due and scales
// the groups of ForecastAndScale policies; it forgets the forecasts of
// policies that are gone.
func (p *predictor) pass(now time.Time) {
	var policies []predictivePolicy
	err := p.s.st.View(func(tx store.Tx) error {
		return tx.ForEach(bucketPolicies, "", func(key string, decode func(any) error) error {
			var r policyRecord
			if err := decode(&r); err != nil {
				return err
			}
			parts := strings.SplitN(key, "/", 3)
			if len(parts) == 3 && str(r.Policy.PolicyType) == "PredictiveScaling" && r.Policy.PredictiveScalingConfiguration != nil {
				policies = append(policies, predictivePolicy{scope{Account: parts[0], Region: parts[1]}, r})
			}
			return nil
		})
	})
	if err != nil {
		p.s.log().Error("autoscaling: listing predictive policies", "err", err)
		return
	}
	live := map[string]bool{}
	for _, pp := range policies {
		if p.ctx.Err() != nil {
			return
		}
		arn := str(pp.rec.Policy.PolicyARN)
		live[arn] = true
		f, err := p.forecastFor(p.ctx, pp.sc, pp.rec, now)
		if err != nil {
			p.s.log().Warn("autoscaling: forecasting", "policy", str(pp.rec.Policy.PolicyName), "err", err)
			continue
		}
		c := pp.rec.Policy.PredictiveScalingConfiguration
		if str(c.Mode) == "ForecastAndScale" && deref(pp.rec.Policy.Enabled) && f.ok {
			if err := p.scale(pp.sc, pp.rec, f, now); err != nil && !errors.Is(err, errNoChange) {
				p.s.log().Warn("autoscaling: predictive scaling", "policy", str(pp.rec.Policy.PolicyName), "err", err)
			}
		}
	}
	p.mu.Lock()
	for arn := range p.forecasts {
		if !live[arn] {
			delete(p.forecasts, arn)
			delete(p.applied, arn)
		}
	}
	p.mu.Unlock()
}

// forecastFor returns a policy's forecast, made again when it is 6 hours
// old (an empty one after an hour) or the policy changed since.
func (p *predictor) forecastFor(ctx context.Context, sc scope, r policyRecord, now time.Time) (forecast, error) {
	arn := str(r.Policy.PolicyARN)
	cfg, _ := json.Marshal(struct {
		Group string
		Spec  api.PredictiveScalingMetricSpecification
	}{str(r.Policy.AutoScalingGroupName), r.Policy.PredictiveScalingConfiguration.MetricSpecifications[0]})
	p.mu.Lock()
	old, had := p.forecasts[arn]
	p.mu.Unlock()
	if had && old.config == string(cfg) {
		every := scaling.ForecastEvery
		if !old.ok {
			every = emptyRetry
		}
		if now.Sub(old.updated) < every && !now.Before(old.updated) {
			return old, nil
		}
	}
	f, err := p.makeForecast(ctx, sc, r, now)
	if err != nil {
		return forecast{}, err
	}
	f.config = string(cfg)
	if had && old.config == f.config && old.ok && f.ok {
		f.load = withPast(old.load, f.load)
	}
	p.mu.Lock()
	p.forecasts[arn] = f
	p.mu.Unlock()
	return f, nil
}

// withPast puts an earlier forecast's hours before a new forecast's start
// in front of it, back to keepPastForecast, so that GetPredictiveScalingForecast
// answers for hours gone by with what was forecast for them.
func withPast(old, cur scaling.Hourly) scaling.Hourly {
	from := cur.Start.Add(-keepPastForecast)
	if old.Start.After(from) {
		from = old.Start
	}
	if !from.Before(cur.Start) {
		return cur
	}
	from = from.Truncate(time.Hour)
	out := scaling.Hourly{Start: from}
	for t := from; t.Before(cur.Start); t = t.Add(time.Hour) {
		v, ok := old.At(t)
		if !ok {
			v = math.NaN()
		}
		out.Values = append(out.Values, v)
	}
	out.Values = append(out.Values, cur.Values...)
	return out
}

// makeForecast reads the load history and forecasts the next 48 hours from
// the current hour.
func (p *predictor) makeForecast(ctx context.Context, sc scope, r policyRecord, now time.Time) (forecast, error) {
	start := now.Truncate(time.Hour)
	hist, err := p.s.loadHistory(ctx, sc, str(r.Policy.AutoScalingGroupName), r.Policy.PredictiveScalingConfiguration.MetricSpecifications[0],
		start.Add(-scaling.ForecastMaxHistory), start)
	if err != nil {
		return forecast{}, err
	}
	load, ok := scaling.ForecastLoad(hist, start, int(scaling.ForecastHorizon/time.Hour))
	return forecast{updated: now, ok: ok, load: load}, nil
}

// scale raises the group's desired capacity to the forecast capacity of
// the hour now falls in, SchedulingBufferTime early, once per hour; it
// never lowers it. With IncreaseMaxCapacity a forecast beyond the group's
// maximum raises the maximum, by MaxCapacityBuffer percent above the
// forecast.
func (p *predictor) scale(sc scope, r policyRecord, f forecast, now time.Time) error {
	c := r.Policy.PredictiveScalingConfiguration
	arn := str(r.Policy.PolicyARN)
	hour := scaling.ScheduledHour(now, secondsOf(int(deref(c.SchedulingBufferTime))))
	p.mu.Lock()
	done := p.applied[arn].Equal(hour)
	p.mu.Unlock()
	if done {
		return errNoChange
	}
	load, ok := f.load.At(hour)
	if !ok {
		return errNoChange
	}
	increase := str(c.MaxCapacityBreachBehavior) == "IncreaseMaxCapacity"
	target := deref(c.MetricSpecifications[0].TargetValue)
	err := p.s.st.Update(func(tx store.Tx) error {
		g, err := loadGroup(tx, sc, str(r.Policy.AutoScalingGroupName))
		if err != nil {
			return err
		}
		if g.Deleting {
			return errNoChange
		}
		capf := scaling.ForecastCapacity(scaling.Hourly{Start: hour, Values: []float64{load}}, target, scaling.CapacityLimits{Min: g.Min, Max: g.Max, IncreaseMax: increase})
		want := int(capf.Values[0])
		if want <= g.Desired {
			return errNoChange
		}
		if increase {
			g.Max = scaling.RaisedMax(want, g.Max, int(deref(c.MaxCapacityBuffer)))
		}
		g.Cause = fmt.Sprintf("At %s the predictive scaling policy %s forecast a capacity of %d for %s changing the desired capacity from %d to %d.",
			now.Format(causeTime), str(r.Policy.PolicyName), want, hour.Format(causeTime), g.Desired, want)
		g.Desired = want
		return putGroup(tx, sc, g)
	})
	if err == nil || errors.Is(err, errNoChange) {
		p.mu.Lock()
		p.applied[arn] = hour
		p.mu.Unlock()
	}
	if err == nil {
		p.s.rec.wake()
	}
	return err
}

// loadHistory reads the hourly history of a metric specification's load
// metric over [from, to) (on the hour) from CloudWatch.
func (s *Service) loadHistory(ctx context.Context, sc scope, group string, m api.PredictiveScalingMetricSpecification, from, to time.Time) (scaling.Hourly, error) {
	empty := scaling.HourlyFromPoints(from, to, nil, nil)
	if s.opts.MetricHistory == nil {
		return empty, nil
	}
	typ := ""
	label := ""
	switch {
	case m.PredefinedMetricPairSpecification != nil:
		typ, label = pairLoad[str(m.PredefinedMetricPairSpecification.PredefinedMetricType)], str(m.PredefinedMetricPairSpecification.ResourceLabel)
	case m.PredefinedLoadMetricSpecification != nil:
		typ, label = str(m.PredefinedLoadMetricSpecification.PredefinedMetricType), str(m.PredefinedLoadMetricSpecification.ResourceLabel)
	case m.CustomizedLoadMetricSpecification != nil:
		return s.customizedHistory(ctx, sc, m.CustomizedLoadMetricSpecification.MetricDataQueries, from, to)
	default:
		return empty, nil
	}
	hour := int32(3600)
	stat := func(id, ns, name, statistic string, dims map[string]string) cwapi.MetricDataQuery {
		q := cwapi.MetricDataQuery{Id: ptr(id), MetricStat: &cwapi.MetricStat{
			Metric: &cwapi.Metric{Namespace: ptr(ns), MetricName: ptr(name)}, Period: &hour, Stat: ptr(statistic)}}
		for _, k := range []string{"LoadBalancer", "TargetGroup", "AutoScalingGroupName"} {
			if v, ok := dims[k]; ok {
				q.MetricStat.Metric.Dimensions = append(q.MetricStat.Metric.Dimensions, cwapi.Dimension{Name: ptr(k), Value: ptr(v)})
			}
		}
		return q
	}
	if typ == "ALBTargetGroupRequestCount" {
		parts := resourceLabel.FindStringSubmatch(label)
		if parts == nil {
			return empty, nil
		}
		res, err := s.metricData(ctx, sc, []cwapi.MetricDataQuery{stat("load", "AWS/ApplicationELB", "RequestCount", "Sum", map[string]string{"LoadBalancer": parts[1], "TargetGroup": parts[2]})}, from, to)
		if err != nil {
			return empty, err
		}
		// TargetValue counts requests per instance per minute.
		h := scaling.HourlyFromPoints(from, to, res["load"].Timestamps, res["load"].Values)
		for i := range h.Values {
			h.Values[i] /= 60
		}
		return h, nil
	}
	name := map[string]string{"ASGTotalCPUUtilization": "CPUUtilization", "ASGTotalNetworkIn": "NetworkIn", "ASGTotalNetworkOut": "NetworkOut"}[typ]
	if name == "" {
		return empty, nil
	}
	dims := map[string]string{"AutoScalingGroupName": group}
	res, err := s.metricData(ctx, sc, []cwapi.MetricDataQuery{
		stat("load", "AWS/EC2", name, "Average", dims),
		stat("inservice", "AWS/AutoScaling", "GroupInServiceInstances", "Average", dims),
	}, from, to)
	if err != nil {
		return empty, err
	}
	avg := scaling.HourlyFromPoints(from, to, res["load"].Timestamps, res["load"].Values)
	n := scaling.HourlyFromPoints(from, to, res["inservice"].Timestamps, res["inservice"].Values)
	now := 0
	_ = s.st.View(func(tx store.Tx) error {
		if g, err := loadGroup(tx, sc, group); err == nil {
			now = g.capacity()
		}
		return nil
	})
	for i, v := range avg.Values {
		count := n.Values[i]
		if math.IsNaN(count) {
			count = float64(now)
		}
		avg.Values[i] = v * count
	}
	return avg, nil
}

// customizedHistory evaluates a customized load metric's queries at a
// period of one hour; the returned query's series is the load.
func (s *Service) customizedHistory(ctx context.Context, sc scope, qs []api.MetricDataQuery, from, to time.Time) (scaling.Hourly, error) {
	hour := int32(3600)
	var cq []cwapi.MetricDataQuery
	returned := ""
	for _, q := range qs {
		c := cwapi.MetricDataQuery{Id: q.Id, Expression: q.Expression, Label: q.Label, ReturnData: q.ReturnData}
		if ms := q.MetricStat; ms != nil {
			c.MetricStat = &cwapi.MetricStat{Period: &hour, Stat: ms.Stat, Unit: ms.Unit, Metric: &cwapi.Metric{}}
			if ms.Metric != nil {
				c.MetricStat.Metric.Namespace, c.MetricStat.Metric.MetricName = ms.Metric.Namespace, ms.Metric.MetricName
				for _, d := range ms.Metric.Dimensions {
					c.MetricStat.Metric.Dimensions = append(c.MetricStat.Metric.Dimensions, cwapi.Dimension{Name: d.Name, Value: d.Value})
				}
			}
		}
		if q.ReturnData == nil || *q.ReturnData {
			returned = str(q.Id)
		}
		cq = append(cq, c)
	}
	res, err := s.metricData(ctx, sc, cq, from, to)
	if err != nil {
		return scaling.HourlyFromPoints(from, to, nil, nil), err
	}
	return scaling.HourlyFromPoints(from, to, res[returned].Timestamps, res[returned].Values), nil
}

// metricData runs queries over [from, to), following pages, and returns
// each returned query's datapoints by Id.
func (s *Service) metricData(ctx context.Context, sc scope, qs []cwapi.MetricDataQuery, from, to time.Time) (map[string]cwapi.MetricDataResult, error) {
	out := map[string]cwapi.MetricDataResult{}
	in := &cwapi.GetMetricDataInput{MetricDataQueries: qs, StartTime: &from, EndTime: &to}
	for range 100 {
		res, err := s.opts.MetricHistory.GetMetricData(sc.Context(ctx), in)
		if err != nil {
			return nil, err
		}
		for _, r := range res.MetricDataResults {
			acc := out[str(r.Id)]
			acc.Timestamps = append(acc.Timestamps, r.Timestamps...)
			acc.Values = append(acc.Values, r.Values...)
			out[str(r.Id)] = acc
		}
		if res.NextToken == nil {
			return out, nil
		}
		in.NextToken = res.NextToken
	}
	return out, nil
}

// GetPredictiveScalingForecast returns a predictive policy's load and
// capacity forecasts for the hours of [StartTime, EndTime): the forecast
// made last (once made, every 6 hours, looks 48 hours ahead), and what
// earlier forecasts said of the hours gone by. With less than 24 hours of
// history the forecasts are empty.
func (s *Service) GetPredictiveScalingForecast(ctx context.Context, in *api.GetPredictiveScalingForecastType) (*api.GetPredictiveScalingForecastAnswer, error) {
	sc := scopeOf(ctx)
	group := str(in.AutoScalingGroupName)
	start, end := deref(in.StartTime), deref(in.EndTime)
	now := s.clk.Now().UTC()
	switch {
	case !start.Before(end):
		return nil, validation("StartTime must be before EndTime.")
	case end.Sub(start) > maxForecastSpan:
		return nil, validation("The time range between StartTime and EndTime cannot exceed 30 days.")
	case start.Before(now.Add(-forecastLookback)):
		return nil, validation("StartTime cannot be more than one year before the current time.")
	}
	var g groupRecord
	if err := s.st.View(func(tx store.Tx) error {
		var err error
		g, err = loadGroup(tx, sc, group)
		return err
	}); err != nil {
		return nil, err
	}
	r, _, err := s.findPolicy(sc, group, str(in.PolicyName))
	if err != nil {
		return nil, err
	}
	if str(r.Policy.AutoScalingGroupName) != group || str(r.Policy.PolicyType) != "PredictiveScaling" || r.Policy.PredictiveScalingConfiguration == nil {
		return nil, validation("Policy %s of group %s is not a predictive scaling policy.", str(in.PolicyName), group)
	}
	f, err := s.pred.forecastFor(ctx, sc, r, now)
	if err != nil {
		return nil, err
	}
	c := r.Policy.PredictiveScalingConfiguration
	spec := c.MetricSpecifications[0]
	out := &api.GetPredictiveScalingForecastAnswer{
		LoadForecast:     []api.LoadForecast{},
		CapacityForecast: &api.CapacityForecast{Timestamps: []time.Time{}, Values: []float64{}},
		UpdateTime:       ptr(f.updated.Truncate(time.Second)),
	}
	if !f.ok {
		return out, nil
	}
	capf := scaling.ForecastCapacity(f.load, deref(spec.TargetValue), scaling.CapacityLimits{
		Min: g.Min, Max: g.Max, IncreaseMax: str(c.MaxCapacityBreachBehavior) == "IncreaseMaxCapacity"})
	lf := api.LoadForecast{MetricSpecification: &spec, Timestamps: []time.Time{}, Values: []float64{}}
	for i, v := range f.load.Values {
		t := f.load.Start.Add(time.Duration(i) * time.Hour)
		if t.Before(start) || !t.Before(end) || math.IsNaN(v) {
			continue
		}
		lf.Timestamps, lf.Values = append(lf.Timestamps, t), append(lf.Values, v)
		out.CapacityForecast.Timestamps = append(out.CapacityForecast.Timestamps, t)
		out.CapacityForecast.Values = append(out.CapacityForecast.Values, capf.Values[i])
	}
	out.LoadForecast = append(out.LoadForecast, lf)
	return out, nil
}
