package autoscaling

import (
	"fmt"
	"slices"
	"time"

	"github.com/nephele-dev/nephele/internal/autoscaling/termination"
)

// Replacements a healthy group makes on its own, as the AWS
// documentation describes them: Availability Zone rebalancing (after the
// group's zones change, or instances leave one zone, the group launches
// in the smallest zone first and only then terminates in the largest, so
// capacity never drops), the maximum instance lifetime (an instance older
// than MaxInstanceLifetime is replaced, one at a time) and Capacity
// Rebalancing (a Spot Instance with a rebalance recommendation is replaced
// before EC2 interrupts it). Each takes one step per reconciler pass, and
// only while the group is otherwise settled: no instance coming or going,
// and no instance refresh.

// settled reports whether a group has nothing else in flight.
func settled(g groupRecord, desired int) bool {
	capacity := g.capacity()
	if g.Deleting || g.RefreshID != "" || capacity < desired {
		return false
	}
	// Above desired only by less than the smallest weight: nothing left
	// to scale in.
	for _, m := range g.Members {
		if m.counts() && capacity-m.units() >= desired {
			return false
		}
	}
	return !slices.ContainsFunc(g.Members, func(m member) bool {
		return m.Lifecycle != "InService" && m.Lifecycle != "Standby" && !warmReady(m)
	})
}

// replaceStep takes one step of rebalancing or lifetime replacement. A
// member being replaced stops counting toward capacity (so the reconciler
// launches its replacement, in the zone LaunchZones picks: the smallest)
// and is terminated once the replacement is InService.
func (r *reconciler) replaceStep(sc scope, g *groupRecord, desired int, now time.Time) (terminate []string, acts []activityRecord, changed bool) {
	// Replacements that are in: the replaced go.
	if slices.ContainsFunc(g.Members, func(m member) bool { return m.Replacing != "" }) {
		if slices.ContainsFunc(g.Members, func(m member) bool { return m.counts() && m.Lifecycle != "InService" }) {
			return nil, nil, false // a replacement is still on its way
		}
		for i := range g.Members {
			m := &g.Members[i]
			if m.Replacing == "" || m.Lifecycle != "InService" {
				continue
			}
			m.Lifecycle = "Terminating"
			terminate = append(terminate, m.ID)
			a := newActivity(*g, now, "Terminating EC2 instance: "+m.ID, fmt.Sprintf("At %s an instance was taken out of service in response to %s.  At %s instance %s was selected for termination.",
				now.Format(causeTime), m.Replacing, now.Format(causeTime), m.ID), "InProgress")
			a.Instance, a.Details = m.ID, details(subnetOf(*g, m.AZ), m.AZ)
			acts = append(acts, a)
		}
		return terminate, acts, len(terminate) > 0
	}
	if !settled(*g, desired) {
		return nil, nil, false
	}
	// Capacity Rebalancing: Spot Instances with a rebalance
	// recommendation are replaced before EC2 interrupts them.
	if g.CapacityRebalance {
		var spot []string
		for _, m := range g.Members {
			if m.Market == "spot" && m.Lifecycle == "InService" {
				spot = append(spot, m.ID)
			}
		}
		if len(spot) > 0 {
			recommended, err := r.s.opts.Compute.RebalanceRecommended(r.ctx, sc.Account, sc.Region, spot)
			if err != nil {
				r.s.log().Warn("autoscaling: reading rebalance recommendations", "group", g.Name, "err", err)
			}
			for i := range g.Members {
				if recommended[g.Members[i].ID] {
					g.Members[i].Replacing, changed = "an EC2 instance rebalance recommendation", true
				}
			}
			if changed {
				return nil, nil, true
			}
		}
	}
	// An instance past its lifetime first: AWS replaces those whatever the
	// zones look like.
	if g.MaxInstanceLifetime > 0 {
		oldest := -1
		for i, m := range g.Members {
			if m.Lifecycle == "InService" && !m.Protected && now.Sub(m.Launched) >= secondsOf(g.MaxInstanceLifetime) &&
				(oldest < 0 || m.Launched.Before(g.Members[oldest].Launched)) {
				oldest = i
			}
		}
		if oldest >= 0 {
			g.Members[oldest].Replacing = "the maximum instance lifetime being exceeded"
			return nil, nil, true
		}
	}
	if g.suspended("AZRebalance") || g.suspended("Launch") || g.suspended("Terminate") {
		return nil, nil, false
	}
	if _, victims := termination.Rebalance(termGroup(*g), termInstances(*g), now); len(victims) > 0 {
		i := slices.IndexFunc(g.Members, func(m member) bool { return m.ID == victims[0] })
		if i >= 0 {
			g.Members[i].Replacing = "an Availability Zone rebalancing"
			return nil, nil, true
		}
	}
	return nil, nil, false
}
