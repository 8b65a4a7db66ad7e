package logs_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	api "github.com/nephele-dev/nephele/internal/api/logs"
)

// filterFixture is a group "app" with streams web-1, web-2 and worker,
// whose events interleave in time.
func filterFixture(t *testing.T) *fixture {
	f := newFixture(t)
	f.createGroup("app")
	for _, st := range []string{"web-1", "web-2", "worker"} {
		f.createStream("app", st)
	}
	base := start.Add(-time.Hour)
	f.put("app", "web-1", base, `GET /index.html 200`, `ERROR timeout talking to db`)
	f.put("app", "web-2", base.Add(time.Second), `{"level":"ERROR","latency":1200,"user":{"id":7}}`, `{"level":"INFO","latency":80,"user":{"id":8}}`)
	f.put("app", "worker", base.Add(2*time.Second), `WARN queue backlog`, `job 42 done`)
	return f
}

func TestFilterLogEvents(t *testing.T) {
	f := filterFixture(t)
	base := start.Add(-time.Hour)
	tests := []struct {
		name string
		in   *api.FilterLogEventsInput
		want []string
	}{
		{"everything_interleaved_by_time", &api.FilterLogEventsInput{}, []string{
			`GET /index.html 200`, `ERROR timeout talking to db`,
			`{"level":"ERROR","latency":1200,"user":{"id":7}}`, `{"level":"INFO","latency":80,"user":{"id":8}}`,
			`WARN queue backlog`, `job 42 done`}},
		{"term", &api.FilterLogEventsInput{FilterPattern: s("ERROR")}, []string{`ERROR timeout talking to db`, `{"level":"ERROR","latency":1200,"user":{"id":7}}`}},
		{"optional_terms", &api.FilterLogEventsInput{FilterPattern: s("?WARN ?timeout")}, []string{`ERROR timeout talking to db`, `WARN queue backlog`}},
		{"json", &api.FilterLogEventsInput{FilterPattern: s(`{ $.latency > 100 }`)}, []string{`{"level":"ERROR","latency":1200,"user":{"id":7}}`}},
		{"stream_names", &api.FilterLogEventsInput{LogStreamNames: []string{"worker", "nope"}}, []string{`WARN queue backlog`, `job 42 done`}},
		{"stream_prefix", &api.FilterLogEventsInput{LogStreamNamePrefix: s("web-"), FilterPattern: s("-ERROR")}, []string{`GET /index.html 200`, `{"level":"INFO","latency":80,"user":{"id":8}}`}},
		{"end_time_inclusive", &api.FilterLogEventsInput{StartTime: i64(ms(base) + 1), EndTime: i64(ms(base.Add(time.Second)))}, []string{
			`ERROR timeout talking to db`, `{"level":"ERROR","latency":1200,"user":{"id":7}}`}},
		{"delimited", &api.FilterLogEventsInput{FilterPattern: s(`[method, path = *.html, status = 2*]`)}, []string{`GET /index.html 200`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.in.LogGroupName = s("app")
			out := must(f.svc.FilterLogEvents(f.ctx, tt.in))
			if got := filtered(out.Events); !slices.Equal(got, tt.want) {
				t.Errorf("events = %q, want %q", got, tt.want)
			}
			if out.SearchedLogStreams == nil || len(out.SearchedLogStreams) != 0 || out.NextToken != nil {
				t.Errorf("searchedLogStreams = %v, nextToken %v", out.SearchedLogStreams, out.NextToken)
			}
		})
	}
}

func TestFilterLogEventsFields(t *testing.T) {
	f := filterFixture(t)
	out := must(f.svc.FilterLogEvents(f.ctx, &api.FilterLogEventsInput{LogGroupIdentifier: s("arn:aws:logs:eu-west-1:123456789012:log-group:app:*")}))
	ids := map[string]bool{}
	for _, e := range out.Events {
		if e.EventId == nil || len(*e.EventId) != 56 || ids[*e.EventId] || e.IngestionTime == nil || e.Timestamp == nil || e.LogStreamName == nil {
			t.Errorf("event = %+v", e)
		}
		ids[*e.EventId] = true
	}
	if *out.Events[0].LogStreamName != "web-1" || *out.Events[2].LogStreamName != "web-2" {
		t.Errorf("streams: %s %s", *out.Events[0].LogStreamName, *out.Events[2].LogStreamName)
	}
}

func TestFilterLogEventsPages(t *testing.T) {
	f := newFixture(t)
	f.createGroup("g")
	f.createStream("g", "a")
	f.createStream("g", "b")
	var want []string
	for i := range 10 {
		st := []string{"a", "b"}[i%2]
		msg := fmt.Sprintf("line %d", i)
		f.put("g", st, start.Add(time.Duration(i-20)*time.Second), msg, "noise")
		want = append(want, msg)
	}
	var got []string
	var token *string
	pages := 0
	for {
		out := must(f.svc.FilterLogEvents(f.ctx, &api.FilterLogEventsInput{LogGroupName: s("g"), FilterPattern: s("line"), Limit: i32(3), NextToken: token}))
		pages++
		got = append(got, filtered(out.Events)...)
		if out.NextToken == nil {
			break
		}
		token = out.NextToken
	}
	if !slices.Equal(got, want) || pages != 4 {
		t.Errorf("%d pages: %q", pages, got)
	}
}

func TestFilterLogEventsErrors(t *testing.T) {
	f := filterFixture(t)
	tests := []struct {
		name string
		in   *api.FilterLogEventsInput
		code string
		msg  string
	}{
		{"names_and_prefix", &api.FilterLogEventsInput{LogGroupName: s("app"), LogStreamNames: []string{"a"}, LogStreamNamePrefix: s("a")}, "InvalidParameterException", ""},
		{"unbalanced_brace", &api.FilterLogEventsInput{LogGroupName: s("app"), FilterPattern: s(`{ $.a = 1`)}, "InvalidParameterException", "If a filter pattern starts with '{' it must end with '}'"},
		{"bad_json_pattern", &api.FilterLogEventsInput{LogGroupName: s("app"), FilterPattern: s(`{ $.a = }`)}, "InvalidParameterException", "Invalid filter pattern"},
		{"bad_token", &api.FilterLogEventsInput{LogGroupName: s("app"), NextToken: s("!!")}, "InvalidParameterException", "The specified nextToken is invalid."},
		{"missing_group", &api.FilterLogEventsInput{LogGroupName: s("nope")}, "ResourceNotFoundException", "The specified log group does not exist."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := second(f.svc.FilterLogEvents(f.ctx, tt.in))
			if code(err) != tt.code || (tt.msg != "" && message(err) != tt.msg) {
				t.Errorf("err = %v, want %s %q", err, tt.code, tt.msg)
			}
		})
	}
}
