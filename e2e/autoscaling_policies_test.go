package e2e

import (
	"context"
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	astypes "github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/nephele-dev/nephele/internal/clock"
	"github.com/nephele-dev/nephele/internal/server"
	"github.com/nephele-dev/nephele/internal/testenv"
)

// desiredIs waits for a group's desired capacity.
func desiredIs(t *testing.T, c *autoscaling.Client, group string, want int32) {
	t.Helper()
	eventually(t, fmt.Sprintf("%s desired %d", group, want), func() error {
		out, err := c.DescribeAutoScalingGroups(context.Background(), &autoscaling.DescribeAutoScalingGroupsInput{AutoScalingGroupNames: []string{group}})
		if err != nil || len(out.AutoScalingGroups) != 1 {
			return fmt.Errorf("%+v, %v", out, err)
		}
		if got := aws.ToInt32(out.AutoScalingGroups[0].DesiredCapacity); got != want {
			return fmt.Errorf("desired %d", got)
		}
		return nil
	})
}

// TestAutoScalingTargetTracking is the story at --time-scale 60: a
// group with a target tracking policy (CPU 50%) whose instances burn CPU
// while a file says so scales out, with the policy's AWS-named alarms in
// CloudWatch, and back in once the load stops.
func TestAutoScalingTargetTracking(t *testing.T) {
	env := testenv.Start(t, server.Config{TimeScale: 60})
	ctx := context.Background()
	ec2c := ec2.NewFromConfig(env.AWSConfig())
	as := autoscaling.NewFromConfig(env.AWSConfig())
	cw := cloudwatch.NewFromConfig(env.AWSConfig())
	dir := t.TempDir()
	burn := filepath.Join(dir, "burn")
	userData := fmt.Sprintf(`#!/bin/sh
while :; do
  if [ -f %s ]; then timeout 1 sh -c 'while :; do :; done'; else sleep 0.2; fi
done &
`, burn)
	_, err := ec2c.CreateLaunchTemplate(ctx, &ec2.CreateLaunchTemplateInput{
		LaunchTemplateName: aws.String("burner"),
		LaunchTemplateData: &ec2types.RequestLaunchTemplateData{
			ImageId: aws.String(templateAMI(t, ec2c)), InstanceType: ec2types.InstanceTypeT2Micro,
			UserData: aws.String(base64.StdEncoding.EncodeToString([]byte(userData))),
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	_, err = as.CreateAutoScalingGroup(ctx, &autoscaling.CreateAutoScalingGroupInput{
		AutoScalingGroupName: aws.String("burners"), MinSize: aws.Int32(1), MaxSize: aws.Int32(3),
		LaunchTemplate:    &astypes.LaunchTemplateSpecification{LaunchTemplateName: aws.String("burner")},
		AvailabilityZones: []string{"us-east-1a"},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		os.Remove(burn)
		as.DeleteAutoScalingGroup(context.Background(), &autoscaling.DeleteAutoScalingGroupInput{AutoScalingGroupName: aws.String("burners"), ForceDelete: aws.Bool(true)})
	})
	pol, err := as.PutScalingPolicy(ctx, &autoscaling.PutScalingPolicyInput{
		AutoScalingGroupName: aws.String("burners"), PolicyName: aws.String("cpu50"), PolicyType: aws.String("TargetTrackingScaling"),
		TargetTrackingConfiguration: &astypes.TargetTrackingConfiguration{TargetValue: aws.Float64(50),
			PredefinedMetricSpecification: &astypes.PredefinedMetricSpecification{PredefinedMetricType: astypes.MetricTypeASGAverageCPUUtilization}},
	})
	if err != nil {
		t.Fatalf("PutScalingPolicy: %v", err)
	}
	if len(pol.Alarms) != 2 {
		t.Fatalf("alarms = %+v", pol.Alarms)
	}
	alarms, err := cw.DescribeAlarms(ctx, &cloudwatch.DescribeAlarmsInput{AlarmNamePrefix: aws.String("TargetTracking-burners-")})
	if err != nil || len(alarms.MetricAlarms) != 2 {
		t.Fatalf("CloudWatch alarms: %+v, %v", alarms, err)
	}
	var high string
	for _, a := range alarms.MetricAlarms {
		name := aws.ToString(a.AlarmName)
		if strings.HasPrefix(name, "TargetTracking-burners-AlarmHigh-") {
			high = name
			if aws.ToFloat64(a.Threshold) != 50 || aws.ToInt32(a.EvaluationPeriods) != 3 || a.AlarmActions[0] != aws.ToString(pol.PolicyARN) {
				t.Errorf("high alarm = %+v", a)
			}
		} else if !strings.HasPrefix(name, "TargetTracking-burners-AlarmLow-") || aws.ToInt32(a.EvaluationPeriods) != 15 {
			t.Errorf("low alarm = %+v", a)
		}
	}
	inService(t, as, "burners", 1)
	if err := os.WriteFile(burn, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	began := time.Now()
	desiredIs(t, as, "burners", 3)
	t.Logf("scaled out to 3 after %v of real time", time.Since(began).Round(time.Millisecond))
	if a, _, err := alarmState(ctx, cw, high); err != nil || a.StateValue != "ALARM" {
		t.Errorf("high alarm: %s, %v", a.StateValue, err)
	}
	os.Remove(burn)
	began = time.Now()
	desiredIs(t, as, "burners", 1)
	t.Logf("scaled in to 1 after %v of real time", time.Since(began).Round(time.Millisecond))
	acts, err := as.DescribeScalingActivities(ctx, &autoscaling.DescribeScalingActivitiesInput{AutoScalingGroupName: aws.String("burners")})
	if err != nil {
		t.Fatal(err)
	}
	var byAlarm bool
	for _, a := range acts.Activities {
		if strings.Contains(aws.ToString(a.Cause), "a monitor alarm TargetTracking-burners-AlarmHigh-") && strings.Contains(aws.ToString(a.Cause), "triggered policy cpu50") {
			byAlarm = true
		}
	}
	if !byAlarm {
		t.Errorf("no activity caused by the high alarm among %d", len(acts.Activities))
	}
	if _, err := as.DeletePolicy(ctx, &autoscaling.DeletePolicyInput{AutoScalingGroupName: aws.String("burners"), PolicyName: aws.String("cpu50")}); err != nil {
		t.Fatal(err)
	}
	left, err := cw.DescribeAlarms(ctx, &cloudwatch.DescribeAlarmsInput{AlarmNamePrefix: aws.String("TargetTracking-burners-")})
	if err != nil || len(left.MetricAlarms) != 0 {
		t.Errorf("alarms after DeletePolicy: %+v, %v", left, err)
	}
}

// TestAutoScalingSimplePolicy: ExecutePolicy of a simple policy changes
// desired capacity; with HonorCooldown a second run inside the cooldown
// does nothing; a policy type's fields on another type are refused.
func TestAutoScalingSimplePolicy(t *testing.T) {
	env := testenv.Start(t, server.Config{})
	ctx := context.Background()
	ec2c := ec2.NewFromConfig(env.AWSConfig())
	as := autoscaling.NewFromConfig(env.AWSConfig())
	groupTemplate(t, ec2c, "simple", t.TempDir())
	_, err := as.CreateAutoScalingGroup(ctx, &autoscaling.CreateAutoScalingGroupInput{
		AutoScalingGroupName: aws.String("simple"), MinSize: aws.Int32(0), MaxSize: aws.Int32(3),
		LaunchTemplate:    &astypes.LaunchTemplateSpecification{LaunchTemplateName: aws.String("simple")},
		AvailabilityZones: []string{"us-east-1a"},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		as.DeleteAutoScalingGroup(context.Background(), &autoscaling.DeleteAutoScalingGroupInput{AutoScalingGroupName: aws.String("simple"), ForceDelete: aws.Bool(true)})
	})
	_, err = as.PutScalingPolicy(ctx, &autoscaling.PutScalingPolicyInput{
		AutoScalingGroupName: aws.String("simple"), PolicyName: aws.String("up"), AdjustmentType: aws.String("ChangeInCapacity"),
		ScalingAdjustment: aws.Int32(1), Cooldown: aws.Int32(600),
	})
	if err != nil {
		t.Fatal(err)
	}
	_, err = as.PutScalingPolicy(ctx, &autoscaling.PutScalingPolicyInput{
		AutoScalingGroupName: aws.String("simple"), PolicyName: aws.String("bad"), PolicyType: aws.String("StepScaling"),
		AdjustmentType: aws.String("ChangeInCapacity"), ScalingAdjustment: aws.Int32(1),
	})
	if apiCode(err) != "ValidationError" {
		t.Errorf("ScalingAdjustment on a step policy: %v", err)
	}
	if _, err := as.ExecutePolicy(ctx, &autoscaling.ExecutePolicyInput{AutoScalingGroupName: aws.String("simple"), PolicyName: aws.String("up")}); err != nil {
		t.Fatal(err)
	}
	desiredIs(t, as, "simple", 1)
	inService(t, as, "simple", 1)
	_, err = as.ExecutePolicy(ctx, &autoscaling.ExecutePolicyInput{AutoScalingGroupName: aws.String("simple"), PolicyName: aws.String("up"), HonorCooldown: aws.Bool(true)})
	if apiCode(err) != "ScalingActivityInProgress" {
		t.Errorf("inside the 600 s cooldown: %v", err)
	}
	desiredIs(t, as, "simple", 1)
	pols, err := as.DescribePolicies(ctx, &autoscaling.DescribePoliciesInput{AutoScalingGroupName: aws.String("simple")})
	if err != nil || len(pols.ScalingPolicies) != 1 || aws.ToString(pols.ScalingPolicies[0].PolicyType) != "SimpleScaling" {
		t.Errorf("DescribePolicies: %+v, %v", pols, err)
	}
}

// TestAutoScalingTargetTrackingCustomMetric: a target tracking policy on a
// customized metric given as metric math (an application's queue depth
// over ten) creates alarms whose Metrics are the queries, and scales the
// group out while the published depth keeps the result above the target.
// A customized metric with both a metric and metric math is refused.
func TestAutoScalingTargetTrackingCustomMetric(t *testing.T) {
	clk := clock.NewScaled(60)
	env := testenv.Start(t, server.Config{Clock: clk, TimeScale: 60})
	ctx := context.Background()
	ec2c := ec2.NewFromConfig(env.AWSConfig())
	as := autoscaling.NewFromConfig(env.AWSConfig())
	cw := cloudwatch.NewFromConfig(env.AWSConfig())
	groupTemplate(t, ec2c, "queue-lt", t.TempDir())
	_, err := as.CreateAutoScalingGroup(ctx, &autoscaling.CreateAutoScalingGroupInput{
		AutoScalingGroupName: aws.String("workers"), MinSize: aws.Int32(1), MaxSize: aws.Int32(2),
		LaunchTemplate:    &astypes.LaunchTemplateSpecification{LaunchTemplateName: aws.String("queue-lt")},
		AvailabilityZones: []string{"us-east-1a"},
	})
	if err != nil {
		t.Fatal(err)
	}
	depth := &astypes.TargetTrackingMetricStat{Stat: aws.String("Average"), Metric: &astypes.Metric{Namespace: aws.String("App"), MetricName: aws.String("QueueDepth"),
		Dimensions: []astypes.MetricDimension{{Name: aws.String("Queue"), Value: aws.String("jobs")}}}}
	_, err = as.PutScalingPolicy(ctx, &autoscaling.PutScalingPolicyInput{
		AutoScalingGroupName: aws.String("workers"), PolicyName: aws.String("bad"), PolicyType: aws.String("TargetTrackingScaling"),
		TargetTrackingConfiguration: &astypes.TargetTrackingConfiguration{TargetValue: aws.Float64(5),
			CustomizedMetricSpecification: &astypes.CustomizedMetricSpecification{Namespace: aws.String("App"), MetricName: aws.String("QueueDepth"), Statistic: astypes.MetricStatisticAverage,
				Metrics: []astypes.TargetTrackingMetricDataQuery{{Id: aws.String("m1"), MetricStat: depth}}}},
	})
	wantASError(t, err, "ValidationError", "A customized metric specification must have either a metric (Namespace, MetricName and Statistic) or Metrics, not both.")
	pol, err := as.PutScalingPolicy(ctx, &autoscaling.PutScalingPolicyInput{
		AutoScalingGroupName: aws.String("workers"), PolicyName: aws.String("backlog"), PolicyType: aws.String("TargetTrackingScaling"),
		TargetTrackingConfiguration: &astypes.TargetTrackingConfiguration{TargetValue: aws.Float64(5), DisableScaleIn: aws.Bool(true),
			CustomizedMetricSpecification: &astypes.CustomizedMetricSpecification{Metrics: []astypes.TargetTrackingMetricDataQuery{
				{Id: aws.String("m1"), MetricStat: depth, ReturnData: aws.Bool(false)},
				{Id: aws.String("e1"), Expression: aws.String("m1 / 10"), Label: aws.String("Backlog per worker"), ReturnData: aws.Bool(true)},
			}}},
	})
	if err != nil {
		t.Fatalf("PutScalingPolicy: %v", err)
	}
	if len(pol.Alarms) != 1 {
		t.Fatalf("alarms = %+v (scale-in disabled: only AlarmHigh)", pol.Alarms)
	}
	alarms, err := cw.DescribeAlarms(ctx, &cloudwatch.DescribeAlarmsInput{AlarmNames: []string{aws.ToString(pol.Alarms[0].AlarmName)}})
	if err != nil || len(alarms.MetricAlarms) != 1 {
		t.Fatalf("CloudWatch alarm: %+v, %v", alarms, err)
	}
	if a := alarms.MetricAlarms[0]; len(a.Metrics) != 2 || aws.ToString(a.Metrics[1].Expression) != "m1 / 10" || aws.ToFloat64(a.Threshold) != 5 {
		t.Fatalf("alarm = %+v", a)
	}
	inService(t, as, "workers", 1)
	// The application reports a depth of 100 (backlog 10 > 5) every
	// simulated 15 s, until the group has scaled out.
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; i < 2000; i++ {
			select {
			case <-stop:
				return
			case <-time.After(250 * time.Millisecond):
			}
			cw.PutMetricData(ctx, &cloudwatch.PutMetricDataInput{Namespace: aws.String("App"), MetricData: []cwtypes.MetricDatum{{
				MetricName: aws.String("QueueDepth"), Value: aws.Float64(100), Timestamp: aws.Time(clk.Now()),
				Dimensions: []cwtypes.Dimension{{Name: aws.String("Queue"), Value: aws.String("jobs")}}}}})
		}
	}()
	defer func() { close(stop); <-done }()
	desiredIs(t, as, "workers", 2)
}

// TestAutoScalingSuspendedAlarmNotification: while AlarmNotification is
// suspended, an alarm's action on a scaling policy does nothing; resumed,
// the next alarm scales.
func TestAutoScalingSuspendedAlarmNotification(t *testing.T) {
	env := testenv.Start(t, server.Config{})
	ctx := context.Background()
	ec2c := ec2.NewFromConfig(env.AWSConfig())
	as := autoscaling.NewFromConfig(env.AWSConfig())
	cw := cloudwatch.NewFromConfig(env.AWSConfig())
	groupTemplate(t, ec2c, "quiet-lt", t.TempDir())
	if _, err := as.CreateAutoScalingGroup(ctx, &autoscaling.CreateAutoScalingGroupInput{
		AutoScalingGroupName: aws.String("quiet"), MinSize: aws.Int32(0), MaxSize: aws.Int32(2), DesiredCapacity: aws.Int32(0),
		LaunchTemplate:    &astypes.LaunchTemplateSpecification{LaunchTemplateName: aws.String("quiet-lt")},
		AvailabilityZones: []string{"us-east-1a"},
	}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		as.DeleteAutoScalingGroup(context.Background(), &autoscaling.DeleteAutoScalingGroupInput{AutoScalingGroupName: aws.String("quiet"), ForceDelete: aws.Bool(true)})
	})
	pol, err := as.PutScalingPolicy(ctx, &autoscaling.PutScalingPolicyInput{AutoScalingGroupName: aws.String("quiet"), PolicyName: aws.String("up"),
		AdjustmentType: aws.String("ChangeInCapacity"), ScalingAdjustment: aws.Int32(1), Cooldown: aws.Int32(0)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cw.PutMetricAlarm(ctx, &cloudwatch.PutMetricAlarmInput{AlarmName: aws.String("quiet-high"), Namespace: aws.String("App"), MetricName: aws.String("Load"),
		Statistic: cwtypes.StatisticAverage, Period: aws.Int32(60), EvaluationPeriods: aws.Int32(1), Threshold: aws.Float64(1),
		ComparisonOperator: cwtypes.ComparisonOperatorGreaterThanThreshold, AlarmActions: []string{aws.ToString(pol.PolicyARN)}}); err != nil {
		t.Fatal(err)
	}
	if _, err := as.SuspendProcesses(ctx, &autoscaling.SuspendProcessesInput{AutoScalingGroupName: aws.String("quiet"), ScalingProcesses: []string{"AlarmNotification"}}); err != nil {
		t.Fatal(err)
	}
	setState := func(state cwtypes.StateValue) {
		t.Helper()
		if _, err := cw.SetAlarmState(ctx, &cloudwatch.SetAlarmStateInput{AlarmName: aws.String("quiet-high"), StateValue: state, StateReason: aws.String("test")}); err != nil {
			t.Fatal(err)
		}
	}
	setState(cwtypes.StateValueAlarm)
	// The action ran (history says so) yet the group did not move.
	eventually(t, "the alarm's action in history", func() error {
		h, err := cw.DescribeAlarmHistory(ctx, &cloudwatch.DescribeAlarmHistoryInput{AlarmName: aws.String("quiet-high"), HistoryItemType: cwtypes.HistoryItemTypeAction})
		if err == nil && len(h.AlarmHistoryItems) == 0 {
			err = fmt.Errorf("no action in history")
		}
		return err
	})
	desiredIs(t, as, "quiet", 0)
	if _, err := as.ResumeProcesses(ctx, &autoscaling.ResumeProcessesInput{AutoScalingGroupName: aws.String("quiet"), ScalingProcesses: []string{"AlarmNotification"}}); err != nil {
		t.Fatal(err)
	}
	setState(cwtypes.StateValueOk)
	setState(cwtypes.StateValueAlarm)
	desiredIs(t, as, "quiet", 1)
}
