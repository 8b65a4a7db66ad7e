package filter

import (
	"errors"
	"slices"
	"testing"

	"github.com/nephele-dev/nephele/internal/awserr"
)

type instance struct {
	ID    string
	State string
	SGs   []string
	Tags  map[string]string
}

var instances = []instance{
	{ID: "i-1", State: "running", SGs: []string{"sg-a", "sg-b"}, Tags: map[string]string{"Name": "web-1", "env": "prod"}},
	{ID: "i-2", State: "stopped", SGs: []string{"sg-b"}, Tags: map[string]string{"Name": "web-2", "env": "dev"}},
	{ID: "i-3", State: "running", SGs: []string{"sg-c"}, Tags: map[string]string{"Name": "db-1", "team": "data"}},
	{ID: "i-4", State: "pending"},
}

var instanceFields = Fields[instance]{
	"instance-id":         func(i instance) []string { return []string{i.ID} },
	"instance-state-name": func(i instance) []string { return []string{i.State} },
	"instance.group-id":   func(i instance) []string { return i.SGs },
}

func instanceTags(i instance) map[string]string { return i.Tags }

func ids(is []instance) []string {
	out := []string{}
	for _, i := range is {
		out = append(out, i.ID)
	}
	return out
}

func TestApply(t *testing.T) {
	tests := []struct {
		name    string
		filters []Filter
		want    []string
	}{
		{"no_filters_keep_everything", nil, []string{"i-1", "i-2", "i-3", "i-4"}},
		{"one_value_selects_equal_field", []Filter{{"instance-state-name", []string{"running"}}}, []string{"i-1", "i-3"}},
		{"values_of_one_filter_are_ORed", []Filter{{"instance-state-name", []string{"stopped", "pending"}}}, []string{"i-2", "i-4"}},
		{"filters_are_ANDed", []Filter{
			{"instance-state-name", []string{"running"}},
			{"instance.group-id", []string{"sg-b"}},
		}, []string{"i-1"}},
		{"multi_valued_field_matches_any_of_its_values", []Filter{{"instance.group-id", []string{"sg-b"}}}, []string{"i-1", "i-2"}},
		{"wildcard_value", []Filter{{"instance-state-name", []string{"*ing"}}}, []string{"i-1", "i-3", "i-4"}},
		{"no_match_gives_empty_result", []Filter{{"instance-id", []string{"i-9"}}}, []string{}},
		{"tag_filter_matches_tag_value", []Filter{{"tag:Name", []string{"web-*"}}}, []string{"i-1", "i-2"}},
		{"tag_filter_key_is_case_sensitive", []Filter{{"tag:name", []string{"*"}}}, []string{}},
		{"tag_filter_star_requires_the_tag", []Filter{{"tag:env", []string{"*"}}}, []string{"i-1", "i-2"}},
		{"tag_filter_empty_value_matches_empty_tag_only", []Filter{{"tag:env", []string{""}}}, []string{}},
		{"tag_key_filter_matches_any_key", []Filter{{"tag-key", []string{"te*"}}}, []string{"i-3"}},
		{"tag_value_filter_matches_any_value", []Filter{{"tag-value", []string{"prod", "data"}}}, []string{"i-1", "i-3"}},
		{"tag_and_field_filters_combine", []Filter{
			{"tag:Name", []string{"web-?"}},
			{"instance-state-name", []string{"stopped"}},
		}, []string{"i-2"}},
		{"resource_without_tags_matches_no_tag_filter", []Filter{{"tag-key", []string{"*"}}}, []string{"i-1", "i-2", "i-3"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Apply(instances, tt.filters, instanceFields, instanceTags)
			if err != nil {
				t.Fatalf("Apply: %v", err)
			}
			if !slices.Equal(ids(got), tt.want) {
				t.Fatalf("Apply = %v, want %v", ids(got), tt.want)
			}
		})
	}
}

func TestApplyFieldsTakePrecedenceOverTagFilters(t *testing.T) {
	fields := Fields[instance]{"tag-key": func(instance) []string { return []string{"custom"} }}
	got, err := Apply(instances, []Filter{{"tag-key", []string{"custom"}}}, fields, instanceTags)
	if err != nil || len(got) != len(instances) {
		t.Fatalf("Apply = %v, %v; want every instance through the custom field", ids(got), err)
	}
}

func TestApplyDoesNotModifyItems(t *testing.T) {
	items := slices.Clone(instances)
	got, err := Apply(items, []Filter{{"instance-state-name", []string{"running"}}}, instanceFields, instanceTags)
	if err != nil {
		t.Fatal(err)
	}
	got[0].ID = "changed"
	if !slices.EqualFunc(items, instances, func(a, b instance) bool { return a.ID == b.ID }) {
		t.Fatalf("items changed: %v", ids(items))
	}
}

func TestApplyErrors(t *testing.T) {
	tests := []struct {
		name    string
		items   []instance
		filters []Filter
		tagsOf  func(instance) map[string]string
		wantMsg string
	}{
		{"unknown_name", instances, []Filter{{"instance-colour", []string{"red"}}}, instanceTags,
			"The filter 'instance-colour' is invalid"},
		{"unknown_name_fails_on_empty_list", nil, []Filter{{"bogus", []string{"x"}}}, instanceTags,
			"The filter 'bogus' is invalid"},
		{"unknown_name_after_valid_ones", instances, []Filter{
			{"instance-id", []string{"i-1"}},
			{"Instance-Id", []string{"i-1"}},
		}, instanceTags, "The filter 'Instance-Id' is invalid"},
		{"tag_filter_on_untagged_resource_type", instances, []Filter{{"tag:Name", []string{"x"}}}, nil,
			"The filter 'tag:Name' is invalid"},
		{"tag_key_filter_on_untagged_resource_type", instances, []Filter{{"tag-key", []string{"x"}}}, nil,
			"The filter 'tag-key' is invalid"},
		{"filter_without_values", instances, []Filter{{"instance-id", nil}}, instanceTags,
			"The filter 'instance-id' requires at least one value"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Apply(tt.items, tt.filters, instanceFields, tt.tagsOf)
			var ae *awserr.Error
			if !errors.As(err, &ae) {
				t.Fatalf("Apply = %v, %v; want *awserr.Error", ids(got), err)
			}
			if ae.Code != "InvalidParameterValue" || ae.Status != 400 || ae.Receiver {
				t.Errorf("error = %s %d receiver=%v; want InvalidParameterValue 400 sender", ae.Code, ae.Status, ae.Receiver)
			}
			if ae.Message != tt.wantMsg {
				t.Errorf("message = %q, want %q", ae.Message, tt.wantMsg)
			}
		})
	}
}

func BenchmarkApply(b *testing.B) {
	items := make([]instance, 0, 1000)
	for range 250 {
		items = append(items, instances...)
	}
	filters := []Filter{{"tag:Name", []string{"web-*"}}, {"instance-state-name", []string{"running", "stopped"}}}
	for b.Loop() {
		if _, err := Apply(items, filters, instanceFields, instanceTags); err != nil {
			b.Fatal(err)
		}
	}
}
