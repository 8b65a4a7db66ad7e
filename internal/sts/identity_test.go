package sts_test

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	api "github.com/nephele-dev/nephele/internal/api/sts"
	"github.com/nephele-dev/nephele/internal/service"
)

func TestGetCallerIdentity(t *testing.T) {
	tests := []struct {
		name string
		// ctx builds the request context, issuing credentials first if
		// the case needs them.
		ctx  func(f *fixture) context.Context
		want identity
	}{
		{
			name: "unknown_key_is_the_root_user",
			ctx:  func(*fixture) context.Context { return as(unknownKey) },
			want: identity{Account: account, Arn: "arn:aws:iam::" + account + ":root", UserId: account},
		},
		{
			name: "no_key_is_the_root_user",
			ctx:  func(*fixture) context.Context { return as("") },
			want: identity{Account: account, Arn: "arn:aws:iam::" + account + ":root", UserId: account},
		},
		{
			name: "no_request_facts_is_the_default_account_root",
			ctx:  func(*fixture) context.Context { return context.Background() },
			want: identity{Account: "000000000000", Arn: "arn:aws:iam::000000000000:root", UserId: "000000000000"},
		},
		{
			name: "iam_user_key_is_the_user",
			ctx:  func(*fixture) context.Context { return as(userKey) },
			want: identity{Account: account, Arn: userARN, UserId: userID},
		},
		{
			name: "iam_root_key_is_the_root_user",
			ctx:  func(*fixture) context.Context { return as(rootKey) },
			want: identity{Account: account, Arn: rootARN, UserId: account},
		},
		{
			name: "assume_role_credentials_are_the_role_session",
			ctx:  func(f *fixture) context.Context { return signedWith(f.assume("build-42").Credentials) },
			want: identity{Account: account, Arn: "arn:aws:sts::" + account + ":assumed-role/deployer/build-42", UserId: roleID + ":build-42"},
		},
		{
			name: "role_path_is_not_part_of_the_session_arn",
			ctx: func(f *fixture) context.Context {
				arn := "arn:aws:iam::" + account + ":role/service-role/team/runner"
				f.addRole(arn, "AROARUNNER0000000001", 3600)
				out := must(f.svc.AssumeRole(as(userKey), &api.AssumeRoleInput{RoleArn: s(arn), RoleSessionName: s("s1")}))
				return signedWith(out.Credentials)
			},
			want: identity{Account: account, Arn: "arn:aws:sts::" + account + ":assumed-role/runner/s1", UserId: "AROARUNNER0000000001:s1"},
		},
		{
			name: "role_in_another_account_gives_that_account",
			ctx: func(f *fixture) context.Context {
				arn := "arn:aws:iam::" + otherAccount + ":role/audit"
				f.addRole(arn, "AROAAUDIT00000000001", 3600)
				out := must(f.svc.AssumeRole(as(userKey), &api.AssumeRoleInput{RoleArn: s(arn), RoleSessionName: s("x")}))
				return signedWith(out.Credentials)
			},
			want: identity{Account: otherAccount, Arn: "arn:aws:sts::" + otherAccount + ":assumed-role/audit/x", UserId: "AROAAUDIT00000000001:x"},
		},
		{
			name: "web_identity_credentials_are_the_role_session",
			ctx: func(f *fixture) context.Context {
				out := must(f.svc.AssumeRoleWithWebIdentity(context.Background(), &api.AssumeRoleWithWebIdentityInput{
					RoleArn: s(roleARN), RoleSessionName: s("gha"),
					WebIdentityToken: s(jwt(t, map[string]any{"iss": "https://token.actions.githubusercontent.com", "sub": "repo:o/r:ref:refs/heads/main", "aud": "sts.amazonaws.com"})),
				}))
				return signedWith(out.Credentials)
			},
			want: identity{Account: account, Arn: "arn:aws:sts::" + account + ":assumed-role/deployer/gha", UserId: roleID + ":gha"},
		},
		{
			name: "federation_token_credentials_are_the_federated_user",
			ctx: func(f *fixture) context.Context {
				out := must(f.svc.GetFederationToken(as(userKey), &api.GetFederationTokenInput{Name: s("bob")}))
				return signedWith(out.Credentials)
			},
			want: identity{Account: account, Arn: "arn:aws:sts::" + account + ":federated-user/bob", UserId: account + ":bob"},
		},
		{
			name: "session_token_credentials_act_as_the_user",
			ctx: func(f *fixture) context.Context {
				return signedWith(must(f.svc.GetSessionToken(as(userKey), &api.GetSessionTokenInput{})).Credentials)
			},
			want: identity{Account: account, Arn: userARN, UserId: userID},
		},
		{
			name: "session_token_credentials_act_as_the_root_user",
			ctx: func(f *fixture) context.Context {
				return signedWith(must(f.svc.GetSessionToken(as(unknownKey), &api.GetSessionTokenInput{})).Credentials)
			},
			want: identity{Account: account, Arn: "arn:aws:iam::" + account + ":root", UserId: account},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			if got := f.whoami(tt.ctx(f)); got != tt.want {
				t.Errorf("GetCallerIdentity = %+v\nwant                %+v", got, tt.want)
			}
		})
	}
}

