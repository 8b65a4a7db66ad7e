package catalog

import (
	"slices"
	"strings"

	api "github.com/nephele-dev/nephele/internal/api/ec2"
)

// Opt-in status values of DescribeRegions. Regions launched before 20 March
// 2019 are enabled in every account; later ones must be enabled first ("AWS
// Account Management Reference Guide, Enable or disable AWS Regions").
const (
	OptInNotRequired = "opt-in-not-required"
	NotOptedIn       = "not-opted-in"
)

// region is one commercial Region and its Availability Zones.
type region struct {
	name  string
	optIn bool // launched after 20 March 2019: not enabled by default
	// zones maps each AZ's letter to its AZ ID, in letter order. AWS maps
	// AZ names to physical zones (AZ IDs) independently for each account;
	// this is one real account's mapping, the one behind the offerings in
	// moto's snapshot, so that "which types are offered where" is AWS's.
	zones []zone
}

type zone struct {
	letter string
	id     string
}

func z(pairs ...string) []zone {
	zs := make([]zone, 0, len(pairs)/2)
	for i := 0; i+1 < len(pairs); i += 2 {
		zs = append(zs, zone{pairs[i], pairs[i+1]})
	}
	return zs
}

// regions are the commercial Regions, sorted by name. AZ letters are the
// ones a new account sees: some Regions skip letters (ap-northeast-1 has no
// b, ca-central-1 no c) and us-west-1 has two zones, as in AWS. us-east-1e
// (use1-az3) is left out: it is a constrained zone where, of the types kept,
// only t2.micro is offered, so a default subnet there would make most
// launches and Auto Scaling groups fail.
var regions = []region{
	{"af-south-1", true, z("a", "afs1-az1", "b", "afs1-az2", "c", "afs1-az3")},
	{"ap-east-1", true, z("a", "ape1-az1", "b", "ape1-az2", "c", "ape1-az3")},
	{"ap-northeast-1", false, z("a", "apne1-az4", "c", "apne1-az1", "d", "apne1-az2")},
	{"ap-northeast-2", false, z("a", "apne2-az1", "b", "apne2-az2", "c", "apne2-az3", "d", "apne2-az4")},
	{"ap-northeast-3", false, z("a", "apne3-az3", "b", "apne3-az1", "c", "apne3-az2")},
	{"ap-south-1", false, z("a", "aps1-az1", "b", "aps1-az3", "c", "aps1-az2")},
	{"ap-south-2", true, z("a", "aps2-az1", "b", "aps2-az2", "c", "aps2-az3")},
	{"ap-southeast-1", false, z("a", "apse1-az1", "b", "apse1-az2", "c", "apse1-az3")},
	{"ap-southeast-2", false, z("a", "apse2-az3", "b", "apse2-az1", "c", "apse2-az2")},
	{"ap-southeast-3", true, z("a", "apse3-az1", "b", "apse3-az2", "c", "apse3-az3")},
	{"ap-southeast-4", true, z("a", "apse4-az1", "b", "apse4-az2", "c", "apse4-az3")},
	{"ap-southeast-5", true, z("a", "apse5-az1", "b", "apse5-az2", "c", "apse5-az3")},
	{"ca-central-1", false, z("a", "cac1-az1", "b", "cac1-az2", "d", "cac1-az4")},
	{"ca-west-1", true, z("a", "caw1-az1", "b", "caw1-az2", "c", "caw1-az3")},
	{"eu-central-1", false, z("a", "euc1-az2", "b", "euc1-az3", "c", "euc1-az1")},
	{"eu-central-2", true, z("a", "euc2-az1", "b", "euc2-az2", "c", "euc2-az3")},
	{"eu-north-1", false, z("a", "eun1-az1", "b", "eun1-az2", "c", "eun1-az3")},
	{"eu-south-1", true, z("a", "eus1-az1", "b", "eus1-az2", "c", "eus1-az3")},
	{"eu-south-2", true, z("a", "eus2-az1", "b", "eus2-az2", "c", "eus2-az3")},
	{"eu-west-1", false, z("a", "euw1-az3", "b", "euw1-az1", "c", "euw1-az2")},
	{"eu-west-2", false, z("a", "euw2-az2", "b", "euw2-az3", "c", "euw2-az1")},
	{"eu-west-3", false, z("a", "euw3-az1", "b", "euw3-az2", "c", "euw3-az3")},
	{"il-central-1", true, z("a", "ilc1-az1", "b", "ilc1-az2", "c", "ilc1-az3")},
	{"me-central-1", true, z("a", "mec1-az1", "b", "mec1-az2", "c", "mec1-az3")},
	{"me-south-1", true, z("a", "mes1-az1", "b", "mes1-az2", "c", "mes1-az3")},
	{"sa-east-1", false, z("a", "sae1-az1", "b", "sae1-az2", "c", "sae1-az3")},
	{"us-east-1", false, z("a", "use1-az2", "b", "use1-az4", "c", "use1-az6", "d", "use1-az1", "f", "use1-az5")},
	{"us-east-2", false, z("a", "use2-az1", "b", "use2-az2", "c", "use2-az3")},
	{"us-west-1", false, z("a", "usw1-az1", "b", "usw1-az3")},
	{"us-west-2", false, z("a", "usw2-az2", "b", "usw2-az1", "c", "usw2-az3", "d", "usw2-az4")},
}

