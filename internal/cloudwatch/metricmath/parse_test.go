package metricmath

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name, expr, want string
	}{
		{"product_binds_tighter_than_sum", "m1 + m2 * 2", "(m1 + (m2 * 2))"},
		{"sum_is_left_associative", "m1 - m2 - m3", "((m1 - m2) - m3)"},
		{"division_is_left_associative", "m1 / m2 / 2", "((m1 / m2) / 2)"},
		{"power_is_right_associative", "2 ^ 3 ^ 2", "(2 ^ (3 ^ 2))"},
		{"power_binds_tighter_than_unary_minus", "-2 ^ 2", "(-(2 ^ 2))"},
		{"power_of_negative_exponent", "2 ^ -1", "(2 ^ (-1))"},
		{"unary_minus_binds_tighter_than_product", "-m1 * 2", "((-m1) * 2)"},
		{"double_unary_minus", "- -m1", "(-(-m1))"},
		{"parentheses_override", "(m1 + m2) * 2", "((m1 + m2) * 2)"},
		{"comparison_below_arithmetic", "m1 + 1 > m2 * 2", "((m1 + 1) > (m2 * 2))"},
		{"the_guides_logical_example", "m1 > 15 AND m2 > 15", "((m1 > 15) AND (m2 > 15))"},
		{"and_binds_tighter_than_or", "m1 > 15 AND m2 > 15 OR m3 == 0", "(((m1 > 15) AND (m2 > 15)) OR (m3 == 0))"},
		{"symbolic_logical_operators", "m1 > 1 && m2 < 2 || NOT m3", "(((m1 > 1) AND (m2 < 2)) OR (NOT m3))"},
		{"not_binds_looser_than_comparison", "NOT m1 > 5", "(NOT (m1 > 5))"},
		{"not_with_parentheses", "NOT(m1)", "(NOT m1)"},
		{"every_comparison", "m1 == 1 != 0 <= 2 >= 3 < 4 > 5", "((((((m1 == 1) != 0) <= 2) >= 3) < 4) > 5)"},
		{"function_call_and_array", "SUM([m1, m2]) / AVG(m2)", "(SUM([m1, m2]) / AVG(m2))"},
		{"keyword_argument", "FILL(METRICS(), LINEAR)", "FILL(METRICS(), LINEAR)"},
		{"sort_keywords", "SORT(METRICS(), AVG, DESC, 10)", "SORT(METRICS(), AVG, DESC, 10)"},
		{"string_argument", `METRICS("errors")`, `METRICS("errors")`},
		{"single_quoted_string", `METRICS('errors')`, `METRICS("errors")`},
		{"the_guides_typographic_quotes", "SUM([METRICS(“4xx”), METRICS(“5xx”)])", `SUM([METRICS("4xx"), METRICS("5xx")])`},
		{"exponent_literal", "serverError / (success + 1e-36)", "(serverError / (success + 1e-36))"},
		{"leading_dot_literal", ".5 * m1", "(0.5 * m1)"},
		{"whitespace", " \tm1\n+\r\nm2 ", "(m1 + m2)"},
		{"ids_with_digits_capitals_and_underscores", "authError_2 + m_1", "(authError_2 + m_1)"},
		{"the_blogs_business_hours", "IF((DAY(m1)<6 AND (HOUR(m1)>=9 AND HOUR(m1)<17)),m1)",
			"IF(((DAY(m1) < 6) AND ((HOUR(m1) >= 9) AND (HOUR(m1) < 17))), m1)"},
		{"the_guides_first_of_sort", "IF(FIRST(SORT(METRICS(), AVG, DESC))>100, 1, 0)",
			"IF((FIRST(SORT(METRICS(), AVG, DESC)) > 100), 1, 0)"},
		{"empty_argument_list", "METRICS()", "METRICS()"},
		{"nested_arrays", "[m1, [m2, m3]]", "[m1, [m2, m3]]"},
		{"fifty_levels_of_parentheses", strings.Repeat("(", 50) + "m1" + strings.Repeat(")", 50), "m1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e, err := Parse(tc.expr)
			if err != nil {
				t.Fatalf("Parse(%q): %v", tc.expr, err)
			}
			if got := e.String(); got != tc.want {
				t.Errorf("Parse(%q) = %s, want %s", tc.expr, got, tc.want)
			}
			if e.Source() != tc.expr {
				t.Errorf("Source() = %q, want %q", e.Source(), tc.expr)
			}
			// What String writes parses back to the same expression.
			again, err := Parse(e.String())
			if err != nil || again.String() != e.String() {
				t.Errorf("Parse(String()) = %v, %v; want %s", again, err, e.String())
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	const syntax = "Invalid syntax"
	tests := []struct {
		name, expr, want string
	}{
		{"empty", "", syntax},
		{"blank", "  ", syntax},
		{"dangling_operator", "m1 +", syntax},
		{"unclosed_parenthesis", "(m1", syntax},
		{"unopened_parenthesis", "m1)", syntax},
		{"juxtaposed_operands", "m1 m2", syntax},
		{"id_with_capital_first", "M1 + 1", syntax},
		{"id_with_underscore_first", "_m1", syntax},
		{"bare_keyword", "REPEAT", syntax},
		{"keyword_in_arithmetic", "FILL(m1, REPEAT + 1)", syntax},
		{"single_equals", "m1 = 2", syntax},
		{"bang_alone", "!m1", syntax},
		{"modulo", "m1 % 2", syntax},
		{"empty_array", "[]", syntax},
		{"trailing_comma_in_array", "[m1,]", syntax},
		{"trailing_comma_in_call", "ABS(m1,)", syntax},
		{"unterminated_string", `METRICS("abc)`, syntax},
		{"string_outside_arguments", `m1 + "abc"`, syntax},
		{"string_alone", `"abc"`, syntax},
		{"overflowing_literal", "1e999", syntax},
		{"two_decimal_points", "1.2.3", syntax},
		{"logical_word_as_function", "AND(m1, m2)", syntax},
		{"dangling_and", "m1 AND", syntax},
		{"non_ascii", "m1 × 2", syntax},
		{"too_deep", strings.Repeat("(", 200) + "m1" + strings.Repeat(")", 200), syntax},
		{"too_deep_unary", strings.Repeat("-", 200) + "m1", syntax},
		{"too_deep_not", strings.Repeat("NOT ", 200) + "m1", syntax},
		{"unknown_function", "FOO(m1)", "Function 'FOO' not found"},
		{"functions_are_upper_case", "sum(m1)", "Function 'sum' not found"},
		{"a_real_aws_mistake", "ANOMALY_DETECTOR(m1)", "Function 'ANOMALY_DETECTOR' not found"},
		{"sqrt_is_not_a_cloudwatch_function", "SQRT(m1)", "Function 'SQRT' not found"},
		{"search_is_not_supported", `SEARCH('{AWS/EC2,InstanceId} MetricName="CPUUtilization"', 'Average', 300)`, "Function 'SEARCH' is not supported"},
		{"service_quota_is_not_supported", "SERVICE_QUOTA(m1)", "Function 'SERVICE_QUOTA' is not supported"},
		{"unknown_function_inside", "SUM([m1, BAR(m2)])", "Function 'BAR' not found"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e, err := Parse(tc.expr)
			if err == nil {
				t.Fatalf("Parse(%q) = %s, want error %q", tc.expr, e, tc.want)
			}
			var me *Error
			if !errors.As(err, &me) {
				t.Fatalf("Parse(%q) error %T is not *Error", tc.expr, err)
			}
			if me.Msg != tc.want || me.ID != "" {
				t.Errorf("Parse(%q) error = %+v, want Msg %q", tc.expr, me, tc.want)
			}
		})
	}
}

func TestRefs(t *testing.T) {
	tests := []struct {
		name, expr  string
		refs        []string
		usesMetrics bool
	}{
		{"in_order_of_appearance_each_once", "m2 + m1 * m2", []string{"m2", "m1"}, false},
		{"metrics_is_not_a_ref", "SUM(METRICS()) / m3", []string{"m3"}, true},
		{"metrics_with_a_string", `METRICS("m1")`, nil, true},
		{"keywords_are_not_refs", "FILL(m1, REPEAT)", []string{"m1"}, false},
		{"sort_keywords_are_not_refs", "SORT([m1, e1], AVG, DESC)", []string{"m1", "e1"}, false},
		{"period_argument_is_a_ref", "m1 / PERIOD(m1)", []string{"m1"}, false},
		{"constants_only", "TIME_SERIES(1 + 2)", nil, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e, err := Parse(tc.expr)
			if err != nil {
				t.Fatal(err)
			}
			if got := e.Refs(); !slices.Equal(got, tc.refs) {
				t.Errorf("Refs() = %q, want %q", got, tc.refs)
			}
			if got := e.UsesMetrics(); got != tc.usesMetrics {
				t.Errorf("UsesMetrics() = %v, want %v", got, tc.usesMetrics)
			}
		})
	}
}

func TestErrorMessage(t *testing.T) {
	_, err := Parse("m1 +")
	if got, want := err.Error(), "Invalid syntax"; got != want {
		t.Errorf("without an Id: %q, want %q", got, want)
	}
	named := WithID(err, "e1")
	if got, want := named.Error(), "Error in expression 'e1': Invalid syntax"; got != want {
		t.Errorf("WithID: %q, want %q", got, want)
	}
	var me *Error
	if !errors.As(named, &me) || me.ID != "e1" || me.Msg != "Invalid syntax" {
		t.Errorf("WithID gave %#v", named)
	}
	if err.(*Error).ID != "" {
		t.Error("WithID modified the original error")
	}
	other := errors.New("boom")
	if WithID(other, "e1") != other {
		t.Error("WithID changed an error that is not *Error")
	}
}
