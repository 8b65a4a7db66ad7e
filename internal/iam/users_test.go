package iam_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	api "github.com/nephele-dev/nephele/internal/api/iam"
	"github.com/nephele-dev/nephele/internal/service"
)

// usrCreate creates a user at the root path.
func (f *fixture) usrCreate(name string) *api.User {
	f.t.Helper()
	return must(f.svc.CreateUser(f.ctx, &api.CreateUserInput{UserName: s(name)})).User
}

// usrKey issues an access key for the named user and returns its ID.
func (f *fixture) usrKey(userName string) string {
	f.t.Helper()
	return *must(f.svc.CreateAccessKey(f.ctx, &api.CreateAccessKeyInput{UserName: s(userName)})).AccessKey.AccessKeyId
}

// usrInAccount is a request context of another account, signed with key.
func usrInAccount(accountID, key string) context.Context {
	return service.WithRequest(context.Background(), service.Request{AccountID: accountID, Region: "us-east-1", AccessKeyID: key})
}

// usrTags renders tags as "k=v,k=v" in the order given.
func usrTags(ts []api.Tag) string {
	var out []string
	for _, t := range ts {
		out = append(out, *t.Key+"="+*t.Value)
	}
	return strings.Join(out, ",")
}

// usrErr checks an error's code, HTTP status and message.
func usrErr(t *testing.T, err error, wantCode string, wantStatus int, wantMsg string) {
	t.Helper()
	if code(err) != wantCode || status(err) != wantStatus || message(err) != wantMsg {
		t.Errorf("err = %v (%s, status %d), want %s %d %q", err, code(err), status(err), wantCode, wantStatus, wantMsg)
	}
}

func TestCreateUser(t *testing.T) {
	f := newFixture(t)
	u := must(f.svc.CreateUser(f.ctx, &api.CreateUserInput{
		UserName: s("Alice"), Path: s("/division/team/"),
		Tags: []api.Tag{{Key: s("team"), Value: s("blue")}},
	})).User
	if got, want := *u.Arn, "arn:aws:iam::123456789012:user/division/team/Alice"; got != want {
		t.Errorf("Arn = %s, want %s", got, want)
	}
	if !strings.HasPrefix(*u.UserId, "AIDA") || len(*u.UserId) != 21 || strings.ToUpper(*u.UserId) != *u.UserId {
		t.Errorf("UserId = %s, want AIDA and 17 more upper-case characters", *u.UserId)
	}
	if *u.UserName != "Alice" || *u.Path != "/division/team/" || !u.CreateDate.Equal(start) || usrTags(u.Tags) != "team=blue" {
		t.Errorf("user = %+v", u)
	}
	if u.PermissionsBoundary != nil {
		t.Errorf("PermissionsBoundary = %+v, want none", u.PermissionsBoundary)
	}

	// IAM names are case-insensitive: the user answers to any case, and
	// keeps the spelling it was created with.
	got := must(f.svc.GetUser(f.ctx, &api.GetUserInput{UserName: s("ALICE")})).User
	if *got.UserName != "Alice" || *got.UserId != *u.UserId || *got.Arn != *u.Arn || usrTags(got.Tags) != "team=blue" {
		t.Errorf("GetUser = %+v", got)
	}

	plain := f.usrCreate("bob")
	if *plain.Path != "/" || *plain.Arn != "arn:aws:iam::123456789012:user/bob" || plain.Tags != nil {
		t.Errorf("default path: %s %s, tags %v", *plain.Path, *plain.Arn, plain.Tags)
	}
	if *plain.UserId == *u.UserId {
		t.Errorf("two users share the ID %s", *u.UserId)
	}
}

func TestCreateUserErrors(t *testing.T) {
	tests := []struct {
		name   string
		in     *api.CreateUserInput
		code   string
		status int
		msg    string
	}{
		{"duplicate_name", &api.CreateUserInput{UserName: s("taken")},
			"EntityAlreadyExists", http.StatusConflict, "User with name taken already exists."},
		{"duplicate_name_other_case", &api.CreateUserInput{UserName: s("TaKeN")},
			"EntityAlreadyExists", http.StatusConflict, "User with name TaKeN already exists."},
		{"missing_boundary", &api.CreateUserInput{UserName: s("u"), PermissionsBoundary: s("arn:aws:iam::123456789012:policy/nope")},
			"NoSuchEntity", http.StatusNotFound, "Scope ARN: arn:aws:iam::123456789012:policy/nope does not exist or is not attachable."},
		{"boundary_not_a_policy_arn", &api.CreateUserInput{UserName: s("u"), PermissionsBoundary: s("arn:aws:iam::123456789012:role/r")},
			"InvalidInput", http.StatusBadRequest, "ARN arn:aws:iam::123456789012:role/r is not valid."},
		{"duplicate_tag_keys", &api.CreateUserInput{UserName: s("u"), Tags: []api.Tag{{Key: s("env"), Value: s("a")}, {Key: s("Env"), Value: s("b")}}},
			"InvalidInput", http.StatusBadRequest, "Duplicate tag keys found. Please note that Tag keys are case insensitive."},
		{"reserved_tag_key", &api.CreateUserInput{UserName: s("u"), Tags: []api.Tag{{Key: s("aws:owner"), Value: s("a")}}},
			"InvalidInput", http.StatusBadRequest,
			"1 validation error detected: Value 'aws:owner' at 'tags.1.member.key' failed to satisfy constraint: Tag keys starting with 'aws:' are reserved for internal use"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			f.usrCreate("taken")
			_, err := f.svc.CreateUser(f.ctx, tt.in)
			usrErr(t, err, tt.code, tt.status, tt.msg)
			// A refused request creates nothing.
			if out := must(f.svc.ListUsers(f.ctx, &api.ListUsersInput{})); len(out.Users) != 1 {
				t.Errorf("users after a failed CreateUser: %d, want 1", len(out.Users))
			}
		})
	}
}

