// Package iam serves AWS Identity and Access Management: roles, users,
// groups, customer and AWS managed policies, inline policies, instance
// profiles and access keys.
//
// IAM is a global service, so every record is keyed by account and never by
// region. State lives in the store as this package's own record types
// (records.go documents the buckets); handlers convert them to the API
// shapes on the way out. What AWS derives (attachment counts, a policy's
// UpdateDate) is derived here too rather than stored, so it cannot drift.
package iam

//go:generate go run ./gen

import (
	"context"
	"time"

	api "github.com/nephele-dev/nephele/internal/api/iam"
	"github.com/nephele-dev/nephele/internal/api/model"
	"github.com/nephele-dev/nephele/internal/arn"
	"github.com/nephele-dev/nephele/internal/clock"
	"github.com/nephele-dev/nephele/internal/service"
	"github.com/nephele-dev/nephele/internal/store"
)

// Service is the IAM service. It holds no state of its own beyond the store,
// whose transactions serialise every change.
type Service struct {
	st  store.Store
	clk clock.Clock
}

var _ service.Service = (*Service)(nil)

// New returns the IAM service keeping its state in st and reading time
// (every CreateDate) from clk.
func New(st store.Store, clk clock.Clock) *Service {
	return &Service{st: st, clk: clk}
}

// Name is IAM's signing name.
func (s *Service) Name() string { return "iam" }

// Model returns the IAM API model the codecs decode and validate with.
func (s *Service) Model() *model.Service { return api.Model() }

// Operations lists every IAM operation served, grouped by the file that
// implements it.
func (s *Service) Operations() []service.Operation {
	return []service.Operation{
		// roles.go
		service.Handle("CreateRole", s.CreateRole),
		service.Handle("GetRole", s.GetRole),
		service.Handle("DeleteRole", s.DeleteRole),
		service.Handle("ListRoles", s.ListRoles),
		service.Handle("UpdateRole", s.UpdateRole),
		service.Handle("UpdateRoleDescription", s.UpdateRoleDescription),
		service.Handle("UpdateAssumeRolePolicy", s.UpdateAssumeRolePolicy),
		service.Handle("TagRole", s.TagRole),
		service.Handle("UntagRole", s.UntagRole),
		service.Handle("ListRoleTags", s.ListRoleTags),
		service.Handle("PutRolePolicy", s.PutRolePolicy),
		service.Handle("GetRolePolicy", s.GetRolePolicy),
		service.Handle("DeleteRolePolicy", s.DeleteRolePolicy),
		service.Handle("ListRolePolicies", s.ListRolePolicies),
		service.Handle("AttachRolePolicy", s.AttachRolePolicy),
		service.Handle("DetachRolePolicy", s.DetachRolePolicy),
		service.Handle("ListAttachedRolePolicies", s.ListAttachedRolePolicies),
		service.Handle("PutRolePermissionsBoundary", s.PutRolePermissionsBoundary),
		service.Handle("DeleteRolePermissionsBoundary", s.DeleteRolePermissionsBoundary),
		service.Handle("CreateServiceLinkedRole", s.CreateServiceLinkedRole),
		service.Handle("DeleteServiceLinkedRole", s.DeleteServiceLinkedRole),
		service.Handle("GetServiceLinkedRoleDeletionStatus", s.GetServiceLinkedRoleDeletionStatus),

		// policies.go
		service.Handle("CreatePolicy", s.CreatePolicy),
		service.Handle("GetPolicy", s.GetPolicy),
		service.Handle("DeletePolicy", s.DeletePolicy),
		service.Handle("ListPolicies", s.ListPolicies),
		service.Handle("CreatePolicyVersion", s.CreatePolicyVersion),
		service.Handle("GetPolicyVersion", s.GetPolicyVersion),
		service.Handle("ListPolicyVersions", s.ListPolicyVersions),
		service.Handle("DeletePolicyVersion", s.DeletePolicyVersion),
		service.Handle("SetDefaultPolicyVersion", s.SetDefaultPolicyVersion),
		service.Handle("TagPolicy", s.TagPolicy),
		service.Handle("UntagPolicy", s.UntagPolicy),
		service.Handle("ListPolicyTags", s.ListPolicyTags),
		service.Handle("ListEntitiesForPolicy", s.ListEntitiesForPolicy),

		// instanceprofiles.go
		service.Handle("CreateInstanceProfile", s.CreateInstanceProfile),
		service.Handle("GetInstanceProfile", s.GetInstanceProfile),
		service.Handle("DeleteInstanceProfile", s.DeleteInstanceProfile),
		service.Handle("AddRoleToInstanceProfile", s.AddRoleToInstanceProfile),
		service.Handle("RemoveRoleFromInstanceProfile", s.RemoveRoleFromInstanceProfile),
		service.Handle("ListInstanceProfiles", s.ListInstanceProfiles),
		service.Handle("ListInstanceProfilesForRole", s.ListInstanceProfilesForRole),
		service.Handle("TagInstanceProfile", s.TagInstanceProfile),
		service.Handle("UntagInstanceProfile", s.UntagInstanceProfile),
		service.Handle("ListInstanceProfileTags", s.ListInstanceProfileTags),

		// users.go
		service.Handle("CreateUser", s.CreateUser),
		service.Handle("GetUser", s.GetUser),
		service.Handle("UpdateUser", s.UpdateUser),
		service.Handle("DeleteUser", s.DeleteUser),
		service.Handle("ListUsers", s.ListUsers),
		service.Handle("TagUser", s.TagUser),
		service.Handle("UntagUser", s.UntagUser),
		service.Handle("ListUserTags", s.ListUserTags),
		service.Handle("PutUserPolicy", s.PutUserPolicy),
		service.Handle("GetUserPolicy", s.GetUserPolicy),
		service.Handle("DeleteUserPolicy", s.DeleteUserPolicy),
		service.Handle("ListUserPolicies", s.ListUserPolicies),
		service.Handle("AttachUserPolicy", s.AttachUserPolicy),
		service.Handle("DetachUserPolicy", s.DetachUserPolicy),
		service.Handle("ListAttachedUserPolicies", s.ListAttachedUserPolicies),
		service.Handle("PutUserPermissionsBoundary", s.PutUserPermissionsBoundary),
		service.Handle("DeleteUserPermissionsBoundary", s.DeleteUserPermissionsBoundary),
		service.Handle("GetLoginProfile", s.GetLoginProfile),
		service.Handle("DeleteLoginProfile", s.DeleteLoginProfile),
		service.Handle("ListMFADevices", s.ListMFADevices),
		service.Handle("ListSSHPublicKeys", s.ListSSHPublicKeys),
		service.Handle("ListSigningCertificates", s.ListSigningCertificates),
		service.Handle("ListServiceSpecificCredentials", s.ListServiceSpecificCredentials),

		// accesskeys.go
		service.Handle("CreateAccessKey", s.CreateAccessKey),
		service.Handle("ListAccessKeys", s.ListAccessKeys),
		service.Handle("UpdateAccessKey", s.UpdateAccessKey),
		service.Handle("DeleteAccessKey", s.DeleteAccessKey),
		service.Handle("GetAccessKeyLastUsed", s.GetAccessKeyLastUsed),

		// groups.go
		service.Handle("CreateGroup", s.CreateGroup),
		service.Handle("GetGroup", s.GetGroup),
		service.Handle("UpdateGroup", s.UpdateGroup),
		service.Handle("DeleteGroup", s.DeleteGroup),
		service.Handle("ListGroups", s.ListGroups),
		service.Handle("AddUserToGroup", s.AddUserToGroup),
		service.Handle("RemoveUserFromGroup", s.RemoveUserFromGroup),
		service.Handle("ListGroupsForUser", s.ListGroupsForUser),
		service.Handle("PutGroupPolicy", s.PutGroupPolicy),
		service.Handle("GetGroupPolicy", s.GetGroupPolicy),
		service.Handle("DeleteGroupPolicy", s.DeleteGroupPolicy),
		service.Handle("ListGroupPolicies", s.ListGroupPolicies),
		service.Handle("AttachGroupPolicy", s.AttachGroupPolicy),
		service.Handle("DetachGroupPolicy", s.DetachGroupPolicy),
		service.Handle("ListAttachedGroupPolicies", s.ListAttachedGroupPolicies),

		// account.go
		service.Handle("GetAccountSummary", s.GetAccountSummary),
		service.Handle("ListAccountAliases", s.ListAccountAliases),
	}
}

