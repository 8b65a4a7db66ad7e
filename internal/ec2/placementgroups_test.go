package ec2

import (
	"strings"
	"testing"

	api "github.com/nephele-dev/nephele/internal/api/ec2"
	"github.com/nephele-dev/nephele/internal/store"
)

func TestCreatePlacementGroup(t *testing.T) {
	f := newNetFixture(t)
	for _, tt := range []struct {
		in          api.CreatePlacementGroupInput
		spreadLevel string
		partitions  int32
	}{
		{api.CreatePlacementGroupInput{GroupName: ptr("hpc"), Strategy: ptr("cluster")}, "", 0},
		{api.CreatePlacementGroupInput{GroupName: ptr("apart"), Strategy: ptr("spread")}, "rack", 0},
		{api.CreatePlacementGroupInput{GroupName: ptr("kafka"), Strategy: ptr("partition")}, "", 2},
		{api.CreatePlacementGroupInput{GroupName: ptr("hdfs"), Strategy: ptr("partition"), PartitionCount: ptr(int32(7)),
			TagSpecifications: []api.TagSpecification{{ResourceType: ptr("placement-group"), Tags: []api.Tag{{Key: ptr("k"), Value: ptr("v")}}}}}, "", 7},
	} {
		out, err := f.svc.CreatePlacementGroup(f.ctx, &tt.in)
		f.must(err)
		g := out.PlacementGroup
		if str(g.GroupName) != str(tt.in.GroupName) || str(g.State) != "available" || str(g.SpreadLevel) != tt.spreadLevel ||
			deref(g.PartitionCount) != tt.partitions || !strings.HasPrefix(str(g.GroupId), "pg-") ||
			!strings.HasSuffix(str(g.GroupArn), ":placement-group/"+str(g.GroupName)) {
			t.Errorf("CreatePlacementGroup(%s) = %+v", str(tt.in.GroupName), g)
		}
	}
	tests := []struct {
		name string
		in   api.CreatePlacementGroupInput
		code string
	}{
		{"duplicate", api.CreatePlacementGroupInput{GroupName: ptr("hpc"), Strategy: ptr("spread")}, "InvalidPlacementGroup.Duplicate"},
		{"no_name", api.CreatePlacementGroupInput{Strategy: ptr("spread")}, "MissingParameter"},
		{"no_strategy", api.CreatePlacementGroupInput{GroupName: ptr("x")}, "MissingParameter"},
		{"eight_partitions", api.CreatePlacementGroupInput{GroupName: ptr("x"), Strategy: ptr("partition"), PartitionCount: ptr(int32(8))}, "InvalidParameterValue"},
		{"zero_partitions", api.CreatePlacementGroupInput{GroupName: ptr("x"), Strategy: ptr("partition"), PartitionCount: ptr(int32(0))}, "InvalidParameterValue"},
		{"partitions_of_a_spread_group", api.CreatePlacementGroupInput{GroupName: ptr("x"), Strategy: ptr("spread"), PartitionCount: ptr(int32(2))}, "InvalidParameterCombination"},
		{"spread_level_of_a_cluster", api.CreatePlacementGroupInput{GroupName: ptr("x"), Strategy: ptr("cluster"), SpreadLevel: ptr("rack")}, "InvalidParameterCombination"},
		{"host_spread_level", api.CreatePlacementGroupInput{GroupName: ptr("x"), Strategy: ptr("spread"), SpreadLevel: ptr("host")}, "InvalidParameterValue"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := f.svc.CreatePlacementGroup(f.ctx, &tt.in)
			f.wantCode(err, tt.code)
		})
	}

	out, err := f.svc.DescribePlacementGroups(f.ctx, &api.DescribePlacementGroupsInput{Filters: []api.Filter{{Name: ptr("strategy"), Values: []string{"partition"}}}})
	f.must(err)
	if len(out.PlacementGroups) != 2 {
		t.Errorf("partition groups = %+v", out.PlacementGroups)
	}
	byName, err := f.svc.DescribePlacementGroups(f.ctx, &api.DescribePlacementGroupsInput{GroupNames: []string{"hdfs"}})
	f.must(err)
	if len(byName.PlacementGroups) != 1 || len(byName.PlacementGroups[0].Tags) != 1 {
		t.Errorf("GroupNames hdfs = %+v", byName.PlacementGroups)
	}
	_, err = f.svc.DescribePlacementGroups(f.ctx, &api.DescribePlacementGroupsInput{GroupNames: []string{"nope"}})
	f.wantCode(err, "InvalidPlacementGroup.Unknown")
	_, err = f.svc.DescribePlacementGroups(f.ctx, &api.DescribePlacementGroupsInput{GroupIds: []string{"pg-0123456789abcdef0"}})
	f.wantCode(err, "InvalidPlacementGroup.Unknown")
}

