package scaling

import (
	"maps"
	"math"
	"slices"
	"strings"
)

// TargetCapacity is the capacity a target tracking policy asks for when the
// group's current capacity (instances past their warm-up) produces the
// metric value metric and the policy's TargetValue is target: the metric is
// taken to scale in inverse proportion to the capacity, so the ideal
// capacity is current × metric / target.
//
// The User Guide ("Considerations") rounds conservatively in both
// directions: when it determines that adding 1.5 instances brings the
// metric to the target it adds 2, and when removing 1.5 instances would
// push the metric above the target it removes just 1. Both are the ideal
// capacity rounded up, which is what TargetCapacity returns, within b; a
// metric of 0 (ALBRequestCountPerTarget with no traffic) can take a group
// with MinSize 0 to 0.
//
// Scale-in is slower than scale-out because of the alarms that invoke the
// policy (TargetTrackingAlarms: 15 one-minute periods below 90 percent of
// the target, against 3 above it), not because of this arithmetic. With
// disableScaleIn the result is never below current. A target that is not
// positive leaves the capacity as it is (within b).
//
// A group with several target tracking policies scales out if any asks
// for more, and in only if all of those with scale-in enabled ask for
// less; combining them is the caller's.
func TargetCapacity(current int, metric, target float64, b Bounds, disableScaleIn bool) int {
	if target <= 0 || math.IsNaN(metric) || math.IsNaN(target) {
		return b.Clamp(current)
	}
	next := ceilish(float64(current) * metric / target)
	if disableScaleIn && next < current {
		next = current
	}
	return b.Clamp(next)
}

// ceilish rounds x up, but takes a value within float error of an integer
// as that integer, so 3 × 33.3 / 11.1 is 9, not 10.
func ceilish(x float64) int {
	if math.IsInf(x, 1) || x > math.MaxInt32 {
		return math.MaxInt32
	}
	if r := math.Round(x); math.Abs(x-r) <= 1e-9*math.Max(1, math.Abs(x)) {
		return int(r)
	}
	return int(math.Ceil(x))
}

// TargetDesired is TargetCapacity gated by the warm-up rules that
// StepDesired describes, which the target tracking page repeats: current
// is the capacity past its warm-up, desired the group's desired capacity
// (counting instances still warming up), warming the capacity still
// warming up. Against current, a scale-out (more than current) applies
// only if it asks for more than desired;
// a scale-in only if it asks for less, nothing is warming up, and
// scale-in is not disabled. When it does not apply, TargetDesired returns
// desired and false.
func TargetDesired(current, desired, warming int, metric, target float64, b Bounds, disableScaleIn bool) (int, bool) {
	return gate(current, TargetCapacity(current, metric, target, b, disableScaleIn), desired, warming, disableScaleIn)
}

// The predefined metrics of a target tracking policy
// (PredefinedMetricSpecification's PredefinedMetricType).
const (
	// ASGAverageCPUUtilization is the group's average CPU utilization.
	ASGAverageCPUUtilization = "ASGAverageCPUUtilization"
	// ASGAverageNetworkIn is the average bytes received per instance.
	ASGAverageNetworkIn = "ASGAverageNetworkIn"
	// ASGAverageNetworkOut is the average bytes sent per instance.
	ASGAverageNetworkOut = "ASGAverageNetworkOut"
	// ALBRequestCountPerTarget is the Application Load Balancer request
	// count per target of one target group, named by a ResourceLabel.
	ALBRequestCountPerTarget = "ALBRequestCountPerTarget"
)

// Shapes of the alarms a target tracking policy creates, as AWS creates
// them for a group (seen in DescribeAlarms of real policies).
const (
	// TrackingPeriod is both alarms' period, in seconds.
	TrackingPeriod = 60
	// HighEvaluationPeriods is AlarmHigh's evaluation periods.
	HighEvaluationPeriods = 3
	// LowEvaluationPeriods is AlarmLow's evaluation periods.
	LowEvaluationPeriods = 15
)

