package iam

import (
	"context"
	"net/http"
	"strings"

	api "github.com/nephele-dev/nephele/internal/api/iam"
	"github.com/nephele-dev/nephele/internal/awserr"
	"github.com/nephele-dev/nephele/internal/awsid"
	"github.com/nephele-dev/nephele/internal/store"
)

// defaultMaxSessionDuration is a role's MaxSessionDuration when CreateRole
// gives none: one hour.
const defaultMaxSessionDuration = 3600

// serviceRolePath starts the path of every service-linked role, which only
// the service that owns it may change.
const serviceRolePath = "/aws-service-role/"

// roleOut renders a role. ListRoles and the roles inside instance profiles
// leave out Tags, RoleLastUsed and PermissionsBoundary, as IAM's listing
// operations do; the other operations return the whole role.
func roleOut(sc scope, r *roleRecord, full bool) api.Role {
	out := api.Role{
		Arn:                      ptr(sc.arn("role", r.Path, r.Name)),
		AssumeRolePolicyDocument: ptr(encodeDocument(r.AssumeRolePolicy)),
		CreateDate:               ptr(r.Created),
		Description:              optional(r.Description),
		MaxSessionDuration:       ptr(r.MaxSessionDuration),
		Path:                     ptr(r.Path),
		RoleId:                   ptr(r.ID),
		RoleName:                 ptr(r.Name),
	}
	if full {
		out.Tags = tagsOut(r.Tags)
		out.PermissionsBoundary = boundaryOut(r.Boundary)
		// IAM always sends RoleLastUsed, empty until the role is used.
		out.RoleLastUsed = &api.RoleLastUsed{}
	}
	return out
}

// checkTrustPolicy applies the grammar checks and the ACLSizePerRole quota
// to a role's trust policy.
func checkTrustPolicy(doc string) error {
	if err := checkPolicyDocument(doc); err != nil {
		return err
	}
	if policySize(doc) > maxTrustPolicySize {
		return quotaExceeded("ACLSizePerRole", maxTrustPolicySize)
	}
	return nil
}

// unmodifiable is IAM's answer to changing a service-linked role.
func unmodifiable(r *roleRecord) error {
	if !strings.HasPrefix(r.Path, serviceRolePath) {
		return nil
	}
	return awserr.New(http.StatusBadRequest, "UnmodifiableEntity",
		"Cannot perform the operation on the protected role '%s' - this role is only modifiable by AWS", r.Name)
}

// createRole stores a new role, failing if the name is taken.
func (s *Service) createRole(sc scope, r *roleRecord, boundary string) error {
	return s.st.Update(func(tx store.Tx) error {
		if boundary != "" {
			p, err := boundaryPolicy(tx, sc, boundary)
			if err != nil {
				return err
			}
			r.Boundary = p.arn
		}
		var existing roleRecord
		ok, err := get(tx, bucketRoles, key(sc.account, r.Name), &existing)
		if err != nil {
			return err
		}
		if ok {
			return alreadyExists("Role with name %s already exists.", r.Name)
		}
		return tx.Put(bucketRoles, key(sc.account, r.Name), r)
	})
}

// CreateRole creates a role with its trust policy.
func (s *Service) CreateRole(ctx context.Context, in *api.CreateRoleInput) (*api.CreateRoleOutput, error) {
	sc := scopeOf(ctx)
	doc := str(in.AssumeRolePolicyDocument)
	if err := checkTrustPolicy(doc); err != nil {
		return nil, err
	}
	ts, err := applyTags(nil, tagsIn(in.Tags))
	if err != nil {
		return nil, err
	}
	r := &roleRecord{
		Name: str(in.RoleName), ID: awsid.IAM("AROA"), Path: pathOr(in.Path),
		AssumeRolePolicy: doc, Description: str(in.Description),
		MaxSessionDuration: defaultMaxSessionDuration, Created: s.now(), Tags: ts,
	}
	if in.MaxSessionDuration != nil {
		r.MaxSessionDuration = *in.MaxSessionDuration
	}
	if err := s.createRole(sc, r, str(in.PermissionsBoundary)); err != nil {
		return nil, err
	}
	out := roleOut(sc, r, true)
	out.RoleLastUsed = nil // CreateRole's answer has none
	return &api.CreateRoleOutput{Role: &out}, nil
}

