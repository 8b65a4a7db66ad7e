package elbv2

import (
	"context"
	"time"

	api "github.com/nephele-dev/nephele/internal/api/elbv2"
	"github.com/nephele-dev/nephele/internal/store"
)

// maxCapacityDecreases is how many times a day a reservation may be
// lowered; DescribeCapacityReservation reports what is left.
const maxCapacityDecreases = 3

// capacityOut describes a load balancer's capacity reservation: what was
// reserved, spread evenly over its zones and provisioned at once (a local
// load balancer has no capacity to wait for).
func capacityOut(lb lbRecord) (units *api.MinimumLoadBalancerCapacity, states []api.ZonalCapacityReservationState, modified *time.Time) {
	states = []api.ZonalCapacityReservationState{}
	if lb.CapacityUnits == 0 {
		return nil, states, nil
	}
	per := float64(lb.CapacityUnits) / float64(max(1, len(lb.Zones)))
	for _, z := range lb.Zones {
		states = append(states, api.ZonalCapacityReservationState{
			AvailabilityZone: ptr(z.Zone), EffectiveCapacityUnits: ptr(per),
			State: &api.CapacityReservationStatus{Code: ptr("provisioned")},
		})
	}
	return &api.MinimumLoadBalancerCapacity{CapacityUnits: ptr(lb.CapacityUnits)}, states, ptr(lb.CapacityModified)
}

// DescribeCapacityReservation reports a load balancer's capacity
// reservation (none unless one was set).
func (s *Service) DescribeCapacityReservation(ctx context.Context, in *api.DescribeCapacityReservationInput) (*api.DescribeCapacityReservationOutput, error) {
	sc := scopeOf(ctx)
	var lb lbRecord
	err := s.st.View(func(tx store.Tx) (err error) {
		lb, err = loadLB(tx, sc, str(in.LoadBalancerArn))
		return err
	})
	if err != nil {
		return nil, err
	}
	units, states, modified := capacityOut(lb)
	return &api.DescribeCapacityReservationOutput{
		MinimumLoadBalancerCapacity: units, CapacityReservationState: states, LastModifiedTime: modified,
		DecreaseRequestsRemaining: ptr(int32(maxCapacityDecreases)),
	}, nil
}

// ModifyCapacityReservation sets or resets a load balancer's minimum
// capacity; it is recorded, as there is no capacity to reserve locally.
func (s *Service) ModifyCapacityReservation(ctx context.Context, in *api.ModifyCapacityReservationInput) (*api.ModifyCapacityReservationOutput, error) {
	sc := scopeOf(ctx)
	reset := deref(in.ResetCapacityReservation)
	if reset == (in.MinimumLoadBalancerCapacity != nil) {
		return nil, validation("You must specify either a minimum load balancer capacity or a capacity reservation reset, but not both")
	}
	var lb lbRecord
	err := s.st.Update(func(tx store.Tx) error {
		var err error
		if lb, err = loadLB(tx, sc, str(in.LoadBalancerArn)); err != nil {
			return err
		}
		lb.CapacityUnits = 0
		if !reset {
			lb.CapacityUnits = deref(in.MinimumLoadBalancerCapacity.CapacityUnits)
			if lb.CapacityUnits < 1 {
				return validation("The number of capacity units must be at least 1")
			}
		}
		lb.CapacityModified = s.now()
		return tx.Put(bucketLoadBalancers, sc.Key(lb.Name), lb)
	})
	if err != nil {
		return nil, err
	}
	units, states, modified := capacityOut(lb)
	return &api.ModifyCapacityReservationOutput{
		MinimumLoadBalancerCapacity: units, CapacityReservationState: states, LastModifiedTime: modified,
		DecreaseRequestsRemaining: ptr(int32(maxCapacityDecreases)),
	}, nil
}
