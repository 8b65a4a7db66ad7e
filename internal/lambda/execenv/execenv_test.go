package execenv

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

const pyEcho = `
import os, json
print("init line")

def handler(event, context):
    print("handling", event.get("value"))
    return {
        "event": event,
        "request_id": context.aws_request_id,
        "function_name": context.function_name,
        "function_version": context.function_version,
        "invoked_function_arn": context.invoked_function_arn,
        "memory_limit_in_mb": context.memory_limit_in_mb,
        "log_group_name": context.log_group_name,
        "log_stream_name": context.log_stream_name,
        "remaining": context.get_remaining_time_in_millis(),
        "client_custom": context.client_context.custom if context.client_context else None,
        "pid": os.getpid(),
        "cwd": os.getcwd(),
        "env": {k: os.environ.get(k) for k in [
            "AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_VERSION", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
            "AWS_LAMBDA_LOG_GROUP_NAME", "AWS_LAMBDA_LOG_STREAM_NAME", "AWS_LAMBDA_INITIALIZATION_TYPE",
            "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_EXECUTION_ENV", "AWS_ACCESS_KEY_ID",
            "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL", "TZ", "LANG", "_HANDLER",
            "LAMBDA_TASK_ROOT", "LAMBDA_RUNTIME_DIR", "AWS_LAMBDA_RUNTIME_API", "MY_VAR", "_X_AMZN_TRACE_ID", "TMPDIR"]},
    }
`

func TestPythonHandler(t *testing.T) {
	needPython(t)
	p := newTestPool(t, 0)
	fn := function("python3.12", "app.handler", makeZip(t, zipFile{name: "app.py", body: pyEcho}))
	fn.Environment = map[string]string{"MY_VAR": "mine"}
	// The deadline is on the fake clock, the runtime compares it with the
	// wall clock: leave room for a slow machine.
	fn.Timeout = time.Minute
	ctx := context.Background()
	cc := `{"custom":{"k":"v"}}`
	res, err := p.Invoke(ctx, fn, Request{
		ID: "11111111-2222-4333-8444-555555555555", Payload: []byte(`{"value":"hello"}`),
		ClientContext: "eyJjdXN0b20iOnsiayI6InYifX0=", // base64 of cc
		TraceID:       "Root=1-5759e988-bd862e3fe1be46a994272793",
		InvokedARN:    fn.ARN + ":$LATEST",
		Tail:          true,
	})
	_ = cc
	if err != nil {
		t.Fatal(err)
	}
	if res.FunctionError != "" {
		t.Fatalf("function error: %s", res.Payload)
	}
	got := decode(t, res.Payload)
	if ev := got["event"].(map[string]any); ev["value"] != "hello" {
		t.Errorf("event = %v", ev)
	}
	for k, want := range map[string]any{
		"request_id":           "11111111-2222-4333-8444-555555555555",
		"function_name":        fn.Name,
		"function_version":     "$LATEST",
		"invoked_function_arn": fn.ARN + ":$LATEST",
		"memory_limit_in_mb":   "128",
		"log_group_name":       "/aws/lambda/" + fn.Name,
	} {
		if got[k] != want {
			t.Errorf("context %s = %v, want %v", k, got[k], want)
		}
	}
	if r := got["remaining"].(float64); r <= 0 || r > 60000 {
		t.Errorf("get_remaining_time_in_millis = %v", r)
	}
	if c, _ := got["client_custom"].(map[string]any); c["k"] != "v" {
		t.Errorf("client_context.custom = %v", got["client_custom"])
	}
	stream, _ := got["log_stream_name"].(string)
	if !regexp.MustCompile(`^\d{4}/\d{2}/\d{2}/\[\$LATEST\][0-9a-f]{32}$`).MatchString(stream) {
		t.Errorf("log stream name %q", stream)
	}
	env := got["env"].(map[string]any)
	for k, want := range map[string]string{
		"AWS_LAMBDA_FUNCTION_NAME":        fn.Name,
		"AWS_LAMBDA_FUNCTION_VERSION":     "$LATEST",
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128",
		"AWS_LAMBDA_LOG_GROUP_NAME":       "/aws/lambda/" + fn.Name,
		"AWS_LAMBDA_LOG_STREAM_NAME":      stream,
		"AWS_LAMBDA_INITIALIZATION_TYPE":  "on-demand",
		"AWS_REGION":                      "us-east-1",
		"AWS_DEFAULT_REGION":              "us-east-1",
		"AWS_EXECUTION_ENV":               "AWS_Lambda_python3.12",
		"AWS_ACCESS_KEY_ID":               "AKIDTEST",
		"AWS_SECRET_ACCESS_KEY":           "secret",
		"AWS_SESSION_TOKEN":               "token",
		"AWS_ENDPOINT_URL":                "http://127.0.0.1:4566",
		"TZ":                              ":UTC",
		"LANG":                            "en_US.UTF-8",
		"_HANDLER":                        "app.handler",
		"MY_VAR":                          "mine",
		"_X_AMZN_TRACE_ID":                "Root=1-5759e988-bd862e3fe1be46a994272793",
	} {
		if env[k] != want {
			t.Errorf("env %s = %v, want %q", k, env[k], want)
		}
	}
	if env["LAMBDA_TASK_ROOT"] != got["cwd"] {
		t.Errorf("cwd %v is not LAMBDA_TASK_ROOT %v", got["cwd"], env["LAMBDA_TASK_ROOT"])
	}
	if tmp, _ := env["TMPDIR"].(string); !strings.HasPrefix(tmp, p.opts.Dir+"/env/") {
		t.Errorf("TMPDIR = %q, want the environment's own under %s", tmp, p.opts.Dir)
	}
	if api, _ := env["AWS_LAMBDA_RUNTIME_API"].(string); !strings.HasPrefix(api, "127.0.0.1:") {
		t.Errorf("AWS_LAMBDA_RUNTIME_API = %q", api)
	}

	// The log: init output, START, the handler's output, END, REPORT.
	tail := string(res.LogTail)
	wantOrder := []string{"INIT_START Runtime Version: python:3.12", "init line", "START RequestId: 11111111-2222-4333-8444-555555555555 Version: $LATEST",
		"handling hello", "END RequestId: 11111111-2222-4333-8444-555555555555", "REPORT RequestId: 11111111-2222-4333-8444-555555555555\t"}
	at := 0
	for _, w := range wantOrder {
		i := strings.Index(tail[at:], w)
		if i < 0 {
			t.Fatalf("log tail lacks %q after offset %d:\n%s", w, at, tail)
		}
		at += i + len(w)
	}
	logs := p.sink.all()
	if got := logs["/aws/lambda/"+fn.Name+" "+stream]; !strings.Contains(got, "handling hello") || !strings.Contains(got, "REPORT RequestId") {
		t.Errorf("log stream %s holds:\n%s\nall: %v", stream, got, logs)
	}
}

