package e2e

import (
	"context"
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
		AvailabilityZones: []string{"us-east-1a", "us-east-1b"},
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
	od, spot = split(inService(t, as, "mixed", 3))
	if n := spot["t3.micro"] + spot["t3.small"]; od != 2 || n != 1 {
		t.Fatalf("after scale-in: On-Demand %d, Spot %v; want 2 and 1", od, spot)
	}
}
