package logs_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	api "github.com/nephele-dev/nephele/internal/api/logs"
	"github.com/nephele-dev/nephele/internal/logs"
)

func TestPutLogEventsBatchRules(t *testing.T) {
	now := ms(start)
	ev := func(at int64, m string) api.InputLogEvent {
		return api.InputLogEvent{Timestamp: i64(at), Message: s(m)}
	}
	day := int64(24 * time.Hour / time.Millisecond)
	hour := int64(time.Hour / time.Millisecond)
	tests := []struct {
		name string
		evs  []api.InputLogEvent
		code string
		msg  string
	}{
		{"out_of_order", []api.InputLogEvent{ev(now, "b"), ev(now-1, "a")},
			"InvalidParameterException", "Log events in a single PutLogEvents request must be in chronological order."},
		{"too_large", []api.InputLogEvent{ev(now, strings.Repeat("x", 1_048_576-26)), ev(now, "y")},
			"InvalidParameterException", "Upload too large: 1048603 bytes exceeds limit of 1048576"},
		{"spans_more_than_a_day", []api.InputLogEvent{ev(now-day-1, "old"), ev(now, "new")},
			"InvalidParameterException", "The batch of log events in a single PutLogEvents request cannot span more than 24 hours."},
		{"span_counts_only_accepted_events", []api.InputLogEvent{ev(now-20*day, "too old"), ev(now-hour, "ok"), ev(now+3*hour, "too new")}, "", ""},
		{"exactly_the_size_limit", []api.InputLogEvent{ev(now, strings.Repeat("x", 1_048_576-53)), ev(now, "y")}, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			f.createGroup("g")
			f.createStream("g", "s")
			_, err := f.svc.PutLogEvents(f.ctx, &api.PutLogEventsInput{LogGroupName: s("g"), LogStreamName: s("s"), LogEvents: tt.evs})
			if code(err) != tt.code || message(err) != tt.msg {
				t.Errorf("err = %v, want %s %q", err, tt.code, tt.msg)
			}
		})
	}
}

func TestPutLogEventsRejectsOldAndNewEvents(t *testing.T) {
	now := ms(start)
	day := int64(24 * time.Hour / time.Millisecond)
	hour := int64(time.Hour / time.Millisecond)
	f := newFixture(t)
	f.createGroup("g")
	f.createStream("g", "s")
	must(f.svc.PutRetentionPolicy(f.ctx, &api.PutRetentionPolicyInput{LogGroupName: s("g"), RetentionInDays: i32(1)}))
	stamps := []int64{now - 15*day, now - 14*day - 1, now - 5*day, now - day - 1, now - 20*hour, now - hour, now + 2*hour, now + 2*hour + 1, now + 3*hour}
	var evs []api.InputLogEvent
	for i, at := range stamps {
		evs = append(evs, api.InputLogEvent{Timestamp: i64(at), Message: s(fmt.Sprint(i))})
	}
	out := must(f.svc.PutLogEvents(f.ctx, &api.PutLogEventsInput{LogGroupName: s("g"), LogStreamName: s("s"), LogEvents: evs, SequenceToken: s("ignored")}))
	r := out.RejectedLogEventsInfo
	if r == nil || *r.TooOldLogEventEndIndex != 1 || *r.ExpiredLogEventEndIndex != 3 || *r.TooNewLogEventStartIndex != 7 {
		t.Fatalf("rejected = %+v", r)
	}
	got := must(f.svc.GetLogEvents(f.ctx, &api.GetLogEventsInput{LogGroupName: s("g"), LogStreamName: s("s"), StartFromHead: yes()}))
	if want := []string{"4", "5", "6"}; !slices.Equal(messages(got.Events), want) {
		t.Errorf("stored %q, want %q", messages(got.Events), want)
	}

	// A clean batch reports nothing rejected and a new sequence token.
	out2 := f.put("g", "s", start, "fine")
	if out2.RejectedLogEventsInfo != nil || out2.NextSequenceToken == nil || *out2.NextSequenceToken == *out.NextSequenceToken || len(*out2.NextSequenceToken) != 56 {
		t.Errorf("second put = %+v", out2)
	}
}

