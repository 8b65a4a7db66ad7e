package termination

import (
	"slices"
	"testing"
	"time"
)

// now is the fixed time every test decides at; ago places a launch before it.
var now = time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)

func ago(d time.Duration) time.Time { return now.Add(-d) }

// in builds an instance launched from launch configuration "lc-new" 30
// minutes ago; the test cases change what they are about.
func in(id, az string) Instance {
	return Instance{ID: id, AvailabilityZone: az, LaunchTime: ago(30 * time.Minute), LaunchConfigurationName: "lc-new", InstanceType: "m5.large", Weight: 1}
}

// with returns i changed by each of fs.
func with(i Instance, fs ...func(*Instance)) Instance {
	for _, f := range fs {
		f(&i)
	}
	return i
}

func lc(name string) func(*Instance) {
	return func(i *Instance) { i.LaunchConfigurationName = name }
}

func launched(d time.Duration) func(*Instance) {
	return func(i *Instance) { i.LaunchTime = ago(d) }
}

func protected(i *Instance) { i.ProtectedFromScaleIn = true }

func spot(i *Instance) { i.Lifecycle = Spot }

func typ(t string) func(*Instance) {
	return func(i *Instance) { i.InstanceType = t }
}

func lt(name, version string) func(*Instance) {
	return func(i *Instance) {
		i.LaunchConfigurationName = ""
		i.LaunchTemplateName, i.LaunchTemplateVersion = name, version
	}
}

var (
	lcGroup  = Group{CurrentLaunchConfigurationName: "lc-new", AvailabilityZones: []string{"a", "b"}}
	oneZone  = Group{CurrentLaunchConfigurationName: "lc-new", AvailabilityZones: []string{"a"}}
	ltGroup  = Group{CurrentLaunchTemplateName: "web", CurrentLaunchTemplateVersion: "2", AvailabilityZones: []string{"a"}}
	policies = func(g Group, p ...string) Group { g.Policies = p; return g }
	mixed    = func(g Group, base, pct int) Group {
		g.Distribution = &Distribution{OnDemandBaseCapacity: base, OnDemandPercentageAboveBaseCapacity: pct}
		return g
	}
)

