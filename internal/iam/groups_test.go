package iam_test

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	api "github.com/nephele-dev/nephele/internal/api/iam"
)

// grpCreate creates a group at the root path.
func (f *fixture) grpCreate(name string) *api.Group {
	f.t.Helper()
	return must(f.svc.CreateGroup(f.ctx, &api.CreateGroupInput{GroupName: s(name)})).Group
}

// grpAdd adds a user to a group.
func (f *fixture) grpAdd(group, user string) {
	f.t.Helper()
	must(f.svc.AddUserToGroup(f.ctx, &api.AddUserToGroupInput{GroupName: s(group), UserName: s(user)}))
}

// grpMembers lists the names of a group's members, and the group's name.
func (f *fixture) grpMembers(group string) (name string, members []string) {
	f.t.Helper()
	out := must(f.svc.GetGroup(f.ctx, &api.GetGroupInput{GroupName: s(group)}))
	if out.Users == nil || out.IsTruncated == nil || *out.IsTruncated {
		f.t.Errorf("GetGroup(%s) = %+v, want a complete, non-nil list", group, out)
	}
	for _, u := range out.Users {
		members = append(members, *u.UserName)
	}
	return *out.Group.GroupName, members
}

// grpOfUser lists the names of the groups a user is in.
func (f *fixture) grpOfUser(user string) []string {
	f.t.Helper()
	out := must(f.svc.ListGroupsForUser(f.ctx, &api.ListGroupsForUserInput{UserName: s(user)}))
	if out.Groups == nil || out.IsTruncated == nil || *out.IsTruncated {
		f.t.Errorf("ListGroupsForUser(%s) = %+v, want a complete, non-nil list", user, out)
	}
	var names []string
	for _, g := range out.Groups {
		names = append(names, *g.GroupName)
	}
	return names
}

func TestCreateGroup(t *testing.T) {
	f := newFixture(t)
	g := must(f.svc.CreateGroup(f.ctx, &api.CreateGroupInput{GroupName: s("Admins"), Path: s("/ops/")})).Group
	if got, want := *g.Arn, "arn:aws:iam::123456789012:group/ops/Admins"; got != want {
		t.Errorf("Arn = %s, want %s", got, want)
	}
	if !strings.HasPrefix(*g.GroupId, "AGPA") || len(*g.GroupId) != 21 {
		t.Errorf("GroupId = %s, want AGPA and 17 more characters", *g.GroupId)
	}
	if *g.GroupName != "Admins" || *g.Path != "/ops/" || !g.CreateDate.Equal(start) {
		t.Errorf("group = %+v", g)
	}
	got := must(f.svc.GetGroup(f.ctx, &api.GetGroupInput{GroupName: s("admins")})).Group
	if *got.GroupId != *g.GroupId || *got.Arn != *g.Arn || *got.GroupName != "Admins" {
		t.Errorf("GetGroup = %+v", got)
	}
	if plain := f.grpCreate("plain"); *plain.Path != "/" || *plain.Arn != "arn:aws:iam::123456789012:group/plain" {
		t.Errorf("default path: %s %s", *plain.Path, *plain.Arn)
	}

	tests := []struct {
		name  string
		group string
		msg   string
	}{
		{"duplicate_name", "Admins", "Group with name Admins already exists."},
		{"duplicate_name_other_case", "ADMINS", "Group with name ADMINS already exists."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := f.svc.CreateGroup(f.ctx, &api.CreateGroupInput{GroupName: s(tt.group)})
			usrErr(t, err, "EntityAlreadyExists", http.StatusConflict, tt.msg)
		})
	}
	_, err := f.svc.GetGroup(f.ctx, &api.GetGroupInput{GroupName: s("ghost")})
	usrErr(t, err, "NoSuchEntity", http.StatusNotFound, "The group with name ghost cannot be found.")
}

