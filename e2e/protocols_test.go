package e2e

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/lambda"

	"github.com/nephele-dev/nephele/internal/server"
	"github.com/nephele-dev/nephele/internal/testenv"
)

// TestEveryProtocolSpeaksToRealClients sends one call per service through
// the Go SDK v2 — EC2 query, query, JSON 1.1, RPC v2 CBOR and REST-JSON — and
// checks that the SDK understands nephele's answer. Services not served yet
// must surface NotImplemented, naming the operation.
func TestEveryProtocolSpeaksToRealClients(t *testing.T) {
	env := testenv.Start(t, server.Config{})
	ctx := context.Background()
	cfg := env.AWSConfig()
	cases := []struct {
		name     string
		call     func() error
		wantCode string
		wantText string
	}{
		{"ec2 protocol", func() error {
			_, err := ec2.NewFromConfig(cfg).DescribeVpcEndpoints(ctx, &ec2.DescribeVpcEndpointsInput{})
			return err
		}, "NotImplemented", "DescribeVpcEndpoints"},
		{"query protocol (autoscaling)", func() error {
			_, err := autoscaling.NewFromConfig(cfg).DescribeNotificationConfigurations(ctx, &autoscaling.DescribeNotificationConfigurationsInput{})
			return err
		}, "NotImplemented", "DescribeNotificationConfigurations"},
		{"query protocol (elbv2)", func() error {
			_, err := elbv2.NewFromConfig(cfg).DescribeTrustStores(ctx, &elbv2.DescribeTrustStoresInput{})
			return err
		}, "NotImplemented", "DescribeTrustStores"},
		{"rpc v2 cbor (cloudwatch)", func() error {
			_, err := cloudwatch.NewFromConfig(cfg).ListMetricStreams(ctx, &cloudwatch.ListMetricStreamsInput{})
			return err
		}, "NotImplemented", "ListMetricStreams"},
		{"json 1.1 (logs)", func() error {
			_, err := cloudwatchlogs.NewFromConfig(cfg).DescribeMetricFilters(ctx, &cloudwatchlogs.DescribeMetricFiltersInput{})
			return err
		}, "NotImplemented", "DescribeMetricFilters"},
		{"rest-json (lambda)", func() error {
			_, err := lambda.NewFromConfig(cfg).ListCodeSigningConfigs(ctx, &lambda.ListCodeSigningConfigsInput{})
			return err
		}, "NotImplemented", "ListCodeSigningConfigs"},
		{"rest-json uri label (lambda)", func() error {
			_, err := lambda.NewFromConfig(cfg).GetCodeSigningConfig(ctx, &lambda.GetCodeSigningConfigInput{CodeSigningConfigArn: aws.String("arn:aws:lambda:us-east-1:000000000000:code-signing-config:csc-0123456789abcdef0")})
			return err
		}, "NotImplemented", "GetCodeSigningConfig"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call()
			if code := apiCode(err); code != tc.wantCode || !strings.Contains(err.Error(), tc.wantText) {
				t.Errorf("err = %v (code %q), want code %s mentioning %s", err, code, tc.wantCode, tc.wantText)
			}
		})
	}
}

// TestCLIEveryProtocol does the same through the aws CLI, which speaks JSON
// 1.0 with x-amzn-query-mode to CloudWatch and expects query error codes.
func TestCLIEveryProtocol(t *testing.T) {
	env := testenv.Start(t, server.Config{})
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"ec2", "describe-vpc-endpoints"}, "(NotImplemented) when calling the DescribeVpcEndpoints operation"},
		{[]string{"cloudwatch", "list-metric-streams"}, "(NotImplemented) when calling the ListMetricStreams operation"},
		{[]string{"logs", "describe-metric-filters"}, "(NotImplemented) when calling the DescribeMetricFilters operation"},
		{[]string{"lambda", "list-code-signing-configs"}, "(NotImplemented) when calling the ListCodeSigningConfigs operation"},
		{[]string{"autoscaling", "describe-notification-configurations"}, "(NotImplemented) when calling the DescribeNotificationConfigurations operation"},
		{[]string{"elbv2", "describe-trust-stores"}, "(NotImplemented) when calling the DescribeTrustStores operation"},
	}
	for _, tc := range cases {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			_, err := env.CLI(t, tc.args...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("aws %v: %v, want %q", tc.args, err, tc.want)
			}
		})
	}
}
