// Package validate checks a decoded input against its model shape: required
// members, string and list lengths, numeric ranges, enums and patterns. The
// gateway turns the violations into each service's own validation error, so
// handlers only enforce business rules.
package validate

import (
	"fmt"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/nephele-dev/nephele/internal/api/model"
	"github.com/nephele-dev/nephele/internal/protocol"
)

// Violation is one broken constraint.
type Violation struct {
	// Path is the member path in the service's wire spelling, e.g.
	// "roleName" or "tags.1.member.key".
	Path string
	// Member is the top-level member name as the model spells it.
	Member string
	// Value is the offending value as AWS quotes it ("null", "'abc'", "12").
	Value string
	// Constraint is AWS's wording, e.g. "Member must not be null".
	Constraint string
	// Missing marks a required member that is absent.
	Missing bool
}

// maxReported caps the violations listed, as AWS lists a handful.
const maxReported = 10

// Input validates in (a pointer to a generated input struct) against sh.
func Input(in any, sh *model.Shape) []Violation {
	if sh == nil {
		return nil
	}
	var vs []Violation
	walk(reflect.ValueOf(in), sh, nil, "", &vs)
	// walk stops descending at the cap, but one structure may add several
	// violations at once.
	if len(vs) > maxReported {
		vs = vs[:maxReported]
	}
	return vs
}

// Message renders violations in the Coral form that query and JSON AWS
// services use: "1 validation error detected: Value null at 'roleName'
// failed to satisfy constraint: Member must not be null".
func Message(vs []Violation) string {
	var b strings.Builder
	if len(vs) == 1 {
		b.WriteString("1 validation error detected: ")
	} else {
		fmt.Fprintf(&b, "%d validation errors detected: ", len(vs))
	}
	for i, v := range vs {
		if i > 0 {
			b.WriteString("; ")
		}
		fmt.Fprintf(&b, "Value %s at '%s' failed to satisfy constraint: %s", v.Value, v.Path, v.Constraint)
	}
	return b.String()
}

func lowerFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToLower(s[:1]) + s[1:]
}

func walk(v reflect.Value, sh *model.Shape, path *pathNode, top string, vs *[]Violation) {
	if len(*vs) >= maxReported {
		return
	}
	if (v.Kind() == reflect.Slice || v.Kind() == reflect.Map) && v.IsNil() {
		return // absent, not empty
	}
	v = protocol.Indirect(v)
	if !v.IsValid() {
		return
	}
	switch sh.Type {
	case "structure":
		if v.Kind() != reflect.Struct {
			return
		}
		for _, m := range sh.Members {
			f := protocol.Field(v, m.Name)
			p := &pathNode{parent: path, name: m.Name}
			t := top
			if t == "" {
				t = m.Name
			}
			if m.Required && (!f.IsValid() || absent(f)) {
				*vs = append(*vs, Violation{Path: p.String(), Member: t, Value: "null", Constraint: "Member must not be null", Missing: true})
				continue
			}
			if f.IsValid() {
				walk(f, m.Shape, p, t, vs)
			}
		}
	case "list":
		checkLen(v.Len(), sh, path, top, func() string { return describe(v) }, vs)
		for i := 0; i < v.Len(); i++ {
			walk(v.Index(i), sh.Member.Shape, &pathNode{parent: path, index: i + 1}, top, vs)
		}
	case "map":
		checkLen(v.Len(), sh, path, top, func() string { return describe(v) }, vs)
		iter := v.MapRange()
		for iter.Next() {
			walk(iter.Key(), sh.Key.Shape, &pathNode{parent: path, name: "key"}, top, vs)
			walk(iter.Value(), sh.Value.Shape, &pathNode{parent: path, name: "value"}, top, vs)
		}
	case "string":
		s := v.String()
		// The quoted value is built only for a message: most strings pass.
		val := func() string {
			if sh.Sensitive {
				return "'******'"
			}
			return "'" + s + "'"
		}
		if sh.Min != nil || sh.Max != nil {
			checkLen(utf8.RuneCountInString(s), sh, path, top, val, vs)
		}
		if len(sh.Enum) > 0 && !sh.HasEnumValue(s) {
			*vs = append(*vs, Violation{Path: path.String(), Member: top, Value: val(),
				Constraint: "Member must satisfy enum value set: [" + strings.Join(sh.Enum, ", ") + "]"})
		}
		if re := pattern(sh); re != nil && !re.MatchString(s) {
			*vs = append(*vs, Violation{Path: path.String(), Member: top, Value: val(),
				Constraint: "Member must satisfy regular expression pattern: " + sh.Pattern})
		}
	case "integer", "long":
		i := v.Int()
		checkRange(float64(i), func() string { return strconv.FormatInt(i, 10) }, sh, path, top, vs)
	case "double", "float":
		f := v.Float()
		checkRange(f, func() string { return strconv.FormatFloat(f, 'g', -1, 64) }, sh, path, top, vs)
	case "blob":
		checkLen(v.Len(), sh, path, top, func() string { return "'java.nio.HeapByteBuffer'" }, vs)
	}
}