func TestDeletePlacementGroup(t *testing.T) {
	f := newNetFixture(t)
	_, err := f.svc.DeletePlacementGroup(f.ctx, &api.DeletePlacementGroupInput{GroupName: ptr("nope")})
	f.wantCode(err, "InvalidPlacementGroup.Unknown")
	_, err = f.svc.CreatePlacementGroup(f.ctx, &api.CreatePlacementGroupInput{GroupName: ptr("hpc"), Strategy: ptr("cluster")})
	f.must(err)
	id := f.putInstance("running", "", nil, "hpc", "us-east-1a")
	_, err = f.svc.DeletePlacementGroup(f.ctx, &api.DeletePlacementGroupInput{GroupName: ptr("hpc")})
	f.wantCode(err, "InvalidPlacementGroup.InUse")
	f.must(f.st.Update(func(tx store.Tx) error { return tx.Delete(bucketInstanceRefs, f.sc.key(id)) }))
	f.putInstance("terminated", "", nil, "hpc", "us-east-1a")
	_, err = f.svc.DeletePlacementGroup(f.ctx, &api.DeletePlacementGroupInput{GroupName: ptr("hpc")})
	f.must(err)
	out, err := f.svc.DescribePlacementGroups(f.ctx, &api.DescribePlacementGroupsInput{})
	f.must(err)
	if len(out.PlacementGroups) != 0 {
		t.Errorf("after delete: %+v", out.PlacementGroups)
	}
}

func TestCheckPlacement(t *testing.T) {
	f := newNetFixture(t)
	for _, in := range []api.CreatePlacementGroupInput{
		{GroupName: ptr("apart"), Strategy: ptr("spread")},
		{GroupName: ptr("hpc"), Strategy: ptr("cluster")},
		{GroupName: ptr("kafka"), Strategy: ptr("partition")},
	} {
		_, err := f.svc.CreatePlacementGroup(f.ctx, &in)
		f.must(err)
	}
	check := func(group, zone string, count int) error {
		var err error
		f.must(f.st.View(func(tx store.Tx) error {
			err = checkPlacement(tx, f.sc, group, zone, count)
			return nil
		}))
		return err
	}
	f.must(check("", "us-east-1a", 100))
	f.wantCode(check("nope", "us-east-1a", 1), "InvalidPlacementGroup.Unknown")

	// Spread: seven running instances per zone; stopped ones do not count.
	f.must(check("apart", "us-east-1a", 7))
	f.wantCode(check("apart", "us-east-1a", 8), "InsufficientInstanceCapacity")
	for range 6 {
		f.putInstance("running", "", nil, "apart", "us-east-1a")
	}
	f.putInstance("stopped", "", nil, "apart", "us-east-1a")
	f.putInstance("terminated", "", nil, "apart", "us-east-1a")
	f.must(check("apart", "us-east-1a", 1))
	f.wantCode(check("apart", "us-east-1a", 2), "InsufficientInstanceCapacity")
	f.must(check("apart", "us-east-1b", 7))

	// Cluster: one zone.
	f.putInstance("running", "", nil, "hpc", "us-east-1b")
	f.must(check("hpc", "us-east-1b", 50))
	f.wantCode(check("hpc", "us-east-1a", 1), "InvalidPlacementGroup.InUse")

	// Partition: no per-zone limit here.
	f.must(check("kafka", "us-east-1a", 50))
}
