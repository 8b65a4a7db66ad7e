package autoscaling

import (
	"context"
	"slices"
	"strings"

	api "github.com/nephele-dev/nephele/internal/api/autoscaling"
	"github.com/nephele-dev/nephele/internal/page"
	"github.com/nephele-dev/nephele/internal/store"
	"github.com/nephele-dev/nephele/internal/tags"
)

// maxTags is the tags a group may have.
const maxTags = 50

// tagOf is a request tag as a group's tag.
func tagOf(group string, t api.Tag) api.TagDescription {
	return api.TagDescription{Key: t.Key, Value: ptr(str(t.Value)), PropagateAtLaunch: ptr(deref(t.PropagateAtLaunch)),
		ResourceId: ptr(group), ResourceType: ptr("auto-scaling-group")}
}

// checkTags applies the tag rules to a group's whole set.
func checkTags(ts []api.TagDescription) error {
	generic := make([]tags.Tag, len(ts))
	for i, t := range ts {
		generic[i] = tags.Tag{Key: str(t.Key), Value: str(t.Value)}
	}
	return tags.Rules{Max: maxTags}.Validate(generic, 0, func(msg string) error { return validation("%s", msg) })
}

// CreateOrUpdateTags adds or replaces tags of groups.
func (s *Service) CreateOrUpdateTags(ctx context.Context, in *api.CreateOrUpdateTagsType) (*api.CreateOrUpdateTagsOutput, error) {
	return &api.CreateOrUpdateTagsOutput{}, s.changeTags(ctx, in.Tags, false)
}

// DeleteTags removes tags of groups.
func (s *Service) DeleteTags(ctx context.Context, in *api.DeleteTagsType) (*api.DeleteTagsOutput, error) {
	return &api.DeleteTagsOutput{}, s.changeTags(ctx, in.Tags, true)
}

func (s *Service) changeTags(ctx context.Context, ts []api.Tag, remove bool) error {
	sc := scopeOf(ctx)
	return s.st.Update(func(tx store.Tx) error {
		for _, t := range ts {
			if str(t.ResourceType) != "auto-scaling-group" {
				return validation("Invalid resource type: %s. Only auto-scaling-group is supported.", str(t.ResourceType))
			}
			g, err := loadGroup(tx, sc, str(t.ResourceId))
			if err != nil {
				return err
			}
			g.Tags = slices.DeleteFunc(g.Tags, func(e api.TagDescription) bool { return str(e.Key) == str(t.Key) })
			if !remove {
				g.Tags = append(g.Tags, tagOf(g.Name, t))
				slices.SortFunc(g.Tags, func(a, b api.TagDescription) int { return strings.Compare(str(a.Key), str(b.Key)) })
				if err := checkTags(g.Tags); err != nil {
					return err
				}
			}
			if err := putGroup(tx, sc, g); err != nil {
				return err
			}
		}
		return nil
	})
}

// DescribeTags lists the tags of every group, narrowed by filters.
func (s *Service) DescribeTags(ctx context.Context, in *api.DescribeTagsType) (*api.TagsType, error) {
	all, err := s.listGroups(scopeOf(ctx))
	if err != nil {
		return nil, err
	}
	var rows []api.TagDescription
	for _, g := range all {
		for _, t := range g.Tags {
			keep := true
			for _, f := range in.Filters {
				var v string
				switch str(f.Name) {
				case "auto-scaling-group":
					v = g.Name
				case "key":
					v = str(t.Key)
				case "value":
					v = str(t.Value)
				case "propagate-at-launch":
					v = map[bool]string{true: "true", false: "false"}[deref(t.PropagateAtLaunch)]
				default:
					return nil, validation("Filter type %s is not correct. Allowed Filter types are: auto-scaling-group key value propagate-at-launch", str(f.Name))
				}
				keep = keep && slices.Contains(f.Values, v)
			}
			if keep {
				rows = append(rows, t)
			}
		}
	}
	pg, next, err := page.ByKey(rows, func(t api.TagDescription) string { return str(t.ResourceId) + "\x00" + str(t.Key) }, str(in.NextToken), int(deref(in.MaxRecords)), 50, 100)
	if err != nil {
		return nil, badToken()
	}
	out := &api.TagsType{Tags: nonNil(pg)}
	if next != "" {
		out.NextToken = &next
	}
	return out, nil
}