func TestGetUser(t *testing.T) {
	tests := []struct {
		name string
		// ctx returns the request context, given the ID of an access key
		// of the user "alice" (path /staff/).
		ctx        func(f *fixture, aliceKey string) context.Context
		in         *api.GetUserInput
		want       string // Arn
		wantID     string // UserId; "alice" for alice's ID
		userName   string // UserName; "" for none
		code       string
		httpStatus int
		msg        string
	}{
		{
			name: "named_user",
			ctx:  func(f *fixture, _ string) context.Context { return f.ctx },
			in:   &api.GetUserInput{UserName: s("alice")},
			want: "arn:aws:iam::123456789012:user/staff/alice", wantID: "alice", userName: "alice",
		},
		{
			name: "caller_signing_with_an_iam_user_key",
			ctx:  func(_ *fixture, k string) context.Context { return as(k) },
			in:   &api.GetUserInput{},
			want: "arn:aws:iam::123456789012:user/staff/alice", wantID: "alice", userName: "alice",
		},
		{
			name: "named_user_wins_over_the_caller",
			ctx:  func(_ *fixture, k string) context.Context { return as(k) },
			in:   &api.GetUserInput{UserName: s("bob")},
			want: "arn:aws:iam::123456789012:user/bob", userName: "bob",
		},
		{
			// Credentials IAM did not issue are the account's root user's:
			// IAM answers with the root ARN, the account ID as UserId and
			// no UserName.
			name: "caller_with_root_credentials",
			ctx:  func(f *fixture, _ string) context.Context { return f.ctx },
			in:   &api.GetUserInput{},
			want: "arn:aws:iam::123456789012:root", wantID: account,
		},
		{
			name: "caller_with_a_root_key_iam_issued",
			ctx: func(f *fixture, _ string) context.Context {
				return as(*must(f.svc.CreateAccessKey(f.ctx, &api.CreateAccessKeyInput{})).AccessKey.AccessKeyId)
			},
			in:   &api.GetUserInput{},
			want: "arn:aws:iam::123456789012:root", wantID: account,
		},
		{
			name: "caller_with_temporary_credentials",
			ctx:  func(_ *fixture, _ string) context.Context { return as("ASIAEXAMPLE123456789") },
			in:   &api.GetUserInput{},
			code: "ValidationError", httpStatus: http.StatusBadRequest, msg: "Must specify userName when calling with non-User credentials",
		},
		{
			name: "temporary_credentials_with_a_user_name",
			ctx:  func(_ *fixture, _ string) context.Context { return as("ASIAEXAMPLE123456789") },
			in:   &api.GetUserInput{UserName: s("bob")},
			want: "arn:aws:iam::123456789012:user/bob", userName: "bob",
		},
		{
			name: "missing_user",
			ctx:  func(f *fixture, _ string) context.Context { return f.ctx },
			in:   &api.GetUserInput{UserName: s("ghost")},
			code: "NoSuchEntity", httpStatus: http.StatusNotFound, msg: "The user with name ghost cannot be found.",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			alice := must(f.svc.CreateUser(f.ctx, &api.CreateUserInput{UserName: s("alice"), Path: s("/staff/")})).User
			f.usrCreate("bob")
			out, err := f.svc.GetUser(tt.ctx(f, f.usrKey("alice")), tt.in)
			if tt.code != "" {
				usrErr(t, err, tt.code, tt.httpStatus, tt.msg)
				return
			}
			if err != nil {
				t.Fatalf("GetUser: %v", err)
			}
			u := out.User
			if *u.Arn != tt.want {
				t.Errorf("Arn = %s, want %s", *u.Arn, tt.want)
			}
			switch tt.wantID {
			case "alice":
				if *u.UserId != *alice.UserId {
					t.Errorf("UserId = %s, want alice's %s", *u.UserId, *alice.UserId)
				}
			case "":
			default:
				if *u.UserId != tt.wantID {
					t.Errorf("UserId = %s, want %s", *u.UserId, tt.wantID)
				}
			}
			if got := *ptrOr(u.UserName, ""); got != tt.userName {
				t.Errorf("UserName = %q, want %q", got, tt.userName)
			}
			if u.CreateDate == nil {
				t.Error("CreateDate missing")
			}
		})
	}
}

// ptrOr is *p, or a pointer to def when p is nil.
func ptrOr[T any](p *T, def T) *T {
	if p == nil {
		return &def
	}
	return p
}

