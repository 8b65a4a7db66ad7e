package e2e

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	astypes "github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"

	"github.com/nephele-dev/nephele/internal/server"
	"github.com/nephele-dev/nephele/internal/testenv"
)

// TestAutoScalingMixedInstances: a group with a mixed instances policy
// (one On-Demand base instance, half of the rest On-Demand, Spot spread
// over two types) launches that split for real, as Spot and On-Demand EC2
// instances, and scale-in keeps to the split.
func TestAutoScalingMixedInstances(t *testing.T) {
	env := testenv.Start(t, server.Config{TimeScale: 10})
	ctx := context.Background()
	ec := ec2.NewFromConfig(env.AWSConfig())
	as := autoscaling.NewFromConfig(env.AWSConfig())
	groupTemplate(t, ec, "mixed-lt", t.TempDir())
	_, err := as.CreateAutoScalingGroup(ctx, &autoscaling.CreateAutoScalingGroupInput{
		AutoScalingGroupName: aws.String("mixed"), MinSize: aws.Int32(1), MaxSize: aws.Int32(6), DesiredCapacity: aws.Int32(5),
		MixedInstancesPolicy: &astypes.MixedInstancesPolicy{
			LaunchTemplate: &astypes.LaunchTemplate{
				LaunchTemplateSpecification: &astypes.LaunchTemplateSpecification{LaunchTemplateName: aws.String("mixed-lt")},
				Overrides:                   []astypes.LaunchTemplateOverrides{{InstanceType: aws.String("t3.micro")}, {InstanceType: aws.String("t3.small")}},
			},
			InstancesDistribution: &astypes.InstancesDistribution{OnDemandBaseCapacity: aws.Int32(1), OnDemandPercentageAboveBaseCapacity: aws.Int32(50),
				SpotAllocationStrategy: aws.String("capacity-optimized")},
		},
		AvailabilityZones: []string{"us-east-1a", "us-east-1b"}, CapacityRebalance: aws.Bool(true),
	})
	if err != nil {
		t.Fatal(err)
	}
	split := func(ids []string) (onDemand int, spotTypes map[string]int) {
		out, err := ec.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: ids})
		if err != nil {
			t.Fatal(err)
		}
		spotTypes = map[string]int{}
		for _, r := range out.Reservations {
			for _, i := range r.Instances {
				if i.InstanceLifecycle == "spot" {
					spotTypes[string(i.InstanceType)]++
				} else {
					onDemand++
				}
			}
		}
		return onDemand, spotTypes
	}
	// 5 units: 1 base + 2 of the 4 above it On-Demand, 2 Spot, one of
	// each type.
	od, spot := split(inService(t, as, "mixed", 5))
	if od != 3 || spot["t3.micro"] != 1 || spot["t3.small"] != 1 {
		t.Fatalf("On-Demand %d, Spot %v; want 3 and one of each type", od, spot)
	}
	// Down to 3: 1 + 1 of 2 On-Demand, 1 Spot.
	if _, err := as.SetDesiredCapacity(ctx, &autoscaling.SetDesiredCapacityInput{AutoScalingGroupName: aws.String("mixed"), DesiredCapacity: aws.Int32(3)}); err != nil {
		t.Fatal(err)
	}
	three := inService(t, as, "mixed", 3)
	od, spot = split(three)
	if n := spot["t3.micro"] + spot["t3.small"]; od != 2 || n != 1 {
		t.Fatalf("after scale-in: On-Demand %d, Spot %v; want 2 and 1", od, spot)
	}

	// Capacity Rebalancing: the Spot Instance gets a rebalance
	// recommendation (its interruption a simulated minute later); the
	// group launches a Spot replacement and then lets the old one go.
	var spotID string
	for _, id := range three {
		if _, s := split([]string{id}); len(s) == 1 {
			spotID = id
		}
	}
	body := fmt.Sprintf(`{"instanceIds":[%q],"noticeDelaySeconds":60}`, spotID)
	resp, err := http.Post(env.Endpoint+"/_nephele/ec2/spot-interruption", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("spot-interruption: %s", resp.Status)
	}
	eventually(t, "the Spot Instance replaced ahead of its interruption", func() error {
		now := inServiceNow(ctx, as, "mixed")
		if len(now) != 3 || containsID(now, spotID) {
			return fmt.Errorf("InService %v", now)
		}
		return nil
	})
	od, spot = split(inService(t, as, "mixed", 3))
	if n := spot["t3.micro"] + spot["t3.small"]; od != 2 || n != 1 {
		t.Fatalf("after rebalancing: On-Demand %d, Spot %v; want 2 and 1", od, spot)
	}
	acts, err := as.DescribeScalingActivities(ctx, &autoscaling.DescribeScalingActivitiesInput{AutoScalingGroupName: aws.String("mixed")})
	if err != nil {
		t.Fatal(err)
	}
	if !activityWith(acts.Activities, "Terminating EC2 instance: "+spotID, "Successful") {
		t.Fatalf("no termination activity for %s", spotID)
	}
	found := false
	for _, a := range acts.Activities {
		found = found || strings.Contains(aws.ToString(a.Cause), "in response to an EC2 instance rebalance recommendation.")
	}
	if !found {
		t.Fatal("no activity names the rebalance recommendation")
	}
}

