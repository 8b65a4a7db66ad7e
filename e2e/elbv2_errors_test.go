package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	"github.com/aws/smithy-go"

	"github.com/nephele-dev/nephele/internal/server"
	"github.com/nephele-dev/nephele/internal/testenv"
)

// TestELBErrors checks the AWS errors of bad input through the Go SDK, and
// that none leaves anything half-created.
func TestELBErrors(t *testing.T) {
	env := testenv.Start(t, server.Config{TimeScale: 60})
	ctx := context.Background()
	ec2c := ec2.NewFromConfig(env.AWSConfig())
	c := elb.NewFromConfig(env.AWSConfig())
	vpc, subnets := defaultSubnets(t, ec2c)

	lb, err := c.CreateLoadBalancer(ctx, &elb.CreateLoadBalancerInput{Name: aws.String("web"), Subnets: subnets})
	if err != nil {
		t.Fatal(err)
	}
	lbARN := lb.LoadBalancers[0].LoadBalancerArn
	// Creating it again with the same settings returns it.
	again, err := c.CreateLoadBalancer(ctx, &elb.CreateLoadBalancerInput{Name: aws.String("web"), Subnets: subnets})
	if err != nil || aws.ToString(again.LoadBalancers[0].LoadBalancerArn) != aws.ToString(lbARN) {
		t.Errorf("idempotent CreateLoadBalancer = %v, %v", again, err)
	}
	tg, err := c.CreateTargetGroup(ctx, &elb.CreateTargetGroupInput{Name: aws.String("web"), Protocol: elbtypes.ProtocolEnumHttp, Port: aws.Int32(80), VpcId: aws.String(vpc)})
	if err != nil {
		t.Fatal(err)
	}
	tgARN := tg.TargetGroups[0].TargetGroupArn
	l, err := c.CreateListener(ctx, &elb.CreateListenerInput{LoadBalancerArn: lbARN, Protocol: elbtypes.ProtocolEnumHttp, Port: aws.Int32(80), DefaultActions: forward(aws.ToString(tgARN))})
	if err != nil {
		t.Fatal(err)
	}
	listener := l.Listeners[0].ListenerArn
	if _, err := c.CreateRule(ctx, &elb.CreateRuleInput{ListenerArn: listener, Priority: aws.Int32(5),
		Conditions: []elbtypes.RuleCondition{{Field: aws.String("path-pattern"), Values: []string{"/a"}}}, Actions: forward(aws.ToString(tgARN))}); err != nil {
		t.Fatal(err)
	}

	// A VPC of its own, and an instance in the default VPC, for a target
	// in another VPC.
	otherVPC, err := ec2c.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: aws.String("10.20.0.0/16")})
	if err != nil {
		t.Fatal(err)
	}
	otherTG, err := c.CreateTargetGroup(ctx, &elb.CreateTargetGroupInput{Name: aws.String("other"), Protocol: elbtypes.ProtocolEnumHttp, Port: aws.Int32(80), VpcId: otherVPC.Vpc.VpcId})
	if err != nil {
		t.Fatal(err)
	}
	run, err := ec2c.RunInstances(ctx, &ec2.RunInstancesInput{ImageId: aws.String(templateAMI(t, ec2c)), InstanceType: ec2types.InstanceTypeT3Micro, MinCount: aws.Int32(1), MaxCount: aws.Int32(1)})
	if err != nil {
		t.Fatal(err)
	}
	instance := aws.ToString(run.Instances[0].InstanceId)
	t.Cleanup(func() {
		ec2c.TerminateInstances(context.Background(), &ec2.TerminateInstancesInput{InstanceIds: []string{instance}})
	})
	unknownTG := strings.Replace(aws.ToString(tgARN), "/web/", "/nope/", 1)

	for _, tc := range []struct {
		name string
		call func() error
		code string
	}{
		{"duplicate_load_balancer_name", func() error {
			_, err := c.CreateLoadBalancer(ctx, &elb.CreateLoadBalancerInput{Name: aws.String("web"), Subnets: subnets, Scheme: elbtypes.LoadBalancerSchemeEnumInternal})
			return err
		}, "DuplicateLoadBalancerName"},
		{"duplicate_target_group_name", func() error {
			_, err := c.CreateTargetGroup(ctx, &elb.CreateTargetGroupInput{Name: aws.String("web"), Protocol: elbtypes.ProtocolEnumHttp, Port: aws.Int32(8080), VpcId: aws.String(vpc)})
			return err
		}, "DuplicateTargetGroupName"},
		{"priority_in_use", func() error {
			_, err := c.CreateRule(ctx, &elb.CreateRuleInput{ListenerArn: listener, Priority: aws.Int32(5),
				Conditions: []elbtypes.RuleCondition{{Field: aws.String("path-pattern"), Values: []string{"/b"}}}, Actions: forward(aws.ToString(tgARN))})
			return err
		}, "PriorityInUse"},
		{"unknown_target_group", func() error {
			_, err := c.CreateListener(ctx, &elb.CreateListenerInput{LoadBalancerArn: lbARN, Protocol: elbtypes.ProtocolEnumHttp, Port: aws.Int32(81), DefaultActions: forward(unknownTG)})
			return err
		}, "TargetGroupNotFound"},
		{"listener_port_in_use", func() error {
			_, err := c.CreateListener(ctx, &elb.CreateListenerInput{LoadBalancerArn: lbARN, Protocol: elbtypes.ProtocolEnumHttp, Port: aws.Int32(80),
				DefaultActions: []elbtypes.Action{{Type: elbtypes.ActionTypeEnumFixedResponse, FixedResponseConfig: &elbtypes.FixedResponseActionConfig{StatusCode: aws.String("200")}}}})
			return err
		}, "DuplicateListener"},
		{"listener_port_out_of_range", func() error {
			_, err := c.CreateListener(ctx, &elb.CreateListenerInput{LoadBalancerArn: lbARN, Protocol: elbtypes.ProtocolEnumHttp, Port: aws.Int32(70000), DefaultActions: forward(aws.ToString(tgARN))})
			return err
		}, "ValidationError"},
		{"target_port_out_of_range", func() error {
			_, err := c.RegisterTargets(ctx, &elb.RegisterTargetsInput{TargetGroupArn: tgARN, Targets: []elbtypes.TargetDescription{{Id: aws.String(instance), Port: aws.Int32(0)}}})
			return err
		}, "ValidationError"},
		{"target_in_another_vpc", func() error {
			_, err := c.RegisterTargets(ctx, &elb.RegisterTargetsInput{TargetGroupArn: otherTG.TargetGroups[0].TargetGroupArn, Targets: []elbtypes.TargetDescription{{Id: aws.String(instance)}}})
			return err
		}, "InvalidTarget"},
		{"target_group_in_use", func() error {
			_, err := c.DeleteTargetGroup(ctx, &elb.DeleteTargetGroupInput{TargetGroupArn: tgARN})
			return err
		}, "ResourceInUse"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call()
			var apiErr smithy.APIError
			if !errors.As(err, &apiErr) || apiErr.ErrorCode() != tc.code {
				t.Fatalf("error = %v, want %s", err, tc.code)
			}
		})
	}

	// Nothing half-created: one listener, one rule besides the default,
	// two target groups, no targets.
	ls, err := c.DescribeListeners(ctx, &elb.DescribeListenersInput{LoadBalancerArn: lbARN})
	if err != nil || len(ls.Listeners) != 1 {
		t.Errorf("listeners = %v, %v", ls, err)
	}
	rules, err := c.DescribeRules(ctx, &elb.DescribeRulesInput{ListenerArn: listener})
	if err != nil || len(rules.Rules) != 2 {
		t.Errorf("rules = %v, %v", rules, err)
	}
	tgs, err := c.DescribeTargetGroups(ctx, &elb.DescribeTargetGroupsInput{})
	if err != nil || len(tgs.TargetGroups) != 2 {
		t.Errorf("target groups = %v, %v", tgs, err)
	}
	for _, g := range tgs.TargetGroups {
		th, err := c.DescribeTargetHealth(ctx, &elb.DescribeTargetHealthInput{TargetGroupArn: g.TargetGroupArn})
		if err != nil || len(th.TargetHealthDescriptions) != 0 {
			t.Errorf("targets of %s = %v, %v", aws.ToString(g.TargetGroupName), th, err)
		}
	}
}

