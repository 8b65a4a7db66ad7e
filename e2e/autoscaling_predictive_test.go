package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	astypes "github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"

	"github.com/nephele-dev/nephele/internal/clock"
	"github.com/nephele-dev/nephele/internal/server"
	"github.com/nephele-dev/nephele/internal/testenv"
)

// predictiveNow is 08:00 on a Monday.
var predictiveNow = time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC)

// predictiveLoad is the shop's requests an hour: 100, and 300 from 09:00
// to 11:00.
func predictiveLoad(t time.Time) float64 {
	if t.Hour() >= 9 && t.Hour() < 11 {
		return 300
	}
	return 100
}

// predictiveSpec is a customized metric pair on the shop's requests, at
// 100 requests an instance.
func predictiveSpec() astypes.PredictiveScalingMetricSpecification {
	query := func(id, stat string) []astypes.MetricDataQuery {
		return []astypes.MetricDataQuery{{Id: aws.String(id), MetricStat: &astypes.MetricStat{
			Metric: &astypes.Metric{Namespace: aws.String("Shop"), MetricName: aws.String("Requests")}, Stat: aws.String(stat)}}}
	}
	return astypes.PredictiveScalingMetricSpecification{
		TargetValue:                          aws.Float64(100),
		CustomizedLoadMetricSpecification:    &astypes.PredictiveScalingCustomizedLoadMetric{MetricDataQueries: query("load", "Sum")},
		CustomizedScalingMetricSpecification: &astypes.PredictiveScalingCustomizedScalingMetric{MetricDataQueries: query("scaling", "Average")},
	}
}