// The partition of an ARN follows the region the request was sent to (the
// root user, federated users) or the role's own ARN (role sessions).
func TestGetCallerIdentityPartition(t *testing.T) {
	tests := []struct {
		name, region, want string
	}{
		{"commercial", "eu-west-1", "arn:aws:iam::" + account + ":root"},
		{"china", "cn-north-1", "arn:aws-cn:iam::" + account + ":root"},
		{"govcloud", "us-gov-west-1", "arn:aws-us-gov:iam::" + account + ":root"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			if got := f.whoami(asIn(tt.region, unknownKey)).Arn; got != tt.want {
				t.Errorf("Arn = %q, want %q", got, tt.want)
			}
		})
	}

	t.Run("federated_user_in_govcloud", func(t *testing.T) {
		f := newFixture(t)
		out := must(f.svc.GetFederationToken(asIn("us-gov-west-1", unknownKey), &api.GetFederationTokenInput{Name: s("bob")}))
		want := "arn:aws-us-gov:sts::" + account + ":federated-user/bob"
		if got := *out.FederatedUser.Arn; got != want {
			t.Errorf("FederatedUser.Arn = %q, want %q", got, want)
		}
		if got := f.whoami(asIn("us-gov-west-1", *out.Credentials.AccessKeyId)).Arn; got != want {
			t.Errorf("caller Arn = %q, want %q", got, want)
		}
	})

	t.Run("china_role_session", func(t *testing.T) {
		f := newFixture(t)
		arn := "arn:aws-cn:iam::" + account + ":role/cn-role"
		f.addRole(arn, "AROACN00000000000001", 3600)
		out := must(f.svc.AssumeRole(asIn("cn-north-1", unknownKey), &api.AssumeRoleInput{RoleArn: s(arn), RoleSessionName: s("s")}))
		want := "arn:aws-cn:sts::" + account + ":assumed-role/cn-role/s"
		if got := *out.AssumedRoleUser.Arn; got != want {
			t.Errorf("AssumedRoleUser.Arn = %q, want %q", got, want)
		}
	})
}

