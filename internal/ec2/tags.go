package ec2

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"

	api "github.com/nephele-dev/nephele/internal/api/ec2"
	"github.com/nephele-dev/nephele/internal/awserr"
	"github.com/nephele-dev/nephele/internal/filter"
	"github.com/nephele-dev/nephele/internal/page"
	"github.com/nephele-dev/nephele/internal/service"
	"github.com/nephele-dev/nephele/internal/store"
	"github.com/nephele-dev/nephele/internal/tags"
)

// bucketTags holds the tags of every resource, keyed by the resource's
// scope key, as a sorted []api.Tag.
const bucketTags = "ec2/tags"

// kind is one type of taggable resource: the ID prefix that names it, the
// resource type DescribeTags and TagSpecifications call it, and the bucket
// that holds it.
type kind struct {
	prefix       string
	resourceType string
	bucket       string
}

// kinds are the taggable resources nephele keeps, by ID prefix.
var kinds = map[string]kind{}

// register adds a kind of taggable resource; each resource file registers
// its own in an init function.
func register(k kind) kind {
	kinds[k.prefix] = k
	return k
}

// kindOf returns the kind of resource an ID names, from its prefix.
func kindOf(id string) (kind, bool) {
	prefix, _, ok := strings.Cut(id, "-")
	if !ok {
		return kind{}, false
	}
	k, ok := kinds[prefix]
	return k, ok
}

// ec2TagRules are EC2's tag rules: any character, 50 per resource, and
// TagLimitExceeded past that.
var ec2TagRules = tags.Rules{
	AnyCharacters: true,
	LimitErr:      func(msg string) error { return awserr.BadRequest("TagLimitExceeded", "%s", msg) },
}

func (s *Service) tagOperations() []service.Operation {
	return []service.Operation{
		service.Handle("CreateTags", s.CreateTags),
		service.Handle("DeleteTags", s.DeleteTags),
		service.Handle("DescribeTags", s.DescribeTags),
	}
}

// readTags returns the tags of resource id; nil if it has none.
func readTags(tx store.Tx, sc scope, id string) ([]api.Tag, error) {
	var ts []api.Tag
	err := tx.Get(bucketTags, sc.key(id), &ts)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	return ts, err
}

// writeTags stores the tags of resource id, sorted by key; none deletes
// the entry.
func writeTags(tx store.Tx, sc scope, id string, ts []api.Tag) error {
	if len(ts) == 0 {
		return tx.Delete(bucketTags, sc.key(id))
	}
	slices.SortFunc(ts, func(a, b api.Tag) int { return strings.Compare(str(a.Key), str(b.Key)) })
	return tx.Put(bucketTags, sc.key(id), ts)
}

// tagMap is tags as a map, for the tag filters.
func tagMap(ts []api.Tag) map[string]string {
	m := make(map[string]string, len(ts))
	for _, t := range ts {
		m[str(t.Key)] = str(t.Value)
	}
	return m
}

// addTags merges add into the tags of id (a key already there takes the
// new value) after checking EC2's tag rules.
func addTags(tx store.Tx, sc scope, id string, add []api.Tag) error {
	have, err := readTags(tx, sc, id)
	if err != nil {
		return err
	}
	check := make([]tags.Tag, len(add))
	keys := map[string]bool{}
	for i, t := range add {
		check[i] = tags.Tag{Key: str(t.Key), Value: str(t.Value)}
		keys[str(t.Key)] = true
	}
	kept := slices.DeleteFunc(slices.Clone(have), func(t api.Tag) bool { return keys[str(t.Key)] })
	if err := ec2TagRules.Validate(check, len(kept), func(msg string) error { return invalidParameterValue("%s", msg) }); err != nil {
		return err
	}
	for _, t := range add {
		kept = append(kept, api.Tag{Key: ptr(str(t.Key)), Value: ptr(str(t.Value))})
	}
	return writeTags(tx, sc, id, kept)
}

