package e2e

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"

	"github.com/nephele-dev/nephele/internal/server"
	"github.com/nephele-dev/nephele/internal/testenv"
)

// TestTerraformCloudWatchStack applies a metric alarm, a metric math
// alarm, a composite alarm over them, a dashboard and a log group with
// the hashicorp/aws provider: apply converges, a second plan sees no
// drift, and destroy leaves nothing.
func TestTerraformCloudWatchStack(t *testing.T) {
	t.Parallel()
	env := testenv.Start(t, server.Config{})
	tf := env.NewTerraform(t, `
resource "aws_cloudwatch_metric_alarm" "cpu" {
  alarm_name          = "tf-cpu-high"
  namespace           = "AWS/EC2"
  metric_name         = "CPUUtilization"
  statistic           = "Average"
  period              = 60
  evaluation_periods  = 3
  datapoints_to_alarm = 2
  threshold           = 80
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_description   = "CPU above 80%"
  dimensions = {
    AutoScalingGroupName = "web"
  }
  tags = {
    team = "platform"
  }
}

resource "aws_cloudwatch_metric_alarm" "errors" {
  alarm_name          = "tf-error-rate"
  comparison_operator = "GreaterThanOrEqualToThreshold"
  evaluation_periods  = 2
  threshold           = 10
  metric_query {
    id          = "rate"
    expression  = "errors * 100 / requests"
    label       = "Error rate"
    return_data = true
  }
  metric_query {
    id = "errors"
    metric {
      namespace   = "App"
      metric_name = "Errors"
      period      = 60
      stat        = "Sum"
    }
  }
  metric_query {
    id = "requests"
    metric {
      namespace   = "App"
      metric_name = "Requests"
      period      = 60
      stat        = "Sum"
    }
  }
}

resource "aws_cloudwatch_composite_alarm" "service" {
  alarm_name = "tf-service-degraded"
  alarm_rule = "ALARM(${aws_cloudwatch_metric_alarm.cpu.alarm_name}) OR ALARM(${aws_cloudwatch_metric_alarm.errors.alarm_name})"
}

resource "aws_cloudwatch_dashboard" "main" {
  dashboard_name = "tf-main"
  dashboard_body = jsonencode({
    widgets = [{
      type   = "metric"
      x      = 0
      y      = 0
      width  = 12
      height = 6
      properties = {
        metrics = [["AWS/EC2", "CPUUtilization", "AutoScalingGroupName", "web"]]
        period  = 60
        stat    = "Average"
        region  = "us-east-1"
        title   = "CPU"
      }
    }]
  })
}

resource "aws_cloudwatch_log_group" "app" {
  name              = "/tf/app"
  retention_in_days = 7
}
`)
	tf.Run(t, "apply", "-auto-approve", "-input=false", "-no-color")
	ctx := context.Background()
	cw := cloudwatch.NewFromConfig(env.AWSConfig())
	out, err := cw.DescribeAlarms(ctx, &cloudwatch.DescribeAlarmsInput{AlarmTypes: []cwtypes.AlarmType{cwtypes.AlarmTypeMetricAlarm, cwtypes.AlarmTypeCompositeAlarm}})
	if err != nil || len(out.MetricAlarms) != 2 || len(out.CompositeAlarms) != 1 {
		t.Fatalf("after apply: %+v, %v", out, err)
	}
	dash, err := cw.GetDashboard(ctx, &cloudwatch.GetDashboardInput{DashboardName: aws.String("tf-main")})
	if err != nil || !strings.Contains(aws.ToString(dash.DashboardBody), "CPUUtilization") {
		t.Errorf("dashboard: %+v, %v", dash, err)
	}
	logs := cloudwatchlogs.NewFromConfig(env.AWSConfig())
	groups, err := logs.DescribeLogGroups(ctx, &cloudwatchlogs.DescribeLogGroupsInput{LogGroupNamePrefix: aws.String("/tf/")})
	if err != nil || len(groups.LogGroups) != 1 || aws.ToInt32(groups.LogGroups[0].RetentionInDays) != 7 {
		t.Errorf("log group: %+v, %v", groups, err)
	}
	if plan := tf.Run(t, "plan", "-detailed-exitcode", "-input=false", "-no-color"); !strings.Contains(plan, "No changes") {
		t.Errorf("second plan is not empty:\n%s", plan)
	}
	tf.Run(t, "destroy", "-auto-approve", "-input=false", "-no-color")
	out, err = cw.DescribeAlarms(ctx, &cloudwatch.DescribeAlarmsInput{AlarmTypes: []cwtypes.AlarmType{cwtypes.AlarmTypeMetricAlarm, cwtypes.AlarmTypeCompositeAlarm}})
	if err != nil || len(out.MetricAlarms)+len(out.CompositeAlarms) != 0 {
		t.Errorf("after destroy: %+v, %v", out, err)
	}
	dashes, err := cw.ListDashboards(ctx, &cloudwatch.ListDashboardsInput{})
	if err != nil || len(dashes.DashboardEntries) != 0 {
		t.Errorf("dashboards after destroy: %+v, %v", dashes, err)
	}
}
