package e2e

import (
	"context"
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	astypes "github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/nephele-dev/nephele/internal/server"
	"github.com/nephele-dev/nephele/internal/testenv"
)

// groupTemplate creates a launch template whose user-data records the
// instance's metadata endpoint and init PID in dir, in files named after
// the instance.
func groupTemplate(t *testing.T, c *ec2.Client, name, dir string) {
	t.Helper()
	userData := fmt.Sprintf("#!/bin/sh\nID=$(basename $(dirname \"$INSTANCE_ROOT\"))\necho $AWS_EC2_METADATA_SERVICE_ENDPOINT > %[1]s/$ID.imds\necho $PPID > %[1]s/$ID.pid\n", dir)
	_, err := c.CreateLaunchTemplate(context.Background(), &ec2.CreateLaunchTemplateInput{
		LaunchTemplateName: aws.String(name),
		LaunchTemplateData: &ec2types.RequestLaunchTemplateData{
			ImageId: aws.String(templateAMI(t, c)), InstanceType: ec2types.InstanceTypeT3Micro,
			UserData: aws.String(base64.StdEncoding.EncodeToString([]byte(userData))),
		},
	})
	if err != nil {
		t.Fatalf("CreateLaunchTemplate: %v", err)
	}
}

// inService waits for a group to have exactly n InService instances and
// no others, and returns their IDs.
func inService(t *testing.T, c *autoscaling.Client, group string, n int) []string {
	t.Helper()
	var ids []string
	eventually(t, fmt.Sprintf("%s with %d InService", group, n), func() error {
		out, err := c.DescribeAutoScalingGroups(context.Background(), &autoscaling.DescribeAutoScalingGroupsInput{AutoScalingGroupNames: []string{group}})
		if err != nil {
			return err
		}
		if len(out.AutoScalingGroups) != 1 {
			return fmt.Errorf("groups = %d", len(out.AutoScalingGroups))
		}
		ids = ids[:0]
		var states []string
		for _, i := range out.AutoScalingGroups[0].Instances {
			states = append(states, aws.ToString(i.InstanceId)+":"+string(i.LifecycleState)+":"+aws.ToString(i.HealthStatus))
			if string(i.LifecycleState) == "InService" && aws.ToString(i.HealthStatus) == "Healthy" {
				ids = append(ids, aws.ToString(i.InstanceId))
			}
		}
		if len(ids) != n || len(states) != n {
			return fmt.Errorf("instances %v", states)
		}
		return nil
	})
	slices.Sort(ids)
	return ids
}

