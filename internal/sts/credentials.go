package sts

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"time"

	api "github.com/nephele-dev/nephele/internal/api/sts"
	"github.com/nephele-dev/nephele/internal/arn"
	"github.com/nephele-dev/nephele/internal/awserr"
	"github.com/nephele-dev/nephele/internal/service"
)

// Session durations, from the STS API reference.
const (
	// defaultRoleSession is AssumeRole's default DurationSeconds.
	defaultRoleSession = time.Hour
	// roleChainingLimit caps sessions of a role assumed with another
	// role's credentials ("role chaining limits your session to a maximum
	// of one hour").
	roleChainingLimit = time.Hour
	// defaultTokenSession is GetSessionToken's and GetFederationToken's
	// default DurationSeconds.
	defaultTokenSession = 12 * time.Hour
	// rootTokenLimit caps the root user's GetSessionToken and
	// GetFederationToken sessions; longer requests get one hour.
	rootTokenLimit = time.Hour
)

// packedPolicyLimit is the plain-text size against which PackedPolicySize
// is reported: the session policy limit of 2,048 characters.
const packedPolicyLimit = 2048

// validationError is STS's error for a value its rules refuse.
func validationError(format string, args ...any) error {
	return awserr.BadRequest("ValidationError", format, args...)
}

// accessDenied is STS's answer for a role the caller may not assume, which
// includes one that does not exist: STS does not reveal which.
func accessDenied(callerARN, action, resource string) error {
	return awserr.New(http.StatusForbidden, "AccessDenied",
		"User: %s is not authorized to perform: %s on resource: %s", callerARN, action, resource)
}

// roleTarget is the role a request asks for.
type roleTarget struct {
	arn        arn.ARN
	name       string
	id         string
	maxSession time.Duration
}

// findRole parses RoleArn and asks IAM for the role. ok is false if it
// does not exist. A RoleArn that is not an IAM role's ARN is the
// ValidationError STS gives for one ("Request ARN is invalid", as seen
// when a SAML provider's ARN is passed as the role's).
func (s *Service) findRole(ctx context.Context, roleARN string) (roleTarget, bool, error) {
	a, err := arn.Parse(roleARN)
	if err != nil || a.Service != "iam" || a.AccountID == "" || !strings.HasPrefix(a.Resource, "role/") || strings.HasSuffix(a.Resource, "/") {
		return roleTarget{}, false, validationError("Request ARN is invalid")
	}
	t := roleTarget{arn: a, name: a.Resource[strings.LastIndex(a.Resource, "/")+1:]}
	id, max, ok, err := s.ids.RoleByARN(ctx, roleARN)
	if err != nil || !ok {
		return t, false, err
	}
	t.id, t.maxSession = id, time.Duration(max)*time.Second
	return t, true, nil
}

// roleSessionDuration applies AssumeRole's rules for DurationSeconds: an
// hour by default, at most the role's MaxSessionDuration, and at most an
// hour when the caller signs with temporary credentials. AWS counts any
// temporary credentials as role chaining, those of GetSessionToken
// included: aws-vault and aws-runas users meet this ValidationError when
// they assume a role for longer than an hour from a session token. The
// codec has already checked the model's range of 900 to 43200 seconds.
func roleSessionDuration(requested *int32, role roleTarget, caller identity) (time.Duration, error) {
	if requested == nil {
		return defaultRoleSession, nil
	}
	d := time.Duration(*requested) * time.Second
	if caller.kind != "" && d > roleChainingLimit {
		return 0, validationError("The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.")
	}
	if role.maxSession > 0 && d > role.maxSession {
		return 0, validationError("The requested DurationSeconds exceeds the MaxSessionDuration set for this role.")
	}
	return d, nil
}

// packedPolicySize checks the session policy, policy ARNs and session tags
// of a request and reports what share, in percent, of the allowed size they
// take; AWS returns it as PackedPolicySize whenever a session policy or tags
// are passed. nil means none were passed.
func packedPolicySize(policy *string, arns []api.PolicyDescriptorType, tags []api.Tag) (*int32, error) {
	if policy == nil && len(arns) == 0 && len(tags) == 0 {
		return nil, nil
	}
	size := 0
	if policy != nil {
		var compact bytes.Buffer
		if err := json.Compact(&compact, []byte(*policy)); err != nil {
			return nil, awserr.BadRequest("MalformedPolicyDocument", "The policy is not in the valid JSON format.")
		}
		size += compact.Len()
	}
	for _, a := range arns {
		size += len(str(a.Arn))
	}
	for _, t := range tags {
		size += len(str(t.Key)) + len(str(t.Value))
	}
	pct := int32((size*100 + packedPolicyLimit - 1) / packedPolicyLimit)
	if pct > 100 {
		return nil, awserr.BadRequest("PackedPolicyTooLarge", "Packed policy consumes %d%% of allotted space, please use smaller policy.", pct)
	}
	return &pct, nil
}

