package autoscaling

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	api "github.com/nephele-dev/nephele/internal/api/autoscaling"
	cwapi "github.com/nephele-dev/nephele/internal/api/cloudwatch"
	"github.com/nephele-dev/nephele/internal/arn"
	"github.com/nephele-dev/nephele/internal/autoscaling/scaling"
	"github.com/nephele-dev/nephele/internal/awsid"
	"github.com/nephele-dev/nephele/internal/page"
	"github.com/nephele-dev/nephele/internal/store"
)

// bucketPolicies holds scaling policies, keyed by scope, group and name.
const bucketPolicies = "autoscaling-policies"

// Alarms is what Auto Scaling needs of CloudWatch: target tracking
// policies create and own their alarms. Calls carry the account and
// region in ctx.
type Alarms interface {
	PutMetricAlarm(ctx context.Context, in *cwapi.PutMetricAlarmInput) (*cwapi.PutMetricAlarmOutput, error)
	DeleteAlarms(ctx context.Context, in *cwapi.DeleteAlarmsInput) (*cwapi.DeleteAlarmsOutput, error)
	// DescribeAlarms reads the alarms an instance refresh watches.
	DescribeAlarms(ctx context.Context, in *cwapi.DescribeAlarmsInput) (*cwapi.DescribeAlarmsOutput, error)
}

// Trigger is what an alarm action tells a policy: the alarm, its state,
// its threshold and the datapoints it evaluated (oldest first).
type Trigger struct {
	AlarmName string
	State     string
	Threshold float64
	Values    []float64
	Time      time.Time
}

// policyRecord is a stored scaling policy.
type policyRecord struct {
	Policy api.ScalingPolicy `json:"policy"`
	// HighAlarm and LowAlarm are a target tracking policy's alarms.
	HighAlarm string `json:"highAlarm,omitempty"`
	LowAlarm  string `json:"lowAlarm,omitempty"`
}

func policyKey(sc scope, group, name string) string { return sc.Key(group + "/" + name) }

