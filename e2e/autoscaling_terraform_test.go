package e2e

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"

	"github.com/nephele-dev/nephele/internal/server"
	"github.com/nephele-dev/nephele/internal/testenv"
)

// TestTerraformAutoScalingStack applies the stack the Auto Scaling issue
// names with the hashicorp/aws provider: a launch template, a group that
// waits for its capacity, with a warm pool, a lifecycle hook, metrics
// collection and an instance refresh block, a target tracking policy (with
// its alarms in CloudWatch), a step policy, and a scheduled action. The
// group really reaches its capacity, a second plan sees no drift, and
// destroy leaves no group, no alarm and no instance.
func TestTerraformAutoScalingStack(t *testing.T) {
	t.Parallel()
	env := testenv.Start(t, server.Config{TimeScale: 10})
	// Each instance writes its init's PID here, so the test can see that
	// destroy leaves no process.
	pids := t.TempDir()
	tf := env.NewTerraform(t, strings.ReplaceAll(`
data "aws_ami" "al2023" {
  most_recent = true
  owners      = ["amazon"]
  filter {
    name   = "name"
    values = ["al2023-ami-2023.*-x86_64"]
  }
}

resource "aws_launch_template" "web" {
  name          = "tf-web"
  image_id      = data.aws_ami.al2023.id
  instance_type = "t3.micro"
  user_data     = base64encode("#!/bin/sh\nsleep 3600 &\nID=$(basename $(dirname \"$INSTANCE_ROOT\"))\necho $PPID > PIDS/$ID.pid\n")
}

resource "aws_autoscaling_group" "web" {
  name                      = "tf-web"
  min_size                  = 1
  max_size                  = 4
  desired_capacity          = 2
  availability_zones        = ["us-east-1a", "us-east-1b"]
  health_check_type         = "EC2"
  health_check_grace_period = 30
  default_instance_warmup   = 30
  wait_for_capacity_timeout = "2m"
  enabled_metrics           = ["GroupDesiredCapacity", "GroupInServiceInstances"]
  termination_policies      = ["OldestInstance", "Default"]

  launch_template {
    id      = aws_launch_template.web.id
    version = "$Latest"
  }

  warm_pool {
    pool_state                  = "Stopped"
    min_size                    = 1
    max_group_prepared_capacity = 3
    instance_reuse_policy {
      reuse_on_scale_in = true
    }
  }

  instance_refresh {
    strategy = "Rolling"
    preferences {
      min_healthy_percentage = 50
    }
  }

  initial_lifecycle_hook {
    name                 = "boot"
    default_result       = "CONTINUE"
    heartbeat_timeout    = 30
    lifecycle_transition = "autoscaling:EC2_INSTANCE_LAUNCHING"
  }

  tag {
    key                 = "team"
    value               = "web"
    propagate_at_launch = true
  }
}

resource "aws_autoscaling_policy" "cpu" {
  name                   = "cpu50"
  autoscaling_group_name = aws_autoscaling_group.web.name
  policy_type            = "TargetTrackingScaling"
  target_tracking_configuration {
    predefined_metric_specification {
      predefined_metric_type = "ASGAverageCPUUtilization"
    }
    target_value = 50
  }
}

resource "aws_autoscaling_policy" "step" {
  name                      = "step-out"
  autoscaling_group_name    = aws_autoscaling_group.web.name
  policy_type               = "StepScaling"
  adjustment_type           = "ChangeInCapacity"
  estimated_instance_warmup = 60
  step_adjustment {
    metric_interval_lower_bound = 0
    metric_interval_upper_bound = 20
    scaling_adjustment          = 1
  }
  step_adjustment {
    metric_interval_lower_bound = 20
    scaling_adjustment          = 2
  }
}

resource "aws_autoscaling_schedule" "night" {
  scheduled_action_name  = "night"
  autoscaling_group_name = aws_autoscaling_group.web.name
  recurrence             = "0 22 * * *"
  time_zone              = "Europe/Paris"
  min_size               = 1
  max_size               = 4
  desired_capacity       = 1
}

resource "aws_autoscaling_lifecycle_hook" "drain" {
  name                   = "drain"
  autoscaling_group_name = aws_autoscaling_group.web.name
  lifecycle_transition   = "autoscaling:EC2_INSTANCE_TERMINATING"
  default_result         = "CONTINUE"
  heartbeat_timeout      = 30
}
`, "PIDS", pids))
	tf.Run(t, "apply", "-auto-approve", "-input=false", "-no-color")
	ctx := context.Background()
	as := autoscaling.NewFromConfig(env.AWSConfig())
	// wait_for_capacity_timeout made terraform wait: the capacity is there.
	if got := inServiceNow(ctx, as, "tf-web"); len(got) != 2 {
		t.Errorf("after apply, %d InService, want 2", len(got))
	}
	g, err := as.DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{AutoScalingGroupNames: []string{"tf-web"}})
	if err != nil || len(g.AutoScalingGroups) != 1 {
		t.Fatalf("group: %+v, %v", g, err)
	}
	if grp := g.AutoScalingGroups[0]; grp.WarmPoolConfiguration == nil || len(grp.EnabledMetrics) != 2 {
		t.Errorf("group's warm pool %+v, metrics %+v", grp.WarmPoolConfiguration, grp.EnabledMetrics)
	}
	hooks, err := as.DescribeLifecycleHooks(ctx, &autoscaling.DescribeLifecycleHooksInput{AutoScalingGroupName: aws.String("tf-web")})
	if err != nil || len(hooks.LifecycleHooks) != 2 {
		t.Errorf("hooks: %+v, %v", hooks, err)
	}
	cw := cloudwatch.NewFromConfig(env.AWSConfig())
	alarms, err := cw.DescribeAlarms(ctx, &cloudwatch.DescribeAlarmsInput{AlarmNamePrefix: aws.String("TargetTracking-tf-web-")})
	if err != nil || len(alarms.MetricAlarms) != 2 {
		t.Errorf("target tracking alarms: %+v, %v", alarms, err)
	}
	if plan := tf.Run(t, "plan", "-detailed-exitcode", "-input=false", "-no-color"); !strings.Contains(plan, "No changes") {
		t.Errorf("second plan is not empty:\n%s", plan)
	}
	tf.Run(t, "destroy", "-auto-approve", "-input=false", "-no-color")
	g, err = as.DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{})
	if err != nil || len(g.AutoScalingGroups) != 0 {
		t.Errorf("groups after destroy: %+v, %v", g, err)
	}
	alarms, err = cw.DescribeAlarms(ctx, &cloudwatch.DescribeAlarmsInput{})
	if err != nil || len(alarms.MetricAlarms) != 0 {
		t.Errorf("alarms after destroy: %+v, %v", alarms, err)
	}
	files, _ := filepath.Glob(filepath.Join(pids, "*.pid"))
	if len(files) < 2 {
		t.Fatalf("%d instances wrote their PID, want at least 2", len(files))
	}
	for _, f := range files {
		eventually(t, "no process left of "+filepath.Base(f), func() error {
			if pid := readPID(t, f); testenv.Alive(pid) {
				return fmt.Errorf("process %d still alive", pid)
			}
			return nil
		})
	}
}
