package autoscaling

import (
	"context"
	"errors"
	"regexp"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	api "github.com/nephele-dev/nephele/internal/api/autoscaling"
	"github.com/nephele-dev/nephele/internal/awserr"
	"github.com/nephele-dev/nephele/internal/clock"
	"github.com/nephele-dev/nephele/internal/store"
)

func at(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

func TestNextRun(t *testing.T) {
	tests := []struct {
		name string
		r    scheduledRecord
		// after is the time to look after; want "" is no run left.
		after, want string
	}{
		{"UTC when no time zone", scheduledRecord{Recurrence: "0 9 * * *"},
			"2026-03-07T10:00:00Z", "2026-03-08T09:00:00Z"},
		{"9am New York is 14:00Z before spring-forward", scheduledRecord{Recurrence: "0 9 * * *", TimeZone: "America/New_York"},
			"2026-03-06T15:00:00Z", "2026-03-07T14:00:00Z"},
		{"9am New York is 13:00Z across spring-forward", scheduledRecord{Recurrence: "0 9 * * *", TimeZone: "America/New_York", Last: at("2026-03-07T14:00:00Z")},
			"2026-03-07T14:00:00Z", "2026-03-08T13:00:00Z"},
		{"9am New York is 14:00Z again across fall-back", scheduledRecord{Recurrence: "0 9 * * *", TimeZone: "America/New_York"},
			"2026-10-31T13:00:00Z", "2026-11-01T14:00:00Z"},
		{"01:30 repeated by fall-back runs once", scheduledRecord{Recurrence: "30 1 * * *", TimeZone: "America/New_York", Last: at("2026-11-01T05:30:00Z")},
			"2026-11-01T05:30:00Z", "2026-11-02T06:30:00Z"},
		{"02:30 skipped by spring-forward waits a day", scheduledRecord{Recurrence: "30 2 * * *", TimeZone: "America/New_York"},
			"2026-03-07T07:30:00Z", "2026-03-09T06:30:00Z"},
		{"9am Paris in winter", scheduledRecord{Recurrence: "0 9 * * *", TimeZone: "Europe/Paris"},
			"2026-01-10T12:00:00Z", "2026-01-11T08:00:00Z"},
		{"weekdays only", scheduledRecord{Recurrence: "0 18 * * MON-FRI"},
			"2026-01-09T18:00:00Z", "2026-01-12T18:00:00Z"}, // Friday to Monday
		{"not before StartTime", scheduledRecord{Recurrence: "0 9 * * *", Start: ptr(at("2026-05-01T12:00:00Z"))},
			"2026-01-01T00:00:00Z", "2026-05-02T09:00:00Z"},
		{"not after EndTime", scheduledRecord{Recurrence: "0 9 * * *", End: ptr(at("2026-05-01T08:59:00Z"))},
			"2026-04-30T09:00:00Z", ""},
		{"at EndTime", scheduledRecord{Recurrence: "0 9 * * *", End: ptr(at("2026-05-01T09:00:00Z"))},
			"2026-04-30T09:00:00Z", "2026-05-01T09:00:00Z"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.r.nextRun(at(tt.after))
			if err != nil {
				t.Fatal(err)
			}
			want := time.Time{}
			if tt.want != "" {
				want = at(tt.want)
			}
			if !got.Equal(want) {
				t.Errorf("nextRun(%s) = %s, want %s", tt.after, got, want)
			}
		})
	}
}