func TestSelect(t *testing.T) {
	tests := []struct {
		name      string
		group     Group
		instances []Instance
		n         int
		want      []string
	}{
		// The default policy, zones first.
		{
			name:  "default_picks_AZ_with_most",
			group: lcGroup,
			instances: []Instance{
				in("i-1", "a"),
				with(in("i-2", "b"), lc("lc-old")),
				in("i-3", "b"),
			},
			n: 1, want: []string{"i-2"},
		},
		{
			// as-instance-termination's example: two zones, a scale out
			// to three instances, then a scale in picks the zone with two
			// and there the instance from the oldest launch configuration.
			name:  "docs_example_oldest_launch_configuration_in_zone_with_two",
			group: lcGroup,
			instances: []Instance{
				with(in("i-1", "a"), lc("lc-old"), launched(3*time.Hour)),
				with(in("i-2", "b"), lc("lc-old"), launched(3*time.Hour)),
				with(in("i-3", "a"), launched(50*time.Minute)),
			},
			n: 1, want: []string{"i-1"},
		},
		{
			// ... and if both came from the same launch configuration,
			// the one closest to the next billing hour.
			name:  "docs_example_same_configuration_closest_to_next_billing_hour",
			group: lcGroup,
			instances: []Instance{
				with(in("i-1", "a"), launched(3*time.Hour+10*time.Minute)),
				with(in("i-2", "b"), launched(3*time.Hour+10*time.Minute)),
				with(in("i-3", "a"), launched(50*time.Minute)),
			},
			n: 1, want: []string{"i-3"},
		},
		{
			name:  "default_balanced_zones_apply_policy_across_all",
			group: lcGroup,
			instances: []Instance{
				in("i-1", "a"),
				with(in("i-2", "b"), lc("lc-old")),
			},
			n: 1, want: []string{"i-2"},
		},
		{
			name:  "default_zone_balance_beats_older_configuration",
			group: lcGroup,
			instances: []Instance{
				in("i-1", "a"), in("i-2", "a"),
				with(in("i-3", "b"), lc("lc-old")),
			},
			n: 1, want: []string{"i-1"},
		},
		{
			name:  "default_instances_in_removed_zone_go_first",
			group: lcGroup,
			instances: []Instance{
				with(in("i-1", "a"), lc("lc-old")), in("i-2", "a"), in("i-3", "b"),
				in("i-4", "c"),
			},
			n: 1, want: []string{"i-4"},
		},
		{
			name:  "default_random_choice_is_smallest_ID",
			group: lcGroup,
			instances: []Instance{
				in("i-9", "a"), in("i-3", "b"), in("i-5", "a"), in("i-4", "b"),
			},
			n: 1, want: []string{"i-3"},
		},
		{
			name:  "default_several_stay_balanced",
			group: lcGroup,
			instances: []Instance{
				in("i-a1", "a"), in("i-a2", "a"), in("i-a3", "a"),
				in("i-b1", "b"), in("i-b2", "b"), in("i-b3", "b"),
			},
			n: 3, want: []string{"i-a1", "i-b1", "i-a2"},
		},
		{
			name:  "default_zone_size_counts_weights",
			group: lcGroup,
			instances: []Instance{
				with(in("i-1", "a"), func(i *Instance) { i.Weight = 4 }),
				in("i-2", "b"), in("i-3", "b"), in("i-4", "b"),
			},
			n: 1, want: []string{"i-1"},
		},
		{
			name:  "default_launch_template_group_order",
			group: ltGroup,
			instances: []Instance{
				with(in("i-1", "a"), lt("web", "2")),
				with(in("i-2", "a"), lt("web", "3")),
				with(in("i-3", "a"), lt("web", "1")),
				with(in("i-4", "a"), lt("old", "9")),
				with(in("i-5", "a"), lc("lc-new")),
			},
			n: 5, want: []string{"i-5", "i-4", "i-3", "i-2", "i-1"},
		},
		{
			name: "default_oldest_of_several_old_configurations",
			group: func() Group {
				g := oneZone
				g.LaunchConfigurationCreated = map[string]time.Time{"lc-1": ago(48 * time.Hour), "lc-2": ago(24 * time.Hour), "lc-new": ago(time.Hour)}
				return g
			}(),
			instances: []Instance{
				in("i-1", "a"),
				with(in("i-2", "a"), lc("lc-2")),
				with(in("i-3", "a"), lc("lc-1")),
			},
			n: 3, want: []string{"i-3", "i-2", "i-1"},
		},

		// Scale-in protection.
		{
			name:  "protection_skips_instance_but_counts_toward_zone",
			group: lcGroup,
			instances: []Instance{
				with(in("i-1", "a"), protected), with(in("i-2", "a"), protected), in("i-3", "a"),
				with(in("i-4", "b"), lc("lc-old")), with(in("i-5", "b"), lc("lc-old")),
			},
			n: 1, want: []string{"i-3"},
		},
		{
			name:  "protection_zone_with_most_but_all_protected_is_passed_over",
			group: lcGroup,
			instances: []Instance{
				with(in("i-1", "a"), protected), with(in("i-2", "a"), protected), with(in("i-3", "a"), protected),
				in("i-4", "b"), in("i-5", "b"),
			},
			n: 1, want: []string{"i-4"},
		},
		{
			name:  "protection_fewer_than_n_when_rest_protected",
			group: lcGroup,
			instances: []Instance{
				with(in("i-1", "a"), protected), in("i-2", "a"), with(in("i-3", "b"), protected),
			},
			n: 3, want: []string{"i-2"},
		},
		{
			name:      "protection_all_protected_selects_none",
			group:     lcGroup,
			instances: []Instance{with(in("i-1", "a"), protected), with(in("i-2", "b"), protected)},
			n:         1, want: nil,
		},
		{
			name:      "n_zero_selects_none",
			group:     lcGroup,
			instances: []Instance{in("i-1", "a")},
			n:         0, want: nil,
		},

		// The named policies.
		{
			name:  "OldestInstance_terminates_oldest",
			group: policies(oneZone, OldestInstance),
			instances: []Instance{
				with(in("i-1", "a"), launched(time.Hour)),
				with(in("i-2", "a"), launched(5*time.Hour)),
				with(in("i-3", "a"), launched(2*time.Hour), lc("lc-old")),
			},
			n: 1, want: []string{"i-2"},
		},
		{
			name:  "NewestInstance_terminates_newest",
			group: policies(oneZone, NewestInstance),
			instances: []Instance{
				with(in("i-1", "a"), launched(time.Hour)),
				with(in("i-2", "a"), launched(5*time.Minute)),
				with(in("i-3", "a"), launched(2*time.Hour), lc("lc-old")),
			},
			n: 1, want: []string{"i-2"},
		},
		{
			name:  "ClosestToNextInstanceHour_terminates_least_time_to_next_hour",
			group: policies(oneZone, ClosestToNextInstanceHour),
			instances: []Instance{
				with(in("i-1", "a"), launched(30*time.Minute)),
				with(in("i-2", "a"), launched(time.Hour+58*time.Minute)),
				with(in("i-3", "a"), launched(59*time.Minute)),
				with(in("i-4", "a"), launched(2*time.Hour)), // a new hour just began
			},
			n: 4, want: []string{"i-3", "i-2", "i-1", "i-4"},
		},
		{
			name:  "OldestLaunchConfiguration_terminates_noncurrent_configuration",
			group: policies(oneZone, OldestLaunchConfiguration),
			instances: []Instance{
				with(in("i-1", "a"), launched(50*time.Minute)),
				with(in("i-2", "a"), lc("lc-old"), launched(10*time.Minute)),
			},
			n: 1, want: []string{"i-2"},
		},
		{
			name:  "OldestLaunchTemplate_noncurrent_template_then_oldest_version",
			group: policies(ltGroup, OldestLaunchTemplate),
			instances: []Instance{
				with(in("i-1", "a"), lt("web", "2"), launched(59*time.Minute)),
				with(in("i-2", "a"), lt("web", "1"), launched(10*time.Minute)),
				with(in("i-3", "a"), lt("other", "5"), launched(10*time.Minute)),
			},
			n: 3, want: []string{"i-3", "i-2", "i-1"},
		},
		{
			name:  "OldestLaunchTemplate_does_nothing_for_launch_configuration_group",
			group: policies(oneZone, OldestLaunchTemplate, NewestInstance),
			instances: []Instance{
				with(in("i-1", "a"), lt("web", "1"), launched(time.Hour)),
				with(in("i-2", "a"), launched(time.Minute)),
			},
			n: 1, want: []string{"i-2"},
		},
		{
			name:  "AllocationStrategy_does_nothing_without_mixed_instances_policy",
			group: policies(func() Group { g := oneZone; g.OnDemandPriority = []string{"m5.large", "c5.large"}; return g }(), AllocationStrategy, NewestInstance),
			instances: []Instance{
				with(in("i-1", "a"), typ("c5.large"), launched(time.Hour)),
				with(in("i-2", "a"), launched(time.Minute)),
			},
			n: 1, want: []string{"i-2"},
		},
		{
			name:  "policies_apply_in_order_NewestInstance_first",
			group: policies(oneZone, NewestInstance, OldestLaunchConfiguration),
			instances: []Instance{
				with(in("i-1", "a"), launched(time.Minute)),
				with(in("i-2", "a"), lc("lc-old"), launched(time.Hour)),
			},
			n: 1, want: []string{"i-1"},
		},
		{
			name:  "policies_apply_in_order_OldestLaunchConfiguration_first",
			group: policies(oneZone, OldestLaunchConfiguration, NewestInstance),
			instances: []Instance{
				with(in("i-1", "a"), launched(time.Minute)),
				with(in("i-2", "a"), lc("lc-old"), launched(time.Hour)),
			},
			n: 1, want: []string{"i-2"},
		},
		{
			name:  "policies_default_steps_follow_a_list_without_Default",
			group: policies(oneZone, OldestInstance),
			instances: []Instance{
				with(in("i-1", "a"), launched(time.Hour)),
				with(in("i-2", "a"), lc("lc-old"), launched(time.Hour)),
			},
			n: 1, want: []string{"i-2"},
		},
		{
			name:  "policies_unknown_name_is_skipped",
			group: policies(oneZone, "arn:aws:lambda:us-east-1:123456789012:function:pick", NewestInstance),
			instances: []Instance{
				with(in("i-1", "a"), launched(time.Hour)),
				with(in("i-2", "a"), launched(time.Minute)),
			},
			n: 1, want: []string{"i-2"},
		},
		{
			name:  "policies_zone_balance_beats_NewestInstance",
			group: policies(lcGroup, NewestInstance),
			instances: []Instance{
				with(in("i-1", "a"), launched(3*time.Hour)),
				with(in("i-2", "a"), launched(2*time.Hour)),
				with(in("i-3", "b"), launched(time.Minute)),
			},
			n: 1, want: []string{"i-2"},
		},

		// Groups with a mixed instances policy.
		{
			name:  "mixed_terminates_spot_when_spot_above_share",
			group: mixed(ltGroup, 0, 50),
			instances: []Instance{
				with(in("i-1", "a"), lt("web", "2")), with(in("i-2", "a"), lt("web", "2")),
				with(in("i-3", "a"), lt("web", "2"), spot), with(in("i-4", "a"), lt("web", "2"), spot),
				with(in("i-5", "a"), lt("web", "2"), spot),
			},
			n: 1, want: []string{"i-3"},
		},
		{
			name:  "mixed_terminates_on_demand_when_on_demand_above_share",
			group: mixed(ltGroup, 0, 50),
			instances: []Instance{
				with(in("i-1", "a"), lt("web", "2")), with(in("i-2", "a"), lt("web", "2")),
				with(in("i-3", "a"), lt("web", "2")), with(in("i-4", "a"), lt("web", "2"), spot),
			},
			n: 1, want: []string{"i-1"},
		},
		{
			name:  "mixed_several_keep_the_split",
			group: mixed(ltGroup, 0, 50),
			instances: []Instance{
				with(in("i-o1", "a"), lt("web", "2")), with(in("i-o2", "a"), lt("web", "2")),
				with(in("i-o3", "a"), lt("web", "2")),
				with(in("i-s1", "a"), lt("web", "2"), spot), with(in("i-s2", "a"), lt("web", "2"), spot),
				with(in("i-s3", "a"), lt("web", "2"), spot),
			},
			n: 4, want: []string{"i-s1", "i-o1", "i-s2", "i-o2"},
		},
		{
			name:  "mixed_base_capacity_stays_on_demand",
			group: mixed(ltGroup, 2, 0),
			instances: []Instance{
				with(in("i-1", "a"), lt("web", "2")), with(in("i-2", "a"), lt("web", "2")),
				with(in("i-3", "a"), lt("web", "2"), spot), with(in("i-4", "a"), lt("web", "2"), spot),
			},
			n: 3, want: []string{"i-3", "i-4", "i-1"},
		},
		{
			name:  "mixed_other_option_when_chosen_one_protected",
			group: mixed(ltGroup, 0, 50),
			instances: []Instance{
				with(in("i-1", "a"), lt("web", "2")),
				with(in("i-2", "a"), lt("web", "2"), spot, protected), with(in("i-3", "a"), lt("web", "2"), spot, protected),
			},
			n: 1, want: []string{"i-1"},
		},
		{
			name: "mixed_zone_choice_leaves_zones_most_balanced",
			group: func() Group {
				g := mixed(ltGroup, 0, 50)
				g.AvailabilityZones = []string{"a", "b"}
				return g
			}(),
			instances: []Instance{
				with(in("i-a1", "a"), lt("web", "2")), with(in("i-a2", "a"), lt("web", "2")), with(in("i-a3", "a"), lt("web", "2")),
				with(in("i-b1", "b"), lt("web", "2")), with(in("i-b2", "b"), lt("web", "2")),
				with(in("i-b3", "b"), lt("web", "2"), spot), with(in("i-b4", "b"), lt("web", "2"), spot),
			},
			n: 1, want: []string{"i-b1"},
		},
		{
			name: "mixed_equal_zones_prefer_most_of_the_option",
			group: func() Group {
				g := mixed(ltGroup, 0, 50)
				g.AvailabilityZones = []string{"a", "b"}
				return g
			}(),
			instances: []Instance{
				with(in("i-a1", "a"), lt("web", "2")), with(in("i-a2", "a"), lt("web", "2")),
				with(in("i-a3", "a"), lt("web", "2"), spot),
				with(in("i-b1", "b"), lt("web", "2")),
				with(in("i-b2", "b"), lt("web", "2"), spot), with(in("i-b3", "b"), lt("web", "2"), spot),
			},
			n: 1, want: []string{"i-b2"},
		},
		{
			name: "mixed_AllocationStrategy_on_demand_lowest_priority_type_first",
			group: func() Group {
				g := mixed(ltGroup, 0, 100)
				g.OnDemandPriority = []string{"m5.large", "c5.large"}
				return g
			}(),
			instances: []Instance{
				with(in("i-1", "a"), lt("web", "2"), typ("m5.large")),
				with(in("i-2", "a"), lt("web", "2"), typ("c5.large")),
				with(in("i-3", "a"), lt("web", "2"), typ("t3.large")), // no longer an override
			},
			n: 3, want: []string{"i-3", "i-2", "i-1"},
		},
		{
			name: "mixed_AllocationStrategy_comes_before_outdated_template",
			group: func() Group {
				g := mixed(ltGroup, 0, 100)
				g.OnDemandPriority = []string{"m5.large", "c5.large"}
				return g
			}(),
			instances: []Instance{
				with(in("i-1", "a"), lt("web", "1"), typ("m5.large")),
				with(in("i-2", "a"), lt("web", "2"), typ("c5.large")),
			},
			n: 1, want: []string{"i-2"},
		},
		{
			name: "mixed_AllocationStrategy_spot_lowest_price_most_populated_pool",
			group: func() Group {
				g := mixed(ltGroup, 0, 0)
				g.SpotAllocationStrategy = "lowest-price"
				return g
			}(),
			instances: []Instance{
				with(in("i-1", "a"), lt("web", "2"), spot, typ("m5.large")),
				with(in("i-2", "a"), lt("web", "2"), spot, typ("c5.large")),
				with(in("i-3", "a"), lt("web", "2"), spot, typ("c5.large")),
			},
			n: 1, want: []string{"i-2"},
		},
		{
			name: "mixed_AllocationStrategy_spot_capacity_optimized_prioritized_follows_priority",
			group: func() Group {
				g := mixed(ltGroup, 0, 0)
				g.SpotAllocationStrategy = "capacity-optimized-prioritized"
				g.OnDemandPriority = []string{"c5.large", "m5.large"}
				return g
			}(),
			instances: []Instance{
				with(in("i-1", "a"), lt("web", "2"), spot, typ("c5.large")),
				with(in("i-2", "a"), lt("web", "2"), spot, typ("m5.large")),
			},
			n: 1, want: []string{"i-2"},
		},
		{
			name: "mixed_AllocationStrategy_spot_capacity_optimized_does_not_narrow",
			group: func() Group {
				g := mixed(ltGroup, 0, 0)
				g.SpotAllocationStrategy = "capacity-optimized"
				g.OnDemandPriority = []string{"c5.large", "m5.large"}
				return g
			}(),
			instances: []Instance{
				with(in("i-1", "a"), lt("web", "2"), spot, typ("c5.large")),
				with(in("i-2", "a"), lt("web", "2"), spot, typ("m5.large")),
			},
			n: 1, want: []string{"i-1"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			instances := slices.Clone(tt.instances)
			got := Select(tt.group, tt.instances, tt.n, now)
			if !slices.Equal(got, tt.want) {
				t.Errorf("Select = %q, want %q", got, tt.want)
			}
			if !slices.EqualFunc(instances, tt.instances, func(a, b Instance) bool { return a == b }) {
				t.Errorf("Select changed its argument")
			}
		})
	}
}