// loadRole reads a role or fails with NoSuchEntity.
func (s *Service) loadRole(sc scope, name string) (*roleRecord, error) {
	var r *roleRecord
	err := s.st.View(func(tx store.Tx) error {
		var err error
		r, err = loadPrincipal[roleRecord](tx, roleKind, sc.account, name)
		return err
	})
	return r, err
}

// GetRole describes a role, its trust policy URL-encoded.
func (s *Service) GetRole(ctx context.Context, in *api.GetRoleInput) (*api.GetRoleOutput, error) {
	sc := scopeOf(ctx)
	r, err := s.loadRole(sc, str(in.RoleName))
	if err != nil {
		return nil, err
	}
	out := roleOut(sc, r, true)
	return &api.GetRoleOutput{Role: &out}, nil
}

// DeleteRole deletes a role. IAM refuses while the role is in an instance
// profile or has managed or inline policies: the caller removes those
// first, as the DeleteRole documentation lists.
func (s *Service) DeleteRole(ctx context.Context, in *api.DeleteRoleInput) (*api.DeleteRoleOutput, error) {
	sc := scopeOf(ctx)
	err := s.st.Update(func(tx store.Tx) error {
		r, err := loadPrincipal[roleRecord](tx, roleKind, sc.account, str(in.RoleName))
		if err != nil {
			return err
		}
		if err := unmodifiable(r); err != nil {
			return err
		}
		profiles, err := profilesWithRole(tx, sc.account, r.Name)
		if err != nil {
			return err
		}
		if len(profiles) > 0 {
			return deleteConflict("Cannot delete entity, must remove roles from instance profile first.")
		}
		if err := checkNoGrants(&r.grants); err != nil {
			return err
		}
		return tx.Delete(bucketRoles, key(sc.account, r.Name))
	})
	if err != nil {
		return nil, err
	}
	return &api.DeleteRoleOutput{}, nil
}

// ListRoles lists the roles whose path starts with PathPrefix, in
// alphabetical order.
func (s *Service) ListRoles(ctx context.Context, in *api.ListRolesInput) (*api.ListRolesOutput, error) {
	sc := scopeOf(ctx)
	var roles []roleRecord
	err := s.st.View(func(tx store.Tx) error {
		var err error
		roles, err = all[roleRecord](tx, bucketRoles, sc.account)
		return err
	})
	if err != nil {
		return nil, err
	}
	prefix := pathOr(in.PathPrefix)
	var matched []roleRecord
	for _, r := range roles {
		if strings.HasPrefix(r.Path, prefix) {
			matched = append(matched, r)
		}
	}
	pg, truncated, next, err := paginate(matched, func(r roleRecord) string { return strings.ToLower(r.Name) }, in.Marker, in.MaxItems)
	if err != nil {
		return nil, err
	}
	out := &api.ListRolesOutput{Roles: []api.Role{}, IsTruncated: truncated, Marker: next}
	for _, r := range pg {
		out.Roles = append(out.Roles, roleOut(sc, &r, false))
	}
	return out, nil
}

// updateRole applies fn to a stored role.
func (s *Service) updateRole(ctx context.Context, name string, fn func(r *roleRecord) error) (scope, *roleRecord, error) {
	var out *roleRecord
	sc := scopeOf(ctx)
	err := updatePrincipal[roleRecord](s, ctx, roleKind, name, func(_ store.Tx, _ scope, r *roleRecord) error {
		out = r
		return fn(r)
	})
	return sc, out, err
}

