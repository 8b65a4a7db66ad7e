package sts_test

import (
	"context"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	api "github.com/nephele-dev/nephele/internal/api/sts"
)

// wantCredentials checks the shape of issued temporary credentials and
// that they expire d after the fake clock's start.
func wantCredentials(t *testing.T, c *api.Credentials, d time.Duration) {
	t.Helper()
	if c == nil {
		t.Fatal("Credentials missing")
	}
	// Temporary keys are "ASIA" and 16 of [A-Z0-9]; SDKs recognise them by
	// the prefix.
	if !regexp.MustCompile(`^ASIA[A-Z0-9]{16}$`).MatchString(*c.AccessKeyId) {
		t.Errorf("AccessKeyId = %q, want ASIA and 16 of [A-Z0-9]", *c.AccessKeyId)
	}
	if !regexp.MustCompile(`^[A-Za-z0-9+/]{40}$`).MatchString(*c.SecretAccessKey) {
		t.Errorf("SecretAccessKey = %q, want 40 of [A-Za-z0-9+/]", *c.SecretAccessKey)
	}
	if c.SessionToken == nil || *c.SessionToken == "" {
		t.Error("SessionToken missing")
	}
	if want := start.Add(d); c.Expiration == nil || !c.Expiration.Equal(want) {
		t.Errorf("Expiration = %v, want %v", c.Expiration, want)
	}
}

func TestAssumeRole(t *testing.T) {
	t.Run("credentials_shape_and_default_hour", func(t *testing.T) {
		f := newFixture(t)
		out := f.assume("build-42")
		wantCredentials(t, out.Credentials, time.Hour)
		if got, want := *out.AssumedRoleUser.Arn, "arn:aws:sts::"+account+":assumed-role/deployer/build-42"; got != want {
			t.Errorf("AssumedRoleUser.Arn = %q, want %q", got, want)
		}
		if got, want := *out.AssumedRoleUser.AssumedRoleId, roleID+":build-42"; got != want {
			t.Errorf("AssumedRoleId = %q, want %q", got, want)
		}
		if out.PackedPolicySize != nil {
			t.Errorf("PackedPolicySize = %d without session policy or tags, want absent", *out.PackedPolicySize)
		}
		if out.SourceIdentity != nil {
			t.Errorf("SourceIdentity = %q, want absent", *out.SourceIdentity)
		}
	})

	t.Run("expiration_is_whole_seconds", func(t *testing.T) {
		f := newFixture(t)
		f.clk.Advance(1500 * time.Millisecond)
		out := f.assume("s")
		if want := start.Add(time.Second + time.Hour); !out.Credentials.Expiration.Equal(want) {
			t.Errorf("Expiration = %v, want %v", out.Credentials.Expiration, want)
		}
	})

	t.Run("each_call_issues_new_credentials", func(t *testing.T) {
		f := newFixture(t)
		a, b := f.assume("s").Credentials, f.assume("s").Credentials
		if *a.AccessKeyId == *b.AccessKeyId || *a.SecretAccessKey == *b.SecretAccessKey || *a.SessionToken == *b.SessionToken {
			t.Errorf("two AssumeRole calls returned the same credentials: %v %v", *a.AccessKeyId, *b.AccessKeyId)
		}
	})

	t.Run("source_identity_is_echoed", func(t *testing.T) {
		f := newFixture(t)
		out := must(f.svc.AssumeRole(as(userKey), &api.AssumeRoleInput{RoleArn: s(roleARN), RoleSessionName: s("s"), SourceIdentity: s("alice@example.com")}))
		if out.SourceIdentity == nil || *out.SourceIdentity != "alice@example.com" {
			t.Errorf("SourceIdentity = %v, want alice@example.com", out.SourceIdentity)
		}
	})
}

