package lambda

import (
	"context"
	"encoding/json"
	"math"
	mrand "math/rand/v2"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	api "github.com/nephele-dev/nephele/internal/api/lambda"
	"github.com/nephele-dev/nephele/internal/lambda/execenv"
	"github.com/nephele-dev/nephele/internal/store"
)

func TestPickVersion(t *testing.T) {
	a := &aliasRecord{Version: "1", Weights: map[string]float64{"2": 0.3}}
	for _, tt := range []struct {
		r    float64
		want string
	}{{0, "2"}, {0.29, "2"}, {0.3, "1"}, {0.99, "1"}} {
		if got := pickVersion(a, tt.r); got != tt.want {
			t.Errorf("pickVersion(%v) = %s, want %s", tt.r, got, tt.want)
		}
	}
	// Over many draws the share is within 5 binomial standard deviations.
	rng := mrand.New(mrand.NewPCG(1, 2))
	const n = 10000
	hits := 0
	for range n {
		if pickVersion(a, rng.Float64()) == "2" {
			hits++
		}
	}
	if sd := math.Sqrt(n * 0.3 * 0.7); math.Abs(float64(hits)-n*0.3) > 5*sd {
		t.Errorf("version 2 got %d of %d", hits, n)
	}
}

func TestInvokeResults(t *testing.T) {
	fx := newFixture(t)
	fx.create(t, "f")
	fx.exec.handle = func(fn *execenv.Function, req execenv.Request) (execenv.Result, error) {
		if strings.Contains(string(req.Payload), "fail") {
			return execenv.Result{FunctionError: "Unhandled", Payload: []byte(`{"errorMessage":"boom","errorType":"Exception"}`)}, nil
		}
		return execenv.Result{Payload: req.Payload, LogTail: []byte("START\nREPORT\n")}, nil
	}
	out, err := fx.s.Invoke(fx.ctx, &api.InvokeInput{FunctionName: ptr("f"), Payload: []byte(`{"a":1}`), LogType: ptr("Tail")})
	if err != nil {
		t.Fatal(err)
	}
	if *out.StatusCode != 200 || string(out.Payload) != `{"a":1}` || str(out.ExecutedVersion) != "$LATEST" || out.FunctionError != nil || str(out.LogResult) != "U1RBUlQKUkVQT1JUCg==" {
		t.Errorf("invoke: %d %s %s %v %s", *out.StatusCode, out.Payload, str(out.ExecutedVersion), out.FunctionError, str(out.LogResult))
	}
	out, err = fx.s.Invoke(fx.ctx, &api.InvokeInput{FunctionName: ptr("f"), Payload: []byte(`"fail"`)})
	if err != nil || str(out.FunctionError) != "Unhandled" {
		t.Fatalf("failing invoke: %v %v", out, err)
	}
	out, err = fx.s.Invoke(fx.ctx, &api.InvokeInput{FunctionName: ptr("f"), InvocationType: ptr("DryRun")})
	if err != nil || *out.StatusCode != http.StatusNoContent {
		t.Fatalf("dry run: %v %v", out, err)
	}
	_, err = fx.s.Invoke(fx.ctx, &api.InvokeInput{FunctionName: ptr("f"), Payload: make([]byte, maxSyncPayload+1)})
	ae := wantCode(t, err, "RequestTooLargeException", http.StatusRequestEntityTooLarge)
	if ae.Message != "Request must be smaller than 6291456 bytes for the InvokeFunction operation" {
		t.Errorf("message %q", ae.Message)
	}
	_, err = fx.s.Invoke(fx.ctx, &api.InvokeInput{FunctionName: ptr("f"), InvocationType: ptr("Event"), Payload: []byte(`"` + strings.Repeat("x", maxAsyncPayload) + `"`)})
	wantCode(t, err, "RequestTooLargeException", http.StatusRequestEntityTooLarge)
	_, err = fx.s.Invoke(fx.ctx, &api.InvokeInput{FunctionName: ptr("f"), Payload: []byte(`{not json`)})
	wantCode(t, err, "InvalidRequestContentException", http.StatusBadRequest)
	_, err = fx.s.Invoke(fx.ctx, &api.InvokeInput{FunctionName: ptr("f"), Qualifier: ptr("7")})
	ae = wantCode(t, err, "ResourceNotFoundException", http.StatusNotFound)
	if ae.Message != "Function not found: arn:aws:lambda:us-east-1:123456789012:function:f:7" {
		t.Errorf("message %q", ae.Message)
	}
}

