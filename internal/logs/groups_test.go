package logs_test

import (
	"fmt"
	"slices"
	"testing"

	api "github.com/nephele-dev/nephele/internal/api/logs"
)

func TestCreateLogGroupDescribed(t *testing.T) {
	f := newFixture(t)
	must(f.svc.CreateLogGroup(f.ctx, &api.CreateLogGroupInput{
		LogGroupName: s("/app/web"), LogGroupClass: s("INFREQUENT_ACCESS"),
		KmsKeyId: s("arn:aws:kms:eu-west-1:123456789012:key/abc"), Tags: map[string]string{"env": "dev"},
	}))
	f.createGroup("plain")
	out := must(f.svc.DescribeLogGroups(f.ctx, &api.DescribeLogGroupsInput{}))
	if len(out.LogGroups) != 2 || out.NextToken != nil {
		t.Fatalf("DescribeLogGroups = %+v", out)
	}
	g := out.LogGroups[0]
	if *g.LogGroupName != "/app/web" || *g.Arn != "arn:aws:logs:eu-west-1:123456789012:log-group:/app/web:*" ||
		*g.LogGroupArn != "arn:aws:logs:eu-west-1:123456789012:log-group:/app/web" {
		t.Errorf("names: %s %s %s", *g.LogGroupName, *g.Arn, *g.LogGroupArn)
	}
	if *g.CreationTime != ms(start) || *g.LogGroupClass != "INFREQUENT_ACCESS" || *g.KmsKeyId != "arn:aws:kms:eu-west-1:123456789012:key/abc" ||
		*g.StoredBytes != 0 || *g.MetricFilterCount != 0 || g.RetentionInDays != nil || *g.DeletionProtectionEnabled {
		t.Errorf("group = %+v", g)
	}
	p := out.LogGroups[1]
	if *p.LogGroupClass != "STANDARD" || p.KmsKeyId != nil {
		t.Errorf("defaults: class %s, kms %v", *p.LogGroupClass, p.KmsKeyId)
	}
}

func TestCreateLogGroupErrors(t *testing.T) {
	tests := []struct {
		name, group string
		code, msg   string
	}{
		{"duplicate", "taken", "ResourceAlreadyExistsException", "The specified log group already exists"},
		{"reserved_prefix", "aws/mine", "InvalidParameterException", "Log group names can't start with the string aws/"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			f.createGroup("taken")
			err := second(f.svc.CreateLogGroup(f.ctx, &api.CreateLogGroupInput{LogGroupName: s(tt.group)}))
			if code(err) != tt.code || message(err) != tt.msg {
				t.Errorf("err = %v, want %s %q", err, tt.code, tt.msg)
			}
		})
	}
	f := newFixture(t)
	err := second(f.svc.CreateLogGroup(f.ctx, &api.CreateLogGroupInput{LogGroupName: s("g"), Tags: map[string]string{"aws:x": "y"}}))
	if code(err) != "InvalidParameterException" {
		t.Errorf("reserved tag key: %v", err)
	}
}

func TestDescribeLogGroupsFilters(t *testing.T) {
	f := newFixture(t)
	for _, n := range []string{"/aws/lambda/fn", "DataLogs", "aws-DataLogs", "datalogs", "GroupDataLogs"} {
		f.createGroup(n)
	}
	names := func(in *api.DescribeLogGroupsInput) []string {
		out := must(f.svc.DescribeLogGroups(f.ctx, in))
		var got []string
		for _, g := range out.LogGroups {
			got = append(got, *g.LogGroupName)
		}
		return got
	}
	tests := []struct {
		name string
		in   *api.DescribeLogGroupsInput
		want []string
	}{
		{"all_in_ascii_order", &api.DescribeLogGroupsInput{}, []string{"/aws/lambda/fn", "DataLogs", "GroupDataLogs", "aws-DataLogs", "datalogs"}},
		{"prefix", &api.DescribeLogGroupsInput{LogGroupNamePrefix: s("Data")}, []string{"DataLogs"}},
		{"pattern_is_case_sensitive_substring", &api.DescribeLogGroupsInput{LogGroupNamePattern: s("DataLogs")}, []string{"DataLogs", "GroupDataLogs", "aws-DataLogs"}},
		{"class", &api.DescribeLogGroupsInput{LogGroupClass: s("INFREQUENT_ACCESS")}, nil},
		{"identifiers_by_name_and_arn", &api.DescribeLogGroupsInput{LogGroupIdentifiers: []string{
			"datalogs", "arn:aws:logs:eu-west-1:123456789012:log-group:DataLogs", "arn:aws:logs:us-east-1:123456789012:log-group:GroupDataLogs"}},
			[]string{"DataLogs", "datalogs"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := names(tt.in); !slices.Equal(got, tt.want) {
				t.Errorf("names = %q, want %q", got, tt.want)
			}
		})
	}

	t.Run("pattern_returns_only_arn_creation_time_and_name", func(t *testing.T) {
		g := must(f.svc.DescribeLogGroups(f.ctx, &api.DescribeLogGroupsInput{LogGroupNamePattern: s("Group")})).LogGroups[0]
		if g.Arn == nil || g.CreationTime == nil || g.LogGroupArn != nil || g.StoredBytes != nil || g.LogGroupClass != nil {
			t.Errorf("group = %+v", g)
		}
	})
	t.Run("prefix_and_pattern_are_exclusive", func(t *testing.T) {
		err := second(f.svc.DescribeLogGroups(f.ctx, &api.DescribeLogGroupsInput{LogGroupNamePrefix: s("a"), LogGroupNamePattern: s("b")}))
		if code(err) != "InvalidParameterException" {
			t.Errorf("err = %v", err)
		}
	})
}

