package e2e

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	astypes "github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"

	"github.com/nephele-dev/nephele/internal/server"
	"github.com/nephele-dev/nephele/internal/testenv"
)

// warmPool returns the lifecycle states of a group's warm pool instances
// and its configuration.
func warmPool(ctx context.Context, c *autoscaling.Client, group string) (map[string][]string, *astypes.WarmPoolConfiguration, error) {
	out, err := c.DescribeWarmPool(ctx, &autoscaling.DescribeWarmPoolInput{AutoScalingGroupName: aws.String(group)})
	if err != nil {
		return nil, nil, err
	}
	states := map[string][]string{}
	for _, i := range out.Instances {
		states[string(i.LifecycleState)] = append(states[string(i.LifecycleState)], aws.ToString(i.InstanceId))
	}
	return states, out.WarmPoolConfiguration, nil
}

// TestAutoScalingWarmPool: a warm pool fills to MaxGroupPreparedCapacity
// less desired capacity with instances that ran their user-data and were
// stopped; scale-out takes a pool instance (started, not launched) into
// service; with ReuseOnScaleIn, scale-in returns an instance to the pool
// stopped; deleting the pool terminates its instances.
func TestAutoScalingWarmPool(t *testing.T) {
	env := testenv.Start(t, server.Config{TimeScale: 10})
	ctx := context.Background()
	ec := ec2.NewFromConfig(env.AWSConfig())
	as := autoscaling.NewFromConfig(env.AWSConfig())
	groupTemplate(t, ec, "warm-lt", t.TempDir())
	_, err := as.CreateAutoScalingGroup(ctx, &autoscaling.CreateAutoScalingGroupInput{
		AutoScalingGroupName: aws.String("warm"), MinSize: aws.Int32(0), MaxSize: aws.Int32(4), DesiredCapacity: aws.Int32(1),
		LaunchTemplate:    &astypes.LaunchTemplateSpecification{LaunchTemplateName: aws.String("warm-lt")},
		AvailabilityZones: []string{"us-east-1a", "us-east-1b"},
	})
	if err != nil {
		t.Fatalf("CreateAutoScalingGroup: %v", err)
	}
	first := inService(t, as, "warm", 1)
	_, err = as.PutWarmPool(ctx, &autoscaling.PutWarmPoolInput{AutoScalingGroupName: aws.String("warm"), MaxGroupPreparedCapacity: aws.Int32(3), MinSize: aws.Int32(1),
		InstanceReusePolicy: &astypes.InstanceReusePolicy{ReuseOnScaleIn: aws.Bool(true)}})
	if err != nil {
		t.Fatalf("PutWarmPool: %v", err)
	}
	var pooled []string
	eventually(t, "two Warmed:Stopped instances", func() error {
		st, cfg, err := warmPool(ctx, as, "warm")
		if err != nil {
			return err
		}
		if cfg.PoolState != "Stopped" || aws.ToInt32(cfg.MinSize) != 1 || aws.ToInt32(cfg.MaxGroupPreparedCapacity) != 3 {
			return fmt.Errorf("configuration %+v", cfg)
		}
		if len(st["Warmed:Stopped"]) != 2 || len(st) != 1 {
			return fmt.Errorf("pool %v", st)
		}
		pooled = st["Warmed:Stopped"]
		return nil
	})
	for _, id := range pooled {
		instanceState(t, ec, id, "stopped")
	}
	// The group shows its pool's size, not its instances.
	g, err := as.DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{AutoScalingGroupNames: []string{"warm"}})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToInt32(g.AutoScalingGroups[0].WarmPoolSize) != 2 || len(g.AutoScalingGroups[0].Instances) != 1 {
		t.Fatalf("group shows pool size %d and %d instances", aws.ToInt32(g.AutoScalingGroups[0].WarmPoolSize), len(g.AutoScalingGroups[0].Instances))
	}

	// Scale-out draws on the pool: the new InService instance is a
	// former pool instance, started again.
	if _, err := as.SetDesiredCapacity(ctx, &autoscaling.SetDesiredCapacityInput{AutoScalingGroupName: aws.String("warm"), DesiredCapacity: aws.Int32(2)}); err != nil {
		t.Fatal(err)
	}
	now := inService(t, as, "warm", 2)
	var warmed string
	for _, id := range now {
		if id != first[0] {
			warmed = id
		}
	}
	if !slices.Contains(pooled, warmed) {
		t.Fatalf("new InService instance %s did not come from the pool %v", warmed, pooled)
	}
	instanceState(t, ec, warmed, "running")
	acts, err := as.DescribeScalingActivities(ctx, &autoscaling.DescribeScalingActivitiesInput{AutoScalingGroupName: aws.String("warm")})
	if err != nil {
		t.Fatal(err)
	}
	if !activityWith(acts.Activities, "Launching a new EC2 instance from warm pool: "+warmed, "Successful") {
		t.Fatalf("no warm start activity for %s", warmed)
	}
	// The pool settles at 3 − 2 = 1.
	eventually(t, "pool of one", func() error {
		st, _, err := warmPool(ctx, as, "warm")
		if err != nil {
			return err
		}
		if len(st["Warmed:Stopped"]) != 1 || len(st) != 1 {
			return fmt.Errorf("pool %v", st)
		}
		return nil
	})

	// Scale-in with reuse: an instance goes back to the pool, stopped,
	// rather than being terminated.
	if _, err := as.SetDesiredCapacity(ctx, &autoscaling.SetDesiredCapacityInput{AutoScalingGroupName: aws.String("warm"), DesiredCapacity: aws.Int32(1)}); err != nil {
		t.Fatal(err)
	}
	left := inService(t, as, "warm", 1)
	var returned string
	for _, id := range now {
		if id != left[0] {
			returned = id
		}
	}
	eventually(t, "scaled-in instance back in the pool", func() error {
		st, _, err := warmPool(ctx, as, "warm")
		if err != nil {
			return err
		}
		if !slices.Contains(st["Warmed:Stopped"], returned) || len(st["Warmed:Stopped"]) != 2 {
			return fmt.Errorf("pool %v, want %s in it", st, returned)
		}
		return nil
	})
	instanceState(t, ec, returned, "stopped")

	// Deleting the pool terminates its instances, then the pool is gone.
	if _, err := as.DeleteWarmPool(ctx, &autoscaling.DeleteWarmPoolInput{AutoScalingGroupName: aws.String("warm")}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "pool deleted", func() error {
		st, cfg, err := warmPool(ctx, as, "warm")
		if err != nil {
			return err
		}
		if cfg != nil || len(st) != 0 {
			return fmt.Errorf("pool %v, configuration %+v", st, cfg)
		}
		return nil
	})
	instanceState(t, ec, returned, "terminated")
	_, err = as.DeleteWarmPool(ctx, &autoscaling.DeleteWarmPoolInput{AutoScalingGroupName: aws.String("warm")})
	wantASError(t, err, "ValidationError", "No warm pool found for Auto Scaling group warm.")
}