func TestAssumeRoleDuration(t *testing.T) {
	tests := []struct {
		name       string
		maxSession int32  // the role's MaxSessionDuration
		caller     string // "user", "role", "session-token"
		duration   *int32
		want       time.Duration
		wantErr    string // ValidationError message
	}{
		{name: "default_is_one_hour", maxSession: 43200, caller: "user", want: time.Hour},
		{name: "default_is_one_hour_even_if_role_allows_less", maxSession: 3600, caller: "user", want: time.Hour},
		{name: "minimum_fifteen_minutes", maxSession: 3600, caller: "user", duration: i32(900), want: 15 * time.Minute},
		{name: "up_to_role_maximum", maxSession: 7200, caller: "user", duration: i32(7200), want: 2 * time.Hour},
		{name: "twelve_hours_when_role_allows", maxSession: 43200, caller: "user", duration: i32(43200), want: 12 * time.Hour},
		{name: "above_role_maximum_is_refused", maxSession: 3600, caller: "user", duration: i32(3601),
			wantErr: "The requested DurationSeconds exceeds the MaxSessionDuration set for this role."},
		{name: "role_chaining_default_is_one_hour", maxSession: 43200, caller: "role", want: time.Hour},
		{name: "role_chaining_one_hour", maxSession: 43200, caller: "role", duration: i32(3600), want: time.Hour},
		{name: "role_chaining_above_one_hour_is_refused", maxSession: 43200, caller: "role", duration: i32(3601),
			wantErr: "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining."},
		// AWS treats GetSessionToken credentials as chaining too (aws-vault
		// and aws-runas users meet this error).
		{name: "session_token_caller_above_one_hour_is_refused", maxSession: 43200, caller: "session-token", duration: i32(7200),
			wantErr: "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining."},
		{name: "session_token_caller_one_hour", maxSession: 43200, caller: "session-token", duration: i32(3600), want: time.Hour},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			target := "arn:aws:iam::" + account + ":role/target"
			f.addRole(target, "AROATARGET0000000001", tt.maxSession)
			ctx := as(userKey)
			switch tt.caller {
			case "role":
				ctx = signedWith(f.assume("first").Credentials)
			case "session-token":
				ctx = signedWith(must(f.svc.GetSessionToken(as(userKey), &api.GetSessionTokenInput{})).Credentials)
			}
			out, err := f.svc.AssumeRole(ctx, &api.AssumeRoleInput{RoleArn: s(target), RoleSessionName: s("s"), DurationSeconds: tt.duration})
			if tt.wantErr != "" {
				wantError(t, err, "ValidationError", http.StatusBadRequest, tt.wantErr)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			wantCredentials(t, out.Credentials, tt.want)
		})
	}
}

