package iam

import (
	"context"
	"slices"
	"strings"

	api "github.com/nephele-dev/nephele/internal/api/iam"
	"github.com/nephele-dev/nephele/internal/awsid"
	"github.com/nephele-dev/nephele/internal/store"
)

// maxGroupsPerUser is IAM's fixed quota of groups one user may be in
// (GroupsPerUser).
const maxGroupsPerUser = 10

// groupOut renders a group.
func groupOut(sc scope, g *groupRecord) api.Group {
	return api.Group{
		Arn:        ptr(sc.arn("group", g.Path, g.Name)),
		CreateDate: ptr(g.Created),
		GroupId:    ptr(g.ID),
		GroupName:  ptr(g.Name),
		Path:       ptr(g.Path),
	}
}

// groupsOfUser returns the groups of account the user is a member of.
func groupsOfUser(tx store.Tx, account, userName string) ([]groupRecord, error) {
	groups, err := all[groupRecord](tx, bucketGroups, account)
	if err != nil {
		return nil, err
	}
	return slices.DeleteFunc(groups, func(g groupRecord) bool { return memberIndex(&g, userName) < 0 }), nil
}

// memberIndex is the index of userName among the group's members, or -1.
func memberIndex(g *groupRecord, userName string) int {
	return slices.IndexFunc(g.Members, func(m string) bool { return strings.EqualFold(m, userName) })
}

// CreateGroup creates a group.
func (s *Service) CreateGroup(ctx context.Context, in *api.CreateGroupInput) (*api.CreateGroupOutput, error) {
	sc := scopeOf(ctx)
	g := &groupRecord{Name: str(in.GroupName), ID: awsid.IAM("AGPA"), Path: pathOr(in.Path), Created: s.now()}
	err := s.st.Update(func(tx store.Tx) error {
		var existing groupRecord
		ok, err := get(tx, bucketGroups, key(sc.account, g.Name), &existing)
		if err != nil {
			return err
		}
		if ok {
			return alreadyExists("Group with name %s already exists.", g.Name)
		}
		return tx.Put(bucketGroups, key(sc.account, g.Name), g)
	})
	if err != nil {
		return nil, err
	}
	out := groupOut(sc, g)
	return &api.CreateGroupOutput{Group: &out}, nil
}

