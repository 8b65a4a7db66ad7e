package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	logstypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"

	"github.com/nephele-dev/nephele/internal/clock"
	"github.com/nephele-dev/nephele/internal/server"
	"github.com/nephele-dev/nephele/internal/testenv"
)

// logsStart is the simulated time every Logs test starts at: a fake clock
// lets the tests write events "now" and expire them by advancing it.
var logsStart = time.Date(2024, time.June, 3, 8, 0, 0, 0, time.UTC)

// startLogs runs nephele on a fake clock and returns an SDK client for it.
func startLogs(t *testing.T) (*testenv.Env, *cloudwatchlogs.Client, *clock.Fake) {
	t.Helper()
	clk := clock.NewFake(logsStart)
	env := testenv.Start(t, server.Config{Clock: clk})
	return env, cloudwatchlogs.NewFromConfig(env.AWSConfig()), clk
}

// logEvents builds a chronological batch, one event a millisecond from at.
func logEvents(at time.Time, msgs ...string) []logstypes.InputLogEvent {
	var out []logstypes.InputLogEvent
	for i, m := range msgs {
		out = append(out, logstypes.InputLogEvent{Timestamp: aws.Int64(at.UnixMilli() + int64(i)), Message: aws.String(m)})
	}
	return out
}

func outputMessages(evs []logstypes.OutputLogEvent) []string {
	out := []string{}
	for _, e := range evs {
		out = append(out, aws.ToString(e.Message))
	}
	return out
}

func filteredMessages(evs []logstypes.FilteredLogEvent) []string {
	out := []string{}
	for _, e := range evs {
		out = append(out, aws.ToString(e.Message))
	}
	return out
}

