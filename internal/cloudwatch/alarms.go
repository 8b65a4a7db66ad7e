package cloudwatch

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	api "github.com/nephele-dev/nephele/internal/api/cloudwatch"
	"github.com/nephele-dev/nephele/internal/arn"
	"github.com/nephele-dev/nephele/internal/cloudwatch/alarmeval"
	"github.com/nephele-dev/nephele/internal/cloudwatch/alarmrule"
	"github.com/nephele-dev/nephele/internal/cloudwatch/tsdb"
	"github.com/nephele-dev/nephele/internal/page"
	"github.com/nephele-dev/nephele/internal/store"
)

// bucketAlarms holds alarms, keyed by scope and name: metric and
// composite alarms share one name space, as in CloudWatch.
const bucketAlarms = "cloudwatch-alarms"

// alarmRecord is a stored alarm: exactly one of Metric and Composite.
type alarmRecord struct {
	Metric    *api.MetricAlarm    `json:"metric,omitempty"`
	Composite *api.CompositeAlarm `json:"composite,omitempty"`
	Tags      []api.Tag           `json:"tags,omitempty"`
}

func (r *alarmRecord) name() string {
	if r.Metric != nil {
		return str(r.Metric.AlarmName)
	}
	return str(r.Composite.AlarmName)
}

func (r *alarmRecord) arn() string {
	if r.Metric != nil {
		return str(r.Metric.AlarmArn)
	}
	return str(r.Composite.AlarmArn)
}

func (r *alarmRecord) state() string { return str(*r.stateOf().value) }

// alarm is the alarm itself, of whichever kind.
func (r *alarmRecord) alarm() any {
	if r.Metric != nil {
		return r.Metric
	}
	return r.Composite
}

// alarmState points at an alarm's state members: metric and composite
// alarms spell them alike in two types.
type alarmState struct {
	value, reason, data   **string
	updated, transitioned **time.Time
}

func (r *alarmRecord) stateOf() alarmState {
	if m := r.Metric; m != nil {
		return alarmState{&m.StateValue, &m.StateReason, &m.StateReasonData, &m.StateUpdatedTimestamp, &m.StateTransitionedTimestamp}
	}
	c := r.Composite
	return alarmState{&c.StateValue, &c.StateReason, &c.StateReasonData, &c.StateUpdatedTimestamp, &c.StateTransitionedTimestamp}
}

func (r *alarmRecord) kind() string {
	if r.Metric != nil {
		return "MetricAlarm"
	}
	return "CompositeAlarm"
}

// actionsFor lists the actions of a state.
func (r *alarmRecord) actionsFor(state string) []string {
	var ok, alarm, insufficient []string
	if r.Metric != nil {
		ok, alarm, insufficient = r.Metric.OKActions, r.Metric.AlarmActions, r.Metric.InsufficientDataActions
	} else {
		ok, alarm, insufficient = r.Composite.OKActions, r.Composite.AlarmActions, r.Composite.InsufficientDataActions
	}
	switch state {
	case "OK":
		return ok
	case "ALARM":
		return alarm
	default:
		return insufficient
	}
}

func (r *alarmRecord) actionsEnabled() bool {
	if r.Metric != nil {
		return r.Metric.ActionsEnabled == nil || *r.Metric.ActionsEnabled
	}
	return r.Composite.ActionsEnabled == nil || *r.Composite.ActionsEnabled
}

// setState records a new state; the caller checks it is a change.
func (r *alarmRecord) setState(state, reason, data string, now time.Time) {
	var reasonData *string
	if data != "" {
		reasonData = &data
	}
	st := r.stateOf()
	*st.value, *st.reason, *st.data = &state, &reason, reasonData
	*st.updated, *st.transitioned = ptr(now), ptr(now)
}