func TestVersionsAndAliases(t *testing.T) {
	fx := newFixture(t)
	fx.create(t, "f")
	v1, err := fx.s.PublishVersion(fx.ctx, &api.PublishVersionInput{FunctionName: ptr("f")})
	if err != nil || str(v1.Version) != "1" || str(v1.FunctionArn) != "arn:aws:lambda:us-east-1:123456789012:function:f:1" {
		t.Fatalf("publish: %v %v", v1, err)
	}
	// Nothing changed: publishing again returns version 1.
	again, err := fx.s.PublishVersion(fx.ctx, &api.PublishVersionInput{FunctionName: ptr("f")})
	if err != nil || str(again.Version) != "1" {
		t.Fatalf("republish: %v %v", again, err)
	}
	_, err = fx.s.PublishVersion(fx.ctx, &api.PublishVersionInput{FunctionName: ptr("f"), CodeSha256: ptr("wrong")})
	wantCode(t, err, "InvalidParameterValueException", http.StatusBadRequest)
	fx.clk.Advance(DefaultStateDelay)
	if _, err := fx.s.UpdateFunctionConfiguration(fx.ctx, &api.UpdateFunctionConfigurationInput{FunctionName: ptr("f"), Description: ptr("two")}); err != nil {
		t.Fatal(err)
	}
	fx.clk.Advance(DefaultStateDelay)
	v2, err := fx.s.PublishVersion(fx.ctx, &api.PublishVersionInput{FunctionName: ptr("f")})
	if err != nil || str(v2.Version) != "2" {
		t.Fatalf("publish 2: %v %v", v2, err)
	}
	fx.clk.Advance(DefaultStateDelay)
	_, err = fx.s.CreateAlias(fx.ctx, &api.CreateAliasInput{FunctionName: ptr("f"), Name: ptr("live"), FunctionVersion: ptr("1"),
		RoutingConfig: &api.AliasRoutingConfiguration{AdditionalVersionWeights: map[string]float64{"1": 0.5}}})
	wantCode(t, err, "InvalidParameterValueException", http.StatusBadRequest)
	a, err := fx.s.CreateAlias(fx.ctx, &api.CreateAliasInput{FunctionName: ptr("f"), Name: ptr("live"), FunctionVersion: ptr("1"),
		RoutingConfig: &api.AliasRoutingConfiguration{AdditionalVersionWeights: map[string]float64{"2": 0.4}}})
	if err != nil || str(a.AliasArn) != "arn:aws:lambda:us-east-1:123456789012:function:f:live" {
		t.Fatalf("alias: %v %v", a, err)
	}
	_, err = fx.s.CreateAlias(fx.ctx, &api.CreateAliasInput{FunctionName: ptr("f"), Name: ptr("live"), FunctionVersion: ptr("1")})
	wantCode(t, err, "ResourceConflictException", http.StatusConflict)
	// Rand is 0.5 in the fixture: past version 2's 0.4, so version 1.
	out, err := fx.s.Invoke(fx.ctx, &api.InvokeInput{FunctionName: ptr("f:live")})
	if err != nil || str(out.ExecutedVersion) != "1" {
		t.Fatalf("alias invoke: %v %v", out, err)
	}
	fx.s.opts.Rand = func() float64 { return 0.1 }
	out, err = fx.s.Invoke(fx.ctx, &api.InvokeInput{FunctionName: ptr("f"), Qualifier: ptr("live")})
	if err != nil || str(out.ExecutedVersion) != "2" {
		t.Fatalf("alias invoke: %v %v", out, err)
	}
	if c := fx.exec.calls[len(fx.exec.calls)-1]; c.fn.Version != "2" || c.req.InvokedARN != "arn:aws:lambda:us-east-1:123456789012:function:f:live" {
		t.Errorf("executed %s invoked as %s", c.fn.Version, c.req.InvokedARN)
	}
	_, err = fx.s.DeleteFunction(fx.ctx, &api.DeleteFunctionInput{FunctionName: ptr("f"), Qualifier: ptr("2")})
	wantCode(t, err, "ResourceConflictException", http.StatusConflict)
	vs, err := fx.s.ListVersionsByFunction(fx.ctx, &api.ListVersionsByFunctionInput{FunctionName: ptr("f")})
	if err != nil || len(vs.Versions) != 3 || str(vs.Versions[0].Version) != "$LATEST" || str(vs.Versions[2].Version) != "2" {
		t.Fatalf("versions: %v %v", vs, err)
	}
	_, err = fx.s.GetAlias(fx.ctx, &api.GetAliasInput{FunctionName: ptr("f"), Name: ptr("nope")})
	wantCode(t, err, "ResourceNotFoundException", http.StatusNotFound)
}

