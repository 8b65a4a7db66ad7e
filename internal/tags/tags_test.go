package tags

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/nephele-dev/nephele/internal/awserr"
)

func invalidInput(msg string) error { return awserr.BadRequest("InvalidInput", "%s", msg) }

func TestValidate(t *testing.T) {
	tests := []struct {
		name     string
		rules    Rules
		tags     []Tag
		existing int
		wantMsg  string // substring of the message; "" means valid
	}{
		{"simple_tag_is_valid", Rules{}, []Tag{{"Name", "web"}}, 0, ""},
		{"empty_value_is_valid", Rules{}, []Tag{{"Name", ""}}, 0, ""},
		{"no_tags_is_valid", Rules{}, nil, 0, ""},
		{"allowed_punctuation_and_spaces_are_valid", Rules{}, []Tag{{"a_b.c:d/e=f+g-h@i j", "x y_z.:/=+-@"}}, 0, ""},
		{"unicode_letters_and_digits_are_valid", Rules{}, []Tag{{"Ünïcödé", "日本語٣"}}, 0, ""},
		{"key_of_128_chars_is_valid", Rules{}, []Tag{{strings.Repeat("k", 128), "v"}}, 0, ""},
		{"key_of_128_multibyte_chars_is_valid", Rules{}, []Tag{{strings.Repeat("é", 128), "v"}}, 0, ""},
		{"value_of_256_chars_is_valid", Rules{}, []Tag{{"k", strings.Repeat("v", 256)}}, 0, ""},
		{"empty_key_is_invalid", Rules{}, []Tag{{"", "v"}}, 0,
			"1 validation error detected: Value '' at 'tags.1.member.key' failed to satisfy constraint: Member must have length greater than or equal to 1"},
		{"key_of_129_chars_is_invalid", Rules{}, []Tag{{"ok", ""}, {strings.Repeat("k", 129), "v"}}, 0,
			"at 'tags.2.member.key' failed to satisfy constraint: Member must have length less than or equal to 128"},
		{"value_of_257_chars_is_invalid", Rules{}, []Tag{{"k", strings.Repeat("v", 257)}}, 0,
			"at 'tags.1.member.value' failed to satisfy constraint: Member must have length less than or equal to 256"},
		{"aws_prefix_is_reserved", Rules{}, []Tag{{"aws:cloudformation:stack-name", "x"}}, 0,
			"Value 'aws:cloudformation:stack-name' at 'tags.1.member.key' failed to satisfy constraint: Tag keys starting with 'aws:' are reserved"},
		{"aws_prefix_is_reserved_in_any_case", Rules{}, []Tag{{"AWS:Foo", "x"}}, 0, "reserved for internal use"},
		{"aws_without_colon_is_allowed", Rules{}, []Tag{{"awsome", "x"}}, 0, ""},
		{"aws_prefix_is_reserved_even_in_ec2", Rules{AnyCharacters: true}, []Tag{{"Aws:x", "y"}}, 0, "reserved for internal use"},
		{"parenthesis_in_key_is_invalid", Rules{}, []Tag{{"Name(1)", "v"}}, 0,
			`Member must satisfy regular expression pattern: [\p{L}\p{Z}\p{N}_.:/=+\-@]+`},
		{"tab_in_value_is_invalid", Rules{}, []Tag{{"k", "a\tb"}}, 0,
			`at 'tags.1.member.value' failed to satisfy constraint: Member must satisfy regular expression pattern: [\p{L}\p{Z}\p{N}_.:/=+\-@]*`},
		{"invalid_utf8_is_invalid", Rules{}, []Tag{{"k\xff", "v"}}, 0, "regular expression pattern"},
		{"ec2_allows_any_character", Rules{AnyCharacters: true}, []Tag{{"Name (prod)", "web #1; \"quoted\"\t!"}}, 0, ""},
		{"ec2_still_limits_key_length", Rules{AnyCharacters: true}, []Tag{{strings.Repeat("k", 129), ""}}, 0, "less than or equal to 128"},
		{"several_violations_are_listed_together", Rules{}, []Tag{{"", "v"}, {"aws:x", strings.Repeat("v", 257)}}, 0,
			"3 validation errors detected: Value '' at 'tags.1.member.key' failed to satisfy constraint: Member must have length greater than or equal to 1; Value 'aws:x' at 'tags.2.member.key'"},
		{"fifty_tags_is_valid", Rules{}, numbered(50), 0, ""},
		{"fifty_one_tags_is_too_many", Rules{}, numbered(51), 0,
			"The maximum number of tags per resource, 50, would be exceeded: the resource would have 51 tags."},
		{"existing_tags_count_toward_the_limit", Rules{}, numbered(10), 41, "would have 51 tags"},
		{"existing_tags_up_to_the_limit_are_valid", Rules{}, numbered(10), 40, ""},
		{"repeated_key_counts_once", Rules{}, append(numbered(50), Tag{"k0", "again"}), 0, ""},
		{"custom_limit_applies", Rules{Max: 10}, numbered(11), 0, "tags per resource, 10,"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.rules.Validate(tt.tags, tt.existing, invalidInput)
			if tt.wantMsg == "" {
				if err != nil {
					t.Fatalf("Validate = %v, want nil", err)
				}
				return
			}
			var ae *awserr.Error
			if !errors.As(err, &ae) {
				t.Fatalf("Validate = %v, want *awserr.Error", err)
			}
			if ae.Code != "InvalidInput" || ae.Status != 400 {
				t.Errorf("code, status = %s, %d; want InvalidInput, 400", ae.Code, ae.Status)
			}
			if !strings.Contains(ae.Message, tt.wantMsg) {
				t.Errorf("message = %q\nwant it to contain %q", ae.Message, tt.wantMsg)
			}
		})
	}
}

