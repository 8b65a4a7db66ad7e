package iam

import (
	"context"
	"strings"

	api "github.com/nephele-dev/nephele/internal/api/iam"
	"github.com/nephele-dev/nephele/internal/awsid"
	"github.com/nephele-dev/nephele/internal/store"
)

// maxAccessKeysPerUser is IAM's fixed quota of access keys per user
// (AccessKeysPerUser).
const maxAccessKeysPerUser = 2

// userAccessKeys returns the access keys of a user of account; userName ""
// means the root user's.
func userAccessKeys(tx store.Tx, account, userName string) ([]accessKeyRecord, error) {
	var out []accessKeyRecord
	err := tx.ForEach(bucketAccessKeys, "", func(_ string, decode func(any) error) error {
		var k accessKeyRecord
		if err := decode(&k); err != nil {
			return err
		}
		if k.Account == account && strings.EqualFold(k.UserName, userName) {
			out = append(out, k)
		}
		return nil
	})
	return out, err
}

// keyOwner resolves the UserName member of the access key operations: a
// named user, who must exist, or else the caller ("" for the root user).
func keyOwner(tx store.Tx, sc scope, name string) (string, error) {
	if name != "" {
		u, err := loadPrincipal[userRecord](tx, userKind, sc.account, name)
		if err != nil {
			return "", err
		}
		return u.Name, nil
	}
	u, err := callerUser(tx, sc)
	if err != nil || u == nil {
		return "", err
	}
	return u.Name, nil
}

// keyNotFound is NoSuchEntity in the words IAM uses for access keys.
func keyNotFound(id string) error {
	return noSuchEntity("The Access Key with id %s cannot be found.", id)
}

// findUserKey reads an access key that must belong to the given user.
func findUserKey(tx store.Tx, sc scope, userName, id string) (*accessKeyRecord, error) {
	var k accessKeyRecord
	ok, err := get(tx, bucketAccessKeys, id, &k)
	if err != nil {
		return nil, err
	}
	if !ok || k.Account != sc.account || !strings.EqualFold(k.UserName, userName) {
		return nil, keyNotFound(id)
	}
	return &k, nil
}

// CreateAccessKey issues a long-term access key ("AKIA...") for a user, or
// for the caller. The secret is returned only here, as in IAM. Requests
// signed with the key are then the user's (GetCallerIdentity, GetUser).
func (s *Service) CreateAccessKey(ctx context.Context, in *api.CreateAccessKeyInput) (*api.CreateAccessKeyOutput, error) {
	sc := scopeOf(ctx)
	var k accessKeyRecord
	err := s.st.Update(func(tx store.Tx) error {
		owner, err := keyOwner(tx, sc, str(in.UserName))
		if err != nil {
			return err
		}
		existing, err := userAccessKeys(tx, sc.account, owner)
		if err != nil {
			return err
		}
		if len(existing) >= maxAccessKeysPerUser {
			return quotaExceeded("AccessKeysPerUser", maxAccessKeysPerUser)
		}
		k = accessKeyRecord{
			ID: awsid.AccessKeyID(false), Secret: awsid.SecretAccessKey(),
			Account: sc.account, UserName: owner, Status: "Active", Created: s.now(),
		}
		return tx.Put(bucketAccessKeys, k.ID, &k)
	})
	if err != nil {
		return nil, err
	}
	return &api.CreateAccessKeyOutput{AccessKey: &api.AccessKey{
		AccessKeyId: ptr(k.ID), CreateDate: ptr(k.Created), SecretAccessKey: ptr(k.Secret),
		Status: ptr(k.Status), UserName: optional(k.UserName),
	}}, nil
}

// ListAccessKeys lists a user's access keys (or the caller's) without
// their secrets.
func (s *Service) ListAccessKeys(ctx context.Context, in *api.ListAccessKeysInput) (*api.ListAccessKeysOutput, error) {
	sc := scopeOf(ctx)
	var keys []accessKeyRecord
	err := s.st.View(func(tx store.Tx) error {
		owner, err := keyOwner(tx, sc, str(in.UserName))
		if err != nil {
			return err
		}
		keys, err = userAccessKeys(tx, sc.account, owner)
		return err
	})
	if err != nil {
		return nil, err
	}
	pg, truncated, next, err := paginate(keys, func(k accessKeyRecord) string { return k.ID }, in.Marker, in.MaxItems)
	if err != nil {
		return nil, err
	}
	out := &api.ListAccessKeysOutput{AccessKeyMetadata: []api.AccessKeyMetadata{}, IsTruncated: truncated, Marker: next}
	for _, k := range pg {
		out.AccessKeyMetadata = append(out.AccessKeyMetadata, api.AccessKeyMetadata{
			AccessKeyId: ptr(k.ID), CreateDate: ptr(k.Created), Status: ptr(k.Status), UserName: optional(k.UserName),
		})
	}
	return out, nil
}

// UpdateAccessKey makes a key Active or Inactive.
func (s *Service) UpdateAccessKey(ctx context.Context, in *api.UpdateAccessKeyInput) (*api.UpdateAccessKeyOutput, error) {
	sc := scopeOf(ctx)
	err := s.st.Update(func(tx store.Tx) error {
		owner, err := keyOwner(tx, sc, str(in.UserName))
		if err != nil {
			return err
		}
		k, err := findUserKey(tx, sc, owner, str(in.AccessKeyId))
		if err != nil {
			return err
		}
		k.Status = str(in.Status)
		return tx.Put(bucketAccessKeys, k.ID, k)
	})
	if err != nil {
		return nil, err
	}
	return &api.UpdateAccessKeyOutput{}, nil
}

// DeleteAccessKey deletes an access key for good.
func (s *Service) DeleteAccessKey(ctx context.Context, in *api.DeleteAccessKeyInput) (*api.DeleteAccessKeyOutput, error) {
	sc := scopeOf(ctx)
	err := s.st.Update(func(tx store.Tx) error {
		owner, err := keyOwner(tx, sc, str(in.UserName))
		if err != nil {
			return err
		}
		k, err := findUserKey(tx, sc, owner, str(in.AccessKeyId))
		if err != nil {
			return err
		}
		return tx.Delete(bucketAccessKeys, k.ID)
	})
	if err != nil {
		return nil, err
	}
	return &api.DeleteAccessKeyOutput{}, nil
}

// GetAccessKeyLastUsed reports when a key was last used. nephele does not
// track use, so every key answers as a never-used one does in IAM: Region
// and ServiceName "N/A" and no date.
func (s *Service) GetAccessKeyLastUsed(ctx context.Context, in *api.GetAccessKeyLastUsedInput) (*api.GetAccessKeyLastUsedOutput, error) {
	sc := scopeOf(ctx)
	id := str(in.AccessKeyId)
	var k accessKeyRecord
	err := s.st.View(func(tx store.Tx) error {
		ok, err := get(tx, bucketAccessKeys, id, &k)
		if err == nil && (!ok || k.Account != sc.account) {
			err = keyNotFound(id)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return &api.GetAccessKeyLastUsedOutput{
		UserName:          optional(k.UserName),
		AccessKeyLastUsed: &api.AccessKeyLastUsed{Region: ptr("N/A"), ServiceName: ptr("N/A")},
	}, nil
}
