package scaling

import (
	"errors"
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/nephele-dev/nephele/internal/awserr"
)

// wide leaves room for the documents' examples.
var wide = Bounds{Min: 0, Max: 1000}

// f returns a pointer to a bound.
func f(v float64) *float64 { return &v }

func TestAdjust(t *testing.T) {
	tests := []struct {
		name       string
		current    int
		typ        AdjustmentType
		adjustment int
		minMag     int
		b          Bounds
		want       int
	}{
		// "Scaling adjustment types": one example per type.
		{"ChangeInCapacity_current_3_adjustment_5_gives_8", 3, ChangeInCapacity, 5, 0, wide, 8},
		{"ExactCapacity_current_3_adjustment_5_gives_5", 3, ExactCapacity, 5, 0, wide, 5},
		{"PercentChangeInCapacity_current_10_adjustment_10_gives_11", 10, PercentChangeInCapacity, 10, 0, wide, 11},
		// The rounding note's four examples, as changes of current × percent / 100.
		{"rounding_12.7_rounds_down_to_12", 10, PercentChangeInCapacity, 127, 0, wide, 22},
		{"rounding_.67_rounds_to_1", 67, PercentChangeInCapacity, 1, 0, wide, 68},
		{"rounding_-.58_rounds_to_-1", 58, PercentChangeInCapacity, -1, 0, wide, 57},
		{"rounding_-6.67_rounds_to_-6", 667, PercentChangeInCapacity, -1, 0, wide, 661},
		{"rounding_exactly_1_stays_1", 10, PercentChangeInCapacity, 10, 0, wide, 11},
		// "Step adjustments for step scaling": the worked example.
		{"step_example_add_10_percent_of_10", 10, PercentChangeInCapacity, 10, 0, wide, 11},
		{"step_example_add_30_percent_of_11_is_3.3_rounded_down_to_3", 11, PercentChangeInCapacity, 30, 0, wide, 14},
		{"step_example_remove_10_percent_of_14_is_1.4_rounded_down_to_1", 14, PercentChangeInCapacity, -10, 0, wide, 13},
		{"step_example_remove_30_percent_of_13_is_3.9_rounded_down_to_3", 13, PercentChangeInCapacity, -30, 0, wide, 10},
		// MinAdjustmentMagnitude: "adds 25 percent ... minimum increment of 2 ... 4 instances".
		{"MinAdjustmentMagnitude_25_percent_of_4_is_1_but_minimum_2_adds_2", 4, PercentChangeInCapacity, 25, 2, wide, 6},
		{"MinAdjustmentMagnitude_applies_to_scale_in", 4, PercentChangeInCapacity, -25, 2, wide, 2},
		{"MinAdjustmentMagnitude_smaller_than_change_is_ignored", 40, PercentChangeInCapacity, 25, 2, wide, 50},
		{"MinAdjustmentMagnitude_ignored_for_ChangeInCapacity", 4, ChangeInCapacity, 1, 2, wide, 5},
		{"MinAdjustmentMagnitude_lifts_a_zero_change_from_zero", 0, PercentChangeInCapacity, 25, 2, wide, 2},
		{"percent_of_zero_capacity_without_minimum_stays_zero", 0, PercentChangeInCapacity, 25, 0, wide, 0},
		// "Amazon EC2 Auto Scaling does not scale your group below the
		// minimum capacity or above the maximum capacity."
		{"clamped_to_MaxSize", 4, ChangeInCapacity, 5, 0, Bounds{1, 5}, 5},
		{"clamped_to_MinSize", 4, ChangeInCapacity, -5, 0, Bounds{1, 5}, 1},
		{"ExactCapacity_clamped_to_MaxSize", 3, ExactCapacity, 9, 0, Bounds{1, 5}, 5},
		{"unknown_type_keeps_capacity", 3, AdjustmentType("Bogus"), 5, 0, wide, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Adjust(tt.current, tt.typ, tt.adjustment, tt.minMag, tt.b); got != tt.want {
				t.Errorf("Adjust(%d, %s, %d, %d, %+v) = %d, want %d", tt.current, tt.typ, tt.adjustment, tt.minMag, tt.b, got, tt.want)
			}
		})
	}
}

