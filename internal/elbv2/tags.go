package elbv2

import (
	"context"
	"errors"
	"maps"
	"slices"
	"strings"

	api "github.com/nephele-dev/nephele/internal/api/elbv2"
	"github.com/nephele-dev/nephele/internal/awserr"
	"github.com/nephele-dev/nephele/internal/store"
	"github.com/nephele-dev/nephele/internal/tags"
)

// tagRules are the common tag rules with ELB's TooManyTags.
var tagRules = tags.Rules{LimitErr: func(msg string) error {
	return apiErr("TooManyTags", "The quota for the number of tags that can be assigned to a resource has been reached")
}}

// awsCode is the AWS error code of err.
func awsCode(err error) string { return awserr.As(err).Code }

// checkTags validates the tags of a request for a resource that already
// has existing tags not replaced by them.
func checkTags(ts []api.Tag, existing int) error {
	seen := map[string]bool{}
	generic := make([]tags.Tag, 0, len(ts))
	for _, t := range ts {
		k := str(t.Key)
		if seen[k] {
			return apiErr("DuplicateTagKeys", "Tag key '%s' is duplicated", k)
		}
		seen[k] = true
		generic = append(generic, tags.Tag{Key: k, Value: str(t.Value)})
	}
	return tagRules.Validate(generic, existing, func(msg string) error { return validation("%s", msg) })
}

// tagsOf reads a resource's tags as a map.
func tagsOf(tx store.Tx, sc scope, arn string) (map[string]string, error) {
	m := map[string]string{}
	err := tx.Get(bucketTags, sc.Key(arn), &m)
	if errors.Is(err, store.ErrNotFound) {
		return map[string]string{}, nil
	}
	return m, err
}

// putTags merges add into a resource's tags (cur, or read if nil).
func putTags(tx store.Tx, sc scope, arn string, cur map[string]string, add []api.Tag) error {
	if len(add) == 0 {
		return nil
	}
	if cur == nil {
		var err error
		if cur, err = tagsOf(tx, sc, arn); err != nil {
			return err
		}
	}
	kept := 0
	for k := range cur {
		if !slices.ContainsFunc(add, func(t api.Tag) bool { return str(t.Key) == k }) {
			kept++
		}
	}
	if err := checkTags(add, kept); err != nil {
		return err
	}
	for _, t := range add {
		cur[str(t.Key)] = str(t.Value)
	}
	return tx.Put(bucketTags, sc.Key(arn), cur)
}

// checkTaggable confirms a tagged ARN names an existing resource, with the
// resource's own not-found error.
func checkTaggable(tx store.Tx, sc scope, arn string) error {
	var err error
	switch {
	case strings.Contains(arn, ":loadbalancer/"):
		_, err = loadLB(tx, sc, arn)
	case strings.Contains(arn, ":targetgroup/"):
		_, err = loadTG(tx, sc, arn)
	case strings.Contains(arn, ":listener/"):
		_, err = loadListener(tx, sc, arn)
	case strings.Contains(arn, ":listener-rule/"):
		_, err = loadRule(tx, sc, arn)
	default:
		err = validation("'%s' is not a valid resource ARN", arn)
	}
	return err
}

// AddTags adds or replaces tags on load balancers, target groups,
// listeners and rules, all or none.
func (s *Service) AddTags(ctx context.Context, in *api.AddTagsInput) (*api.AddTagsOutput, error) {
	sc := scopeOf(ctx)
	err := s.st.Update(func(tx store.Tx) error {
		for _, arn := range in.ResourceArns {
			if err := checkTaggable(tx, sc, arn); err != nil {
				return err
			}
			if err := putTags(tx, sc, arn, nil, in.Tags); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &api.AddTagsOutput{}, nil
}

// RemoveTags removes tags by key.
func (s *Service) RemoveTags(ctx context.Context, in *api.RemoveTagsInput) (*api.RemoveTagsOutput, error) {
	sc := scopeOf(ctx)
	err := s.st.Update(func(tx store.Tx) error {
		for _, arn := range in.ResourceArns {
			if err := checkTaggable(tx, sc, arn); err != nil {
				return err
			}
			cur, err := tagsOf(tx, sc, arn)
			if err != nil {
				return err
			}
			for _, k := range in.TagKeys {
				delete(cur, k)
			}
			if len(cur) == 0 {
				err = deleteTags(tx, sc, arn)
			} else {
				err = tx.Put(bucketTags, sc.Key(arn), cur)
			}
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &api.RemoveTagsOutput{}, nil
}

// DescribeTags lists the tags of up to 20 resources, keys in order.
func (s *Service) DescribeTags(ctx context.Context, in *api.DescribeTagsInput) (*api.DescribeTagsOutput, error) {
	sc := scopeOf(ctx)
	out := &api.DescribeTagsOutput{TagDescriptions: []api.TagDescription{}}
	err := s.st.View(func(tx store.Tx) error {
		for _, arn := range in.ResourceArns {
			if err := checkTaggable(tx, sc, arn); err != nil {
				return err
			}
			cur, err := tagsOf(tx, sc, arn)
			if err != nil {
				return err
			}
			d := api.TagDescription{ResourceArn: ptr(arn), Tags: []api.Tag{}}
			for _, k := range slices.Sorted(maps.Keys(cur)) {
				d.Tags = append(d.Tags, api.Tag{Key: ptr(k), Value: ptr(cur[k])})
			}
			out.TagDescriptions = append(out.TagDescriptions, d)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
