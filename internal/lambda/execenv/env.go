package execenv

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/nephele-dev/nephele/internal/procs"
)

// initLimit is how long Lambda gives an on-demand environment's init phase.
const initLimit = 10 * time.Second

// initLimit is initLimit on the pool's clock: ten seconds of real time
// whatever the time scale, since init is real work.
func (p *Pool) initLimit() time.Duration {
	return time.Duration(float64(initLimit) * p.opts.TimeScale)
}

// envState is where an environment is in its life.
type envState int

const (
	starting envState = iota // process started, init not yet done (provisioning)
	idle                     // initialised and waiting for an invocation
	busy                     // running an invocation (or cold-starting for one)
	gone                     // killed or being killed
)

// envKey says which environments may serve a function: environments are
// only reused for the same version and revision of the same function.
type envKey struct {
	account, region, name, version, revision string
}

func keyOf(fn *Function) envKey {
	return envKey{fn.Account, fn.Region, fn.Name, fn.Version, fn.Revision}
}

// env is one execution environment: a process tree running the runtime's
// bootstrap and the Runtime API server it talks to.
type env struct {
	p           *Pool
	key         envKey
	fn          *Function
	fam         family
	snap        *snapshot // set when restored from a SnapStart snapshot
	noSnap      bool      // SnapStart wanted but unavailable here: a cold start
	id          string    // 32 hex digits, the end of the log stream name
	stream      string    // log stream name
	provisioned bool

	handlers gate // Runtime API handlers running

	// next hands an invocation to the runtime's GET /next.
	next chan *invocation
	// dead is closed when the environment is being killed.
	dead     chan struct{}
	killOnce sync.Once
	killed   chan struct{} // closed once kill has finished

	initDone   chan struct{} // closed at the runtime's first GET /next
	initOnce   sync.Once
	initFailed chan struct{} // closed when the runtime posts /init/error

	mu sync.Mutex // guards what follows
	// The parts of a started environment, published once by startEnv;
	// after that, the goroutine that owns the environment (the
	// invocation, or Provision) reads them without the lock.
	srv    *http.Server
	served chan struct{} // closed when srv.Serve has returned
	tree   proc
	out    *output

	started      time.Time     // on the clock, as the process started
	initDuration time.Duration // set before initDone or initFailed is closed
	cur          *invocation
	initErr      *answer
	peakMem      int64 // bytes
	memLooks     int   // times memory was measured

	// used says the environment has served an invocation, so Init
	// Duration is reported once; only the invocation that owns the busy
	// environment touches it.
	used bool

	// Guarded by Pool.mu.
	state     envState
	retired   bool // kill once the invocation in progress ends
	idleTimer interface{ Stop() bool }
	idleGen   uint64
}

// gate counts Runtime API handlers in progress and, once closed, lets no
// more in, so kill can wait for the last one.
type gate struct {
	mu     sync.Mutex
	n      int
	closed bool
	zero   chan struct{}
}

func (g *gate) enter() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return false
	}
	g.n++
	return true
}

func (g *gate) leave() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.n--
	if g.n == 0 && g.zero != nil {
		close(g.zero)
		g.zero = nil
	}
}

func (g *gate) closeAndWait() {
	g.mu.Lock()
	g.closed = true
	if g.n == 0 {
		g.mu.Unlock()
		return
	}
	ch := make(chan struct{})
	g.zero = ch
	g.mu.Unlock()
	<-ch
}

// invocation is one request on its way through an environment.
type invocation struct {
	req           Request
	arn           string
	clientContext string
	deadline      time.Time
	answer        chan answer // buffered 1
}

