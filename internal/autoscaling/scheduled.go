package autoscaling

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"
	// The IANA database inside the binary: a scheduled action's TimeZone
	// must resolve whether or not the host has /usr/share/zoneinfo.
	_ "time/tzdata"

	"github.com/robfig/cron/v3"

	api "github.com/nephele-dev/nephele/internal/api/autoscaling"
	"github.com/nephele-dev/nephele/internal/arn"
	"github.com/nephele-dev/nephele/internal/awserr"
	"github.com/nephele-dev/nephele/internal/awsid"
	"github.com/nephele-dev/nephele/internal/clock"
	"github.com/nephele-dev/nephele/internal/page"
	"github.com/nephele-dev/nephele/internal/store"
)

// Scheduled scaling: actions that set a group's minimum, maximum and
// desired capacity once at a StartTime, or on a Unix cron Recurrence in a
// TimeZone ("Scheduled scaling for Amazon EC2 Auto Scaling"). A scheduler
// goroutine sleeps on the clock until the earliest next run of any action,
// runs what is due, and wakes the reconciler to act on the new capacity.

// bucketScheduled holds scheduled actions, keyed by scope, group and name.
const bucketScheduled = "autoscaling-scheduled-actions"

// Auto Scaling's quotas on scheduled actions.
const (
	maxScheduledPerGroup = 125
	maxScheduledBatch    = 50
)

// scheduledRecord is a stored scheduled action.
type scheduledRecord struct {
	Group string `json:"group"`
	Name  string `json:"name"`
	ARN   string `json:"arn"`

	Min     *int32 `json:"min,omitempty"`
	Max     *int32 `json:"max,omitempty"`
	Desired *int32 `json:"desired,omitempty"`

	// Recurrence is the five-field cron expression; "" for a one-time
	// action.
	Recurrence string `json:"recurrence,omitempty"`
	// TimeZone is the IANA zone the recurrence is read in, as given; ""
	// reads it in UTC.
	TimeZone string     `json:"timeZone,omitempty"`
	Start    *time.Time `json:"start,omitempty"`
	End      *time.Time `json:"end,omitempty"`

	// Next is when the action runs next; zero when a recurrence has no
	// run left before End.
	Next time.Time `json:"next"`
	// Last is when it last ran, so that a wall-clock time repeated by the
	// fall-back of daylight saving time runs once.
	Last time.Time `json:"last"`
}

func scheduledKey(sc scope, group, name string) string { return sc.Key(group + "/" + name) }

// due is when the scheduler next has something to do with the action: run
// it, or, once a recurrence has no run left, forget it at its EndTime.
func (r scheduledRecord) due() time.Time {
	if r.Next.IsZero() && r.End != nil {
		return *r.End
	}
	return r.Next
}

// cronParser reads the five fields AWS documents ([Minute] [Hour]
// [Day_of_Month] [Month_of_Year] [Day_of_Week]); descriptors such as
// @daily and a seconds field are refused.
var cronParser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow)

// parseRecurrence parses a recurrence and its time zone ("" is UTC).
func parseRecurrence(recurrence, tz string) (cron.Schedule, *time.Location, error) {
	loc, err := parseTimeZone(tz)
	if err != nil {
		return nil, nil, err
	}
	// The zone comes from TimeZone; robfig/cron would also take one from
	// a TZ= prefix, which is not cron syntax AWS accepts.
	if strings.HasPrefix(recurrence, "TZ=") || strings.HasPrefix(recurrence, "CRON_TZ=") {
		return nil, nil, badRecurrence(recurrence)
	}
	spec, err := cronParser.Parse(recurrence)
	if err != nil {
		return nil, nil, badRecurrence(recurrence)
	}
	return spec, loc, nil
}

func parseTimeZone(tz string) (*time.Location, error) {
	if tz == "" {
		return time.UTC, nil
	}
	// LoadLocation also takes "Local" and "", which are no IANA names.
	loc, err := time.LoadLocation(tz)
	if err != nil || tz == "Local" {
		return nil, validation("Invalid time zone: %s. Specify a canonical IANA time zone name, such as America/New_York.", tz)
	}
	return loc, nil
}