// TestSDKLogsGroupsStreamsEvents walks what an application's log shipper
// does through the Go SDK: create a group and a stream, put batches, read
// them back forwards and backwards with the SDK's own paginator.
func TestSDKLogsGroupsStreamsEvents(t *testing.T) {
	_, c, _ := startLogs(t)
	ctx := context.Background()
	if _, err := c.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{
		LogGroupName: aws.String("/app/web"), LogGroupClass: logstypes.LogGroupClassStandard,
		Tags: map[string]string{"env": "dev"},
	}); err != nil {
		t.Fatalf("CreateLogGroup: %v", err)
	}
	groups, err := c.DescribeLogGroups(ctx, &cloudwatchlogs.DescribeLogGroupsInput{LogGroupNamePrefix: aws.String("/app")})
	if err != nil || len(groups.LogGroups) != 1 {
		t.Fatalf("DescribeLogGroups: %v %+v", err, groups)
	}
	g := groups.LogGroups[0]
	if aws.ToString(g.Arn) != "arn:aws:logs:us-east-1:000000000000:log-group:/app/web:*" ||
		aws.ToString(g.LogGroupArn) != "arn:aws:logs:us-east-1:000000000000:log-group:/app/web" ||
		aws.ToInt64(g.CreationTime) != logsStart.UnixMilli() || g.RetentionInDays != nil || g.LogGroupClass != logstypes.LogGroupClassStandard {
		t.Errorf("group = %+v", g)
	}

	for _, st := range []string{"i-1", "i-2"} {
		if _, err := c.CreateLogStream(ctx, &cloudwatchlogs.CreateLogStreamInput{LogGroupName: aws.String("/app/web"), LogStreamName: aws.String(st)}); err != nil {
			t.Fatalf("CreateLogStream: %v", err)
		}
	}
	var want []string
	for batch := range 3 {
		var msgs []string
		for i := range 4 {
			msgs = append(msgs, fmt.Sprintf("batch %d line %d", batch, i))
		}
		want = append(want, msgs...)
		put, err := c.PutLogEvents(ctx, &cloudwatchlogs.PutLogEventsInput{
			LogGroupName: aws.String("/app/web"), LogStreamName: aws.String("i-1"),
			LogEvents: logEvents(logsStart.Add(time.Duration(batch-10)*time.Minute), msgs...), SequenceToken: aws.String("stale"),
		})
		if err != nil {
			t.Fatalf("PutLogEvents: %v", err)
		}
		if aws.ToString(put.NextSequenceToken) == "" || put.RejectedLogEventsInfo != nil {
			t.Errorf("PutLogEvents = %+v", put)
		}
	}

	streams, err := c.DescribeLogStreams(ctx, &cloudwatchlogs.DescribeLogStreamsInput{
		LogGroupIdentifier: g.LogGroupArn, OrderBy: logstypes.OrderByLastEventTime, Descending: aws.Bool(true),
	})
	if err != nil || len(streams.LogStreams) != 2 {
		t.Fatalf("DescribeLogStreams: %v %+v", err, streams)
	}
	s1 := streams.LogStreams[0]
	if aws.ToString(s1.LogStreamName) != "i-1" || aws.ToInt64(s1.FirstEventTimestamp) != logsStart.Add(-10*time.Minute).UnixMilli() ||
		aws.ToInt64(s1.LastEventTimestamp) != logsStart.Add(-8*time.Minute).UnixMilli()+3 || aws.ToInt64(s1.LastIngestionTime) != logsStart.UnixMilli() ||
		aws.ToInt64(s1.StoredBytes) != 0 || aws.ToString(s1.Arn) != "arn:aws:logs:us-east-1:000000000000:log-group:/app/web:log-stream:i-1" {
		t.Errorf("stream = %+v", s1)
	}

	// Forward, in pages of 5, with the SDK's paginator, which stops when
	// the forward token comes back unchanged.
	var got []string
	pages := 0
	p := cloudwatchlogs.NewGetLogEventsPaginator(c, &cloudwatchlogs.GetLogEventsInput{
		LogGroupName: aws.String("/app/web"), LogStreamName: aws.String("i-1"), StartFromHead: aws.Bool(true), Limit: aws.Int32(5),
	}, func(o *cloudwatchlogs.GetLogEventsPaginatorOptions) { o.StopOnDuplicateToken = true })
	for p.HasMorePages() && pages < 20 {
		out, err := p.NextPage(ctx)
		if err != nil {
			t.Fatalf("GetLogEvents page %d: %v", pages, err)
		}
		pages++
		got = append(got, outputMessages(out.Events)...)
	}
	if !slices.Equal(got, want) || pages != 4 {
		t.Errorf("forward in %d pages: %q", pages, got)
	}

	// Backward from the tail, following nextBackwardToken by hand.
	got = nil
	in := &cloudwatchlogs.GetLogEventsInput{LogGroupName: aws.String("/app/web"), LogStreamName: aws.String("i-1"), Limit: aws.Int32(5)}
	for range 10 {
		out, err := c.GetLogEvents(ctx, in)
		if err != nil {
			t.Fatalf("GetLogEvents backward: %v", err)
		}
		got = append(outputMessages(out.Events), got...)
		if in.NextToken != nil && aws.ToString(out.NextBackwardToken) == *in.NextToken {
			break
		}
		if !strings.HasPrefix(aws.ToString(out.NextBackwardToken), "b/") || !strings.HasPrefix(aws.ToString(out.NextForwardToken), "f/") {
			t.Fatalf("tokens %s %s", aws.ToString(out.NextBackwardToken), aws.ToString(out.NextForwardToken))
		}
		in.NextToken = out.NextBackwardToken
	}
	if !slices.Equal(got, want) {
		t.Errorf("backward = %q", got)
	}

	if _, err := c.DeleteLogStream(ctx, &cloudwatchlogs.DeleteLogStreamInput{LogGroupName: aws.String("/app/web"), LogStreamName: aws.String("i-2")}); err != nil {
		t.Errorf("DeleteLogStream: %v", err)
	}
	if _, err := c.DeleteLogGroup(ctx, &cloudwatchlogs.DeleteLogGroupInput{LogGroupName: aws.String("/app/web")}); err != nil {
		t.Errorf("DeleteLogGroup: %v", err)
	}
	_, err = c.GetLogEvents(ctx, &cloudwatchlogs.GetLogEventsInput{LogGroupName: aws.String("/app/web"), LogStreamName: aws.String("i-1")})
	var nf *logstypes.ResourceNotFoundException
	if !errors.As(err, &nf) || aws.ToString(nf.Message) != "The specified log group does not exist." {
		t.Errorf("after delete: %v", err)
	}
}

