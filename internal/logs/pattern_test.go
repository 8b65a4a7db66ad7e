package logs

import (
	"strings"
	"testing"
)

// The JSON event of the compound-condition examples in AWS's filter
// pattern documentation.
const docJSON = `{
  "user": {"id": 1, "email": "John.Stiles@example.com"},
  "users": [{"id": 2, "email": "John.Doe@example.com"}, {"id": 3, "email": "Jane.Doe@example.com"}],
  "actions": ["GET", "PUT", "DELETE"],
  "coordinates": [[0, 1, 2], [4, 5, 6], [7, 8, 9]]
}`

// The JSON event of AWS's single-condition examples.
const trailJSON = `{
  "eventType": "UpdateTrail",
  "sourceIPAddress": "111.111.111.111",
  "arrayKey": ["value", "another value"],
  "objectList": [{"name": "a", "id": 1}, {"name": "b", "id": 2}],
  "SomeObject": null,
  "ThisFlag": true,
  "latency": 500,
  "code": "400",
  "ratio": 0.25
}`

const apacheLine = `127.0.0.1 - frank [10/Oct/2000:13:25:15 -0700] "GET /apache_pb.gif HTTP/1.0" 404 1534`

func TestFilterPatternMatches(t *testing.T) {
	tests := []struct {
		name, pattern, message string
		want                   bool
	}{
		// Empty and terms.
		{"empty_matches_all", "", "anything", true},
		{"blank_matches_all", "   ", "anything", true},
		{"term_substring", "ERROR", "Exiting with ERRORCODE: -1", true},
		{"term_case_sensitive", "ERROR", "error: disk full", false},
		{"all_terms_in_any_order", "Exception ERROR", "[ERROR] Caught IllegalArgumentException", true},
		{"all_terms_missing_one", "ERROR Exception", "[ERROR] fatal", false},
		{"phrase_words_anywhere", "Failed to process the request", "[WARN] Failed to process the request", true},
		{"quoted_phrase_exact", `"Failed to process"`, "Failed to really process", false},
		{"quoted_phrase_found", `"INTERNAL SERVER ERROR"`, "500 INTERNAL SERVER ERROR at /x", true},
		{"quoted_special_characters", `"user@example.com"`, "login user@example.com ok", true},
		{"quoted_escape", `"say \"hi\""`, `they say "hi" back`, true},
		{"exclusion", "ERROR -Exiting", "Exiting with ERRORCODE: -1", false},
		{"exclusion_spaced_quoted", `"ERROR" - "Exiting"`, "[ERROR] A fatal exception has occurred", true},
		{"only_exclusion", "-DEBUG", "INFO started", true},
		{"optional_first", "?ERROR ?WARN", "WARN message", true},
		{"optional_none", "?ERROR ?WARN", "INFO message", false},
		{"optional_with_required", "disk ?full ?quota", "disk quota hit", true},
		{"optional_with_required_missing", "disk ?full ?quota", "disk ok", false},
		{"unicode_term", "café", "the café opened", true},

		// Regular expressions.
		{"regex", "%ERROR|WARN%", "a WARN here", true},
		{"regex_anchor", "%^[hc]at%", "that", false},
		{"regex_class_and_count", "%a{3,5}%", "baaad", true},

		// JSON: the documentation's examples.
		{"json_equal_string", `{ $.eventType = "UpdateTrail" }`, trailJSON, true},
		{"json_equal_bare", `{ $.eventType = UpdateTrail }`, trailJSON, true},
		{"json_not_equal_wildcard", `{ $.sourceIPAddress != 123.123.* }`, trailJSON, true},
		{"json_wildcard_prefix", `{ $.sourceIPAddress = 111.* }`, trailJSON, true},
		{"json_wildcard_suffix", `{ $.eventType = *Trail }`, trailJSON, true},
		{"json_wildcard_inside_is_literal", `{ $.eventType = Update*ail }`, trailJSON, false},
		{"json_wildcard_any", `{ $.latency = * }`, trailJSON, true},
		{"json_array_index", `{ $.arrayKey[0] = "value" }`, trailJSON, true},
		{"json_index_of_object_list", `{ $.objectList[1].id = 2 }`, trailJSON, true},
		{"json_index_out_of_range", `{ $.objectList[5].id = 2 }`, trailJSON, false},
		{"json_is_null", `{ $.SomeObject IS NULL }`, trailJSON, true},
		{"json_is_null_missing_field", `{ $.Nope IS NULL }`, trailJSON, false},
		{"json_not_exists", `{ $.SomeOtherObject NOT EXISTS }`, trailJSON, true},
		{"json_not_exists_present_null", `{ $.SomeObject NOT EXISTS }`, trailJSON, false},
		{"json_is_true", `{ $.ThisFlag IS TRUE }`, trailJSON, true},
		{"json_is_false", `{ $.ThisFlag IS FALSE }`, trailJSON, false},
		{"json_keywords_any_case", `{ $.ThisFlag is true }`, trailJSON, true},
		{"json_number_ge", `{ $.latency >= 500 }`, trailJSON, true},
		{"json_number_gt", `{ $.latency > 500 }`, trailJSON, false},
		{"json_number_sign_and_exponent", `{ $.latency < +5e3 }`, trailJSON, true},
		{"json_decimal", `{ $.ratio <= 0.25 }`, trailJSON, true},
		{"json_number_equal", `{ $.latency = 500.0 }`, trailJSON, true},
		{"json_number_not_equal", `{ $.latency != 500 }`, trailJSON, false},
		{"json_string_number_text_equal", `{ $.code = 400 }`, trailJSON, true},
		{"json_order_on_string_is_false", `{ $.code > 100 }`, trailJSON, false},
		{"json_missing_field_not_equal", `{ $.nope != 1 }`, trailJSON, false},
		{"json_object_is_not_a_value", `{ $.objectList != 1 }`, trailJSON, false},
		{"json_regex_value", `{ $.eventType = %^Update% }`, trailJSON, true},
		{"json_no_spaces", `{$.eventType="UpdateTrail"}`, trailJSON, true},
		{"json_not_json_message", `{ $.a = 1 }`, `a = 1`, false},
		{"json_top_level_array", `{ $[1] = "b" }`, `["a", "b"]`, true},

		// JSON: the compound conditions of the documentation, && binding tighter than ||.
		{"json_and", `{ ($.user.id = 1) && ($.users[0].email = "John.Doe@example.com") }`, docJSON, true},
		{"json_and_or_grouped_no_match", `{ ($.user.id = 2 && $.users[0].email = "nonmatch") || $.actions[2] = "GET" }`, docJSON, false},
		{"json_precedence_matches", `{ $.user.email = "John.Stiles@example.com" || $.coordinates[0][1] = nonmatch && $.actions[2] = nomatch }`, docJSON, true},
		{"json_parentheses_change_it", `{ ($.user.email = "John.Stiles@example.com" || $.coordinates[0][1] = nonmatch) && $.actions[2] = nomatch }`, docJSON, false},
		{"json_nested_array", `{ $.coordinates[2][0] = 7 }`, docJSON, true},
		{"json_or", `{ $.actions[0] = PUT || $.actions[1] = PUT }`, docJSON, true},

		// Space-delimited.
		{"delimited_names_only", `[ip, user, username, timestamp, request, status_code, bytes]`, apacheLine, true},
		{"delimited_count_mismatch", `[ip, user, username, timestamp, request, status_code]`, apacheLine, false},
		{"delimited_numeric", `[ip, user, username, timestamp, request, status_code, bytes > 1000]`, apacheLine, true},
		{"delimited_numeric_false", `[ip, user, username, timestamp, request, status_code, bytes > 2000]`, apacheLine, false},
		{"delimited_wildcard", `[ip, user, username, timestamp, request = *gif*, status_code = 4*, bytes]`, apacheLine, true},
		{"delimited_and", `[ip, user, username, timestamp, request, status_code = 4* && status_code != 403, bytes]`, apacheLine, true},
		{"delimited_and_excludes", `[ip, user, username, timestamp, request, status_code = 4* && status_code != 404, bytes]`, apacheLine, false},
		{"delimited_or", `[w1 = ERROR || w1 = WARN, w2]`, "WARN message", true},
		{"delimited_or_no_match", `[w1 = ERROR || w1 = WARN, w2]`, "INFO message", false},
		{"delimited_leading_ellipsis", `[..., status_code = 404, bytes]`, apacheLine, true},
		{"delimited_trailing_ellipsis", `[ip = 127.*, user, ...]`, apacheLine, true},
		{"delimited_middle_ellipsis", `[ip, ..., bytes = 1534]`, apacheLine, true},
		{"delimited_two_ellipses", `[..., user = frank, ..., code = 404, bytes]`, apacheLine, true},
		{"delimited_quoted_field_is_one", `[ip, user, username, timestamp, request = "GET /apache_pb.gif HTTP/1.0", status_code, bytes]`, apacheLine, true},
		{"delimited_bracket_field_is_one", `[ip, user, username, timestamp = "10/Oct/2000:13:25:15 -0700", ...]`, apacheLine, true},
		{"delimited_regex", `[ip, ..., bytes = %^15%]`, apacheLine, true},
		{"delimited_numeric_on_text_is_false", `[ip > 1, ...]`, apacheLine, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			match, err := parseFilter(tt.pattern)
			if err != nil {
				t.Fatalf("parseFilter(%q): %v", tt.pattern, err)
			}
			if got := match(tt.message); got != tt.want {
				t.Errorf("match(%q) = %v, want %v", tt.message, got, tt.want)
			}
		})
	}
}

