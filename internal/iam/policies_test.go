package iam_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	api "github.com/nephele-dev/nephele/internal/api/iam"
	"github.com/nephele-dev/nephele/internal/iam"
	"github.com/nephele-dev/nephele/internal/service"
)

const (
	polReadOnlyARN     = "arn:aws:iam::aws:policy/ReadOnlyAccess"
	polLambdaBasicARN  = "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"
	polOtherAccountARN = "arn:aws:iam::210987654321:policy/p"
)

// polARN is the ARN of the test account's customer managed policy at the
// root path.
func polARN(name string) string { return "arn:aws:iam::123456789012:policy/" + name }

func polBool(v bool) *bool { return &v }

// polDoc is s3Policy granting action instead of s3:GetObject.
func polDoc(action string) string {
	return strings.Replace(s3Policy, "s3:GetObject", action, 1)
}

// polNames lists policy names in order.
func polNames(ps []api.Policy) []string {
	names := []string{}
	for _, p := range ps {
		names = append(names, *p.PolicyName)
	}
	return names
}

// polVersionIDs lists version IDs in order.
func polVersionIDs(vs []api.PolicyVersion) []string {
	ids := []string{}
	for _, v := range vs {
		ids = append(ids, *v.VersionId)
	}
	return ids
}

func (f *fixture) polAttachRole(role, policyARN string) {
	f.t.Helper()
	must(f.svc.AttachRolePolicy(f.ctx, &api.AttachRolePolicyInput{RoleName: s(role), PolicyArn: s(policyARN)}))
}

func (f *fixture) polGet(policyARN string) *api.Policy {
	f.t.Helper()
	return must(f.svc.GetPolicy(f.ctx, &api.GetPolicyInput{PolicyArn: s(policyARN)})).Policy
}

func (f *fixture) polNewVersion(policyARN string, setAsDefault bool) *api.PolicyVersion {
	f.t.Helper()
	return must(f.svc.CreatePolicyVersion(f.ctx, &api.CreatePolicyVersionInput{
		PolicyArn: s(policyARN), PolicyDocument: s(polDoc("s3:PutObject")), SetAsDefault: polBool(setAsDefault),
	})).PolicyVersion
}

func TestCreatePolicy(t *testing.T) {
	f := newFixture(t)
	p := must(f.svc.CreatePolicy(f.ctx, &api.CreatePolicyInput{
		PolicyName: s("reader"), Path: s("/team/"), PolicyDocument: s(s3Policy), Description: s("reads"),
		Tags: []api.Tag{{Key: s("env"), Value: s("dev")}},
	})).Policy
	if got, want := *p.Arn, "arn:aws:iam::123456789012:policy/team/reader"; got != want {
		t.Errorf("Arn = %s, want %s", got, want)
	}
	if !strings.HasPrefix(*p.PolicyId, "ANPA") || len(*p.PolicyId) != 21 {
		t.Errorf("PolicyId = %s, want ANPA and 17 more characters", *p.PolicyId)
	}
	if *p.DefaultVersionId != "v1" || !*p.IsAttachable || *p.AttachmentCount != 0 || *p.PermissionsBoundaryUsageCount != 0 {
		t.Errorf("policy = %+v", p)
	}
	if !p.CreateDate.Equal(start) || !p.UpdateDate.Equal(start) || *p.Path != "/team/" || *p.PolicyName != "reader" {
		t.Errorf("dates, path or name: %+v", p)
	}
	if p.Description == nil || *p.Description != "reads" || len(p.Tags) != 1 || *p.Tags[0].Key != "env" {
		t.Errorf("Description or Tags: %+v", p)
	}

	got := f.polGet(*p.Arn)
	if *got.PolicyId != *p.PolicyId || *got.DefaultVersionId != "v1" || *got.Description != "reads" || len(got.Tags) != 1 {
		t.Errorf("GetPolicy = %+v", got)
	}

	v := must(f.svc.GetPolicyVersion(f.ctx, &api.GetPolicyVersionInput{PolicyArn: p.Arn, VersionId: s("v1")})).PolicyVersion
	if decode(t, v.Document) != s3Policy || !*v.IsDefaultVersion || *v.VersionId != "v1" || !v.CreateDate.Equal(start) {
		t.Errorf("GetPolicyVersion = %+v", v)
	}

	plain := f.createPolicy("plain")
	if *plain.Path != "/" || *plain.Arn != polARN("plain") || plain.Description != nil || plain.Tags != nil {
		t.Errorf("default path, no description, no tags: %+v", plain)
	}
}

// TestPolicyDocumentEncoding checks that documents come back URL-encoded so
// that both url.QueryUnescape (Terraform, Go SDK users) and RFC 3986
// decoders (botocore) get the document back: spaces as %20, "+" as %2B.
func TestPolicyDocumentEncoding(t *testing.T) {
	f := newFixture(t)
	doc := `{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "s3:Get*", "Resource": "arn:aws:s3:::a+b/*"}}`
	p := must(f.svc.CreatePolicy(f.ctx, &api.CreatePolicyInput{PolicyName: s("p"), PolicyDocument: s(doc)})).Policy
	v := must(f.svc.GetPolicyVersion(f.ctx, &api.GetPolicyVersionInput{PolicyArn: p.Arn, VersionId: s("v1")})).PolicyVersion
	if strings.ContainsAny(*v.Document, " +{}\":") {
		t.Errorf("Document %q is not fully encoded", *v.Document)
	}
	if !strings.Contains(*v.Document, "%20") || !strings.Contains(*v.Document, "a%2Bb") {
		t.Errorf("Document %q: want spaces as %%20 and + as %%2B", *v.Document)
	}
	if decode(t, v.Document) != doc {
		t.Errorf("decoded = %s, want %s", decode(t, v.Document), doc)
	}
}

