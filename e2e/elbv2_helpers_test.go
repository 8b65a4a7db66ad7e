package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"github.com/nephele-dev/nephele/internal/testenv"
)

// defaultSubnets returns the default VPC's ID and its default subnets.
func defaultSubnets(t *testing.T, c *ec2.Client) (string, []string) {
	t.Helper()
	out, err := c.DescribeSubnets(context.Background(), &ec2.DescribeSubnetsInput{})
	if err != nil {
		t.Fatal(err)
	}
	vpc := ""
	var ids []string
	for _, s := range out.Subnets {
		if aws.ToBool(s.DefaultForAz) {
			vpc = aws.ToString(s.VpcId)
			ids = append(ids, aws.ToString(s.SubnetId))
		}
	}
	if len(ids) < 2 {
		t.Fatalf("default subnets = %v", ids)
	}
	return vpc, ids
}

// listenerAddress asks nephele's admin endpoint where a listener really
// listens.
func listenerAddress(t *testing.T, env *testenv.Env, listenerARN string) string {
	t.Helper()
	var addr string
	eventually(t, "listener address", func() error {
		resp, err := http.Get(env.Endpoint + "/_nephele/elasticloadbalancing/listeners")
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		var out map[string]struct {
			Address string `json:"address"`
			DNSName string `json:"dnsName"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
			return err
		}
		l, ok := out[listenerARN]
		if !ok {
			return fmt.Errorf("listener not listed in %v", out)
		}
		addr = l.Address
		return nil
	})
	return addr
}

// targetStates returns each target's health state, by "ID:port".
func targetStates(c *elb.Client, tg string) (map[string]string, error) {
	out, err := c.DescribeTargetHealth(context.Background(), &elb.DescribeTargetHealthInput{TargetGroupArn: aws.String(tg)})
	if err != nil {
		return nil, err
	}
	states := map[string]string{}
	for _, d := range out.TargetHealthDescriptions {
		states[fmt.Sprintf("%s:%d", aws.ToString(d.Target.Id), aws.ToInt32(d.Target.Port))] = string(d.TargetHealth.State)
	}
	return states, nil
}

// waitStates waits until the target group's targets are in the states
// wanted (by "ID:port"), and no others are registered.
func waitStates(t *testing.T, c *elb.Client, tg string, want map[string]string) {
	t.Helper()
	eventually(t, "target states", func() error {
		got, err := targetStates(c, tg)
		if err != nil {
			return err
		}
		if len(got) != len(want) {
			return fmt.Errorf("states %v, want %v", got, want)
		}
		for k, v := range want {
			if got[k] != v {
				return fmt.Errorf("states %v, want %v", got, want)
			}
		}
		return nil
	})
}

// fastHealthCheck is a target group's health check that settles quickly
// on a scaled clock: every 5 s, 4 s timeout (generous for a loaded
// machine), 2 checks either way.
func fastHealthCheck(in *elb.CreateTargetGroupInput) *elb.CreateTargetGroupInput {
	in.HealthCheckIntervalSeconds = aws.Int32(5)
	in.HealthCheckTimeoutSeconds = aws.Int32(4)
	in.HealthyThresholdCount = aws.Int32(2)
	in.UnhealthyThresholdCount = aws.Int32(2)
	return in
}

// forward is a forward action to one target group.
func forward(tg string) []elbtypes.Action {
	return []elbtypes.Action{{Type: elbtypes.ActionTypeEnumForward, TargetGroupArn: aws.String(tg)}}
}

// idServerUserData is user-data that asks the metadata service for the
// instance's ID and address and serves the ID on port 8080 of that
// address, writing the server's PID to pids/ID.pid.
func idServerUserData(pids string) string {
	return fmt.Sprintf(`#!/bin/sh
TOKEN=$(curl -s -X PUT -H 'X-aws-ec2-metadata-token-ttl-seconds: 60' ${AWS_EC2_METADATA_SERVICE_ENDPOINT%%/}/latest/api/token)
MD="curl -s -H X-aws-ec2-metadata-token:$TOKEN ${AWS_EC2_METADATA_SERVICE_ENDPOINT%%/}/latest/meta-data"
ID=$($MD/instance-id)
IP=$($MD/local-ipv4)
mkdir -p www && printf %%s "$ID" > www/index.html
cd www && python3 -m http.server 8080 --bind "$IP" >/dev/null 2>&1 &
echo $! > %s/$ID.pid
`, pids)
}
