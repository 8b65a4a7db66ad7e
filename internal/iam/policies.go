package iam

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	api "github.com/nephele-dev/nephele/internal/api/iam"
	"github.com/nephele-dev/nephele/internal/arn"
	"github.com/nephele-dev/nephele/internal/awsid"
	"github.com/nephele-dev/nephele/internal/store"
)

// maxPolicyVersions is how many versions a managed policy may keep.
const maxPolicyVersions = 5

// policyRef is a parsed policy ARN, arn:PARTITION:iam::ACCOUNT:policy/PATH/NAME.
type policyRef struct {
	arn       string
	partition string
	account   string // "aws" for AWS managed policies
	path      string
	name      string
}

// parsePolicyARN splits a policy ARN, or fails with IAM's InvalidInput.
func parsePolicyARN(s string) (policyRef, error) {
	a, err := arn.Parse(s)
	if err != nil || a.Service != "iam" || a.AccountID == "" || !strings.HasPrefix(a.Resource, "policy/") {
		return policyRef{}, invalidInput("ARN %s is not valid.", s)
	}
	rest := strings.TrimPrefix(a.Resource, "policy")
	i := strings.LastIndex(rest, "/")
	ref := policyRef{arn: s, partition: a.Partition, account: a.AccountID, path: rest[:i+1], name: rest[i+1:]}
	if ref.name == "" {
		return policyRef{}, invalidInput("ARN %s is not valid.", s)
	}
	return ref, nil
}

// managedPolicy is a policy found by ARN, with its canonical ARN.
type managedPolicy struct {
	rec        *policyRecord
	arn        string
	owner      string // account ID, or "aws"
	awsManaged bool
}

// findPolicy looks a policy ARN up: AWS managed policies in the catalogue,
// customer managed ones in the caller's account. IAM has no cross-account
// access to managed policies (a role can be attached only to policies of
// its own account or AWS's), so a policy of another account is not found.
// The path in the ARN must be the policy's, as IAM resolves ARNs exactly.
func findPolicy(tx store.Tx, sc scope, policyARN string) (managedPolicy, bool, error) {
	ref, err := parsePolicyARN(policyARN)
	if err != nil {
		return managedPolicy{}, false, err
	}
	var rec *policyRecord
	switch ref.account {
	case sc.account:
		rec = new(policyRecord)
		ok, err := get(tx, bucketPolicies, key(ref.account, ref.name), rec)
		if err != nil || !ok {
			return managedPolicy{}, false, err
		}
	case awsAccount:
		m, ok := managedPolicies()[strings.ToLower(ref.name)]
		if !ok {
			return managedPolicy{}, false, nil
		}
		c := *m
		rec = &c
	default:
		return managedPolicy{}, false, nil
	}
	if rec.Path != ref.path {
		return managedPolicy{}, false, nil
	}
	return managedPolicy{
		rec:        rec,
		arn:        policyARNOf(ref.partition, ref.account, rec),
		owner:      ref.account,
		awsManaged: ref.account == awsAccount,
	}, true, nil
}

// policyARNOf is the ARN of a policy owned by account ("aws" for AWS
// managed ones).
func policyARNOf(partition, account string, rec *policyRecord) string {
	return arn.ARN{Partition: partition, Service: "iam", AccountID: account, Resource: "policy" + rec.Path + rec.Name}.String()
}

// mustFindPolicy is findPolicy with IAM's NoSuchEntity for a policy that
// does not exist.
func mustFindPolicy(tx store.Tx, sc scope, policyARN string) (managedPolicy, error) {
	p, ok, err := findPolicy(tx, sc, policyARN)
	if err == nil && !ok {
		err = noSuchEntity("Policy %s was not found.", policyARN)
	}
	return p, err
}

// attachable finds a policy to attach, with the message IAM gives when
// there is none.
func attachable(tx store.Tx, sc scope, policyARN string) (managedPolicy, error) {
	p, ok, err := findPolicy(tx, sc, policyARN)
	if err == nil && !ok {
		err = noSuchEntity("Policy %s does not exist or is not attachable.", policyARN)
	}
	return p, err
}

// boundaryPolicy finds a policy to use as a permissions boundary.
func boundaryPolicy(tx store.Tx, sc scope, policyARN string) (managedPolicy, error) {
	p, ok, err := findPolicy(tx, sc, policyARN)
	if err == nil && !ok {
		err = noSuchEntity("Scope ARN: %s does not exist or is not attachable.", policyARN)
	}
	return p, err
}

