package catalog

import (
	"bytes"
	"compress/gzip"
	_ "embed"
	"encoding/json"
	"io"
	"slices"
	"sort"
	"strings"
	"sync"

	api "github.com/nephele-dev/nephele/internal/api/ec2"
)

// instanceTypesGz holds AWS's DescribeInstanceTypes record of every type
// kept, a JSON array sorted by type name, written by `go generate`.
//
//go:embed instance_types.json.gz
var instanceTypesGz []byte

// offeringsGz holds, per Region, the types offered there and the AZ IDs
// offering each, written by `go generate`.
//
//go:embed offerings.json.gz
var offeringsGz []byte

// typeRecord is one instance type: its raw record, decoded afresh for each
// caller so no two callers share pointers, and the few figures the rest of
// the package needs at hand.
type typeRecord struct {
	raw     json.RawMessage
	summary typeSummary
}

// typeSummary holds the fields of a record that VCPUs, Architectures,
// HasInstanceStore and the price estimate read.
type typeSummary struct {
	InstanceType  string
	VCpuInfo      struct{ DefaultVCpus int }
	MemoryInfo    struct{ SizeInMiB int64 }
	ProcessorInfo struct {
		Manufacturer           string
		SupportedArchitectures []string
	}
	InstanceStorageSupported      bool
	InstanceStorageInfo           struct{ TotalSizeInGB int64 }
	BurstablePerformanceSupported bool
	GpuInfo                       struct {
		Gpus []struct {
			Name       string
			Count      int
			MemoryInfo struct{ SizeInMiB int64 }
		}
	}
}

// typeTable is the decoded catalogue.
type typeTable struct {
	byName map[string]*typeRecord
	names  []string // sorted
}

// instanceTypes decodes the catalogue on first use.
var instanceTypes = sync.OnceValue(func() *typeTable {
	var raws []json.RawMessage
	if err := json.Unmarshal(gunzip(instanceTypesGz, "instance types"), &raws); err != nil {
		panic("catalog: instance types: " + err.Error())
	}
	t := &typeTable{byName: make(map[string]*typeRecord, len(raws))}
	for _, raw := range raws {
		rec := &typeRecord{raw: raw}
		if err := json.Unmarshal(raw, &rec.summary); err != nil {
			panic("catalog: instance types: " + err.Error())
		}
		t.byName[rec.summary.InstanceType] = rec
		t.names = append(t.names, rec.summary.InstanceType)
	}
	sort.Strings(t.names)
	return t
})

func gunzip(data []byte, what string) []byte {
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		panic("catalog: " + what + ": " + err.Error())
	}
	out, err := io.ReadAll(zr)
	if err != nil {
		panic("catalog: " + what + ": " + err.Error())
	}
	return out
}

func lookupType(name string) (*typeRecord, bool) {
	rec, ok := instanceTypes().byName[name]
	return rec, ok
}

// InstanceType returns the DescribeInstanceTypes record of the named type,
// e.g. "m5.large". Names are case-sensitive, as in EC2.
func InstanceType(name string) (api.InstanceTypeInfo, bool) {
	rec, ok := lookupType(name)
	if !ok {
		return api.InstanceTypeInfo{}, false
	}
	var info api.InstanceTypeInfo
	if err := json.Unmarshal(rec.raw, &info); err != nil {
		// The embedded data is checked by the tests; a failure here is a
		// build with a corrupt catalogue.
		panic("catalog: instance type " + name + ": " + err.Error())
	}
	return info, true
}

// InstanceTypes returns the names of every instance type in the catalogue,
// sorted.
func InstanceTypes() []string {
	return slices.Clone(instanceTypes().names)
}

// VCPUs returns the default number of vCPUs of an instance type, or 0 for
// an unknown type.
func VCPUs(name string) int {
	rec, ok := lookupType(name)
	if !ok {
		return 0
	}
	return rec.summary.VCpuInfo.DefaultVCpus
}

// MemoryMiB returns the memory of an instance type in MiB, or 0 for an
// unknown type.
func MemoryMiB(name string) int64 {
	rec, ok := lookupType(name)
	if !ok {
		return 0
	}
	return rec.summary.MemoryInfo.SizeInMiB
}

