package autoscaling

import (
	"context"
	"fmt"
	"slices"
	"time"

	api "github.com/nephele-dev/nephele/internal/api/autoscaling"
	ec2api "github.com/nephele-dev/nephele/internal/api/ec2"
	"github.com/nephele-dev/nephele/internal/store"
)

// Moving existing instances in and out of a group, and in and out of
// service within it: AttachInstances, DetachInstances, EnterStandby and
// ExitStandby. Each changes desired capacity as the AWS documentation
// says (attach and exit-standby add to it, detach and enter-standby
// subtract when asked to) and records an activity worded as AWS words it.

// AttachInstances adds running EC2 instances to a group: desired capacity
// grows by their number, so nothing is launched for them.
func (s *Service) AttachInstances(ctx context.Context, in *api.AttachInstancesQuery) (*api.AttachInstancesOutput, error) {
	sc := scopeOf(ctx)
	name := str(in.AutoScalingGroupName)
	if len(in.InstanceIds) == 0 {
		return &api.AttachInstancesOutput{}, nil
	}
	ids := slices.Compact(slices.Sorted(slices.Values(in.InstanceIds)))
	// EC2 first, outside the store's lock: what the instances are.
	res, err := s.opts.Compute.DescribeInstances(sc.Context(ctx), &ec2api.DescribeInstancesInput{Filters: []ec2api.Filter{{Name: ptr("instance-id"), Values: ids}}})
	if err != nil {
		return nil, err
	}
	found := map[string]ec2api.Instance{}
	for _, r := range res.Reservations {
		for _, inst := range r.Instances {
			found[str(inst.InstanceId)] = inst
		}
	}
	var g groupRecord
	err = s.st.Update(func(tx store.Tx) error {
		var err error
		if g, err = loadGroup(tx, sc, name); err != nil {
			return err
		}
		if g.Deleting {
			return validation("AutoScalingGroup %s is pending delete.", name)
		}
		if g.Desired+len(ids) > g.Max {
			return validation("AutoScalingGroup %s has min-size=%d, max-size=%d, and desired-size=%d. To attach %d instance, please update the AutoScalingGroup sizes appropriately.", name, g.Min, g.Max, g.Desired, len(ids))
		}
		for _, id := range ids {
			inst, ok := found[id]
			if !ok {
				return validation("Instance ID(s): [%s] are not valid", id)
			}
			if st := str(inst.State.Name); st != "running" {
				return validation("Instance %s is not in correct state (current state: %s). Only instances in the running state can be attached.", id, st)
			}
			if other, _, err := findMember(tx, sc, id); err == nil {
				return validation("The instance %s is already part of the Auto Scaling group %s.", id, other.Name)
			}
			az := ""
			if inst.Placement != nil {
				az = str(inst.Placement.AvailabilityZone)
			}
			if subnetOf(g, az) == "" {
				return validation("Instance %s is in availability zone %s, which is not one of the Auto Scaling group's availability zones.", id, az)
			}
		}
		now := s.now()
		for _, id := range ids {
			inst := found[id]
			az := str(inst.Placement.AvailabilityZone)
			m := member{ID: id, AZ: az, InstanceType: str(inst.InstanceType), Lifecycle: "Pending", Health: "Healthy",
				Protected: g.ProtectNew, Launched: now}
			g.Members = append(g.Members, m)
			cause := fmt.Sprintf("At %s an existing EC2 instance %s was attached in response to a user request, increasing the capacity from %d to %d.",
				now.Format(causeTime), id, g.Desired, g.Desired+1)
			g.Desired++
			a := newActivity(g, now, "Attaching an existing EC2 instance: "+id, cause, "InProgress")
			a.Instance, a.Details, a.Progress = id, details(subnetOf(g, az), az), 30
			if err := putActivity(tx, sc, a); err != nil {
				return err
			}
		}
		g.Cause = ""
		return putGroup(tx, sc, g)
	})
	if err != nil {
		return nil, err
	}
	for _, id := range ids {
		if err := s.opts.Compute.SetGroupTag(ctx, sc.Account, sc.Region, id, name); err != nil {
			s.log().Warn("autoscaling: tagging an attached instance", "instance", id, "err", err)
		}
	}
	s.rec.wake()
	return &api.AttachInstancesOutput{}, nil
}

