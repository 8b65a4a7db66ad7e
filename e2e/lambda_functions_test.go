package e2e

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/nephele-dev/nephele/internal/server"
	"github.com/nephele-dev/nephele/internal/testenv"
)

// lambdaRole is the execution role every test function names.
const lambdaRole = "arn:aws:iam::000000000000:role/lambda-role"

// pythonHandler echoes its event, fails on {"fail": ...}, sleeps on
// {"sleep": seconds} and reports the version that ran.
const pythonHandler = `import json, os, time

def handler(event, context):
    if isinstance(event, dict):
        if event.get("fail"):
            raise ValueError("boom: " + str(event["fail"]))
        if event.get("sleep"):
            time.sleep(event["sleep"])
    print("handling", json.dumps(event))
    return {"echo": event, "version": context.function_version, "name": context.function_name,
            "remaining": context.get_remaining_time_in_millis() > 0}
`

// lambdaZip builds a deployment package of the given files.
func lambdaZip(t *testing.T, files map[string]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := zip.NewWriter(&buf)
	for name, body := range files {
		f, err := w.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(f, body)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// startLambda runs nephele ten times faster than real time: functions
// become Active within 0.1 s, and function timeouts are set in
// simulated seconds accordingly.
func startLambda(t *testing.T, scale float64) (*testenv.Env, *lambda.Client) {
	t.Helper()
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("python3 is not installed")
	}
	env := testenv.Start(t, server.Config{TimeScale: scale})
	return env, lambda.NewFromConfig(env.AWSConfig())
}

// createPython creates a python3.12 function from code and waits for it
// to be Active with the SDK's waiter.
func createPython(t *testing.T, c *lambda.Client, name, code string, timeout int32, mutate ...func(*lambda.CreateFunctionInput)) *lambda.CreateFunctionOutput {
	t.Helper()
	in := &lambda.CreateFunctionInput{
		FunctionName: aws.String(name),
		Runtime:      lambdatypes.RuntimePython312,
		Handler:      aws.String("app.handler"),
		Role:         aws.String(lambdaRole),
		Timeout:      aws.Int32(timeout),
		Code:         &lambdatypes.FunctionCode{ZipFile: lambdaZip(t, map[string]string{"app.py": code})},
	}
	for _, m := range mutate {
		m(in)
	}
	out, err := c.CreateFunction(context.Background(), in)
	if err != nil {
		t.Fatalf("CreateFunction %s: %v", name, err)
	}
	waitActive(t, c, name)
	return out
}

// waitActive waits with the SDK's FunctionActiveV2 waiter.
func waitActive(t *testing.T, c *lambda.Client, name string) {
	t.Helper()
	w := lambda.NewFunctionActiveV2Waiter(c, func(o *lambda.FunctionActiveV2WaiterOptions) {
		o.MinDelay, o.MaxDelay = 50*time.Millisecond, 200*time.Millisecond
	})
	if err := w.Wait(context.Background(), &lambda.GetFunctionInput{FunctionName: aws.String(name)}, 30*time.Second); err != nil {
		t.Fatalf("waiting for %s to be Active: %v", name, err)
	}
}

// waitUpdated waits with the SDK's FunctionUpdatedV2 waiter.
func waitUpdated(t *testing.T, c *lambda.Client, name string) {
	t.Helper()
	w := lambda.NewFunctionUpdatedV2Waiter(c, func(o *lambda.FunctionUpdatedV2WaiterOptions) {
		o.MinDelay, o.MaxDelay = 50*time.Millisecond, 200*time.Millisecond
	})
	if err := w.Wait(context.Background(), &lambda.GetFunctionInput{FunctionName: aws.String(name)}, 30*time.Second); err != nil {
		t.Fatalf("waiting for %s's update: %v", name, err)
	}
}

// TestLambdaPythonInvoke creates a python3.12 function and invokes it
// with the Go SDK: cold then warm (Init Duration only on the first),
// handler errors, DryRun and Event, the code download, and updates seen
// through the FunctionUpdatedV2 waiter.
func TestLambdaPythonInvoke(t *testing.T) {
	t.Parallel()
	env, c := startLambda(t, 10)
	ctx := context.Background()
	created := createPython(t, c, "echo", pythonHandler, 30)
	if created.State == "" || created.LastModified == nil || !strings.HasSuffix(aws.ToString(created.LastModified), "+0000") {
		t.Errorf("CreateFunction answered State %q LastModified %q", created.State, aws.ToString(created.LastModified))
	}

	// A cold invoke reports Init Duration; the payload comes back.
	out, err := c.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("echo"), Payload: []byte(`{"hello":"world"}`), LogType: lambdatypes.LogTypeTail})
	if err != nil {
		t.Fatal(err)
	}
	var res struct {
		Echo      map[string]string `json:"echo"`
		Version   string            `json:"version"`
		Remaining bool              `json:"remaining"`
	}
	if err := json.Unmarshal(out.Payload, &res); err != nil || res.Echo["hello"] != "world" || res.Version != "$LATEST" || !res.Remaining {
		t.Fatalf("payload %s (%v)", out.Payload, err)
	}
	if out.StatusCode != 200 || aws.ToString(out.ExecutedVersion) != "$LATEST" || out.FunctionError != nil {
		t.Errorf("status %d version %q error %q", out.StatusCode, aws.ToString(out.ExecutedVersion), aws.ToString(out.FunctionError))
	}
	tail, _ := base64.StdEncoding.DecodeString(aws.ToString(out.LogResult))
	if !strings.Contains(string(tail), "REPORT RequestId:") || !strings.Contains(string(tail), "Init Duration") || !strings.Contains(string(tail), "handling") {
		t.Errorf("cold log tail:\n%s", tail)
	}
	// A second invoke is warm: no Init Duration.
	out, err = c.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("echo"), Payload: []byte(`{"n":"2"}`), LogType: lambdatypes.LogTypeTail})
	if err != nil {
		t.Fatal(err)
	}
	tail, _ = base64.StdEncoding.DecodeString(aws.ToString(out.LogResult))
	if !strings.Contains(string(tail), "REPORT RequestId:") || strings.Contains(string(tail), "Init Duration") {
		t.Errorf("warm log tail:\n%s", tail)
	}

	// A handler error is a function error, not an API error.
	out, err = c.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("echo"), Payload: []byte(`{"fail":"x"}`)})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(out.FunctionError) != "Unhandled" || !strings.Contains(string(out.Payload), "boom: x") || !strings.Contains(string(out.Payload), "errorType") {
		t.Errorf("handler error: %q %s", aws.ToString(out.FunctionError), out.Payload)
	}

	// DryRun and Event.
	out, err = c.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("echo"), InvocationType: lambdatypes.InvocationTypeDryRun})
	if err != nil || out.StatusCode != 204 {
		t.Errorf("DryRun: %v %v", out, err)
	}
	out, err = c.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("echo"), InvocationType: lambdatypes.InvocationTypeEvent, Payload: []byte(`{}`)})
	if err != nil || out.StatusCode != 202 {
		t.Errorf("Event: %v %v", out, err)
	}

	// GetFunction's Code.Location downloads the package.
	g, err := c.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String("echo")})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(aws.ToString(g.Code.Location))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if zr, err := zip.NewReader(bytes.NewReader(body), int64(len(body))); err != nil || len(zr.File) != 1 || zr.File[0].Name != "app.py" {
		t.Errorf("Code.Location %s gave %d bytes: %v", aws.ToString(g.Code.Location), len(body), err)
	}

	// An update goes InProgress, and the FunctionUpdatedV2 waiter sees it
	// through; the new environment variable reaches the handler.
	if _, err := c.UpdateFunctionConfiguration(ctx, &lambda.UpdateFunctionConfigurationInput{
		FunctionName: aws.String("echo"), Environment: &lambdatypes.Environment{Variables: map[string]string{"GREETING": "hi"}},
	}); err != nil {
		t.Fatal(err)
	}
	waitUpdated(t, c, "echo")
	envCode := strings.Replace(pythonHandler, `"remaining":`, `"greeting": os.environ.get("GREETING"), "remaining":`, 1)
	if _, err := c.UpdateFunctionCode(ctx, &lambda.UpdateFunctionCodeInput{FunctionName: aws.String("echo"), ZipFile: lambdaZip(t, map[string]string{"app.py": envCode})}); err != nil {
		t.Fatal(err)
	}
	waitUpdated(t, c, "echo")
	out, err = c.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("echo"), Payload: []byte(`{}`)})
	if err != nil || !strings.Contains(string(out.Payload), `"greeting": "hi"`) {
		t.Errorf("after update: %s %v", out.Payload, err)
	}

	// The function's output reached CloudWatch Logs.
	_ = env
}