func TestGroupMembership(t *testing.T) {
	f := newFixture(t)
	f.grpCreate("devs")
	f.grpCreate("ops")
	for _, n := range []string{"carol", "Alice", "bob"} {
		f.usrCreate(n)
	}
	f.grpAdd("devs", "carol")
	f.grpAdd("DEVS", "alice")
	f.grpAdd("devs", "bob")
	f.grpAdd("ops", "bob")
	// Adding a member again changes nothing.
	f.grpAdd("devs", "BOB")

	// Members are listed by name, as created, without tags.
	if name, members := f.grpMembers("devs"); name != "devs" || !slices.Equal(members, []string{"Alice", "bob", "carol"}) {
		t.Errorf("devs members = %v", members)
	}
	if got := f.grpOfUser("bob"); !slices.Equal(got, []string{"devs", "ops"}) {
		t.Errorf("bob's groups = %v", got)
	}
	if got := f.grpOfUser("alice"); !slices.Equal(got, []string{"devs"}) {
		t.Errorf("alice's groups = %v", got)
	}

	// GetGroup pages through the members.
	first := must(f.svc.GetGroup(f.ctx, &api.GetGroupInput{GroupName: s("devs"), MaxItems: i32(2)}))
	if len(first.Users) != 2 || !*first.IsTruncated || first.Marker == nil || first.Group == nil {
		t.Fatalf("first page = %+v", first)
	}
	for _, u := range first.Users {
		if u.Arn == nil || u.UserId == nil || u.Tags != nil {
			t.Errorf("GetGroup member = %+v", u)
		}
	}
	rest := must(f.svc.GetGroup(f.ctx, &api.GetGroupInput{GroupName: s("devs"), MaxItems: i32(2), Marker: first.Marker}))
	if len(rest.Users) != 1 || *rest.Users[0].UserName != "carol" || *rest.IsTruncated {
		t.Errorf("second page = %+v", rest.Users)
	}
	// ListGroupsForUser pages too.
	gp := must(f.svc.ListGroupsForUser(f.ctx, &api.ListGroupsForUserInput{UserName: s("bob"), MaxItems: i32(1)}))
	if len(gp.Groups) != 1 || *gp.Groups[0].GroupName != "devs" || !*gp.IsTruncated {
		t.Errorf("ListGroupsForUser first page = %+v", gp.Groups)
	}

	must(f.svc.RemoveUserFromGroup(f.ctx, &api.RemoveUserFromGroupInput{GroupName: s("devs"), UserName: s("BOB")}))
	if _, members := f.grpMembers("devs"); !slices.Equal(members, []string{"Alice", "carol"}) {
		t.Errorf("devs after removing bob = %v", members)
	}
	if got := f.grpOfUser("bob"); !slices.Equal(got, []string{"ops"}) {
		t.Errorf("bob's groups after removal = %v", got)
	}

	tests := []struct {
		name   string
		err    error
		code   string
		status int
		msg    string
	}{
		{"add_missing_user", second(f.svc.AddUserToGroup(f.ctx, &api.AddUserToGroupInput{GroupName: s("devs"), UserName: s("ghost")})),
			"NoSuchEntity", http.StatusNotFound, "The user with name ghost cannot be found."},
		{"add_to_missing_group", second(f.svc.AddUserToGroup(f.ctx, &api.AddUserToGroupInput{GroupName: s("nogroup"), UserName: s("bob")})),
			"NoSuchEntity", http.StatusNotFound, "The group with name nogroup cannot be found."},
		{"remove_missing_user", second(f.svc.RemoveUserFromGroup(f.ctx, &api.RemoveUserFromGroupInput{GroupName: s("devs"), UserName: s("ghost")})),
			"NoSuchEntity", http.StatusNotFound, "The user with name ghost cannot be found."},
		{"remove_from_missing_group", second(f.svc.RemoveUserFromGroup(f.ctx, &api.RemoveUserFromGroupInput{GroupName: s("nogroup"), UserName: s("bob")})),
			"NoSuchEntity", http.StatusNotFound, "The group with name nogroup cannot be found."},
		{"remove_non_member", second(f.svc.RemoveUserFromGroup(f.ctx, &api.RemoveUserFromGroupInput{GroupName: s("devs"), UserName: s("bob")})),
			"NoSuchEntity", http.StatusNotFound, "The user with name bob is not in group devs."},
		{"groups_of_missing_user", second(f.svc.ListGroupsForUser(f.ctx, &api.ListGroupsForUserInput{UserName: s("ghost")})),
			"NoSuchEntity", http.StatusNotFound, "The user with name ghost cannot be found."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			usrErr(t, tt.err, tt.code, tt.status, tt.msg)
		})
	}
}