// reportRE is the REPORT line as Lambda writes it.
var reportRE = regexp.MustCompile(`^REPORT RequestId: [0-9a-f-]{36}\tDuration: \d+\.\d\d ms\tBilled Duration: \d+ ms\tMemory Size: 128 MB\tMax Memory Used: \d+ MB\t(Init Duration: \d+\.\d\d ms\t|Restore Duration: \d+\.\d\d ms\tBilled Restore Duration: \d+ ms\t)?$`)

func reportLine(t *testing.T, tail []byte) string {
	t.Helper()
	for _, l := range strings.Split(string(tail), "\n") {
		if strings.HasPrefix(l, "REPORT ") {
			if !reportRE.MatchString(l) {
				t.Errorf("REPORT line %q does not match %s", l, reportRE)
			}
			return l
		}
	}
	t.Fatalf("no REPORT line in:\n%s", tail)
	return ""
}

func TestColdThenWarm(t *testing.T) {
	needPython(t)
	p := newTestPool(t, 0)
	fn := function("python3.12", "app.handler", makeZip(t, zipFile{name: "app.py", body: pyEcho}))
	first := invoke(t, p, fn, `{"value":"1"}`)
	second := invoke(t, p, fn, `{"value":"2"}`)
	if !first.Cold || second.Cold {
		t.Errorf("Cold = %v then %v, want true then false", first.Cold, second.Cold)
	}
	if r := reportLine(t, first.LogTail); !strings.Contains(r, "Init Duration: ") {
		t.Errorf("cold REPORT lacks Init Duration: %q", r)
	}
	if r := reportLine(t, second.LogTail); strings.Contains(r, "Init Duration") {
		t.Errorf("warm REPORT has Init Duration: %q", r)
	}
	if strings.Contains(string(second.LogTail), "INIT_START") || strings.Contains(string(second.LogTail), "init line") {
		t.Errorf("warm tail holds init output:\n%s", second.LogTail)
	}
	if a, b := decode(t, first.Payload)["pid"], decode(t, second.Payload)["pid"]; a != b {
		t.Errorf("warm invocation ran in pid %v, cold in %v", b, a)
	}
	if second.MaxMemoryUsedMB <= 0 {
		t.Errorf("Max Memory Used = %d", second.MaxMemoryUsedMB)
	}
	if n := p.Idle(fn.Account, fn.Region, fn.Name, ""); n != 1 {
		t.Errorf("Idle = %d, want 1", n)
	}
	pids := envPIDs(p.Pool, fn.Name)
	p.Close()
	for _, pid := range pids {
		if alive(pid) {
			t.Errorf("pid %d survives Close", pid)
		}
	}
}

