// Package scaling is the capacity arithmetic of Amazon EC2 Auto Scaling's
// dynamic scaling policies, as the User Guide and API reference describe
// it: how an adjustment (ChangeInCapacity, ExactCapacity,
// PercentChangeInCapacity with MinAdjustmentMagnitude) changes a group's
// capacity; how a step scaling policy's step adjustments are validated and
// which one a breach selects; when instances still warming up suppress a
// step or target tracking change; when a simple scaling policy's cooldown
// refuses a request; what capacity a target tracking policy asks for; and
// the two CloudWatch alarms a target tracking policy creates.
//
// Everything here is a pure function of its arguments: times are
// parameters, and no state is kept. The service and its controllers decide
// when to call them.
//
// Sources (User Guide pages unless marked): "Step and simple scaling
// policies for Amazon EC2 Auto Scaling" (step adjustments, scaling
// adjustment types, instance warm-up), "Scaling cooldowns for Amazon EC2
// Auto Scaling", "Available warm-up and cooldown settings", "Target
// tracking scaling policies for Amazon EC2 Auto Scaling", and the API
// reference's StepAdjustment, PutScalingPolicy, ExecutePolicy and
// PredefinedMetricSpecification.
//
// Where the documentation is silent the choices are these, each a guess
// until checked against AWS:
//   - a breach of exactly zero (metric equal to the threshold) selects a
//     step that starts at 0 if there is one (the lower bound inclusive, as
//     the StepAdjustment examples show for a scale-out step), and otherwise
//     a step that ends at 0 (the upper bound inclusive, as they show for a
//     scale-in step);
//   - MinAdjustmentMagnitude also lifts a percent change of exactly zero
//     (a group at zero capacity), in the adjustment's direction;
//   - the wording of the ValidationError messages of CheckSteps other than
//     the missing-null-upper-bound one (seen in AWS answers) and of
//     TargetTrackingAlarms;
//   - the target tracking alarms' shapes for ALBRequestCountPerTarget (the
//     TargetGroup dimension alone, statistic Sum) and the lack of an
//     AlarmLow when scale-in is disabled.
package scaling

import (
	"net/http"

	"github.com/nephele-dev/nephele/internal/awserr"
)

// AdjustmentType says how a scaling adjustment is read: the AdjustmentType
// of PutScalingPolicy.
type AdjustmentType string

// The adjustment types of step and simple scaling policies.
const (
	// ChangeInCapacity adds the adjustment (negative: removes) to the
	// current capacity.
	ChangeInCapacity AdjustmentType = "ChangeInCapacity"
	// ExactCapacity sets the capacity to the adjustment.
	ExactCapacity AdjustmentType = "ExactCapacity"
	// PercentChangeInCapacity adds the adjustment as a percentage of the
	// current capacity, rounded as Adjust describes.
	PercentChangeInCapacity AdjustmentType = "PercentChangeInCapacity"
)

// Valid reports whether t is one of the three adjustment types.
func (t AdjustmentType) Valid() bool {
	switch t {
	case ChangeInCapacity, ExactCapacity, PercentChangeInCapacity:
		return true
	}
	return false
}

// Bounds are a group's MinSize and MaxSize: no scaling policy takes the
// desired capacity outside them.
type Bounds struct{ Min, Max int }

// Clamp returns n limited to [b.Min, b.Max].
func (b Bounds) Clamp(n int) int {
	return max(b.Min, min(n, b.Max))
}

// Adjust applies one scaling adjustment to the current capacity and
// returns the new desired capacity, within b.
//
// For PercentChangeInCapacity the change is current × adjustment / 100,
// and a result that is not an integer is rounded as the User Guide's
// "Scaling adjustment types" says: values greater than 1 are rounded down
// (12.7 to 12), values between 0 and 1 are rounded to 1 (.67 to 1), values
// between 0 and -1 to -1 (-.58 to -1), and values less than -1 are rounded
// up (-6.67 to -6) — toward zero, but never to zero. Then, if the change is
// smaller in magnitude than minMagnitude (MinAdjustmentMagnitude), it
// becomes minMagnitude in the adjustment's direction: adding 25 percent to
// 4 instances with a minimum of 2 adds 2. MinAdjustmentMagnitude applies to
// PercentChangeInCapacity only; other types ignore it.
//
// An unknown type leaves the capacity as it is (within b).
func Adjust(current int, typ AdjustmentType, adjustment int, minMagnitude int, b Bounds) int {
	next := current
	switch typ {
	case ChangeInCapacity:
		next = current + adjustment
	case ExactCapacity:
		next = adjustment
	case PercentChangeInCapacity:
		next = current + percentChange(current, adjustment, minMagnitude)
	}
	return b.Clamp(next)
}

// percentChange is adjustment percent of current, rounded as AWS rounds it
// and lifted to minMagnitude. The arithmetic is on integers, so 30 percent
// of 11 is exactly 3.3 and rounds to 3, with no float error at the edges.
func percentChange(current, adjustment, minMagnitude int) int {
	scaled := int64(current) * int64(adjustment) // 100 × the exact change
	var change int64
	switch {
	case scaled > 0 && scaled < 100:
		change = 1
	case scaled < 0 && scaled > -100:
		change = -1
	default:
		change = scaled / 100 // Go's division truncates toward zero
	}
	floor := int64(minMagnitude)
	if adjustment > 0 && change < floor {
		change = floor
	}
	if adjustment < 0 && change > -floor {
		change = -floor
	}
	return int(change)
}

// validation is the ValidationError (400) with which Auto Scaling refuses
// a policy.
func validation(format string, args ...any) error {
	return awserr.New(http.StatusBadRequest, "ValidationError", format, args...)
}