// putAlarm stores an alarm a Put call made, as CloudWatch keeps it: a new
// alarm starts in INSUFFICIENT_DATA with the call's tags; a replaced one
// keeps its state and tags ("When you update an existing alarm, its state
// is left unchanged, but the update completely overwrites the previous
// configuration"); an alarm of the other kind of that name is not
// replaced. The ConfigurationUpdate history item goes with it.
func (s *Service) putAlarm(tx store.Tx, sc scope, rec alarmRecord, tags []api.Tag, now time.Time) error {
	name := rec.name()
	var old alarmRecord
	err := tx.Get(bucketAlarms, sc.Key(name), &old)
	created := errors.Is(err, store.ErrNotFound)
	switch {
	case err == nil && old.kind() != rec.kind():
		return invalidValue("The alarm %s is a %s; a %s cannot replace it.", name, kindWords(old.kind()), kindWords(rec.kind()))
	case err == nil:
		n, o := rec.stateOf(), old.stateOf()
		*n.value, *n.reason, *n.data, *n.updated, *n.transitioned = *o.value, *o.reason, *o.data, *o.updated, *o.transitioned
		rec.Tags = old.Tags
	case created:
		rec.setState("INSUFFICIENT_DATA", "Unchecked: Initial alarm creation", "", now)
		if err := checkTags(tags, 0); err != nil {
			return err
		}
		rec.Tags = tags
	default:
		return err
	}
	if err := tx.Put(bucketAlarms, sc.Key(name), rec); err != nil {
		return err
	}
	return s.addHistory(tx, sc, configHistory(name, rec.kind(), created, rec.alarm(), now))
}

// kindWords names an alarm kind in a message.
func kindWords(kind string) string {
	if kind == "MetricAlarm" {
		return "metric alarm"
	}
	return "composite alarm"
}

// Alarm quotas and rules ("PutMetricAlarm", "CloudWatch service quotas").
const (
	maxActionsPerState = 5
	maxAlarmNames      = 100
	maxEvaluationRange = 7 * 24 * time.Hour
	maxShortRange      = 24 * time.Hour
)

var comparisons = []string{
	"GreaterThanOrEqualToThreshold", "GreaterThanThreshold", "LessThanThreshold", "LessThanOrEqualToThreshold",
	"LessThanLowerOrGreaterThanUpperThreshold", "LessThanLowerThreshold", "GreaterThanUpperThreshold",
}

// isBand reports whether a comparison is against an anomaly detection
// band rather than a static threshold.
func isBand(op string) bool { return strings.Contains(op, "Lower") || strings.Contains(op, "Upper") }

// alarmARN is an alarm's ARN.
func alarmARN(sc scope, name string) string {
	return arn.ARN{Partition: arn.Partition(sc.Region), Service: "cloudwatch", Region: sc.Region, AccountID: sc.Account, Resource: "alarm:" + name}.String()
}

// PutMetricAlarm creates or replaces a metric alarm. Replacing keeps the
// alarm's state ("When you update an existing alarm, its state is left
// unchanged, but the update completely overwrites the previous
// configuration").
func (s *Service) PutMetricAlarm(ctx context.Context, in *api.PutMetricAlarmInput) (*api.PutMetricAlarmOutput, error) {
	if err := checkMetricAlarm(in); err != nil {
		return nil, err
	}
	sc := scopeOf(ctx)
	name := str(in.AlarmName)
	for _, list := range [][]string{in.AlarmActions, in.OKActions, in.InsufficientDataActions} {
		if err := checkActions(sc, list); err != nil {
			return nil, err
		}
	}
	now := s.now()
	a := &api.MetricAlarm{
		AlarmName: &name, AlarmArn: ptr(alarmARN(sc, name)), AlarmDescription: in.AlarmDescription,
		ActionsEnabled: ptr(in.ActionsEnabled == nil || *in.ActionsEnabled),
		AlarmActions:   nonNil(in.AlarmActions), OKActions: nonNil(in.OKActions), InsufficientDataActions: nonNil(in.InsufficientDataActions),
		AlarmConfigurationUpdatedTimestamp: &now,
		ComparisonOperator:                 in.ComparisonOperator, DatapointsToAlarm: in.DatapointsToAlarm,
		Dimensions: nonNil(in.Dimensions), EvaluateLowSampleCountPercentile: in.EvaluateLowSampleCountPercentile,
		EvaluationPeriods: in.EvaluationPeriods, ExtendedStatistic: in.ExtendedStatistic, MetricName: in.MetricName,
		Metrics: in.Metrics, Namespace: in.Namespace, Period: in.Period, Statistic: in.Statistic,
		Threshold: in.Threshold, ThresholdMetricId: in.ThresholdMetricId, TreatMissingData: in.TreatMissingData, Unit: in.Unit,
	}
	if a.TreatMissingData == nil {
		a.TreatMissingData = ptr("missing")
	}
	err := s.st.Update(func(tx store.Tx) error { return s.putAlarm(tx, sc, alarmRecord{Metric: a}, in.Tags, now) })
	if err != nil {
		return nil, err
	}
	s.eval.refresh(sc, name)
	return &api.PutMetricAlarmOutput{}, nil
}