// scope is the account and partition a request acts in: IAM is global, so
// the region matters only for the partition ARNs are written in.
type scope struct {
	account   string
	partition string
	// accessKeyID is the caller's key, to resolve "the caller" where an
	// operation's UserName is optional.
	accessKeyID string
}

func scopeOf(ctx context.Context) scope {
	r := service.RequestFrom(ctx)
	return scope{account: r.AccountID, partition: arn.Partition(r.Region), accessKeyID: r.AccessKeyID}
}

// arn builds the ARN of an IAM entity of this account, e.g.
// arn:aws:iam::123456789012:role/path/name: IAM ARNs have no region, and the
// path sits between the resource type and the name.
func (sc scope) arn(kind, path, name string) string {
	return arn.ARN{Partition: sc.partition, Service: "iam", AccountID: sc.account, Resource: kind + path + name}.String()
}

// now is the timestamp of a change. IAM reports whole seconds.
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

// optional returns nil for "", so empty strings are left out of responses
// as AWS leaves out unset members.
func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// pathOr reads a Path or PathPrefix member: IAM's default is "/", the root
// of the path hierarchy, which every path starts with.
func pathOr(p *string) string {
	if p == nil || *p == "" {
		return "/"
	}
	return *p
}

// rootARN is the ARN of the account's root user, the identity nephele
// treats every caller without an IAM user's access key as.
func (sc scope) rootARN() string {
	return arn.ARN{Partition: sc.partition, Service: "iam", AccountID: sc.account, Resource: "root"}.String()
}
