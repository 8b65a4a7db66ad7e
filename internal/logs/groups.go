package logs

import (
	"context"
	"slices"
	"strings"

	api "github.com/nephele-dev/nephele/internal/api/logs"
	"github.com/nephele-dev/nephele/internal/arn"
	"github.com/nephele-dev/nephele/internal/store"
)

// defaultClass is a log group's class when CreateLogGroup names none.
const defaultClass = "STANDARD"

// maxDescribe is the largest and default page of DescribeLogGroups and
// DescribeLogStreams ("If you don't specify a value, the default is up to
// 50 items"); the model's DescribeLimit range caps the limit member.
const maxDescribe = 50

// reservedGroupPrefix starts names only AWS may give a log group
// ("Log group names can't start with the string aws/"); AWS's own groups
// are named /aws/..., which is allowed.
const reservedGroupPrefix = "aws/"

// groupOut renders a log group as DescribeLogGroups lists it. A
// logGroupNamePattern search returns only arn, creationTime and
// logGroupName, as its documentation says.
func groupOut(sc scope, g *groupRecord, brief bool) api.LogGroup {
	out := api.LogGroup{
		Arn:          ptr(sc.groupARN(g.Name) + ":*"),
		CreationTime: ptr(millis(g.Created)),
		LogGroupName: ptr(g.Name),
	}
	if brief {
		return out
	}
	out.LogGroupArn = ptr(sc.groupARN(g.Name))
	out.LogGroupClass = ptr(g.Class)
	out.MetricFilterCount = ptr(int32(0))
	out.StoredBytes = ptr(g.StoredBytes)
	out.KmsKeyId = optional(g.KMSKeyID)
	out.DeletionProtectionEnabled = ptr(g.DeletionProtection)
	if g.RetentionDays > 0 {
		out.RetentionInDays = ptr(g.RetentionDays)
	}
	return out
}

// resolveGroup returns the name of the log group a request names, by
// logGroupName or by logGroupIdentifier (a name or an ARN, with or
// without the trailing ":*"); a request must use exactly one of the two.
func resolveGroup(sc scope, name, identifier *string) (string, error) {
	switch {
	case name != nil && identifier != nil, name == nil && identifier == nil:
		return "", invalidParameter("You must include either logGroupIdentifier or logGroupName, but not both.")
	case name != nil:
		return *name, nil
	}
	id := *identifier
	if !strings.HasPrefix(id, "arn:") {
		return id, nil
	}
	return groupOfARN(sc, id)
}

// groupOfARN returns the name of the log group an ARN names. An ARN of
// another account or region names a group this caller cannot see.
func groupOfARN(sc scope, s string) (string, error) {
	a, err := arn.Parse(s)
	if err != nil || a.Service != "logs" {
		return "", invalidParameter("Invalid ARN: %s", s)
	}
	name, ok := strings.CutPrefix(a.Resource, "log-group:")
	if !ok {
		return "", resourceNotFound()
	}
	name = strings.TrimSuffix(name, ":*")
	if name == "" || strings.ContainsAny(name, ":*") {
		return "", invalidParameter("Invalid ARN: %s", s)
	}
	if a.AccountID != sc.account || a.Region != sc.region || a.Partition != sc.partition {
		return "", groupNotFound()
	}
	return name, nil
}

// CreateLogGroup creates a log group whose events never expire until a
// retention policy is put on it.
func (s *Service) CreateLogGroup(ctx context.Context, in *api.CreateLogGroupInput) (*api.CreateLogGroupOutput, error) {
	sc := scopeOf(ctx)
	name := str(in.LogGroupName)
	if strings.HasPrefix(name, reservedGroupPrefix) {
		return nil, invalidParameter("Log group names can't start with the string %s", reservedGroupPrefix)
	}
	ts, err := applyTags(nil, in.Tags)
	if err != nil {
		return nil, err
	}
	g := &groupRecord{
		Name: name, Created: s.clk.Now().UTC(), Class: defaultClass, KMSKeyID: str(in.KmsKeyId), Tags: ts,
		DeletionProtection: in.DeletionProtectionEnabled != nil && *in.DeletionProtectionEnabled,
	}
	if in.LogGroupClass != nil {
		g.Class = *in.LogGroupClass
	}
	err = s.st.Update(func(tx store.Tx) error {
		var existing groupRecord
		ok, err := get(tx, bucketGroups, groupKey(sc, name), &existing)
		if err != nil {
			return err
		}
		if ok {
			return groupExists()
		}
		return tx.Put(bucketGroups, groupKey(sc, name), g)
	})
	if err != nil {
		return nil, err
	}
	return &api.CreateLogGroupOutput{}, nil
}

