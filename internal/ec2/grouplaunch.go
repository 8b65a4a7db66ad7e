package ec2

import (
	"context"
	"errors"
	"slices"

	api "github.com/nephele-dev/nephele/internal/api/ec2"
	"github.com/nephele-dev/nephele/internal/awserr"
	"github.com/nephele-dev/nephele/internal/service"
	"github.com/nephele-dev/nephele/internal/store"
)

// GroupTag is the tag EC2 gives the instances an Auto Scaling group
// launches, naming the group: the monitor publishes the group's aggregate
// metrics by it, and users filter by it.
const GroupTag = "aws:autoscaling:groupName"

// LaunchForGroup launches between 1 and count instances for an Auto
// Scaling group, as RunInstances would (a launch template, subnet and tags
// in the request), and tags them with GroupTag, which the tag rules keep
// from users. It returns the instances launched.
func (s *Service) LaunchForGroup(ctx context.Context, account, region, group string, in *api.RunInstancesInput, count int) ([]api.Instance, error) {
	ctx = service.WithRequest(ctx, service.Request{AccountID: account, Region: region})
	sc := scopeOf(ctx)
	if err := s.seed(sc); err != nil {
		return nil, err
	}
	var res api.Reservation
	err := s.st.Update(func(tx store.Tx) error {
		var err error
		if res, err = s.launchInstances(ctx, tx, sc, in, 1, count, nil); err != nil {
			return err
		}
		for _, inst := range res.Instances {
			id := str(inst.InstanceId)
			ts, err := readTags(tx, sc, id)
			if err != nil {
				return err
			}
			if err := writeTags(tx, sc, id, append(ts, api.Tag{Key: ptr(GroupTag), Value: ptr(group)})); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	s.enqueueReservation(sc, res)
	return res.Instances, nil
}

// SetGroupTag gives an instance the GroupTag naming group, or, with group
// "", takes it away: Auto Scaling's AttachInstances and DetachInstances
// move existing instances in and out of groups.
func (s *Service) SetGroupTag(ctx context.Context, account, region, instanceID, group string) error {
	ctx = service.WithRequest(ctx, service.Request{AccountID: account, Region: region})
	sc := scopeOf(ctx)
	return s.st.Update(func(tx store.Tx) error {
		ts, err := readTags(tx, sc, instanceID)
		if err != nil {
			return err
		}
		ts = slices.DeleteFunc(ts, func(t api.Tag) bool { return str(t.Key) == GroupTag })
		if group != "" {
			ts = append(ts, api.Tag{Key: ptr(GroupTag), Value: ptr(group)})
		}
		return writeTags(tx, sc, instanceID, ts)
	})
}

// RebalanceRecommended reports which of the instances have received a
// rebalance recommendation (the first step of a Spot interruption), for
// Auto Scaling's Capacity Rebalancing. Unknown instances are left out.
func (s *Service) RebalanceRecommended(ctx context.Context, account, region string, ids []string) (map[string]bool, error) {
	ctx = service.WithRequest(ctx, service.Request{AccountID: account, Region: region})
	sc := scopeOf(ctx)
	now := s.clk.Now()
	out := map[string]bool{}
	err := s.st.View(func(tx store.Tx) error {
		for _, id := range ids {
			r, err := loadInstance(tx, sc, id)
			if err != nil {
				continue
			}
			if in := r.Interruption; in != nil && !now.Before(in.Rebalance) {
				out[id] = true
			}
		}
		return nil
	})
	return out, err
}

// GroupInstances reads the status of each instance by its key, as
// DescribeInstanceStatus with IncludeAllInstances shows it, for Auto
// Scaling's reconciler: a pass over many groups then costs one record read
// per instance rather than a filtered scan of the region per group.
// Instances EC2 no longer knows are left out rather than failing the call.
func (s *Service) GroupInstances(ctx context.Context, account, region string, ids []string) (map[string]api.InstanceStatus, error) {
	ctx = service.WithRequest(ctx, service.Request{AccountID: account, Region: region})
	sc := scopeOf(ctx)
	out := make(map[string]api.InstanceStatus, len(ids))
	err := s.st.View(func(tx store.Tx) error {
		for _, id := range ids {
			r, err := loadInstance(tx, sc, id)
			var gone *awserr.Error
			if errors.As(err, &gone) {
				continue // InvalidInstanceID.NotFound
			}
			if err != nil {
				return err
			}
			out[id] = instanceStatus(r)
		}
		return nil
	})
	return out, err
}
