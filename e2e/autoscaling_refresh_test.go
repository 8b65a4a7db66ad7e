package e2e

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	astypes "github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/nephele-dev/nephele/internal/server"
	"github.com/nephele-dev/nephele/internal/testenv"
)

// refreshDone waits for a refresh to reach status and returns it.
func refreshDone(t *testing.T, c *autoscaling.Client, group, id string, status astypes.InstanceRefreshStatus) astypes.InstanceRefresh {
	t.Helper()
	var r astypes.InstanceRefresh
	eventually(t, fmt.Sprintf("refresh %s %s", id, status), func() error {
		out, err := c.DescribeInstanceRefreshes(context.Background(), &autoscaling.DescribeInstanceRefreshesInput{AutoScalingGroupName: aws.String(group), InstanceRefreshIds: []string{id}})
		if err != nil {
			return err
		}
		if len(out.InstanceRefreshes) != 1 {
			return fmt.Errorf("refreshes %d", len(out.InstanceRefreshes))
		}
		r = out.InstanceRefreshes[0]
		if r.Status != status {
			return fmt.Errorf("status %s (%s), %d%%", r.Status, aws.ToString(r.StatusReason), aws.ToInt32(r.PercentageComplete))
		}
		return nil
	})
	return r
}

// templateVersions maps a group's InService instances to their launch
// template versions.
func templateVersions(t *testing.T, c *autoscaling.Client, group string) map[string]string {
	t.Helper()
	out, err := c.DescribeAutoScalingGroups(context.Background(), &autoscaling.DescribeAutoScalingGroupsInput{AutoScalingGroupNames: []string{group}})
	if err != nil {
		t.Fatal(err)
	}
	v := map[string]string{}
	for _, i := range out.AutoScalingGroups[0].Instances {
		if i.LaunchTemplate != nil {
			v[aws.ToString(i.InstanceId)] = aws.ToString(i.LaunchTemplate.Version)
		}
	}
	return v
}

