package iam_test

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	api "github.com/nephele-dev/nephele/internal/api/iam"
)

func TestCreateRole(t *testing.T) {
	f := newFixture(t)
	r := must(f.svc.CreateRole(f.ctx, &api.CreateRoleInput{
		RoleName: s("web"), Path: s("/app/"), AssumeRolePolicyDocument: s(trustPolicy), Description: s("front end"),
		Tags: []api.Tag{{Key: s("env"), Value: s("dev")}},
	})).Role
	if got, want := *r.Arn, "arn:aws:iam::123456789012:role/app/web"; got != want {
		t.Errorf("Arn = %s, want %s", got, want)
	}
	if !strings.HasPrefix(*r.RoleId, "AROA") || len(*r.RoleId) != 21 {
		t.Errorf("RoleId = %s, want AROA and 17 more characters", *r.RoleId)
	}
	if !r.CreateDate.Equal(start) || *r.MaxSessionDuration != 3600 || *r.Path != "/app/" || *r.Description != "front end" {
		t.Errorf("role = %+v", r)
	}
	if decode(t, r.AssumeRolePolicyDocument) != trustPolicy {
		t.Errorf("AssumeRolePolicyDocument = %s", *r.AssumeRolePolicyDocument)
	}

	got := must(f.svc.GetRole(f.ctx, &api.GetRoleInput{RoleName: s("web")})).Role
	if *got.RoleId != *r.RoleId || len(got.Tags) != 1 || *got.Tags[0].Key != "env" || got.RoleLastUsed == nil {
		t.Errorf("GetRole = %+v", got)
	}
	// IAM names are case-insensitive: the same role answers to any case.
	if _, err := f.svc.GetRole(f.ctx, &api.GetRoleInput{RoleName: s("WEB")}); err != nil {
		t.Errorf("GetRole in another case: %v", err)
	}
	plain := f.createRole("plain")
	if *plain.Path != "/" || *plain.Arn != "arn:aws:iam::123456789012:role/plain" {
		t.Errorf("default path: %s %s", *plain.Path, *plain.Arn)
	}
}

