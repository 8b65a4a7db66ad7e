package ec2

import (
	"context"
	"slices"
	"strings"
	"testing"

	api "github.com/nephele-dev/nephele/internal/api/ec2"
	"github.com/nephele-dev/nephele/internal/awserr"
	"github.com/nephele-dev/nephele/internal/service"
)

func regionNames(rs []api.Region) []string {
	var out []string
	for _, r := range rs {
		out = append(out, str(r.RegionName))
	}
	return out
}

func TestDescribeRegions(t *testing.T) {
	f := newNetFixture(t)
	t.Run("enabled regions only by default", func(t *testing.T) {
		out, err := f.svc.DescribeRegions(f.ctx, &api.DescribeRegionsInput{})
		f.must(err)
		names := regionNames(out.Regions)
		if !slices.Contains(names, "us-east-1") || slices.Contains(names, "af-south-1") {
			t.Errorf("regions = %v, want us-east-1 without the opt-in af-south-1", names)
		}
		for _, r := range out.Regions {
			if str(r.OptInStatus) != "opt-in-not-required" || str(r.Endpoint) != "ec2."+str(r.RegionName)+".amazonaws.com" {
				t.Errorf("region %+v", r)
			}
		}
	})
	t.Run("AllRegions adds opt-in regions", func(t *testing.T) {
		out, err := f.svc.DescribeRegions(f.ctx, &api.DescribeRegionsInput{AllRegions: ptr(true),
			Filters: []api.Filter{{Name: ptr("opt-in-status"), Values: []string{"not-opted-in"}}}})
		f.must(err)
		if names := regionNames(out.Regions); !slices.Contains(names, "af-south-1") || slices.Contains(names, "us-east-1") {
			t.Errorf("not-opted-in regions = %v", names)
		}
	})
	t.Run("a named region is shown whatever its status", func(t *testing.T) {
		out, err := f.svc.DescribeRegions(f.ctx, &api.DescribeRegionsInput{RegionNames: []string{"af-south-1", "eu-west-1"}})
		f.must(err)
		if names := regionNames(out.Regions); !slices.Equal(names, []string{"af-south-1", "eu-west-1"}) {
			t.Errorf("regions = %v", names)
		}
	})
	t.Run("filters", func(t *testing.T) {
		out, err := f.svc.DescribeRegions(f.ctx, &api.DescribeRegionsInput{Filters: []api.Filter{
			{Name: ptr("region-name"), Values: []string{"us-*"}},
			{Name: ptr("endpoint"), Values: []string{"*west*"}},
		}})
		f.must(err)
		if names := regionNames(out.Regions); !slices.Equal(names, []string{"us-west-1", "us-west-2"}) {
			t.Errorf("regions = %v", names)
		}
	})
	t.Run("unknown region", func(t *testing.T) {
		_, err := f.svc.DescribeRegions(f.ctx, &api.DescribeRegionsInput{RegionNames: []string{"mars-north-1"}})
		f.wantCode(err, "InvalidParameterValue")
	})
}

