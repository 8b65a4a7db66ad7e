package e2e

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/nephele-dev/nephele/internal/server"
	"github.com/nephele-dev/nephele/internal/testenv"
)

// metadataStatus is the HTTP status of an IMDSv1 GET (no token).
func metadataStatus(endpoint string) (int, error) {
	client := http.Client{Timeout: 2 * time.Second}
	resp, err := client.Get(strings.TrimSuffix(endpoint, "/") + "/latest/meta-data/instance-id")
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}

// TestEC2InstanceAttributes changes an instance after launch: its
// metadata options take effect at once, its type and user data only
// while it is stopped, and its status and CPU credits are what Terraform
// reads for a T instance.
func TestEC2InstanceAttributes(t *testing.T) {
	env := testenv.Start(t, server.Config{})
	ctx := context.Background()
	c := ec2.NewFromConfig(env.AWSConfig())
	dir := t.TempDir()

	id := launch(t, c, al2023(t, c), ec2types.InstanceTypeT3Micro, fmt.Sprintf("#!/bin/sh\necho \"$AWS_EC2_METADATA_SERVICE_ENDPOINT\" > %s/endpoint\n", dir))
	instanceState(t, c, id, "running")
	var endpoint string
	eventually(t, "metadata endpoint", func() error {
		b, err := os.ReadFile(filepath.Join(dir, "endpoint"))
		endpoint = strings.TrimSpace(string(b))
		if err == nil && endpoint == "" {
			err = fmt.Errorf("empty")
		}
		return err
	})

	// Metadata options: IMDSv1 works until tokens are required.
	opts, err := c.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{id}})
	if err != nil {
		t.Fatal(err)
	}
	if mo := opts.Reservations[0].Instances[0].MetadataOptions; mo.HttpTokens == ec2types.HttpTokensStateOptional {
		if code, err := metadataStatus(endpoint); err != nil || code != 200 {
			t.Fatalf("IMDSv1 before: %d, %v", code, err)
		}
	}
	mod, err := c.ModifyInstanceMetadataOptions(ctx, &ec2.ModifyInstanceMetadataOptionsInput{
		InstanceId: aws.String(id), HttpTokens: ec2types.HttpTokensStateRequired, HttpPutResponseHopLimit: aws.Int32(3),
	})
	if err != nil || mod.InstanceMetadataOptions.HttpTokens != ec2types.HttpTokensStateRequired {
		t.Fatalf("ModifyInstanceMetadataOptions: %+v, %v", mod, err)
	}
	if code, err := metadataStatus(endpoint); err != nil || code != http.StatusUnauthorized {
		t.Errorf("IMDSv1 with tokens required: %d, %v; want 401", code, err)
	}
	after := instanceState(t, c, id, "running")
	if mo := after.MetadataOptions; mo.State != ec2types.InstanceMetadataOptionsStateApplied || aws.ToInt32(mo.HttpPutResponseHopLimit) != 3 {
		t.Errorf("metadata options = %+v", mo)
	}

	// Status checks and CPU credits, as Terraform's aws_instance reads them.
	status, err := c.DescribeInstanceStatus(ctx, &ec2.DescribeInstanceStatusInput{InstanceIds: []string{id}})
	if err != nil || len(status.InstanceStatuses) != 1 || status.InstanceStatuses[0].InstanceStatus.Status != ec2types.SummaryStatusOk ||
		status.InstanceStatuses[0].SystemStatus.Details[0].Status != ec2types.StatusTypePassed {
		t.Errorf("DescribeInstanceStatus: %+v, %v", status, err)
	}
	credits, err := c.DescribeInstanceCreditSpecifications(ctx, &ec2.DescribeInstanceCreditSpecificationsInput{InstanceIds: []string{id}})
	if err != nil || len(credits.InstanceCreditSpecifications) != 1 || aws.ToString(credits.InstanceCreditSpecifications[0].CpuCredits) != "unlimited" {
		t.Errorf("t3 credits: %+v, %v", credits, err)
	}
	set, err := c.ModifyInstanceCreditSpecification(ctx, &ec2.ModifyInstanceCreditSpecificationInput{InstanceCreditSpecifications: []ec2types.InstanceCreditSpecificationRequest{
		{InstanceId: aws.String(id), CpuCredits: aws.String("standard")},
		{InstanceId: aws.String("i-0123456789abcdef0"), CpuCredits: aws.String("standard")},
	}})
	if err != nil || len(set.SuccessfulInstanceCreditSpecifications) != 1 || len(set.UnsuccessfulInstanceCreditSpecifications) != 1 ||
		string(set.UnsuccessfulInstanceCreditSpecifications[0].Error.Code) != "InvalidInstanceID.NotFound" {
		t.Errorf("ModifyInstanceCreditSpecification: %+v, %v", set, err)
	}
	out, err := env.CLI(t, "ec2", "describe-instance-credit-specifications", "--instance-ids", id)
	if err != nil || !strings.Contains(out, `"standard"`) {
		t.Errorf("describe-instance-credit-specifications: %v\n%s", err, out)
	}

	// The type and user data wait for a stop; protection does not.
	if _, err := c.ModifyInstanceAttribute(ctx, &ec2.ModifyInstanceAttributeInput{InstanceId: aws.String(id), InstanceType: &ec2types.AttributeValue{Value: aws.String("t3.small")}}); apiCode(err) != "IncorrectInstanceState" {
		t.Errorf("changing the type of a running instance: %v", err)
	}
	if _, err := env.CLI(t, "ec2", "modify-instance-attribute", "--instance-id", id, "--disable-api-termination"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.TerminateInstances(ctx, &ec2.TerminateInstancesInput{InstanceIds: []string{id}}); apiCode(err) != "OperationNotPermitted" {
		t.Errorf("terminating a protected instance: %v", err)
	}
	if _, err := c.ModifyInstanceAttribute(ctx, &ec2.ModifyInstanceAttributeInput{InstanceId: aws.String(id), DisableApiTermination: &ec2types.AttributeBooleanValue{Value: aws.Bool(false)}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.StopInstances(ctx, &ec2.StopInstancesInput{InstanceIds: []string{id}}); err != nil {
		t.Fatal(err)
	}
	instanceState(t, c, id, "stopped")
	if _, err := c.ModifyInstanceAttribute(ctx, &ec2.ModifyInstanceAttributeInput{InstanceId: aws.String(id), InstanceType: &ec2types.AttributeValue{Value: aws.String("t3.small")}}); err != nil {
		t.Fatalf("changing the type of a stopped instance: %v", err)
	}
	if _, err := c.ModifyInstanceAttribute(ctx, &ec2.ModifyInstanceAttributeInput{InstanceId: aws.String(id), UserData: &ec2types.SecureBlobAttributeValue{Value: []byte("#!/bin/sh\necho new\n")}}); err != nil {
		t.Fatalf("changing the user data of a stopped instance: %v", err)
	}
	typ, err := c.DescribeInstanceAttribute(ctx, &ec2.DescribeInstanceAttributeInput{InstanceId: aws.String(id), Attribute: ec2types.InstanceAttributeNameInstanceType})
	if err != nil || aws.ToString(typ.InstanceType.Value) != "t3.small" {
		t.Errorf("instanceType: %+v, %v", typ, err)
	}
	ud, err := c.DescribeInstanceAttribute(ctx, &ec2.DescribeInstanceAttributeInput{InstanceId: aws.String(id), Attribute: ec2types.InstanceAttributeNameUserData})
	if decoded, _ := base64.StdEncoding.DecodeString(aws.ToString(ud.UserData.Value)); err != nil || string(decoded) != "#!/bin/sh\necho new\n" {
		t.Errorf("userData: %q, %v", decoded, err)
	}
	if _, err := c.ModifyInstanceAttribute(ctx, &ec2.ModifyInstanceAttributeInput{InstanceId: aws.String(id), BlockDeviceMappings: []ec2types.InstanceBlockDeviceMappingSpecification{
		{DeviceName: after.RootDeviceName, Ebs: &ec2types.EbsInstanceBlockDeviceSpecification{DeleteOnTermination: aws.Bool(false)}},
	}}); err != nil {
		t.Fatalf("DeleteOnTermination: %v", err)
	}
	root := volume(t, c, aws.ToString(after.BlockDeviceMappings[0].Ebs.VolumeId))
	if aws.ToBool(root.Attachments[0].DeleteOnTermination) {
		t.Errorf("root volume still deleted on termination: %+v", root.Attachments[0])
	}
	out, err = env.CLI(t, "ec2", "describe-instance-attribute", "--instance-id", id, "--attribute", "instanceInitiatedShutdownBehavior")
	if err != nil || !strings.Contains(out, `"stop"`) {
		t.Errorf("describe-instance-attribute: %v\n%s", err, out)
	}
	all, err := c.DescribeInstanceStatus(ctx, &ec2.DescribeInstanceStatusInput{IncludeAllInstances: aws.Bool(true), Filters: []ec2types.Filter{{Name: aws.String("instance-state-name"), Values: []string{"stopped"}}}})
	if err != nil || len(all.InstanceStatuses) != 1 || all.InstanceStatuses[0].InstanceStatus.Status != ec2types.SummaryStatusNotApplicable {
		t.Errorf("status of a stopped instance: %+v, %v", all, err)
	}
	running, err := c.DescribeInstanceStatus(ctx, &ec2.DescribeInstanceStatusInput{})
	if err != nil || len(running.InstanceStatuses) != 0 {
		t.Errorf("status without IncludeAllInstances lists stopped instances: %+v, %v", running, err)
	}
}
