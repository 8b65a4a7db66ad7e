package alarmrule

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name   string
		rule   string
		alarms []string
		canon  string
	}{
		// The API reference's examples.
		{"and_unquoted", "ALARM(CPUUtilizationTooHigh) AND ALARM(DiskReadOpsTooHigh)",
			[]string{"CPUUtilizationTooHigh", "DiskReadOpsTooHigh"},
			`ALARM("CPUUtilizationTooHigh") AND ALARM("DiskReadOpsTooHigh")`},
		{"and_not", "ALARM(CPUUtilizationTooHigh) AND NOT ALARM(DeploymentInProgress)",
			[]string{"CPUUtilizationTooHigh", "DeploymentInProgress"},
			`ALARM("CPUUtilizationTooHigh") AND NOT ALARM("DeploymentInProgress")`},
		{"group_or_and_ok", "(ALARM(CPUUtilizationTooHigh) OR ALARM(DiskReadOpsTooHigh)) AND OK(NetworkOutTooHigh)",
			[]string{"CPUUtilizationTooHigh", "DiskReadOpsTooHigh", "NetworkOutTooHigh"},
			`(ALARM("CPUUtilizationTooHigh") OR ALARM("DiskReadOpsTooHigh")) AND OK("NetworkOutTooHigh")`},
		// The User Guide's console example, over several lines.
		{"quoted_multiline", "(ALARM(\"CPUUtilizationTooHigh\") OR \nALARM(\"DiskReadOpsTooHigh\")) AND \nOK(\"NetworkOutTooHigh\")",
			[]string{"CPUUtilizationTooHigh", "DiskReadOpsTooHigh", "NetworkOutTooHigh"},
			`(ALARM("CPUUtilizationTooHigh") OR ALARM("DiskReadOpsTooHigh")) AND OK("NetworkOutTooHigh")`},
		{"true_false", "TRUE OR FALSE", nil, "TRUE OR FALSE"},
		{"insufficient_data", `INSUFFICIENT_DATA("a b")`, []string{"a b"}, `INSUFFICIENT_DATA("a b")`},
		// What the CDK renders: ARNs, quoted, in nested parentheses.
		{"cdk_arns", `((ALARM("arn:aws:cloudwatch:us-east-1:123456789012:alarm:a") OR OK("arn:aws:cloudwatch:us-east-1:123456789012:alarm:b")) AND (NOT (INSUFFICIENT_DATA("arn:aws:cloudwatch:us-east-1:123456789012:alarm:c"))))`,
			[]string{"arn:aws:cloudwatch:us-east-1:123456789012:alarm:a", "arn:aws:cloudwatch:us-east-1:123456789012:alarm:b", "arn:aws:cloudwatch:us-east-1:123456789012:alarm:c"},
			`((ALARM("arn:aws:cloudwatch:us-east-1:123456789012:alarm:a") OR OK("arn:aws:cloudwatch:us-east-1:123456789012:alarm:b")) AND (NOT (INSUFFICIENT_DATA("arn:aws:cloudwatch:us-east-1:123456789012:alarm:c"))))`},
		{"repeated_alarm_listed_once", "ALARM(a) OR OK(a) OR ALARM(b)", []string{"a", "b"},
			`ALARM("a") OR OK("a") OR ALARM("b")`},
		{"escaped_quote", `ALARM("say \"hi\" \\ bye")`, []string{`say "hi" \ bye`}, `ALARM("say \"hi\" \\ bye")`},
		{"no_spaces", `ALARM(a)AND(OK(b))`, []string{"a", "b"}, `ALARM("a") AND (OK("b"))`},
		{"comma_in_unquoted_name", `ALARM(a,b)`, []string{"a,b"}, `ALARM("a,b")`},
		// AT_LEAST as the CDK renders it.
		{"at_least_count", "AT_LEAST(2, ALARM, (a1, a2, a3))", []string{"a1", "a2", "a3"},
			`AT_LEAST(2, ALARM, ("a1", "a2", "a3"))`},
		{"at_least_percent_not", "AT_LEAST(60%, NOT OK, (arn:aws:cloudwatch:us-east-1:1:alarm:x, y))",
			[]string{"arn:aws:cloudwatch:us-east-1:1:alarm:x", "y"}, `AT_LEAST(60%, NOT OK, ("arn:aws:cloudwatch:us-east-1:1:alarm:x", "y"))`},
		{"at_least_quoted_percent", `AT_LEAST("50%", INSUFFICIENT_DATA, ("a", "b"))`, []string{"a", "b"},
			`AT_LEAST(50%, INSUFFICIENT_DATA, ("a", "b"))`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := Parse(tt.rule)
			if err != nil {
				t.Fatal(err)
			}
			if got := r.Alarms(); !slices.Equal(got, tt.alarms) {
				t.Errorf("alarms = %q, want %q", got, tt.alarms)
			}
			if got := r.String(); got != tt.canon {
				t.Errorf("String = %s\n        want %s", got, tt.canon)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name, rule, msg string
	}{
		// AWS's own messages, as users met them: an empty group (CDK issue
		// 34662) and an unquoted name with spaces (CDK issue 13953).
		{"empty_group", "()", "Error in AlarmRule [Unsupported token ')' at char 1]"},
		{"unquoted_name_with_spaces",
			"(ALARM(arn:aws:cloudwatch:us-east-1:123456789012:alarm:SampleQueue Oldest Age Alarm) OR ALARM(arn:aws:cloudwatch:us-east-1:123456789012:alarm:SampleQueue Visible Messages Alarm))",
			"Error in AlarmRule [Unsupported token 'Oldest' at char 67, must be: ')']"},
		// The rest follow the same form.
		{"lower_case_keyword", "ALARM(a) and ALARM(b)", "Error in AlarmRule [Unsupported token 'and' at char 9]"},
		{"unknown_function", "ALARMS(a)", "Error in AlarmRule [Unsupported token 'ALARMS' at char 0]"},
		{"missing_open", "ALARM a", "Error in AlarmRule [Unsupported token 'a' at char 6, must be: '(']"},
		{"empty_name", "ALARM()", "Error in AlarmRule [Unsupported token ')' at char 6]"},
		{"empty_quoted_name", `ALARM("")`, `Error in AlarmRule [Unsupported token '""' at char 6]`},
		{"unterminated_quote", `ALARM("abc`, `Error in AlarmRule [Unsupported token '"abc' at char 6]`},
		{"unclosed", "ALARM(a", "Error in AlarmRule [Unsupported token '<EOF>' at char 7, must be: ')']"},
		{"unclosed_group", "(TRUE", "Error in AlarmRule [Unsupported token '<EOF>' at char 5, must be: ')']"},
		{"dangling_operator", "TRUE AND", "Error in AlarmRule [Unsupported token '<EOF>' at char 8]"},
		{"two_operands", "ALARM(a) ALARM(b)", "Error in AlarmRule [Unsupported token 'ALARM' at char 9]"},
		{"only_space", "   ", "Error in AlarmRule [Unsupported token '<EOF>' at char 3]"},
		{"at_least_zero", "AT_LEAST(0, ALARM, (a))", "Error in AlarmRule [Unsupported token '0' at char 9]"},
		{"at_least_over_100_percent", "AT_LEAST(101%, ALARM, (a))", "Error in AlarmRule [Unsupported token '101%' at char 9]"},
		{"at_least_bad_state", "AT_LEAST(1, BAD, (a))", "Error in AlarmRule [Unsupported token 'BAD' at char 12, must be: ALARM, OK, or INSUFFICIENT_DATA]"},
		{"at_least_no_list", "AT_LEAST(1, ALARM, a)", "Error in AlarmRule [Unsupported token 'a' at char 19, must be: '(']"},
		{"empty", "", "1 validation error detected: Value '' at 'alarmRule' failed to satisfy constraint: Member must have length greater than or equal to 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse(tt.rule)
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("err = %v, want a *ParseError", err)
			}
			if err.Error() != tt.msg {
				t.Errorf("message\n got %s\nwant %s", err.Error(), tt.msg)
			}
		})
	}
}