// TestAutoScalingGroupKeepsCapacity is the group story: a group launches
// its desired capacity across two zones from a launch template; an
// instance whose process is killed with SIGKILL fails its status check,
// and the group replaces it, with the activities to show it; desired
// capacity moves both ways; ForceDelete terminates everything.
func TestAutoScalingGroupKeepsCapacity(t *testing.T) {
	env := testenv.Start(t, server.Config{TimeScale: 10})
	ctx := context.Background()
	ec2c := ec2.NewFromConfig(env.AWSConfig())
	as := autoscaling.NewFromConfig(env.AWSConfig())
	dir := t.TempDir()
	groupTemplate(t, ec2c, "web", dir)

	_, err := as.CreateAutoScalingGroup(ctx, &autoscaling.CreateAutoScalingGroupInput{
		AutoScalingGroupName: aws.String("web"), MinSize: aws.Int32(1), MaxSize: aws.Int32(4), DesiredCapacity: aws.Int32(2),
		LaunchTemplate:    &astypes.LaunchTemplateSpecification{LaunchTemplateName: aws.String("web"), Version: aws.String("$Latest")},
		AvailabilityZones: []string{"us-east-1a", "us-east-1b"},
		Tags:              []astypes.Tag{{Key: aws.String("team"), Value: aws.String("web"), PropagateAtLaunch: aws.Bool(true)}},
	})
	if err != nil {
		t.Fatalf("CreateAutoScalingGroup: %v", err)
	}
	t.Cleanup(func() {
		as.DeleteAutoScalingGroup(context.Background(), &autoscaling.DeleteAutoScalingGroupInput{AutoScalingGroupName: aws.String("web"), ForceDelete: aws.Bool(true)})
	})
	ids := inService(t, as, "web", 2)
	desc, err := ec2c.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: ids})
	if err != nil {
		t.Fatal(err)
	}
	zones := map[string]bool{}
	for _, r := range desc.Reservations {
		for _, i := range r.Instances {
			zones[aws.ToString(i.Placement.AvailabilityZone)] = true
			tags := map[string]string{}
			for _, tg := range i.Tags {
				tags[aws.ToString(tg.Key)] = aws.ToString(tg.Value)
			}
			if tags["aws:autoscaling:groupName"] != "web" || tags["team"] != "web" {
				t.Errorf("instance %s tags = %v", aws.ToString(i.InstanceId), tags)
			}
		}
	}
	if len(zones) != 2 {
		t.Errorf("instances in zones %v, want both", zones)
	}

	// Kill one instance's init: it is impaired, replaced.
	victim := ids[0]
	var pid int
	eventually(t, "the victim's PID", func() error {
		b, err := os.ReadFile(filepath.Join(dir, victim+".pid"))
		if err != nil {
			return err
		}
		pid, err = strconv.Atoi(strings.TrimSpace(string(b)))
		return err
	})
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatalf("kill -9 %d: %v", pid, err)
	}
	eventually(t, "the victim replaced", func() error {
		now := inServiceNow(ctx, as, "web")
		if len(now) != 2 || slices.Contains(now, victim) {
			return fmt.Errorf("InService %v", now)
		}
		return nil
	})
	acts, err := as.DescribeScalingActivities(ctx, &autoscaling.DescribeScalingActivitiesInput{AutoScalingGroupName: aws.String("web")})
	if err != nil {
		t.Fatal(err)
	}
	var sawTerminate, sawReplace bool
	for _, a := range acts.Activities {
		d, cause := aws.ToString(a.Description), aws.ToString(a.Cause)
		if d == "Terminating EC2 instance: "+victim && strings.Contains(cause, "in response to an EC2 instance status checks failure") {
			sawTerminate = true
		}
		if strings.HasPrefix(d, "Launching a new EC2 instance: ") && strings.Contains(cause, "increasing the capacity from 1 to 2") {
			sawReplace = true
		}
	}
	if !sawTerminate || !sawReplace {
		for _, a := range acts.Activities {
			t.Logf("%s | %s | %s", a.StatusCode, aws.ToString(a.Description), aws.ToString(a.Cause))
		}
		t.Errorf("activities: terminate %v, replacement %v", sawTerminate, sawReplace)
	}

	if _, err := as.SetDesiredCapacity(ctx, &autoscaling.SetDesiredCapacityInput{AutoScalingGroupName: aws.String("web"), DesiredCapacity: aws.Int32(3)}); err != nil {
		t.Fatal(err)
	}
	inService(t, as, "web", 3)
	if _, err := as.SetDesiredCapacity(ctx, &autoscaling.SetDesiredCapacityInput{AutoScalingGroupName: aws.String("web"), DesiredCapacity: aws.Int32(1)}); err != nil {
		t.Fatal(err)
	}
	left := inService(t, as, "web", 1)
	_, err = as.SetDesiredCapacity(ctx, &autoscaling.SetDesiredCapacityInput{AutoScalingGroupName: aws.String("web"), DesiredCapacity: aws.Int32(9)})
	if apiCode(err) != "ValidationError" {
		t.Errorf("desired above max: %v", err)
	}
	_, err = as.DeleteAutoScalingGroup(ctx, &autoscaling.DeleteAutoScalingGroupInput{AutoScalingGroupName: aws.String("web")})
	if apiCode(err) != "ResourceInUse" {
		t.Errorf("deleting a group with instances: %v", err)
	}
	if _, err := as.DeleteAutoScalingGroup(ctx, &autoscaling.DeleteAutoScalingGroupInput{AutoScalingGroupName: aws.String("web"), ForceDelete: aws.Bool(true)}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the group gone", func() error {
		out, err := as.DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{AutoScalingGroupNames: []string{"web"}})
		if err != nil || len(out.AutoScalingGroups) != 0 {
			return fmt.Errorf("groups %+v, %v", out, err)
		}
		return nil
	})
	instanceState(t, ec2c, left[0], "terminated")
}