func TestReservedConcurrencyThrottles(t *testing.T) {
	fx := newFixture(t)
	fx.create(t, "f")
	release := make(chan struct{})
	fx.exec.handle = func(fn *execenv.Function, req execenv.Request) (execenv.Result, error) {
		<-release
		return execenv.Result{Payload: []byte("null")}, nil
	}
	if _, err := fx.s.PutFunctionConcurrency(fx.ctx, &api.PutFunctionConcurrencyInput{FunctionName: ptr("f"), ReservedConcurrentExecutions: ptr(int32(1))}); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := fx.s.Invoke(fx.ctx, &api.InvokeInput{FunctionName: ptr("f")})
		done <- err
	}()
	fx.waitCall(t)
	_, err := fx.s.Invoke(fx.ctx, &api.InvokeInput{FunctionName: ptr("f")})
	ae := wantCode(t, err, "TooManyRequestsException", http.StatusTooManyRequests)
	if ae.Message != "Rate Exceeded." || ae.Fields["Reason"] != "ReservedFunctionConcurrentInvocationLimitExceeded" {
		t.Errorf("throttle %q %v", ae.Message, ae.Fields)
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if _, err := fx.s.Invoke(fx.ctx, &api.InvokeInput{FunctionName: ptr("f")}); err != nil {
		t.Fatalf("after release: %v", err)
	}
	// Reserving 901 of 1000 leaves less than the 100 unreserved minimum.
	_, err = fx.s.PutFunctionConcurrency(fx.ctx, &api.PutFunctionConcurrencyInput{FunctionName: ptr("f"), ReservedConcurrentExecutions: ptr(int32(901))})
	ae = wantCode(t, err, "InvalidParameterValueException", http.StatusBadRequest)
	if !strings.Contains(ae.Message, "below its minimum value of [100]") {
		t.Errorf("message %q", ae.Message)
	}
	// Reserved 0 stops the function.
	fx.s.PutFunctionConcurrency(fx.ctx, &api.PutFunctionConcurrencyInput{FunctionName: ptr("f"), ReservedConcurrentExecutions: ptr(int32(0))})
	_, err = fx.s.Invoke(fx.ctx, &api.InvokeInput{FunctionName: ptr("f")})
	wantCode(t, err, "TooManyRequestsException", http.StatusTooManyRequests)
	settings, _ := fx.s.GetAccountSettings(fx.ctx, nil)
	if *settings.AccountLimit.ConcurrentExecutions != 1000 || *settings.AccountLimit.UnreservedConcurrentExecutions != 1000 {
		t.Errorf("account limit %d unreserved %d", *settings.AccountLimit.ConcurrentExecutions, *settings.AccountLimit.UnreservedConcurrentExecutions)
	}
}