// customerPolicy finds a policy the caller may change: AWS managed policies
// belong to AWS, and IAM denies changing them.
func customerPolicy(tx store.Tx, sc scope, action, policyARN string) (managedPolicy, error) {
	p, err := mustFindPolicy(tx, sc, policyARN)
	if err != nil {
		return p, err
	}
	if p.awsManaged {
		return p, accessDenied("User: %s is not authorized to perform: iam:%s on resource: policy %s", callerARN(tx, sc), action, p.arn)
	}
	return p, nil
}

// taggablePolicy finds a policy to tag or untag. AWS managed policies
// carry no tags, and IAM refuses to change them with InvalidInput rather
// than AccessDenied.
func taggablePolicy(tx store.Tx, sc scope, policyARN string) (managedPolicy, error) {
	p, err := mustFindPolicy(tx, sc, policyARN)
	if err == nil && p.awsManaged {
		err = invalidInput("Tags not supported for policies in this domain")
	}
	return p, err
}

// savePolicy stores a customer managed policy.
func savePolicy(tx store.Tx, p managedPolicy) error {
	return tx.Put(bucketPolicies, key(p.owner, p.rec.Name), p.rec)
}

// usage counts, per policy ARN, the roles, users and groups a policy is
// attached to and those it bounds. IAM reports both counts with every
// policy; they are derived from the principals rather than stored, so they
// cannot drift from the attachments.
type usage struct {
	attachments map[string]int
	boundaries  map[string]int
}

// principalSummary is the part of any role, user or group record that
// policy listings need.
type principalSummary struct {
	Name string `json:"name"`
	ID   string `json:"id"`
	Path string `json:"path"`
	grants
}

// principalsOf reads every role, user and group of account, by kind.
func principalsOf(tx store.Tx, account string) (map[principal][]principalSummary, error) {
	out := map[principal][]principalSummary{}
	for _, k := range []principal{roleKind, userKind, groupKind} {
		ps, err := all[principalSummary](tx, k.bucket, account)
		if err != nil {
			return nil, err
		}
		out[k] = ps
	}
	return out, nil
}

// usageOf counts the policy attachments and boundaries of account.
func usageOf(tx store.Tx, account string) (usage, error) {
	u := usage{attachments: map[string]int{}, boundaries: map[string]int{}}
	byKind, err := principalsOf(tx, account)
	if err != nil {
		return u, err
	}
	for _, ps := range byKind {
		for _, p := range ps {
			for _, a := range p.Attached {
				u.attachments[a]++
			}
			if p.Boundary != "" {
				u.boundaries[p.Boundary]++
			}
		}
	}
	return u, nil
}

// updateDate is a policy's UpdateDate: "When a policy has more than one
// version, this field contains the date and time when the most recent
// policy version was created", else its creation.
func updateDate(rec *policyRecord) time.Time {
	if !rec.Updated.IsZero() {
		return rec.Updated
	}
	latest := rec.Created
	for _, v := range rec.Versions {
		if v.Created.After(latest) {
			latest = v.Created
		}
	}
	return latest
}

// policyOut renders a policy. ListPolicies leaves out Description and Tags
// ("IAM resource-listing operations return a subset of the available
// attributes"); GetPolicy and CreatePolicy give them.
func policyOut(p managedPolicy, u usage, full bool) api.Policy {
	out := api.Policy{
		Arn:                           ptr(p.arn),
		AttachmentCount:               ptr(int32(u.attachments[p.arn])),
		CreateDate:                    ptr(p.rec.Created),
		DefaultVersionId:              ptr(p.rec.DefaultVersion),
		IsAttachable:                  ptr(true),
		Path:                          ptr(p.rec.Path),
		PermissionsBoundaryUsageCount: ptr(int32(u.boundaries[p.arn])),
		PolicyId:                      ptr(p.rec.ID),
		PolicyName:                    ptr(p.rec.Name),
		UpdateDate:                    ptr(updateDate(p.rec)),
	}
	if full {
		out.Description = optional(p.rec.Description)
		out.Tags = tagsOut(p.rec.Tags)
	}
	return out
}