func TestParseRecurrence(t *testing.T) {
	for _, ok := range []string{"30 0 1 1,6,12 *", "*/5 9-17 * * MON-FRI", "0 9 * * *", "0 0 * * 0"} {
		if _, _, err := parseRecurrence(ok, ""); err != nil {
			t.Errorf("%q refused: %v", ok, err)
		}
	}
	for _, bad := range []string{"", "* * *", "0 9 * * * *", "@daily", "CRON_TZ=UTC 0 9 * * *", "TZ=UTC 0 9 * * *", "61 * * * *", "0 25 * * *", "every day"} {
		if _, _, err := parseRecurrence(bad, ""); !isValidation(err) {
			t.Errorf("%q: err = %v, want ValidationError", bad, err)
		}
	}
	for _, bad := range []string{"Mars/Olympus", "Local", "utc+1"} {
		if _, _, err := parseRecurrence("0 9 * * *", bad); !isValidation(err) {
			t.Errorf("time zone %q: err = %v, want ValidationError", bad, err)
		}
	}
}

func isValidation(err error) bool {
	var e *awserr.Error
	return errors.As(err, &e) && e.Code == "ValidationError"
}

// schedEnv is a service with one group, web (min 1, max 5, desired 2), and
// its scheduler running on a fake clock; no reconciler runs.
type schedEnv struct {
	s   *Service
	clk *clock.Fake
	ctx context.Context
	sc  scope
}

var schedStart = at("2026-11-23T10:00:00Z")

func newSchedEnv(t *testing.T) *schedEnv {
	t.Helper()
	clk := clock.NewFake(schedStart)
	s := New(store.NewMemory(), clk, Options{})
	e := &schedEnv{s: s, clk: clk, ctx: context.Background()}
	e.sc = scopeOf(e.ctx)
	err := s.st.Update(func(tx store.Tx) error {
		return putGroup(tx, e.sc, groupRecord{Name: "web", ARN: "arn:aws:autoscaling:us-east-1:000000000000:autoScalingGroup:x:autoScalingGroupName/web", Min: 1, Max: 5, Desired: 2})
	})
	if err != nil {
		t.Fatal(err)
	}
	s.sched.start()
	t.Cleanup(s.sched.stop)
	return e
}

func (e *schedEnv) group(t *testing.T) groupRecord {
	t.Helper()
	var g groupRecord
	if err := e.s.st.View(func(tx store.Tx) error { var err error; g, err = loadGroup(tx, e.sc, "web"); return err }); err != nil {
		t.Fatal(err)
	}
	return g
}

func (e *schedEnv) put(t *testing.T, in api.PutScheduledUpdateGroupActionType) {
	t.Helper()
	in.AutoScalingGroupName = ptr("web")
	if _, err := e.s.PutScheduledUpdateGroupAction(e.ctx, &in); err != nil {
		t.Fatalf("PutScheduledUpdateGroupAction: %v", err)
	}
}

func (e *schedEnv) actions(t *testing.T) []api.ScheduledUpdateGroupAction {
	t.Helper()
	out, err := e.s.DescribeScheduledActions(e.ctx, &api.DescribeScheduledActionsType{AutoScalingGroupName: ptr("web")})
	if err != nil {
		t.Fatal(err)
	}
	return out.ScheduledUpdateGroupActions
}

// advance moves the fake clock and waits for the scheduler to be idle.
func (e *schedEnv) advance(d time.Duration) {
	synctest.Wait()
	e.clk.Advance(d)
	synctest.Wait()
}

func sizes(g groupRecord) [3]int { return [3]int{g.Min, g.Max, g.Desired} }