// AlarmSpec is one CloudWatch metric alarm that a target tracking policy
// creates and owns, in the terms of PutMetricAlarm. Its AlarmActions are
// the policy's ARN.
type AlarmSpec struct {
	// Name is the AlarmName: TargetTracking-<group>-AlarmHigh-<uuid> or
	// TargetTracking-<group>-AlarmLow-<uuid>.
	Name string
	// Description is the AlarmDescription, "DO NOT EDIT OR DELETE. For
	// TargetTrackingScaling policy <policy ARN>.".
	Description string
	// Namespace is the metric's namespace.
	Namespace string
	// MetricName is the metric's name.
	MetricName string
	// Statistic is the alarm's statistic.
	Statistic string
	// Dimensions are the metric's dimensions, by name.
	Dimensions map[string]string
	// Period is the alarm's period, in seconds.
	Period int
	// EvaluationPeriods is how many periods the alarm evaluates.
	EvaluationPeriods int
	// DatapointsToAlarm is 0: AWS leaves it unset, so every evaluated
	// period must breach (3 of 3, 15 of 15).
	DatapointsToAlarm int
	// Threshold is the alarm's threshold.
	Threshold float64
	// Comparison is the ComparisonOperator.
	Comparison string
	// TreatMissingData is "": AWS leaves it unset, which CloudWatch reads
	// as "missing".
	TreatMissingData string
	// High is true for AlarmHigh, which scales out, and false for
	// AlarmLow, which scales in.
	High bool
	// Unit is the metric's unit, if the policy gave one.
	Unit string
	// Queries replace Namespace, MetricName, Statistic and Dimensions for
	// a customized metric given as metric math: the alarm's Metrics.
	Queries []Query
}

// Query is one metric data query of a customized metric: a metric with
// its statistic, or an expression over other queries.
type Query struct {
	ID, Expression, Label string
	Namespace, MetricName string
	Dimensions            map[string]string
	Stat, Unit            string
	// Period is the query's period in seconds, 0 for the alarm's.
	Period int
	// ReturnData marks the query whose values the alarm evaluates.
	ReturnData bool
}

// CustomMetric is a target tracking policy's
// CustomizedMetricSpecification: one metric with a statistic, or metric
// math (Queries, exactly one returning data).
type CustomMetric struct {
	Namespace, MetricName string
	Dimensions            map[string]string
	Statistic, Unit       string
	// Period is the metric's period in seconds: 60, or 10 or 30 for a
	// high-resolution metric; 0 means 60.
	Period  int
	Queries []Query
}

// TrackingAlarms describes a target tracking policy with a predefined
// metric, for TargetTrackingAlarms.
type TrackingAlarms struct {
	// GroupName is the Auto Scaling group's name.
	GroupName string
	// PolicyARN is the scaling policy's ARN.
	PolicyARN string
	// HighID and LowID are the UUIDs that end the two alarms' names: AWS
	// gives each alarm its own.
	HighID, LowID string
	// PredefinedMetricType is one of ASGAverageCPUUtilization,
	// ASGAverageNetworkIn, ASGAverageNetworkOut and
	// ALBRequestCountPerTarget.
	PredefinedMetricType string
	// ResourceLabel names the target group of ALBRequestCountPerTarget:
	// app/<lb-name>/<lb-id>/targetgroup/<tg-name>/<tg-id>. Other metrics
	// ignore it.
	ResourceLabel string
	// Customized, when set, is the metric instead of a predefined one.
	Customized *CustomMetric
	// TargetValue is the policy's target.
	TargetValue float64
	// DisableScaleIn leaves out AlarmLow.
	DisableScaleIn bool
}

