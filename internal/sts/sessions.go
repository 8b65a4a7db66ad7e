package sts

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/nephele-dev/nephele/internal/arn"
	"github.com/nephele-dev/nephele/internal/awserr"
	"github.com/nephele-dev/nephele/internal/awsid"
	"github.com/nephele-dev/nephele/internal/service"
	"github.com/nephele-dev/nephele/internal/store"
)

// bucketSessions holds the temporary credentials STS issued, keyed by
// access key ID ("ASIA...").
const bucketSessions = "sts/sessions"

// expiredRetention is how long expired credentials are kept before issue
// prunes them. While kept, a request signed with them fails with
// ExpiredToken, as AWS answers for expired credentials at any age; once
// pruned, their key is unknown and caller takes it for the root user's, so
// pruning right at expiry would turn a client's stale role credentials
// into root ones instead of prompting the SDK to refresh them.
const expiredRetention = 24 * time.Hour

// The kinds of session, as the ARN of their identity shows them.
const (
	kindAssumedRole   = "assumed-role"
	kindFederatedUser = "federated-user"
	kindSessionToken  = "session-token"
)

// session is a stored set of temporary credentials and the identity they
// carry.
type session struct {
	AccessKeyID string    `json:"accessKeyId"`
	Secret      string    `json:"secret"`
	Token       string    `json:"token"`
	Kind        string    `json:"kind"`
	Account     string    `json:"account"`
	ARN         string    `json:"arn"`    // what GetCallerIdentity reports as Arn
	UserID      string    `json:"userId"` // and as UserId
	Expiration  time.Time `json:"expiration"`
}

// identity is who made a request.
type identity struct {
	arn     string
	userID  string
	account string
	// kind is the session kind for temporary credentials, "" for
	// long-term keys and the root user.
	kind string
}

// caller resolves the request's access key: temporary credentials STS
// issued, then an IAM user's key, and otherwise the account's root user,
// since nephele accepts any credentials and treats unknown ones as the
// account's own ("arn:aws:iam::ACCOUNT:root", UserId the account ID, as
// AWS reports the root user). Expired temporary credentials fail as AWS
// fails them, with ExpiredToken.
func (s *Service) caller(ctx context.Context) (identity, error) {
	req := service.RequestFrom(ctx)
	if req.AccessKeyID != "" {
		var sess session
		err := s.st.View(func(tx store.Tx) error { return tx.Get(bucketSessions, req.AccessKeyID, &sess) })
		switch {
		case err == nil:
			if !s.clk.Now().Before(sess.Expiration) {
				return identity{}, awserr.New(http.StatusForbidden, "ExpiredToken", "The security token included in the request is expired")
			}
			return identity{arn: sess.ARN, userID: sess.UserID, account: sess.Account, kind: sess.Kind}, nil
		case !errors.Is(err, store.ErrNotFound):
			return identity{}, err
		}
		userARN, userID, account, ok, err := s.ids.AccessKeyOwner(ctx, req.AccessKeyID)
		if err != nil {
			return identity{}, err
		}
		if ok {
			return identity{arn: userARN, userID: userID, account: account}, nil
		}
	}
	root := arn.ARN{Partition: arn.Partition(req.Region), Service: "iam", AccountID: req.AccountID, Resource: "root"}
	return identity{arn: root.String(), userID: req.AccountID, account: req.AccountID}, nil
}

// issue makes and stores new temporary credentials for an identity,
// valid for d, and prunes credentials that expired more than
// expiredRetention ago so the store does not grow without bound.
func (s *Service) issue(id identity, d time.Duration) (session, error) {
	now := s.now()
	sess := session{
		AccessKeyID: awsid.AccessKeyID(true),
		Secret:      awsid.SecretAccessKey(),
		Token:       awsid.SessionToken(),
		Kind:        id.kind,
		Account:     id.account,
		ARN:         id.arn,
		UserID:      id.userID,
		Expiration:  now.Add(d),
	}
	err := s.st.Update(func(tx store.Tx) error {
		err := tx.ForEach(bucketSessions, "", func(k string, decode func(any) error) error {
			var old session
			if err := decode(&old); err != nil {
				return err
			}
			if !now.Before(old.Expiration.Add(expiredRetention)) {
				return tx.Delete(bucketSessions, k)
			}
			return nil
		})
		if err != nil {
			return err
		}
		return tx.Put(bucketSessions, sess.AccessKeyID, &sess)
	})
	return sess, err
}