func badRecurrence(recurrence string) error {
	return validation("Given recurrence '%s' is not a valid Unix cron expression of five fields: [Minute] [Hour] [Day_of_Month] [Month_of_Year] [Day_of_Week].", recurrence)
}

// nextRun is the first run of a recurring action after t: the cron's next
// time in the action's time zone, not before StartTime nor after EndTime;
// zero if there is none. A wall-clock time that the fall-back of daylight
// saving time repeats runs once, as cron runs it; a time the spring-forward
// skips does not run that day (robfig/cron's reading).
func (r scheduledRecord) nextRun(t time.Time) (time.Time, error) {
	spec, loc, err := parseRecurrence(r.Recurrence, r.TimeZone)
	if err != nil {
		return time.Time{}, err
	}
	if r.Start != nil && t.Before(*r.Start) {
		t = *r.Start
	}
	wall := func(t time.Time) string { return t.In(loc).Format("2006-01-02T15:04") }
	n := spec.Next(t.In(loc))
	if !n.IsZero() && !r.Last.IsZero() && wall(n) == wall(r.Last) {
		n = spec.Next(n)
	}
	if n.IsZero() || (r.End != nil && n.After(*r.End)) {
		return time.Time{}, nil
	}
	return n.UTC(), nil
}

// scheduledRequest is one action to put: PutScheduledUpdateGroupAction's
// input or one of BatchPutScheduledUpdateGroupAction's.
type scheduledRequest = api.ScheduledUpdateGroupActionRequest

// PutScheduledUpdateGroupAction creates or updates a scheduled action; an
// update keeps what it leaves unspecified.
func (s *Service) PutScheduledUpdateGroupAction(ctx context.Context, in *api.PutScheduledUpdateGroupActionType) (*api.PutScheduledUpdateGroupActionOutput, error) {
	req := scheduledRequest{
		ScheduledActionName: in.ScheduledActionName, StartTime: in.StartTime, EndTime: in.EndTime, Recurrence: in.Recurrence,
		TimeZone: in.TimeZone, MinSize: in.MinSize, MaxSize: in.MaxSize, DesiredCapacity: in.DesiredCapacity,
	}
	// Time is StartTime's deprecated name.
	if req.StartTime == nil {
		req.StartTime = in.Time
	}
	sc := scopeOf(ctx)
	err := s.st.Update(func(tx store.Tx) error {
		g, err := loadGroup(tx, sc, str(in.AutoScalingGroupName))
		if err != nil {
			return err
		}
		return s.putScheduled(tx, sc, g, req, s.now())
	})
	if err != nil {
		return nil, err
	}
	s.sched.wake()
	return &api.PutScheduledUpdateGroupActionOutput{}, nil
}