func TestCreatePolicyErrors(t *testing.T) {
	stmt := func(s string) string { return `{"Version":"2012-10-17","Statement":[` + s + `]}` }
	// 6,144 characters other than white space is the most IAM keeps.
	sized := func(n int) string {
		d := stmt(`{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/"}`)
		return strings.Replace(d, "b/", "b/"+strings.Repeat("x", n-len(d)), 1)
	}
	tests := []struct {
		name, policy, doc string
		code              string
		status            int
		msg               string
	}{
		{"duplicate_name", "taken", s3Policy, "EntityAlreadyExists", http.StatusConflict,
			"A policy called taken already exists. Duplicate names are not allowed."},
		{"duplicate_name_other_case", "TAKEN", s3Policy, "EntityAlreadyExists", http.StatusConflict,
			"A policy called TAKEN already exists. Duplicate names are not allowed."},
		{"invalid_json", "p", `{"Statement": [`, "MalformedPolicyDocument", http.StatusBadRequest, "This policy contains invalid Json"},
		{"no_statement", "p", `{"Version":"2012-10-17"}`, "MalformedPolicyDocument", http.StatusBadRequest, "Syntax errors in policy."},
		{"bad_effect", "p", stmt(`{"Effect":"Permit","Action":"s3:*","Resource":"*"}`), "MalformedPolicyDocument", http.StatusBadRequest, "Invalid effect: Permit"},
		{"missing_effect", "p", stmt(`{"Action":"s3:*","Resource":"*"}`), "MalformedPolicyDocument", http.StatusBadRequest, "Missing required field Effect"},
		{"unknown_version", "p", `{"Version":"2024-01-01","Statement":[]}`, "MalformedPolicyDocument", http.StatusBadRequest, "The policy failed legacy parsing"},
		{"no_version", "p", `{"Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}`, "MalformedPolicyDocument", http.StatusBadRequest,
			"Policy document must be version 2012-10-17 or greater."},
		{"old_version", "p", `{"Version":"2008-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}`, "MalformedPolicyDocument", http.StatusBadRequest,
			"Policy document must be version 2012-10-17 or greater."},
		{"principal", "p", stmt(`{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"s3:*","Resource":"*"}`), "MalformedPolicyDocument", http.StatusBadRequest,
			"Policy document should not specify a principal."},
		{"not_principal", "p", stmt(`{"Effect":"Deny","NotPrincipal":{"AWS":"*"},"Action":"s3:*","Resource":"*"}`), "MalformedPolicyDocument", http.StatusBadRequest,
			"Policy document should not specify a principal."},
		{"no_action", "p", stmt(`{"Effect":"Allow","Resource":"*"}`), "MalformedPolicyDocument", http.StatusBadRequest, "Policy statement must contain actions."},
		{"no_resource", "p", stmt(`{"Effect":"Allow","Action":"s3:*"},{"Effect":"Allow","Action":"ec2:*","Resource":"*"}`), "MalformedPolicyDocument", http.StatusBadRequest,
			"Policy statement must contain resources."},
		{"too_large", "p", sized(6145), "LimitExceeded", http.StatusConflict, "Cannot exceed quota for PolicySize: 6144"},
		{"largest", "p", sized(6144), "", 0, ""},
		// IAM does not count white space against the quota.
		{"white_space_is_free", "p", strings.Replace(sized(6144), ",", ",\n          ", -1), "", 0, ""},
		{"not_action_and_not_resource", "p", stmt(`{"Effect":"Deny","NotAction":"s3:*","NotResource":"arn:aws:s3:::b"}`), "", 0, ""},
		{"single_statement_object", "p", `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*"}}`, "", 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			f.createPolicy("taken")
			_, err := f.svc.CreatePolicy(f.ctx, &api.CreatePolicyInput{PolicyName: s(tt.policy), PolicyDocument: s(tt.doc)})
			if code(err) != tt.code || status(err) != tt.status || message(err) != tt.msg {
				t.Errorf("err = %v (status %d), want %s %d %q", err, status(err), tt.code, tt.status, tt.msg)
			}
			// A rejected policy is not kept.
			if err != nil && tt.policy == "p" {
				if _, err := f.svc.GetPolicy(f.ctx, &api.GetPolicyInput{PolicyArn: s(polARN("p"))}); code(err) != "NoSuchEntity" {
					t.Errorf("GetPolicy after a failed create: %v", err)
				}
			}
		})
	}
}

func TestGetPolicyErrors(t *testing.T) {
	f := newFixture(t)
	must(f.svc.CreatePolicy(f.ctx, &api.CreatePolicyInput{PolicyName: s("deep"), Path: s("/a/b/"), PolicyDocument: s(s3Policy)}))
	// Another account's policy of the same name is not this account's.
	other := must(iam.New(f.st, f.clk).CreatePolicy(
		polAsAccount("210987654321"), &api.CreatePolicyInput{PolicyName: s("p"), PolicyDocument: s(s3Policy)})).Policy
	if *other.Arn != polOtherAccountARN {
		t.Fatalf("other account's policy = %s", *other.Arn)
	}
	tests := []struct {
		name, arn string
		code      string
		status    int
		msg       string
	}{
		{"missing", polARN("ghost"), "NoSuchEntity", http.StatusNotFound, "Policy arn:aws:iam::123456789012:policy/ghost was not found."},
		// IAM resolves an ARN with its path: the name alone does not do.
		{"path_left_out", polARN("deep"), "NoSuchEntity", http.StatusNotFound, "Policy arn:aws:iam::123456789012:policy/deep was not found."},
		{"wrong_path", "arn:aws:iam::123456789012:policy/a/deep", "NoSuchEntity", http.StatusNotFound,
			"Policy arn:aws:iam::123456789012:policy/a/deep was not found."},
		{"other_account", polOtherAccountARN, "NoSuchEntity", http.StatusNotFound, "Policy " + polOtherAccountARN + " was not found."},
		{"aws_policy_without_its_path", "arn:aws:iam::aws:policy/AWSLambdaBasicExecutionRole", "NoSuchEntity", http.StatusNotFound,
			"Policy arn:aws:iam::aws:policy/AWSLambdaBasicExecutionRole was not found."},
		{"not_an_arn", "ReadOnlyAccess", "InvalidInput", http.StatusBadRequest, "ARN ReadOnlyAccess is not valid."},
		{"role_arn", "arn:aws:iam::123456789012:role/r", "InvalidInput", http.StatusBadRequest, "ARN arn:aws:iam::123456789012:role/r is not valid."},
		{"no_name", "arn:aws:iam::123456789012:policy/", "InvalidInput", http.StatusBadRequest, "ARN arn:aws:iam::123456789012:policy/ is not valid."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := f.svc.GetPolicy(f.ctx, &api.GetPolicyInput{PolicyArn: s(tt.arn)})
			if code(err) != tt.code || status(err) != tt.status || message(err) != tt.msg {
				t.Errorf("err = %v (status %d), want %s %d %q", err, status(err), tt.code, tt.status, tt.msg)
			}
		})
	}
	if got := f.polGet("arn:aws:iam::123456789012:policy/a/b/deep"); *got.PolicyName != "deep" {
		t.Errorf("GetPolicy with the full path = %+v", got)
	}
}

