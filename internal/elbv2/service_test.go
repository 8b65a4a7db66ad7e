package elbv2

import (
	"regexp"
	"strings"
	"testing"

	api "github.com/nephele-dev/nephele/internal/api/elbv2"
)

func TestTargetGroupHealthCheckDefaults(t *testing.T) {
	s, _, ctx := newTestService(t)
	for _, tc := range []struct {
		name, protocol, targetType, hcProtocol string
		want                                   api.TargetGroup
	}{
		{"http", "HTTP", "instance", "", api.TargetGroup{HealthCheckProtocol: ptr("HTTP"), HealthCheckPort: ptr("traffic-port"), HealthCheckPath: ptr("/"),
			HealthCheckIntervalSeconds: ptr(int32(30)), HealthCheckTimeoutSeconds: ptr(int32(5)), HealthyThresholdCount: ptr(int32(5)),
			UnhealthyThresholdCount: ptr(int32(2)), Matcher: &api.Matcher{HttpCode: ptr("200")}, HealthCheckEnabled: ptr(true)}},
		{"https", "HTTPS", "ip", "", api.TargetGroup{HealthCheckProtocol: ptr("HTTPS"), HealthCheckPort: ptr("traffic-port"), HealthCheckPath: ptr("/"),
			HealthCheckIntervalSeconds: ptr(int32(30)), HealthCheckTimeoutSeconds: ptr(int32(5)), HealthyThresholdCount: ptr(int32(5)),
			UnhealthyThresholdCount: ptr(int32(2)), Matcher: &api.Matcher{HttpCode: ptr("200")}, HealthCheckEnabled: ptr(true)}},
		{"tcp", "TCP", "instance", "", api.TargetGroup{HealthCheckProtocol: ptr("TCP"), HealthCheckPort: ptr("traffic-port"),
			HealthCheckIntervalSeconds: ptr(int32(30)), HealthCheckTimeoutSeconds: ptr(int32(10)), HealthyThresholdCount: ptr(int32(5)),
			UnhealthyThresholdCount: ptr(int32(2)), HealthCheckEnabled: ptr(true)}},
		{"tcp-http-check", "TCP", "instance", "HTTP", api.TargetGroup{HealthCheckProtocol: ptr("HTTP"), HealthCheckPort: ptr("traffic-port"), HealthCheckPath: ptr("/"),
			HealthCheckIntervalSeconds: ptr(int32(30)), HealthCheckTimeoutSeconds: ptr(int32(6)), HealthyThresholdCount: ptr(int32(5)),
			UnhealthyThresholdCount: ptr(int32(2)), Matcher: &api.Matcher{HttpCode: ptr("200-399")}, HealthCheckEnabled: ptr(true)}},
		{"lambda", "", "lambda", "", api.TargetGroup{HealthCheckPath: ptr("/"),
			HealthCheckIntervalSeconds: ptr(int32(35)), HealthCheckTimeoutSeconds: ptr(int32(30)), HealthyThresholdCount: ptr(int32(5)),
			UnhealthyThresholdCount: ptr(int32(5)), Matcher: &api.Matcher{HttpCode: ptr("200")}, HealthCheckEnabled: ptr(false)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := &api.CreateTargetGroupInput{Name: ptr("tg-" + tc.name), TargetType: ptr(tc.targetType)}
			if tc.protocol != "" {
				in.Protocol, in.Port, in.VpcId = ptr(tc.protocol), ptr(int32(80)), ptr("vpc-1")
			}
			if tc.hcProtocol != "" {
				in.HealthCheckProtocol = ptr(tc.hcProtocol)
			}
			out, err := s.CreateTargetGroup(ctx, in)
			if err != nil {
				t.Fatal(err)
			}
			got := out.TargetGroups[0]
			check := func(field string, g, w any) {
				if g != w {
					t.Errorf("%s = %v, want %v", field, g, w)
				}
			}
			check("HealthCheckProtocol", str(got.HealthCheckProtocol), str(tc.want.HealthCheckProtocol))
			check("HealthCheckPort", str(got.HealthCheckPort), str(tc.want.HealthCheckPort))
			check("HealthCheckPath", str(got.HealthCheckPath), str(tc.want.HealthCheckPath))
			check("HealthCheckIntervalSeconds", *got.HealthCheckIntervalSeconds, *tc.want.HealthCheckIntervalSeconds)
			check("HealthCheckTimeoutSeconds", *got.HealthCheckTimeoutSeconds, *tc.want.HealthCheckTimeoutSeconds)
			check("HealthyThresholdCount", *got.HealthyThresholdCount, *tc.want.HealthyThresholdCount)
			check("UnhealthyThresholdCount", *got.UnhealthyThresholdCount, *tc.want.UnhealthyThresholdCount)
			check("HealthCheckEnabled", *got.HealthCheckEnabled, *tc.want.HealthCheckEnabled)
			gm, wm := "", ""
			if got.Matcher != nil {
				gm = str(got.Matcher.HttpCode)
			}
			if tc.want.Matcher != nil {
				wm = str(tc.want.Matcher.HttpCode)
			}
			check("Matcher", gm, wm)
		})
	}
}