// newID returns 32 hex digits, as in a Lambda log stream name.
func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// startEnv starts an environment for fn; it returns once the process runs,
// not once it has initialised. A *initError means the function itself
// cannot start (no bootstrap), which the caller reports as a function
// error.
func (p *Pool) startEnv(ctx context.Context, e *env) error {
	fn := e.fn
	task, opt, err := p.unpack.code(fn)
	if err != nil {
		return err
	}
	rt, err := p.runtimeDir()
	if err != nil {
		return fmt.Errorf("execenv: writing the runtime bootstraps: %w", err)
	}

	var path string
	var args []string
	var it interpreter
	switch e.fam {
	case python, node:
		it, err = p.interp.get(ctx, e.fam, fn.Runtime)
		if err != nil {
			return err
		}
		p.noteInterpreter(fn.Runtime, it)
		path = it.path
		if snapStarts(fn) {
			s, err := p.snapshotFor(ctx, fn)
			switch {
			case errors.Is(err, errNoSnapAddon):
				e.noSnap = true // a cold start instead
			case err != nil:
				return err
			case s.initErr != nil:
				return &snapInitError{a: *s.initErr, init: s.initDuration}
			default:
				e.snap = s
			}
		}
		if e.fam == python {
			// Unbuffered, so what a handler prints is in the log before
			// its response, as on Lambda.
			args = []string{"-u", filepath.Join(rt, "bootstrap.py")}
		} else {
			args = []string{filepath.Join(rt, "bootstrap.js")}
		}
	case provided:
		// Lambda looks for the bootstrap in the package, then in the layers.
		for _, c := range []string{filepath.Join(task, "bootstrap"), filepath.Join(opt, "bootstrap")} {
			if fi, err := os.Stat(c); err == nil && fi.Mode().IsRegular() {
				path = c
				break
			}
		}
		if path == "" {
			return &initError{errType: "Runtime.InvalidEntrypoint", message: fmt.Sprintf("Error: Couldn't find valid bootstrap(s): [%s %s]",
				filepath.Join(task, "bootstrap"), filepath.Join(opt, "bootstrap"))}
		}
	default:
		return &RuntimeUnavailableError{Runtime: fn.Runtime}
	}

	// Each environment has a /tmp of its own, as on Lambda; TMPDIR points
	// the runtimes' temp file functions at it.
	tmp := filepath.Join(p.opts.Dir, "env", e.id, "tmp")
	if err := os.MkdirAll(tmp, 0o700); err != nil {
		return fmt.Errorf("execenv: environment /tmp: %w", err)
	}

	// Everything below is built in locals and published under e.mu at the
	// end, unless the environment was killed meanwhile (Close, Retire).
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("execenv: Runtime API listener: %w", err)
	}
	srv := &http.Server{Handler: e.runtimeAPI()}
	served := make(chan struct{})
	go func() {
		defer close(served)
		_ = srv.Serve(ln)
	}()
	out, err := newOutput(p.clk)
	if err != nil {
		_ = srv.Close()
		<-served
		return fmt.Errorf("execenv: output pipe: %w", err)
	}
	vars := e.environ(ln.Addr().String(), task, opt, rt, tmp, it)
	var tree proc
	if e.snap != nil {
		out.add("RESTORE_START Runtime Version: %s", runtimeVersion(fn.Runtime, it))
		e.mu.Lock()
		e.started = p.clk.Now()
		e.mu.Unlock()
		var f *forked
		if f, err = e.snap.fork(ctx, vars, out.w); err == nil {
			tree = f
		}
	} else {
		out.add("INIT_START Runtime Version: %s", runtimeVersion(fn.Runtime, it))
		e.mu.Lock()
		e.started = p.clk.Now()
		e.mu.Unlock()
		var t *procs.Tree
		if t, err = procs.Start(procs.Spec{Path: path, Args: args, Dir: task, Env: vars, Output: out.w}); err == nil {
			limitMemory(t, fn.MemoryMB)
			tree = t
		}
	}
	e.mu.Lock()
	select {
	case <-e.dead:
		e.mu.Unlock()
		if tree != nil {
			_ = tree.Kill()
		}
		_ = srv.Close()
		<-served
		out.close()
		return errClosed
	default:
	}
	// kill ends whatever was published, the tree included if it started.
	e.srv, e.served, e.out = srv, served, out
	if err == nil {
		e.tree = tree
	}
	e.mu.Unlock()
	if err != nil {
		if e.fam == provided {
			// Lambda words it "RequestId: ID Error: fork/exec
			// /var/task/bootstrap: permission denied"; Invoke adds the ID.
			return &initError{errType: "Runtime.InvalidEntrypoint", message: fmt.Sprintf("Error: %v", err)}
		}
		return fmt.Errorf("execenv: starting %s: %w", path, err)
	}
	return nil
}

