package autoscaling

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	api "github.com/nephele-dev/nephele/internal/api/autoscaling"
	ec2api "github.com/nephele-dev/nephele/internal/api/ec2"
	"github.com/nephele-dev/nephele/internal/arn"
	"github.com/nephele-dev/nephele/internal/awsid"
	"github.com/nephele-dev/nephele/internal/page"
	"github.com/nephele-dev/nephele/internal/store"
)

// Auto Scaling's documented defaults and quotas.
const (
	defaultCooldown  = 300
	maxGroups        = 200
	maxLaunchConfigs = 200
)

// processes are the scaling processes SuspendProcesses names.
var processes = []string{"Launch", "Terminate", "AddToLoadBalancer", "AlarmNotification", "AZRebalance",
	"HealthCheck", "InstanceRefresh", "ReplaceUnhealthy", "ScheduledActions"}

// terminationPolicies are the policies a group may name.
var terminationPolicies = []string{"Default", "AllocationStrategy", "OldestLaunchTemplate", "OldestLaunchConfiguration",
	"ClosestToNextInstanceHour", "NewestInstance", "OldestInstance"}

// causeTime is the time format of activity causes.
const causeTime = "2006-01-02T15:04:05Z"

// CreateAutoScalingGroup creates a group; the reconciler then launches its
// desired capacity.
func (s *Service) CreateAutoScalingGroup(ctx context.Context, in *api.CreateAutoScalingGroupType) (*api.CreateAutoScalingGroupOutput, error) {
	sc := scopeOf(ctx)
	name := str(in.AutoScalingGroupName)
	switch {
	case name == "":
		return nil, validation("1 validation error detected: Value null at 'autoScalingGroupName' failed to satisfy constraint: Member must not be null")
	case in.MinSize == nil || in.MaxSize == nil:
		return nil, validation("1 validation error detected: Value null at '%s' failed to satisfy constraint: Member must not be null", map[bool]string{true: "minSize", false: "maxSize"}[in.MinSize == nil])
	}
	sources := 0
	for _, set := range []bool{in.LaunchTemplate != nil, in.LaunchConfigurationName != nil, in.MixedInstancesPolicy != nil, in.InstanceId != nil} {
		if set {
			sources++
		}
	}
	if sources != 1 {
		return nil, validation("Valid requests must contain either LaunchTemplate, LaunchConfigurationName, InstanceId or MixedInstancesPolicy parameter.")
	}
	if in.InstanceId != nil {
		return nil, validation("Creating a group from an instance (InstanceId) is not supported by nephele; use a launch template.")
	}
	min, max := int(*in.MinSize), int(*in.MaxSize)
	desired := min
	if in.DesiredCapacity != nil {
		desired = int(*in.DesiredCapacity)
	}
	if err := checkBounds(min, max, desired); err != nil {
		return nil, err
	}
	g := groupRecord{
		Name: name, Created: s.now(), Min: min, Max: max, Desired: desired,
		LaunchTemplate: in.LaunchTemplate, LaunchConfigurationName: str(in.LaunchConfigurationName), MixedInstancesPolicy: in.MixedInstancesPolicy,
		DefaultCooldown: defaultCooldown, DefaultInstanceWarmup: in.DefaultInstanceWarmup,
		HealthCheckType: "EC2", HealthCheckGracePeriod: int(deref(in.HealthCheckGracePeriod)),
		MaxInstanceLifetime: int(deref(in.MaxInstanceLifetime)), CapacityRebalance: deref(in.CapacityRebalance),
		ProtectNew:          deref(in.NewInstancesProtectedFromScaleIn),
		TerminationPolicies: []string{"Default"}, PlacementGroup: str(in.PlacementGroup), VPCZoneIdentifier: str(in.VPCZoneIdentifier),
	}
	if in.DefaultCooldown != nil {
		g.DefaultCooldown = int(*in.DefaultCooldown)
	}
	if in.HealthCheckType != nil {
		g.HealthCheckType = *in.HealthCheckType
	}
	if err := checkGroupSettings(&g, in.TerminationPolicies); err != nil {
		return nil, err
	}
	if err := s.checkSource(ctx, sc, &g); err != nil {
		return nil, err
	}
	srcs, tgs, err := sourcesOf(in.TargetGroupARNs, in.TrafficSources)
	if err != nil {
		return nil, err
	}
	if err := s.checkTargetGroups(ctx, sc, tgs); err != nil {
		return nil, err
	}
	g.Sources = srcs
	zones, err := s.resolveZones(ctx, sc, in.AvailabilityZones, str(in.VPCZoneIdentifier))
	if err != nil {
		return nil, err
	}
	g.Zones = zones
	g.ARN = arn.ARN{Partition: arn.Partition(sc.Region), Service: "autoscaling", Region: sc.Region, AccountID: sc.Account,
		Resource: "autoScalingGroup:" + awsid.RequestID() + ":autoScalingGroupName/" + name}.String()
	for _, t := range in.Tags {
		g.Tags = append(g.Tags, tagOf(name, t))
	}
	if err := checkTags(g.Tags); err != nil {
		return nil, err
	}
	g.Cause = fmt.Sprintf("At %s a user request created an AutoScalingGroup changing the desired capacity from 0 to %d.", g.Created.Format(causeTime), desired)
	err = s.st.Update(func(tx store.Tx) error {
		if err := tx.Get(bucketGroups, sc.Key(name), &groupRecord{}); err == nil {
			return alreadyExists("AutoScalingGroup by this name already exists - A group with the name %s already exists", name)
		} else if !errors.Is(err, store.ErrNotFound) {
			return err
		}
		n := 0
		if err := tx.ForEach(bucketGroups, sc.Prefix(), func(string, func(any) error) error { n++; return nil }); err != nil {
			return err
		}
		if n >= maxGroups {
			return awserrLimit("You have reached your quota of %d Auto Scaling groups.", maxGroups)
		}
		for _, spec := range in.LifecycleHookSpecificationList {
			if spec.LifecycleTransition == nil {
				return validation("LifecycleTransition is required for lifecycle hook %s.", str(spec.LifecycleHookName))
			}
			h, err := hookOf(name, spec)
			if err != nil {
				return err
			}
			if err := s.checkNotificationTarget(h); err != nil {
				return err
			}
			if err := putHook(tx, sc, h); err != nil {
				return err
			}
		}
		return putGroup(tx, sc, g)
	})
	if err != nil {
		return nil, err
	}
	s.rec.wake()
	return &api.CreateAutoScalingGroupOutput{}, nil
}