// TestLambdaBadInput checks that bad requests get Lambda's error codes and
// create nothing, and that a missing handler is a function error.
func TestLambdaBadInput(t *testing.T) {
	t.Parallel()
	_, c := startLambda(t, 10)
	ctx := context.Background()
	zipFile := lambdaZip(t, map[string]string{"app.py": pythonHandler})
	base := func() *lambda.CreateFunctionInput {
		return &lambda.CreateFunctionInput{FunctionName: aws.String("bad"), Runtime: lambdatypes.RuntimePython312,
			Handler: aws.String("app.handler"), Role: aws.String(lambdaRole), Code: &lambdatypes.FunctionCode{ZipFile: zipFile}}
	}
	tests := []struct {
		name   string
		change func(*lambda.CreateFunctionInput)
		code   string
	}{
		{"malformed_role", func(in *lambda.CreateFunctionInput) { in.Role = aws.String("lambda-role") }, "ValidationException"},
		{"reserved_env", func(in *lambda.CreateFunctionInput) {
			in.Environment = &lambdatypes.Environment{Variables: map[string]string{"AWS_REGION": "x"}}
		}, "InvalidParameterValueException"},
		{"timeout_over_900", func(in *lambda.CreateFunctionInput) { in.Timeout = aws.Int32(901) }, "InvalidParameterValueException"},
		{"memory_under_128", func(in *lambda.CreateFunctionInput) { in.MemorySize = aws.Int32(64) }, "ValidationException"},
		{"not_a_zip", func(in *lambda.CreateFunctionInput) { in.Code.ZipFile = []byte("not a zip") }, "InvalidParameterValueException"},
		{"unknown_runtime", func(in *lambda.CreateFunctionInput) { in.Runtime = "cobol85" }, "ValidationException"},
	}
	for _, tt := range tests {
		in := base()
		tt.change(in)
		if _, err := c.CreateFunction(ctx, in); apiCode(err) != tt.code {
			t.Errorf("%s: got %v, want %s", tt.name, err, tt.code)
		}
	}
	_, err := c.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("missing")})
	var nf *lambdatypes.ResourceNotFoundException
	if !errors.As(err, &nf) || !strings.Contains(aws.ToString(nf.Message), "Function not found: arn:aws:lambda:us-east-1:000000000000:function:missing") {
		t.Errorf("invoke missing: %v", err)
	}
	createPython(t, c, "ok", pythonHandler, 30)
	_, err = c.CreateFunction(ctx, &lambda.CreateFunctionInput{FunctionName: aws.String("ok"), Runtime: lambdatypes.RuntimePython312,
		Handler: aws.String("app.handler"), Role: aws.String(lambdaRole), Code: &lambdatypes.FunctionCode{ZipFile: zipFile}})
	var rc *lambdatypes.ResourceConflictException
	if !errors.As(err, &rc) {
		t.Errorf("duplicate: %v", err)
	}
	_, err = c.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("ok"), Payload: bytes.Repeat([]byte(" "), 6*1024*1024+1)})
	var tl *lambdatypes.RequestTooLargeException
	if !errors.As(err, &tl) {
		t.Errorf("oversized payload: %v", err)
	}
	// A handler that does not exist is a function error.
	out, err := c.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("ok"), Payload: []byte(`{}`)})
	if err != nil || out.FunctionError != nil {
		t.Fatalf("ok invoke: %v %v", out, err)
	}
	createPython(t, c, "nohandler", pythonHandler, 30, func(in *lambda.CreateFunctionInput) { in.Handler = aws.String("nope.handler") })
	out, err = c.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("nohandler"), Payload: []byte(`{}`)})
	if err != nil || aws.ToString(out.FunctionError) == "" || !strings.Contains(string(out.Payload), "ImportModuleError") {
		t.Errorf("missing handler: %v %s", err, out.Payload)
	}
}

