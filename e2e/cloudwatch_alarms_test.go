package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"

	"github.com/nephele-dev/nephele/internal/clock"
	"github.com/nephele-dev/nephele/internal/server"
	"github.com/nephele-dev/nephele/internal/testenv"
)

// alarmState returns an alarm's state.
func alarmState(ctx context.Context, c *cloudwatch.Client, name string) (cwtypes.MetricAlarm, cwtypes.CompositeAlarm, error) {
	out, err := c.DescribeAlarms(ctx, &cloudwatch.DescribeAlarmsInput{AlarmNames: []string{name},
		AlarmTypes: []cwtypes.AlarmType{cwtypes.AlarmTypeMetricAlarm, cwtypes.AlarmTypeCompositeAlarm}})
	switch {
	case err != nil:
		return cwtypes.MetricAlarm{}, cwtypes.CompositeAlarm{}, err
	case len(out.MetricAlarms) == 1:
		return out.MetricAlarms[0], cwtypes.CompositeAlarm{}, nil
	case len(out.CompositeAlarms) == 1:
		return cwtypes.MetricAlarm{StateValue: out.CompositeAlarms[0].StateValue}, out.CompositeAlarms[0], nil
	}
	return cwtypes.MetricAlarm{}, cwtypes.CompositeAlarm{}, fmt.Errorf("alarm %s not found", name)
}

// waitAlarm waits (bounded, in real time) for an alarm to reach a state,
// advancing the fake clock by step on each try when it is not nil.
func waitAlarm(t *testing.T, c *cloudwatch.Client, clk *clock.Fake, step time.Duration, name string, state cwtypes.StateValue) cwtypes.MetricAlarm {
	t.Helper()
	var a cwtypes.MetricAlarm
	eventually(t, name+" "+string(state), func() error {
		if clk != nil {
			clk.Advance(step)
		}
		var err error
		if a, _, err = alarmState(context.Background(), c, name); err != nil {
			return err
		}
		if a.StateValue != state {
			return fmt.Errorf("state %s (%s)", a.StateValue, aws.ToString(a.StateReason))
		}
		return nil
	})
	return a
}

// history returns an alarm's history items of one type, newest first.
func history(t *testing.T, c *cloudwatch.Client, name string, typ cwtypes.HistoryItemType) []cwtypes.AlarmHistoryItem {
	t.Helper()
	out, err := c.DescribeAlarmHistory(context.Background(), &cloudwatch.DescribeAlarmHistoryInput{AlarmName: aws.String(name), HistoryItemType: typ})
	if err != nil {
		t.Fatalf("DescribeAlarmHistory: %v", err)
	}
	return out.AlarmHistoryItems
}

