package ec2

import (
	"net/http/httptest"
	"strings"
	"testing"

	api "github.com/nephele-dev/nephele/internal/api/ec2"
)

func TestLaunchLimits(t *testing.T) {
	tests := []struct {
		name         string
		maxInstances int
		maxVCPUs     int
		fault        [2]string // type, AZ made unavailable
		launches     [][2]int32
		wantCounts   []int
		wantCode     string // of the last launch
	}{
		{name: "instance_cap", maxInstances: 2, launches: [][2]int32{{2, 2}, {1, 1}}, wantCounts: []int{2}, wantCode: "InstanceLimitExceeded"},
		{name: "partial_launch_up_to_the_cap", maxInstances: 3, launches: [][2]int32{{1, 5}}, wantCounts: []int{3}},
		{name: "vcpu_cap", maxVCPUs: 4, launches: [][2]int32{{2, 2}, {1, 1}}, wantCounts: []int{2}, wantCode: "VcpuLimitExceeded"},
		{name: "capacity_fault", fault: [2]string{"t3.micro", "*"}, launches: [][2]int32{{1, 1}}, wantCode: "InsufficientInstanceCapacity"},
		{name: "fault_elsewhere_does_not_apply", fault: [2]string{"m5.large", "*"}, launches: [][2]int32{{1, 1}}, wantCounts: []int{1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newNetFixture(t)
			if tt.maxInstances > 0 {
				f.svc.opts.MaxInstances = tt.maxInstances
			}
			if tt.maxVCPUs > 0 {
				f.svc.opts.MaxVCPUs = tt.maxVCPUs
			}
			if tt.fault != [2]string{} {
				f.svc.faults.set(tt.fault[0], tt.fault[1], true)
			}
			img := firstImage(t, f)
			var counts []int
			var lastErr error
			for _, l := range tt.launches {
				out, err := f.svc.RunInstances(f.ctx, &api.RunInstancesInput{ImageId: img, InstanceType: ptr("t3.micro"), MinCount: ptr(l[0]), MaxCount: ptr(l[1])})
				lastErr = err
				if err == nil {
					counts = append(counts, len(out.Instances))
				}
			}
			if errCode(lastErr) != tt.wantCode {
				t.Errorf("last launch: %v, want %q", lastErr, tt.wantCode)
			}
			if len(counts) != len(tt.wantCounts) {
				t.Fatalf("launched %v, want %v", counts, tt.wantCounts)
			}
			for i := range counts {
				if counts[i] != tt.wantCounts[i] {
					t.Errorf("launched %v, want %v", counts, tt.wantCounts)
				}
			}
		})
	}
}

func TestAdminCapacity(t *testing.T) {
	f := newNetFixture(t)
	h := f.svc.AdminHandler()
	post := func(body string) int {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("POST", "/capacity", strings.NewReader(body)))
		return rec.Code
	}
	for _, bad := range []string{`{`, `{"instanceType":"t3.micro"}`, `{"instanceType":"t9.x","availabilityZone":"us-east-1a"}`, `{"instanceType":"t3.micro","availabilityZone":"mars-1a"}`} {
		if code := post(bad); code != 400 {
			t.Errorf("POST %s = %d, want 400", bad, code)
		}
	}
	if code := post(`{"instanceType":"t3.micro","availabilityZone":"us-east-1a"}`); code != 200 {
		t.Fatalf("POST = %d", code)
	}
	_, err := f.svc.RunInstances(f.ctx, &api.RunInstancesInput{ImageId: firstImage(t, f), InstanceType: ptr("t3.micro"), MinCount: ptr(int32(1)), MaxCount: ptr(int32(1)),
		Placement: &api.Placement{AvailabilityZone: ptr("us-east-1a")}})
	if errCode(err) != "InsufficientInstanceCapacity" || !strings.Contains(err.Error(), "us-east-1b") {
		t.Errorf("launch into the faulted zone: %v", err)
	}
	post(`{"instanceType":"t3.micro","availabilityZone":"us-east-1a","available":true}`)
	if f.svc.faults.unavailable("t3.micro", "us-east-1a") {
		t.Error("fault not cleared")
	}
}
