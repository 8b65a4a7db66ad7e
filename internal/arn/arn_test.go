package arn

import (
	"errors"
	"testing"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want ARN
	}{
		{"ec2_instance", "arn:aws:ec2:us-east-1:123456789012:instance/i-0a1b2c3d4e5f60718",
			ARN{"aws", "ec2", "us-east-1", "123456789012", "instance/i-0a1b2c3d4e5f60718"}},
		{"iam_role_has_no_region", "arn:aws:iam::123456789012:role/path/to/MyRole",
			ARN{"aws", "iam", "", "123456789012", "role/path/to/MyRole"}},
		{"s3_bucket_has_no_region_or_account", "arn:aws:s3:::my-bucket",
			ARN{"aws", "s3", "", "", "my-bucket"}},
		{"resource_keeps_colons", "arn:aws:autoscaling:us-west-2:123456789012:autoScalingGroup:6d4f8e7a-1b2c:autoScalingGroupName/web",
			ARN{"aws", "autoscaling", "us-west-2", "123456789012", "autoScalingGroup:6d4f8e7a-1b2c:autoScalingGroupName/web"}},
		{"logs_group_with_trailing_star", "arn:aws:logs:eu-west-1:123456789012:log-group:/aws/lambda/f:*",
			ARN{"aws", "logs", "eu-west-1", "123456789012", "log-group:/aws/lambda/f:*"}},
		{"china_partition", "arn:aws-cn:ec2:cn-north-1:123456789012:vpc/vpc-1",
			ARN{"aws-cn", "ec2", "cn-north-1", "123456789012", "vpc/vpc-1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse(tt.in)
			if err != nil {
				t.Fatalf("Parse(%q): %v", tt.in, err)
			}
			if got != tt.want {
				t.Fatalf("Parse(%q) = %+v, want %+v", tt.in, got, tt.want)
			}
			if s := got.String(); s != tt.in {
				t.Fatalf("String() = %q, want round trip to %q", s, tt.in)
			}
		})
	}
}

func TestParseRejects(t *testing.T) {
	tests := []struct {
		name string
		in   string
	}{
		{"empty", ""},
		{"not_an_arn", "i-0a1b2c3d4e5f60718"},
		{"too_few_fields", "arn:aws:iam::123456789012"},
		{"wrong_scheme", "urn:aws:iam::123456789012:role/x"},
		{"uppercase_scheme", "ARN:aws:iam::123456789012:role/x"},
		{"empty_partition", "arn::iam::123456789012:role/x"},
		{"empty_service", "arn:aws:::123456789012:role/x"},
		{"empty_resource", "arn:aws:iam::123456789012:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse(tt.in)
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("Parse(%q) = %+v, %v; want ErrInvalid", tt.in, got, err)
			}
			if got != (ARN{}) {
				t.Fatalf("Parse(%q) returned non-zero ARN %+v with error", tt.in, got)
			}
		})
	}
}

func TestPartition(t *testing.T) {
	tests := []struct {
		name, region, want string
	}{
		{"commercial_region_is_aws", "us-east-1", "aws"},
		{"empty_region_is_aws", "", "aws"},
		{"china_region_is_aws_cn", "cn-northwest-1", "aws-cn"},
		{"govcloud_region_is_aws_us_gov", "us-gov-west-1", "aws-us-gov"},
		{"iso_region", "us-iso-east-1", "aws-iso"},
		{"isob_region_not_mistaken_for_iso", "us-isob-east-1", "aws-iso-b"},
		{"isof_region", "us-isof-south-1", "aws-iso-f"},
		{"isoe_region", "eu-isoe-west-1", "aws-iso-e"},
		{"region_merely_containing_cn_is_aws", "ap-east-1", "aws"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Partition(tt.region); got != tt.want {
				t.Fatalf("Partition(%q) = %q, want %q", tt.region, got, tt.want)
			}
		})
	}
}
