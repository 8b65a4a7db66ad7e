package e2e

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"

	"github.com/nephele-dev/nephele/internal/server"
	"github.com/nephele-dev/nephele/internal/testenv"
)

// TestTerraformELBStack applies an ALB and an NLB stack with the
// hashicorp/aws provider: target groups (instance, TCP, ip with an
// attachment), listeners, and path, host-and-header and query-string
// rules with forward, fixed-response and redirect actions. The ALB really
// answers by its rules, a second plan sees no drift, and destroy leaves
// no load balancer and no target group.
func TestTerraformELBStack(t *testing.T) {
	t.Parallel()
	env := testenv.Start(t, server.Config{TimeScale: 60})
	tf := env.NewTerraform(t, `
data "aws_subnets" "default" {
  filter {
    name   = "default-for-az"
    values = ["true"]
  }
}
data "aws_subnet" "one" { id = data.aws_subnets.default.ids[0] }
resource "aws_lb" "web" {
  name               = "web"
  load_balancer_type = "application"
  subnets            = data.aws_subnets.default.ids
  tags = { env = "dev" }
}
resource "aws_lb" "tcp" {
  name               = "tcp"
  load_balancer_type = "network"
  subnets            = data.aws_subnets.default.ids
}
resource "aws_lb_target_group" "web" {
  name     = "web"
  port     = 8080
  protocol = "HTTP"
  vpc_id   = data.aws_subnet.one.vpc_id
  health_check {
    path     = "/health"
    interval = 10
    matcher  = "200-299"
  }
  stickiness {
    type    = "lb_cookie"
    enabled = true
  }
}
resource "aws_lb_target_group" "tcp" {
  name     = "tcp"
  port     = 5432
  protocol = "TCP"
  vpc_id   = data.aws_subnet.one.vpc_id
}
resource "aws_lb_target_group" "ip" {
  name        = "ip"
  port        = 80
  protocol    = "HTTP"
  target_type = "ip"
  vpc_id      = data.aws_subnet.one.vpc_id
}
resource "aws_lb_target_group_attachment" "ip" {
  target_group_arn  = aws_lb_target_group.ip.arn
  target_id         = "127.0.0.1"
  port              = 9
  availability_zone = "all"
}
resource "aws_lb_listener" "web" {
  load_balancer_arn = aws_lb.web.arn
  port              = 80
  protocol          = "HTTP"
  default_action {
    type             = "forward"
    target_group_arn = aws_lb_target_group.web.arn
  }
}
resource "aws_lb_listener" "tcp" {
  load_balancer_arn = aws_lb.tcp.arn
  port              = 5432
  protocol          = "TCP"
  default_action {
    type             = "forward"
    target_group_arn = aws_lb_target_group.tcp.arn
  }
}
resource "aws_lb_listener_rule" "api" {
  listener_arn = aws_lb_listener.web.arn
  priority     = 10
  action {
    type             = "forward"
    target_group_arn = aws_lb_target_group.ip.arn
  }
  condition {
    path_pattern { values = ["/api/*"] }
  }
}
resource "aws_lb_listener_rule" "fixed" {
  listener_arn = aws_lb_listener.web.arn
  priority     = 20
  action {
    type = "fixed-response"
    fixed_response {
      content_type = "text/plain"
      message_body = "hi"
      status_code  = "200"
    }
  }
  condition {
    host_header { values = ["x.example.com"] }
  }
  condition {
    http_header {
      http_header_name = "X-Env"
      values           = ["dev"]
    }
  }
}
resource "aws_lb_listener_rule" "redirect" {
  listener_arn = aws_lb_listener.web.arn
  priority     = 30
  action {
    type = "redirect"
    redirect {
      protocol    = "HTTPS"
      port        = "443"
      status_code = "HTTP_301"
    }
  }
  condition {
    query_string {
      key   = "old"
      value = "1"
    }
  }
}
`)
	tf.Run(t, "apply", "-auto-approve", "-input=false", "-no-color")
	ctx := context.Background()
	c := elb.NewFromConfig(env.AWSConfig())
	lbs, err := c.DescribeLoadBalancers(ctx, &elb.DescribeLoadBalancersInput{Names: []string{"web"}})
	if err != nil || len(lbs.LoadBalancers) != 1 {
		t.Fatalf("load balancer: %+v, %v", lbs, err)
	}
	ls, err := c.DescribeListeners(ctx, &elb.DescribeListenersInput{LoadBalancerArn: lbs.LoadBalancers[0].LoadBalancerArn})
	if err != nil || len(ls.Listeners) != 1 {
		t.Fatalf("listeners: %+v, %v", ls, err)
	}
	addr := listenerAddress(t, env, aws.ToString(ls.Listeners[0].ListenerArn))
	req, _ := http.NewRequest("GET", "http://"+addr+"/", nil)
	req.Host = "x.example.com"
	req.Header.Set("X-Env", "dev")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(body) != "hi" {
		t.Errorf("the fixed-response rule answered %d %q", resp.StatusCode, body)
	}
	if plan := tf.Run(t, "plan", "-detailed-exitcode", "-input=false", "-no-color"); !strings.Contains(plan, "No changes") {
		t.Errorf("second plan is not empty:\n%s", plan)
	}
	tf.Run(t, "destroy", "-auto-approve", "-input=false", "-no-color")
	all, err := c.DescribeLoadBalancers(ctx, &elb.DescribeLoadBalancersInput{})
	if err != nil || len(all.LoadBalancers) != 0 {
		t.Errorf("load balancers after destroy: %+v, %v", all, err)
	}
	tgs, err := c.DescribeTargetGroups(ctx, &elb.DescribeTargetGroupsInput{})
	if err != nil || len(tgs.TargetGroups) != 0 {
		t.Errorf("target groups after destroy: %+v, %v", tgs, err)
	}
}