// polAsAccount is a request context in another account.
func polAsAccount(id string) context.Context {
	return service.WithRequest(context.Background(), service.Request{AccountID: id, Region: "us-east-1", AccessKeyID: "AKIDOTHER"})
}

func TestDeletePolicyConflicts(t *testing.T) {
	tests := []struct {
		name  string
		setup func(f *fixture)
		undo  func(f *fixture)
		msg   string
	}{
		{
			name:  "attached_to_role",
			setup: func(f *fixture) { f.polAttachRole("r", polARN("p")) },
			undo: func(f *fixture) {
				must(f.svc.DetachRolePolicy(f.ctx, &api.DetachRolePolicyInput{RoleName: s("r"), PolicyArn: s(polARN("p"))}))
			},
			msg: "Cannot delete a policy attached to entities.",
		},
		{
			// IAM counts a permissions boundary as an attachment here.
			name: "permissions_boundary_of_role",
			setup: func(f *fixture) {
				must(f.svc.PutRolePermissionsBoundary(f.ctx, &api.PutRolePermissionsBoundaryInput{RoleName: s("r"), PermissionsBoundary: s(polARN("p"))}))
			},
			undo: func(f *fixture) {
				must(f.svc.DeleteRolePermissionsBoundary(f.ctx, &api.DeleteRolePermissionsBoundaryInput{RoleName: s("r")}))
			},
			msg: "Cannot delete a policy attached to entities.",
		},
		{
			name: "attached_to_user",
			setup: func(f *fixture) {
				must(f.svc.CreateUser(f.ctx, &api.CreateUserInput{UserName: s("u")}))
				must(f.svc.AttachUserPolicy(f.ctx, &api.AttachUserPolicyInput{UserName: s("u"), PolicyArn: s(polARN("p"))}))
			},
			undo: func(f *fixture) {
				must(f.svc.DetachUserPolicy(f.ctx, &api.DetachUserPolicyInput{UserName: s("u"), PolicyArn: s(polARN("p"))}))
			},
			msg: "Cannot delete a policy attached to entities.",
		},
		{
			name:  "non_default_version",
			setup: func(f *fixture) { f.polNewVersion(polARN("p"), false) },
			undo: func(f *fixture) {
				must(f.svc.DeletePolicyVersion(f.ctx, &api.DeletePolicyVersionInput{PolicyArn: s(polARN("p")), VersionId: s("v2")}))
			},
			msg: "This policy has more than one version. Before you delete a policy, you must delete the policy's versions. The default version is deleted with the policy.",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			f.createRole("r")
			f.createPolicy("p")
			tt.setup(f)
			_, err := f.svc.DeletePolicy(f.ctx, &api.DeletePolicyInput{PolicyArn: s(polARN("p"))})
			if code(err) != "DeleteConflict" || status(err) != http.StatusConflict || message(err) != tt.msg {
				t.Fatalf("DeletePolicy = %v, want DeleteConflict %q", err, tt.msg)
			}
			tt.undo(f)
			must(f.svc.DeletePolicy(f.ctx, &api.DeletePolicyInput{PolicyArn: s(polARN("p"))}))
			if _, err := f.svc.GetPolicy(f.ctx, &api.GetPolicyInput{PolicyArn: s(polARN("p"))}); code(err) != "NoSuchEntity" {
				t.Errorf("GetPolicy after delete: %v", err)
			}
			// The name is free again.
			f.createPolicy("p")
		})
	}
}

func TestDeletePolicyMissing(t *testing.T) {
	f := newFixture(t)
	_, err := f.svc.DeletePolicy(f.ctx, &api.DeletePolicyInput{PolicyArn: s(polARN("ghost"))})
	if code(err) != "NoSuchEntity" || status(err) != http.StatusNotFound || message(err) != "Policy "+polARN("ghost")+" was not found." {
		t.Errorf("err = %v", err)
	}
}

