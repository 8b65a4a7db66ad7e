package cloudwatch

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	api "github.com/nephele-dev/nephele/internal/api/cloudwatch"
	"github.com/nephele-dev/nephele/internal/arn"
	"github.com/nephele-dev/nephele/internal/store"
)

// Actions are the services that alarm actions reach. CloudWatch imports
// none of them: main wires each in.
type Actions struct {
	// Scaling executes Auto Scaling policies.
	Scaling ScalingPolicyExecutor
	// Instances stops, terminates, reboots and recovers EC2 instances.
	Instances InstanceActor
	// Functions invokes Lambda functions.
	Functions FunctionInvoker
}

// AlarmEvent is what an action learns of the alarm state that triggered
// it.
type AlarmEvent struct {
	Account, Region     string
	AlarmName, AlarmARN string
	State, OldState     string
	Reason              string
	Time                time.Time
	// Threshold is a static alarm's threshold: step scaling's step bounds
	// are relative to it.
	Threshold float64
	// Values are the datapoints the evaluation saw, oldest first; the last
	// is what step scaling compares with its steps.
	Values []float64
}

// ScalingPolicyExecutor runs an Auto Scaling policy for an alarm, as an
// alarm action does.
type ScalingPolicyExecutor interface {
	ExecuteAlarmAction(ctx context.Context, policyARN string, ev AlarmEvent) error
}

// InstanceActor carries out an EC2 alarm action (stop, terminate, reboot
// or recover) on an instance.
type InstanceActor interface {
	AlarmAction(ctx context.Context, account, region, instanceID, action string) error
}

// FunctionInvoker invokes a Lambda function asynchronously with an
// alarm's event.
type FunctionInvoker interface {
	InvokeEvent(ctx context.Context, functionARN string, payload []byte) error
}

// errNotServed is the failure of an action whose service is not wired in.
var errNotServed = errors.New("the service of this action is not available in nephele")

// runActions carries out the actions of an alarm's new state and records
// each in its history. A repeat (Auto Scaling actions run again each
// minute an alarm stays in the state) records nothing.
func (s *Service) runActions(ctx context.Context, sc scope, rec alarmRecord, ev AlarmEvent, repeat bool) {
	for _, action := range rec.actionsFor(ev.State) {
		isScaling := strings.HasPrefix(action, "arn:aws:autoscaling:")
		if repeat && !isScaling {
			continue
		}
		data, err := s.runAction(ctx, sc, rec, action, ev)
		if repeat {
			if err != nil {
				s.log().Warn("cloudwatch: repeated alarm action", "alarm", ev.AlarmName, "action", action, "err", err)
			}
			continue
		}
		now := s.now()
		summary := "Successfully executed action " + action
		if data == nil {
			data = map[string]any{}
		}
		data["actionState"] = "Succeeded"
		data["stateUpdateTimestamp"] = ev.Time.UnixMilli()
		if err != nil {
			summary = "Failed to execute action " + action + ". Received error: " + err.Error()
			data["actionState"] = "Failed"
			data["error"] = err.Error()
		}
		b, _ := json.Marshal(data)
		item := api.AlarmHistoryItem{
			AlarmName: ptr(ev.AlarmName), AlarmType: ptr(rec.kind()), HistoryItemType: ptr("Action"),
			Timestamp: ptr(now), HistorySummary: ptr(summary), HistoryData: ptr(string(b)),
		}
		if err := s.st.Update(func(tx store.Tx) error { return s.addHistory(tx, sc, item) }); err != nil {
			s.log().Error("cloudwatch: recording an action", "alarm", ev.AlarmName, "err", err)
		}
	}
}

// runAction carries out one action, returning what its history item
// records beyond its outcome.
func (s *Service) runAction(ctx context.Context, sc scope, rec alarmRecord, action string, ev AlarmEvent) (map[string]any, error) {
	a, err := arn.Parse(action)
	if err != nil {
		return nil, err
	}
	acts := Actions{}
	if s.opts.Actions != nil {
		acts = *s.opts.Actions
	}
	switch a.Service {
	case "autoscaling":
		if acts.Scaling == nil {
			return nil, errNotServed
		}
		return nil, acts.Scaling.ExecuteAlarmAction(ctx, action, ev)
	case "automate":
		verb := a.Resource // arn:aws:automate:REGION:ec2:VERB
		id := ""
		if rec.Metric != nil {
			for _, d := range rec.Metric.Dimensions {
				if str(d.Name) == "InstanceId" {
					id = str(d.Value)
				}
			}
		}
		if id == "" {
			return nil, errors.New("the alarm's metric has no InstanceId dimension")
		}
		if acts.Instances == nil {
			return nil, errNotServed
		}
		return nil, acts.Instances.AlarmAction(ctx, sc.Account, sc.Region, id, verb)
	case "lambda":
		if acts.Functions == nil {
			return nil, errNotServed
		}
		payload, _ := json.Marshal(lambdaPayload(sc, rec, ev))
		return nil, acts.Functions.InvokeEvent(ctx, action, payload)
	case "sns":
		// nephele has no SNS yet: the message the topic would get is
		// kept in the history item, where a test can read it.
		msg, _ := json.Marshal(snsMessage(sc, rec, ev))
		return map[string]any{"notificationResource": action, "publishedMessage": string(msg)}, nil
	default:
		return nil, fmt.Errorf("%s actions are not supported by nephele", a.Service)
	}
}