// TargetTrackingAlarms returns the alarms a target tracking policy creates,
// AlarmHigh first: AlarmHigh when the metric is greater than the target for
// 3 one-minute periods, AlarmLow when it is less than 90 percent of the
// target for 15 (the asymmetry that makes target tracking scale out quickly
// and in gradually). Both are named TargetTracking-<group>-Alarm{High,Low}-
// <uuid> and described "DO NOT EDIT OR DELETE. For TargetTrackingScaling
// policy <policy ARN>.", as AWS names and describes them.
//
// The metrics are the group's: AWS/EC2 CPUUtilization, NetworkIn or
// NetworkOut, statistic Average, dimension AutoScalingGroupName; for
// ALBRequestCountPerTarget, AWS/ApplicationELB RequestCountPerTarget,
// statistic Sum, dimension TargetGroup (the target group part of the
// ResourceLabel). An unknown metric type, or ALBRequestCountPerTarget
// without a well-formed ResourceLabel, is a ValidationError.
func TargetTrackingAlarms(c TrackingAlarms) ([]AlarmSpec, error) {
	base := AlarmSpec{Statistic: "Average", Period: TrackingPeriod}
	switch m := c.Customized; {
	case m != nil:
		if err := checkCustom(m); err != nil {
			return nil, err
		}
		if m.Period != 0 {
			base.Period = m.Period
		}
		if len(m.Queries) > 0 {
			base.Statistic, base.Queries = "", m.Queries
		} else {
			base.Namespace, base.MetricName, base.Statistic, base.Unit = m.Namespace, m.MetricName, m.Statistic, m.Unit
			base.Dimensions = maps.Clone(m.Dimensions)
		}
	case c.PredefinedMetricType == ASGAverageCPUUtilization, c.PredefinedMetricType == ASGAverageNetworkIn, c.PredefinedMetricType == ASGAverageNetworkOut:
		base.Namespace = "AWS/EC2"
		base.MetricName = strings.TrimPrefix(c.PredefinedMetricType, "ASGAverage")
		base.Dimensions = map[string]string{"AutoScalingGroupName": c.GroupName}
	case c.PredefinedMetricType == ALBRequestCountPerTarget:
		if c.ResourceLabel == "" {
			return nil, validation("Resource label should be specified for predefined metric type ALBRequestCountPerTarget")
		}
		targetGroup, ok := labelTargetGroup(c.ResourceLabel)
		if !ok {
			return nil, validation("Invalid resource label %s for predefined metric type ALBRequestCountPerTarget", c.ResourceLabel)
		}
		base.Namespace = "AWS/ApplicationELB"
		base.MetricName = "RequestCountPerTarget"
		base.Statistic = "Sum"
		base.Dimensions = map[string]string{"TargetGroup": targetGroup}
	default:
		return nil, validation("Unsupported predefined metric type: %s", c.PredefinedMetricType)
	}
	base.Description = "DO NOT EDIT OR DELETE. For TargetTrackingScaling policy " + c.PolicyARN + "."

	high := base
	high.Name = "TargetTracking-" + c.GroupName + "-AlarmHigh-" + c.HighID
	high.EvaluationPeriods = HighEvaluationPeriods
	high.Threshold = c.TargetValue
	high.Comparison = "GreaterThanThreshold"
	high.High = true
	if c.DisableScaleIn {
		return []AlarmSpec{high}, nil
	}

	low := base
	low.Dimensions = maps.Clone(base.Dimensions)
	low.Name = "TargetTracking-" + c.GroupName + "-AlarmLow-" + c.LowID
	low.EvaluationPeriods = LowEvaluationPeriods
	// 9/10 rather than 0.9: a target of 70 gives 63, not 63.00000000000001.
	low.Threshold = c.TargetValue * 9 / 10
	low.Comparison = "LessThanThreshold"
	return []AlarmSpec{high, low}, nil
}

// checkCustom applies the rules of a CustomizedMetricSpecification: a
// metric (namespace, name and statistic) or metric math, not both; in
// metric math, unique IDs, each query an expression or a metric, and
// exactly one returning data.
func checkCustom(m *CustomMetric) error {
	single := m.Namespace != "" || m.MetricName != "" || m.Statistic != ""
	switch {
	case single && len(m.Queries) > 0:
		return validation("A customized metric specification must have either a metric (Namespace, MetricName and Statistic) or Metrics, not both.")
	case !single && len(m.Queries) == 0:
		return validation("A customized metric specification must have a metric (Namespace, MetricName and Statistic) or Metrics.")
	case single && (m.Namespace == "" || m.MetricName == "" || m.Statistic == ""):
		return validation("A customized metric specification needs Namespace, MetricName and Statistic.")
	}
	if m.Period != 0 && m.Period != 10 && m.Period != 30 && m.Period != 60 {
		return validation("The period of a customized metric must be 10, 30 or 60 seconds.")
	}
	seen := map[string]bool{}
	returning := 0
	for _, q := range m.Queries {
		if q.ID == "" || seen[q.ID] {
			return validation("Each metric data query needs a unique Id.")
		}
		seen[q.ID] = true
		if (q.Expression == "") == (q.MetricName == "") {
			return validation("Metric data query %s must have exactly one of Expression and MetricStat.", q.ID)
		}
		if q.ReturnData {
			returning++
		}
	}
	if len(m.Queries) > 0 && returning != 1 {
		return validation("Exactly one metric data query must return data (ReturnData true).")
	}
	return nil
}

// labelTargetGroup is the target group part of an ALB resource label
// (app/<lb-name>/<lb-id>/targetgroup/<tg-name>/<tg-id>), which is the value
// of the RequestCountPerTarget metric's TargetGroup dimension.
func labelTargetGroup(label string) (string, bool) {
	lb, tg, ok := strings.Cut(label, "/targetgroup/")
	lbParts, tgParts := strings.Split(lb, "/"), strings.Split(tg, "/")
	if !ok || len(lbParts) != 3 || lbParts[0] != "app" || len(tgParts) != 2 ||
		slices.Contains(lbParts, "") || slices.Contains(tgParts, "") {
		return "", false
	}
	return "targetgroup/" + tg, true
}
