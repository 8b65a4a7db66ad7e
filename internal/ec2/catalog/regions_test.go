package catalog_test

import (
	"slices"
	"strings"
	"testing"

	api "github.com/nephele-dev/nephele/internal/api/ec2"
	"github.com/nephele-dev/nephele/internal/ec2/catalog"
)

func TestRegions(t *testing.T) {
	tests := []struct {
		region string
		optIn  string
	}{
		{"us-east-1", catalog.OptInNotRequired},
		{"us-east-2", catalog.OptInNotRequired},
		{"us-west-1", catalog.OptInNotRequired},
		{"us-west-2", catalog.OptInNotRequired},
		{"eu-west-1", catalog.OptInNotRequired},
		{"eu-west-2", catalog.OptInNotRequired},
		{"eu-west-3", catalog.OptInNotRequired},
		{"eu-central-1", catalog.OptInNotRequired},
		{"eu-north-1", catalog.OptInNotRequired},
		{"ap-southeast-1", catalog.OptInNotRequired},
		{"ap-southeast-2", catalog.OptInNotRequired},
		{"ap-northeast-1", catalog.OptInNotRequired},
		{"ap-northeast-2", catalog.OptInNotRequired},
		{"ap-northeast-3", catalog.OptInNotRequired},
		{"ap-south-1", catalog.OptInNotRequired},
		{"sa-east-1", catalog.OptInNotRequired},
		{"ca-central-1", catalog.OptInNotRequired},
		{"af-south-1", catalog.NotOptedIn},
		{"ap-east-1", catalog.NotOptedIn},
		{"eu-south-1", catalog.NotOptedIn},
		{"me-south-1", catalog.NotOptedIn},
		{"il-central-1", catalog.NotOptedIn},
		{"ca-west-1", catalog.NotOptedIn},
	}
	for _, tt := range tests {
		t.Run(tt.region, func(t *testing.T) {
			if !catalog.IsRegion(tt.region) {
				t.Fatal("IsRegion = false")
			}
			r, ok := catalog.Region(tt.region)
			if !ok {
				t.Fatal("Region not found")
			}
			if *r.RegionName != tt.region || *r.OptInStatus != tt.optIn || *r.Endpoint != "ec2."+tt.region+".amazonaws.com" {
				t.Fatalf("Region = %s %s %s", *r.RegionName, *r.OptInStatus, *r.Endpoint)
			}
		})
	}
	t.Run("unknown_names_are_not_regions", func(t *testing.T) {
		for _, name := range []string{"", "us-east-9", "US-EAST-1", "us-east-1a", "cn-north-1"} {
			if catalog.IsRegion(name) {
				t.Errorf("IsRegion(%q) = true", name)
			}
			if _, ok := catalog.Region(name); ok {
				t.Errorf("Region(%q) found", name)
			}
			if azs := catalog.AvailabilityZones(name); azs != nil {
				t.Errorf("AvailabilityZones(%q) = %d zones", name, len(azs))
			}
		}
	})
	t.Run("listed_sorted_and_consistent", func(t *testing.T) {
		all := catalog.Regions()
		names := catalog.RegionNames()
		if len(all) != len(names) || len(all) < 17 {
			t.Fatalf("%d regions, %d names", len(all), len(names))
		}
		if !slices.IsSorted(names) {
			t.Fatalf("names not sorted: %v", names)
		}
		for i, r := range all {
			if *r.RegionName != names[i] {
				t.Fatalf("Regions()[%d] = %s, RegionNames()[%d] = %s", i, *r.RegionName, i, names[i])
			}
		}
	})
}

func TestAvailabilityZones(t *testing.T) {
	seenIDs := map[string]string{}
	for _, region := range catalog.RegionNames() {
		t.Run(region, func(t *testing.T) {
			azs := catalog.AvailabilityZones(region)
			// us-west-1 has two zones in AWS; every other Region three or more.
			want := 3
			if region == "us-west-1" {
				want = 2
			}
			if len(azs) < want {
				t.Fatalf("%d zones", len(azs))
			}
			names := map[string]bool{}
			for _, az := range azs {
				name, id := *az.ZoneName, *az.ZoneId
				if !strings.HasPrefix(name, region) || len(name) != len(region)+1 {
					t.Errorf("zone name %s", name)
				}
				if names[name] {
					t.Errorf("zone name %s twice", name)
				}
				names[name] = true
				if other, dup := seenIDs[id]; dup {
					t.Errorf("zone ID %s of %s is also %s's", id, name, other)
				}
				seenIDs[id] = name
				if *az.RegionName != region || *az.ZoneType != "availability-zone" || *az.State != "available" ||
					*az.OptInStatus != catalog.OptInNotRequired || *az.GroupName != region+"-zg-1" || *az.NetworkBorderGroup != region {
					t.Errorf("zone %s: region %s type %s state %s opt-in %s group %s border %s", name, *az.RegionName,
						*az.ZoneType, *az.State, *az.OptInStatus, *az.GroupName, *az.NetworkBorderGroup)
				}
			}
			if !slices.IsSortedFunc(azs, func(a, b api.AvailabilityZone) int { return strings.Compare(*a.ZoneName, *b.ZoneName) }) {
				t.Error("zones not sorted by name")
			}
		})
	}
}

func TestAvailabilityZoneLookup(t *testing.T) {
	tests := []struct {
		key      string
		wantName string // "" when not found
		wantID   string
	}{
		{"us-east-1a", "us-east-1a", "use1-az2"},
		{"use1-az2", "us-east-1a", "use1-az2"},
		{"us-east-1f", "us-east-1f", "use1-az5"},
		{"eu-west-1c", "eu-west-1c", "euw1-az2"},
		{"apne1-az4", "ap-northeast-1a", "apne1-az4"},
		{"us-east-1e", "", ""}, // the constrained zone is left out
		{"ap-northeast-1b", "", ""},
		{"us-east-1", "", ""},
		{"", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.key, func(t *testing.T) {
			az, ok := catalog.AvailabilityZone(tt.key)
			if ok != (tt.wantName != "") {
				t.Fatalf("AvailabilityZone found = %v", ok)
			}
			if !ok {
				return
			}
			if *az.ZoneName != tt.wantName || *az.ZoneId != tt.wantID {
				t.Fatalf("AvailabilityZone = %s (%s), want %s (%s)", *az.ZoneName, *az.ZoneId, tt.wantName, tt.wantID)
			}
			byName, okName := catalog.AvailabilityZoneByName(tt.wantName)
			byID, okID := catalog.AvailabilityZoneByID(tt.wantID)
			if !okName || !okID || *byName.ZoneId != tt.wantID || *byID.ZoneName != tt.wantName {
				t.Fatal("ByName and ByID disagree with AvailabilityZone")
			}
			if _, ok := catalog.AvailabilityZoneByName(tt.wantID); ok {
				t.Fatal("ByName found a zone by its ID")
			}
		})
	}
}
