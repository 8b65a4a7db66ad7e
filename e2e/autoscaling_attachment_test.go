package e2e

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	astypes "github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/smithy-go"

	"github.com/nephele-dev/nephele/internal/server"
	"github.com/nephele-dev/nephele/internal/testenv"
)

// TestAutoScalingStandbyAndAttachment moves instances in and out of a
// group as the AWS documentation describes: standby with and without
// decrementing desired capacity (a replacement launches when not), exit
// from standby back to InService, detaching (the instance keeps running,
// untagged), attaching an instance run by hand, and the AWS errors of
// each.
func TestAutoScalingStandbyAndAttachment(t *testing.T) {
	env := testenv.Start(t, server.Config{TimeScale: 10})
	ctx := context.Background()
	ec := ec2.NewFromConfig(env.AWSConfig())
	as := autoscaling.NewFromConfig(env.AWSConfig())
	groupTemplate(t, ec, "standby-lt", t.TempDir())
	_, err := as.CreateAutoScalingGroup(ctx, &autoscaling.CreateAutoScalingGroupInput{
		AutoScalingGroupName: aws.String("standby"), MinSize: aws.Int32(1), MaxSize: aws.Int32(3), DesiredCapacity: aws.Int32(2),
		LaunchTemplate:    &astypes.LaunchTemplateSpecification{LaunchTemplateName: aws.String("standby-lt")},
		AvailabilityZones: []string{"us-east-1a"},
	})
	if err != nil {
		t.Fatalf("CreateAutoScalingGroup: %v", err)
	}
	ids := inService(t, as, "standby", 2)

	// Standby, decrementing: desired 2 → 1, nothing launched.
	sb, err := as.EnterStandby(ctx, &autoscaling.EnterStandbyInput{AutoScalingGroupName: aws.String("standby"), InstanceIds: ids[:1], ShouldDecrementDesiredCapacity: aws.Bool(true)})
	if err != nil {
		t.Fatalf("EnterStandby: %v", err)
	}
	if len(sb.Activities) != 1 || !strings.Contains(aws.ToString(sb.Activities[0].Cause), "was moved to standby in response to a user request, shrinking the capacity from 2 to 1.") ||
		aws.ToString(sb.Activities[0].Description) != "Moving EC2 instance to Standby: "+ids[0] {
		t.Fatalf("EnterStandby activity = %+v", sb.Activities)
	}
	eventually(t, "instance in Standby", func() error {
		st := lifecycleStates(ctx, as, "standby")
		if len(st["Standby"]) != 1 || len(st["InService"]) != 1 {
			return fmt.Errorf("states %v", st)
		}
		return nil
	})
	desiredIs(t, as, "standby", 1)
	// A Standby instance keeps running.
	instanceState(t, ec, ids[0], "running")
	// Back in service: desired 1 → 2.
	xs, err := as.ExitStandby(ctx, &autoscaling.ExitStandbyInput{AutoScalingGroupName: aws.String("standby"), InstanceIds: ids[:1]})
	if err != nil {
		t.Fatalf("ExitStandby: %v", err)
	}
	if !strings.Contains(aws.ToString(xs.Activities[0].Cause), "was moved out of standby in response to a user request, increasing the capacity from 1 to 2.") {
		t.Fatalf("ExitStandby cause = %q", aws.ToString(xs.Activities[0].Cause))
	}
	if got := inService(t, as, "standby", 2); got[0] != ids[0] && got[1] != ids[0] {
		t.Fatalf("InService %v does not include %s", got, ids[0])
	}

	// Standby without decrementing: the group launches a replacement.
	if _, err := as.EnterStandby(ctx, &autoscaling.EnterStandbyInput{AutoScalingGroupName: aws.String("standby"), InstanceIds: ids[1:], ShouldDecrementDesiredCapacity: aws.Bool(false)}); err != nil {
		t.Fatalf("EnterStandby: %v", err)
	}
	eventually(t, "replacement InService beside the Standby one", func() error {
		st := lifecycleStates(ctx, as, "standby")
		if len(st["Standby"]) != 1 || len(st["InService"]) != 2 {
			return fmt.Errorf("states %v", st)
		}
		return nil
	})
	// A Standby instance is not InService: ExitStandby of an InService
	// one, EnterStandby of a Standby one, fail as AWS fails them.
	_, err = as.EnterStandby(ctx, &autoscaling.EnterStandbyInput{AutoScalingGroupName: aws.String("standby"), InstanceIds: ids[1:], ShouldDecrementDesiredCapacity: aws.Bool(true)})
	wantASError(t, err, "ValidationError", "The instance "+ids[1]+" is not in InService.")
	_, err = as.ExitStandby(ctx, &autoscaling.ExitStandbyInput{AutoScalingGroupName: aws.String("standby"), InstanceIds: ids[:1]})
	wantASError(t, err, "ValidationError", "The instance "+ids[0]+" is not in Standby.")
	// Exiting would make desired 3, which max allows; a fourth would not.
	if _, err := as.ExitStandby(ctx, &autoscaling.ExitStandbyInput{AutoScalingGroupName: aws.String("standby"), InstanceIds: ids[1:]}); err != nil {
		t.Fatalf("ExitStandby: %v", err)
	}
	members := inService(t, as, "standby", 3)

	// Detach, decrementing: the instance leaves the group and keeps
	// running without the group's tag.
	det, err := as.DetachInstances(ctx, &autoscaling.DetachInstancesInput{AutoScalingGroupName: aws.String("standby"), InstanceIds: members[:1], ShouldDecrementDesiredCapacity: aws.Bool(true)})
	if err != nil {
		t.Fatalf("DetachInstances: %v", err)
	}
	if !strings.Contains(aws.ToString(det.Activities[0].Cause), "was detached in response to a user request, shrinking the capacity from 3 to 2.") {
		t.Fatalf("DetachInstances cause = %q", aws.ToString(det.Activities[0].Cause))
	}
	inService(t, as, "standby", 2)
	desiredIs(t, as, "standby", 2)
	instanceState(t, ec, members[0], "running")
	if tag := groupTagOf(t, ec, members[0]); tag != "" {
		t.Fatalf("detached instance still tagged with group %q", tag)
	}
	_, err = as.DetachInstances(ctx, &autoscaling.DetachInstancesInput{AutoScalingGroupName: aws.String("standby"), InstanceIds: members[:1], ShouldDecrementDesiredCapacity: aws.Bool(true)})
	wantASError(t, err, "ValidationError", "The instance "+members[0]+" is not part of Auto Scaling group standby.")

	// Attach it back: desired 2 → 3, and it is InService and tagged.
	if _, err := as.AttachInstances(ctx, &autoscaling.AttachInstancesInput{AutoScalingGroupName: aws.String("standby"), InstanceIds: members[:1]}); err != nil {
		t.Fatalf("AttachInstances: %v", err)
	}
	desiredIs(t, as, "standby", 3)
	if got := inService(t, as, "standby", 3); !containsID(got, members[0]) {
		t.Fatalf("attached instance %s not InService: %v", members[0], got)
	}
	if tag := groupTagOf(t, ec, members[0]); tag != "standby" {
		t.Fatalf("attached instance tagged with group %q, want standby", tag)
	}
	acts, err := as.DescribeScalingActivities(ctx, &autoscaling.DescribeScalingActivitiesInput{AutoScalingGroupName: aws.String("standby")})
	if err != nil {
		t.Fatal(err)
	}
	if !activityWith(acts.Activities, "Attaching an existing EC2 instance: "+members[0], "Successful") {
		t.Fatalf("no successful attach activity among %d", len(acts.Activities))
	}
	// At max, attaching more fails; an instance of another group, or a
	// stopped one, cannot be attached.
	run, err := ec.RunInstances(ctx, &ec2.RunInstancesInput{ImageId: aws.String(templateAMI(t, ec)), InstanceType: ec2types.InstanceTypeT3Micro, MinCount: aws.Int32(1), MaxCount: aws.Int32(1),
		Placement: &ec2types.Placement{AvailabilityZone: aws.String("us-east-1a")}})
	if err != nil {
		t.Fatal(err)
	}
	loose := aws.ToString(run.Instances[0].InstanceId)
	_, err = as.AttachInstances(ctx, &autoscaling.AttachInstancesInput{AutoScalingGroupName: aws.String("standby"), InstanceIds: []string{loose}})
	wantASError(t, err, "ValidationError", "AutoScalingGroup standby has min-size=1, max-size=3, and desired-size=3. To attach 1 instance, please update the AutoScalingGroup sizes appropriately.")
	_, err = as.EnterStandby(ctx, &autoscaling.EnterStandbyInput{AutoScalingGroupName: aws.String("standby"), InstanceIds: []string{loose}, ShouldDecrementDesiredCapacity: aws.Bool(true)})
	wantASError(t, err, "ValidationError", "The instance "+loose+" is not part of Auto Scaling group standby.")
}

// wantASError fails unless err is an AWS error with code and message.
func wantASError(t *testing.T, err error, code, message string) {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != code || ae.ErrorMessage() != message {
		t.Fatalf("error = %v, want %s: %s", err, code, message)
	}
}

func groupTagOf(t *testing.T, c *ec2.Client, id string) string {
	t.Helper()
	out, err := c.DescribeInstances(context.Background(), &ec2.DescribeInstancesInput{InstanceIds: []string{id}})
	if err != nil {
		t.Fatal(err)
	}
	for _, tag := range out.Reservations[0].Instances[0].Tags {
		if aws.ToString(tag.Key) == "aws:autoscaling:groupName" {
			return aws.ToString(tag.Value)
		}
	}
	return ""
}

func containsID(ids []string, id string) bool {
	for _, x := range ids {
		if x == id {
			return true
		}
	}
	return false
}

func activityWith(acts []astypes.Activity, description, status string) bool {
	for _, a := range acts {
		if aws.ToString(a.Description) == description && string(a.StatusCode) == status {
			return true
		}
	}
	return false
}