// TestAutoScalingInstanceRefresh: a refresh to a new launch template
// version replaces every instance in batches and the group adopts the
// version; a second refresh with SkipMatching replaces none; one refresh
// at a time; a refresh paused at a checkpoint can be cancelled; a refresh
// rolled back puts the group's own version back on what it replaced.
func TestAutoScalingInstanceRefresh(t *testing.T) {
	env := testenv.Start(t, server.Config{TimeScale: 60})
	ctx := context.Background()
	ec := ec2.NewFromConfig(env.AWSConfig())
	as := autoscaling.NewFromConfig(env.AWSConfig())
	groupTemplate(t, ec, "refresh-lt", t.TempDir())
	newVersion := func() string {
		out, err := ec.CreateLaunchTemplateVersion(ctx, &ec2.CreateLaunchTemplateVersionInput{LaunchTemplateName: aws.String("refresh-lt"), SourceVersion: aws.String("1"),
			LaunchTemplateData: &ec2types.RequestLaunchTemplateData{InstanceType: ec2types.InstanceTypeT3Small}})
		if err != nil {
			t.Fatal(err)
		}
		return fmt.Sprint(aws.ToInt64(out.LaunchTemplateVersion.VersionNumber))
	}
	_, err := as.CreateAutoScalingGroup(ctx, &autoscaling.CreateAutoScalingGroupInput{
		AutoScalingGroupName: aws.String("refresh"), MinSize: aws.Int32(1), MaxSize: aws.Int32(6), DesiredCapacity: aws.Int32(3),
		LaunchTemplate:    &astypes.LaunchTemplateSpecification{LaunchTemplateName: aws.String("refresh-lt"), Version: aws.String("1")},
		AvailabilityZones: []string{"us-east-1a", "us-east-1b"},
	})
	if err != nil {
		t.Fatal(err)
	}
	before := inService(t, as, "refresh", 3)
	v2 := newVersion()
	start, err := as.StartInstanceRefresh(ctx, &autoscaling.StartInstanceRefreshInput{AutoScalingGroupName: aws.String("refresh"),
		DesiredConfiguration: &astypes.DesiredConfiguration{LaunchTemplate: &astypes.LaunchTemplateSpecification{LaunchTemplateName: aws.String("refresh-lt"), Version: aws.String(v2)}},
		Preferences:          &astypes.RefreshPreferences{MinHealthyPercentage: aws.Int32(66), InstanceWarmup: aws.Int32(10)}})
	if err != nil {
		t.Fatalf("StartInstanceRefresh: %v", err)
	}
	_, err = as.StartInstanceRefresh(ctx, &autoscaling.StartInstanceRefreshInput{AutoScalingGroupName: aws.String("refresh")})
	wantASError(t, err, "InstanceRefreshInProgress", "An Instance Refresh is already in progress and blocks the execution of this Instance Refresh.")
	r := refreshDone(t, as, "refresh", aws.ToString(start.InstanceRefreshId), astypes.InstanceRefreshStatusSuccessful)
	if aws.ToInt32(r.PercentageComplete) != 100 || aws.ToInt32(r.Preferences.MaxHealthyPercentage) != 100 || r.EndTime == nil {
		t.Fatalf("refresh = %+v", r)
	}
	after := inService(t, as, "refresh", 3)
	for id, v := range templateVersions(t, as, "refresh") {
		if slices.Contains(before, id) || v != v2 {
			t.Fatalf("after the refresh, %s is on version %s (old instances %v)", id, v, before)
		}
	}
	g, err := as.DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{AutoScalingGroupNames: []string{"refresh"}})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(g.AutoScalingGroups[0].LaunchTemplate.Version) != v2 {
		t.Fatalf("group's template version = %s, want %s", aws.ToString(g.AutoScalingGroups[0].LaunchTemplate.Version), v2)
	}

	// SkipMatching: everything already matches, nothing is replaced.
	skip, err := as.StartInstanceRefresh(ctx, &autoscaling.StartInstanceRefreshInput{AutoScalingGroupName: aws.String("refresh"),
		Preferences: &astypes.RefreshPreferences{SkipMatching: aws.Bool(true)}})
	if err != nil {
		t.Fatal(err)
	}
	refreshDone(t, as, "refresh", aws.ToString(skip.InstanceRefreshId), astypes.InstanceRefreshStatusSuccessful)
	if got := inService(t, as, "refresh", 3); !slices.Equal(got, after) {
		t.Fatalf("SkipMatching replaced instances: %v → %v", after, got)
	}

	// A checkpoint pauses the refresh; cancelling ends it there.
	v3 := newVersion()
	cp, err := as.StartInstanceRefresh(ctx, &autoscaling.StartInstanceRefreshInput{AutoScalingGroupName: aws.String("refresh"),
		DesiredConfiguration: &astypes.DesiredConfiguration{LaunchTemplate: &astypes.LaunchTemplateSpecification{LaunchTemplateName: aws.String("refresh-lt"), Version: aws.String(v3)}},
		Preferences: &astypes.RefreshPreferences{MinHealthyPercentage: aws.Int32(66), InstanceWarmup: aws.Int32(10),
			CheckpointPercentages: []int32{33, 100}, CheckpointDelay: aws.Int32(3600)}})
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, "refresh waiting at its checkpoint", func() error {
		out, err := as.DescribeInstanceRefreshes(ctx, &autoscaling.DescribeInstanceRefreshesInput{AutoScalingGroupName: aws.String("refresh"), InstanceRefreshIds: []string{aws.ToString(cp.InstanceRefreshId)}})
		if err != nil {
			return err
		}
		r := out.InstanceRefreshes[0]
		if aws.ToInt32(r.PercentageComplete) != 33 || r.Status != astypes.InstanceRefreshStatusInProgress || len(aws.ToString(r.StatusReason)) < 30 || aws.ToString(r.StatusReason)[:30] != "Waiting for the checkpoint del" {
			return fmt.Errorf("%s %d%% %q", r.Status, aws.ToInt32(r.PercentageComplete), aws.ToString(r.StatusReason))
		}
		return nil
	})
	// Rolled back at the checkpoint: the one replaced instance is
	// replaced again with the group's version.
	if _, err := as.RollbackInstanceRefresh(ctx, &autoscaling.RollbackInstanceRefreshInput{AutoScalingGroupName: aws.String("refresh")}); err != nil {
		t.Fatalf("RollbackInstanceRefresh: %v", err)
	}
	r = refreshDone(t, as, "refresh", aws.ToString(cp.InstanceRefreshId), astypes.InstanceRefreshStatusRollbackSuccessful)
	if r.RollbackDetails == nil || aws.ToInt32(r.RollbackDetails.PercentageCompleteOnRollback) != 100 {
		t.Fatalf("rollback details = %+v", r.RollbackDetails)
	}
	inService(t, as, "refresh", 3)
	for id, v := range templateVersions(t, as, "refresh") {
		if v != v2 {
			t.Fatalf("after the rollback, %s is on version %s, want %s", id, v, v2)
		}
	}
	_, err = as.CancelInstanceRefresh(ctx, &autoscaling.CancelInstanceRefreshInput{AutoScalingGroupName: aws.String("refresh")})
	wantASError(t, err, "ActiveInstanceRefreshNotFound", "No in progress or pending Instance Refresh found for Auto Scaling group refresh")
	// Cancelled while paused.
	c2, err := as.StartInstanceRefresh(ctx, &autoscaling.StartInstanceRefreshInput{AutoScalingGroupName: aws.String("refresh"),
		Preferences: &astypes.RefreshPreferences{MinHealthyPercentage: aws.Int32(66), InstanceWarmup: aws.Int32(10), CheckpointPercentages: []int32{33}, CheckpointDelay: aws.Int32(3600)}})
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, "second refresh at its checkpoint", func() error {
		out, err := as.DescribeInstanceRefreshes(ctx, &autoscaling.DescribeInstanceRefreshesInput{AutoScalingGroupName: aws.String("refresh"), InstanceRefreshIds: []string{aws.ToString(c2.InstanceRefreshId)}})
		if err != nil {
			return err
		}
		if p := aws.ToInt32(out.InstanceRefreshes[0].PercentageComplete); p != 33 {
			return fmt.Errorf("%d%%", p)
		}
		return nil
	})
	// A refresh without a desired configuration cannot be rolled back.
	_, err = as.RollbackInstanceRefresh(ctx, &autoscaling.RollbackInstanceRefreshInput{AutoScalingGroupName: aws.String("refresh")})
	wantASError(t, err, "IrreversibleInstanceRefresh", "The instance refresh can't be rolled back because it was started without a desired configuration.")
	if _, err := as.CancelInstanceRefresh(ctx, &autoscaling.CancelInstanceRefreshInput{AutoScalingGroupName: aws.String("refresh")}); err != nil {
		t.Fatal(err)
	}
	refreshDone(t, as, "refresh", aws.ToString(c2.InstanceRefreshId), astypes.InstanceRefreshStatusCancelled)
	// An alarm of the AlarmSpecification in ALARM rolls the refresh back
	// (AutoRollback): here one that breaches on missing data.
	cw := cloudwatch.NewFromConfig(env.AWSConfig())
	if _, err := cw.PutMetricAlarm(ctx, &cloudwatch.PutMetricAlarmInput{AlarmName: aws.String("refresh-guard"), Namespace: aws.String("App"),
		MetricName: aws.String("Errors"), Statistic: cwtypes.StatisticSum, Period: aws.Int32(60), EvaluationPeriods: aws.Int32(1),
		Threshold: aws.Float64(1), ComparisonOperator: cwtypes.ComparisonOperatorGreaterThanThreshold, TreatMissingData: aws.String("breaching")}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "guard alarm in ALARM", func() error {
		a, _, err := alarmState(ctx, cw, "refresh-guard")
		if err == nil && a.StateValue != "ALARM" {
			err = fmt.Errorf("state %s", a.StateValue)
		}
		return err
	})
	guarded, err := as.StartInstanceRefresh(ctx, &autoscaling.StartInstanceRefreshInput{AutoScalingGroupName: aws.String("refresh"),
		DesiredConfiguration: &astypes.DesiredConfiguration{LaunchTemplate: &astypes.LaunchTemplateSpecification{LaunchTemplateName: aws.String("refresh-lt"), Version: aws.String(v3)}},
		Preferences:          &astypes.RefreshPreferences{AutoRollback: aws.Bool(true), AlarmSpecification: &astypes.AlarmSpecification{Alarms: []string{"refresh-guard"}}}})
	if err != nil {
		t.Fatal(err)
	}
	r = refreshDone(t, as, "refresh", aws.ToString(guarded.InstanceRefreshId), astypes.InstanceRefreshStatusRollbackSuccessful)
	if r.RollbackDetails == nil || !strings.Contains(aws.ToString(r.RollbackDetails.RollbackReason), "alarm refresh-guard went into ALARM state") {
		t.Fatalf("rollback details = %+v", r.RollbackDetails)
	}
	for id, v := range templateVersions(t, as, "refresh") {
		if v != v2 {
			t.Fatalf("after the alarm's rollback, %s is on version %s, want %s", id, v, v2)
		}
	}
	all, err := as.DescribeInstanceRefreshes(ctx, &autoscaling.DescribeInstanceRefreshesInput{AutoScalingGroupName: aws.String("refresh")})
	if err != nil {
		t.Fatal(err)
	}
	if len(all.InstanceRefreshes) != 5 || aws.ToString(all.InstanceRefreshes[0].InstanceRefreshId) != aws.ToString(guarded.InstanceRefreshId) {
		t.Fatalf("DescribeInstanceRefreshes lists %d, newest %s", len(all.InstanceRefreshes), aws.ToString(all.InstanceRefreshes[0].InstanceRefreshId))
	}
}
