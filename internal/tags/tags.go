// Package tags enforces the tag rules AWS services share: key and value
// lengths, the reserved "aws:" prefix, the allowed characters and the limit
// of 50 tags per resource (see "Tag naming limits and requirements" in the
// Tagging AWS Resources user guide).
//
// Error codes differ per service (EC2 answers InvalidParameterValue, IAM
// InvalidInput, Auto Scaling ValidationError), so callers pass a function
// that wraps the message in their own error.
package tags

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Tag is a key-value pair attached to a resource.
type Tag struct {
	Key   string
	Value string
}

// Limits AWS applies to every tagged resource.
const (
	// MaxPerResource is the most tags one resource may carry.
	MaxPerResource = 50
	// MaxKeyLen is the longest tag key, in Unicode characters.
	MaxKeyLen = 128
	// MaxValueLen is the longest tag value, in Unicode characters.
	MaxValueLen = 256
)

// reservedPrefix starts the keys AWS keeps for itself; it is matched
// without regard to case.
const reservedPrefix = "aws:"

// The patterns the AWS models declare for tag keys and values, quoted in
// validation messages.
const (
	keyPattern   = `[\p{L}\p{Z}\p{N}_.:/=+\-@]+`
	valuePattern = `[\p{L}\p{Z}\p{N}_.:/=+\-@]*`
)

// maxReported caps the violations one message lists, as AWS lists a handful.
const maxReported = 10

// Rules are the checks Validate applies. The zero value is the common rule
// set of the tagging guide.
type Rules struct {
	// Max is the most tags a resource may have; 0 means MaxPerResource.
	Max int
	// AnyCharacters lifts the character restriction: EC2 accepts any
	// character in tag keys and values ("Although EC2 allows for any
	// character in its tags, other AWS services are more restrictive").
	AnyCharacters bool
	// LimitErr, if set, builds the error for too many tags, for services
	// that answer it with a code of its own (EC2's TagLimitExceeded, IAM's
	// LimitExceeded); otherwise the errf passed to Validate builds it.
	LimitErr func(msg string) error
}

// Validate checks tags against the common rules; see Rules.Validate.
func Validate(tags []Tag, existing int, errf func(msg string) error) error {
	return Rules{}.Validate(tags, existing, errf)
}

// Validate checks the tags of one request and returns nil if every rule
// holds.
//
// Each tag's key and value are checked first. Every violation is listed in
// one message in the form query and JSON services use, "1 validation error
// detected: Value 'x' at 'tags.1.member.key' failed to satisfy constraint:
// Member must have length less than or equal to 128", and errf turns that
// message into the service's error.
//
// If the tags themselves are valid, the count is checked: existing is the
// number of tags the resource already has whose keys are not among tags (a
// tag with an existing key replaces it rather than adding one), and a key
// repeated within tags counts once.
func (r Rules) Validate(tags []Tag, existing int, errf func(msg string) error) error {
	var vs []string
	add := func(value, path, constraint string) {
		vs = append(vs, fmt.Sprintf("Value '%s' at '%s' failed to satisfy constraint: %s", value, path, constraint))
	}
	for i, t := range tags {
		keyPath := fmt.Sprintf("tags.%d.member.key", i+1)
		valuePath := fmt.Sprintf("tags.%d.member.value", i+1)
		switch n := utf8.RuneCountInString(t.Key); {
		case n < 1:
			add(t.Key, keyPath, "Member must have length greater than or equal to 1")
		case n > MaxKeyLen:
			add(t.Key, keyPath, fmt.Sprintf("Member must have length less than or equal to %d", MaxKeyLen))
		}
		if !r.AnyCharacters && t.Key != "" && !allowed(t.Key) {
			add(t.Key, keyPath, "Member must satisfy regular expression pattern: "+keyPattern)
		}
		if len(t.Key) >= len(reservedPrefix) && strings.EqualFold(t.Key[:len(reservedPrefix)], reservedPrefix) {
			add(t.Key, keyPath, "Tag keys starting with 'aws:' are reserved for internal use")
		}
		if utf8.RuneCountInString(t.Value) > MaxValueLen {
			add(t.Value, valuePath, fmt.Sprintf("Member must have length less than or equal to %d", MaxValueLen))
		}
		if !r.AnyCharacters && !allowed(t.Value) {
			add(t.Value, valuePath, "Member must satisfy regular expression pattern: "+valuePattern)
		}
	}
	if len(vs) > 0 {
		var b strings.Builder
		if len(vs) == 1 {
			b.WriteString("1 validation error detected: ")
		} else {
			fmt.Fprintf(&b, "%d validation errors detected: ", len(vs))
		}
		b.WriteString(strings.Join(vs[:min(len(vs), maxReported)], "; "))
		return errf(b.String())
	}
	return r.checkCount(tags, existing, errf)
}

// checkCount enforces the per-resource limit on the tags the resource would
// have after the request.
func (r Rules) checkCount(tags []Tag, existing int, errf func(msg string) error) error {
	max := r.Max
	if max <= 0 {
		max = MaxPerResource
	}
	keys := make(map[string]bool, len(tags))
	for _, t := range tags {
		keys[t.Key] = true
	}
	n := len(keys) + existing
	if n <= max {
		return nil
	}
	if r.LimitErr != nil {
		errf = r.LimitErr
	}
	return errf(fmt.Sprintf("The maximum number of tags per resource, %d, would be exceeded: the resource would have %d tags.", max, n))
}

// allowed reports whether s holds only the characters of the AWS tag
// pattern: letters (\p{L}), separators (\p{Z}, which is spaces, not tabs or
// newlines), numbers (\p{N}) and _ . : / = + - @. Invalid UTF-8 fails.
func allowed(s string) bool {
	for _, c := range s {
		switch {
		case c == utf8.RuneError:
			return false
		case unicode.IsLetter(c), unicode.Is(unicode.Z, c), unicode.IsNumber(c):
		case strings.ContainsRune("_.:/=+-@", c):
		default:
			return false
		}
	}
	return true
}