func TestOnDemandTarget(t *testing.T) {
	tests := []struct {
		name           string
		base, pct, cap int
		want           int
	}{
		// The examples in "Understand how the purchase options work".
		{"base_10_half_at_20", 10, 50, 20, 15},
		{"base_10_half_at_10", 10, 50, 10, 10},
		{"base_0_all_spot", 0, 0, 40, 0},
		{"base_0_60_percent_at_30", 0, 60, 30, 18},
		{"base_12_all_spot_at_10", 12, 0, 10, 10},
		{"base_12_all_spot_at_40", 12, 0, 40, 12},
		{"odd_share_rounds_on_demand_up", 0, 50, 5, 3},
		{"zero_capacity", 3, 50, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := Distribution{OnDemandBaseCapacity: tt.base, OnDemandPercentageAboveBaseCapacity: tt.pct}
			if got := d.OnDemandTarget(tt.cap); got != tt.want {
				t.Errorf("OnDemandTarget(%d) = %d, want %d", tt.cap, got, tt.want)
			}
		})
	}
}

func TestPolicyTypes(t *testing.T) {
	// DescribeTerminationPolicyTypes' documented output.
	want := []string{"AllocationStrategy", "ClosestToNextInstanceHour", "Default", "NewestInstance",
		"OldestInstance", "OldestLaunchConfiguration", "OldestLaunchTemplate"}
	if got := PolicyTypes(); !slices.Equal(got, want) {
		t.Errorf("PolicyTypes = %q, want %q", got, want)
	}
}