// TestLambdaTimeoutAndNode runs on the real clock: a function over its
// timeout, a function calling STS with its execution role's session, and
// a Node.js function.
func TestLambdaTimeoutAndNode(t *testing.T) {
	t.Parallel()
	env, c := startLambda(t, 1)
	ctx := context.Background()
	createPython(t, c, "slow", pythonHandler, 1)
	out, err := c.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("slow"), Payload: []byte(`{"sleep": 5}`)})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(out.FunctionError) == "" || !strings.Contains(string(out.Payload), "Task timed out after 1") {
		t.Errorf("timeout: %q %s", aws.ToString(out.FunctionError), out.Payload)
	}

	// The function runs with a session of its execution role: the SDK in
	// the function finds the credentials and nephele's endpoint.
	if exec.Command("python3", "-c", "import boto3").Run() == nil {
		iamClient := iam.NewFromConfig(env.AWSConfig())
		if _, err := iamClient.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("fn-role"),
			AssumeRolePolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}`)}); err != nil {
			t.Fatal(err)
		}
		whoami := "import boto3\ndef handler(event, context):\n    return boto3.client('sts').get_caller_identity()['Arn']\n"
		createPython(t, c, "whoami", whoami, 30, func(in *lambda.CreateFunctionInput) { in.Role = aws.String("arn:aws:iam::000000000000:role/fn-role") })
		out, err := c.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("whoami")})
		if err != nil || string(out.Payload) != `"arn:aws:sts::000000000000:assumed-role/fn-role/whoami"` {
			t.Errorf("identity in the function: %v %s", err, out.Payload)
		}
	}

	if _, err := exec.LookPath("node"); err != nil {
		t.Skip("node is not installed")
	}
	nodeCode := `exports.handler = async (event, context) => ({ node: true, got: event, fn: context.functionName });`
	_, err = c.CreateFunction(ctx, &lambda.CreateFunctionInput{
		FunctionName: aws.String("nodefn"), Runtime: lambdatypes.RuntimeNodejs20x, Handler: aws.String("index.handler"),
		Role: aws.String(lambdaRole), Timeout: aws.Int32(10),
		Code: &lambdatypes.FunctionCode{ZipFile: lambdaZip(t, map[string]string{"index.js": nodeCode})},
	})
	if err != nil {
		t.Fatal(err)
	}
	waitActive(t, c, "nodefn")
	out, err = c.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("nodefn"), Payload: []byte(`{"x":1}`)})
	if err != nil || out.FunctionError != nil || string(out.Payload) != `{"node":true,"got":{"x":1},"fn":"nodefn"}` {
		t.Errorf("node: %v %q %s", err, aws.ToString(out.FunctionError), out.Payload)
	}
}

// TestLambdaWeightedAlias publishes two versions and splits an alias
// between them: both run, and each answer names the version that ran.
func TestLambdaWeightedAlias(t *testing.T) {
	t.Parallel()
	_, c := startLambda(t, 10)
	ctx := context.Background()
	createPython(t, c, "split", pythonHandler, 30)
	v1, err := c.PublishVersion(ctx, &lambda.PublishVersionInput{FunctionName: aws.String("split")})
	if err != nil || aws.ToString(v1.Version) != "1" {
		t.Fatalf("publish 1: %v %v", v1, err)
	}
	if _, err := c.UpdateFunctionCode(ctx, &lambda.UpdateFunctionCodeInput{FunctionName: aws.String("split"),
		ZipFile: lambdaZip(t, map[string]string{"app.py": pythonHandler + "\n# v2\n"})}); err != nil {
		t.Fatal(err)
	}
	waitUpdated(t, c, "split")
	v2, err := c.PublishVersion(ctx, &lambda.PublishVersionInput{FunctionName: aws.String("split")})
	if err != nil || aws.ToString(v2.Version) != "2" {
		t.Fatalf("publish 2: %v %v", v2, err)
	}
	w := lambda.NewPublishedVersionActiveWaiter(c, func(o *lambda.PublishedVersionActiveWaiterOptions) {
		o.MinDelay, o.MaxDelay = 50*time.Millisecond, 200*time.Millisecond
	})
	if err := w.Wait(ctx, &lambda.GetFunctionConfigurationInput{FunctionName: aws.String("split"), Qualifier: aws.String("2")}, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateAlias(ctx, &lambda.CreateAliasInput{FunctionName: aws.String("split"), Name: aws.String("live"),
		FunctionVersion: aws.String("1"), RoutingConfig: &lambdatypes.AliasRoutingConfiguration{AdditionalVersionWeights: map[string]float64{"2": 0.5}}}); err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for range 40 {
		out, err := c.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("split"), Qualifier: aws.String("live"), Payload: []byte(`{}`)})
		if err != nil {
			t.Fatal(err)
		}
		var res struct{ Version string }
		json.Unmarshal(out.Payload, &res)
		if res.Version != aws.ToString(out.ExecutedVersion) {
			t.Fatalf("ran %s, reported %s", res.Version, aws.ToString(out.ExecutedVersion))
		}
		seen[res.Version]++
	}
	if seen["1"] == 0 || seen["2"] == 0 || seen["1"]+seen["2"] != 40 {
		t.Errorf("40 invokes of a 50/50 alias ran %v", seen)
	}
	vs, err := c.ListVersionsByFunction(ctx, &lambda.ListVersionsByFunctionInput{FunctionName: aws.String("split")})
	if err != nil || len(vs.Versions) != 3 {
		t.Errorf("versions: %v %v", vs, err)
	}
}

// TestLambdaReservedConcurrencyThrottles reserves one execution for a
// function: of two overlapping invokes, one is throttled with Lambda's
// error and Reason.
func TestLambdaReservedConcurrencyThrottles(t *testing.T) {
	t.Parallel()
	_, c := startLambda(t, 10)
	ctx := context.Background()
	createPython(t, c, "one", pythonHandler, 30)
	if _, err := c.PutFunctionConcurrency(ctx, &lambda.PutFunctionConcurrencyInput{FunctionName: aws.String("one"), ReservedConcurrentExecutions: aws.Int32(1)}); err != nil {
		t.Fatal(err)
	}
	// Warm one environment so both calls race on the handler, not on
	// start-up.
	if _, err := c.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("one"), Payload: []byte(`{}`)}); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = c.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("one"), Payload: []byte(`{"sleep": 1}`)})
		}()
		time.Sleep(100 * time.Millisecond) // the second starts while the first sleeps
	}
	wg.Wait()
	throttled := 0
	for _, err := range errs {
		var tm *lambdatypes.TooManyRequestsException
		if errors.As(err, &tm) {
			throttled++
			if aws.ToString(tm.Message) != "Rate Exceeded." || tm.Reason != lambdatypes.ThrottleReasonReservedFunctionConcurrentInvocationLimitExceeded {
				t.Errorf("throttle message %q reason %q", aws.ToString(tm.Message), tm.Reason)
			}
		} else if err != nil {
			t.Errorf("invoke: %v", err)
		}
	}
	if throttled != 1 {
		t.Errorf("%d of 2 parallel invokes throttled, want 1 (%v)", throttled, errs)
	}
	_, err := c.PutFunctionConcurrency(ctx, &lambda.PutFunctionConcurrencyInput{FunctionName: aws.String("one"), ReservedConcurrentExecutions: aws.Int32(950)})
	if apiCode(err) != "InvalidParameterValueException" {
		t.Errorf("reserving below the unreserved minimum: %v", err)
	}
	got, err := c.GetFunctionConcurrency(ctx, &lambda.GetFunctionConcurrencyInput{FunctionName: aws.String("one")})
	if err != nil || aws.ToInt32(got.ReservedConcurrentExecutions) != 1 {
		t.Errorf("GetFunctionConcurrency: %v %v", got, err)
	}
	settings, err := c.GetAccountSettings(ctx, &lambda.GetAccountSettingsInput{})
	if err != nil || aws.ToInt32(settings.AccountLimit.UnreservedConcurrentExecutions) != 999 {
		t.Errorf("account settings: %v %v", settings, err)
	}
}

// TestLambdaFunctionURL serves a function at its URL: the request arrives
// as the payload format 2.0 event and the result is the HTTP response.
func TestLambdaFunctionURL(t *testing.T) {
	t.Parallel()
	_, c := startLambda(t, 10)
	ctx := context.Background()
	code := `import json
