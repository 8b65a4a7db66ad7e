package lambda

import (
	"context"
	"sync"
	"testing"
	"time"

	api "github.com/nephele-dev/nephele/internal/api/lambda"
	"github.com/nephele-dev/nephele/internal/clock"
	"github.com/nephele-dev/nephele/internal/lambda/execenv"
	"github.com/nephele-dev/nephele/internal/metrics"
	"github.com/nephele-dev/nephele/internal/service"
	"github.com/nephele-dev/nephele/internal/store"
)

// sink keeps every datum published.
type sink struct {
	mu   sync.Mutex
	data []metrics.Datum
}

func (s *sink) Publish(_ context.Context, _, _ string, data []metrics.Datum) error {
	s.mu.Lock()
	s.data = append(s.data, data...)
	s.mu.Unlock()
	return nil
}

// values are the values published for a metric with exactly dims.
func (s *sink) values(name string, dims map[string]string) []float64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []float64
	for _, d := range s.data {
		if d.Name == name && renderDims(d.Dimensions) == renderDims(dims) {
			out = append(out, d.Value)
		}
	}
	return out
}

// all is a copy of everything published.
func (s *sink) all() []metrics.Datum {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]metrics.Datum(nil), s.data...)
}

func (s *sink) sum(name string, dims map[string]string) float64 {
	t := 0.0
	for _, v := range s.values(name, dims) {
		t += v
	}
	return t
}

// busyExec is the fake executor whose Busy counts the invocations inside
// its handler, as execenv counts busy environments.
type busyExec struct {
	*fakeExec
	mu   sync.Mutex
	busy map[string]int
}

func (b *busyExec) Invoke(ctx context.Context, fn *execenv.Function, req execenv.Request) (execenv.Result, error) {
	b.mu.Lock()
	b.busy[fn.Name+":"+fn.Version]++
	b.mu.Unlock()
	defer func() {
		b.mu.Lock()
		b.busy[fn.Name+":"+fn.Version]--
		b.mu.Unlock()
	}()
	return b.fakeExec.Invoke(ctx, fn, req)
}

func (b *busyExec) Busy(account, region, name, version string) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.busy[name+":"+version]
}

// newMetricsFixture is newFixture with a metrics sink and busyExec.
func newMetricsFixture(t *testing.T) (*fixture, *sink) {
	t.Helper()
	clk := clock.NewFake(time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC))
	snk := &sink{}
	exec := &busyExec{fakeExec: &fakeExec{clk: clk, called: make(chan call, 100)}, busy: map[string]int{}}
	s := New(store.NewMemory(), clk, Options{
		Executor: exec, Metrics: snk,
		Rand:         func() float64 { return 0.5 },
		CheckRuntime: func(string) error { return nil },
	})
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	ctx := service.WithRequest(context.Background(), service.Request{AccountID: "123456789012", Region: "us-east-1", RequestID: "req-1"})
	return &fixture{s: s, clk: clk, exec: exec.fakeExec, ctx: ctx}, snk
}