func TestScheduledActionOneTime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newSchedEnv(t)
		e.put(t, api.PutScheduledUpdateGroupActionType{ScheduledActionName: ptr("noon"), StartTime: ptr(at("2026-11-23T12:00:00Z")), DesiredCapacity: ptr(int32(3))})
		acts := e.actions(t)
		if len(acts) != 1 {
			t.Fatalf("actions = %+v", acts)
		}
		a := acts[0]
		if !regexp.MustCompile(`^arn:aws:autoscaling:us-east-1:\d{12}:scheduledUpdateGroupAction:[0-9a-f-]{36}:autoScalingGroupName/web:scheduledActionName/noon$`).MatchString(str(a.ScheduledActionARN)) {
			t.Errorf("ARN = %s", str(a.ScheduledActionARN))
		}
		if !a.StartTime.Equal(at("2026-11-23T12:00:00Z")) || !a.Time.Equal(*a.StartTime) || a.Recurrence != nil {
			t.Errorf("action = %+v", a)
		}
		e.advance(2*time.Hour - time.Second)
		if got := sizes(e.group(t)); got != [3]int{1, 5, 2} {
			t.Fatalf("a second early: sizes %v", got)
		}
		e.advance(time.Second)
		g := e.group(t)
		if got := sizes(g); got != [3]int{1, 5, 3} {
			t.Errorf("sizes %v, want desired 3", got)
		}
		if want := "At 2026-11-23T12:00:00Z a scheduled action update of AutoScalingGroup constraints to min: 1, max: 5, desired: 3 changing the desired capacity from 2 to 3."; g.Cause != want {
			t.Errorf("Cause = %q\nwant    %q", g.Cause, want)
		}
		if acts := e.actions(t); len(acts) != 0 {
			t.Errorf("a one-time action is deleted once run; left %+v", acts)
		}
	})
}

func TestScheduledActionRecurring(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newSchedEnv(t)
		// 09:00 in New York, daily, ending before the third run.
		e.put(t, api.PutScheduledUpdateGroupActionType{ScheduledActionName: ptr("morning"), Recurrence: ptr("0 9 * * *"),
			TimeZone: ptr("America/New_York"), EndTime: ptr(at("2026-11-25T13:00:00Z")), MinSize: ptr(int32(2)), MaxSize: ptr(int32(8))})
		a := e.actions(t)[0]
		if !a.StartTime.Equal(at("2026-11-23T14:00:00Z")) || str(a.TimeZone) != "America/New_York" || str(a.Recurrence) != "0 9 * * *" {
			t.Fatalf("action = %+v", a)
		}
		e.advance(4 * time.Hour)
		g := e.group(t)
		if got := sizes(g); got != [3]int{2, 8, 2} {
			t.Errorf("after the first run: sizes %v", got)
		}
		if g.Cause != "" {
			t.Errorf("desired capacity did not change, yet Cause = %q", g.Cause)
		}
		if a := e.actions(t)[0]; !a.StartTime.Equal(at("2026-11-24T14:00:00Z")) {
			t.Errorf("next run %s, want the next 09:00 New York", a.StartTime)
		}
		// Someone lowers the group; the next run puts min 2 back and
		// desired follows.
		if err := e.s.st.Update(func(tx store.Tx) error {
			g, err := loadGroup(tx, e.sc, "web")
			if err != nil {
				return err
			}
			g.Min, g.Desired = 0, 0
			return putGroup(tx, e.sc, g)
		}); err != nil {
			t.Fatal(err)
		}
		e.advance(24 * time.Hour)
		g = e.group(t)
		if got := sizes(g); got != [3]int{2, 8, 2} {
			t.Errorf("after the second run: sizes %v", got)
		}
		if want := "At 2026-11-24T14:00:00Z a scheduled action update of AutoScalingGroup constraints to min: 2, max: 8, desired: 2 changing the desired capacity from 0 to 2."; g.Cause != want {
			t.Errorf("Cause = %q", g.Cause)
		}
		if acts := e.actions(t); len(acts) != 0 {
			t.Errorf("no run is left before EndTime, so the action goes; left %+v", acts)
		}
	})
}

