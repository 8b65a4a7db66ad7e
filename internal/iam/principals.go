package iam

import (
	"context"
	"slices"
	"strings"

	api "github.com/nephele-dev/nephele/internal/api/iam"
	"github.com/nephele-dev/nephele/internal/store"
)

// principal describes one kind of IAM identity that policies are granted
// to: roles, users and groups follow the same rules for inline policies,
// managed policy attachments and permissions boundaries, with their own
// quotas and words in messages.
type principal struct {
	bucket string
	noun   string // "role", "user" or "group", as IAM's messages name it
	// attachQuota names the quota on attached managed policies.
	attachQuota string
	// inlineLimit is the quota on the total size of the inline policies
	// (RolePolicySize, UserPolicySize, GroupPolicySize).
	inlineLimit int
}

// The three kinds of principal, with IAM's default quotas.
var (
	roleKind  = principal{bucket: bucketRoles, noun: "role", attachQuota: "PoliciesPerRole", inlineLimit: 10240}
	userKind  = principal{bucket: bucketUsers, noun: "user", attachQuota: "PoliciesPerUser", inlineLimit: 2048}
	groupKind = principal{bucket: bucketGroups, noun: "group", attachQuota: "PoliciesPerGroup", inlineLimit: 5120}
)

// maxAttachedPolicies is the default quota on managed policies attached to
// one role, user or group.
const maxAttachedPolicies = 10

// notFound is NoSuchEntity in the words GetRole, GetUser and GetGroup use.
func (k principal) notFound(name string) error {
	return noSuchEntity("The %s with name %s cannot be found.", k.noun, name)
}

// grantee is a stored role, user or group.
type grantee interface {
	grantsOf() *grants
	displayName() string
}

func (r *roleRecord) grantsOf() *grants    { return &r.grants }
func (r *roleRecord) displayName() string  { return r.Name }
func (u *userRecord) grantsOf() *grants    { return &u.grants }
func (u *userRecord) displayName() string  { return u.Name }
func (g *groupRecord) grantsOf() *grants   { return &g.grants }
func (g *groupRecord) displayName() string { return g.Name }

// loadPrincipal reads the named principal of account, or fails with
// NoSuchEntity.
func loadPrincipal[T any, P interface {
	*T
	grantee
}](tx store.Tx, k principal, account, name string) (P, error) {
	var rec T
	ok, err := get(tx, k.bucket, key(account, name), &rec)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, k.notFound(name)
	}
	return &rec, nil
}

// updatePrincipal loads the named principal, lets fn change its grants and
// stores it, all in one transaction.
func updatePrincipal[T any, P interface {
	*T
	grantee
}](s *Service, ctx context.Context, k principal, name string, fn func(tx store.Tx, sc scope, rec P) error) error {
	sc := scopeOf(ctx)
	return s.st.Update(func(tx store.Tx) error {
		rec, err := loadPrincipal[T, P](tx, k, sc.account, name)
		if err != nil {
			return err
		}
		if err := fn(tx, sc, rec); err != nil {
			return err
		}
		return tx.Put(k.bucket, key(sc.account, name), rec)
	})
}

// putInline adds or replaces an inline policy (PutRolePolicy and kin).
func putInline[T any, P interface {
	*T
	grantee
}](s *Service, ctx context.Context, k principal, name, policyName, doc string) error {
	if err := checkIdentityPolicy(doc); err != nil {
		return err
	}
	return updatePrincipal[T, P](s, ctx, k, name, func(_ store.Tx, _ scope, rec P) error {
		g := rec.grantsOf()
		inline := slices.Clone(g.Inline)
		if i := slices.IndexFunc(inline, func(p inlinePolicy) bool { return strings.EqualFold(p.Name, policyName) }); i >= 0 {
			inline[i].Document = doc
		} else {
			inline = append(inline, inlinePolicy{Name: policyName, Document: doc})
		}
		size := 0
		for _, p := range inline {
			size += policySize(p.Document)
		}
		if size > k.inlineLimit {
			return limitExceeded("Maximum policy size of %d bytes exceeded for %s %s", k.inlineLimit, k.noun, rec.displayName())
		}
		g.Inline = inline
		return nil
	})
}

// getInline returns the principal's display name and the named inline
// policy (GetRolePolicy and kin).
func getInline[T any, P interface {
	*T
	grantee
}](s *Service, ctx context.Context, k principal, name, policyName string) (owner string, p inlinePolicy, err error) {
	sc := scopeOf(ctx)
	err = s.st.View(func(tx store.Tx) error {
		rec, err := loadPrincipal[T, P](tx, k, sc.account, name)
		if err != nil {
			return err
		}
		owner = rec.displayName()
		i := slices.IndexFunc(rec.grantsOf().Inline, func(p inlinePolicy) bool { return strings.EqualFold(p.Name, policyName) })
		if i < 0 {
			return noSuchEntity("The %s policy with name %s cannot be found.", k.noun, policyName)
		}
		p = rec.grantsOf().Inline[i]
		return nil
	})
	return owner, p, err
}

// deleteInline removes an inline policy (DeleteRolePolicy and kin).
func deleteInline[T any, P interface {
	*T
	grantee
}](s *Service, ctx context.Context, k principal, name, policyName string) error {
	return updatePrincipal[T, P](s, ctx, k, name, func(_ store.Tx, _ scope, rec P) error {
		g := rec.grantsOf()
		i := slices.IndexFunc(g.Inline, func(p inlinePolicy) bool { return strings.EqualFold(p.Name, policyName) })
		if i < 0 {
			return noSuchEntity("The %s policy with name %s cannot be found.", k.noun, policyName)
		}
		g.Inline = slices.Delete(slices.Clone(g.Inline), i, i+1)
		return nil
	})
}