// initTime is the init phase's duration: until the first GET /next or
// /init/error, or until now if neither came.
func (e *env) initTime() time.Duration {
	e.mu.Lock()
	defer e.mu.Unlock()
	select {
	case <-e.initDone:
		return e.initDuration
	case <-e.initFailed:
		return e.initDuration
	default:
	}
	if e.initDuration == 0 {
		e.initDuration = e.p.clk.Since(e.started)
	}
	return e.initDuration
}

// snapInitError is a SnapStart function whose snapshot failed its init:
// every invocation reports that init error.
type snapInitError struct {
	a    answer
	init time.Duration
}

func (e *snapInitError) Error() string { return string(e.a.payload) }

// initError is a function that fails before its runtime even starts:
// Lambda reports it as a function error of the invocation that tried.
type initError struct {
	errType string
	message string // after "RequestId: ID "
}

func (e *initError) Error() string { return e.errType + ": " + e.message }

// result is the invocation's Result for this failure.
func (e *initError) result(reqID string) Result {
	return Result{
		Cold:           true,
		FunctionError:  "Unhandled",
		Payload:        mustJSON(apiError{ErrorMessage: "RequestId: " + reqID + " " + e.message, ErrorType: e.errType}),
		BilledDuration: time.Millisecond,
	}
}

// runtimeVersion names the runtime in the INIT_START line, and for the
// managed runtimes the interpreter that really runs it here.
func runtimeVersion(runtime string, it interpreter) string {
	var v string
	switch {
	case strings.HasPrefix(runtime, "python"):
		v = "python:" + strings.TrimPrefix(runtime, "python") + ".nephele"
	case strings.HasPrefix(runtime, "nodejs"):
		v = "nodejs:" + strings.TrimSuffix(strings.TrimPrefix(runtime, "nodejs"), ".x") + ".nephele"
	default:
		v = strings.Replace(runtime, ".", ":", 1) + ".nephele"
	}
	if it.path != "" {
		v += fmt.Sprintf("\tRuntime Interpreter: %s %s", it.path, it.version)
	}
	return v
}

