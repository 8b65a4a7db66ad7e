package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	astypes "github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/nephele-dev/nephele/internal/server"
	"github.com/nephele-dev/nephele/internal/testenv"
)

// lifecycleStates lists a group's instances by lifecycle state.
func lifecycleStates(ctx context.Context, c *autoscaling.Client, group string) map[string][]string {
	out, err := c.DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{AutoScalingGroupNames: []string{group}})
	states := map[string][]string{}
	if err != nil || len(out.AutoScalingGroups) != 1 {
		return states
	}
	for _, i := range out.AutoScalingGroups[0].Instances {
		states[string(i.LifecycleState)] = append(states[string(i.LifecycleState)], aws.ToString(i.InstanceId))
	}
	return states
}

// TestAutoScalingLifecycleHooks: a launch hook holds a new instance in
// Pending:Wait until complete-lifecycle-action CONTINUE puts it in service;
// a termination hook holds a scaled-in instance in Terminating:Wait until
// completed, and only then is it terminated.
func TestAutoScalingLifecycleHooks(t *testing.T) {
	env := testenv.Start(t, server.Config{})
	ctx := context.Background()
	ec2c := ec2.NewFromConfig(env.AWSConfig())
	as := autoscaling.NewFromConfig(env.AWSConfig())
	dir := t.TempDir()
	groupTemplate(t, ec2c, "hooked", dir)
	// targetState is what the instance's metadata says it is heading for.
	targetState := func(id string) string {
		var state string
		eventually(t, id+" target-lifecycle-state", func() error {
			b, err := os.ReadFile(filepath.Join(dir, id+".imds"))
			if err != nil {
				return err
			}
			code, body, err := imdsGet(strings.TrimSpace(string(b)), "autoscaling/target-lifecycle-state")
			if err == nil && code != 200 {
				err = fmt.Errorf("HTTP %d", code)
			}
			state = body
			return err
		})
		return state
	}
	_, err := as.CreateAutoScalingGroup(ctx, &autoscaling.CreateAutoScalingGroupInput{
		AutoScalingGroupName: aws.String("hooked"), MinSize: aws.Int32(0), MaxSize: aws.Int32(2), DesiredCapacity: aws.Int32(1),
		LaunchTemplate:    &astypes.LaunchTemplateSpecification{LaunchTemplateName: aws.String("hooked")},
		AvailabilityZones: []string{"us-east-1a"},
		LifecycleHookSpecificationList: []astypes.LifecycleHookSpecification{{
			LifecycleHookName: aws.String("warm-up"), LifecycleTransition: aws.String("autoscaling:EC2_INSTANCE_LAUNCHING"), HeartbeatTimeout: aws.Int32(600),
		}},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		as.DeleteAutoScalingGroup(context.Background(), &autoscaling.DeleteAutoScalingGroupInput{AutoScalingGroupName: aws.String("hooked"), ForceDelete: aws.Bool(true)})
	})
	var id string
	eventually(t, "an instance in Pending:Wait", func() error {
		w := lifecycleStates(ctx, as, "hooked")["Pending:Wait"]
		if len(w) != 1 {
			return fmt.Errorf("states %v", lifecycleStates(ctx, as, "hooked"))
		}
		id = w[0]
		return nil
	})
	// It stays there: the heartbeat is ten minutes.
	time.Sleep(300 * time.Millisecond)
	if w := lifecycleStates(ctx, as, "hooked")["Pending:Wait"]; len(w) != 1 {
		t.Fatalf("the hook let go early: %v", lifecycleStates(ctx, as, "hooked"))
	}
	if got := targetState(id); got != "InService" {
		t.Errorf("target-lifecycle-state in Pending:Wait = %q, want InService", got)
	}
	hooks, err := as.DescribeLifecycleHooks(ctx, &autoscaling.DescribeLifecycleHooksInput{AutoScalingGroupName: aws.String("hooked")})
	if err != nil || len(hooks.LifecycleHooks) != 1 || aws.ToString(hooks.LifecycleHooks[0].DefaultResult) != "ABANDON" || aws.ToInt32(hooks.LifecycleHooks[0].GlobalTimeout) != 60000 {
		t.Errorf("DescribeLifecycleHooks: %+v, %v", hooks, err)
	}
	if _, err := as.RecordLifecycleActionHeartbeat(ctx, &autoscaling.RecordLifecycleActionHeartbeatInput{
		AutoScalingGroupName: aws.String("hooked"), LifecycleHookName: aws.String("warm-up"), InstanceId: aws.String(id)}); err != nil {
		t.Errorf("heartbeat: %v", err)
	}
	if _, err := as.CompleteLifecycleAction(ctx, &autoscaling.CompleteLifecycleActionInput{
		AutoScalingGroupName: aws.String("hooked"), LifecycleHookName: aws.String("warm-up"), InstanceId: aws.String(id), LifecycleActionResult: aws.String("CONTINUE")}); err != nil {
		t.Fatal(err)
	}
	if got := inService(t, as, "hooked", 1); got[0] != id {
		t.Errorf("InService %v, want %s", got, id)
	}
	_, err = as.CompleteLifecycleAction(ctx, &autoscaling.CompleteLifecycleActionInput{
		AutoScalingGroupName: aws.String("hooked"), LifecycleHookName: aws.String("warm-up"), InstanceId: aws.String(id), LifecycleActionResult: aws.String("CONTINUE")})
	if apiCode(err) != "ValidationError" {
		t.Errorf("completing again: %v", err)
	}

	if _, err := as.PutLifecycleHook(ctx, &autoscaling.PutLifecycleHookInput{AutoScalingGroupName: aws.String("hooked"), LifecycleHookName: aws.String("drain"),
		LifecycleTransition: aws.String("autoscaling:EC2_INSTANCE_TERMINATING"), HeartbeatTimeout: aws.Int32(600), DefaultResult: aws.String("CONTINUE")}); err != nil {
		t.Fatal(err)
	}
	if _, err := as.SetDesiredCapacity(ctx, &autoscaling.SetDesiredCapacityInput{AutoScalingGroupName: aws.String("hooked"), DesiredCapacity: aws.Int32(0)}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "Terminating:Wait", func() error {
		if w := lifecycleStates(ctx, as, "hooked")["Terminating:Wait"]; len(w) != 1 {
			return fmt.Errorf("states %v", lifecycleStates(ctx, as, "hooked"))
		}
		return nil
	})
	if st := instanceState(t, ec2c, id, "running"); st.State == nil {
		t.Fatal("no state")
	}
	if got := targetState(id); got != "Terminated" {
		t.Errorf("target-lifecycle-state in Terminating:Wait = %q, want Terminated", got)
	}
	if _, err := as.CompleteLifecycleAction(ctx, &autoscaling.CompleteLifecycleActionInput{
		AutoScalingGroupName: aws.String("hooked"), LifecycleHookName: aws.String("drain"), InstanceId: aws.String(id), LifecycleActionResult: aws.String("CONTINUE")}); err != nil {
		t.Fatal(err)
	}
	instanceState(t, ec2c, id, "terminated")
}

