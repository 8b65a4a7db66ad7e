package iam

import (
	"context"

	api "github.com/nephele-dev/nephele/internal/api/iam"
	"github.com/nephele-dev/nephele/internal/store"
)

// GetAccountSummary reports the account's IAM entity counts and quotas, the
// SummaryMap keys the IAM console and scripts read. The quotas are IAM's
// defaults.
func (s *Service) GetAccountSummary(ctx context.Context, _ *api.GetAccountSummaryInput) (*api.GetAccountSummaryOutput, error) {
	sc := scopeOf(ctx)
	m := map[string]int32{
		"AccessKeysPerUserQuota":            maxAccessKeysPerUser,
		"AccountMFAEnabled":                 0,
		"AccountSigningCertificatesPresent": 0,
		"AssumeRolePolicySizeQuota":         maxTrustPolicySize,
		"AttachedPoliciesPerGroupQuota":     maxAttachedPolicies,
		"AttachedPoliciesPerRoleQuota":      maxAttachedPolicies,
		"AttachedPoliciesPerUserQuota":      maxAttachedPolicies,
		"GlobalEndpointTokenVersion":        1,
		"GroupPolicySizeQuota":              int32(groupKind.inlineLimit),
		"GroupsPerUserQuota":                maxGroupsPerUser,
		"GroupsQuota":                       300,
		"InstanceProfilesQuota":             1000,
		"MFADevices":                        0,
		"MFADevicesInUse":                   0,
		"PoliciesQuota":                     1500,
		"PolicySizeQuota":                   maxManagedPolicySize,
		"PolicyVersionsInUseQuota":          10000,
		"Providers":                         0,
		"RolePolicySizeQuota":               int32(roleKind.inlineLimit),
		"RolesQuota":                        1000,
		"ServerCertificates":                0,
		"ServerCertificatesQuota":           20,
		"SigningCertificatesPerUserQuota":   2,
		"UserPolicySizeQuota":               int32(userKind.inlineLimit),
		"UsersQuota":                        5000,
		"VersionsPerPolicyQuota":            maxPolicyVersions,
	}
	err := s.st.View(func(tx store.Tx) error {
		for name, bucket := range map[string]string{
			"Users": bucketUsers, "Groups": bucketGroups, "Roles": bucketRoles,
			"Policies": bucketPolicies, "InstanceProfiles": bucketInstanceProfiles,
		} {
			n := int32(0)
			err := tx.ForEach(bucket, accountPrefix(sc.account), func(string, func(any) error) error {
				n++
				return nil
			})
			if err != nil {
				return err
			}
			m[name] = n
		}
		rootKeys, err := userAccessKeys(tx, sc.account, "")
		if err != nil {
			return err
		}
		m["AccountAccessKeysPresent"] = int32(min(len(rootKeys), 1))
		u, err := usageOf(tx, sc.account)
		if err != nil {
			return err
		}
		m["PolicyVersionsInUse"] = int32(len(u.attachments))
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &api.GetAccountSummaryOutput{SummaryMap: m}, nil
}

// ListAccountAliases lists the account's aliases. nephele's accounts have
// none; the AWS CLI and Terraform's aws_iam_account_alias data source ask.
func (s *Service) ListAccountAliases(_ context.Context, _ *api.ListAccountAliasesInput) (*api.ListAccountAliasesOutput, error) {
	return &api.ListAccountAliasesOutput{AccountAliases: []string{}, IsTruncated: ptr(false)}, nil
}