func TestUpdateUser(t *testing.T) {
	f := newFixture(t)
	old := f.usrCreate("alice")
	must(f.svc.CreateGroup(f.ctx, &api.CreateGroupInput{GroupName: s("devs")}))
	must(f.svc.AddUserToGroup(f.ctx, &api.AddUserToGroupInput{GroupName: s("devs"), UserName: s("alice")}))
	keyID := f.usrKey("alice")

	must(f.svc.UpdateUser(f.ctx, &api.UpdateUserInput{UserName: s("ALICE"), NewUserName: s("carol"), NewPath: s("/moved/")}))

	if _, err := f.svc.GetUser(f.ctx, &api.GetUserInput{UserName: s("alice")}); code(err) != "NoSuchEntity" {
		t.Errorf("GetUser of the old name: %v, want NoSuchEntity", err)
	}
	u := must(f.svc.GetUser(f.ctx, &api.GetUserInput{UserName: s("carol")})).User
	if *u.Arn != "arn:aws:iam::123456789012:user/moved/carol" || *u.UserId != *old.UserId || !u.CreateDate.Equal(*old.CreateDate) {
		t.Errorf("renamed user = %+v, want the same ID and creation under the new name and path", u)
	}
	// Group memberships and access keys follow the user.
	groups := must(f.svc.ListGroupsForUser(f.ctx, &api.ListGroupsForUserInput{UserName: s("carol")}))
	if len(groups.Groups) != 1 || *groups.Groups[0].GroupName != "devs" {
		t.Errorf("ListGroupsForUser(carol) = %+v", groups.Groups)
	}
	members := must(f.svc.GetGroup(f.ctx, &api.GetGroupInput{GroupName: s("devs")})).Users
	if len(members) != 1 || *members[0].UserName != "carol" {
		t.Errorf("GetGroup members = %+v", members)
	}
	keys := must(f.svc.ListAccessKeys(f.ctx, &api.ListAccessKeysInput{UserName: s("carol")})).AccessKeyMetadata
	if len(keys) != 1 || *keys[0].AccessKeyId != keyID || *keys[0].UserName != "carol" {
		t.Errorf("ListAccessKeys(carol) = %+v", keys)
	}
	if me := must(f.svc.GetUser(as(keyID), &api.GetUserInput{})).User; *me.UserName != "carol" {
		t.Errorf("caller after rename = %s, want carol", *me.UserName)
	}

	// The old name is free again, and a new user by it inherits nothing.
	f.usrCreate("alice")
	if keys := must(f.svc.ListAccessKeys(f.ctx, &api.ListAccessKeysInput{UserName: s("alice")})).AccessKeyMetadata; len(keys) != 0 {
		t.Errorf("new alice has keys %+v", keys)
	}
	if gs := must(f.svc.ListGroupsForUser(f.ctx, &api.ListGroupsForUserInput{UserName: s("alice")})).Groups; len(gs) != 0 {
		t.Errorf("new alice is in groups %+v", gs)
	}

	// A change of case alone is a rename, not a clash with itself.
	must(f.svc.UpdateUser(f.ctx, &api.UpdateUserInput{UserName: s("carol"), NewUserName: s("Carol")}))
	if u := must(f.svc.GetUser(f.ctx, &api.GetUserInput{UserName: s("carol")})).User; *u.UserName != "Carol" || *u.Path != "/moved/" {
		t.Errorf("after case change: %s at %s", *u.UserName, *u.Path)
	}
	// A new path alone keeps the name.
	must(f.svc.UpdateUser(f.ctx, &api.UpdateUserInput{UserName: s("Carol"), NewPath: s("/")}))
	if u := must(f.svc.GetUser(f.ctx, &api.GetUserInput{UserName: s("Carol")})).User; *u.Arn != "arn:aws:iam::123456789012:user/Carol" {
		t.Errorf("after path change: %s", *u.Arn)
	}

	tests := []struct {
		name   string
		in     *api.UpdateUserInput
		code   string
		status int
		msg    string
	}{
		{"rename_to_an_existing_user", &api.UpdateUserInput{UserName: s("Carol"), NewUserName: s("alice")},
			"EntityAlreadyExists", http.StatusConflict, "User with name alice already exists."},
		{"rename_to_an_existing_user_other_case", &api.UpdateUserInput{UserName: s("Carol"), NewUserName: s("ALICE")},
			"EntityAlreadyExists", http.StatusConflict, "User with name ALICE already exists."},
		{"missing_user", &api.UpdateUserInput{UserName: s("ghost"), NewUserName: s("spirit")},
			"NoSuchEntity", http.StatusNotFound, "The user with name ghost cannot be found."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := f.svc.UpdateUser(f.ctx, tt.in)
			usrErr(t, err, tt.code, tt.status, tt.msg)
		})
	}
	if _, err := f.svc.GetUser(f.ctx, &api.GetUserInput{UserName: s("Carol")}); err != nil {
		t.Errorf("Carol after refused renames: %v", err)
	}
}

func TestDeleteUserConflicts(t *testing.T) {
	readOnly := "arn:aws:iam::aws:policy/ReadOnlyAccess"
	tests := []struct {
		name  string
		setup func(f *fixture)
		undo  func(f *fixture)
		msg   string
	}{
		{
			name:  "access_key",
			setup: func(f *fixture) { f.usrKey("u") },
			undo: func(f *fixture) {
				for _, k := range must(f.svc.ListAccessKeys(f.ctx, &api.ListAccessKeysInput{UserName: s("u")})).AccessKeyMetadata {
					must(f.svc.DeleteAccessKey(f.ctx, &api.DeleteAccessKeyInput{UserName: s("u"), AccessKeyId: k.AccessKeyId}))
				}
			},
			msg: "Cannot delete entity, must delete access keys first.",
		},
		{
			name: "inline_policy",
			setup: func(f *fixture) {
				must(f.svc.PutUserPolicy(f.ctx, &api.PutUserPolicyInput{UserName: s("u"), PolicyName: s("p"), PolicyDocument: s(s3Policy)}))
			},
			undo: func(f *fixture) {
				must(f.svc.DeleteUserPolicy(f.ctx, &api.DeleteUserPolicyInput{UserName: s("u"), PolicyName: s("p")}))
			},
			msg: "Cannot delete entity, must delete policies first.",
		},
		{
			name: "attached_managed_policy",
			setup: func(f *fixture) {
				must(f.svc.AttachUserPolicy(f.ctx, &api.AttachUserPolicyInput{UserName: s("u"), PolicyArn: s(readOnly)}))
			},
			undo: func(f *fixture) {
				must(f.svc.DetachUserPolicy(f.ctx, &api.DetachUserPolicyInput{UserName: s("u"), PolicyArn: s(readOnly)}))
			},
			msg: "Cannot delete entity, must detach all policies first.",
		},
		{
			name: "group_membership",
			setup: func(f *fixture) {
				must(f.svc.CreateGroup(f.ctx, &api.CreateGroupInput{GroupName: s("g")}))
				must(f.svc.AddUserToGroup(f.ctx, &api.AddUserToGroupInput{GroupName: s("g"), UserName: s("u")}))
			},
			undo: func(f *fixture) {
				must(f.svc.RemoveUserFromGroup(f.ctx, &api.RemoveUserFromGroupInput{GroupName: s("g"), UserName: s("u")}))
			},
			msg: "Cannot delete entity, must remove users from group first.",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			f.usrCreate("u")
			tt.setup(f)
			_, err := f.svc.DeleteUser(f.ctx, &api.DeleteUserInput{UserName: s("u")})
			usrErr(t, err, "DeleteConflict", http.StatusConflict, tt.msg)
			if _, err := f.svc.GetUser(f.ctx, &api.GetUserInput{UserName: s("u")}); err != nil {
				t.Fatalf("user gone after a refused DeleteUser: %v", err)
			}
			tt.undo(f)
			must(f.svc.DeleteUser(f.ctx, &api.DeleteUserInput{UserName: s("U")}))
			if _, err := f.svc.GetUser(f.ctx, &api.GetUserInput{UserName: s("u")}); code(err) != "NoSuchEntity" {
				t.Errorf("GetUser after delete: %v", err)
			}
		})
	}
}