// environ is the environment Lambda gives a function's runtime
// (https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html#configuration-envvars-runtime),
// with our directories standing for /var/task, /var/runtime and /opt,
// then the function's own variables, which may override the non-reserved
// ones (PATH, LANG, TZ, NODE_PATH ...) as on Lambda.
func (e *env) environ(api, task, opt, rt, tmp string, it interpreter) []string {
	fn := e.fn
	initType := "on-demand"
	switch {
	case e.provisioned:
		initType = "provisioned-concurrency"
	case snapStarts(fn) && !e.noSnap:
		initType = "snap-start"
	}
	vars := map[string]string{
		"AWS_LAMBDA_RUNTIME_API":          api,
		"_HANDLER":                        fn.Handler,
		"LAMBDA_TASK_ROOT":                task,
		"LAMBDA_RUNTIME_DIR":              rt,
		"AWS_LAMBDA_FUNCTION_NAME":        fn.Name,
		"AWS_LAMBDA_FUNCTION_VERSION":     fn.Version,
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": fmt.Sprint(memoryMB(fn)),
		"AWS_LAMBDA_LOG_GROUP_NAME":       logGroup(fn),
		"AWS_LAMBDA_LOG_STREAM_NAME":      e.stream,
		"AWS_LAMBDA_INITIALIZATION_TYPE":  initType,
		"AWS_REGION":                      fn.Region,
		"AWS_DEFAULT_REGION":              fn.Region,
		"TZ":                              ":UTC",
		"LANG":                            "en_US.UTF-8",
		"TMPDIR":                          tmp,
		"PATH":                            joinPath(os.Getenv("PATH"), filepath.Join(opt, "bin")),
		"LD_LIBRARY_PATH":                 joinPath(rt, filepath.Join(rt, "lib"), task, filepath.Join(task, "lib"), filepath.Join(opt, "lib")),
	}
	if e.fam != provided {
		// Lambda sets no AWS_EXECUTION_ENV in the OS-only runtimes.
		vars["AWS_EXECUTION_ENV"] = "AWS_Lambda_" + fn.Runtime
	}
	if c := fn.Credentials; c.AccessKeyID != "" {
		vars["AWS_ACCESS_KEY_ID"] = c.AccessKeyID
		vars["AWS_SECRET_ACCESS_KEY"] = c.SecretAccessKey
		if c.SessionToken != "" {
			vars["AWS_SESSION_TOKEN"] = c.SessionToken
		}
	}
	if fn.Endpoint != "" {
		vars["AWS_ENDPOINT_URL"] = fn.Endpoint
	}
	switch e.fam {
	case python:
		// Lambda's sys.path: /var/task, /opt/python/lib/python3.x/site-packages,
		// /opt/python, /var/runtime. The task root comes first through
		// bootstrap.py; a layer built for the function's runtime and one
		// built for the interpreter that really runs here both count.
		dirs := []string{filepath.Join(opt, "python", "lib", strings.TrimSuffix(fn.Runtime, ".x"), "site-packages")}
		if v := pythonMinor(it.version); v != "" && v != fn.Runtime {
			dirs = append(dirs, filepath.Join(opt, "python", "lib", v, "site-packages"))
		}
		dirs = append(dirs, filepath.Join(opt, "python"), rt)
		vars["PYTHONPATH"] = joinPath(dirs...)
	case node:
		major := strings.TrimSuffix(strings.TrimPrefix(fn.Runtime, "nodejs"), ".x")
		vars["NODE_PATH"] = joinPath(
			filepath.Join(opt, "nodejs", "node"+major, "node_modules"),
			filepath.Join(opt, "nodejs", "node_modules"),
			filepath.Join(rt, "node_modules"), rt, task)
	}
	for k, v := range fn.Environment {
		vars[k] = v
	}
	list := make([]string, 0, len(vars))
	for k, v := range vars {
		list = append(list, k+"="+v)
	}
	slices.Sort(list)
	return list
}

// pythonMinor turns "3.11.7" into "python3.11".
func pythonMinor(version string) string {
	parts := strings.SplitN(version, ".", 3)
	if len(parts) < 2 {
		return ""
	}
	return "python" + parts[0] + "." + parts[1]
}

func joinPath(dirs ...string) string {
	var keep []string
	for _, d := range dirs {
		if d != "" {
			keep = append(keep, d)
		}
	}
	return strings.Join(keep, string(os.PathListSeparator))
}

func memoryMB(fn *Function) int {
	if fn.MemoryMB <= 0 {
		return 128
	}
	return fn.MemoryMB
}

func timeoutOf(fn *Function) time.Duration {
	if fn.Timeout <= 0 {
		return 3 * time.Second
	}
	return fn.Timeout
}

func logGroup(fn *Function) string {
	if fn.LogGroup != "" {
		return fn.LogGroup
	}
	return "/aws/lambda/" + fn.Name
}

// decodeClientContext turns X-Amz-Client-Context (base64 JSON) into the
// JSON the Runtime API passes in Lambda-Runtime-Client-Context, which the
// runtime clients parse as JSON.
func decodeClientContext(s string) string {
	if s == "" {
		return ""
	}
	if b, err := base64.StdEncoding.DecodeString(s); err == nil {
		return string(b)
	}
	return s
}

// outcome is how an invocation ended, before it becomes a Result.
type outcome struct {
	a        answer
	timedOut bool
	exited   bool // the runtime exited before answering
	initFail bool // the runtime failed its init phase
}

// errRetry means the environment died before the invocation reached it, so
// another environment may take it.
var errRetry = errors.New("execenv: environment ended before the invocation was delivered")