// nonNil keeps list members present (and empty) in answers, as
// CloudWatch always lists an alarm's actions and dimensions.
func nonNil[T any](xs []T) []T {
	if xs == nil {
		return []T{}
	}
	return xs
}

// checkMetricAlarm applies PutMetricAlarm's rules.
func checkMetricAlarm(in *api.PutMetricAlarmInput) error {
	name := str(in.AlarmName)
	switch {
	case name == "":
		return missing("AlarmName")
	case in.EvaluationPeriods == nil:
		return missing("EvaluationPeriods")
	case in.ComparisonOperator == nil:
		return missing("ComparisonOperator")
	}
	if len(name) > 255 {
		return invalidValue("The parameter AlarmName must be shorter than 256 characters.")
	}
	op := str(in.ComparisonOperator)
	if !slices.Contains(comparisons, op) {
		return invalidValue("The value %s for parameter ComparisonOperator is invalid.", op)
	}
	if *in.EvaluationPeriods < 1 {
		return invalidValue("The parameter EvaluationPeriods must be greater than or equal to 1.")
	}
	if in.DatapointsToAlarm != nil && (*in.DatapointsToAlarm < 1 || *in.DatapointsToAlarm > *in.EvaluationPeriods) {
		return validation("DatapointsToAlarm must be between 1 and EvaluationPeriods (%d).", *in.EvaluationPeriods)
	}
	if t := str(in.TreatMissingData); t != "" && !slices.Contains([]string{"missing", "ignore", "breaching", "notBreaching"}, t) {
		return validation("Option %s for TreatMissingData is not supported. Supported options for TreatMissingData are missing, ignore, breaching and notBreaching.", t)
	}
	var period int32
	if len(in.Metrics) > 0 {
		if in.MetricName != nil || in.Namespace != nil || in.Statistic != nil || in.ExtendedStatistic != nil || len(in.Dimensions) > 0 || in.Period != nil || in.Unit != nil {
			return invalidCombination("The parameters MetricName, Namespace, Statistic, ExtendedStatistic, Dimensions, Period and Unit must not be used with Metrics.")
		}
		returned := 0
		for i, q := range in.Metrics {
			if (q.ReturnData == nil || *q.ReturnData) && str(q.Id) != str(in.ThresholdMetricId) {
				returned++
			}
			if q.MetricStat != nil && q.MetricStat.Period != nil && (period == 0 || *q.MetricStat.Period < period) {
				period = *q.MetricStat.Period
			}
			if q.Expression != nil && q.Period != nil && period == 0 {
				period = *q.Period
			}
			if q.MetricStat == nil && q.Expression == nil {
				return validation("Exactly one element of the metricStat and expression fields must be present in Metrics.member.%d.", i+1)
			}
		}
		if returned != 1 {
			return validation("Exactly one element of the metrics list should return data.")
		}
		if period == 0 {
			return validation("The Metrics list must include a period for the alarm.")
		}
	} else {
		switch {
		case str(in.MetricName) == "":
			return missing("MetricName")
		case str(in.Namespace) == "":
			return missing("Namespace")
		case in.Period == nil:
			return missing("Period")
		}
		if (in.Statistic == nil) == (in.ExtendedStatistic == nil) {
			return invalidCombination("Exactly one of the parameters Statistic and ExtendedStatistic must be specified.")
		}
		if in.Statistic != nil && !isBasicStatistic(*in.Statistic) {
			return invalidValue("The value %s for parameter Statistic is invalid.", *in.Statistic)
		}
		if in.ExtendedStatistic != nil && (!tsdb.ValidStatistic(*in.ExtendedStatistic) || isBasicStatistic(*in.ExtendedStatistic)) {
			return invalidValue("The value %s for parameter ExtendedStatistic is invalid.", *in.ExtendedStatistic)
		}
		if len(in.Dimensions) > maxDimensions {
			return invalidValue("The collection Dimensions must not have a size greater than %d.", maxDimensions)
		}
		period = *in.Period
		if in.EvaluateLowSampleCountPercentile != nil {
			if in.ExtendedStatistic == nil || !strings.HasPrefix(strings.ToLower(*in.ExtendedStatistic), "p") {
				return invalidCombination("The parameter EvaluateLowSampleCountPercentile is only valid for alarms on percentile statistics.")
			}
			if v := *in.EvaluateLowSampleCountPercentile; v != "evaluate" && v != "ignore" {
				return validation("Option %s for EvaluateLowSampleCountPercentile is not supported. Supported options are evaluate and ignore.", v)
			}
		}
	}
	if period != 10 && period != 20 && period != 30 && (period < 60 || period%60 != 0) {
		return invalidValue("The parameter Period must be 10, 20, 30 or a multiple of 60.")
	}
	span := time.Duration(period) * time.Second * time.Duration(*in.EvaluationPeriods)
	if span > maxEvaluationRange {
		return validation("Metrics can not be evaluated for more than 7 days. Period multiplied by EvaluationPeriods must be at most 604800 seconds.")
	}
	if period < 3600 && span > maxShortRange {
		return validation("Metrics with a period of less than an hour can not be evaluated for more than one day. Period multiplied by EvaluationPeriods must be at most 86400 seconds.")
	}
	if isBand(op) {
		if in.ThresholdMetricId == nil {
			return validation("ComparisonOperators for ranges require ThresholdMetricId to be set")
		}
		if in.Threshold != nil {
			return invalidCombination("The parameters Threshold and ThresholdMetricId are mutually exclusive.")
		}
		if !slices.ContainsFunc(in.Metrics, func(q api.MetricDataQuery) bool { return str(q.Id) == *in.ThresholdMetricId }) {
			return validation("ThresholdMetricId %s does not match any of the Metrics.", *in.ThresholdMetricId)
		}
	} else {
		if in.ThresholdMetricId != nil {
			return validation("ThresholdMetricId is only supported with anomaly detection comparison operators.")
		}
		if in.Threshold == nil {
			return missing("Threshold")
		}
	}
	return nil
}

