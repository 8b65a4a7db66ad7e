package validate_test

import (
	"strings"
	"testing"

	iamapi "github.com/nephele-dev/nephele/internal/api/iam"
	"github.com/nephele-dev/nephele/internal/api/validate"
)

func s(v string) *string { return &v }
func i32(v int32) *int32 { return &v }

// validRole is a CreateRole input that breaks no constraint; each case
// changes one thing.
func validRole() *iamapi.CreateRoleInput {
	return &iamapi.CreateRoleInput{RoleName: s("web"), AssumeRolePolicyDocument: s("{}")}
}

// TestInput checks each kind of model constraint against the real IAM
// model, with the message AWS's Coral front end writes for it.
func TestInput(t *testing.T) {
	tests := []struct {
		name   string
		change func(*iamapi.CreateRoleInput)
		want   string // the whole message; "" means valid
	}{
		{"valid", func(*iamapi.CreateRoleInput) {}, ""},
		{"required_missing", func(in *iamapi.CreateRoleInput) { in.RoleName = nil },
			"1 validation error detected: Value null at 'roleName' failed to satisfy constraint: Member must not be null"},
		{"string_too_short", func(in *iamapi.CreateRoleInput) { in.RoleName = s("") },
			"2 validation errors detected: Value '' at 'roleName' failed to satisfy constraint: Member must have length greater than or equal to 1; " +
				"Value '' at 'roleName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]+"},
		{"string_too_long", func(in *iamapi.CreateRoleInput) { in.RoleName = s(strings.Repeat("r", 65)) },
			"1 validation error detected: Value '" + strings.Repeat("r", 65) + "' at 'roleName' failed to satisfy constraint: Member must have length less than or equal to 64"},
		{"length_counts_characters_not_bytes", func(in *iamapi.CreateRoleInput) { in.Description = s(strings.Repeat("é", 1000)) }, ""},
		{"pattern", func(in *iamapi.CreateRoleInput) { in.RoleName = s("has space") },
			"1 validation error detected: Value 'has space' at 'roleName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]+"},
		{"pattern_matches_whole_value", func(in *iamapi.CreateRoleInput) { in.Path = s("/a/b") },
			"1 validation error detected: Value '/a/b' at 'path' failed to satisfy constraint: Member must satisfy regular expression pattern: (\\u002F)|(\\u002F[\\u0021-\\u007E]+\\u002F)"},
		{"java_unicode_escapes", func(in *iamapi.CreateRoleInput) { in.Path = s("/a/b/") }, ""},
		{"range_low", func(in *iamapi.CreateRoleInput) { in.MaxSessionDuration = i32(60) },
			"1 validation error detected: Value 60 at 'maxSessionDuration' failed to satisfy constraint: Member must have value greater than or equal to 3600"},
		{"range_high", func(in *iamapi.CreateRoleInput) { in.MaxSessionDuration = i32(43201) },
			"1 validation error detected: Value 43201 at 'maxSessionDuration' failed to satisfy constraint: Member must have value less than or equal to 43200"},
		{"nested_list_member_path", func(in *iamapi.CreateRoleInput) {
			in.Tags = []iamapi.Tag{{Key: s("ok"), Value: s("v")}, {Value: s("v")}}
		},
			"1 validation error detected: Value null at 'tags.2.member.key' failed to satisfy constraint: Member must not be null"},
		{"empty_list_is_present_and_valid", func(in *iamapi.CreateRoleInput) { in.Tags = []iamapi.Tag{} }, ""},
		{"several_violations_counted", func(in *iamapi.CreateRoleInput) { in.RoleName, in.AssumeRolePolicyDocument = nil, nil },
			"2 validation errors detected: Value null at 'assumeRolePolicyDocument' failed to satisfy constraint: Member must not be null; " +
				"Value null at 'roleName' failed to satisfy constraint: Member must not be null"},
	}
	sh := iamapi.Model().Operations["CreateRole"].Input.Shape
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := validRole()
			tt.change(in)
			vs := validate.Input(in, sh)
			got := ""
			if len(vs) > 0 {
				got = validate.Message(vs)
			}
			if got != tt.want {
				t.Errorf("message\n got: %s\nwant: %s", got, tt.want)
			}
		})
	}
}

// TestInputReportsMissingMembers checks the Missing flag and top-level
// member name that services with their own missing-parameter error (EC2's
// MissingParameter) read.
func TestInputReportsMissingMembers(t *testing.T) {
	in := validRole()
	in.Tags = []iamapi.Tag{{Value: s("v")}}
	vs := validate.Input(in, iamapi.Model().Operations["CreateRole"].Input.Shape)
	if len(vs) != 1 || !vs[0].Missing || vs[0].Member != "Tags" || vs[0].Path != "tags.1.member.key" {
		t.Fatalf("violations = %+v, want one missing Tags key", vs)
	}
}

// TestInputCapsViolations checks that a pathological input reports a
// bounded number of violations rather than one per element.
func TestInputCapsViolations(t *testing.T) {
	in := validRole()
	for range 200 {
		in.Tags = append(in.Tags, iamapi.Tag{})
	}
	vs := validate.Input(in, iamapi.Model().Operations["CreateRole"].Input.Shape)
	if len(vs) == 0 || len(vs) > 10 {
		t.Fatalf("%d violations, want between 1 and 10", len(vs))
	}
}