// errClosed is returned by Invoke on a closed Pool.
var errClosed = errors.New("execenv: pool closed")

// invoke runs one invocation in e, which the caller has made busy. cold
// says this environment was started for it.
func (e *env) invoke(ctx context.Context, req Request, cold bool) (Result, bool, error) {
	p, fn := e.p, e.fn
	clk := p.clk
	timeout := timeoutOf(fn)
	res := Result{Cold: cold}
	firstUse := !e.used
	e.used = true

	tailFrom := -1
	if firstUse && !e.provisioned {
		tailFrom = 0 // the init phase's lines belong to the first invocation
	}

	var out outcome
	if cold {
		initTimer := clk.NewTimer(p.initLimit())
		select {
		case <-e.initDone:
		case <-e.initFailed:
			e.mu.Lock()
			out = outcome{a: *e.initErr, initFail: true}
			e.mu.Unlock()
		case <-e.tree.Done():
			select {
			case <-e.initFailed:
				e.mu.Lock()
				out = outcome{a: *e.initErr, initFail: true}
				e.mu.Unlock()
			default:
				out = outcome{exited: true, initFail: true}
			}
		case <-initTimer.C():
			out = outcome{timedOut: true, initFail: true}
		case <-e.dead:
			initTimer.Stop()
			return res, false, errClosed
		case <-ctx.Done():
			initTimer.Stop()
			return res, false, ctx.Err()
		}
		initTimer.Stop()
		// Everything init printed comes before START.
		e.out.sync(ctx)
	}
	if firstUse && e.snap != nil && !e.provisioned {
		res.RestoreDuration = e.initTime()
		e.out.add("RESTORE_REPORT Restore Duration: %.2f ms", ms(res.RestoreDuration))
	} else if firstUse && !e.provisioned {
		res.InitDuration = e.initTime()
	}
	if tailFrom < 0 {
		tailFrom = e.out.mark()
	}

	start := clk.Now()
	inv := &invocation{
		req:           req,
		arn:           req.InvokedARN,
		clientContext: decodeClientContext(req.ClientContext),
		deadline:      start.Add(timeout),
		answer:        make(chan answer, 1),
	}
	if inv.arn == "" {
		inv.arn = fn.ARN
	}
	e.out.add("START RequestId: %s Version: %s", req.ID, fn.Version)

	timer := clk.NewTimer(timeout)
	defer timer.Stop()
	if !out.initFail {
		select {
		case e.next <- inv:
		case <-timer.C():
			out.timedOut = true
		case <-e.tree.Done():
			if !cold {
				return res, false, errRetry
			}
			out.exited = true
		case <-e.dead:
			return res, false, errClosed
		case <-ctx.Done():
			return res, false, ctx.Err()
		}
	}
	if !out.initFail && !out.timedOut && !out.exited {
		select {
		case a := <-inv.answer:
			out.a = a
		case <-timer.C():
			out.timedOut = true
		case <-e.tree.Done():
			select {
			case a := <-inv.answer:
				out.a = a
			default:
				out.exited = true
			}
		case <-e.dead:
			return res, false, errClosed
		case <-ctx.Done():
			return res, false, ctx.Err()
		}
	}
	if out.timedOut {
		res.MaxMemoryUsedMB = e.memoryUsedMB()
		// Not a second more: the environment's processes end here. The
		// rest of it (the Runtime API, the output reader) goes on release,
		// once what the function printed is in the log.
		_ = e.tree.Kill()
	}
	end := clk.Now()
	res.Duration = end.Sub(start)
	if out.timedOut {
		res.Duration = timeout
	}
	e.out.sync(ctx)
	res.MaxMemoryUsedMB = max(res.MaxMemoryUsedMB, e.memoryUsedMB())

	reqID := req.ID
	switch {
	case out.timedOut:
		res.TimedOut = true
		res.FunctionError = "Unhandled"
		msg := fmt.Sprintf("%s %s Task timed out after %.2f seconds", end.UTC().Format("2006-01-02T15:04:05.000Z"), reqID, timeout.Seconds())
		res.Payload = mustJSON(struct {
			ErrorMessage string `json:"errorMessage"`
		}{msg})
		e.out.add("%s", msg)
	case out.exited:
		res.FunctionError = "Unhandled"
		msg := fmt.Sprintf("RequestId: %s Error: %s", reqID, exitReason(e.tree))
		res.Payload = mustJSON(apiError{ErrorMessage: msg, ErrorType: "Runtime.ExitError"})
		e.out.add("%s", msg)
		e.out.add("Runtime.ExitError")
	case out.a.errType != "":
		res.FunctionError = "Unhandled"
		res.Payload = out.a.payload
	default:
		res.Payload = out.a.payload
	}
	if out.initFail && !out.timedOut {
		errType := out.a.errType
		if out.exited {
			errType = "Runtime.ExitError"
		}
		e.out.add("INIT_REPORT Init Duration: %.2f ms\tPhase: init\tStatus: error\tError Type: %s", ms(e.initTime()), errType)
	}
	if out.initFail {
		res.InitDuration = e.initTime()
		if res.Duration == 0 && out.timedOut {
			res.Duration = timeout
		}
	}

	billed := res.Duration
	if out.timedOut {
		billed = timeout
	} else if e.fam == provided {
		// Lambda bills the init phase of OS-only runtimes.
		billed += res.InitDuration
	}
	res.BilledDuration = time.Duration(math.Ceil(ms(billed))) * time.Millisecond
	if res.BilledDuration < time.Millisecond {
		res.BilledDuration = time.Millisecond
	}
	e.out.add("END RequestId: %s", reqID)
	report := fmt.Sprintf("REPORT RequestId: %s\tDuration: %.2f ms\tBilled Duration: %d ms\tMemory Size: %d MB\tMax Memory Used: %d MB\t",
		reqID, ms(res.Duration), res.BilledDuration.Milliseconds(), memoryMB(fn), res.MaxMemoryUsedMB)
	switch {
	case firstUse && e.snap != nil && !e.provisioned:
		report += fmt.Sprintf("Restore Duration: %.2f ms\tBilled Restore Duration: %d ms\t",
			ms(res.RestoreDuration), int64(math.Ceil(ms(res.RestoreDuration))))
	case firstUse && !e.provisioned:
		report += fmt.Sprintf("Init Duration: %.2f ms\t", ms(res.InitDuration))
	}
	if out.timedOut {
		report += "Status: timeout"
	}
	e.out.add("%s", report)

	events, tail := e.out.take(tailFrom)
	if req.Tail {
		res.LogTail = tail
	}
	p.send(e, events)
	healthy := !out.timedOut && !out.exited && !out.initFail
	if out.a.errType == "Function.ResponseSizeTooLarge" {
		// The runtime was told 413 and may still be trying; start afresh.
		healthy = false
	}
	return res, healthy, nil
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// exitReason is how the Runtime API words a runtime's exit.
func exitReason(t proc) string {
	switch code := t.ExitCode(); {
	case code == 0:
		return "Runtime exited without providing a reason"
	case code == -1:
		return "Runtime exited with error: signal: killed"
	case code < 0:
		// A restored environment's exit, as its snapshot saw it.
		return "Runtime exited with error: signal: " + syscall.Signal(-code).String()
	default:
		return fmt.Sprintf("Runtime exited with error: exit status %d", code)
	}
}

// kill ends the environment's processes and its Runtime API, once, and
// sends its last output to the log.
func (e *env) kill() {
	e.killOnce.Do(func() {
		e.mu.Lock()
		close(e.dead)
		tree, srv, served, out := e.tree, e.srv, e.served, e.out
		e.mu.Unlock()
		if tree != nil {
			_ = tree.Kill()
		}
		if srv != nil {
			_ = srv.Close()
			<-served
		}
		e.handlers.closeAndWait()
		if out != nil {
			e.p.send(e, out.close())
		}
		_ = os.RemoveAll(filepath.Join(e.p.opts.Dir, "env", e.id))
		close(e.killed)
	})
	<-e.killed
}
