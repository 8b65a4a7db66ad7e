package filter

import (
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestMatch(t *testing.T) {
	tests := []struct {
		name, pattern, value string
		want                 bool
	}{
		{"literal_matches_itself", "running", "running", true},
		{"literal_is_whole_value", "run", "running", false},
		{"literal_is_case_sensitive", "Running", "running", false},
		{"empty_pattern_matches_empty_value", "", "", true},
		{"empty_pattern_rejects_nonempty_value", "", "x", false},
		{"nonempty_pattern_rejects_empty_value", "x", "", false},
		{"star_matches_empty", "*", "", true},
		{"star_matches_anything", "*", "anything at all", true},
		{"trailing_star_is_prefix", "web-*", "web-01", true},
		{"trailing_star_needs_prefix", "web-*", "db-01", false},
		{"leading_star_is_suffix", "*.internal", "ip-10-0-0-1.ec2.internal", true},
		{"inner_star", "i-*f0", "i-0a1b2c3d4e5f60718f0", true},
		{"inner_star_matches_empty_run", "ab*cd", "abcd", true},
		{"stars_do_not_overlap_prefix_and_suffix", "a*a", "a", false},
		{"several_stars_in_order", "*a*b*c*", "xxaxxbxxcxx", true},
		{"several_stars_out_of_order", "*a*b*c*", "xxcxxbxxaxx", false},
		{"consecutive_stars_act_as_one", "a**b", "axyzb", true},
		{"question_matches_one_char", "i-?", "i-x", true},
		{"question_does_not_match_none", "i-?", "i-", false},
		{"question_does_not_match_two", "i-?", "i-xy", false},
		{"question_matches_one_multibyte_char", "caf?", "café", true},
		{"question_with_star", "?*?", "ab", true},
		{"question_with_star_needs_two", "?*?", "a", false},
		{"question_in_middle_segment", "*a?c*", "xxabcxx", true},
		{"middle_segment_leftmost_fit_leaves_room", "*ab*b", "abab", true},
		{"escaped_star_is_literal", `a\*b`, "a*b", true},
		{"escaped_star_is_not_wildcard", `a\*b`, "axxb", false},
		{"escaped_question_is_literal", `what\?`, "what?", true},
		{"escaped_question_is_not_wildcard", `what\?`, "whatx", false},
		{"escaped_backslash_is_literal", `C:\\temp`, `C:\temp`, true},
		{"ec2_doc_example", `\*amazon\?\\`, `*amazon?\`, true},
		{"escaped_ordinary_char_is_itself", `\a`, "a", true},
		{"trailing_backslash_is_literal", `dir\`, `dir\`, true},
		{"escaped_star_then_wildcard", `\**`, "*anything", true},
		{"escaped_star_then_wildcard_needs_star", `\**`, "anything", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Match(tt.pattern, tt.value); got != tt.want {
				t.Fatalf("Match(%q, %q) = %v, want %v", tt.pattern, tt.value, got, tt.want)
			}
			if ref := reference(tt.pattern, tt.value); ref != tt.want {
				t.Fatalf("reference(%q, %q) = %v, want %v (test or reference is wrong)", tt.pattern, tt.value, ref, tt.want)
			}
		})
	}
}

// TestMatchPathologicalPatternIsFast would hang with a backtracking
// matcher, which takes exponential time on many stars and no match.
func TestMatchPathologicalPatternIsFast(t *testing.T) {
	pattern := strings.Repeat("a*", 50) + "b"
	value := strings.Repeat("a", 10000)
	if Match(pattern, value) {
		t.Fatal("matched a value without 'b'")
	}
	if !Match(pattern, value+"b") {
		t.Fatal("did not match a value ending in 'b'")
	}
}

// reference is a slow, obviously correct Match: the pattern translated to
// an anchored regexp.
func reference(pattern, value string) bool {
	var b strings.Builder
	b.WriteString(`^(?s:`)
	rs := []rune(pattern)
	for i := 0; i < len(rs); i++ {
		switch r := rs[i]; {
		case r == '*':
			b.WriteString(".*")
		case r == '?':
			b.WriteString(".")
		case r == '\\' && i+1 < len(rs):
			i++
			b.WriteString(regexp.QuoteMeta(string(rs[i])))
		default:
			b.WriteString(regexp.QuoteMeta(string(r)))
		}
	}
	b.WriteString(`)$`)
	return regexp.MustCompile(b.String()).MatchString(value)
}

func FuzzMatch(f *testing.F) {
	f.Add("web-*", "web-01")
	f.Add("*a*b*c*", "xxaxxbxxcxx")
	f.Add("?*?", "a")
	f.Add(`\*amazon\?\\`, `*amazon?\`)
	f.Add(`a\`, `a\`)
	f.Add("caf?", "café")
	f.Add("*ab*b", "abab")
	f.Add("", "")
	f.Fuzz(func(t *testing.T, pattern, value string) {
		// regexp rejects invalid UTF-8 patterns and reads invalid bytes
		// differently, so the reference only speaks for valid text.
		if !utf8.ValidString(pattern) || !utf8.ValidString(value) {
			Match(pattern, value) // must not panic
			return
		}
		if got, want := Match(pattern, value), reference(pattern, value); got != want {
			t.Fatalf("Match(%q, %q) = %v, reference says %v", pattern, value, got, want)
		}
	})
}

func BenchmarkMatch(b *testing.B) {
	value := strings.Repeat("ip-10-0-0-1.ec2.internal-", 8)
	for b.Loop() {
		Match("*internal-*?0*internal-", value)
	}
}