// DetachInstances takes InService or Standby instances out of a group;
// they keep running. Without ShouldDecrementDesiredCapacity the group
// launches replacements.
func (s *Service) DetachInstances(ctx context.Context, in *api.DetachInstancesQuery) (*api.DetachInstancesAnswer, error) {
	sc := scopeOf(ctx)
	name := str(in.AutoScalingGroupName)
	decrement := deref(in.ShouldDecrementDesiredCapacity)
	check := func(g groupRecord) error {
		counted := 0
		for _, id := range in.InstanceIds {
			i := slices.IndexFunc(g.Members, func(m member) bool { return m.ID == id })
			if i < 0 {
				return validation("The instance %s is not part of Auto Scaling group %s.", id, name)
			}
			if l := g.Members[i].Lifecycle; l != "InService" && l != "Standby" {
				return validation("The instance %s is not in InService or Standby.", id)
			}
			if g.Members[i].counts() {
				counted++
			}
		}
		if decrement && g.Desired-counted < g.Min {
			return validation("The number of instances to detach, %d, would leave the Auto Scaling group %s below its min size %d. Either set ShouldDecrementDesiredCapacity to false or lower the group's min size.", counted, name, g.Min)
		}
		return nil
	}
	acts, err := s.moveMembers(ctx, name, in.InstanceIds, check, func(g *groupRecord, i int, now time.Time) activityRecord {
		m := g.Members[i]
		cause := fmt.Sprintf("At %s instance %s was detached in response to a user request.", now.Format(causeTime), m.ID)
		if decrement && m.counts() {
			cause = fmt.Sprintf("At %s instance %s was detached in response to a user request, shrinking the capacity from %d to %d.", now.Format(causeTime), m.ID, g.Desired, g.Desired-1)
			g.Desired--
		}
		a := newActivity(*g, now, "Detaching EC2 instance: "+m.ID, cause, "InProgress")
		a.Instance, a.Details, a.Progress = m.ID, details(subnetOf(*g, m.AZ), m.AZ), 50
		// Detaching is immediate here: the group lets go of the
		// instance at once.
		a.finish(now, "Successful", "")
		g.Members = slices.Delete(g.Members, i, i+1)
		return a
	})
	if err != nil {
		return nil, err
	}
	for _, id := range in.InstanceIds {
		if err := s.opts.Compute.SetGroupTag(ctx, sc.Account, sc.Region, id, ""); err != nil {
			s.log().Warn("autoscaling: untagging a detached instance", "instance", id, "err", err)
		}
	}
	s.membersLeft(ctx, sc, name, in.InstanceIds)
	s.rec.wake()
	return &api.DetachInstancesAnswer{Activities: activitiesOut(acts)}, nil
}

// EnterStandby takes InService instances out of service without
// terminating them: they stop counting toward capacity, and unless
// ShouldDecrementDesiredCapacity the group launches replacements.
func (s *Service) EnterStandby(ctx context.Context, in *api.EnterStandbyQuery) (*api.EnterStandbyAnswer, error) {
	sc := scopeOf(ctx)
	name := str(in.AutoScalingGroupName)
	decrement := deref(in.ShouldDecrementDesiredCapacity)
	check := func(g groupRecord) error {
		if err := membersIn(g, in.InstanceIds, "InService"); err != nil {
			return err
		}
		if decrement && g.Desired-len(in.InstanceIds) < g.Min {
			return validation("AutoScalingGroup %s has min-size=%d, max-size=%d, and desired-size=%d. To place into standby %d instances, please update the AutoScalingGroup sizes appropriately.", name, g.Min, g.Max, g.Desired, len(in.InstanceIds))
		}
		return nil
	}
	acts, err := s.moveMembers(ctx, name, in.InstanceIds, check, func(g *groupRecord, i int, now time.Time) activityRecord {
		m := &g.Members[i]
		cause := fmt.Sprintf("At %s instance %s was moved to standby in response to a user request.", now.Format(causeTime), m.ID)
		if decrement {
			cause = fmt.Sprintf("At %s instance %s was moved to standby in response to a user request, shrinking the capacity from %d to %d.", now.Format(causeTime), m.ID, g.Desired, g.Desired-1)
			g.Desired--
		}
		m.Lifecycle = "EnteringStandby"
		a := newActivity(*g, now, "Moving EC2 instance to Standby: "+m.ID, cause, "InProgress")
		a.Instance, a.Details, a.Progress = m.ID, details(subnetOf(*g, m.AZ), m.AZ), 50
		return a
	})
	if err != nil {
		return nil, err
	}
	s.membersLeft(ctx, sc, name, in.InstanceIds)
	s.rec.wake()
	return &api.EnterStandbyAnswer{Activities: activitiesOut(acts)}, nil
}