func TestScheduledActionSuspended(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newSchedEnv(t)
		if _, err := e.s.SuspendProcesses(e.ctx, &api.ScalingProcessQuery{AutoScalingGroupName: ptr("web"), ScalingProcesses: []string{"ScheduledActions"}}); err != nil {
			t.Fatal(err)
		}
		e.put(t, api.PutScheduledUpdateGroupActionType{ScheduledActionName: ptr("hourly"), Recurrence: ptr("0 * * * *"), DesiredCapacity: ptr(int32(4))})
		e.advance(time.Hour)
		if got := sizes(e.group(t)); got != [3]int{1, 5, 2} {
			t.Errorf("suspended, yet sizes %v", got)
		}
		if a := e.actions(t)[0]; !a.StartTime.Equal(at("2026-11-23T12:00:00Z")) {
			t.Errorf("the run missed while suspended is skipped; next %s", a.StartTime)
		}
		if _, err := e.s.ResumeProcesses(e.ctx, &api.ScalingProcessQuery{AutoScalingGroupName: ptr("web"), ScalingProcesses: []string{"ScheduledActions"}}); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		if got := sizes(e.group(t)); got != [3]int{1, 5, 2} {
			t.Errorf("resuming does not make up a missed run; sizes %v", got)
		}
		e.advance(time.Hour)
		if got := sizes(e.group(t)); got != [3]int{1, 5, 4} {
			t.Errorf("resumed: sizes %v", got)
		}
	})
}

func TestScheduledActionClampsDesired(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newSchedEnv(t)
		e.put(t, api.PutScheduledUpdateGroupActionType{ScheduledActionName: ptr("floor"), StartTime: ptr(at("2026-11-23T11:00:00Z")), MinSize: ptr(int32(4))})
		e.put(t, api.PutScheduledUpdateGroupActionType{ScheduledActionName: ptr("ceiling"), StartTime: ptr(at("2026-11-23T12:00:00Z")), MinSize: ptr(int32(0)), MaxSize: ptr(int32(1))})
		e.advance(time.Hour)
		if got := sizes(e.group(t)); got != [3]int{4, 5, 4} {
			t.Errorf("a new minimum carries desired up: sizes %v", got)
		}
		e.advance(time.Hour)
		g := e.group(t)
		if got := sizes(g); got != [3]int{0, 1, 1} {
			t.Errorf("a new maximum carries desired down: sizes %v", got)
		}
		if !strings.Contains(g.Cause, "constraints to min: 0, max: 1, desired: 1 changing the desired capacity from 4 to 1.") {
			t.Errorf("Cause = %q", g.Cause)
		}
	})
}

// TestScheduledActionMissedRunsCoalesce: a clock that jumps over several
// runs makes one run, then waits for the next.
func TestScheduledActionMissedRunsCoalesce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newSchedEnv(t)
		e.put(t, api.PutScheduledUpdateGroupActionType{ScheduledActionName: ptr("quarter"), Recurrence: ptr("*/15 * * * *"), DesiredCapacity: ptr(int32(3))})
		e.advance(3 * time.Hour)
		if got := sizes(e.group(t)); got != [3]int{1, 5, 3} {
			t.Errorf("sizes %v", got)
		}
		if a := e.actions(t)[0]; !a.StartTime.Equal(at("2026-11-23T13:15:00Z")) {
			t.Errorf("next run %s", a.StartTime)
		}
	})
}

func TestScheduledActionDeletedWithGroup(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newSchedEnv(t)
		e.put(t, api.PutScheduledUpdateGroupActionType{ScheduledActionName: ptr("a"), Recurrence: ptr("0 9 * * *"), DesiredCapacity: ptr(int32(3))})
		if _, err := e.s.DeleteAutoScalingGroup(e.ctx, &api.DeleteAutoScalingGroupType{AutoScalingGroupName: ptr("web")}); err != nil {
			t.Fatal(err)
		}
		out, err := e.s.DescribeScheduledActions(e.ctx, &api.DescribeScheduledActionsType{})
		if err != nil || len(out.ScheduledUpdateGroupActions) != 0 {
			t.Errorf("actions of a deleted group: %+v, %v", out, err)
		}
	})
}

