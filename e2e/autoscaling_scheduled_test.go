package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	astypes "github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"

	"github.com/nephele-dev/nephele/internal/clock"
	"github.com/nephele-dev/nephele/internal/server"
	"github.com/nephele-dev/nephele/internal/testenv"
)

// stepUntil advances a fake clock step by step, giving the controllers a
// moment of real time to act after each step, until check passes; it
// fails the test after 60 s of real time.
func stepUntil(t *testing.T, clk *clock.Fake, step time.Duration, what string, check func() error) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		err := check()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %v (clock at %s)", what, err, clk.Now().Format(time.RFC3339))
		}
		clk.Advance(step)
		time.Sleep(20 * time.Millisecond)
	}
}

// groupState is a group's desired capacity and healthy InService count.
func groupState(ctx context.Context, c *autoscaling.Client, group string) (desired int32, inService int, err error) {
	out, err := c.DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{AutoScalingGroupNames: []string{group}})
	if err != nil || len(out.AutoScalingGroups) != 1 {
		return 0, 0, fmt.Errorf("%+v, %v", out, err)
	}
	g := out.AutoScalingGroups[0]
	for _, i := range g.Instances {
		if i.LifecycleState == astypes.LifecycleStateInService && aws.ToString(i.HealthStatus) == "Healthy" {
			inService++
		}
	}
	return aws.ToInt32(g.DesiredCapacity), inService, nil
}

