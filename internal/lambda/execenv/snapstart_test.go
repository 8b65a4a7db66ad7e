package execenv

import (
	"context"
	"strings"
	"sync"
	"testing"
)

const pySnap = `
import os
INIT_PID = os.getpid()
print("snapshot init")

def handler(event, context):
    print("restored handler")
    return {"init_pid": INIT_PID, "pid": os.getpid(), "stream": context.log_stream_name,
            "env_stream": os.environ["AWS_LAMBDA_LOG_STREAM_NAME"], "api": os.environ["AWS_LAMBDA_RUNTIME_API"],
            "init_type": os.environ["AWS_LAMBDA_INITIALIZATION_TYPE"]}
`

func TestSnapStartRestoresFromOneInit(t *testing.T) {
	needPython(t)
	p := newTestPool(t, 0)
	fn := function("python3.12", "app.handler", makeZip(t, zipFile{name: "app.py", body: pySnap}))
	fn.Version = "1"
	fn.SnapStart = true

	// Two at once: two environments, both forks of the one snapshot.
	var wg sync.WaitGroup
	results := make([]Result, 2)
	for i := range results {
		wg.Go(func() {
			res, err := p.Invoke(context.Background(), fn, Request{ID: newUUID(), Payload: []byte(`{}`), Tail: true})
			if err != nil {
				t.Error(err)
			}
			results[i] = res
		})
	}
	wg.Wait()
	var got []map[string]any
	for _, res := range results {
		if res.FunctionError != "" {
			t.Fatalf("%s\n%s", res.Payload, res.LogTail)
		}
		got = append(got, decode(t, res.Payload))
		tail := string(res.LogTail)
		if !res.Cold || res.InitDuration != 0 || !strings.Contains(tail, "RESTORE_START") || !strings.Contains(tail, "RESTORE_REPORT Restore Duration") {
			t.Errorf("restored invocation: cold %v init %v\n%s", res.Cold, res.InitDuration, tail)
		}
		if r := reportLine(t, res.LogTail); !strings.Contains(r, "\tRestore Duration: ") || !strings.Contains(r, "\tBilled Restore Duration: ") || strings.Contains(r, "Init Duration") {
			t.Errorf("REPORT %q", r)
		}
		if strings.Contains(tail, "snapshot init") {
			t.Errorf("a restored environment ran init again:\n%s", tail)
		}
	}
	if got[0]["init_pid"] != got[1]["init_pid"] || got[0]["pid"] == got[1]["pid"] || got[0]["pid"] == got[0]["init_pid"] {
		t.Errorf("not two forks of one snapshot: %v", got)
	}
	for _, g := range got {
		if g["stream"] != g["env_stream"] || !strings.Contains(g["stream"].(string), "[1]") {
			t.Errorf("restored environment's stream: %v", g)
		}
	}
	if got[0]["init_type"] != "snap-start" {
		t.Errorf("AWS_LAMBDA_INITIALIZATION_TYPE = %v", got[0]["init_type"])
	}
	if got[0]["api"] == got[1]["api"] {
		t.Errorf("two environments share a Runtime API: %v", got)
	}
	// Warm invocations reuse a restored environment.
	warm := invoke(t, p, fn, `{}`)
	if warm.Cold || warm.RestoreDuration != 0 || strings.Contains(reportLine(t, warm.LogTail), "Restore") {
		t.Errorf("warm: %+v\n%s", warm, warm.LogTail)
	}
	// The snapshot's own init output went to its log stream once.
	inits := 0
	for _, log := range p.sink.all() {
		inits += strings.Count(log, "snapshot init")
	}
	if inits != 1 {
		t.Errorf("init output logged %d times", inits)
	}

	pids := envPIDs(p.Pool, fn.Name)
	p.mu.Lock()
	snapPID := p.snaps[keyOf(fn)].tree.PID()
	p.mu.Unlock()
	p.Retire(fn.Account, fn.Region, fn.Name, "")
	for _, pid := range append(pids, snapPID) {
		if alive(pid) {
			t.Errorf("pid %d survives Retire", pid)
		}
	}
}

func TestSnapStartInitError(t *testing.T) {
	needPython(t)
	p := newTestPool(t, 0)
	fn := function("python3.12", "missing.handler", makeZip(t, zipFile{name: "app.py", body: "x = 1\n"}))
	fn.SnapStart = true
	res := invoke(t, p, fn, `{}`)
	if e := decode(t, res.Payload); res.FunctionError != "Unhandled" || e["errorType"] != "Runtime.ImportModuleError" {
		t.Errorf("%s %s", res.FunctionError, res.Payload)
	}
}

func TestSnapStartExitEndsOnlyThatEnvironment(t *testing.T) {
	needPython(t)
	p := newTestPool(t, 0)
	fn := function("python3.12", "app.handler", makeZip(t, zipFile{name: "app.py", body: `
import os
def handler(event, context):
    if event.get("exit"):
        os._exit(3)
    return os.getpid()
`}))
	fn.SnapStart = true
	invoke(t, p, fn, `{}`)
	res := invoke(t, p, fn, `{"exit":true}`)
	if e := decode(t, res.Payload); e["errorType"] != "Runtime.ExitError" || !strings.HasSuffix(e["errorMessage"].(string), "Runtime exited with error: exit status 3") {
		t.Errorf("%s", res.Payload)
	}
	if again := invoke(t, p, fn, `{}`); again.FunctionError != "" || again.RestoreDuration == 0 && !again.Cold {
		t.Errorf("after exit: %+v %s", again, again.Payload)
	}
}

func TestSnapStartProvisioned(t *testing.T) {
	needPython(t)
	p := newTestPool(t, 0)
	fn := function("python3.12", "app.handler", makeZip(t, zipFile{name: "app.py", body: pySnap}))
	fn.Version = "2"
	fn.SnapStart = true
	if err := p.Provision(context.Background(), fn, 1); err != nil {
		t.Fatal(err)
	}
	res := invoke(t, p, fn, `{}`)
	if res.Cold || res.RestoreDuration != 0 || res.InitDuration != 0 {
		t.Errorf("provisioned: %+v", res)
	}
	if m := decode(t, res.Payload); m["init_type"] != "provisioned-concurrency" || m["pid"] == m["init_pid"] {
		t.Errorf("provisioned restored environment: %v", m)
	}
}