func TestPutScheduledUpdateGroupActionRules(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newSchedEnv(t)
		future := ptr(at("2026-11-24T00:00:00Z"))
		tests := []struct {
			name string
			in   api.PutScheduledUpdateGroupActionType
			want string
		}{
			{"start in the past", api.PutScheduledUpdateGroupActionType{StartTime: ptr(at("2026-11-23T09:59:59Z")), DesiredCapacity: ptr(int32(1))}, "Given start time is in the past"},
			{"deprecated Time in the past", api.PutScheduledUpdateGroupActionType{Time: ptr(at("2026-11-23T09:00:00Z")), DesiredCapacity: ptr(int32(1))}, "Given start time is in the past"},
			{"bad recurrence", api.PutScheduledUpdateGroupActionType{Recurrence: ptr("0 9 * *"), DesiredCapacity: ptr(int32(1))}, "is not a valid Unix cron expression"},
			{"bad recurrence with a StartTime", api.PutScheduledUpdateGroupActionType{StartTime: future, Recurrence: ptr("nope"), DesiredCapacity: ptr(int32(1))}, "is not a valid Unix cron expression"},
			{"bad time zone", api.PutScheduledUpdateGroupActionType{Recurrence: ptr("0 9 * * *"), TimeZone: ptr("Europe/Atlantis"), DesiredCapacity: ptr(int32(1))}, "Invalid time zone"},
			{"end before start", api.PutScheduledUpdateGroupActionType{StartTime: future, EndTime: ptr(at("2026-11-23T23:00:00Z")), Recurrence: ptr("0 9 * * *"), DesiredCapacity: ptr(int32(1))}, "Given end time is before the start time"},
			{"no size", api.PutScheduledUpdateGroupActionType{StartTime: future}, "At least one of MinSize, MaxSize or DesiredCapacity"},
			{"min above max", api.PutScheduledUpdateGroupActionType{StartTime: future, MinSize: ptr(int32(3)), MaxSize: ptr(int32(2))}, "Max bound, 2, must be greater than or equal to min bound, 3"},
			{"desired above max", api.PutScheduledUpdateGroupActionType{StartTime: future, MaxSize: ptr(int32(2)), DesiredCapacity: ptr(int32(3))}, "Desired capacity:3 must be between"},
			{"no time at all", api.PutScheduledUpdateGroupActionType{DesiredCapacity: ptr(int32(1))}, "Either StartTime or Recurrence"},
			{"never occurs", api.PutScheduledUpdateGroupActionType{Recurrence: ptr("0 0 30 2 *"), DesiredCapacity: ptr(int32(1))}, "never occurs"},
		}
		for _, tt := range tests {
			tt.in.AutoScalingGroupName, tt.in.ScheduledActionName = ptr("web"), ptr("x")
			_, err := e.s.PutScheduledUpdateGroupAction(e.ctx, &tt.in)
			if !isValidation(err) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("%s: err = %v, want ValidationError %q", tt.name, err, tt.want)
			}
		}
		if acts := e.actions(t); len(acts) != 0 {
			t.Errorf("refused actions were stored: %+v", acts)
		}
		_, err := e.s.PutScheduledUpdateGroupAction(e.ctx, &api.PutScheduledUpdateGroupActionType{AutoScalingGroupName: ptr("nope"), ScheduledActionName: ptr("x"), StartTime: future, DesiredCapacity: ptr(int32(1))})
		if !isValidation(err) || !strings.Contains(err.Error(), "AutoScalingGroup name not found") {
			t.Errorf("unknown group: %v", err)
		}

		// An update keeps what it leaves out, and the ARN.
		e.put(t, api.PutScheduledUpdateGroupActionType{ScheduledActionName: ptr("x"), Recurrence: ptr("0 9 * * *"), MinSize: ptr(int32(1)), DesiredCapacity: ptr(int32(2))})
		before := e.actions(t)[0]
		e.put(t, api.PutScheduledUpdateGroupActionType{ScheduledActionName: ptr("x"), DesiredCapacity: ptr(int32(4))})
		after := e.actions(t)[0]
		if str(after.ScheduledActionARN) != str(before.ScheduledActionARN) || str(after.Recurrence) != "0 9 * * *" || deref(after.MinSize) != 1 || deref(after.DesiredCapacity) != 4 {
			t.Errorf("updated action = %+v", after)
		}
	})
}

