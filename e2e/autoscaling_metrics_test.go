package e2e

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	astypes "github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"

	"github.com/nephele-dev/nephele/internal/server"
	"github.com/nephele-dev/nephele/internal/testenv"
)

// TestAutoScalingGroupMetrics: with metrics collection enabled, a group's
// AWS/AutoScaling metrics reach CloudWatch every minute and follow the
// group; the group lists its enabled metrics; disabling stops them.
func TestAutoScalingGroupMetrics(t *testing.T) {
	env := testenv.Start(t, server.Config{TimeScale: 60})
	ctx := context.Background()
	ec := ec2.NewFromConfig(env.AWSConfig())
	as := autoscaling.NewFromConfig(env.AWSConfig())
	cw := cloudwatch.NewFromConfig(env.AWSConfig())
	groupTemplate(t, ec, "metrics-lt", t.TempDir())
	_, err := as.CreateAutoScalingGroup(ctx, &autoscaling.CreateAutoScalingGroupInput{
		AutoScalingGroupName: aws.String("metered"), MinSize: aws.Int32(1), MaxSize: aws.Int32(5), DesiredCapacity: aws.Int32(2),
		LaunchTemplate:    &astypes.LaunchTemplateSpecification{LaunchTemplateName: aws.String("metrics-lt")},
		AvailabilityZones: []string{"us-east-1a"},
	})
	if err != nil {
		t.Fatal(err)
	}
	_, err = as.EnableMetricsCollection(ctx, &autoscaling.EnableMetricsCollectionInput{AutoScalingGroupName: aws.String("metered"), Granularity: aws.String("5Minute")})
	wantASError(t, err, "ValidationError", "Valid metrics granularity type is: [1Minute]")
	if _, err := as.EnableMetricsCollection(ctx, &autoscaling.EnableMetricsCollectionInput{AutoScalingGroupName: aws.String("metered"), Granularity: aws.String("1Minute"),
		Metrics: []string{"GroupInServiceInstances", "GroupDesiredCapacity"}}); err != nil {
		t.Fatal(err)
	}
	g, err := as.DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{AutoScalingGroupNames: []string{"metered"}})
	if err != nil {
		t.Fatal(err)
	}
	em := g.AutoScalingGroups[0].EnabledMetrics
	if len(em) != 2 || aws.ToString(em[0].Metric) != "GroupDesiredCapacity" || aws.ToString(em[1].Metric) != "GroupInServiceInstances" || aws.ToString(em[0].Granularity) != "1Minute" {
		t.Fatalf("EnabledMetrics = %+v", em)
	}
	inService(t, as, "metered", 2)
	latest := func(name string) (float64, error) {
		now := time.Now()
		out, err := cw.GetMetricData(ctx, &cloudwatch.GetMetricDataInput{
			// The scaled clock runs 60× faster: an hour of simulated time
			// either side covers the test.
			StartTime: aws.Time(now.Add(-24 * time.Hour)), EndTime: aws.Time(now.Add(24 * time.Hour)),
			MetricDataQueries: []cwtypes.MetricDataQuery{{Id: aws.String("m"), MetricStat: &cwtypes.MetricStat{
				Metric: &cwtypes.Metric{Namespace: aws.String("AWS/AutoScaling"), MetricName: aws.String(name),
					Dimensions: []cwtypes.Dimension{{Name: aws.String("AutoScalingGroupName"), Value: aws.String("metered")}}},
				Period: aws.Int32(60), Stat: aws.String("Maximum")}}},
		})
		if err != nil {
			return 0, err
		}
		r := out.MetricDataResults[0]
		if len(r.Values) == 0 {
			return 0, fmt.Errorf("no %s data yet", name)
		}
		return r.Values[0], nil // newest first
	}
	eventually(t, "GroupInServiceInstances 2", func() error {
		v, err := latest("GroupInServiceInstances")
		if err == nil && v != 2 {
			err = fmt.Errorf("GroupInServiceInstances = %v", v)
		}
		return err
	})
	if _, err := as.SetDesiredCapacity(ctx, &autoscaling.SetDesiredCapacityInput{AutoScalingGroupName: aws.String("metered"), DesiredCapacity: aws.Int32(3)}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "GroupDesiredCapacity 3 and GroupInServiceInstances 3", func() error {
		d, err := latest("GroupDesiredCapacity")
		if err != nil {
			return err
		}
		i, err := latest("GroupInServiceInstances")
		if err == nil && (d != 3 || i != 3) {
			err = fmt.Errorf("desired %v, InService %v", d, i)
		}
		return err
	})
	// Metrics not enabled are not published.
	if _, err := latest("GroupMaxSize"); err == nil {
		t.Fatal("GroupMaxSize published without being enabled")
	}
	if _, err := as.DisableMetricsCollection(ctx, &autoscaling.DisableMetricsCollectionInput{AutoScalingGroupName: aws.String("metered")}); err != nil {
		t.Fatal(err)
	}
	g, err = as.DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{AutoScalingGroupNames: []string{"metered"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(g.AutoScalingGroups[0].EnabledMetrics) != 0 {
		t.Fatalf("EnabledMetrics after disabling = %+v", g.AutoScalingGroups[0].EnabledMetrics)
	}
	types, err := as.DescribeMetricCollectionTypes(ctx, &autoscaling.DescribeMetricCollectionTypesInput{})
	if err != nil {
		t.Fatal(err)
	}
	if len(types.Metrics) != 20 || aws.ToString(types.Granularities[0].Granularity) != "1Minute" {
		t.Fatalf("DescribeMetricCollectionTypes = %d metrics, %+v", len(types.Metrics), types.Granularities)
	}
}