func TestAsyncRetriesThenOnFailureDestination(t *testing.T) {
	fx := newFixture(t)
	fx.create(t, "f")
	fx.create(t, "dest")
	fx.exec.handle = func(fn *execenv.Function, req execenv.Request) (execenv.Result, error) {
		if fn.Name == "f" {
			return execenv.Result{FunctionError: "Unhandled", Payload: []byte(`{"errorMessage":"boom"}`)}, nil
		}
		return execenv.Result{Payload: []byte("null")}, nil
	}
	destARN := "arn:aws:lambda:us-east-1:123456789012:function:dest"
	if _, err := fx.s.PutFunctionEventInvokeConfig(fx.ctx, &api.PutFunctionEventInvokeConfigInput{
		FunctionName: ptr("f"), DestinationConfig: &api.DestinationConfig{OnFailure: &api.OnFailure{Destination: ptr(destARN)}},
	}); err != nil {
		t.Fatal(err)
	}
	t0 := fx.clk.Now()
	out, err := fx.s.Invoke(fx.ctx, &api.InvokeInput{FunctionName: ptr("f"), InvocationType: ptr("Event"), Payload: []byte(`{"k":"v"}`)})
	if err != nil || *out.StatusCode != http.StatusAccepted {
		t.Fatalf("event: %v %v", out, err)
	}
	// The default schedule: now, a minute later, two minutes after that.
	for i, wait := range []time.Duration{time.Minute, 2 * time.Minute} {
		c := fx.waitCall(t)
		if c.fn.Name != "f" {
			t.Fatalf("attempt %d ran %s", i+1, c.fn.Name)
		}
		want := fx.clk.Now().Add(wait)
		deadline := time.Now().Add(5 * time.Second)
		for fx.s.queue.nextDue() != want {
			if time.Now().After(deadline) {
				t.Fatalf("attempt %d: next run %v, want %v", i+1, fx.s.queue.nextDue(), want)
			}
			time.Sleep(time.Millisecond)
		}
		fx.clk.Advance(wait)
	}
	if c := fx.waitCall(t); c.fn.Name != "f" || !c.at.Equal(t0.Add(3*time.Minute)) {
		t.Fatalf("third attempt: %s at %v", c.fn.Name, c.at.Sub(t0))
	}
	c := fx.waitCall(t)
	if c.fn.Name != "dest" {
		t.Fatalf("destination: ran %s", c.fn.Name)
	}
	var rec struct {
		Version        string `json:"version"`
		RequestContext struct {
			RequestID              string `json:"requestId"`
			FunctionArn            string `json:"functionArn"`
			Condition              string `json:"condition"`
			ApproximateInvokeCount int    `json:"approximateInvokeCount"`
		} `json:"requestContext"`
		RequestPayload  map[string]string `json:"requestPayload"`
		ResponseContext struct {
			StatusCode      int    `json:"statusCode"`
			ExecutedVersion string `json:"executedVersion"`
			FunctionError   string `json:"functionError"`
		} `json:"responseContext"`
		ResponsePayload map[string]string `json:"responsePayload"`
	}
	if err := json.Unmarshal(c.req.Payload, &rec); err != nil {
		t.Fatal(err)
	}
	rc := rec.RequestContext
	if rec.Version != "1.0" || rc.RequestID != "req-1" || rc.FunctionArn != "arn:aws:lambda:us-east-1:123456789012:function:f:$LATEST" ||
		rc.Condition != "RetriesExhausted" || rc.ApproximateInvokeCount != 3 || rec.RequestPayload["k"] != "v" ||
		rec.ResponseContext.StatusCode != 200 || rec.ResponseContext.ExecutedVersion != "$LATEST" ||
		rec.ResponseContext.FunctionError != "Unhandled" || rec.ResponsePayload["errorMessage"] != "boom" {
		t.Errorf("record: %s", c.req.Payload)
	}
}

func TestAsyncThrottledEventWaits(t *testing.T) {
	fx := newFixture(t)
	fx.create(t, "f")
	fx.s.PutFunctionConcurrency(fx.ctx, &api.PutFunctionConcurrencyInput{FunctionName: ptr("f"), ReservedConcurrentExecutions: ptr(int32(0))})
	fx.s.Invoke(fx.ctx, &api.InvokeInput{FunctionName: ptr("f"), InvocationType: ptr("Event")})
	deadline := time.Now().Add(5 * time.Second)
	for fx.s.queue.nextDue().IsZero() || !fx.s.queue.nextDue().After(fx.clk.Now()) {
		if time.Now().After(deadline) {
			t.Fatal("throttled event not requeued")
		}
		time.Sleep(time.Millisecond)
	}
	fx.s.DeleteFunctionConcurrency(fx.ctx, &api.DeleteFunctionConcurrencyInput{FunctionName: ptr("f")})
	fx.clk.Advance(time.Second)
	fx.waitCall(t)
}

