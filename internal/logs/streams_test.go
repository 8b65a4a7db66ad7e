package logs_test

import (
	"slices"
	"testing"
	"time"

	api "github.com/nephele-dev/nephele/internal/api/logs"
)

func TestCreateLogStreamErrors(t *testing.T) {
	f := newFixture(t)
	f.createGroup("g")
	f.createStream("g", "s")
	tests := []struct {
		name, group, stream, code, msg string
	}{
		{"missing_group", "nope", "s", "ResourceNotFoundException", "The specified log group does not exist."},
		{"duplicate", "g", "s", "ResourceAlreadyExistsException", "The specified log stream already exists"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := second(f.svc.CreateLogStream(f.ctx, &api.CreateLogStreamInput{LogGroupName: s(tt.group), LogStreamName: s(tt.stream)}))
			if code(err) != tt.code || message(err) != tt.msg {
				t.Errorf("err = %v, want %s %q", err, tt.code, tt.msg)
			}
		})
	}
}

func TestDescribeLogStreams(t *testing.T) {
	f := newFixture(t)
	f.createGroup("g")
	f.createStream("g", "empty")
	f.clk.Advance(time.Minute)
	f.createStream("g", "busy")
	f.put("g", "busy", start.Add(-time.Hour), "a", "b")
	f.clk.Advance(time.Minute)
	f.put("g", "busy", start.Add(-2*time.Hour), "earlier")

	out := must(f.svc.DescribeLogStreams(f.ctx, &api.DescribeLogStreamsInput{LogGroupName: s("g")}))
	if len(out.LogStreams) != 2 || *out.LogStreams[0].LogStreamName != "busy" {
		t.Fatalf("streams = %+v", out.LogStreams)
	}
	busy, empty := out.LogStreams[0], out.LogStreams[1]
	if *busy.Arn != "arn:aws:logs:eu-west-1:123456789012:log-group:g:log-stream:busy" || *busy.CreationTime != ms(start.Add(time.Minute)) {
		t.Errorf("busy = %s %d", *busy.Arn, *busy.CreationTime)
	}
	if *busy.FirstEventTimestamp != ms(start.Add(-2*time.Hour)) || *busy.LastEventTimestamp != ms(start.Add(-time.Hour))+1 ||
		*busy.LastIngestionTime != ms(start.Add(2*time.Minute)) || *busy.StoredBytes != 0 || busy.UploadSequenceToken == nil {
		t.Errorf("busy times = %d %d %d, storedBytes %d", *busy.FirstEventTimestamp, *busy.LastEventTimestamp, *busy.LastIngestionTime, *busy.StoredBytes)
	}
	if empty.FirstEventTimestamp != nil || empty.LastEventTimestamp != nil || empty.LastIngestionTime != nil || *empty.StoredBytes != 0 {
		t.Errorf("empty = %+v", empty)
	}
	// The group counts the bytes the streams do not: 3 messages of 1, 1
	// and 7 bytes, each with 26 bytes of overhead.
	g := must(f.svc.DescribeLogGroups(f.ctx, &api.DescribeLogGroupsInput{})).LogGroups[0]
	if *g.StoredBytes != 9+3*26 {
		t.Errorf("group storedBytes = %d", *g.StoredBytes)
	}
}

