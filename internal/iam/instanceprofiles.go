package iam

import (
	"context"
	"slices"
	"strings"

	api "github.com/nephele-dev/nephele/internal/api/iam"
	"github.com/nephele-dev/nephele/internal/awsid"
	"github.com/nephele-dev/nephele/internal/store"
)

// maxRolesPerProfile is IAM's fixed quota of roles in one instance profile
// ("InstanceSessionsPerInstanceProfile"), which cannot be raised.
const maxRolesPerProfile = 1

// profileNotFound is NoSuchEntity in the words IAM uses for instance
// profiles.
func profileNotFound(name string) error {
	return noSuchEntity("Instance Profile %s cannot be found.", name)
}

// loadProfile reads an instance profile or fails with NoSuchEntity.
func loadProfile(tx store.Tx, account, name string) (*instanceProfileRecord, error) {
	var p instanceProfileRecord
	ok, err := get(tx, bucketInstanceProfiles, key(account, name), &p)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, profileNotFound(name)
	}
	return &p, nil
}

// profilesWithRole returns the instance profiles of account that hold the
// role.
func profilesWithRole(tx store.Tx, account, roleName string) ([]instanceProfileRecord, error) {
	profiles, err := all[instanceProfileRecord](tx, bucketInstanceProfiles, account)
	if err != nil {
		return nil, err
	}
	return slices.DeleteFunc(profiles, func(p instanceProfileRecord) bool {
		return !slices.ContainsFunc(p.Roles, func(r string) bool { return strings.EqualFold(r, roleName) })
	}), nil
}

// profileOut renders an instance profile with its roles, which IAM embeds
// whole (trust policy included) in every answer; Tags only where full.
func profileOut(tx store.Tx, sc scope, p *instanceProfileRecord, full bool) (api.InstanceProfile, error) {
	out := api.InstanceProfile{
		Arn:                 ptr(sc.arn("instance-profile", p.Path, p.Name)),
		CreateDate:          ptr(p.Created),
		InstanceProfileId:   ptr(p.ID),
		InstanceProfileName: ptr(p.Name),
		Path:                ptr(p.Path),
		Roles:               []api.Role{},
	}
	if full {
		out.Tags = tagsOut(p.Tags)
	}
	for _, name := range p.Roles {
		var r roleRecord
		ok, err := get(tx, bucketRoles, key(sc.account, name), &r)
		if err != nil {
			return out, err
		}
		if ok {
			out.Roles = append(out.Roles, roleOut(sc, &r, false))
		}
	}
	return out, nil
}

// CreateInstanceProfile creates an empty instance profile.
func (s *Service) CreateInstanceProfile(ctx context.Context, in *api.CreateInstanceProfileInput) (*api.CreateInstanceProfileOutput, error) {
	sc := scopeOf(ctx)
	ts, err := applyTags(nil, tagsIn(in.Tags))
	if err != nil {
		return nil, err
	}
	p := &instanceProfileRecord{Name: str(in.InstanceProfileName), ID: awsid.IAM("AIPA"), Path: pathOr(in.Path), Created: s.now(), Tags: ts}
	var out api.InstanceProfile
	err = s.st.Update(func(tx store.Tx) error {
		var existing instanceProfileRecord
		ok, err := get(tx, bucketInstanceProfiles, key(sc.account, p.Name), &existing)
		if err != nil {
			return err
		}
		if ok {
			return alreadyExists("Instance Profile %s already exists.", p.Name)
		}
		if err := tx.Put(bucketInstanceProfiles, key(sc.account, p.Name), p); err != nil {
			return err
		}
		out, err = profileOut(tx, sc, p, true)
		return err
	})
	if err != nil {
		return nil, err
	}
	return &api.CreateInstanceProfileOutput{InstanceProfile: &out}, nil
}

// GetInstanceProfile describes an instance profile and its role.
func (s *Service) GetInstanceProfile(ctx context.Context, in *api.GetInstanceProfileInput) (*api.GetInstanceProfileOutput, error) {
	sc := scopeOf(ctx)
	var out api.InstanceProfile
	err := s.st.View(func(tx store.Tx) error {
		p, err := loadProfile(tx, sc.account, str(in.InstanceProfileName))
		if err != nil {
			return err
		}
		out, err = profileOut(tx, sc, p, true)
		return err
	})
	if err != nil {
		return nil, err
	}
	return &api.GetInstanceProfileOutput{InstanceProfile: &out}, nil
}