// checkActions validates a state's action ARNs: at most five, each an
// action CloudWatch knows, in the alarm's region.
func checkActions(sc scope, actions []string) error {
	if len(actions) > maxActionsPerState {
		return limitExceeded("The maximum number of actions per state is %d.", maxActionsPerState)
	}
	for _, a := range actions {
		parsed, err := arn.Parse(a)
		if err != nil {
			return validation("Invalid arn syntax: %s", a)
		}
		if parsed.Region != sc.Region {
			return validation("Invalid region %s specified. Only %s is supported.", parsed.Region, sc.Region)
		}
		switch parsed.Service {
		case "automate":
			// arn:aws:automate:REGION:ec2:ACTION, where "ec2" stands
			// in the account's place.
			if parsed.AccountID != "ec2" || !slices.Contains([]string{"stop", "terminate", "reboot", "recover"}, parsed.Resource) {
				return validation("Invalid use of EC2 action %s. Valid actions are stop, terminate, reboot and recover.", a)
			}
		case "sns", "autoscaling", "lambda", "ssm", "ssm-incidents", "swf":
		default:
			return validation("Invalid arn syntax: %s", a)
		}
	}
	return nil
}

// PutCompositeAlarm creates or replaces a composite alarm, which is then
// evaluated at once against its children's states.
func (s *Service) PutCompositeAlarm(ctx context.Context, in *api.PutCompositeAlarmInput) (*api.PutCompositeAlarmOutput, error) {
	name := str(in.AlarmName)
	switch {
	case name == "":
		return nil, missing("AlarmName")
	case in.AlarmRule == nil:
		return nil, missing("AlarmRule")
	}
	rule, err := alarmrule.Parse(*in.AlarmRule)
	if err != nil {
		return nil, validation("%s", ruleMessage(err))
	}
	sc := scopeOf(ctx)
	for _, list := range [][]string{in.AlarmActions, in.OKActions, in.InsufficientDataActions} {
		if err := checkActions(sc, list); err != nil {
			return nil, err
		}
	}
	now := s.now()
	a := &api.CompositeAlarm{
		AlarmName: &name, AlarmArn: ptr(alarmARN(sc, name)), AlarmDescription: in.AlarmDescription, AlarmRule: in.AlarmRule,
		ActionsEnabled: ptr(in.ActionsEnabled == nil || *in.ActionsEnabled),
		AlarmActions:   nonNil(in.AlarmActions), OKActions: nonNil(in.OKActions), InsufficientDataActions: nonNil(in.InsufficientDataActions),
		ActionsSuppressor: in.ActionsSuppressor, ActionsSuppressorWaitPeriod: in.ActionsSuppressorWaitPeriod,
		ActionsSuppressorExtensionPeriod:   in.ActionsSuppressorExtensionPeriod,
		AlarmConfigurationUpdatedTimestamp: &now,
	}
	err = s.st.Update(func(tx store.Tx) error {
		for _, ref := range rule.Alarms() {
			child := refName(sc, ref)
			if child == name {
				return validation("The composite alarm %s cannot reference itself.", name)
			}
			var c alarmRecord
			if err := tx.Get(bucketAlarms, sc.Key(child), &c); err != nil {
				if errors.Is(err, store.ErrNotFound) {
					return validation("Could not save the composite alarm as alarms [%s] in the alarm rule do not exist", child)
				}
				return err
			}
			if c.Composite != nil && s.reaches(tx, sc, child, name) {
				return validation("The alarm rule of %s creates a cycle through %s.", name, child)
			}
		}
		return s.putAlarm(tx, sc, alarmRecord{Composite: a}, in.Tags, now)
	})
	if err != nil {
		return nil, err
	}
	s.eval.refresh(sc, name)
	s.eval.evaluateComposite(sc, name)
	return &api.PutCompositeAlarmOutput{}, nil
}