func TestAdjustmentTypeValid(t *testing.T) {
	for _, typ := range []AdjustmentType{ChangeInCapacity, ExactCapacity, PercentChangeInCapacity} {
		if !typ.Valid() {
			t.Errorf("%s not valid", typ)
		}
	}
	if AdjustmentType("changeincapacity").Valid() {
		t.Error("lower-case type valid")
	}
}

// The User Guide's step adjustments example, threshold 50.
var (
	docScaleOut = []Step{
		{Lower: f(0), Upper: f(10), Adjustment: 0},
		{Lower: f(10), Upper: f(20), Adjustment: 10},
		{Lower: f(20), Adjustment: 30},
	}
	docScaleIn = []Step{
		{Lower: f(-10), Upper: f(0), Adjustment: 0},
		{Lower: f(-20), Upper: f(-10), Adjustment: -10},
		{Upper: f(-20), Adjustment: -30},
	}
	// my-step-scale-out-policy of the CLI walk-through, threshold 60.
	cliScaleOut = []Step{
		{Lower: f(0), Upper: f(15), Adjustment: 10},
		{Lower: f(15), Upper: f(25), Adjustment: 20},
		{Lower: f(25), Adjustment: 30},
	}
)

func TestCheckSteps(t *testing.T) {
	many := make([]Step, MaxSteps+1)
	for i := range many {
		many[i] = Step{Lower: f(float64(i)), Upper: f(float64(i + 1))}
	}
	many[len(many)-1].Upper = nil
	tests := []struct {
		name  string
		steps []Step
		want  string // "" for valid
	}{
		{"user_guide_scale_out_example", docScaleOut, ""},
		{"user_guide_scale_in_example", docScaleIn, ""},
		{"cli_my_step_scale_out_policy", cliScaleOut, ""},
		{"cli_my_step_scale_in_policy", []Step{{Upper: f(0), Adjustment: -2}}, ""},
		{"console_default_scale_out_step", []Step{{Lower: f(0), Adjustment: 30}}, ""},
		{"unordered_steps_are_sorted", []Step{docScaleOut[2], docScaleOut[0], docScaleOut[1]}, ""},
		{"steps_spanning_the_threshold", []Step{{Upper: f(-5)}, {Lower: f(-5), Upper: f(5)}, {Lower: f(5)}}, ""},
		{"exactly_the_maximum_count", many[1:], ""},
		{"no_steps", nil, "You must specify at least one StepAdjustment"},
		{"more_than_20_steps", many, "at most 20 step adjustments"},
		{"both_bounds_null", []Step{{Adjustment: 1}}, "Both lower and upper bounds"},
		{"lower_not_below_upper", []Step{{Lower: f(10), Upper: f(10)}, {Lower: f(10)}}, "must be greater than its lower bound"},
		{"two_null_lower_bounds", []Step{{Upper: f(-10)}, {Upper: f(0)}}, "At most one StepAdjustment may have an unspecified lower bound"},
		{"two_null_upper_bounds", []Step{{Lower: f(0)}, {Lower: f(10)}}, "At most one StepAdjustment may have an unspecified upper bound"},
		// terraform-provider-aws#9077: one step from 1 to 2.
		{"positive_upper_bound_needs_null_upper", []Step{{Lower: f(1), Upper: f(2), Adjustment: 1}},
			"There must be a StepAdjustment with an unspecified upper bound (i.e., upper bound is null) when one StepAdjustment has a positive upper bound"},
		{"negative_lower_bound_needs_null_lower", []Step{{Lower: f(-10), Upper: f(0)}},
			"There must be a StepAdjustment with an unspecified lower bound (i.e., lower bound is null) when one StepAdjustment has a negative lower bound"},
		{"overlap", []Step{{Lower: f(0), Upper: f(15)}, {Lower: f(10)}}, "cannot overlap"},
		{"gap", []Step{{Lower: f(0), Upper: f(10)}, {Lower: f(20)}}, "cannot have gaps"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckSteps(tt.steps)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("CheckSteps: %v", err)
				}
				return
			}
			var ae *awserr.Error
			if !errors.As(err, &ae) || ae.Code != "ValidationError" || ae.Status != 400 {
				t.Fatalf("CheckSteps = %v, want a 400 ValidationError", err)
			}
			if !strings.Contains(ae.Message, tt.want) {
				t.Errorf("message %q, want it to contain %q", ae.Message, tt.want)
			}
		})
	}
}