// TestAutoScalingWeightedCapacity: with WeightedCapacity on the
// overrides, desired capacity is in units: 4 units of a weight-2 type are
// two instances; 5 units take a third (6 units, as AWS may overshoot by
// less than a weight); down to 3 units keeps two (4 units), since one
// more termination would leave too little.
func TestAutoScalingWeightedCapacity(t *testing.T) {
	env := testenv.Start(t, server.Config{TimeScale: 10})
	ctx := context.Background()
	ec := ec2.NewFromConfig(env.AWSConfig())
	as := autoscaling.NewFromConfig(env.AWSConfig())
	groupTemplate(t, ec, "weighted-lt", t.TempDir())
	_, err := as.CreateAutoScalingGroup(ctx, &autoscaling.CreateAutoScalingGroupInput{
		AutoScalingGroupName: aws.String("weighted"), MinSize: aws.Int32(1), MaxSize: aws.Int32(10), DesiredCapacity: aws.Int32(4),
		MixedInstancesPolicy: &astypes.MixedInstancesPolicy{LaunchTemplate: &astypes.LaunchTemplate{
			LaunchTemplateSpecification: &astypes.LaunchTemplateSpecification{LaunchTemplateName: aws.String("weighted-lt")},
			Overrides: []astypes.LaunchTemplateOverrides{{InstanceType: aws.String("t3.small"), WeightedCapacity: aws.String("2")},
				{InstanceType: aws.String("t3.micro"), WeightedCapacity: aws.String("1")}},
		}},
		AvailabilityZones: []string{"us-east-1a", "us-east-1b"},
	})
	if err != nil {
		t.Fatal(err)
	}
	weights := func(ids []string) {
		t.Helper()
		out, err := as.DescribeAutoScalingInstances(ctx, &autoscaling.DescribeAutoScalingInstancesInput{InstanceIds: ids})
		if err != nil {
			t.Fatal(err)
		}
		for _, i := range out.AutoScalingInstances {
			if aws.ToString(i.WeightedCapacity) != "2" || aws.ToString(i.InstanceType) != "t3.small" {
				t.Fatalf("instance %s: type %s, weight %s", aws.ToString(i.InstanceId), aws.ToString(i.InstanceType), aws.ToString(i.WeightedCapacity))
			}
		}
	}
	weights(inService(t, as, "weighted", 2))
	if _, err := as.SetDesiredCapacity(ctx, &autoscaling.SetDesiredCapacityInput{AutoScalingGroupName: aws.String("weighted"), DesiredCapacity: aws.Int32(5)}); err != nil {
		t.Fatal(err)
	}
	weights(inService(t, as, "weighted", 3))
	if _, err := as.SetDesiredCapacity(ctx, &autoscaling.SetDesiredCapacityInput{AutoScalingGroupName: aws.String("weighted"), DesiredCapacity: aws.Int32(3)}); err != nil {
		t.Fatal(err)
	}
	weights(inService(t, as, "weighted", 2))
}