func TestFilterPatternErrors(t *testing.T) {
	tests := []struct {
		name, pattern, msg string
	}{
		{"unclosed_brace", `{ $.a = 1`, "If a filter pattern starts with '{' it must end with '}'"},
		{"unclosed_bracket", `[a, b`, "If a filter pattern starts with '[' it must end with ']'"},
		{"unquoted_special_character", `user@example.com!`, "Invalid character(s) in term 'user@example.com!'"},
		{"unterminated_quote", `"abc`, "Invalid filter pattern"},
		{"text_after_quote", `"abc"def`, "Invalid filter pattern"},
		{"dangling_operator", `ERROR -`, "Invalid filter pattern"},
		{"double_operator", `?-ERROR`, "Invalid character(s) in term '-'"},
		{"regex_parentheses", `%(a|b)%`, "Invalid filter pattern"},
		{"regex_bad_character", `%a!b%`, "Invalid filter pattern"},
		{"regex_multibyte", `%café%`, "Invalid filter pattern"},
		{"json_no_selector", `{ a = 1 }`, "Invalid filter pattern"},
		{"json_bare_dollar", `{ $ = 1 }`, "Invalid filter pattern"},
		{"json_no_value", `{ $.a = }`, "Invalid filter pattern"},
		{"json_order_needs_number", `{ $.a > abc }`, "Invalid filter pattern"},
		{"json_unquoted_special", `{ $.a = a@b }`, "Invalid filter pattern"},
		{"json_single_ampersand", `{ $.a = 1 & $.b = 2 }`, "Invalid filter pattern"},
		{"json_unbalanced_paren", `{ ($.a = 1 }`, "Invalid filter pattern"},
		{"json_trailing_operator", `{ $.a = 1 && }`, "Invalid filter pattern"},
		{"json_bad_index", `{ $.a[x] = 1 }`, "Invalid filter pattern"},
		{"json_is_what", `{ $.a IS MAYBE }`, "Invalid filter pattern"},
		{"json_not_what", `{ $.a NOT THERE }`, "Invalid filter pattern"},
		{"json_empty", `{ }`, "Invalid filter pattern"},
		{"delimited_empty_field", `[a, , b]`, "Invalid filter pattern"},
		{"delimited_condition_on_unknown_field", `[ip, user, status_code = 4* && bytes > 1000]`, "Invalid filter pattern"},
		{"delimited_value_without_name", `[= 3]`, "Invalid filter pattern"},
		{"delimited_unterminated_quote", `[a = "x, b]`, "Invalid filter pattern"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseFilter(tt.pattern)
			if err == nil || err.Error() != tt.msg {
				t.Errorf("parseFilter(%q) = %v, want %q", tt.pattern, err, tt.msg)
			}
		})
	}
}