func TestAssumeRoleRefused(t *testing.T) {
	tests := []struct {
		name    string
		ctx     func(f *fixture) context.Context
		roleARN string
		code    string
		status  int
		message string
	}{
		{
			name:    "missing_role_is_access_denied_for_the_root_user",
			ctx:     func(*fixture) context.Context { return as(unknownKey) },
			roleARN: "arn:aws:iam::" + account + ":role/missing",
			code:    "AccessDenied", status: http.StatusForbidden,
			message: "User: arn:aws:iam::" + account + ":root is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::" + account + ":role/missing",
		},
		{
			name:    "missing_role_is_access_denied_naming_the_user",
			ctx:     func(*fixture) context.Context { return as(userKey) },
			roleARN: "arn:aws:iam::" + account + ":role/missing",
			code:    "AccessDenied", status: http.StatusForbidden,
			message: "User: " + userARN + " is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::" + account + ":role/missing",
		},
		{
			name:    "missing_role_is_access_denied_naming_the_role_session",
			ctx:     func(f *fixture) context.Context { return signedWith(f.assume("s1").Credentials) },
			roleARN: "arn:aws:iam::" + account + ":role/missing",
			code:    "AccessDenied", status: http.StatusForbidden,
			message: "User: arn:aws:sts::" + account + ":assumed-role/deployer/s1 is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::" + account + ":role/missing",
		},
		{
			name:    "role_of_the_same_name_in_another_account_is_not_found",
			ctx:     func(*fixture) context.Context { return as(userKey) },
			roleARN: "arn:aws:iam::" + otherAccount + ":role/" + roleName,
			code:    "AccessDenied", status: http.StatusForbidden,
			message: "User: " + userARN + " is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::" + otherAccount + ":role/" + roleName,
		},
		{
			// Federated users may call no STS operation but
			// GetCallerIdentity.
			name: "federated_user_is_access_denied",
			ctx: func(f *fixture) context.Context {
				return signedWith(must(f.svc.GetFederationToken(as(userKey), &api.GetFederationTokenInput{Name: s("bob")})).Credentials)
			},
			roleARN: roleARN,
			code:    "AccessDenied", status: http.StatusForbidden,
			message: "User: arn:aws:sts::" + account + ":federated-user/bob is not authorized to perform: sts:AssumeRole on resource: " + roleARN,
		},
		{name: "not_an_arn", roleARN: "deployer-role-by-name", code: "ValidationError", status: http.StatusBadRequest, message: "Request ARN is invalid"},
		{name: "not_iam", roleARN: "arn:aws:s3:::bucket/role/x", code: "ValidationError", status: http.StatusBadRequest, message: "Request ARN is invalid"},
		{name: "not_a_role", roleARN: "arn:aws:iam::" + account + ":saml-provider/okta", code: "ValidationError", status: http.StatusBadRequest, message: "Request ARN is invalid"},
		{name: "user_arn", roleARN: userARN, code: "ValidationError", status: http.StatusBadRequest, message: "Request ARN is invalid"},
		{name: "no_account", roleARN: "arn:aws:iam:::role/deployer", code: "ValidationError", status: http.StatusBadRequest, message: "Request ARN is invalid"},
		{name: "no_role_name", roleARN: "arn:aws:iam::" + account + ":role/", code: "ValidationError", status: http.StatusBadRequest, message: "Request ARN is invalid"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			ctx := as(userKey)
			if tt.ctx != nil {
				ctx = tt.ctx(f)
			}
			out, err := f.svc.AssumeRole(ctx, &api.AssumeRoleInput{RoleArn: s(tt.roleARN), RoleSessionName: s("s")})
			wantError(t, err, tt.code, tt.status, tt.message)
			if out != nil {
				t.Errorf("AssumeRole returned %+v with its error", out)
			}
		})
	}
}

