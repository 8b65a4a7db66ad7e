package termination

import (
	"slices"
	"testing"
	"time"
)

var threeZones = Group{CurrentLaunchConfigurationName: "lc-new", AvailabilityZones: []string{"a", "b", "c"}}

func TestLaunchZones(t *testing.T) {
	tests := []struct {
		name      string
		group     Group
		instances []Instance
		n         int
		want      []string
	}{
		{
			name:  "fewest_instances_first",
			group: threeZones,
			instances: []Instance{
				in("i-1", "a"), in("i-2", "a"), in("i-3", "b"),
			},
			n: 1, want: []string{"c"},
		},
		{
			name:  "ties_in_listed_order",
			group: Group{AvailabilityZones: []string{"c", "a", "b"}},
			n:     1, want: []string{"c"},
		},
		{
			name:  "spreads_several_across_zones",
			group: threeZones,
			n:     5, want: []string{"a", "b", "c", "a", "b"},
		},
		{
			name:  "fills_smallest_before_spreading",
			group: threeZones,
			instances: []Instance{
				in("i-1", "a"), in("i-2", "a"), in("i-3", "b"), in("i-4", "b"),
			},
			n: 3, want: []string{"c", "c", "a"},
		},
		{
			name:  "protected_instances_count",
			group: threeZones,
			instances: []Instance{
				with(in("i-1", "a"), protected), in("i-2", "b"),
			},
			n: 1, want: []string{"c"},
		},
		{
			name:  "instances_in_removed_zones_do_not_count",
			group: Group{AvailabilityZones: []string{"a", "b"}},
			instances: []Instance{
				in("i-1", "a"), in("i-2", "x"), in("i-3", "x"),
			},
			n: 2, want: []string{"b", "a"},
		},
		{
			name:  "weights_count_as_capacity",
			group: Group{AvailabilityZones: []string{"a", "b"}},
			instances: []Instance{
				with(in("i-1", "a"), func(i *Instance) { i.Weight = 3 }),
			},
			n: 3, want: []string{"b", "b", "b"},
		},
		{
			name:      "no_zones_no_launch",
			group:     Group{},
			instances: []Instance{in("i-1", "a")},
			n:         2, want: nil,
		},
		{
			name:  "zero_instances_asked",
			group: threeZones,
			n:     0, want: nil,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := LaunchZones(tt.group, tt.instances, tt.n); !slices.Equal(got, tt.want) {
				t.Errorf("LaunchZones = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestRebalance(t *testing.T) {
	tests := []struct {
		name          string
		group         Group
		instances     []Instance
		wantLaunch    []string
		wantTerminate []string
	}{
		{
			// Moving a weight-2 instance from a (4 units) to b (2) would
			// only swap the zones.
			name:  "weighted_gap_no_larger_than_a_weight_does_nothing",
			group: lcGroup,
			instances: []Instance{{ID: "i-1", AvailabilityZone: "a", LaunchTime: now, Weight: 2}, {ID: "i-2", AvailabilityZone: "a", LaunchTime: now, Weight: 2},
				{ID: "i-3", AvailabilityZone: "b", LaunchTime: now, Weight: 2}},
		},
		{
			name:      "balanced_within_one_does_nothing",
			group:     threeZones,
			instances: []Instance{in("i-1", "a"), in("i-2", "a"), in("i-3", "b"), in("i-4", "c")},
		},
		{
			name:       "zone_recovered_launches_there_and_terminates_from_largest",
			group:      lcGroup,
			instances:  []Instance{in("i-1", "a"), in("i-2", "a"), in("i-3", "a"), in("i-4", "b")},
			wantLaunch: []string{"b"}, wantTerminate: []string{"i-1"},
		},
		{
			name:       "empty_zone_gets_half",
			group:      lcGroup,
			instances:  []Instance{in("i-1", "a"), in("i-2", "a"), in("i-3", "a"), in("i-4", "a")},
			wantLaunch: []string{"b", "b"}, wantTerminate: []string{"i-1", "i-2"},
		},
		{
			name:  "new_zones_each_get_one",
			group: threeZones,
			instances: []Instance{
				in("i-1", "a"), in("i-2", "a"), in("i-3", "a"), in("i-4", "a"), in("i-5", "b"), in("i-6", "c"),
			},
			wantLaunch: []string{"b", "c"}, wantTerminate: []string{"i-1", "i-2"},
		},
		{
			name:  "terminates_per_termination_policy",
			group: lcGroup,
			instances: []Instance{
				in("i-1", "a"), with(in("i-2", "a"), lc("lc-old")), in("i-3", "a"),
				in("i-4", "b"),
			},
			wantLaunch: []string{"b"}, wantTerminate: []string{"i-2"},
		},
		{
			name:  "removed_zone_instances_replaced",
			group: lcGroup,
			instances: []Instance{
				in("i-1", "a"), in("i-2", "b"), in("i-3", "x"), in("i-4", "x"),
			},
			wantLaunch: []string{"a", "b"}, wantTerminate: []string{"i-3", "i-4"},
		},
		{
			name:  "protected_instances_stay",
			group: lcGroup,
			instances: []Instance{
				with(in("i-1", "a"), protected), with(in("i-2", "a"), protected), with(in("i-3", "a"), protected),
				with(in("i-4", "x"), protected),
			},
		},
		{
			name:  "protected_largest_zone_leaves_next_largest",
			group: threeZones,
			instances: []Instance{
				with(in("i-1", "a"), protected), with(in("i-2", "a"), protected), with(in("i-3", "a"), protected),
				with(in("i-4", "a"), protected),
				in("i-5", "b"), in("i-6", "b"), in("i-7", "b"),
			},
			wantLaunch: []string{"c"}, wantTerminate: []string{"i-5"},
		},
		{
			name:      "no_zones_does_nothing",
			group:     Group{},
			instances: []Instance{in("i-1", "a"), in("i-2", "a"), in("i-3", "a")},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			launch, terminate := Rebalance(tt.group, tt.instances, now)
			if !slices.Equal(launch, tt.wantLaunch) || !slices.Equal(terminate, tt.wantTerminate) {
				t.Errorf("Rebalance = launch %q, terminate %q; want launch %q, terminate %q",
					launch, terminate, tt.wantLaunch, tt.wantTerminate)
			}
		})
	}
}

// TestRebalanceThenBalanced checks that a rebalanced group needs no
// further rebalancing and that LaunchZones and Rebalance agree on balance.
func TestRebalanceThenBalanced(t *testing.T) {
	g := threeZones
	instances := []Instance{in("i-1", "a"), in("i-2", "a"), in("i-3", "a"), in("i-4", "a"), in("i-5", "a"), in("i-6", "x")}
	launch, terminate := Rebalance(g, instances, now)
	for _, id := range terminate {
		instances = slices.DeleteFunc(instances, func(i Instance) bool { return i.ID == id })
	}
	for k, az := range launch {
		instances = append(instances, with(in("i-new"+string(rune('0'+k)), az), launched(time.Minute)))
	}
	if l, tm := Rebalance(g, instances, now); l != nil || tm != nil {
		t.Errorf("after rebalancing, Rebalance = %q, %q; want nothing", l, tm)
	}
	sizes := zoneSizes(g, instances)
	if sizes["a"] != 2 || sizes["b"] != 2 || sizes["c"] != 2 {
		t.Errorf("zone sizes after rebalancing = %v, want 2 each", sizes)
	}
}