// children names the alarms a composite alarm's rule refers to; none for
// a metric alarm.
func (r *alarmRecord) children(sc scope) []string {
	if r.Composite == nil {
		return nil
	}
	rule, err := alarmrule.Parse(str(r.Composite.AlarmRule))
	if err != nil {
		return nil
	}
	var out []string
	for _, ref := range rule.Alarms() {
		out = append(out, refName(sc, ref))
	}
	return out
}

// refName is the alarm name an AlarmRule reference names: a name, or an
// alarm ARN of this scope.
func refName(sc scope, ref string) string {
	if a, err := arn.Parse(ref); err == nil && a.Service == "cloudwatch" {
		return strings.TrimPrefix(a.Resource, "alarm:")
	}
	return ref
}

// reaches reports whether composite from's rule leads, through composites,
// to the alarm named to: a cycle PutCompositeAlarm refuses.
func (s *Service) reaches(tx store.Tx, sc scope, from, to string) bool {
	seen := map[string]bool{}
	var walk func(name string) bool
	walk = func(name string) bool {
		if name == to {
			return true
		}
		if seen[name] {
			return false
		}
		seen[name] = true
		var r alarmRecord
		if tx.Get(bucketAlarms, sc.Key(name), &r) != nil {
			return false
		}
		return slices.ContainsFunc(r.children(sc), walk)
	}
	return walk(from)
}

// ruleMessage is the message of an AlarmRule error.
func ruleMessage(err error) string { return err.Error() }

// listAlarms reads every alarm of a scope, ordered by name.
func (s *Service) listAlarms(sc scope) ([]alarmRecord, error) {
	var out []alarmRecord
	err := s.st.View(func(tx store.Tx) error {
		return tx.ForEach(bucketAlarms, sc.Prefix(), func(_ string, decode func(any) error) error {
			var r alarmRecord
			if err := decode(&r); err != nil {
				return err
			}
			out = append(out, r)
			return nil
		})
	})
	slices.SortFunc(out, func(a, b alarmRecord) int { return strings.Compare(a.name(), b.name()) })
	return out, err
}