func TestAssumeRolePackedPolicySize(t *testing.T) {
	tag := func(k, v string) api.Tag { return api.Tag{Key: s(k), Value: s(v)} }
	tests := []struct {
		name    string
		in      api.AssumeRoleInput
		present bool
		code    string
	}{
		{name: "absent_without_policy_or_tags"},
		{name: "present_with_session_policy", in: api.AssumeRoleInput{Policy: s(s3Policy)}, present: true},
		{name: "present_with_policy_arns", in: api.AssumeRoleInput{PolicyArns: []api.PolicyDescriptorType{{Arn: s("arn:aws:iam::aws:policy/ReadOnlyAccess")}}}, present: true},
		{name: "present_with_session_tags", in: api.AssumeRoleInput{Tags: []api.Tag{tag("team", "platform")}}, present: true},
		{name: "policy_not_json_is_malformed", in: api.AssumeRoleInput{Policy: s(`{"Version": "2012-10-17",`)}, code: "MalformedPolicyDocument"},
		{name: "oversized_policy_is_too_large", in: api.AssumeRoleInput{Policy: s(`{"Sid":"` + strings.Repeat("x", 3000) + `"}`)}, code: "PackedPolicyTooLarge"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			in := tt.in
			in.RoleArn, in.RoleSessionName = s(roleARN), s("s")
			out, err := f.svc.AssumeRole(as(userKey), &in)
			if tt.code != "" {
				if code(err) != tt.code || status(err) != http.StatusBadRequest {
					t.Fatalf("error = %s / %d, want %s / 400", code(err), status(err), tt.code)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			switch {
			case !tt.present && out.PackedPolicySize != nil:
				t.Errorf("PackedPolicySize = %d, want absent", *out.PackedPolicySize)
			case tt.present && out.PackedPolicySize == nil:
				t.Error("PackedPolicySize absent, want a percentage")
			case tt.present && (*out.PackedPolicySize < 1 || *out.PackedPolicySize > 100):
				t.Errorf("PackedPolicySize = %d, want 1..100", *out.PackedPolicySize)
			}
		})
	}

	t.Run("too_large_message_gives_the_percentage", func(t *testing.T) {
		f := newFixture(t)
		// 4096 bytes compacted is twice the 2048 allowed.
		policy := `{"Sid":"` + strings.Repeat("x", 4096-10) + `"}`
		_, err := f.svc.AssumeRole(as(userKey), &api.AssumeRoleInput{RoleArn: s(roleARN), RoleSessionName: s("s"), Policy: s(policy)})
		wantError(t, err, "PackedPolicyTooLarge", http.StatusBadRequest, "Packed policy consumes 200% of allotted space, please use smaller policy.")
	})

	t.Run("refused_policy_issues_no_credentials", func(t *testing.T) {
		f := newFixture(t)
		if _, err := f.svc.AssumeRole(as(userKey), &api.AssumeRoleInput{RoleArn: s(roleARN), RoleSessionName: s("s"), Policy: s("not json")}); err == nil {
			t.Fatal("AssumeRole with a malformed policy succeeded")
		}
		if n := sessionCount(t, f); n != 0 {
			t.Errorf("%d sessions stored after a refused request, want 0", n)
		}
	})
}

func TestAssumeRoleWithWebIdentity(t *testing.T) {
	const gha = "https://token.actions.githubusercontent.com"
	const ghaProvider = "arn:aws:iam::" + account + ":oidc-provider/token.actions.githubusercontent.com"
	future := float64(start.Add(time.Hour).Unix())
	tests := []struct {
		name       string
		token      func(t *testing.T) string
		providerID *string
		// want is Provider, SubjectFromWebIdentityToken and Audience.
		wantProvider, wantSubject, wantAudience string
	}{
		{
			name: "github_actions_token",
			token: func(t *testing.T) string {
				return jwt(t, map[string]any{"iss": gha, "sub": "repo:octo/app:ref:refs/heads/main", "aud": "sts.amazonaws.com", "exp": future})
			},
			wantProvider: ghaProvider, wantSubject: "repo:octo/app:ref:refs/heads/main", wantAudience: "sts.amazonaws.com",
		},
		{
			name: "eks_token_with_audience_list",
			token: func(t *testing.T) string {
				return jwt(t, map[string]any{"iss": "https://oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE", "sub": "system:serviceaccount:default:app", "aud": []string{"sts.amazonaws.com", "other"}})
			},
			wantProvider: "arn:aws:iam::" + account + ":oidc-provider/oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE",
			wantSubject:  "system:serviceaccount:default:app", wantAudience: "sts.amazonaws.com",
		},
		{
			name:         "token_without_subject_or_audience",
			token:        func(t *testing.T) string { return jwt(t, map[string]any{"iss": gha}) },
			wantProvider: ghaProvider,
		},
		{
			name:         "fractional_exp_in_the_future",
			token:        func(t *testing.T) string { return jwt(t, map[string]any{"iss": gha, "exp": future + 0.5}) },
			wantProvider: ghaProvider,
		},
		{
			// OAuth 2.0 access tokens (Login with Amazon, Facebook) are
			// opaque; Provider is the ProviderId passed.
			name:         "oauth_access_token_with_provider_id",
			token:        func(*testing.T) string { return "Atza|IQEBLjAsAhRFiXuWpUXuRvQ9PZL3GMFcYevydwIUFAHZwXZXXXXXXXX" },
			providerID:   s("www.amazon.com"),
			wantProvider: "www.amazon.com",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			out, err := f.svc.AssumeRoleWithWebIdentity(context.Background(), &api.AssumeRoleWithWebIdentityInput{
				RoleArn: s(roleARN), RoleSessionName: s("web"), WebIdentityToken: s(tt.token(t)), ProviderId: tt.providerID,
			})
			if err != nil {
				t.Fatal(err)
			}
			wantCredentials(t, out.Credentials, time.Hour)
			if got, want := *out.AssumedRoleUser.Arn, "arn:aws:sts::"+account+":assumed-role/deployer/web"; got != want {
				t.Errorf("AssumedRoleUser.Arn = %q, want %q", got, want)
			}
			for _, c := range []struct {
				member string
				got    *string
				want   string
			}{
				{"Provider", out.Provider, tt.wantProvider},
				{"SubjectFromWebIdentityToken", out.SubjectFromWebIdentityToken, tt.wantSubject},
				{"Audience", out.Audience, tt.wantAudience},
			} {
				switch {
				case c.want == "" && c.got != nil:
					t.Errorf("%s = %q, want absent", c.member, *c.got)
				case c.want != "" && (c.got == nil || *c.got != c.want):
					t.Errorf("%s = %v, want %q", c.member, c.got, c.want)
				}
			}
		})
	}
}