func TestNodeHandlers(t *testing.T) {
	needNode(t)
	p := newTestPool(t, 0)
	code := makeZip(t,
		zipFile{name: "index.js", body: `
console.log("node init");
exports.handler = async (event, context) => {
  console.log("async got", event.value);
  return { value: event.value, requestId: context.awsRequestId, name: context.functionName,
           version: context.functionVersion, arn: context.invokedFunctionArn, memory: context.memoryLimitInMB,
           remaining: context.getRemainingTimeInMillis(), init: process.env.AWS_LAMBDA_INITIALIZATION_TYPE,
           exec: process.env.AWS_EXECUTION_ENV, pid: process.pid };
};
exports.cb = (event, context, callback) => {
  setTimeout(() => callback(null, { via: "callback", value: event.value }), 5);
};
exports.nested = { deep: async () => "deep" };
`},
		zipFile{name: "src/lib/esm.mjs", body: `export const handler = async (event) => ({ esm: true, value: event.value });`},
	)
	for _, tc := range []struct {
		handler string
		check   func(map[string]any) error
	}{
		{"index.handler", func(m map[string]any) error {
			if m["value"] != "v" || m["memory"] != "128" || m["init"] != "on-demand" || m["exec"] != "AWS_Lambda_nodejs20.x" {
				return fmt.Errorf("got %v", m)
			}
			if r := m["remaining"].(float64); r <= 0 || r > 60000 {
				return fmt.Errorf("remaining %v", r)
			}
			return nil
		}},
		{"index.cb", func(m map[string]any) error {
			if m["via"] != "callback" || m["value"] != "v" {
				return fmt.Errorf("got %v", m)
			}
			return nil
		}},
		{"src/lib/esm.handler", func(m map[string]any) error {
			if m["esm"] != true || m["value"] != "v" {
				return fmt.Errorf("got %v", m)
			}
			return nil
		}},
	} {
		t.Run(tc.handler, func(t *testing.T) {
			fn := function("nodejs20.x", tc.handler, code)
			fn.Timeout = time.Minute // see TestPythonHandler
			res := invoke(t, p, fn, `{"value":"v"}`)
			if res.FunctionError != "" {
				t.Fatalf("function error %s\n%s", res.Payload, res.LogTail)
			}
			if err := tc.check(decode(t, res.Payload)); err != nil {
				t.Error(err)
			}
		})
	}
	fn := function("nodejs20.x", "index.nested.deep", code)
	if res := invoke(t, p, fn, `{}`); string(res.Payload) != `"deep"` {
		t.Errorf("nested export: %s", res.Payload)
	}
	fn = function("nodejs20.x", "index.handler", code)
	res := invoke(t, p, fn, `{"value":"x"}`)
	if !regexp.MustCompile(`\d{4}-\d\d-\d\dT[\d:.]+Z\t[0-9a-f-]{36}\tINFO\tasync got x`).Match(res.LogTail) {
		t.Errorf("console.log line not as Lambda writes it:\n%s", res.LogTail)
	}
	if !strings.Contains(string(res.LogTail), "node init") {
		t.Errorf("init output missing from the first invocation's log:\n%s", res.LogTail)
	}
}

func TestGoProvidedRuntime(t *testing.T) {
	code := goZip(t)
	p := newTestPool(t, 0)
	fn := function("provided.al2023", "bootstrap", code)
	res := invoke(t, p, fn, `{"value":"gopher"}`)
	if res.FunctionError != "" {
		t.Fatalf("function error %s\n%s", res.Payload, res.LogTail)
	}
	m := decode(t, res.Payload)
	if m["value"] != "gopher" || m["functionName"] != fn.Name || m["arn"] != fn.ARN || m["hasDeadline"] != true {
		t.Errorf("reply %v", m)
	}
	for _, want := range []string{"go init", "go handler got gopher"} {
		if !strings.Contains(string(res.LogTail), want) {
			t.Errorf("log lacks %q:\n%s", want, res.LogTail)
		}
	}
	if r := reportLine(t, res.LogTail); !strings.Contains(r, "Init Duration") {
		t.Errorf("cold REPORT %q", r)
	}
	warm := invoke(t, p, fn, `{"value":"again"}`)
	if warm.Cold || decode(t, warm.Payload)["pid"] != m["pid"] {
		t.Errorf("second invocation not warm: %s", warm.Payload)
	}
	failed := invoke(t, p, fn, `{"fail":true}`)
	if failed.FunctionError != "Unhandled" {
		t.Fatalf("FunctionError = %q", failed.FunctionError)
	}
	if e := decode(t, failed.Payload); e["errorMessage"] != "go handler failed" || e["errorType"] != "errorString" {
		t.Errorf("error payload %s", failed.Payload)
	}
	exited := invoke(t, p, fn, `{"exit":true}`)
	e := decode(t, exited.Payload)
	if exited.FunctionError != "Unhandled" || e["errorType"] != "Runtime.ExitError" ||
		!regexp.MustCompile(`^RequestId: [0-9a-f-]{36} Error: Runtime exited with error: exit status 1$`).MatchString(e["errorMessage"].(string)) {
		t.Errorf("exit: %s %s", exited.FunctionError, exited.Payload)
	}
	if n := p.Idle(fn.Account, fn.Region, fn.Name, ""); n != 0 {
		t.Errorf("Idle after exit = %d", n)
	}
	// The next invocation cold-starts a new environment.
	if again := invoke(t, p, fn, `{"value":"new"}`); !again.Cold || again.FunctionError != "" {
		t.Errorf("after exit: cold %v, %s", again.Cold, again.Payload)
	}
}

