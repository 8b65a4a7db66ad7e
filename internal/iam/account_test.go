package iam_test

import (
	"context"
	"testing"

	api "github.com/nephele-dev/nephele/internal/api/iam"
	"github.com/nephele-dev/nephele/internal/service"
)

func TestGetAccountSummary(t *testing.T) {
	f := newFixture(t)
	empty := must(f.svc.GetAccountSummary(f.ctx, &api.GetAccountSummaryInput{})).SummaryMap

	// The quotas are IAM's defaults, under the names IAM gives them.
	quotas := map[string]int32{
		"AccessKeysPerUserQuota":          2,
		"AssumeRolePolicySizeQuota":       2048,
		"AttachedPoliciesPerGroupQuota":   10,
		"AttachedPoliciesPerRoleQuota":    10,
		"AttachedPoliciesPerUserQuota":    10,
		"GlobalEndpointTokenVersion":      1,
		"GroupPolicySizeQuota":            5120,
		"GroupsPerUserQuota":              10,
		"GroupsQuota":                     300,
		"InstanceProfilesQuota":           1000,
		"PoliciesQuota":                   1500,
		"PolicySizeQuota":                 6144,
		"PolicyVersionsInUseQuota":        10000,
		"RolePolicySizeQuota":             10240,
		"RolesQuota":                      1000,
		"ServerCertificatesQuota":         20,
		"SigningCertificatesPerUserQuota": 2,
		"UserPolicySizeQuota":             2048,
		"UsersQuota":                      5000,
		"VersionsPerPolicyQuota":          5,
	}
	counts := []string{
		"Users", "Groups", "Roles", "Policies", "InstanceProfiles", "PolicyVersionsInUse",
		"AccountAccessKeysPresent", "AccountMFAEnabled", "AccountSigningCertificatesPresent",
		"MFADevices", "MFADevicesInUse", "Providers", "ServerCertificates",
	}
	t.Run("new_account", func(t *testing.T) {
		for k, want := range quotas {
			if got, ok := empty[k]; !ok || got != want {
				t.Errorf("%s = %d (present %v), want %d", k, got, ok, want)
			}
		}
		for _, k := range counts {
			if got, ok := empty[k]; !ok || got != 0 {
				t.Errorf("%s = %d (present %v), want 0", k, got, ok)
			}
		}
		if len(empty) != len(quotas)+len(counts) {
			t.Errorf("SummaryMap has %d keys, want %d: %v", len(empty), len(quotas)+len(counts), empty)
		}
	})

	f.usrCreate("u1")
	f.usrCreate("u2")
	f.usrKey("u1")
	f.grpCreate("g")
	f.createRole("r")
	p := f.createPolicy("p")
	must(f.svc.CreateInstanceProfile(f.ctx, &api.CreateInstanceProfileInput{InstanceProfileName: s("ip")}))
	must(f.svc.AttachUserPolicy(f.ctx, &api.AttachUserPolicyInput{UserName: s("u1"), PolicyArn: p.Arn}))
	must(f.svc.AttachRolePolicy(f.ctx, &api.AttachRolePolicyInput{RoleName: s("r"), PolicyArn: s("arn:aws:iam::aws:policy/ReadOnlyAccess")}))
	// Another account's entities are its own.
	other := usrInAccount("210987654321", "AKIDEXAMPLE")
	must(f.svc.CreateUser(other, &api.CreateUserInput{UserName: s("elsewhere")}))
	must(f.svc.CreateGroup(other, &api.CreateGroupInput{GroupName: s("elsewhere")}))

	t.Run("counts_follow_entities", func(t *testing.T) {
		m := must(f.svc.GetAccountSummary(f.ctx, &api.GetAccountSummaryInput{})).SummaryMap
		want := map[string]int32{
			"Users": 2, "Groups": 1, "Roles": 1, "Policies": 1, "InstanceProfiles": 1,
			// A user's key is not the root user's.
			"AccountAccessKeysPresent": 0,
			"PolicyVersionsInUse":      2,
		}
		for k, w := range want {
			if m[k] != w {
				t.Errorf("%s = %d, want %d", k, m[k], w)
			}
		}
		for k, w := range quotas {
			if m[k] != w {
				t.Errorf("quota %s = %d, want %d", k, m[k], w)
			}
		}
	})

	t.Run("root_access_key", func(t *testing.T) {
		must(f.svc.CreateAccessKey(f.ctx, &api.CreateAccessKeyInput{}))
		must(f.svc.CreateAccessKey(f.ctx, &api.CreateAccessKeyInput{}))
		// AccountAccessKeysPresent is a flag, not a count.
		if got := must(f.svc.GetAccountSummary(f.ctx, &api.GetAccountSummaryInput{})).SummaryMap["AccountAccessKeysPresent"]; got != 1 {
			t.Errorf("AccountAccessKeysPresent = %d, want 1", got)
		}
	})

	t.Run("deletions_are_counted", func(t *testing.T) {
		must(f.svc.DeleteUser(f.ctx, &api.DeleteUserInput{UserName: s("u2")}))
		must(f.svc.DeleteGroup(f.ctx, &api.DeleteGroupInput{GroupName: s("g")}))
		m := must(f.svc.GetAccountSummary(f.ctx, &api.GetAccountSummaryInput{})).SummaryMap
		if m["Users"] != 1 || m["Groups"] != 0 {
			t.Errorf("after deletes: Users %d, Groups %d", m["Users"], m["Groups"])
		}
	})

	t.Run("other_account", func(t *testing.T) {
		m := must(f.svc.GetAccountSummary(other, &api.GetAccountSummaryInput{})).SummaryMap
		if m["Users"] != 1 || m["Groups"] != 1 || m["Roles"] != 0 || m["Policies"] != 0 {
			t.Errorf("other account: %v", m)
		}
	})
}