// exists reports whether resource id exists in scope.
func exists(tx store.Tx, sc scope, k kind, id string) (bool, error) {
	var raw json.RawMessage
	err := tx.Get(k.bucket, sc.key(id), &raw)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

// checkTaggable finds the resources a CreateTags or DeleteTags names:
// an ID of no known shape is InvalidID, one of a known kind that does not
// exist is that kind's NotFound error.
func checkTaggable(tx store.Tx, sc scope, ids []string) error {
	for _, id := range ids {
		k, ok := kindOf(id)
		if !ok {
			return awserr.BadRequest("InvalidID", "The ID '%s' is not valid", id)
		}
		found, err := exists(tx, sc, k, id)
		if err != nil {
			return err
		}
		if !found {
			return notFound(notFoundCode(k), nounOf(k), id)
		}
	}
	return nil
}

// notFoundCode is the NotFound error code of a kind, e.g.
// InvalidInstanceID.NotFound.
func notFoundCode(k kind) string {
	if code, ok := notFoundCodes[k.prefix]; ok {
		return code
	}
	return "InvalidID"
}

// notFoundCodes and nouns are the words EC2's NotFound errors use per kind.
var (
	notFoundCodes = map[string]string{
		"i": "InvalidInstanceID.NotFound", "vpc": "InvalidVpcID.NotFound", "subnet": "InvalidSubnetID.NotFound",
		"sg": "InvalidGroup.NotFound", "key": "InvalidKeyPair.NotFound", "ami": "InvalidAMIID.NotFound",
		"vol": "InvalidVolume.NotFound", "lt": "InvalidLaunchTemplateId.NotFound", "pg": "InvalidPlacementGroup.Unknown",
		"snap": "InvalidSnapshot.NotFound", "sir": "InvalidSpotInstanceRequestID.NotFound",
		"sgr": "InvalidSecurityGroupRuleId.NotFound",
	}
	nouns = map[string]string{
		"i": "instance", "vpc": "vpc", "subnet": "subnet", "sg": "security group", "key": "key pair", "ami": "image",
		"vol": "volume", "lt": "launch template", "pg": "placement group", "snap": "snapshot", "sir": "spot instance request",
		"sgr": "security group rule",
	}
)

func nounOf(k kind) string {
	if n, ok := nouns[k.prefix]; ok {
		return n
	}
	return k.resourceType
}

// CreateTags adds or overwrites tags on resources. Every resource is
// checked before any is changed, so a bad ID changes nothing.
func (s *Service) CreateTags(ctx context.Context, in *api.CreateTagsInput) (*api.CreateTagsOutput, error) {
	sc := scopeOf(ctx)
	if err := s.seed(sc); err != nil {
		return nil, err
	}
	err := s.st.Update(func(tx store.Tx) error {
		if err := checkTaggable(tx, sc, in.Resources); err != nil {
			return err
		}
		for _, id := range in.Resources {
			if err := addTags(tx, sc, id, in.Tags); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &api.CreateTagsOutput{}, nil
}

// DeleteTags removes tags from resources: a tag given with a value is
// removed only if its value matches; given without one (or with no tags
// at all, every tag) it is removed whatever its value.
func (s *Service) DeleteTags(ctx context.Context, in *api.DeleteTagsInput) (*api.DeleteTagsOutput, error) {
	sc := scopeOf(ctx)
	if err := s.seed(sc); err != nil {
		return nil, err
	}
	err := s.st.Update(func(tx store.Tx) error {
		if err := checkTaggable(tx, sc, in.Resources); err != nil {
			return err
		}
		for _, id := range in.Resources {
			have, err := readTags(tx, sc, id)
			if err != nil {
				return err
			}
			if in.Tags == nil {
				have = nil
			}
			have = slices.DeleteFunc(have, func(t api.Tag) bool {
				return slices.ContainsFunc(in.Tags, func(d api.Tag) bool {
					return str(d.Key) == str(t.Key) && (d.Value == nil || str(d.Value) == str(t.Value))
				})
			})
			if err := writeTags(tx, sc, id, have); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &api.DeleteTagsOutput{}, nil
}

// tagDescriptionFields are DescribeTags's filters.
var tagDescriptionFields = filter.Fields[api.TagDescription]{
	"key":           func(t api.TagDescription) []string { return []string{str(t.Key)} },
	"value":         func(t api.TagDescription) []string { return []string{str(t.Value)} },
	"resource-id":   func(t api.TagDescription) []string { return []string{str(t.ResourceId)} },
	"resource-type": func(t api.TagDescription) []string { return []string{str(t.ResourceType)} },
}

// DescribeTags lists tags of every resource in the region, ordered by
// resource and key, with DescribeTags's filters and pagination (at most
// 1000 per page).
func (s *Service) DescribeTags(ctx context.Context, in *api.DescribeTagsInput) (*api.DescribeTagsOutput, error) {
	sc := scopeOf(ctx)
	if err := s.seed(sc); err != nil {
		return nil, err
	}
	var all []api.TagDescription
	err := s.st.View(func(tx store.Tx) error {
		return tx.ForEach(bucketTags, sc.prefix(), func(key string, decode func(any) error) error {
			var ts []api.Tag
			if err := decode(&ts); err != nil {
				return err
			}
			id := strings.TrimPrefix(key, sc.prefix())
			k, _ := kindOf(id)
			for _, t := range ts {
				all = append(all, api.TagDescription{Key: t.Key, Value: t.Value, ResourceId: ptr(id), ResourceType: ptr(k.resourceType)})
			}
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	matched, err := filter.Apply(all, toFilters(in.Filters), tagDescriptionFields, nil)
	if err != nil {
		return nil, err
	}
	pageOf, next, err := page.ByKey(matched, func(t api.TagDescription) string { return str(t.ResourceId) + "\x00" + str(t.Key) },
		str(in.NextToken), int(deref(in.MaxResults)), 0, 1000)
	if err != nil {
		return nil, pageError(err, str(in.NextToken), 1000)
	}
	return &api.DescribeTagsOutput{Tags: nonNil(pageOf), NextToken: optional(next)}, nil
}

// tagSpecTags returns the tags TagSpecifications give resources of
// resourceType, after checking that every specification names a type the
// operation can tag (allowed).
func tagSpecTags(specs []api.TagSpecification, resourceType string, allowed ...string) ([]api.Tag, error) {
	var out []api.Tag
	for _, spec := range specs {
		rt := str(spec.ResourceType)
		if !slices.Contains(allowed, rt) {
			return nil, invalidParameterValue("'%s' is not a valid taggable resource type for this operation.", rt)
		}
		if rt == resourceType {
			out = append(out, spec.Tags...)
		}
	}
	return out, nil
}

// toFilters converts the API's Filter list for the filter engine.
func toFilters(fs []api.Filter) []filter.Filter {
	out := make([]filter.Filter, len(fs))
	for i, f := range fs {
		out[i] = filter.Filter{Name: str(f.Name), Values: f.Values}
	}
	return out
}

// deref reads an optional number; absent is 0.
func deref[T int32 | int64](p *T) T {
	if p == nil {
		return 0
	}
	return *p
}

// optional returns nil for "", so empty strings are left out of responses.
func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// nonNil returns s, or an empty slice for nil: EC2 sends empty sets, and
// SDKs index them.
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