func TestCreateRoleErrors(t *testing.T) {
	big := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"` + strings.Repeat("a", 2100) + `","Resource":"*"}]}`
	tests := []struct {
		name, role, doc, boundary string
		code                      string
		status                    int
		msg                       string
	}{
		{"duplicate_name", "taken", trustPolicy, "", "EntityAlreadyExists", http.StatusConflict, "Role with name taken already exists."},
		{"duplicate_name_other_case", "TAKEN", trustPolicy, "", "EntityAlreadyExists", http.StatusConflict, "Role with name TAKEN already exists."},
		{"invalid_json", "r", `{"Statement": [`, "", "MalformedPolicyDocument", http.StatusBadRequest, "This policy contains invalid Json"},
		{"no_statement", "r", `{"Version":"2012-10-17"}`, "", "MalformedPolicyDocument", http.StatusBadRequest, "Syntax errors in policy."},
		{"bad_effect", "r", `{"Statement":[{"Effect":"Maybe"}]}`, "", "MalformedPolicyDocument", http.StatusBadRequest, "Invalid effect: Maybe"},
		{"bad_version", "r", `{"Version":"2020-01-01","Statement":[]}`, "", "MalformedPolicyDocument", http.StatusBadRequest, "The policy failed legacy parsing"},
		{"trust_policy_too_large", "r", big, "", "LimitExceeded", http.StatusConflict, "Cannot exceed quota for ACLSizePerRole: 2048"},
		{"missing_boundary", "r", trustPolicy, "arn:aws:iam::123456789012:policy/nope", "NoSuchEntity", http.StatusNotFound,
			"Scope ARN: arn:aws:iam::123456789012:policy/nope does not exist or is not attachable."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			f.createRole("taken")
			in := &api.CreateRoleInput{RoleName: s(tt.role), AssumeRolePolicyDocument: s(tt.doc)}
			if tt.boundary != "" {
				in.PermissionsBoundary = s(tt.boundary)
			}
			_, err := f.svc.CreateRole(f.ctx, in)
			if code(err) != tt.code || status(err) != tt.status || message(err) != tt.msg {
				t.Errorf("err = %v (status %d), want %s %d %q", err, status(err), tt.code, tt.status, tt.msg)
			}
		})
	}
}

func TestGetRoleMissing(t *testing.T) {
	f := newFixture(t)
	_, err := f.svc.GetRole(f.ctx, &api.GetRoleInput{RoleName: s("ghost")})
	if code(err) != "NoSuchEntity" || status(err) != 404 || message(err) != "The role with name ghost cannot be found." {
		t.Errorf("err = %v", err)
	}
}

func TestDeleteRoleConflicts(t *testing.T) {
	tests := []struct {
		name  string
		setup func(f *fixture)
		undo  func(f *fixture)
		msg   string
	}{
		{
			name: "attached_managed_policy",
			setup: func(f *fixture) {
				must(f.svc.AttachRolePolicy(f.ctx, &api.AttachRolePolicyInput{RoleName: s("r"), PolicyArn: s("arn:aws:iam::aws:policy/ReadOnlyAccess")}))
			},
			undo: func(f *fixture) {
				must(f.svc.DetachRolePolicy(f.ctx, &api.DetachRolePolicyInput{RoleName: s("r"), PolicyArn: s("arn:aws:iam::aws:policy/ReadOnlyAccess")}))
			},
			msg: "Cannot delete entity, must detach all policies first.",
		},
		{
			name: "inline_policy",
			setup: func(f *fixture) {
				must(f.svc.PutRolePolicy(f.ctx, &api.PutRolePolicyInput{RoleName: s("r"), PolicyName: s("p"), PolicyDocument: s(s3Policy)}))
			},
			undo: func(f *fixture) {
				must(f.svc.DeleteRolePolicy(f.ctx, &api.DeleteRolePolicyInput{RoleName: s("r"), PolicyName: s("p")}))
			},
			msg: "Cannot delete entity, must delete policies first.",
		},
		{
			name: "in_instance_profile",
			setup: func(f *fixture) {
				must(f.svc.CreateInstanceProfile(f.ctx, &api.CreateInstanceProfileInput{InstanceProfileName: s("ip")}))
				must(f.svc.AddRoleToInstanceProfile(f.ctx, &api.AddRoleToInstanceProfileInput{InstanceProfileName: s("ip"), RoleName: s("r")}))
			},
			undo: func(f *fixture) {
				must(f.svc.RemoveRoleFromInstanceProfile(f.ctx, &api.RemoveRoleFromInstanceProfileInput{InstanceProfileName: s("ip"), RoleName: s("r")}))
			},
			msg: "Cannot delete entity, must remove roles from instance profile first.",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			f.createRole("r")
			tt.setup(f)
			_, err := f.svc.DeleteRole(f.ctx, &api.DeleteRoleInput{RoleName: s("r")})
			if code(err) != "DeleteConflict" || status(err) != 409 || message(err) != tt.msg {
				t.Fatalf("DeleteRole = %v, want DeleteConflict %q", err, tt.msg)
			}
			tt.undo(f)
			must(f.svc.DeleteRole(f.ctx, &api.DeleteRoleInput{RoleName: s("r")}))
			if _, err := f.svc.GetRole(f.ctx, &api.GetRoleInput{RoleName: s("r")}); code(err) != "NoSuchEntity" {
				t.Errorf("GetRole after delete: %v", err)
			}
		})
	}
}

func TestListRolesPagination(t *testing.T) {
	f := newFixture(t)
	for _, n := range []string{"echo", "Alpha", "delta", "bravo", "charlie"} {
		f.createRole(n)
	}
	must(f.svc.CreateRole(f.ctx, &api.CreateRoleInput{RoleName: s("svc"), Path: s("/service/"), AssumeRolePolicyDocument: s(trustPolicy)}))

	pages := listPages(t, func(marker *string) ([]string, *bool, *string) {
		out := must(f.svc.ListRoles(f.ctx, &api.ListRolesInput{MaxItems: i32(2), Marker: marker}))
		var names []string
		for _, r := range out.Roles {
			names = append(names, *r.RoleName)
			if r.Tags != nil || r.RoleLastUsed != nil {
				t.Errorf("ListRoles returned Tags or RoleLastUsed for %s, which IAM leaves out", *r.RoleName)
			}
		}
		return names, out.IsTruncated, out.Marker
	})
	if got, want := fmt.Sprint(pages), "[[Alpha bravo] [charlie delta] [echo svc]]"; got != want {
		t.Errorf("pages = %s, want %s", got, want)
	}

	out := must(f.svc.ListRoles(f.ctx, &api.ListRolesInput{PathPrefix: s("/service/")}))
	if len(out.Roles) != 1 || *out.Roles[0].RoleName != "svc" || *out.IsTruncated {
		t.Errorf("PathPrefix /service/ = %+v", out.Roles)
	}
	if _, err := f.svc.ListRoles(f.ctx, &api.ListRolesInput{Marker: s("not-a-marker!")}); code(err) != "InvalidInput" {
		t.Errorf("bad marker: %v", err)
	}
	empty := must(newFixture(t).svc.ListRoles(f.ctx, &api.ListRolesInput{}))
	if empty.Roles == nil || len(empty.Roles) != 0 || *empty.IsTruncated {
		t.Errorf("empty ListRoles = %+v, want an empty (not nil) list", empty)
	}
}

func TestUpdateRole(t *testing.T) {
	f := newFixture(t)
	f.createRole("r")
	must(f.svc.UpdateRole(f.ctx, &api.UpdateRoleInput{RoleName: s("r"), MaxSessionDuration: i32(7200), Description: s("d1")}))
	out := must(f.svc.UpdateRoleDescription(f.ctx, &api.UpdateRoleDescriptionInput{RoleName: s("r"), Description: s("d2")}))
	if *out.Role.Description != "d2" || *out.Role.MaxSessionDuration != 7200 {
		t.Errorf("after updates: %+v", out.Role)
	}
	newTrust := strings.Replace(trustPolicy, "ec2.amazonaws.com", "lambda.amazonaws.com", 1)
	must(f.svc.UpdateAssumeRolePolicy(f.ctx, &api.UpdateAssumeRolePolicyInput{RoleName: s("r"), PolicyDocument: s(newTrust)}))
	got := must(f.svc.GetRole(f.ctx, &api.GetRoleInput{RoleName: s("r")}))
	if decode(t, got.Role.AssumeRolePolicyDocument) != newTrust {
		t.Errorf("trust policy = %s", decode(t, got.Role.AssumeRolePolicyDocument))
	}
	if _, err := f.svc.UpdateAssumeRolePolicy(f.ctx, &api.UpdateAssumeRolePolicyInput{RoleName: s("r"), PolicyDocument: s("nope")}); code(err) != "MalformedPolicyDocument" {
		t.Errorf("bad trust policy: %v", err)
	}
	if _, err := f.svc.UpdateRole(f.ctx, &api.UpdateRoleInput{RoleName: s("ghost")}); code(err) != "NoSuchEntity" {
		t.Errorf("UpdateRole of a missing role: %v", err)
	}
}

func TestRoleTags(t *testing.T) {
	f := newFixture(t)
	must(f.svc.CreateRole(f.ctx, &api.CreateRoleInput{RoleName: s("r"), AssumeRolePolicyDocument: s(trustPolicy),
		Tags: []api.Tag{{Key: s("b"), Value: s("1")}, {Key: s("a"), Value: s("2")}}}))
	must(f.svc.TagRole(f.ctx, &api.TagRoleInput{RoleName: s("r"), Tags: []api.Tag{{Key: s("B"), Value: s("3")}, {Key: s("c"), Value: s("4")}}}))
	must(f.svc.UntagRole(f.ctx, &api.UntagRoleInput{RoleName: s("r"), TagKeys: []string{"a", "missing"}}))
	out := must(f.svc.ListRoleTags(f.ctx, &api.ListRoleTagsInput{RoleName: s("r")}))
	var got []string
	for _, tg := range out.Tags {
		got = append(got, *tg.Key+"="+*tg.Value)
	}
	// Tag keys of roles are not case sensitive: "B" replaced "b".
	if strings.Join(got, ",") != "B=3,c=4" || *out.IsTruncated {
		t.Errorf("tags = %v", got)
	}

	var many []api.Tag
	for i := range 49 {
		many = append(many, api.Tag{Key: s(fmt.Sprintf("k%02d", i)), Value: s("v")})
	}
	_, err := f.svc.TagRole(f.ctx, &api.TagRoleInput{RoleName: s("r"), Tags: many})
	if code(err) != "LimitExceeded" {
		t.Errorf("51 tags: %v, want LimitExceeded", err)
	}
	_, err = f.svc.TagRole(f.ctx, &api.TagRoleInput{RoleName: s("r"), Tags: []api.Tag{{Key: s("aws:reserved"), Value: s("x")}}})
	if code(err) != "InvalidInput" {
		t.Errorf("aws: tag: %v, want InvalidInput", err)
	}
}

func TestRoleInlinePolicies(t *testing.T) {
	f := newFixture(t)
	f.createRole("r")
	for _, n := range []string{"zeta", "alpha"} {
		must(f.svc.PutRolePolicy(f.ctx, &api.PutRolePolicyInput{RoleName: s("r"), PolicyName: s(n), PolicyDocument: s(s3Policy)}))
	}
	// Putting a policy again replaces it.
	doc2 := strings.Replace(s3Policy, "s3:GetObject", "s3:PutObject", 1)
	must(f.svc.PutRolePolicy(f.ctx, &api.PutRolePolicyInput{RoleName: s("r"), PolicyName: s("zeta"), PolicyDocument: s(doc2)}))

	list := must(f.svc.ListRolePolicies(f.ctx, &api.ListRolePoliciesInput{RoleName: s("r")}))
	if !slices.Equal(list.PolicyNames, []string{"alpha", "zeta"}) || *list.IsTruncated {
		t.Errorf("ListRolePolicies = %v", list.PolicyNames)
	}
	got := must(f.svc.GetRolePolicy(f.ctx, &api.GetRolePolicyInput{RoleName: s("r"), PolicyName: s("zeta")}))
	if *got.RoleName != "r" || *got.PolicyName != "zeta" || decode(t, got.PolicyDocument) != doc2 {
		t.Errorf("GetRolePolicy = %+v", got)
	}

	tests := []struct {
		name string
		err  error
		code string
		msg  string
	}{
		{"get_missing_policy", second(f.svc.GetRolePolicy(f.ctx, &api.GetRolePolicyInput{RoleName: s("r"), PolicyName: s("nope")})),
			"NoSuchEntity", "The role policy with name nope cannot be found."},
		{"get_missing_role", second(f.svc.GetRolePolicy(f.ctx, &api.GetRolePolicyInput{RoleName: s("ghost"), PolicyName: s("p")})),
			"NoSuchEntity", "The role with name ghost cannot be found."},
		{"delete_missing_policy", second(f.svc.DeleteRolePolicy(f.ctx, &api.DeleteRolePolicyInput{RoleName: s("r"), PolicyName: s("nope")})),
			"NoSuchEntity", "The role policy with name nope cannot be found."},
		{"put_malformed", second(f.svc.PutRolePolicy(f.ctx, &api.PutRolePolicyInput{RoleName: s("r"), PolicyName: s("bad"), PolicyDocument: s("{")})),
			"MalformedPolicyDocument", "This policy contains invalid Json"},
		// Inline policies are identity policies, with a managed policy's rules.
		{"put_with_principal", second(f.svc.PutRolePolicy(f.ctx, &api.PutRolePolicyInput{RoleName: s("r"), PolicyName: s("bad"), PolicyDocument: s(trustPolicy)})),
			"MalformedPolicyDocument", "Policy document should not specify a principal."},
		{"put_without_resource", second(f.svc.PutRolePolicy(f.ctx, &api.PutRolePolicyInput{RoleName: s("r"), PolicyName: s("bad"),
			PolicyDocument: s(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*"}]}`)})),
			"MalformedPolicyDocument", "Policy statement must contain resources."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if code(tt.err) != tt.code || message(tt.err) != tt.msg {
				t.Errorf("err = %v, want %s %q", tt.err, tt.code, tt.msg)
			}
		})
	}
}

