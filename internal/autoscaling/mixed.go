package autoscaling

import (
	"cmp"
	"slices"
	"strconv"

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
// to the overrides' order. Prices are EC2's catalog estimates. With
// WeightedCapacity on the overrides, desired capacity is in those units:
// an instance counts for its type's weight.

// purchase is one launch's choice: the market ("on-demand" or "spot") and
// the instance type ("" for the launch template's own).
type purchase struct {
	market, instanceType string
	// weight is the type's WeightedCapacity; 0 when the group has none.
	weight int
}

// units is the capacity a purchase adds.
func (p purchase) units() int { return max(p.weight, 1) }

// typeWeights are a mixed group's WeightedCapacity by instance type; nil
// when no override sets one.
func typeWeights(p *api.MixedInstancesPolicy) map[string]int {
	if p.LaunchTemplate == nil {
		return nil
	}
	var w map[string]int
	for _, o := range p.LaunchTemplate.Overrides {
		if n, err := strconv.Atoi(str(o.WeightedCapacity)); err == nil && n > 0 {
			if w == nil {
				w = map[string]int{}
			}
			w[str(o.InstanceType)] = n
		}
	}
	return w
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

// mixedPurchases chooses the purchases that add n capacity units to a
// mixed group, given its members: one instance per unit, or, with
// weights, instances until their weights cover n (the group may end a
// little above desired capacity, as AWS's does).
func mixedPurchases(g groupRecord, n int) []purchase {
	p := g.MixedInstancesPolicy
	d := distribution(p)
	split := termination.Distribution{OnDemandBaseCapacity: int(deref(d.OnDemandBaseCapacity)), OnDemandPercentageAboveBaseCapacity: int(deref(d.OnDemandPercentageAboveBaseCapacity))}
	weights := typeWeights(p)
	onDemand, capacity := 0, 0
	spotByType := map[string]int{}
	for _, m := range g.Members {
		if !m.counts() {
			continue
		}
		capacity += m.units()
		if m.Market == "spot" {
			spotByType[m.InstanceType]++
		} else {
			onDemand += m.units()
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
	for added := 0; added < n; {
		if onDemand < split.OnDemandTarget(capacity+1) {
			buy := purchase{market: "on-demand", instanceType: odType, weight: weights[odType]}
			onDemand += buy.units()
			capacity += buy.units()
			added += buy.units()
			out = append(out, buy)
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
		buy := purchase{market: "spot", instanceType: best, weight: weights[best]}
		capacity += buy.units()
		added += buy.units()
		out = append(out, buy)
	}
	return out
}
