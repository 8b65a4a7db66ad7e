package e2e

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/nephele-dev/nephele/internal/clock"
	"github.com/nephele-dev/nephele/internal/server"
	"github.com/nephele-dev/nephele/internal/testenv"
)

// spotImage is an Amazon Linux 2023 x86_64 AMI of the env.
func spotImage(t *testing.T, c *ec2.Client) *string {
	t.Helper()
	images, err := c.DescribeImages(context.Background(), &ec2.DescribeImagesInput{
		Owners:  []string{"amazon"},
		Filters: []ec2types.Filter{{Name: aws.String("name"), Values: []string{"al2023-ami-2023.*-x86_64"}}},
	})
	if err != nil || len(images.Images) == 0 {
		t.Fatalf("DescribeImages: %v", err)
	}
	return images.Images[0].ImageId
}

// imdsGet reads a metadata path with an IMDSv2 token; a 404 is returned
// as the status.
func imdsGet(endpoint, path string) (int, string, error) {
	client := http.Client{Timeout: 2 * time.Second}
	base := strings.TrimSuffix(endpoint, "/")
	req, _ := http.NewRequest(http.MethodPut, base+"/latest/api/token", nil)
	req.Header.Set("X-aws-ec2-metadata-token-ttl-seconds", "60")
	resp, err := client.Do(req)
	if err != nil {
		return 0, "", err
	}
	token, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	req, _ = http.NewRequest(http.MethodGet, base+"/latest/meta-data/"+path, nil)
	req.Header.Set("X-aws-ec2-metadata-token", string(token))
	resp, err = client.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

// interruptSpot asks the admin API to interrupt instances.
func interruptSpot(t *testing.T, env *testenv.Env, body string) map[string]any {
	t.Helper()
	resp, err := http.Post(env.Endpoint+"/_nephele/ec2/spot-interruption", "application/json", bytes.NewBufferString(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("spot-interruption answered %d: %v", resp.StatusCode, out)
	}
	return out
}

// advanceUntil moves the fake clock a second at a time (real processes
// need real time to stop) until check passes, for at most 20 s of real
// time.
func advanceUntil(t *testing.T, clk *clock.Fake, what string, check func() error) {
	t.Helper()
	eventually(t, what, func() error {
		clk.Advance(time.Second)
		return check()
	})
}

// TestEC2SpotInterruptionNotice is the spot story: a Spot Instance reads
// its own metadata service; once interrupted it sees the rebalance
// recommendation and the instance-action notice two minutes ahead, and is
// terminated on time with the Spot state reason; its one-time request
// closes. The aws CLI sees the request and the price history.
func TestEC2SpotInterruptionNotice(t *testing.T) {
	start := time.Date(2024, 6, 1, 9, 30, 0, 0, time.UTC)
	clk := clock.NewFake(start)
	env := testenv.Start(t, server.Config{Clock: clk})
	ctx := context.Background()
	c := ec2.NewFromConfig(env.AWSConfig())
	dir := t.TempDir()
	userData := fmt.Sprintf("#!/bin/sh\necho \"$AWS_EC2_METADATA_SERVICE_ENDPOINT\" > %s/imds.tmp && mv %s/imds.tmp %s/imds\nsleep 600\n", dir, dir, dir)

	run, err := c.RunInstances(ctx, &ec2.RunInstancesInput{
		ImageId: spotImage(t, c), InstanceType: ec2types.InstanceTypeT3Micro, MinCount: aws.Int32(1), MaxCount: aws.Int32(1),
		UserData:              aws.String(base64.StdEncoding.EncodeToString([]byte(userData))),
		InstanceMarketOptions: &ec2types.InstanceMarketOptionsRequest{MarketType: ec2types.MarketTypeSpot},
	})
	if err != nil {
		t.Fatalf("RunInstances: %v", err)
	}
	inst := run.Instances[0]
	id := aws.ToString(inst.InstanceId)
	defer c.TerminateInstances(ctx, &ec2.TerminateInstancesInput{InstanceIds: []string{id}})
	if inst.InstanceLifecycle != ec2types.InstanceLifecycleTypeSpot || aws.ToString(inst.SpotInstanceRequestId) == "" {
		t.Fatalf("lifecycle %q, request %q", inst.InstanceLifecycle, aws.ToString(inst.SpotInstanceRequestId))
	}
	sir := aws.ToString(inst.SpotInstanceRequestId)
	instanceState(t, c, id, "running")

	var endpoint string
	eventually(t, "user-data wrote the IMDS endpoint", func() error {
		b, err := os.ReadFile(filepath.Join(dir, "imds"))
		endpoint = strings.TrimSpace(string(b))
		if err == nil && endpoint == "" {
			err = fmt.Errorf("empty")
		}
		return err
	})
	if code, _, err := imdsGet(endpoint, "spot/instance-action"); err != nil || code != http.StatusNotFound {
		t.Fatalf("instance-action before any interruption: %d %v, want 404", code, err)
	}

	// The CLI sees the request RunInstances made.
	out, err := env.CLI(t, "ec2", "describe-spot-instance-requests", "--spot-instance-request-ids", sir)
	if err != nil {
		t.Fatal(err)
	}
	var reqs struct {
		SpotInstanceRequests []struct {
			State, InstanceId string
			Status            struct{ Code string }
		}
	}
	if err := json.Unmarshal([]byte(out), &reqs); err != nil || len(reqs.SpotInstanceRequests) != 1 {
		t.Fatalf("describe-spot-instance-requests: %v\n%s", err, out)
	}
	if r := reqs.SpotInstanceRequests[0]; r.State != "active" || r.Status.Code != "fulfilled" || r.InstanceId != id {
		t.Errorf("request = %+v, want active/fulfilled for %s", r, id)
	}

	at := clk.Now()
	interruptSpot(t, env, `{"instanceIds": ["`+id+`"]}`)
	code, body, err := imdsGet(endpoint, "spot/instance-action")
	if err != nil || code != http.StatusOK {
		t.Fatalf("instance-action: %d %v", code, err)
	}
	var action struct{ Action, Time string }
	if err := json.Unmarshal([]byte(body), &action); err != nil {
		t.Fatalf("instance-action %q: %v", body, err)
	}
	if want := at.Add(2 * time.Minute).UTC().Format("2006-01-02T15:04:05Z"); action.Action != "terminate" || action.Time != want {
		t.Errorf("instance-action = %s, want terminate at %s", body, want)
	}
	if code, body, _ := imdsGet(endpoint, "events/recommendations/rebalance"); code != http.StatusOK || !strings.Contains(body, at.UTC().Format("2006-01-02T15:04:05Z")) {
		t.Errorf("rebalance recommendation: %d %s", code, body)
	}
	if code, body, _ := imdsGet(endpoint, "spot/termination-time"); code != http.StatusOK || body != action.Time {
		t.Errorf("termination-time: %d %q, want %q", code, body, action.Time)
	}

	clk.Advance(2*time.Minute - time.Second)
	if got := instanceState(t, c, id, "running"); got.StateReason != nil && aws.ToString(got.StateReason.Code) != "" {
		t.Errorf("StateReason before the interruption: %+v", got.StateReason)
	}
	clk.Advance(time.Second)
	var got ec2types.Instance
	eventually(t, "interrupted", func() error {
		d, err := c.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{id}})
		if err != nil {
			return err
		}
		got = d.Reservations[0].Instances[0]
		if got.State.Name == ec2types.InstanceStateNameRunning {
			return fmt.Errorf("still running")
		}
		return nil
	})
	if r := got.StateReason; r == nil || aws.ToString(r.Code) != "Server.SpotInstanceTermination" || aws.ToString(r.Message) != "Server.SpotInstanceTermination: Spot instance termination" {
		t.Errorf("StateReason = %+v", got.StateReason)
	}
	advanceUntil(t, clk, "terminated", func() error {
		d, err := c.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{id}})
		if err != nil {
			return err
		}
		if st := d.Reservations[0].Instances[0].State.Name; st != ec2types.InstanceStateNameTerminated {
			return fmt.Errorf("state %s", st)
		}
		return nil
	})
	d, err := c.DescribeSpotInstanceRequests(ctx, &ec2.DescribeSpotInstanceRequestsInput{SpotInstanceRequestIds: []string{sir}})
	if err != nil {
		t.Fatal(err)
	}
	if r := d.SpotInstanceRequests[0]; r.State != ec2types.SpotInstanceStateClosed || aws.ToString(r.Status.Code) != "instance-terminated-no-capacity" {
		t.Errorf("request after the interruption: %s %s", r.State, aws.ToString(r.Status.Code))
	}

	// Price history through the CLI: one price an hour, newest first.
	out, err = env.CLI(t, "ec2", "describe-spot-price-history", "--instance-types", "t3.micro",
		"--product-descriptions", "Linux/UNIX", "--availability-zone", "us-east-1a",
		"--start-time", start.Add(-2*time.Hour).Format(time.RFC3339), "--end-time", start.Format(time.RFC3339))
	if err != nil {
		t.Fatal(err)
	}
	var hist struct {
		SpotPriceHistory []struct{ SpotPrice, Timestamp string }
	}
	if err := json.Unmarshal([]byte(out), &hist); err != nil || len(hist.SpotPriceHistory) != 3 {
		t.Errorf("describe-spot-price-history: %v\n%s", err, out)
	}
}