// CreatePolicy creates a customer managed policy with its document as
// version v1, the default.
func (s *Service) CreatePolicy(ctx context.Context, in *api.CreatePolicyInput) (*api.CreatePolicyOutput, error) {
	sc := scopeOf(ctx)
	name, path, doc := str(in.PolicyName), pathOr(in.Path), str(in.PolicyDocument)
	if err := checkManagedPolicyDocument(doc); err != nil {
		return nil, err
	}
	if policySize(doc) > maxManagedPolicySize {
		return nil, quotaExceeded("PolicySize", maxManagedPolicySize)
	}
	ts, err := applyTags(nil, tagsIn(in.Tags))
	if err != nil {
		return nil, err
	}
	now := s.now()
	rec := &policyRecord{
		Name: name, ID: awsid.IAM("ANPA"), Path: path, Description: str(in.Description),
		Created: now, DefaultVersion: "v1", NextVersion: 2,
		Versions: []policyVersion{{ID: "v1", Document: doc, Created: now}},
		Tags:     ts,
	}
	p := managedPolicy{rec: rec, arn: policyARNOf(sc.partition, sc.account, rec), owner: sc.account}
	err = s.st.Update(func(tx store.Tx) error {
		var existing policyRecord
		ok, err := get(tx, bucketPolicies, key(sc.account, name), &existing)
		if err != nil {
			return err
		}
		if ok {
			return alreadyExists("A policy called %s already exists. Duplicate names are not allowed.", name)
		}
		return savePolicy(tx, p)
	})
	if err != nil {
		return nil, err
	}
	out := policyOut(p, usage{}, true)
	return &api.CreatePolicyOutput{Policy: &out}, nil
}