// TestSDKLogsFilterPatterns searches a group's streams with the filter
// pattern kinds users write, through the SDK's FilterLogEvents paginator.
func TestSDKLogsFilterPatterns(t *testing.T) {
	_, c, _ := startLogs(t)
	ctx := context.Background()
	mustLogs(t, "CreateLogGroup", errOf(c.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String("svc")})))
	lines := map[string][]string{
		"api": {`{"level":"ERROR","status":503,"path":"/orders","user":{"id":7,"admin":true}}`, `{"level":"INFO","status":200,"path":"/health","user":null}`},
		"web": {`10.0.0.1 - - [03/Jun/2024:07:00:00 +0000] "GET /index.html HTTP/1.1" 200 512`, `10.0.0.2 - - [03/Jun/2024:07:00:01 +0000] "GET /missing HTTP/1.1" 404 0`},
		"job": {`ERROR Exiting with code 1`, `WARN retrying`, `INFO done`},
	}
	for i, st := range []string{"api", "web", "job"} {
		mustLogs(t, "CreateLogStream", errOf(c.CreateLogStream(ctx, &cloudwatchlogs.CreateLogStreamInput{LogGroupName: aws.String("svc"), LogStreamName: aws.String(st)})))
		mustLogs(t, "PutLogEvents", errOf(c.PutLogEvents(ctx, &cloudwatchlogs.PutLogEventsInput{
			LogGroupName: aws.String("svc"), LogStreamName: aws.String(st), LogEvents: logEvents(logsStart.Add(time.Duration(i-5)*time.Minute), lines[st]...),
		})))
	}
	tests := []struct {
		name, pattern string
		streams       []string
		want          []string
	}{
		{"term", "ERROR", nil, []string{lines["api"][0], lines["job"][0]}},
		{"term_and_exclusion", `ERROR -Exiting`, nil, []string{lines["api"][0]}},
		{"optional_terms", `?WARN ?404`, nil, []string{lines["web"][1], lines["job"][1]}},
		{"quoted_phrase", `"GET /index.html"`, nil, []string{lines["web"][0]}},
		{"json_and_or", `{ $.status >= 500 && ($.user.admin IS TRUE || $.path = "/admin*") }`, nil, []string{lines["api"][0]}},
		{"json_null", `{ $.user IS NULL }`, nil, []string{lines["api"][1]}},
		{"json_wildcard_not_equal", `{ $.path != /health* }`, nil, []string{lines["api"][0]}},
		{"delimited", `[ip, identity, user, timestamp, request = "GET /missing*", status = 4*, bytes]`, nil, []string{lines["web"][1]}},
		{"regex", `%^(INFO|WARN)%`, nil, nil}, // parentheses: invalid, see below
		{"stream_names", "", []string{"job"}, lines["job"]},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := &cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String("svc"), FilterPattern: aws.String(tt.pattern), LogStreamNames: tt.streams, Limit: aws.Int32(1)}
			if tt.want == nil {
				_, err := c.FilterLogEvents(ctx, in)
				var ip *logstypes.InvalidParameterException
				if !errors.As(err, &ip) {
					t.Errorf("err = %v, want InvalidParameterException", err)
				}
				return
			}
			var got []string
			p := cloudwatchlogs.NewFilterLogEventsPaginator(c, in)
			for p.HasMorePages() {
				out, err := p.NextPage(ctx)
				if err != nil {
					t.Fatalf("FilterLogEvents: %v", err)
				}
				got = append(got, filteredMessages(out.Events)...)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("events = %q, want %q", got, tt.want)
			}
		})
	}
}