// DescribeAlarms lists alarms by names or prefix, state, action prefix,
// type, or composite relations, 50 a page by default.
func (s *Service) DescribeAlarms(ctx context.Context, in *api.DescribeAlarmsInput) (*api.DescribeAlarmsOutput, error) {
	if len(in.AlarmNames) > 0 && in.AlarmNamePrefix != nil {
		return nil, invalidCombination("AlarmNamePrefix and AlarmNames are mutually exclusive.")
	}
	if len(in.AlarmNames) > maxAlarmNames {
		return nil, invalidValue("The collection AlarmNames must not have a size greater than %d.", maxAlarmNames)
	}
	if (in.ChildrenOfAlarmName != nil || in.ParentsOfAlarmName != nil) && (len(in.AlarmNames) > 0 || in.AlarmNamePrefix != nil || in.StateValue != nil || in.ActionPrefix != nil) {
		return nil, invalidCombination("ChildrenOfAlarmName and ParentsOfAlarmName cannot be used with other filters.")
	}
	if in.ChildrenOfAlarmName != nil && in.ParentsOfAlarmName != nil {
		return nil, invalidCombination("ChildrenOfAlarmName and ParentsOfAlarmName are mutually exclusive.")
	}
	if v := str(in.StateValue); v != "" && !slices.Contains([]string{"OK", "ALARM", "INSUFFICIENT_DATA"}, v) {
		return nil, invalidValue("The value %s for parameter StateValue is invalid.", v)
	}
	maxRecords := 50
	if in.MaxRecords != nil {
		if *in.MaxRecords < 1 || *in.MaxRecords > 100 {
			return nil, invalidValue("The parameter MaxRecords must be between 1 and 100.")
		}
		maxRecords = int(*in.MaxRecords)
	}
	types := map[string]bool{"MetricAlarm": true}
	if len(in.AlarmTypes) > 0 {
		types = map[string]bool{}
		for _, t := range in.AlarmTypes {
			if t != "MetricAlarm" && t != "CompositeAlarm" {
				return nil, invalidValue("The value %s for parameter AlarmTypes is invalid.", t)
			}
			types[t] = true
		}
	}
	sc := scopeOf(ctx)
	all, err := s.listAlarms(sc)
	if err != nil {
		return nil, err
	}
	keep := func(r alarmRecord) bool { return true }
	switch {
	case in.ChildrenOfAlarmName != nil:
		var children []string
		for _, r := range all {
			if r.name() == *in.ChildrenOfAlarmName {
				children = append(children, r.children(sc)...)
			}
		}
		keep = func(r alarmRecord) bool { return slices.Contains(children, r.name()) }
	case in.ParentsOfAlarmName != nil:
		child := *in.ParentsOfAlarmName
		keep = func(r alarmRecord) bool { return slices.Contains(r.children(sc), child) }
	}
	var matched []alarmRecord
	for _, r := range all {
		switch {
		case !types[r.kind()] && in.ChildrenOfAlarmName == nil && in.ParentsOfAlarmName == nil:
		case len(in.AlarmNames) > 0 && !slices.Contains(in.AlarmNames, r.name()):
		case in.AlarmNamePrefix != nil && !strings.HasPrefix(r.name(), *in.AlarmNamePrefix):
		case in.StateValue != nil && r.state() != *in.StateValue:
		case in.ActionPrefix != nil && !hasActionPrefix(r, *in.ActionPrefix):
		case !keep(r):
		default:
			matched = append(matched, r)
		}
	}
	pg, next, err := page.ByKey(matched, func(r alarmRecord) string { return r.name() }, str(in.NextToken), maxRecords, 50, 100)
	if err != nil {
		return nil, badToken()
	}
	out := &api.DescribeAlarmsOutput{MetricAlarms: []api.MetricAlarm{}, CompositeAlarms: []api.CompositeAlarm{}}
	for _, r := range pg {
		if r.Metric != nil {
			out.MetricAlarms = append(out.MetricAlarms, *r.Metric)
		} else {
			out.CompositeAlarms = append(out.CompositeAlarms, *r.Composite)
		}
	}
	if next != "" {
		out.NextToken = &next
	}
	return out, nil
}

func hasActionPrefix(r alarmRecord, prefix string) bool {
	for _, state := range []string{"OK", "ALARM", "INSUFFICIENT_DATA"} {
		if slices.ContainsFunc(r.actionsFor(state), func(a string) bool { return strings.HasPrefix(a, prefix) }) {
			return true
		}
	}
	return false
}