// inServiceNow lists a group's healthy InService instances.
func inServiceNow(ctx context.Context, c *autoscaling.Client, group string) []string {
	out, err := c.DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{AutoScalingGroupNames: []string{group}})
	if err != nil || len(out.AutoScalingGroups) != 1 {
		return nil
	}
	var ids []string
	for _, i := range out.AutoScalingGroups[0].Instances {
		if string(i.LifecycleState) == "InService" && aws.ToString(i.HealthStatus) == "Healthy" {
			ids = append(ids, aws.ToString(i.InstanceId))
		}
	}
	return ids
}

// TestAutoScalingGroupErrors checks CreateAutoScalingGroup's rules, and
// that a refused group is not created.
func TestAutoScalingGroupErrors(t *testing.T) {
	env := testenv.Start(t, server.Config{})
	ctx := context.Background()
	ec2c := ec2.NewFromConfig(env.AWSConfig())
	as := autoscaling.NewFromConfig(env.AWSConfig())
	groupTemplate(t, ec2c, "tpl", t.TempDir())
	base := func(mod func(*autoscaling.CreateAutoScalingGroupInput)) *autoscaling.CreateAutoScalingGroupInput {
		in := &autoscaling.CreateAutoScalingGroupInput{
			AutoScalingGroupName: aws.String("g"), MinSize: aws.Int32(0), MaxSize: aws.Int32(2), DesiredCapacity: aws.Int32(0),
			LaunchTemplate:    &astypes.LaunchTemplateSpecification{LaunchTemplateName: aws.String("tpl")},
			AvailabilityZones: []string{"us-east-1a"},
		}
		mod(in)
		return in
	}
	tests := []struct {
		name, code, message string
		in                  *autoscaling.CreateAutoScalingGroupInput
	}{
		{"min_above_max", "ValidationError", "Max bound, 1, must be greater than or equal to min bound, 2", base(func(in *autoscaling.CreateAutoScalingGroupInput) {
			in.MinSize, in.MaxSize, in.DesiredCapacity = aws.Int32(2), aws.Int32(1), nil
		})},
		{"desired_outside", "ValidationError", "Desired capacity:5 must be between the specified min size:0 and max size:2", base(func(in *autoscaling.CreateAutoScalingGroupInput) { in.DesiredCapacity = aws.Int32(5) })},
		{"unknown_template", "ValidationError", "launch template", base(func(in *autoscaling.CreateAutoScalingGroupInput) {
			in.LaunchTemplate.LaunchTemplateName = aws.String("nope")
		})},
		{"unknown_version", "ValidationError", "version 7", base(func(in *autoscaling.CreateAutoScalingGroupInput) { in.LaunchTemplate.Version = aws.String("7") })},
		{"no_zones", "ValidationError", "At least one Availability Zone or VPC Subnet is required.", base(func(in *autoscaling.CreateAutoScalingGroupInput) { in.AvailabilityZones = nil })},
		{"bad_subnet", "ValidationError", "subnet-0123456789abcdef0", base(func(in *autoscaling.CreateAutoScalingGroupInput) {
			in.AvailabilityZones, in.VPCZoneIdentifier = nil, aws.String("subnet-0123456789abcdef0")
		})},
		{"two_sources", "ValidationError", "either LaunchTemplate", base(func(in *autoscaling.CreateAutoScalingGroupInput) { in.LaunchConfigurationName = aws.String("lc") })},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := as.CreateAutoScalingGroup(ctx, tt.in)
			if apiCode(err) != tt.code || !strings.Contains(err.Error(), tt.message) {
				t.Errorf("err = %v, want %s with %q", err, tt.code, tt.message)
			}
		})
	}
	out, err := as.DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{})
	if err != nil || len(out.AutoScalingGroups) != 0 {
		t.Errorf("refused groups were created: %+v, %v", out, err)
	}
	if _, err := as.CreateAutoScalingGroup(ctx, base(func(*autoscaling.CreateAutoScalingGroupInput) {})); err != nil {
		t.Fatal(err)
	}
	if _, err := as.CreateAutoScalingGroup(ctx, base(func(*autoscaling.CreateAutoScalingGroupInput) {})); apiCode(err) != "AlreadyExists" {
		t.Errorf("second group of one name: %v", err)
	}
	if _, err := as.DeleteAutoScalingGroup(ctx, &autoscaling.DeleteAutoScalingGroupInput{AutoScalingGroupName: aws.String("g")}); err != nil {
		t.Errorf("deleting an empty group: %v", err)
	}
}

