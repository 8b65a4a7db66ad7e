package autoscaling

import (
	"cmp"
	"slices"

	api "github.com/nephele-dev/nephele/internal/api/autoscaling"
	"github.com/nephele-dev/nephele/internal/autoscaling/termination"
	"github.com/nephele-dev/nephele/internal/ec2/catalog"
)

// Groups with a MixedInstancesPolicy: each launch chooses a purchase
// option and an instance type as the AWS documentation describes. On-Demand
// fills OnDemandBaseCapacity first, then OnDemandPercentageAboveBaseCapacity
// of the rest (default 100); the remainder is Spot. On-Demand types follow
// OnDemandAllocationStrategy: "prioritized" (the overrides' order, the
// default with overrides) or "lowest-price". Spot types follow
// SpotAllocationStrategy: "lowest-price" (the default) spreads over the
// SpotInstancePools cheapest types (default 2); "capacity-optimized" and
// "price-capacity-optimized" spread over every type, as nephele has no
// Spot capacity signal to follow; "capacity-optimized-prioritized" keeps
// to the overrides' order. Prices are EC2's catalog estimates. Every type
// weighs one capacity unit here: WeightedCapacity is stored and shown,
// not yet counted.

// purchase is one launch's choice: the market ("on-demand" or "spot") and
// the instance type ("" for the launch template's own).
type purchase struct {
	market, instanceType string
}

// distribution is a mixed group's instances distribution with AWS's
// defaults filled in.
func distribution(p *api.MixedInstancesPolicy) api.InstancesDistribution {
	d := api.InstancesDistribution{}
	if p.InstancesDistribution != nil {
		d = *p.InstancesDistribution
	}
	if d.OnDemandBaseCapacity == nil {
		d.OnDemandBaseCapacity = ptr(int32(0))
	}
	if d.OnDemandPercentageAboveBaseCapacity == nil {
		d.OnDemandPercentageAboveBaseCapacity = ptr(int32(100))
	}
	if d.OnDemandAllocationStrategy == nil {
		d.OnDemandAllocationStrategy = ptr("prioritized")
	}
	if d.SpotAllocationStrategy == nil {
		d.SpotAllocationStrategy = ptr("lowest-price")
	}
	if d.SpotInstancePools == nil {
		d.SpotInstancePools = ptr(int32(2))
	}
	return d
}

// overrideTypes are a mixed group's instance types in the overrides'
// order; [""] when it has none (the template's own type).
func overrideTypes(p *api.MixedInstancesPolicy) []string {
	var types []string
	if p.LaunchTemplate != nil {
		for _, o := range p.LaunchTemplate.Overrides {
			if t := str(o.InstanceType); t != "" && !slices.Contains(types, t) {
				types = append(types, t)
			}
		}
	}
	if len(types) == 0 {
		return []string{""}
	}
	return types
}

// byPrice orders types cheapest first, keeping the given order among equal
// or unknown prices.
func byPrice(types []string) []string {
	out := slices.Clone(types)
	slices.SortStableFunc(out, func(a, b string) int {
		pa, oka := catalog.OnDemandPrice(a)
		pb, okb := catalog.OnDemandPrice(b)
		if !oka || !okb {
			return 0
		}
		return cmp.Compare(pa, pb)
	})
	return out
}

// onDemandOrder is the On-Demand types in the order the allocation
// strategy prefers them.
func onDemandOrder(p *api.MixedInstancesPolicy) []string {
	types := overrideTypes(p)
	if str(distribution(p).OnDemandAllocationStrategy) == "lowest-price" {
		return byPrice(types)
	}
	return types
}

// mixedPurchases chooses the purchase of each of n launches into a mixed
// group, given its members.
func mixedPurchases(g groupRecord, n int) []purchase {
	p := g.MixedInstancesPolicy
	d := distribution(p)
	split := termination.Distribution{OnDemandBaseCapacity: int(deref(d.OnDemandBaseCapacity)), OnDemandPercentageAboveBaseCapacity: int(deref(d.OnDemandPercentageAboveBaseCapacity))}
	onDemand, capacity := 0, 0
	spotByType := map[string]int{}
	for _, m := range g.Members {
		if !m.counts() {
			continue
		}
		capacity++
		if m.Market == "spot" {
			spotByType[m.InstanceType]++
		} else {
			onDemand++
		}
	}
	odType := onDemandOrder(p)[0]
	types := overrideTypes(p)
	var pools []string
	switch str(d.SpotAllocationStrategy) {
	case "lowest-price":
		pools = byPrice(types)[:min(max(int(deref(d.SpotInstancePools)), 1), len(types))]
	case "capacity-optimized-prioritized":
		pools = types[:1]
	default:
		pools = types
	}
	out := make([]purchase, 0, n)
	for range n {
		capacity++
		if onDemand < split.OnDemandTarget(capacity) {
			onDemand++
			out = append(out, purchase{market: "on-demand", instanceType: odType})
			continue
		}
		// Spread Spot over the pools: the least used first, in order.
		best := pools[0]
		for _, t := range pools[1:] {
			if spotByType[t] < spotByType[best] {
				best = t
			}
		}
		spotByType[best]++
		out = append(out, purchase{market: "spot", instanceType: best})
	}
	return out
}