// waitFor flushes the metrics until cond holds, for up to 5 s.
func waitFor(t *testing.T, fx *fixture, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		fx.s.metrics.flush(context.Background())
		if cond() {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// TestAsyncMetrics: every queued event counts in AsyncEventsReceived;
// each invocation reports the event's age, which grows with retries; an
// event whose retries run out counts in AsyncEventsDropped.
func TestAsyncMetrics(t *testing.T) {
	fx, snk := newMetricsFixture(t)
	fx.create(t, "ok")
	fx.create(t, "bad")
	fx.exec.handle = func(fn *execenv.Function, req execenv.Request) (execenv.Result, error) {
		if fn.Name == "bad" {
			return execenv.Result{FunctionError: "Unhandled", Payload: []byte(`{"errorMessage":"boom"}`)}, nil
		}
		return execenv.Result{Payload: []byte("null")}, nil
	}
	if _, err := fx.s.PutFunctionEventInvokeConfig(fx.ctx, &api.PutFunctionEventInvokeConfigInput{
		FunctionName: ptr("bad"), MaximumRetryAttempts: ptr(int32(1)),
	}); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if _, err := fx.s.Invoke(fx.ctx, &api.InvokeInput{FunctionName: ptr("ok"), InvocationType: ptr("Event"), Payload: []byte(`{}`)}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := fx.s.Invoke(fx.ctx, &api.InvokeInput{FunctionName: ptr("bad"), InvocationType: ptr("Event"), Payload: []byte(`{}`)}); err != nil {
		t.Fatal(err)
	}
	okDims := map[string]string{"FunctionName": "ok"}
	badDims := map[string]string{"FunctionName": "bad"}
	waitFor(t, fx, "three ages of ok", func() bool { return len(snk.values("AsyncEventAge", okDims)) == 3 })
	if got := snk.sum("AsyncEventsReceived", okDims); got != 3 {
		t.Errorf("AsyncEventsReceived of ok = %v, want 3", got)
	}
	for _, v := range snk.values("AsyncEventAge", okDims) {
		if v != 0 {
			t.Errorf("age of an event run at once = %v ms, want 0", v)
		}
	}
	// bad's first attempt fails; its retry comes a minute later, at age
	// 60000 ms, and fails too: the event is dropped.
	waitFor(t, fx, "bad's first attempt", func() bool { return len(snk.values("AsyncEventAge", badDims)) == 1 })
	want := fx.clk.Now().Add(time.Minute)
	deadline := time.Now().Add(5 * time.Second)
	for fx.s.queue.nextDue() != want {
		if time.Now().After(deadline) {
			t.Fatalf("retry not scheduled: next %v, want %v", fx.s.queue.nextDue(), want)
		}
		time.Sleep(time.Millisecond)
	}
	if got := snk.sum("AsyncEventsDropped", badDims); got != 0 {
		t.Errorf("dropped before retries ran out: %v", got)
	}
	fx.clk.Advance(time.Minute)
	waitFor(t, fx, "bad dropped", func() bool { return snk.sum("AsyncEventsDropped", badDims) == 1 })
	ages := snk.values("AsyncEventAge", badDims)
	if len(ages) != 2 || ages[0] != 0 || ages[1] != 60000 {
		t.Errorf("ages of bad's attempts = %v, want [0 60000]", ages)
	}
	if got := snk.sum("AsyncEventsReceived", badDims); got != 1 {
		t.Errorf("AsyncEventsReceived of bad = %v, want 1", got)
	}
	if got := snk.sum("AsyncEventsDropped", okDims); got != 0 {
		t.Errorf("AsyncEventsDropped of ok = %v, want 0", got)
	}
	for _, d := range snk.all() {
		if d.Namespace != "AWS/Lambda" {
			t.Errorf("namespace %q", d.Namespace)
		}
		switch d.Name {
		case "AsyncEventAge":
			if d.Unit != "Milliseconds" {
				t.Errorf("AsyncEventAge unit %q", d.Unit)
			}
		case "AsyncEventsReceived", "AsyncEventsDropped":
			if d.Unit != "Count" {
				t.Errorf("%s unit %q", d.Name, d.Unit)
			}
		}
	}
}

// TestAsyncMetricsQualified: an event for an alias also counts under the
// Resource dimension.
func TestAsyncMetricsQualified(t *testing.T) {
	fx, snk := newMetricsFixture(t)
	fx.create(t, "f")
	if _, err := fx.s.PublishVersion(fx.ctx, &api.PublishVersionInput{FunctionName: ptr("f")}); err != nil {
		t.Fatal(err)
	}
	fx.clk.Advance(DefaultStateDelay)
	if _, err := fx.s.CreateAlias(fx.ctx, &api.CreateAliasInput{FunctionName: ptr("f"), Name: ptr("live"), FunctionVersion: ptr("1")}); err != nil {
		t.Fatal(err)
	}
	if _, err := fx.s.Invoke(fx.ctx, &api.InvokeInput{FunctionName: ptr("f"), Qualifier: ptr("live"), InvocationType: ptr("Event"), Payload: []byte(`{}`)}); err != nil {
		t.Fatal(err)
	}
	res := map[string]string{"FunctionName": "f", "Resource": "f:live"}
	waitFor(t, fx, "the alias's event age", func() bool { return len(snk.values("AsyncEventAge", res)) == 1 })
	if snk.sum("AsyncEventsReceived", res) != 1 || snk.sum("AsyncEventsReceived", map[string]string{"FunctionName": "f"}) != 1 {
		t.Errorf("AsyncEventsReceived by Resource %v, by function %v", snk.sum("AsyncEventsReceived", res), snk.sum("AsyncEventsReceived", map[string]string{"FunctionName": "f"}))
	}
}

// TestProvisionedConcurrencyMetrics: with four environments provisioned
// for an alias and three invocations running at once, the period's
// ProvisionedConcurrentExecutions is 3 and ProvisionedConcurrencyUtilization
// 0.75, per alias and per function; invocations of another version report
// nothing of the kind.
func TestProvisionedConcurrencyMetrics(t *testing.T) {
	fx, snk := newMetricsFixture(t)
	fx.create(t, "f")
	if _, err := fx.s.PublishVersion(fx.ctx, &api.PublishVersionInput{FunctionName: ptr("f")}); err != nil {
		t.Fatal(err)
	}
	fx.clk.Advance(DefaultStateDelay)
	if _, err := fx.s.CreateAlias(fx.ctx, &api.CreateAliasInput{FunctionName: ptr("f"), Name: ptr("live"), FunctionVersion: ptr("1")}); err != nil {
		t.Fatal(err)
	}
	if _, err := fx.s.PutProvisionedConcurrencyConfig(fx.ctx, &api.PutProvisionedConcurrencyConfigInput{
		FunctionName: ptr("f"), Qualifier: ptr("live"), ProvisionedConcurrentExecutions: ptr(int32(4)),
	}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		out, err := fx.s.GetProvisionedConcurrencyConfig(fx.ctx, &api.GetProvisionedConcurrencyConfigInput{FunctionName: ptr("f"), Qualifier: ptr("live")})
		if err == nil && str(out.Status) == "READY" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("provisioned concurrency not READY: %v %v", out, err)
		}
		time.Sleep(time.Millisecond)
	}
	release := make(chan struct{})
	fx.exec.handle = func(fn *execenv.Function, req execenv.Request) (execenv.Result, error) {
		if fn.Version == "1" {
			<-release
		}
		return execenv.Result{Payload: []byte("null")}, nil
	}
	var wg sync.WaitGroup
	for range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := fx.s.Invoke(fx.ctx, &api.InvokeInput{FunctionName: ptr("f"), Qualifier: ptr("live")}); err != nil {
				t.Error(err)
			}
		}()
		fx.waitCall(t) // one at a time, so each start sees the others busy
	}
	close(release)
	wg.Wait()
	if _, err := fx.s.Invoke(fx.ctx, &api.InvokeInput{FunctionName: ptr("f")}); err != nil {
		t.Fatal(err)
	}
	fx.s.metrics.flush(context.Background())
	res := map[string]string{"FunctionName": "f", "Resource": "f:live"}
	fn := map[string]string{"FunctionName": "f"}
	for _, tt := range []struct {
		name string
		dims map[string]string
		want float64
	}{
		{"ProvisionedConcurrentExecutions", res, 3},
		{"ProvisionedConcurrentExecutions", fn, 3},
		{"ProvisionedConcurrencyUtilization", res, 0.75},
		{"ProvisionedConcurrencyUtilization", fn, 0.75},
	} {
		if got := snk.values(tt.name, tt.dims); len(got) != 1 || got[0] != tt.want {
			t.Errorf("%s %v = %v, want [%v]", tt.name, tt.dims, got, tt.want)
		}
	}
	for _, d := range snk.all() {
		if d.Name == "ProvisionedConcurrentExecutions" && d.Unit != "Count" || d.Name == "ProvisionedConcurrencyUtilization" && d.Unit != "None" {
			t.Errorf("%s unit %q", d.Name, d.Unit)
		}
	}

	// The next period, one invocation of the alias: one in four in use.
	fx.s.Invoke(fx.ctx, &api.InvokeInput{FunctionName: ptr("f"), Qualifier: ptr("live")})
	snk.mu.Lock()
	snk.data = nil
	snk.mu.Unlock()
	fx.s.metrics.flush(context.Background())
	if got := snk.values("ProvisionedConcurrencyUtilization", res); len(got) != 1 || got[0] != 0.25 {
		t.Errorf("next period's utilization = %v, want [0.25]", got)
	}
}
