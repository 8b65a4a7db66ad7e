package lambda

import (
	"archive/zip"
	"bytes"
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	api "github.com/nephele-dev/nephele/internal/api/lambda"
	"github.com/nephele-dev/nephele/internal/awserr"
	"github.com/nephele-dev/nephele/internal/clock"
	"github.com/nephele-dev/nephele/internal/lambda/execenv"
	"github.com/nephele-dev/nephele/internal/service"
	"github.com/nephele-dev/nephele/internal/store"
)

// call is one invocation the fake executor saw.
type call struct {
	fn  execenv.Function
	req execenv.Request
	at  time.Time
}

// fakeExec stands in for execenv: it records invocations and answers
// with handle (an echo by default).
type fakeExec struct {
	clk    clock.Clock
	mu     sync.Mutex
	calls  []call
	called chan call
	handle func(fn *execenv.Function, req execenv.Request) (execenv.Result, error)

	prepare  func(fn *execenv.Function) // called by Prepare, when set
	prepared []string                   // versions Prepare was asked for
	retired  []string                   // versions Retire was asked for ("" for all)
}

func (f *fakeExec) Invoke(ctx context.Context, fn *execenv.Function, req execenv.Request) (execenv.Result, error) {
	c := call{fn: *fn, req: req, at: f.clk.Now()}
	f.mu.Lock()
	f.calls = append(f.calls, c)
	h := f.handle
	f.mu.Unlock()
	select {
	case f.called <- c:
	default:
	}
	if h != nil {
		return h(fn, req)
	}
	return execenv.Result{Payload: req.Payload}, nil
}

func (f *fakeExec) Provision(ctx context.Context, fn *execenv.Function, n int) error { return nil }
func (f *fakeExec) Prepare(ctx context.Context, fn *execenv.Function) error {
	f.mu.Lock()
	f.prepared = append(f.prepared, fn.Version)
	hook := f.prepare
	f.mu.Unlock()
	if hook != nil {
		hook(fn)
	}
	return nil
}

func (f *fakeExec) Retire(account, region, name, version string) {
	f.mu.Lock()
	f.retired = append(f.retired, version)
	f.mu.Unlock()
}

func (f *fakeExec) Busy(account, region, name, version string) int { return 0 }
func (f *fakeExec) Close() error                                   { return nil }

// fixture is a service on a fake clock and a memory store.
type fixture struct {
	s    *Service
	clk  *clock.Fake
	exec *fakeExec
	ctx  context.Context
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	clk := clock.NewFake(time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC))
	exec := &fakeExec{clk: clk, called: make(chan call, 100)}
	s := New(store.NewMemory(), clk, Options{
		Executor:     exec,
		Rand:         func() float64 { return 0.5 },
		CheckRuntime: func(string) error { return nil },
	})
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	ctx := service.WithRequest(context.Background(), service.Request{AccountID: "123456789012", Region: "us-east-1", RequestID: "req-1"})
	return &fixture{s: s, clk: clk, exec: exec, ctx: ctx}
}

// zipOf builds a .zip holding the given files.
func zipOf(t testing.TB, files map[string]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := zip.NewWriter(&buf)
	for name, body := range files {
		f, err := w.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		f.Write([]byte(body))
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

const testRole = "arn:aws:iam::123456789012:role/lambda-role"

// create makes an Active function named name.
func (fx *fixture) create(t testing.TB, name string) *api.FunctionConfiguration {
	t.Helper()
	out, err := fx.s.CreateFunction(fx.ctx, &api.CreateFunctionInput{
		FunctionName: ptr(name), Runtime: ptr("python3.12"), Handler: ptr("app.handler"), Role: ptr(testRole),
		Code: &api.FunctionCode{ZipFile: zipOf(t, map[string]string{"app.py": "def handler(e, c): return e"})},
	})
	if err != nil {
		t.Fatal(err)
	}
	fx.clk.Advance(DefaultStateDelay)
	return out
}

// wantCode fails unless err is an AWS error with code (and, if given,
// status).
func wantCode(t *testing.T, err error, code string, status int) *awserr.Error {
	t.Helper()
	var ae *awserr.Error
	if !errors.As(err, &ae) {
		t.Fatalf("got %v, want %s", err, code)
	}
	if ae.Code != code || (status != 0 && ae.Status != status) {
		t.Fatalf("got %s (%d) %q, want %s (%d)", ae.Code, ae.Status, ae.Message, code, status)
	}
	return ae
}

// waitCall waits for the fake executor's next invocation.
func (fx *fixture) waitCall(t *testing.T) call {
	t.Helper()
	select {
	case c := <-fx.exec.called:
		return c
	case <-time.After(5 * time.Second):
		t.Fatal("no invocation")
	}
	return call{}
}