func TestEventInvokeConfig(t *testing.T) {
	fx := newFixture(t)
	fx.create(t, "f")
	_, err := fx.s.GetFunctionEventInvokeConfig(fx.ctx, &api.GetFunctionEventInvokeConfigInput{FunctionName: ptr("f")})
	wantCode(t, err, "ResourceNotFoundException", http.StatusNotFound)
	_, err = fx.s.PutFunctionEventInvokeConfig(fx.ctx, &api.PutFunctionEventInvokeConfigInput{FunctionName: ptr("f"),
		DestinationConfig: &api.DestinationConfig{OnSuccess: &api.OnSuccess{Destination: ptr("not-an-arn")}}})
	wantCode(t, err, "InvalidParameterValueException", http.StatusBadRequest)
	if _, err := fx.s.PutFunctionEventInvokeConfig(fx.ctx, &api.PutFunctionEventInvokeConfigInput{FunctionName: ptr("f"), MaximumRetryAttempts: ptr(int32(0))}); err != nil {
		t.Fatal(err)
	}
	up, err := fx.s.UpdateFunctionEventInvokeConfig(fx.ctx, &api.UpdateFunctionEventInvokeConfigInput{FunctionName: ptr("f"), MaximumEventAgeInSeconds: ptr(int32(120))})
	if err != nil || *up.MaximumRetryAttempts != 0 || *up.MaximumEventAgeInSeconds != 120 || str(up.FunctionArn) != "arn:aws:lambda:us-east-1:123456789012:function:f:$LATEST" {
		t.Fatalf("update: %+v %v", up, err)
	}
	list, err := fx.s.ListFunctionEventInvokeConfigs(fx.ctx, &api.ListFunctionEventInvokeConfigsInput{FunctionName: ptr("f")})
	if err != nil || len(list.FunctionEventInvokeConfigs) != 1 {
		t.Fatalf("list: %v %v", list, err)
	}
}

