// Package termination decides which instances an Auto Scaling group
// terminates when it scales in, and in which Availability Zones it launches
// when it scales out or rebalances, following the Amazon EC2 Auto Scaling
// User Guide:
//
//   - "Configure termination policies for Amazon EC2 Auto Scaling"
//     (ec2-auto-scaling-termination-policies), with its sections "How the
//     default termination policy works", "Default termination policy and
//     mixed instances groups" and the predefined policies;
//   - "Controlling which Auto Scaling instances terminate during scale in"
//     (as-instance-termination), whose worked example the tests replay;
//   - "Example: Distribute instances across Availability Zones"
//     (auto-scaling-benefits), sections "Instance distribution" and
//     "Rebalancing activities".
//
// Everything here is a pure function of its arguments: the caller passes the
// group's instances and, where running time matters, the current time from
// its clock. Where AWS chooses "at random" this package chooses the
// instance with the smallest ID instead, so that a test and a replay of the
// same state give the same answer.
//
// Zonal balance is measured in capacity units (each instance's Weight, 1
// without weights), since the size of a group with instance weighting "is
// measured in capacity units, and not in instances"; without weights that
// is the number of instances the documentation speaks of.
package termination

import (
	"cmp"
	"math"
	"slices"
	"strconv"
	"time"
)

// The termination policies AWS accepts in TerminationPolicies, spelled as
// on the wire.
const (
	AllocationStrategy        = "AllocationStrategy"
	ClosestToNextInstanceHour = "ClosestToNextInstanceHour"
	Default                   = "Default"
	NewestInstance            = "NewestInstance"
	OldestInstance            = "OldestInstance"
	OldestLaunchConfiguration = "OldestLaunchConfiguration"
	OldestLaunchTemplate      = "OldestLaunchTemplate"
)

// PolicyTypes returns the predefined termination policies in the order
// DescribeTerminationPolicyTypes lists them.
func PolicyTypes() []string {
	return []string{
		AllocationStrategy, ClosestToNextInstanceHour, Default, NewestInstance,
		OldestInstance, OldestLaunchConfiguration, OldestLaunchTemplate,
	}
}

// The purchase options an Instance's Lifecycle names.
const (
	OnDemand = "on-demand"
	Spot     = "spot"
)

// Instance is what the decisions here need to know about one instance of
// the group. The caller passes the instances that count toward the group's
// capacity (InService ones, typically); an instance that is unhealthy is
// replaced rather than chosen by a termination policy, so it does not
// belong here either.
type Instance struct {
	ID               string
	AvailabilityZone string
	LaunchTime       time.Time

	// LaunchTemplateName and LaunchTemplateVersion are "" when the instance
	// was launched from a launch configuration. The version is the
	// resolved number as a string ("3"), not "$Latest" or "$Default".
	LaunchTemplateName, LaunchTemplateVersion string
	// LaunchConfigurationName is "" when the instance was launched from a
	// launch template.
	LaunchConfigurationName string

	InstanceType string
	// Lifecycle is OnDemand or Spot; "" counts as OnDemand.
	Lifecycle string
	// ProtectedFromScaleIn keeps the instance from being chosen, though it
	// still counts toward its zone's size and its purchase option's share.
	ProtectedFromScaleIn bool
	// Weight is the capacity units the instance contributes (its
	// WeightedCapacity); 0 or less counts as 1.
	Weight int
}