func TestGroupsPerUserQuota(t *testing.T) {
	f := newFixture(t)
	f.usrCreate("u")
	for i := range 10 {
		g := fmt.Sprintf("g%02d", i)
		f.grpCreate(g)
		f.grpAdd(g, "u")
	}
	// Re-adding to one of the ten is not an eleventh membership.
	f.grpAdd("g00", "u")
	f.grpCreate("g10")
	_, err := f.svc.AddUserToGroup(f.ctx, &api.AddUserToGroupInput{GroupName: s("g10"), UserName: s("u")})
	usrErr(t, err, "LimitExceeded", http.StatusConflict, "Cannot exceed quota for GroupsPerUser: 10")
	if _, members := f.grpMembers("g10"); len(members) != 0 {
		t.Errorf("g10 members after the refused add = %v", members)
	}
}

func TestUpdateGroup(t *testing.T) {
	f := newFixture(t)
	old := f.grpCreate("devs")
	f.grpCreate("ops")
	f.usrCreate("u")
	f.grpAdd("devs", "u")
	must(f.svc.PutGroupPolicy(f.ctx, &api.PutGroupPolicyInput{GroupName: s("devs"), PolicyName: s("p"), PolicyDocument: s(s3Policy)}))

	must(f.svc.UpdateGroup(f.ctx, &api.UpdateGroupInput{GroupName: s("DEVS"), NewGroupName: s("builders"), NewPath: s("/eng/")}))
	if _, err := f.svc.GetGroup(f.ctx, &api.GetGroupInput{GroupName: s("devs")}); code(err) != "NoSuchEntity" {
		t.Errorf("GetGroup of the old name: %v", err)
	}
	g := must(f.svc.GetGroup(f.ctx, &api.GetGroupInput{GroupName: s("builders")}))
	if *g.Group.Arn != "arn:aws:iam::123456789012:group/eng/builders" || *g.Group.GroupId != *old.GroupId || len(g.Users) != 1 {
		t.Errorf("renamed group = %+v with %d users", g.Group, len(g.Users))
	}
	if got := f.grpOfUser("u"); !slices.Equal(got, []string{"builders"}) {
		t.Errorf("u's groups = %v", got)
	}
	if names := must(f.svc.ListGroupPolicies(f.ctx, &api.ListGroupPoliciesInput{GroupName: s("builders")})).PolicyNames; !slices.Equal(names, []string{"p"}) {
		t.Errorf("policies after rename = %v", names)
	}
	// The old name is free again.
	f.grpCreate("devs")

	// A change of case alone, and a path alone.
	must(f.svc.UpdateGroup(f.ctx, &api.UpdateGroupInput{GroupName: s("builders"), NewGroupName: s("Builders")}))
	must(f.svc.UpdateGroup(f.ctx, &api.UpdateGroupInput{GroupName: s("builders"), NewPath: s("/")}))
	if g := must(f.svc.GetGroup(f.ctx, &api.GetGroupInput{GroupName: s("builders")})).Group; *g.Arn != "arn:aws:iam::123456789012:group/Builders" {
		t.Errorf("after case and path change: %s", *g.Arn)
	}

	_, err := f.svc.UpdateGroup(f.ctx, &api.UpdateGroupInput{GroupName: s("builders"), NewGroupName: s("OPS")})
	usrErr(t, err, "EntityAlreadyExists", http.StatusConflict, "Group with name OPS already exists.")
	_, err = f.svc.UpdateGroup(f.ctx, &api.UpdateGroupInput{GroupName: s("ghost"), NewGroupName: s("spirit")})
	usrErr(t, err, "NoSuchEntity", http.StatusNotFound, "The group with name ghost cannot be found.")
}