func TestStepFor(t *testing.T) {
	tests := []struct {
		name      string
		steps     []Step
		metric    float64
		threshold float64
		want      int // Adjustment of the chosen step
		ok        bool
	}{
		// User Guide example: unchanged between 40 and 60, +10% from 60,
		// +30% from 70, -10% at 40, -30% at 30.
		{"scale_out_metric_55_unchanged", docScaleOut, 55, 50, 0, true},
		{"scale_out_metric_60_adds_10_percent", docScaleOut, 60, 50, 10, true},
		{"scale_out_metric_70_adds_30_percent", docScaleOut, 70, 50, 30, true},
		{"scale_out_metric_1000_adds_30_percent", docScaleOut, 1000, 50, 30, true},
		{"scale_out_metric_45_no_step", docScaleOut, 45, 50, 0, false},
		{"scale_in_metric_45_unchanged", docScaleIn, 45, 50, 0, true},
		{"scale_in_metric_40_removes_10_percent", docScaleIn, 40, 50, -10, true},
		{"scale_in_metric_30_removes_30_percent", docScaleIn, 30, 50, -30, true},
		{"scale_in_metric_55_no_step", docScaleIn, 55, 50, 0, false},
		// StepAdjustment API reference: lower 0 upper 10 is metric >= 50
		// and < 60; lower -10 upper 0 is metric > 40 and <= 50.
		{"api_lower_0_includes_the_threshold", docScaleOut, 50, 50, 0, true},
		{"api_upper_10_excludes_60", []Step{{Lower: f(0), Upper: f(10), Adjustment: 1}, {Lower: f(10), Adjustment: 2}}, 60, 50, 2, true},
		{"api_upper_0_includes_the_threshold", docScaleIn, 50, 50, 0, true},
		{"api_lower_-10_excludes_40", []Step{{Upper: f(-10), Adjustment: -2}, {Lower: f(-10), Upper: f(0), Adjustment: -1}}, 40, 50, -2, true},
		// ExecutePolicy: "if the breach threshold is 50 ... lower bound of 0
		// and an upper bound of 10, you can set the metric value to 59".
		{"execute_policy_metric_59", []Step{{Lower: f(0), Upper: f(10), Adjustment: 1}, {Lower: f(10), Adjustment: 2}}, 59, 50, 1, true},
		// CLI walk-through, threshold 60: +10% from 60 to 75, +20% to 85, +30% above.
		{"cli_metric_60_adds_10_percent", cliScaleOut, 60, 60, 10, true},
		{"cli_metric_74.9_adds_10_percent", cliScaleOut, 74.9, 60, 10, true},
		{"cli_metric_75_adds_20_percent", cliScaleOut, 75, 60, 20, true},
		{"cli_metric_85_adds_30_percent", cliScaleOut, 85, 60, 30, true},
		{"cli_scale_in_below_threshold", []Step{{Upper: f(0), Adjustment: -2}}, 10, 40, -2, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := StepFor(tt.steps, tt.metric, tt.threshold)
			if ok != tt.ok || (ok && got.Adjustment != tt.want) {
				t.Errorf("StepFor(metric %v, threshold %v) = %+v, %v; want adjustment %d, %v", tt.metric, tt.threshold, got, ok, tt.want, tt.ok)
			}
		})
	}
}