// TestEC2SpotRequestsAndMaintainFleet: RequestSpotInstances is fulfilled
// on the clock, and a maintain Spot Fleet replaces an interrupted
// instance.
func TestEC2SpotRequestsAndMaintainFleet(t *testing.T) {
	clk := clock.NewFake(time.Date(2024, 6, 1, 9, 30, 0, 0, time.UTC))
	env := testenv.Start(t, server.Config{Clock: clk})
	ctx := context.Background()
	c := ec2.NewFromConfig(env.AWSConfig())
	image := spotImage(t, c)

	req, err := c.RequestSpotInstances(ctx, &ec2.RequestSpotInstancesInput{
		InstanceCount:       aws.Int32(1),
		LaunchSpecification: &ec2types.RequestSpotLaunchSpecification{ImageId: image, InstanceType: ec2types.InstanceTypeT3Micro},
	})
	if err != nil {
		t.Fatalf("RequestSpotInstances: %v", err)
	}
	sir := aws.ToString(req.SpotInstanceRequests[0].SpotInstanceRequestId)
	if req.SpotInstanceRequests[0].State != ec2types.SpotInstanceStateOpen || aws.ToString(req.SpotInstanceRequests[0].Status.Code) != "pending-evaluation" {
		t.Errorf("new request: %s %s", req.SpotInstanceRequests[0].State, aws.ToString(req.SpotInstanceRequests[0].Status.Code))
	}
	var spotInstance string
	eventually(t, "request fulfilled", func() error {
		d, err := c.DescribeSpotInstanceRequests(ctx, &ec2.DescribeSpotInstanceRequestsInput{SpotInstanceRequestIds: []string{sir}})
		if err != nil {
			return err
		}
		r := d.SpotInstanceRequests[0]
		if aws.ToString(r.Status.Code) != "fulfilled" {
			return fmt.Errorf("status %s", aws.ToString(r.Status.Code))
		}
		spotInstance = aws.ToString(r.InstanceId)
		return nil
	})
	defer c.TerminateInstances(ctx, &ec2.TerminateInstancesInput{InstanceIds: []string{spotInstance}})
	if _, err := c.CancelSpotInstanceRequests(ctx, &ec2.CancelSpotInstanceRequestsInput{SpotInstanceRequestIds: []string{sir}}); err != nil {
		t.Fatal(err)
	}
	instanceState(t, c, spotInstance, "running") // cancelling keeps the instance

	fleet, err := c.RequestSpotFleet(ctx, &ec2.RequestSpotFleetInput{SpotFleetRequestConfig: &ec2types.SpotFleetRequestConfigData{
		IamFleetRole:   aws.String("arn:aws:iam::000000000000:role/aws-ec2-spot-fleet-tagging-role"),
		TargetCapacity: aws.Int32(2),
		Type:           ec2types.FleetTypeMaintain,
		LaunchSpecifications: []ec2types.SpotFleetLaunchSpecification{
			{ImageId: image, InstanceType: ec2types.InstanceTypeT3Micro},
			{ImageId: image, InstanceType: ec2types.InstanceTypeT3Small},
		},
	}})
	if err != nil {
		t.Fatalf("RequestSpotFleet: %v", err)
	}
	fleetID := aws.ToString(fleet.SpotFleetRequestId)
	defer c.CancelSpotFleetRequests(ctx, &ec2.CancelSpotFleetRequestsInput{SpotFleetRequestIds: []string{fleetID}, TerminateInstances: aws.Bool(true)})
	active := func() ([]string, error) {
		d, err := c.DescribeSpotFleetInstances(ctx, &ec2.DescribeSpotFleetInstancesInput{SpotFleetRequestId: aws.String(fleetID)})
		if err != nil {
			return nil, err
		}
		var ids []string
		for _, a := range d.ActiveInstances {
			ids = append(ids, aws.ToString(a.InstanceId))
		}
		return ids, nil
	}
	var first []string
	eventually(t, "fleet fulfilled", func() error {
		first, err = active()
		if err == nil && len(first) != 2 {
			err = fmt.Errorf("%d active", len(first))
		}
		return err
	})
	for _, id := range first {
		instanceState(t, c, id, "running")
	}
	victim := first[0]
	interruptSpot(t, env, `{"instanceIds": ["`+victim+`"]}`)
	clk.Advance(2 * time.Minute)
	advanceUntil(t, clk, "replacement launched", func() error {
		now, err := active()
		if err != nil {
			return err
		}
		if len(now) != 2 || now[0] == victim || now[1] == victim {
			return fmt.Errorf("active %v (victim %s)", now, victim)
		}
		return nil
	})
	d, err := c.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{victim}})
	if err != nil {
		t.Fatal(err)
	}
	if r := d.Reservations[0].Instances[0].StateReason; r == nil || aws.ToString(r.Code) != "Server.SpotInstanceTermination" {
		t.Errorf("victim's StateReason = %+v", r)
	}
	cancel, err := c.CancelSpotFleetRequests(ctx, &ec2.CancelSpotFleetRequestsInput{SpotFleetRequestIds: []string{fleetID}, TerminateInstances: aws.Bool(true)})
	if err != nil || len(cancel.SuccessfulFleetRequests) != 1 {
		t.Fatalf("CancelSpotFleetRequests: %v %+v", err, cancel)
	}
	advanceUntil(t, clk, "fleet cancelled", func() error {
		d, err := c.DescribeSpotFleetRequests(ctx, &ec2.DescribeSpotFleetRequestsInput{SpotFleetRequestIds: []string{fleetID}})
		if err != nil {
			return err
		}
		if st := d.SpotFleetRequestConfigs[0].SpotFleetRequestState; st != ec2types.BatchStateCancelled {
			return fmt.Errorf("state %s", st)
		}
		return nil
	})
}
