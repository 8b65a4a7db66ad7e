package iam_test

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	api "github.com/nephele-dev/nephele/internal/api/iam"
)

func (f *fixture) ipCreate(name, path string) *api.InstanceProfile {
	f.t.Helper()
	in := &api.CreateInstanceProfileInput{InstanceProfileName: s(name)}
	if path != "" {
		in.Path = s(path)
	}
	return must(f.svc.CreateInstanceProfile(f.ctx, in)).InstanceProfile
}

func (f *fixture) ipAddRole(profile, role string) {
	f.t.Helper()
	must(f.svc.AddRoleToInstanceProfile(f.ctx, &api.AddRoleToInstanceProfileInput{InstanceProfileName: s(profile), RoleName: s(role)}))
}

func (f *fixture) ipGet(name string) *api.InstanceProfile {
	f.t.Helper()
	return must(f.svc.GetInstanceProfile(f.ctx, &api.GetInstanceProfileInput{InstanceProfileName: s(name)})).InstanceProfile
}

// ipNames lists instance profile names in order.
func ipNames(ps []api.InstanceProfile) []string {
	names := []string{}
	for _, p := range ps {
		names = append(names, *p.InstanceProfileName)
	}
	return names
}

func TestCreateInstanceProfile(t *testing.T) {
	f := newFixture(t)
	p := must(f.svc.CreateInstanceProfile(f.ctx, &api.CreateInstanceProfileInput{
		InstanceProfileName: s("web"), Path: s("/app/"), Tags: []api.Tag{{Key: s("env"), Value: s("dev")}},
	})).InstanceProfile
	if got, want := *p.Arn, "arn:aws:iam::123456789012:instance-profile/app/web"; got != want {
		t.Errorf("Arn = %s, want %s", got, want)
	}
	if !strings.HasPrefix(*p.InstanceProfileId, "AIPA") || len(*p.InstanceProfileId) != 21 {
		t.Errorf("InstanceProfileId = %s, want AIPA and 17 more characters", *p.InstanceProfileId)
	}
	if !p.CreateDate.Equal(start) || *p.Path != "/app/" || *p.InstanceProfileName != "web" || len(p.Tags) != 1 {
		t.Errorf("profile = %+v", p)
	}
	// Roles is sent even when empty: SDKs index it.
	if p.Roles == nil || len(p.Roles) != 0 {
		t.Errorf("Roles = %v, want an empty (not nil) list", p.Roles)
	}

	got := f.ipGet("WEB")
	if *got.InstanceProfileId != *p.InstanceProfileId || *got.Arn != *p.Arn || len(got.Tags) != 1 || got.Roles == nil {
		t.Errorf("GetInstanceProfile in another case = %+v", got)
	}
	plain := f.ipCreate("plain", "")
	if *plain.Path != "/" || *plain.Arn != "arn:aws:iam::123456789012:instance-profile/plain" || plain.Tags != nil {
		t.Errorf("default path: %+v", plain)
	}
}