func TestPolicyVersions(t *testing.T) {
	f := newFixture(t)
	arn := *f.createPolicy("p").Arn

	f.clk.Advance(time.Minute)
	v2 := f.polNewVersion(arn, false)
	// CreatePolicyVersion's answer carries no document.
	if *v2.VersionId != "v2" || *v2.IsDefaultVersion || v2.Document != nil || !v2.CreateDate.Equal(start.Add(time.Minute)) {
		t.Errorf("v2 = %+v", v2)
	}
	if p := f.polGet(arn); *p.DefaultVersionId != "v1" || !p.UpdateDate.Equal(start.Add(time.Minute)) || !p.CreateDate.Equal(start) {
		t.Errorf("after v2: default %s, UpdateDate %v, CreateDate %v", *p.DefaultVersionId, p.UpdateDate, p.CreateDate)
	}
	f.clk.Advance(time.Minute)
	v3 := f.polNewVersion(arn, true)
	if *v3.VersionId != "v3" || !*v3.IsDefaultVersion {
		t.Errorf("v3 = %+v", v3)
	}
	if p := f.polGet(arn); *p.DefaultVersionId != "v3" {
		t.Errorf("DefaultVersionId = %s, want v3", *p.DefaultVersionId)
	}
	got := must(f.svc.GetPolicyVersion(f.ctx, &api.GetPolicyVersionInput{PolicyArn: s(arn), VersionId: s("v3")})).PolicyVersion
	if decode(t, got.Document) != polDoc("s3:PutObject") || !*got.IsDefaultVersion {
		t.Errorf("GetPolicyVersion v3 = %+v", got)
	}
	old := must(f.svc.GetPolicyVersion(f.ctx, &api.GetPolicyVersionInput{PolicyArn: s(arn), VersionId: s("v1")})).PolicyVersion
	if decode(t, old.Document) != s3Policy || *old.IsDefaultVersion {
		t.Errorf("GetPolicyVersion v1 = %+v", old)
	}

	// IAM lists versions newest first.
	list := must(f.svc.ListPolicyVersions(f.ctx, &api.ListPolicyVersionsInput{PolicyArn: s(arn)}))
	if got := polVersionIDs(list.Versions); !slices.Equal(got, []string{"v3", "v2", "v1"}) || *list.IsTruncated || list.Marker != nil {
		t.Errorf("ListPolicyVersions = %v truncated %v", got, *list.IsTruncated)
	}
	for _, v := range list.Versions {
		if v.Document != nil {
			t.Errorf("ListPolicyVersions returned the document of %s", *v.VersionId)
		}
		if *v.IsDefaultVersion != (*v.VersionId == "v3") {
			t.Errorf("%s IsDefaultVersion = %v", *v.VersionId, *v.IsDefaultVersion)
		}
	}
	page1 := must(f.svc.ListPolicyVersions(f.ctx, &api.ListPolicyVersionsInput{PolicyArn: s(arn), MaxItems: i32(2)}))
	if !slices.Equal(polVersionIDs(page1.Versions), []string{"v3", "v2"}) || !*page1.IsTruncated || page1.Marker == nil {
		t.Fatalf("page 1 = %v", polVersionIDs(page1.Versions))
	}
	page2 := must(f.svc.ListPolicyVersions(f.ctx, &api.ListPolicyVersionsInput{PolicyArn: s(arn), MaxItems: i32(2), Marker: page1.Marker}))
	if !slices.Equal(polVersionIDs(page2.Versions), []string{"v1"}) || *page2.IsTruncated {
		t.Errorf("page 2 = %v", polVersionIDs(page2.Versions))
	}

	// A policy keeps at most five versions.
	f.polNewVersion(arn, false)
	f.polNewVersion(arn, false)
	_, err := f.svc.CreatePolicyVersion(f.ctx, &api.CreatePolicyVersionInput{PolicyArn: s(arn), PolicyDocument: s(s3Policy)})
	if code(err) != "LimitExceeded" || status(err) != http.StatusConflict ||
		message(err) != "A managed policy can have up to 5 versions. Before you create a new version, you must delete an existing version." {
		t.Errorf("sixth version: %v", err)
	}

	_, err = f.svc.DeletePolicyVersion(f.ctx, &api.DeletePolicyVersionInput{PolicyArn: s(arn), VersionId: s("v3")})
	if code(err) != "DeleteConflict" || status(err) != http.StatusConflict || message(err) != "Cannot delete the default version of a policy." {
		t.Errorf("deleting the default version: %v", err)
	}
	must(f.svc.DeletePolicyVersion(f.ctx, &api.DeletePolicyVersionInput{PolicyArn: s(arn), VersionId: s("v2")}))
	// Version IDs are never reused.
	if v := f.polNewVersion(arn, false); *v.VersionId != "v6" {
		t.Errorf("version after deleting v2 = %s, want v6", *v.VersionId)
	}

	must(f.svc.SetDefaultPolicyVersion(f.ctx, &api.SetDefaultPolicyVersionInput{PolicyArn: s(arn), VersionId: s("v1")}))
	if p := f.polGet(arn); *p.DefaultVersionId != "v1" {
		t.Errorf("DefaultVersionId after SetDefaultPolicyVersion = %s", *p.DefaultVersionId)
	}
	// The former default may now go.
	must(f.svc.DeletePolicyVersion(f.ctx, &api.DeletePolicyVersionInput{PolicyArn: s(arn), VersionId: s("v3")}))
	list = must(f.svc.ListPolicyVersions(f.ctx, &api.ListPolicyVersionsInput{PolicyArn: s(arn)}))
	if got := polVersionIDs(list.Versions); !slices.Equal(got, []string{"v6", "v5", "v4", "v1"}) {
		t.Errorf("versions = %v", got)
	}

	missing := "Policy " + arn + " version v2 does not exist or is not attachable."
	tests := []struct {
		name string
		err  error
		code string
		msg  string
	}{
		{"get_deleted_version", second(f.svc.GetPolicyVersion(f.ctx, &api.GetPolicyVersionInput{PolicyArn: s(arn), VersionId: s("v2")})), "NoSuchEntity", missing},
		{"delete_deleted_version", second(f.svc.DeletePolicyVersion(f.ctx, &api.DeletePolicyVersionInput{PolicyArn: s(arn), VersionId: s("v2")})), "NoSuchEntity", missing},
		{"set_default_deleted_version", second(f.svc.SetDefaultPolicyVersion(f.ctx, &api.SetDefaultPolicyVersionInput{PolicyArn: s(arn), VersionId: s("v2")})), "NoSuchEntity", missing},
		{"version_of_missing_policy", second(f.svc.CreatePolicyVersion(f.ctx, &api.CreatePolicyVersionInput{PolicyArn: s(polARN("ghost")), PolicyDocument: s(s3Policy)})),
			"NoSuchEntity", "Policy " + polARN("ghost") + " was not found."},
		{"list_versions_of_missing_policy", second(f.svc.ListPolicyVersions(f.ctx, &api.ListPolicyVersionsInput{PolicyArn: s(polARN("ghost"))})),
			"NoSuchEntity", "Policy " + polARN("ghost") + " was not found."},
		{"malformed_version", second(f.svc.CreatePolicyVersion(f.ctx, &api.CreatePolicyVersionInput{PolicyArn: s(arn), PolicyDocument: s(`{"Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}`)})),
			"MalformedPolicyDocument", "Policy document must be version 2012-10-17 or greater."},
		{"version_with_principal", second(f.svc.CreatePolicyVersion(f.ctx, &api.CreatePolicyVersionInput{PolicyArn: s(arn), PolicyDocument: s(trustPolicy)})),
			"MalformedPolicyDocument", "Policy document should not specify a principal."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if code(tt.err) != tt.code || message(tt.err) != tt.msg {
				t.Errorf("err = %v, want %s %q", tt.err, tt.code, tt.msg)
			}
		})
	}
}