// checkBounds applies the rules tying min, max and desired.
func checkBounds(min, max, desired int) error {
	if min > max {
		return validation("Max bound, %d, must be greater than or equal to min bound, %d", max, min)
	}
	if desired < min || desired > max {
		return validation("Desired capacity:%d must be between the specified min size:%d and max size:%d", desired, min, max)
	}
	return nil
}

// checkGroupSettings validates the settings both Create and Update take.
func checkGroupSettings(g *groupRecord, policies []string) error {
	if g.HealthCheckType != "EC2" && g.HealthCheckType != "ELB" && g.HealthCheckType != "VPC_LATTICE" && g.HealthCheckType != "EBS" {
		return validation("Invalid health check type: %s. Valid values are EC2, ELB, VPC_LATTICE and EBS.", g.HealthCheckType)
	}
	if g.MaxInstanceLifetime != 0 && (g.MaxInstanceLifetime < 86400 || g.MaxInstanceLifetime > 31536000) {
		return validation("The maximum instance lifetime must be 0 or between 86400 and 31536000 seconds.")
	}
	if len(policies) > 0 {
		for _, p := range policies {
			if !slices.Contains(terminationPolicies, p) && !strings.HasPrefix(p, "arn:") {
				return validation("Termination policy %s is not supported.", p)
			}
		}
		g.TerminationPolicies = policies
	}
	return nil
}

// checkSource checks that the group's launch template (and version) or
// launch configuration exists.
func (s *Service) checkSource(ctx context.Context, sc scope, g *groupRecord) error {
	spec := g.LaunchTemplate
	if g.MixedInstancesPolicy != nil && g.MixedInstancesPolicy.LaunchTemplate != nil && g.MixedInstancesPolicy.LaunchTemplate.LaunchTemplateSpecification != nil {
		spec = g.MixedInstancesPolicy.LaunchTemplate.LaunchTemplateSpecification
	}
	if spec != nil {
		if (spec.LaunchTemplateId == nil) == (spec.LaunchTemplateName == nil) {
			return validation("Valid requests must contain either launchTemplateId or LaunchTemplateName")
		}
		version := str(spec.Version)
		if version == "" {
			version = "$Default"
		}
		_, err := s.opts.Compute.DescribeLaunchTemplateVersions(sc.Context(ctx), &ec2api.DescribeLaunchTemplateVersionsInput{
			LaunchTemplateId: spec.LaunchTemplateId, LaunchTemplateName: spec.LaunchTemplateName, Versions: []string{version}})
		if err != nil {
			what := "template name " + str(spec.LaunchTemplateName)
			if spec.LaunchTemplateId != nil {
				what = "template id " + *spec.LaunchTemplateId
			}
			return validation("You must use a valid fully-formed launch template. The specified launch template, with %s and version %s, does not exist.", what, version)
		}
		return nil
	}
	if g.LaunchConfigurationName != "" {
		return s.st.View(func(tx store.Tx) error {
			err := tx.Get(bucketLaunchConfigs, sc.Key(g.LaunchConfigurationName), &launchConfigRecord{})
			if errors.Is(err, store.ErrNotFound) {
				return validation("Launch configuration name not found - Launch configuration %s not found", g.LaunchConfigurationName)
			}
			return err
		})
	}
	return nil
}