// ExitStandby puts Standby instances back in service: desired capacity
// grows by their number, and each goes through Pending (and a launch
// lifecycle hook, if any) to InService.
func (s *Service) ExitStandby(ctx context.Context, in *api.ExitStandbyQuery) (*api.ExitStandbyAnswer, error) {
	name := str(in.AutoScalingGroupName)
	check := func(g groupRecord) error {
		if err := membersIn(g, in.InstanceIds, "Standby"); err != nil {
			return err
		}
		if g.Desired+len(in.InstanceIds) > g.Max {
			return validation("AutoScalingGroup %s has min-size=%d, max-size=%d, and desired-size=%d. To exit %d instances from standby, please update the AutoScalingGroup sizes appropriately.", name, g.Min, g.Max, g.Desired, len(in.InstanceIds))
		}
		return nil
	}
	acts, err := s.moveMembers(ctx, name, in.InstanceIds, check, func(g *groupRecord, i int, now time.Time) activityRecord {
		m := &g.Members[i]
		cause := fmt.Sprintf("At %s instance %s was moved out of standby in response to a user request, increasing the capacity from %d to %d.", now.Format(causeTime), m.ID, g.Desired, g.Desired+1)
		g.Desired++
		m.Lifecycle = "Pending"
		a := newActivity(*g, now, "Moving EC2 instance out of Standby: "+m.ID, cause, "PreInService")
		a.Instance, a.Details, a.Progress = m.ID, details(subnetOf(*g, m.AZ), m.AZ), 30
		return a
	})
	if err != nil {
		return nil, err
	}
	s.rec.wake()
	return &api.ExitStandbyAnswer{Activities: activitiesOut(acts)}, nil
}

// moveMembers makes one API change to instances of a group in one
// transaction: check refuses the change before anything is written; move
// changes the group for one member (by index) and returns its activity,
// which is stored and returned with the others.
func (s *Service) moveMembers(ctx context.Context, name string, ids []string, check func(groupRecord) error,
	move func(g *groupRecord, i int, now time.Time) activityRecord) ([]activityRecord, error) {
	sc := scopeOf(ctx)
	var acts []activityRecord
	err := s.st.Update(func(tx store.Tx) error {
		g, err := loadGroup(tx, sc, name)
		if err != nil {
			return err
		}
		if err := check(g); err != nil {
			return err
		}
		now := s.now()
		for _, id := range ids {
			a := move(&g, slices.IndexFunc(g.Members, func(m member) bool { return m.ID == id }), now)
			if err := putActivity(tx, sc, a); err != nil {
				return err
			}
			acts = append(acts, a)
		}
		return putGroup(tx, sc, g)
	})
	return acts, err
}

// membersIn checks that each instance is a member of the group in the
// lifecycle state, with AWS's errors.
func membersIn(g groupRecord, ids []string, state string) error {
	for _, id := range ids {
		i := slices.IndexFunc(g.Members, func(m member) bool { return m.ID == id })
		if i < 0 {
			return validation("The instance %s is not part of Auto Scaling group %s.", id, g.Name)
		}
		if g.Members[i].Lifecycle != state {
			return validation("The instance %s is not in %s.", id, state)
		}
	}
	return nil
}

// activitiesOut renders activities for an answer.
func activitiesOut(acts []activityRecord) []api.Activity {
	out := make([]api.Activity, len(acts))
	for i, a := range acts {
		out[i] = a.out()
	}
	return out
}
