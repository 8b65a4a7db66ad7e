package iam

import (
	"context"
	"strings"

	"github.com/nephele-dev/nephele/internal/arn"
	"github.com/nephele-dev/nephele/internal/service"
	"github.com/nephele-dev/nephele/internal/store"
)

// The methods in this file are what STS needs of IAM (sts.IdentityLookup):
// main passes the IAM service to STS, so STS never reads IAM's state
// itself.

// RoleByARN reports the unique ID ("AROA...") and MaxSessionDuration of
// the role an ARN names, for AssumeRole. ok is false when the ARN names no
// role of its account. The ARN must be the role's exactly: its path
// included, and its name in the role's own case ("Role names are case
// sensitive when you assume a role", Troubleshooting IAM roles), although
// IAM's own operations find a role by name in any case.
func (s *Service) RoleByARN(_ context.Context, roleARN string) (roleID string, maxSessionDuration int32, ok bool, err error) {
	a, perr := arn.Parse(roleARN)
	if perr != nil || a.Service != "iam" || a.AccountID == "" || !strings.HasPrefix(a.Resource, "role/") {
		return "", 0, false, nil
	}
	rest := strings.TrimPrefix(a.Resource, "role")
	i := strings.LastIndex(rest, "/")
	path, name := rest[:i+1], rest[i+1:]
	if name == "" {
		return "", 0, false, nil
	}
	var r roleRecord
	err = s.st.View(func(tx store.Tx) error {
		ok, err = get(tx, bucketRoles, key(a.AccountID, name), &r)
		return err
	})
	if err != nil || !ok || r.Name != name || r.Path != path {
		return "", 0, false, err
	}
	return r.ID, r.MaxSessionDuration, true, nil
}

// AccessKeyOwner reports who an IAM access key belongs to, for STS's
// GetCallerIdentity: an IAM user's ARN and unique ID ("AIDA..."), or for a
// root user's key the root ARN and the account ID, which is what AWS gives
// as the root user's UserId. ok is false for a key IAM did not issue.
func (s *Service) AccessKeyOwner(ctx context.Context, accessKeyID string) (ownerARN, userID, account string, ok bool, err error) {
	if accessKeyID == "" {
		return "", "", "", false, nil
	}
	var k accessKeyRecord
	var u userRecord
	err = s.st.View(func(tx store.Tx) error {
		found, err := get(tx, bucketAccessKeys, accessKeyID, &k)
		if err != nil || !found {
			return err
		}
		if k.UserName == "" {
			ok = true
			return nil
		}
		ok, err = get(tx, bucketUsers, key(k.Account, k.UserName), &u)
		return err
	})
	if err != nil || !ok {
		return "", "", "", false, err
	}
	sc := scope{account: k.Account, partition: arn.Partition(service.RequestFrom(ctx).Region)}
	if k.UserName == "" {
		return sc.rootARN(), k.Account, k.Account, true, nil
	}
	return sc.arn("user", u.Path, u.Name), u.ID, k.Account, true, nil
}