func TestDeleteGroupConflicts(t *testing.T) {
	readOnly := "arn:aws:iam::aws:policy/ReadOnlyAccess"
	tests := []struct {
		name  string
		setup func(f *fixture)
		undo  func(f *fixture)
		msg   string
	}{
		{
			name: "member",
			setup: func(f *fixture) {
				f.usrCreate("u")
				f.grpAdd("g", "u")
			},
			undo: func(f *fixture) {
				must(f.svc.RemoveUserFromGroup(f.ctx, &api.RemoveUserFromGroupInput{GroupName: s("g"), UserName: s("u")}))
			},
			msg: "Cannot delete entity, must remove users from group first.",
		},
		{
			name: "inline_policy",
			setup: func(f *fixture) {
				must(f.svc.PutGroupPolicy(f.ctx, &api.PutGroupPolicyInput{GroupName: s("g"), PolicyName: s("p"), PolicyDocument: s(s3Policy)}))
			},
			undo: func(f *fixture) {
				must(f.svc.DeleteGroupPolicy(f.ctx, &api.DeleteGroupPolicyInput{GroupName: s("g"), PolicyName: s("p")}))
			},
			msg: "Cannot delete entity, must delete policies first.",
		},
		{
			name: "attached_managed_policy",
			setup: func(f *fixture) {
				must(f.svc.AttachGroupPolicy(f.ctx, &api.AttachGroupPolicyInput{GroupName: s("g"), PolicyArn: s(readOnly)}))
			},
			undo: func(f *fixture) {
				must(f.svc.DetachGroupPolicy(f.ctx, &api.DetachGroupPolicyInput{GroupName: s("g"), PolicyArn: s(readOnly)}))
			},
			msg: "Cannot delete entity, must detach all policies first.",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			f.grpCreate("g")
			tt.setup(f)
			_, err := f.svc.DeleteGroup(f.ctx, &api.DeleteGroupInput{GroupName: s("g")})
			usrErr(t, err, "DeleteConflict", http.StatusConflict, tt.msg)
			tt.undo(f)
			must(f.svc.DeleteGroup(f.ctx, &api.DeleteGroupInput{GroupName: s("G")}))
			if _, err := f.svc.GetGroup(f.ctx, &api.GetGroupInput{GroupName: s("g")}); code(err) != "NoSuchEntity" {
				t.Errorf("GetGroup after delete: %v", err)
			}
		})
	}
	f := newFixture(t)
	_, err := f.svc.DeleteGroup(f.ctx, &api.DeleteGroupInput{GroupName: s("ghost")})
	usrErr(t, err, "NoSuchEntity", http.StatusNotFound, "The group with name ghost cannot be found.")
}

func TestListGroups(t *testing.T) {
	f := newFixture(t)
	for _, n := range []string{"delta", "Alpha", "charlie", "bravo"} {
		f.grpCreate(n)
	}
	must(f.svc.CreateGroup(f.ctx, &api.CreateGroupInput{GroupName: s("eng"), Path: s("/eng/")}))

	pages := listPages(t, func(marker *string) ([]string, *bool, *string) {
		out := must(f.svc.ListGroups(f.ctx, &api.ListGroupsInput{MaxItems: i32(2), Marker: marker}))
		var names []string
		for _, g := range out.Groups {
			names = append(names, *g.GroupName)
		}
		return names, out.IsTruncated, out.Marker
	})
	if got, want := fmt.Sprint(pages), "[[Alpha bravo] [charlie delta] [eng]]"; got != want {
		t.Errorf("pages = %s, want %s", got, want)
	}
	eng := must(f.svc.ListGroups(f.ctx, &api.ListGroupsInput{PathPrefix: s("/eng")}))
	if len(eng.Groups) != 1 || *eng.Groups[0].GroupName != "eng" {
		t.Errorf("PathPrefix /eng = %+v", eng.Groups)
	}
	if _, err := f.svc.ListGroups(f.ctx, &api.ListGroupsInput{Marker: s("bogus!")}); code(err) != "InvalidInput" {
		t.Errorf("bad marker: %v", err)
	}
	empty := must(newFixture(t).svc.ListGroups(f.ctx, &api.ListGroupsInput{}))
	if empty.Groups == nil || len(empty.Groups) != 0 || *empty.IsTruncated {
		t.Errorf("empty ListGroups = %+v", empty)
	}
}