// TestELBCLI runs the aws CLI once through the load balancer API.
func TestELBCLI(t *testing.T) {
	env := testenv.Start(t, server.Config{TimeScale: 60})
	vpc, subnets := defaultSubnets(t, ec2.NewFromConfig(env.AWSConfig()))
	cli := func(v any, args ...string) {
		t.Helper()
		out, err := env.CLI(t, args...)
		if err != nil {
			t.Fatal(err)
		}
		if v != nil {
			if err := json.Unmarshal([]byte(out), v); err != nil {
				t.Fatalf("%s: %v\n%s", args[1], err, out)
			}
		}
	}
	var lb struct {
		LoadBalancers []struct{ LoadBalancerArn, DNSName, Type string }
	}
	cli(&lb, append([]string{"elbv2", "create-load-balancer", "--name", "cli", "--subnets"}, subnets...)...)
	if len(lb.LoadBalancers) != 1 || lb.LoadBalancers[0].Type != "application" || !strings.HasPrefix(lb.LoadBalancers[0].DNSName, "cli-") {
		t.Fatalf("create-load-balancer = %+v", lb)
	}
	var tg struct {
		TargetGroups []struct{ TargetGroupArn string }
	}
	cli(&tg, "elbv2", "create-target-group", "--name", "cli", "--protocol", "HTTP", "--port", "80", "--vpc-id", vpc, "--target-type", "ip")
	arn := tg.TargetGroups[0].TargetGroupArn
	cli(nil, "elbv2", "register-targets", "--target-group-arn", arn, "--targets", "Id=127.0.0.1,Port=9,AvailabilityZone=all")
	var health struct {
		TargetHealthDescriptions []struct {
			Target       struct{ Id string }
			TargetHealth struct{ State, Reason string }
		}
	}
	cli(&health, "elbv2", "describe-target-health", "--target-group-arn", arn)
	if len(health.TargetHealthDescriptions) != 1 || health.TargetHealthDescriptions[0].Target.Id != "127.0.0.1" ||
		health.TargetHealthDescriptions[0].TargetHealth.State != "unused" || health.TargetHealthDescriptions[0].TargetHealth.Reason != "Target.NotInUse" {
		t.Errorf("describe-target-health = %+v", health)
	}
}