// TestAutoScalingWarmPoolLaunchHook: an instance launched into a warm pool
// waits on the group's launch hook (Warmed:Pending:Wait), as AWS
// recommends for finishing set-up before the pool stops it, and
// CompleteLifecycleAction lets it go on to Warmed:Stopped.
func TestAutoScalingWarmPoolLaunchHook(t *testing.T) {
	env := testenv.Start(t, server.Config{TimeScale: 10})
	ctx := context.Background()
	ec := ec2.NewFromConfig(env.AWSConfig())
	as := autoscaling.NewFromConfig(env.AWSConfig())
	groupTemplate(t, ec, "warmhook-lt", t.TempDir())
	if _, err := as.CreateAutoScalingGroup(ctx, &autoscaling.CreateAutoScalingGroupInput{
		AutoScalingGroupName: aws.String("warmhook"), MinSize: aws.Int32(0), MaxSize: aws.Int32(1), DesiredCapacity: aws.Int32(0),
		LaunchTemplate:    &astypes.LaunchTemplateSpecification{LaunchTemplateName: aws.String("warmhook-lt")},
		AvailabilityZones: []string{"us-east-1a"},
		LifecycleHookSpecificationList: []astypes.LifecycleHookSpecification{{LifecycleHookName: aws.String("ready"),
			LifecycleTransition: aws.String("autoscaling:EC2_INSTANCE_LAUNCHING"), HeartbeatTimeout: aws.Int32(3600)}},
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := as.PutWarmPool(ctx, &autoscaling.PutWarmPoolInput{AutoScalingGroupName: aws.String("warmhook")}); err != nil {
		t.Fatal(err)
	}
	var id string
	eventually(t, "pool instance waiting on the hook", func() error {
		st, _, err := warmPool(ctx, as, "warmhook")
		if err != nil {
			return err
		}
		if len(st["Warmed:Pending:Wait"]) != 1 {
			return fmt.Errorf("pool %v", st)
		}
		id = st["Warmed:Pending:Wait"][0]
		return nil
	})
	if _, err := as.CompleteLifecycleAction(ctx, &autoscaling.CompleteLifecycleActionInput{AutoScalingGroupName: aws.String("warmhook"),
		LifecycleHookName: aws.String("ready"), InstanceId: aws.String(id), LifecycleActionResult: aws.String("CONTINUE")}); err != nil {
		t.Fatalf("CompleteLifecycleAction: %v", err)
	}
	eventually(t, "pool instance stopped", func() error {
		st, _, err := warmPool(ctx, as, "warmhook")
		if err == nil && (len(st["Warmed:Stopped"]) != 1 || st["Warmed:Stopped"][0] != id) {
			err = fmt.Errorf("pool %v", st)
		}
		return err
	})
	t.Cleanup(func() {
		as.DeleteAutoScalingGroup(context.Background(), &autoscaling.DeleteAutoScalingGroupInput{AutoScalingGroupName: aws.String("warmhook"), ForceDelete: aws.Bool(true)})
	})
}
