package e2e

import (
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/nephele-dev/nephele/internal/server"
	"github.com/nephele-dev/nephele/internal/testenv"
)

// TestCloudWatchCLI drives CloudWatch with the aws CLI (JSON 1.0 with
// query-compatible errors): put and read metrics, put and describe an
// alarm, set its state, and get the AWS error for a reserved namespace.
func TestCloudWatchCLI(t *testing.T) {
	env := testenv.Start(t, server.Config{})
	now := time.Now().UTC()
	for _, v := range []string{"10", "20", "30"} {
		if _, err := env.CLI(t, "cloudwatch", "put-metric-data", "--namespace", "CLI/App", "--metric-name", "Jobs",
			"--dimensions", "Queue=emails", "--unit", "Count", "--value", v); err != nil {
			t.Fatal(err)
		}
	}
	out, err := env.CLI(t, "cloudwatch", "get-metric-statistics", "--namespace", "CLI/App", "--metric-name", "Jobs",
		"--dimensions", "Name=Queue,Value=emails", "--statistics", "Sum", "Average", "SampleCount",
		"--start-time", now.Add(-10*time.Minute).Format(time.RFC3339), "--end-time", now.Add(5*time.Minute).Format(time.RFC3339), "--period", "3600")
	if err != nil {
		t.Fatal(err)
	}
	var stats struct {
		Label      string
		Datapoints []struct {
			Sum, Average, SampleCount float64
			Unit                      string
		}
	}
	if err := json.Unmarshal([]byte(out), &stats); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if stats.Label != "Jobs" || len(stats.Datapoints) != 1 || stats.Datapoints[0].Sum != 60 || stats.Datapoints[0].Average != 20 ||
		stats.Datapoints[0].SampleCount != 3 || stats.Datapoints[0].Unit != "Count" {
		t.Errorf("get-metric-statistics = %s", out)
	}
	// The alarm watches a metric with no data and ignores missing data,
	// so the evaluator, running on the real clock, keeps the state the
	// test sets.
	if _, err := env.CLI(t, "cloudwatch", "put-metric-alarm", "--alarm-name", "jobs-high", "--namespace", "CLI/App",
		"--metric-name", "Failures", "--dimensions", "Name=Queue,Value=emails", "--statistic", "Sum", "--period", "60",
		"--evaluation-periods", "1", "--threshold", "100", "--comparison-operator", "GreaterThanThreshold",
		"--treat-missing-data", "ignore"); err != nil {
		t.Fatal(err)
	}
	if _, err := env.CLI(t, "cloudwatch", "set-alarm-state", "--alarm-name", "jobs-high", "--state-value", "ALARM",
		"--state-reason", "drill"); err != nil {
		t.Fatal(err)
	}
	out, err = env.CLI(t, "cloudwatch", "describe-alarms", "--alarm-names", "jobs-high")
	if err != nil {
		t.Fatal(err)
	}
	var alarms struct {
		MetricAlarms []struct {
			AlarmName, StateValue, StateReason string
			Threshold                          float64
			Dimensions                         []struct{ Name, Value string }
		}
	}
	if err := json.Unmarshal([]byte(out), &alarms); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if len(alarms.MetricAlarms) != 1 || alarms.MetricAlarms[0].StateValue != "ALARM" || alarms.MetricAlarms[0].StateReason != "drill" ||
		alarms.MetricAlarms[0].Threshold != 100 || len(alarms.MetricAlarms[0].Dimensions) != 1 {
		t.Errorf("describe-alarms = %s", out)
	}
	_, err = env.CLI(t, "cloudwatch", "put-metric-data", "--namespace", "AWS/EC2", "--metric-name", "X", "--value", "1")
	if err == nil || !strings.Contains(err.Error(), "InvalidParameterValue") {
		t.Errorf("reserved namespace: %v", err)
	}
	_, err = env.CLI(t, "cloudwatch", "get-dashboard", "--dashboard-name", "none")
	if err == nil || !strings.Contains(err.Error(), "ResourceNotFound") {
		t.Errorf("missing dashboard: %v", err)
	}
}

// TestCloudWatchBoto3 runs metrics, an alarm, a dashboard and an error
// through boto3.
func TestCloudWatchBoto3(t *testing.T) {
	env := testenv.Start(t, server.Config{})
	script := `
import boto3, json, datetime
cw = boto3.client("cloudwatch")
now = datetime.datetime.now(datetime.timezone.utc)
cw.put_metric_data(Namespace="Py/App", MetricData=[
    {"MetricName": "Latency", "Values": [1.0, 2.0, 3.0], "Counts": [1, 1, 1], "Unit": "Seconds"},
])
stats = cw.get_metric_statistics(Namespace="Py/App", MetricName="Latency", StartTime=now - datetime.timedelta(minutes=5),
    EndTime=now + datetime.timedelta(minutes=5), Period=600, Statistics=["Maximum", "Average"])
data = cw.get_metric_data(StartTime=now - datetime.timedelta(minutes=5), EndTime=now + datetime.timedelta(minutes=5),
    MetricDataQueries=[{"Id": "m1", "MetricStat": {"Metric": {"Namespace": "Py/App", "MetricName": "Latency"}, "Period": 600, "Stat": "Sum"}}])
cw.put_metric_alarm(AlarmName="py-alarm", Namespace="Py/App", MetricName="Latency", Statistic="Average", Period=60,
    EvaluationPeriods=1, Threshold=5, ComparisonOperator="GreaterThanThreshold")
alarms = cw.describe_alarms(AlarmNames=["py-alarm"])["MetricAlarms"]
cw.put_dashboard(DashboardName="py-dash", DashboardBody=json.dumps({"widgets": [{"type": "text", "x": 0, "y": 0, "width": 6, "height": 3, "properties": {"markdown": "hi"}}]}))
dash = cw.get_dashboard(DashboardName="py-dash")
try:
    cw.put_dashboard(DashboardName="bad", DashboardBody="not json")
    bad = "no error"
except cw.exceptions.DashboardInvalidInputError as e:
    bad = e.response["Error"]["Code"]
print(json.dumps({"max": stats["Datapoints"][0]["Maximum"], "sum": data["MetricDataResults"][0]["Values"],
    "alarm": alarms[0]["StateValue"], "dash": json.loads(dash["DashboardBody"])["widgets"][0]["type"], "bad": bad}))
`
	cmd := exec.Command("python3", "-c", script)
	cmd.Env = env.ClientEnv(t.TempDir())
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("boto3: %v\n%s", err, out)
	}
	var res struct {
		Max              float64
		Sum              []float64
		Alarm, Dash, Bad string
	}
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("boto3 output %s: %v", out, err)
	}
	if res.Max != 3 || len(res.Sum) != 1 || res.Sum[0] != 6 || res.Alarm != "INSUFFICIENT_DATA" || res.Dash != "text" || res.Bad != "InvalidParameterInput" {
		t.Errorf("boto3 saw %+v", res)
	}
}