// TestAutoScalingGroupNamesSharingAPrefix: groups named "web" and
// "web/blue" keep their policies, hooks and activities apart.
func TestAutoScalingGroupNamesSharingAPrefix(t *testing.T) {
	env := testenv.Start(t, server.Config{})
	ctx := context.Background()
	ec := ec2.NewFromConfig(env.AWSConfig())
	as := autoscaling.NewFromConfig(env.AWSConfig())
	groupTemplate(t, ec, "prefix-lt", t.TempDir())
	for _, name := range []string{"web", "web/blue"} {
		_, err := as.CreateAutoScalingGroup(ctx, &autoscaling.CreateAutoScalingGroupInput{
			AutoScalingGroupName: aws.String(name), MinSize: aws.Int32(0), MaxSize: aws.Int32(2), DesiredCapacity: aws.Int32(0),
			LaunchTemplate:    &astypes.LaunchTemplateSpecification{LaunchTemplateName: aws.String("prefix-lt")},
			AvailabilityZones: []string{"us-east-1a"},
		})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := as.PutScalingPolicy(ctx, &autoscaling.PutScalingPolicyInput{AutoScalingGroupName: aws.String(name), PolicyName: aws.String("up"),
			AdjustmentType: aws.String("ChangeInCapacity"), ScalingAdjustment: aws.Int32(1)}); err != nil {
			t.Fatal(err)
		}
		if _, err := as.PutLifecycleHook(ctx, &autoscaling.PutLifecycleHookInput{AutoScalingGroupName: aws.String(name), LifecycleHookName: aws.String("hold"),
			LifecycleTransition: aws.String("autoscaling:EC2_INSTANCE_LAUNCHING")}); err != nil {
			t.Fatal(err)
		}
	}
	pols, err := as.DescribePolicies(ctx, &autoscaling.DescribePoliciesInput{AutoScalingGroupName: aws.String("web")})
	if err != nil || len(pols.ScalingPolicies) != 1 || aws.ToString(pols.ScalingPolicies[0].AutoScalingGroupName) != "web" {
		t.Fatalf("web's policies: %+v, %v", pols, err)
	}
	hooks, err := as.DescribeLifecycleHooks(ctx, &autoscaling.DescribeLifecycleHooksInput{AutoScalingGroupName: aws.String("web")})
	if err != nil || len(hooks.LifecycleHooks) != 1 {
		t.Fatalf("web's hooks: %+v, %v", hooks, err)
	}
	if _, err := as.DeleteAutoScalingGroup(ctx, &autoscaling.DeleteAutoScalingGroupInput{AutoScalingGroupName: aws.String("web")}); err != nil {
		t.Fatal(err)
	}
	pols, err = as.DescribePolicies(ctx, &autoscaling.DescribePoliciesInput{AutoScalingGroupName: aws.String("web/blue")})
	if err != nil || len(pols.ScalingPolicies) != 1 {
		t.Fatalf("web/blue's policies after deleting web: %+v, %v", pols, err)
	}
}