// cwTime is the timestamp form of CloudWatch's alarm messages.
func cwTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000-0700") }

// snsMessage is the notification CloudWatch publishes to an SNS topic.
func snsMessage(sc scope, rec alarmRecord, ev AlarmEvent) map[string]any {
	m := map[string]any{
		"AlarmName": ev.AlarmName, "AWSAccountId": sc.Account, "NewStateValue": ev.State, "NewStateReason": ev.Reason,
		"StateChangeTime": cwTime(ev.Time), "Region": sc.Region, "AlarmArn": ev.AlarmARN, "OldStateValue": ev.OldState,
		"OKActions": rec.actionsFor("OK"), "AlarmActions": rec.actionsFor("ALARM"), "InsufficientDataActions": rec.actionsFor("INSUFFICIENT_DATA"),
	}
	if a := rec.Metric; a != nil {
		m["AlarmDescription"] = a.AlarmDescription
		m["AlarmConfigurationUpdatedTimestamp"] = cwTime(deref(a.AlarmConfigurationUpdatedTimestamp))
		dims := []map[string]string{}
		for _, d := range a.Dimensions {
			dims = append(dims, map[string]string{"value": str(d.Value), "name": str(d.Name)})
		}
		trigger := map[string]any{
			"MetricName": a.MetricName, "Namespace": a.Namespace, "Unit": a.Unit, "Dimensions": dims,
			"Period": a.Period, "EvaluationPeriods": a.EvaluationPeriods, "DatapointsToAlarm": a.DatapointsToAlarm,
			"ComparisonOperator": a.ComparisonOperator, "Threshold": a.Threshold, "TreatMissingData": a.TreatMissingData,
			"EvaluateLowSampleCountPercentile": str(a.EvaluateLowSampleCountPercentile),
		}
		if a.ExtendedStatistic != nil {
			trigger["StatisticType"], trigger["ExtendedStatistic"] = "ExtendedStatistic", *a.ExtendedStatistic
		} else {
			trigger["StatisticType"], trigger["Statistic"] = "Statistic", strings.ToUpper(str(a.Statistic))
		}
		m["Trigger"] = trigger
	} else {
		m["AlarmDescription"] = rec.Composite.AlarmDescription
		m["AlarmRule"] = rec.Composite.AlarmRule
	}
	return m
}

// lambdaPayload is the event CloudWatch sends a Lambda function alarm
// action.
func lambdaPayload(sc scope, rec alarmRecord, ev AlarmEvent) map[string]any {
	config := map[string]any{}
	if a := rec.Metric; a != nil {
		config["description"] = a.AlarmDescription
		metrics := []any{}
		if a.MetricName != nil {
			dims := map[string]string{}
			for _, d := range a.Dimensions {
				dims[str(d.Name)] = str(d.Value)
			}
			stat := str(a.Statistic)
			if a.ExtendedStatistic != nil {
				stat = *a.ExtendedStatistic
			}
			metrics = append(metrics, map[string]any{"id": "m1", "metricStat": map[string]any{
				"metric": map[string]any{"namespace": a.Namespace, "name": a.MetricName, "dimensions": dims},
				"period": a.Period, "stat": stat, "unit": a.Unit}, "returnData": true})
		}
		config["metrics"] = metrics
	} else {
		config["description"] = rec.Composite.AlarmDescription
		config["alarmRule"] = rec.Composite.AlarmRule
	}
	return map[string]any{
		"source": "aws.cloudwatch", "alarmArn": ev.AlarmARN, "accountId": sc.Account, "time": cwTime(ev.Time), "region": sc.Region,
		"alarmData": map[string]any{
			"alarmName":     ev.AlarmName,
			"state":         map[string]any{"value": ev.State, "reason": ev.Reason, "timestamp": cwTime(ev.Time)},
			"previousState": map[string]any{"value": ev.OldState},
			"configuration": config,
		},
	}
}