func TestListAccountAliases(t *testing.T) {
	f := newFixture(t)
	out := must(f.svc.ListAccountAliases(f.ctx, &api.ListAccountAliasesInput{}))
	if out.AccountAliases == nil || len(out.AccountAliases) != 0 || out.IsTruncated == nil || *out.IsTruncated || out.Marker != nil {
		t.Errorf("ListAccountAliases = %+v, want an empty (not nil), complete list", out)
	}
}

func TestRoleByARN(t *testing.T) {
	f := newFixture(t)
	web := must(f.svc.CreateRole(f.ctx, &api.CreateRoleInput{RoleName: s("Web"), AssumeRolePolicyDocument: s(trustPolicy), MaxSessionDuration: i32(7200)})).Role
	svc := must(f.svc.CreateRole(f.ctx, &api.CreateRoleInput{RoleName: s("builder"), Path: s("/service-role/ci/"), AssumeRolePolicyDocument: s(trustPolicy)})).Role

	tests := []struct {
		name    string
		arn     string
		wantID  string
		wantMax int32
	}{
		{"exact_arn", "arn:aws:iam::123456789012:role/Web", *web.RoleId, 7200},
		{"arn_with_path", "arn:aws:iam::123456789012:role/service-role/ci/builder", *svc.RoleId, 3600},
		// The ARN must be the role's: STS finds a role by its exact ARN.
		{"path_left_out", "arn:aws:iam::123456789012:role/builder", "", 0},
		{"wrong_path", "arn:aws:iam::123456789012:role/other/builder", "", 0},
		{"path_on_a_root_path_role", "arn:aws:iam::123456789012:role/x/Web", "", 0},
		{"name_in_another_case", "arn:aws:iam::123456789012:role/web", "", 0},
		{"missing_role", "arn:aws:iam::123456789012:role/ghost", "", 0},
		{"other_account", "arn:aws:iam::210987654321:role/Web", "", 0},
		{"user_arn", "arn:aws:iam::123456789012:user/Web", "", 0},
		{"sts_arn", "arn:aws:sts::123456789012:assumed-role/Web/s", "", 0},
		{"no_name", "arn:aws:iam::123456789012:role/", "", 0},
		{"not_an_arn", "Web", "", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id, max, ok, err := f.svc.RoleByARN(context.Background(), tt.arn)
			if err != nil {
				t.Fatalf("RoleByARN: %v", err)
			}
			if ok != (tt.wantID != "") || id != tt.wantID || max != tt.wantMax {
				t.Errorf("RoleByARN(%s) = %q, %d, %v; want %q, %d", tt.arn, id, max, ok, tt.wantID, tt.wantMax)
			}
		})
	}
	// A role's new MaxSessionDuration is what STS sees next.
	must(f.svc.UpdateRole(f.ctx, &api.UpdateRoleInput{RoleName: s("web"), MaxSessionDuration: i32(43200)}))
	if _, max, _, _ := f.svc.RoleByARN(context.Background(), "arn:aws:iam::123456789012:role/Web"); max != 43200 {
		t.Errorf("MaxSessionDuration after UpdateRole = %d", max)
	}
}

