package iam

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"time"

	api "github.com/nephele-dev/nephele/internal/api/iam"
	"github.com/nephele-dev/nephele/internal/awserr"
	"github.com/nephele-dev/nephele/internal/awsid"
	"github.com/nephele-dev/nephele/internal/store"
)

// rootCreated is the CreateDate GetUser reports for an account's root user.
// nephele's accounts exist from the start and have no creation moment of
// their own, so a fixed date (the IAM API's version date) keeps the answer
// stable across restarts.
var rootCreated = time.Date(2010, time.May, 8, 0, 0, 0, 0, time.UTC)

// userOut renders a user. ListUsers and GetGroup leave out Tags and
// PermissionsBoundary, as IAM's listing operations do.
func userOut(sc scope, u *userRecord, full bool) api.User {
	out := api.User{
		Arn:        ptr(sc.arn("user", u.Path, u.Name)),
		CreateDate: ptr(u.Created),
		Path:       ptr(u.Path),
		UserId:     ptr(u.ID),
		UserName:   ptr(u.Name),
	}
	if full {
		out.Tags = tagsOut(u.Tags)
		out.PermissionsBoundary = boundaryOut(u.Boundary)
	}
	return out
}

// temporaryKeyPrefix starts the access key IDs of temporary credentials.
const temporaryKeyPrefix = "ASIA"

// callerUser returns the IAM user whose access key signed the request, or
// nil when the caller is the account's root user. Operations whose
// UserName is optional act on the caller, as IAM's "If you do not specify a
// user name, IAM determines the user name implicitly based on the AWS
// access key ID used to sign the request".
//
// Temporary credentials ("ASIA...", from STS) belong to a role session or a
// federated user, never to an IAM user, and IAM refuses to guess a user for
// them: GetUser, ListAccessKeys and their kin answer ValidationError.
func callerUser(tx store.Tx, sc scope) (*userRecord, error) {
	if sc.accessKeyID == "" {
		return nil, nil
	}
	if strings.HasPrefix(sc.accessKeyID, temporaryKeyPrefix) {
		return nil, awserr.New(http.StatusBadRequest, "ValidationError", "Must specify userName when calling with non-User credentials")
	}
	var k accessKeyRecord
	ok, err := get(tx, bucketAccessKeys, sc.accessKeyID, &k)
	if err != nil || !ok || k.Account != sc.account || k.UserName == "" {
		return nil, err
	}
	var u userRecord
	ok, err = get(tx, bucketUsers, key(sc.account, k.UserName), &u)
	if err != nil || !ok {
		return nil, err
	}
	return &u, nil
}

// callerARN names the caller in an access-denied message: the IAM user
// whose key signed the request, else the account's root user (role
// sessions are STS's to know).
func callerARN(tx store.Tx, sc scope) string {
	if strings.HasPrefix(sc.accessKeyID, temporaryKeyPrefix) {
		return sc.rootARN()
	}
	u, err := callerUser(tx, sc)
	if err != nil || u == nil {
		return sc.rootARN()
	}
	return sc.arn("user", u.Path, u.Name)
}

// CreateUser creates an IAM user.
func (s *Service) CreateUser(ctx context.Context, in *api.CreateUserInput) (*api.CreateUserOutput, error) {
	sc := scopeOf(ctx)
	ts, err := applyTags(nil, tagsIn(in.Tags))
	if err != nil {
		return nil, err
	}
	u := &userRecord{Name: str(in.UserName), ID: awsid.IAM("AIDA"), Path: pathOr(in.Path), Created: s.now(), Tags: ts}
	err = s.st.Update(func(tx store.Tx) error {
		if b := str(in.PermissionsBoundary); b != "" {
			p, err := boundaryPolicy(tx, sc, b)
			if err != nil {
				return err
			}
			u.Boundary = p.arn
		}
		var existing userRecord
		ok, err := get(tx, bucketUsers, key(sc.account, u.Name), &existing)
		if err != nil {
			return err
		}
		if ok {
			return alreadyExists("User with name %s already exists.", u.Name)
		}
		return tx.Put(bucketUsers, key(sc.account, u.Name), u)
	})
	if err != nil {
		return nil, err
	}
	out := userOut(sc, u, true)
	return &api.CreateUserOutput{User: &out}, nil
}

