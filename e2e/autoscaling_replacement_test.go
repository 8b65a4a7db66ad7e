package e2e

import (
	"context"
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

// zonesOf counts a group's InService instances per zone, and all its
// instances.
func zonesOf(ctx context.Context, c *autoscaling.Client, group string) (map[string]int, int, error) {
	out, err := c.DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{AutoScalingGroupNames: []string{group}})
	if err != nil {
		return nil, 0, err
	}
	zones := map[string]int{}
	for _, i := range out.AutoScalingGroups[0].Instances {
		if i.LifecycleState == astypes.LifecycleStateInService {
			zones[aws.ToString(i.AvailabilityZone)]++
		}
	}
	return zones, len(out.AutoScalingGroups[0].Instances), nil
}

// TestAutoScalingRebalanceAndLifetime, on a fake clock: a group given a
// second zone moves half its instances there, launching each replacement
// before terminating what it replaces; with AZRebalance suspended it
// would not. An instance older than MaxInstanceLifetime is replaced.
func TestAutoScalingRebalanceAndLifetime(t *testing.T) {
	clk := clock.NewFake(time.Date(2026, 11, 23, 6, 0, 0, 0, time.UTC))
	env := testenv.Start(t, server.Config{Clock: clk})
	ctx := context.Background()
	ec := ec2.NewFromConfig(env.AWSConfig())
	as := autoscaling.NewFromConfig(env.AWSConfig())
	groupTemplate(t, ec, "zones-lt", t.TempDir())
	_, err := as.CreateAutoScalingGroup(ctx, &autoscaling.CreateAutoScalingGroupInput{
		AutoScalingGroupName: aws.String("zones"), MinSize: aws.Int32(1), MaxSize: aws.Int32(4), DesiredCapacity: aws.Int32(2),
		LaunchTemplate:    &astypes.LaunchTemplateSpecification{LaunchTemplateName: aws.String("zones-lt")},
		AvailabilityZones: []string{"us-east-1a"},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		as.DeleteAutoScalingGroup(context.Background(), &autoscaling.DeleteAutoScalingGroupInput{AutoScalingGroupName: aws.String("zones"), ForceDelete: aws.Bool(true)})
	})
	stepUntil(t, clk, time.Second, "2 InService in us-east-1a", func() error {
		z, n, err := zonesOf(ctx, as, "zones")
		if err == nil && (z["us-east-1a"] != 2 || n != 2) {
			err = fmt.Errorf("zones %v of %d", z, n)
		}
		return err
	})
	if _, err := as.UpdateAutoScalingGroup(ctx, &autoscaling.UpdateAutoScalingGroupInput{AutoScalingGroupName: aws.String("zones"),
		AvailabilityZones: []string{"us-east-1a", "us-east-1b"}}); err != nil {
		t.Fatal(err)
	}
	// Never fewer than 2 InService on the way: launch first.
	stepUntil(t, clk, time.Second, "one instance per zone", func() error {
		z, n, err := zonesOf(ctx, as, "zones")
		if err != nil {
			return err
		}
		if z["us-east-1a"]+z["us-east-1b"] < 2 {
			t.Fatalf("capacity dropped while rebalancing: %v", z)
		}
		if z["us-east-1a"] != 1 || z["us-east-1b"] != 1 || n != 2 {
			return fmt.Errorf("zones %v of %d", z, n)
		}
		return nil
	})
	acts, err := as.DescribeScalingActivities(ctx, &autoscaling.DescribeScalingActivitiesInput{AutoScalingGroupName: aws.String("zones")})
	if err != nil {
		t.Fatal(err)
	}
	rebalanced := false
	for _, a := range acts.Activities {
		rebalanced = rebalanced || strings.Contains(aws.ToString(a.Cause), "in response to an Availability Zone rebalancing.")
	}
	if !rebalanced {
		t.Fatal("no activity says Availability Zone rebalancing")
	}

	// Lifetime: a day after launch, each instance is replaced.
	before := inServiceNow(ctx, as, "zones")
	if _, err := as.UpdateAutoScalingGroup(ctx, &autoscaling.UpdateAutoScalingGroupInput{AutoScalingGroupName: aws.String("zones"), MaxInstanceLifetime: aws.Int32(86400)}); err != nil {
		t.Fatal(err)
	}
	clk.Advance(24 * time.Hour)
	stepUntil(t, clk, time.Second, "both instances replaced", func() error {
		now := inServiceNow(ctx, as, "zones")
		if len(now) != 2 || containsID(now, before[0]) || containsID(now, before[1]) {
			return fmt.Errorf("InService %v, before %v", now, before)
		}
		return nil
	})
	acts, err = as.DescribeScalingActivities(ctx, &autoscaling.DescribeScalingActivitiesInput{AutoScalingGroupName: aws.String("zones")})
	if err != nil {
		t.Fatal(err)
	}
	lifetime := 0
	for _, a := range acts.Activities {
		if strings.Contains(aws.ToString(a.Cause), "in response to the maximum instance lifetime being exceeded.") {
			lifetime++
		}
	}
	if lifetime != 2 {
		t.Fatalf("%d lifetime activities, want 2", lifetime)
	}
	_, err = as.UpdateAutoScalingGroup(ctx, &autoscaling.UpdateAutoScalingGroupInput{AutoScalingGroupName: aws.String("zones"), MaxInstanceLifetime: aws.Int32(3600)})
	if err == nil {
		t.Fatal("a MaxInstanceLifetime under a day was accepted")
	}
}