func TestAWSManagedPolicies(t *testing.T) {
	f := newFixture(t)
	p := f.polGet(polReadOnlyARN)
	if *p.Arn != polReadOnlyARN || *p.PolicyName != "ReadOnlyAccess" || *p.Path != "/" || !*p.IsAttachable || *p.AttachmentCount != 0 {
		t.Errorf("ReadOnlyAccess = %+v", p)
	}
	if !strings.HasPrefix(*p.PolicyId, "ANPA") || len(*p.PolicyId) != 21 || !strings.HasPrefix(*p.DefaultVersionId, "v") {
		t.Errorf("PolicyId %s, DefaultVersionId %s", *p.PolicyId, *p.DefaultVersionId)
	}
	if p.UpdateDate.Before(*p.CreateDate) || !p.CreateDate.Before(start) || p.Tags != nil {
		t.Errorf("dates %v %v, tags %v", p.CreateDate, p.UpdateDate, p.Tags)
	}
	// AWS's policy IDs are the same in every account and every run.
	if again := newFixture(t).polGet(polReadOnlyARN); *again.PolicyId != *p.PolicyId {
		t.Errorf("PolicyId differs between services: %s, %s", *p.PolicyId, *again.PolicyId)
	}

	v := must(f.svc.GetPolicyVersion(f.ctx, &api.GetPolicyVersionInput{PolicyArn: s(polReadOnlyARN), VersionId: p.DefaultVersionId})).PolicyVersion
	var doc struct{ Version string }
	if err := json.Unmarshal([]byte(decode(t, v.Document)), &doc); err != nil || doc.Version != "2012-10-17" || !*v.IsDefaultVersion {
		t.Errorf("default version of ReadOnlyAccess: %v %+v", err, doc)
	}
	versions := must(f.svc.ListPolicyVersions(f.ctx, &api.ListPolicyVersionsInput{PolicyArn: s(polReadOnlyARN)}))
	if ids := polVersionIDs(versions.Versions); !slices.Equal(ids, []string{*p.DefaultVersionId}) {
		t.Errorf("ListPolicyVersions = %v", ids)
	}

	lambda := f.polGet(polLambdaBasicARN)
	if *lambda.Path != "/service-role/" || *lambda.Arn != polLambdaBasicARN {
		t.Errorf("AWSLambdaBasicExecutionRole = %+v", lambda)
	}
	tags := must(f.svc.ListPolicyTags(f.ctx, &api.ListPolicyTagsInput{PolicyArn: s(polReadOnlyARN)}))
	if tags.Tags == nil || len(tags.Tags) != 0 || *tags.IsTruncated {
		t.Errorf("ListPolicyTags = %+v", tags)
	}

	// AWS managed policies belong to AWS: the account may attach them but
	// not change them.
	denied := func(action string) string {
		return "User: arn:aws:iam::123456789012:root is not authorized to perform: iam:" + action + " on resource: policy " + polReadOnlyARN
	}
	tests := []struct {
		name   string
		err    error
		code   string
		status int
		msg    string
	}{
		{"delete", second(f.svc.DeletePolicy(f.ctx, &api.DeletePolicyInput{PolicyArn: s(polReadOnlyARN)})),
			"AccessDenied", http.StatusForbidden, denied("DeletePolicy")},
		{"create_version", second(f.svc.CreatePolicyVersion(f.ctx, &api.CreatePolicyVersionInput{PolicyArn: s(polReadOnlyARN), PolicyDocument: s(s3Policy)})),
			"AccessDenied", http.StatusForbidden, denied("CreatePolicyVersion")},
		{"delete_version", second(f.svc.DeletePolicyVersion(f.ctx, &api.DeletePolicyVersionInput{PolicyArn: s(polReadOnlyARN), VersionId: s("v1")})),
			"AccessDenied", http.StatusForbidden, denied("DeletePolicyVersion")},
		{"set_default_version", second(f.svc.SetDefaultPolicyVersion(f.ctx, &api.SetDefaultPolicyVersionInput{PolicyArn: s(polReadOnlyARN), VersionId: s("v1")})),
			"AccessDenied", http.StatusForbidden, denied("SetDefaultPolicyVersion")},
		{"tag", second(f.svc.TagPolicy(f.ctx, &api.TagPolicyInput{PolicyArn: s(polReadOnlyARN), Tags: []api.Tag{{Key: s("k"), Value: s("v")}}})),
			"InvalidInput", http.StatusBadRequest, "Tags not supported for policies in this domain"},
		{"untag", second(f.svc.UntagPolicy(f.ctx, &api.UntagPolicyInput{PolicyArn: s(polReadOnlyARN), TagKeys: []string{"k"}})),
			"InvalidInput", http.StatusBadRequest, "Tags not supported for policies in this domain"},
		{"missing", second(f.svc.GetPolicy(f.ctx, &api.GetPolicyInput{PolicyArn: s("arn:aws:iam::aws:policy/NoSuchPolicy")})),
			"NoSuchEntity", http.StatusNotFound, "Policy arn:aws:iam::aws:policy/NoSuchPolicy was not found."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if code(tt.err) != tt.code || status(tt.err) != tt.status || message(tt.err) != tt.msg {
				t.Errorf("err = %v (status %d), want %s %d %q", tt.err, status(tt.err), tt.code, tt.status, tt.msg)
			}
		})
	}
	if got := f.polGet(polReadOnlyARN); *got.DefaultVersionId != *p.DefaultVersionId {
		t.Errorf("ReadOnlyAccess changed: %+v", got)
	}

	// A user's key is named as that user.
	must(f.svc.CreateUser(f.ctx, &api.CreateUserInput{UserName: s("dev"), Path: s("/team/")}))
	key := must(f.svc.CreateAccessKey(f.ctx, &api.CreateAccessKeyInput{UserName: s("dev")})).AccessKey
	_, err := f.svc.DeletePolicy(as(*key.AccessKeyId), &api.DeletePolicyInput{PolicyArn: s(polReadOnlyARN)})
	if want := "User: arn:aws:iam::123456789012:user/team/dev is not authorized to perform: iam:DeletePolicy on resource: policy " + polReadOnlyARN; message(err) != want {
		t.Errorf("as a user: %q, want %q", message(err), want)
	}
}