// DeleteInstanceProfile deletes an instance profile. As in IAM, its role
// must be removed first.
func (s *Service) DeleteInstanceProfile(ctx context.Context, in *api.DeleteInstanceProfileInput) (*api.DeleteInstanceProfileOutput, error) {
	sc := scopeOf(ctx)
	err := s.st.Update(func(tx store.Tx) error {
		p, err := loadProfile(tx, sc.account, str(in.InstanceProfileName))
		if err != nil {
			return err
		}
		if len(p.Roles) > 0 {
			return deleteConflict("Cannot delete entity, must remove roles from instance profile first.")
		}
		return tx.Delete(bucketInstanceProfiles, key(sc.account, p.Name))
	})
	if err != nil {
		return nil, err
	}
	return &api.DeleteInstanceProfileOutput{}, nil
}

// AddRoleToInstanceProfile puts a role in an instance profile, which holds
// at most one: adding any role, even the same one again, to a full profile
// is LimitExceeded, as in IAM.
func (s *Service) AddRoleToInstanceProfile(ctx context.Context, in *api.AddRoleToInstanceProfileInput) (*api.AddRoleToInstanceProfileOutput, error) {
	sc := scopeOf(ctx)
	err := s.st.Update(func(tx store.Tx) error {
		p, err := loadProfile(tx, sc.account, str(in.InstanceProfileName))
		if err != nil {
			return err
		}
		r, err := loadPrincipal[roleRecord](tx, roleKind, sc.account, str(in.RoleName))
		if err != nil {
			return err
		}
		if len(p.Roles) >= maxRolesPerProfile {
			return quotaExceeded("InstanceSessionsPerInstanceProfile", maxRolesPerProfile)
		}
		p.Roles = append(p.Roles, r.Name)
		return tx.Put(bucketInstanceProfiles, key(sc.account, p.Name), p)
	})
	if err != nil {
		return nil, err
	}
	return &api.AddRoleToInstanceProfileOutput{}, nil
}

// RemoveRoleFromInstanceProfile takes a role out of an instance profile.
func (s *Service) RemoveRoleFromInstanceProfile(ctx context.Context, in *api.RemoveRoleFromInstanceProfileInput) (*api.RemoveRoleFromInstanceProfileOutput, error) {
	sc := scopeOf(ctx)
	roleName := str(in.RoleName)
	err := s.st.Update(func(tx store.Tx) error {
		p, err := loadProfile(tx, sc.account, str(in.InstanceProfileName))
		if err != nil {
			return err
		}
		i := slices.IndexFunc(p.Roles, func(r string) bool { return strings.EqualFold(r, roleName) })
		if i < 0 {
			return roleKind.notFound(roleName)
		}
		p.Roles = slices.Delete(p.Roles, i, i+1)
		return tx.Put(bucketInstanceProfiles, key(sc.account, p.Name), p)
	})
	if err != nil {
		return nil, err
	}
	return &api.RemoveRoleFromInstanceProfileOutput{}, nil
}

// listProfiles answers ListInstanceProfiles and ListInstanceProfilesForRole:
// it selects profiles with pick and renders one page of them, in one
// transaction so each profile's roles are read as of the same moment.
func (s *Service) listProfiles(ctx context.Context, pick func(tx store.Tx, sc scope) ([]instanceProfileRecord, error), marker *string, maxItems *int32) ([]api.InstanceProfile, *bool, *string, error) {
	sc := scopeOf(ctx)
	out := []api.InstanceProfile{}
	var truncated *bool
	var next *string
	err := s.st.View(func(tx store.Tx) error {
		profiles, err := pick(tx, sc)
		if err != nil {
			return err
		}
		var pg []instanceProfileRecord
		pg, truncated, next, err = paginate(profiles, func(p instanceProfileRecord) string { return strings.ToLower(p.Name) }, marker, maxItems)
		if err != nil {
			return err
		}
		for _, p := range pg {
			o, err := profileOut(tx, sc, &p, false)
			if err != nil {
				return err
			}
			out = append(out, o)
		}
		return nil
	})
	if err != nil {
		return nil, nil, nil, err
	}
	return out, truncated, next, nil
}