func TestInstanceProfileErrors(t *testing.T) {
	f := newFixture(t)
	f.ipCreate("full", "")
	f.ipCreate("empty", "")
	f.createRole("r")
	f.createRole("r2")
	f.ipAddRole("full", "r")

	tests := []struct {
		name   string
		err    error
		code   string
		status int
		msg    string
	}{
		{"create_duplicate", second(f.svc.CreateInstanceProfile(f.ctx, &api.CreateInstanceProfileInput{InstanceProfileName: s("full")})),
			"EntityAlreadyExists", http.StatusConflict, "Instance Profile full already exists."},
		{"create_duplicate_other_case", second(f.svc.CreateInstanceProfile(f.ctx, &api.CreateInstanceProfileInput{InstanceProfileName: s("FULL")})),
			"EntityAlreadyExists", http.StatusConflict, "Instance Profile FULL already exists."},
		{"create_reserved_tag", second(f.svc.CreateInstanceProfile(f.ctx, &api.CreateInstanceProfileInput{InstanceProfileName: s("t"), Tags: []api.Tag{{Key: s("aws:x"), Value: s("v")}}})),
			"InvalidInput", http.StatusBadRequest, ""},
		{"get_missing", second(f.svc.GetInstanceProfile(f.ctx, &api.GetInstanceProfileInput{InstanceProfileName: s("ghost")})),
			"NoSuchEntity", http.StatusNotFound, "Instance Profile ghost cannot be found."},
		{"delete_missing", second(f.svc.DeleteInstanceProfile(f.ctx, &api.DeleteInstanceProfileInput{InstanceProfileName: s("ghost")})),
			"NoSuchEntity", http.StatusNotFound, "Instance Profile ghost cannot be found."},
		{"add_to_missing_profile", second(f.svc.AddRoleToInstanceProfile(f.ctx, &api.AddRoleToInstanceProfileInput{InstanceProfileName: s("ghost"), RoleName: s("r2")})),
			"NoSuchEntity", http.StatusNotFound, "Instance Profile ghost cannot be found."},
		{"add_missing_role", second(f.svc.AddRoleToInstanceProfile(f.ctx, &api.AddRoleToInstanceProfileInput{InstanceProfileName: s("empty"), RoleName: s("ghost")})),
			"NoSuchEntity", http.StatusNotFound, "The role with name ghost cannot be found."},
		// An instance profile holds one role, a quota that cannot be raised.
		{"add_second_role", second(f.svc.AddRoleToInstanceProfile(f.ctx, &api.AddRoleToInstanceProfileInput{InstanceProfileName: s("full"), RoleName: s("r2")})),
			"LimitExceeded", http.StatusConflict, "Cannot exceed quota for InstanceSessionsPerInstanceProfile: 1"},
		{"add_same_role_again", second(f.svc.AddRoleToInstanceProfile(f.ctx, &api.AddRoleToInstanceProfileInput{InstanceProfileName: s("full"), RoleName: s("r")})),
			"LimitExceeded", http.StatusConflict, "Cannot exceed quota for InstanceSessionsPerInstanceProfile: 1"},
		{"remove_from_missing_profile", second(f.svc.RemoveRoleFromInstanceProfile(f.ctx, &api.RemoveRoleFromInstanceProfileInput{InstanceProfileName: s("ghost"), RoleName: s("r")})),
			"NoSuchEntity", http.StatusNotFound, "Instance Profile ghost cannot be found."},
		{"remove_role_not_in_profile", second(f.svc.RemoveRoleFromInstanceProfile(f.ctx, &api.RemoveRoleFromInstanceProfileInput{InstanceProfileName: s("full"), RoleName: s("r2")})),
			"NoSuchEntity", http.StatusNotFound, "The role with name r2 cannot be found."},
		{"list_for_missing_role", second(f.svc.ListInstanceProfilesForRole(f.ctx, &api.ListInstanceProfilesForRoleInput{RoleName: s("ghost")})),
			"NoSuchEntity", http.StatusNotFound, "The role with name ghost cannot be found."},
		{"tag_missing_profile", second(f.svc.TagInstanceProfile(f.ctx, &api.TagInstanceProfileInput{InstanceProfileName: s("ghost"), Tags: []api.Tag{{Key: s("k"), Value: s("v")}}})),
			"NoSuchEntity", http.StatusNotFound, "Instance Profile ghost cannot be found."},
		{"list_tags_missing_profile", second(f.svc.ListInstanceProfileTags(f.ctx, &api.ListInstanceProfileTagsInput{InstanceProfileName: s("ghost")})),
			"NoSuchEntity", http.StatusNotFound, "Instance Profile ghost cannot be found."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if code(tt.err) != tt.code || status(tt.err) != tt.status || (tt.msg != "" && message(tt.err) != tt.msg) {
				t.Errorf("err = %v (status %d), want %s %d %q", tt.err, status(tt.err), tt.code, tt.status, tt.msg)
			}
		})
	}
	// The failed calls changed nothing.
	if p := f.ipGet("full"); len(p.Roles) != 1 || *p.Roles[0].RoleName != "r" {
		t.Errorf("full profile's roles = %+v", p.Roles)
	}
	if _, err := f.svc.GetInstanceProfile(f.ctx, &api.GetInstanceProfileInput{InstanceProfileName: s("t")}); code(err) != "NoSuchEntity" {
		t.Errorf("profile created despite a bad tag: %v", err)
	}
}

