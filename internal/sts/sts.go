// Package sts serves the AWS Security Token Service: who the caller is
// (GetCallerIdentity) and temporary credentials (AssumeRole,
// AssumeRoleWithWebIdentity, GetSessionToken, GetFederationToken).
//
// Temporary credentials are kept in the store, keyed by their access key
// ID, so that a request signed with them is recognised later: its caller is
// the assumed role session, federated user or user they were issued to.
// Roles and long-term access keys belong to IAM; STS asks for them through
// IdentityLookup, which main wires to the IAM service.
package sts

import (
	"context"
	"time"

	"github.com/nephele-dev/nephele/internal/api/model"
	api "github.com/nephele-dev/nephele/internal/api/sts"
	"github.com/nephele-dev/nephele/internal/clock"
	"github.com/nephele-dev/nephele/internal/service"
	"github.com/nephele-dev/nephele/internal/store"
)

// IdentityLookup is what STS needs of IAM. The IAM service implements it;
// main passes it to New, since services never import each other.
type IdentityLookup interface {
	// RoleByARN reports the unique ID and MaxSessionDuration (seconds) of
	// the role roleARN names; ok is false if there is no such role.
	RoleByARN(ctx context.Context, roleARN string) (roleID string, maxSessionDuration int32, ok bool, err error)
	// AccessKeyOwner reports the ARN, unique ID and account of the owner
	// of a long-term access key IAM issued; ok is false for any other key.
	AccessKeyOwner(ctx context.Context, accessKeyID string) (arn, userID, account string, ok bool, err error)
}

// Service is the STS service. Its only state is the sessions in the store.
type Service struct {
	st  store.Store
	clk clock.Clock
	ids IdentityLookup
}

var _ service.Service = (*Service)(nil)

// New returns the STS service keeping issued credentials in st, reading
// time from clk and resolving roles and access keys through ids.
func New(st store.Store, clk clock.Clock, ids IdentityLookup) *Service {
	return &Service{st: st, clk: clk, ids: ids}
}

// Name is STS's signing name.
func (s *Service) Name() string { return "sts" }

// Model returns the STS API model.
func (s *Service) Model() *model.Service { return api.Model() }

// Operations lists the STS operations served.
func (s *Service) Operations() []service.Operation {
	return []service.Operation{
		// identity.go
		service.Handle("GetCallerIdentity", s.GetCallerIdentity),
		service.Handle("GetAccessKeyInfo", s.GetAccessKeyInfo),
		// credentials.go
		service.Handle("AssumeRole", s.AssumeRole),
		service.Handle("AssumeRoleWithWebIdentity", s.AssumeRoleWithWebIdentity),
		service.Handle("GetSessionToken", s.GetSessionToken),
		service.Handle("GetFederationToken", s.GetFederationToken),
	}
}

// now is the time of a request; STS reports whole seconds.
func (s *Service) now() time.Time {
	return s.clk.Now().UTC().Truncate(time.Second)
}

// str reads an optional string member; absent is "".
func str(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// ptr returns a pointer to v, for the API shapes' optional members.
func ptr[T any](v T) *T { return &v }