func TestInlinePolicySizeQuota(t *testing.T) {
	f := newFixture(t)
	must(f.svc.CreateUser(f.ctx, &api.CreateUserInput{UserName: s("u")}))
	big := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"` + strings.Repeat("s", 1200) + `","Resource":"*"}]}`
	must(f.svc.PutUserPolicy(f.ctx, &api.PutUserPolicyInput{UserName: s("u"), PolicyName: s("one"), PolicyDocument: s(big)}))
	// A user's inline policies may total 2,048 characters.
	_, err := f.svc.PutUserPolicy(f.ctx, &api.PutUserPolicyInput{UserName: s("u"), PolicyName: s("two"), PolicyDocument: s(big)})
	if code(err) != "LimitExceeded" || message(err) != "Maximum policy size of 2048 bytes exceeded for user u" {
		t.Errorf("err = %v", err)
	}
	// A role's may total 10,240.
	f.createRole("r")
	for _, n := range []string{"one", "two"} {
		must(f.svc.PutRolePolicy(f.ctx, &api.PutRolePolicyInput{RoleName: s("r"), PolicyName: s(n), PolicyDocument: s(big)}))
	}
}

func TestServiceLinkedRole(t *testing.T) {
	f := newFixture(t)
	out := must(f.svc.CreateServiceLinkedRole(f.ctx, &api.CreateServiceLinkedRoleInput{AWSServiceName: s("autoscaling.amazonaws.com")}))
	if want := "arn:aws:iam::123456789012:role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling"; *out.Role.Arn != want {
		t.Errorf("Arn = %s, want %s", *out.Role.Arn, want)
	}
	if _, err := f.svc.CreateServiceLinkedRole(f.ctx, &api.CreateServiceLinkedRoleInput{AWSServiceName: s("autoscaling.amazonaws.com")}); code(err) != "InvalidInput" {
		t.Errorf("second CreateServiceLinkedRole: %v", err)
	}
	if _, err := f.svc.DeleteRole(f.ctx, &api.DeleteRoleInput{RoleName: s("AWSServiceRoleForAutoScaling")}); code(err) != "UnmodifiableEntity" {
		t.Errorf("DeleteRole of a service-linked role: %v", err)
	}
	del := must(f.svc.DeleteServiceLinkedRole(f.ctx, &api.DeleteServiceLinkedRoleInput{RoleName: s("AWSServiceRoleForAutoScaling")}))
	st := must(f.svc.GetServiceLinkedRoleDeletionStatus(f.ctx, &api.GetServiceLinkedRoleDeletionStatusInput{DeletionTaskId: del.DeletionTaskId}))
	if *st.Status != "SUCCEEDED" {
		t.Errorf("status = %s", *st.Status)
	}
	if _, err := f.svc.GetRole(f.ctx, &api.GetRoleInput{RoleName: s("AWSServiceRoleForAutoScaling")}); code(err) != "NoSuchEntity" {
		t.Errorf("role after deletion: %v", err)
	}
}

func TestCreateDateFollowsClock(t *testing.T) {
	f := newFixture(t)
	f.clk.Advance(90*time.Minute + 500*time.Millisecond)
	r := f.createRole("later")
	// IAM reports whole seconds.
	if want := start.Add(90 * time.Minute); !r.CreateDate.Equal(want) {
		t.Errorf("CreateDate = %v, want %v", r.CreateDate, want)
	}
}