// credentialsOut renders issued credentials.
func credentialsOut(sess session) *api.Credentials {
	return &api.Credentials{
		AccessKeyId:     ptr(sess.AccessKeyID),
		SecretAccessKey: ptr(sess.Secret),
		SessionToken:    ptr(sess.Token),
		Expiration:      ptr(sess.Expiration),
	}
}

// assumedRole is the identity of a role session: ARN
// arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION and UserId
// ROLEID:SESSION, as GetCallerIdentity reports them.
func assumedRole(role roleTarget, sessionName string) identity {
	a := arn.ARN{Partition: role.arn.Partition, Service: "sts", AccountID: role.arn.AccountID,
		Resource: "assumed-role/" + role.name + "/" + sessionName}
	return identity{arn: a.String(), userID: role.id + ":" + sessionName, account: role.arn.AccountID, kind: kindAssumedRole}
}

// AssumeRole issues credentials for a role session. Any caller may assume
// any role that exists (nephele does not evaluate trust policies, and lets
// the root user assume roles, which AWS refuses, since unknown credentials
// are taken for the root user); a role that does not exist is
// AccessDenied, as AWS answers. Federated users may call no STS operation
// but GetCallerIdentity (GetFederationToken's "Permissions" section), so
// they are denied too.
func (s *Service) AssumeRole(ctx context.Context, in *api.AssumeRoleInput) (*api.AssumeRoleOutput, error) {
	caller, err := s.caller(ctx)
	if err != nil {
		return nil, err
	}
	role, ok, err := s.findRole(ctx, str(in.RoleArn))
	if err != nil {
		return nil, err
	}
	if !ok || caller.kind == kindFederatedUser {
		return nil, accessDenied(caller.arn, "sts:AssumeRole", str(in.RoleArn))
	}
	d, err := roleSessionDuration(in.DurationSeconds, role, caller)
	if err != nil {
		return nil, err
	}
	packed, err := packedPolicySize(in.Policy, in.PolicyArns, in.Tags)
	if err != nil {
		return nil, err
	}
	id := assumedRole(role, str(in.RoleSessionName))
	sess, err := s.issue(id, d)
	if err != nil {
		return nil, err
	}
	return &api.AssumeRoleOutput{
		Credentials:      credentialsOut(sess),
		AssumedRoleUser:  &api.AssumedRoleUser{Arn: ptr(id.arn), AssumedRoleId: ptr(id.userID)},
		PackedPolicySize: packed,
		SourceIdentity:   in.SourceIdentity,
	}, nil
}

// tokenClaims are the claims of an OIDC token that
// AssumeRoleWithWebIdentity checks or reports back.
type tokenClaims struct {
	Issuer   string          `json:"iss"`
	Subject  string          `json:"sub"`
	Audience json.RawMessage `json:"aud"` // a string or a list of them
	// Expiry is the "exp" claim, a NumericDate (seconds since the epoch,
	// possibly fractional); nil if absent.
	Expiry *float64 `json:"exp"`
}

// parseToken reads the claims of a JWT without checking its signature:
// nephele trusts every identity provider. ok is false for a token that is
// not a JWT (three base64url parts whose middle one is a JSON object) or
// that names no issuer, since STS finds the OIDC provider by "iss".
func parseToken(token string) (c tokenClaims, ok bool) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return c, false
	}
	payload, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil || json.Unmarshal(payload, &c) != nil {
		return tokenClaims{}, false
	}
	return c, c.Issuer != ""
}

// invalidIdentityToken is STS's answer to a web identity token that is not
// a JWT, with the message AWS gives (seen with SDKs and Vault talking to
// STS: "The ID Token provided is not a valid JWT. ...", HTTP 400).
func invalidIdentityToken() error {
	return awserr.BadRequest("InvalidIdentityToken",
		"The ID Token provided is not a valid JWT. (You may see this error if you sent an Access Token)")
}

// expiredIdentityToken is STS's answer to a web identity token whose "exp"
// has passed: ExpiredTokenException, HTTP 400, with AWS's message.
func expiredIdentityToken(now time.Time, exp float64) error {
	return awserr.BadRequest("ExpiredTokenException",
		"Token expired: current date/time %d must be before the expiration date/time %d", now.Unix(), int64(exp))
}

// audience is the token's first audience.
func (c tokenClaims) audience() string {
	var one string
	if json.Unmarshal(c.Audience, &one) == nil {
		return one
	}
	var many []string
	if json.Unmarshal(c.Audience, &many) == nil && len(many) > 0 {
		return many[0]
	}
	return ""
}

