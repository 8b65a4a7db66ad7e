package ec2

import (
	"context"
	"slices"

	api "github.com/nephele-dev/nephele/internal/api/ec2"
	"github.com/nephele-dev/nephele/internal/ec2/catalog"
	"github.com/nephele-dev/nephele/internal/filter"
	"github.com/nephele-dev/nephele/internal/service"
)

// Regions and Availability Zones come from the catalogue (catalog/regions.go);
// nothing about them is stored. Every account sees the same Regions with the
// same opt-in status: nephele does not model enabling an opt-in Region, so
// those stay "not-opted-in".

func (s *Service) regionOperations() []service.Operation {
	return []service.Operation{
		service.Handle("DescribeRegions", s.DescribeRegions),
		service.Handle("DescribeAvailabilityZones", s.DescribeAvailabilityZones),
	}
}

// regionFields are DescribeRegions's filters.
var regionFields = filter.Fields[api.Region]{
	"endpoint":      func(r api.Region) []string { return []string{str(r.Endpoint)} },
	"region-name":   func(r api.Region) []string { return []string{str(r.RegionName)} },
	"opt-in-status": func(r api.Region) []string { return []string{str(r.OptInStatus)} },
}

// DescribeRegions lists the Regions enabled for the account, or with
// AllRegions every Region, the disabled opt-in ones included. RegionNames
// may name "any Regions, whether they are enabled and disabled for your
// account" (EC2 API reference, DescribeRegions), so a named Region is shown
// whatever its status.
func (s *Service) DescribeRegions(ctx context.Context, in *api.DescribeRegionsInput) (*api.DescribeRegionsOutput, error) {
	var regions []api.Region
	if len(in.RegionNames) > 0 {
		for _, name := range in.RegionNames {
			r, ok := catalog.Region(name)
			if !ok {
				return nil, invalidParameterValue("Invalid region: %s", name)
			}
			if !slices.ContainsFunc(regions, func(have api.Region) bool { return str(have.RegionName) == name }) {
				regions = append(regions, r)
			}
		}
	} else {
		for _, r := range catalog.Regions() {
			if boolean(in.AllRegions) || str(r.OptInStatus) != catalog.NotOptedIn {
				regions = append(regions, r)
			}
		}
	}
	matched, err := filter.Apply(regions, toFilters(in.Filters), regionFields, nil)
	if err != nil {
		return nil, err
	}
	return &api.DescribeRegionsOutput{Regions: nonNil(matched)}, nil
}

// zoneFields are DescribeAvailabilityZones's filters. Every zone nephele
// serves is an Availability Zone, never a Local or Wavelength Zone, so it
// has no message and no parent zone.
var zoneFields = filter.Fields[api.AvailabilityZone]{
	"zone-name":            func(z api.AvailabilityZone) []string { return []string{str(z.ZoneName)} },
	"zone-id":              func(z api.AvailabilityZone) []string { return []string{str(z.ZoneId)} },
	"zone-type":            func(z api.AvailabilityZone) []string { return []string{str(z.ZoneType)} },
	"state":                func(z api.AvailabilityZone) []string { return []string{str(z.State)} },
	"region-name":          func(z api.AvailabilityZone) []string { return []string{str(z.RegionName)} },
	"group-name":           func(z api.AvailabilityZone) []string { return []string{str(z.GroupName)} },
	"opt-in-status":        func(z api.AvailabilityZone) []string { return []string{str(z.OptInStatus)} },
	"network-border-group": func(z api.AvailabilityZone) []string { return []string{str(z.NetworkBorderGroup)} },
	"message":              func(api.AvailabilityZone) []string { return nil },
	"parent-zone-id":       func(api.AvailabilityZone) []string { return nil },
	"parent-zone-name":     func(api.AvailabilityZone) []string { return nil },
}

// DescribeAvailabilityZones lists the Availability Zones of the request's
// Region, narrowed to ZoneNames and ZoneIds when given (a zone named by
// either is shown) and to the filters. AllAvailabilityZones adds the zones
// a Region keeps behind an opt-in (Local and Wavelength Zones); nephele has
// none, so it changes nothing.
func (s *Service) DescribeAvailabilityZones(ctx context.Context, in *api.DescribeAvailabilityZonesInput) (*api.DescribeAvailabilityZonesOutput, error) {
	sc := scopeOf(ctx)
	zones := catalog.AvailabilityZones(sc.region)
	if len(in.ZoneNames) > 0 || len(in.ZoneIds) > 0 {
		for _, name := range in.ZoneNames {
			if !slices.ContainsFunc(zones, func(z api.AvailabilityZone) bool { return str(z.ZoneName) == name }) {
				return nil, invalidParameterValue("The zone '%s' does not exist.", name)
			}
		}
		for _, id := range in.ZoneIds {
			if !slices.ContainsFunc(zones, func(z api.AvailabilityZone) bool { return str(z.ZoneId) == id }) {
				return nil, invalidParameterValue("The zone '%s' does not exist.", id)
			}
		}
		zones = slices.DeleteFunc(zones, func(z api.AvailabilityZone) bool {
			return !slices.Contains(in.ZoneNames, str(z.ZoneName)) && !slices.Contains(in.ZoneIds, str(z.ZoneId))
		})
	}
	matched, err := filter.Apply(zones, toFilters(in.Filters), zoneFields, nil)
	if err != nil {
		return nil, err
	}
	return &api.DescribeAvailabilityZonesOutput{AvailabilityZones: nonNil(matched)}, nil
}