// PutScalingPolicy creates or replaces a simple, step or target tracking
// policy. A target tracking policy creates its two CloudWatch alarms.
func (s *Service) PutScalingPolicy(ctx context.Context, in *api.PutScalingPolicyType) (*api.PolicyARNType, error) {
	sc := scopeOf(ctx)
	group, name := str(in.AutoScalingGroupName), str(in.PolicyName)
	typ := str(in.PolicyType)
	if typ == "" {
		typ = "SimpleScaling"
	}
	if err := checkPolicy(typ, in); err != nil {
		return nil, err
	}
	var g groupRecord
	var old policyRecord
	hadOld := false
	err := s.st.View(func(tx store.Tx) error {
		var err error
		if g, err = loadGroup(tx, sc, group); err != nil {
			return err
		}
		err = tx.Get(bucketPolicies, policyKey(sc, group, name), &old)
		hadOld = err == nil
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	policyARN := str(old.Policy.PolicyARN)
	if !hadOld {
		policyARN = arn.ARN{Partition: arn.Partition(sc.Region), Service: "autoscaling", Region: sc.Region, AccountID: sc.Account,
			Resource: "scalingPolicy:" + awsid.RequestID() + ":autoScalingGroupName/" + group + ":policyName/" + name}.String()
	}
	p := api.ScalingPolicy{
		AutoScalingGroupName: &group, PolicyName: &name, PolicyARN: &policyARN, PolicyType: &typ,
		AdjustmentType: in.AdjustmentType, ScalingAdjustment: in.ScalingAdjustment, MinAdjustmentMagnitude: in.MinAdjustmentMagnitude,
		Cooldown: in.Cooldown, StepAdjustments: in.StepAdjustments, MetricAggregationType: in.MetricAggregationType,
		EstimatedInstanceWarmup: in.EstimatedInstanceWarmup, TargetTrackingConfiguration: in.TargetTrackingConfiguration,
		Enabled: ptr(in.Enabled == nil || *in.Enabled), Alarms: []api.Alarm{}, PredictiveScalingConfiguration: predictiveConfig(in.PredictiveScalingConfiguration),
	}
	if typ == "StepScaling" && p.MetricAggregationType == nil {
		p.MetricAggregationType = ptr("Average")
	}
	rec := policyRecord{Policy: p}
	if typ == "TargetTrackingScaling" {
		if hadOld {
			s.deletePolicyAlarms(ctx, sc, old)
		}
		alarms, high, low, err := s.createTrackingAlarms(ctx, sc, g, p)
		if err != nil {
			return nil, err
		}
		rec.Policy.Alarms, rec.HighAlarm, rec.LowAlarm = alarms, high, low
	}
	if err := s.st.Update(func(tx store.Tx) error { return tx.Put(bucketPolicies, policyKey(sc, group, name), rec) }); err != nil {
		return nil, err
	}
	return &api.PolicyARNType{PolicyARN: &policyARN, Alarms: rec.Policy.Alarms}, nil
}

// checkPolicy applies PutScalingPolicy's rules for each policy type.
func checkPolicy(typ string, in *api.PutScalingPolicyType) error {
	only := func(field string, set bool, types ...string) error {
		if set && !slices.Contains(types, typ) {
			return validation("%s is not supported for policy type %s.", field, typ)
		}
		return nil
	}
	for _, err := range []error{
		only("ScalingAdjustment", in.ScalingAdjustment != nil, "SimpleScaling"),
		only("Cooldown", in.Cooldown != nil, "SimpleScaling"),
		only("StepAdjustments", len(in.StepAdjustments) > 0, "StepScaling"),
		only("MetricAggregationType", in.MetricAggregationType != nil, "StepScaling"),
		only("AdjustmentType", in.AdjustmentType != nil, "SimpleScaling", "StepScaling"),
		only("MinAdjustmentMagnitude", in.MinAdjustmentMagnitude != nil, "SimpleScaling", "StepScaling"),
		only("EstimatedInstanceWarmup", in.EstimatedInstanceWarmup != nil, "StepScaling", "TargetTrackingScaling"),
		only("TargetTrackingConfiguration", in.TargetTrackingConfiguration != nil, "TargetTrackingScaling"),
		only("PredictiveScalingConfiguration", in.PredictiveScalingConfiguration != nil, "PredictiveScaling"),
	} {
		if err != nil {
			return err
		}
	}
	if t := str(in.AdjustmentType); t != "" && !scaling.AdjustmentType(t).Valid() {
		return validation("Invalid adjustment type %s. Valid values are ChangeInCapacity, ExactCapacity and PercentChangeInCapacity.", t)
	}
	if in.MinAdjustmentMagnitude != nil && str(in.AdjustmentType) != "PercentChangeInCapacity" {
		return validation("MinAdjustmentMagnitude is only supported with PercentChangeInCapacity.")
	}
	switch typ {
	case "SimpleScaling":
		if in.AdjustmentType == nil || in.ScalingAdjustment == nil {
			return validation("ScalingAdjustment and AdjustmentType are required for a SimpleScaling policy.")
		}
	case "StepScaling":
		if in.AdjustmentType == nil || len(in.StepAdjustments) == 0 {
			return validation("StepAdjustments and AdjustmentType are required for a StepScaling policy.")
		}
		return scaling.CheckSteps(steps(in.StepAdjustments))
	case "TargetTrackingScaling":
		c := in.TargetTrackingConfiguration
		if c == nil || c.TargetValue == nil {
			return validation("TargetTrackingConfiguration with a TargetValue is required for a TargetTrackingScaling policy.")
		}
		if (c.PredefinedMetricSpecification == nil) == (c.CustomizedMetricSpecification == nil) {
			return validation("Exactly one of PredefinedMetricSpecification and CustomizedMetricSpecification must be given.")
		}
		if c.CustomizedMetricSpecification != nil {
			_, err := scaling.TargetTrackingAlarms(scaling.TrackingAlarms{Customized: customMetric(c.CustomizedMetricSpecification), TargetValue: deref(c.TargetValue)})
			return err
		}
	case "PredictiveScaling":
		return checkPredictive(in.PredictiveScalingConfiguration)
	default:
		return validation("Invalid policy type %s.", typ)
	}
	return nil
}

// customMetric is a CustomizedMetricSpecification in the scaling
// package's terms. A query's ReturnData defaults to true, as AWS's does.
func customMetric(c *api.CustomizedMetricSpecification) *scaling.CustomMetric {
	dims := func(ds []api.MetricDimension) map[string]string {
		m := map[string]string{}
		for _, d := range ds {
			m[str(d.Name)] = str(d.Value)
		}
		return m
	}
	m := &scaling.CustomMetric{Namespace: str(c.Namespace), MetricName: str(c.MetricName), Statistic: str(c.Statistic), Unit: str(c.Unit),
		Dimensions: dims(c.Dimensions), Period: int(deref(c.Period))}
	for _, q := range c.Metrics {
		sq := scaling.Query{ID: str(q.Id), Expression: str(q.Expression), Label: str(q.Label), Period: int(deref(q.Period)), ReturnData: q.ReturnData == nil || *q.ReturnData}
		if st := q.MetricStat; st != nil {
			sq.Stat, sq.Unit = str(st.Stat), str(st.Unit)
			if st.Period != nil {
				sq.Period = int(*st.Period)
			}
			if st.Metric != nil {
				sq.Namespace, sq.MetricName, sq.Dimensions = str(st.Metric.Namespace), str(st.Metric.MetricName), dims(st.Metric.Dimensions)
			}
		}
		m.Queries = append(m.Queries, sq)
	}
	return m
}

// cwDimensions are dimensions for CloudWatch, in name order.
func cwDimensions(m map[string]string) []cwapi.Dimension {
	var out []cwapi.Dimension
	for _, k := range slices.Sorted(maps.Keys(m)) {
		out = append(out, cwapi.Dimension{Name: ptr(k), Value: ptr(m[k])})
	}
	return out
}

func steps(in []api.StepAdjustment) []scaling.Step {
	out := make([]scaling.Step, len(in))
	for i, a := range in {
		out[i] = scaling.Step{Lower: a.MetricIntervalLowerBound, Upper: a.MetricIntervalUpperBound, Adjustment: int(deref(a.ScalingAdjustment))}
	}
	return out
}

// createTrackingAlarms creates a target tracking policy's alarms in
// CloudWatch, shaped and named as AWS makes them.
func (s *Service) createTrackingAlarms(ctx context.Context, sc scope, g groupRecord, p api.ScalingPolicy) ([]api.Alarm, string, string, error) {
	if s.opts.Alarms == nil {
		return nil, "", "", validation("Target tracking needs CloudWatch, which is not available.")
	}
	c := p.TargetTrackingConfiguration
	ta := scaling.TrackingAlarms{
		GroupName: g.Name, PolicyARN: str(p.PolicyARN), HighID: awsid.RequestID(), LowID: awsid.RequestID(),
		TargetValue: deref(c.TargetValue), DisableScaleIn: deref(c.DisableScaleIn),
	}
	if m := c.PredefinedMetricSpecification; m != nil {
		ta.PredefinedMetricType, ta.ResourceLabel = str(m.PredefinedMetricType), str(m.ResourceLabel)
	} else {
		ta.Customized = customMetric(c.CustomizedMetricSpecification)
	}
	specs, err := scaling.TargetTrackingAlarms(ta)
	if err != nil {
		return nil, "", "", err
	}
	var alarms []api.Alarm
	var high, low string
	for _, a := range specs {
		in := &cwapi.PutMetricAlarmInput{
			AlarmName: ptr(a.Name), AlarmDescription: ptr(a.Description), EvaluationPeriods: ptr(int32(a.EvaluationPeriods)),
			Threshold: ptr(a.Threshold), ComparisonOperator: ptr(a.Comparison), AlarmActions: []string{str(p.PolicyARN)},
		}
		if len(a.Queries) == 0 {
			in.Namespace, in.MetricName, in.Statistic, in.Period = ptr(a.Namespace), ptr(a.MetricName), ptr(a.Statistic), ptr(int32(a.Period))
			in.Unit = optional(a.Unit)
		}
		for _, q := range a.Queries {
			mq := cwapi.MetricDataQuery{Id: ptr(q.ID), Label: optional(q.Label), ReturnData: ptr(q.ReturnData)}
			if q.Expression != "" {
				mq.Expression = ptr(q.Expression)
			} else {
				period := q.Period
				if period == 0 {
					period = a.Period
				}
				mq.MetricStat = &cwapi.MetricStat{Metric: &cwapi.Metric{Namespace: ptr(q.Namespace), MetricName: ptr(q.MetricName), Dimensions: cwDimensions(q.Dimensions)},
					Stat: ptr(q.Stat), Period: ptr(int32(period)), Unit: optional(q.Unit)}
			}
			in.Metrics = append(in.Metrics, mq)
		}
		if a.DatapointsToAlarm > 0 {
			in.DatapointsToAlarm = ptr(int32(a.DatapointsToAlarm))
		}
		if a.TreatMissingData != "" {
			in.TreatMissingData = ptr(a.TreatMissingData)
		}
		in.Dimensions = cwDimensions(a.Dimensions)
		if _, err := s.opts.Alarms.PutMetricAlarm(sc.Context(ctx), in); err != nil {
			return nil, "", "", fmt.Errorf("creating alarm %s: %w", a.Name, err)
		}
		alarms = append(alarms, api.Alarm{AlarmName: ptr(a.Name), AlarmARN: ptr(arn.ARN{Partition: arn.Partition(sc.Region), Service: "cloudwatch",
			Region: sc.Region, AccountID: sc.Account, Resource: "alarm:" + a.Name}.String())})
		if a.High {
			high = a.Name
		} else {
			low = a.Name
		}
	}
	return alarms, high, low, nil
}

func (s *Service) deletePolicyAlarms(ctx context.Context, sc scope, r policyRecord) {
	var names []string
	for _, a := range r.Policy.Alarms {
		names = append(names, str(a.AlarmName))
	}
	if len(names) == 0 || s.opts.Alarms == nil {
		return
	}
	if _, err := s.opts.Alarms.DeleteAlarms(sc.Context(ctx), &cwapi.DeleteAlarmsInput{AlarmNames: names}); err != nil {
		s.log().Warn("autoscaling: deleting a policy's alarms", "policy", str(r.Policy.PolicyName), "err", err)
	}
}

// DescribePolicies lists policies by group, names and types.
func (s *Service) DescribePolicies(ctx context.Context, in *api.DescribePoliciesType) (*api.PoliciesType, error) {
	sc := scopeOf(ctx)
	prefix := sc.Prefix()
	if in.AutoScalingGroupName != nil {
		prefix = sc.Key(*in.AutoScalingGroupName + "/")
	}
	var all []policyRecord
	err := s.st.View(func(tx store.Tx) error {
		return tx.ForEach(bucketPolicies, prefix, func(_ string, decode func(any) error) error {
			var r policyRecord
			if err := decode(&r); err != nil {
				return err
			}
			p := r.Policy
			// A group whose name extends another's ("web", "web/blue")
			// shares its key prefix: the record names its group.
			if in.AutoScalingGroupName != nil && str(p.AutoScalingGroupName) != *in.AutoScalingGroupName {
				return nil
			}
			if (len(in.PolicyNames) == 0 || slices.Contains(in.PolicyNames, str(p.PolicyName)) || slices.Contains(in.PolicyNames, str(p.PolicyARN))) &&
				(len(in.PolicyTypes) == 0 || slices.Contains(in.PolicyTypes, str(p.PolicyType))) {
				all = append(all, r)
			}
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	key := func(r policyRecord) string {
		return str(r.Policy.AutoScalingGroupName) + "\x00" + str(r.Policy.PolicyName)
	}
	pg, next, err := page.ByKey(all, key, str(in.NextToken), int(deref(in.MaxRecords)), 50, 100)
	if err != nil {
		return nil, badToken()
	}
	out := &api.PoliciesType{ScalingPolicies: []api.ScalingPolicy{}}
	for _, r := range pg {
		out.ScalingPolicies = append(out.ScalingPolicies, r.Policy)
	}
	if next != "" {
		out.NextToken = &next
	}
	return out, nil
}

// DeletePolicy deletes a policy and the alarms a target tracking policy
// owns.
func (s *Service) DeletePolicy(ctx context.Context, in *api.DeletePolicyType) (*api.DeletePolicyOutput, error) {
	sc := scopeOf(ctx)
	r, key, err := s.findPolicy(sc, str(in.AutoScalingGroupName), str(in.PolicyName))
	if err != nil {
		return nil, err
	}
	if err := s.st.Update(func(tx store.Tx) error { return tx.Delete(bucketPolicies, key) }); err != nil {
		return nil, err
	}
	s.deletePolicyAlarms(ctx, sc, r)
	return &api.DeletePolicyOutput{}, nil
}

// findPolicy finds a policy by name in a group, or by ARN.
func (s *Service) findPolicy(sc scope, group, nameOrARN string) (policyRecord, string, error) {
	var found policyRecord
	var key string
	err := s.st.View(func(tx store.Tx) error {
		return tx.ForEach(bucketPolicies, sc.Prefix(), func(k string, decode func(any) error) error {
			var r policyRecord
			if err := decode(&r); err != nil {
				return err
			}
			p := r.Policy
			if str(p.PolicyARN) == nameOrARN || (str(p.PolicyName) == nameOrARN && (group == "" || str(p.AutoScalingGroupName) == group)) {
				found, key = r, k
			}
			return nil
		})
	})
	if err == nil && key == "" {
		err = validation("No scaling policy found for service namespace: ec2, resource ID: autoScalingGroup/%s, policy name: %s", group, nameOrARN)
	}
	return found, key, err
}

// ExecutePolicy runs a policy now, as an alarm would.
func (s *Service) ExecutePolicy(ctx context.Context, in *api.ExecutePolicyType) (*api.ExecutePolicyOutput, error) {
	sc := scopeOf(ctx)
	r, _, err := s.findPolicy(sc, str(in.AutoScalingGroupName), str(in.PolicyName))
	if err != nil {
		return nil, err
	}
	p := r.Policy
	t := Trigger{Time: s.now()}
	switch str(p.PolicyType) {
	case "StepScaling":
		if in.MetricValue == nil || in.BreachThreshold == nil {
			return nil, validation("MetricValue and BreachThreshold are required for a StepScaling policy.")
		}
		t.Values, t.Threshold = []float64{*in.MetricValue}, *in.BreachThreshold
	case "TargetTrackingScaling", "PredictiveScaling":
		return nil, validation("ExecutePolicy is not supported for a %s policy.", str(p.PolicyType))
	}
	cause := fmt.Sprintf("At %s a user request executed policy %s", t.Time.Format(causeTime), str(p.PolicyName))
	switch err := s.applyPolicy(sc, r, t, deref(in.HonorCooldown), cause); {
	case errors.Is(err, errCooldown):
		return nil, activityInProgress("Scaling activity in progress or cooldown period in effect for group %s.", str(p.AutoScalingGroupName))
	case err != nil && !errors.Is(err, errNoChange):
		return nil, err
	}
	return &api.ExecutePolicyOutput{}, nil
}

// ExecuteAlarmAction runs the policy an alarm action names: how
// CloudWatch scales a group.
func (s *Service) ExecuteAlarmAction(ctx context.Context, account, region, policyARN string, t Trigger) error {
	sc := scope{Account: account, Region: region}
	r, _, err := s.findPolicy(sc, "", policyARN)
	if err != nil {
		return err
	}
	if !deref(r.Policy.Enabled) {
		return nil
	}
	// With AlarmNotification suspended the group ignores its alarms.
	var g groupRecord
	if err := s.st.View(func(tx store.Tx) error {
		var err error
		g, err = loadGroup(tx, sc, str(r.Policy.AutoScalingGroupName))
		return err
	}); err != nil {
		return err
	}
	if g.suspended("AlarmNotification") {
		return nil
	}
	cause := fmt.Sprintf("At %s a monitor alarm %s in state %s triggered policy %s", t.Time.UTC().Format(causeTime), t.AlarmName, t.State, str(r.Policy.PolicyName))
	err = s.applyPolicy(sc, r, t, true, cause)
	if errors.Is(err, errNoChange) || errors.Is(err, errCooldown) {
		return nil
	}
	return err
}

// errNoChange is a policy run that leaves the desired capacity as it is;
// errCooldown one that the group's cooldown holds back.
var (
	errNoChange = errors.New("no change")
	errCooldown = errors.New("cooldown")
)

// applyPolicy changes a group's desired capacity as a policy says.
func (s *Service) applyPolicy(sc scope, r policyRecord, t Trigger, honorCooldown bool, cause string) error {
	p := r.Policy
	group := str(p.AutoScalingGroupName)
	err := s.st.Update(func(tx store.Tx) error {
		g, err := loadGroup(tx, sc, group)
		if err != nil {
			return err
		}
		now := s.clk.Now()
		b := scaling.Bounds{Min: g.Min, Max: g.Max}
		current, warming := 0, 0
		warmup := secondsOf(int(deref(g.DefaultInstanceWarmup)))
		if p.EstimatedInstanceWarmup != nil {
			warmup = secondsOf(int(*p.EstimatedInstanceWarmup))
		} else if g.DefaultInstanceWarmup == nil {
			warmup = secondsOf(g.DefaultCooldown)
		}
		for _, m := range g.Members {
			switch {
			case !m.counts():
			case m.Lifecycle == "Pending" || now.Sub(m.Launched) < warmup:
				warming++
			default:
				current++
			}
		}
		last := 0.0
		if len(t.Values) > 0 {
			last = t.Values[len(t.Values)-1]
		}
		desired, apply := g.Desired, false
		switch str(p.PolicyType) {
		case "SimpleScaling":
			cooldown := scaling.PolicyCooldown(durationPtr(p.Cooldown), secondsOf(g.DefaultCooldown))
			if !scaling.CooldownAllows(now, s.rec.lastActivityEnd(g.ARN), cooldown, honorCooldown) {
				return errCooldown
			}
			desired = scaling.Adjust(g.Desired, scaling.AdjustmentType(str(p.AdjustmentType)), int(deref(p.ScalingAdjustment)), int(deref(p.MinAdjustmentMagnitude)), b)
			apply = desired != g.Desired
		case "StepScaling":
			step, ok := scaling.StepFor(steps(p.StepAdjustments), last, t.Threshold)
			if !ok {
				return errNoChange
			}
			desired, apply = scaling.StepDesired(current, g.Desired, warming, step, scaling.AdjustmentType(str(p.AdjustmentType)), int(deref(p.MinAdjustmentMagnitude)), b)
		case "TargetTrackingScaling":
			c := p.TargetTrackingConfiguration
			if t.AlarmName == r.LowAlarm && deref(c.DisableScaleIn) {
				return errNoChange
			}
			desired, apply = scaling.TargetDesired(current, g.Desired, warming, last, deref(c.TargetValue), b, deref(c.DisableScaleIn))
			if t.AlarmName == r.LowAlarm && desired > g.Desired || t.AlarmName == r.HighAlarm && desired < g.Desired {
				return errNoChange
			}
		}
		if !apply || desired == g.Desired {
			return errNoChange
		}
		g.Cause = fmt.Sprintf("%s changing the desired capacity from %d to %d.", cause, g.Desired, desired)
		g.Desired = desired
		return putGroup(tx, sc, g)
	})
	if err == nil {
		s.rec.wake()
	}
	return err
}

func durationPtr(p *int32) *time.Duration {
	if p == nil {
		return nil
	}
	d := secondsOf(int(*p))
	return &d
}

// DescribeAdjustmentTypes lists the policy adjustment types.
func (s *Service) DescribeAdjustmentTypes(context.Context, *api.DescribeAdjustmentTypesInput) (*api.DescribeAdjustmentTypesAnswer, error) {
	out := &api.DescribeAdjustmentTypesAnswer{}
	for _, t := range []string{"ChangeInCapacity", "ExactCapacity", "PercentChangeInCapacity"} {
		out.AdjustmentTypes = append(out.AdjustmentTypes, api.AdjustmentType{AdjustmentType: ptr(t)})
	}
	return out, nil
}