// TestSDKLogsRetentionExpiry puts a retention policy on a group and moves
// the clock: events vanish as they pass it, and PutLogEvents reports
// events already past it as expired.
func TestSDKLogsRetentionExpiry(t *testing.T) {
	_, c, clk := startLogs(t)
	ctx := context.Background()
	group, stream := aws.String("short"), aws.String("s")
	mustLogs(t, "CreateLogGroup", errOf(c.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: group})))
	mustLogs(t, "CreateLogStream", errOf(c.CreateLogStream(ctx, &cloudwatchlogs.CreateLogStreamInput{LogGroupName: group, LogStreamName: stream})))
	mustLogs(t, "PutRetentionPolicy", errOf(c.PutRetentionPolicy(ctx, &cloudwatchlogs.PutRetentionPolicyInput{LogGroupName: group, RetentionInDays: aws.Int32(1)})))
	put, err := c.PutLogEvents(ctx, &cloudwatchlogs.PutLogEventsInput{LogGroupName: group, LogStreamName: stream, LogEvents: []logstypes.InputLogEvent{
		{Timestamp: aws.Int64(logsStart.Add(-15 * 24 * time.Hour).UnixMilli()), Message: aws.String("too old")},
		{Timestamp: aws.Int64(logsStart.Add(-3 * 24 * time.Hour).UnixMilli()), Message: aws.String("expired")},
		{Timestamp: aws.Int64(logsStart.Add(-12 * time.Hour).UnixMilli()), Message: aws.String("first")},
		{Timestamp: aws.Int64(logsStart.Add(-1 * time.Hour).UnixMilli()), Message: aws.String("second")},
		{Timestamp: aws.Int64(logsStart.Add(3 * time.Hour).UnixMilli()), Message: aws.String("too new")},
	}})
	if err != nil {
		t.Fatalf("PutLogEvents: %v", err)
	}
	r := put.RejectedLogEventsInfo
	if r == nil || aws.ToInt32(r.TooOldLogEventEndIndex) != 0 || aws.ToInt32(r.ExpiredLogEventEndIndex) != 1 || aws.ToInt32(r.TooNewLogEventStartIndex) != 4 {
		t.Errorf("rejected = %+v", r)
	}
	read := func() []string {
		out, err := c.GetLogEvents(ctx, &cloudwatchlogs.GetLogEventsInput{LogGroupName: group, LogStreamName: stream, StartFromHead: aws.Bool(true)})
		if err != nil {
			t.Fatalf("GetLogEvents: %v", err)
		}
		return outputMessages(out.Events)
	}
	steps := []struct {
		advance time.Duration
		want    []string
	}{
		{0, []string{"first", "second"}},
		{12*time.Hour + time.Millisecond, []string{"second"}},
		{11 * time.Hour, []string{}},
	}
	for _, st := range steps {
		clk.Advance(st.advance)
		if got := read(); !slices.Equal(got, st.want) {
			t.Errorf("at %s: events %q, want %q", clk.Now().Sub(logsStart), got, st.want)
		}
	}
	out, err := c.DescribeLogGroups(ctx, &cloudwatchlogs.DescribeLogGroupsInput{LogGroupNamePrefix: group})
	if err != nil || aws.ToInt32(out.LogGroups[0].RetentionInDays) != 1 {
		t.Errorf("DescribeLogGroups: %v %+v", err, out)
	}
	_, err = c.PutRetentionPolicy(ctx, &cloudwatchlogs.PutRetentionPolicyInput{LogGroupName: group, RetentionInDays: aws.Int32(2)})
	if apiCode(err) != "InvalidParameterException" {
		t.Errorf("retention of 2 days: %v", err)
	}
}