// ListInstanceProfiles lists the instance profiles whose path starts with
// PathPrefix.
func (s *Service) ListInstanceProfiles(ctx context.Context, in *api.ListInstanceProfilesInput) (*api.ListInstanceProfilesOutput, error) {
	prefix := pathOr(in.PathPrefix)
	ps, truncated, next, err := s.listProfiles(ctx, func(tx store.Tx, sc scope) ([]instanceProfileRecord, error) {
		profiles, err := all[instanceProfileRecord](tx, bucketInstanceProfiles, sc.account)
		return slices.DeleteFunc(profiles, func(p instanceProfileRecord) bool { return !strings.HasPrefix(p.Path, prefix) }), err
	}, in.Marker, in.MaxItems)
	if err != nil {
		return nil, err
	}
	return &api.ListInstanceProfilesOutput{InstanceProfiles: ps, IsTruncated: truncated, Marker: next}, nil
}

// ListInstanceProfilesForRole lists the instance profiles that hold a role;
// Terraform calls it before deleting a role.
func (s *Service) ListInstanceProfilesForRole(ctx context.Context, in *api.ListInstanceProfilesForRoleInput) (*api.ListInstanceProfilesForRoleOutput, error) {
	ps, truncated, next, err := s.listProfiles(ctx, func(tx store.Tx, sc scope) ([]instanceProfileRecord, error) {
		r, err := loadPrincipal[roleRecord](tx, roleKind, sc.account, str(in.RoleName))
		if err != nil {
			return nil, err
		}
		return profilesWithRole(tx, sc.account, r.Name)
	}, in.Marker, in.MaxItems)
	if err != nil {
		return nil, err
	}
	return &api.ListInstanceProfilesForRoleOutput{InstanceProfiles: ps, IsTruncated: truncated, Marker: next}, nil
}

// updateProfile applies fn to a stored instance profile.
func (s *Service) updateProfile(ctx context.Context, name string, fn func(p *instanceProfileRecord) error) error {
	sc := scopeOf(ctx)
	return s.st.Update(func(tx store.Tx) error {
		p, err := loadProfile(tx, sc.account, name)
		if err != nil {
			return err
		}
		if err := fn(p); err != nil {
			return err
		}
		return tx.Put(bucketInstanceProfiles, key(sc.account, p.Name), p)
	})
}

// TagInstanceProfile adds or replaces tags of an instance profile.
func (s *Service) TagInstanceProfile(ctx context.Context, in *api.TagInstanceProfileInput) (*api.TagInstanceProfileOutput, error) {
	err := s.updateProfile(ctx, str(in.InstanceProfileName), func(p *instanceProfileRecord) error {
		var err error
		p.Tags, err = applyTags(p.Tags, tagsIn(in.Tags))
		return err
	})
	if err != nil {
		return nil, err
	}
	return &api.TagInstanceProfileOutput{}, nil
}

// UntagInstanceProfile removes tags from an instance profile.
func (s *Service) UntagInstanceProfile(ctx context.Context, in *api.UntagInstanceProfileInput) (*api.UntagInstanceProfileOutput, error) {
	err := s.updateProfile(ctx, str(in.InstanceProfileName), func(p *instanceProfileRecord) error {
		p.Tags = removeTags(p.Tags, in.TagKeys)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &api.UntagInstanceProfileOutput{}, nil
}

// ListInstanceProfileTags lists an instance profile's tags.
func (s *Service) ListInstanceProfileTags(ctx context.Context, in *api.ListInstanceProfileTagsInput) (*api.ListInstanceProfileTagsOutput, error) {
	sc := scopeOf(ctx)
	var p *instanceProfileRecord
	err := s.st.View(func(tx store.Tx) error {
		var err error
		p, err = loadProfile(tx, sc.account, str(in.InstanceProfileName))
		return err
	})
	if err != nil {
		return nil, err
	}
	ts, truncated, next, err := pageTags(p.Tags, in.Marker, in.MaxItems)
	if err != nil {
		return nil, err
	}
	return &api.ListInstanceProfileTagsOutput{Tags: ts, IsTruncated: truncated, Marker: next}, nil
}