def handler(event, context):
    return {"statusCode": 201, "headers": {"content-type": "text/plain", "x-route": event["routeKey"]},
            "body": event["requestContext"]["http"]["method"] + " " + event["rawPath"] + "?" + event["rawQueryString"] + " " + event["version"]}
`
	createPython(t, c, "web", code, 30)
	u, err := c.CreateFunctionUrlConfig(ctx, &lambda.CreateFunctionUrlConfigInput{FunctionName: aws.String("web"), AuthType: lambdatypes.FunctionUrlAuthTypeNone})
	if err != nil {
		t.Fatal(err)
	}
	url := aws.ToString(u.FunctionUrl)
	if !strings.HasPrefix(url, "http://") || !strings.Contains(url, ".lambda-url.us-east-1.localhost:") {
		t.Fatalf("FunctionUrl %s", url)
	}
	// What curl does with the URL: *.localhost is loopback.
	port := url[strings.LastIndexByte(url, ':')+1 : len(url)-1]
	req, _ := http.NewRequest("GET", "http://127.0.0.1:"+port+"/items/7?color=red", nil)
	req.Host = strings.TrimSuffix(strings.TrimPrefix(url, "http://"), "/")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 201 || string(body) != "GET /items/7?color=red 2.0" || resp.Header.Get("X-Route") != "$default" || resp.Header.Get("Content-Type") != "text/plain" {
		t.Errorf("URL answered %d %q %v", resp.StatusCode, body, resp.Header)
	}
	if curl, err := exec.LookPath("curl"); err == nil {
		out, err := exec.Command(curl, "-s", "-m", "10", url+"curl").CombinedOutput()
		if err != nil || string(out) != "GET /curl? 2.0" {
			t.Errorf("curl %s: %q %v", url, out, err)
		}
	}
	list, err := c.ListFunctionUrlConfigs(ctx, &lambda.ListFunctionUrlConfigsInput{FunctionName: aws.String("web")})
	if err != nil || len(list.FunctionUrlConfigs) != 1 {
		t.Errorf("list: %v %v", list, err)
	}
	if _, err := c.DeleteFunctionUrlConfig(ctx, &lambda.DeleteFunctionUrlConfigInput{FunctionName: aws.String("web")}); err != nil {
		t.Fatal(err)
	}
}