func TestAccessKeyOwner(t *testing.T) {
	f := newFixture(t)
	u := must(f.svc.CreateUser(f.ctx, &api.CreateUserInput{UserName: s("alice"), Path: s("/staff/")})).User
	userKey := f.usrKey("alice")
	rootKey := *must(f.svc.CreateAccessKey(f.ctx, &api.CreateAccessKeyInput{})).AccessKey.AccessKeyId
	other := usrInAccount("210987654321", "AKIDEXAMPLE")
	must(f.svc.CreateUser(other, &api.CreateUserInput{UserName: s("bob")}))
	otherKey := *must(f.svc.CreateAccessKey(other, &api.CreateAccessKeyInput{UserName: s("bob")})).AccessKey.AccessKeyId

	tests := []struct {
		name                 string
		key                  string
		arn, userID, account string
	}{
		{"user_key", userKey, "arn:aws:iam::123456789012:user/staff/alice", *u.UserId, account},
		// The root user's UserId is the account ID, as AWS gives it.
		{"root_key", rootKey, "arn:aws:iam::123456789012:root", account, account},
		// A key belongs to the account that issued it, whoever asks.
		{"key_of_another_account", otherKey, "arn:aws:iam::210987654321:user/bob", "", "210987654321"},
		{"key_iam_did_not_issue", "AKIDEXAMPLE", "", "", ""},
		{"empty_key", "", "", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			arn, userID, acct, ok, err := f.svc.AccessKeyOwner(f.ctx, tt.key)
			if err != nil {
				t.Fatalf("AccessKeyOwner: %v", err)
			}
			if ok != (tt.arn != "") || arn != tt.arn || acct != tt.account {
				t.Errorf("AccessKeyOwner(%s) = %q, %q, %v; want %q, %q", tt.key, arn, acct, ok, tt.arn, tt.account)
			}
			if tt.userID != "" && userID != tt.userID {
				t.Errorf("userID = %q, want %q", userID, tt.userID)
			}
		})
	}

	// The owner follows a rename, and a deleted key has none.
	must(f.svc.UpdateUser(f.ctx, &api.UpdateUserInput{UserName: s("alice"), NewUserName: s("alicia"), NewPath: s("/")}))
	if arn, _, _, ok, _ := f.svc.AccessKeyOwner(f.ctx, userKey); !ok || arn != "arn:aws:iam::123456789012:user/alicia" {
		t.Errorf("owner after rename = %q, %v", arn, ok)
	}
	must(f.svc.DeleteAccessKey(f.ctx, &api.DeleteAccessKeyInput{UserName: s("alicia"), AccessKeyId: s(userKey)}))
	if _, _, _, ok, _ := f.svc.AccessKeyOwner(f.ctx, userKey); ok {
		t.Error("a deleted key still has an owner")
	}
	// ARNs are written in the partition of the request's region.
	cn := service.WithRequest(context.Background(), service.Request{AccountID: account, Region: "cn-north-1", AccessKeyID: "AKIDEXAMPLE"})
	if arn, _, _, _, _ := f.svc.AccessKeyOwner(cn, rootKey); arn != "arn:aws-cn:iam::123456789012:root" {
		t.Errorf("root ARN in cn-north-1 = %s", arn)
	}
}