func TestAttachRolePolicy(t *testing.T) {
	f := newFixture(t)
	f.createRole("r")
	f.createRole("r2")
	arn := *f.createPolicy("p").Arn

	f.polAttachRole("r", arn)
	f.polAttachRole("r2", arn)
	// Attaching again changes nothing.
	f.polAttachRole("r", arn)
	f.polAttachRole("r", polReadOnlyARN)
	if p := f.polGet(arn); *p.AttachmentCount != 2 {
		t.Errorf("AttachmentCount = %d, want 2", *p.AttachmentCount)
	}
	if p := f.polGet(polReadOnlyARN); *p.AttachmentCount != 1 {
		t.Errorf("ReadOnlyAccess AttachmentCount = %d, want 1", *p.AttachmentCount)
	}
	attached := must(f.svc.ListAttachedRolePolicies(f.ctx, &api.ListAttachedRolePoliciesInput{RoleName: s("r")}))
	var got []string
	for _, a := range attached.AttachedPolicies {
		got = append(got, *a.PolicyName+"="+*a.PolicyArn)
	}
	if want := []string{"p=" + arn, "ReadOnlyAccess=" + polReadOnlyARN}; !slices.Equal(got, want) {
		t.Errorf("ListAttachedRolePolicies = %v, want %v", got, want)
	}

	must(f.svc.DetachRolePolicy(f.ctx, &api.DetachRolePolicyInput{RoleName: s("r2"), PolicyArn: s(arn)}))
	if p := f.polGet(arn); *p.AttachmentCount != 1 {
		t.Errorf("AttachmentCount after detach = %d, want 1", *p.AttachmentCount)
	}

	notAttachable := func(a string) string { return "Policy " + a + " does not exist or is not attachable." }
	tests := []struct {
		name string
		err  error
		code string
		msg  string
	}{
		{"attach_missing_policy", second(f.svc.AttachRolePolicy(f.ctx, &api.AttachRolePolicyInput{RoleName: s("r"), PolicyArn: s(polARN("ghost"))})),
			"NoSuchEntity", notAttachable(polARN("ghost"))},
		{"attach_aws_policy_without_its_path", second(f.svc.AttachRolePolicy(f.ctx, &api.AttachRolePolicyInput{RoleName: s("r"), PolicyArn: s("arn:aws:iam::aws:policy/AWSLambdaBasicExecutionRole")})),
			"NoSuchEntity", notAttachable("arn:aws:iam::aws:policy/AWSLambdaBasicExecutionRole")},
		{"attach_other_accounts_policy", second(f.svc.AttachRolePolicy(f.ctx, &api.AttachRolePolicyInput{RoleName: s("r"), PolicyArn: s(polOtherAccountARN)})),
			"NoSuchEntity", notAttachable(polOtherAccountARN)},
		{"attach_to_missing_role", second(f.svc.AttachRolePolicy(f.ctx, &api.AttachRolePolicyInput{RoleName: s("ghost"), PolicyArn: s(arn)})),
			"NoSuchEntity", "The role with name ghost cannot be found."},
		{"attach_bad_arn", second(f.svc.AttachRolePolicy(f.ctx, &api.AttachRolePolicyInput{RoleName: s("r"), PolicyArn: s("arn:aws:iam::123456789012:user/u")})),
			"InvalidInput", "ARN arn:aws:iam::123456789012:user/u is not valid."},
		{"detach_not_attached", second(f.svc.DetachRolePolicy(f.ctx, &api.DetachRolePolicyInput{RoleName: s("r2"), PolicyArn: s(arn)})),
			"NoSuchEntity", "Policy " + arn + " was not found."},
		{"detach_missing_policy", second(f.svc.DetachRolePolicy(f.ctx, &api.DetachRolePolicyInput{RoleName: s("r"), PolicyArn: s(polARN("ghost"))})),
			"NoSuchEntity", "Policy " + polARN("ghost") + " was not found."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if code(tt.err) != tt.code || message(tt.err) != tt.msg {
				t.Errorf("err = %v, want %s %q", tt.err, tt.code, tt.msg)
			}
		})
	}
}

func TestAttachedPolicyQuota(t *testing.T) {
	f := newFixture(t)
	f.createRole("r")
	for i := range 10 {
		f.polAttachRole("r", *f.createPolicy(fmt.Sprintf("p%d", i)).Arn)
	}
	f.createPolicy("eleventh")
	_, err := f.svc.AttachRolePolicy(f.ctx, &api.AttachRolePolicyInput{RoleName: s("r"), PolicyArn: s(polARN("eleventh"))})
	if code(err) != "LimitExceeded" || status(err) != http.StatusConflict || message(err) != "Cannot exceed quota for PoliciesPerRole: 10" {
		t.Errorf("err = %v", err)
	}
}

func TestListPolicies(t *testing.T) {
	f := newFixture(t)
	for _, n := range []string{"echo", "Alpha", "delta", "bravo", "charlie"} {
		f.createPolicy(n)
	}
	must(f.svc.CreatePolicy(f.ctx, &api.CreatePolicyInput{PolicyName: s("svc"), Path: s("/service/"), PolicyDocument: s(s3Policy), Description: s("d"),
		Tags: []api.Tag{{Key: s("k"), Value: s("v")}}}))
	f.createRole("r")
	f.polAttachRole("r", polARN("bravo"))
	f.polAttachRole("r", polReadOnlyARN)
	must(f.svc.CreateRole(f.ctx, &api.CreateRoleInput{RoleName: s("bounded"), AssumeRolePolicyDocument: s(trustPolicy), PermissionsBoundary: s(polARN("delta"))}))

	local := must(f.svc.ListPolicies(f.ctx, &api.ListPoliciesInput{Scope: s("Local")}))
	if got := polNames(local.Policies); !slices.Equal(got, []string{"Alpha", "bravo", "charlie", "delta", "echo", "svc"}) || *local.IsTruncated {
		t.Errorf("Scope Local = %v", got)
	}
	for _, p := range local.Policies {
		// Listings leave out Description and Tags.
		if p.Description != nil || p.Tags != nil {
			t.Errorf("ListPolicies returned Description or Tags for %s", *p.PolicyName)
		}
		wantAttached, wantBounds := int32(0), int32(0)
		switch *p.PolicyName {
		case "bravo":
			wantAttached = 1
		case "delta":
			wantBounds = 1
		}
		if *p.AttachmentCount != wantAttached || *p.PermissionsBoundaryUsageCount != wantBounds || !*p.IsAttachable {
			t.Errorf("%s: AttachmentCount %d, PermissionsBoundaryUsageCount %d", *p.PolicyName, *p.AttachmentCount, *p.PermissionsBoundaryUsageCount)
		}
	}

	aws := must(f.svc.ListPolicies(f.ctx, &api.ListPoliciesInput{Scope: s("AWS"), MaxItems: i32(1000)}))
	if len(aws.Policies) < 10 || !slices.Contains(polNames(aws.Policies), "ReadOnlyAccess") || slices.Contains(polNames(aws.Policies), "bravo") {
		t.Errorf("Scope AWS = %v", polNames(aws.Policies))
	}
	for _, p := range aws.Policies {
		if !strings.HasPrefix(*p.Arn, "arn:aws:iam::aws:policy/") {
			t.Errorf("Scope AWS listed %s", *p.Arn)
		}
	}
	all := must(f.svc.ListPolicies(f.ctx, &api.ListPoliciesInput{MaxItems: i32(1000)}))
	if len(all.Policies) != len(aws.Policies)+len(local.Policies) {
		t.Errorf("Scope All lists %d, want %d + %d", len(all.Policies), len(aws.Policies), len(local.Policies))
	}
	if !slices.IsSortedFunc(polNames(all.Policies), func(a, b string) int { return strings.Compare(strings.ToLower(a), strings.ToLower(b)) }) {
		t.Errorf("Scope All is not in alphabetical order: %v", polNames(all.Policies))
	}

	tests := []struct {
		name string
		in   api.ListPoliciesInput
		want []string
	}{
		{"only_attached", api.ListPoliciesInput{OnlyAttached: polBool(true)}, []string{"bravo", "delta", "ReadOnlyAccess"}},
		{"only_attached_local", api.ListPoliciesInput{OnlyAttached: polBool(true), Scope: s("Local")}, []string{"bravo", "delta"}},
		{"only_attached_aws", api.ListPoliciesInput{OnlyAttached: polBool(true), Scope: s("AWS")}, []string{"ReadOnlyAccess"}},
		{"only_attached_permissions_policies", api.ListPoliciesInput{OnlyAttached: polBool(true), PolicyUsageFilter: s("PermissionsPolicy")}, []string{"bravo", "ReadOnlyAccess"}},
		{"only_attached_boundaries", api.ListPoliciesInput{OnlyAttached: polBool(true), PolicyUsageFilter: s("PermissionsBoundary")}, []string{"delta"}},
		{"only_attached_false", api.ListPoliciesInput{OnlyAttached: polBool(false), Scope: s("Local")}, []string{"Alpha", "bravo", "charlie", "delta", "echo", "svc"}},
		{"path_prefix", api.ListPoliciesInput{PathPrefix: s("/service/")}, []string{"svc"}},
		{"path_prefix_aws_job_function", api.ListPoliciesInput{PathPrefix: s("/job-function/"), Scope: s("AWS")},
			[]string{"DatabaseAdministrator", "NetworkAdministrator", "SystemAdministrator", "ViewOnlyAccess"}},
		{"path_prefix_none", api.ListPoliciesInput{PathPrefix: s("/nothing/")}, []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := must(f.svc.ListPolicies(f.ctx, &tt.in))
			if got := polNames(out.Policies); !slices.Equal(got, tt.want) || *out.IsTruncated || out.Marker != nil {
				t.Errorf("ListPolicies = %v (truncated %v), want %v", got, *out.IsTruncated, tt.want)
			}
		})
	}
}