func TestAssumeRoleWithWebIdentityRefused(t *testing.T) {
	const gha = "https://token.actions.githubusercontent.com"
	const notJWT = "The ID Token provided is not a valid JWT. (You may see this error if you sent an Access Token)"
	tests := []struct {
		name    string
		token   func(t *testing.T) string
		roleARN string
		code    string
		status  int
		message string
	}{
		{name: "opaque_token", token: func(*testing.T) string { return "dummy-token" },
			code: "InvalidIdentityToken", status: http.StatusBadRequest, message: notJWT},
		{name: "payload_not_base64", token: func(*testing.T) string { return "eyJhbGciOiJSUzI1NiJ9.%%%.sig" },
			code: "InvalidIdentityToken", status: http.StatusBadRequest, message: notJWT},
		{name: "payload_not_json", token: func(*testing.T) string { return "eyJhbGciOiJSUzI1NiJ9.bm90IGpzb24.sig" },
			code: "InvalidIdentityToken", status: http.StatusBadRequest, message: notJWT},
		{name: "token_without_issuer", token: func(t *testing.T) string { return jwt(t, map[string]any{"sub": "x"}) },
			code: "InvalidIdentityToken", status: http.StatusBadRequest, message: notJWT},
		{
			name: "expired_token",
			token: func(t *testing.T) string {
				return jwt(t, map[string]any{"iss": gha, "exp": start.Add(-time.Minute).Unix()})
			},
			code: "ExpiredTokenException", status: http.StatusBadRequest,
			message: "Token expired: current date/time 1709294400 must be before the expiration date/time 1709294340",
		},
		{
			name:  "token_expiring_now",
			token: func(t *testing.T) string { return jwt(t, map[string]any{"iss": gha, "exp": start.Unix()}) },
			code:  "ExpiredTokenException", status: http.StatusBadRequest,
			message: "Token expired: current date/time 1709294400 must be before the expiration date/time 1709294400",
		},
		{
			name:    "missing_role",
			token:   func(t *testing.T) string { return jwt(t, map[string]any{"iss": gha}) },
			roleARN: "arn:aws:iam::" + account + ":role/missing",
			code:    "AccessDenied", status: http.StatusForbidden, message: "Not authorized to perform sts:AssumeRoleWithWebIdentity",
		},
		{
			name:    "malformed_role_arn",
			token:   func(t *testing.T) string { return jwt(t, map[string]any{"iss": gha}) },
			roleARN: "deployer",
			code:    "ValidationError", status: http.StatusBadRequest, message: "Request ARN is invalid",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			arn := roleARN
			if tt.roleARN != "" {
				arn = tt.roleARN
			}
			_, err := f.svc.AssumeRoleWithWebIdentity(context.Background(), &api.AssumeRoleWithWebIdentityInput{
				RoleArn: s(arn), RoleSessionName: s("web"), WebIdentityToken: s(tt.token(t)),
			})
			wantError(t, err, tt.code, tt.status, tt.message)
		})
	}
}