func TestStepDesired(t *testing.T) {
	step := func(metric float64, steps []Step) Step {
		s, ok := StepFor(steps, metric, 50)
		if !ok {
			t.Fatalf("no step for %v", metric)
		}
		return s
	}
	tests := []struct {
		name                      string
		current, desired, warming int
		step                      Step
		typ                       AdjustmentType
		b                         Bounds
		want                      int
		apply                     bool
	}{
		// The User Guide's walk-through, group at 10 and 10.
		{"metric_60_desired_10_to_11", 10, 10, 0, step(60, docScaleOut), PercentChangeInCapacity, wide, 11, true},
		{"metric_60_again_while_the_11th_warms_is_one_activity", 10, 11, 1, step(60, docScaleOut), PercentChangeInCapacity, wide, 11, false},
		{"metric_70_while_the_11th_warms_counts_it", 10, 11, 1, step(70, docScaleOut), PercentChangeInCapacity, wide, 13, true},
		{"metric_70_after_warm_up_desired_11_to_14", 11, 11, 0, step(70, docScaleOut), PercentChangeInCapacity, wide, 14, true},
		{"metric_40_desired_14_to_13", 14, 14, 0, step(40, docScaleIn), PercentChangeInCapacity, wide, 13, true},
		{"metric_30_desired_13_to_10", 13, 13, 0, step(30, docScaleIn), PercentChangeInCapacity, wide, 10, true},
		{"metric_between_40_and_60_keeps_capacity", 10, 10, 0, step(55, docScaleOut), PercentChangeInCapacity, wide, 10, false},
		{"unchanged_step_while_warming_keeps_the_launches", 10, 13, 3, step(55, docScaleOut), PercentChangeInCapacity, wide, 13, false},
		{"smaller_step_while_warming_keeps_the_larger_desired", 10, 13, 3, step(60, docScaleOut), PercentChangeInCapacity, wide, 13, false},
		// "While the scale-out activity is in progress, all scale-in
		// activities initiated by scaling policies are blocked."
		{"scale_in_blocked_while_warming", 14, 15, 1, step(40, docScaleIn), PercentChangeInCapacity, wide, 15, false},
		// Instance weighting: "desired capacity is 30 and the current
		// capacity is 32 ... decrements the desired capacity by 1, then no
		// scaling action is taken."
		{"weighting_decrement_within_overshoot_takes_no_action", 32, 30, 0, Step{Upper: f(0), Adjustment: -1}, ChangeInCapacity, wide, 30, false},
		{"weighting_decrement_beyond_overshoot_applies", 32, 30, 0, Step{Upper: f(0), Adjustment: -5}, ChangeInCapacity, wide, 27, true},
		{"at_MaxSize_no_scale_out", 5, 5, 0, Step{Lower: f(0), Adjustment: 2}, ChangeInCapacity, Bounds{1, 5}, 5, false},
		{"ExactCapacity_step_scales_out", 2, 2, 0, Step{Lower: f(0), Adjustment: 4}, ExactCapacity, wide, 4, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, apply := StepDesired(tt.current, tt.desired, tt.warming, tt.step, tt.typ, 0, tt.b)
			if got != tt.want || apply != tt.apply {
				t.Errorf("StepDesired(current %d, desired %d, warming %d, %+v) = %d, %v; want %d, %v",
					tt.current, tt.desired, tt.warming, tt.step, got, apply, tt.want, tt.apply)
			}
		})
	}
}

func TestCooldownAllows(t *testing.T) {
	end := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	scaleIn := 180 * time.Second
	tests := []struct {
		name     string
		now      time.Time
		lastEnd  time.Time
		cooldown time.Duration
		honor    bool
		want     bool
	}{
		// "Scaling cooldowns": default 300 seconds, counted from when the
		// last instance finishes launching or terminating.
		{"default_cooldown_refuses_at_299s", end.Add(299 * time.Second), end, DefaultCooldown, true, false},
		{"default_cooldown_allows_at_300s", end.Add(300 * time.Second), end, DefaultCooldown, true, true},
		{"default_cooldown_allows_after", end.Add(time.Hour), end, DefaultCooldown, true, true},
		// my-simple-scale-in-policy: --cooldown 180.
		{"policy_cooldown_180_refuses_at_179s", end.Add(179 * time.Second), end, scaleIn, true, false},
		{"policy_cooldown_180_allows_at_180s", end.Add(180 * time.Second), end, scaleIn, true, true},
		// "When you manually scale ... the default is not to wait for a
		// cooldown": ExecutePolicy without HonorCooldown.
		{"manual_without_HonorCooldown_does_not_wait", end.Add(time.Second), end, DefaultCooldown, false, true},
		{"ExecutePolicy_HonorCooldown_waits", end.Add(time.Second), end, DefaultCooldown, true, false},
		{"no_previous_activity", end, time.Time{}, DefaultCooldown, true, true},
		{"zero_cooldown", end, end, 0, true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := CooldownAllows(tt.now, tt.lastEnd, tt.cooldown, tt.honor); got != tt.want {
				t.Errorf("CooldownAllows(%v after end, %v, honor %v) = %v, want %v", tt.now.Sub(tt.lastEnd), tt.cooldown, tt.honor, got, tt.want)
			}
		})
	}
}

