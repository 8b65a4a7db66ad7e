package e2e

import (
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	astypes "github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"github.com/nephele-dev/nephele/internal/server"
	"github.com/nephele-dev/nephele/internal/testenv"
)

// TestAutoScalingBehindALB closes the loop through a load balancer: a
// group attached to a target group registers its instances, which serve
// their IDs through the ALB; with HealthCheckType ELB, an instance whose
// server dies fails the target group's health check and the group
// replaces it; an ALBRequestCountPerTarget target tracking policy scales
// the group out under request load; scale-in deregisters before it
// terminates.
func TestAutoScalingBehindALB(t *testing.T) {
	env := testenv.Start(t, server.Config{TimeScale: 30})
	ctx := context.Background()
	ec2c := ec2.NewFromConfig(env.AWSConfig())
	lbc := elb.NewFromConfig(env.AWSConfig())
	as := autoscaling.NewFromConfig(env.AWSConfig())
	vpc, subnets := defaultSubnets(t, ec2c)
	pids := t.TempDir()
	userData := idServerUserData(pids)
	if _, err := ec2c.CreateLaunchTemplate(ctx, &ec2.CreateLaunchTemplateInput{LaunchTemplateName: aws.String("alb-web"),
		LaunchTemplateData: &ec2types.RequestLaunchTemplateData{ImageId: aws.String(templateAMI(t, ec2c)), InstanceType: ec2types.InstanceTypeT3Micro,
			UserData: aws.String(base64.StdEncoding.EncodeToString([]byte(userData)))}}); err != nil {
		t.Fatal(err)
	}
	tg, err := lbc.CreateTargetGroup(ctx, fastHealthCheck(&elb.CreateTargetGroupInput{
		Name: aws.String("asg-web"), Protocol: elbtypes.ProtocolEnumHttp, Port: aws.Int32(8080), VpcId: aws.String(vpc)}))
	if err != nil {
		t.Fatal(err)
	}
	tgARN := aws.ToString(tg.TargetGroups[0].TargetGroupArn)
	if _, err := lbc.ModifyTargetGroupAttributes(ctx, &elb.ModifyTargetGroupAttributesInput{TargetGroupArn: aws.String(tgARN),
		Attributes: []elbtypes.TargetGroupAttribute{{Key: aws.String("deregistration_delay.timeout_seconds"), Value: aws.String("30")}}}); err != nil {
		t.Fatal(err)
	}
	lb, err := lbc.CreateLoadBalancer(ctx, &elb.CreateLoadBalancerInput{Name: aws.String("asg-web"), Subnets: subnets})
	if err != nil {
		t.Fatal(err)
	}
	lbARN := aws.ToString(lb.LoadBalancers[0].LoadBalancerArn)
	ln, err := lbc.CreateListener(ctx, &elb.CreateListenerInput{LoadBalancerArn: aws.String(lbARN), Protocol: elbtypes.ProtocolEnumHttp,
		Port: aws.Int32(80), DefaultActions: forward(tgARN)})
	if err != nil {
		t.Fatal(err)
	}
	addr := listenerAddress(t, env, aws.ToString(ln.Listeners[0].ListenerArn))

	_, err = as.CreateAutoScalingGroup(ctx, &autoscaling.CreateAutoScalingGroupInput{
		AutoScalingGroupName: aws.String("alb-web"), MinSize: aws.Int32(1), MaxSize: aws.Int32(3), DesiredCapacity: aws.Int32(2),
		LaunchTemplate:    &astypes.LaunchTemplateSpecification{LaunchTemplateName: aws.String("alb-web")},
		AvailabilityZones: []string{"us-east-1a", "us-east-1b"}, TargetGroupARNs: []string{tgARN},
		// A grace period of 8 s of real time: a loaded machine may take
		// seconds to start the instances' servers.
		HealthCheckType: aws.String("ELB"), HealthCheckGracePeriod: aws.Int32(240),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		as.DeleteAutoScalingGroup(context.Background(), &autoscaling.DeleteAutoScalingGroupInput{AutoScalingGroupName: aws.String("alb-web"), ForceDelete: aws.Bool(true)})
	})
	_, err = as.CreateAutoScalingGroup(ctx, &autoscaling.CreateAutoScalingGroupInput{
		AutoScalingGroupName: aws.String("no-such-tg"), MinSize: aws.Int32(0), MaxSize: aws.Int32(1),
		LaunchTemplate:    &astypes.LaunchTemplateSpecification{LaunchTemplateName: aws.String("alb-web")},
		AvailabilityZones: []string{"us-east-1a"}, TargetGroupARNs: []string{strings.Replace(tgARN, "asg-web", "nothing", 1)},
	})
	wantASError(t, err, "ValidationError", "Provided Target Groups may not be valid. Please ensure they exist and try again.")

	ids := inService(t, as, "alb-web", 2)
	healthy := func(want ...string) {
		t.Helper()
		states := map[string]string{}
		for _, id := range want {
			states[id+":8080"] = "healthy"
		}
		waitStates(t, lbc, tgARN, states)
	}
	healthy(ids...)
	// Through the ALB, both instances answer.
	answers := func(n int) map[string]int {
		t.Helper()
		seen := map[string]int{}
		for range n {
			resp, err := http.Get("http://" + addr + "/")
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			seen[string(b)]++
		}
		return seen
	}
	// Both once the ALB has seen both healthy (its view follows the
	// health checks a moment after DescribeTargetHealth does).
	eventually(t, "both instances answering through the ALB", func() error {
		if seen := answers(10); seen[ids[0]] == 0 || seen[ids[1]] == 0 {
			return fmt.Errorf("answers %v, want both of %v", seen, ids)
		}
		return nil
	})
	eventually(t, "traffic source InService", func() error {
		src, err := as.DescribeTrafficSources(ctx, &autoscaling.DescribeTrafficSourcesInput{AutoScalingGroupName: aws.String("alb-web")})
		if err != nil {
			return err
		}
		if len(src.TrafficSources) != 1 || aws.ToString(src.TrafficSources[0].State) != "InService" || aws.ToString(src.TrafficSources[0].Identifier) != tgARN {
			return fmt.Errorf("traffic sources: %d, first %s", len(src.TrafficSources), aws.ToString(src.TrafficSources[0].State))
		}
		return nil
	})

	// One server dies: the target group marks it unhealthy, and the group,
	// checking ELB health, replaces the instance.
	b, err := os.ReadFile(filepath.Join(pids, ids[0]+".pid"))
	if err != nil {
		t.Fatal(err)
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	var now []string
	eventually(t, "the dead server's instance replaced", func() error {
		now = inServiceNow(ctx, as, "alb-web")
		if len(now) != 2 || containsID(now, ids[0]) {
			return fmt.Errorf("InService %v", now)
		}
		return nil
	})
	healthy(now...)
	acts, err := as.DescribeScalingActivities(ctx, &autoscaling.DescribeScalingActivitiesInput{AutoScalingGroupName: aws.String("alb-web")})
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, a := range acts.Activities {
		found = found || strings.Contains(aws.ToString(a.Cause), "in response to an ELB system health check failure.")
	}
	if !found {
		t.Fatal("no activity says the instance failed an ELB health check")
	}

	// Request load beyond 100 a minute per target scales the group out.
	// app/<lb-name>/<lb-id>/targetgroup/<tg-name>/<tg-id>
	_, lbPart, _ := strings.Cut(lbARN, ":loadbalancer/")
	label := lbPart + "/" + tgARN[strings.LastIndex(tgARN, ":")+1:]
	if _, err := as.PutScalingPolicy(ctx, &autoscaling.PutScalingPolicyInput{AutoScalingGroupName: aws.String("alb-web"), PolicyName: aws.String("requests"),
		PolicyType: aws.String("TargetTrackingScaling"), TargetTrackingConfiguration: &astypes.TargetTrackingConfiguration{TargetValue: aws.Float64(100),
			PredefinedMetricSpecification: &astypes.PredefinedMetricSpecification{PredefinedMetricType: astypes.MetricTypeALBRequestCountPerTarget, ResourceLabel: aws.String(label)}}}); err != nil {
		t.Fatalf("PutScalingPolicy with resource label %s: %v", label, err)
	}
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		client := &http.Client{Timeout: 5 * time.Second}
		for i := 0; i < 20000; i++ {
			select {
			case <-stop:
				return
			case <-time.After(5 * time.Millisecond):
			}
			if resp, err := client.Get("http://" + addr + "/"); err == nil {
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		}
	}()
	desiredIs(t, as, "alb-web", 3)
	close(stop)
	<-done
	three := inService(t, as, "alb-web", 3)
	healthy(three...)

	// Scale-in deregisters the instance before terminating it.
	if _, err := as.DeletePolicy(ctx, &autoscaling.DeletePolicyInput{AutoScalingGroupName: aws.String("alb-web"), PolicyName: aws.String("requests")}); err != nil {
		t.Fatal(err)
	}
	if _, err := as.SetDesiredCapacity(ctx, &autoscaling.SetDesiredCapacityInput{AutoScalingGroupName: aws.String("alb-web"), DesiredCapacity: aws.Int32(2)}); err != nil {
		t.Fatal(err)
	}
	two := inService(t, as, "alb-web", 2)
	healthy(two...)
}