func TestDescribeLogStreamsOrder(t *testing.T) {
	f := newFixture(t)
	f.createGroup("g")
	for i, n := range []string{"c", "a", "d", "b"} {
		f.createStream("g", n)
		if n != "d" {
			f.put("g", n, start.Add(time.Duration(i)*time.Minute), "x")
		}
	}
	names := func(in *api.DescribeLogStreamsInput) []string {
		in.LogGroupName = s("g")
		var got []string
		for {
			out := must(f.svc.DescribeLogStreams(f.ctx, in))
			for _, st := range out.LogStreams {
				got = append(got, *st.LogStreamName)
			}
			if out.NextToken == nil {
				return got
			}
			in.NextToken = out.NextToken
		}
	}
	tests := []struct {
		name string
		in   *api.DescribeLogStreamsInput
		want []string
	}{
		{"by_name", &api.DescribeLogStreamsInput{}, []string{"a", "b", "c", "d"}},
		{"by_name_descending_in_pages", &api.DescribeLogStreamsInput{Descending: yes(), Limit: i32(1)}, []string{"d", "c", "b", "a"}},
		{"by_prefix", &api.DescribeLogStreamsInput{LogStreamNamePrefix: s("b")}, []string{"b"}},
		{"by_last_event_time", &api.DescribeLogStreamsInput{OrderBy: s("LastEventTime")}, []string{"d", "c", "a", "b"}},
		{"by_last_event_time_descending_in_pages", &api.DescribeLogStreamsInput{OrderBy: s("LastEventTime"), Descending: yes(), Limit: i32(3)}, []string{"b", "a", "c", "d"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := names(tt.in); !slices.Equal(got, tt.want) {
				t.Errorf("streams = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestDescribeLogStreamsErrors(t *testing.T) {
	f := newFixture(t)
	f.createGroup("g")
	tests := []struct {
		name string
		in   *api.DescribeLogStreamsInput
		code string
	}{
		{"prefix_with_last_event_time", &api.DescribeLogStreamsInput{LogGroupName: s("g"), OrderBy: s("LastEventTime"), LogStreamNamePrefix: s("a")}, "InvalidParameterException"},
		{"no_group", &api.DescribeLogStreamsInput{}, "InvalidParameterException"},
		{"name_and_identifier", &api.DescribeLogStreamsInput{LogGroupName: s("g"), LogGroupIdentifier: s("g")}, "InvalidParameterException"},
		{"missing_group", &api.DescribeLogStreamsInput{LogGroupName: s("nope")}, "ResourceNotFoundException"},
		{"identifier_of_other_account", &api.DescribeLogStreamsInput{LogGroupIdentifier: s("arn:aws:logs:eu-west-1:999999999999:log-group:g")}, "ResourceNotFoundException"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := second(f.svc.DescribeLogStreams(f.ctx, tt.in)); code(err) != tt.code {
				t.Errorf("err = %v, want %s", err, tt.code)
			}
		})
	}
	for _, id := range []string{"g", "arn:aws:logs:eu-west-1:123456789012:log-group:g", "arn:aws:logs:eu-west-1:123456789012:log-group:g:*"} {
		if err := second(f.svc.DescribeLogStreams(f.ctx, &api.DescribeLogStreamsInput{LogGroupIdentifier: s(id)})); err != nil {
			t.Errorf("identifier %s: %v", id, err)
		}
	}
}

func TestDeleteLogStream(t *testing.T) {
	f := newFixture(t)
	f.createGroup("g")
	f.createStream("g", "s")
	f.createStream("g", "s2")
	f.put("g", "s", start, "gone")
	f.put("g", "s2", start, "kept")
	must(f.svc.DeleteLogStream(f.ctx, &api.DeleteLogStreamInput{LogGroupName: s("g"), LogStreamName: s("s")}))
	err := second(f.svc.DeleteLogStream(f.ctx, &api.DeleteLogStreamInput{LogGroupName: s("g"), LogStreamName: s("s")}))
	if code(err) != "ResourceNotFoundException" || message(err) != "The specified log stream does not exist." {
		t.Errorf("second delete: %v", err)
	}
	got := must(f.svc.FilterLogEvents(f.ctx, &api.FilterLogEventsInput{LogGroupName: s("g")}))
	if !slices.Equal(filtered(got.Events), []string{"kept"}) {
		t.Errorf("events = %q", filtered(got.Events))
	}
	if g := must(f.svc.DescribeLogGroups(f.ctx, &api.DescribeLogGroupsInput{})).LogGroups[0]; *g.StoredBytes != 4+26 {
		t.Errorf("storedBytes = %d", *g.StoredBytes)
	}
}