func TestPolicyCooldown(t *testing.T) {
	if got := PolicyCooldown(nil, DefaultCooldown); got != 300*time.Second {
		t.Errorf("no policy cooldown: %v, want the group's 300s", got)
	}
	own := 180 * time.Second
	if got := PolicyCooldown(&own, DefaultCooldown); got != own {
		t.Errorf("policy cooldown 180s: %v, want it to override the default", got)
	}
	zero := time.Duration(0)
	if got := PolicyCooldown(&zero, DefaultCooldown); got != 0 {
		t.Errorf("policy cooldown 0: %v, want 0", got)
	}
}

func TestTargetCapacity(t *testing.T) {
	tests := []struct {
		name           string
		current        int
		metric, target float64
		b              Bounds
		disableScaleIn bool
		want           int
	}{
		// "Considerations": target 50 percent CPU; adding 1.5 instances
		// would reach it, so 2 are added.
		{"adding_1.5_instances_adds_2", 3, 75, 50, wide, false, 5},
		// ... removing 1.5 instances would go above it, so 1 is removed.
		{"removing_1.5_instances_removes_1", 5, 35, 50, wide, false, 4},
		// Introduction: two instances, keep CPU around 50 percent.
		{"two_instances_at_100_percent_double", 2, 100, 50, wide, false, 4},
		{"at_target_keeps_capacity", 2, 50, 50, wide, false, 2},
		{"just_above_target_adds_one", 10, 50.1, 50, wide, false, 11},
		// cpu40-target-tracking-scaling-policy: target 40.
		{"cpu40_at_60_percent_of_4", 4, 60, 40, wide, false, 6},
		{"float_error_not_rounded_up", 3, 33.3, 11.1, wide, false, 9},
		{"clamped_to_MaxSize", 4, 200, 40, Bounds{1, 5}, false, 5},
		{"clamped_to_MinSize", 4, 1, 40, Bounds{2, 5}, false, 2},
		// "an Auto Scaling group can scale in to 0 when there is no traffic".
		{"zero_requests_scale_to_zero_with_MinSize_0", 3, 0, 1000, wide, false, 0},
		{"DisableScaleIn_keeps_capacity", 5, 35, 50, wide, true, 5},
		{"DisableScaleIn_still_scales_out", 3, 75, 50, wide, true, 5},
		{"nonpositive_target_keeps_capacity", 3, 75, 0, wide, false, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := TargetCapacity(tt.current, tt.metric, tt.target, tt.b, tt.disableScaleIn); got != tt.want {
				t.Errorf("TargetCapacity(%d, %v, %v, %+v, %v) = %d, want %d", tt.current, tt.metric, tt.target, tt.b, tt.disableScaleIn, got, tt.want)
			}
		})
	}
}

func TestTargetDesired(t *testing.T) {
	// The warm-up walk-through: group stable at 4, target 50, five-minute
	// warm-up; each row a minute apart.
	tests := []struct {
		name                      string
		current, desired, warming int
		metric                    float64
		disableScaleIn            bool
		want                      int
		apply                     bool
	}{
		{"high_alarm_4_plus_1_is_5", 4, 4, 0, 60, false, 5, true},
		{"same_metric_while_warming_launches_nothing", 4, 5, 1, 60, false, 5, false},
		{"metric_up_while_warming_4_plus_2_is_6", 4, 5, 1, 70, false, 6, true},
		{"scale_in_blocked_while_warming", 6, 7, 1, 20, false, 7, false},
		{"scale_in_after_warm_up", 6, 6, 0, 20, false, 3, true},
		{"scale_in_disabled", 6, 6, 0, 20, true, 6, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, apply := TargetDesired(tt.current, tt.desired, tt.warming, tt.metric, 50, wide, tt.disableScaleIn)
			if got != tt.want || apply != tt.apply {
				t.Errorf("TargetDesired(current %d, desired %d, warming %d, metric %v) = %d, %v; want %d, %v",
					tt.current, tt.desired, tt.warming, tt.metric, got, apply, tt.want, tt.apply)
			}
		})
	}
}

