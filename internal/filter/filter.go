// Package filter applies the Filter.N parameters of EC2 Describe* calls
// (and the filters of the other services that copy them) to a list of
// resources.
//
// EC2's rules, from the "Filter" data type of the EC2 API reference: a
// resource is kept if it matches every filter, and it matches a filter if
// any of its values for the filter's name matches any of the filter's
// values; values may use the '*' and '?' wildcards. "tag:<key>", "tag-key"
// and "tag-value" filter on tags.
package filter

import (
	"strings"

	"github.com/nephele-dev/nephele/internal/awserr"
)

// Filter is one Filter.N of a request: a name and the values to match.
type Filter struct {
	Name   string
	Values []string
}

// Fields maps a filter name to the values a resource has for it, e.g.
// "instance-state-name" to func(i Instance) []string { return
// []string{i.State.Name} }. A resource that has no value for a field returns
// nil and matches no filter on it.
type Fields[T any] map[string]func(T) []string

// Apply keeps the items that match every filter (AND across filters, OR
// across a filter's values); values support the wildcards described at
// Match. Names in fields take precedence; otherwise "tag:<key>" matches the
// value of tag <key> (exact, case-sensitive key), "tag-key" matches tag keys
// and "tag-value" tag values, with tags from tagsOf. A nil tagsOf means the
// resource type has no tags, and tag filters are then unknown.
//
// An unknown filter name returns InvalidParameterValue "The filter '<name>'
// is invalid", as EC2 does, and so does a filter without values. Apply
// checks every filter before looking at items, so a bad filter fails even
// on an empty list. items is not modified; the result is a new slice.
func Apply[T any](items []T, filters []Filter, fields Fields[T], tagsOf func(T) map[string]string) ([]T, error) {
	type compiled struct {
		values func(T) []string
		globs  []glob
	}
	cs := make([]compiled, 0, len(filters))
	for _, f := range filters {
		values := lookup(f.Name, fields, tagsOf)
		if values == nil {
			return nil, awserr.BadRequest("InvalidParameterValue", "The filter '%s' is invalid", f.Name)
		}
		if len(f.Values) == 0 {
			return nil, awserr.BadRequest("InvalidParameterValue", "The filter '%s' requires at least one value", f.Name)
		}
		c := compiled{values: values, globs: make([]glob, len(f.Values))}
		for i, v := range f.Values {
			c.globs[i] = compile(v)
		}
		cs = append(cs, c)
	}
	var out []T
items:
	for _, it := range items {
		for _, c := range cs {
			if !anyMatch(c.globs, c.values(it)) {
				continue items
			}
		}
		out = append(out, it)
	}
	return out, nil
}

// lookup returns the values function for a filter name, or nil if the name
// is unknown.
func lookup[T any](name string, fields Fields[T], tagsOf func(T) map[string]string) func(T) []string {
	if f, ok := fields[name]; ok && f != nil {
		return f
	}
	if tagsOf == nil {
		return nil
	}
	if key, ok := strings.CutPrefix(name, "tag:"); ok {
		return func(it T) []string {
			if v, ok := tagsOf(it)[key]; ok {
				return []string{v}
			}
			return nil
		}
	}
	switch name {
	case "tag-key":
		return func(it T) []string {
			tags := tagsOf(it)
			keys := make([]string, 0, len(tags))
			for k := range tags {
				keys = append(keys, k)
			}
			return keys
		}
	case "tag-value":
		return func(it T) []string {
			tags := tagsOf(it)
			values := make([]string, 0, len(tags))
			for _, v := range tags {
				values = append(values, v)
			}
			return values
		}
	}
	return nil
}

func anyMatch(globs []glob, values []string) bool {
	for _, v := range values {
		for _, g := range globs {
			if g.match(v) {
				return true
			}
		}
	}
	return false
}