// resolveZones finds each subnet's Availability Zone, or the default
// subnet of each Availability Zone named.
func (s *Service) resolveZones(ctx context.Context, sc scope, azs []string, vpcZoneIdentifier string) ([]zone, error) {
	var subnets []string
	for _, id := range strings.Split(vpcZoneIdentifier, ",") {
		if id = strings.TrimSpace(id); id != "" {
			subnets = append(subnets, id)
		}
	}
	c := sc.Context(ctx)
	if len(subnets) > 0 {
		var out []zone
		for _, id := range subnets {
			res, err := s.opts.Compute.DescribeSubnets(c, &ec2api.DescribeSubnetsInput{SubnetIds: []string{id}})
			if err != nil || len(res.Subnets) != 1 {
				return nil, validation("The subnet ID '%s' does not exist", id)
			}
			az := str(res.Subnets[0].AvailabilityZone)
			if len(azs) > 0 && !slices.Contains(azs, az) {
				return nil, validation("The availability zones of the specified subnets and the Auto Scaling group do not match")
			}
			out = append(out, zone{Name: az, Subnet: id})
		}
		return out, nil
	}
	if len(azs) == 0 {
		return nil, validation("At least one Availability Zone or VPC Subnet is required.")
	}
	var out []zone
	for _, az := range azs {
		res, err := s.opts.Compute.DescribeSubnets(c, &ec2api.DescribeSubnetsInput{Filters: []ec2api.Filter{
			{Name: ptr("availability-zone"), Values: []string{az}}, {Name: ptr("default-for-az"), Values: []string{"true"}}}})
		if err != nil || len(res.Subnets) == 0 {
			return nil, validation("The availability zone '%s' is not legal", az)
		}
		out = append(out, zone{Name: az, Subnet: str(res.Subnets[0].SubnetId)})
	}
	return out, nil
}