func TestInstanceProfileRoleLifecycle(t *testing.T) {
	f := newFixture(t)
	must(f.svc.CreateRole(f.ctx, &api.CreateRoleInput{RoleName: s("Worker"), Path: s("/svc/"), AssumeRolePolicyDocument: s(trustPolicy),
		Description: s("runs jobs"), Tags: []api.Tag{{Key: s("k"), Value: s("v")}}}))
	f.ipCreate("ip", "")
	// Role names are not case sensitive; the profile keeps the role's own
	// spelling.
	f.ipAddRole("IP", "worker")

	p := f.ipGet("ip")
	if len(p.Roles) != 1 {
		t.Fatalf("Roles = %+v, want the role", p.Roles)
	}
	r := p.Roles[0]
	if *r.RoleName != "Worker" || *r.Arn != "arn:aws:iam::123456789012:role/svc/Worker" || !strings.HasPrefix(*r.RoleId, "AROA") ||
		*r.Path != "/svc/" || *r.Description != "runs jobs" || !r.CreateDate.Equal(start) {
		t.Errorf("role in profile = %+v", r)
	}
	// The role comes whole with its trust policy, URL-encoded, as IAM
	// embeds it; listing attributes such as Tags are left out.
	if decode(t, r.AssumeRolePolicyDocument) != trustPolicy {
		t.Errorf("AssumeRolePolicyDocument = %s", decode(t, r.AssumeRolePolicyDocument))
	}
	if r.Tags != nil || r.RoleLastUsed != nil {
		t.Errorf("role in profile has Tags or RoleLastUsed: %+v", r)
	}

	_, err := f.svc.DeleteInstanceProfile(f.ctx, &api.DeleteInstanceProfileInput{InstanceProfileName: s("ip")})
	if code(err) != "DeleteConflict" || status(err) != http.StatusConflict || message(err) != "Cannot delete entity, must remove roles from instance profile first." {
		t.Errorf("DeleteInstanceProfile with a role: %v", err)
	}
	_, err = f.svc.DeleteRole(f.ctx, &api.DeleteRoleInput{RoleName: s("Worker")})
	if code(err) != "DeleteConflict" || status(err) != http.StatusConflict || message(err) != "Cannot delete entity, must remove roles from instance profile first." {
		t.Errorf("DeleteRole of a role in a profile: %v", err)
	}

	must(f.svc.RemoveRoleFromInstanceProfile(f.ctx, &api.RemoveRoleFromInstanceProfileInput{InstanceProfileName: s("ip"), RoleName: s("WORKER")}))
	if p := f.ipGet("ip"); p.Roles == nil || len(p.Roles) != 0 {
		t.Errorf("Roles after removal = %+v, want an empty list", p.Roles)
	}
	// The profile takes a role again once emptied.
	f.createRole("other")
	f.ipAddRole("ip", "other")
	must(f.svc.RemoveRoleFromInstanceProfile(f.ctx, &api.RemoveRoleFromInstanceProfileInput{InstanceProfileName: s("ip"), RoleName: s("other")}))

	must(f.svc.DeleteRole(f.ctx, &api.DeleteRoleInput{RoleName: s("Worker")}))
	must(f.svc.DeleteInstanceProfile(f.ctx, &api.DeleteInstanceProfileInput{InstanceProfileName: s("IP")}))
	if _, err := f.svc.GetInstanceProfile(f.ctx, &api.GetInstanceProfileInput{InstanceProfileName: s("ip")}); code(err) != "NoSuchEntity" {
		t.Errorf("GetInstanceProfile after delete: %v", err)
	}
	// The name is free again.
	f.ipCreate("ip", "")
}