// GetUser describes a user; without UserName, the caller. For the root
// user IAM answers with the account's root ARN and the account ID as
// UserId, and no name.
func (s *Service) GetUser(ctx context.Context, in *api.GetUserInput) (*api.GetUserOutput, error) {
	sc := scopeOf(ctx)
	var out api.User
	err := s.st.View(func(tx store.Tx) error {
		if name := str(in.UserName); name != "" {
			u, err := loadPrincipal[userRecord](tx, userKind, sc.account, name)
			if err != nil {
				return err
			}
			out = userOut(sc, u, true)
			return nil
		}
		u, err := callerUser(tx, sc)
		if err != nil {
			return err
		}
		if u == nil {
			out = api.User{UserId: ptr(sc.account), Arn: ptr(sc.rootARN()), CreateDate: ptr(rootCreated)}
			return nil
		}
		out = userOut(sc, u, true)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &api.GetUserOutput{User: &out}, nil
}

// UpdateUser renames a user or moves it to another path. Its group
// memberships and access keys follow it.
func (s *Service) UpdateUser(ctx context.Context, in *api.UpdateUserInput) (*api.UpdateUserOutput, error) {
	sc := scopeOf(ctx)
	err := s.st.Update(func(tx store.Tx) error {
		u, err := loadPrincipal[userRecord](tx, userKind, sc.account, str(in.UserName))
		if err != nil {
			return err
		}
		oldName := u.Name
		if in.NewPath != nil {
			u.Path = *in.NewPath
		}
		newName := str(in.NewUserName)
		if newName == "" || newName == oldName {
			return tx.Put(bucketUsers, key(sc.account, oldName), u)
		}
		if !strings.EqualFold(newName, oldName) {
			var existing userRecord
			ok, err := get(tx, bucketUsers, key(sc.account, newName), &existing)
			if err != nil {
				return err
			}
			if ok {
				return alreadyExists("User with name %s already exists.", newName)
			}
		}
		u.Name = newName
		if err := tx.Delete(bucketUsers, key(sc.account, oldName)); err != nil {
			return err
		}
		if err := tx.Put(bucketUsers, key(sc.account, newName), u); err != nil {
			return err
		}
		return renameUserReferences(tx, sc.account, oldName, newName)
	})
	if err != nil {
		return nil, err
	}
	return &api.UpdateUserOutput{}, nil
}

// renameUserReferences follows a renamed user in group memberships and
// access keys.
func renameUserReferences(tx store.Tx, account, oldName, newName string) error {
	groups, err := all[groupRecord](tx, bucketGroups, account)
	if err != nil {
		return err
	}
	for _, g := range groups {
		if i := slices.IndexFunc(g.Members, func(m string) bool { return strings.EqualFold(m, oldName) }); i >= 0 {
			g.Members[i] = newName
			if err := tx.Put(bucketGroups, key(account, g.Name), &g); err != nil {
				return err
			}
		}
	}
	keys, err := userAccessKeys(tx, account, oldName)
	if err != nil {
		return err
	}
	for _, k := range keys {
		k.UserName = newName
		if err := tx.Put(bucketAccessKeys, k.ID, &k); err != nil {
			return err
		}
	}
	return nil
}

// DeleteUser deletes a user. As in IAM, its access keys, policies and
// group memberships must be removed first.
func (s *Service) DeleteUser(ctx context.Context, in *api.DeleteUserInput) (*api.DeleteUserOutput, error) {
	sc := scopeOf(ctx)
	err := s.st.Update(func(tx store.Tx) error {
		u, err := loadPrincipal[userRecord](tx, userKind, sc.account, str(in.UserName))
		if err != nil {
			return err
		}
		keys, err := userAccessKeys(tx, sc.account, u.Name)
		if err != nil {
			return err
		}
		if len(keys) > 0 {
			return deleteConflict("Cannot delete entity, must delete access keys first.")
		}
		if err := checkNoGrants(&u.grants); err != nil {
			return err
		}
		groups, err := groupsOfUser(tx, sc.account, u.Name)
		if err != nil {
			return err
		}
		if len(groups) > 0 {
			return deleteConflict("Cannot delete entity, must remove users from group first.")
		}
		return tx.Delete(bucketUsers, key(sc.account, u.Name))
	})
	if err != nil {
		return nil, err
	}
	return &api.DeleteUserOutput{}, nil
}

// ListUsers lists the users whose path starts with PathPrefix.
func (s *Service) ListUsers(ctx context.Context, in *api.ListUsersInput) (*api.ListUsersOutput, error) {
	sc := scopeOf(ctx)
	var users []userRecord
	err := s.st.View(func(tx store.Tx) error {
		var err error
		users, err = all[userRecord](tx, bucketUsers, sc.account)
		return err
	})
	if err != nil {
		return nil, err
	}
	prefix := pathOr(in.PathPrefix)
	users = slices.DeleteFunc(users, func(u userRecord) bool { return !strings.HasPrefix(u.Path, prefix) })
	pg, truncated, next, err := paginate(users, func(u userRecord) string { return strings.ToLower(u.Name) }, in.Marker, in.MaxItems)
	if err != nil {
		return nil, err
	}
	out := &api.ListUsersOutput{Users: []api.User{}, IsTruncated: truncated, Marker: next}
	for _, u := range pg {
		out.Users = append(out.Users, userOut(sc, &u, false))
	}
	return out, nil
}

// TagUser adds or replaces tags of a user.
func (s *Service) TagUser(ctx context.Context, in *api.TagUserInput) (*api.TagUserOutput, error) {
	err := updatePrincipal[userRecord](s, ctx, userKind, str(in.UserName), func(_ store.Tx, _ scope, u *userRecord) error {
		var err error
		u.Tags, err = applyTags(u.Tags, tagsIn(in.Tags))
		return err
	})
	if err != nil {
		return nil, err
	}
	return &api.TagUserOutput{}, nil
}

// UntagUser removes tags from a user.
func (s *Service) UntagUser(ctx context.Context, in *api.UntagUserInput) (*api.UntagUserOutput, error) {
	err := updatePrincipal[userRecord](s, ctx, userKind, str(in.UserName), func(_ store.Tx, _ scope, u *userRecord) error {
		u.Tags = removeTags(u.Tags, in.TagKeys)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &api.UntagUserOutput{}, nil
}

// loadUser reads a user or fails with NoSuchEntity.
func (s *Service) loadUser(sc scope, name string) (*userRecord, error) {
	var u *userRecord
	err := s.st.View(func(tx store.Tx) error {
		var err error
		u, err = loadPrincipal[userRecord](tx, userKind, sc.account, name)
		return err
	})
	return u, err
}

// ListUserTags lists a user's tags.
func (s *Service) ListUserTags(ctx context.Context, in *api.ListUserTagsInput) (*api.ListUserTagsOutput, error) {
	u, err := s.loadUser(scopeOf(ctx), str(in.UserName))
	if err != nil {
		return nil, err
	}
	ts, truncated, next, err := pageTags(u.Tags, in.Marker, in.MaxItems)
	if err != nil {
		return nil, err
	}
	return &api.ListUserTagsOutput{Tags: ts, IsTruncated: truncated, Marker: next}, nil
}

// PutUserPolicy adds or replaces an inline policy of a user.
func (s *Service) PutUserPolicy(ctx context.Context, in *api.PutUserPolicyInput) (*api.PutUserPolicyOutput, error) {
	if err := putInline[userRecord](s, ctx, userKind, str(in.UserName), str(in.PolicyName), str(in.PolicyDocument)); err != nil {
		return nil, err
	}
	return &api.PutUserPolicyOutput{}, nil
}

// GetUserPolicy returns an inline policy of a user, its document
// URL-encoded.
func (s *Service) GetUserPolicy(ctx context.Context, in *api.GetUserPolicyInput) (*api.GetUserPolicyOutput, error) {
	owner, p, err := getInline[userRecord](s, ctx, userKind, str(in.UserName), str(in.PolicyName))
	if err != nil {
		return nil, err
	}
	return &api.GetUserPolicyOutput{UserName: ptr(owner), PolicyName: ptr(p.Name), PolicyDocument: ptr(encodeDocument(p.Document))}, nil
}

// DeleteUserPolicy deletes an inline policy of a user.
func (s *Service) DeleteUserPolicy(ctx context.Context, in *api.DeleteUserPolicyInput) (*api.DeleteUserPolicyOutput, error) {
	if err := deleteInline[userRecord](s, ctx, userKind, str(in.UserName), str(in.PolicyName)); err != nil {
		return nil, err
	}
	return &api.DeleteUserPolicyOutput{}, nil
}

// ListUserPolicies lists the names of a user's inline policies.
func (s *Service) ListUserPolicies(ctx context.Context, in *api.ListUserPoliciesInput) (*api.ListUserPoliciesOutput, error) {
	names, truncated, next, err := listInline[userRecord](s, ctx, userKind, str(in.UserName), in.Marker, in.MaxItems)
	if err != nil {
		return nil, err
	}
	return &api.ListUserPoliciesOutput{PolicyNames: names, IsTruncated: truncated, Marker: next}, nil
}

// AttachUserPolicy attaches a customer or AWS managed policy to a user.
func (s *Service) AttachUserPolicy(ctx context.Context, in *api.AttachUserPolicyInput) (*api.AttachUserPolicyOutput, error) {
	if err := attachPolicy[userRecord](s, ctx, userKind, str(in.UserName), str(in.PolicyArn)); err != nil {
		return nil, err
	}
	return &api.AttachUserPolicyOutput{}, nil
}

// DetachUserPolicy detaches a managed policy from a user.
func (s *Service) DetachUserPolicy(ctx context.Context, in *api.DetachUserPolicyInput) (*api.DetachUserPolicyOutput, error) {
	if err := detachPolicy[userRecord](s, ctx, userKind, str(in.UserName), str(in.PolicyArn)); err != nil {
		return nil, err
	}
	return &api.DetachUserPolicyOutput{}, nil
}

// ListAttachedUserPolicies lists the managed policies attached to a user.
func (s *Service) ListAttachedUserPolicies(ctx context.Context, in *api.ListAttachedUserPoliciesInput) (*api.ListAttachedUserPoliciesOutput, error) {
	ps, truncated, next, err := listAttached[userRecord](s, ctx, userKind, str(in.UserName), str(in.PathPrefix), in.Marker, in.MaxItems)
	if err != nil {
		return nil, err
	}
	return &api.ListAttachedUserPoliciesOutput{AttachedPolicies: ps, IsTruncated: truncated, Marker: next}, nil
}

// PutUserPermissionsBoundary sets the managed policy that bounds a user's
// permissions.
func (s *Service) PutUserPermissionsBoundary(ctx context.Context, in *api.PutUserPermissionsBoundaryInput) (*api.PutUserPermissionsBoundaryOutput, error) {
	if err := setBoundary[userRecord](s, ctx, userKind, str(in.UserName), str(in.PermissionsBoundary)); err != nil {
		return nil, err
	}
	return &api.PutUserPermissionsBoundaryOutput{}, nil
}

// DeleteUserPermissionsBoundary removes a user's permissions boundary.
func (s *Service) DeleteUserPermissionsBoundary(ctx context.Context, in *api.DeleteUserPermissionsBoundaryInput) (*api.DeleteUserPermissionsBoundaryOutput, error) {
	if err := setBoundary[userRecord](s, ctx, userKind, str(in.UserName), ""); err != nil {
		return nil, err
	}
	return &api.DeleteUserPermissionsBoundaryOutput{}, nil
}

// The credentials below (console passwords, MFA devices, SSH keys, signing
// certificates, service-specific credentials) are not kept by nephele: a
// user never has any. They are served so that clients which clean a user
// up before deleting it (Terraform's force_destroy) find nothing to clean
// rather than an unknown operation.

// requireUser checks that a named user exists and returns its name; ""
// means the caller, whose name is "" for the root user.
func (s *Service) requireUser(ctx context.Context, name string) (string, error) {
	sc := scopeOf(ctx)
	var u *userRecord
	err := s.st.View(func(tx store.Tx) error {
		var err error
		if name == "" {
			u, err = callerUser(tx, sc)
		} else {
			u, err = loadPrincipal[userRecord](tx, userKind, sc.account, name)
		}
		return err
	})
	if err != nil || u == nil {
		return "", err
	}
	return u.Name, nil
}

// GetLoginProfile reports that the user has no console password.
func (s *Service) GetLoginProfile(ctx context.Context, in *api.GetLoginProfileInput) (*api.GetLoginProfileOutput, error) {
	name, err := s.requireUser(ctx, str(in.UserName))
	if err != nil {
		return nil, err
	}
	return nil, noSuchEntity("Login Profile for User %s cannot be found.", name)
}

// DeleteLoginProfile reports that the user has no console password.
func (s *Service) DeleteLoginProfile(ctx context.Context, in *api.DeleteLoginProfileInput) (*api.DeleteLoginProfileOutput, error) {
	name, err := s.requireUser(ctx, str(in.UserName))
	if err != nil {
		return nil, err
	}
	return nil, noSuchEntity("Login Profile for User %s cannot be found.", name)
}

// ListMFADevices lists a user's MFA devices: none.
func (s *Service) ListMFADevices(ctx context.Context, in *api.ListMFADevicesInput) (*api.ListMFADevicesOutput, error) {
	if _, err := s.requireUser(ctx, str(in.UserName)); err != nil {
		return nil, err
	}
	return &api.ListMFADevicesOutput{MFADevices: []api.MFADevice{}, IsTruncated: ptr(false)}, nil
}

// ListSSHPublicKeys lists a user's SSH public keys: none.
func (s *Service) ListSSHPublicKeys(ctx context.Context, in *api.ListSSHPublicKeysInput) (*api.ListSSHPublicKeysOutput, error) {
	if _, err := s.requireUser(ctx, str(in.UserName)); err != nil {
		return nil, err
	}
	return &api.ListSSHPublicKeysOutput{SSHPublicKeys: []api.SSHPublicKeyMetadata{}, IsTruncated: ptr(false)}, nil
}

// ListSigningCertificates lists a user's signing certificates: none.
func (s *Service) ListSigningCertificates(ctx context.Context, in *api.ListSigningCertificatesInput) (*api.ListSigningCertificatesOutput, error) {
	if _, err := s.requireUser(ctx, str(in.UserName)); err != nil {
		return nil, err
	}
	return &api.ListSigningCertificatesOutput{Certificates: []api.SigningCertificate{}, IsTruncated: ptr(false)}, nil
}

// ListServiceSpecificCredentials lists a user's service-specific
// credentials: none.
func (s *Service) ListServiceSpecificCredentials(ctx context.Context, in *api.ListServiceSpecificCredentialsInput) (*api.ListServiceSpecificCredentialsOutput, error) {
	if _, err := s.requireUser(ctx, str(in.UserName)); err != nil {
		return nil, err
	}
	return &api.ListServiceSpecificCredentialsOutput{ServiceSpecificCredentials: []api.ServiceSpecificCredentialMetadata{}, IsTruncated: ptr(false)}, nil
}
