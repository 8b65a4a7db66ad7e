package execenv

import (
	"context"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

const pySnap = `
import os, random
INIT_PID = os.getpid()
print("snapshot init")

def handler(event, context):
    print("restored handler")
    return {"init_pid": INIT_PID, "pid": os.getpid(), "stream": context.log_stream_name,
            "env_stream": os.environ["AWS_LAMBDA_LOG_STREAM_NAME"], "api": os.environ["AWS_LAMBDA_RUNTIME_API"],
            "init_type": os.environ["AWS_LAMBDA_INITIALIZATION_TYPE"], "rnd": random.random()}
`

const jsSnap = `
const INIT_PID = process.pid;
console.log("snapshot init");
const big = Array.from({ length: 50000 }, (_, i) => ({ i, s: "x" + i })); // a heap worth copying

exports.handler = async (event, context) => {
  console.log("restored handler");
  if (event.work) {
    // Enough garbage for several collections, a timer, the thread pool
    // and a socket: what V8 and libuv must still do after the fork.
    for (let k = 0; k < 20; k++) Array.from({ length: 100000 }, (_, i) => [i]);
    await new Promise((r) => setTimeout(r, 5));
    const rnd = await new Promise((ok, no) => require("crypto").randomBytes(8, (e, b) => (e ? no(e) : ok(b))));
    const file = await require("fs").promises.readFile(__filename, "utf8");
    const api = await new Promise((ok, no) => {
      const [host, port] = process.env.AWS_LAMBDA_RUNTIME_API.split(":");
      const c = require("net").connect({ host, port: Number(port) }, () => { c.end(); ok(true); });
      c.on("error", no);
    });
    return { rnd: rnd.length, file: file.length > 0, api, big: big.length };
  }
  return { init_pid: INIT_PID, pid: process.pid, stream: context.logStreamName,
           env_stream: process.env.AWS_LAMBDA_LOG_STREAM_NAME, api: process.env.AWS_LAMBDA_RUNTIME_API,
           init_type: process.env.AWS_LAMBDA_INITIALIZATION_TYPE, rnd: Math.random() };
};
`

// snapCase is a SnapStart function in one runtime.
type snapCase struct {
	name, runtime, handler string
	need                   func(*testing.T)
	files                  []zipFile
	work                   bool // the handler answers {"work":true} with what it did after the fork
}

var snapCases = []snapCase{
	{"python", "python3.12", "app.handler", needPython, []zipFile{{name: "app.py", body: pySnap}}, false},
	{"node", "nodejs20.x", "index.handler", needNode, []zipFile{{name: "index.js", body: jsSnap}}, true},
}

func TestSnapStartRestoresFromOneInit(t *testing.T) {
	for _, tc := range snapCases {
		t.Run(tc.name, func(t *testing.T) { testSnapStartRestores(t, tc) })
	}
}

func testSnapStartRestores(t *testing.T, tc snapCase) {
	tc.need(t)
	p := newTestPool(t, 0)
	fn := function(tc.runtime, tc.handler, makeZip(t, tc.files...))
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
	if got[0]["rnd"] == got[1]["rnd"] {
		t.Errorf("two restored environments drew the same random number: %v", got)
	}
	if got[0]["api"] == got[1]["api"] {
		t.Errorf("two environments share a Runtime API: %v", got)
	}
	// Warm invocations reuse a restored environment.
	warm := invoke(t, p, fn, `{}`)
	if warm.Cold || warm.RestoreDuration != 0 || strings.Contains(reportLine(t, warm.LogTail), "Restore") {
		t.Errorf("warm: %+v\n%s", warm, warm.LogTail)
	}
	if tc.work {
		res := invoke(t, p, fn, `{"work":true}`)
		if m := decode(t, res.Payload); res.FunctionError != "" || m["rnd"] != 8.0 || m["file"] != true || m["api"] != true || m["big"] != 50000.0 {
			t.Errorf("a restored environment's runtime does not work: %s\n%s", res.Payload, res.LogTail)
		}
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
	for _, tc := range []struct {
		name, runtime string
		need          func(*testing.T)
		file          zipFile
	}{
		{"python", "python3.12", needPython, zipFile{name: "app.py", body: "x = 1\n"}},
		{"node", "nodejs20.x", needNode, zipFile{name: "index.js", body: "exports.x = 1;\n"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.need(t)
			p := newTestPool(t, 0)
			fn := function(tc.runtime, "missing.handler", makeZip(t, tc.file))
			fn.SnapStart = true
			res := invoke(t, p, fn, `{}`)
			if e := decode(t, res.Payload); res.FunctionError != "Unhandled" || e["errorType"] != "Runtime.ImportModuleError" {
				t.Errorf("%s %s", res.FunctionError, res.Payload)
			}
		})
	}
}

func TestSnapStartExitEndsOnlyThatEnvironment(t *testing.T) {
	for _, tc := range []struct {
		name, runtime, handler string
		need                   func(*testing.T)
		file                   zipFile
	}{
		{"python", "python3.12", "app.handler", needPython, zipFile{name: "app.py", body: `
import os
def handler(event, context):
    if event.get("exit"):
        os._exit(3)
    return os.getpid()
`}},
		{"node", "nodejs20.x", "index.handler", needNode, zipFile{name: "index.js", body: `
exports.handler = async (event) => {
  if (event.exit) process.exit(3);
  return process.pid;
};
`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.need(t)
			p := newTestPool(t, 0)
			fn := function(tc.runtime, tc.handler, makeZip(t, tc.file))
			fn.SnapStart = true
			invoke(t, p, fn, `{}`)
			res := invoke(t, p, fn, `{"exit":true}`)
			if e := decode(t, res.Payload); e["errorType"] != "Runtime.ExitError" || !strings.HasSuffix(e["errorMessage"].(string), "Runtime exited with error: exit status 3") {
				t.Errorf("%s", res.Payload)
			}
			if again := invoke(t, p, fn, `{}`); again.FunctionError != "" || again.RestoreDuration == 0 && !again.Cold {
				t.Errorf("after exit: %+v %s", again, again.Payload)
			}
		})
	}
}

func TestSnapStartProvisioned(t *testing.T) {
	for _, tc := range snapCases {
		t.Run(tc.name, func(t *testing.T) {
			tc.need(t)
			p := newTestPool(t, 0)
			fn := function(tc.runtime, tc.handler, makeZip(t, tc.files...))
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
		})
	}
}

// Without a C compiler the Node.js addon cannot be built: SnapStart
// functions still run, with ordinary cold starts.
func TestSnapStartNodeWithoutCompilerColdStarts(t *testing.T) {
	needNode(t)
	nodeAddons.mu.Lock()
	saved := nodeAddons.built
	nodeAddons.built = make(map[string]nodeAddon)
	nodeAddons.mu.Unlock()
	t.Cleanup(func() {
		nodeAddons.mu.Lock()
		nodeAddons.built = saved
		nodeAddons.mu.Unlock()
	})
	t.Setenv("CC", "no-such-compiler-here")
	t.Setenv("XDG_CACHE_HOME", t.TempDir()) // no addon built earlier
	p := newTestPool(t, 0)
	fn := function("nodejs20.x", "index.handler", makeZip(t, zipFile{name: "index.js", body: jsSnap}))
	fn.Version = "3"
	fn.SnapStart = true
	res := invoke(t, p, fn, `{}`)
	if m := decode(t, res.Payload); res.FunctionError != "" || !res.Cold || !strings.Contains(reportLine(t, res.LogTail), "\tInit Duration: ") || res.RestoreDuration != 0 ||
		m["init_type"] != "on-demand" || m["pid"] != m["init_pid"] {
		t.Errorf("without the addon: %+v %v\n%s", res, m, res.LogTail)
	}
	it, err := machineInterpreters.get(context.Background(), node, "nodejs20.x")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := nodeSnapAddon(context.Background(), t.TempDir(), it, p.log); err == nil || !strings.Contains(err.Error(), "C compiler (no-such-compiler-here)") {
		t.Errorf("the addon's build error does not say what is missing: %v", err)
	}
}

// Prepare takes the snapshot ahead, as publishing a version does on
// Lambda: the init runs before any invoke, and the first invoke restores.
func TestSnapStartPrepare(t *testing.T) {
	for _, tc := range snapCases {
		t.Run(tc.name, func(t *testing.T) {
			tc.need(t)
			p := newTestPool(t, 0)
			fn := function(tc.runtime, tc.handler, makeZip(t, tc.files...))
			fn.Version = "4"
			fn.SnapStart = true
			if err := p.Prepare(context.Background(), fn); err != nil {
				t.Fatal(err)
			}
			p.mu.Lock()
			s := p.snaps[keyOf(fn)]
			p.mu.Unlock()
			if s == nil {
				t.Fatal("no snapshot after Prepare")
			}
			res := invoke(t, p, fn, `{}`)
			if m := decode(t, res.Payload); !res.Cold || !strings.Contains(string(res.LogTail), "RESTORE_REPORT") || m["pid"] == m["init_pid"] {
				t.Errorf("first invoke after Prepare: %+v %v", res, m)
			}
			cold := function(tc.runtime, tc.handler, makeZip(t, tc.files...))
			if err := p.Prepare(context.Background(), cold); err != nil {
				t.Fatal(err)
			}
			p.mu.Lock()
			n := len(p.snaps)
			p.mu.Unlock()
			if n != 1 {
				t.Errorf("Prepare of a function without SnapStart made a snapshot (%d)", n)
			}
		})
	}
}

// A snapshot that never says it is ready (a timer from init hangs its
// event loop) fails the invocation after the init limit, and Retire
// still ends it.
func TestSnapStartNodeHungAfterInit(t *testing.T) {
	needNode(t)
	p := newTestPool(t, 0)
	fn := function("nodejs20.x", "index.handler", makeZip(t, zipFile{name: "index.js", body: `
setTimeout(() => { for (;;) {} }, 0);
exports.handler = async () => 1;
`}))
	fn.Version = "1"
	fn.SnapStart = true
	done := make(chan error, 1)
	go func() {
		_, err := p.Invoke(context.Background(), fn, Request{ID: newUUID(), Payload: []byte(`{}`)})
		done <- err
	}()
	// Let init end and the snapshot hang (real time), then let the init
	// limit pass on the fake clock.
	time.Sleep(1500 * time.Millisecond)
	var err error
	deadline := time.Now().Add(10 * time.Second)
wait:
	for {
		p.clk.Advance(initLimit + time.Second)
		select {
		case err = <-done:
			break wait
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatal("the invocation still waits for a hung snapshot")
		}
	}
	if err == nil || !strings.Contains(err.Error(), fn.Name+": did not initialise within") {
		t.Errorf("err = %v, want the snapshot's init limit after init", err)
	}
	retired := make(chan struct{})
	go func() {
		p.Retire(fn.Account, fn.Region, fn.Name, "")
		close(retired)
	}()
	select {
	case <-retired:
	case <-time.After(10 * time.Second):
		t.Fatal("Retire hangs")
	}
}

// A fork request the snapshot cannot serve (here: no descriptor left to
// receive the environment's output pipe) is answered, and the invocation
// fails at once rather than waiting for ever.
func TestSnapStartNodeForkFailureAnswered(t *testing.T) {
	needNode(t)
	if _, err := exec.LookPath("prlimit"); err != nil {
		t.Skip("no prlimit")
	}
	p := newTestPool(t, 0)
	fn := function("nodejs20.x", "index.handler", makeZip(t, zipFile{name: "index.js", body: jsSnap}))
	fn.Version = "1"
	fn.SnapStart = true
	if err := p.Prepare(context.Background(), fn); err != nil {
		t.Fatal(err)
	}
	p.mu.Lock()
	pid := p.snaps[keyOf(fn)].tree.PID()
	p.mu.Unlock()
	// No descriptor number left: the one the request carries is lost.
	if out, err := exec.Command("prlimit", "--pid", strconv.Itoa(pid), "--nofile=1:1").CombinedOutput(); err != nil {
		t.Skipf("prlimit: %v %s", err, out)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	_, err := p.Invoke(ctx, fn, Request{ID: newUUID(), Payload: []byte(`{}`)})
	if err == nil || !strings.Contains(err.Error(), "could not fork") {
		t.Errorf("err = %v, want the snapshot's refusal", err)
	}
}

// What a function prints is all in its log, before END, however much it
// prints: a restored environment's output blocks when the log pipe is
// full (nephele's end of the pipe is non-blocking, and a fork receives it
// as it is: Python's unbuffered writes were lost), and node's writes to a
// pipe, asynchronous by default, were still queued when the response
// went.
func TestOutputNotLost(t *testing.T) {
	for _, tc := range []struct {
		name, runtime, handler string
		need                   func(*testing.T)
		snap                   bool
		file                   zipFile
	}{
		{"python restored", "python3.12", "app.handler", needPython, true, zipFile{name: "app.py", body: `
def handler(event, context):
    for i in range(200):
        print("line%03d " % i + "x" * 65536)
    return "done"
`}},
		{"node restored", "nodejs20.x", "index.handler", needNode, true, zipFile{name: "index.js", body: jsPrints}},
		{"node cold", "nodejs20.x", "index.handler", needNode, false, zipFile{name: "index.js", body: jsPrints}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.need(t)
			p := newTestPool(t, 0)
			fn := function(tc.runtime, tc.handler, makeZip(t, tc.file))
			fn.Version = "1"
			fn.SnapStart = tc.snap
			res := invoke(t, p, fn, `{}`)
			if res.FunctionError != "" || !res.Cold {
				t.Fatalf("cold %v, %s", res.Cold, res.Payload)
			}
			eventually(t, "all 200 lines in the log", func() bool {
				n := 0
				for _, log := range p.sink.all() {
					for i := range 200 {
						if strings.Contains(log, fmt.Sprintf("line%03d ", i)) {
							n++
						}
					}
				}
				return n == 200
			})
		})
	}
}

// jsPrints prints 200 lines of 64 KiB.
const jsPrints = `
exports.handler = async () => {
  for (let i = 0; i < 200; i++) console.log("line" + String(i).padStart(3, "0") + " " + "x".repeat(65536));
  return "done";
};
`
