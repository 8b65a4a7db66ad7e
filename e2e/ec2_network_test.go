package e2e

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/nephele-dev/nephele/internal/server"
	"github.com/nephele-dev/nephele/internal/testenv"
)

// TestEC2DefaultVPC checks what every new region has, through the Go SDK:
// one default VPC, a default subnet per Availability Zone, and tags that
// CreateTags adds and DescribeTags and the tag filters see.
func TestEC2DefaultVPC(t *testing.T) {
	env := testenv.Start(t, server.Config{})
	ctx := context.Background()
	c := ec2.NewFromConfig(env.AWSConfig())

	vpcs, err := c.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{Filters: []ec2types.Filter{{Name: aws.String("is-default"), Values: []string{"true"}}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(vpcs.Vpcs) != 1 || aws.ToString(vpcs.Vpcs[0].CidrBlock) != "172.31.0.0/16" {
		t.Fatalf("default VPCs = %+v", vpcs.Vpcs)
	}
	vpcID := aws.ToString(vpcs.Vpcs[0].VpcId)
	subnets, err := c.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{Filters: []ec2types.Filter{{Name: aws.String("vpc-id"), Values: []string{vpcID}}, {Name: aws.String("default-for-az"), Values: []string{"true"}}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(subnets.Subnets) < 3 {
		t.Fatalf("default subnets = %d, want one per AZ", len(subnets.Subnets))
	}
	zones := map[string]bool{}
	for _, sn := range subnets.Subnets {
		zones[aws.ToString(sn.AvailabilityZone)] = true
		if aws.ToInt32(sn.AvailableIpAddressCount) != 4091 || !aws.ToBool(sn.MapPublicIpOnLaunch) {
			t.Errorf("default subnet %+v", sn)
		}
	}
	if len(zones) != len(subnets.Subnets) {
		t.Errorf("default subnets share AZs: %v", zones)
	}

	if _, err := c.CreateTags(ctx, &ec2.CreateTagsInput{Resources: []string{vpcID}, Tags: []ec2types.Tag{{Key: aws.String("Name"), Value: aws.String("main")}}}); err != nil {
		t.Fatal(err)
	}
	tagged, err := c.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{Filters: []ec2types.Filter{{Name: aws.String("tag:Name"), Values: []string{"ma*"}}}})
	if err != nil || len(tagged.Vpcs) != 1 || len(tagged.Vpcs[0].Tags) != 1 {
		t.Fatalf("tag filter: %+v, %v", tagged, err)
	}
	desc, err := c.DescribeTags(ctx, &ec2.DescribeTagsInput{Filters: []ec2types.Filter{{Name: aws.String("resource-type"), Values: []string{"vpc"}}}})
	if err != nil || len(desc.Tags) != 1 || aws.ToString(desc.Tags[0].ResourceId) != vpcID {
		t.Fatalf("DescribeTags = %+v, %v", desc, err)
	}
	if _, err := c.CreateTags(ctx, &ec2.CreateTagsInput{Resources: []string{"vpc-0123456789abcdef0"}, Tags: []ec2types.Tag{{Key: aws.String("k"), Value: aws.String("v")}}}); apiCode(err) != "InvalidVpcID.NotFound" {
		t.Errorf("CreateTags on a missing VPC: %v", err)
	}
	if _, err := c.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{VpcIds: []string{"vpc-0123456789abcdef0"}}); apiCode(err) != "InvalidVpcID.NotFound" {
		t.Errorf("DescribeVpcs of a missing VPC: %v", err)
	}
	other, err := ec2.NewFromConfig(env.AWSConfig(), func(o *ec2.Options) { o.Region = "eu-west-1" }).DescribeVpcs(ctx, &ec2.DescribeVpcsInput{})
	if err != nil || len(other.Vpcs) != 1 || aws.ToString(other.Vpcs[0].VpcId) == vpcID {
		t.Errorf("eu-west-1 VPCs = %+v, %v; want its own default VPC", other, err)
	}
}