// TestAutoScalingPredictiveScaling is the predictive scaling story on a
// fake clock: three days of a shop's hourly requests with a daily peak at
// 09:00-11:00 in CloudWatch; a ForecastOnly policy forecasts the peak (and
// the capacity for it) without scaling; switched to ForecastAndScale it
// raises the group's desired capacity SchedulingBufferTime (5 minutes)
// before the peak hour, and the launches say why.
func TestAutoScalingPredictiveScaling(t *testing.T) {
	clk := clock.NewFake(predictiveNow)
	env := testenv.Start(t, server.Config{Clock: clk})
	ctx := context.Background()
	ec2c := ec2.NewFromConfig(env.AWSConfig())
	as := autoscaling.NewFromConfig(env.AWSConfig())
	cw := cloudwatch.NewFromConfig(env.AWSConfig())

	var data []cwtypes.MetricDatum
	for at := predictiveNow.Add(-72 * time.Hour); at.Before(predictiveNow); at = at.Add(time.Hour) {
		data = append(data, cwtypes.MetricDatum{MetricName: aws.String("Requests"), Timestamp: aws.Time(at), Value: aws.Float64(predictiveLoad(at)), Unit: cwtypes.StandardUnitCount})
	}
	if _, err := cw.PutMetricData(ctx, &cloudwatch.PutMetricDataInput{Namespace: aws.String("Shop"), MetricData: data}); err != nil {
		t.Fatalf("PutMetricData: %v", err)
	}

	groupTemplate(t, ec2c, "shop", t.TempDir())
	_, err := as.CreateAutoScalingGroup(ctx, &autoscaling.CreateAutoScalingGroupInput{
		AutoScalingGroupName: aws.String("shop"), MinSize: aws.Int32(1), MaxSize: aws.Int32(4),
		LaunchTemplate:    &astypes.LaunchTemplateSpecification{LaunchTemplateName: aws.String("shop")},
		AvailabilityZones: []string{"us-east-1a"},
	})
	if err != nil {
		t.Fatalf("CreateAutoScalingGroup: %v", err)
	}
	t.Cleanup(func() {
		as.DeleteAutoScalingGroup(context.Background(), &autoscaling.DeleteAutoScalingGroupInput{AutoScalingGroupName: aws.String("shop"), ForceDelete: aws.Bool(true)})
	})

	_, err = as.PutScalingPolicy(ctx, &autoscaling.PutScalingPolicyInput{
		AutoScalingGroupName: aws.String("shop"), PolicyName: aws.String("predict"), PolicyType: aws.String("PredictiveScaling"),
		PredictiveScalingConfiguration: &astypes.PredictiveScalingConfiguration{MetricSpecifications: []astypes.PredictiveScalingMetricSpecification{predictiveSpec()}},
	})
	if err != nil {
		t.Fatalf("PutScalingPolicy: %v", err)
	}
	pol, err := as.DescribePolicies(ctx, &autoscaling.DescribePoliciesInput{AutoScalingGroupName: aws.String("shop")})
	if err != nil || len(pol.ScalingPolicies) != 1 || pol.ScalingPolicies[0].PredictiveScalingConfiguration == nil {
		t.Fatalf("DescribePolicies: %+v, %v", pol, err)
	}
	if c := pol.ScalingPolicies[0].PredictiveScalingConfiguration; c.Mode != astypes.PredictiveScalingModeForecastOnly || aws.ToInt32(c.SchedulingBufferTime) != 300 ||
		c.MaxCapacityBreachBehavior != astypes.PredictiveScalingMaxCapacityBreachBehaviorHonorMaxCapacity || aws.ToFloat64(c.MetricSpecifications[0].TargetValue) != 100 {
		t.Errorf("configuration = %+v, want ForecastOnly, 300 s, HonorMaxCapacity", c)
	}

	fc, err := as.GetPredictiveScalingForecast(ctx, &autoscaling.GetPredictiveScalingForecastInput{
		AutoScalingGroupName: aws.String("shop"), PolicyName: aws.String("predict"),
		StartTime: aws.Time(predictiveNow), EndTime: aws.Time(predictiveNow.Add(48 * time.Hour)),
	})
	if err != nil {
		t.Fatalf("GetPredictiveScalingForecast: %v", err)
	}
	if len(fc.LoadForecast) != 1 || len(fc.LoadForecast[0].Timestamps) != 48 || fc.CapacityForecast == nil || len(fc.CapacityForecast.Values) != 48 ||
		!aws.ToTime(fc.UpdateTime).Equal(predictiveNow) {
		t.Fatalf("forecast = %+v, want 48 hours made at %s", fc, predictiveNow)
	}
	var peaks []string
	for i, ts := range fc.CapacityForecast.Timestamps {
		if fc.CapacityForecast.Values[i] == 3 && fc.LoadForecast[0].Values[i] == 300 {
			peaks = append(peaks, ts.UTC().Format("Jan 2 15:04"))
		} else if fc.CapacityForecast.Values[i] != 1 || fc.LoadForecast[0].Values[i] != 100 {
			t.Errorf("%s: load %v capacity %v, want 100 and 1", ts.UTC().Format(time.RFC3339), fc.LoadForecast[0].Values[i], fc.CapacityForecast.Values[i])
		}
	}
	if want := "Nov 23 09:00,Nov 23 10:00,Nov 24 09:00,Nov 24 10:00"; strings.Join(peaks, ",") != want {
		t.Errorf("forecast peak hours %v, want %s", peaks, want)
	}

	// The aws CLI reads the same forecast.
	out, err := env.CLI(t, "autoscaling", "get-predictive-scaling-forecast", "--auto-scaling-group-name", "shop", "--policy-name", "predict",
		"--start-time", "2026-11-23T09:00:00Z", "--end-time", "2026-11-23T11:00:00Z")
	if err != nil {
		t.Fatal(err)
	}
	var cli struct {
		LoadForecast []struct {
			Timestamps          []string
			Values              []float64
			MetricSpecification struct{ TargetValue float64 }
		}
		CapacityForecast struct{ Values []float64 }
		UpdateTime       string
	}
	if err := json.Unmarshal([]byte(out), &cli); err != nil || len(cli.LoadForecast) != 1 || len(cli.LoadForecast[0].Timestamps) != 2 ||
		!strings.HasPrefix(cli.LoadForecast[0].Timestamps[0], "2026-11-23T09:00:00") || cli.LoadForecast[0].MetricSpecification.TargetValue != 100 ||
		len(cli.CapacityForecast.Values) != 2 || cli.CapacityForecast.Values[0] != 3 || cli.CapacityForecast.Values[1] != 3 {
		t.Errorf("get-predictive-scaling-forecast: %v\n%s", err, out)
	}

	// Bad input is a ValidationError.
	for _, tt := range []struct {
		name string
		c    astypes.PredictiveScalingConfiguration
	}{
		{"IncreaseMaxCapacity without MaxCapacityBuffer", astypes.PredictiveScalingConfiguration{MetricSpecifications: []astypes.PredictiveScalingMetricSpecification{predictiveSpec()},
			MaxCapacityBreachBehavior: astypes.PredictiveScalingMaxCapacityBreachBehaviorIncreaseMaxCapacity}},
		{"SchedulingBufferTime over an hour", astypes.PredictiveScalingConfiguration{MetricSpecifications: []astypes.PredictiveScalingMetricSpecification{predictiveSpec()},
			SchedulingBufferTime: aws.Int32(3601)}},
		{"ALBRequestCount without ResourceLabel", astypes.PredictiveScalingConfiguration{MetricSpecifications: []astypes.PredictiveScalingMetricSpecification{{
			TargetValue: aws.Float64(1000), PredefinedMetricPairSpecification: &astypes.PredictiveScalingPredefinedMetricPair{PredefinedMetricType: astypes.PredefinedMetricPairTypeALBRequestCount}}}}},
		{"a load metric without a scaling metric", astypes.PredictiveScalingConfiguration{MetricSpecifications: []astypes.PredictiveScalingMetricSpecification{{
			TargetValue: aws.Float64(100), CustomizedLoadMetricSpecification: predictiveSpec().CustomizedLoadMetricSpecification}}}},
	} {
		_, err := as.PutScalingPolicy(ctx, &autoscaling.PutScalingPolicyInput{AutoScalingGroupName: aws.String("shop"), PolicyName: aws.String("bad"),
			PolicyType: aws.String("PredictiveScaling"), PredictiveScalingConfiguration: &tt.c})
		if code := apiCode(err); code != "ValidationError" {
			t.Errorf("%s: %v, want ValidationError", tt.name, err)
		}
	}
	_, err = as.GetPredictiveScalingForecast(ctx, &autoscaling.GetPredictiveScalingForecastInput{AutoScalingGroupName: aws.String("shop"), PolicyName: aws.String("predict"),
		StartTime: aws.Time(predictiveNow), EndTime: aws.Time(predictiveNow.Add(31 * 24 * time.Hour))})
	if code := apiCode(err); code != "ValidationError" {
		t.Errorf("a 31-day forecast range: %v, want ValidationError", err)
	}

	stepUntil(t, clk, time.Second, "1 InService", func() error {
		if d, n, err := groupState(ctx, as, "shop"); err != nil || d != 1 || n != 1 {
			return fmt.Errorf("desired %d, InService %d, %v", d, n, err)
		}
		return nil
	})

	// ForecastAndScale: nothing yet at 08:54, capacity for 09:00 at 08:55.
	spec := astypes.PredictiveScalingConfiguration{Mode: astypes.PredictiveScalingModeForecastAndScale,
		MetricSpecifications: []astypes.PredictiveScalingMetricSpecification{predictiveSpec()}}
	if _, err := as.PutScalingPolicy(ctx, &autoscaling.PutScalingPolicyInput{AutoScalingGroupName: aws.String("shop"), PolicyName: aws.String("predict"),
		PolicyType: aws.String("PredictiveScaling"), PredictiveScalingConfiguration: &spec}); err != nil {
		t.Fatalf("PutScalingPolicy ForecastAndScale: %v", err)
	}
	clk.Set(predictiveNow.Add(54 * time.Minute))
	time.Sleep(100 * time.Millisecond)
	if d, _, err := groupState(ctx, as, "shop"); err != nil || d != 1 {
		t.Fatalf("08:54: desired %d, %v; want 1", d, err)
	}
	clk.Set(predictiveNow.Add(55 * time.Minute))
	stepUntil(t, clk, 100*time.Millisecond, "3 InService before 09:00", func() error {
		if d, n, err := groupState(ctx, as, "shop"); err != nil || d != 3 || n != 3 {
			return fmt.Errorf("desired %d, InService %d, %v", d, n, err)
		}
		return nil
	})
	if now := clk.Now(); !now.Before(predictiveNow.Add(time.Hour)) {
		t.Errorf("capacity arrived at %s, not before the 09:00 peak", now.Format(time.RFC3339))
	}
	acts, err := as.DescribeScalingActivities(ctx, &autoscaling.DescribeScalingActivitiesInput{AutoScalingGroupName: aws.String("shop")})
	if err != nil {
		t.Fatal(err)
	}
	why := "At 2026-11-23T08:55:00Z the predictive scaling policy predict forecast a capacity of 3 for 2026-11-23T09:00:00Z changing the desired capacity from 1 to 3."
	launched := 0
	for _, a := range acts.Activities {
		if strings.HasPrefix(aws.ToString(a.Description), "Launching a new EC2 instance: ") && strings.HasPrefix(aws.ToString(a.Cause), why) {
			launched++
		}
	}
	if launched != 2 {
		for _, a := range acts.Activities {
			t.Logf("%s | %s | %s", a.StatusCode, aws.ToString(a.Description), aws.ToString(a.Cause))
		}
		t.Errorf("%d launches caused by predictive scaling, want 2", launched)
	}
}
