package alarmeval

import (
	"encoding/json"
	"strings"
)

// HistorySummary is the HistorySummary of a StateUpdate history item:
// "Alarm updated from OK to ALARM". AWS's wording does not name the alarm
// (the item's AlarmName does); alarmName is taken so the call reads like
// the item it builds, and is not used.
func HistorySummary(alarmName, from, to string) string {
	_ = alarmName
	return "Alarm updated from " + from + " to " + to
}

// Snapshot is an alarm's state as a StateUpdate history item records it.
type Snapshot struct {
	// Value is the StateValue: "OK", "ALARM" or "INSUFFICIENT_DATA".
	Value string
	// Reason is the StateReason.
	Reason string
	// ReasonData is the StateReasonData JSON, or empty.
	ReasonData string
}

// HistoryData is the HistoryData JSON of a StateUpdate history item, as
// DescribeAlarmHistory returns it:
//
//	{"version":"1.0","oldState":{"stateValue":"ALARM","stateReason":"testing purposes"},
//	 "newState":{"stateValue":"OK","stateReason":"Threshold Crossed: ...","stateReasonData":{"version":"1.0",...}}}
//
// A state's reason data is embedded as a JSON object, not a string, and is
// left out when empty (as after "Unchecked: Initial alarm creation" or a
// SetAlarmState without StateReasonData) or not valid JSON.
func HistoryData(from, to Snapshot) string {
	var j jsonWriter
	j.open('{')
	j.key("version")
	j.str("1.0")
	for _, s := range []struct {
		key string
		s   Snapshot
	}{{"oldState", from}, {"newState", to}} {
		j.key(s.key)
		j.open('{')
		j.key("stateValue")
		j.str(s.s.Value)
		j.key("stateReason")
		j.str(s.s.Reason)
		if data := strings.TrimSpace(s.s.ReasonData); data != "" && json.Valid([]byte(data)) {
			j.key("stateReasonData")
			j.raw(data)
		}
		j.close('}')
	}
	j.close('}')
	return j.String()
}
