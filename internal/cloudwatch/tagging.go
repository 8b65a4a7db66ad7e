package cloudwatch

import (
	"context"
	"errors"
	"slices"
	"strings"

	api "github.com/nephele-dev/nephele/internal/api/cloudwatch"
	"github.com/nephele-dev/nephele/internal/arn"
	"github.com/nephele-dev/nephele/internal/store"
	"github.com/nephele-dev/nephele/internal/tags"
)

// checkTags validates tags being added to a resource that has existing
// other tags.
func checkTags(ts []api.Tag, existing int) error {
	generic := make([]tags.Tag, len(ts))
	for i, t := range ts {
		generic[i] = tags.Tag{Key: str(t.Key), Value: str(t.Value)}
	}
	return tags.Validate(generic, existing, func(msg string) error { return invalidValue("%s", msg) })
}

// withTags runs change on the tags of the alarm or dashboard an ARN
// names, the taggable resources nephele serves (CloudWatch also tags
// Contributor Insights rules and metric streams).
func (s *Service) withTags(ctx context.Context, resourceARN string, write bool, change func(*[]api.Tag) error) error {
	sc := scopeOf(ctx)
	a, err := arn.Parse(resourceARN)
	if err != nil || a.Service != "cloudwatch" {
		return invalidValue("The value %s for parameter ResourceARN is invalid.", resourceARN)
	}
	gone := resourceNotFoundException("The resource %s does not exist.", resourceARN)
	run := s.st.View
	if write {
		run = s.st.Update
	}
	if name, ok := strings.CutPrefix(a.Resource, "alarm:"); ok {
		if a.Region != sc.Region || a.AccountID != sc.Account {
			return gone
		}
		return run(func(tx store.Tx) error {
			var r alarmRecord
			if err := tx.Get(bucketAlarms, sc.Key(name), &r); err != nil {
				if errors.Is(err, store.ErrNotFound) {
					return gone
				}
				return err
			}
			if err := change(&r.Tags); err != nil || !write {
				return err
			}
			return tx.Put(bucketAlarms, sc.Key(name), r)
		})
	}
	if name, ok := strings.CutPrefix(a.Resource, "dashboard/"); ok && a.AccountID == sc.Account {
		return run(func(tx store.Tx) error {
			var r dashboardRecord
			if err := tx.Get(bucketDashboards, dashboardKey(sc.Account, name), &r); err != nil {
				if errors.Is(err, store.ErrNotFound) {
					return gone
				}
				return err
			}
			if err := change(&r.Tags); err != nil || !write {
				return err
			}
			return tx.Put(bucketDashboards, dashboardKey(sc.Account, name), r)
		})
	}
	return gone
}

// TagResource adds or replaces tags of an alarm.
func (s *Service) TagResource(ctx context.Context, in *api.TagResourceInput) (*api.TagResourceOutput, error) {
	if in.ResourceARN == nil {
		return nil, missing("ResourceARN")
	}
	err := s.withTags(ctx, *in.ResourceARN, true, func(ts *[]api.Tag) error {
		kept := slices.DeleteFunc(slices.Clone(*ts), func(t api.Tag) bool {
			return slices.ContainsFunc(in.Tags, func(n api.Tag) bool { return str(n.Key) == str(t.Key) })
		})
		if err := checkTags(in.Tags, len(kept)); err != nil {
			return err
		}
		*ts = append(kept, in.Tags...)
		slices.SortFunc(*ts, func(a, b api.Tag) int { return strings.Compare(str(a.Key), str(b.Key)) })
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &api.TagResourceOutput{}, nil
}

// UntagResource removes tags of an alarm; absent keys are ignored.
func (s *Service) UntagResource(ctx context.Context, in *api.UntagResourceInput) (*api.UntagResourceOutput, error) {
	if in.ResourceARN == nil {
		return nil, missing("ResourceARN")
	}
	err := s.withTags(ctx, *in.ResourceARN, true, func(ts *[]api.Tag) error {
		*ts = slices.DeleteFunc(*ts, func(t api.Tag) bool { return slices.Contains(in.TagKeys, str(t.Key)) })
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &api.UntagResourceOutput{}, nil
}

// ListTagsForResource lists an alarm's tags.
func (s *Service) ListTagsForResource(ctx context.Context, in *api.ListTagsForResourceInput) (*api.ListTagsForResourceOutput, error) {
	if in.ResourceARN == nil {
		return nil, missing("ResourceARN")
	}
	out := &api.ListTagsForResourceOutput{Tags: []api.Tag{}}
	err := s.withTags(ctx, *in.ResourceARN, false, func(ts *[]api.Tag) error {
		out.Tags = append(out.Tags, *ts...)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