// FuzzFilterPattern parses arbitrary patterns and matches them against
// arbitrary messages: neither may panic or run away, a parse error is
// always a patternError (whose text reaches clients), and the empty
// pattern matches everything.
func FuzzFilterPattern(f *testing.F) {
	for _, p := range []string{
		"", "ERROR", `?ERROR ?WARN -DEBUG`, `"quoted \"phrase\""`, `%^[hc]at$%`,
		`{ $.eventType = "UpdateTrail" }`, `{ ($.a = 1 || $.b[0].c > 5) && $.d IS TRUE }`, `{ $.x NOT EXISTS }`,
		`[ip, user, ..., status = 4* && status != 403, bytes > 1000]`, `[..., a, ..., b, ...]`, `{`, `[`, `{ $.a[`,
	} {
		f.Add(p, apacheLine)
		f.Add(p, trailJSON)
	}
	f.Fuzz(func(t *testing.T, pattern, message string) {
		match, err := parseFilter(pattern)
		if err != nil {
			if _, ok := err.(*patternError); !ok {
				t.Fatalf("parseFilter(%q): error of type %T", pattern, err)
			}
			return
		}
		match(message)
		if strings.TrimSpace(pattern) == "" && !match(message) {
			t.Fatalf("empty pattern did not match %q", message)
		}
	})
}