func TestGroupInlinePolicies(t *testing.T) {
	f := newFixture(t)
	f.grpCreate("g")
	for _, n := range []string{"zeta", "alpha"} {
		must(f.svc.PutGroupPolicy(f.ctx, &api.PutGroupPolicyInput{GroupName: s("g"), PolicyName: s(n), PolicyDocument: s(s3Policy)}))
	}
	doc2 := strings.Replace(s3Policy, "s3:GetObject", "s3:PutObject", 1)
	must(f.svc.PutGroupPolicy(f.ctx, &api.PutGroupPolicyInput{GroupName: s("G"), PolicyName: s("zeta"), PolicyDocument: s(doc2)}))
	list := must(f.svc.ListGroupPolicies(f.ctx, &api.ListGroupPoliciesInput{GroupName: s("g")}))
	if !slices.Equal(list.PolicyNames, []string{"alpha", "zeta"}) || *list.IsTruncated {
		t.Errorf("ListGroupPolicies = %v", list.PolicyNames)
	}
	got := must(f.svc.GetGroupPolicy(f.ctx, &api.GetGroupPolicyInput{GroupName: s("G"), PolicyName: s("zeta")}))
	if *got.GroupName != "g" || *got.PolicyName != "zeta" || decode(t, got.PolicyDocument) != doc2 {
		t.Errorf("GetGroupPolicy = %+v", got)
	}
	must(f.svc.DeleteGroupPolicy(f.ctx, &api.DeleteGroupPolicyInput{GroupName: s("g"), PolicyName: s("alpha")}))

	// A group's inline policies may total 5,120 characters.
	big := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"` + strings.Repeat("s", 2500) + `","Resource":"*"}]}`
	must(f.svc.PutGroupPolicy(f.ctx, &api.PutGroupPolicyInput{GroupName: s("g"), PolicyName: s("big1"), PolicyDocument: s(big)}))

	tests := []struct {
		name   string
		err    error
		code   string
		status int
		msg    string
	}{
		{"size_quota", second(f.svc.PutGroupPolicy(f.ctx, &api.PutGroupPolicyInput{GroupName: s("g"), PolicyName: s("big2"), PolicyDocument: s(big)})),
			"LimitExceeded", http.StatusConflict, "Maximum policy size of 5120 bytes exceeded for group g"},
		{"get_missing_policy", second(f.svc.GetGroupPolicy(f.ctx, &api.GetGroupPolicyInput{GroupName: s("g"), PolicyName: s("alpha")})),
			"NoSuchEntity", http.StatusNotFound, "The group policy with name alpha cannot be found."},
		{"delete_missing_policy", second(f.svc.DeleteGroupPolicy(f.ctx, &api.DeleteGroupPolicyInput{GroupName: s("g"), PolicyName: s("alpha")})),
			"NoSuchEntity", http.StatusNotFound, "The group policy with name alpha cannot be found."},
		{"put_missing_group", second(f.svc.PutGroupPolicy(f.ctx, &api.PutGroupPolicyInput{GroupName: s("ghost"), PolicyName: s("p"), PolicyDocument: s(s3Policy)})),
			"NoSuchEntity", http.StatusNotFound, "The group with name ghost cannot be found."},
		{"list_missing_group", second(f.svc.ListGroupPolicies(f.ctx, &api.ListGroupPoliciesInput{GroupName: s("ghost")})),
			"NoSuchEntity", http.StatusNotFound, "The group with name ghost cannot be found."},
		{"put_malformed", second(f.svc.PutGroupPolicy(f.ctx, &api.PutGroupPolicyInput{GroupName: s("g"), PolicyName: s("bad"), PolicyDocument: s(`{"Statement":[{"Effect":"Perhaps"}]}`)})),
			"MalformedPolicyDocument", http.StatusBadRequest, "Invalid effect: Perhaps"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			usrErr(t, tt.err, tt.code, tt.status, tt.msg)
		})
	}
	if names := must(f.svc.ListGroupPolicies(f.ctx, &api.ListGroupPoliciesInput{GroupName: s("g")})).PolicyNames; !slices.Equal(names, []string{"big1", "zeta"}) {
		t.Errorf("policies at the end = %v", names)
	}
}

func TestGroupAttachedPolicies(t *testing.T) {
	f := newFixture(t)
	f.grpCreate("g")
	readOnly := "arn:aws:iam::aws:policy/ReadOnlyAccess"
	custom := f.createPolicy("custom")
	must(f.svc.AttachGroupPolicy(f.ctx, &api.AttachGroupPolicyInput{GroupName: s("g"), PolicyArn: s(readOnly)}))
	must(f.svc.AttachGroupPolicy(f.ctx, &api.AttachGroupPolicyInput{GroupName: s("G"), PolicyArn: custom.Arn}))
	must(f.svc.AttachGroupPolicy(f.ctx, &api.AttachGroupPolicyInput{GroupName: s("g"), PolicyArn: custom.Arn}))
	list := must(f.svc.ListAttachedGroupPolicies(f.ctx, &api.ListAttachedGroupPoliciesInput{GroupName: s("g")}))
	var got []string
	for _, p := range list.AttachedPolicies {
		got = append(got, *p.PolicyName)
	}
	if !slices.Equal(got, []string{"custom", "ReadOnlyAccess"}) || *list.IsTruncated {
		t.Errorf("ListAttachedGroupPolicies = %v", got)
	}
	if n := *must(f.svc.GetPolicy(f.ctx, &api.GetPolicyInput{PolicyArn: custom.Arn})).Policy.AttachmentCount; n != 1 {
		t.Errorf("AttachmentCount = %d, want 1", n)
	}
	must(f.svc.DetachGroupPolicy(f.ctx, &api.DetachGroupPolicyInput{GroupName: s("g"), PolicyArn: custom.Arn}))
	_, err := f.svc.DetachGroupPolicy(f.ctx, &api.DetachGroupPolicyInput{GroupName: s("g"), PolicyArn: custom.Arn})
	usrErr(t, err, "NoSuchEntity", http.StatusNotFound, "Policy "+*custom.Arn+" was not found.")
	_, err = f.svc.AttachGroupPolicy(f.ctx, &api.AttachGroupPolicyInput{GroupName: s("ghost"), PolicyArn: s(readOnly)})
	usrErr(t, err, "NoSuchEntity", http.StatusNotFound, "The group with name ghost cannot be found.")
	_, err = f.svc.ListAttachedGroupPolicies(f.ctx, &api.ListAttachedGroupPoliciesInput{GroupName: s("ghost")})
	usrErr(t, err, "NoSuchEntity", http.StatusNotFound, "The group with name ghost cannot be found.")

	for i := range 9 {
		p := f.createPolicy(fmt.Sprintf("p%d", i))
		must(f.svc.AttachGroupPolicy(f.ctx, &api.AttachGroupPolicyInput{GroupName: s("g"), PolicyArn: p.Arn}))
	}
	_, err = f.svc.AttachGroupPolicy(f.ctx, &api.AttachGroupPolicyInput{GroupName: s("g"), PolicyArn: custom.Arn})
	usrErr(t, err, "LimitExceeded", http.StatusConflict, "Cannot exceed quota for PoliciesPerGroup: 10")
}