// GetPolicy describes a customer or AWS managed policy.
func (s *Service) GetPolicy(ctx context.Context, in *api.GetPolicyInput) (*api.GetPolicyOutput, error) {
	sc := scopeOf(ctx)
	var out api.Policy
	err := s.st.View(func(tx store.Tx) error {
		p, err := mustFindPolicy(tx, sc, str(in.PolicyArn))
		if err != nil {
			return err
		}
		u, err := usageOf(tx, sc.account)
		if err != nil {
			return err
		}
		out = policyOut(p, u, true)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &api.GetPolicyOutput{Policy: &out}, nil
}

// DeletePolicy deletes a customer managed policy. As in IAM, the policy
// must first be detached from every role, user and group (and removed as
// their permissions boundary), and every version but the default deleted.
func (s *Service) DeletePolicy(ctx context.Context, in *api.DeletePolicyInput) (*api.DeletePolicyOutput, error) {
	sc := scopeOf(ctx)
	err := s.st.Update(func(tx store.Tx) error {
		p, err := customerPolicy(tx, sc, "DeletePolicy", str(in.PolicyArn))
		if err != nil {
			return err
		}
		u, err := usageOf(tx, p.owner)
		if err != nil {
			return err
		}
		// A permissions boundary counts as an attachment here: IAM refuses
		// to delete a policy that bounds a role or user with the same
		// DeleteConflict as one attached to it.
		if u.attachments[p.arn] > 0 || u.boundaries[p.arn] > 0 {
			return deleteConflict("Cannot delete a policy attached to entities.")
		}
		if len(p.rec.Versions) > 1 {
			return deleteConflict("This policy has more than one version. Before you delete a policy, you must delete the policy's versions. The default version is deleted with the policy.")
		}
		return tx.Delete(bucketPolicies, key(p.owner, p.rec.Name))
	})
	if err != nil {
		return nil, err
	}
	return &api.DeletePolicyOutput{}, nil
}

// ListPolicies lists managed policies: Scope "All" (the default), "AWS" or
// "Local"; OnlyAttached keeps those attached to (or, with PolicyUsageFilter
// PermissionsBoundary, bounding) something in the account.
func (s *Service) ListPolicies(ctx context.Context, in *api.ListPoliciesInput) (*api.ListPoliciesOutput, error) {
	sc := scopeOf(ctx)
	scopeFilter := str(in.Scope)
	prefix := pathOr(in.PathPrefix)
	onlyAttached := in.OnlyAttached != nil && *in.OnlyAttached
	use := str(in.PolicyUsageFilter)
	var u usage
	var found []managedPolicy
	err := s.st.View(func(tx store.Tx) error {
		var err error
		if u, err = usageOf(tx, sc.account); err != nil {
			return err
		}
		if scopeFilter != "Local" {
			for _, rec := range managedPolicies() {
				found = append(found, managedPolicy{rec: rec, arn: policyARNOf(sc.partition, awsAccount, rec), owner: awsAccount, awsManaged: true})
			}
		}
		if scopeFilter != "AWS" {
			local, err := all[policyRecord](tx, bucketPolicies, sc.account)
			if err != nil {
				return err
			}
			for _, rec := range local {
				found = append(found, managedPolicy{rec: &rec, arn: policyARNOf(sc.partition, sc.account, &rec), owner: sc.account})
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	found = slices.DeleteFunc(found, func(p managedPolicy) bool {
		if !strings.HasPrefix(p.rec.Path, prefix) {
			return true
		}
		if !onlyAttached {
			return false
		}
		switch use {
		case "PermissionsPolicy":
			return u.attachments[p.arn] == 0
		case "PermissionsBoundary":
			return u.boundaries[p.arn] == 0
		}
		return u.attachments[p.arn] == 0 && u.boundaries[p.arn] == 0
	})
	pg, truncated, next, err := paginate(found, func(p managedPolicy) string { return strings.ToLower(p.rec.Name) + " " + p.arn }, in.Marker, in.MaxItems)
	if err != nil {
		return nil, err
	}
	out := &api.ListPoliciesOutput{Policies: []api.Policy{}, IsTruncated: truncated, Marker: next}
	for _, p := range pg {
		out.Policies = append(out.Policies, policyOut(p, u, false))
	}
	return out, nil
}

// versionNumber orders versions "v1", "v2", ... numerically.
func versionNumber(id string) int {
	n, _ := strconv.Atoi(strings.TrimPrefix(id, "v"))
	return n
}

// findVersion returns the index of the version, or NoSuchEntity.
func findVersion(p managedPolicy, versionID string) (int, error) {
	i := slices.IndexFunc(p.rec.Versions, func(v policyVersion) bool { return v.ID == versionID })
	if i < 0 {
		return -1, noSuchEntity("Policy %s version %s does not exist or is not attachable.", p.arn, versionID)
	}
	return i, nil
}

// versionOut renders a policy version; only GetPolicyVersion carries the
// document ("It is not returned in the response to the CreatePolicyVersion
// or ListPolicyVersions operations").
func versionOut(p managedPolicy, v policyVersion, withDocument bool) api.PolicyVersion {
	out := api.PolicyVersion{
		CreateDate:       ptr(v.Created),
		IsDefaultVersion: ptr(v.ID == p.rec.DefaultVersion),
		VersionId:        ptr(v.ID),
	}
	if withDocument {
		out.Document = ptr(encodeDocument(v.Document))
	}
	return out
}

// CreatePolicyVersion adds a version to a customer managed policy. IAM
// keeps at most five versions; the caller must delete one first.
func (s *Service) CreatePolicyVersion(ctx context.Context, in *api.CreatePolicyVersionInput) (*api.CreatePolicyVersionOutput, error) {
	sc := scopeOf(ctx)
	doc := str(in.PolicyDocument)
	if err := checkManagedPolicyDocument(doc); err != nil {
		return nil, err
	}
	if policySize(doc) > maxManagedPolicySize {
		return nil, quotaExceeded("PolicySize", maxManagedPolicySize)
	}
	var out api.PolicyVersion
	err := s.st.Update(func(tx store.Tx) error {
		p, err := customerPolicy(tx, sc, "CreatePolicyVersion", str(in.PolicyArn))
		if err != nil {
			return err
		}
		if len(p.rec.Versions) >= maxPolicyVersions {
			return limitExceeded("A managed policy can have up to %d versions. Before you create a new version, you must delete an existing version.", maxPolicyVersions)
		}
		v := policyVersion{ID: fmt.Sprintf("v%d", p.rec.NextVersion), Document: doc, Created: s.now()}
		p.rec.NextVersion++
		p.rec.Versions = append(p.rec.Versions, v)
		if in.SetAsDefault != nil && *in.SetAsDefault {
			p.rec.DefaultVersion = v.ID
		}
		out = versionOut(p, v, false)
		return savePolicy(tx, p)
	})
	if err != nil {
		return nil, err
	}
	return &api.CreatePolicyVersionOutput{PolicyVersion: &out}, nil
}

// GetPolicyVersion returns one version of a policy with its document,
// URL-encoded as IAM returns every policy document.
func (s *Service) GetPolicyVersion(ctx context.Context, in *api.GetPolicyVersionInput) (*api.GetPolicyVersionOutput, error) {
	sc := scopeOf(ctx)
	var out api.PolicyVersion
	err := s.st.View(func(tx store.Tx) error {
		p, err := mustFindPolicy(tx, sc, str(in.PolicyArn))
		if err != nil {
			return err
		}
		i, err := findVersion(p, str(in.VersionId))
		if err != nil {
			return err
		}
		out = versionOut(p, p.rec.Versions[i], true)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &api.GetPolicyVersionOutput{PolicyVersion: &out}, nil
}

// ListPolicyVersions lists a policy's versions, newest first as IAM lists
// them.
func (s *Service) ListPolicyVersions(ctx context.Context, in *api.ListPolicyVersionsInput) (*api.ListPolicyVersionsOutput, error) {
	sc := scopeOf(ctx)
	var p managedPolicy
	err := s.st.View(func(tx store.Tx) error {
		var err error
		p, err = mustFindPolicy(tx, sc, str(in.PolicyArn))
		return err
	})
	if err != nil {
		return nil, err
	}
	// Keys that sort newest first: a fixed-width count down.
	newestFirst := func(v policyVersion) string { return fmt.Sprintf("%010d", 1<<30-versionNumber(v.ID)) }
	pg, truncated, next, err := paginate(p.rec.Versions, newestFirst, in.Marker, in.MaxItems)
	if err != nil {
		return nil, err
	}
	out := &api.ListPolicyVersionsOutput{Versions: []api.PolicyVersion{}, IsTruncated: truncated, Marker: next}
	for _, v := range pg {
		out.Versions = append(out.Versions, versionOut(p, v, false))
	}
	return out, nil
}

// DeletePolicyVersion deletes a version that is not the default; the
// default goes only with the policy.
func (s *Service) DeletePolicyVersion(ctx context.Context, in *api.DeletePolicyVersionInput) (*api.DeletePolicyVersionOutput, error) {
	sc := scopeOf(ctx)
	err := s.st.Update(func(tx store.Tx) error {
		p, err := customerPolicy(tx, sc, "DeletePolicyVersion", str(in.PolicyArn))
		if err != nil {
			return err
		}
		i, err := findVersion(p, str(in.VersionId))
		if err != nil {
			return err
		}
		if p.rec.Versions[i].ID == p.rec.DefaultVersion {
			return deleteConflict("Cannot delete the default version of a policy.")
		}
		p.rec.Versions = slices.Delete(p.rec.Versions, i, i+1)
		return savePolicy(tx, p)
	})
	if err != nil {
		return nil, err
	}
	return &api.DeletePolicyVersionOutput{}, nil
}

// SetDefaultPolicyVersion makes a version the one in effect.
func (s *Service) SetDefaultPolicyVersion(ctx context.Context, in *api.SetDefaultPolicyVersionInput) (*api.SetDefaultPolicyVersionOutput, error) {
	sc := scopeOf(ctx)
	err := s.st.Update(func(tx store.Tx) error {
		p, err := customerPolicy(tx, sc, "SetDefaultPolicyVersion", str(in.PolicyArn))
		if err != nil {
			return err
		}
		i, err := findVersion(p, str(in.VersionId))
		if err != nil {
			return err
		}
		p.rec.DefaultVersion = p.rec.Versions[i].ID
		return savePolicy(tx, p)
	})
	if err != nil {
		return nil, err
	}
	return &api.SetDefaultPolicyVersionOutput{}, nil
}

// TagPolicy adds or replaces tags of a customer managed policy.
func (s *Service) TagPolicy(ctx context.Context, in *api.TagPolicyInput) (*api.TagPolicyOutput, error) {
	sc := scopeOf(ctx)
	err := s.st.Update(func(tx store.Tx) error {
		p, err := taggablePolicy(tx, sc, str(in.PolicyArn))
		if err != nil {
			return err
		}
		if p.rec.Tags, err = applyTags(p.rec.Tags, tagsIn(in.Tags)); err != nil {
			return err
		}
		return savePolicy(tx, p)
	})
	if err != nil {
		return nil, err
	}
	return &api.TagPolicyOutput{}, nil
}

// UntagPolicy removes tags from a customer managed policy.
func (s *Service) UntagPolicy(ctx context.Context, in *api.UntagPolicyInput) (*api.UntagPolicyOutput, error) {
	sc := scopeOf(ctx)
	err := s.st.Update(func(tx store.Tx) error {
		p, err := taggablePolicy(tx, sc, str(in.PolicyArn))
		if err != nil {
			return err
		}
		p.rec.Tags = removeTags(p.rec.Tags, in.TagKeys)
		return savePolicy(tx, p)
	})
	if err != nil {
		return nil, err
	}
	return &api.UntagPolicyOutput{}, nil
}

// ListPolicyTags lists a managed policy's tags; AWS managed policies have
// none.
func (s *Service) ListPolicyTags(ctx context.Context, in *api.ListPolicyTagsInput) (*api.ListPolicyTagsOutput, error) {
	sc := scopeOf(ctx)
	var p managedPolicy
	err := s.st.View(func(tx store.Tx) error {
		var err error
		p, err = mustFindPolicy(tx, sc, str(in.PolicyArn))
		return err
	})
	if err != nil {
		return nil, err
	}
	ts, truncated, next, err := pageTags(p.rec.Tags, in.Marker, in.MaxItems)
	if err != nil {
		return nil, err
	}
	return &api.ListPolicyTagsOutput{Tags: ts, IsTruncated: truncated, Marker: next}, nil
}

// ListEntitiesForPolicy lists the roles, users and groups a managed policy
// is attached to (or, with PolicyUsageFilter PermissionsBoundary, bounds),
// filtered by EntityFilter and by the entities' PathPrefix.
func (s *Service) ListEntitiesForPolicy(ctx context.Context, in *api.ListEntitiesForPolicyInput) (*api.ListEntitiesForPolicyOutput, error) {
	sc := scopeOf(ctx)
	type entity struct {
		kind principal
		principalSummary
	}
	var found []entity
	err := s.st.View(func(tx store.Tx) error {
		p, err := mustFindPolicy(tx, sc, str(in.PolicyArn))
		if err != nil {
			return err
		}
		filter := str(in.EntityFilter)
		switch filter {
		case "LocalManagedPolicy":
			if p.awsManaged {
				return nil
			}
		case "AWSManagedPolicy":
			if !p.awsManaged {
				return nil
			}
		}
		byKind, err := principalsOf(tx, sc.account)
		if err != nil {
			return err
		}
		prefix := pathOr(in.PathPrefix)
		use := str(in.PolicyUsageFilter)
		for _, k := range []principal{groupKind, roleKind, userKind} {
			if (filter == "Role" && k != roleKind) || (filter == "User" && k != userKind) || (filter == "Group" && k != groupKind) {
				continue
			}
			for _, e := range byKind[k] {
				attached := use != "PermissionsBoundary" && slices.Contains(e.Attached, p.arn)
				bounded := use != "PermissionsPolicy" && e.Boundary == p.arn
				if (attached || bounded) && strings.HasPrefix(e.Path, prefix) {
					found = append(found, entity{k, e})
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	pg, truncated, next, err := paginate(found, func(e entity) string { return e.kind.noun + "/" + strings.ToLower(e.Name) }, in.Marker, in.MaxItems)
	if err != nil {
		return nil, err
	}
	out := &api.ListEntitiesForPolicyOutput{
		PolicyGroups: []api.PolicyGroup{}, PolicyRoles: []api.PolicyRole{}, PolicyUsers: []api.PolicyUser{},
		IsTruncated: truncated, Marker: next,
	}
	for _, e := range pg {
		switch e.kind {
		case groupKind:
			out.PolicyGroups = append(out.PolicyGroups, api.PolicyGroup{GroupId: ptr(e.ID), GroupName: ptr(e.Name)})
		case roleKind:
			out.PolicyRoles = append(out.PolicyRoles, api.PolicyRole{RoleId: ptr(e.ID), RoleName: ptr(e.Name)})
		case userKind:
			out.PolicyUsers = append(out.PolicyUsers, api.PolicyUser{UserId: ptr(e.ID), UserName: ptr(e.Name)})
		}
	}
	return out, nil
}
