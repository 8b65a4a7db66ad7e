package cloudwatch

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	api "github.com/nephele-dev/nephele/internal/api/cloudwatch"
	"github.com/nephele-dev/nephele/internal/clock"
	"github.com/nephele-dev/nephele/internal/metrics"
	"github.com/nephele-dev/nephele/internal/store"
)

var t0 = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)

// fakeActions records the actions alarms take, and fails EC2 actions
// when told to.
type fakeActions struct {
	mu       sync.Mutex
	scaling  []AlarmEvent
	ec2      []string
	ec2Err   error
	payloads [][]byte
}

func (f *fakeActions) ExecuteAlarmAction(_ context.Context, policy string, ev AlarmEvent) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.scaling = append(f.scaling, ev)
	return nil
}

func (f *fakeActions) AlarmAction(_ context.Context, account, region, id, action string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.ec2 = append(f.ec2, id+":"+action)
	return f.ec2Err
}

func (f *fakeActions) InvokeEvent(_ context.Context, fn string, payload []byte) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.payloads = append(f.payloads, payload)
	return nil
}

func (f *fakeActions) counts() (scaling, ec2, lambda int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.scaling), len(f.ec2), len(f.payloads)
}

// newTestService is a service on a fake clock with fake actions; its
// evaluator does not run by itself: tests call evaluateAt.
func newTestService(t *testing.T, st store.Store, persist bool) (*Service, *clock.Fake, *fakeActions) {
	t.Helper()
	clk := clock.NewFake(t0)
	acts := &fakeActions{}
	s, err := New(st, clk, Options{PersistMetrics: persist, Actions: &Actions{Scaling: acts, Instances: acts, Functions: acts}})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.eval.loadAll(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, clk, acts
}

// waitFor polls cond for up to 5 s: actions run in their own goroutines.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for range 500 {
		if cond() {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s", what)
}

func cpu(s *Service, at time.Time, v float64) {
	s.Publish(context.Background(), "000000000000", "us-east-1", []metrics.Datum{{
		Namespace: "AWS/EC2", Name: "CPUUtilization", Dimensions: map[string]string{"InstanceId": "i-1"},
		Unit: "Percent", Value: v, Timestamp: at, StorageResolution: 60,
	}})
}

func putCPUAlarm(t *testing.T, s *Service, name string, actions ...string) {
	t.Helper()
	_, err := s.PutMetricAlarm(context.Background(), &api.PutMetricAlarmInput{
		AlarmName: ptr(name), Namespace: ptr("AWS/EC2"), MetricName: ptr("CPUUtilization"),
		Dimensions: []api.Dimension{{Name: ptr("InstanceId"), Value: ptr("i-1")}},
		Statistic:  ptr("Average"), Period: ptr(int32(60)), EvaluationPeriods: ptr(int32(1)),
		Threshold: ptr(50.0), ComparisonOperator: ptr("GreaterThanThreshold"), AlarmActions: actions,
	})
	if err != nil {
		t.Fatal(err)
	}
}

func stateOf(t *testing.T, s *Service, name string) string {
	t.Helper()
	out, err := s.DescribeAlarms(context.Background(), &api.DescribeAlarmsInput{AlarmNames: []string{name}})
	if err != nil || len(out.MetricAlarms) != 1 {
		t.Fatalf("DescribeAlarms: %+v, %v", out, err)
	}
	return str(out.MetricAlarms[0].StateValue)
}

// TestScalingActionRepeatsEachMinute: "For Auto Scaling actions, the alarm
// continues to invoke the action once per minute that the alarm remains
// in the new state"; other actions run once per change.
func TestScalingActionRepeatsEachMinute(t *testing.T) {
	s, _, acts := newTestService(t, store.NewMemory(), false)
	policy := "arn:aws:autoscaling:us-east-1:000000000000:scalingPolicy:1a2b:autoScalingGroupName/web:policyName/up"
	putCPUAlarm(t, s, "scale-up", policy, "arn:aws:lambda:us-east-1:000000000000:function:notify")
	for m := -1; m < 5; m++ {
		cpu(s, t0.Add(time.Duration(m)*time.Minute), 90)
	}
	s.eval.evaluateAt(t0)
	if got := stateOf(t, s, "scale-up"); got != "ALARM" {
		t.Fatalf("state = %s", got)
	}
	waitFor(t, "first actions", func() bool { n, _, l := acts.counts(); return n == 1 && l == 1 })
	s.eval.evaluateAt(t0.Add(30 * time.Second))
	for m := 1; m <= 3; m++ {
		s.eval.evaluateAt(t0.Add(time.Duration(m) * time.Minute))
	}
	waitFor(t, "a repeat a minute", func() bool { n, _, _ := acts.counts(); return n == 4 })
	if _, _, l := acts.counts(); l != 1 {
		t.Errorf("the Lambda action ran %d times, want once", l)
	}
	ev := acts.scaling[len(acts.scaling)-1]
	if ev.State != "ALARM" || ev.Threshold != 50 || len(ev.Values) == 0 || ev.Values[len(ev.Values)-1] != 90 {
		t.Errorf("scaling event = %+v", ev)
	}
	if !strings.Contains(string(acts.payloads[0]), `"source":"aws.cloudwatch"`) {
		t.Errorf("Lambda payload = %s", acts.payloads[0])
	}
}

// TestFailedActionInHistory: an action that fails shows in the alarm's
// history as failed, as CloudWatch records it.
func TestFailedActionInHistory(t *testing.T) {
	s, _, acts := newTestService(t, store.NewMemory(), false)
	acts.ec2Err = errors.New("instance i-1 is not in a state from which it can be stopped")
	putCPUAlarm(t, s, "stop-me", "arn:aws:automate:us-east-1:ec2:stop")
	cpu(s, t0.Add(-time.Minute), 99)
	s.eval.evaluateAt(t0)
	var items []api.AlarmHistoryItem
	waitFor(t, "the failed action's history", func() bool {
		out, err := s.DescribeAlarmHistory(context.Background(), &api.DescribeAlarmHistoryInput{AlarmName: ptr("stop-me"), HistoryItemType: ptr("Action")})
		items = out.AlarmHistoryItems
		return err == nil && len(items) == 1
	})
	if !strings.HasPrefix(str(items[0].HistorySummary), "Failed to execute action arn:aws:automate:us-east-1:ec2:stop") ||
		!strings.Contains(str(items[0].HistoryData), `"actionState":"Failed"`) {
		t.Errorf("history = %s / %s", str(items[0].HistorySummary), str(items[0].HistoryData))
	}
	if _, ec2, _ := acts.counts(); ec2 != 1 || acts.ec2[0] != "i-1:stop" {
		t.Errorf("EC2 actions = %v", acts.ec2)
	}
}

// TestDatapointsSurviveRestart: on a durable store, datapoints are saved
// at Close and read back by the next service.
func TestDatapointsSurviveRestart(t *testing.T) {
	st, err := store.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	s, _, _ := newTestService(t, st, true)
	cpu(s, t0.Add(-2*time.Minute), 42)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	again, _, _ := newTestService(t, st, true)
	out, err := again.GetMetricStatistics(context.Background(), &api.GetMetricStatisticsInput{
		Namespace: ptr("AWS/EC2"), MetricName: ptr("CPUUtilization"), Dimensions: []api.Dimension{{Name: ptr("InstanceId"), Value: ptr("i-1")}},
		StartTime: ptr(t0.Add(-time.Hour)), EndTime: ptr(t0), Period: ptr(int32(3600)), Statistics: []string{"Maximum"},
	})
	if err != nil || len(out.Datapoints) != 1 || *out.Datapoints[0].Maximum != 42 {
		t.Errorf("after restart: %+v, %v", out, err)
	}
}

// TestReset drops datapoints and the evaluator's alarms.
func TestReset(t *testing.T) {
	st := store.NewMemory()
	s, _, _ := newTestService(t, st, false)
	putCPUAlarm(t, s, "a")
	cpu(s, t0.Add(-time.Minute), 1)
	if err := s.Reset(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := st.Reset(); err != nil {
		t.Fatal(err)
	}
	list, err := s.ListMetrics(context.Background(), &api.ListMetricsInput{})
	if err != nil || len(list.Metrics) != 0 {
		t.Errorf("metrics after reset: %+v, %v", list, err)
	}
	if n := len(s.eval.alarms); n != 0 {
		t.Errorf("%d alarms still evaluated after reset", n)
	}
}