func TestAssumeRoleWithWebIdentityDuration(t *testing.T) {
	token := func(t *testing.T) *string { return s(jwt(t, map[string]any{"iss": "https://issuer.example.com"})) }

	t.Run("up_to_role_maximum", func(t *testing.T) {
		f := newFixture(t)
		out := must(f.svc.AssumeRoleWithWebIdentity(context.Background(), &api.AssumeRoleWithWebIdentityInput{
			RoleArn: s(roleARN), RoleSessionName: s("w"), WebIdentityToken: token(t), DurationSeconds: i32(43200)}))
		wantCredentials(t, out.Credentials, 12*time.Hour)
	})

	t.Run("above_role_maximum_is_refused", func(t *testing.T) {
		f := newFixture(t)
		short := "arn:aws:iam::" + account + ":role/short"
		f.addRole(short, "AROASHORT00000000001", 3600)
		_, err := f.svc.AssumeRoleWithWebIdentity(context.Background(), &api.AssumeRoleWithWebIdentityInput{
			RoleArn: s(short), RoleSessionName: s("w"), WebIdentityToken: token(t), DurationSeconds: i32(7200)})
		wantError(t, err, "ValidationError", http.StatusBadRequest, "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.")
	})

	// The call is unsigned: credentials the request happens to carry do
	// not make it role chaining.
	t.Run("signed_with_role_credentials_is_not_chaining", func(t *testing.T) {
		f := newFixture(t)
		ctx := signedWith(f.assume("first").Credentials)
		out := must(f.svc.AssumeRoleWithWebIdentity(ctx, &api.AssumeRoleWithWebIdentityInput{
			RoleArn: s(roleARN), RoleSessionName: s("w"), WebIdentityToken: token(t), DurationSeconds: i32(7200)}))
		wantCredentials(t, out.Credentials, 2*time.Hour)
	})

	t.Run("packed_policy_size_only_with_session_policy", func(t *testing.T) {
		f := newFixture(t)
		out := must(f.svc.AssumeRoleWithWebIdentity(context.Background(), &api.AssumeRoleWithWebIdentityInput{
			RoleArn: s(roleARN), RoleSessionName: s("w"), WebIdentityToken: token(t)}))
		if out.PackedPolicySize != nil {
			t.Errorf("PackedPolicySize = %d without a policy, want absent", *out.PackedPolicySize)
		}
		out = must(f.svc.AssumeRoleWithWebIdentity(context.Background(), &api.AssumeRoleWithWebIdentityInput{
			RoleArn: s(roleARN), RoleSessionName: s("w"), WebIdentityToken: token(t), Policy: s(s3Policy)}))
		if out.PackedPolicySize == nil {
			t.Error("PackedPolicySize absent with a session policy")
		}
	})
}

func TestGetSessionToken(t *testing.T) {
	tests := []struct {
		name     string
		key      string
		duration *int32
		want     time.Duration
	}{
		{"user_default_is_twelve_hours", userKey, nil, 12 * time.Hour},
		{"user_minimum_fifteen_minutes", userKey, i32(900), 15 * time.Minute},
		{"user_maximum_thirty_six_hours", userKey, i32(129600), 36 * time.Hour},
		// Root sessions are restricted to an hour; a longer request gets
		// an hour rather than an error (GetSessionToken, DurationSeconds).
		{"root_default_is_capped_at_one_hour", unknownKey, nil, time.Hour},
		{"root_longer_request_is_capped_at_one_hour", unknownKey, i32(7200), time.Hour},
		{"root_shorter_request_is_kept", unknownKey, i32(900), 15 * time.Minute},
		{"root_access_key_from_iam_is_capped_too", rootKey, i32(43200), time.Hour},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			out, err := f.svc.GetSessionToken(as(tt.key), &api.GetSessionTokenInput{DurationSeconds: tt.duration})
			if err != nil {
				t.Fatal(err)
			}
			wantCredentials(t, out.Credentials, tt.want)
		})
	}
}