// Group is what the decisions here need to know about an Auto Scaling group.
type Group struct {
	// Policies are the group's TerminationPolicies in order; empty means
	// [Default]. Names this package does not know (such as the ARN of a
	// custom Lambda termination policy) are skipped.
	Policies []string

	// CurrentLaunchTemplateName and CurrentLaunchTemplateVersion are the
	// group's launch template and its version resolved to a number ("7"),
	// or "" for a group that uses a launch configuration.
	CurrentLaunchTemplateName, CurrentLaunchTemplateVersion string
	// CurrentLaunchConfigurationName is the group's launch configuration,
	// or "" for a group that uses a launch template.
	CurrentLaunchConfigurationName string
	// LaunchConfigurationCreated gives the CreatedTime of launch
	// configurations, so that "the oldest launch configuration" can be told
	// apart among several that are no longer the group's. Optional: a
	// configuration missing from it counts as older than any listed.
	LaunchConfigurationCreated map[string]time.Time

	// AvailabilityZones are the group's enabled zones, in the order that
	// breaks ties between equally small zones when launching. Instances in
	// other zones are the first to go.
	AvailabilityZones []string

	// OnDemandPriority lists the group's instance types from highest to
	// lowest priority: the order of the launch template overrides for the
	// "prioritized" On-Demand allocation strategy, or cheapest first for
	// "lowest-price". The AllocationStrategy criterion terminates On-Demand
	// instances of the lowest-priority type first, and instances of types
	// no longer listed before those. Spot instances follow the same order
	// when SpotAllocationStrategy is "capacity-optimized-prioritized".
	OnDemandPriority []string
	// SpotAllocationStrategy is the group's Spot allocation strategy.
	// With "lowest-price" the AllocationStrategy criterion terminates from
	// the most populated Spot pool (instance type and zone) first, which
	// keeps Spot capacity spread over the pools; with the capacity
	// strategies it does not narrow, since the emulator has no Spot
	// capacity signal to follow.
	SpotAllocationStrategy string

	// Distribution is the On-Demand/Spot split of a group with a
	// MixedInstancesPolicy, nil for a group without one. Only a group with
	// one first chooses a purchase option to terminate and applies the
	// AllocationStrategy criterion.
	Distribution *Distribution
}

// Distribution is the part of a MixedInstancesPolicy's InstancesDistribution
// that sets how many capacity units are On-Demand and how many Spot.
type Distribution struct {
	// OnDemandBaseCapacity is the capacity that On-Demand instances fill
	// first.
	OnDemandBaseCapacity int
	// OnDemandPercentageAboveBaseCapacity is the On-Demand share, 0 to 100,
	// of the capacity beyond the base. AWS defaults it to 100; the caller
	// passes the resolved value.
	OnDemandPercentageAboveBaseCapacity int
}

// OnDemandTarget returns how many of capacity units should be On-Demand:
// the base first, then the percentage of the rest. AWS does not document
// how a fractional share rounds; this rounds the On-Demand share up, so a
// 50% split of 5 units is 3 On-Demand and 2 Spot.
func (d Distribution) OnDemandTarget(capacity int) int {
	if capacity <= d.OnDemandBaseCapacity {
		return max(capacity, 0)
	}
	above := capacity - d.OnDemandBaseCapacity
	pct := min(max(d.OnDemandPercentageAboveBaseCapacity, 0), 100)
	return d.OnDemandBaseCapacity + (above*pct+99)/100
}

// Select returns the IDs of up to n instances to terminate, in the order
// chosen, applying the rules AWS documents for scale in. Each instance is
// chosen as if alone, from the instances the earlier choices left:
//
//  1. Only instances not protected from scale in are candidates.
//  2. A group with a mixed instances policy (g.Distribution) first decides
//     which purchase option to terminate: On-Demand if the On-Demand
//     capacity would still exceed its target share with one unit fewer,
//     Spot otherwise (or the other option if none of the chosen one can be
//     terminated).
//  3. Zonal balance takes precedence over the policies: candidates in
//     zones the group no longer uses go first; otherwise the candidates are
//     narrowed to the zone with the most capacity (protected instances
//     included) that has a candidate. A group with a mixed instances policy
//     breaks a tie by the most capacity of the chosen purchase option, so
//     the zones end as balanced as possible. Zones still tied are
//     balanced, and the policies then apply across all of them.
//  4. The termination policies apply in order, each keeping only the
//     candidates it prefers. Default stands for the default policy's
//     steps: AllocationStrategy (groups with a mixed instances policy
//     only), then outdated configurations (OldestLaunchTemplate's order
//     for a group with a launch template, OldestLaunchConfiguration's for
//     one with a launch configuration), then ClosestToNextInstanceHour.
//     When the list does not name Default, its steps still follow the list.
//  5. Where the default policy would choose at random among the
//     candidates left, Select chooses the smallest ID.
//
// Select returns fewer than n IDs when fewer instances are unprotected:
// AWS still lowers the desired capacity then, but cannot terminate
// protected instances.
func Select(g Group, instances []Instance, n int, now time.Time) []string {
	rest := slices.Clone(instances)
	var out []string
	for len(out) < n {
		cands := unprotected(rest)
		if len(cands) == 0 {
			break
		}
		option := ""
		if g.Distribution != nil {
			option = purchaseOption(*g.Distribution, rest, cands)
			cands = keep(cands, func(i Instance) bool { return lifecycle(i) == option })
		}
		cands = byZone(g, rest, cands, option)
		id := choose(g, rest, cands, now)
		out = append(out, id)
		rest = remove(rest, id)
	}
	return out
}