func TestPutLogEventsMissing(t *testing.T) {
	f := newFixture(t)
	f.createGroup("g")
	evs := []api.InputLogEvent{{Timestamp: i64(ms(start)), Message: s("x")}}
	err := second(f.svc.PutLogEvents(f.ctx, &api.PutLogEventsInput{LogGroupName: s("nope"), LogStreamName: s("s"), LogEvents: evs}))
	if message(err) != "The specified log group does not exist." {
		t.Errorf("missing group: %v", err)
	}
	err = second(f.svc.PutLogEvents(f.ctx, &api.PutLogEventsInput{LogGroupName: s("g"), LogStreamName: s("s"), LogEvents: evs}))
	if code(err) != "ResourceNotFoundException" || message(err) != "The specified log stream does not exist." {
		t.Errorf("missing stream: %v", err)
	}
}

func TestGetLogEventsOrderAndRange(t *testing.T) {
	f := newFixture(t)
	f.createGroup("g")
	f.createStream("g", "s")
	// Batches need not arrive in timestamp order; reads are sorted.
	f.put("g", "s", start.Add(-time.Minute), "m1", "m2")
	f.put("g", "s", start.Add(-3*time.Minute), "m0")
	f.put("g", "s", start.Add(-2*time.Minute), "m0b")
	get := func(in *api.GetLogEventsInput) []string {
		in.LogGroupName, in.LogStreamName = s("g"), s("s")
		return messages(must(f.svc.GetLogEvents(f.ctx, in)).Events)
	}
	tests := []struct {
		name string
		in   *api.GetLogEventsInput
		want []string
	}{
		{"from_head", &api.GetLogEventsInput{StartFromHead: yes()}, []string{"m0", "m0b", "m1", "m2"}},
		{"from_tail_takes_the_newest", &api.GetLogEventsInput{Limit: i32(2)}, []string{"m1", "m2"}},
		{"from_head_limited", &api.GetLogEventsInput{StartFromHead: yes(), Limit: i32(1)}, []string{"m0"}},
		{"start_inclusive_end_exclusive", &api.GetLogEventsInput{StartTime: i64(ms(start.Add(-2 * time.Minute))), EndTime: i64(ms(start.Add(-time.Minute)) + 1), StartFromHead: yes()}, []string{"m0b", "m1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := get(tt.in); !slices.Equal(got, tt.want) {
				t.Errorf("events = %q, want %q", got, tt.want)
			}
		})
	}
	e := must(f.svc.GetLogEvents(f.ctx, &api.GetLogEventsInput{LogGroupName: s("g"), LogStreamName: s("s"), StartFromHead: yes(), Limit: i32(1)})).Events[0]
	if *e.Timestamp != ms(start.Add(-3*time.Minute)) || *e.IngestionTime != ms(start) {
		t.Errorf("event = %d %d", *e.Timestamp, *e.IngestionTime)
	}
}

