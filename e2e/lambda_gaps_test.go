package e2e

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
)

// lambdaGapsScale is the time scale of these tests: fast enough for the
// Pending and InProgress states, slow enough that the 10 s (simulated)
// init limit of an environment stays several real seconds, as the -race
// server cold-starts many Python environments at once on a loaded
// machine.
const lambdaGapsScale = 2

// instant returns at once, naming the version that ran.
const instant = `def handler(event, context):
    return context.function_version
`

// parallel runs f(i) for i in [0, n) on workers goroutines.
func parallel(n, workers int, f func(i int)) {
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				f(i)
			}
		}()
	}
	wg.Wait()
}

// TestLambdaWeightedAliasShare invokes an alias that sends 0.3 of its
// traffic to version 2 a thousand times: the share version 2 gets is
// within five binomial standard deviations of 300, and every answer names
// the version that ran.
func TestLambdaWeightedAliasShare(t *testing.T) {
	t.Parallel()
	_, c := startLambda(t, lambdaGapsScale)
	ctx := context.Background()
	createPython(t, c, "share", instant, 300)
	if _, err := c.PublishVersion(ctx, &lambda.PublishVersionInput{FunctionName: aws.String("share")}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.UpdateFunctionCode(ctx, &lambda.UpdateFunctionCodeInput{FunctionName: aws.String("share"),
		ZipFile: lambdaZip(t, map[string]string{"app.py": instant + "# v2\n"})}); err != nil {
		t.Fatal(err)
	}
	waitUpdated(t, c, "share")
	if v, err := c.PublishVersion(ctx, &lambda.PublishVersionInput{FunctionName: aws.String("share")}); err != nil || aws.ToString(v.Version) != "2" {
		t.Fatalf("publish 2: %v %v", v, err)
	}
	w := lambda.NewPublishedVersionActiveWaiter(c, func(o *lambda.PublishedVersionActiveWaiterOptions) {
		o.MinDelay, o.MaxDelay = 50*time.Millisecond, 200*time.Millisecond
	})
	if err := w.Wait(ctx, &lambda.GetFunctionConfigurationInput{FunctionName: aws.String("share"), Qualifier: aws.String("2")}, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateAlias(ctx, &lambda.CreateAliasInput{FunctionName: aws.String("share"), Name: aws.String("live"),
		FunctionVersion: aws.String("1"), RoutingConfig: &lambdatypes.AliasRoutingConfiguration{AdditionalVersionWeights: map[string]float64{"2": 0.3}}}); err != nil {
		t.Fatal(err)
	}
	const n, p = 1000, 0.3
	var v1, v2, bad atomic.Int64
	var firstErr atomic.Value
	parallel(n, 8, func(int) {
		out, err := c.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("share"), Qualifier: aws.String("live")})
		if err != nil {
			firstErr.CompareAndSwap(nil, err.Error())
			bad.Add(1)
			return
		}
		ran := aws.ToString(out.ExecutedVersion)
		if string(out.Payload) != strconv.Quote(ran) {
			firstErr.CompareAndSwap(nil, fmt.Sprintf("version %s answered %s", ran, out.Payload))
			bad.Add(1)
			return
		}
		switch ran {
		case "1":
			v1.Add(1)
		case "2":
			v2.Add(1)
		default:
			bad.Add(1)
		}
	})
	if bad.Load() > 0 {
		t.Fatalf("%d of %d invokes failed; first: %v", bad.Load(), n, firstErr.Load())
	}
	sd := math.Sqrt(n * p * (1 - p))
	if got := float64(v2.Load()); math.Abs(got-n*p) > 5*sd || v1.Load()+v2.Load() != n {
		t.Errorf("version 2 ran %v of %d (version 1 %d), want %v ± %.1f", got, n, v1.Load(), n*p, 5*sd)
	}
}

// goFunctionZip builds the aws-lambda-go test handler of package execenv
// as a Linux executable named bootstrap (stripped), zipped as
// provided.al2023 wants. python3's zipfile compresses it: compressing
// megabytes in a -race test binary takes seconds.
func goFunctionZip(t *testing.T) []byte {
	t.Helper()
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("go is not installed")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "bootstrap")
	cmd := exec.Command("go", "build", "-ldflags=-s -w", "-o", bin, "../internal/lambda/execenv/testdata/gohandler")
	cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH="+runtime.GOARCH, "CGO_ENABLED=0", "GOFLAGS=-buildvcs=false")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	zipPath := filepath.Join(dir, "function.zip")
	script := `import sys, zipfile
info = zipfile.ZipInfo("bootstrap")
info.external_attr = 0o755 << 16
info.compress_type = zipfile.ZIP_DEFLATED
with zipfile.ZipFile(sys.argv[1], "w") as z, open(sys.argv[2], "rb") as f:
    z.writestr(info, f.read())
`
	if out, err := exec.Command("python3", "-c", script, zipPath, bin).CombinedOutput(); err != nil {
		t.Fatalf("zipping bootstrap: %v\n%s", err, out)
	}
	b, err := os.ReadFile(zipPath)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestLambdaGoProvided creates a provided.al2023 function from a Go