func TestGetCallerIdentityExpiredCredentials(t *testing.T) {
	// Each case issues credentials valid for 15 minutes.
	issuers := []struct {
		name  string
		issue func(f *fixture) *api.Credentials
	}{
		{"assume_role", func(f *fixture) *api.Credentials {
			return must(f.svc.AssumeRole(as(userKey), &api.AssumeRoleInput{RoleArn: s(roleARN), RoleSessionName: s("s"), DurationSeconds: i32(900)})).Credentials
		}},
		{"federation_token", func(f *fixture) *api.Credentials {
			return must(f.svc.GetFederationToken(as(userKey), &api.GetFederationTokenInput{Name: s("bob"), DurationSeconds: i32(900)})).Credentials
		}},
		{"session_token", func(f *fixture) *api.Credentials {
			return must(f.svc.GetSessionToken(as(userKey), &api.GetSessionTokenInput{DurationSeconds: i32(900)})).Credentials
		}},
	}
	for _, is := range issuers {
		t.Run(is.name+"/valid_until_the_last_second", func(t *testing.T) {
			f := newFixture(t)
			creds := is.issue(f)
			f.clk.Advance(900*time.Second - time.Nanosecond)
			if _, err := f.svc.GetCallerIdentity(signedWith(creds), &api.GetCallerIdentityInput{}); err != nil {
				t.Fatalf("GetCallerIdentity just before expiry: %v", err)
			}
		})
		t.Run(is.name+"/expired_is_ExpiredToken", func(t *testing.T) {
			f := newFixture(t)
			creds := is.issue(f)
			f.clk.Advance(900 * time.Second)
			_, err := f.svc.GetCallerIdentity(signedWith(creds), &api.GetCallerIdentityInput{})
			// AWS answers expired credentials with 403 ExpiredToken, Sender.
			wantError(t, err, "ExpiredToken", http.StatusForbidden, "The security token included in the request is expired")
		})
	}

	t.Run("expired_credentials_cannot_assume_a_role", func(t *testing.T) {
		f := newFixture(t)
		creds := f.assume("s").Credentials
		f.clk.Advance(2 * time.Hour)
		_, err := f.svc.AssumeRole(signedWith(creds), &api.AssumeRoleInput{RoleArn: s(roleARN), RoleSessionName: s("again")})
		if code(err) != "ExpiredToken" {
			t.Fatalf("AssumeRole with expired credentials: %s, want ExpiredToken", code(err))
		}
	})
}

func TestGetCallerIdentityLookupFailure(t *testing.T) {
	f := newFixture(t)
	boom := errors.New("iam store unavailable")
	f.ids.err = boom
	_, err := f.svc.GetCallerIdentity(as(userKey), &api.GetCallerIdentityInput{})
	if !errors.Is(err, boom) {
		t.Fatalf("GetCallerIdentity = %v, want the lookup's error", err)
	}
}

func TestGetAccessKeyInfo(t *testing.T) {
	tests := []struct {
		name string
		key  func(f *fixture) string
		want string
	}{
		{"iam_user_key_is_its_account", func(*fixture) string { return userKey }, account},
		{"unknown_key_is_the_callers_account", func(*fixture) string { return "AKIAOTHERUNKNOWN0001" }, account},
		{"issued_key_is_the_sessions_account", func(f *fixture) string {
			arn := "arn:aws:iam::" + otherAccount + ":role/audit"
			f.addRole(arn, "AROAAUDIT00000000001", 3600)
			return *must(f.svc.AssumeRole(as(userKey), &api.AssumeRoleInput{RoleArn: s(arn), RoleSessionName: s("x")})).Credentials.AccessKeyId
		}, otherAccount},
		{"federation_key_is_the_callers_account", func(f *fixture) string {
			return *must(f.svc.GetFederationToken(as(userKey), &api.GetFederationTokenInput{Name: s("bob")})).Credentials.AccessKeyId
		}, account},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			key := tt.key(f)
			ctx := service.WithRequest(context.Background(), service.Request{AccountID: account, Region: "us-east-1", AccessKeyID: unknownKey})
			out, err := f.svc.GetAccessKeyInfo(ctx, &api.GetAccessKeyInfoInput{AccessKeyId: s(key)})
			if err != nil {
				t.Fatal(err)
			}
			if *out.Account != tt.want {
				t.Errorf("Account = %q, want %q", *out.Account, tt.want)
			}
		})
	}
}