// GetGroup describes a group and pages through its users.
func (s *Service) GetGroup(ctx context.Context, in *api.GetGroupInput) (*api.GetGroupOutput, error) {
	sc := scopeOf(ctx)
	var g *groupRecord
	var members []userRecord
	err := s.st.View(func(tx store.Tx) error {
		var err error
		if g, err = loadPrincipal[groupRecord](tx, groupKind, sc.account, str(in.GroupName)); err != nil {
			return err
		}
		for _, name := range g.Members {
			var u userRecord
			ok, err := get(tx, bucketUsers, key(sc.account, name), &u)
			if err != nil {
				return err
			}
			if ok {
				members = append(members, u)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	pg, truncated, next, err := paginate(members, func(u userRecord) string { return strings.ToLower(u.Name) }, in.Marker, in.MaxItems)
	if err != nil {
		return nil, err
	}
	group := groupOut(sc, g)
	out := &api.GetGroupOutput{Group: &group, Users: []api.User{}, IsTruncated: truncated, Marker: next}
	for _, u := range pg {
		out.Users = append(out.Users, userOut(sc, &u, false))
	}
	return out, nil
}

// UpdateGroup renames a group or moves it to another path.
func (s *Service) UpdateGroup(ctx context.Context, in *api.UpdateGroupInput) (*api.UpdateGroupOutput, error) {
	sc := scopeOf(ctx)
	err := s.st.Update(func(tx store.Tx) error {
		g, err := loadPrincipal[groupRecord](tx, groupKind, sc.account, str(in.GroupName))
		if err != nil {
			return err
		}
		oldName := g.Name
		if in.NewPath != nil {
			g.Path = *in.NewPath
		}
		if newName := str(in.NewGroupName); newName != "" && newName != oldName {
			if !strings.EqualFold(newName, oldName) {
				var existing groupRecord
				ok, err := get(tx, bucketGroups, key(sc.account, newName), &existing)
				if err != nil {
					return err
				}
				if ok {
					return alreadyExists("Group with name %s already exists.", newName)
				}
			}
			g.Name = newName
			if err := tx.Delete(bucketGroups, key(sc.account, oldName)); err != nil {
				return err
			}
		}
		return tx.Put(bucketGroups, key(sc.account, g.Name), g)
	})
	if err != nil {
		return nil, err
	}
	return &api.UpdateGroupOutput{}, nil
}

// DeleteGroup deletes a group. As in IAM, it must have no members and no
// policies first.
func (s *Service) DeleteGroup(ctx context.Context, in *api.DeleteGroupInput) (*api.DeleteGroupOutput, error) {
	sc := scopeOf(ctx)
	err := s.st.Update(func(tx store.Tx) error {
		g, err := loadPrincipal[groupRecord](tx, groupKind, sc.account, str(in.GroupName))
		if err != nil {
			return err
		}
		if len(g.Members) > 0 {
			return deleteConflict("Cannot delete entity, must remove users from group first.")
		}
		if err := checkNoGrants(&g.grants); err != nil {
			return err
		}
		return tx.Delete(bucketGroups, key(sc.account, g.Name))
	})
	if err != nil {
		return nil, err
	}
	return &api.DeleteGroupOutput{}, nil
}

// pageGroups renders one page of groups.
func pageGroups(sc scope, groups []groupRecord, marker *string, maxItems *int32) ([]api.Group, *bool, *string, error) {
	pg, truncated, next, err := paginate(groups, func(g groupRecord) string { return strings.ToLower(g.Name) }, marker, maxItems)
	if err != nil {
		return nil, nil, nil, err
	}
	out := []api.Group{}
	for _, g := range pg {
		out = append(out, groupOut(sc, &g))
	}
	return out, truncated, next, nil
}

// ListGroups lists the groups whose path starts with PathPrefix.
func (s *Service) ListGroups(ctx context.Context, in *api.ListGroupsInput) (*api.ListGroupsOutput, error) {
	sc := scopeOf(ctx)
	var groups []groupRecord
	err := s.st.View(func(tx store.Tx) error {
		var err error
		groups, err = all[groupRecord](tx, bucketGroups, sc.account)
		return err
	})
	if err != nil {
		return nil, err
	}
	prefix := pathOr(in.PathPrefix)
	groups = slices.DeleteFunc(groups, func(g groupRecord) bool { return !strings.HasPrefix(g.Path, prefix) })
	gs, truncated, next, err := pageGroups(sc, groups, in.Marker, in.MaxItems)
	if err != nil {
		return nil, err
	}
	return &api.ListGroupsOutput{Groups: gs, IsTruncated: truncated, Marker: next}, nil
}

// AddUserToGroup makes a user a member of a group; adding a member again
// changes nothing.
func (s *Service) AddUserToGroup(ctx context.Context, in *api.AddUserToGroupInput) (*api.AddUserToGroupOutput, error) {
	err := updatePrincipal[groupRecord](s, ctx, groupKind, str(in.GroupName), func(tx store.Tx, sc scope, g *groupRecord) error {
		u, err := loadPrincipal[userRecord](tx, userKind, sc.account, str(in.UserName))
		if err != nil {
			return err
		}
		if memberIndex(g, u.Name) >= 0 {
			return nil
		}
		groups, err := groupsOfUser(tx, sc.account, u.Name)
		if err != nil {
			return err
		}
		if len(groups) >= maxGroupsPerUser {
			return quotaExceeded("GroupsPerUser", maxGroupsPerUser)
		}
		g.Members = append(g.Members, u.Name)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &api.AddUserToGroupOutput{}, nil
}

// RemoveUserFromGroup ends a user's membership of a group.
func (s *Service) RemoveUserFromGroup(ctx context.Context, in *api.RemoveUserFromGroupInput) (*api.RemoveUserFromGroupOutput, error) {
	userName := str(in.UserName)
	err := updatePrincipal[groupRecord](s, ctx, groupKind, str(in.GroupName), func(tx store.Tx, sc scope, g *groupRecord) error {
		if _, err := loadPrincipal[userRecord](tx, userKind, sc.account, userName); err != nil {
			return err
		}
		i := memberIndex(g, userName)
		if i < 0 {
			return noSuchEntity("The user with name %s is not in group %s.", userName, g.Name)
		}
		g.Members = slices.Delete(g.Members, i, i+1)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &api.RemoveUserFromGroupOutput{}, nil
}

// ListGroupsForUser lists the groups a user is in.
func (s *Service) ListGroupsForUser(ctx context.Context, in *api.ListGroupsForUserInput) (*api.ListGroupsForUserOutput, error) {
	sc := scopeOf(ctx)
	var groups []groupRecord
	err := s.st.View(func(tx store.Tx) error {
		u, err := loadPrincipal[userRecord](tx, userKind, sc.account, str(in.UserName))
		if err != nil {
			return err
		}
		groups, err = groupsOfUser(tx, sc.account, u.Name)
		return err
	})
	if err != nil {
		return nil, err
	}
	gs, truncated, next, err := pageGroups(sc, groups, in.Marker, in.MaxItems)
	if err != nil {
		return nil, err
	}
	return &api.ListGroupsForUserOutput{Groups: gs, IsTruncated: truncated, Marker: next}, nil
}

// PutGroupPolicy adds or replaces an inline policy of a group.
func (s *Service) PutGroupPolicy(ctx context.Context, in *api.PutGroupPolicyInput) (*api.PutGroupPolicyOutput, error) {
	if err := putInline[groupRecord](s, ctx, groupKind, str(in.GroupName), str(in.PolicyName), str(in.PolicyDocument)); err != nil {
		return nil, err
	}
	return &api.PutGroupPolicyOutput{}, nil
}

// GetGroupPolicy returns an inline policy of a group, its document
// URL-encoded.
func (s *Service) GetGroupPolicy(ctx context.Context, in *api.GetGroupPolicyInput) (*api.GetGroupPolicyOutput, error) {
	owner, p, err := getInline[groupRecord](s, ctx, groupKind, str(in.GroupName), str(in.PolicyName))
	if err != nil {
		return nil, err
	}
	return &api.GetGroupPolicyOutput{GroupName: ptr(owner), PolicyName: ptr(p.Name), PolicyDocument: ptr(encodeDocument(p.Document))}, nil
}

// DeleteGroupPolicy deletes an inline policy of a group.
func (s *Service) DeleteGroupPolicy(ctx context.Context, in *api.DeleteGroupPolicyInput) (*api.DeleteGroupPolicyOutput, error) {
	if err := deleteInline[groupRecord](s, ctx, groupKind, str(in.GroupName), str(in.PolicyName)); err != nil {
		return nil, err
	}
	return &api.DeleteGroupPolicyOutput{}, nil
}

// ListGroupPolicies lists the names of a group's inline policies.
func (s *Service) ListGroupPolicies(ctx context.Context, in *api.ListGroupPoliciesInput) (*api.ListGroupPoliciesOutput, error) {
	names, truncated, next, err := listInline[groupRecord](s, ctx, groupKind, str(in.GroupName), in.Marker, in.MaxItems)
	if err != nil {
		return nil, err
	}
	return &api.ListGroupPoliciesOutput{PolicyNames: names, IsTruncated: truncated, Marker: next}, nil
}

// AttachGroupPolicy attaches a customer or AWS managed policy to a group.
func (s *Service) AttachGroupPolicy(ctx context.Context, in *api.AttachGroupPolicyInput) (*api.AttachGroupPolicyOutput, error) {
	if err := attachPolicy[groupRecord](s, ctx, groupKind, str(in.GroupName), str(in.PolicyArn)); err != nil {
		return nil, err
	}
	return &api.AttachGroupPolicyOutput{}, nil
}

// DetachGroupPolicy detaches a managed policy from a group.
func (s *Service) DetachGroupPolicy(ctx context.Context, in *api.DetachGroupPolicyInput) (*api.DetachGroupPolicyOutput, error) {
	if err := detachPolicy[groupRecord](s, ctx, groupKind, str(in.GroupName), str(in.PolicyArn)); err != nil {
		return nil, err
	}
	return &api.DetachGroupPolicyOutput{}, nil
}

// ListAttachedGroupPolicies lists the managed policies attached to a group.
func (s *Service) ListAttachedGroupPolicies(ctx context.Context, in *api.ListAttachedGroupPoliciesInput) (*api.ListAttachedGroupPoliciesOutput, error) {
	ps, truncated, next, err := listAttached[groupRecord](s, ctx, groupKind, str(in.GroupName), str(in.PathPrefix), in.Marker, in.MaxItems)
	if err != nil {
		return nil, err
	}
	return &api.ListAttachedGroupPoliciesOutput{AttachedPolicies: ps, IsTruncated: truncated, Marker: next}, nil
}
