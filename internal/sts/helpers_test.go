package sts_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"sync"
	"testing"
	"time"

	api "github.com/nephele-dev/nephele/internal/api/sts"
	"github.com/nephele-dev/nephele/internal/awserr"
	"github.com/nephele-dev/nephele/internal/clock"
	"github.com/nephele-dev/nephele/internal/service"
	"github.com/nephele-dev/nephele/internal/store"
	"github.com/nephele-dev/nephele/internal/sts"
)

const (
	account      = "123456789012"
	otherAccount = "210987654321"
	// userKey is an IAM user's long-term access key known to the fake.
	userKey  = "AKIAUSEREXAMPLE00001"
	userARN  = "arn:aws:iam::" + account + ":user/alice"
	userID   = "AIDAALICEEXAMPLE00001"
	rootKey  = "AKIAROOTEXAMPLE00001" // the root user's own access key
	rootARN  = "arn:aws:iam::" + account + ":root"
	roleID   = "AROAEXAMPLEROLE000001"
	roleName = "deployer"
	roleARN  = "arn:aws:iam::" + account + ":role/" + roleName
	// unknownKey is a key neither IAM nor STS issued: nephele takes it
	// for the root user's.
	unknownKey = "AKIDEXAMPLE"
	s3Policy   = `{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}`
)

// start is the fake clock's first reading in every test.
var start = time.Date(2024, time.March, 1, 12, 0, 0, 0, time.UTC)

// fakeRole is a role as IAM would report it.
type fakeRole struct {
	id                 string
	maxSessionDuration int32
}

// fakeKey is the owner of a long-term access key as IAM would report it.
type fakeKey struct {
	arn, userID, account string
}

// fakeIdentities is an IdentityLookup over maps, standing in for IAM.
type fakeIdentities struct {
	mu    sync.Mutex
	roles map[string]fakeRole // by role ARN
	keys  map[string]fakeKey  // by access key ID
	err   error               // returned by every call when set
}

var _ sts.IdentityLookup = (*fakeIdentities)(nil)

func (f *fakeIdentities) RoleByARN(_ context.Context, roleARN string) (string, int32, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return "", 0, false, f.err
	}
	r, ok := f.roles[roleARN]
	return r.id, r.maxSessionDuration, ok, nil
}

func (f *fakeIdentities) AccessKeyOwner(_ context.Context, accessKeyID string) (string, string, string, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return "", "", "", false, f.err
	}
	k, ok := f.keys[accessKeyID]
	return k.arn, k.userID, k.account, ok, nil
}

// fixture is the STS service on a memory store, a fake clock and fake
// identities: one role (deployer, MaxSessionDuration 12 h), an IAM user's
// key and the root user's key.
type fixture struct {
	t   *testing.T
	svc *sts.Service
	st  store.Store
	clk *clock.Fake
	ids *fakeIdentities
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	st := store.NewMemory()
	t.Cleanup(func() { st.Close() })
	clk := clock.NewFake(start)
	ids := &fakeIdentities{
		roles: map[string]fakeRole{roleARN: {id: roleID, maxSessionDuration: 43200}},
		keys: map[string]fakeKey{
			userKey: {arn: userARN, userID: userID, account: account},
			rootKey: {arn: rootARN, userID: account, account: account},
		},
	}
	return &fixture{t: t, svc: sts.New(st, clk, ids), st: st, clk: clk, ids: ids}
}

// addRole makes a role known to the fake IAM.
func (f *fixture) addRole(arn, id string, maxSessionDuration int32) {
	f.ids.mu.Lock()
	defer f.ids.mu.Unlock()
	f.ids.roles[arn] = fakeRole{id: id, maxSessionDuration: maxSessionDuration}
}

// as is a request context for the test account in us-east-1, signed with
// the given access key.
func as(accessKeyID string) context.Context {
	return asIn("us-east-1", accessKeyID)
}

// asIn is a request context for the test account in region.
func asIn(region, accessKeyID string) context.Context {
	return service.WithRequest(context.Background(), service.Request{AccountID: account, Region: region, AccessKeyID: accessKeyID})
}

// signedWith is a request context signed with issued credentials.
func signedWith(c *api.Credentials) context.Context { return as(*c.AccessKeyId) }

// assume assumes the deployer role as the IAM user, with a session name.
func (f *fixture) assume(session string) *api.AssumeRoleOutput {
	f.t.Helper()
	return must(f.svc.AssumeRole(as(userKey), &api.AssumeRoleInput{RoleArn: s(roleARN), RoleSessionName: s(session)}))
}

// whoami is GetCallerIdentity's answer in ctx, which must succeed.
func (f *fixture) whoami(ctx context.Context) identity {
	f.t.Helper()
	out, err := f.svc.GetCallerIdentity(ctx, &api.GetCallerIdentityInput{})
	if err != nil {
		f.t.Fatalf("GetCallerIdentity: %v", err)
	}
	return identity{Account: *out.Account, Arn: *out.Arn, UserId: *out.UserId}
}

// identity is GetCallerIdentity's answer, comparable with ==.
type identity struct{ Account, Arn, UserId string }

// jwt builds an unsigned-looking JWT with the given claims; nephele does
// not check signatures.
func jwt(t *testing.T, claims map[string]any) string {
	t.Helper()
	payload, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	enc := base64.RawURLEncoding.EncodeToString
	return enc([]byte(`{"alg":"RS256","typ":"JWT","kid":"k1"}`)) + "." + enc(payload) + "." + enc([]byte("signature"))
}

// code is the AWS error code of err, or "" for nil.
func code(err error) string {
	if err == nil {
		return ""
	}
	var e *awserr.Error
	if errors.As(err, &e) {
		return e.Code
	}
	return "not an awserr: " + err.Error()
}

// message is the AWS error message of err.
func message(err error) string {
	var e *awserr.Error
	if errors.As(err, &e) {
		return e.Message
	}
	return ""
}

// status is the HTTP status of err.
func status(err error) int {
	var e *awserr.Error
	if errors.As(err, &e) {
		return e.Status
	}
	return 0
}

// wantError fails the test unless err has the given code, HTTP status and
// message.
func wantError(t *testing.T, err error, wantCode string, wantStatus int, wantMessage string) {
	t.Helper()
	if code(err) != wantCode || status(err) != wantStatus || message(err) != wantMessage {
		t.Fatalf("error = %s / %d / %q\nwant    %s / %d / %q", code(err), status(err), message(err), wantCode, wantStatus, wantMessage)
	}
}

func s(v string) *string { return &v }
func i32(v int32) *int32 { return &v }

// must returns v, panicking on err: a call that must succeed failing is a
// bug, and the panic stops the test with the stack that led to it.
func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
