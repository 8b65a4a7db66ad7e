package logs_test

import (
	"fmt"
	"maps"
	"testing"

	api "github.com/nephele-dev/nephele/internal/api/logs"
)

const groupARN = "arn:aws:logs:eu-west-1:123456789012:log-group:g"

func TestTagResource(t *testing.T) {
	f := newFixture(t)
	must(f.svc.CreateLogGroup(f.ctx, &api.CreateLogGroupInput{LogGroupName: s("g"), Tags: map[string]string{"env": "dev", "team": "a"}}))
	list := func(arn string) map[string]string {
		return must(f.svc.ListTagsForResource(f.ctx, &api.ListTagsForResourceInput{ResourceArn: s(arn)})).Tags
	}
	if got := list(groupARN); !maps.Equal(got, map[string]string{"env": "dev", "team": "a"}) {
		t.Errorf("created with %v", got)
	}
	// Both ARN forms name the group: logGroupArn and arn (with ":*").
	must(f.svc.TagResource(f.ctx, &api.TagResourceInput{ResourceArn: s(groupARN + ":*"), Tags: map[string]string{"env": "prod", "Env": "x"}}))
	must(f.svc.UntagResource(f.ctx, &api.UntagResourceInput{ResourceArn: s(groupARN), TagKeys: []string{"team", "absent"}}))
	want := map[string]string{"env": "prod", "Env": "x"}
	if got := list(groupARN + ":*"); !maps.Equal(got, want) {
		t.Errorf("tags = %v, want %v", got, want)
	}
	if got := must(f.svc.ListTagsLogGroup(f.ctx, &api.ListTagsLogGroupInput{LogGroupName: s("g")})).Tags; !maps.Equal(got, want) {
		t.Errorf("ListTagsLogGroup = %v", got)
	}
}

func TestTagLogGroupLegacy(t *testing.T) {
	f := newFixture(t)
	f.createGroup("g")
	if got := must(f.svc.ListTagsLogGroup(f.ctx, &api.ListTagsLogGroupInput{LogGroupName: s("g")})).Tags; got == nil || len(got) != 0 {
		t.Errorf("untagged group: %v", got)
	}
	must(f.svc.TagLogGroup(f.ctx, &api.TagLogGroupInput{LogGroupName: s("g"), Tags: map[string]string{"a": "1", "b": "2"}}))
	must(f.svc.UntagLogGroup(f.ctx, &api.UntagLogGroupInput{LogGroupName: s("g"), Tags: []string{"a"}}))
	got := must(f.svc.ListTagsForResource(f.ctx, &api.ListTagsForResourceInput{ResourceArn: s(groupARN)})).Tags
	if !maps.Equal(got, map[string]string{"b": "2"}) {
		t.Errorf("tags = %v", got)
	}
}

func TestTagErrors(t *testing.T) {
	f := newFixture(t)
	f.createGroup("g")
	fifty := map[string]string{}
	for i := range 50 {
		fifty[fmt.Sprint("k", i)] = "v"
	}
	must(f.svc.TagResource(f.ctx, &api.TagResourceInput{ResourceArn: s(groupARN), Tags: fifty}))
	tests := []struct {
		name string
		call func() error
		code string
	}{
		{"fifty_first_tag", func() error {
			return second(f.svc.TagResource(f.ctx, &api.TagResourceInput{ResourceArn: s(groupARN), Tags: map[string]string{"one": "more"}}))
		}, "TooManyTagsException"},
		{"replacing_a_tag_at_fifty", func() error {
			return second(f.svc.TagResource(f.ctx, &api.TagResourceInput{ResourceArn: s(groupARN), Tags: map[string]string{"k1": "new"}}))
		}, ""},
		{"missing_group", func() error {
			return second(f.svc.ListTagsForResource(f.ctx, &api.ListTagsForResourceInput{ResourceArn: s(groupARN + "x")}))
		}, "ResourceNotFoundException"},
		{"other_region", func() error {
			return second(f.svc.ListTagsForResource(f.ctx, &api.ListTagsForResourceInput{ResourceArn: s("arn:aws:logs:us-east-1:123456789012:log-group:g")}))
		}, "ResourceNotFoundException"},
		{"destination", func() error {
			return second(f.svc.ListTagsForResource(f.ctx, &api.ListTagsForResourceInput{ResourceArn: s("arn:aws:logs:eu-west-1:123456789012:destination:d")}))
		}, "ResourceNotFoundException"},
		{"not_an_arn", func() error {
			return second(f.svc.TagResource(f.ctx, &api.TagResourceInput{ResourceArn: s("g"), Tags: map[string]string{"a": "b"}}))
		}, "InvalidParameterException"},
		{"legacy_missing_group", func() error {
			return second(f.svc.TagLogGroup(f.ctx, &api.TagLogGroupInput{LogGroupName: s("nope"), Tags: map[string]string{"a": "b"}}))
		}, "ResourceNotFoundException"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.call(); code(err) != tt.code {
				t.Errorf("err = %v, want %q", err, tt.code)
			}
		})
	}
}