// javaString prints one element of a collection as Java would: a
// structure as Type(Member=value, ...), leaving out absent members.
func javaString(v reflect.Value) string {
	v = protocol.Indirect(v)
	if !v.IsValid() {
		return "null"
	}
	if v.Kind() != reflect.Struct {
		return fmt.Sprint(v)
	}
	var fields []string
	for i := range v.NumField() {
		f := v.Type().Field(i)
		if !f.IsExported() {
			continue
		}
		fv := v.Field(i)
		if (fv.Kind() == reflect.Pointer || fv.Kind() == reflect.Slice || fv.Kind() == reflect.Map) && fv.IsNil() {
			continue
		}
		fields = append(fields, f.Name+"="+javaString(fv))
	}
	return v.Type().Name() + "(" + strings.Join(fields, ", ") + ")"
}

// describe quotes a list or map the way Coral prints Java collections.
func describe(v reflect.Value) string {
	if v.Kind() == reflect.Map {
		parts := make([]string, 0, v.Len())
		iter := v.MapRange()
		for iter.Next() {
			parts = append(parts, javaString(iter.Key())+"="+javaString(iter.Value()))
		}
		return "'{" + strings.Join(parts, ", ") + "}'"
	}
	parts := make([]string, v.Len())
	for i := range parts {
		parts[i] = javaString(v.Index(i))
	}
	return "'[" + strings.Join(parts, ", ") + "]'"
}

func absent(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface, reflect.Map:
		return v.IsNil()
	case reflect.Slice:
		// A required blob may be empty but not missing; a required list
		// that the client sent empty is present.
		return v.IsNil()
	}
	return false
}

// pathNode is a member path, spelled only when a violation needs it:
// building the string for every member walked was most of validation's
// cost on large inputs.
type pathNode struct {
	parent *pathNode
	// name is a member's model name (spelled lower-first), "key" or
	// "value"; empty for a list element, which has index.
	name  string
	index int
}

// String spells the path as AWS does: "tags.1.member.key".
func (p *pathNode) String() string {
	if p == nil {
		return ""
	}
	seg := lowerFirst(p.name)
	if p.name == "" {
		seg = strconv.Itoa(p.index) + ".member"
	}
	if p.parent == nil {
		return seg
	}
	return p.parent.String() + "." + seg
}

// checkLen and checkRange take the value's text as a function: it is
// only needed for a violation, and building it for every valid member
// was most of validation's cost.
func checkLen(n int, sh *model.Shape, path *pathNode, top string, val func() string, vs *[]Violation) {
	if sh.Min != nil && float64(n) < *sh.Min {
		*vs = append(*vs, Violation{Path: path.String(), Member: top, Value: val(),
			Constraint: "Member must have length greater than or equal to " + num(*sh.Min)})
	}
	if sh.Max != nil && float64(n) > *sh.Max {
		*vs = append(*vs, Violation{Path: path.String(), Member: top, Value: val(),
			Constraint: "Member must have length less than or equal to " + num(*sh.Max)})
	}
}

func checkRange(n float64, text func() string, sh *model.Shape, path *pathNode, top string, vs *[]Violation) {
	if sh.Min != nil && n < *sh.Min {
		*vs = append(*vs, Violation{Path: path.String(), Member: top, Value: text(),
			Constraint: "Member must have value greater than or equal to " + num(*sh.Min)})
	}
	if sh.Max != nil && n > *sh.Max {
		*vs = append(*vs, Violation{Path: path.String(), Member: top, Value: text(),
			Constraint: "Member must have value less than or equal to " + num(*sh.Max)})
	}
}

func num(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

// patterns caches compiled shape patterns; nil marks a pattern Go's RE2
// cannot express (lookarounds), which is then not enforced.
var patterns sync.Map // *model.Shape → *regexp.Regexp

var javaEscape = regexp.MustCompile(`\\u([0-9A-Fa-f]{4})`)

func pattern(sh *model.Shape) *regexp.Regexp {
	if sh.Pattern == "" {
		return nil
	}
	if re, ok := patterns.Load(sh); ok {
		return re.(*regexp.Regexp)
	}
	// Models write Java regexes: \uXXXX becomes RE2's \x{XXXX}. AWS matches
	// the whole value.
	src := javaEscape.ReplaceAllString(sh.Pattern, `\x{$1}`)
	re, err := regexp.Compile(`^(?:` + src + `)$`)
	if err != nil {
		re = nil
	}
	patterns.Store(sh, re)
	return re
}