// DescribeAlarmsForMetric lists the metric alarms on one metric; the
// optional members narrow the match.
func (s *Service) DescribeAlarmsForMetric(ctx context.Context, in *api.DescribeAlarmsForMetricInput) (*api.DescribeAlarmsForMetricOutput, error) {
	switch {
	case str(in.MetricName) == "":
		return nil, missing("MetricName")
	case str(in.Namespace) == "":
		return nil, missing("Namespace")
	}
	all, err := s.listAlarms(scopeOf(ctx))
	if err != nil {
		return nil, err
	}
	want := tsdb.NewMetric(str(in.Namespace), str(in.MetricName), dimsIn(in.Dimensions)).Key()
	out := &api.DescribeAlarmsForMetricOutput{MetricAlarms: []api.MetricAlarm{}}
	for _, r := range all {
		a := r.Metric
		switch {
		case a == nil || a.MetricName == nil:
		case tsdb.NewMetric(str(a.Namespace), str(a.MetricName), dimsIn(a.Dimensions)).Key() != want:
		case in.Statistic != nil && str(a.Statistic) != *in.Statistic:
		case in.ExtendedStatistic != nil && str(a.ExtendedStatistic) != *in.ExtendedStatistic:
		case in.Period != nil && (a.Period == nil || *a.Period != *in.Period):
		case in.Unit != nil && str(a.Unit) != *in.Unit:
		default:
			out.MetricAlarms = append(out.MetricAlarms, *a)
		}
	}
	return out, nil
}