func TestDescribeAvailabilityZones(t *testing.T) {
	f := newNetFixture(t)
	zoneNames := func(zs []api.AvailabilityZone) []string {
		var out []string
		for _, z := range zs {
			out = append(out, str(z.ZoneName))
		}
		return out
	}
	tests := []struct {
		name   string
		region string
		in     api.DescribeAvailabilityZonesInput
		want   []string
	}{
		{"the request's region", "us-east-1", api.DescribeAvailabilityZonesInput{}, []string{"us-east-1a", "us-east-1b", "us-east-1c", "us-east-1d", "us-east-1f"}},
		{"another region", "eu-west-1", api.DescribeAvailabilityZonesInput{AllAvailabilityZones: ptr(true)}, []string{"eu-west-1a", "eu-west-1b", "eu-west-1c"}},
		{"by name and by id", "us-east-1", api.DescribeAvailabilityZonesInput{ZoneNames: []string{"us-east-1b"}, ZoneIds: []string{"use1-az1"}}, []string{"us-east-1b", "us-east-1d"}},
		{"zone-id filter", "us-east-1", api.DescribeAvailabilityZonesInput{Filters: []api.Filter{{Name: ptr("zone-id"), Values: []string{"use1-az6"}}}}, []string{"us-east-1c"}},
		{"state and type filters", "us-west-1", api.DescribeAvailabilityZonesInput{Filters: []api.Filter{
			{Name: ptr("state"), Values: []string{"available"}}, {Name: ptr("zone-type"), Values: []string{"availability-zone"}},
			{Name: ptr("group-name"), Values: []string{"us-west-1-zg-1"}}, {Name: ptr("region-name"), Values: []string{"us-west-1"}},
		}}, []string{"us-west-1a", "us-west-1b"}},
		{"no match", "us-east-1", api.DescribeAvailabilityZonesInput{Filters: []api.Filter{{Name: ptr("opt-in-status"), Values: []string{"opted-in"}}}}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := service.WithRequest(context.Background(), service.Request{AccountID: netAccount, Region: tc.region})
			out, err := f.svc.DescribeAvailabilityZones(ctx, &tc.in)
			f.must(err)
			if got := zoneNames(out.AvailabilityZones); !slices.Equal(got, tc.want) {
				t.Errorf("zones = %v, want %v", got, tc.want)
			}
		})
	}
	t.Run("unknown zone", func(t *testing.T) {
		_, err := f.svc.DescribeAvailabilityZones(f.ctx, &api.DescribeAvailabilityZonesInput{ZoneNames: []string{"us-east-1z"}})
		f.wantCode(err, "InvalidParameterValue")
	})
	t.Run("unknown filter", func(t *testing.T) {
		_, err := f.svc.DescribeAvailabilityZones(f.ctx, &api.DescribeAvailabilityZonesInput{Filters: []api.Filter{{Name: ptr("colour"), Values: []string{"x"}}}})
		f.wantCode(err, "InvalidParameterValue")
	})
}

func TestDescribeInstanceTypes(t *testing.T) {
	f := newNetFixture(t)
	typeNames := func(ts []api.InstanceTypeInfo) []string {
		var out []string
		for _, it := range ts {
			out = append(out, str(it.InstanceType))
		}
		return out
	}
	t.Run("named types", func(t *testing.T) {
		out, err := f.svc.DescribeInstanceTypes(f.ctx, &api.DescribeInstanceTypesInput{InstanceTypes: []string{"t3.micro", "m5.large"}})
		f.must(err)
		if got := typeNames(out.InstanceTypes); !slices.Equal(got, []string{"m5.large", "t3.micro"}) {
			t.Fatalf("types = %v", got)
		}
		if v := out.InstanceTypes[1].VCpuInfo; deref(v.DefaultVCpus) != 2 || deref(out.InstanceTypes[1].MemoryInfo.SizeInMiB) != 1024 {
			t.Errorf("t3.micro = %+v", out.InstanceTypes[1])
		}
	})
	t.Run("unknown types", func(t *testing.T) {
		_, err := f.svc.DescribeInstanceTypes(f.ctx, &api.DescribeInstanceTypesInput{InstanceTypes: []string{"t3.micro", "x9.huge", "y1.tiny"}})
		f.wantCode(err, "InvalidInstanceType")
		if e := awserr.As(err); e.Message != "The following supplied instance types do not exist: [x9.huge, y1.tiny]" {
			t.Errorf("message = %q", e.Message)
		}
	})
	t.Run("filters", func(t *testing.T) {
		out, err := f.svc.DescribeInstanceTypes(f.ctx, &api.DescribeInstanceTypesInput{Filters: []api.Filter{
			{Name: ptr("instance-type"), Values: []string{"t3.*"}},
			{Name: ptr("vcpu-info.default-vcpus"), Values: []string{"2"}},
			{Name: ptr("memory-info.size-in-mib"), Values: []string{"1024", "2048"}},
			{Name: ptr("burstable-performance-supported"), Values: []string{"true"}},
			{Name: ptr("processor-info.supported-architecture"), Values: []string{"x86_64"}},
			{Name: ptr("current-generation"), Values: []string{"true"}},
			{Name: ptr("instance-storage-supported"), Values: []string{"false"}},
			{Name: ptr("hypervisor"), Values: []string{"nitro"}},
			{Name: ptr("supported-usage-class"), Values: []string{"spot"}},
		}})
		f.must(err)
		if got := typeNames(out.InstanceTypes); !slices.Equal(got, []string{"t3.micro", "t3.small"}) {
			t.Errorf("types = %v", got)
		}
		free, err := f.svc.DescribeInstanceTypes(f.ctx, &api.DescribeInstanceTypesInput{Filters: []api.Filter{{Name: ptr("free-tier-eligible"), Values: []string{"true"}}}})
		f.must(err)
		if got := typeNames(free.InstanceTypes); !slices.Contains(got, "t2.micro") || slices.Contains(got, "m5.large") {
			t.Errorf("free tier types = %v", got)
		}
	})
	t.Run("pages", func(t *testing.T) {
		all, err := f.svc.DescribeInstanceTypes(f.ctx, &api.DescribeInstanceTypesInput{Filters: []api.Filter{{Name: ptr("instance-type"), Values: []string{"m5*"}}}})
		f.must(err)
		var walked []string
		var token *string
		for {
			out, err := f.svc.DescribeInstanceTypes(f.ctx, &api.DescribeInstanceTypesInput{MaxResults: ptr(int32(5)), NextToken: token,
				Filters: []api.Filter{{Name: ptr("instance-type"), Values: []string{"m5*"}}}})
			f.must(err)
			if len(out.InstanceTypes) > 5 {
				t.Fatalf("page of %d", len(out.InstanceTypes))
			}
			walked = append(walked, typeNames(out.InstanceTypes)...)
			if token = out.NextToken; token == nil {
				break
			}
		}
		if want := typeNames(all.InstanceTypes); len(want) <= 5 || !slices.Equal(walked, want) {
			t.Errorf("walked %v, want %v", walked, want)
		}
		_, err = f.svc.DescribeInstanceTypes(f.ctx, &api.DescribeInstanceTypesInput{MaxResults: ptr(int32(101))})
		f.wantCode(err, "InvalidParameterValue")
	})
}

