package iam

import (
	"slices"
	"strings"

	api "github.com/nephele-dev/nephele/internal/api/iam"
	"github.com/nephele-dev/nephele/internal/tags"
)

// tag is a stored tag.
type tag struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// tagRules are IAM's tag rules: the common ones, with too many tags answered
// as LimitExceeded, as IAM does.
var tagRules = tags.Rules{LimitErr: func(msg string) error { return limitExceeded("%s", msg) }}

// tagsIn converts request tags.
func tagsIn(in []api.Tag) []tag {
	var out []tag
	for _, t := range in {
		out = append(out, tag{Key: str(t.Key), Value: str(t.Value)})
	}
	return out
}

// tagsOut converts stored tags; nil when there are none, so the member is
// left out as AWS leaves it out.
func tagsOut(ts []tag) []api.Tag {
	var out []api.Tag
	for _, t := range ts {
		out = append(out, api.Tag{Key: ptr(t.Key), Value: ptr(t.Value)})
	}
	return out
}

// applyTags validates the tags of a Create or Tag request and returns
// existing with them merged in. IAM tag keys are not case sensitive for
// users and roles ("Rules for tagging IAM resources"), so a key that
// matches an existing one in any case replaces it, key spelling included;
// a key repeated within the request is InvalidInput. Tags are kept sorted by
// key, which also orders ListRoleTags and its kin.
func applyTags(existing []tag, add []tag) ([]tag, error) {
	// One request may not name a key twice, in any case: IAM refuses it
	// rather than let one of the two win.
	for i, t := range add {
		if slices.ContainsFunc(add[:i], func(p tag) bool { return strings.EqualFold(p.Key, t.Key) }) {
			return nil, invalidInput("Duplicate tag keys found. Please note that Tag keys are case insensitive.")
		}
	}
	kept := 0
	for _, e := range existing {
		if !slices.ContainsFunc(add, func(t tag) bool { return strings.EqualFold(t.Key, e.Key) }) {
			kept++
		}
	}
	generic := make([]tags.Tag, len(add))
	for i, t := range add {
		generic[i] = tags.Tag{Key: t.Key, Value: t.Value}
	}
	if err := tagRules.Validate(generic, kept, func(msg string) error { return invalidInput("%s", msg) }); err != nil {
		return nil, err
	}
	out := slices.Clone(existing)
	for _, t := range add {
		if i := slices.IndexFunc(out, func(e tag) bool { return strings.EqualFold(e.Key, t.Key) }); i >= 0 {
			out[i] = t
		} else {
			out = append(out, t)
		}
	}
	slices.SortFunc(out, func(a, b tag) int { return strings.Compare(a.Key, b.Key) })
	return out, nil
}

// removeTags drops the tags with the given keys; keys not present are
// ignored, as UntagRole and its kin do.
func removeTags(existing []tag, keys []string) []tag {
	return slices.DeleteFunc(slices.Clone(existing), func(t tag) bool {
		return slices.ContainsFunc(keys, func(k string) bool { return strings.EqualFold(k, t.Key) })
	})
}

// pageTags answers ListRoleTags and its kin.
func pageTags(ts []tag, marker *string, maxItems *int32) ([]api.Tag, *bool, *string, error) {
	pg, truncated, next, err := paginate(ts, func(t tag) string { return t.Key }, marker, maxItems)
	if err != nil {
		return nil, nil, nil, err
	}
	out := tagsOut(pg)
	if out == nil {
		out = []api.Tag{}
	}
	return out, truncated, next, nil
}
