package scaling

import (
	"math"
	"slices"
)

// MaxSteps is how many step adjustments one step scaling policy can have
// (the User Guide's quotas page).
const MaxSteps = 20

// Step is one step adjustment of a step scaling policy. Its bounds are
// relative to the alarm's breach threshold, as the API's
// MetricIntervalLowerBound and MetricIntervalUpperBound are: a nil Lower is
// negative infinity, a nil Upper positive infinity.
type Step struct {
	// Lower is MetricIntervalLowerBound.
	Lower *float64
	// Upper is MetricIntervalUpperBound.
	Upper *float64
	// Adjustment is ScalingAdjustment, read by the policy's AdjustmentType.
	Adjustment int
}

// lower is s.Lower with nil as negative infinity.
func (s Step) lower() float64 {
	if s.Lower == nil {
		return math.Inf(-1)
	}
	return *s.Lower
}

// upper is s.Upper with nil as positive infinity.
func (s Step) upper() float64 {
	if s.Upper == nil {
		return math.Inf(1)
	}
	return *s.Upper
}

// CheckSteps validates a step scaling policy's step adjustments by the
// rules of the StepAdjustment API reference and the User Guide's "Step
// adjustments for step scaling", returning the ValidationError that
// PutScalingPolicy answers:
//   - the upper and lower bound can't both be null in one step, and the
//     upper bound must be greater than the lower bound;
//   - at most one step can have a null lower bound, and if one step has a
//     negative lower bound there must be one with a null lower bound;
//   - at most one step can have a null upper bound, and if one step has a
//     positive upper bound there must be one with a null upper bound;
//   - the ranges can't overlap or have a gap;
//   - there is at least one step and at most MaxSteps.
func CheckSteps(steps []Step) error {
	if len(steps) == 0 {
		return validation("You must specify at least one StepAdjustment for policy type: StepScaling")
	}
	if len(steps) > MaxSteps {
		return validation("There can be at most %d step adjustments per scaling policy", MaxSteps)
	}
	var nullLower, nullUpper int
	var negativeLower, positiveUpper bool
	for _, s := range steps {
		if s.Lower == nil && s.Upper == nil {
			return validation("Both lower and upper bounds of a StepAdjustment cannot be left unspecified")
		}
		if s.Lower != nil && s.Upper != nil && *s.Lower >= *s.Upper {
			return validation("The upper bound of a StepAdjustment must be greater than its lower bound")
		}
		if s.Lower == nil {
			nullLower++
		} else if *s.Lower < 0 {
			negativeLower = true
		}
		if s.Upper == nil {
			nullUpper++
		} else if *s.Upper > 0 {
			positiveUpper = true
		}
	}
	if nullLower > 1 {
		return validation("At most one StepAdjustment may have an unspecified lower bound (i.e., lower bound is null)")
	}
	if nullUpper > 1 {
		return validation("At most one StepAdjustment may have an unspecified upper bound (i.e., upper bound is null)")
	}
	if negativeLower && nullLower == 0 {
		return validation("There must be a StepAdjustment with an unspecified lower bound (i.e., lower bound is null) when one StepAdjustment has a negative lower bound")
	}
	if positiveUpper && nullUpper == 0 {
		return validation("There must be a StepAdjustment with an unspecified upper bound (i.e., upper bound is null) when one StepAdjustment has a positive upper bound")
	}
	sorted := slices.Clone(steps)
	slices.SortFunc(sorted, func(a, b Step) int { return compareFloat(a.lower(), b.lower()) })
	for i := 1; i < len(sorted); i++ {
		end, start := sorted[i-1].upper(), sorted[i].lower()
		if end > start {
			return validation("StepAdjustment intervals cannot overlap")
		}
		if end < start {
			return validation("StepAdjustment intervals cannot have gaps between them")
		}
	}
	return nil
}

// compareFloat orders bounds, infinities included.
func compareFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// StepFor returns the step adjustment that a metric value v selects when
// the alarm's breach threshold is threshold, and false when none does
// (ExecutePolicy then fails). The breach is v - threshold, and per the
// StepAdjustment API reference: if the metric is above the threshold, a
// step's lower bound is inclusive and its upper bound exclusive; below it,
// the lower bound is exclusive and the upper bound inclusive. With a
// threshold of 50, a step from 0 to 10 covers metrics from 50 (inclusive)
// to 60 (exclusive), and a step from -10 to 0 metrics above 40 up to 50
// (inclusive). A metric exactly at the threshold is in a step that starts
// at 0 if there is one, and otherwise in a step that ends at 0: both
// examples hold.
//
// The steps should have passed CheckSteps; if several still match, the
// first in order wins.
func StepFor(steps []Step, v, threshold float64) (Step, bool) {
	breach := v - threshold
	above := func(s Step) bool { return s.lower() <= breach && breach < s.upper() }
	below := func(s Step) bool { return s.lower() < breach && breach <= s.upper() }
	var tries []func(Step) bool
	switch {
	case breach > 0:
		tries = []func(Step) bool{above}
	case breach < 0:
		tries = []func(Step) bool{below}
	default:
		tries = []func(Step) bool{above, below}
	}
	for _, matches := range tries {
		for _, s := range steps {
			if matches(s) {
				return s, true
			}
		}
	}
	return Step{}, false
}

// StepDesired is the desired capacity a step scaling policy asks for when
// step is selected, and whether the group should take it.
//
// current is the group's current capacity: the capacity (instances, or
// units with instance weighting) that has finished its warm-up and is in
// service. desired is the group's desired capacity now, which counts
// instances still launching or warming up; warming is the capacity in
// that state. The User Guide ("Instance warm-up") says:
//   - the policy's adjustment applies to the current capacity, and the
//     instances still warming up count as part of the desired capacity for
//     the next scale-out, so multiple alarm breaches in the range of the
//     same step adjustment result in a single scaling activity: a
//     scale-out applies only if it asks for more than desired;
//   - while a scale-out is in progress, scale-in by scaling policies is
//     blocked until the instances finish warming up;
//   - with instance weighting the current capacity can exceed the desired
//     capacity, and a decrement that leaves the capacity at or above the
//     desired capacity takes no action (desired 30, current 32, remove 1:
//     nothing happens): a scale-in applies only if it asks for less than
//     desired.
//
// Whether the step scales out or in is decided against current: more than
// current is a scale-out, less a scale-in, equal nothing. When it does not
// apply, StepDesired returns desired and false.
func StepDesired(current, desired, warming int, step Step, typ AdjustmentType, minMagnitude int, b Bounds) (int, bool) {
	return gate(current, Adjust(current, typ, step.Adjustment, minMagnitude, b), desired, warming, false)
}

// gate decides whether a dynamic scaling policy's computed capacity next,
// reached from the current capacity, replaces the group's desired
// capacity, by the warm-up rules StepDesired and TargetDesired describe.
// The direction is next's against current, not against desired: with
// instance weighting current can exceed desired, and removing 1 of 32 is
// a scale-in even when desired is 30.
func gate(current, next, desired, warming int, disableScaleIn bool) (int, bool) {
	switch {
	case next > current && next > desired:
		return next, true
	case next < current && next < desired && warming <= 0 && !disableScaleIn:
		return next, true
	}
	return desired, false
}