// UpdateAutoScalingGroup changes a group's settings; a new desired
// capacity (or bounds that move it) is acted on at once.
func (s *Service) UpdateAutoScalingGroup(ctx context.Context, in *api.UpdateAutoScalingGroupType) (*api.UpdateAutoScalingGroupOutput, error) {
	sc := scopeOf(ctx)
	name := str(in.AutoScalingGroupName)
	var zones []zone
	if in.AvailabilityZones != nil || in.VPCZoneIdentifier != nil {
		var err error
		if zones, err = s.resolveZones(ctx, sc, in.AvailabilityZones, str(in.VPCZoneIdentifier)); err != nil {
			return nil, err
		}
	}
	var probe groupRecord
	if err := s.st.View(func(tx store.Tx) error { var err error; probe, err = loadGroup(tx, sc, name); return err }); err != nil {
		return nil, err
	}
	if in.LaunchTemplate != nil || in.LaunchConfigurationName != nil || in.MixedInstancesPolicy != nil {
		probe.LaunchTemplate, probe.LaunchConfigurationName, probe.MixedInstancesPolicy = in.LaunchTemplate, str(in.LaunchConfigurationName), in.MixedInstancesPolicy
		if err := s.checkSource(ctx, sc, &probe); err != nil {
			return nil, err
		}
	}
	err := s.st.Update(func(tx store.Tx) error {
		g, err := loadGroup(tx, sc, name)
		if err != nil {
			return err
		}
		if g.Deleting {
			return activityInProgress("An active or pending deletion is in progress for group %s.", name)
		}
		old := g.Desired
		if in.MinSize != nil {
			g.Min = int(*in.MinSize)
		}
		if in.MaxSize != nil {
			g.Max = int(*in.MaxSize)
		}
		if in.DesiredCapacity != nil {
			g.Desired = int(*in.DesiredCapacity)
		} else {
			// New bounds carry desired capacity with them.
			g.Desired = min(max(g.Desired, g.Min), g.Max)
		}
		if err := checkBounds(g.Min, g.Max, g.Desired); err != nil {
			return err
		}
		if in.LaunchTemplate != nil || in.LaunchConfigurationName != nil || in.MixedInstancesPolicy != nil {
			g.LaunchTemplate, g.LaunchConfigurationName, g.MixedInstancesPolicy = probe.LaunchTemplate, probe.LaunchConfigurationName, probe.MixedInstancesPolicy
		}
		if in.DefaultCooldown != nil {
			g.DefaultCooldown = int(*in.DefaultCooldown)
		}
		if in.DefaultInstanceWarmup != nil {
			g.DefaultInstanceWarmup = in.DefaultInstanceWarmup
		}
		if in.HealthCheckType != nil {
			g.HealthCheckType = *in.HealthCheckType
		}
		if in.HealthCheckGracePeriod != nil {
			g.HealthCheckGracePeriod = int(*in.HealthCheckGracePeriod)
		}
		if in.MaxInstanceLifetime != nil {
			g.MaxInstanceLifetime = int(*in.MaxInstanceLifetime)
		}
		if in.CapacityRebalance != nil {
			g.CapacityRebalance = *in.CapacityRebalance
		}
		if in.NewInstancesProtectedFromScaleIn != nil {
			g.ProtectNew = *in.NewInstancesProtectedFromScaleIn
		}
		if in.PlacementGroup != nil {
			g.PlacementGroup = *in.PlacementGroup
		}
		if zones != nil {
			g.Zones, g.VPCZoneIdentifier = zones, str(in.VPCZoneIdentifier)
		}
		if err := checkGroupSettings(&g, in.TerminationPolicies); err != nil {
			return err
		}
		if g.Desired != old {
			g.Cause = fmt.Sprintf("At %s a user request update of AutoScalingGroup constraints to min: %d, max: %d, desired: %d changing the desired capacity from %d to %d.",
				s.now().Format(causeTime), g.Min, g.Max, g.Desired, old, g.Desired)
		}
		return putGroup(tx, sc, g)
	})
	if err != nil {
		return nil, err
	}
	s.rec.wake()
	return &api.UpdateAutoScalingGroupOutput{}, nil
}

// DeleteAutoScalingGroup deletes a group: at once when it has no
// instances; with ForceDelete, after terminating them.
func (s *Service) DeleteAutoScalingGroup(ctx context.Context, in *api.DeleteAutoScalingGroupType) (*api.DeleteAutoScalingGroupOutput, error) {
	sc := scopeOf(ctx)
	name := str(in.AutoScalingGroupName)
	gone := false
	err := s.st.Update(func(tx store.Tx) error {
		g, err := loadGroup(tx, sc, name)
		if err != nil {
			return err
		}
		if g.Deleting {
			return nil
		}
		if len(g.Members) == 0 {
			gone = true
			return tx.Delete(bucketGroups, sc.Key(name))
		}
		if !deref(in.ForceDelete) {
			return inUse("You cannot delete an AutoScalingGroup while there are instances or pending Spot instance request(s) still in the group.")
		}
		g.Deleting, g.Min, g.Max, g.Desired = true, 0, 0, 0
		g.Cause = fmt.Sprintf("At %s a user request deleted the AutoScalingGroup.", s.now().Format(causeTime))
		return putGroup(tx, sc, g)
	})
	if err != nil {
		return nil, err
	}
	if gone {
		s.groupDeleted(ctx, sc, name)
	}
	s.rec.wake()
	return &api.DeleteAutoScalingGroupOutput{}, nil
}

// listGroups reads a scope's groups, ordered by name.
func (s *Service) listGroups(sc scope) ([]groupRecord, error) {
	var out []groupRecord
	err := s.st.View(func(tx store.Tx) error {
		return tx.ForEach(bucketGroups, sc.Prefix(), func(_ string, decode func(any) error) error {
			var g groupRecord
			if err := decode(&g); err != nil {
				return err
			}
			out = append(out, g)
			return nil
		})
	})
	slices.SortFunc(out, func(a, b groupRecord) int { return strings.Compare(a.Name, b.Name) })
	return out, err
}