func TestDeleteUser(t *testing.T) {
	f := newFixture(t)
	// Tags and a permissions boundary do not hold a user back.
	p := f.createPolicy("boundary")
	must(f.svc.CreateUser(f.ctx, &api.CreateUserInput{UserName: s("u"), PermissionsBoundary: p.Arn, Tags: []api.Tag{{Key: s("k"), Value: s("v")}}}))
	must(f.svc.DeleteUser(f.ctx, &api.DeleteUserInput{UserName: s("u")}))
	_, err := f.svc.DeleteUser(f.ctx, &api.DeleteUserInput{UserName: s("u")})
	usrErr(t, err, "NoSuchEntity", http.StatusNotFound, "The user with name u cannot be found.")
	// A new user by the same name starts clean.
	u := f.usrCreate("u")
	if u.Tags != nil || u.PermissionsBoundary != nil {
		t.Errorf("recreated user = %+v", u)
	}
}

func TestListUsersPagination(t *testing.T) {
	f := newFixture(t)
	for _, n := range []string{"echo", "Alpha", "delta", "bravo", "charlie"} {
		f.usrCreate(n)
	}
	p := f.createPolicy("boundary")
	must(f.svc.CreateUser(f.ctx, &api.CreateUserInput{UserName: s("svc"), Path: s("/service/"),
		PermissionsBoundary: p.Arn, Tags: []api.Tag{{Key: s("k"), Value: s("v")}}}))

	pages := listPages(t, func(marker *string) ([]string, *bool, *string) {
		out := must(f.svc.ListUsers(f.ctx, &api.ListUsersInput{MaxItems: i32(2), Marker: marker}))
		var names []string
		for _, u := range out.Users {
			names = append(names, *u.UserName)
			// ListUsers leaves out tags and permissions boundaries, as
			// IAM's listing operations do.
			if u.Tags != nil || u.PermissionsBoundary != nil {
				t.Errorf("ListUsers returned Tags or PermissionsBoundary for %s", *u.UserName)
			}
			if u.Arn == nil || u.UserId == nil || u.CreateDate == nil || u.Path == nil {
				t.Errorf("ListUsers item incomplete: %+v", u)
			}
		}
		return names, out.IsTruncated, out.Marker
	})
	if got, want := fmt.Sprint(pages), "[[Alpha bravo] [charlie delta] [echo svc]]"; got != want {
		t.Errorf("pages = %s, want %s", got, want)
	}

	tests := []struct {
		name   string
		prefix string
		want   string
	}{
		{"service_path", "/service/", "[svc]"},
		{"prefix_of_a_path", "/serv", "[svc]"},
		{"root_lists_all", "/", "[Alpha bravo charlie delta echo svc]"},
		{"no_match", "/nothing/", "[]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := must(f.svc.ListUsers(f.ctx, &api.ListUsersInput{PathPrefix: s(tt.prefix)}))
			var names []string
			for _, u := range out.Users {
				names = append(names, *u.UserName)
			}
			if fmt.Sprint(names) != tt.want || *out.IsTruncated {
				t.Errorf("PathPrefix %s = %v (truncated %v), want %s", tt.prefix, names, *out.IsTruncated, tt.want)
			}
		})
	}

	if _, err := f.svc.ListUsers(f.ctx, &api.ListUsersInput{Marker: s("not-a-marker!")}); code(err) != "InvalidInput" {
		t.Errorf("bad marker: %v", err)
	}
	// Users of another account are not listed.
	if out := must(f.svc.ListUsers(usrInAccount("210987654321", "AKIDEXAMPLE"), &api.ListUsersInput{})); len(out.Users) != 0 {
		t.Errorf("another account lists %d users", len(out.Users))
	}
	empty := must(newFixture(t).svc.ListUsers(f.ctx, &api.ListUsersInput{}))
	if empty.Users == nil || len(empty.Users) != 0 || *empty.IsTruncated {
		t.Errorf("empty ListUsers = %+v, want an empty (not nil) list", empty)
	}
}