// optional returns nil for "".
func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// AssumeRoleWithWebIdentity issues role credentials in exchange for an
// OIDC token (EKS pods, GitHub Actions). The token must be a JWT with an
// issuer that has not expired; its signature, audience and the role's
// trust policy are not checked. As AWS does, a token that is not a JWT is
// InvalidIdentityToken, unless ProviderId says it is an OAuth 2.0 access
// token, which STS takes as opaque. The claims are reported back as STS
// reports them: the subject, the first audience, and as Provider the ARN
// of the IAM OIDC provider for the issuer
// (arn:aws:iam::ACCOUNT:oidc-provider/ISSUER-without-https://), or the
// ProviderId of an access token.
func (s *Service) AssumeRoleWithWebIdentity(ctx context.Context, in *api.AssumeRoleWithWebIdentityInput) (*api.AssumeRoleWithWebIdentityOutput, error) {
	claims, isJWT := parseToken(str(in.WebIdentityToken))
	switch {
	case !isJWT && in.ProviderId == nil:
		return nil, invalidIdentityToken()
	case claims.Expiry != nil:
		if now := s.clk.Now(); !now.Before(time.Unix(int64(*claims.Expiry), 0)) {
			return nil, expiredIdentityToken(now, *claims.Expiry)
		}
	}
	role, ok, err := s.findRole(ctx, str(in.RoleArn))
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, awserr.New(http.StatusForbidden, "AccessDenied", "Not authorized to perform sts:AssumeRoleWithWebIdentity")
	}
	d, err := roleSessionDuration(in.DurationSeconds, role, identity{})
	if err != nil {
		return nil, err
	}
	packed, err := packedPolicySize(in.Policy, in.PolicyArns, nil)
	if err != nil {
		return nil, err
	}
	id := assumedRole(role, str(in.RoleSessionName))
	sess, err := s.issue(id, d)
	if err != nil {
		return nil, err
	}
	provider := str(in.ProviderId)
	if isJWT {
		p := arn.ARN{Partition: role.arn.Partition, Service: "iam", AccountID: role.arn.AccountID,
			Resource: "oidc-provider/" + strings.TrimSuffix(strings.TrimPrefix(claims.Issuer, "https://"), "/")}
		provider = p.String()
	}
	return &api.AssumeRoleWithWebIdentityOutput{
		Credentials:                 credentialsOut(sess),
		AssumedRoleUser:             &api.AssumedRoleUser{Arn: ptr(id.arn), AssumedRoleId: ptr(id.userID)},
		PackedPolicySize:            packed,
		SubjectFromWebIdentityToken: optional(claims.Subject),
		Audience:                    optional(claims.audience()),
		Provider:                    optional(provider),
	}, nil
}

// tokenDuration applies the DurationSeconds rules of GetSessionToken and
// GetFederationToken: 12 hours by default, and at most one hour for the
// root user, whose longer requests are cut to an hour rather than refused.
func tokenDuration(requested *int32, caller identity) time.Duration {
	d := defaultTokenSession
	if requested != nil {
		d = time.Duration(*requested) * time.Second
	}
	if caller.userID == caller.account && d > rootTokenLimit {
		d = rootTokenLimit
	}
	return d
}

// GetSessionToken issues temporary credentials that act as the caller, a
// user or the root user. Temporary credentials cannot make more.
func (s *Service) GetSessionToken(ctx context.Context, in *api.GetSessionTokenInput) (*api.GetSessionTokenOutput, error) {
	caller, err := s.caller(ctx)
	if err != nil {
		return nil, err
	}
	if caller.kind != "" {
		return nil, awserr.New(http.StatusForbidden, "AccessDenied", "Cannot call GetSessionToken with session credentials")
	}
	id := caller
	id.kind = kindSessionToken
	sess, err := s.issue(id, tokenDuration(in.DurationSeconds, caller))
	if err != nil {
		return nil, err
	}
	return &api.GetSessionTokenOutput{Credentials: credentialsOut(sess)}, nil
}

// GetFederationToken issues credentials for a federated user named by the
// caller: arn:aws:sts::ACCOUNT:federated-user/NAME, with UserId
// ACCOUNT:NAME.
func (s *Service) GetFederationToken(ctx context.Context, in *api.GetFederationTokenInput) (*api.GetFederationTokenOutput, error) {
	caller, err := s.caller(ctx)
	if err != nil {
		return nil, err
	}
	if caller.kind != "" {
		return nil, awserr.New(http.StatusForbidden, "AccessDenied", "Cannot call GetFederationToken with session credentials")
	}
	packed, err := packedPolicySize(in.Policy, in.PolicyArns, in.Tags)
	if err != nil {
		return nil, err
	}
	name := str(in.Name)
	a := arn.ARN{Partition: arn.Partition(service.RequestFrom(ctx).Region), Service: "sts", AccountID: caller.account, Resource: "federated-user/" + name}
	id := identity{arn: a.String(), userID: caller.account + ":" + name, account: caller.account, kind: kindFederatedUser}
	sess, err := s.issue(id, tokenDuration(in.DurationSeconds, caller))
	if err != nil {
		return nil, err
	}
	return &api.GetFederationTokenOutput{
		Credentials:      credentialsOut(sess),
		FederatedUser:    &api.FederatedUser{Arn: ptr(id.arn), FederatedUserId: ptr(id.userID)},
		PackedPolicySize: packed,
	}, nil
}