func findRegion(name string) (*region, bool) {
	i, ok := slices.BinarySearchFunc(regions, name, func(r region, name string) int { return strings.Compare(r.name, name) })
	if !ok {
		return nil, false
	}
	return &regions[i], true
}

// IsRegion reports whether name is a Region in the catalogue, enabled by
// default or not.
func IsRegion(name string) bool {
	_, ok := findRegion(name)
	return ok
}

// RegionNames returns the names of every Region, sorted.
func RegionNames() []string {
	names := make([]string, len(regions))
	for i, r := range regions {
		names[i] = r.name
	}
	return names
}

// Regions returns every Region as DescribeRegions with AllRegions=true shows
// it, sorted by name: opt-in Regions are "not-opted-in". DescribeRegions
// without AllRegions lists only the enabled ones; that choice, and enabling
// Regions, belong to the caller.
func Regions() []api.Region {
	out := make([]api.Region, len(regions))
	for i := range regions {
		out[i] = regions[i].api()
	}
	return out
}

// Region returns the named Region.
func Region(name string) (api.Region, bool) {
	r, ok := findRegion(name)
	if !ok {
		return api.Region{}, false
	}
	return r.api(), true
}

func (r *region) api() api.Region {
	status := OptInNotRequired
	if r.optIn {
		status = NotOptedIn
	}
	return api.Region{
		RegionName:  ptr(r.name),
		Endpoint:    ptr("ec2." + r.name + ".amazonaws.com"),
		OptInStatus: ptr(status),
	}
}

// AvailabilityZones returns the Availability Zones of a Region in name
// order, as DescribeAvailabilityZones shows them, or nil for an unknown
// Region.
func AvailabilityZones(regionName string) []api.AvailabilityZone {
	r, ok := findRegion(regionName)
	if !ok {
		return nil
	}
	out := make([]api.AvailabilityZone, len(r.zones))
	for i, zn := range r.zones {
		out[i] = r.zoneAPI(zn)
	}
	return out
}

// AvailabilityZoneByName returns the Availability Zone named, e.g.
// "us-east-1a".
func AvailabilityZoneByName(name string) (api.AvailabilityZone, bool) {
	r, zn, ok := findZone(name, func(r *region, zn zone) string { return r.name + zn.letter })
	if !ok {
		return api.AvailabilityZone{}, false
	}
	return r.zoneAPI(zn), true
}

// AvailabilityZoneByID returns the Availability Zone with the AZ ID given,
// e.g. "use1-az1".
func AvailabilityZoneByID(id string) (api.AvailabilityZone, bool) {
	r, zn, ok := findZone(id, func(_ *region, zn zone) string { return zn.id })
	if !ok {
		return api.AvailabilityZone{}, false
	}
	return r.zoneAPI(zn), true
}

// AvailabilityZone returns the Availability Zone whose name or AZ ID is
// nameOrID, as the EC2 parameters that take either (ZoneName.N, ZoneId.N,
// "availability-zone" filters) need.
func AvailabilityZone(nameOrID string) (api.AvailabilityZone, bool) {
	if az, ok := AvailabilityZoneByName(nameOrID); ok {
		return az, true
	}
	return AvailabilityZoneByID(nameOrID)
}

// findZone finds the zone whose key is want; a hundred zones are few
// enough to scan.
func findZone(want string, key func(*region, zone) string) (*region, zone, bool) {
	for i := range regions {
		r := &regions[i]
		for _, zn := range r.zones {
			if key(r, zn) == want {
				return r, zn, true
			}
		}
	}
	return nil, zone{}, false
}

// zoneAPI renders a zone. GroupName is "<region>-zg-1" and
// NetworkBorderGroup the Region name, as DescribeAvailabilityZones answers
// for Availability Zones (as opposed to Local and Wavelength Zones); an AZ's
// OptInStatus is always opt-in-not-required.
func (r *region) zoneAPI(zn zone) api.AvailabilityZone {
	return api.AvailabilityZone{
		ZoneName:           ptr(r.name + zn.letter),
		ZoneId:             ptr(zn.id),
		ZoneType:           ptr("availability-zone"),
		RegionName:         ptr(r.name),
		GroupName:          ptr(r.name + "-zg-1"),
		NetworkBorderGroup: ptr(r.name),
		OptInStatus:        ptr(OptInNotRequired),
		State:              ptr("available"),
	}
}

// zoneNames returns the names and IDs of a Region's zones.
func (r *region) zoneNames() (names, ids []string) {
	for _, zn := range r.zones {
		names = append(names, r.name+zn.letter)
		ids = append(ids, zn.id)
	}
	return names, ids
}

func ptr[T any](v T) *T { return &v }
