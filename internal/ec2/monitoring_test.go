package ec2

import (
	"context"
	"encoding/base64"
	"sync"
	"testing"
	"time"

	api "github.com/nephele-dev/nephele/internal/api/ec2"
	"github.com/nephele-dev/nephele/internal/metrics"
	"github.com/nephele-dev/nephele/internal/store"
)

// recordingSink is a metrics.Sink that keeps what it is given.
type recordingSink struct {
	mu   sync.Mutex
	data []metrics.Datum
}

func (r *recordingSink) Publish(_ context.Context, _, _ string, data []metrics.Datum) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.data = append(r.data, data...)
	return nil
}

func (r *recordingSink) take() []metrics.Datum {
	r.mu.Lock()
	defer r.mu.Unlock()
	d := r.data
	r.data = nil
	return d
}

func TestUtilization(t *testing.T) {
	tests := []struct {
		name     string
		cpu      time.Duration
		interval time.Duration
		scale    float64
		typ      string
		want     float64
	}{
		{"one_busy_core_of_two", 60 * time.Second, time.Minute, 1, "m5.large", 50},
		{"idle", 0, time.Minute, 1, "m5.large", 0},
		{"scaled_clock_measures_real_time", time.Second, time.Minute, 60, "t3.micro", 50},
		{"capped_at_100", 10 * time.Minute, time.Minute, 1, "t3.micro", 100},
		{"unknown_type_counts_one_vcpu", 30 * time.Second, time.Minute, 1, "x9.nothing", 50},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &Service{opts: Options{TimeScale: tt.scale}}
			if got := s.utilization(tt.cpu, tt.interval, tt.typ); got != tt.want {
				t.Errorf("utilization = %v, want %v", got, tt.want)
			}
		})
	}
}

// TestMonitorPublishes checks the series the monitor publishes: per
// instance every minute with detailed monitoring, every five minutes with
// basic monitoring, and the Auto Scaling group's aggregate.
func TestMonitorPublishes(t *testing.T) {
	f := newNetFixture(t)
	sink := &recordingSink{}
	f.svc.opts.Metrics = sink
	img := firstImage(t, f)
	userData := base64.StdEncoding.EncodeToString([]byte("#!/bin/sh\ntrue\n"))
	run := func(detailed bool) string {
		out, err := f.svc.RunInstances(f.ctx, &api.RunInstancesInput{ImageId: img, InstanceType: ptr("t3.micro"), MinCount: ptr(int32(1)), MaxCount: ptr(int32(1)),
			UserData: ptr(userData), Monitoring: &api.RunInstancesMonitoringEnabled{Enabled: ptr(detailed)}})
		if err != nil {
			t.Fatal(err)
		}
		id := str(out.Instances[0].InstanceId)
		// Auto Scaling tags its instances with a key users may not set.
		err = f.st.Update(func(tx store.Tx) error {
			return writeTags(tx, f.sc, id, []api.Tag{{Key: ptr("aws:autoscaling:groupName"), Value: ptr("web")}})
		})
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	detailed, basic := run(true), run(false)
	for _, id := range []string{detailed, basic} {
		waitRunning(t, f, id)
	}
	t.Cleanup(func() {
		f.svc.TerminateInstances(f.ctx, &api.TerminateInstancesInput{InstanceIds: []string{detailed, basic}})
	})

	now := f.svc.clk.Now()
	count := func(data []metrics.Datum, name, dim, value string) int {
		n := 0
		for _, d := range data {
			if d.Name == name && d.Dimensions[dim] == value && d.Namespace == "AWS/EC2" {
				n++
			}
		}
		return n
	}
	f.svc.sample(f.ctx, now) // the first sample only sets the baseline
	if got := sink.take(); len(got) != 0 {
		t.Fatalf("first sample published %v", got)
	}
	var all []metrics.Datum
	for i := 1; i <= basicPeriod; i++ {
		f.svc.sample(f.ctx, now.Add(time.Duration(i)*samplePeriod))
		all = append(all, sink.take()...)
	}
	if n := count(all, "CPUUtilization", "InstanceId", detailed); n != basicPeriod {
		t.Errorf("detailed monitoring: %d CPUUtilization points in %d minutes, want one a minute", n, basicPeriod)
	}
	if n := count(all, "CPUUtilization", "InstanceId", basic); n != 1 {
		t.Errorf("basic monitoring: %d CPUUtilization points in %d minutes, want one", n, basicPeriod)
	}
	if n := count(all, "StatusCheckFailed", "InstanceId", detailed); n != basicPeriod {
		t.Errorf("StatusCheckFailed points = %d", n)
	}
	if n := count(all, "CPUUtilization", "AutoScalingGroupName", "web"); n != basicPeriod {
		t.Errorf("group aggregate points = %d, want one a minute", n)
	}
	// A datapoint is stamped with the start of the interval it measures:
	// a minute for detailed monitoring, five for basic.
	for _, d := range all {
		if d.Name != "CPUUtilization" {
			continue
		}
		switch d.Dimensions["InstanceId"] {
		case basic:
			if !d.Timestamp.Equal(now) {
				t.Errorf("basic datapoint at %v, want the start of its five minutes %v", d.Timestamp, now)
			}
		case detailed:
			if off := d.Timestamp.Sub(now); off < 0 || off > (basicPeriod-1)*samplePeriod || off%samplePeriod != 0 {
				t.Errorf("detailed datapoint at %v, want a minute start from %v", d.Timestamp, now)
			}
		}
	}
	for _, d := range all {
		if d.Name == "CPUUtilization" && (d.Value < 0 || d.Value > 100 || d.Unit != "Percent") {
			t.Errorf("bad datum %+v", d)
		}
	}
}

// firstImage is an x86_64 Amazon Linux image of the fixture's region.
func firstImage(t *testing.T, f *netFixture) *string {
	t.Helper()
	out, err := f.svc.DescribeImages(f.ctx, &api.DescribeImagesInput{Owners: []string{"amazon"},
		Filters: []api.Filter{{Name: ptr("architecture"), Values: []string{"x86_64"}}, {Name: ptr("name"), Values: []string{"al2023-ami-2023*"}}}})
	if err != nil || len(out.Images) == 0 {
		t.Fatalf("DescribeImages: %v", err)
	}
	return out.Images[0].ImageId
}

// waitRunning waits for an instance to be running with its processes up.
func waitRunning(t *testing.T, f *netFixture, id string) {
	t.Helper()
	waitState(t, f, id, "running")
	for range 400 {
		if f.svc.machine.Running(id) {
			return
		}
		time.Sleep(25 * time.Millisecond)
	}
	t.Fatalf("%s never ran", id)
}

// waitState waits (bounded, in real time: the processes are real) for an
// instance to reach a state.
func waitState(t *testing.T, f *netFixture, id, state string) {
	t.Helper()
	for range 400 {
		var r instanceRecord
		err := f.st.View(func(tx store.Tx) error {
			var err error
			r, err = loadInstance(tx, f.sc, id)
			return err
		})
		if err == nil && r.state() == state {
			return
		}
		time.Sleep(25 * time.Millisecond)
	}
	t.Fatalf("%s never became %s", id, state)
}
