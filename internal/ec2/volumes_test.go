package ec2

import (
	"testing"
	"time"

	api "github.com/nephele-dev/nephele/internal/api/ec2"
	"github.com/nephele-dev/nephele/internal/store"
)

func TestVolumeSpecRules(t *testing.T) {
	tests := []struct {
		name     string
		spec     volumeSpec
		code     string
		wantIops int32
	}{
		{"gp2_baseline_minimum", volumeSpec{volumeType: "gp2", size: 8}, "", 100},
		{"gp2_three_per_gib", volumeSpec{volumeType: "gp2", size: 500}, "", 1500},
		{"gp2_baseline_maximum", volumeSpec{volumeType: "gp2", size: 16000}, "", 16000},
		{"gp3_default", volumeSpec{volumeType: "gp3", size: 1}, "", 3000},
		{"gp3_over_ratio", volumeSpec{volumeType: "gp3", size: 8, iops: ptr(int32(5000))}, "InvalidParameterValue", 0},
		{"io1_needs_iops", volumeSpec{volumeType: "io1", size: 100}, "MissingParameter", 0},
		{"io1_ratio", volumeSpec{volumeType: "io1", size: 10, iops: ptr(int32(600))}, "InvalidParameterValue", 0},
		{"io1_at_ratio", volumeSpec{volumeType: "io1", size: 10, iops: ptr(int32(500))}, "", 500},
		{"io2_large", volumeSpec{volumeType: "io2", size: 65536, iops: ptr(int32(256000))}, "", 256000},
		{"st1_minimum", volumeSpec{volumeType: "st1", size: 124}, "InvalidParameterValue", 0},
		{"sc1_iops", volumeSpec{volumeType: "sc1", size: 500, iops: ptr(int32(100))}, "InvalidParameterCombination", 0},
		{"standard_maximum", volumeSpec{volumeType: "standard", size: 1025}, "InvalidParameterValue", 0},
		{"throughput_gp2", volumeSpec{volumeType: "gp2", size: 8, throughput: ptr(int32(200))}, "InvalidParameterCombination", 0},
		{"throughput_range", volumeSpec{volumeType: "gp3", size: 8, throughput: ptr(int32(2000))}, "InvalidParameterValue", 0},
		{"unknown_type", volumeSpec{volumeType: "gp9", size: 8}, "InvalidParameterValue", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec := tt.spec
			err := spec.check()
			if errCode(err) != tt.code {
				t.Fatalf("check = %v, want code %q", err, tt.code)
			}
			if err == nil && deref(spec.iops) != tt.wantIops {
				t.Errorf("iops = %d, want %d", deref(spec.iops), tt.wantIops)
			}
		})
	}
}

func TestImageNames(t *testing.T) {
	for name, ok := range map[string]bool{
		"golden (v1)": true, "app/2024-01-01_12.00 [x86] @prod 'a'": true,
		"ab": false, "bad|name": false, "ünïcode": false, string(make([]byte, 129)): false,
	} {
		if err := checkImageName(name); (err == nil) != ok {
			t.Errorf("checkImageName(%q) = %v, want ok %v", name, err, ok)
		}
	}
}

func TestLaunchPermissions(t *testing.T) {
	r := imageRecord{Image: api.Image{Public: ptr(false)}}
	add := &api.ModifyImageAttributeInput{LaunchPermission: &api.LaunchPermissionModifications{
		Add: []api.LaunchPermission{{Group: ptr("all")}, {UserId: ptr("111122223333")}},
	}}
	if err := modifyLaunchPermissions(&r, add); err != nil {
		t.Fatal(err)
	}
	if got := r.launchPermissions(); !boolean(r.Public) || len(got) != 2 || str(got[0].Group) != "all" {
		t.Fatalf("after add: %+v", got)
	}
	remove := &api.ModifyImageAttributeInput{OperationType: ptr("remove"), UserGroups: []string{"all"}, UserIds: []string{"111122223333"}}
	if err := modifyLaunchPermissions(&r, remove); err != nil {
		t.Fatal(err)
	}
	if got := r.launchPermissions(); boolean(r.Public) || len(got) != 0 {
		t.Errorf("after remove: %+v", got)
	}
	bad := &api.ModifyImageAttributeInput{OperationType: ptr("add"), UserIds: []string{"12"}}
	if err := modifyLaunchPermissions(&r, bad); errCode(err) != "InvalidParameterValue" {
		t.Errorf("short account ID: %v", err)
	}
}

// TestDeleteInstanceVolumes checks a termination's effect on volumes: the
// ones deleted on termination go, the others become available.
func TestDeleteInstanceVolumes(t *testing.T) {
	f := newNetFixture(t)
	put := func(id, instance string, deleteOnTermination bool) {
		v := volumeRecord{Volume: api.Volume{VolumeId: ptr(id), State: ptr("in-use"), Attachments: []api.VolumeAttachment{{
			InstanceId: ptr(instance), DeleteOnTermination: ptr(deleteOnTermination), State: ptr("attached"), VolumeId: ptr(id),
		}}}}
		f.must(f.st.Update(func(tx store.Tx) error { return tx.Put(volumeKind.bucket, f.sc.key(id), v) }))
	}
	put("vol-root", "i-1", true)
	put("vol-data", "i-1", false)
	put("vol-other", "i-2", true)
	f.must(f.st.Update(func(tx store.Tx) error { return deleteInstanceVolumes(tx, f.sc, "i-1") }))
	out, err := f.svc.DescribeVolumes(f.ctx, &api.DescribeVolumesInput{})
	f.must(err)
	states := map[string]string{}
	for _, v := range out.Volumes {
		states[str(v.VolumeId)] = str(v.State)
	}
	if len(states) != 2 || states["vol-data"] != "available" || states["vol-other"] != "in-use" {
		t.Errorf("volumes after terminating i-1: %v", states)
	}
}

// TestInstanceStatusChecks checks the status of running, impaired and
// stopped instances.
func TestInstanceStatusChecks(t *testing.T) {
	since := time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)
	r := instanceRecord{Instance: api.Instance{InstanceId: ptr("i-1"), Placement: &api.Placement{AvailabilityZone: ptr("us-east-1a")}}}
	r.setState("running")
	if st := instanceStatus(r); str(st.InstanceStatus.Status) != "ok" || str(st.SystemStatus.Details[0].Status) != "passed" {
		t.Errorf("running: %+v", st.InstanceStatus)
	}
	r.Impaired, r.ImpairedSince = true, since
	st := instanceStatus(r)
	if str(st.InstanceStatus.Status) != "impaired" || str(st.InstanceStatus.Details[0].Status) != "failed" ||
		!st.InstanceStatus.Details[0].ImpairedSince.Equal(since) || str(st.SystemStatus.Status) != "ok" {
		t.Errorf("impaired: %+v", st.InstanceStatus)
	}
	r.setState("stopped")
	if st := instanceStatus(r); str(st.InstanceStatus.Status) != "not-applicable" {
		t.Errorf("stopped: %+v", st.InstanceStatus)
	}
}