// UpdateRole changes a role's description and maximum session duration;
// members left out stay as they are.
func (s *Service) UpdateRole(ctx context.Context, in *api.UpdateRoleInput) (*api.UpdateRoleOutput, error) {
	_, _, err := s.updateRole(ctx, str(in.RoleName), func(r *roleRecord) error {
		if in.Description != nil {
			r.Description = *in.Description
		}
		if in.MaxSessionDuration != nil {
			r.MaxSessionDuration = *in.MaxSessionDuration
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &api.UpdateRoleOutput{}, nil
}

// UpdateRoleDescription changes a role's description and returns the role.
func (s *Service) UpdateRoleDescription(ctx context.Context, in *api.UpdateRoleDescriptionInput) (*api.UpdateRoleDescriptionOutput, error) {
	sc, r, err := s.updateRole(ctx, str(in.RoleName), func(r *roleRecord) error {
		r.Description = str(in.Description)
		return nil
	})
	if err != nil {
		return nil, err
	}
	out := roleOut(sc, r, true)
	return &api.UpdateRoleDescriptionOutput{Role: &out}, nil
}

// UpdateAssumeRolePolicy replaces a role's trust policy.
func (s *Service) UpdateAssumeRolePolicy(ctx context.Context, in *api.UpdateAssumeRolePolicyInput) (*api.UpdateAssumeRolePolicyOutput, error) {
	doc := str(in.PolicyDocument)
	if err := checkTrustPolicy(doc); err != nil {
		return nil, err
	}
	_, _, err := s.updateRole(ctx, str(in.RoleName), func(r *roleRecord) error {
		if err := unmodifiable(r); err != nil {
			return err
		}
		r.AssumeRolePolicy = doc
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &api.UpdateAssumeRolePolicyOutput{}, nil
}

// TagRole adds or replaces tags of a role.
func (s *Service) TagRole(ctx context.Context, in *api.TagRoleInput) (*api.TagRoleOutput, error) {
	_, _, err := s.updateRole(ctx, str(in.RoleName), func(r *roleRecord) error {
		var err error
		r.Tags, err = applyTags(r.Tags, tagsIn(in.Tags))
		return err
	})
	if err != nil {
		return nil, err
	}
	return &api.TagRoleOutput{}, nil
}

// UntagRole removes tags from a role.
func (s *Service) UntagRole(ctx context.Context, in *api.UntagRoleInput) (*api.UntagRoleOutput, error) {
	_, _, err := s.updateRole(ctx, str(in.RoleName), func(r *roleRecord) error {
		r.Tags = removeTags(r.Tags, in.TagKeys)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &api.UntagRoleOutput{}, nil
}

// ListRoleTags lists a role's tags.
func (s *Service) ListRoleTags(ctx context.Context, in *api.ListRoleTagsInput) (*api.ListRoleTagsOutput, error) {
	r, err := s.loadRole(scopeOf(ctx), str(in.RoleName))
	if err != nil {
		return nil, err
	}
	ts, truncated, next, err := pageTags(r.Tags, in.Marker, in.MaxItems)
	if err != nil {
		return nil, err
	}
	return &api.ListRoleTagsOutput{Tags: ts, IsTruncated: truncated, Marker: next}, nil
}

// PutRolePolicy adds or replaces an inline policy of a role.
func (s *Service) PutRolePolicy(ctx context.Context, in *api.PutRolePolicyInput) (*api.PutRolePolicyOutput, error) {
	if err := putInline[roleRecord](s, ctx, roleKind, str(in.RoleName), str(in.PolicyName), str(in.PolicyDocument)); err != nil {
		return nil, err
	}
	return &api.PutRolePolicyOutput{}, nil
}

// GetRolePolicy returns an inline policy of a role, its document
// URL-encoded.
func (s *Service) GetRolePolicy(ctx context.Context, in *api.GetRolePolicyInput) (*api.GetRolePolicyOutput, error) {
	owner, p, err := getInline[roleRecord](s, ctx, roleKind, str(in.RoleName), str(in.PolicyName))
	if err != nil {
		return nil, err
	}
	return &api.GetRolePolicyOutput{RoleName: ptr(owner), PolicyName: ptr(p.Name), PolicyDocument: ptr(encodeDocument(p.Document))}, nil
}

// DeleteRolePolicy deletes an inline policy of a role.
func (s *Service) DeleteRolePolicy(ctx context.Context, in *api.DeleteRolePolicyInput) (*api.DeleteRolePolicyOutput, error) {
	if err := deleteInline[roleRecord](s, ctx, roleKind, str(in.RoleName), str(in.PolicyName)); err != nil {
		return nil, err
	}
	return &api.DeleteRolePolicyOutput{}, nil
}

// ListRolePolicies lists the names of a role's inline policies.
func (s *Service) ListRolePolicies(ctx context.Context, in *api.ListRolePoliciesInput) (*api.ListRolePoliciesOutput, error) {
	names, truncated, next, err := listInline[roleRecord](s, ctx, roleKind, str(in.RoleName), in.Marker, in.MaxItems)
	if err != nil {
		return nil, err
	}
	return &api.ListRolePoliciesOutput{PolicyNames: names, IsTruncated: truncated, Marker: next}, nil
}

// AttachRolePolicy attaches a customer or AWS managed policy to a role.
func (s *Service) AttachRolePolicy(ctx context.Context, in *api.AttachRolePolicyInput) (*api.AttachRolePolicyOutput, error) {
	if err := attachPolicy[roleRecord](s, ctx, roleKind, str(in.RoleName), str(in.PolicyArn)); err != nil {
		return nil, err
	}
	return &api.AttachRolePolicyOutput{}, nil
}

// DetachRolePolicy detaches a managed policy from a role.
func (s *Service) DetachRolePolicy(ctx context.Context, in *api.DetachRolePolicyInput) (*api.DetachRolePolicyOutput, error) {
	if err := detachPolicy[roleRecord](s, ctx, roleKind, str(in.RoleName), str(in.PolicyArn)); err != nil {
		return nil, err
	}
	return &api.DetachRolePolicyOutput{}, nil
}

// ListAttachedRolePolicies lists the managed policies attached to a role.
func (s *Service) ListAttachedRolePolicies(ctx context.Context, in *api.ListAttachedRolePoliciesInput) (*api.ListAttachedRolePoliciesOutput, error) {
	ps, truncated, next, err := listAttached[roleRecord](s, ctx, roleKind, str(in.RoleName), str(in.PathPrefix), in.Marker, in.MaxItems)
	if err != nil {
		return nil, err
	}
	return &api.ListAttachedRolePoliciesOutput{AttachedPolicies: ps, IsTruncated: truncated, Marker: next}, nil
}

// PutRolePermissionsBoundary sets the managed policy that bounds a role's
// permissions.
func (s *Service) PutRolePermissionsBoundary(ctx context.Context, in *api.PutRolePermissionsBoundaryInput) (*api.PutRolePermissionsBoundaryOutput, error) {
	if err := setBoundary[roleRecord](s, ctx, roleKind, str(in.RoleName), str(in.PermissionsBoundary)); err != nil {
		return nil, err
	}
	return &api.PutRolePermissionsBoundaryOutput{}, nil
}

// DeleteRolePermissionsBoundary removes a role's permissions boundary.
func (s *Service) DeleteRolePermissionsBoundary(ctx context.Context, in *api.DeleteRolePermissionsBoundaryInput) (*api.DeleteRolePermissionsBoundaryOutput, error) {
	if err := setBoundary[roleRecord](s, ctx, roleKind, str(in.RoleName), ""); err != nil {
		return nil, err
	}
	return &api.DeleteRolePermissionsBoundaryOutput{}, nil
}

// serviceLinkedRoleNames are the names AWS gives the service-linked roles
// of common services; others get "AWSServiceRoleFor" and the service's
// first label, capitalised.
var serviceLinkedRoleNames = map[string]string{
	"autoscaling.amazonaws.com":          "AWSServiceRoleForAutoScaling",
	"elasticloadbalancing.amazonaws.com": "AWSServiceRoleForElasticLoadBalancing",
	"spot.amazonaws.com":                 "AWSServiceRoleForEC2Spot",
	"spotfleet.amazonaws.com":            "AWSServiceRoleForEC2SpotFleet",
	"ecs.amazonaws.com":                  "AWSServiceRoleForECS",
	"eks.amazonaws.com":                  "AWSServiceRoleForAmazonEKS",
	"eks-nodegroup.amazonaws.com":        "AWSServiceRoleForAmazonEKSNodegroup",
	"rds.amazonaws.com":                  "AWSServiceRoleForRDS",
	"ssm.amazonaws.com":                  "AWSServiceRoleForAmazonSSM",
	"events.amazonaws.com":               "AWSServiceRoleForCloudWatchEvents",
	"elasticache.amazonaws.com":          "AWSServiceRoleForElastiCache",
	"organizations.amazonaws.com":        "AWSServiceRoleForOrganizations",
	"lambda.amazonaws.com":               "AWSServiceRoleForLambda",
}

// serviceLinkedRoleName is the role name for a service principal.
func serviceLinkedRoleName(service string) string {
	if n, ok := serviceLinkedRoleNames[service]; ok {
		return n
	}
	first, _, _ := strings.Cut(service, ".")
	if first == "" {
		return "AWSServiceRoleFor"
	}
	return "AWSServiceRoleFor" + strings.ToUpper(first[:1]) + first[1:]
}

// CreateServiceLinkedRole creates the role a service uses to act for the
// account, under /aws-service-role/SERVICE/, trusted by that service.
func (s *Service) CreateServiceLinkedRole(ctx context.Context, in *api.CreateServiceLinkedRoleInput) (*api.CreateServiceLinkedRoleOutput, error) {
	sc := scopeOf(ctx)
	svc := str(in.AWSServiceName)
	name := serviceLinkedRoleName(svc)
	if suffix := str(in.CustomSuffix); suffix != "" {
		name += "_" + suffix
	}
	r := &roleRecord{
		Name: name, ID: awsid.IAM("AROA"), Path: serviceRolePath + svc + "/",
		AssumeRolePolicy:   `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":["` + svc + `"]},"Action":["sts:AssumeRole"]}]}`,
		Description:        str(in.Description),
		MaxSessionDuration: defaultMaxSessionDuration, Created: s.now(),
	}
	if err := s.createRole(sc, r, ""); err != nil {
		if e, ok := err.(*awserr.Error); ok && e.Code == "EntityAlreadyExists" {
			return nil, invalidInput("Service role name %s has been taken in this account, please try a different suffix.", name)
		}
		return nil, err
	}
	out := roleOut(sc, r, false)
	return &api.CreateServiceLinkedRoleOutput{Role: &out}, nil
}

// deletionTask records a service-linked role deletion, so its status can be
// asked for. Deletion is immediate here, so every task has succeeded.
type deletionTask struct {
	ID string `json:"id"`
}

// DeleteServiceLinkedRole deletes a service-linked role. IAM does this
// asynchronously and returns a task to poll; here the task is already done.
func (s *Service) DeleteServiceLinkedRole(ctx context.Context, in *api.DeleteServiceLinkedRoleInput) (*api.DeleteServiceLinkedRoleOutput, error) {
	sc := scopeOf(ctx)
	var taskID string
	err := s.st.Update(func(tx store.Tx) error {
		r, err := loadPrincipal[roleRecord](tx, roleKind, sc.account, str(in.RoleName))
		if err != nil {
			return err
		}
		if !strings.HasPrefix(r.Path, serviceRolePath) {
			return invalidInput("Role %s is not a service-linked role.", r.Name)
		}
		taskID = "task" + r.Path + r.Name + "/" + awsid.RequestID()
		if err := tx.Put(bucketDeletionTasks, accountPrefix(sc.account)+taskID, deletionTask{ID: taskID}); err != nil {
			return err
		}
		return tx.Delete(bucketRoles, key(sc.account, r.Name))
	})
	if err != nil {
		return nil, err
	}
	return &api.DeleteServiceLinkedRoleOutput{DeletionTaskId: ptr(taskID)}, nil
}

// GetServiceLinkedRoleDeletionStatus reports a deletion task, always
// SUCCEEDED since deletion is immediate.
func (s *Service) GetServiceLinkedRoleDeletionStatus(ctx context.Context, in *api.GetServiceLinkedRoleDeletionStatusInput) (*api.GetServiceLinkedRoleDeletionStatusOutput, error) {
	sc := scopeOf(ctx)
	id := str(in.DeletionTaskId)
	err := s.st.View(func(tx store.Tx) error {
		var t deletionTask
		ok, err := get(tx, bucketDeletionTasks, accountPrefix(sc.account)+id, &t)
		if err == nil && !ok {
			err = noSuchEntity("Deletion task %s cannot be found.", id)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return &api.GetServiceLinkedRoleDeletionStatusOutput{Status: ptr("SUCCEEDED")}, nil
}