func TestTargetTrackingAlarms(t *testing.T) {
	// cpu40-target-tracking-scaling-policy of the User Guide's CLI example.
	const cpu40ARN = "arn:aws:autoscaling:region:account-id:scalingPolicy:228f02c2-c665-4bfd-aaac-8b04080bea3c:autoScalingGroupName/my-asg:policyName/cpu40-target-tracking-scaling-policy"
	// alb1000-target-tracking-scaling-policy of the CLI's describe-policies example.
	const albARN = "arn:aws:autoscaling:us-west-2:123456789012:scalingPolicy:3065d9c8-9969-4bec-bb6a-3fbe5550fde6:autoScalingGroupName/my-asg:policyName/alb1000-target-tracking-scaling-policy"
	asg := map[string]string{"AutoScalingGroupName": "my-asg"}
	tests := []struct {
		name string
		in   TrackingAlarms
		want []AlarmSpec
	}{
		{"cpu40_user_guide_example", TrackingAlarms{
			GroupName: "my-asg", PolicyARN: cpu40ARN,
			HighID: "fc0e4183-23ac-497e-9992-691c9980c38e", LowID: "61a39305-ed0c-47af-bd9e-471a352ee1a2",
			PredefinedMetricType: ASGAverageCPUUtilization, TargetValue: 40,
		}, []AlarmSpec{{
			Name:        "TargetTracking-my-asg-AlarmHigh-fc0e4183-23ac-497e-9992-691c9980c38e",
			Description: "DO NOT EDIT OR DELETE. For TargetTrackingScaling policy " + cpu40ARN + ".",
			Namespace:   "AWS/EC2", MetricName: "CPUUtilization", Statistic: "Average", Dimensions: asg,
			Period: 60, EvaluationPeriods: 3, Threshold: 40, Comparison: "GreaterThanThreshold", High: true,
		}, {
			Name:        "TargetTracking-my-asg-AlarmLow-61a39305-ed0c-47af-bd9e-471a352ee1a2",
			Description: "DO NOT EDIT OR DELETE. For TargetTrackingScaling policy " + cpu40ARN + ".",
			Namespace:   "AWS/EC2", MetricName: "CPUUtilization", Statistic: "Average", Dimensions: asg,
			Period: 60, EvaluationPeriods: 15, Threshold: 36, Comparison: "LessThanThreshold",
		}}},
		{"network_in", TrackingAlarms{
			GroupName: "my-asg", PolicyARN: cpu40ARN, HighID: "h", LowID: "l",
			PredefinedMetricType: ASGAverageNetworkIn, TargetValue: 1e6,
		}, []AlarmSpec{{
			Name: "TargetTracking-my-asg-AlarmHigh-h", Description: "DO NOT EDIT OR DELETE. For TargetTrackingScaling policy " + cpu40ARN + ".",
			Namespace: "AWS/EC2", MetricName: "NetworkIn", Statistic: "Average", Dimensions: asg,
			Period: 60, EvaluationPeriods: 3, Threshold: 1e6, Comparison: "GreaterThanThreshold", High: true,
		}, {
			Name: "TargetTracking-my-asg-AlarmLow-l", Description: "DO NOT EDIT OR DELETE. For TargetTrackingScaling policy " + cpu40ARN + ".",
			Namespace: "AWS/EC2", MetricName: "NetworkIn", Statistic: "Average", Dimensions: asg,
			Period: 60, EvaluationPeriods: 15, Threshold: 9e5, Comparison: "LessThanThreshold",
		}}},
		{"alb1000_describe_policies_example", TrackingAlarms{
			GroupName: "my-asg", PolicyARN: albARN,
			HighID: "924887a9-12d7-4e01-8686-6f844d13a196", LowID: "f96f899d-b8e7-4d09-a010-c1aaa35da296",
			PredefinedMetricType: ALBRequestCountPerTarget,
			ResourceLabel:        "app/my-alb/778d41231b141a0f/targetgroup/my-alb-target-group/943f017f100becff",
			TargetValue:          1000,
		}, []AlarmSpec{{
			Name:        "TargetTracking-my-asg-AlarmHigh-924887a9-12d7-4e01-8686-6f844d13a196",
			Description: "DO NOT EDIT OR DELETE. For TargetTrackingScaling policy " + albARN + ".",
			Namespace:   "AWS/ApplicationELB", MetricName: "RequestCountPerTarget", Statistic: "Sum",
			Dimensions: map[string]string{"TargetGroup": "targetgroup/my-alb-target-group/943f017f100becff"},
			Period:     60, EvaluationPeriods: 3, Threshold: 1000, Comparison: "GreaterThanThreshold", High: true,
		}, {
			Name:        "TargetTracking-my-asg-AlarmLow-f96f899d-b8e7-4d09-a010-c1aaa35da296",
			Description: "DO NOT EDIT OR DELETE. For TargetTrackingScaling policy " + albARN + ".",
			Namespace:   "AWS/ApplicationELB", MetricName: "RequestCountPerTarget", Statistic: "Sum",
			Dimensions: map[string]string{"TargetGroup": "targetgroup/my-alb-target-group/943f017f100becff"},
			Period:     60, EvaluationPeriods: 15, Threshold: 900, Comparison: "LessThanThreshold",
		}}},
		{"DisableScaleIn_creates_AlarmHigh_alone", TrackingAlarms{
			GroupName: "my-asg", PolicyARN: cpu40ARN, HighID: "h", LowID: "l",
			PredefinedMetricType: ASGAverageCPUUtilization, TargetValue: 75, DisableScaleIn: true,
		}, []AlarmSpec{{
			Name: "TargetTracking-my-asg-AlarmHigh-h", Description: "DO NOT EDIT OR DELETE. For TargetTrackingScaling policy " + cpu40ARN + ".",
			Namespace: "AWS/EC2", MetricName: "CPUUtilization", Statistic: "Average", Dimensions: asg,
			Period: 60, EvaluationPeriods: 3, Threshold: 75, Comparison: "GreaterThanThreshold", High: true,
		}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := TargetTrackingAlarms(tt.in)
			if err != nil {
				t.Fatalf("TargetTrackingAlarms: %v", err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("%d alarms, want %d: %+v", len(got), len(tt.want), got)
			}
			for i := range got {
				if !alarmEqual(got[i], tt.want[i]) {
					t.Errorf("alarm %d:\n got %+v\nwant %+v", i, got[i], tt.want[i])
				}
			}
		})
	}
}

// alarmEqual compares two alarm specs, dimensions by content.
func alarmEqual(a, b AlarmSpec) bool {
	return maps.Equal(a.Dimensions, b.Dimensions) && a.Name == b.Name && a.Description == b.Description &&
		a.Namespace == b.Namespace && a.MetricName == b.MetricName && a.Statistic == b.Statistic &&
		a.Period == b.Period && a.EvaluationPeriods == b.EvaluationPeriods && a.DatapointsToAlarm == b.DatapointsToAlarm &&
		a.Threshold == b.Threshold && a.Comparison == b.Comparison && a.TreatMissingData == b.TreatMissingData && a.High == b.High
}

func TestTargetTrackingAlarmsLowThreshold(t *testing.T) {
	// Thresholds of real AlarmLow alarms: 90 percent of the target.
	for target, want := range map[float64]float64{40: 36, 50: 45, 60: 54, 70: 63, 1000: 900} {
		alarms, err := TargetTrackingAlarms(TrackingAlarms{GroupName: "g", PredefinedMetricType: ASGAverageCPUUtilization, TargetValue: target})
		if err != nil {
			t.Fatal(err)
		}
		if got := alarms[1].Threshold; got != want {
			t.Errorf("target %v: AlarmLow threshold %v, want %v", target, got, want)
		}
	}
}

func TestTargetTrackingAlarmsDimensionsNotShared(t *testing.T) {
	alarms, err := TargetTrackingAlarms(TrackingAlarms{GroupName: "g", PredefinedMetricType: ASGAverageCPUUtilization, TargetValue: 50})
	if err != nil {
		t.Fatal(err)
	}
	alarms[0].Dimensions["AutoScalingGroupName"] = "changed"
	if alarms[1].Dimensions["AutoScalingGroupName"] != "g" {
		t.Error("AlarmHigh and AlarmLow share a dimension map")
	}
}

func TestTargetTrackingAlarmsErrors(t *testing.T) {
	tests := []struct {
		name string
		in   TrackingAlarms
		want string
	}{
		{"ALBRequestCountPerTarget_without_ResourceLabel", TrackingAlarms{PredefinedMetricType: ALBRequestCountPerTarget, TargetValue: 1000},
			"Resource label should be specified for predefined metric type ALBRequestCountPerTarget"},
		{"ALBRequestCountPerTarget_with_target_group_only", TrackingAlarms{PredefinedMetricType: ALBRequestCountPerTarget, TargetValue: 1000,
			ResourceLabel: "targetgroup/my-alb-target-group/943f017f100becff"}, "Invalid resource label"},
		{"ALBRequestCountPerTarget_with_truncated_label", TrackingAlarms{PredefinedMetricType: ALBRequestCountPerTarget, TargetValue: 1000,
			ResourceLabel: "app/my-alb/778d41231b141a0f/targetgroup/my-alb-target-group"}, "Invalid resource label"},
		{"unknown_metric", TrackingAlarms{PredefinedMetricType: "ASGAverageMemoryUtilization", TargetValue: 50}, "Unsupported predefined metric type"},
		{"custom_metric_and_math", TrackingAlarms{TargetValue: 5, Customized: &CustomMetric{Namespace: "App", MetricName: "Depth", Statistic: "Average",
			Queries: []Query{{ID: "m1", Namespace: "App", MetricName: "Depth", Stat: "Average", ReturnData: true}}}}, "not both"},
		{"custom_without_statistic", TrackingAlarms{TargetValue: 5, Customized: &CustomMetric{Namespace: "App", MetricName: "Depth"}}, "needs Namespace, MetricName and Statistic"},
		{"custom_period_45", TrackingAlarms{TargetValue: 5, Customized: &CustomMetric{Namespace: "App", MetricName: "Depth", Statistic: "Sum", Period: 45}}, "10, 30 or 60"},
		{"math_two_returning", TrackingAlarms{TargetValue: 5, Customized: &CustomMetric{Queries: []Query{
			{ID: "m1", Namespace: "App", MetricName: "Depth", Stat: "Average", ReturnData: true}, {ID: "e1", Expression: "m1 / 2", ReturnData: true}}}}, "Exactly one metric data query"},
		{"math_duplicate_id", TrackingAlarms{TargetValue: 5, Customized: &CustomMetric{Queries: []Query{
			{ID: "m1", Namespace: "App", MetricName: "Depth", Stat: "Average"}, {ID: "m1", Expression: "m1 / 2", ReturnData: true}}}}, "unique Id"},
		{"math_query_both", TrackingAlarms{TargetValue: 5, Customized: &CustomMetric{Queries: []Query{
			{ID: "m1", Namespace: "App", MetricName: "Depth", Stat: "Average", Expression: "m1", ReturnData: true}}}}, "exactly one of Expression and MetricStat"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := TargetTrackingAlarms(tt.in)
			var ae *awserr.Error
			if !errors.As(err, &ae) || ae.Code != "ValidationError" {
				t.Fatalf("err %v, want a ValidationError", err)
			}
			if !strings.Contains(ae.Message, tt.want) {
				t.Errorf("message %q, want it to contain %q", ae.Message, tt.want)
			}
		})
	}
}