func TestBatchScheduledActions(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newSchedEnv(t)
		out, err := e.s.BatchPutScheduledUpdateGroupAction(e.ctx, &api.BatchPutScheduledUpdateGroupActionType{AutoScalingGroupName: ptr("web"),
			ScheduledUpdateGroupActions: []api.ScheduledUpdateGroupActionRequest{
				{ScheduledActionName: ptr("up"), Recurrence: ptr("0 8 * * MON-FRI"), DesiredCapacity: ptr(int32(4))},
				{ScheduledActionName: ptr("bad"), Recurrence: ptr("0 8 * *"), DesiredCapacity: ptr(int32(4))},
				{ScheduledActionName: ptr("down"), Recurrence: ptr("0 20 * * MON-FRI"), DesiredCapacity: ptr(int32(1))},
			}})
		if err != nil {
			t.Fatal(err)
		}
		if f := out.FailedScheduledUpdateGroupActions; len(f) != 1 || str(f[0].ScheduledActionName) != "bad" || str(f[0].ErrorCode) != "ValidationError" || str(f[0].ErrorMessage) == "" {
			t.Errorf("failed = %+v", f)
		}
		acts := e.actions(t)
		if len(acts) != 2 || str(acts[0].ScheduledActionName) != "down" || str(acts[1].ScheduledActionName) != "up" {
			t.Fatalf("actions = %+v", acts)
		}
		// Window on the next run: only "down" (20:00 today) before 12:00
		// tomorrow; paging one at a time.
		win, err := e.s.DescribeScheduledActions(e.ctx, &api.DescribeScheduledActionsType{StartTime: ptr(at("2026-11-23T19:00:00Z")), EndTime: ptr(at("2026-11-24T07:00:00Z"))})
		if err != nil || len(win.ScheduledUpdateGroupActions) != 1 || str(win.ScheduledUpdateGroupActions[0].ScheduledActionName) != "down" {
			t.Errorf("window: %+v, %v", win, err)
		}
		p1, err := e.s.DescribeScheduledActions(e.ctx, &api.DescribeScheduledActionsType{MaxRecords: ptr(int32(1))})
		if err != nil || len(p1.ScheduledUpdateGroupActions) != 1 || p1.NextToken == nil {
			t.Fatalf("page 1: %+v, %v", p1, err)
		}
		p2, err := e.s.DescribeScheduledActions(e.ctx, &api.DescribeScheduledActionsType{MaxRecords: ptr(int32(1)), NextToken: p1.NextToken})
		if err != nil || len(p2.ScheduledUpdateGroupActions) != 1 || p2.NextToken != nil || str(p2.ScheduledUpdateGroupActions[0].ScheduledActionName) != "up" {
			t.Errorf("page 2: %+v, %v", p2, err)
		}
		del, err := e.s.BatchDeleteScheduledAction(e.ctx, &api.BatchDeleteScheduledActionType{AutoScalingGroupName: ptr("web"), ScheduledActionNames: []string{"up", "ghost"}})
		if err != nil || len(del.FailedScheduledActions) != 1 || str(del.FailedScheduledActions[0].ScheduledActionName) != "ghost" {
			t.Errorf("batch delete: %+v, %v", del, err)
		}
		if _, err := e.s.DeleteScheduledAction(e.ctx, &api.DeleteScheduledActionType{AutoScalingGroupName: ptr("web"), ScheduledActionName: ptr("down")}); err != nil {
			t.Fatal(err)
		}
		if _, err := e.s.DeleteScheduledAction(e.ctx, &api.DeleteScheduledActionType{AutoScalingGroupName: ptr("web"), ScheduledActionName: ptr("down")}); !isValidation(err) {
			t.Errorf("deleting twice: %v", err)
		}
		if acts := e.actions(t); len(acts) != 0 {
			t.Errorf("left %+v", acts)
		}
	})
}
