package catalog_test

import (
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/nephele-dev/nephele/internal/ec2/catalog"
)

// TestInstanceTypeFigures checks figures against the AWS instance type
// specifications (m5.large 2 vCPU / 8 GiB; i3.large 15.25 GiB and one 475 GB
// NVMe SSD; t4g.micro Graviton2, 2 vCPU / 1 GiB; g4dn one T4; p4d eight
// A100s).
func TestInstanceTypeFigures(t *testing.T) {
	tests := []struct {
		name       string
		vcpus      int32
		cores      int32
		threads    int32
		memMiB     int64
		arch       []string
		hypervisor string
		burstable  bool
		freeTier   bool
		clockGHz   float64
		disks      string // "count x GB" of instance store, "" for EBS only
		gpu        string // "count x name", "" for none
		enis, ipv4 int32
		network    string
	}{
		{"m5.large", 2, 1, 2, 8192, []string{"x86_64"}, "nitro", false, false, 3.1, "", "", 3, 10, "Up to 10 Gigabit"},
		{"i3.large", 2, 1, 2, 15616, []string{"x86_64"}, "xen", false, false, 2.3, "1 x 475", "", 3, 10, "Up to 10 Gigabit"},
		{"t4g.micro", 2, 2, 1, 1024, []string{"arm64"}, "nitro", true, true, 2.5, "", "", 2, 2, "Up to 5 Gigabit"},
		{"t2.micro", 1, 1, 1, 1024, []string{"i386", "x86_64"}, "xen", true, true, 2.5, "", "", 2, 2, "Low to Moderate"},
		{"t3.micro", 2, 1, 2, 1024, []string{"x86_64"}, "nitro", true, true, 2.5, "", "", 2, 2, "Up to 5 Gigabit"},
		{"c6g.medium", 1, 1, 1, 2048, []string{"arm64"}, "nitro", false, false, 2.5, "", "", 2, 4, "Up to 10 Gigabit"},
		{"g4dn.xlarge", 4, 2, 2, 16384, []string{"x86_64"}, "nitro", false, false, 2.5, "1 x 125", "1 x T4", 3, 10, "Up to 25 Gigabit"},
		{"p4d.24xlarge", 96, 48, 2, 1179648, []string{"x86_64"}, "nitro", false, false, 3.0, "8 x 1000", "8 x A100", 60, 50, "4x 100 Gigabit"},
		{"i4i.large", 2, 1, 2, 16384, []string{"x86_64"}, "nitro", false, false, 3.5, "1 x 468", "", 3, 10, "Up to 10 Gigabit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			info, ok := catalog.InstanceType(tt.name)
			if !ok {
				t.Fatal("not found")
			}
			v := info.VCpuInfo
			if *info.InstanceType != tt.name || *v.DefaultVCpus != tt.vcpus || *v.DefaultCores != tt.cores || *v.DefaultThreadsPerCore != tt.threads {
				t.Errorf("vCPUs %d = %d cores x %d threads", *v.DefaultVCpus, *v.DefaultCores, *v.DefaultThreadsPerCore)
			}
			if *info.MemoryInfo.SizeInMiB != tt.memMiB {
				t.Errorf("memory %d MiB, want %d", *info.MemoryInfo.SizeInMiB, tt.memMiB)
			}
			if !slices.Equal(info.ProcessorInfo.SupportedArchitectures, tt.arch) || *info.ProcessorInfo.SustainedClockSpeedInGhz != tt.clockGHz {
				t.Errorf("processor %v at %v GHz", info.ProcessorInfo.SupportedArchitectures, *info.ProcessorInfo.SustainedClockSpeedInGhz)
			}
			if *info.Hypervisor != tt.hypervisor || *info.BurstablePerformanceSupported != tt.burstable || *info.FreeTierEligible != tt.freeTier {
				t.Errorf("hypervisor %s burstable %v free tier %v", *info.Hypervisor, *info.BurstablePerformanceSupported, *info.FreeTierEligible)
			}
			if !*info.CurrentGeneration && tt.name != "m5.large" && tt.name != "t2.micro" {
				t.Error("not current generation")
			}
			if !slices.Contains(info.SupportedUsageClasses, "on-demand") || !slices.Contains(info.SupportedUsageClasses, "spot") {
				t.Errorf("usage classes %v", info.SupportedUsageClasses)
			}
			var disks string
			if s := info.InstanceStorageInfo; s != nil {
				disks = itoa(int64(*s.Disks[0].Count)) + " x " + itoa(*s.Disks[0].SizeInGB)
			}
			if disks != tt.disks || *info.InstanceStorageSupported != (tt.disks != "") || catalog.HasInstanceStore(tt.name) != (tt.disks != "") {
				t.Errorf("instance store %q, want %q", disks, tt.disks)
			}
			var gpu string
			if g := info.GpuInfo; g != nil {
				gpu = itoa(int64(*g.Gpus[0].Count)) + " x " + *g.Gpus[0].Name
			}
			if gpu != tt.gpu {
				t.Errorf("GPUs %q, want %q", gpu, tt.gpu)
			}
			n := info.NetworkInfo
			if *n.MaximumNetworkInterfaces != tt.enis || *n.Ipv4AddressesPerInterface != tt.ipv4 || *n.NetworkPerformance != tt.network {
				t.Errorf("network: %d ENIs x %d IPv4, %q", *n.MaximumNetworkInterfaces, *n.Ipv4AddressesPerInterface, *n.NetworkPerformance)
			}
			if info.EbsInfo == nil || *info.EbsInfo.EbsOptimizedSupport == "" {
				t.Error("no EBS info")
			}
			if got := catalog.VCPUs(tt.name); got != int(tt.vcpus) {
				t.Errorf("VCPUs = %d", got)
			}
			if got := catalog.MemoryMiB(tt.name); got != tt.memMiB {
				t.Errorf("MemoryMiB = %d", got)
			}
			if got := catalog.Architectures(tt.name); !slices.Equal(got, tt.arch) {
				t.Errorf("Architectures = %v", got)
			}
		})
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func TestUnknownInstanceType(t *testing.T) {
	for _, name := range []string{"", "m5.huge", "M5.LARGE", "m5", "x99.large", "m5.large "} {
		t.Run(name, func(t *testing.T) {
			if _, ok := catalog.InstanceType(name); ok {
				t.Error("InstanceType found")
			}
			if catalog.VCPUs(name) != 0 || catalog.MemoryMiB(name) != 0 || catalog.HasInstanceStore(name) || catalog.Architectures(name) != nil {
				t.Error("figures for an unknown type")
			}
			if _, ok := catalog.OnDemandPrice(name); ok {
				t.Error("OnDemandPrice found")
			}
			if catalog.IsOffered(name, "us-east-1") {
				t.Error("IsOffered = true")
			}
		})
	}
}

// TestFamiliesComplete checks every required family in all its sizes, per
// the AWS instance type specifications.
func TestFamiliesComplete(t *testing.T) {
	graviton := []string{"medium", "large", "xlarge", "2xlarge", "4xlarge", "8xlarge", "12xlarge", "16xlarge", "metal"}
	intel6 := []string{"large", "xlarge", "2xlarge", "4xlarge", "8xlarge", "12xlarge", "16xlarge", "24xlarge", "32xlarge", "metal"}
	burst := []string{"nano", "micro", "small", "medium", "large", "xlarge", "2xlarge"}
	families := map[string][]string{
		"t2": burst, "t3": burst, "t3a": burst, "t4g": burst,
		"m5":  {"large", "xlarge", "2xlarge", "4xlarge", "8xlarge", "12xlarge", "16xlarge", "24xlarge", "metal"},
		"m6i": intel6, "m6g": graviton, "m7g": graviton,
		"c5":  {"large", "xlarge", "2xlarge", "4xlarge", "9xlarge", "12xlarge", "18xlarge", "24xlarge", "metal"},
		"c6i": intel6, "c6g": graviton, "c7g": graviton,
		"r5":  {"large", "xlarge", "2xlarge", "4xlarge", "8xlarge", "12xlarge", "16xlarge", "24xlarge", "metal"},
		"r6i": intel6, "r6g": graviton,
		"i3":   {"large", "xlarge", "2xlarge", "4xlarge", "8xlarge", "16xlarge"},
		"i4i":  intel6,
		"g4dn": {"xlarge", "2xlarge", "4xlarge", "8xlarge", "12xlarge", "16xlarge", "metal"},
		"p4d":  {"24xlarge"},
	}
	all := catalog.InstanceTypes()
	for fam, sizes := range families {
		t.Run(fam, func(t *testing.T) {
			var have []string
			for _, name := range all {
				if f, _, _ := strings.Cut(name, "."); f == fam {
					have = append(have, name)
				}
			}
			var want []string
			for _, s := range sizes {
				want = append(want, fam+"."+s)
			}
			sort.Strings(want)
			if !slices.Equal(have, want) {
				t.Fatalf("have %v\nwant %v", have, want)
			}
			for _, name := range want {
				arch := catalog.Architectures(name)
				graviton := strings.HasSuffix(fam, "g")
				if graviton != slices.Equal(arch, []string{"arm64"}) {
					t.Errorf("%s runs %v", name, arch)
				}
				info, _ := catalog.InstanceType(name)
				if strings.HasPrefix(fam, "t") != *info.BurstablePerformanceSupported {
					t.Errorf("%s burstable = %v", name, *info.BurstablePerformanceSupported)
				}
			}
		})
	}
}

// TestEveryTypeDecodes decodes each record into the API shape, so a
// snapshot whose fields no longer fit the model fails here, not in a
// request.
func TestEveryTypeDecodes(t *testing.T) {
	names := catalog.InstanceTypes()
	if !slices.IsSorted(names) || len(names) < 150 {
		t.Fatalf("%d types, sorted %v", len(names), slices.IsSorted(names))
	}
	for _, name := range names {
		info, ok := catalog.InstanceType(name)
		if !ok || *info.InstanceType != name {
			t.Fatalf("%s: found %v", name, ok)
		}
		if catalog.VCPUs(name) <= 0 || catalog.MemoryMiB(name) <= 0 || len(catalog.Architectures(name)) == 0 {
			t.Errorf("%s: %d vCPUs, %d MiB, %v", name, catalog.VCPUs(name), catalog.MemoryMiB(name), catalog.Architectures(name))
		}
		if catalog.HasInstanceStore(name) != (info.InstanceStorageInfo != nil) {
			t.Errorf("%s: HasInstanceStore disagrees with InstanceStorageInfo", name)
		}
		if info.NetworkInfo == nil || info.EbsInfo == nil || info.ProcessorInfo.SustainedClockSpeedInGhz == nil {
			t.Errorf("%s: missing network, EBS or processor info", name)
		}
	}
}

func TestInstanceTypeReturnsCopies(t *testing.T) {
	a, _ := catalog.InstanceType("m5.large")
	*a.VCpuInfo.DefaultVCpus = 99
	a.ProcessorInfo.SupportedArchitectures[0] = "sparc"
	catalog.Architectures("m5.large")[0] = "sparc"
	catalog.InstanceTypes()[0] = "zz"
	b, _ := catalog.InstanceType("m5.large")
	if *b.VCpuInfo.DefaultVCpus != 2 || b.ProcessorInfo.SupportedArchitectures[0] != "x86_64" ||
		catalog.Architectures("m5.large")[0] != "x86_64" || catalog.InstanceTypes()[0] == "zz" {
		t.Fatal("a caller's change reached the catalogue")
	}
}

func TestInstanceTypeOfferings(t *testing.T) {
	t.Run("region_lists_each_type_once", func(t *testing.T) {
		offers, ok := catalog.InstanceTypeOfferings(catalog.LocationRegion, "us-east-1")
		if !ok || len(offers) < 150 {
			t.Fatalf("%d offerings, ok %v", len(offers), ok)
		}
		var types []string
		for _, o := range offers {
			if *o.Location != "us-east-1" || *o.LocationType != "region" {
				t.Fatalf("offering %s at %s (%s)", *o.InstanceType, *o.Location, *o.LocationType)
			}
			types = append(types, *o.InstanceType)
		}
		if !slices.IsSorted(types) || len(slices.Compact(slices.Clone(types))) != len(types) {
			t.Fatal("types not sorted or repeated")
		}
	})
	for _, lt := range []string{catalog.LocationAvailabilityZone, catalog.LocationAvailabilityZoneID} {
		t.Run(lt+"_locations_are_the_regions_zones", func(t *testing.T) {
			offers, ok := catalog.InstanceTypeOfferings(lt, "eu-west-1")
			if !ok {
				t.Fatal("not ok")
			}
			zones := map[string]bool{}
			for _, az := range catalog.AvailabilityZones("eu-west-1") {
				if lt == catalog.LocationAvailabilityZone {
					zones[*az.ZoneName] = true
				} else {
					zones[*az.ZoneId] = true
				}
			}
			seen := map[string]int{}
			for i, o := range offers {
				if !zones[*o.Location] || *o.LocationType != lt {
					t.Fatalf("offering at %s (%s)", *o.Location, *o.LocationType)
				}
				if i > 0 && *offers[i-1].Location > *o.Location {
					t.Fatal("not sorted by location")
				}
				seen[*o.Location]++
			}
			if len(seen) != len(zones) {
				t.Fatalf("offerings in %d of %d zones", len(seen), len(zones))
			}
		})
	}
	t.Run("unknown_region_or_location_type", func(t *testing.T) {
		if _, ok := catalog.InstanceTypeOfferings("region", "mars-1"); ok {
			t.Error("unknown region ok")
		}
		if _, ok := catalog.InstanceTypeOfferings("outpost", "us-east-1"); ok {
			t.Error("unknown location type ok")
		}
	})
}

func TestIsOffered(t *testing.T) {
	tests := []struct {
		typ, location string
		want          bool
	}{
		{"t3.micro", "us-east-1", true},
		{"t3.micro", "us-east-1a", true},
		{"t3.micro", "use1-az2", true},
		{"m7g.large", "us-east-1f", true},
		// p4d is in four of us-east-1's six zones; use1-az5 (us-east-1f
		// here) is not one of them.
		{"p4d.24xlarge", "us-east-1a", true},
		{"p4d.24xlarge", "us-east-1f", false},
		{"p4d.24xlarge", "use1-az5", false},
		{"p4d.24xlarge", "us-west-1", false},
		{"t3.micro", "us-east-1e", false}, // not a zone of the catalogue
		{"t3.micro", "nowhere", false},
	}
	for _, tt := range tests {
		t.Run(tt.typ+"_in_"+tt.location, func(t *testing.T) {
			if got := catalog.IsOffered(tt.typ, tt.location); got != tt.want {
				t.Fatalf("IsOffered = %v", got)
			}
		})
	}
	t.Run("common_types_in_every_zone_of_default_regions", func(t *testing.T) {
		for _, r := range catalog.Regions() {
			if *r.OptInStatus != catalog.OptInNotRequired {
				continue
			}
			for _, az := range catalog.AvailabilityZones(*r.RegionName) {
				for _, typ := range []string{"t3.micro", "t3.small", "m5.large", "c5.large"} {
					if !catalog.IsOffered(typ, *az.ZoneName) {
						t.Errorf("%s not offered in %s", typ, *az.ZoneName)
					}
				}
			}
		}
	})
}