// DeleteAlarms deletes alarms by name. As CloudWatch, names that match no
// alarm are passed over and the others are still deleted; an alarm that a
// composite alarm's rule names cannot be deleted while that composite
// stays.
func (s *Service) DeleteAlarms(ctx context.Context, in *api.DeleteAlarmsInput) (*api.DeleteAlarmsOutput, error) {
	if len(in.AlarmNames) == 0 {
		return nil, missing("AlarmNames")
	}
	if len(in.AlarmNames) > maxAlarmNames {
		return nil, invalidValue("The collection AlarmNames must not have a size greater than %d.", maxAlarmNames)
	}
	sc := scopeOf(ctx)
	all, err := s.listAlarms(sc)
	if err != nil {
		return nil, err
	}
	for _, r := range all {
		if slices.Contains(in.AlarmNames, r.name()) {
			continue
		}
		for _, child := range r.children(sc) {
			if slices.Contains(in.AlarmNames, child) {
				return nil, validation("Alarm %s cannot be deleted because it is referenced by the composite alarm %s.", child, r.name())
			}
		}
	}
	var deleted []string
	err = s.st.Update(func(tx store.Tx) error {
		for _, name := range in.AlarmNames {
			var r alarmRecord
			if err := tx.Get(bucketAlarms, sc.Key(name), &r); err != nil {
				if errors.Is(err, store.ErrNotFound) {
					continue
				}
				return err
			}
			if err := tx.Delete(bucketAlarms, sc.Key(name)); err != nil {
				return err
			}
			deleted = append(deleted, name)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	for _, name := range deleted {
		s.eval.refresh(sc, name)
	}
	return &api.DeleteAlarmsOutput{}, nil
}

// SetAlarmState sets an alarm's state for testing: actions run as for any
// change, and the next evaluation sets the state the data says.
func (s *Service) SetAlarmState(ctx context.Context, in *api.SetAlarmStateInput) (*api.SetAlarmStateOutput, error) {
	switch {
	case str(in.AlarmName) == "":
		return nil, missing("AlarmName")
	case in.StateValue == nil:
		return nil, missing("StateValue")
	case in.StateReason == nil:
		return nil, missing("StateReason")
	}
	if !slices.Contains([]string{"OK", "ALARM", "INSUFFICIENT_DATA"}, *in.StateValue) {
		return nil, invalidValue("The value %s for parameter StateValue is invalid.", *in.StateValue)
	}
	if in.StateReasonData != nil && !json.Valid([]byte(*in.StateReasonData)) {
		return nil, awserrInvalidFormat("The parameter StateReasonData must be valid JSON.")
	}
	sc := scopeOf(ctx)
	err := s.st.View(func(tx store.Tx) error {
		var r alarmRecord
		if err := tx.Get(bucketAlarms, sc.Key(*in.AlarmName), &r); err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return notFound("Alarm %s not found", *in.AlarmName)
			}
			return err
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	s.eval.transition(sc, *in.AlarmName, "", transitionTo{state: *in.StateValue, reason: *in.StateReason, data: str(in.StateReasonData)})
	return &api.SetAlarmStateOutput{}, nil
}

// EnableAlarmActions turns the actions of the named alarms on.
func (s *Service) EnableAlarmActions(ctx context.Context, in *api.EnableAlarmActionsInput) (*api.EnableAlarmActionsOutput, error) {
	return &api.EnableAlarmActionsOutput{}, s.setActionsEnabled(ctx, in.AlarmNames, true)
}

// DisableAlarmActions turns the actions of the named alarms off: their
// states still change, and nothing runs.
func (s *Service) DisableAlarmActions(ctx context.Context, in *api.DisableAlarmActionsInput) (*api.DisableAlarmActionsOutput, error) {
	return &api.DisableAlarmActionsOutput{}, s.setActionsEnabled(ctx, in.AlarmNames, false)
}

func (s *Service) setActionsEnabled(ctx context.Context, names []string, on bool) error {
	if len(names) == 0 {
		return missing("AlarmNames")
	}
	if len(names) > maxAlarmNames {
		return invalidValue("The collection AlarmNames must not have a size greater than %d.", maxAlarmNames)
	}
	sc := scopeOf(ctx)
	err := s.st.Update(func(tx store.Tx) error {
		for _, name := range names {
			var r alarmRecord
			if err := tx.Get(bucketAlarms, sc.Key(name), &r); err != nil {
				if errors.Is(err, store.ErrNotFound) {
					continue
				}
				return err
			}
			if r.Metric != nil {
				r.Metric.ActionsEnabled = &on
			} else {
				r.Composite.ActionsEnabled = &on
			}
			if err := tx.Put(bucketAlarms, sc.Key(name), r); err != nil {
				return err
			}
		}
		return nil
	})
	for _, name := range names {
		s.eval.refresh(sc, name)
	}
	return err
}

// evalConfig is the evaluator's view of a metric alarm.
func evalConfig(a *api.MetricAlarm) alarmeval.Config {
	cfg := alarmeval.Config{
		EvaluationPeriods:                int(deref(a.EvaluationPeriods)),
		DatapointsToAlarm:                int(deref(a.DatapointsToAlarm)),
		Comparison:                       alarmeval.Comparison(str(a.ComparisonOperator)),
		TreatMissingData:                 str(a.TreatMissingData),
		Statistic:                        str(a.Statistic),
		Threshold:                        deref(a.Threshold),
		MetricMath:                       len(a.Metrics) > 0,
		EvaluateLowSampleCountPercentile: str(a.EvaluateLowSampleCountPercentile),
		Unit:                             str(a.Unit),
	}
	if a.ExtendedStatistic != nil {
		cfg.Statistic = *a.ExtendedStatistic
		cfg.Percentile = strings.HasPrefix(strings.ToLower(cfg.Statistic), "p")
	}
	cfg.Period = time.Duration(alarmPeriod(a)) * time.Second
	return cfg
}

// alarmPeriod is an alarm's period in seconds: its own, or for a metric
// math alarm the period of the metrics it reads.
func alarmPeriod(a *api.MetricAlarm) int32 {
	if a.Period != nil {
		return *a.Period
	}
	var period int32
	for _, q := range a.Metrics {
		if q.MetricStat != nil && q.MetricStat.Period != nil && (period == 0 || *q.MetricStat.Period < period) {
			period = *q.MetricStat.Period
		}
	}
	for _, q := range a.Metrics {
		if period == 0 && q.Period != nil {
			period = *q.Period
		}
	}
	if period == 0 {
		period = 60
	}
	return period
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

// configHistory is the ConfigurationUpdate history item of a put.
func configHistory(name, kind string, created bool, alarm any, now time.Time) api.AlarmHistoryItem {
	verb, typ, key := "updated", "Update", "updatedAlarm"
	if created {
		verb, typ, key = "created", "Create", "createdAlarm"
	}
	data, _ := json.Marshal(map[string]any{"version": "1.0", "type": typ, key: alarm})
	return api.AlarmHistoryItem{
		AlarmName: &name, AlarmType: &kind, HistoryItemType: ptr("ConfigurationUpdate"), Timestamp: ptr(now),
		HistorySummary: ptr(fmt.Sprintf("Alarm %q %s", name, verb)), HistoryData: ptr(string(data)),
	}
}
