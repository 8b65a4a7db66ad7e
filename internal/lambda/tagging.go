package lambda

import (
	"context"
	"maps"
	"strings"

	api "github.com/nephele-dev/nephele/internal/api/lambda"
	"github.com/nephele-dev/nephele/internal/store"
)

// maxTags is how many tags a function may carry.
const maxTags = 50

// taggedFunction is the function a tagging ARN names; Lambda tags
// functions, not their versions or aliases.
func taggedFunction(resource string) (string, error) {
	ref, err := parseFunction(resource, nil)
	if err != nil || !strings.Contains(resource, ":function:") {
		return "", invalidParameter("The resource %s is not a taggable Lambda resource served by nephele.", resource)
	}
	if ref.qualifier != "" {
		return "", invalidParameter("Tags on function aliases and versions are not supported. Please specify a function ARN.")
	}
	return ref.name, nil
}

// TagResource adds or replaces tags of a function.
func (s *Service) TagResource(ctx context.Context, in *api.TagResourceInput) (*api.TagResourceOutput, error) {
	sc := scopeOf(ctx)
	name, err := taggedFunction(str(in.Resource))
	if err != nil {
		return nil, err
	}
	err = s.st.Update(func(tx store.Tx) error {
		f, err := loadFunction(tx, sc, name)
		if err != nil {
			return err
		}
		if f.Tags == nil {
			f.Tags = map[string]string{}
		}
		maps.Copy(f.Tags, in.Tags)
		if len(f.Tags) > maxTags {
			return invalidParameter("Number of tags exceeds resource tag limit.")
		}
		return tx.Put(bucketFunctions, functionKey(sc, name), f)
	})
	if err != nil {
		return nil, err
	}
	return &api.TagResourceOutput{}, nil
}

// UntagResource removes tags of a function.
func (s *Service) UntagResource(ctx context.Context, in *api.UntagResourceInput) (*api.UntagResourceOutput, error) {
	sc := scopeOf(ctx)
	name, err := taggedFunction(str(in.Resource))
	if err != nil {
		return nil, err
	}
	err = s.st.Update(func(tx store.Tx) error {
		f, err := loadFunction(tx, sc, name)
		if err != nil {
			return err
		}
		for _, k := range in.TagKeys {
			delete(f.Tags, k)
		}
		return tx.Put(bucketFunctions, functionKey(sc, name), f)
	})
	if err != nil {
		return nil, err
	}
	return &api.UntagResourceOutput{}, nil
}

// ListTags returns a function's tags.
func (s *Service) ListTags(ctx context.Context, in *api.ListTagsInput) (*api.ListTagsOutput, error) {
	sc := scopeOf(ctx)
	name, err := taggedFunction(str(in.Resource))
	if err != nil {
		return nil, err
	}
	out := api.ListTagsOutput{Tags: map[string]string{}}
	err = s.st.View(func(tx store.Tx) error {
		f, err := loadFunction(tx, sc, name)
		if err != nil {
			return err
		}
		maps.Copy(out.Tags, f.Tags)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &out, nil
}