func TestLimits(t *testing.T) {
	refs := func(n int) string {
		parts := make([]string, n)
		for i := range parts {
			parts[i] = "ALARM(a" + strings.Repeat("x", i%3) + string(rune('0'+i%10)) + string(rune('A'+i/10%26)) + string(rune('a'+i/260)) + ")"
		}
		return strings.Join(parts, " OR ")
	}
	if _, err := Parse(refs(100)); err != nil {
		t.Errorf("100 alarms: %v", err)
	}
	if _, err := Parse(refs(101)); err == nil || !strings.Contains(err.Error(), "101 alarms") {
		t.Errorf("101 alarms: err = %v", err)
	}
	many := strings.TrimSuffix(strings.Repeat("TRUE OR ", 501), " OR ")
	if _, err := Parse(many); err == nil || !strings.Contains(err.Error(), "501 elements") {
		t.Errorf("501 elements: err = %v", err)
	}
	if _, err := Parse(strings.TrimSuffix(strings.Repeat("TRUE OR ", 500), " OR ")); err != nil {
		t.Errorf("500 elements: %v", err)
	}
	long := "ALARM(" + strings.Repeat("x", MaxLength-7) + ")"
	if _, err := Parse(long); err != nil {
		t.Errorf("%d characters: %v", len(long), err)
	}
	_, err := Parse(long + " ")
	if err == nil || !strings.HasSuffix(err.Error(), "failed to satisfy constraint: Member must have length less than or equal to 10240") {
		t.Errorf("10241 characters: err = %v", err)
	}
}