// DescribeAutoScalingGroups lists groups by name or tag filters.
func (s *Service) DescribeAutoScalingGroups(ctx context.Context, in *api.AutoScalingGroupNamesType) (*api.AutoScalingGroupsType, error) {
	all, err := s.listGroups(scopeOf(ctx))
	if err != nil {
		return nil, err
	}
	var matched []groupRecord
	for _, g := range all {
		if len(in.AutoScalingGroupNames) > 0 && !slices.Contains(in.AutoScalingGroupNames, g.Name) {
			continue
		}
		if !matchesFilters(g, in.Filters) {
			continue
		}
		matched = append(matched, g)
	}
	max := int(deref(in.MaxRecords))
	if max > 100 {
		return nil, validation("Max records must be between 1 and 100")
	}
	pg, next, err := page.ByKey(matched, func(g groupRecord) string { return g.Name }, str(in.NextToken), max, 50, 100)
	if err != nil {
		return nil, badToken()
	}
	out := &api.AutoScalingGroupsType{AutoScalingGroups: []api.AutoScalingGroup{}}
	for _, g := range pg {
		out.AutoScalingGroups = append(out.AutoScalingGroups, groupOut(g, in.IncludeInstances == nil || *in.IncludeInstances))
	}
	if next != "" {
		out.NextToken = &next
	}
	return out, nil
}

// matchesFilters applies DescribeAutoScalingGroups' tag filters.
func matchesFilters(g groupRecord, filters []api.Filter) bool {
	for _, f := range filters {
		name := str(f.Name)
		ok := false
		for _, t := range g.Tags {
			switch {
			case name == "tag-key":
				ok = ok || slices.Contains(f.Values, str(t.Key))
			case name == "tag-value":
				ok = ok || slices.Contains(f.Values, str(t.Value))
			case strings.HasPrefix(name, "tag:"):
				ok = ok || (str(t.Key) == name[4:] && slices.Contains(f.Values, str(t.Value)))
			}
		}
		if !ok {
			return false
		}
	}
	return true
}

// groupOut is a group as DescribeAutoScalingGroups shows it.
func groupOut(g groupRecord, withInstances bool) api.AutoScalingGroup {
	out := api.AutoScalingGroup{
		AutoScalingGroupName: ptr(g.Name), AutoScalingGroupARN: ptr(g.ARN), CreatedTime: ptr(g.Created),
		LaunchTemplate: g.LaunchTemplate, MixedInstancesPolicy: g.MixedInstancesPolicy,
		MinSize: ptr(int32(g.Min)), MaxSize: ptr(int32(g.Max)), DesiredCapacity: ptr(int32(g.Desired)),
		DefaultCooldown: ptr(int32(g.DefaultCooldown)), DefaultInstanceWarmup: g.DefaultInstanceWarmup,
		HealthCheckType: ptr(g.HealthCheckType), HealthCheckGracePeriod: ptr(int32(g.HealthCheckGracePeriod)),
		NewInstancesProtectedFromScaleIn: ptr(g.ProtectNew), CapacityRebalance: ptr(g.CapacityRebalance),
		TerminationPolicies: g.TerminationPolicies, TargetGroupARNs: g.targetGroupARNs(),
		LoadBalancerNames: []string{}, SuspendedProcesses: nonNil(g.Suspended), EnabledMetrics: enabledMetricsOut(g),
		Tags: nonNil(g.Tags), Instances: []api.Instance{}, ServiceLinkedRoleARN: ptr(serviceLinkedRole(g.ARN)),
	}
	if g.LaunchConfigurationName != "" {
		out.LaunchConfigurationName = ptr(g.LaunchConfigurationName)
	}
	out.TrafficSources = []api.TrafficSourceIdentifier{}
	for _, t := range g.Sources {
		if t.State != "Removing" {
			out.TrafficSources = append(out.TrafficSources, api.TrafficSourceIdentifier{Identifier: ptr(t.ID), Type: ptr(t.Type)})
		}
	}
	if g.MaxInstanceLifetime > 0 {
		out.MaxInstanceLifetime = ptr(int32(g.MaxInstanceLifetime))
	}
	if g.PlacementGroup != "" {
		out.PlacementGroup = ptr(g.PlacementGroup)
	}
	if g.VPCZoneIdentifier != "" {
		out.VPCZoneIdentifier = ptr(g.VPCZoneIdentifier)
	}
	for _, z := range g.Zones {
		if !slices.Contains(out.AvailabilityZones, z.Name) {
			out.AvailabilityZones = append(out.AvailabilityZones, z.Name)
		}
	}
	if g.Deleting {
		out.Status = ptr("Delete in progress")
	}
	if g.WarmPool != nil {
		out.WarmPoolConfiguration = warmPoolOut(g.WarmPool)
		n := int32(0)
		for _, m := range g.Members {
			if warm(m) {
				n++
			}
		}
		out.WarmPoolSize = ptr(n)
	}
	if withInstances {
		// Warm pool instances are DescribeWarmPool's to show.
		for _, m := range g.Members {
			if !warm(m) {
				out.Instances = append(out.Instances, instanceOut(m))
			}
		}
	}
	return out
}