// HasInstanceStore reports whether an instance type comes with instance
// store volumes (i3, i4i, g4dn, p4d ...).
func HasInstanceStore(name string) bool {
	rec, ok := lookupType(name)
	return ok && rec.summary.InstanceStorageSupported
}

// Architectures returns the processor architectures an instance type runs
// ("x86_64", "arm64", and "i386" for some older types), or nil for an
// unknown type. RunInstances refuses an AMI whose Architecture is not among
// them.
func Architectures(name string) []string {
	rec, ok := lookupType(name)
	if !ok {
		return nil
	}
	return slices.Clone(rec.summary.ProcessorInfo.SupportedArchitectures)
}

// Location types of DescribeInstanceTypeOfferings.
const (
	LocationRegion             = "region"
	LocationAvailabilityZone   = "availability-zone"
	LocationAvailabilityZoneID = "availability-zone-id"
)

// offeringTable is the decoded offerings file.
type offeringTable struct {
	Regions map[string][]string            // region → instance types
	Zones   map[string]map[string][]string // region → instance type → AZ IDs
}

var offerings = sync.OnceValue(func() *offeringTable {
	var t offeringTable
	if err := json.Unmarshal(gunzip(offeringsGz, "offerings"), &t); err != nil {
		panic("catalog: offerings: " + err.Error())
	}
	return &t
})

// InstanceTypeOfferings returns the instance types offered in a Region, as
// DescribeInstanceTypeOfferings answers for locationType "region" (one
// offering per type, Location the Region), "availability-zone" (one per type
// and zone, Location the zone name) or "availability-zone-id" (Location the
// AZ ID). The result is sorted by location, then type. ok is false for an
// unknown Region or location type.
//
// The offerings are AWS's, from the snapshot: not every type is in every
// zone or Region (p4d.24xlarge is in about half the Regions and in four of
// us-east-1's zones; Graviton types are missing from a few zones). A Region
// the snapshot does not cover would offer every type in every zone.
func InstanceTypeOfferings(locationType, regionName string) (out []api.InstanceTypeOffering, ok bool) {
	r, ok := findRegion(regionName)
	if !ok {
		return nil, false
	}
	add := func(typ, location string) {
		out = append(out, api.InstanceTypeOffering{
			InstanceType: ptr(typ), Location: ptr(location), LocationType: ptr(locationType),
		})
	}
	switch locationType {
	case LocationRegion:
		for _, typ := range regionTypes(regionName) {
			add(typ, regionName)
		}
	case LocationAvailabilityZone, LocationAvailabilityZoneID:
		names, ids := r.zoneNames()
		for i := range names {
			location := names[i]
			if locationType == LocationAvailabilityZoneID {
				location = ids[i]
			}
			for _, typ := range InstanceTypes() {
				if offeredInZone(regionName, typ, ids[i]) {
					add(typ, location)
				}
			}
		}
		sort.SliceStable(out, func(i, j int) bool { return *out[i].Location < *out[j].Location })
	default:
		return nil, false
	}
	return out, true
}

// regionTypes returns the types offered in a Region, sorted.
func regionTypes(regionName string) []string {
	if types, ok := offerings().Regions[regionName]; ok {
		return slices.Clone(types)
	}
	return InstanceTypes()
}

func offeredInZone(regionName, typ, zoneID string) bool {
	zones, ok := offerings().Zones[regionName]
	if !ok {
		_, known := lookupType(typ)
		return known
	}
	return slices.Contains(zones[typ], zoneID)
}

// IsOffered reports whether an instance type can be launched in a location:
// a Region name, an Availability Zone name or an AZ ID. RunInstances answers
// Unsupported ("Your requested instance type (...) is not supported in your
// requested Availability Zone (...)") when it cannot.
func IsOffered(instanceType, location string) bool {
	if _, ok := lookupType(instanceType); !ok {
		return false
	}
	if IsRegion(location) {
		return slices.Contains(regionTypes(location), instanceType)
	}
	az, ok := AvailabilityZone(location)
	if !ok {
		return false
	}
	return offeredInZone(*az.RegionName, instanceType, *az.ZoneId)
}

// family returns the family of an instance type: "m7i-flex" for
// "m7i-flex.large".
func family(name string) string {
	f, _, _ := strings.Cut(name, ".")
	return f
}
