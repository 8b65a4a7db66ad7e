package sts

import (
	"context"
	"errors"

	api "github.com/nephele-dev/nephele/internal/api/sts"
	"github.com/nephele-dev/nephele/internal/service"
	"github.com/nephele-dev/nephele/internal/store"
)

// GetCallerIdentity reports who signed the request: an assumed role
// session, a federated user, an IAM user, or (for any other credentials)
// the account's root user. It is the first call of Terraform's AWS
// provider and of `aws sts get-caller-identity`.
func (s *Service) GetCallerIdentity(ctx context.Context, _ *api.GetCallerIdentityInput) (*api.GetCallerIdentityOutput, error) {
	id, err := s.caller(ctx)
	if err != nil {
		return nil, err
	}
	return &api.GetCallerIdentityOutput{Account: ptr(id.account), Arn: ptr(id.arn), UserId: ptr(id.userID)}, nil
}

// GetAccessKeyInfo reports the account an access key belongs to. AWS reads
// it from the key ID itself; nephele knows the keys it issued and gives
// any other key the caller's account, the one account it serves.
func (s *Service) GetAccessKeyInfo(ctx context.Context, in *api.GetAccessKeyInfoInput) (*api.GetAccessKeyInfoOutput, error) {
	keyID := str(in.AccessKeyId)
	var sess session
	err := s.st.View(func(tx store.Tx) error { return tx.Get(bucketSessions, keyID, &sess) })
	switch {
	case err == nil:
		return &api.GetAccessKeyInfoOutput{Account: ptr(sess.Account)}, nil
	case !errors.Is(err, store.ErrNotFound):
		return nil, err
	}
	_, _, account, ok, err := s.ids.AccessKeyOwner(ctx, keyID)
	if err != nil {
		return nil, err
	}
	if !ok {
		account = service.RequestFrom(ctx).AccountID
	}
	return &api.GetAccessKeyInfoOutput{Account: ptr(account)}, nil
}