// handler built with aws-lambda-go and invokes it through the Go SDK: the
// handler's result comes back, the first call's REPORT has Init Duration
// and the second's does not, and a handler error is a function error.
func TestLambdaGoProvided(t *testing.T) {
	t.Parallel()
	_, c := startLambda(t, lambdaGapsScale)
	ctx := context.Background()
	z := goFunctionZip(t)
	if _, err := c.CreateFunction(ctx, &lambda.CreateFunctionInput{
		FunctionName: aws.String("gofn"), Runtime: lambdatypes.RuntimeProvidedal2023, Handler: aws.String("bootstrap"),
		Role: aws.String(lambdaRole), Timeout: aws.Int32(30), Architectures: []lambdatypes.Architecture{lambdatypes.ArchitectureX8664},
		Code: &lambdatypes.FunctionCode{ZipFile: z},
	}); err != nil {
		t.Fatal(err)
	}
	waitActive(t, c, "gofn")
	var reply struct {
		Value, RequestID, FunctionName, ARN string
		HasDeadline                         bool
	}
	for i, cold := range []bool{true, false} {
		out, err := c.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("gofn"), LogType: lambdatypes.LogTypeTail,
			Payload: []byte(fmt.Sprintf(`{"value":"call %d"}`, i))})
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(out.Payload, &reply); err != nil || out.FunctionError != nil {
			t.Fatalf("call %d: %s %q (%v)", i, out.Payload, aws.ToString(out.FunctionError), err)
		}
		if reply.Value != fmt.Sprintf("call %d", i) || reply.FunctionName != "gofn" || reply.RequestID == "" || !reply.HasDeadline ||
			reply.ARN != "arn:aws:lambda:us-east-1:000000000000:function:gofn" {
			t.Errorf("call %d answered %s", i, out.Payload)
		}
		tail, _ := base64.StdEncoding.DecodeString(aws.ToString(out.LogResult))
		log := string(tail)
		if !strings.Contains(log, "REPORT RequestId: "+reply.RequestID) || !strings.Contains(log, "go handler got call") {
			t.Errorf("call %d log tail:\n%s", i, log)
		}
		if strings.Contains(log, "Init Duration") != cold {
			t.Errorf("call %d (cold %v) log tail:\n%s", i, cold, log)
		}
	}
	out, err := c.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("gofn"), Payload: []byte(`{"fail":true}`)})
	if err != nil || aws.ToString(out.FunctionError) != "Unhandled" || !strings.Contains(string(out.Payload), "go handler failed") {
		t.Errorf("failing call: %v %q %s", err, aws.ToString(out.FunctionError), out.Payload)
	}
}

// spanRecorder appends "id start end" (monotonic nanoseconds, comparable
// across processes) to $OUT for every event, in one write.
const spanRecorder = `import os, time

def handler(event, context):
    start = time.monotonic_ns()
    time.sleep(0.001)
    end = time.monotonic_ns()
    fd = os.open(os.environ["OUT"], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, ("%d %d %d\n" % (event["id"], start, end)).encode())
    finally:
        os.close(fd)
    return None
`

// TestLambdaAsyncThousandWithinReserved queues a thousand asynchronous
// events for a function with reserved concurrency 2: every event runs
// once, and the handlers' spans never overlap more than two at a time.
func TestLambdaAsyncThousandWithinReserved(t *testing.T) {
	t.Parallel()
	_, c := startLambda(t, lambdaGapsScale)
	ctx := context.Background()
	out := filepath.Join(t.TempDir(), "spans")
	createPython(t, c, "drain", spanRecorder, 300, func(in *lambda.CreateFunctionInput) {
		in.Environment = &lambdatypes.Environment{Variables: map[string]string{"OUT": out}}
	})
	if _, err := c.PutFunctionConcurrency(ctx, &lambda.PutFunctionConcurrencyInput{FunctionName: aws.String("drain"), ReservedConcurrentExecutions: aws.Int32(2)}); err != nil {
		t.Fatal(err)
	}
	const n = 1000
	var failed atomic.Int64
	parallel(n, 8, func(i int) {
		res, err := c.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("drain"), InvocationType: lambdatypes.InvocationTypeEvent,
			Payload: []byte(fmt.Sprintf(`{"id":%d}`, i))})
		if err != nil || res.StatusCode != 202 {
			failed.Add(1)
		}
	})
	if failed.Load() > 0 {
		t.Fatalf("%d of %d Event invokes failed", failed.Load(), n)
	}
	lines := readLines(t, out, n, 30*time.Second)
	type edge struct {
		at    int64
		delta int
	}
	seen := map[int]bool{}
	var edges []edge
	for _, l := range lines {
		var id int
		var start, end int64
		if _, err := fmt.Sscanf(l, "%d %d %d", &id, &start, &end); err != nil {
			t.Fatalf("line %q: %v", l, err)
		}
		if seen[id] {
			t.Errorf("event %d ran twice", id)
		}
		seen[id] = true
		edges = append(edges, edge{start, 1}, edge{end, -1})
	}
	if len(seen) != n {
		t.Fatalf("%d distinct events ran, want %d", len(seen), n)
	}
	// Sweep the spans; at equal times an end comes before a start.
	sort.Slice(edges, func(i, j int) bool {
		if edges[i].at != edges[j].at {
			return edges[i].at < edges[j].at
		}
		return edges[i].delta < edges[j].delta
	})
	running, most := 0, 0
	for _, e := range edges {
		running += e.delta
		most = max(most, running)
	}
	if most > 2 {
		t.Errorf("%d handlers ran at once, reserved concurrency is 2", most)
	}
	if most < 1 {
		t.Errorf("no handler ran")
	}
}