func TestListPoliciesPagination(t *testing.T) {
	f := newFixture(t)
	for _, n := range []string{"echo", "Alpha", "delta", "bravo", "charlie"} {
		f.createPolicy(n)
	}
	pages := listPages(t, func(marker *string) ([]string, *bool, *string) {
		out := must(f.svc.ListPolicies(f.ctx, &api.ListPoliciesInput{Scope: s("Local"), MaxItems: i32(2), Marker: marker}))
		return polNames(out.Policies), out.IsTruncated, out.Marker
	})
	if got, want := fmt.Sprint(pages), "[[Alpha bravo] [charlie delta] [echo]]"; got != want {
		t.Errorf("pages = %s, want %s", got, want)
	}

	// Every AWS managed policy is listed once across pages of Scope All.
	seen := map[string]bool{}
	listPages(t, func(marker *string) (struct{}, *bool, *string) {
		out := must(f.svc.ListPolicies(f.ctx, &api.ListPoliciesInput{MaxItems: i32(7), Marker: marker}))
		for _, p := range out.Policies {
			if seen[*p.Arn] {
				t.Errorf("%s listed twice", *p.Arn)
			}
			seen[*p.Arn] = true
		}
		return struct{}{}, out.IsTruncated, out.Marker
	})
	all := must(f.svc.ListPolicies(f.ctx, &api.ListPoliciesInput{MaxItems: i32(1000)}))
	if len(seen) != len(all.Policies) {
		t.Errorf("pages listed %d policies, one page %d", len(seen), len(all.Policies))
	}

	if _, err := f.svc.ListPolicies(f.ctx, &api.ListPoliciesInput{Marker: s("not-a-marker!")}); code(err) != "InvalidInput" {
		t.Errorf("bad marker: %v", err)
	}
	empty := must(newFixture(t).svc.ListPolicies(f.ctx, &api.ListPoliciesInput{Scope: s("Local")}))
	if empty.Policies == nil || len(empty.Policies) != 0 || *empty.IsTruncated {
		t.Errorf("empty ListPolicies = %+v, want an empty (not nil) list", empty)
	}
}