func TestListInstanceProfiles(t *testing.T) {
	f := newFixture(t)
	for _, n := range []string{"echo", "Alpha", "delta", "bravo", "charlie"} {
		f.ipCreate(n, "")
	}
	must(f.svc.CreateInstanceProfile(f.ctx, &api.CreateInstanceProfileInput{InstanceProfileName: s("svc"), Path: s("/service/"),
		Tags: []api.Tag{{Key: s("k"), Value: s("v")}}}))
	f.createRole("r")
	f.ipAddRole("svc", "r")

	pages := listPages(t, func(marker *string) ([]string, *bool, *string) {
		out := must(f.svc.ListInstanceProfiles(f.ctx, &api.ListInstanceProfilesInput{MaxItems: i32(2), Marker: marker}))
		for _, p := range out.InstanceProfiles {
			// Listings leave out Tags but keep the roles.
			if p.Tags != nil {
				t.Errorf("ListInstanceProfiles returned Tags for %s", *p.InstanceProfileName)
			}
			if p.Roles == nil {
				t.Errorf("%s: Roles missing", *p.InstanceProfileName)
			}
		}
		return ipNames(out.InstanceProfiles), out.IsTruncated, out.Marker
	})
	if got, want := fmt.Sprint(pages), "[[Alpha bravo] [charlie delta] [echo svc]]"; got != want {
		t.Errorf("pages = %s, want %s", got, want)
	}

	out := must(f.svc.ListInstanceProfiles(f.ctx, &api.ListInstanceProfilesInput{PathPrefix: s("/service/")}))
	if len(out.InstanceProfiles) != 1 || *out.IsTruncated {
		t.Fatalf("PathPrefix /service/ = %v", ipNames(out.InstanceProfiles))
	}
	if p := out.InstanceProfiles[0]; *p.InstanceProfileName != "svc" || len(p.Roles) != 1 || *p.Roles[0].RoleName != "r" ||
		decode(t, p.Roles[0].AssumeRolePolicyDocument) != trustPolicy {
		t.Errorf("svc in list = %+v", p)
	}
	if out := must(f.svc.ListInstanceProfiles(f.ctx, &api.ListInstanceProfilesInput{PathPrefix: s("/none/")})); out.InstanceProfiles == nil || len(out.InstanceProfiles) != 0 {
		t.Errorf("PathPrefix /none/ = %+v, want an empty (not nil) list", out.InstanceProfiles)
	}
	if _, err := f.svc.ListInstanceProfiles(f.ctx, &api.ListInstanceProfilesInput{Marker: s("not-a-marker!")}); code(err) != "InvalidInput" {
		t.Errorf("bad marker: %v", err)
	}
}

func TestListInstanceProfilesForRole(t *testing.T) {
	f := newFixture(t)
	f.createRole("r")
	f.createRole("other")
	for _, n := range []string{"c", "a", "b"} {
		f.ipCreate(n, "")
		f.ipAddRole(n, "r")
	}
	f.ipCreate("d", "")
	f.ipAddRole("d", "other")
	f.ipCreate("e", "")

	pages := listPages(t, func(marker *string) ([]string, *bool, *string) {
		out := must(f.svc.ListInstanceProfilesForRole(f.ctx, &api.ListInstanceProfilesForRoleInput{RoleName: s("R"), MaxItems: i32(2), Marker: marker}))
		for _, p := range out.InstanceProfiles {
			if len(p.Roles) != 1 || *p.Roles[0].RoleName != "r" {
				t.Errorf("%s roles = %+v", *p.InstanceProfileName, p.Roles)
			}
		}
		return ipNames(out.InstanceProfiles), out.IsTruncated, out.Marker
	})
	if got, want := fmt.Sprint(pages), "[[a b] [c]]"; got != want {
		t.Errorf("pages = %s, want %s", got, want)
	}
	none := must(f.svc.ListInstanceProfilesForRole(f.ctx, &api.ListInstanceProfilesForRoleInput{RoleName: s("other")}))
	if !slices.Equal(ipNames(none.InstanceProfiles), []string{"d"}) {
		t.Errorf("profiles of other = %v", ipNames(none.InstanceProfiles))
	}
	f.createRole("lonely")
	empty := must(f.svc.ListInstanceProfilesForRole(f.ctx, &api.ListInstanceProfilesForRoleInput{RoleName: s("lonely")}))
	if empty.InstanceProfiles == nil || len(empty.InstanceProfiles) != 0 || *empty.IsTruncated {
		t.Errorf("profiles of a role in none = %+v, want an empty (not nil) list", empty)
	}
}