func TestDescribeInstanceTypeOfferings(t *testing.T) {
	f := newNetFixture(t)
	t.Run("region by default", func(t *testing.T) {
		out, err := f.svc.DescribeInstanceTypeOfferings(f.ctx, &api.DescribeInstanceTypeOfferingsInput{
			Filters: []api.Filter{{Name: ptr("instance-type"), Values: []string{"t3.micro"}}}})
		f.must(err)
		if len(out.InstanceTypeOfferings) != 1 || str(out.InstanceTypeOfferings[0].Location) != "us-east-1" || str(out.InstanceTypeOfferings[0].LocationType) != "region" {
			t.Errorf("offerings = %+v", out.InstanceTypeOfferings)
		}
	})
	for _, tc := range []struct{ locationType, location string }{
		{"availability-zone", "us-east-1b"},
		{"availability-zone-id", "use1-az4"},
	} {
		t.Run(tc.locationType, func(t *testing.T) {
			out, err := f.svc.DescribeInstanceTypeOfferings(f.ctx, &api.DescribeInstanceTypeOfferingsInput{LocationType: ptr(tc.locationType),
				Filters: []api.Filter{{Name: ptr("location"), Values: []string{tc.location}}, {Name: ptr("instance-type"), Values: []string{"t3.*"}}}})
			f.must(err)
			if len(out.InstanceTypeOfferings) == 0 {
				t.Fatal("no offerings")
			}
			for _, o := range out.InstanceTypeOfferings {
				if str(o.Location) != tc.location || !strings.HasPrefix(str(o.InstanceType), "t3.") || str(o.LocationType) != tc.locationType {
					t.Errorf("offering %+v", o)
				}
			}
		})
	}
	t.Run("pages", func(t *testing.T) {
		out, err := f.svc.DescribeInstanceTypeOfferings(f.ctx, &api.DescribeInstanceTypeOfferingsInput{LocationType: ptr("availability-zone"), MaxResults: ptr(int32(5))})
		f.must(err)
		if len(out.InstanceTypeOfferings) != 5 || out.NextToken == nil {
			t.Fatalf("first page: %d offerings, token %v", len(out.InstanceTypeOfferings), out.NextToken)
		}
		next, err := f.svc.DescribeInstanceTypeOfferings(f.ctx, &api.DescribeInstanceTypeOfferingsInput{LocationType: ptr("availability-zone"), MaxResults: ptr(int32(5)), NextToken: out.NextToken})
		f.must(err)
		if str(next.InstanceTypeOfferings[0].InstanceType) == str(out.InstanceTypeOfferings[0].InstanceType) && str(next.InstanceTypeOfferings[0].Location) == str(out.InstanceTypeOfferings[0].Location) {
			t.Errorf("second page repeats the first")
		}
	})
}