func TestTargetGroupAttributeDefaults(t *testing.T) {
	s, _, ctx := newTestService(t)
	for _, tc := range []struct {
		protocol, targetType string
		want                 map[string]string
	}{
		{"HTTP", "instance", map[string]string{
			"deregistration_delay.timeout_seconds": "300", "stickiness.enabled": "false", "stickiness.type": "lb_cookie",
			"stickiness.lb_cookie.duration_seconds": "86400", "stickiness.app_cookie.duration_seconds": "86400",
			"stickiness.app_cookie.cookie_name": "", "slow_start.duration_seconds": "0",
			"load_balancing.algorithm.type": "round_robin", "load_balancing.algorithm.anomaly_mitigation": "off",
			"load_balancing.cross_zone.enabled": "use_load_balancer_configuration",
		}},
		{"TCP", "ip", map[string]string{
			"deregistration_delay.timeout_seconds": "300", "stickiness.type": "source_ip", "preserve_client_ip.enabled": "false",
			"proxy_protocol_v2.enabled": "false", "deregistration_delay.connection_termination.enabled": "false",
		}},
		{"TCP", "instance", map[string]string{"preserve_client_ip.enabled": "true"}},
		{"UDP", "instance", map[string]string{"deregistration_delay.connection_termination.enabled": "true"}},
	} {
		name := strings.ToLower(tc.protocol + "-" + tc.targetType)
		out, err := s.CreateTargetGroup(ctx, &api.CreateTargetGroupInput{Name: ptr(name), Protocol: ptr(tc.protocol), Port: ptr(int32(80)), VpcId: ptr("vpc-1"), TargetType: ptr(tc.targetType)})
		if err != nil {
			t.Fatal(err)
		}
		attrs, err := s.DescribeTargetGroupAttributes(ctx, &api.DescribeTargetGroupAttributesInput{TargetGroupArn: out.TargetGroups[0].TargetGroupArn})
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]string{}
		for _, a := range attrs.Attributes {
			got[*a.Key] = *a.Value
		}
		for k, v := range tc.want {
			if g, ok := got[k]; !ok || g != v {
				t.Errorf("%s %s = %q (present %v), want %q", name, k, g, ok, v)
			}
		}
	}
}

