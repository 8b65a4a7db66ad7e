package alarmrule

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"
	"time"
)

// Child is an alarm named by a composite's rule, as the composite's state
// reason reports it.
type Child struct {
	// ARN is the alarm's ARN.
	ARN string
	// State is its StateValue.
	State string
	// Timestamp is when it entered that state.
	Timestamp time.Time
}

// Reason words the StateReason and StateReasonData of a composite alarm's
// transition, given the children that triggered it (see
// [Rule.Triggering]). Real composites word it so:
//
//	arn:aws:cloudwatch:ap-northeast-1:0000000000:alarm:test2 transitioned to OK at Thursday 22 June, 2023 14:26:01 UTC
//	{"triggeringAlarms":[{"arn":"arn:aws:cloudwatch:ap-northeast-1:0000000000:alarm:test2","state":{"value":"OK","timestamp":"2023-06-22T14:26:01.928+0000"}},
//	                     {"arn":"arn:aws:cloudwatch:ap-northeast-1:0000000000:alarm:test1","state":{"value":"OK","timestamp":"2023-06-22T14:25:30.174+0000"}}]}
//
// The children are listed newest transition first, and the reason names
// the newest. With no children (a rule of TRUE or FALSE alone) the reason
// is empty and the list too: no real sample of that case was found.
func Reason(children []Child) (reason, reasonData string) {
	sorted := slices.Clone(children)
	slices.SortStableFunc(sorted, func(a, b Child) int { return b.Timestamp.Compare(a.Timestamp) })
	type state struct {
		Value     string `json:"value"`
		Timestamp string `json:"timestamp"`
	}
	type alarm struct {
		ARN   string `json:"arn"`
		State state  `json:"state"`
	}
	data := struct {
		TriggeringAlarms []alarm `json:"triggeringAlarms"`
	}{TriggeringAlarms: []alarm{}}
	for _, c := range sorted {
		data.TriggeringAlarms = append(data.TriggeringAlarms, alarm{
			ARN:   c.ARN,
			State: state{Value: c.State, Timestamp: c.Timestamp.UTC().Format("2006-01-02T15:04:05.000-0700")},
		})
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false) // AWS writes < > & as they are
	_ = enc.Encode(data)     // strings and structs only: cannot fail
	if len(sorted) > 0 {
		c := sorted[0]
		reason = c.ARN + " transitioned to " + c.State + " at " + ReasonTime(c.Timestamp)
	}
	return reason, strings.TrimSuffix(b.String(), "\n")
}

// ReasonTime is how a composite's reason dates a transition: "Thursday 22
// June, 2023 14:26:01 UTC". It is also the time format of CloudWatch's
// notification emails.
func ReasonTime(t time.Time) string {
	return t.UTC().Format("Monday 02 January, 2006 15:04:05 UTC")
}

// MissingAlarmsMessage is the ValidationError message of PutCompositeAlarm
// when the rule names alarms that do not exist. Users report it as "Could
// not save the composite alarm as alarms ... in the alarm rule do not
// exist"; the list is rendered as Java renders a list, "[a, b]", which is a
// guess.
func MissingAlarmsMessage(refs []string) string {
	return "Could not save the composite alarm as alarms [" + strings.Join(refs, ", ") + "] in the alarm rule do not exist"
}