func TestTargetTrackingAlarmsCustomized(t *testing.T) {
	got, err := TargetTrackingAlarms(TrackingAlarms{GroupName: "g", PolicyARN: "arn:p", HighID: "h", LowID: "l", TargetValue: 40,
		Customized: &CustomMetric{Namespace: "App", MetricName: "Latency", Statistic: "p90", Unit: "Milliseconds", Period: 10, Dimensions: map[string]string{"Service": "web"}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Fatalf("%d alarms, want 2", len(got))
	}
	h := got[0]
	if h.Namespace != "App" || h.MetricName != "Latency" || h.Statistic != "p90" || h.Unit != "Milliseconds" || h.Period != 10 ||
		h.Dimensions["Service"] != "web" || h.Threshold != 40 || got[1].Threshold != 36 || len(h.Queries) != 0 {
		t.Errorf("high alarm = %+v, low %+v", h, got[1])
	}
	math, err := TargetTrackingAlarms(TrackingAlarms{GroupName: "g", TargetValue: 5, DisableScaleIn: true, Customized: &CustomMetric{Queries: []Query{
		{ID: "m1", Namespace: "App", MetricName: "Depth", Stat: "Sum"}, {ID: "e1", Expression: "m1 / 10", ReturnData: true}}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(math) != 1 || len(math[0].Queries) != 2 || math[0].Namespace != "" || math[0].Statistic != "" {
		t.Errorf("metric math alarm = %+v", math)
	}
}