func TestHandlerErrors(t *testing.T) {
	needPython(t)
	needNode(t)
	py := makeZip(t, zipFile{name: "app.py", body: `
class MyError(Exception):
    pass

def fail(event, context):
    raise MyError("it broke")

def unserialisable(event, context):
    return {1, 2}
`}, zipFile{name: "bad.py", body: "def handler(:\n"})
	js := makeZip(t, zipFile{name: "index.js", body: `
exports.throws = async () => { const e = new TypeError("bad type"); throw e; };
exports.cbErr = (event, context, cb) => cb(new Error("callback failed"));
exports.str = async () => { throw "plain string"; };
`})
	p := newTestPool(t, 0)
	for _, tc := range []struct {
		name, runtime, handler string
		code                   []byte
		errType, message       string
		stackKey               string
		warmAfter              bool   // the environment survives
		payload                string // "{}" if empty
	}{
		{"python exception", "python3.12", "app.fail", py, "MyError", "it broke", "stackTrace", true, ""},
		{"python marshal", "python3.12", "app.unserialisable", py, "Runtime.MarshalError", "Unable to marshal response: Object of type set is not JSON serializable", "stackTrace", true, ""},
		{"python handler not found", "python3.12", "app.nothere", py, "Runtime.HandlerNotFound", "Handler 'nothere' missing on module 'app'", "stackTrace", true, ""},
		{"python import error", "python3.12", "missing.handler", py, "Runtime.ImportModuleError", "Unable to import module 'missing': No module named 'missing'", "stackTrace", false, ""},
		{"python syntax error", "python3.12", "bad.handler", py, "Runtime.UserCodeSyntaxError", "Syntax error in module 'bad'", "stackTrace", false, ""},
		{"python malformed handler", "python3.12", "nodot", py, "Runtime.MalformedHandlerName", "Bad handler 'nodot'", "stackTrace", false, ""},
		{"node throw", "nodejs20.x", "index.throws", js, "TypeError", "bad type", "trace", true, ""},
		{"node callback error", "nodejs20.x", "index.cbErr", js, "Error", "callback failed", "trace", true, ""},
		{"node string", "nodejs20.x", "index.str", js, "string", "plain string", "trace", true, ""},
		{"node import error", "nodejs20.x", "missing.handler", js, "Runtime.ImportModuleError", "Error: Cannot find module 'missing'", "trace", false, ""},
		{"node handler not found", "nodejs20.x", "index.nothere", js, "Runtime.HandlerNotFound", "index.nothere is undefined or not exported", "trace", false, ""},
		{"provided without bootstrap", "provided.al2023", "x", py, "Runtime.InvalidEntrypoint", "Couldn't find valid bootstrap(s)", "", false, ""},
		{"python bad event", "python3.12", "app.fail", py, "Runtime.UnmarshalError", "Unable to unmarshal input", "stackTrace", true, "not json"},
		{"node bad event", "nodejs20.x", "index.throws", js, "Runtime.UnmarshalError", "Unable to unmarshal input", "trace", true, "not json"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			fn := function(tc.runtime, tc.handler, tc.code)
			payload := tc.payload
			if payload == "" {
				payload = `{}`
			}
			res := invoke(t, p, fn, payload)
			if res.FunctionError != "Unhandled" {
				t.Fatalf("FunctionError = %q, payload %s", res.FunctionError, res.Payload)
			}
			e := decode(t, res.Payload)
			if e["errorType"] != tc.errType || !strings.Contains(fmt.Sprint(e["errorMessage"]), tc.message) {
				t.Errorf("error %s, want type %s message %q", res.Payload, tc.errType, tc.message)
			}
			if tc.stackKey != "" {
				if _, ok := e[tc.stackKey].([]any); !ok {
					t.Errorf("no %s list in %s", tc.stackKey, res.Payload)
				}
			}
			if tc.errType == "MyError" {
				st := fmt.Sprint(e["stackTrace"])
				if !strings.Contains(st, "app.py") || strings.Contains(st, "bootstrap.py") {
					t.Errorf("stackTrace %s", st)
				}
			}
			if got := p.Idle(fn.Account, fn.Region, fn.Name, "") == 1; got != tc.warmAfter {
				t.Errorf("environment kept warm = %v, want %v", got, tc.warmAfter)
			}
			if !strings.Contains(string(res.LogTail), "REPORT RequestId") {
				t.Errorf("no REPORT in tail:\n%s", res.LogTail)
			}
		})
	}
}

