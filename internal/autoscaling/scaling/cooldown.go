package scaling

import "time"

// DefaultCooldown is a group's DefaultCooldown when none is set: 300
// seconds ("Scaling cooldowns for Amazon EC2 Auto Scaling").
const DefaultCooldown = 300 * time.Second

// PolicyCooldown is the cooldown a simple scaling policy waits for: its own
// Cooldown when it has one, which overrides the group's DefaultCooldown,
// and otherwise the group's ("Set a cooldown period for specific simple
// scaling policies").
func PolicyCooldown(policy *time.Duration, groupDefault time.Duration) time.Duration {
	if policy != nil {
		return *policy
	}
	return groupDefault
}

// CooldownAllows reports whether a simple scaling policy may scale the
// group at now, given that the group's last scaling activity ended at
// lastEnd (zero: there was none) and the cooldown that applies (see
// PolicyCooldown).
//
// After a group launches or terminates instances it waits for the cooldown
// to end before any further scaling activity initiated by a simple scaling
// policy can start; the cooldown starts when the last instance finishes
// launching or terminating, so lastEnd is when the activity completed, not
// when it began. A request at exactly lastEnd + cooldown proceeds.
//
// honor says whether the cooldown counts at all: alarm-invoked simple
// scaling honors it; ExecutePolicy honors it only when HonorCooldown is true
// (manual scaling does not wait by default), and step and target tracking
// policies, scheduled actions and health replacements never wait for it.
// A simple policy also waits for an activity still in progress; that is
// the caller's to check, since no activity has ended yet.
func CooldownAllows(now, lastEnd time.Time, cooldown time.Duration, honor bool) bool {
	if !honor || lastEnd.IsZero() {
		return true
	}
	return !now.Before(lastEnd.Add(cooldown))
}