// instanceOut is a member as a group's Instances show it.
func instanceOut(m member) api.Instance {
	return api.Instance{
		InstanceId: ptr(m.ID), AvailabilityZone: ptr(m.AZ), InstanceType: ptr(m.InstanceType), HealthStatus: ptr(m.Health),
		LifecycleState: ptr(m.Lifecycle), ProtectedFromScaleIn: ptr(m.Protected), LaunchTemplate: m.LaunchTemplate,
		LaunchConfigurationName: optional(m.LaunchConfigurationName),
		WeightedCapacity:        weightOut(m),
	}
}

// weightOut is an instance's WeightedCapacity, shown when its group's
// types have weights.
func weightOut(m member) *string {
	if m.Weight == 0 {
		return nil
	}
	return ptr(strconv.Itoa(m.Weight))
}

// serviceLinkedRole is the role Auto Scaling uses in the group's account.
func serviceLinkedRole(groupARN string) string {
	account := ""
	if a, err := arn.Parse(groupARN); err == nil {
		account = a.AccountID
	}
	return "arn:aws:iam::" + account + ":role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling"
}

func nonNil[T any](xs []T) []T {
	if xs == nil {
		return []T{}
	}
	return xs
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// DescribeAutoScalingInstances lists the instances of every group, or the
// ones named.
func (s *Service) DescribeAutoScalingInstances(ctx context.Context, in *api.DescribeAutoScalingInstancesType) (*api.AutoScalingInstancesType, error) {
	all, err := s.listGroups(scopeOf(ctx))
	if err != nil {
		return nil, err
	}
	type row struct {
		g groupRecord
		m member
	}
	var rows []row
	for _, g := range all {
		for _, m := range g.Members {
			if len(in.InstanceIds) == 0 || slices.Contains(in.InstanceIds, m.ID) {
				rows = append(rows, row{g, m})
			}
		}
	}
	pg, next, err := page.ByKey(rows, func(r row) string { return r.m.ID }, str(in.NextToken), int(deref(in.MaxRecords)), 50, 50)
	if err != nil {
		if errors.Is(err, page.ErrBadMax) {
			return nil, validation("Max records must be between 1 and 50")
		}
		return nil, badToken()
	}
	out := &api.AutoScalingInstancesType{AutoScalingInstances: []api.AutoScalingInstanceDetails{}}
	for _, r := range pg {
		out.AutoScalingInstances = append(out.AutoScalingInstances, api.AutoScalingInstanceDetails{
			AutoScalingGroupName: ptr(r.g.Name), InstanceId: ptr(r.m.ID), AvailabilityZone: ptr(r.m.AZ), InstanceType: ptr(r.m.InstanceType),
			HealthStatus: ptr(strings.ToUpper(r.m.Health)), LifecycleState: ptr(r.m.Lifecycle), ProtectedFromScaleIn: ptr(r.m.Protected),
			LaunchTemplate: r.m.LaunchTemplate, LaunchConfigurationName: optional(r.m.LaunchConfigurationName),
			WeightedCapacity: weightOut(r.m),
		})
	}
	if next != "" {
		out.NextToken = &next
	}
	return out, nil
}

// SetDesiredCapacity sets a group's desired capacity, which the
// reconciler acts on at once.
func (s *Service) SetDesiredCapacity(ctx context.Context, in *api.SetDesiredCapacityType) (*api.SetDesiredCapacityOutput, error) {
	sc := scopeOf(ctx)
	name := str(in.AutoScalingGroupName)
	err := s.st.Update(func(tx store.Tx) error {
		g, err := loadGroup(tx, sc, name)
		if err != nil {
			return err
		}
		want := int(deref(in.DesiredCapacity))
		if want < g.Min || want > g.Max {
			return validation("New SetDesiredCapacity value %d is %s min value %d.", want, map[bool]string{true: "below", false: "above"}[want < g.Min], map[bool]int{true: g.Min, false: g.Max}[want < g.Min])
		}
		if deref(in.HonorCooldown) && s.inCooldown(g) {
			return activityInProgress("Scaling activity in progress or cooldown period in effect; the desired capacity was not changed.")
		}
		if want != g.Desired {
			g.Cause = fmt.Sprintf("At %s a user request explicitly set group desired capacity changing the desired capacity from %d to %d.", s.now().Format(causeTime), g.Desired, want)
			g.Desired = want
		}
		return putGroup(tx, sc, g)
	})
	if err != nil {
		return nil, err
	}
	s.rec.wake()
	return &api.SetDesiredCapacityOutput{}, nil
}

// inCooldown reports whether a group's default cooldown since its last
// scaling activity is still running.
func (s *Service) inCooldown(g groupRecord) bool {
	last := s.rec.lastActivityEnd(g.ARN)
	return !last.IsZero() && s.clk.Now().Sub(last) < secondsOf(g.DefaultCooldown)
}

// findMember finds the group of an instance.
func findMember(tx store.Tx, sc scope, id string) (groupRecord, int, error) {
	var found groupRecord
	idx := -1
	err := tx.ForEach(bucketGroups, sc.Prefix(), func(_ string, decode func(any) error) error {
		if idx >= 0 {
			return nil
		}
		var g groupRecord
		if err := decode(&g); err != nil {
			return err
		}
		for i, m := range g.Members {
			if m.ID == id {
				found, idx = g, i
			}
		}
		return nil
	})
	if err == nil && idx < 0 {
		err = validation("Instance Id not found - No managed instance found for instance ID: %s", id)
	}
	return found, idx, err
}

// SetInstanceHealth marks an instance healthy or unhealthy; an unhealthy
// one is replaced.
func (s *Service) SetInstanceHealth(ctx context.Context, in *api.SetInstanceHealthQuery) (*api.SetInstanceHealthOutput, error) {
	sc := scopeOf(ctx)
	health := str(in.HealthStatus)
	if health != "Healthy" && health != "Unhealthy" {
		return nil, validation("Valid values for HealthStatus are Healthy and Unhealthy.")
	}
	err := s.st.Update(func(tx store.Tx) error {
		g, i, err := findMember(tx, sc, str(in.InstanceId))
		if err != nil {
			return err
		}
		if deref(in.ShouldRespectGracePeriod) && s.clk.Now().Sub(g.Members[i].Launched) < secondsOf(g.HealthCheckGracePeriod) {
			return nil
		}
		g.Members[i].Health = health
		if health == "Unhealthy" {
			g.Members[i].UnhealthyWhy = "a user health-check"
		}
		return putGroup(tx, sc, g)
	})
	if err != nil {
		return nil, err
	}
	s.rec.wake()
	return &api.SetInstanceHealthOutput{}, nil
}

// SetInstanceProtection protects instances from scale-in, or not.
func (s *Service) SetInstanceProtection(ctx context.Context, in *api.SetInstanceProtectionQuery) (*api.SetInstanceProtectionAnswer, error) {
	sc := scopeOf(ctx)
	err := s.st.Update(func(tx store.Tx) error {
		g, err := loadGroup(tx, sc, str(in.AutoScalingGroupName))
		if err != nil {
			return err
		}
		for _, id := range in.InstanceIds {
			i := slices.IndexFunc(g.Members, func(m member) bool { return m.ID == id })
			if i < 0 {
				return validation("The instance %s is not part of Auto Scaling group %s.", id, g.Name)
			}
			g.Members[i].Protected = deref(in.ProtectedFromScaleIn)
		}
		return putGroup(tx, sc, g)
	})
	if err != nil {
		return nil, err
	}
	return &api.SetInstanceProtectionAnswer{}, nil
}

// TerminateInstanceInAutoScalingGroup terminates one instance; the group
// replaces it unless the desired capacity is decremented.
func (s *Service) TerminateInstanceInAutoScalingGroup(ctx context.Context, in *api.TerminateInstanceInAutoScalingGroupType) (*api.ActivityType, error) {
	sc := scopeOf(ctx)
	id := str(in.InstanceId)
	var act activityRecord
	err := s.st.Update(func(tx store.Tx) error {
		g, i, err := findMember(tx, sc, id)
		if err != nil {
			return err
		}
		now := s.now()
		cause := fmt.Sprintf("At %s instance %s was taken out of service in response to a user request.", now.Format(causeTime), id)
		if deref(in.ShouldDecrementDesiredCapacity) {
			if g.Desired-1 < g.Min {
				return validation("Currently, desiredSize equals minSize (%d). Terminating instance without replacement will violate group's min size constraint. Either set shouldDecrementDesiredCapacity flag to false or lower group's min size.", g.Min)
			}
			cause = fmt.Sprintf("At %s instance %s was taken out of service in response to a user request, shrinking the capacity from %d to %d.", now.Format(causeTime), id, g.Desired, g.Desired-1)
			g.Desired--
		}
		g.Members[i].Lifecycle = "Terminating"
		act = newActivity(g, now, fmt.Sprintf("Terminating EC2 instance: %s", id), cause, "InProgress")
		act.Instance = id
		if err := putActivity(tx, sc, act); err != nil {
			return err
		}
		return putGroup(tx, sc, g)
	})
	if err != nil {
		return nil, err
	}
	s.rec.wake()
	return &api.ActivityType{Activity: ptr(act.out())}, nil
}

// SuspendProcesses suspends scaling processes (all when none are named).
func (s *Service) SuspendProcesses(ctx context.Context, in *api.ScalingProcessQuery) (*api.SuspendProcessesOutput, error) {
	return &api.SuspendProcessesOutput{}, s.setProcesses(ctx, in, true)
}

// ResumeProcesses resumes scaling processes (all when none are named).
func (s *Service) ResumeProcesses(ctx context.Context, in *api.ScalingProcessQuery) (*api.ResumeProcessesOutput, error) {
	return &api.ResumeProcessesOutput{}, s.setProcesses(ctx, in, false)
}

func (s *Service) setProcesses(ctx context.Context, in *api.ScalingProcessQuery, suspend bool) error {
	names := in.ScalingProcesses
	if len(names) == 0 {
		names = processes
	}
	for _, p := range names {
		if !slices.Contains(processes, p) {
			return validation("Process %s is not a valid scaling process.", p)
		}
	}
	sc := scopeOf(ctx)
	err := s.st.Update(func(tx store.Tx) error {
		g, err := loadGroup(tx, sc, str(in.AutoScalingGroupName))
		if err != nil {
			return err
		}
		for _, p := range names {
			g.Suspended = slices.DeleteFunc(g.Suspended, func(sp api.SuspendedProcess) bool { return str(sp.ProcessName) == p })
			if suspend {
				g.Suspended = append(g.Suspended, api.SuspendedProcess{ProcessName: ptr(p), SuspensionReason: ptr("User suspended at " + s.now().Format(causeTime))})
			}
		}
		return putGroup(tx, sc, g)
	})
	if err == nil {
		s.rec.wake()
	}
	return err
}

// DescribeScalingProcessTypes lists the scaling processes.
func (s *Service) DescribeScalingProcessTypes(ctx context.Context, _ *api.DescribeScalingProcessTypesInput) (*api.ProcessesType, error) {
	out := &api.ProcessesType{}
	for _, p := range processes {
		out.Processes = append(out.Processes, api.ProcessType{ProcessName: ptr(p)})
	}
	return out, nil
}

// DescribeTerminationPolicyTypes lists the termination policies.
func (s *Service) DescribeTerminationPolicyTypes(ctx context.Context, _ *api.DescribeTerminationPolicyTypesInput) (*api.DescribeTerminationPolicyTypesAnswer, error) {
	return &api.DescribeTerminationPolicyTypesAnswer{TerminationPolicyTypes: terminationPolicies}, nil
}

// DescribeAccountLimits reports the account's quotas and use.
func (s *Service) DescribeAccountLimits(ctx context.Context, _ *api.DescribeAccountLimitsInput) (*api.DescribeAccountLimitsAnswer, error) {
	sc := scopeOf(ctx)
	groups, configs := 0, 0
	err := s.st.View(func(tx store.Tx) error {
		if err := tx.ForEach(bucketGroups, sc.Prefix(), func(string, func(any) error) error { groups++; return nil }); err != nil {
			return err
		}
		return tx.ForEach(bucketLaunchConfigs, sc.Prefix(), func(string, func(any) error) error { configs++; return nil })
	})
	if err != nil {
		return nil, err
	}
	return &api.DescribeAccountLimitsAnswer{
		MaxNumberOfAutoScalingGroups: ptr(int32(maxGroups)), MaxNumberOfLaunchConfigurations: ptr(int32(maxLaunchConfigs)),
		NumberOfAutoScalingGroups: ptr(int32(groups)), NumberOfLaunchConfigurations: ptr(int32(configs)),
	}, nil
}