func TestUserTags(t *testing.T) {
	f := newFixture(t)
	must(f.svc.CreateUser(f.ctx, &api.CreateUserInput{UserName: s("u"),
		Tags: []api.Tag{{Key: s("b"), Value: s("1")}, {Key: s("a"), Value: s("2")}}}))
	must(f.svc.TagUser(f.ctx, &api.TagUserInput{UserName: s("U"), Tags: []api.Tag{{Key: s("B"), Value: s("3")}, {Key: s("c"), Value: s("4")}}}))
	must(f.svc.UntagUser(f.ctx, &api.UntagUserInput{UserName: s("u"), TagKeys: []string{"A", "missing"}}))
	out := must(f.svc.ListUserTags(f.ctx, &api.ListUserTagsInput{UserName: s("u")}))
	// Tag keys of users are not case sensitive: "B" replaced "b", and
	// untagging "A" removed "a".
	if got := usrTags(out.Tags); got != "B=3,c=4" || *out.IsTruncated || out.Marker != nil {
		t.Errorf("tags = %s, truncated %v", got, *out.IsTruncated)
	}
	if got := usrTags(must(f.svc.GetUser(f.ctx, &api.GetUserInput{UserName: s("u")})).User.Tags); got != "B=3,c=4" {
		t.Errorf("GetUser tags = %s", got)
	}

	// ListUserTags pages.
	first := must(f.svc.ListUserTags(f.ctx, &api.ListUserTagsInput{UserName: s("u"), MaxItems: i32(1)}))
	if usrTags(first.Tags) != "B=3" || !*first.IsTruncated || first.Marker == nil {
		t.Fatalf("first page = %s, truncated %v", usrTags(first.Tags), *first.IsTruncated)
	}
	next := must(f.svc.ListUserTags(f.ctx, &api.ListUserTagsInput{UserName: s("u"), MaxItems: i32(1), Marker: first.Marker}))
	if usrTags(next.Tags) != "c=4" || *next.IsTruncated {
		t.Errorf("next page = %s, truncated %v", usrTags(next.Tags), *next.IsTruncated)
	}

	// A user may carry 50 tags: 48 more fit, 49 do not.
	var more []api.Tag
	for i := range 49 {
		more = append(more, api.Tag{Key: s(fmt.Sprintf("k%02d", i)), Value: s("v")})
	}
	_, err := f.svc.TagUser(f.ctx, &api.TagUserInput{UserName: s("u"), Tags: more})
	if code(err) != "LimitExceeded" || status(err) != http.StatusConflict {
		t.Errorf("51 tags: %v, want LimitExceeded", err)
	}
	if n := len(must(f.svc.ListUserTags(f.ctx, &api.ListUserTagsInput{UserName: s("u")})).Tags); n != 2 {
		t.Errorf("a refused TagUser left %d tags, want 2", n)
	}
	must(f.svc.TagUser(f.ctx, &api.TagUserInput{UserName: s("u"), Tags: more[:48]}))
	if n := len(must(f.svc.ListUserTags(f.ctx, &api.ListUserTagsInput{UserName: s("u")})).Tags); n != 50 {
		t.Errorf("tags = %d, want 50", n)
	}
	// Replacing an existing key at the limit adds nothing, so it is allowed.
	must(f.svc.TagUser(f.ctx, &api.TagUserInput{UserName: s("u"), Tags: []api.Tag{{Key: s("K00"), Value: s("w")}}}))

	tests := []struct {
		name   string
		err    error
		code   string
		status int
		msg    string
	}{
		{"tag_missing_user", second(f.svc.TagUser(f.ctx, &api.TagUserInput{UserName: s("ghost"), Tags: []api.Tag{{Key: s("k"), Value: s("v")}}})),
			"NoSuchEntity", http.StatusNotFound, "The user with name ghost cannot be found."},
		{"untag_missing_user", second(f.svc.UntagUser(f.ctx, &api.UntagUserInput{UserName: s("ghost"), TagKeys: []string{"k"}})),
			"NoSuchEntity", http.StatusNotFound, "The user with name ghost cannot be found."},
		{"list_missing_user", second(f.svc.ListUserTags(f.ctx, &api.ListUserTagsInput{UserName: s("ghost")})),
			"NoSuchEntity", http.StatusNotFound, "The user with name ghost cannot be found."},
		{"duplicate_keys_in_one_request", second(f.svc.TagUser(f.ctx, &api.TagUserInput{UserName: s("u"), Tags: []api.Tag{{Key: s("x"), Value: s("1")}, {Key: s("X"), Value: s("2")}}})),
			"InvalidInput", http.StatusBadRequest, "Duplicate tag keys found. Please note that Tag keys are case insensitive."},
		{"reserved_prefix", second(f.svc.TagUser(f.ctx, &api.TagUserInput{UserName: s("u"), Tags: []api.Tag{{Key: s("AWS:x"), Value: s("1")}}})),
			"InvalidInput", http.StatusBadRequest,
			"1 validation error detected: Value 'AWS:x' at 'tags.1.member.key' failed to satisfy constraint: Tag keys starting with 'aws:' are reserved for internal use"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			usrErr(t, tt.err, tt.code, tt.status, tt.msg)
		})
	}

	// A user without tags lists an empty (not nil) list.
	f.usrCreate("bare")
	bare := must(f.svc.ListUserTags(f.ctx, &api.ListUserTagsInput{UserName: s("bare")}))
	if bare.Tags == nil || len(bare.Tags) != 0 || *bare.IsTruncated {
		t.Errorf("ListUserTags of an untagged user = %+v", bare)
	}
}

func TestUserInlinePolicies(t *testing.T) {
	f := newFixture(t)
	f.usrCreate("u")
	for _, n := range []string{"zeta", "alpha", "Mid"} {
		must(f.svc.PutUserPolicy(f.ctx, &api.PutUserPolicyInput{UserName: s("u"), PolicyName: s(n), PolicyDocument: s(s3Policy)}))
	}
	doc2 := strings.Replace(s3Policy, "s3:GetObject", "s3:PutObject", 1)
	must(f.svc.PutUserPolicy(f.ctx, &api.PutUserPolicyInput{UserName: s("U"), PolicyName: s("zeta"), PolicyDocument: s(doc2)}))

	list := must(f.svc.ListUserPolicies(f.ctx, &api.ListUserPoliciesInput{UserName: s("u")}))
	if !slices.Equal(list.PolicyNames, []string{"alpha", "Mid", "zeta"}) || *list.IsTruncated {
		t.Errorf("ListUserPolicies = %v", list.PolicyNames)
	}
	pg := must(f.svc.ListUserPolicies(f.ctx, &api.ListUserPoliciesInput{UserName: s("u"), MaxItems: i32(2)}))
	if !slices.Equal(pg.PolicyNames, []string{"alpha", "Mid"}) || !*pg.IsTruncated {
		t.Errorf("first page = %v", pg.PolicyNames)
	}
	pg = must(f.svc.ListUserPolicies(f.ctx, &api.ListUserPoliciesInput{UserName: s("u"), MaxItems: i32(2), Marker: pg.Marker}))
	if !slices.Equal(pg.PolicyNames, []string{"zeta"}) || *pg.IsTruncated {
		t.Errorf("second page = %v", pg.PolicyNames)
	}

	got := must(f.svc.GetUserPolicy(f.ctx, &api.GetUserPolicyInput{UserName: s("U"), PolicyName: s("zeta")}))
	if *got.UserName != "u" || *got.PolicyName != "zeta" || decode(t, got.PolicyDocument) != doc2 {
		t.Errorf("GetUserPolicy = %+v", got)
	}
	must(f.svc.DeleteUserPolicy(f.ctx, &api.DeleteUserPolicyInput{UserName: s("u"), PolicyName: s("alpha")}))
	if names := must(f.svc.ListUserPolicies(f.ctx, &api.ListUserPoliciesInput{UserName: s("u")})).PolicyNames; !slices.Equal(names, []string{"Mid", "zeta"}) {
		t.Errorf("after delete: %v", names)
	}

	tests := []struct {
		name   string
		err    error
		code   string
		status int
		msg    string
	}{
		{"get_missing_policy", second(f.svc.GetUserPolicy(f.ctx, &api.GetUserPolicyInput{UserName: s("u"), PolicyName: s("alpha")})),
			"NoSuchEntity", http.StatusNotFound, "The user policy with name alpha cannot be found."},
		{"get_missing_user", second(f.svc.GetUserPolicy(f.ctx, &api.GetUserPolicyInput{UserName: s("ghost"), PolicyName: s("p")})),
			"NoSuchEntity", http.StatusNotFound, "The user with name ghost cannot be found."},
		{"delete_missing_policy", second(f.svc.DeleteUserPolicy(f.ctx, &api.DeleteUserPolicyInput{UserName: s("u"), PolicyName: s("nope")})),
			"NoSuchEntity", http.StatusNotFound, "The user policy with name nope cannot be found."},
		{"put_missing_user", second(f.svc.PutUserPolicy(f.ctx, &api.PutUserPolicyInput{UserName: s("ghost"), PolicyName: s("p"), PolicyDocument: s(s3Policy)})),
			"NoSuchEntity", http.StatusNotFound, "The user with name ghost cannot be found."},
		{"list_missing_user", second(f.svc.ListUserPolicies(f.ctx, &api.ListUserPoliciesInput{UserName: s("ghost")})),
			"NoSuchEntity", http.StatusNotFound, "The user with name ghost cannot be found."},
		{"put_malformed", second(f.svc.PutUserPolicy(f.ctx, &api.PutUserPolicyInput{UserName: s("u"), PolicyName: s("bad"), PolicyDocument: s("{")})),
			"MalformedPolicyDocument", http.StatusBadRequest, "This policy contains invalid Json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			usrErr(t, tt.err, tt.code, tt.status, tt.msg)
		})
	}

	// An empty user lists an empty (not nil) list.
	f.usrCreate("bare")
	bare := must(f.svc.ListUserPolicies(f.ctx, &api.ListUserPoliciesInput{UserName: s("bare")}))
	if bare.PolicyNames == nil || len(bare.PolicyNames) != 0 || *bare.IsTruncated {
		t.Errorf("ListUserPolicies of a bare user = %+v", bare)
	}
}