// TestAutoScalingHookNotifiesLambda: a launch hook whose notification
// target is a Lambda function sends it a test notification when put, and
// the lifecycle message when an instance waits; the function completes
// the action with boto3 against nephele, and the instance goes InService.
// A target nephele cannot publish to (SQS) is refused.
func TestAutoScalingHookNotifiesLambda(t *testing.T) {
	env, lc := startLambda(t, 10)
	ctx := context.Background()
	ec := ec2.NewFromConfig(env.AWSConfig())
	as := autoscaling.NewFromConfig(env.AWSConfig())
	out := t.TempDir()
	fn := createPython(t, lc, "hook-handler", `import json, os
import boto3

def handler(event, context):
    kind = event.get("Event") or event.get("LifecycleTransition", "unknown")
    with open(os.path.join(os.environ["OUT"], kind.replace(":", "_") + ".json"), "a") as f:
        f.write(json.dumps(event) + "\n")
    if "LifecycleActionToken" in event:
        boto3.client("autoscaling").complete_lifecycle_action(
            AutoScalingGroupName=event["AutoScalingGroupName"], LifecycleHookName=event["LifecycleHookName"],
            LifecycleActionToken=event["LifecycleActionToken"], LifecycleActionResult="CONTINUE")
`, 60, func(in *lambda.CreateFunctionInput) {
		in.Environment = &lambdatypes.Environment{Variables: map[string]string{"OUT": out}}
	})
	groupTemplate(t, ec, "notify-lt", t.TempDir())
	_, err := as.CreateAutoScalingGroup(ctx, &autoscaling.CreateAutoScalingGroupInput{
		AutoScalingGroupName: aws.String("notify"), MinSize: aws.Int32(0), MaxSize: aws.Int32(1), DesiredCapacity: aws.Int32(0),
		LaunchTemplate:    &astypes.LaunchTemplateSpecification{LaunchTemplateName: aws.String("notify-lt")},
		AvailabilityZones: []string{"us-east-1a"},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		as.DeleteAutoScalingGroup(context.Background(), &autoscaling.DeleteAutoScalingGroupInput{AutoScalingGroupName: aws.String("notify"), ForceDelete: aws.Bool(true)})
	})
	_, err = as.PutLifecycleHook(ctx, &autoscaling.PutLifecycleHookInput{AutoScalingGroupName: aws.String("notify"), LifecycleHookName: aws.String("to-sqs"),
		LifecycleTransition: aws.String("autoscaling:EC2_INSTANCE_LAUNCHING"), NotificationTargetARN: aws.String("arn:aws:sqs:us-east-1:000000000000:hooks"),
		RoleARN: aws.String("arn:aws:iam::000000000000:role/hooks")})
	wantASError(t, err, "ValidationError", "Unable to publish test message to notification target arn:aws:sqs:us-east-1:000000000000:hooks using IAM role arn:aws:iam::000000000000:role/hooks. Please check your target and role configuration and try again.")
	if _, err := as.PutLifecycleHook(ctx, &autoscaling.PutLifecycleHookInput{AutoScalingGroupName: aws.String("notify"), LifecycleHookName: aws.String("boot"),
		LifecycleTransition: aws.String("autoscaling:EC2_INSTANCE_LAUNCHING"), HeartbeatTimeout: aws.Int32(3600),
		NotificationTargetARN: fn.FunctionArn, NotificationMetadata: aws.String(`{"team":"web"}`)}); err != nil {
		t.Fatal(err)
	}
	test := readLines(t, filepath.Join(out, "autoscaling_TEST_NOTIFICATION.json"), 1, 30*time.Second)
	if !strings.Contains(test[0], `"LifecycleHookName": "boot"`) {
		t.Fatalf("test notification = %s", test[0])
	}
	if _, err := as.SetDesiredCapacity(ctx, &autoscaling.SetDesiredCapacityInput{AutoScalingGroupName: aws.String("notify"), DesiredCapacity: aws.Int32(1)}); err != nil {
		t.Fatal(err)
	}
	// Only the function's CompleteLifecycleAction can end the hour-long
	// wait this quickly.
	ids := inService(t, as, "notify", 1)
	msg := readLines(t, filepath.Join(out, "autoscaling_EC2_INSTANCE_LAUNCHING.json"), 1, 30*time.Second)
	var m map[string]string
	if err := json.Unmarshal([]byte(msg[0]), &m); err != nil {
		t.Fatal(err)
	}
	if m["EC2InstanceId"] != ids[0] || m["Origin"] != "EC2" || m["Destination"] != "AutoScalingGroup" || m["NotificationMetadata"] != `{"team":"web"}` ||
		m["LifecycleActionToken"] == "" || m["Service"] != "AWS Auto Scaling" {
		t.Fatalf("lifecycle message = %v", m)
	}
}