func TestListEntitiesForPolicy(t *testing.T) {
	f := newFixture(t)
	arn := *f.createPolicy("p").Arn
	for _, r := range []string{"zeta", "alpha"} {
		f.createRole(r)
		f.polAttachRole(r, arn)
	}
	must(f.svc.CreateRole(f.ctx, &api.CreateRoleInput{RoleName: s("app"), Path: s("/app/"), AssumeRolePolicyDocument: s(trustPolicy)}))
	f.polAttachRole("app", arn)
	must(f.svc.CreateRole(f.ctx, &api.CreateRoleInput{RoleName: s("bounded"), AssumeRolePolicyDocument: s(trustPolicy), PermissionsBoundary: s(arn)}))
	f.createRole("unrelated")
	must(f.svc.CreateUser(f.ctx, &api.CreateUserInput{UserName: s("u")}))
	must(f.svc.AttachUserPolicy(f.ctx, &api.AttachUserPolicyInput{UserName: s("u"), PolicyArn: s(arn)}))
	must(f.svc.CreateGroup(f.ctx, &api.CreateGroupInput{GroupName: s("g")}))
	must(f.svc.AttachGroupPolicy(f.ctx, &api.AttachGroupPolicyInput{GroupName: s("g"), PolicyArn: s(arn)}))

	names := func(out *api.ListEntitiesForPolicyOutput) string {
		var parts []string
		for _, g := range out.PolicyGroups {
			parts = append(parts, "group:"+*g.GroupName)
			if !strings.HasPrefix(*g.GroupId, "AGPA") {
				t.Errorf("GroupId = %s", *g.GroupId)
			}
		}
		for _, r := range out.PolicyRoles {
			parts = append(parts, "role:"+*r.RoleName)
			if !strings.HasPrefix(*r.RoleId, "AROA") {
				t.Errorf("RoleId = %s", *r.RoleId)
			}
		}
		for _, u := range out.PolicyUsers {
			parts = append(parts, "user:"+*u.UserName)
			if !strings.HasPrefix(*u.UserId, "AIDA") {
				t.Errorf("UserId = %s", *u.UserId)
			}
		}
		return strings.Join(parts, " ")
	}
	tests := []struct {
		name string
		in   api.ListEntitiesForPolicyInput
		want string
	}{
		{"all", api.ListEntitiesForPolicyInput{}, "group:g role:alpha role:app role:bounded role:zeta user:u"},
		{"roles", api.ListEntitiesForPolicyInput{EntityFilter: s("Role")}, "role:alpha role:app role:bounded role:zeta"},
		{"users", api.ListEntitiesForPolicyInput{EntityFilter: s("User")}, "user:u"},
		{"groups", api.ListEntitiesForPolicyInput{EntityFilter: s("Group")}, "group:g"},
		{"permissions_policy", api.ListEntitiesForPolicyInput{PolicyUsageFilter: s("PermissionsPolicy")}, "group:g role:alpha role:app role:zeta user:u"},
		{"permissions_boundary", api.ListEntitiesForPolicyInput{PolicyUsageFilter: s("PermissionsBoundary")}, "role:bounded"},
		{"path_prefix", api.ListEntitiesForPolicyInput{PathPrefix: s("/app/")}, "role:app"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := tt.in
			in.PolicyArn = s(arn)
			out := must(f.svc.ListEntitiesForPolicy(f.ctx, &in))
			if got := names(out); got != tt.want || *out.IsTruncated {
				t.Errorf("entities = %q, want %q", got, tt.want)
			}
			if out.PolicyGroups == nil || out.PolicyRoles == nil || out.PolicyUsers == nil {
				t.Errorf("empty lists must be sent: %+v", out)
			}
		})
	}

	pages := listPages(t, func(marker *string) (string, *bool, *string) {
		out := must(f.svc.ListEntitiesForPolicy(f.ctx, &api.ListEntitiesForPolicyInput{PolicyArn: s(arn), MaxItems: i32(4), Marker: marker}))
		return names(out), out.IsTruncated, out.Marker
	})
	if got, want := strings.Join(pages, " | "), "group:g role:alpha role:app role:bounded | role:zeta user:u"; got != want {
		t.Errorf("pages = %q, want %q", got, want)
	}

	ro := must(f.svc.ListEntitiesForPolicy(f.ctx, &api.ListEntitiesForPolicyInput{PolicyArn: s(polReadOnlyARN)}))
	if names(ro) != "" {
		t.Errorf("ReadOnlyAccess entities = %q", names(ro))
	}
	if _, err := f.svc.ListEntitiesForPolicy(f.ctx, &api.ListEntitiesForPolicyInput{PolicyArn: s(polARN("ghost"))}); code(err) != "NoSuchEntity" {
		t.Errorf("missing policy: %v", err)
	}
}

func TestPolicyTags(t *testing.T) {
	f := newFixture(t)
	must(f.svc.CreatePolicy(f.ctx, &api.CreatePolicyInput{PolicyName: s("p"), PolicyDocument: s(s3Policy),
		Tags: []api.Tag{{Key: s("b"), Value: s("1")}, {Key: s("a"), Value: s("2")}}}))
	arn := polARN("p")
	must(f.svc.TagPolicy(f.ctx, &api.TagPolicyInput{PolicyArn: s(arn), Tags: []api.Tag{{Key: s("B"), Value: s("3")}, {Key: s("c"), Value: s("4")}}}))
	must(f.svc.UntagPolicy(f.ctx, &api.UntagPolicyInput{PolicyArn: s(arn), TagKeys: []string{"a", "missing"}}))
	out := must(f.svc.ListPolicyTags(f.ctx, &api.ListPolicyTagsInput{PolicyArn: s(arn)}))
	var got []string
	for _, tg := range out.Tags {
		got = append(got, *tg.Key+"="+*tg.Value)
	}
	if strings.Join(got, ",") != "B=3,c=4" || *out.IsTruncated {
		t.Errorf("tags = %v", got)
	}
	if p := f.polGet(arn); len(p.Tags) != 2 {
		t.Errorf("GetPolicy Tags = %v", p.Tags)
	}

	page := must(f.svc.ListPolicyTags(f.ctx, &api.ListPolicyTagsInput{PolicyArn: s(arn), MaxItems: i32(1)}))
	if len(page.Tags) != 1 || *page.Tags[0].Key != "B" || !*page.IsTruncated || page.Marker == nil {
		t.Fatalf("page 1 = %+v", page)
	}
	page = must(f.svc.ListPolicyTags(f.ctx, &api.ListPolicyTagsInput{PolicyArn: s(arn), MaxItems: i32(1), Marker: page.Marker}))
	if len(page.Tags) != 1 || *page.Tags[0].Key != "c" || *page.IsTruncated {
		t.Errorf("page 2 = %+v", page)
	}

	tests := []struct {
		name string
		err  error
		code string
	}{
		{"tag_missing_policy", second(f.svc.TagPolicy(f.ctx, &api.TagPolicyInput{PolicyArn: s(polARN("ghost")), Tags: []api.Tag{{Key: s("k"), Value: s("v")}}})), "NoSuchEntity"},
		{"untag_missing_policy", second(f.svc.UntagPolicy(f.ctx, &api.UntagPolicyInput{PolicyArn: s(polARN("ghost")), TagKeys: []string{"k"}})), "NoSuchEntity"},
		{"list_missing_policy", second(f.svc.ListPolicyTags(f.ctx, &api.ListPolicyTagsInput{PolicyArn: s(polARN("ghost"))})), "NoSuchEntity"},
		{"reserved_prefix", second(f.svc.TagPolicy(f.ctx, &api.TagPolicyInput{PolicyArn: s(arn), Tags: []api.Tag{{Key: s("aws:x"), Value: s("v")}}})), "InvalidInput"},
		{"create_with_reserved_prefix", second(f.svc.CreatePolicy(f.ctx, &api.CreatePolicyInput{PolicyName: s("q"), PolicyDocument: s(s3Policy), Tags: []api.Tag{{Key: s("aws:x"), Value: s("v")}}})), "InvalidInput"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if code(tt.err) != tt.code {
				t.Errorf("err = %v, want %s", tt.err, tt.code)
			}
		})
	}
}
