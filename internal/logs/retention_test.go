package logs_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	api "github.com/nephele-dev/nephele/internal/api/logs"
)

func TestPutRetentionPolicy(t *testing.T) {
	f := newFixture(t)
	f.createGroup("g")
	must(f.svc.PutRetentionPolicy(f.ctx, &api.PutRetentionPolicyInput{LogGroupName: s("g"), RetentionInDays: i32(7)}))
	if g := must(f.svc.DescribeLogGroups(f.ctx, &api.DescribeLogGroupsInput{})).LogGroups[0]; g.RetentionInDays == nil || *g.RetentionInDays != 7 {
		t.Errorf("retention = %v", g.RetentionInDays)
	}
	must(f.svc.DeleteRetentionPolicy(f.ctx, &api.DeleteRetentionPolicyInput{LogGroupName: s("g")}))
	if g := must(f.svc.DescribeLogGroups(f.ctx, &api.DescribeLogGroupsInput{})).LogGroups[0]; g.RetentionInDays != nil {
		t.Errorf("retention after delete = %v", *g.RetentionInDays)
	}

	err := second(f.svc.PutRetentionPolicy(f.ctx, &api.PutRetentionPolicyInput{LogGroupName: s("g"), RetentionInDays: i32(2)}))
	if code(err) != "InvalidParameterException" || !strings.HasPrefix(message(err),
		"1 validation error detected: Value '2' at 'retentionInDays' failed to satisfy constraint: Member must satisfy enum value set: [1, 3, 5, 7, 14, 30,") {
		t.Errorf("bad value: %v", err)
	}
	err = second(f.svc.PutRetentionPolicy(f.ctx, &api.PutRetentionPolicyInput{LogGroupName: s("nope"), RetentionInDays: i32(1)}))
	if code(err) != "ResourceNotFoundException" {
		t.Errorf("missing group: %v", err)
	}
	err = second(f.svc.DeleteRetentionPolicy(f.ctx, &api.DeleteRetentionPolicyInput{LogGroupName: s("nope")}))
	if code(err) != "ResourceNotFoundException" {
		t.Errorf("missing group: %v", err)
	}
}

// TestRetentionExpiresEventsOnTheClock: once an event is older than the
// group's retention it is gone from every read, at once, without waiting
// for the controller.
func TestRetentionExpiresEventsOnTheClock(t *testing.T) {
	f := newFixture(t)
	f.createGroup("g")
	f.createStream("g", "s")
	f.put("g", "s", start.Add(-2*time.Hour), "older")
	f.put("g", "s", start.Add(-time.Hour), "newer")
	must(f.svc.PutRetentionPolicy(f.ctx, &api.PutRetentionPolicyInput{LogGroupName: s("g"), RetentionInDays: i32(1)}))
	read := func() ([]string, []string) {
		got := must(f.svc.GetLogEvents(f.ctx, &api.GetLogEventsInput{LogGroupName: s("g"), LogStreamName: s("s"), StartFromHead: yes()}))
		flt := must(f.svc.FilterLogEvents(f.ctx, &api.FilterLogEventsInput{LogGroupName: s("g")}))
		return messages(got.Events), filtered(flt.Events)
	}
	tests := []struct {
		advance time.Duration
		want    []string
	}{
		{0, []string{"older", "newer"}},
		{22 * time.Hour, []string{"older", "newer"}},
		{time.Millisecond, []string{"newer"}},
		{time.Hour, []string{}},
	}
	for _, tt := range tests {
		f.clk.Advance(tt.advance)
		got, flt := read()
		if !slices.Equal(got, tt.want) || !slices.Equal(flt, tt.want) {
			t.Errorf("at %s: GetLogEvents %q, FilterLogEvents %q, want %q", f.clk.Now().Sub(start), got, flt, tt.want)
		}
	}
}
