package e2e

import (
	"context"
	"encoding/base64"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"github.com/nephele-dev/nephele/internal/server"
	"github.com/nephele-dev/nephele/internal/testenv"
)

// TestELBBalancesInstances is the story of the issue: two instances
// whose user-data serves HTTP with their instance ID sit behind an ALB;
// once both pass health checks, requests through the ALB go to both in
// turn; when one's server dies, the ALB sends everything to the other
// after the unhealthy threshold; when it serves again, it returns.
func TestELBBalancesInstances(t *testing.T) {
	env := testenv.Start(t, server.Config{TimeScale: 20})
	ctx := context.Background()
	ec2c := ec2.NewFromConfig(env.AWSConfig())
	c := elb.NewFromConfig(env.AWSConfig())
	vpc, subnets := defaultSubnets(t, ec2c)
	pids := t.TempDir()

	// Each instance asks its metadata service for its ID and address and
	// serves its ID on port 8080 of its own address.
	userData := idServerUserData(pids)
	run, err := ec2c.RunInstances(ctx, &ec2.RunInstancesInput{
		ImageId: aws.String(templateAMI(t, ec2c)), InstanceType: ec2types.InstanceTypeT3Micro,
		MinCount: aws.Int32(2), MaxCount: aws.Int32(2),
		UserData: aws.String(base64.StdEncoding.EncodeToString([]byte(userData))),
	})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, i := range run.Instances {
		ids = append(ids, aws.ToString(i.InstanceId))
	}
	t.Cleanup(func() { ec2c.TerminateInstances(context.Background(), &ec2.TerminateInstancesInput{InstanceIds: ids}) })
	ips := map[string]string{}
	for _, id := range ids {
		ips[id] = aws.ToString(instanceState(t, ec2c, id, "running").PrivateIpAddress)
	}

	tg, err := c.CreateTargetGroup(ctx, fastHealthCheck(&elb.CreateTargetGroupInput{
		Name: aws.String("web"), Protocol: elbtypes.ProtocolEnumHttp, Port: aws.Int32(8080), VpcId: aws.String(vpc),
	}))
	if err != nil {
		t.Fatal(err)
	}
	tgARN := aws.ToString(tg.TargetGroups[0].TargetGroupArn)
	if _, err := c.RegisterTargets(ctx, &elb.RegisterTargetsInput{TargetGroupArn: aws.String(tgARN),
		Targets: []elbtypes.TargetDescription{{Id: aws.String(ids[0])}, {Id: aws.String(ids[1])}}}); err != nil {
		t.Fatal(err)
	}
	lb, err := c.CreateLoadBalancer(ctx, &elb.CreateLoadBalancerInput{Name: aws.String("web"), Subnets: subnets})
	if err != nil {
		t.Fatal(err)
	}
	dns := aws.ToString(lb.LoadBalancers[0].DNSName)
	if !strings.HasSuffix(dns, ".us-east-1.elb.localhost") {
		t.Errorf("DNSName = %s", dns)
	}
	l, err := c.CreateListener(ctx, &elb.CreateListenerInput{LoadBalancerArn: lb.LoadBalancers[0].LoadBalancerArn,
		Protocol: elbtypes.ProtocolEnumHttp, Port: aws.Int32(80), DefaultActions: forward(tgARN)})
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + listenerAddress(t, env, aws.ToString(l.Listeners[0].ListenerArn)) + "/"
	healthy := map[string]string{ids[0] + ":8080": "healthy", ids[1] + ":8080": "healthy"}
	waitStates(t, c, tgARN, healthy)

	// served asks the ALB n times and counts the answers by body.
	served := func(n int) map[string]int {
		t.Helper()
		got := map[string]int{}
		for range n {
			body, err := httpGet(url)
			if err != nil {
				t.Fatalf("GET %s: %v", url, err)
			}
			got[body]++
		}
		return got
	}
	if got := served(10); got[ids[0]] < 3 || got[ids[1]] < 3 {
		t.Fatalf("answers = %v, want both instances in turn", got)
	}

	// Kill the first instance's server: after two failed checks it is
	// unhealthy and the other one answers everything.
	pidFile := filepath.Join(pids, ids[0]+".pid")
	pid := readPID(t, pidFile)
	if err := syscall.Kill(pid, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	waitStates(t, c, tgARN, map[string]string{ids[0] + ":8080": "unhealthy", ids[1] + ":8080": "healthy"})
	if got := served(6); got[ids[1]] != 6 {
		t.Fatalf("answers with %s down = %v, want all from %s", ids[0], got, ids[1])
	}

	// Serve again on the first instance's address: it returns.
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "index.html"), []byte(ids[0]), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("python3", "-m", "http.server", "8080", "--bind", ips[ids[0]])
	cmd.Dir = dir
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	waitStates(t, c, tgARN, healthy)
	if got := served(10); got[ids[0]] < 3 || got[ids[1]] < 3 {
		t.Fatalf("answers after recovery = %v, want both instances again", got)
	}
}