// TestSDKLogsTagsAndErrors tags a group by its ARN and through the
// legacy calls, and checks the error codes clients branch on.
func TestSDKLogsTagsAndErrors(t *testing.T) {
	_, c, _ := startLogs(t)
	ctx := context.Background()
	mustLogs(t, "CreateLogGroup", errOf(c.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String("g"), Tags: map[string]string{"a": "1"}})))
	g := mustGroup(t, c, "g")
	// The tagging APIs take logGroupArn; the model's ARN pattern has no
	// room for the "*" of arn, so AWS and nephele refuse that form.
	if err := errOf(c.TagResource(ctx, &cloudwatchlogs.TagResourceInput{ResourceArn: g.Arn, Tags: map[string]string{"b": "2"}})); apiCode(err) != "InvalidParameterException" {
		t.Errorf("TagResource with the :* ARN: %v", err)
	}
	mustLogs(t, "TagResource", errOf(c.TagResource(ctx, &cloudwatchlogs.TagResourceInput{ResourceArn: g.LogGroupArn, Tags: map[string]string{"b": "2"}})))
	mustLogs(t, "TagLogGroup", errOf(c.TagLogGroup(ctx, &cloudwatchlogs.TagLogGroupInput{LogGroupName: aws.String("g"), Tags: map[string]string{"c": "3"}})))
	mustLogs(t, "UntagResource", errOf(c.UntagResource(ctx, &cloudwatchlogs.UntagResourceInput{ResourceArn: g.LogGroupArn, TagKeys: []string{"a"}})))
	mustLogs(t, "UntagLogGroup", errOf(c.UntagLogGroup(ctx, &cloudwatchlogs.UntagLogGroupInput{LogGroupName: aws.String("g"), Tags: []string{"c"}})))
	tags, err := c.ListTagsForResource(ctx, &cloudwatchlogs.ListTagsForResourceInput{ResourceArn: g.LogGroupArn})
	if err != nil || !maps.Equal(tags.Tags, map[string]string{"b": "2"}) {
		t.Errorf("ListTagsForResource: %v %v", err, tags)
	}
	legacy, err := c.ListTagsLogGroup(ctx, &cloudwatchlogs.ListTagsLogGroupInput{LogGroupName: aws.String("g")})
	if err != nil || !maps.Equal(legacy.Tags, map[string]string{"b": "2"}) {
		t.Errorf("ListTagsLogGroup: %v %v", err, legacy)
	}

	mustLogs(t, "CreateLogStream", errOf(c.CreateLogStream(ctx, &cloudwatchlogs.CreateLogStreamInput{LogGroupName: aws.String("g"), LogStreamName: aws.String("s")})))
	errs := []struct {
		name string
		call func() error
		code string
	}{
		{"group_exists", func() error {
			return errOf(c.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String("g")}))
		}, "ResourceAlreadyExistsException"},
		{"stream_exists", func() error {
			return errOf(c.CreateLogStream(ctx, &cloudwatchlogs.CreateLogStreamInput{LogGroupName: aws.String("g"), LogStreamName: aws.String("s")}))
		}, "ResourceAlreadyExistsException"},
		{"no_group", func() error {
			return errOf(c.DescribeLogStreams(ctx, &cloudwatchlogs.DescribeLogStreamsInput{LogGroupName: aws.String("nope")}))
		}, "ResourceNotFoundException"},
		{"no_stream", func() error {
			return errOf(c.PutLogEvents(ctx, &cloudwatchlogs.PutLogEventsInput{LogGroupName: aws.String("g"), LogStreamName: aws.String("nope"), LogEvents: logEvents(logsStart, "x")}))
		}, "ResourceNotFoundException"},
		{"out_of_order", func() error {
			evs := append(logEvents(logsStart, "later"), logEvents(logsStart.Add(-time.Second), "earlier")...)
			return errOf(c.PutLogEvents(ctx, &cloudwatchlogs.PutLogEventsInput{LogGroupName: aws.String("g"), LogStreamName: aws.String("s"), LogEvents: evs}))
		}, "InvalidParameterException"},
		{"limit_out_of_range", func() error {
			return errOf(c.DescribeLogGroups(ctx, &cloudwatchlogs.DescribeLogGroupsInput{Limit: aws.Int32(51)}))
		}, "InvalidParameterException"},
		{"bad_group_name", func() error {
			return errOf(c.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String("bad name")}))
		}, "InvalidParameterException"},
		{"tag_missing_group", func() error {
			return errOf(c.TagResource(ctx, &cloudwatchlogs.TagResourceInput{ResourceArn: aws.String("arn:aws:logs:us-east-1:000000000000:log-group:nope"), Tags: map[string]string{"a": "b"}}))
		}, "ResourceNotFoundException"},
		{"bad_filter_pattern", func() error {
			return errOf(c.FilterLogEvents(ctx, &cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String("g"), FilterPattern: aws.String(`{ $.a = 1`)}))
		}, "InvalidParameterException"},
	}
	for _, tt := range errs {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.call(); apiCode(err) != tt.code {
				t.Errorf("err = %v, want %s", err, tt.code)
			}
		})
	}
}