func TestTimeout(t *testing.T) {
	needPython(t)
	p := newTestPool(t, 0)
	fn := function("python3.12", "app.handler", makeZip(t, zipFile{name: "app.py", body: `
import time
def handler(event, context):
    print("about to hang")
    time.sleep(600)
`}))
	type ret struct {
		res Result
		err error
	}
	done := make(chan ret, 1)
	reqID := newUUID()
	go func() {
		res, err := p.Invoke(context.Background(), fn, Request{ID: reqID, Payload: []byte(`{}`), Tail: true})
		done <- ret{res, err}
	}()
	// Wait for the handler to be running: the runtime has taken the event.
	var pid int
	eventually(t, "the handler to run", func() bool {
		p.mu.Lock()
		defer p.mu.Unlock()
		for _, e := range p.envs[keyOf(fn)] {
			e.mu.Lock()
			out, tree := e.out, e.tree
			e.mu.Unlock()
			if out == nil || tree == nil {
				continue
			}
			out.mu.Lock()
			printed := false
			for _, ev := range out.events {
				printed = printed || ev.Message == "about to hang"
			}
			out.mu.Unlock()
			if printed {
				pid = tree.PID()
				return true
			}
		}
		return false
	})
	p.clk.Advance(2999 * time.Millisecond)
	select {
	case r := <-done:
		t.Fatalf("returned before the timeout: %+v", r)
	default:
	}
	p.clk.Advance(time.Millisecond)
	r := <-done
	if r.err != nil {
		t.Fatal(r.err)
	}
	if !r.res.TimedOut || r.res.FunctionError != "Unhandled" {
		t.Errorf("TimedOut %v FunctionError %q", r.res.TimedOut, r.res.FunctionError)
	}
	msg := decode(t, r.res.Payload)["errorMessage"].(string)
	if !regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z ` + reqID + ` Task timed out after 3\.00 seconds$`).MatchString(msg) {
		t.Errorf("errorMessage %q", msg)
	}
	if len(decode(t, r.res.Payload)) != 1 {
		t.Errorf("payload %s has more than errorMessage", r.res.Payload)
	}
	tail := string(r.res.LogTail)
	for _, want := range []string{"about to hang", reqID + " Task timed out after 3.00 seconds", "Duration: 3000.00 ms\tBilled Duration: 3000 ms"} {
		if !strings.Contains(tail, want) {
			t.Errorf("log lacks %q:\n%s", want, tail)
		}
	}
	if alive(pid) {
		t.Errorf("timed-out environment's pid %d still runs", pid)
	}
	if n := p.Idle(fn.Account, fn.Region, fn.Name, "") + p.Busy(fn.Account, fn.Region, fn.Name, ""); n != 0 {
		t.Errorf("%d environments left after timeout", n)
	}
}

func TestIdleReaping(t *testing.T) {
	needPython(t)
	p := newTestPool(t, 5*time.Minute)
	fn := function("python3.12", "app.handler", makeZip(t, zipFile{name: "app.py", body: pyEcho}))
	invoke(t, p, fn, `{}`)
	pids := envPIDs(p.Pool, fn.Name)
	if len(pids) != 1 {
		t.Fatalf("pids %v", pids)
	}
	p.clk.Advance(4 * time.Minute)
	if res := invoke(t, p, fn, `{}`); res.Cold {
		t.Fatal("reaped before the idle timeout")
	}
	// Idle time counts from the last invocation.
	p.clk.Advance(4 * time.Minute)
	if n := p.Idle(fn.Account, fn.Region, fn.Name, ""); n != 1 {
		t.Fatalf("Idle = %d before the timeout", n)
	}
	p.clk.Advance(time.Minute)
	eventually(t, "the idle environment to be reaped", func() bool {
		return p.Idle(fn.Account, fn.Region, fn.Name, "") == 0 && !alive(pids[0])
	})
	if res := invoke(t, p, fn, `{}`); !res.Cold {
		t.Error("invocation after reaping was warm")
	}
}

func TestProvisioned(t *testing.T) {
	needPython(t)
	p := newTestPool(t, time.Minute)
	fn := function("python3.12", "app.handler", makeZip(t, zipFile{name: "app.py", body: pyEcho}))
	fn.Version = "1"
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := p.Provision(ctx, fn, 2); err != nil {
		t.Fatal(err)
	}
	if n := p.Idle(fn.Account, fn.Region, fn.Name, "1"); n != 2 {
		t.Fatalf("Idle = %d after Provision(2)", n)
	}
	res := invoke(t, p, fn, `{}`)
	if res.Cold || res.InitDuration != 0 || strings.Contains(reportLine(t, res.LogTail), "Init Duration") {
		t.Errorf("provisioned invocation: cold %v, init %v\n%s", res.Cold, res.InitDuration, res.LogTail)
	}
	if got := decode(t, res.Payload)["env"].(map[string]any)["AWS_LAMBDA_INITIALIZATION_TYPE"]; got != "provisioned-concurrency" {
		t.Errorf("AWS_LAMBDA_INITIALIZATION_TYPE = %v", got)
	}
	// Provisioned environments are not reaped.
	p.clk.Advance(time.Hour)
	if n := p.Idle(fn.Account, fn.Region, fn.Name, "1"); n != 2 {
		t.Errorf("Idle = %d an hour later", n)
	}
	// Three at once: the provisioned ones serve first, then on-demand.
	var wg sync.WaitGroup
	results := make([]Result, 3)
	slow := *fn
	for i := range 3 {
		wg.Go(func() {
			r, err := p.Invoke(ctx, &slow, Request{ID: newUUID(), Payload: []byte(`{}`)})
			if err != nil {
				t.Error(err)
			}
			results[i] = r
		})
	}
	wg.Wait()
	for _, r := range results {
		if r.FunctionError != "" {
			t.Errorf("concurrent invocation failed: %s", r.Payload)
		}
	}
	if err := p.Provision(ctx, fn, 0); err != nil {
		t.Fatal(err)
	}
	p.mu.Lock()
	for _, e := range p.envs[keyOf(fn)] {
		if e.provisioned {
			t.Errorf("provisioned environment left after Provision(0)")
		}
	}
	p.mu.Unlock()
}

func TestConcurrentInvocationsNeverShareAnEnvironment(t *testing.T) {
	needPython(t)
	p := newTestPool(t, 0)
	fn := function("python3.12", "app.handler", makeZip(t, zipFile{name: "app.py", body: `
import os, time
def handler(event, context):
    # A second invocation reaching this environment while one runs would
    # find busy set (the runtime client would have to be re-entered).
    global busy
    if globals().get("busy"):
        raise Exception("two invocations at once")
    busy = True
    time.sleep(0.05)
    busy = False
    return os.getpid()
`}))
	const n = 4
	var wg sync.WaitGroup
	for round := 0; round < 2; round++ {
		for range n {
			wg.Go(func() {
				res, err := p.Invoke(context.Background(), fn, Request{ID: newUUID(), Payload: []byte(`{}`)})
				if err != nil || res.FunctionError != "" {
					t.Errorf("err %v payload %s", err, res.Payload)
				}
			})
		}
		wg.Wait()
	}
	if busy := p.Busy(fn.Account, fn.Region, fn.Name, ""); busy != 0 {
		t.Errorf("Busy = %d after all returned", busy)
	}
	if idle := p.Idle(fn.Account, fn.Region, fn.Name, ""); idle < 1 || idle > n {
		t.Errorf("Idle = %d", idle)
	}
}

func TestLayers(t *testing.T) {
	needPython(t)
	needNode(t)
	p := newTestPool(t, 0)
	pyLayer := Layer{ARN: "arn:aws:lambda:us-east-1:123456789012:layer:py:1", Code: makeZip(t,
		zipFile{name: "python/helper.py", body: "WHO = 'layer one'\n"},
		zipFile{name: "python/lib/python3.12/site-packages/sitepkg.py", body: "X = 'site'\n"},
	)}
	pyLayer2 := Layer{ARN: "arn:aws:lambda:us-east-1:123456789012:layer:py2:1", Code: makeZip(t,
		zipFile{name: "python/helper.py", body: "WHO = 'layer two'\n"},
	)}
	fn := function("python3.12", "app.handler", makeZip(t, zipFile{name: "app.py", body: `
import helper, sitepkg
def handler(event, context):
    return [helper.WHO, sitepkg.X]
`}))
	fn.Layers = []Layer{pyLayer, pyLayer2}
	if res := invoke(t, p, fn, `{}`); string(res.Payload) != `["layer two", "site"]` {
		t.Errorf("python with layers: %s %s", res.FunctionError, res.Payload)
	}
	nodeLayer := Layer{ARN: "arn:aws:lambda:us-east-1:123456789012:layer:js:1", Code: makeZip(t,
		zipFile{name: "nodejs/node_modules/greeter/index.js", body: "exports.greet = (n) => 'hi ' + n;\n"},
	)}
	jsFn := function("nodejs20.x", "index.handler", makeZip(t, zipFile{name: "index.js", body: `
const { greet } = require("greeter");
exports.handler = async (e) => greet(e.who);
`}))
	jsFn.Layers = []Layer{nodeLayer}
	if res := invoke(t, p, jsFn, `{"who":"node"}`); string(res.Payload) != `"hi node"` {
		t.Errorf("node with layer: %s %s", res.FunctionError, res.Payload)
	}
}

func TestResponseTooLarge(t *testing.T) {
	needPython(t)
	p := newTestPool(t, 0)
	fn := function("python3.12", "app.handler", makeZip(t, zipFile{name: "app.py", body: `
def handler(event, context):
    return "x" * (7 * 1024 * 1024)
`}))
	res := invoke(t, p, fn, `{}`)
	e := decode(t, res.Payload)
	if res.FunctionError != "Unhandled" || e["errorType"] != "Function.ResponseSizeTooLarge" ||
		e["errorMessage"] != "Response payload size exceeded maximum allowed payload size (6291556 bytes)." {
		t.Errorf("%s %s", res.FunctionError, res.Payload)
	}
}

func TestRetireAndClose(t *testing.T) {
	needPython(t)
	p := newTestPool(t, 0)
	fn := function("python3.12", "app.handler", makeZip(t, zipFile{name: "app.py", body: pyEcho}))
	invoke(t, p, fn, `{}`)
	pids := envPIDs(p.Pool, fn.Name)
	p.Retire(fn.Account, fn.Region, fn.Name, "")
	for _, pid := range pids {
		if alive(pid) {
			t.Errorf("pid %d survives Retire", pid)
		}
	}
	if n := p.Idle(fn.Account, fn.Region, fn.Name, ""); n != 0 {
		t.Errorf("Idle = %d after Retire", n)
	}
	if res := invoke(t, p, fn, `{}`); !res.Cold {
		t.Error("invocation after Retire was warm")
	}
	// A new revision never reuses an old environment.
	fn2 := *fn
	fn2.Revision = "r2"
	if res := invoke(t, p, &fn2, `{}`); !res.Cold {
		t.Error("new revision ran warm in an old environment")
	}
	pids = envPIDs(p.Pool, fn.Name)
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	for _, pid := range pids {
		if alive(pid) {
			t.Errorf("pid %d survives Close", pid)
		}
	}
	if _, err := p.Invoke(context.Background(), fn, Request{ID: newUUID()}); err == nil {
		t.Error("Invoke after Close succeeded")
	}
}

func TestCheckRuntime(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	var ru *RuntimeUnavailableError
	if err := CheckRuntime("python3.12"); !errors.As(err, &ru) || ru.Missing != "python3" || !strings.Contains(err.Error(), "python3") {
		t.Errorf("python without python3: %v", err)
	}
	if err := CheckRuntime("nodejs20.x"); !errors.As(err, &ru) || ru.Missing != "node" {
		t.Errorf("node without node: %v", err)
	}
	if err := CheckRuntime("provided.al2023"); err != nil {
		t.Errorf("provided.al2023: %v", err)
	}
	if err := CheckRuntime("java21"); !errors.As(err, &ru) {
		t.Errorf("java21: %v", err)
	}
}

func TestReportFormat(t *testing.T) {
	needPython(t)
	p := newTestPool(t, 0)
	fn := function("python3.12", "app.handler", makeZip(t, zipFile{name: "app.py", body: "def handler(e, c):\n    return 1\n"}))
	cold := invoke(t, p, fn, `{}`)
	reportLine(t, cold.LogTail)
	warm := invoke(t, p, fn, `{}`)
	r := reportLine(t, warm.LogTail)
	if !strings.HasSuffix(r, "MB\t") {
		t.Errorf("warm REPORT %q", r)
	}
	// LogTail is the last 4 KB of the invocation's log.
	noisy := function("python3.12", "app.handler", makeZip(t, zipFile{name: "app.py", body: "def handler(e, c):\n    print('y' * 10000)\n    return 1\n"}))
	res := invoke(t, p, noisy, `{}`)
	if len(res.LogTail) != 4096 || !strings.Contains(string(res.LogTail), "REPORT RequestId") {
		t.Errorf("tail of %d bytes:\n%.200s", len(res.LogTail), res.LogTail)
	}
	var m json.RawMessage
	if json.Unmarshal(res.Payload, &m) != nil {
		t.Errorf("payload %s", res.Payload)
	}
}

func TestCloseLeavesNoGoroutineOrProcess(t *testing.T) {
	needPython(t)
	needNode(t)
	before := runtime.NumGoroutine()
	p := newTestPool(t, time.Minute)
	py := function("python3.12", "app.handler", makeZip(t, zipFile{name: "app.py", body: pyEcho}))
	js := function("nodejs20.x", "index.handler", makeZip(t, zipFile{name: "index.js", body: `
require("child_process").spawn("sleep", ["300"], { stdio: "inherit" });
exports.handler = async () => 1;
`}))
	invoke(t, p, py, `{}`)
	invoke(t, p, js, `{}`)
	if err := p.Provision(context.Background(), py, 1); err != nil {
		t.Fatal(err)
	}
	var pids []int
	for _, name := range []string{py.Name, js.Name} {
		for _, pid := range envPIDs(p.Pool, name) {
			pids = append(pids, pid)
		}
	}
	p.mu.Lock()
	for _, list := range p.envs {
		for _, e := range list {
			all, _ := e.tree.PIDs()
			pids = append(pids, all...)
		}
	}
	p.mu.Unlock()
	if len(pids) < 4 { // three leaders and node's sleep
		t.Fatalf("pids %v", pids)
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	for _, pid := range pids {
		if alive(pid) {
			t.Errorf("pid %d survives Close", pid)
		}
	}
	eventually(t, "goroutines to end", func() bool { return runtime.NumGoroutine() <= before })
}

func TestInitTimeout(t *testing.T) {
	needPython(t)
	p := newTestPool(t, 0)
	fn := function("python3.12", "app.handler", makeZip(t, zipFile{name: "app.py", body: `
import time
print("slow init")
time.sleep(600)
def handler(e, c):
    return 1
`}))
	done := make(chan Result, 1)
	go func() {
		res, err := p.Invoke(context.Background(), fn, Request{ID: newUUID(), Tail: true})
		if err != nil {
			t.Error(err)
		}
		done <- res
	}()
	eventually(t, "init to be waited for", func() bool { return p.clk.Waiters() == 1 })
	p.clk.Advance(initLimit)
	res := <-done
	if !res.TimedOut || res.FunctionError != "Unhandled" || !strings.Contains(string(res.Payload), "Task timed out after 3.00 seconds") {
		t.Errorf("init timeout: %+v %s", res, res.Payload)
	}
	if p.Busy(fn.Account, fn.Region, fn.Name, "")+p.Idle(fn.Account, fn.Region, fn.Name, "") != 0 {
		t.Error("environment left after init timeout")
	}
}

func TestContextCancelEndsTheEnvironment(t *testing.T) {
	needPython(t)
	p := newTestPool(t, 0)
	fn := function("python3.12", "app.handler", makeZip(t, zipFile{name: "app.py", body: `
import time
def handler(e, c):
    time.sleep(600)
`}))
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		_, err := p.Invoke(ctx, fn, Request{ID: newUUID()})
		errc <- err
	}()
	eventually(t, "the invocation to be delivered", func() bool {
		p.mu.Lock()
		defer p.mu.Unlock()
		for _, e := range p.envs[keyOf(fn)] {
			e.mu.Lock()
			running := e.cur != nil
			e.mu.Unlock()
			if running {
				return true
			}
		}
		return false
	})
	pids := envPIDs(p.Pool, fn.Name)
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v", err)
	}
	for _, pid := range pids {
		if alive(pid) {
			t.Errorf("pid %d survives the cancelled invocation", pid)
		}
	}
}

func TestRetireLetsAnInvocationInProgressFinish(t *testing.T) {
	needPython(t)
	p := newTestPool(t, 0)
	fn := function("python3.12", "app.handler", makeZip(t, zipFile{name: "app.py", body: `
import time
def handler(event, context):
    print("started")
    time.sleep(0.3)
    return "finished"
`}))
	done := make(chan Result, 1)
	go func() {
		res, err := p.Invoke(context.Background(), fn, Request{ID: newUUID()})
		if err != nil {
			t.Error(err)
		}
		done <- res
	}()
	eventually(t, "the invocation to be delivered", func() bool {
		return p.Busy(fn.Account, fn.Region, fn.Name, "") == 1 && len(envPIDs(p.Pool, fn.Name)) == 1 && func() bool {
			p.mu.Lock()
			defer p.mu.Unlock()
			for _, e := range p.envs[keyOf(fn)] {
				e.mu.Lock()
				cur := e.cur != nil
				e.mu.Unlock()
				if cur {
					return true
				}
			}
			return false
		}()
	})
	pids := envPIDs(p.Pool, fn.Name)
	p.Retire(fn.Account, fn.Region, fn.Name, "$LATEST")
	res := <-done
	if res.FunctionError != "" || string(res.Payload) != `"finished"` {
		t.Errorf("retired mid-invocation: %s %s", res.FunctionError, res.Payload)
	}
	if alive(pids[0]) || p.Idle(fn.Account, fn.Region, fn.Name, "") != 0 {
		t.Error("the retired environment was kept")
	}
}

func TestProvisionedEnvironmentIsReplaced(t *testing.T) {
	needPython(t)
	p := newTestPool(t, 0)
	fn := function("python3.12", "app.handler", makeZip(t, zipFile{name: "app.py", body: `
import os
def handler(event, context):
    if event.get("exit"):
        os._exit(1)
    return os.getpid()
`}))
	fn.Version = "3"
	if err := p.Provision(context.Background(), fn, 1); err != nil {
		t.Fatal(err)
	}
	before := envPIDs(p.Pool, fn.Name)
	if res := invoke(t, p, fn, `{"exit":true}`); res.FunctionError != "Unhandled" {
		t.Fatalf("%s", res.Payload)
	}
	eventually(t, "a replacement provisioned environment", func() bool {
		if p.Idle(fn.Account, fn.Region, fn.Name, "3") != 1 {
			return false
		}
		now := envPIDs(p.Pool, fn.Name)
		return len(now) == 1 && now[0] != before[0]
	})
	if res := invoke(t, p, fn, `{}`); res.Cold || res.InitDuration != 0 {
		t.Errorf("invocation after replacement: cold %v", res.Cold)
	}
}