func TestDescribeLogGroupsPages(t *testing.T) {
	f := newFixture(t)
	var want []string
	for i := range 7 {
		n := fmt.Sprintf("g%02d", i)
		f.createGroup(n)
		want = append(want, n)
	}
	var got []string
	var token *string
	pages := 0
	for {
		out := must(f.svc.DescribeLogGroups(f.ctx, &api.DescribeLogGroupsInput{Limit: i32(3), NextToken: token}))
		pages++
		for _, g := range out.LogGroups {
			got = append(got, *g.LogGroupName)
		}
		if out.NextToken == nil {
			break
		}
		token = out.NextToken
		if pages == 2 {
			// A group created behind the cursor is not seen; nothing repeats.
			f.createGroup("g00a")
		}
	}
	if pages != 3 || !slices.Equal(got, want) {
		t.Errorf("%d pages: %q", pages, got)
	}
	err := second(f.svc.DescribeLogGroups(f.ctx, &api.DescribeLogGroupsInput{NextToken: s("bogus!")}))
	if code(err) != "InvalidParameterException" {
		t.Errorf("bad token: %v", err)
	}
}

func TestDeleteLogGroup(t *testing.T) {
	f := newFixture(t)
	f.createGroup("g")
	f.createStream("g", "s")
	f.put("g", "s", start, "hello")
	must(f.svc.DeleteLogGroup(f.ctx, &api.DeleteLogGroupInput{LogGroupName: s("g")}))
	err := second(f.svc.DeleteLogGroup(f.ctx, &api.DeleteLogGroupInput{LogGroupName: s("g")}))
	if code(err) != "ResourceNotFoundException" || message(err) != "The specified log group does not exist." {
		t.Errorf("second delete: %v", err)
	}
	// A group of the same name starts empty.
	f.createGroup("g")
	if out := must(f.svc.DescribeLogStreams(f.ctx, &api.DescribeLogStreamsInput{LogGroupName: s("g")})); len(out.LogStreams) != 0 {
		t.Errorf("streams survived: %+v", out.LogStreams)
	}
	f.createStream("g", "s")
	got := must(f.svc.GetLogEvents(f.ctx, &api.GetLogEventsInput{LogGroupName: s("g"), LogStreamName: s("s")}))
	if len(got.Events) != 0 {
		t.Errorf("events survived: %q", messages(got.Events))
	}
}

func TestDeletionProtection(t *testing.T) {
	f := newFixture(t)
	must(f.svc.CreateLogGroup(f.ctx, &api.CreateLogGroupInput{LogGroupName: s("keep"), DeletionProtectionEnabled: yes()}))
	f.createStream("keep", "s")
	if err := second(f.svc.DeleteLogGroup(f.ctx, &api.DeleteLogGroupInput{LogGroupName: s("keep")})); code(err) != "ValidationException" {
		t.Errorf("DeleteLogGroup: %v", err)
	}
	if err := second(f.svc.DeleteLogStream(f.ctx, &api.DeleteLogStreamInput{LogGroupName: s("keep"), LogStreamName: s("s")})); code(err) != "ValidationException" {
		t.Errorf("DeleteLogStream: %v", err)
	}
	off := false
	must(f.svc.PutLogGroupDeletionProtection(f.ctx, &api.PutLogGroupDeletionProtectionInput{LogGroupIdentifier: s("keep"), DeletionProtectionEnabled: &off}))
	must(f.svc.DeleteLogGroup(f.ctx, &api.DeleteLogGroupInput{LogGroupName: s("keep")}))
}

func TestRegionsAreSeparate(t *testing.T) {
	f := newFixture(t)
	f.createGroup("g")
	other := must(f.svc.DescribeLogGroups(serviceCtx("us-east-1"), &api.DescribeLogGroupsInput{}))
	if len(other.LogGroups) != 0 {
		t.Errorf("us-east-1 sees %d groups", len(other.LogGroups))
	}
	must(f.svc.CreateLogGroup(serviceCtx("us-east-1"), &api.CreateLogGroupInput{LogGroupName: s("g")}))
}