// Temporary credentials cannot make more through GetSessionToken or
// GetFederationToken: AWS answers 403 AccessDenied "Cannot call ... with
// session credentials".
func TestTokensFromSessionCredentialsRefused(t *testing.T) {
	callers := []struct {
		name string
		ctx  func(f *fixture) context.Context
	}{
		{"assumed_role", func(f *fixture) context.Context { return signedWith(f.assume("s").Credentials) }},
		{"session_token", func(f *fixture) context.Context {
			return signedWith(must(f.svc.GetSessionToken(as(userKey), &api.GetSessionTokenInput{})).Credentials)
		}},
		{"federated_user", func(f *fixture) context.Context {
			return signedWith(must(f.svc.GetFederationToken(as(userKey), &api.GetFederationTokenInput{Name: s("bob")})).Credentials)
		}},
	}
	for _, c := range callers {
		t.Run("GetSessionToken/"+c.name, func(t *testing.T) {
			f := newFixture(t)
			_, err := f.svc.GetSessionToken(c.ctx(f), &api.GetSessionTokenInput{})
			wantError(t, err, "AccessDenied", http.StatusForbidden, "Cannot call GetSessionToken with session credentials")
		})
		t.Run("GetFederationToken/"+c.name, func(t *testing.T) {
			f := newFixture(t)
			_, err := f.svc.GetFederationToken(c.ctx(f), &api.GetFederationTokenInput{Name: s("eve")})
			wantError(t, err, "AccessDenied", http.StatusForbidden, "Cannot call GetFederationToken with session credentials")
		})
	}
}

func TestGetFederationToken(t *testing.T) {
	t.Run("federated_user_and_default_twelve_hours", func(t *testing.T) {
		f := newFixture(t)
		out := must(f.svc.GetFederationToken(as(userKey), &api.GetFederationTokenInput{Name: s("bob")}))
		wantCredentials(t, out.Credentials, 12*time.Hour)
		if got, want := *out.FederatedUser.Arn, "arn:aws:sts::"+account+":federated-user/bob"; got != want {
			t.Errorf("FederatedUser.Arn = %q, want %q", got, want)
		}
		if got, want := *out.FederatedUser.FederatedUserId, account+":bob"; got != want {
			t.Errorf("FederatedUserId = %q, want %q", got, want)
		}
		if out.PackedPolicySize != nil {
			t.Errorf("PackedPolicySize = %d without a policy, want absent", *out.PackedPolicySize)
		}
	})

	tests := []struct {
		name     string
		key      string
		duration *int32
		want     time.Duration
	}{
		{"user_maximum_thirty_six_hours", userKey, i32(129600), 36 * time.Hour},
		{"user_minimum_fifteen_minutes", userKey, i32(900), 15 * time.Minute},
		{"root_is_capped_at_one_hour", unknownKey, nil, time.Hour},
		{"root_shorter_request_is_kept", unknownKey, i32(1800), 30 * time.Minute},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			out := must(f.svc.GetFederationToken(as(tt.key), &api.GetFederationTokenInput{Name: s("bob"), DurationSeconds: tt.duration}))
			wantCredentials(t, out.Credentials, tt.want)
		})
	}

	t.Run("packed_policy_size_with_policy", func(t *testing.T) {
		f := newFixture(t)
		out := must(f.svc.GetFederationToken(as(userKey), &api.GetFederationTokenInput{Name: s("bob"), Policy: s(s3Policy)}))
		if out.PackedPolicySize == nil {
			t.Error("PackedPolicySize absent with a session policy")
		}
	})

	t.Run("malformed_policy_is_refused", func(t *testing.T) {
		f := newFixture(t)
		_, err := f.svc.GetFederationToken(as(userKey), &api.GetFederationTokenInput{Name: s("bob"), Policy: s("{")})
		if code(err) != "MalformedPolicyDocument" || status(err) != http.StatusBadRequest {
			t.Fatalf("error = %s / %d, want MalformedPolicyDocument / 400", code(err), status(err))
		}
	})
}
