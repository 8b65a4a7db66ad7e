package e2e

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"strings"
	"sync"
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

// TestLambdaSnapStart: a published version of a Python or Node.js
// function with SnapStart on PublishedVersions starts from its snapshot:
// its REPORT line says Restore Duration instead of Init Duration, and two
// environments started at once are two forks of one init; $LATEST starts
// cold.
func TestLambdaSnapStart(t *testing.T) {
	_, c := startLambda(t, 10)
	for _, tc := range []struct {
		runtime lambdatypes.Runtime
		file    string
		code    string
	}{
		{lambdatypes.RuntimePython312, "app.py", `import os, time
INIT_PID = os.getpid()

def handler(event, context):
    time.sleep(event.get("sleep", 0))
    return {"init": INIT_PID, "pid": os.getpid()}
`},
		{lambdatypes.RuntimeNodejs20x, "app.js", `const INIT_PID = process.pid;
exports.handler = async (event) => {
  await new Promise((r) => setTimeout(r, (event.sleep || 0) * 1000));
  return { init: INIT_PID, pid: process.pid };
};
`},
	} {
		t.Run(string(tc.runtime), func(t *testing.T) {
			t.Parallel()
			testSnapStart(t, c, tc.runtime, tc.file, tc.code)
		})
	}
}

func testSnapStart(t *testing.T, c *lambda.Client, runtime lambdatypes.Runtime, file, code string) {
	ctx := context.Background()
	name := "snappy-" + strings.ReplaceAll(string(runtime), ".", "")
	createPython(t, c, name, "", 30, func(in *lambda.CreateFunctionInput) {
		in.Runtime = runtime
		in.Code = &lambdatypes.FunctionCode{ZipFile: lambdaZip(t, map[string]string{file: code})}
		in.SnapStart = &lambdatypes.SnapStart{ApplyOn: lambdatypes.SnapStartApplyOnPublishedVersions}
	})
	v, err := c.PublishVersion(ctx, &lambda.PublishVersionInput{FunctionName: aws.String(name)})
	if err != nil {
		t.Fatal(err)
	}
	w := lambda.NewPublishedVersionActiveWaiter(c, func(o *lambda.PublishedVersionActiveWaiterOptions) {
		o.MinDelay, o.MaxDelay = 50*time.Millisecond, 200*time.Millisecond
	})
	if err := w.Wait(ctx, &lambda.GetFunctionConfigurationInput{FunctionName: aws.String(name), Qualifier: v.Version}, 60*time.Second); err != nil {
		t.Fatal(err)
	}
	if v.SnapStart == nil || v.SnapStart.OptimizationStatus != lambdatypes.SnapStartOptimizationStatusOn {
		t.Fatalf("published version's SnapStart = %+v", v.SnapStart)
	}
	type pids struct{ Init, PID int }
	invoke := func(qualifier, payload string) (pids, string) {
		t.Helper()
		out, err := c.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String(name), Qualifier: aws.String(qualifier), LogType: lambdatypes.LogTypeTail, Payload: []byte(payload)})
		if err != nil || out.FunctionError != nil {
			t.Fatalf("invoke %s: %v, %s", qualifier, err, out.Payload)
		}
		tail, _ := base64.StdEncoding.DecodeString(aws.ToString(out.LogResult))
		var p pids
		if err := json.Unmarshal(out.Payload, &p); err != nil {
			t.Fatalf("%s: %s", err, out.Payload)
		}
		return p, string(tail)
	}
	// Two at once on the version: two environments, each restored.
	var got [2]pids
	var wg sync.WaitGroup
	for i := range got {
		wg.Go(func() {
			p, r := invoke(aws.ToString(v.Version), `{"sleep":0.3}`)
			if !strings.Contains(r, "Restore Duration:") || strings.Contains(r, "Init Duration:") {
				t.Errorf("version %s's first log:\n%s", aws.ToString(v.Version), r)
			}
			got[i] = p
		})
	}
	wg.Wait()
	if got[0].Init != got[1].Init || got[0].PID == got[1].PID || got[0].PID == got[0].Init {
		t.Errorf("not two forks of one initialised snapshot: %+v", got)
	}
	if p, r := invoke("$LATEST", `{}`); !strings.Contains(r, "Init Duration:") || p.PID != p.Init {
		t.Fatalf("$LATEST's first invoke, %+v:\n%s", p, r)
	}
}
