package ec2

import (
	"context"
	"slices"

	api "github.com/nephele-dev/nephele/internal/api/ec2"
	"github.com/nephele-dev/nephele/internal/awserr"
	"github.com/nephele-dev/nephele/internal/awsid"
	"github.com/nephele-dev/nephele/internal/filter"
	"github.com/nephele-dev/nephele/internal/service"
	"github.com/nephele-dev/nephele/internal/store"
)

var placementGroupKind = register(kind{prefix: "pg", resourceType: "placement-group", bucket: "ec2/placementgroups"})

// Limits of placement groups, from the EC2 User Guide's "Placement group
// rules and limitations".
const (
	// maxPlacementGroups is the quota of placement groups per Region.
	maxPlacementGroups = 500
	// maxPartitions is the most partitions a partition group has.
	maxPartitions = 7
	// defaultPartitions is what CreatePlacementGroup gives a partition
	// group without PartitionCount.
	defaultPartitions = 2
	// maxSpreadPerZone is the most running instances a rack spread group
	// has per Availability Zone.
	maxSpreadPerZone = 7
)

// placementGroupRecord is a stored placement group (without tags).
type placementGroupRecord struct {
	api.PlacementGroup
}

func (s *Service) placementGroupOperations() []service.Operation {
	return []service.Operation{
		service.Handle("CreatePlacementGroup", s.CreatePlacementGroup),
		service.Handle("DescribePlacementGroups", s.DescribePlacementGroups),
		service.Handle("DeletePlacementGroup", s.DeletePlacementGroup),
	}
}

// loadPlacementGroupByName finds a placement group by its name, unique in
// the region, or fails with InvalidPlacementGroup.Unknown.
func loadPlacementGroupByName(tx store.Tx, sc scope, name string) (placementGroupRecord, error) {
	g, ok, err := findIn(tx, sc, placementGroupKind.bucket, func(g placementGroupRecord) bool { return str(g.GroupName) == name })
	if err == nil && !ok {
		err = awserr.BadRequest("InvalidPlacementGroup.Unknown", "The Placement Group '%s' is unknown.", name)
	}
	return g, err
}

// CreatePlacementGroup creates a placement group: cluster, spread (rack
// level; host level exists only on Outposts) or partition (1 to 7
// partitions, 2 by default).
func (s *Service) CreatePlacementGroup(ctx context.Context, in *api.CreatePlacementGroupInput) (*api.CreatePlacementGroupOutput, error) {
	sc := scopeOf(ctx)
	if err := s.seed(sc); err != nil {
		return nil, err
	}
	name, strategy := str(in.GroupName), str(in.Strategy)
	switch {
	case name == "":
		return nil, missingParameter("The request must contain the parameter groupName")
	case len(name) > 255:
		return nil, invalidParameterValue("Value (%s) for parameter groupName is invalid. Length must be at most 255 characters.", name)
	case strategy == "":
		return nil, missingParameter("The request must contain the parameter strategy")
	case in.PartitionCount != nil && strategy != "partition":
		return nil, invalidParameterCombination("PartitionCount is valid only when strategy is partition.")
	case in.SpreadLevel != nil && strategy != "spread":
		return nil, invalidParameterCombination("SpreadLevel is valid only when strategy is spread.")
	case str(in.SpreadLevel) == "host":
		return nil, invalidParameterValue("Spread level 'host' is supported only for placement groups on AWS Outposts.")
	}
	g := placementGroupRecord{PlacementGroup: api.PlacementGroup{
		GroupId:   ptr(awsid.New("pg")),
		GroupName: ptr(name),
		GroupArn:  ptr(sc.arn("placement-group", name)),
		Strategy:  ptr(strategy),
		State:     ptr("available"),
	}}
	switch strategy {
	case "partition":
		n := int32(defaultPartitions)
		if in.PartitionCount != nil {
			n = *in.PartitionCount
		}
		if n < 1 || n > maxPartitions {
			return nil, invalidParameterValue("Value (%d) for parameter partitionCount is invalid. Partition count must be between 1 and %d.", n, maxPartitions)
		}
		g.PartitionCount = ptr(n)
	case "spread":
		g.SpreadLevel = ptr("rack")
	}
	tags, err := tagSpecTags(in.TagSpecifications, "placement-group", "placement-group")
	if err != nil {
		return nil, err
	}
	err = s.st.Update(func(tx store.Tx) error {
		groups, err := listAll[placementGroupRecord](tx, sc, placementGroupKind.bucket)
		if err != nil {
			return err
		}
		if slices.ContainsFunc(groups, func(o placementGroupRecord) bool { return str(o.GroupName) == name }) {
			return awserr.BadRequest("InvalidPlacementGroup.Duplicate", "The Placement Group '%s' already exists.", name)
		}
		if len(groups) >= maxPlacementGroups {
			return awserr.BadRequest("PlacementGroupLimitExceeded", "You've reached the limit of %d placement groups.", maxPlacementGroups)
		}
		if err := tx.Put(placementGroupKind.bucket, sc.key(str(g.GroupId)), g); err != nil {
			return err
		}
		return addTags(tx, sc, str(g.GroupId), tags)
	})
	if err != nil {
		return nil, err
	}
	out := g.PlacementGroup
	out.Tags = nonNil(tags)
	return &api.CreatePlacementGroupOutput{PlacementGroup: &out}, nil
}