// TestAutoScalingScheduledAction is the scheduled scaling story on a fake
// clock: a recurring action at 09:00 Paris time raises a group's desired
// capacity when the clock passes 09:00 in Paris (08:00Z in November), the
// group launches the instances, and their activities say why in AWS's
// words. The aws CLI sees the action, and a recurrence that is not cron is
// a ValidationError.
func TestAutoScalingScheduledAction(t *testing.T) {
	clk := clock.NewFake(time.Date(2026, 11, 23, 6, 0, 0, 0, time.UTC))
	env := testenv.Start(t, server.Config{Clock: clk})
	ctx := context.Background()
	ec2c := ec2.NewFromConfig(env.AWSConfig())
	as := autoscaling.NewFromConfig(env.AWSConfig())
	groupTemplate(t, ec2c, "office", t.TempDir())
	_, err := as.CreateAutoScalingGroup(ctx, &autoscaling.CreateAutoScalingGroupInput{
		AutoScalingGroupName: aws.String("office"), MinSize: aws.Int32(1), MaxSize: aws.Int32(4),
		LaunchTemplate:    &astypes.LaunchTemplateSpecification{LaunchTemplateName: aws.String("office")},
		AvailabilityZones: []string{"us-east-1a"},
	})
	if err != nil {
		t.Fatalf("CreateAutoScalingGroup: %v", err)
	}
	t.Cleanup(func() {
		as.DeleteAutoScalingGroup(context.Background(), &autoscaling.DeleteAutoScalingGroupInput{AutoScalingGroupName: aws.String("office"), ForceDelete: aws.Bool(true)})
	})
	stepUntil(t, clk, time.Second, "1 InService", func() error {
		if d, n, err := groupState(ctx, as, "office"); err != nil || d != 1 || n != 1 {
			return fmt.Errorf("desired %d, InService %d, %v", d, n, err)
		}
		return nil
	})

	_, err = as.PutScheduledUpdateGroupAction(ctx, &autoscaling.PutScheduledUpdateGroupActionInput{
		AutoScalingGroupName: aws.String("office"), ScheduledActionName: aws.String("office-hours"),
		Recurrence: aws.String("0 9 * * *"), TimeZone: aws.String("Europe/Paris"), DesiredCapacity: aws.Int32(3),
	})
	if err != nil {
		t.Fatalf("PutScheduledUpdateGroupAction: %v", err)
	}
	out, err := env.CLI(t, "autoscaling", "describe-scheduled-actions", "--auto-scaling-group-name", "office")
	if err != nil {
		t.Fatal(err)
	}
	var desc struct {
		ScheduledUpdateGroupActions []struct {
			ScheduledActionName, ScheduledActionARN, StartTime, Recurrence, TimeZone string
			DesiredCapacity                                                          int
		}
	}
	if err := json.Unmarshal([]byte(out), &desc); err != nil || len(desc.ScheduledUpdateGroupActions) != 1 {
		t.Fatalf("describe-scheduled-actions: %v\n%s", err, out)
	}
	a := desc.ScheduledUpdateGroupActions[0]
	if !strings.HasPrefix(a.ScheduledActionARN, "arn:aws:autoscaling:us-east-1:") || !strings.HasSuffix(a.ScheduledActionARN, ":autoScalingGroupName/office:scheduledActionName/office-hours") ||
		!strings.HasPrefix(a.StartTime, "2026-11-23T08:00:00") || a.TimeZone != "Europe/Paris" || a.DesiredCapacity != 3 {
		t.Errorf("action = %+v, want the next run at 09:00 Paris (08:00Z)", a)
	}

	// A second before 09:00 in Paris nothing has happened.
	clk.Set(time.Date(2026, 11, 23, 7, 59, 59, 0, time.UTC))
	time.Sleep(100 * time.Millisecond)
	if d, _, err := groupState(ctx, as, "office"); err != nil || d != 1 {
		t.Fatalf("before 09:00 Paris: desired %d, %v", d, err)
	}
	stepUntil(t, clk, 250*time.Millisecond, "3 InService after 09:00 Paris", func() error {
		if d, n, err := groupState(ctx, as, "office"); err != nil || d != 3 || n != 3 {
			return fmt.Errorf("desired %d, InService %d, %v", d, n, err)
		}
		return nil
	})
	acts, err := as.DescribeScalingActivities(ctx, &autoscaling.DescribeScalingActivitiesInput{AutoScalingGroupName: aws.String("office")})
	if err != nil {
		t.Fatal(err)
	}
	why := "At 2026-11-23T08:00:00Z a scheduled action update of AutoScalingGroup constraints to min: 1, max: 4, desired: 3 changing the desired capacity from 1 to 3."
	launched := 0
	for _, a := range acts.Activities {
		if strings.HasPrefix(aws.ToString(a.Description), "Launching a new EC2 instance: ") && strings.HasPrefix(aws.ToString(a.Cause), why) {
			launched++
		}
	}
	if launched != 2 {
		for _, a := range acts.Activities {
			t.Logf("%s | %s | %s", a.StatusCode, aws.ToString(a.Description), aws.ToString(a.Cause))
		}
		t.Errorf("%d launches caused by the scheduled action, want 2", launched)
	}
	next, err := as.DescribeScheduledActions(ctx, &autoscaling.DescribeScheduledActionsInput{AutoScalingGroupName: aws.String("office")})
	if err != nil || len(next.ScheduledUpdateGroupActions) != 1 || !aws.ToTime(next.ScheduledUpdateGroupActions[0].StartTime).Equal(time.Date(2026, 11, 24, 8, 0, 0, 0, time.UTC)) {
		t.Errorf("after the run, the recurring action waits for tomorrow: %+v, %v", next, err)
	}

	_, err = env.CLI(t, "autoscaling", "put-scheduled-update-group-action", "--auto-scaling-group-name", "office",
		"--scheduled-action-name", "typo", "--recurrence", "0 9 * *", "--desired-capacity", "2")
	if err == nil || !strings.Contains(err.Error(), "ValidationError") {
		t.Errorf("a four-field recurrence: %v, want ValidationError", err)
	}
	_, err = env.CLI(t, "autoscaling", "put-scheduled-update-group-action", "--auto-scaling-group-name", "office",
		"--scheduled-action-name", "late", "--start-time", "2026-11-23T07:00:00Z", "--desired-capacity", "2")
	if err == nil || !strings.Contains(err.Error(), "Given start time is in the past") {
		t.Errorf("a start time in the past: %v", err)
	}
}
