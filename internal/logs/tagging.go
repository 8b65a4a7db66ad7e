package logs

import (
	"context"
	"maps"
	"slices"

	api "github.com/nephele-dev/nephele/internal/api/logs"
	"github.com/nephele-dev/nephele/internal/store"
	"github.com/nephele-dev/nephele/internal/tags"
)

// tagRules are the common tag rules, with too many tags answered as
// TooManyTagsException. The model has already checked each key and value
// against its pattern and length.
var tagRules = tags.Rules{LimitErr: tooManyTags}

// applyTags validates the tags of a create or tag request and returns
// existing with them merged in: a key already present takes the new
// value. Tag keys are case sensitive in CloudWatch Logs.
func applyTags(existing, add map[string]string) (map[string]string, error) {
	kept := 0
	for k := range existing {
		if _, replaced := add[k]; !replaced {
			kept++
		}
	}
	generic := make([]tags.Tag, 0, len(add))
	for _, k := range slices.Sorted(maps.Keys(add)) {
		generic = append(generic, tags.Tag{Key: k, Value: add[k]})
	}
	if err := tagRules.Validate(generic, kept, func(msg string) error { return invalidParameter("%s", msg) }); err != nil {
		return nil, err
	}
	if len(existing)+len(add) == 0 {
		return nil, nil
	}
	out := maps.Clone(existing)
	if out == nil {
		out = map[string]string{}
	}
	maps.Copy(out, add)
	return out, nil
}

// tagsOut renders a group's tags; always a map, as AWS always sends tags.
func tagsOut(ts map[string]string) map[string]string {
	if ts == nil {
		return map[string]string{}
	}
	return ts
}

// tagGroup adds tags to a log group.
func (s *Service) tagGroup(sc scope, name string, add map[string]string) error {
	return s.updateGroup(sc, name, func(g *groupRecord) error {
		ts, err := applyTags(g.Tags, add)
		if err != nil {
			return err
		}
		g.Tags = ts
		return nil
	})
}

// untagGroup removes tags from a log group; keys it does not have are
// ignored.
func (s *Service) untagGroup(sc scope, name string, keys []string) error {
	return s.updateGroup(sc, name, func(g *groupRecord) error {
		for _, k := range keys {
			delete(g.Tags, k)
		}
		return nil
	})
}

// groupTags reads a log group's tags.
func (s *Service) groupTags(sc scope, name string) (map[string]string, error) {
	var ts map[string]string
	err := s.st.View(func(tx store.Tx) error {
		g, err := loadGroup(tx, sc, name)
		if err != nil {
			return err
		}
		ts = g.Tags
		return nil
	})
	return tagsOut(ts), err
}

// TagResource tags a log group named by its ARN, the logGroupArn form
// without a trailing ":*" (the model's ARN pattern refuses the arn form
// before a handler runs, as AWS does; groupOfARN would accept it).
func (s *Service) TagResource(ctx context.Context, in *api.TagResourceInput) (*api.TagResourceOutput, error) {
	sc := scopeOf(ctx)
	name, err := groupOfARN(sc, str(in.ResourceArn))
	if err != nil {
		return nil, err
	}
	if err := s.tagGroup(sc, name, in.Tags); err != nil {
		return nil, err
	}
	return &api.TagResourceOutput{}, nil
}

// UntagResource removes tags from a log group named by its ARN.
func (s *Service) UntagResource(ctx context.Context, in *api.UntagResourceInput) (*api.UntagResourceOutput, error) {
	sc := scopeOf(ctx)
	name, err := groupOfARN(sc, str(in.ResourceArn))
	if err != nil {
		return nil, err
	}
	if err := s.untagGroup(sc, name, in.TagKeys); err != nil {
		return nil, err
	}
	return &api.UntagResourceOutput{}, nil
}

// ListTagsForResource lists the tags of a log group named by its ARN.
func (s *Service) ListTagsForResource(ctx context.Context, in *api.ListTagsForResourceInput) (*api.ListTagsForResourceOutput, error) {
	sc := scopeOf(ctx)
	name, err := groupOfARN(sc, str(in.ResourceArn))
	if err != nil {
		return nil, err
	}
	ts, err := s.groupTags(sc, name)
	if err != nil {
		return nil, err
	}
	return &api.ListTagsForResourceOutput{Tags: ts}, nil
}

// TagLogGroup is the deprecated form of TagResource, naming the group.
func (s *Service) TagLogGroup(ctx context.Context, in *api.TagLogGroupInput) (*api.TagLogGroupOutput, error) {
	if err := s.tagGroup(scopeOf(ctx), str(in.LogGroupName), in.Tags); err != nil {
		return nil, err
	}
	return &api.TagLogGroupOutput{}, nil
}

// UntagLogGroup is the deprecated form of UntagResource.
func (s *Service) UntagLogGroup(ctx context.Context, in *api.UntagLogGroupInput) (*api.UntagLogGroupOutput, error) {
	if err := s.untagGroup(scopeOf(ctx), str(in.LogGroupName), in.Tags); err != nil {
		return nil, err
	}
	return &api.UntagLogGroupOutput{}, nil
}

// ListTagsLogGroup is the deprecated form of ListTagsForResource.
func (s *Service) ListTagsLogGroup(ctx context.Context, in *api.ListTagsLogGroupInput) (*api.ListTagsLogGroupOutput, error) {
	ts, err := s.groupTags(scopeOf(ctx), str(in.LogGroupName))
	if err != nil {
		return nil, err
	}
	return &api.ListTagsLogGroupOutput{Tags: ts}, nil
}
