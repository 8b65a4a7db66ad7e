package e2e

import (
	"context"
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
)

// TestLambdaLayersProvisionedLogsMetrics covers what surrounds an
// invocation: a layer's Python module is importable, provisioned
// concurrency makes the first invoke warm, the function's output lands
// in CloudWatch Logs under /aws/lambda/NAME, and AWS/Lambda metrics reach
// CloudWatch.
func TestLambdaLayersProvisionedLogsMetrics(t *testing.T) {
	t.Parallel()
	env, c := startLambda(t, 10)
	ctx := context.Background()

	layer, err := c.PublishLayerVersion(ctx, &lambda.PublishLayerVersionInput{
		LayerName:          aws.String("greetings"),
		Content:            &lambdatypes.LayerVersionContentInput{ZipFile: lambdaZip(t, map[string]string{"python/greetings.py": "WORD = 'hello from a layer'\n"})},
		CompatibleRuntimes: []lambdatypes.Runtime{lambdatypes.RuntimePython312},
	})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(layer.LayerVersionArn) != "arn:aws:lambda:us-east-1:000000000000:layer:greetings:1" {
		t.Errorf("LayerVersionArn %s", aws.ToString(layer.LayerVersionArn))
	}
	code := `import greetings
def handler(event, context):
    print("layer says", greetings.WORD)
    return greetings.WORD
`
	createPython(t, c, "layered", code, 30, func(in *lambda.CreateFunctionInput) { in.Layers = []string{aws.ToString(layer.LayerVersionArn)} })
	out, err := c.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("layered"), Payload: []byte(`{}`)})
	if err != nil || out.FunctionError != nil || string(out.Payload) != `"hello from a layer"` {
		t.Fatalf("layer import: %v %s", err, out.Payload)
	}

	// Provisioned concurrency on version 1: READY, then a warm first
	// invoke.
	v, err := c.PublishVersion(ctx, &lambda.PublishVersionInput{FunctionName: aws.String("layered")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.PutProvisionedConcurrencyConfig(ctx, &lambda.PutProvisionedConcurrencyConfigInput{
		FunctionName: aws.String("layered"), Qualifier: v.Version, ProvisionedConcurrentExecutions: aws.Int32(1),
	}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		pc, err := c.GetProvisionedConcurrencyConfig(ctx, &lambda.GetProvisionedConcurrencyConfigInput{FunctionName: aws.String("layered"), Qualifier: v.Version})
		if err != nil {
			t.Fatal(err)
		}
		if pc.Status == lambdatypes.ProvisionedConcurrencyStatusEnumReady {
			if aws.ToInt32(pc.AllocatedProvisionedConcurrentExecutions) != 1 {
				t.Errorf("allocated %d", aws.ToInt32(pc.AllocatedProvisionedConcurrentExecutions))
			}
			break
		}
		if pc.Status == lambdatypes.ProvisionedConcurrencyStatusEnumFailed || time.Now().After(deadline) {
			t.Fatalf("provisioned concurrency %s: %s", pc.Status, aws.ToString(pc.StatusReason))
		}
		time.Sleep(50 * time.Millisecond)
	}
	out, err = c.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("layered"), Qualifier: v.Version, LogType: lambdatypes.LogTypeTail})
	if err != nil {
		t.Fatal(err)
	}
	tail, _ := base64.StdEncoding.DecodeString(aws.ToString(out.LogResult))
	if !strings.Contains(string(tail), "REPORT") || strings.Contains(string(tail), "Init Duration") {
		t.Errorf("first invoke after READY:\n%s", tail)
	}
	_, err = c.PutProvisionedConcurrencyConfig(ctx, &lambda.PutProvisionedConcurrencyConfigInput{
		FunctionName: aws.String("layered"), Qualifier: aws.String("$LATEST"), ProvisionedConcurrentExecutions: aws.Int32(1),
	})
	if apiCode(err) != "InvalidParameterValueException" {
		t.Errorf("provisioning $LATEST: %v", err)
	}

	// The function's own output and the REPORT lines are in CloudWatch
	// Logs.
	logsClient := cloudwatchlogs.NewFromConfig(env.AWSConfig())
	deadline = time.Now().Add(20 * time.Second)
	for {
		evs, err := logsClient.FilterLogEvents(ctx, &cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String("/aws/lambda/layered")})
		var all strings.Builder
		if err == nil {
			for _, e := range evs.Events {
				all.WriteString(aws.ToString(e.Message))
			}
		}
		if strings.Contains(all.String(), "layer says hello from a layer") && strings.Contains(all.String(), "REPORT RequestId:") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("log group /aws/lambda/layered: %v\n%s", err, all.String())
		}
		time.Sleep(100 * time.Millisecond)
	}

	// AWS/Lambda metrics are published each simulated minute (6 s here).
	cw := cloudwatch.NewFromConfig(env.AWSConfig())
	deadline = time.Now().Add(30 * time.Second)
	for {
		ms, err := cw.ListMetrics(ctx, &cloudwatch.ListMetricsInput{Namespace: aws.String("AWS/Lambda"), MetricName: aws.String("Invocations"),
			Dimensions: []cwtypes.DimensionFilter{{Name: aws.String("FunctionName"), Value: aws.String("layered")}}})
		if err == nil && len(ms.Metrics) > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no AWS/Lambda Invocations metric: %v", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// TestLambdaSnapStart: a published version of a function with SnapStart
// on PublishedVersions starts from its snapshot, and its REPORT line says
// Restore Duration instead of Init Duration; $LATEST starts cold.
func TestLambdaSnapStart(t *testing.T) {
	_, c := startLambda(t, 10)
	ctx := context.Background()
	createPython(t, c, "snappy", pythonHandler, 30, func(in *lambda.CreateFunctionInput) {
		in.SnapStart = &lambdatypes.SnapStart{ApplyOn: lambdatypes.SnapStartApplyOnPublishedVersions}
	})
	v, err := c.PublishVersion(ctx, &lambda.PublishVersionInput{FunctionName: aws.String("snappy")})
	if err != nil {
		t.Fatal(err)
	}
	w := lambda.NewPublishedVersionActiveWaiter(c, func(o *lambda.PublishedVersionActiveWaiterOptions) {
		o.MinDelay, o.MaxDelay = 50*time.Millisecond, 200*time.Millisecond
	})
	if err := w.Wait(ctx, &lambda.GetFunctionConfigurationInput{FunctionName: aws.String("snappy"), Qualifier: v.Version}, 60*time.Second); err != nil {
		t.Fatal(err)
	}
	if v.SnapStart == nil || v.SnapStart.OptimizationStatus != lambdatypes.SnapStartOptimizationStatusOn {
		t.Fatalf("published version's SnapStart = %+v", v.SnapStart)
	}
	report := func(qualifier string) string {
		t.Helper()
		out, err := c.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("snappy"), Qualifier: aws.String(qualifier), LogType: lambdatypes.LogTypeTail, Payload: []byte(`{}`)})
		if err != nil || out.FunctionError != nil {
			t.Fatalf("invoke %s: %v, %s", qualifier, err, out.Payload)
		}
		tail, _ := base64.StdEncoding.DecodeString(aws.ToString(out.LogResult))
		return string(tail)
	}
	if r := report(aws.ToString(v.Version)); !strings.Contains(r, "Restore Duration:") || strings.Contains(r, "Init Duration:") {
		t.Fatalf("version %s's first log:\n%s", aws.ToString(v.Version), r)
	}
	if r := report("$LATEST"); !strings.Contains(r, "Init Duration:") {
		t.Fatalf("$LATEST's first log:\n%s", r)
	}
}
