package termination

import (
	"slices"
	"time"
)

// LaunchZones returns the Availability Zone for each of n new instances, so
// that the group stays balanced across g.AvailabilityZones: "Amazon EC2 Auto
// Scaling ... attempting to launch new instances in the Availability Zone
// with the fewest instances". Each new instance goes to the zone with the
// least capacity counting the ones placed before it, ties going to the zone
// listed first; each counts as one capacity unit. Instances in zones the
// group no longer uses do not count. A group with no zones gets nil.
//
// When a launch in the chosen zone fails, AWS tries another zone; that
// retry is the caller's, since only it sees the failure.
func LaunchZones(g Group, instances []Instance, n int) []string {
	if len(g.AvailabilityZones) == 0 || n <= 0 {
		return nil
	}
	sizes := zoneSizes(g, instances)
	out := make([]string, 0, n)
	for range n {
		az := smallest(g, sizes)
		sizes[az]++
		out = append(out, az)
	}
	return out
}

// Rebalance returns what Availability Zone rebalancing would do to the
// group: the zones to launch replacements in, and the IDs of the instances
// those replacements let it terminate afterwards (AWS launches before it
// terminates, so rebalancing does not lower capacity). launch[k] replaces
// terminate[k].
//
// The group needs rebalancing when it has instances in zones it no longer
// uses (after its zones change), or when a zone is larger than the
// smallest by more than the weight of an instance that could move (one
// unit unweighted: after an instance is terminated or detached, or a zone
// that lacked capacity recovers), so a move narrows the gap instead of
// swapping the zones. Each step launches in the smallest zone (as
// LaunchZones would) and terminates an instance from a zone the group no
// longer uses, else from such a larger zone, choosing within that zone as
// Select does (now is for ClosestToNextInstanceHour).
// Rebalancing does not first choose a purchase option as Select does for a
// group with a mixed instances policy: a replacement leaves the split as it
// was. Instances protected from scale in stay where they are. Both results
// are nil when the group is balanced.
//
// A replacement counts as one capacity unit; in a group with instance
// weights the caller's capacity check launches whatever else is needed.
// Exceeding MaxSize by the documented margin (10% or one instance) while
// the replacements run is the caller's concern too.
func Rebalance(g Group, instances []Instance, now time.Time) (launch []string, terminate []string) {
	if len(g.AvailabilityZones) == 0 {
		return nil, nil
	}
	rest := slices.Clone(instances)
	sizes := zoneSizes(g, rest)
	for {
		to := smallest(g, sizes)
		cands := unprotected(rest)
		gone := keep(cands, func(i Instance) bool { return !enabled(g, i.AvailabilityZone) })
		if len(gone) > 0 {
			cands = gone
		} else {
			// Moving an instance of weight w narrows the gap only when
			// the gap is more than w (more than one unit unweighted).
			cands = keep(cands, func(i Instance) bool { return sizes[i.AvailabilityZone]-sizes[to] > weight(i) })
		}
		if len(cands) == 0 {
			return launch, terminate
		}
		cands = byZone(g, rest, cands, "")
		id := choose(g, rest, cands, now)
		for _, i := range rest {
			if i.ID == id && enabled(g, i.AvailabilityZone) {
				sizes[i.AvailabilityZone] -= weight(i)
			}
		}
		sizes[to]++
		launch = append(launch, to)
		terminate = append(terminate, id)
		rest = remove(rest, id)
	}
}

// zoneSizes sums the capacity of the instances in each of the group's zones.
func zoneSizes(g Group, instances []Instance) map[string]int {
	sizes := make(map[string]int, len(g.AvailabilityZones))
	for _, az := range g.AvailabilityZones {
		sizes[az] = 0
	}
	for _, i := range instances {
		if enabled(g, i.AvailabilityZone) {
			sizes[i.AvailabilityZone] += weight(i)
		}
	}
	return sizes
}

// smallest returns the group's zone with the least capacity, the first
// listed among equals. g.AvailabilityZones must not be empty.
func smallest(g Group, sizes map[string]int) string {
	best := g.AvailabilityZones[0]
	for _, az := range g.AvailabilityZones[1:] {
		if sizes[az] < sizes[best] {
			best = az
		}
	}
	return best
}

func enabled(g Group, az string) bool {
	return slices.Contains(g.AvailabilityZones, az)
}