func TestLoadBalancerAttributeDefaultsAndDeletionProtection(t *testing.T) {
	s, _, ctx := newTestService(t)
	lb := mustLB(t, s, ctx, "web", "application")
	attrs, err := s.DescribeLoadBalancerAttributes(ctx, &api.DescribeLoadBalancerAttributesInput{LoadBalancerArn: lb.LoadBalancerArn})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, a := range attrs.Attributes {
		got[*a.Key] = *a.Value
	}
	for k, v := range map[string]string{
		"idle_timeout.timeout_seconds": "60", "deletion_protection.enabled": "false", "load_balancing.cross_zone.enabled": "true",
		"access_logs.s3.enabled": "false", "routing.http2.enabled": "true", "routing.http.desync_mitigation_mode": "defensive",
		"client_keep_alive.seconds": "3600", "routing.http.xff_header_processing.mode": "append",
	} {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
	_, err = s.ModifyLoadBalancerAttributes(ctx, &api.ModifyLoadBalancerAttributesInput{LoadBalancerArn: lb.LoadBalancerArn,
		Attributes: []api.LoadBalancerAttribute{{Key: ptr("idle_timeout.timeout_seconds"), Value: ptr("0")}}})
	wantCode(t, err, "ValidationError")
	_, err = s.ModifyLoadBalancerAttributes(ctx, &api.ModifyLoadBalancerAttributesInput{LoadBalancerArn: lb.LoadBalancerArn,
		Attributes: []api.LoadBalancerAttribute{{Key: ptr("deletion_protection.enabled"), Value: ptr("true")}}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.DeleteLoadBalancer(ctx, &api.DeleteLoadBalancerInput{LoadBalancerArn: lb.LoadBalancerArn})
	wantCode(t, err, "OperationNotPermitted")
	s.ModifyLoadBalancerAttributes(ctx, &api.ModifyLoadBalancerAttributesInput{LoadBalancerArn: lb.LoadBalancerArn,
		Attributes: []api.LoadBalancerAttribute{{Key: ptr("deletion_protection.enabled"), Value: ptr("false")}}})
	if _, err := s.DeleteLoadBalancer(ctx, &api.DeleteLoadBalancerInput{LoadBalancerArn: lb.LoadBalancerArn}); err != nil {
		t.Fatal(err)
	}
	// Deleting again succeeds, as AWS documents.
	if _, err := s.DeleteLoadBalancer(ctx, &api.DeleteLoadBalancerInput{LoadBalancerArn: lb.LoadBalancerArn}); err != nil {
		t.Fatal(err)
	}
}

func TestDNSNames(t *testing.T) {
	s, _, ctx := newTestService(t)
	alb := mustLB(t, s, ctx, "My-App", "application")
	nlb := mustLB(t, s, ctx, "my-nlb", "network")
	internal, err := s.CreateLoadBalancer(ctx, &api.CreateLoadBalancerInput{Name: ptr("private"), Scheme: ptr("internal"), Subnets: []string{"subnet-a", "subnet-b"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		lb   api.LoadBalancer
		re   string
		zone string
	}{
		{alb, `^My-App-\d{10}\.us-east-1\.elb\.localhost$`, "Z35SXDOTRQ7X7K"},
		{nlb, `^my-nlb-[0-9a-f]{16}\.elb\.us-east-1\.localhost$`, "Z26RNL4JYFTOTI"},
		{internal.LoadBalancers[0], `^internal-private-\d{10}\.us-east-1\.elb\.localhost$`, "Z35SXDOTRQ7X7K"},
	} {
		if !regexp.MustCompile(tc.re).MatchString(*tc.lb.DNSName) {
			t.Errorf("DNSName = %s, want %s", *tc.lb.DNSName, tc.re)
		}
		if *tc.lb.CanonicalHostedZoneId != tc.zone {
			t.Errorf("%s CanonicalHostedZoneId = %s, want %s", *tc.lb.LoadBalancerName, *tc.lb.CanonicalHostedZoneId, tc.zone)
		}
	}
	if !regexp.MustCompile(`^arn:aws:elasticloadbalancing:us-east-1:000000000000:loadbalancer/app/My-App/[0-9a-f]{16}$`).MatchString(*alb.LoadBalancerArn) {
		t.Errorf("ARN = %s", *alb.LoadBalancerArn)
	}
	if got := lbDimension(*nlb.LoadBalancerArn); !strings.HasPrefix(got, "net/my-nlb/") {
		t.Errorf("dimension = %s", got)
	}
	// Each load balancer has its own address in 127.255.0.0/16.
	ips := map[string]bool{}
	for _, p := range s.pushedLBs {
		if !strings.HasPrefix(p.desired.IP, "127.255.") || ips[p.desired.IP] {
			t.Errorf("address %s is not a fresh 127.255.x.y", p.desired.IP)
		}
		ips[p.desired.IP] = true
	}
	if len(ips) != 3 {
		t.Errorf("%d addresses pushed, want 3", len(ips))
	}
}

func TestValidationErrors(t *testing.T) {
	s, fc, ctx := newTestService(t)
	fc.instances["i-other"] = instanceInfo{ID: "i-other", VpcID: "vpc-2", State: "running", IP: "127.0.1.4", Zone: "us-east-1a"}
	fc.instances["i-stopped"] = instanceInfo{ID: "i-stopped", VpcID: "vpc-1", State: "stopped", Zone: "us-east-1a"}
	lb := mustLB(t, s, ctx, "web", "application")
	nlb := mustLB(t, s, ctx, "tcp", "network")
	tg := mustTG(t, s, ctx, "web", "HTTP")
	tcpTG := mustTG(t, s, ctx, "tcp", "TCP")
	mustListener(t, s, ctx, *lb.LoadBalancerArn, "HTTP", 80, *tg.TargetGroupArn)
	unknownTG := "arn:aws:elasticloadbalancing:us-east-1:000000000000:targetgroup/nope/0123456789abcdef"
	for _, tc := range []struct {
		name string
		call func() error
		code string
	}{
		{"duplicate_lb_name", func() error {
			_, err := s.CreateLoadBalancer(ctx, &api.CreateLoadBalancerInput{Name: ptr("web"), Subnets: []string{"subnet-a", "subnet-c"}})
			return err
		}, "DuplicateLoadBalancerName"},
		{"alb_one_zone", func() error {
			_, err := s.CreateLoadBalancer(ctx, &api.CreateLoadBalancerInput{Name: ptr("one"), Subnets: []string{"subnet-a"}})
			return err
		}, "ValidationError"},
		{"unknown_subnet", func() error {
			_, err := s.CreateLoadBalancer(ctx, &api.CreateLoadBalancerInput{Name: ptr("x"), Subnets: []string{"subnet-a", "subnet-zz"}})
			return err
		}, "SubnetNotFound"},
		{"lb_name_internal", func() error {
			_, err := s.CreateLoadBalancer(ctx, &api.CreateLoadBalancerInput{Name: ptr("internal-x"), Subnets: []string{"subnet-a", "subnet-b"}})
			return err
		}, "ValidationError"},
		{"duplicate_tg_name", func() error {
			_, err := s.CreateTargetGroup(ctx, &api.CreateTargetGroupInput{Name: ptr("web"), Protocol: ptr("HTTP"), Port: ptr(int32(8080)), VpcId: ptr("vpc-1")})
			return err
		}, "DuplicateTargetGroupName"},
		{"tg_unknown_vpc", func() error {
			_, err := s.CreateTargetGroup(ctx, &api.CreateTargetGroupInput{Name: ptr("v"), Protocol: ptr("HTTP"), Port: ptr(int32(80)), VpcId: ptr("vpc-9")})
			return err
		}, "ValidationError"},
		{"hc_timeout_not_below_interval", func() error {
			_, err := s.CreateTargetGroup(ctx, &api.CreateTargetGroupInput{Name: ptr("h"), Protocol: ptr("HTTP"), Port: ptr(int32(80)), VpcId: ptr("vpc-1"),
				HealthCheckIntervalSeconds: ptr(int32(5)), HealthCheckTimeoutSeconds: ptr(int32(5))})
			return err
		}, "ValidationError"},
		{"duplicate_listener_port", func() error {
			_, err := s.CreateListener(ctx, &api.CreateListenerInput{LoadBalancerArn: lb.LoadBalancerArn, Protocol: ptr("HTTP"), Port: ptr(int32(80)),
				DefaultActions: []api.Action{{Type: ptr("fixed-response"), FixedResponseConfig: &api.FixedResponseActionConfig{StatusCode: ptr("200")}}}})
			return err
		}, "DuplicateListener"},
		{"unknown_target_group", func() error {
			_, err := s.CreateListener(ctx, &api.CreateListenerInput{LoadBalancerArn: lb.LoadBalancerArn, Protocol: ptr("HTTP"), Port: ptr(int32(81)), DefaultActions: forwardTo(unknownTG)})
			return err
		}, "TargetGroupNotFound"},
		{"tcp_listener_on_alb", func() error {
			_, err := s.CreateListener(ctx, &api.CreateListenerInput{LoadBalancerArn: lb.LoadBalancerArn, Protocol: ptr("TCP"), Port: ptr(int32(82)), DefaultActions: forwardTo(*tcpTG.TargetGroupArn)})
			return err
		}, "ValidationError"},
		{"tcp_group_on_http_listener", func() error {
			_, err := s.CreateListener(ctx, &api.CreateListenerInput{LoadBalancerArn: lb.LoadBalancerArn, Protocol: ptr("HTTP"), Port: ptr(int32(83)), DefaultActions: forwardTo(*tcpTG.TargetGroupArn)})
			return err
		}, "IncompatibleProtocols"},
		{"group_of_another_lb", func() error {
			_, err := s.CreateListener(ctx, &api.CreateListenerInput{LoadBalancerArn: nlb.LoadBalancerArn, Protocol: ptr("TCP"), Port: ptr(int32(84)), DefaultActions: forwardTo(*tg.TargetGroupArn)})
			return err
		}, "IncompatibleProtocols"},
		{"https_without_certificate", func() error {
			_, err := s.CreateListener(ctx, &api.CreateListenerInput{LoadBalancerArn: lb.LoadBalancerArn, Protocol: ptr("HTTPS"), Port: ptr(int32(443)), DefaultActions: forwardTo(*tg.TargetGroupArn)})
			return err
		}, "ValidationError"},
		{"delete_group_in_use", func() error {
			_, err := s.DeleteTargetGroup(ctx, &api.DeleteTargetGroupInput{TargetGroupArn: tg.TargetGroupArn})
			return err
		}, "ResourceInUse"},
		{"target_in_other_vpc", func() error {
			_, err := s.RegisterTargets(ctx, &api.RegisterTargetsInput{TargetGroupArn: tg.TargetGroupArn, Targets: []api.TargetDescription{{Id: ptr("i-other")}}})
			return err
		}, "InvalidTarget"},
		{"target_stopped", func() error {
			_, err := s.RegisterTargets(ctx, &api.RegisterTargetsInput{TargetGroupArn: tg.TargetGroupArn, Targets: []api.TargetDescription{{Id: ptr("i-stopped")}}})
			return err
		}, "InvalidTarget"},
		{"target_unknown_instance", func() error {
			_, err := s.RegisterTargets(ctx, &api.RegisterTargetsInput{TargetGroupArn: tg.TargetGroupArn, Targets: []api.TargetDescription{{Id: ptr("i-nope")}}})
			return err
		}, "InvalidTarget"},
		{"register_unknown_group", func() error {
			_, err := s.RegisterTargets(ctx, &api.RegisterTargetsInput{TargetGroupArn: ptr(unknownTG), Targets: []api.TargetDescription{{Id: ptr("i-other")}}})
			return err
		}, "TargetGroupNotFound"},
		{"describe_unknown_lb", func() error {
			_, err := s.DescribeLoadBalancers(ctx, &api.DescribeLoadBalancersInput{Names: []string{"nope"}})
			return err
		}, "LoadBalancerNotFound"},
		{"redirect_loop", func() error {
			_, err := s.CreateListener(ctx, &api.CreateListenerInput{LoadBalancerArn: lb.LoadBalancerArn, Protocol: ptr("HTTP"), Port: ptr(int32(85)),
				DefaultActions: []api.Action{{Type: ptr("redirect"), RedirectConfig: &api.RedirectActionConfig{StatusCode: ptr("HTTP_301")}}}})
			return err
		}, "InvalidLoadBalancerAction"},
	} {
		t.Run(tc.name, func(t *testing.T) { wantCode(t, tc.call(), tc.code) })
	}
	// Nothing half-created: one listener on the ALB, none on the NLB, two
	// load balancers, two target groups with no targets.
	ls, _ := s.DescribeListeners(ctx, &api.DescribeListenersInput{LoadBalancerArn: lb.LoadBalancerArn})
	if len(ls.Listeners) != 1 {
		t.Errorf("%d listeners, want 1", len(ls.Listeners))
	}
	lbs, _ := s.DescribeLoadBalancers(ctx, &api.DescribeLoadBalancersInput{})
	if len(lbs.LoadBalancers) != 2 {
		t.Errorf("%d load balancers, want 2", len(lbs.LoadBalancers))
	}
	th, _ := s.DescribeTargetHealth(ctx, &api.DescribeTargetHealthInput{TargetGroupArn: tg.TargetGroupArn})
	if len(th.TargetHealthDescriptions) != 0 {
		t.Errorf("targets = %+v, want none", th.TargetHealthDescriptions)
	}
}

func TestRulePriorities(t *testing.T) {
	s, _, ctx := newTestService(t)
	lb := mustLB(t, s, ctx, "web", "application")
	tg := mustTG(t, s, ctx, "web", "HTTP")
	l := mustListener(t, s, ctx, *lb.LoadBalancerArn, "HTTP", 80, *tg.TargetGroupArn)
	rule := func(prio int32, path string) (*api.CreateRuleOutput, error) {
		return s.CreateRule(ctx, &api.CreateRuleInput{ListenerArn: l.ListenerArn, Priority: ptr(prio),
			Conditions: []api.RuleCondition{{Field: ptr("path-pattern"), Values: []string{path}}}, Actions: forwardTo(*tg.TargetGroupArn)})
	}
	r10, err := rule(10, "/a/*")
	if err != nil {
		t.Fatal(err)
	}
	r20, err := rule(20, "/b/*")
	if err != nil {
		t.Fatal(err)
	}
	_, err = rule(10, "/c/*")
	wantCode(t, err, "PriorityInUse")
	arn10, arn20 := r10.Rules[0].RuleArn, r20.Rules[0].RuleArn
	// A swap within one call is allowed.
	if _, err := s.SetRulePriorities(ctx, &api.SetRulePrioritiesInput{RulePriorities: []api.RulePriorityPair{
		{RuleArn: arn10, Priority: ptr(int32(20))}, {RuleArn: arn20, Priority: ptr(int32(10))}}}); err != nil {
		t.Fatal(err)
	}
	// Moving one onto the other's priority is not, and changes nothing.
	_, err = s.SetRulePriorities(ctx, &api.SetRulePrioritiesInput{RulePriorities: []api.RulePriorityPair{{RuleArn: arn10, Priority: ptr(int32(10))}}})
	wantCode(t, err, "PriorityInUse")
	rules, err := s.DescribeRules(ctx, &api.DescribeRulesInput{ListenerArn: l.ListenerArn})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range rules.Rules {
		got = append(got, *r.Priority)
	}
	if len(rules.Rules) != 3 || *rules.Rules[0].RuleArn != *arn20 || *rules.Rules[1].RuleArn != *arn10 || *rules.Rules[2].Priority != "default" || !*rules.Rules[2].IsDefault {
		t.Errorf("rules = %v", got)
	}
	// The path-pattern condition is described with Values and its config.
	c := rules.Rules[0].Conditions[0]
	if len(c.Values) != 1 || c.PathPatternConfig == nil || c.PathPatternConfig.Values[0] != "/b/*" {
		t.Errorf("condition = %+v", c)
	}
	_, err = s.DeleteRule(ctx, &api.DeleteRuleInput{RuleArn: rules.Rules[2].RuleArn})
	wantCode(t, err, "OperationNotPermitted")
	_, err = s.CreateRule(ctx, &api.CreateRuleInput{ListenerArn: l.ListenerArn, Priority: ptr(int32(30)),
		Conditions: []api.RuleCondition{{Field: ptr("path-pattern"), Values: []string{"/1", "/2", "/3"}}, {Field: ptr("host-header"), Values: []string{"a", "b", "c"}}},
		Actions:    forwardTo(*tg.TargetGroupArn)})
	wantCode(t, err, "ValidationError")
	// The listener's default action is described with its ForwardConfig.
	a := rules.Rules[2].Actions[0]
	if *a.TargetGroupArn != *tg.TargetGroupArn || a.ForwardConfig == nil || *a.ForwardConfig.TargetGroups[0].Weight != 1 || *a.Order != 1 {
		t.Errorf("default action = %+v", a)
	}
}

func TestTargetHealthNotRegisteredAndInUse(t *testing.T) {
	s, fc, ctx := newTestService(t)
	fc.instances["i-1"] = instanceInfo{ID: "i-1", VpcID: "vpc-1", State: "running", IP: "127.31.0.4", Zone: "us-east-1a"}
	tg := mustTG(t, s, ctx, "web", "HTTP")
	if _, err := s.RegisterTargets(ctx, &api.RegisterTargetsInput{TargetGroupArn: tg.TargetGroupArn, Targets: []api.TargetDescription{{Id: ptr("i-1")}}}); err != nil {
		t.Fatal(err)
	}
	out, err := s.DescribeTargetHealth(ctx, &api.DescribeTargetHealthInput{TargetGroupArn: tg.TargetGroupArn,
		Targets: []api.TargetDescription{{Id: ptr("i-1")}, {Id: ptr("i-2")}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.TargetHealthDescriptions) != 2 {
		t.Fatalf("descriptions = %+v", out.TargetHealthDescriptions)
	}
	first, second := out.TargetHealthDescriptions[0], out.TargetHealthDescriptions[1]
	if *first.TargetHealth.State != "unused" || *first.TargetHealth.Reason != "Target.NotInUse" || *first.HealthCheckPort != "80" {
		t.Errorf("i-1 = %+v %+v", first.TargetHealth, first)
	}
	if *second.TargetHealth.State != "unused" || *second.TargetHealth.Reason != "Target.NotRegistered" {
		t.Errorf("i-2 = %+v", second.TargetHealth)
	}
	// The instance is pushed at its private address and zone.
	d := s.pushedTGs[*tg.TargetGroupArn].desired
	if len(d.Targets) != 1 || d.Targets[0].Addr != "127.31.0.4" || d.Targets[0].Zone != "us-east-1a" || d.Targets[0].Port != 80 {
		t.Errorf("pushed targets = %+v", d.Targets)
	}
	// A terminated instance is deregistered at the next resync.
	fc.instances["i-1"] = instanceInfo{ID: "i-1", VpcID: "vpc-1", State: "terminated"}
	s.syncAll(ctx)
	th, _ := s.DescribeTargetHealth(ctx, &api.DescribeTargetHealthInput{TargetGroupArn: tg.TargetGroupArn})
	for _, h := range th.TargetHealthDescriptions {
		if *h.TargetHealth.State != "draining" {
			t.Errorf("after termination: %+v", h.TargetHealth)
		}
	}
}

// TestIdempotentCreates: creating a listener, target group or load
// balancer again with the same settings returns the existing one, and
// handlers work with a scope's context as Auto Scaling calls them.
func TestIdempotentCreates(t *testing.T) {
	s, _, _ := newTestService(t)
	ctx := scope{Account: "000000000000", Region: "us-east-1"}.Context(t.Context())
	lb := mustLB(t, s, ctx, "web", "application")
	tg := mustTG(t, s, ctx, "web", "HTTP")
	l := mustListener(t, s, ctx, *lb.LoadBalancerArn, "HTTP", 80, *tg.TargetGroupArn)
	if again := mustListener(t, s, ctx, *lb.LoadBalancerArn, "HTTP", 80, *tg.TargetGroupArn); *again.ListenerArn != *l.ListenerArn {
		t.Errorf("listener created twice: %s and %s", *l.ListenerArn, *again.ListenerArn)
	}
	if again := mustTG(t, s, ctx, "web", "HTTP"); *again.TargetGroupArn != *tg.TargetGroupArn || len(again.LoadBalancerArns) != 1 {
		t.Errorf("target group created twice: %+v", again)
	}
	if again := mustLB(t, s, ctx, "web", "application"); *again.LoadBalancerArn != *lb.LoadBalancerArn {
		t.Errorf("load balancer created twice")
	}
	out, err := s.DescribeTargetGroups(ctx, &api.DescribeTargetGroupsInput{Names: []string{"web"}})
	if err != nil || len(out.TargetGroups) != 1 {
		t.Errorf("DescribeTargetGroups = %+v, %v", out, err)
	}
}

// TestNetworkLoadBalancer: TCP listeners forward to TCP groups only, and
// cross-zone load balancing is off until enabled.
func TestNetworkLoadBalancer(t *testing.T) {
	s, _, ctx := newTestService(t)
	nlb := mustLB(t, s, ctx, "tcp", "network")
	tcp := mustTG(t, s, ctx, "tcp", "TCP")
	udp := mustTG(t, s, ctx, "udp", "UDP")
	mustListener(t, s, ctx, *nlb.LoadBalancerArn, "TCP", 5432, *tcp.TargetGroupArn)
	_, err := s.CreateListener(ctx, &api.CreateListenerInput{LoadBalancerArn: nlb.LoadBalancerArn, Protocol: ptr("TCP"), Port: ptr(int32(53)), DefaultActions: forwardTo(*udp.TargetGroupArn)})
	wantCode(t, err, "IncompatibleProtocols")
	_, err = s.CreateListener(ctx, &api.CreateListenerInput{LoadBalancerArn: nlb.LoadBalancerArn, Protocol: ptr("HTTP"), Port: ptr(int32(80)), DefaultActions: forwardTo(*tcp.TargetGroupArn)})
	wantCode(t, err, "ValidationError")
	if s.pushedLBs[*nlb.LoadBalancerArn].desired.CrossZone {
		t.Error("a new NLB balances across zones")
	}
	if _, err := s.ModifyLoadBalancerAttributes(ctx, &api.ModifyLoadBalancerAttributesInput{LoadBalancerArn: nlb.LoadBalancerArn,
		Attributes: []api.LoadBalancerAttribute{{Key: ptr("load_balancing.cross_zone.enabled"), Value: ptr("true")}}}); err != nil {
		t.Fatal(err)
	}
	if !s.pushedLBs[*nlb.LoadBalancerArn].desired.CrossZone {
		t.Error("cross-zone load balancing not pushed")
	}
	_, err = s.SetSecurityGroups(ctx, &api.SetSecurityGroupsInput{LoadBalancerArn: nlb.LoadBalancerArn, SecurityGroups: []string{"sg-1"}})
	wantCode(t, err, "InvalidConfigurationRequest")
}

// TestSetSubnetsAndSecurityGroups: an ALB's zones and groups are
// replaced in its VPC only.
func TestSetSubnetsAndSecurityGroups(t *testing.T) {
	s, _, ctx := newTestService(t)
	lb := mustLB(t, s, ctx, "web", "application")
	if got := lb.SecurityGroups; len(got) != 1 || got[0] != "sg-default" {
		t.Errorf("default security groups = %v", got)
	}
	out, err := s.SetSubnets(ctx, &api.SetSubnetsInput{LoadBalancerArn: lb.LoadBalancerArn, Subnets: []string{"subnet-a", "subnet-b", "subnet-c"}})
	if err != nil || len(out.AvailabilityZones) != 3 {
		t.Fatalf("SetSubnets = %+v, %v", out, err)
	}
	_, err = s.SetSubnets(ctx, &api.SetSubnetsInput{LoadBalancerArn: lb.LoadBalancerArn, Subnets: []string{"subnet-x", "subnet-a"}})
	wantCode(t, err, "InvalidConfigurationRequest")
	_, err = s.SetSubnets(ctx, &api.SetSubnetsInput{LoadBalancerArn: lb.LoadBalancerArn, Subnets: []string{"subnet-a"}})
	wantCode(t, err, "ValidationError")
	sg, err := s.SetSecurityGroups(ctx, &api.SetSecurityGroupsInput{LoadBalancerArn: lb.LoadBalancerArn, SecurityGroups: []string{"sg-1"}})
	if err != nil || len(sg.SecurityGroupIds) != 1 || sg.SecurityGroupIds[0] != "sg-1" {
		t.Fatalf("SetSecurityGroups = %+v, %v", sg, err)
	}
	_, err = s.SetSecurityGroups(ctx, &api.SetSecurityGroupsInput{LoadBalancerArn: lb.LoadBalancerArn, SecurityGroups: []string{"sg-nope"}})
	wantCode(t, err, "InvalidSecurityGroup")
	desc, _ := s.DescribeLoadBalancers(ctx, &api.DescribeLoadBalancersInput{Names: []string{"web"}})
	if got := desc.LoadBalancers[0]; len(got.AvailabilityZones) != 3 || got.SecurityGroups[0] != "sg-1" {
		t.Errorf("after Set*: %+v", got)
	}
	if _, err := s.SetIpAddressType(ctx, &api.SetIpAddressTypeInput{LoadBalancerArn: lb.LoadBalancerArn, IpAddressType: ptr("dualstack")}); err != nil {
		t.Fatal(err)
	}
}

// TestTagsAndPaging: tags on every kind of resource, and markers that
// walk the load balancers a page at a time.
func TestTagsAndPaging(t *testing.T) {
	s, _, ctx := newTestService(t)
	var arns []string
	for _, n := range []string{"a", "b", "c"} {
		arns = append(arns, *mustLB(t, s, ctx, n, "application").LoadBalancerArn)
	}
	var names []string
	marker := (*string)(nil)
	for range 5 {
		out, err := s.DescribeLoadBalancers(ctx, &api.DescribeLoadBalancersInput{PageSize: ptr(int32(2)), Marker: marker})
		if err != nil {
			t.Fatal(err)
		}
		for _, lb := range out.LoadBalancers {
			names = append(names, *lb.LoadBalancerName)
		}
		if marker = out.NextMarker; marker == nil {
			break
		}
	}
	if strings.Join(names, ",") != "a,b,c" {
		t.Errorf("pages = %v", names)
	}
	if _, err := s.AddTags(ctx, &api.AddTagsInput{ResourceArns: arns[:2], Tags: []api.Tag{{Key: ptr("env"), Value: ptr("dev")}}}); err != nil {
		t.Fatal(err)
	}
	_, err := s.AddTags(ctx, &api.AddTagsInput{ResourceArns: arns[:1], Tags: []api.Tag{{Key: ptr("k"), Value: ptr("1")}, {Key: ptr("k"), Value: ptr("2")}}})
	wantCode(t, err, "DuplicateTagKeys")
	if _, err := s.RemoveTags(ctx, &api.RemoveTagsInput{ResourceArns: arns[1:2], TagKeys: []string{"env"}}); err != nil {
		t.Fatal(err)
	}
	out, err := s.DescribeTags(ctx, &api.DescribeTagsInput{ResourceArns: arns[:2]})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.TagDescriptions) != 2 || len(out.TagDescriptions[0].Tags) != 1 || len(out.TagDescriptions[1].Tags) != 0 {
		t.Errorf("tags = %+v", out.TagDescriptions)
	}
	s.DeleteLoadBalancer(ctx, &api.DeleteLoadBalancerInput{LoadBalancerArn: &arns[0]})
	_, err = s.DescribeTags(ctx, &api.DescribeTagsInput{ResourceArns: arns[:1]})
	wantCode(t, err, "LoadBalancerNotFound")
}

// TestListenerExtras: HTTPS listener certificates, listener attributes
// and the capacity reservation Terraform reads.
func TestListenerExtras(t *testing.T) {
	s, _, ctx := newTestService(t)
	lb := mustLB(t, s, ctx, "web", "application")
	tg := mustTG(t, s, ctx, "web", "HTTP")
	cert := "arn:aws:acm:us-east-1:000000000000:certificate/one"
	out, err := s.CreateListener(ctx, &api.CreateListenerInput{LoadBalancerArn: lb.LoadBalancerArn, Protocol: ptr("HTTPS"), Port: ptr(int32(443)),
		Certificates: []api.Certificate{{CertificateArn: ptr(cert)}}, DefaultActions: forwardTo(*tg.TargetGroupArn)})
	if err != nil {
		t.Fatal(err)
	}
	l := out.Listeners[0]
	if *l.SslPolicy != "ELBSecurityPolicy-2016-08" {
		t.Errorf("SslPolicy = %s", *l.SslPolicy)
	}
	if _, err := s.AddListenerCertificates(ctx, &api.AddListenerCertificatesInput{ListenerArn: l.ListenerArn,
		Certificates: []api.Certificate{{CertificateArn: ptr("arn:aws:acm:us-east-1:000000000000:certificate/two")}}}); err != nil {
		t.Fatal(err)
	}
	certs, _ := s.DescribeListenerCertificates(ctx, &api.DescribeListenerCertificatesInput{ListenerArn: l.ListenerArn})
	if len(certs.Certificates) != 2 || !*certs.Certificates[0].IsDefault || *certs.Certificates[1].IsDefault {
		t.Errorf("certificates = %+v", certs.Certificates)
	}
	_, err = s.RemoveListenerCertificates(ctx, &api.RemoveListenerCertificatesInput{ListenerArn: l.ListenerArn, Certificates: []api.Certificate{{CertificateArn: ptr(cert)}}})
	wantCode(t, err, "OperationNotPermitted")
	_, err = s.ModifyListener(ctx, &api.ModifyListenerInput{ListenerArn: l.ListenerArn, SslPolicy: ptr("ELBSecurityPolicy-Nope")})
	wantCode(t, err, "SSLPolicyNotFound")
	attrs, err := s.ModifyListenerAttributes(ctx, &api.ModifyListenerAttributesInput{ListenerArn: l.ListenerArn,
		Attributes: []api.ListenerAttribute{{Key: ptr("routing.http.response.server.enabled"), Value: ptr("false")}}})
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, a := range attrs.Attributes {
		found = found || (*a.Key == "routing.http.response.server.enabled" && *a.Value == "false")
	}
	if !found {
		t.Errorf("attributes = %+v", attrs.Attributes)
	}
	capOut, err := s.DescribeCapacityReservation(ctx, &api.DescribeCapacityReservationInput{LoadBalancerArn: lb.LoadBalancerArn})
	if err != nil || capOut.MinimumLoadBalancerCapacity != nil || len(capOut.CapacityReservationState) != 0 {
		t.Errorf("capacity reservation = %+v, %v", capOut, err)
	}
	mod, err := s.ModifyCapacityReservation(ctx, &api.ModifyCapacityReservationInput{LoadBalancerArn: lb.LoadBalancerArn,
		MinimumLoadBalancerCapacity: &api.MinimumLoadBalancerCapacity{CapacityUnits: ptr(int32(100))}})
	if err != nil || *mod.MinimumLoadBalancerCapacity.CapacityUnits != 100 || len(mod.CapacityReservationState) != 2 {
		t.Errorf("modified capacity reservation = %+v, %v", mod, err)
	}
	// Switching the listener to HTTP drops its certificates and policy.
	mod2, err := s.ModifyListener(ctx, &api.ModifyListenerInput{ListenerArn: l.ListenerArn, Protocol: ptr("HTTP"), Port: ptr(int32(8080))})
	if err != nil || mod2.Listeners[0].SslPolicy != nil || len(mod2.Listeners[0].Certificates) != 0 {
		t.Errorf("HTTPS to HTTP = %+v, %v", mod2, err)
	}
}