func TestValidateUsesCommonRules(t *testing.T) {
	if err := Validate([]Tag{{"Name (prod)", "v"}}, 0, invalidInput); err == nil {
		t.Fatal("Validate accepted '(' in a key; the common rules forbid it")
	}
	if err := Validate(numbered(MaxPerResource), 1, invalidInput); err == nil {
		t.Fatal("Validate accepted 51 tags")
	}
}

func TestLimitErrBuildsTheCountError(t *testing.T) {
	limit := func(msg string) error { return awserr.BadRequest("TagLimitExceeded", "%s", msg) }
	r := Rules{AnyCharacters: true, LimitErr: limit}
	err := r.Validate(numbered(5), 48, invalidInput)
	var ae *awserr.Error
	if !errors.As(err, &ae) || ae.Code != "TagLimitExceeded" {
		t.Fatalf("too many tags: %v, want TagLimitExceeded", err)
	}
	err = r.Validate([]Tag{{"", ""}}, 0, invalidInput)
	if !errors.As(err, &ae) || ae.Code != "InvalidInput" {
		t.Fatalf("empty key: %v, want InvalidInput from errf", err)
	}
}

func TestValidateReportsAtMostTenViolations(t *testing.T) {
	var ts []Tag
	for range 15 {
		ts = append(ts, Tag{"", ""})
	}
	err := Validate(ts, 0, invalidInput)
	msg := err.(*awserr.Error).Message
	if !strings.HasPrefix(msg, "15 validation errors detected: ") {
		t.Errorf("message starts %q", msg[:40])
	}
	if n := strings.Count(msg, "failed to satisfy constraint"); n != maxReported {
		t.Errorf("%d violations listed, want %d", n, maxReported)
	}
}

func numbered(n int) []Tag {
	ts := make([]Tag, n)
	for i := range ts {
		ts[i] = Tag{Key: fmt.Sprintf("k%d", i), Value: "v"}
	}
	return ts
}
