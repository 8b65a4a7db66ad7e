package e2e

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"github.com/nephele-dev/nephele/internal/server"
	"github.com/nephele-dev/nephele/internal/testenv"
)

// namedServer is a local HTTP server that answers its name, the target
// of an IP target group.
func namedServer(t *testing.T, name string) (string, int32) {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, name) }))
	t.Cleanup(srv.Close)
	host, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	p, _ := strconv.Atoi(port)
	return host, int32(p)
}

// TestELBRoutesByRules checks an ALB's rules with local servers as IP
// targets: path and host rules, a fixed response, a weighted forward,
// lb_cookie stickiness, and a deregistration delay that lets a slow
// in-flight request finish.
func TestELBRoutesByRules(t *testing.T) {
	env := testenv.Start(t, server.Config{TimeScale: 30})
	ctx := context.Background()
	c := elb.NewFromConfig(env.AWSConfig())
	vpc, subnets := defaultSubnets(t, ec2.NewFromConfig(env.AWSConfig()))

	// group makes an IP target group of the named servers.
	group := func(name string, servers ...string) (string, []string) {
		t.Helper()
		out, err := c.CreateTargetGroup(ctx, fastHealthCheck(&elb.CreateTargetGroupInput{
			Name: aws.String(name), Protocol: elbtypes.ProtocolEnumHttp, Port: aws.Int32(80), VpcId: aws.String(vpc),
			TargetType: elbtypes.TargetTypeEnumIp,
		}))
		if err != nil {
			t.Fatal(err)
		}
		arn := aws.ToString(out.TargetGroups[0].TargetGroupArn)
		var keys []string
		for _, s := range servers {
			host, port := namedServer(t, s)
			if _, err := c.RegisterTargets(ctx, &elb.RegisterTargetsInput{TargetGroupArn: aws.String(arn), Targets: []elbtypes.TargetDescription{
				{Id: aws.String(host), Port: aws.Int32(port), AvailabilityZone: aws.String("all")}}}); err != nil {
				t.Fatal(err)
			}
			keys = append(keys, fmt.Sprintf("%s:%d", host, port))
		}
		return arn, keys
	}
	tgA, keysA := group("a", "A")
	tgB, keysB := group("b", "B")
	tgSticky, keysSticky := group("sticky", "S1", "S2")

	// The slow group's one server holds a request until released.
	arrived, release := make(chan struct{}, 1), make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			arrived <- struct{}{}
			<-release
		}
		io.WriteString(w, "slow done")
	}))
	t.Cleanup(slow.Close)
	t.Cleanup(func() {
		select {
		case <-release:
		default:
			close(release)
		}
	})
	slowOut, err := c.CreateTargetGroup(ctx, fastHealthCheck(&elb.CreateTargetGroupInput{
		Name: aws.String("slow"), Protocol: elbtypes.ProtocolEnumHttp, Port: aws.Int32(80), VpcId: aws.String(vpc), TargetType: elbtypes.TargetTypeEnumIp,
	}))
	if err != nil {
		t.Fatal(err)
	}
	tgSlow := aws.ToString(slowOut.TargetGroups[0].TargetGroupArn)
	slowHost, slowPortStr, _ := net.SplitHostPort(slow.Listener.Addr().String())
	slowPort, _ := strconv.Atoi(slowPortStr)
	slowTarget := elbtypes.TargetDescription{Id: aws.String(slowHost), Port: aws.Int32(int32(slowPort)), AvailabilityZone: aws.String("all")}
	if _, err := c.RegisterTargets(ctx, &elb.RegisterTargetsInput{TargetGroupArn: aws.String(tgSlow), Targets: []elbtypes.TargetDescription{slowTarget}}); err != nil {
		t.Fatal(err)
	}
	// A 60 s deregistration delay (2 s here): longer than the slow request.
	if _, err := c.ModifyTargetGroupAttributes(ctx, &elb.ModifyTargetGroupAttributesInput{TargetGroupArn: aws.String(tgSlow),
		Attributes: []elbtypes.TargetGroupAttribute{{Key: aws.String("deregistration_delay.timeout_seconds"), Value: aws.String("60")}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.ModifyTargetGroupAttributes(ctx, &elb.ModifyTargetGroupAttributesInput{TargetGroupArn: aws.String(tgSticky),
		Attributes: []elbtypes.TargetGroupAttribute{{Key: aws.String("stickiness.enabled"), Value: aws.String("true")}}}); err != nil {
		t.Fatal(err)
	}

	lb, err := c.CreateLoadBalancer(ctx, &elb.CreateLoadBalancerInput{Name: aws.String("rules"), Subnets: subnets})
	if err != nil {
		t.Fatal(err)
	}
	l, err := c.CreateListener(ctx, &elb.CreateListenerInput{LoadBalancerArn: lb.LoadBalancers[0].LoadBalancerArn,
		Protocol: elbtypes.ProtocolEnumHttp, Port: aws.Int32(80),
		DefaultActions: []elbtypes.Action{{Type: elbtypes.ActionTypeEnumFixedResponse, FixedResponseConfig: &elbtypes.FixedResponseActionConfig{
			StatusCode: aws.String("404"), ContentType: aws.String("text/plain"), MessageBody: aws.String("no route")}}}})
	if err != nil {
		t.Fatal(err)
	}
	listener := l.Listeners[0].ListenerArn
	rule := func(prio int32, cond elbtypes.RuleCondition, actions []elbtypes.Action) {
		t.Helper()
		if _, err := c.CreateRule(ctx, &elb.CreateRuleInput{ListenerArn: listener, Priority: aws.Int32(prio),
			Conditions: []elbtypes.RuleCondition{cond}, Actions: actions}); err != nil {
			t.Fatalf("CreateRule %d: %v", prio, err)
		}
	}
	path := func(p string) elbtypes.RuleCondition {
		return elbtypes.RuleCondition{Field: aws.String("path-pattern"), Values: []string{p}}
	}
	rule(10, path("/a/*"), forward(tgA))
	rule(20, elbtypes.RuleCondition{Field: aws.String("host-header"), HostHeaderConfig: &elbtypes.HostHeaderConditionConfig{Values: []string{"b.example.com"}}}, forward(tgB))
	rule(30, path("/fixed"), []elbtypes.Action{{Type: elbtypes.ActionTypeEnumFixedResponse, FixedResponseConfig: &elbtypes.FixedResponseActionConfig{
		StatusCode: aws.String("200"), ContentType: aws.String("text/plain"), MessageBody: aws.String("fixed")}}})
	rule(40, path("/w/*"), []elbtypes.Action{{Type: elbtypes.ActionTypeEnumForward, ForwardConfig: &elbtypes.ForwardActionConfig{
		TargetGroups: []elbtypes.TargetGroupTuple{{TargetGroupArn: aws.String(tgA), Weight: aws.Int32(80)}, {TargetGroupArn: aws.String(tgB), Weight: aws.Int32(20)}}}}})
	rule(50, path("/sticky"), forward(tgSticky))
	rule(60, path("/slow"), forward(tgSlow))
	base := "http://" + listenerAddress(t, env, aws.ToString(listener))

	waitStates(t, c, tgA, map[string]string{keysA[0]: "healthy"})
	waitStates(t, c, tgB, map[string]string{keysB[0]: "healthy"})
	waitStates(t, c, tgSticky, map[string]string{keysSticky[0]: "healthy", keysSticky[1]: "healthy"})
	slowKey := fmt.Sprintf("%s:%d", slowHost, slowPort)
	waitStates(t, c, tgSlow, map[string]string{slowKey: "healthy"})

	get := func(client *http.Client, url, host string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest("GET", url, nil)
		if host != "" {
			req.Host = host
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("GET %s: %v", url, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	client := &http.Client{Timeout: 5 * time.Second}
	for _, tc := range []struct {
		path, host string
		code       int
		body       string
	}{
		{"/a/x", "", 200, "A"},
		{"/other", "b.example.com", 200, "B"},
		{"/fixed", "", 200, "fixed"},
		{"/nowhere", "", 404, "no route"},
	} {
		if code, body := get(client, base+tc.path, tc.host); code != tc.code || body != tc.body {
			t.Errorf("GET %s (Host %q) = %d %q, want %d %q", tc.path, tc.host, code, body, tc.code, tc.body)
		}
	}
	weighted := map[string]int{}
	for range 100 {
		_, body := get(client, base+"/w/x", "")
		weighted[body]++
	}
	if weighted["A"] <= weighted["B"] || weighted["B"] == 0 || weighted["A"]+weighted["B"] != 100 {
		t.Errorf("weighted 80/20 answers = %v", weighted)
	}

	// A client that keeps the AWSALB cookie stays on one target.
	jar, _ := cookiejar.New(nil)
	sticky := &http.Client{Timeout: 5 * time.Second, Jar: jar}
	seen := map[string]int{}
	for range 10 {
		_, body := get(sticky, base+"/sticky", "")
		seen[body]++
	}
	if len(seen) != 1 {
		t.Errorf("sticky client answers = %v, want one target", seen)
	}

	// Deregistration lets the slow in-flight request finish.
	done := make(chan string, 1)
	go func() {
		resp, err := http.Get(base + "/slow")
		if err != nil {
			done <- err.Error()
			return
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		done <- fmt.Sprintf("%d %s", resp.StatusCode, b)
	}()
	select {
	case <-arrived:
	case <-time.After(10 * time.Second):
		t.Fatal("the slow request never reached its target")
	}
	if _, err := c.DeregisterTargets(ctx, &elb.DeregisterTargetsInput{TargetGroupArn: aws.String(tgSlow), Targets: []elbtypes.TargetDescription{slowTarget}}); err != nil {
		t.Fatal(err)
	}
	waitStates(t, c, tgSlow, map[string]string{slowKey: "draining"})
	close(release)
	if got := <-done; got != "200 slow done" {
		t.Errorf("slow request through a deregistered target = %q", got)
	}
	// After the delay the target is gone, and the group has no target.
	waitStates(t, c, tgSlow, map[string]string{})
	if code, _ := get(client, base+"/slow", ""); code != http.StatusServiceUnavailable {
		t.Errorf("GET /slow with no targets = %d, want 503", code)
	}
}