func TestGetLogEventsTokens(t *testing.T) {
	f := newFixture(t)
	f.createGroup("g")
	f.createStream("g", "s")
	var all []string
	for i := range 7 {
		all = append(all, fmt.Sprintf("e%d", i))
	}
	f.put("g", "s", start.Add(-time.Hour), all...)
	get := func(token *string, head bool) *api.GetLogEventsOutput {
		in := &api.GetLogEventsInput{LogGroupName: s("g"), LogStreamName: s("s"), Limit: i32(3), NextToken: token}
		if head {
			in.StartFromHead = yes()
		}
		return must(f.svc.GetLogEvents(f.ctx, in))
	}

	// Forward from the head in pages of 3, until the token comes back.
	var got []string
	out := get(nil, true)
	for range 10 {
		got = append(got, messages(out.Events)...)
		if !strings.HasPrefix(*out.NextForwardToken, "f/") || !strings.HasPrefix(*out.NextBackwardToken, "b/") || len(*out.NextForwardToken) != 58 {
			t.Fatalf("tokens %s %s", *out.NextForwardToken, *out.NextBackwardToken)
		}
		next := get(out.NextForwardToken, true)
		if *next.NextForwardToken == *out.NextForwardToken {
			if len(next.Events) != 0 {
				t.Fatalf("same token with events %q", messages(next.Events))
			}
			break
		}
		out = next
	}
	if !slices.Equal(got, all) {
		t.Errorf("forward walk = %q", got)
	}

	// New events appear behind the end token.
	end := out.NextForwardToken
	f.put("g", "s", start, "late")
	if more := get(end, true); !slices.Equal(messages(more.Events), []string{"late"}) {
		t.Errorf("after end: %q", messages(more.Events))
	}

	// Backward from the tail, until the token comes back.
	got = nil
	out = get(nil, false)
	for range 10 {
		got = append(messages(out.Events), got...)
		prev := get(out.NextBackwardToken, false)
		if *prev.NextBackwardToken == *out.NextBackwardToken {
			break
		}
		out = prev
	}
	if want := append(slices.Clone(all), "late"); !slices.Equal(got, want) {
		t.Errorf("backward walk = %q", got)
	}

	// A backward page's forward token continues right after it.
	first := get(nil, true)
	next := get(first.NextForwardToken, true)
	back := get(next.NextBackwardToken, false)
	if !slices.Equal(messages(back.Events), messages(first.Events)) {
		t.Errorf("back = %q, want %q", messages(back.Events), messages(first.Events))
	}

	for _, bad := range []string{"x", "f/123", "q/" + strings.Repeat("0", 56), "f/" + strings.Repeat("9", 56)} {
		err := second(f.svc.GetLogEvents(f.ctx, &api.GetLogEventsInput{LogGroupName: s("g"), LogStreamName: s("s"), NextToken: s(bad)}))
		if code(err) != "InvalidParameterException" {
			t.Errorf("token %q: %v", bad, err)
		}
	}
}

func TestGetLogEventsEmptyStream(t *testing.T) {
	f := newFixture(t)
	f.createGroup("g")
	f.createStream("g", "s")
	out := must(f.svc.GetLogEvents(f.ctx, &api.GetLogEventsInput{LogGroupName: s("g"), LogStreamName: s("s")}))
	if out.Events == nil || len(out.Events) != 0 || out.NextForwardToken == nil || out.NextBackwardToken == nil {
		t.Errorf("empty stream = %+v", out)
	}
	err := second(f.svc.GetLogEvents(f.ctx, &api.GetLogEventsInput{LogGroupName: s("g"), LogStreamName: s("nope")}))
	if message(err) != "The specified log stream does not exist." {
		t.Errorf("missing stream: %v", err)
	}
}

func TestGetLogEventsPageBytes(t *testing.T) {
	f := newFixture(t)
	f.createGroup("g")
	f.createStream("g", "s")
	big := strings.Repeat("x", 400_000)
	f.put("g", "s", start, big, big)
	f.put("g", "s", start.Add(time.Millisecond*2), big)
	out := must(f.svc.GetLogEvents(f.ctx, &api.GetLogEventsInput{LogGroupName: s("g"), LogStreamName: s("s"), StartFromHead: yes()}))
	if len(out.Events) != 2 {
		t.Errorf("a 1 MB page holds %d events of 400 kB", len(out.Events))
	}
}

func TestAppend(t *testing.T) {
	f := newFixture(t)
	events := []logs.Event{{Timestamp: start.Add(time.Second), Message: "second"}, {Timestamp: start, Message: "first"}}
	if err := f.svc.Append(f.ctx, account, region, "/nephele/ec2/console", "i-0123", events); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.Append(f.ctx, account, region, "/nephele/ec2/console", "i-0123", []logs.Event{{Timestamp: start.Add(time.Minute), Message: "third"}}); err != nil {
		t.Fatal(err)
	}
	got := must(f.svc.GetLogEvents(f.ctx, &api.GetLogEventsInput{LogGroupName: s("/nephele/ec2/console"), LogStreamName: s("i-0123"), StartFromHead: yes()}))
	if want := []string{"first", "second", "third"}; !slices.Equal(messages(got.Events), want) {
		t.Errorf("events = %q, want %q", messages(got.Events), want)
	}
	for _, bad := range [][2]string{{"bad name!", "s"}, {"g", "a:b"}, {"", "s"}, {"g", ""}} {
		if err := f.svc.Append(f.ctx, account, region, bad[0], bad[1], nil); err == nil {
			t.Errorf("Append to %q/%q succeeded", bad[0], bad[1])
		}
	}
}