// TestCloudWatchAlarmLifecycle is the alarm story on the fake clock: a
// 2-of-3 alarm on a custom metric goes from INSUFFICIENT_DATA to ALARM
// when the data breaches, with AWS-shaped reason and history, runs its SNS
// action (the message kept in history), drives a composite alarm, and
// returns to OK when the data does; SetAlarmState, disabled actions,
// filters, paging, tags and deletion behave as CloudWatch's.
func TestCloudWatchAlarmLifecycle(t *testing.T) {
	clk := clock.NewFake(cwStart.Add(30 * time.Second))
	env := testenv.Start(t, server.Config{Clock: clk})
	ctx := context.Background()
	c := cloudwatch.NewFromConfig(env.AWSConfig())
	topic := "arn:aws:sns:us-east-1:000000000000:ops"
	_, err := c.PutMetricAlarm(ctx, &cloudwatch.PutMetricAlarmInput{
		AlarmName: aws.String("latency-high"), Namespace: aws.String("Shop"), MetricName: aws.String("Latency"),
		Statistic: cwtypes.StatisticAverage, Period: aws.Int32(60), EvaluationPeriods: aws.Int32(3), DatapointsToAlarm: aws.Int32(2),
		Threshold: aws.Float64(100), ComparisonOperator: cwtypes.ComparisonOperatorGreaterThanThreshold,
		AlarmActions: []string{topic}, OKActions: []string{topic},
		Tags: []cwtypes.Tag{{Key: aws.String("team"), Value: aws.String("checkout")}},
	})
	if err != nil {
		t.Fatalf("PutMetricAlarm: %v", err)
	}
	a, _, err := alarmState(ctx, c, "latency-high")
	if err != nil || a.StateValue != cwtypes.StateValueInsufficientData || aws.ToString(a.StateReason) != "Unchecked: Initial alarm creation" ||
		aws.ToString(a.AlarmArn) != "arn:aws:cloudwatch:us-east-1:000000000000:alarm:latency-high" || a.TreatMissingData == nil {
		t.Fatalf("new alarm = %+v, %v", a, err)
	}
	_, err = c.PutCompositeAlarm(ctx, &cloudwatch.PutCompositeAlarmInput{
		AlarmName: aws.String("checkout-down"), AlarmRule: aws.String(`ALARM("latency-high") AND NOT ALARM(errors-high)`),
	})
	if apiCode(err) != "ValidationError" {
		t.Errorf("composite naming a missing alarm: %v", err)
	}
	_, err = c.PutCompositeAlarm(ctx, &cloudwatch.PutCompositeAlarmInput{
		AlarmName: aws.String("checkout-down"), AlarmRule: aws.String(`ALARM("latency-high") OR FALSE`),
	})
	if err != nil {
		t.Fatalf("PutCompositeAlarm: %v", err)
	}

	put := func(at time.Time, v float64) {
		t.Helper()
		_, err := c.PutMetricData(ctx, &cloudwatch.PutMetricDataInput{Namespace: aws.String("Shop"), MetricData: []cwtypes.MetricDatum{
			{MetricName: aws.String("Latency"), Value: aws.Float64(v), Timestamp: aws.Time(at)}}})
		if err != nil {
			t.Fatal(err)
		}
	}
	// Two of the last three minutes breach.
	put(cwStart.Add(-3*time.Minute), 50)
	put(cwStart.Add(-2*time.Minute), 150)
	put(cwStart.Add(-1*time.Minute), 250)
	a = waitAlarm(t, c, clk, 10*time.Second, "latency-high", cwtypes.StateValueAlarm)
	if reason := aws.ToString(a.StateReason); !strings.HasPrefix(reason, "Threshold Crossed: 2 out of the last 3 datapoints") || !strings.Contains(reason, "greater than the threshold (100.0)") {
		t.Errorf("StateReason = %q", reason)
	}
	var reasonData struct {
		Version             string    `json:"version"`
		Statistic           string    `json:"statistic"`
		Period              int       `json:"period"`
		Threshold           float64   `json:"threshold"`
		RecentDatapoints    []float64 `json:"recentDatapoints"`
		EvaluatedDatapoints []struct {
			Timestamp string  `json:"timestamp"`
			Value     float64 `json:"value"`
		} `json:"evaluatedDatapoints"`
	}
	if err := json.Unmarshal([]byte(aws.ToString(a.StateReasonData)), &reasonData); err != nil || reasonData.Version != "1.0" ||
		reasonData.Statistic != "Average" || reasonData.Period != 60 || reasonData.Threshold != 100 || len(reasonData.EvaluatedDatapoints) == 0 {
		t.Errorf("StateReasonData = %s (%v)", aws.ToString(a.StateReasonData), err)
	}
	updates := history(t, c, "latency-high", cwtypes.HistoryItemTypeStateUpdate)
	if len(updates) != 1 || aws.ToString(updates[0].HistorySummary) != "Alarm updated from INSUFFICIENT_DATA to ALARM" {
		t.Fatalf("state updates = %+v", updates)
	}
	var hd struct {
		OldState, NewState struct{ StateValue string }
	}
	if err := json.Unmarshal([]byte(aws.ToString(updates[0].HistoryData)), &hd); err != nil || hd.OldState.StateValue != "INSUFFICIENT_DATA" || hd.NewState.StateValue != "ALARM" {
		t.Errorf("HistoryData = %s", aws.ToString(updates[0].HistoryData))
	}
	var published map[string]any
	eventually(t, "SNS action in history", func() error {
		actions := history(t, c, "latency-high", cwtypes.HistoryItemTypeAction)
		if len(actions) != 1 {
			return fmt.Errorf("actions = %d", len(actions))
		}
		if s := aws.ToString(actions[0].HistorySummary); s != "Successfully executed action "+topic {
			return fmt.Errorf("summary %q", s)
		}
		var data struct{ PublishedMessage string }
		if err := json.Unmarshal([]byte(aws.ToString(actions[0].HistoryData)), &data); err != nil {
			return err
		}
		return json.Unmarshal([]byte(data.PublishedMessage), &published)
	})
	if published["NewStateValue"] != "ALARM" || published["AlarmName"] != "latency-high" || published["OldStateValue"] != "INSUFFICIENT_DATA" {
		t.Errorf("published message = %v", published)
	}
	waitAlarm(t, c, nil, 0, "checkout-down", cwtypes.StateValueAlarm)

	// Filters and paging.
	_, err = c.PutMetricAlarm(ctx, &cloudwatch.PutMetricAlarmInput{
		AlarmName: aws.String("orders-low"), Namespace: aws.String("Shop"), MetricName: aws.String("Orders"),
		Statistic: cwtypes.StatisticSum, Period: aws.Int32(300), EvaluationPeriods: aws.Int32(1),
		Threshold: aws.Float64(1), ComparisonOperator: cwtypes.ComparisonOperatorLessThanThreshold, TreatMissingData: aws.String("breaching"),
	})
	if err != nil {
		t.Fatal(err)
	}
	inAlarm, err := c.DescribeAlarms(ctx, &cloudwatch.DescribeAlarmsInput{StateValue: cwtypes.StateValueAlarm})
	if err != nil || len(inAlarm.MetricAlarms) != 1 || len(inAlarm.CompositeAlarms) != 0 {
		t.Errorf("metric alarms in ALARM: %+v, %v", inAlarm, err)
	}
	composites, err := c.DescribeAlarms(ctx, &cloudwatch.DescribeAlarmsInput{AlarmTypes: []cwtypes.AlarmType{cwtypes.AlarmTypeCompositeAlarm}})
	if err != nil || len(composites.CompositeAlarms) != 1 || aws.ToString(composites.CompositeAlarms[0].AlarmRule) != `ALARM("latency-high") OR FALSE` {
		t.Errorf("composites: %+v, %v", composites, err)
	}
	parents, err := c.DescribeAlarms(ctx, &cloudwatch.DescribeAlarmsInput{ParentsOfAlarmName: aws.String("latency-high")})
	if err != nil || len(parents.CompositeAlarms) != 1 {
		t.Errorf("parents of latency-high: %+v, %v", parents, err)
	}
	var pageNames []string
	var token *string
	for range 5 {
		out, err := c.DescribeAlarms(ctx, &cloudwatch.DescribeAlarmsInput{MaxRecords: aws.Int32(1), NextToken: token})
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range out.MetricAlarms {
			pageNames = append(pageNames, aws.ToString(m.AlarmName))
		}
		if token = out.NextToken; token == nil {
			break
		}
	}
	if strings.Join(pageNames, ",") != "latency-high,orders-low" {
		t.Errorf("pages = %v", pageNames)
	}
	forMetric, err := c.DescribeAlarmsForMetric(ctx, &cloudwatch.DescribeAlarmsForMetricInput{Namespace: aws.String("Shop"), MetricName: aws.String("Orders")})
	if err != nil || len(forMetric.MetricAlarms) != 1 || aws.ToString(forMetric.MetricAlarms[0].AlarmName) != "orders-low" {
		t.Errorf("DescribeAlarmsForMetric: %+v, %v", forMetric, err)
	}
	tags, err := c.ListTagsForResource(ctx, &cloudwatch.ListTagsForResourceInput{ResourceARN: a.AlarmArn})
	if err != nil || len(tags.Tags) != 1 || aws.ToString(tags.Tags[0].Value) != "checkout" {
		t.Errorf("tags: %+v, %v", tags, err)
	}

	// With actions disabled the state still changes, and nothing runs.
	if _, err := c.DisableAlarmActions(ctx, &cloudwatch.DisableAlarmActionsInput{AlarmNames: []string{"latency-high"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.SetAlarmState(ctx, &cloudwatch.SetAlarmStateInput{AlarmName: aws.String("latency-high"),
		StateValue: cwtypes.StateValueOk, StateReason: aws.String("testing the pager")}); err != nil {
		t.Fatal(err)
	}
	a, _, _ = alarmState(ctx, c, "latency-high")
	if a.StateValue != cwtypes.StateValueOk || aws.ToString(a.StateReason) != "testing the pager" {
		t.Errorf("after SetAlarmState: %s %q", a.StateValue, aws.ToString(a.StateReason))
	}
	waitAlarm(t, c, nil, 0, "checkout-down", cwtypes.StateValueOk)
	if n := len(history(t, c, "latency-high", cwtypes.HistoryItemTypeAction)); n != 1 {
		t.Errorf("%d actions recorded with actions disabled, want still 1", n)
	}
	if _, err := c.EnableAlarmActions(ctx, &cloudwatch.EnableAlarmActionsInput{AlarmNames: []string{"latency-high"}}); err != nil {
		t.Fatal(err)
	}
	// The next evaluation puts the alarm back where the data says.
	waitAlarm(t, c, clk, 10*time.Second, "latency-high", cwtypes.StateValueAlarm)
	// Low data for three minutes: OK.
	now := clk.Now().Truncate(time.Minute)
	for i := range 4 {
		put(now.Add(time.Duration(i)*time.Minute), 20)
	}
	waitAlarm(t, c, clk, 10*time.Second, "latency-high", cwtypes.StateValueOk)

	_, err = c.DeleteAlarms(ctx, &cloudwatch.DeleteAlarmsInput{AlarmNames: []string{"latency-high"}})
	if apiCode(err) != "ValidationError" {
		t.Errorf("deleting a composite's child: %v", err)
	}
	if _, err := c.DeleteAlarms(ctx, &cloudwatch.DeleteAlarmsInput{AlarmNames: []string{"checkout-down", "latency-high", "orders-low", "never-was"}}); err != nil {
		t.Fatalf("DeleteAlarms: %v", err)
	}
	left, err := c.DescribeAlarms(ctx, &cloudwatch.DescribeAlarmsInput{AlarmTypes: []cwtypes.AlarmType{cwtypes.AlarmTypeMetricAlarm, cwtypes.AlarmTypeCompositeAlarm}})
	if err != nil || len(left.MetricAlarms)+len(left.CompositeAlarms) != 0 {
		t.Errorf("after DeleteAlarms: %+v, %v", left, err)
	}
}

// TestCloudWatchAlarmErrors checks PutMetricAlarm's rules.
func TestCloudWatchAlarmErrors(t *testing.T) {
	env := testenv.Start(t, server.Config{})
	ctx := context.Background()
	c := cloudwatch.NewFromConfig(env.AWSConfig())
	base := func(mod func(*cloudwatch.PutMetricAlarmInput)) *cloudwatch.PutMetricAlarmInput {
		in := &cloudwatch.PutMetricAlarmInput{
			AlarmName: aws.String("a"), Namespace: aws.String("App"), MetricName: aws.String("M"), Statistic: cwtypes.StatisticAverage,
			Period: aws.Int32(60), EvaluationPeriods: aws.Int32(1), Threshold: aws.Float64(1), ComparisonOperator: cwtypes.ComparisonOperatorGreaterThanThreshold,
		}
		mod(in)
		return in
	}
	tests := []struct {
		name, code string
		in         *cloudwatch.PutMetricAlarmInput
	}{
		{"both_statistics", "InvalidParameterCombination", base(func(in *cloudwatch.PutMetricAlarmInput) { in.ExtendedStatistic = aws.String("p99") })},
		{"period_45", "InvalidParameterValue", base(func(in *cloudwatch.PutMetricAlarmInput) { in.Period = aws.Int32(45) })},
		{"over_a_day", "ValidationError", base(func(in *cloudwatch.PutMetricAlarmInput) { in.EvaluationPeriods = aws.Int32(1441) })},
		{"m_above_n", "ValidationError", base(func(in *cloudwatch.PutMetricAlarmInput) { in.DatapointsToAlarm = aws.Int32(2) })},
		{"bad_missing_data", "ValidationError", base(func(in *cloudwatch.PutMetricAlarmInput) { in.TreatMissingData = aws.String("sometimes") })},
		{"no_threshold", "MissingParameter", base(func(in *cloudwatch.PutMetricAlarmInput) { in.Threshold = nil })},
		{"ec2_action_typo", "ValidationError", base(func(in *cloudwatch.PutMetricAlarmInput) {
			in.AlarmActions = []string{"arn:aws:automate:us-east-1:ec2:explode"}
		})},
		{"metrics_with_metric_name", "InvalidParameterCombination", base(func(in *cloudwatch.PutMetricAlarmInput) {
			in.Metrics = []cwtypes.MetricDataQuery{{Id: aws.String("e1"), Expression: aws.String("1"), Period: aws.Int32(60)}}
		})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := c.PutMetricAlarm(ctx, tt.in); apiCode(err) != tt.code {
				t.Errorf("err = %v, want %s", err, tt.code)
			}
		})
	}
	out, err := c.DescribeAlarms(ctx, &cloudwatch.DescribeAlarmsInput{})
	if err != nil || len(out.MetricAlarms) != 0 {
		t.Errorf("rejected alarms were stored: %+v, %v", out, err)
	}
	_, err = c.SetAlarmState(ctx, &cloudwatch.SetAlarmStateInput{AlarmName: aws.String("nope"), StateValue: cwtypes.StateValueOk, StateReason: aws.String("x")})
	if apiCode(err) != "ResourceNotFound" {
		t.Errorf("SetAlarmState of a missing alarm: %v", err)
	}
}