func TestPolicyAndTags(t *testing.T) {
	fx := newFixture(t)
	fx.create(t, "f")
	in := &api.AddPermissionInput{FunctionName: ptr("f"), StatementId: ptr("s3"), Action: ptr("lambda:InvokeFunction"),
		Principal: ptr("s3.amazonaws.com"), SourceArn: ptr("arn:aws:s3:::bucket"), SourceAccount: ptr("123456789012")}
	out, err := fx.s.AddPermission(fx.ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"Sid":"s3","Effect":"Allow","Principal":{"Service":"s3.amazonaws.com"},"Action":"lambda:InvokeFunction","Resource":"arn:aws:lambda:us-east-1:123456789012:function:f","Condition":{"ArnLike":{"AWS:SourceArn":"arn:aws:s3:::bucket"},"StringEquals":{"AWS:SourceAccount":"123456789012"}}}`
	if str(out.Statement) != want {
		t.Errorf("statement\n got %s\nwant %s", str(out.Statement), want)
	}
	_, err = fx.s.AddPermission(fx.ctx, in)
	wantCode(t, err, "ResourceConflictException", http.StatusConflict)
	pol, err := fx.s.GetPolicy(fx.ctx, &api.GetPolicyInput{FunctionName: ptr("f")})
	if err != nil || !strings.HasPrefix(str(pol.Policy), `{"Version":"2012-10-17","Id":"default","Statement":[{"Sid":"s3"`) {
		t.Fatalf("policy: %v %v", str(pol.Policy), err)
	}
	fnARN := "arn:aws:lambda:us-east-1:123456789012:function:f"
	fx.s.TagResource(fx.ctx, &api.TagResourceInput{Resource: ptr(fnARN), Tags: map[string]string{"a": "1", "b": "2"}})
	fx.s.UntagResource(fx.ctx, &api.UntagResourceInput{Resource: ptr(fnARN), TagKeys: []string{"a"}})
	tags, err := fx.s.ListTags(fx.ctx, &api.ListTagsInput{Resource: ptr(fnARN)})
	if err != nil || len(tags.Tags) != 1 || tags.Tags["b"] != "2" {
		t.Fatalf("tags: %v %v", tags, err)
	}
}

func TestLayers(t *testing.T) {
	fx := newFixture(t)
	zip := zipOf(t, map[string]string{"python/mod.py": "X = 1"})
	l1, err := fx.s.PublishLayerVersion(fx.ctx, &api.PublishLayerVersionInput{LayerName: ptr("lib"), Content: &api.LayerVersionContentInput{ZipFile: zip}, CompatibleRuntimes: []string{"python3.12"}})
	if err != nil || *l1.Version != 1 || str(l1.LayerVersionArn) != "arn:aws:lambda:us-east-1:123456789012:layer:lib:1" {
		t.Fatalf("publish: %v %v", l1, err)
	}
	out, err := fx.s.CreateFunction(fx.ctx, &api.CreateFunctionInput{
		FunctionName: ptr("f"), Runtime: ptr("python3.12"), Handler: ptr("app.handler"), Role: ptr(testRole),
		Code: &api.FunctionCode{ZipFile: zipOf(t, map[string]string{"app.py": "x"})}, Layers: []string{str(l1.LayerVersionArn)},
	})
	if err != nil || len(out.Layers) != 1 {
		t.Fatalf("create with layer: %v %v", out, err)
	}
	fx.clk.Advance(DefaultStateDelay)
	if _, err := fx.s.Invoke(fx.ctx, &api.InvokeInput{FunctionName: ptr("f")}); err != nil {
		t.Fatal(err)
	}
	c := fx.exec.calls[len(fx.exec.calls)-1]
	if len(c.fn.Layers) != 1 || string(c.fn.Layers[0].Code) != string(zip) {
		t.Errorf("layers passed: %d", len(c.fn.Layers))
	}
	pv, err := fx.s.PublishVersion(fx.ctx, &api.PublishVersionInput{FunctionName: ptr("f")})
	if err != nil {
		t.Fatal(err)
	}
	fx.clk.Advance(DefaultStateDelay)
	if _, err := fx.s.Invoke(fx.ctx, &api.InvokeInput{FunctionName: ptr("f"), Qualifier: pv.Version}); err != nil {
		t.Fatal(err)
	}
	if c := fx.exec.calls[len(fx.exec.calls)-1]; len(c.fn.Layers) != 1 || c.fn.Version != "1" {
		t.Errorf("published version ran with %d layers", len(c.fn.Layers))
	}
	fx.s.DeleteLayerVersion(fx.ctx, &api.DeleteLayerVersionInput{LayerName: ptr("lib"), VersionNumber: ptr(int64(1))})
	// A function keeps running a layer version deleted since, as on AWS.
	if _, err := fx.s.Invoke(fx.ctx, &api.InvokeInput{FunctionName: ptr("f")}); err != nil {
		t.Fatal(err)
	}
	if c := fx.exec.calls[len(fx.exec.calls)-1]; len(c.fn.Layers) != 1 || string(c.fn.Layers[0].Code) != string(zip) {
		t.Errorf("layers passed after delete: %d", len(c.fn.Layers))
	}
	l2, err := fx.s.PublishLayerVersion(fx.ctx, &api.PublishLayerVersionInput{LayerName: ptr("lib"), Content: &api.LayerVersionContentInput{ZipFile: zip}})
	if err != nil || *l2.Version != 2 {
		t.Fatalf("numbers are not reused: %v %v", l2, err)
	}
	ls, err := fx.s.ListLayers(fx.ctx, &api.ListLayersInput{})
	if err != nil || len(ls.Layers) != 1 || *ls.Layers[0].LatestMatchingVersion.Version != 2 {
		t.Fatalf("list layers: %v %v", ls, err)
	}
}

func TestURLResponseMapping(t *testing.T) {
	tests := []struct {
		payload, body, ctype string
		status               int
	}{
		{`{"statusCode":201,"headers":{"Content-Type":"text/plain"},"body":"made"}`, "made", "text/plain", 201},
		{`{"statusCode":200,"body":"aGk=","isBase64Encoded":true}`, "hi", "application/json", 200},
		{`{"message":"hello"}`, `{"message":"hello"}`, "application/json", 200},
		{`"just a string"`, `"just a string"`, "application/json", 200},
	}
	for _, tt := range tests {
		rec := httptest.NewRecorder()
		writeURLResponse(rec, []byte(tt.payload))
		if rec.Code != tt.status || rec.Body.String() != tt.body || rec.Header().Get("Content-Type") != tt.ctype {
			t.Errorf("%s: %d %q %q", tt.payload, rec.Code, rec.Body.String(), rec.Header().Get("Content-Type"))
		}
	}
}

func TestFunctionURLServes(t *testing.T) {
	fx := newFixture(t)
	fx.create(t, "f")
	fx.exec.handle = func(fn *execenv.Function, req execenv.Request) (execenv.Result, error) {
		var ev map[string]any
		json.Unmarshal(req.Payload, &ev)
		http := ev["requestContext"].(map[string]any)["http"].(map[string]any)
		body, _ := json.Marshal(map[string]any{"statusCode": 200, "body": http["method"].(string) + " " + ev["rawPath"].(string) + "?" + ev["rawQueryString"].(string) + " " + ev["version"].(string)})
		return execenv.Result{Payload: body}, nil
	}
	u, err := fx.s.CreateFunctionUrlConfig(fx.ctx, &api.CreateFunctionUrlConfigInput{FunctionName: ptr("f"), AuthType: ptr("NONE")})
	if err != nil {
		t.Fatal(err)
	}
	url := str(u.FunctionUrl)
	port := url[strings.LastIndexByte(url, ':')+1 : len(url)-1]
	resp, err := http.Get("http://127.0.0.1:" + port + "/hello?x=1")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b strings.Builder
	buf := make([]byte, 100)
	n, _ := resp.Body.Read(buf)
	b.Write(buf[:n])
	if resp.StatusCode != 200 || b.String() != "GET /hello?x=1 2.0" {
		t.Errorf("URL answered %d %q", resp.StatusCode, b.String())
	}
	_, err = fx.s.CreateFunctionUrlConfig(fx.ctx, &api.CreateFunctionUrlConfigInput{FunctionName: ptr("f"), AuthType: ptr("NONE")})
	wantCode(t, err, "ResourceConflictException", http.StatusConflict)
	if _, err := fx.s.UpdateFunctionUrlConfig(fx.ctx, &api.UpdateFunctionUrlConfigInput{FunctionName: ptr("f"), AuthType: ptr("AWS_IAM")}); err != nil {
		t.Fatal(err)
	}
	resp2, err := http.Get("http://127.0.0.1:" + port + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp2.Body.Close()
	if resp2.StatusCode != http.StatusForbidden {
		t.Errorf("unsigned request to an AWS_IAM URL: %d", resp2.StatusCode)
	}
	fx.s.DeleteFunctionUrlConfig(fx.ctx, &api.DeleteFunctionUrlConfigInput{FunctionName: ptr("f")})
	if _, err := http.Get("http://127.0.0.1:" + port + "/"); err == nil {
		t.Error("deleted URL still answers")
	}
}

func TestAlarmActionInvokesAsynchronously(t *testing.T) {
	fx := newFixture(t)
	fx.create(t, "f")
	if err := fx.s.InvokeEvent(context.Background(), "arn:aws:lambda:us-east-1:123456789012:function:f", []byte(`{"source":"aws.cloudwatch"}`)); err != nil {
		t.Fatal(err)
	}
	if c := fx.waitCall(t); string(c.req.Payload) != `{"source":"aws.cloudwatch"}` {
		t.Errorf("payload %s", c.req.Payload)
	}
	if err := fx.s.InvokeEvent(context.Background(), "arn:aws:lambda:us-east-1:123456789012:function:nope", nil); err == nil {
		t.Error("missing function accepted")
	}
}

func TestCodeIsDroppedWhenUnused(t *testing.T) {
	fx := newFixture(t)
	fx.create(t, "f")
	count := func() int {
		n := 0
		fx.s.st.View(func(tx store.Tx) error {
			return tx.ForEach(bucketCode, "", func(string, func(any) error) error { n++; return nil })
		})
		return n
	}
	if _, err := fx.s.PublishVersion(fx.ctx, &api.PublishVersionInput{FunctionName: ptr("f")}); err != nil {
		t.Fatal(err)
	}
	fx.clk.Advance(DefaultStateDelay)
	if _, err := fx.s.UpdateFunctionCode(fx.ctx, &api.UpdateFunctionCodeInput{FunctionName: ptr("f"), ZipFile: zipOf(t, map[string]string{"app.py": "v2"})}); err != nil {
		t.Fatal(err)
	}
	if n := count(); n != 2 {
		t.Errorf("%d packages kept, want 2 (version 1's and $LATEST's)", n)
	}
	if _, err := fx.s.DeleteFunction(fx.ctx, &api.DeleteFunctionInput{FunctionName: ptr("f")}); err != nil {
		t.Fatal(err)
	}
	if n := count(); n != 0 {
		t.Errorf("%d packages left after DeleteFunction", n)
	}
}

func TestAsyncEventsDrainWithinConcurrency(t *testing.T) {
	fx := newFixture(t)
	fx.s.conc.limit = 2
	fx.create(t, "f")
	var mu sync.Mutex
	running, peak, done := 0, 0, 0
	fx.exec.handle = func(fn *execenv.Function, req execenv.Request) (execenv.Result, error) {
		mu.Lock()
		running++
		peak = max(peak, running)
		mu.Unlock()
		time.Sleep(time.Millisecond)
		mu.Lock()
		running--
		done++
		mu.Unlock()
		return execenv.Result{Payload: []byte("null")}, nil
	}
	const n = 50
	for range n {
		if _, err := fx.s.Invoke(fx.ctx, &api.InvokeInput{FunctionName: ptr("f"), InvocationType: ptr("Event")}); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		mu.Lock()
		d := done
		mu.Unlock()
		if d == n {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d events ran", d, n)
		}
		// A slot freed while an event was being requeued is picked up by
		// the event's own back-off, a second of clock time.
		fx.clk.Advance(time.Second)
		time.Sleep(5 * time.Millisecond)
	}
	if peak > 2 {
		t.Errorf("%d executions at once, limit 2", peak)
	}
}

func TestFunctionURLSurvivesRestart(t *testing.T) {
	fx := newFixture(t)
	fx.create(t, "f")
	u, err := fx.s.CreateFunctionUrlConfig(fx.ctx, &api.CreateFunctionUrlConfigInput{FunctionName: ptr("f"), AuthType: ptr("NONE")})
	if err != nil {
		t.Fatal(err)
	}
	fx.s.Close()
	// A new service on the same state serves the URL again, on its port.
	s2 := New(fx.s.st, fx.clk, Options{Executor: fx.exec, CheckRuntime: func(string) error { return nil }})
	if err := s2.Start(); err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	g, err := s2.GetFunctionUrlConfig(fx.ctx, &api.GetFunctionUrlConfigInput{FunctionName: ptr("f")})
	if err != nil || str(g.FunctionUrl) != str(u.FunctionUrl) {
		t.Fatalf("after restart: %v %v (was %s)", str(g.FunctionUrl), err, str(u.FunctionUrl))
	}
	url := str(g.FunctionUrl)
	resp, err := http.Post("http://127.0.0.1:"+url[strings.LastIndexByte(url, ':')+1:len(url)-1]+"/", "application/json", strings.NewReader(`{"x":1}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("restored URL answered %d", resp.StatusCode)
	}
}

// Publishing a version of a SnapStart function prepares its snapshot in
// the background, as Lambda initialises at publish; a version deleted
// meanwhile has the snapshot retired once it is ready.
func TestPublishPreparesSnapStart(t *testing.T) {
	fx := newFixture(t)
	fx.create(t, "plain")
	if _, err := fx.s.PublishVersion(fx.ctx, &api.PublishVersionInput{FunctionName: ptr("plain")}); err != nil {
		t.Fatal(err)
	}
	fx.create(t, "snap")
	if _, err := fx.s.UpdateFunctionConfiguration(fx.ctx, &api.UpdateFunctionConfigurationInput{
		FunctionName: ptr("snap"), SnapStart: &api.SnapStart{ApplyOn: ptr("PublishedVersions")}}); err != nil {
		t.Fatal(err)
	}
	fx.clk.Advance(DefaultStateDelay)
	release := make(chan struct{})
	fx.exec.mu.Lock()
	fx.exec.prepare = func(*execenv.Function) { <-release }
	fx.exec.mu.Unlock()
	v, err := fx.s.PublishVersion(fx.ctx, &api.PublishVersionInput{FunctionName: ptr("snap")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fx.s.DeleteFunction(fx.ctx, &api.DeleteFunctionInput{FunctionName: ptr("snap"), Qualifier: v.Version}); err != nil {
		t.Fatal(err)
	}
	fx.exec.mu.Lock()
	retiredBefore := len(fx.exec.retired)
	fx.exec.mu.Unlock()
	close(release)
	deadline := time.Now().Add(5 * time.Second)
	for {
		fx.exec.mu.Lock()
		prepared, retired := slices.Clone(fx.exec.prepared), slices.Clone(fx.exec.retired)
		fx.exec.mu.Unlock()
		if len(retired) > retiredBefore {
			if !slices.Equal(prepared, []string{"1"}) || retired[len(retired)-1] != "1" {
				t.Errorf("prepared %v, retired %v: want version 1 of snap prepared, then retired", prepared, retired)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the deleted version's snapshot was not retired: prepared %v, retired %v", prepared, retired)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