// listInline pages the names of the principal's inline policies, in
// alphabetical order (ListRolePolicies and kin).
func listInline[T any, P interface {
	*T
	grantee
}](s *Service, ctx context.Context, k principal, name string, marker *string, maxItems *int32) (names []string, truncated *bool, next *string, err error) {
	sc := scopeOf(ctx)
	var inline []inlinePolicy
	err = s.st.View(func(tx store.Tx) error {
		rec, err := loadPrincipal[T, P](tx, k, sc.account, name)
		if err != nil {
			return err
		}
		inline = rec.grantsOf().Inline
		return nil
	})
	if err != nil {
		return nil, nil, nil, err
	}
	pg, truncated, next, err := paginate(inline, func(p inlinePolicy) string { return strings.ToLower(p.Name) }, marker, maxItems)
	if err != nil {
		return nil, nil, nil, err
	}
	names = []string{}
	for _, p := range pg {
		names = append(names, p.Name)
	}
	return names, truncated, next, nil
}

// attachPolicy attaches a managed policy (AttachRolePolicy and kin).
// Attaching a policy already attached changes nothing, as in IAM.
func attachPolicy[T any, P interface {
	*T
	grantee
}](s *Service, ctx context.Context, k principal, name, policyARN string) error {
	return updatePrincipal[T, P](s, ctx, k, name, func(tx store.Tx, sc scope, rec P) error {
		pol, err := attachable(tx, sc, policyARN)
		if err != nil {
			return err
		}
		g := rec.grantsOf()
		if slices.Contains(g.Attached, pol.arn) {
			return nil
		}
		if len(g.Attached) >= maxAttachedPolicies {
			return quotaExceeded(k.attachQuota, maxAttachedPolicies)
		}
		g.Attached = append(slices.Clone(g.Attached), pol.arn)
		return nil
	})
}

// detachPolicy detaches a managed policy (DetachRolePolicy and kin).
func detachPolicy[T any, P interface {
	*T
	grantee
}](s *Service, ctx context.Context, k principal, name, policyARN string) error {
	return updatePrincipal[T, P](s, ctx, k, name, func(_ store.Tx, _ scope, rec P) error {
		g := rec.grantsOf()
		i := slices.IndexFunc(g.Attached, func(a string) bool { return strings.EqualFold(a, policyARN) })
		if i < 0 {
			return noSuchEntity("Policy %s was not found.", policyARN)
		}
		g.Attached = slices.Delete(slices.Clone(g.Attached), i, i+1)
		return nil
	})
}

// listAttached pages the managed policies attached to the principal whose
// path starts with pathPrefix (ListAttachedRolePolicies and kin).
func listAttached[T any, P interface {
	*T
	grantee
}](s *Service, ctx context.Context, k principal, name, pathPrefix string, marker *string, maxItems *int32) ([]api.AttachedPolicy, *bool, *string, error) {
	sc := scopeOf(ctx)
	var attached []string
	err := s.st.View(func(tx store.Tx) error {
		rec, err := loadPrincipal[T, P](tx, k, sc.account, name)
		if err != nil {
			return err
		}
		attached = rec.grantsOf().Attached
		return nil
	})
	if err != nil {
		return nil, nil, nil, err
	}
	if pathPrefix == "" {
		pathPrefix = "/"
	}
	var refs []policyRef
	for _, a := range attached {
		ref, err := parsePolicyARN(a)
		if err == nil && strings.HasPrefix(ref.path, pathPrefix) {
			refs = append(refs, ref)
		}
	}
	pg, truncated, next, err := paginate(refs, func(r policyRef) string { return strings.ToLower(r.name) + " " + r.arn }, marker, maxItems)
	if err != nil {
		return nil, nil, nil, err
	}
	out := []api.AttachedPolicy{}
	for _, r := range pg {
		out = append(out, api.AttachedPolicy{PolicyArn: ptr(r.arn), PolicyName: ptr(r.name)})
	}
	return out, truncated, next, nil
}

// setBoundary sets or, with policyARN "", clears the principal's
// permissions boundary (PutRolePermissionsBoundary and kin). The boundary
// must be a managed policy that exists.
func setBoundary[T any, P interface {
	*T
	grantee
}](s *Service, ctx context.Context, k principal, name, policyARN string) error {
	return updatePrincipal[T, P](s, ctx, k, name, func(tx store.Tx, sc scope, rec P) error {
		if policyARN == "" {
			rec.grantsOf().Boundary = ""
			return nil
		}
		pol, err := boundaryPolicy(tx, sc, policyARN)
		if err != nil {
			return err
		}
		rec.grantsOf().Boundary = pol.arn
		return nil
	})
}

// boundaryOut is the PermissionsBoundary member of a role or user.
func boundaryOut(policyARN string) *api.AttachedPermissionsBoundary {
	if policyARN == "" {
		return nil
	}
	return &api.AttachedPermissionsBoundary{PermissionsBoundaryArn: ptr(policyARN), PermissionsBoundaryType: ptr("Policy")}
}

// checkNoGrants is the DeleteConflict IAM answers when a role, user or
// group still has managed policies attached or inline policies: it never
// deletes them along with their owner.
func checkNoGrants(g *grants) error {
	if len(g.Attached) > 0 {
		return deleteConflict("Cannot delete entity, must detach all policies first.")
	}
	if len(g.Inline) > 0 {
		return deleteConflict("Cannot delete entity, must delete policies first.")
	}
	return nil
}
