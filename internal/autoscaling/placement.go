package autoscaling

import (
	"time"

	"github.com/nephele-dev/nephele/internal/autoscaling/termination"
)

// termGroup and termInstances describe a group to the termination package.
func termGroup(g groupRecord) termination.Group {
	tg := termination.Group{Policies: g.TerminationPolicies, CurrentLaunchConfigurationName: g.LaunchConfigurationName}
	if spec := launchSpec(g); spec != nil {
		tg.CurrentLaunchTemplateName = str(spec.LaunchTemplateName)
		if tg.CurrentLaunchTemplateName == "" {
			tg.CurrentLaunchTemplateName = str(spec.LaunchTemplateId)
		}
		tg.CurrentLaunchTemplateVersion = str(spec.Version)
	}
	if p := g.MixedInstancesPolicy; p != nil {
		d := distribution(p)
		tg.Distribution = &termination.Distribution{OnDemandBaseCapacity: int(deref(d.OnDemandBaseCapacity)),
			OnDemandPercentageAboveBaseCapacity: int(deref(d.OnDemandPercentageAboveBaseCapacity))}
		tg.OnDemandPriority = onDemandOrder(p)
		tg.SpotAllocationStrategy = str(d.SpotAllocationStrategy)
	}
	seen := map[string]bool{}
	for _, z := range g.Zones {
		if !seen[z.Name] {
			seen[z.Name] = true
			tg.AvailabilityZones = append(tg.AvailabilityZones, z.Name)
		}
	}
	return tg
}

func termInstances(g groupRecord) []termination.Instance {
	var out []termination.Instance
	for _, m := range g.Members {
		if !m.counts() {
			continue
		}
		ti := termination.Instance{ID: m.ID, AvailabilityZone: m.AZ, LaunchTime: m.Launched, InstanceType: m.InstanceType,
			Lifecycle: cmpOr(m.Market, "on-demand"), ProtectedFromScaleIn: m.Protected, Weight: m.units(), LaunchConfigurationName: m.LaunchConfigurationName}
		if m.LaunchTemplate != nil {
			ti.LaunchTemplateName = str(m.LaunchTemplate.LaunchTemplateName)
			if ti.LaunchTemplateName == "" {
				ti.LaunchTemplateName = str(m.LaunchTemplate.LaunchTemplateId)
			}
			ti.LaunchTemplateVersion = str(m.LaunchTemplate.Version)
		}
		out = append(out, ti)
	}
	return out
}

// selectVictims picks n instances to terminate on scale-in, by the
// group's termination policies.
func selectVictims(g groupRecord, n int, now time.Time) []string {
	return termination.Select(termGroup(g), termInstances(g), n, now)
}

// launchZones picks the zones of n new instances, keeping the group
// balanced.
func launchZones(g groupRecord, n int) []string {
	return termination.LaunchZones(termGroup(g), termInstances(g), n)
}