func TestUserInlinePolicySize(t *testing.T) {
	f := newFixture(t)
	f.usrCreate("u")
	// 1,256 characters that count, plus white space that does not.
	big := `{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "` + strings.Repeat("s", 1200) + `", "Resource": "*"}]}`
	must(f.svc.PutUserPolicy(f.ctx, &api.PutUserPolicyInput{UserName: s("u"), PolicyName: s("one"), PolicyDocument: s(big)}))
	// Replacing a policy counts its new size only, not both.
	must(f.svc.PutUserPolicy(f.ctx, &api.PutUserPolicyInput{UserName: s("u"), PolicyName: s("ONE"), PolicyDocument: s(big)}))
	_, err := f.svc.PutUserPolicy(f.ctx, &api.PutUserPolicyInput{UserName: s("u"), PolicyName: s("two"), PolicyDocument: s(big)})
	usrErr(t, err, "LimitExceeded", http.StatusConflict, "Maximum policy size of 2048 bytes exceeded for user u")
	if names := must(f.svc.ListUserPolicies(f.ctx, &api.ListUserPoliciesInput{UserName: s("u")})).PolicyNames; !slices.Equal(names, []string{"one"}) {
		t.Errorf("policies after the refused put: %v", names)
	}
	// White space does not count: a document of 2,048 counted characters
	// and much white space fits on its own.
	f.usrCreate("v")
	body := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"","Resource":"*"}]}`
	exact := strings.Replace(body, `"Action":""`, `"Action":"`+strings.Repeat("a", 2048-len(body))+`"`, 1)
	must(f.svc.PutUserPolicy(f.ctx, &api.PutUserPolicyInput{UserName: s("v"), PolicyName: s("p"), PolicyDocument: s(strings.ReplaceAll(exact, ",", ",\n    "))}))
	_, err = f.svc.PutUserPolicy(f.ctx, &api.PutUserPolicyInput{UserName: s("v"), PolicyName: s("p"), PolicyDocument: s(strings.Replace(exact, `"a`, `"aa`, 1))})
	usrErr(t, err, "LimitExceeded", http.StatusConflict, "Maximum policy size of 2048 bytes exceeded for user v")
}

func TestUserAttachedPolicies(t *testing.T) {
	f := newFixture(t)
	f.usrCreate("u")
	readOnly := "arn:aws:iam::aws:policy/ReadOnlyAccess"
	custom := must(f.svc.CreatePolicy(f.ctx, &api.CreatePolicyInput{PolicyName: s("Custom"), Path: s("/team/"), PolicyDocument: s(s3Policy)})).Policy
	must(f.svc.AttachUserPolicy(f.ctx, &api.AttachUserPolicyInput{UserName: s("u"), PolicyArn: s(readOnly)}))
	must(f.svc.AttachUserPolicy(f.ctx, &api.AttachUserPolicyInput{UserName: s("U"), PolicyArn: custom.Arn}))
	// Attaching again changes nothing.
	must(f.svc.AttachUserPolicy(f.ctx, &api.AttachUserPolicyInput{UserName: s("u"), PolicyArn: s(readOnly)}))

	list := must(f.svc.ListAttachedUserPolicies(f.ctx, &api.ListAttachedUserPoliciesInput{UserName: s("u")}))
	var got []string
	for _, p := range list.AttachedPolicies {
		got = append(got, *p.PolicyName+" "+*p.PolicyArn)
	}
	want := []string{"Custom " + *custom.Arn, "ReadOnlyAccess " + readOnly}
	if !slices.Equal(got, want) || *list.IsTruncated {
		t.Errorf("ListAttachedUserPolicies = %v, want %v", got, want)
	}
	team := must(f.svc.ListAttachedUserPolicies(f.ctx, &api.ListAttachedUserPoliciesInput{UserName: s("u"), PathPrefix: s("/team/")}))
	if len(team.AttachedPolicies) != 1 || *team.AttachedPolicies[0].PolicyName != "Custom" {
		t.Errorf("PathPrefix /team/ = %+v", team.AttachedPolicies)
	}
	if n := *must(f.svc.GetPolicy(f.ctx, &api.GetPolicyInput{PolicyArn: custom.Arn})).Policy.AttachmentCount; n != 1 {
		t.Errorf("AttachmentCount = %d, want 1", n)
	}

	must(f.svc.DetachUserPolicy(f.ctx, &api.DetachUserPolicyInput{UserName: s("u"), PolicyArn: s(readOnly)}))
	// A customer managed policy is attachable only in its own account.
	theirs := must(f.svc.CreatePolicy(usrInAccount("210987654321", "AKIDEXAMPLE"), &api.CreatePolicyInput{PolicyName: s("theirs"), PolicyDocument: s(s3Policy)})).Policy
	list = must(f.svc.ListAttachedUserPolicies(f.ctx, &api.ListAttachedUserPoliciesInput{UserName: s("u")}))
	if len(list.AttachedPolicies) != 1 || *list.AttachedPolicies[0].PolicyArn != *custom.Arn {
		t.Errorf("after detach: %+v", list.AttachedPolicies)
	}

	tests := []struct {
		name   string
		err    error
		code   string
		status int
		msg    string
	}{
		{"detach_not_attached", second(f.svc.DetachUserPolicy(f.ctx, &api.DetachUserPolicyInput{UserName: s("u"), PolicyArn: s(readOnly)})),
			"NoSuchEntity", http.StatusNotFound, "Policy " + readOnly + " was not found."},
		{"attach_missing_policy", second(f.svc.AttachUserPolicy(f.ctx, &api.AttachUserPolicyInput{UserName: s("u"), PolicyArn: s("arn:aws:iam::123456789012:policy/nope")})),
			"NoSuchEntity", http.StatusNotFound, "Policy arn:aws:iam::123456789012:policy/nope does not exist or is not attachable."},
		{"attach_policy_with_wrong_path", second(f.svc.AttachUserPolicy(f.ctx, &api.AttachUserPolicyInput{UserName: s("u"), PolicyArn: s("arn:aws:iam::123456789012:policy/Custom")})),
			"NoSuchEntity", http.StatusNotFound, "Policy arn:aws:iam::123456789012:policy/Custom does not exist or is not attachable."},
		{"attach_policy_of_another_account", second(f.svc.AttachUserPolicy(f.ctx, &api.AttachUserPolicyInput{UserName: s("u"), PolicyArn: theirs.Arn})),
			"NoSuchEntity", http.StatusNotFound, "Policy arn:aws:iam::210987654321:policy/theirs does not exist or is not attachable."},
		{"attach_invalid_arn", second(f.svc.AttachUserPolicy(f.ctx, &api.AttachUserPolicyInput{UserName: s("u"), PolicyArn: s("not-an-arn")})),
			"InvalidInput", http.StatusBadRequest, "ARN not-an-arn is not valid."},
		{"attach_to_missing_user", second(f.svc.AttachUserPolicy(f.ctx, &api.AttachUserPolicyInput{UserName: s("ghost"), PolicyArn: s(readOnly)})),
			"NoSuchEntity", http.StatusNotFound, "The user with name ghost cannot be found."},
		{"list_missing_user", second(f.svc.ListAttachedUserPolicies(f.ctx, &api.ListAttachedUserPoliciesInput{UserName: s("ghost")})),
			"NoSuchEntity", http.StatusNotFound, "The user with name ghost cannot be found."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			usrErr(t, tt.err, tt.code, tt.status, tt.msg)
		})
	}
}

func TestUserAttachedPolicyQuota(t *testing.T) {
	f := newFixture(t)
	f.usrCreate("u")
	for i := range 10 {
		p := f.createPolicy(fmt.Sprintf("p%d", i))
		must(f.svc.AttachUserPolicy(f.ctx, &api.AttachUserPolicyInput{UserName: s("u"), PolicyArn: p.Arn}))
	}
	// Re-attaching one of the ten is not an eleventh.
	must(f.svc.AttachUserPolicy(f.ctx, &api.AttachUserPolicyInput{UserName: s("u"), PolicyArn: s("arn:aws:iam::123456789012:policy/p0")}))
	_, err := f.svc.AttachUserPolicy(f.ctx, &api.AttachUserPolicyInput{UserName: s("u"), PolicyArn: s("arn:aws:iam::aws:policy/ReadOnlyAccess")})
	usrErr(t, err, "LimitExceeded", http.StatusConflict, "Cannot exceed quota for PoliciesPerUser: 10")
}

func TestUserPermissionsBoundary(t *testing.T) {
	f := newFixture(t)
	f.usrCreate("u")
	p := f.createPolicy("boundary")
	must(f.svc.PutUserPermissionsBoundary(f.ctx, &api.PutUserPermissionsBoundaryInput{UserName: s("U"), PermissionsBoundary: p.Arn}))
	b := must(f.svc.GetUser(f.ctx, &api.GetUserInput{UserName: s("u")})).User.PermissionsBoundary
	if b == nil || *b.PermissionsBoundaryArn != *p.Arn || *b.PermissionsBoundaryType != "Policy" {
		t.Fatalf("PermissionsBoundary = %+v", b)
	}
	if n := *must(f.svc.GetPolicy(f.ctx, &api.GetPolicyInput{PolicyArn: p.Arn})).Policy.PermissionsBoundaryUsageCount; n != 1 {
		t.Errorf("PermissionsBoundaryUsageCount = %d, want 1", n)
	}
	// A boundary is not an attachment.
	if att := must(f.svc.ListAttachedUserPolicies(f.ctx, &api.ListAttachedUserPoliciesInput{UserName: s("u")})).AttachedPolicies; len(att) != 0 {
		t.Errorf("boundary listed as attached: %+v", att)
	}
	// An AWS managed policy may be a boundary too, and replaces the old one.
	must(f.svc.PutUserPermissionsBoundary(f.ctx, &api.PutUserPermissionsBoundaryInput{UserName: s("u"), PermissionsBoundary: s("arn:aws:iam::aws:policy/ReadOnlyAccess")}))
	if b := must(f.svc.GetUser(f.ctx, &api.GetUserInput{UserName: s("u")})).User.PermissionsBoundary; *b.PermissionsBoundaryArn != "arn:aws:iam::aws:policy/ReadOnlyAccess" {
		t.Errorf("boundary after replace = %s", *b.PermissionsBoundaryArn)
	}
	must(f.svc.DeleteUserPermissionsBoundary(f.ctx, &api.DeleteUserPermissionsBoundaryInput{UserName: s("u")}))
	if b := must(f.svc.GetUser(f.ctx, &api.GetUserInput{UserName: s("u")})).User.PermissionsBoundary; b != nil {
		t.Errorf("boundary after delete = %+v", b)
	}

	_, err := f.svc.PutUserPermissionsBoundary(f.ctx, &api.PutUserPermissionsBoundaryInput{UserName: s("u"), PermissionsBoundary: s("arn:aws:iam::123456789012:policy/nope")})
	usrErr(t, err, "NoSuchEntity", http.StatusNotFound, "Scope ARN: arn:aws:iam::123456789012:policy/nope does not exist or is not attachable.")
	_, err = f.svc.PutUserPermissionsBoundary(f.ctx, &api.PutUserPermissionsBoundaryInput{UserName: s("ghost"), PermissionsBoundary: p.Arn})
	usrErr(t, err, "NoSuchEntity", http.StatusNotFound, "The user with name ghost cannot be found.")
	_, err = f.svc.DeleteUserPermissionsBoundary(f.ctx, &api.DeleteUserPermissionsBoundaryInput{UserName: s("ghost")})
	usrErr(t, err, "NoSuchEntity", http.StatusNotFound, "The user with name ghost cannot be found.")

	// CreateUser takes a boundary directly.
	u := must(f.svc.CreateUser(f.ctx, &api.CreateUserInput{UserName: s("bounded"), PermissionsBoundary: p.Arn})).User
	if u.PermissionsBoundary == nil || *u.PermissionsBoundary.PermissionsBoundaryArn != *p.Arn {
		t.Errorf("CreateUser boundary = %+v", u.PermissionsBoundary)
	}
}

// TestUserCredentialStubs covers the credentials nephele never keeps: the
// operations answer as IAM does for a user that has none.
func TestUserCredentialStubs(t *testing.T) {
	f := newFixture(t)
	f.usrCreate("u")
	keyID := f.usrKey("u")

	_, err := f.svc.GetLoginProfile(f.ctx, &api.GetLoginProfileInput{UserName: s("u")})
	usrErr(t, err, "NoSuchEntity", http.StatusNotFound, "Login Profile for User u cannot be found.")
	_, err = f.svc.DeleteLoginProfile(f.ctx, &api.DeleteLoginProfileInput{UserName: s("u")})
	usrErr(t, err, "NoSuchEntity", http.StatusNotFound, "Login Profile for User u cannot be found.")
	// Without a UserName, the caller's.
	_, err = f.svc.GetLoginProfile(as(keyID), &api.GetLoginProfileInput{})
	usrErr(t, err, "NoSuchEntity", http.StatusNotFound, "Login Profile for User u cannot be found.")
	_, err = f.svc.GetLoginProfile(f.ctx, &api.GetLoginProfileInput{UserName: s("ghost")})
	usrErr(t, err, "NoSuchEntity", http.StatusNotFound, "The user with name ghost cannot be found.")

	lists := []struct {
		name string
		list func(ctx context.Context, user *string) (n int, truncated *bool, err error)
	}{
		{"ListMFADevices", func(ctx context.Context, user *string) (int, *bool, error) {
			out, err := f.svc.ListMFADevices(ctx, &api.ListMFADevicesInput{UserName: user})
			if err != nil {
				return 0, nil, err
			}
			return lenNonNil(out.MFADevices), out.IsTruncated, nil
		}},
		{"ListSSHPublicKeys", func(ctx context.Context, user *string) (int, *bool, error) {
			out, err := f.svc.ListSSHPublicKeys(ctx, &api.ListSSHPublicKeysInput{UserName: user})
			if err != nil {
				return 0, nil, err
			}
			return lenNonNil(out.SSHPublicKeys), out.IsTruncated, nil
		}},
		{"ListSigningCertificates", func(ctx context.Context, user *string) (int, *bool, error) {
			out, err := f.svc.ListSigningCertificates(ctx, &api.ListSigningCertificatesInput{UserName: user})
			if err != nil {
				return 0, nil, err
			}
			return lenNonNil(out.Certificates), out.IsTruncated, nil
		}},
		{"ListServiceSpecificCredentials", func(ctx context.Context, user *string) (int, *bool, error) {
			out, err := f.svc.ListServiceSpecificCredentials(ctx, &api.ListServiceSpecificCredentialsInput{UserName: user})
			if err != nil {
				return 0, nil, err
			}
			return lenNonNil(out.ServiceSpecificCredentials), out.IsTruncated, nil
		}},
	}
	for _, tt := range lists {
		t.Run(tt.name, func(t *testing.T) {
			for _, ctx := range []context.Context{f.ctx, as(keyID)} {
				for _, user := range []*string{s("u"), nil} {
					n, truncated, err := tt.list(ctx, user)
					if err != nil || n != 0 || truncated == nil || *truncated {
						t.Errorf("%s = %d items, truncated %v, %v; want an empty list", tt.name, n, truncated, err)
					}
				}
			}
			_, _, err := tt.list(f.ctx, s("ghost"))
			usrErr(t, err, "NoSuchEntity", http.StatusNotFound, "The user with name ghost cannot be found.")
		})
	}
}

// lenNonNil is len(l), or -1 for a nil list, which IAM never sends.
func lenNonNil[T any](l []T) int {
	if l == nil {
		return -1
	}
	return len(l)
}

func TestUserCreateDateFollowsClock(t *testing.T) {
	f := newFixture(t)
	f.clk.Advance(36*time.Hour + 250*time.Millisecond)
	u := f.usrCreate("later")
	if want := start.Add(36 * time.Hour); !u.CreateDate.Equal(want) {
		t.Errorf("CreateDate = %v, want %v (whole seconds)", u.CreateDate, want)
	}
}