// TestCLILogs drives the aws CLI through the commands people type.
func TestCLILogs(t *testing.T) {
	env, _, _ := startLogs(t)
	run := func(args ...string) string {
		t.Helper()
		out, err := env.CLI(t, append([]string{"logs"}, args...)...)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	run("create-log-group", "--log-group-name", "/cli/app", "--tags", "team=ops")
	run("create-log-stream", "--log-group-name", "/cli/app", "--log-stream-name", "main")
	at := logsStart.Add(-time.Minute).UnixMilli()
	events := fmt.Sprintf(`[{"timestamp":%d,"message":"ERROR boom"},{"timestamp":%d,"message":"INFO fine"},{"timestamp":%d,"message":"{\"code\":42}"}]`, at, at+1, at+2)
	var put struct{ NextSequenceToken string }
	decodeCLI(t, run("put-log-events", "--log-group-name", "/cli/app", "--log-stream-name", "main", "--log-events", events), &put)
	if put.NextSequenceToken == "" {
		t.Errorf("put-log-events: no nextSequenceToken")
	}

	var got struct {
		Events []struct {
			Message   string
			Timestamp int64
		}
		NextForwardToken, NextBackwardToken string
	}
	decodeCLI(t, run("get-log-events", "--log-group-name", "/cli/app", "--log-stream-name", "main", "--start-from-head"), &got)
	if len(got.Events) != 3 || got.Events[0].Message != "ERROR boom" || got.Events[0].Timestamp != at || !strings.HasPrefix(got.NextForwardToken, "f/") {
		t.Errorf("get-log-events = %+v", got)
	}

	var flt struct {
		Events []struct{ Message, LogStreamName string }
	}
	decodeCLI(t, run("filter-log-events", "--log-group-name", "/cli/app", "--filter-pattern", "?ERROR ?WARN"), &flt)
	if len(flt.Events) != 1 || flt.Events[0].Message != "ERROR boom" || flt.Events[0].LogStreamName != "main" {
		t.Errorf("filter-log-events = %+v", flt)
	}
	decodeCLI(t, run("filter-log-events", "--log-group-name", "/cli/app", "--filter-pattern", "{ $.code = 42 }"), &flt)
	if len(flt.Events) != 1 || flt.Events[0].Message != `{"code":42}` {
		t.Errorf("filter-log-events JSON = %+v", flt)
	}

	var groups struct {
		LogGroups []struct {
			LogGroupName string
			Arn          string
		}
	}
	decodeCLI(t, run("describe-log-groups"), &groups)
	if len(groups.LogGroups) != 1 || groups.LogGroups[0].Arn != "arn:aws:logs:us-east-1:000000000000:log-group:/cli/app:*" {
		t.Errorf("describe-log-groups = %+v", groups)
	}
	if _, err := env.CLI(t, "logs", "create-log-group", "--log-group-name", "/cli/app"); err == nil || !strings.Contains(err.Error(), "ResourceAlreadyExistsException") {
		t.Errorf("duplicate create-log-group: %v", err)
	}
	if _, err := env.CLI(t, "logs", "get-log-events", "--log-group-name", "/cli/app", "--log-stream-name", "nope"); err == nil || !strings.Contains(err.Error(), "The specified log stream does not exist.") {
		t.Errorf("get-log-events of a missing stream: %v", err)
	}
}

// errOf returns the error of a (value, error) pair.
func errOf[T any](_ T, err error) error { return err }

// mustLogs fails the test if a setup call failed.
func mustLogs(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// mustGroup describes one log group.
func mustGroup(t *testing.T, c *cloudwatchlogs.Client, name string) logstypes.LogGroup {
	t.Helper()
	out, err := c.DescribeLogGroups(context.Background(), &cloudwatchlogs.DescribeLogGroupsInput{LogGroupNamePrefix: aws.String(name)})
	if err != nil || len(out.LogGroups) == 0 {
		t.Fatalf("DescribeLogGroups %s: %v", name, err)
	}
	return out.LogGroups[0]
}

// decodeCLI decodes the CLI's JSON output.
func decodeCLI(t *testing.T, s string, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(s), v); err != nil {
		t.Fatalf("decoding %q: %v", s, err)
	}
}