// purchaseOption decides whether the next instance to go is On-Demand or
// Spot, so that what remains keeps the split d asks for ("Amazon EC2 Auto
// Scaling first identifies which of the two types (Spot or On-Demand)
// should be terminated"). It answers an option some candidate has.
func purchaseOption(d Distribution, rest, cands []Instance) string {
	onDemand, spot := 0, 0
	for _, i := range rest {
		if lifecycle(i) == Spot {
			spot += weight(i)
		} else {
			onDemand += weight(i)
		}
	}
	want, other := Spot, OnDemand
	if onDemand > d.OnDemandTarget(onDemand+spot-1) {
		want, other = OnDemand, Spot
	}
	for _, c := range cands {
		if lifecycle(c) == want {
			return want
		}
	}
	return other
}

// byZone narrows the candidates to the zone or zones termination starts in:
// zones the group no longer uses, else the one with the most capacity (and,
// when option is set, the most of that purchase option).
func byZone(g Group, rest, cands []Instance, option string) []Instance {
	if len(g.AvailabilityZones) > 0 {
		gone := keep(cands, func(i Instance) bool { return !enabled(g, i.AvailabilityZone) })
		if len(gone) > 0 {
			return gone
		}
	}
	type size struct{ all, option int }
	sizes := map[string]size{}
	for _, i := range rest {
		s := sizes[i.AvailabilityZone]
		s.all += weight(i)
		if lifecycle(i) == option {
			s.option += weight(i)
		}
		sizes[i.AvailabilityZone] = s
	}
	return keepBest(cands, func(a, b Instance) int {
		sa, sb := sizes[a.AvailabilityZone], sizes[b.AvailabilityZone]
		return cmp.Or(cmp.Compare(sb.all, sa.all), cmp.Compare(sb.option, sa.option))
	})
}

// choose applies the group's termination policies to the candidates and
// returns the ID of the one to terminate. rest is every instance still in
// the group, for criteria that look at more than the candidates.
func choose(g Group, rest, cands []Instance, now time.Time) string {
	policies := g.Policies
	if len(policies) == 0 {
		policies = []string{Default}
	}
	sawDefault := false
	for _, p := range policies {
		if p == Default {
			sawDefault = true
		}
		cands = applyPolicy(g, rest, cands, p, now)
	}
	if !sawDefault {
		cands = applyPolicy(g, rest, cands, Default, now)
	}
	// AWS picks at random among instances the policies cannot tell apart.
	return slices.MinFunc(cands, func(a, b Instance) int { return cmp.Compare(a.ID, b.ID) }).ID
}

// applyPolicy keeps the candidates that policy terminates first.
func applyPolicy(g Group, rest, cands []Instance, policy string, now time.Time) []Instance {
	if len(cands) <= 1 {
		return cands
	}
	switch policy {
	case Default:
		cands = applyPolicy(g, rest, cands, AllocationStrategy, now)
		switch {
		case g.CurrentLaunchTemplateName != "":
			cands = applyPolicy(g, rest, cands, OldestLaunchTemplate, now)
		case g.CurrentLaunchConfigurationName != "":
			cands = applyPolicy(g, rest, cands, OldestLaunchConfiguration, now)
		}
		return applyPolicy(g, rest, cands, ClosestToNextInstanceHour, now)
	case OldestInstance:
		return keepBest(cands, func(a, b Instance) int { return a.LaunchTime.Compare(b.LaunchTime) })
	case NewestInstance:
		return keepBest(cands, func(a, b Instance) int { return b.LaunchTime.Compare(a.LaunchTime) })
	case ClosestToNextInstanceHour:
		return keepBest(cands, func(a, b Instance) int {
			return cmp.Compare(untilNextHour(a, now), untilNextHour(b, now))
		})
	case OldestLaunchConfiguration:
		return keepBest(cands, func(a, b Instance) int {
			return configurationAge(g, a).compare(configurationAge(g, b))
		})
	case OldestLaunchTemplate:
		if g.CurrentLaunchTemplateName == "" {
			return cands
		}
		return keepBest(cands, func(a, b Instance) int {
			return templateAge(g, a).compare(templateAge(g, b))
		})
	case AllocationStrategy:
		if g.Distribution == nil {
			return cands
		}
		return keepBest(cands, func(a, b Instance) int {
			return cmp.Compare(allocationMisfit(g, rest, b), allocationMisfit(g, rest, a))
		})
	}
	return cands
}

