package autoscaling

import (
	"testing"

	api "github.com/nephele-dev/nephele/internal/api/autoscaling"
)

func TestMixedPurchases(t *testing.T) {
	overrides := func(types ...string) *api.LaunchTemplate {
		lt := &api.LaunchTemplate{LaunchTemplateSpecification: &api.LaunchTemplateSpecification{LaunchTemplateName: ptr("lt")}}
		for _, ty := range types {
			lt.Overrides = append(lt.Overrides, api.LaunchTemplateOverrides{InstanceType: ptr(ty)})
		}
		return lt
	}
	dist := func(base, pct int32, od, spot string) *api.InstancesDistribution {
		d := &api.InstancesDistribution{OnDemandBaseCapacity: ptr(base), OnDemandPercentageAboveBaseCapacity: ptr(pct)}
		if od != "" {
			d.OnDemandAllocationStrategy = ptr(od)
		}
		if spot != "" {
			d.SpotAllocationStrategy = ptr(spot)
		}
		return d
	}
	tests := []struct {
		name    string
		policy  *api.MixedInstancesPolicy
		members []member
		n       int
		want    []purchase
	}{
		{"all_on_demand_by_default", &api.MixedInstancesPolicy{LaunchTemplate: overrides("m5.large", "c5.large")}, nil, 2,
			[]purchase{{market: "on-demand", instanceType: "m5.large"}, {market: "on-demand", instanceType: "m5.large"}}},
		{"base_then_half_spot", &api.MixedInstancesPolicy{LaunchTemplate: overrides("m5.large", "c5.large"), InstancesDistribution: dist(1, 50, "", "capacity-optimized")}, nil, 5,
			// 1 base; above it 4 units at 50%: 2 On-Demand, 2 Spot spread over both types.
			[]purchase{{market: "on-demand", instanceType: "m5.large"}, {market: "on-demand", instanceType: "m5.large"}, {market: "spot", instanceType: "m5.large"}, {market: "on-demand", instanceType: "m5.large"}, {market: "spot", instanceType: "c5.large"}}},
		{"lowest_price_on_demand", &api.MixedInstancesPolicy{LaunchTemplate: overrides("m5.large", "t3.micro"), InstancesDistribution: dist(0, 100, "lowest-price", "")}, nil, 1,
			[]purchase{{market: "on-demand", instanceType: "t3.micro"}}},
		{"all_spot_lowest_price_one_pool", &api.MixedInstancesPolicy{LaunchTemplate: overrides("m5.large", "t3.micro", "c5.large"),
			InstancesDistribution: &api.InstancesDistribution{OnDemandPercentageAboveBaseCapacity: ptr(int32(0)), SpotInstancePools: ptr(int32(1))}}, nil, 2,
			[]purchase{{market: "spot", instanceType: "t3.micro"}, {market: "spot", instanceType: "t3.micro"}}},
		{"existing_members_count", &api.MixedInstancesPolicy{LaunchTemplate: overrides("m5.large"), InstancesDistribution: dist(2, 0, "", "")},
			[]member{{ID: "i-1", Lifecycle: "InService"}, {ID: "i-2", Lifecycle: "InService"}}, 1,
			[]purchase{{market: "spot", instanceType: "m5.large"}}},
	}
	weighted := &api.MixedInstancesPolicy{LaunchTemplate: overrides("t3.small", "t3.micro")}
	weighted.LaunchTemplate.Overrides[0].WeightedCapacity = ptr("2")
	weighted.LaunchTemplate.Overrides[1].WeightedCapacity = ptr("1")
	tests = append(tests, struct {
		name    string
		policy  *api.MixedInstancesPolicy
		members []member
		n       int
		want    []purchase
	}{"weights_cover_the_units", weighted, nil, 3,
		// 3 units of the first type at weight 2: two instances, 4 units.
		[]purchase{{market: "on-demand", instanceType: "t3.small", weight: 2}, {market: "on-demand", instanceType: "t3.small", weight: 2}}})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := mixedPurchases(groupRecord{MixedInstancesPolicy: tt.policy, Members: tt.members}, tt.n)
			if len(got) != len(tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Fatalf("got %v, want %v", got, tt.want)
				}
			}
		})
	}
}