var placementGroupFields = filter.Fields[tagged[placementGroupRecord]]{
	"group-name":   field(func(g placementGroupRecord) *string { return g.GroupName }),
	"group-arn":    field(func(g placementGroupRecord) *string { return g.GroupArn }),
	"group-id":     field(func(g placementGroupRecord) *string { return g.GroupId }),
	"spread-level": field(func(g placementGroupRecord) *string { return g.SpreadLevel }),
	"state":        field(func(g placementGroupRecord) *string { return g.State }),
	"strategy":     field(func(g placementGroupRecord) *string { return g.Strategy }),
}

// DescribePlacementGroups lists placement groups; every name and ID asked
// for must exist.
func (s *Service) DescribePlacementGroups(ctx context.Context, in *api.DescribePlacementGroupsInput) (*api.DescribePlacementGroupsOutput, error) {
	sc := scopeOf(ctx)
	if err := s.seed(sc); err != nil {
		return nil, err
	}
	ids, err := withNames(s, sc, in.GroupIds, in.GroupNames, loadPlacementGroupByName, func(g placementGroupRecord) string { return str(g.GroupId) })
	if err != nil {
		return nil, err
	}
	found, _, err := describe(s, sc, placementGroupKind, func(g placementGroupRecord) string { return str(g.GroupId) }, ids, in.Filters, placementGroupFields, nil, nil)
	if err != nil {
		return nil, err
	}
	out := &api.DescribePlacementGroupsOutput{PlacementGroups: []api.PlacementGroup{}}
	for _, t := range found {
		g := t.item.PlacementGroup
		g.Tags = nonNil(t.tags)
		out.PlacementGroups = append(out.PlacementGroups, g)
	}
	return out, nil
}

// DeletePlacementGroup deletes a placement group no instance is in
// (InvalidPlacementGroup.InUse otherwise; terminated instances aside).
func (s *Service) DeletePlacementGroup(ctx context.Context, in *api.DeletePlacementGroupInput) (*api.DeletePlacementGroupOutput, error) {
	sc := scopeOf(ctx)
	if err := s.seed(sc); err != nil {
		return nil, err
	}
	name := str(in.GroupName)
	err := s.st.Update(func(tx store.Tx) error {
		g, err := loadPlacementGroupByName(tx, sc, name)
		if err != nil {
			return err
		}
		refs, err := instanceRefs(tx, sc)
		if err != nil {
			return err
		}
		if slices.ContainsFunc(refs, func(r instanceRef) bool { return !r.terminated() && r.placementGroup() == name }) {
			return awserr.BadRequest("InvalidPlacementGroup.InUse", "The placement group '%s' is in use and may not be deleted.", name)
		}
		if err := tx.Delete(placementGroupKind.bucket, sc.key(str(g.GroupId))); err != nil {
			return err
		}
		return writeTags(tx, sc, str(g.GroupId), nil)
	})
	if err != nil {
		return nil, err
	}
	return &api.DeletePlacementGroupOutput{}, nil
}

// placementGroup is the name of the placement group an instance is in.
func (r instanceRef) placementGroup() string {
	if r.Placement == nil {
		return ""
	}
	return str(r.Placement.GroupName)
}

// zone is the Availability Zone an instance is in.
func (r instanceRef) zone() string {
	if r.Placement == nil {
		return ""
	}
	return str(r.Placement.AvailabilityZone)
}

// holdsPlace reports whether an instance counts against its placement
// group: pending, running or stopping (not stopped or terminated).
func (r instanceRef) holdsPlace() bool {
	switch r.stateName() {
	case "stopped", "shutting-down", "terminated":
		return false
	}
	return true
}

// checkPlacement checks that count more instances can be launched (or
// started) in placement group groupName in Availability Zone az; "" is no
// group. The group must exist (InvalidPlacementGroup.Unknown). A cluster
// group lives in one Availability Zone: once it has instances in one,
// another is InvalidPlacementGroup.InUse. A spread group has at most seven
// running instances per Availability Zone; past that EC2 cannot find
// distinct hardware and fails the launch with InsufficientInstanceCapacity.
// The instance code calls it in the transaction that adds the instances.
func checkPlacement(tx store.Tx, sc scope, groupName, az string, count int) error {
	if groupName == "" {
		return nil
	}
	g, err := loadPlacementGroupByName(tx, sc, groupName)
	if err != nil {
		return err
	}
	refs, err := instanceRefs(tx, sc)
	if err != nil {
		return err
	}
	inZone := 0
	for _, r := range refs {
		if r.placementGroup() != groupName || !r.holdsPlace() {
			continue
		}
		if str(g.Strategy) == "cluster" && r.zone() != az {
			return awserr.BadRequest("InvalidPlacementGroup.InUse", "The placement group '%s' is in use in another availability zone: %s", groupName, r.zone())
		}
		if r.zone() == az {
			inZone++
		}
	}
	if str(g.Strategy) == "spread" && inZone+count > maxSpreadPerZone {
		return awserr.BadRequest("InsufficientInstanceCapacity",
			"We currently do not have sufficient capacity to launch %d more instance(s) in spread placement group '%s' in Availability Zone %s: a spread placement group can hold at most %d running instances per Availability Zone, and it holds %d.",
			count, groupName, az, maxSpreadPerZone, inZone)
	}
	return nil
}