// DeleteLogGroup deletes a log group with all its streams and events.
func (s *Service) DeleteLogGroup(ctx context.Context, in *api.DeleteLogGroupInput) (*api.DeleteLogGroupOutput, error) {
	sc := scopeOf(ctx)
	err := s.st.Update(func(tx store.Tx) error {
		g, err := loadGroup(tx, sc, str(in.LogGroupName))
		if err != nil {
			return err
		}
		if g.DeletionProtection {
			return deletionProtected()
		}
		gk := groupKey(sc, g.Name)
		if err := deleteUnder(tx, bucketChunks, gk); err != nil {
			return err
		}
		if err := deleteUnder(tx, bucketStreams, gk); err != nil {
			return err
		}
		return tx.Delete(bucketGroups, gk)
	})
	if err != nil {
		return nil, err
	}
	return &api.DeleteLogGroupOutput{}, nil
}

// DescribeLogGroups lists the log groups of the region in ASCII order of
// their names, narrowed by a name prefix, a case-sensitive substring
// (logGroupNamePattern), a class, or a list of names and ARNs.
func (s *Service) DescribeLogGroups(ctx context.Context, in *api.DescribeLogGroupsInput) (*api.DescribeLogGroupsOutput, error) {
	sc := scopeOf(ctx)
	if in.LogGroupNamePrefix != nil && in.LogGroupNamePattern != nil {
		return nil, invalidParameter("logGroupNamePrefix and logGroupNamePattern are mutually exclusive. Only one of these parameters can be passed.")
	}
	if len(in.LogGroupIdentifiers) > 0 && (in.LogGroupNamePrefix != nil || in.LogGroupNamePattern != nil || in.LogGroupClass != nil) {
		return nil, invalidParameter("If you specify logGroupIdentifiers, the only other filter that you can choose to specify is includeLinkedAccounts.")
	}
	var names []string
	for _, id := range in.LogGroupIdentifiers {
		name := id
		if strings.HasPrefix(id, "arn:") {
			n, err := groupOfARN(sc, id)
			if err != nil {
				continue // another account's group: none of ours
			}
			name = n
		}
		names = append(names, name)
	}
	pattern := str(in.LogGroupNamePattern)
	var groups []groupRecord
	err := s.st.View(func(tx store.Tx) error {
		return tx.ForEach(bucketGroups, regionPrefix(sc)+str(in.LogGroupNamePrefix), func(_ string, decode func(any) error) error {
			var g groupRecord
			if err := decode(&g); err != nil {
				return err
			}
			switch {
			case !strings.Contains(g.Name, pattern):
			case in.LogGroupClass != nil && g.Class != *in.LogGroupClass:
			case len(in.LogGroupIdentifiers) > 0 && !slices.Contains(names, g.Name):
			default:
				groups = append(groups, g)
			}
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	pg, next, err := paginate(groups, func(g groupRecord) string { return g.Name }, in.NextToken, in.Limit, false)
	if err != nil {
		return nil, err
	}
	out := &api.DescribeLogGroupsOutput{LogGroups: []api.LogGroup{}, NextToken: next}
	for _, g := range pg {
		out.LogGroups = append(out.LogGroups, groupOut(sc, &g, in.LogGroupNamePattern != nil))
	}
	return out, nil
}

// PutLogGroupDeletionProtection turns a log group's deletion protection on
// or off; while on, the group and its streams cannot be deleted.
func (s *Service) PutLogGroupDeletionProtection(ctx context.Context, in *api.PutLogGroupDeletionProtectionInput) (*api.PutLogGroupDeletionProtectionOutput, error) {
	sc := scopeOf(ctx)
	name, err := resolveGroup(sc, nil, in.LogGroupIdentifier)
	if err != nil {
		return nil, err
	}
	err = s.updateGroup(sc, name, func(g *groupRecord) error {
		g.DeletionProtection = in.DeletionProtectionEnabled != nil && *in.DeletionProtectionEnabled
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &api.PutLogGroupDeletionProtectionOutput{}, nil
}

// updateGroup applies fn to a stored log group.
func (s *Service) updateGroup(sc scope, name string, fn func(g *groupRecord) error) error {
	return s.st.Update(func(tx store.Tx) error {
		g, err := loadGroup(tx, sc, name)
		if err != nil {
			return err
		}
		if err := fn(g); err != nil {
			return err
		}
		return tx.Put(bucketGroups, groupKey(sc, name), g)
	})
}