// untilNextHour is how long before the instance starts another billing
// hour, to the second.
func untilNextHour(i Instance, now time.Time) time.Duration {
	running := max(now.Sub(i.LaunchTime), 0).Truncate(time.Second)
	return time.Hour - running%time.Hour
}

// age orders instances by how outdated their configuration is; the
// smallest terminates first.
type age struct {
	tier    int       // which kind of outdated; see templateAge and configurationAge
	created time.Time // a launch configuration's CreatedTime; zero when unknown
	version int       // a launch template version
}

func (a age) compare(b age) int {
	return cmp.Or(cmp.Compare(a.tier, b.tier), a.created.Compare(b.created), cmp.Compare(a.version, b.version))
}

// templateAge ranks an instance for a group with a launch template, in the
// order the default policy documents: launched from a launch configuration
// (the oldest first), then from a launch template other than the group's,
// then from another version of the group's template (the oldest version
// first), and last from the group's current template and version.
func templateAge(g Group, i Instance) age {
	switch {
	case i.LaunchTemplateName == "" && i.LaunchConfigurationName != "":
		return age{tier: 0, created: g.LaunchConfigurationCreated[i.LaunchConfigurationName]}
	case i.LaunchTemplateName != g.CurrentLaunchTemplateName:
		return age{tier: 1}
	case !sameVersion(i.LaunchTemplateVersion, g.CurrentLaunchTemplateVersion):
		return age{tier: 2, version: versionNumber(i.LaunchTemplateVersion)}
	}
	return age{tier: 3}
}

// configurationAge ranks an instance by launch configuration: instances not
// launched from the group's current configuration first, the oldest
// configuration among them first. In a group with a launch template every
// instance launched from a configuration is outdated and the others are
// not.
func configurationAge(g Group, i Instance) age {
	current := i.LaunchConfigurationName == g.CurrentLaunchConfigurationName
	if current {
		return age{tier: 1}
	}
	return age{tier: 0, created: g.LaunchConfigurationCreated[i.LaunchConfigurationName]}
}

func sameVersion(a, b string) bool {
	na, errA := strconv.Atoi(a)
	nb, errB := strconv.Atoi(b)
	if errA == nil && errB == nil {
		return na == nb
	}
	return a == b
}

// versionNumber reads a launch template version; one that is not a number
// counts as the newest.
func versionNumber(v string) int {
	n, err := strconv.Atoi(v)
	if err != nil {
		return math.MaxInt
	}
	return n
}

// allocationMisfit scores how far an instance is from where the group's
// allocation strategy would put its purchase option's capacity now; the
// highest terminates first.
func allocationMisfit(g Group, rest []Instance, i Instance) int {
	prioritized := lifecycle(i) == OnDemand || g.SpotAllocationStrategy == "capacity-optimized-prioritized"
	switch {
	case prioritized && len(g.OnDemandPriority) > 0:
		// A type no longer listed is less wanted than the last listed.
		if p := slices.Index(g.OnDemandPriority, i.InstanceType); p >= 0 {
			return p
		}
		return len(g.OnDemandPriority)
	case lifecycle(i) == Spot && g.SpotAllocationStrategy == "lowest-price":
		pool := 0
		for _, r := range rest {
			if lifecycle(r) == Spot && r.InstanceType == i.InstanceType && r.AvailabilityZone == i.AvailabilityZone {
				pool += weight(r)
			}
		}
		return pool
	}
	return 0
}

// keepBest returns the candidates that compare equal to the smallest.
func keepBest(cands []Instance, compare func(a, b Instance) int) []Instance {
	if len(cands) == 0 {
		return cands
	}
	best := slices.MinFunc(cands, compare)
	return keep(cands, func(i Instance) bool { return compare(i, best) == 0 })
}

func keep(in []Instance, ok func(Instance) bool) []Instance {
	var out []Instance
	for _, i := range in {
		if ok(i) {
			out = append(out, i)
		}
	}
	return out
}

func unprotected(in []Instance) []Instance {
	return keep(in, func(i Instance) bool { return !i.ProtectedFromScaleIn })
}

// remove returns in without the instance with the given ID.
func remove(in []Instance, id string) []Instance {
	return slices.DeleteFunc(in, func(i Instance) bool { return i.ID == id })
}

func lifecycle(i Instance) string {
	if i.Lifecycle == Spot {
		return Spot
	}
	return OnDemand
}

func weight(i Instance) int {
	return max(i.Weight, 1)
}