// BatchPutScheduledUpdateGroupAction puts up to 50 actions of a group,
// reporting each one refused instead of failing the call.
func (s *Service) BatchPutScheduledUpdateGroupAction(ctx context.Context, in *api.BatchPutScheduledUpdateGroupActionType) (*api.BatchPutScheduledUpdateGroupActionAnswer, error) {
	if len(in.ScheduledUpdateGroupActions) > maxScheduledBatch {
		return nil, validation("1 validation error detected: Value at 'scheduledUpdateGroupActions' failed to satisfy constraint: Member must have length less than or equal to %d", maxScheduledBatch)
	}
	sc := scopeOf(ctx)
	out := &api.BatchPutScheduledUpdateGroupActionAnswer{FailedScheduledUpdateGroupActions: []api.FailedScheduledUpdateGroupActionRequest{}}
	err := s.st.Update(func(tx store.Tx) error {
		g, err := loadGroup(tx, sc, str(in.AutoScalingGroupName))
		if err != nil {
			return err
		}
		for _, req := range in.ScheduledUpdateGroupActions {
			err := s.putScheduled(tx, sc, g, req, s.now())
			if f, ok := failed(req.ScheduledActionName, err); ok {
				out.FailedScheduledUpdateGroupActions = append(out.FailedScheduledUpdateGroupActions, f)
			} else if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	s.sched.wake()
	return out, nil
}

// failed turns an AWS error about one action of a batch into its entry in
// the answer; other errors fail the whole call.
func failed(name *string, err error) (api.FailedScheduledUpdateGroupActionRequest, bool) {
	var e *awserr.Error
	if !errors.As(err, &e) || e.Code == "InternalFailure" {
		return api.FailedScheduledUpdateGroupActionRequest{}, false
	}
	return api.FailedScheduledUpdateGroupActionRequest{ScheduledActionName: name, ErrorCode: ptr(e.Code), ErrorMessage: ptr(e.Message)}, true
}

// putScheduled validates one action, merged into the one it updates, and
// stores it with its next run.
func (s *Service) putScheduled(tx store.Tx, sc scope, g groupRecord, req scheduledRequest, now time.Time) error {
	name := str(req.ScheduledActionName)
	if name == "" {
		return validation("1 validation error detected: Value null at 'scheduledActionName' failed to satisfy constraint: Member must not be null")
	}
	key := scheduledKey(sc, g.Name, name)
	var r scheduledRecord
	switch err := tx.Get(bucketScheduled, key, &r); {
	case errors.Is(err, store.ErrNotFound):
		n := 0
		err := tx.ForEach(bucketScheduled, sc.Key(g.Name+"/"), func(_ string, decode func(any) error) error {
			var o scheduledRecord
			if err := decode(&o); err != nil {
				return err
			}
			if o.Group == g.Name {
				n++
			}
			return nil
		})
		if err != nil {
			return err
		}
		if n >= maxScheduledPerGroup {
			return awserrLimit("You have reached your quota of %d scheduled actions for Auto Scaling group %s.", maxScheduledPerGroup, g.Name)
		}
		r = scheduledRecord{Group: g.Name, Name: name, ARN: arn.ARN{Partition: arn.Partition(sc.Region), Service: "autoscaling", Region: sc.Region, AccountID: sc.Account,
			Resource: "scheduledUpdateGroupAction:" + awsid.RequestID() + ":autoScalingGroupName/" + g.Name + ":scheduledActionName/" + name}.String()}
	case err != nil:
		return err
	}
	// "If you try to schedule the action in the past, Amazon EC2 Auto
	// Scaling returns an error message."
	if req.StartTime != nil && req.StartTime.Before(now) {
		return validation("Given start time is in the past")
	}
	if req.EndTime != nil && req.EndTime.Before(now) {
		return validation("Given end time is in the past")
	}
	// An update keeps what it leaves unspecified.
	if req.StartTime != nil {
		r.Start = ptr(req.StartTime.UTC())
	}
	if req.EndTime != nil {
		r.End = ptr(req.EndTime.UTC())
	}
	if req.Recurrence != nil {
		r.Recurrence = *req.Recurrence
	}
	if req.TimeZone != nil {
		r.TimeZone = *req.TimeZone
	}
	if req.MinSize != nil {
		r.Min = req.MinSize
	}
	if req.MaxSize != nil {
		r.Max = req.MaxSize
	}
	if req.DesiredCapacity != nil {
		r.Desired = req.DesiredCapacity
	}
	if r.Min == nil && r.Max == nil && r.Desired == nil {
		return validation("At least one of MinSize, MaxSize or DesiredCapacity must be specified.")
	}
	if r.Min != nil && r.Max != nil && *r.Min > *r.Max {
		return validation("Max bound, %d, must be greater than or equal to min bound, %d", *r.Max, *r.Min)
	}
	if d := r.Desired; d != nil && (r.Min != nil && *d < *r.Min || r.Max != nil && *d > *r.Max) {
		return validation("Desired capacity:%d must be between the specified min size:%s and max size:%s", *d, bound(r.Min), bound(r.Max))
	}
	if r.Start != nil && r.End != nil && r.End.Before(*r.Start) {
		return validation("Given end time is before the start time")
	}
	if _, err := parseTimeZone(r.TimeZone); err != nil {
		return err
	}
	switch {
	case r.Start != nil && r.Start.After(now):
		// With a Recurrence too, "Amazon EC2 Auto Scaling performs the
		// action at this time, and then performs the action based on the
		// specified recurrence."
		if r.Recurrence != "" {
			if _, _, err := parseRecurrence(r.Recurrence, r.TimeZone); err != nil {
				return err
			}
		}
		r.Next = *r.Start
	case r.Recurrence != "":
		next, err := r.nextRun(now)
		if err != nil {
			return err
		}
		if next.IsZero() && r.End == nil {
			return validation("Given recurrence '%s' never occurs.", r.Recurrence)
		}
		r.Next = next
	default:
		return validation("Either StartTime or Recurrence must be specified.")
	}
	return tx.Put(bucketScheduled, key, r)
}

// bound spells an optional size for a message.
func bound(p *int32) string {
	if p == nil {
		return "unset"
	}
	return fmt.Sprint(*p)
}

// DescribeScheduledActions lists the actions that are to run, of a group
// or all, by name or by when they run next.
func (s *Service) DescribeScheduledActions(ctx context.Context, in *api.DescribeScheduledActionsType) (*api.ScheduledActionsType, error) {
	sc := scopeOf(ctx)
	group := str(in.AutoScalingGroupName)
	prefix := sc.Prefix()
	if group != "" {
		prefix = sc.Key(group + "/")
	}
	var all []scheduledRecord
	err := s.st.View(func(tx store.Tx) error {
		return tx.ForEach(bucketScheduled, prefix, func(_ string, decode func(any) error) error {
			var r scheduledRecord
			if err := decode(&r); err != nil {
				return err
			}
			if group != "" && r.Group != group || r.Next.IsZero() {
				return nil
			}
			// StartTime and EndTime bound the next run, and are ignored
			// when names are given.
			if len(in.ScheduledActionNames) > 0 {
				if slices.Contains(in.ScheduledActionNames, r.Name) {
					all = append(all, r)
				}
				return nil
			}
			if in.StartTime != nil && r.Next.Before(*in.StartTime) || in.EndTime != nil && r.Next.After(*in.EndTime) {
				return nil
			}
			all = append(all, r)
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	pg, next, err := page.ByKey(all, func(r scheduledRecord) string { return r.Group + "\x00" + r.Name }, str(in.NextToken), int(deref(in.MaxRecords)), 50, 100)
	if err != nil {
		if errors.Is(err, page.ErrBadMax) {
			return nil, validation("Max records must be between 1 and 100")
		}
		return nil, badToken()
	}
	out := &api.ScheduledActionsType{ScheduledUpdateGroupActions: []api.ScheduledUpdateGroupAction{}}
	for _, r := range pg {
		out.ScheduledUpdateGroupActions = append(out.ScheduledUpdateGroupActions, r.out())
	}
	if next != "" {
		out.NextToken = &next
	}
	return out, nil
}

// out is an action as DescribeScheduledActions shows it: StartTime (and
// the deprecated Time) is when it runs next.
func (r scheduledRecord) out() api.ScheduledUpdateGroupAction {
	return api.ScheduledUpdateGroupAction{
		AutoScalingGroupName: ptr(r.Group), ScheduledActionName: ptr(r.Name), ScheduledActionARN: ptr(r.ARN),
		StartTime: ptr(r.Next), Time: ptr(r.Next), EndTime: r.End, Recurrence: optional(r.Recurrence), TimeZone: optional(r.TimeZone),
		MinSize: r.Min, MaxSize: r.Max, DesiredCapacity: r.Desired,
	}
}

// DeleteScheduledAction deletes an action of a group.
func (s *Service) DeleteScheduledAction(ctx context.Context, in *api.DeleteScheduledActionType) (*api.DeleteScheduledActionOutput, error) {
	sc := scopeOf(ctx)
	err := s.st.Update(func(tx store.Tx) error {
		g, err := loadGroup(tx, sc, str(in.AutoScalingGroupName))
		if err != nil {
			return err
		}
		return deleteScheduled(tx, sc, g.Name, str(in.ScheduledActionName))
	})
	if err != nil {
		return nil, err
	}
	s.sched.wake()
	return &api.DeleteScheduledActionOutput{}, nil
}

// BatchDeleteScheduledAction deletes up to 50 actions of a group,
// reporting each one it could not.
func (s *Service) BatchDeleteScheduledAction(ctx context.Context, in *api.BatchDeleteScheduledActionType) (*api.BatchDeleteScheduledActionAnswer, error) {
	if len(in.ScheduledActionNames) > maxScheduledBatch {
		return nil, validation("1 validation error detected: Value at 'scheduledActionNames' failed to satisfy constraint: Member must have length less than or equal to %d", maxScheduledBatch)
	}
	sc := scopeOf(ctx)
	out := &api.BatchDeleteScheduledActionAnswer{FailedScheduledActions: []api.FailedScheduledUpdateGroupActionRequest{}}
	err := s.st.Update(func(tx store.Tx) error {
		g, err := loadGroup(tx, sc, str(in.AutoScalingGroupName))
		if err != nil {
			return err
		}
		for _, name := range in.ScheduledActionNames {
			err := deleteScheduled(tx, sc, g.Name, name)
			if f, ok := failed(ptr(name), err); ok {
				out.FailedScheduledActions = append(out.FailedScheduledActions, f)
			} else if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	s.sched.wake()
	return out, nil
}

func deleteScheduled(tx store.Tx, sc scope, group, name string) error {
	key := scheduledKey(sc, group, name)
	err := tx.Get(bucketScheduled, key, &scheduledRecord{})
	if errors.Is(err, store.ErrNotFound) {
		return validation("Scheduled action name not found - Scheduled action %s not found for AutoScalingGroup %s", name, group)
	}
	if err != nil {
		return err
	}
	return tx.Delete(bucketScheduled, key)
}

// runScheduled runs the action stored at key if it is due at now: it sets
// the group's sizes, unless the ScheduledActions process is suspended (a
// run missed while suspended is not made up), then schedules the next run
// or, for a one-time action or a recurrence past its EndTime, deletes the
// action, as AWS does. It reports whether the group changed.
func (s *Service) runScheduled(sc scope, key string, now time.Time) (bool, error) {
	changed := false
	var refused error
	err := s.st.Update(func(tx store.Tx) error {
		var r scheduledRecord
		if err := tx.Get(bucketScheduled, key, &r); errors.Is(err, store.ErrNotFound) {
			return nil
		} else if err != nil {
			return err
		}
		if r.due().After(now) {
			return nil // put again meanwhile, for later
		}
		if r.Next.IsZero() {
			return tx.Delete(bucketScheduled, key)
		}
		var g groupRecord
		if err := tx.Get(bucketGroups, sc.Key(r.Group), &g); errors.Is(err, store.ErrNotFound) {
			return tx.Delete(bucketScheduled, key) // the group is gone
		} else if err != nil {
			return err
		}
		if !g.suspended("ScheduledActions") && !g.Deleting {
			changed, refused = applyScheduled(&g, r, r.Next)
			if changed {
				if err := putGroup(tx, sc, g); err != nil {
					return err
				}
			}
		}
		if r.Recurrence == "" {
			return tx.Delete(bucketScheduled, key)
		}
		// Runs missed while nephele was down or the clock jumped are one
		// run, not a burst.
		after := r.Next
		if now.After(after) {
			after = now
		}
		r.Last = r.Next
		next, err := r.nextRun(after)
		if err != nil {
			return err
		}
		if next.IsZero() {
			return tx.Delete(bucketScheduled, key)
		}
		r.Next = next
		return tx.Put(bucketScheduled, key, r)
	})
	if refused != nil {
		s.log().Warn("autoscaling: a scheduled action could not run", "key", key, "err", refused)
	}
	return changed, err
}

// applyScheduled sets a group's sizes as an action says, carrying desired
// capacity into the new bounds, and records why desired capacity changed
// in AWS's words. It reports whether anything changed, or why the action
// cannot apply (a new minimum above the maximum).
func applyScheduled(g *groupRecord, r scheduledRecord, at time.Time) (bool, error) {
	lo, hi, desired := g.Min, g.Max, g.Desired
	if r.Min != nil {
		lo = int(*r.Min)
	}
	if r.Max != nil {
		hi = int(*r.Max)
	}
	if r.Desired != nil {
		desired = int(*r.Desired)
	}
	if lo > hi {
		return false, fmt.Errorf("scheduled action %s: min %d above max %d of group %s", r.Name, lo, hi, g.Name)
	}
	desired = min(max(desired, lo), hi)
	if lo == g.Min && hi == g.Max && desired == g.Desired {
		return false, nil
	}
	if desired != g.Desired {
		g.Cause = fmt.Sprintf("At %s a scheduled action update of AutoScalingGroup constraints to min: %d, max: %d, desired: %d changing the desired capacity from %d to %d.",
			at.UTC().Format(causeTime), lo, hi, desired, g.Desired, desired)
	}
	g.Min, g.Max, g.Desired = lo, hi, desired
	return true, nil
}

// scheduler is the controller that runs scheduled actions: one goroutine
// that sleeps on the clock until the earliest due action of any group, or
// until an API call changes the actions.
type scheduler struct {
	s      *Service
	wakeCh chan struct{}
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

func newScheduler(s *Service) *scheduler {
	ctx, cancel := context.WithCancel(context.Background())
	return &scheduler{s: s, wakeCh: make(chan struct{}, 1), ctx: ctx, cancel: cancel}
}

func (c *scheduler) start() {
	c.wg.Add(1)
	go c.run()
}

func (c *scheduler) stop() {
	c.cancel()
	c.wg.Wait()
}

// wake asks the scheduler to look at the actions again.
func (c *scheduler) wake() {
	select {
	case c.wakeCh <- struct{}{}:
	default:
	}
}

func (c *scheduler) run() {
	defer c.wg.Done()
	clk := c.s.clk
	for {
		next := c.pass()
		var t clock.Timer
		var fire <-chan time.Time
		if !next.IsZero() {
			t = clk.NewTimer(next.Sub(clk.Now()))
			fire = t.C()
		}
		select {
		case <-c.ctx.Done():
		case <-fire:
		case <-c.wakeCh:
		}
		if t != nil {
			t.Stop()
		}
		if c.ctx.Err() != nil {
			return
		}
	}
}

// pass runs every action due now and returns when the next one is due
// (zero when there is none).
func (c *scheduler) pass() time.Time {
	now := c.s.clk.Now()
	due, next, err := c.scan(now)
	if err != nil {
		c.s.log().Error("autoscaling: listing scheduled actions", "err", err)
		return now.Add(reconcileEvery)
	}
	if len(due) == 0 {
		return next
	}
	woke := false
	for _, d := range due {
		if c.ctx.Err() != nil {
			return time.Time{}
		}
		changed, err := c.s.runScheduled(d.sc, d.key, now)
		if err != nil {
			c.s.log().Error("autoscaling: running a scheduled action", "key", d.key, "err", err)
		}
		woke = woke || changed
	}
	if woke {
		c.s.rec.wake()
	}
	// The runs moved the actions' next runs; one that failed is tried
	// again a little later.
	still, next, err := c.scan(now)
	if err != nil || len(still) > 0 {
		retry := now.Add(reconcileEvery)
		if next.IsZero() || retry.Before(next) {
			next = retry
		}
	}
	return next
}

// dueAction is an action to run, by its key.
type dueAction struct {
	sc  scope
	key string
}

// scan lists the actions due at now, and when the earliest of the others
// is due.
func (c *scheduler) scan(now time.Time) (due []dueAction, next time.Time, err error) {
	err = c.s.st.View(func(tx store.Tx) error {
		return tx.ForEach(bucketScheduled, "", func(key string, decode func(any) error) error {
			var r scheduledRecord
			if err := decode(&r); err != nil {
				return err
			}
			parts := strings.SplitN(key, "/", 3)
			if len(parts) != 3 {
				return nil
			}
			switch at := r.due(); {
			case at.IsZero():
			case !at.After(now):
				due = append(due, dueAction{scope{Account: parts[0], Region: parts[1]}, key})
			case next.IsZero() || at.Before(next):
				next = at
			}
			return nil
		})
	})
	return due, next, err
}