// states is a state function over a fixed map; absent names do not exist.
func states(m map[string]string) func(string) (string, bool) {
	return func(ref string) (string, bool) {
		s, ok := m[ref]
		return s, ok
	}
}

func TestEval(t *testing.T) {
	cur := map[string]string{"a": "ALARM", "b": "OK", "c": "INSUFFICIENT_DATA", "d": "ALARM"}
	tests := []struct {
		rule string
		want bool
	}{
		{"ALARM(a)", true},
		{"ALARM(b)", false},
		{"OK(b)", true},
		{"INSUFFICIENT_DATA(c)", true},
		{"INSUFFICIENT_DATA(a)", false},
		{"TRUE", true},
		{"FALSE", false},
		{"NOT ALARM(a)", false},
		{"NOT NOT ALARM(a)", true},
		{"ALARM(a) AND ALARM(d)", true},
		{"ALARM(a) AND ALARM(b)", false},
		{"ALARM(b) OR ALARM(a)", true},
		{"ALARM(b) OR OK(a)", false},
		// NOT binds tighter than AND, AND tighter than OR.
		{"NOT ALARM(b) AND ALARM(a)", true},
		{"TRUE OR FALSE AND FALSE", true},
		{"(TRUE OR FALSE) AND FALSE", false},
		{"NOT (ALARM(a) OR ALARM(b))", false},
		// An alarm that does not exist is in no state.
		{"ALARM(gone)", false},
		{"OK(gone)", false},
		{"NOT ALARM(gone)", true},
		{"AT_LEAST(2, ALARM, (a, b, d))", true},
		{"AT_LEAST(3, ALARM, (a, b, d))", false},
		{"AT_LEAST(2, NOT ALARM, (a, b, c))", true},
		{"AT_LEAST(67%, ALARM, (a, b, d))", false},
		{"AT_LEAST(66%, ALARM, (a, b, d))", true},
		{"AT_LEAST(100%, OK, (b))", true},
		{"AT_LEAST(5, ALARM, (a, d))", false},
	}
	for _, tt := range tests {
		t.Run(tt.rule, func(t *testing.T) {
			r, err := Parse(tt.rule)
			if err != nil {
				t.Fatal(err)
			}
			if got := r.Eval(states(cur)); got != tt.want {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestTriggering(t *testing.T) {
	tests := []struct {
		name  string
		rule  string
		state map[string]string
		want  []string
	}{
		// A real composite "(ALARM(test1) OR ALARM(test2))" that went to OK
		// named both children, and one of four ORed alarms that went to
		// ALARM named only that one.
		{"or_false_names_all", "(ALARM(test1) OR ALARM(test2))", map[string]string{"test1": "OK", "test2": "OK"}, []string{"test1", "test2"}},
		{"or_true_names_true_branches", "ALARM(w) OR ALARM(x) OR ALARM(y) OR ALARM(z)",
			map[string]string{"w": "OK", "x": "ALARM", "y": "OK", "z": "OK"}, []string{"x"}},
		{"and_true_names_all", "ALARM(a) AND ALARM(b)", map[string]string{"a": "ALARM", "b": "ALARM"}, []string{"a", "b"}},
		{"and_false_names_false_branches", "ALARM(a) AND ALARM(b)", map[string]string{"a": "ALARM", "b": "OK"}, []string{"b"}},
		{"not_keeps_operand", "ALARM(a) AND NOT ALARM(deploy)", map[string]string{"a": "ALARM", "deploy": "OK"}, []string{"a", "deploy"}},
		{"missing_left_out", "ALARM(a) OR ALARM(gone)", map[string]string{"a": "OK"}, []string{"a"}},
		{"constants_name_nothing", "TRUE", nil, nil},
		{"at_least_true_names_matches", "AT_LEAST(1, ALARM, (a, b))", map[string]string{"a": "OK", "b": "ALARM"}, []string{"b"}},
		{"at_least_false_names_the_rest", "AT_LEAST(2, ALARM, (a, b))", map[string]string{"a": "OK", "b": "ALARM"}, []string{"a"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := Parse(tt.rule)
			if err != nil {
				t.Fatal(err)
			}
			if got := r.Triggering(states(tt.state)); !slices.Equal(got, tt.want) {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestReason(t *testing.T) {
	// A real composite's EventBridge event, 2023-06-22.
	at := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	reason, data := Reason([]Child{
		{ARN: "arn:aws:cloudwatch:ap-northeast-1:0000000000:alarm:test1", State: "OK", Timestamp: at("2023-06-22T14:25:30.174Z")},
		{ARN: "arn:aws:cloudwatch:ap-northeast-1:0000000000:alarm:test2", State: "OK", Timestamp: at("2023-06-22T14:26:01.928Z")},
	})
	if want := "arn:aws:cloudwatch:ap-northeast-1:0000000000:alarm:test2 transitioned to OK at Thursday 22 June, 2023 14:26:01 UTC"; reason != want {
		t.Errorf("reason\n got %s\nwant %s", reason, want)
	}
	want := `{"triggeringAlarms":[{"arn":"arn:aws:cloudwatch:ap-northeast-1:0000000000:alarm:test2","state":{"value":"OK","timestamp":"2023-06-22T14:26:01.928+0000"}},` +
		`{"arn":"arn:aws:cloudwatch:ap-northeast-1:0000000000:alarm:test1","state":{"value":"OK","timestamp":"2023-06-22T14:25:30.174+0000"}}]}`
	if data != want {
		t.Errorf("reason data\n got %s\nwant %s", data, want)
	}
	// A composite's DescribeAlarms output, 2022-10-30: single-digit days
	// would be zero-padded as in CloudWatch emails ("Tuesday 09 February").
	reason, _ = Reason([]Child{{ARN: "arn:aws:cloudwatch:us-east-2:672774589314:alarm:-Task-ImageQueueScalingAlarm846F1F23-19LPTQIB9ANUQ", State: "ALARM", Timestamp: at("2022-10-30T20:47:35.671Z")}})
	if want := "arn:aws:cloudwatch:us-east-2:672774589314:alarm:-Task-ImageQueueScalingAlarm846F1F23-19LPTQIB9ANUQ transitioned to ALARM at Sunday 30 October, 2022 20:47:35 UTC"; reason != want {
		t.Errorf("reason\n got %s\nwant %s", reason, want)
	}
	if got := ReasonTime(at("2021-02-09T04:53:30Z")); got != "Tuesday 09 February, 2021 04:53:30 UTC" {
		t.Errorf("ReasonTime = %q", got)
	}
	if reason, data := Reason(nil); reason != "" || data != `{"triggeringAlarms":[]}` {
		t.Errorf("no children: %q %s", reason, data)
	}
	if got := MissingAlarmsMessage([]string{"FirstAlarm", "SecondAlarm"}); got != "Could not save the composite alarm as alarms [FirstAlarm, SecondAlarm] in the alarm rule do not exist" {
		t.Errorf("missing message = %q", got)
	}
}

// FuzzParse: Parse never panics; whatever it accepts renders to a
// canonical form that parses back to the same rule, alarms and values.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"ALARM(CPUUtilizationTooHigh) AND ALARM(DiskReadOpsTooHigh)",
		"ALARM(CPUUtilizationTooHigh) AND NOT ALARM(DeploymentInProgress)",
		"(ALARM(CPUUtilizationTooHigh) OR ALARM(DiskReadOpsTooHigh)) AND OK(NetworkOutTooHigh)",
		`((ALARM("arn:aws:cloudwatch:us-east-1:123456789012:alarm:a") OR OK("b")) AND (NOT (INSUFFICIENT_DATA("c"))))`,
		"AT_LEAST(2, ALARM, (a1, a2, a3))",
		`AT_LEAST("60%", NOT OK, ("x", y))`,
		`ALARM("say \"hi\" \\")`,
		"TRUE OR FALSE AND NOT FALSE",
		"()", "ALARM(a", `ALARM("`, "NOT", "",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := Parse(s)
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) || !strings.HasPrefix(pe.Message, "Error in AlarmRule [") && !strings.HasPrefix(pe.Message, "1 validation error") {
				t.Fatalf("error %v is not an AWS message", err)
			}
			return
		}
		canon := r.String()
		r2, err := Parse(canon)
		if err != nil {
			// The canonical form may pass the length limit that the
			// original, with fewer quotes, kept to.
			if len([]rune(canon)) > MaxLength {
				return
			}
			t.Fatalf("canonical %q of %q does not parse: %v", canon, s, err)
		}
		if got := r2.String(); got != canon {
			t.Fatalf("canonical form not stable:\n%s\n%s", canon, got)
		}
		if !slices.Equal(r.Alarms(), r2.Alarms()) {
			t.Fatalf("alarms %q became %q", r.Alarms(), r2.Alarms())
		}
		if len(r.Alarms()) > MaxAlarms {
			t.Fatalf("%d alarms accepted", len(r.Alarms()))
		}
		// Give each alarm a state by its position; every fourth does not exist.
		st := func(ref string) (string, bool) {
			i := slices.Index(r.Alarms(), ref)
			switch i % 4 {
			case 0:
				return StateAlarm, true
			case 1:
				return StateOK, true
			case 2:
				return StateInsufficientData, true
			}
			return "", false
		}
		if r.Eval(st) != r2.Eval(st) || !slices.Equal(r.Triggering(st), r2.Triggering(st)) {
			t.Fatalf("%q and its canonical form %q disagree", s, canon)
		}
	})
}
