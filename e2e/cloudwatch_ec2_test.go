package e2e

import (
	"context"
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/nephele-dev/nephele/internal/server"
	"github.com/nephele-dev/nephele/internal/testenv"
)

// burnUserData starts two busy loops (a one-vCPU instance at 100%) and
// writes their PIDs to dir, so the test can end the load.
func burnUserData(dir string) string {
	return fmt.Sprintf(`#!/bin/sh
for n in 1 2; do
  sh -c 'while :; do :; done' &
  echo $! > %s/burn$n.pid
done
# The instance stays up, idle, once the test ends the load.
while :; do sleep 60; done
`, dir)
}

// detailedInstance launches a t2.micro (one vCPU) with detailed
// monitoring, so CloudWatch gets a CPUUtilization datapoint a minute.
func detailedInstance(t *testing.T, c *ec2.Client, userData string) string {
	t.Helper()
	ctx := context.Background()
	run, err := c.RunInstances(ctx, &ec2.RunInstancesInput{
		ImageId: al2023(t, c), InstanceType: ec2types.InstanceTypeT2Micro, MinCount: aws.Int32(1), MaxCount: aws.Int32(1),
		Monitoring: &ec2types.RunInstancesMonitoringEnabled{Enabled: aws.Bool(true)},
		UserData:   aws.String(base64.StdEncoding.EncodeToString([]byte(userData))),
	})
	if err != nil {
		t.Fatalf("RunInstances: %v", err)
	}
	id := aws.ToString(run.Instances[0].InstanceId)
	t.Cleanup(func() {
		c.TerminateInstances(context.Background(), &ec2.TerminateInstancesInput{InstanceIds: []string{id}})
		instanceState(t, c, id, "terminated")
	})
	return id
}

// cpuAlarm is the alarm: CPUUtilization > 50 for 3 of 3 one-minute
// periods of one instance.
func cpuAlarm(name, instance string, actions ...string) *cloudwatch.PutMetricAlarmInput {
	return &cloudwatch.PutMetricAlarmInput{
		AlarmName: aws.String(name), Namespace: aws.String("AWS/EC2"), MetricName: aws.String("CPUUtilization"),
		Dimensions: []cwtypes.Dimension{{Name: aws.String("InstanceId"), Value: aws.String(instance)}},
		Statistic:  cwtypes.StatisticAverage, Period: aws.Int32(60), EvaluationPeriods: aws.Int32(3),
		Threshold: aws.Float64(50), ComparisonOperator: cwtypes.ComparisonOperatorGreaterThanThreshold,
		AlarmActions: actions,
	}
}

// TestCloudWatchCPUAlarmOnInstance is the story at --time-scale
// 60: an instance whose user-data burns CPU sends its alarm to ALARM within
// seconds of real time, with AWS-shaped history; when the load stops the
// alarm returns to OK. The same alarm with the EC2 stop action stops a
// second such instance.
func TestCloudWatchCPUAlarmOnInstance(t *testing.T) {
	env := testenv.Start(t, server.Config{TimeScale: 60})
	ctx := context.Background()
	ec2c := ec2.NewFromConfig(env.AWSConfig())
	cw := cloudwatch.NewFromConfig(env.AWSConfig())
	dir := t.TempDir()

	id := detailedInstance(t, ec2c, burnUserData(dir))
	if _, err := cw.PutMetricAlarm(ctx, cpuAlarm("cpu-high", id)); err != nil {
		t.Fatalf("PutMetricAlarm: %v", err)
	}
	began := time.Now()
	a := waitAlarm(t, cw, nil, 0, "cpu-high", cwtypes.StateValueAlarm)
	t.Logf("ALARM after %v of real time: %s", time.Since(began).Round(time.Millisecond), aws.ToString(a.StateReason))
	// Three breaching minutes, or two when the first minute was not yet
	// measured: CloudWatch alarms once the oldest breach is three periods
	// old ("Avoiding premature transitions to alarm state").
	if r := aws.ToString(a.StateReason); !strings.HasPrefix(r, "Threshold Crossed: ") || !strings.Contains(r, "greater than the threshold (50.0)") {
		t.Errorf("StateReason = %q", aws.ToString(a.StateReason))
	}
	if h := history(t, cw, "cpu-high", cwtypes.HistoryItemTypeStateUpdate); len(h) == 0 || !strings.HasSuffix(aws.ToString(h[0].HistorySummary), "to ALARM") {
		t.Errorf("history = %+v", h)
	}
	stats, err := cw.GetMetricStatistics(ctx, &cloudwatch.GetMetricStatisticsInput{
		Namespace: aws.String("AWS/EC2"), MetricName: aws.String("CPUUtilization"),
		Dimensions: []cwtypes.Dimension{{Name: aws.String("InstanceId"), Value: aws.String(id)}},
		StartTime:  aws.Time(time.Now().Add(-24 * time.Hour)), EndTime: aws.Time(time.Now().Add(24 * time.Hour)),
		Period: aws.Int32(3600), Statistics: []cwtypes.Statistic{cwtypes.StatisticMaximum},
	})
	if err != nil || len(stats.Datapoints) == 0 || aws.ToFloat64(stats.Datapoints[0].Maximum) <= 50 {
		t.Errorf("CPUUtilization of the burning instance: %+v, %v", stats, err)
	}

	// End the load: the alarm goes back to OK.
	for n := 1; n <= 2; n++ {
		b, err := os.ReadFile(filepath.Join(dir, fmt.Sprintf("burn%d.pid", n)))
		if err != nil {
			t.Fatal(err)
		}
		pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
		if pid > 0 {
			syscall.Kill(pid, syscall.SIGKILL)
		}
	}
	waitAlarm(t, cw, nil, 0, "cpu-high", cwtypes.StateValueOk)

	// The same alarm with the EC2 stop action stops the instance.
	dir2 := t.TempDir()
	id2 := detailedInstance(t, ec2c, burnUserData(dir2))
	if _, err := cw.PutMetricAlarm(ctx, cpuAlarm("cpu-stop", id2, "arn:aws:automate:us-east-1:ec2:stop")); err != nil {
		t.Fatalf("PutMetricAlarm: %v", err)
	}
	waitAlarm(t, cw, nil, 0, "cpu-stop", cwtypes.StateValueAlarm)
	inst := instanceState(t, ec2c, id2, "stopped")
	t.Logf("stopped by its alarm: %s", aws.ToString(inst.StateTransitionReason))
	eventually(t, "stop action in history", func() error {
		h := history(t, cw, "cpu-stop", cwtypes.HistoryItemTypeAction)
		if len(h) != 1 || aws.ToString(h[0].HistorySummary) != "Successfully executed action arn:aws:automate:us-east-1:ec2:stop" {
			return fmt.Errorf("actions = %+v", h)
		}
		return nil
	})
}