func TestInstanceProfileTags(t *testing.T) {
	f := newFixture(t)
	must(f.svc.CreateInstanceProfile(f.ctx, &api.CreateInstanceProfileInput{InstanceProfileName: s("ip"),
		Tags: []api.Tag{{Key: s("b"), Value: s("1")}, {Key: s("a"), Value: s("2")}}}))
	must(f.svc.TagInstanceProfile(f.ctx, &api.TagInstanceProfileInput{InstanceProfileName: s("ip"), Tags: []api.Tag{{Key: s("B"), Value: s("3")}, {Key: s("c"), Value: s("4")}}}))
	must(f.svc.UntagInstanceProfile(f.ctx, &api.UntagInstanceProfileInput{InstanceProfileName: s("IP"), TagKeys: []string{"a", "missing"}}))
	out := must(f.svc.ListInstanceProfileTags(f.ctx, &api.ListInstanceProfileTagsInput{InstanceProfileName: s("ip")}))
	var got []string
	for _, tg := range out.Tags {
		got = append(got, *tg.Key+"="+*tg.Value)
	}
	if strings.Join(got, ",") != "B=3,c=4" || *out.IsTruncated {
		t.Errorf("tags = %v", got)
	}
	if p := f.ipGet("ip"); len(p.Tags) != 2 {
		t.Errorf("GetInstanceProfile Tags = %v", p.Tags)
	}

	page := must(f.svc.ListInstanceProfileTags(f.ctx, &api.ListInstanceProfileTagsInput{InstanceProfileName: s("ip"), MaxItems: i32(1)}))
	if len(page.Tags) != 1 || *page.Tags[0].Key != "B" || !*page.IsTruncated || page.Marker == nil {
		t.Fatalf("page 1 = %+v", page)
	}
	page = must(f.svc.ListInstanceProfileTags(f.ctx, &api.ListInstanceProfileTagsInput{InstanceProfileName: s("ip"), MaxItems: i32(1), Marker: page.Marker}))
	if len(page.Tags) != 1 || *page.Tags[0].Key != "c" || *page.IsTruncated {
		t.Errorf("page 2 = %+v", page)
	}

	var many []api.Tag
	for i := range 49 {
		many = append(many, api.Tag{Key: s(fmt.Sprintf("k%02d", i)), Value: s("v")})
	}
	if _, err := f.svc.TagInstanceProfile(f.ctx, &api.TagInstanceProfileInput{InstanceProfileName: s("ip"), Tags: many}); code(err) != "LimitExceeded" {
		t.Errorf("51 tags: %v, want LimitExceeded", err)
	}
	if _, err := f.svc.TagInstanceProfile(f.ctx, &api.TagInstanceProfileInput{InstanceProfileName: s("ip"), Tags: []api.Tag{{Key: s("aws:x"), Value: s("v")}}}); code(err) != "InvalidInput" {
		t.Errorf("aws: tag: %v, want InvalidInput", err)
	}
	if out := must(f.svc.ListInstanceProfileTags(f.ctx, &api.ListInstanceProfileTagsInput{InstanceProfileName: s("ip")})); len(out.Tags) != 2 {
		t.Errorf("tags after rejected changes = %v", out.Tags)
	}
	f.ipCreate("bare", "")
	bare := must(f.svc.ListInstanceProfileTags(f.ctx, &api.ListInstanceProfileTagsInput{InstanceProfileName: s("bare")}))
	if bare.Tags == nil || len(bare.Tags) != 0 || *bare.IsTruncated {
		t.Errorf("tags of an untagged profile = %+v, want an empty (not nil) list", bare)
	}
}
