package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
)

// recorder appends every event it gets to the file $OUT, and fails when
// $FAIL is set; {"warm": true} only starts an environment.
const recorder = `import json, os

def handler(event, context):
    if event.get("warm"):
        return "warm"
    with open(os.environ["OUT"], "a") as f:
        f.write(json.dumps(event) + "\n")
    if os.environ.get("FAIL"):
        raise RuntimeError("always fails")
    return {"ok": True}
`

// readLines waits until path holds at least n lines, and returns them.
func readLines(t *testing.T, path string, n int, within time.Duration) []string {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		var lines []string
		if f, err := os.Open(path); err == nil {
			sc := bufio.NewScanner(f)
			sc.Buffer(nil, 1<<20)
			for sc.Scan() {
				lines = append(lines, sc.Text())
			}
			f.Close()
		}
		if len(lines) >= n {
			return lines
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s has %d lines after %v, want %d", filepath.Base(path), len(lines), within, n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// destinationRecord is the invocation record a destination receives.
type destinationRecord struct {
	Version        string `json:"version"`
	Timestamp      string `json:"timestamp"`
	RequestContext struct {
		RequestID              string `json:"requestId"`
		FunctionArn            string `json:"functionArn"`
		Condition              string `json:"condition"`
		ApproximateInvokeCount int    `json:"approximateInvokeCount"`
	} `json:"requestContext"`
	RequestPayload  map[string]any `json:"requestPayload"`
	ResponseContext struct {
		StatusCode      int    `json:"statusCode"`
		ExecutedVersion string `json:"executedVersion"`
		FunctionError   string `json:"functionError"`
	} `json:"responseContext"`
	ResponsePayload map[string]any `json:"responsePayload"`
}

// TestLambdaAsyncRetriesAndDestinations runs an asynchronous invocation of
// a failing function: Lambda's back-off (1 min, then 2 min, on a clock 20
// times faster) gives three attempts, then the on-failure destination (a
// function) gets the AWS-shaped record. A succeeding function's
// on-success destination gets its record too.
func TestLambdaAsyncRetriesAndDestinations(t *testing.T) {
	t.Parallel()
	_, c := startLambda(t, 20)
	ctx := context.Background()
	dir := t.TempDir()
	withEnv := func(vars map[string]string) func(*lambda.CreateFunctionInput) {
		return func(in *lambda.CreateFunctionInput) { in.Environment = &lambdatypes.Environment{Variables: vars} }
	}
	attempts, failures, successes := filepath.Join(dir, "attempts"), filepath.Join(dir, "failures"), filepath.Join(dir, "successes")
	// Timeouts are simulated seconds: 900 is 45 real seconds here.
	createPython(t, c, "flaky", recorder, 900, withEnv(map[string]string{"OUT": attempts, "FAIL": "1"}))
	createPython(t, c, "steady", recorder, 900, withEnv(map[string]string{"OUT": filepath.Join(dir, "steady")}))
	createPython(t, c, "on-failure", recorder, 900, withEnv(map[string]string{"OUT": failures}))
	createPython(t, c, "on-success", recorder, 900, withEnv(map[string]string{"OUT": successes}))
	// Start an environment of each first: the clock runs 20 times faster,
	// and a Python start slowed by a loaded machine could pass execenv's
	// init limit (10 simulated seconds, 0.5 real ones), which would make
	// an attempt fail for a reason other than the one under test.
	for _, name := range []string{"flaky", "steady", "on-failure", "on-success"} {
		for try := 0; ; try++ {
			out, err := c.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String(name), Payload: []byte(`{"warm":true}`)})
			if err == nil && out.FunctionError == nil {
				break
			}
			if try == 3 {
				if err == nil {
					err = fmt.Errorf("%s", out.Payload)
				}
				t.Fatalf("warming %s: %v", name, err)
			}
		}
	}
	arn := func(name string) *string { return aws.String("arn:aws:lambda:us-east-1:000000000000:function:" + name) }
	cfg, err := c.PutFunctionEventInvokeConfig(ctx, &lambda.PutFunctionEventInvokeConfigInput{
		FunctionName: aws.String("flaky"),
		DestinationConfig: &lambdatypes.DestinationConfig{
			OnFailure: &lambdatypes.OnFailure{Destination: arn("on-failure")},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(cfg.DestinationConfig.OnFailure.Destination) != *arn("on-failure") {
		t.Errorf("config %+v", cfg)
	}
	if _, err := c.PutFunctionEventInvokeConfig(ctx, &lambda.PutFunctionEventInvokeConfigInput{
		FunctionName: aws.String("steady"), MaximumRetryAttempts: aws.Int32(0),
		DestinationConfig: &lambdatypes.DestinationConfig{OnSuccess: &lambdatypes.OnSuccess{Destination: arn("on-success")}},
	}); err != nil {
		t.Fatal(err)
	}

	start := time.Now()
	out, err := c.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("flaky"), InvocationType: lambdatypes.InvocationTypeEvent, Payload: []byte(`{"order":42}`)})
	if err != nil || out.StatusCode != 202 {
		t.Fatalf("Event invoke: %v %v", out, err)
	}
	if _, err := c.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("steady"), InvocationType: lambdatypes.InvocationTypeEvent, Payload: []byte(`{"fine":true}`)}); err != nil {
		t.Fatal(err)
	}

	ok := readLines(t, successes, 1, 20*time.Second)
	var rec destinationRecord
	if err := json.Unmarshal([]byte(ok[0]), &rec); err != nil {
		t.Fatal(err)
	}
	if rec.RequestContext.Condition != "Success" || rec.RequestContext.ApproximateInvokeCount != 1 || rec.ResponsePayload["ok"] != true ||
		rec.RequestPayload["fine"] != true || rec.ResponseContext.StatusCode != 200 || rec.ResponseContext.FunctionError != "" {
		t.Errorf("on-success record: %s", ok[0])
	}

	lines := readLines(t, attempts, 3, 40*time.Second)
	if elapsed := time.Since(start); elapsed < 8*time.Second {
		t.Errorf("three attempts took %v; Lambda's back-off is 1 + 2 simulated minutes (9 s here)", elapsed)
	}
	for _, l := range lines {
		if l != `{"order": 42}` {
			t.Errorf("attempt got %s", l)
		}
	}
	fails := readLines(t, failures, 1, 10*time.Second)
	rec = destinationRecord{}
	if err := json.Unmarshal([]byte(fails[0]), &rec); err != nil {
		t.Fatal(err)
	}
	rc := rec.RequestContext
	if rec.Version != "1.0" || rc.Condition != "RetriesExhausted" || rc.ApproximateInvokeCount != 3 ||
		rc.FunctionArn != "arn:aws:lambda:us-east-1:000000000000:function:flaky:$LATEST" || rc.RequestID == "" ||
		rec.RequestPayload["order"] != float64(42) || rec.ResponseContext.StatusCode != 200 ||
		rec.ResponseContext.ExecutedVersion != "$LATEST" || rec.ResponseContext.FunctionError != "Unhandled" ||
		!strings.Contains(rec.ResponsePayload["errorMessage"].(string), "always fails") {
		t.Errorf("on-failure record: %s", fails[0])
	}
	if _, err := time.Parse("2006-01-02T15:04:05.000Z", rec.Timestamp); err != nil {
		t.Errorf("timestamp %q: %v", rec.Timestamp, err)
	}
	if n := len(readLines(t, attempts, 3, time.Second)); n != 3 {
		t.Errorf("%d attempts, want 3", n)
	}
}
