package execenv

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/nephele-dev/nephele/internal/clock"
)

// defaultIdleTimeout is how long a warm environment waits for another
// invocation before it is reaped when Options.IdleTimeout is 0. Lambda does
// not document its own figure; observed lifetimes are 5 to 15 minutes.
const defaultIdleTimeout = 10 * time.Minute

// Pool holds every execution environment of every function: warm ones
// waiting for an invocation, busy ones running one, and provisioned ones
// initialised ahead. Its methods are safe for concurrent use.
type Pool struct {
	opts        Options
	clk         clock.Clock
	log         *slog.Logger
	idleTimeout time.Duration
	unpack      unpacker
	interp      *interpreters

	// ctx ends on Close; background work (replacing provisioned
	// environments) runs under it.
	ctx    context.Context
	cancel context.CancelFunc

	rtMu  sync.Mutex
	rtDir string // LAMBDA_RUNTIME_DIR, written on first use

	mu      sync.Mutex // guards what follows and the Pool-guarded fields of env
	closed  bool
	envs    map[envKey][]*env      // every live environment, by what it can serve
	targets map[envKey]*provTarget // provisioned concurrency wanted
	snaps   map[envKey]*snapshot   // SnapStart snapshots
	noted   map[string]bool        // runtimes whose interpreter has been logged
	wg      sync.WaitGroup         // watchers, reapers and replenishers
}

// provTarget is the provisioned concurrency wanted for one function
// version.
type provTarget struct {
	fn *Function
	n  int
}

// New returns a Pool working under opts.Dir.
func New(opts Options) *Pool {
	if opts.Clock == nil {
		opts.Clock = clock.Real()
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Dir == "" {
		opts.Dir = filepath.Join(os.TempDir(), "nephele-lambda")
	}
	if opts.TimeScale <= 0 {
		opts.TimeScale = 1
	}
	p := &Pool{
		opts:        opts,
		clk:         opts.Clock,
		log:         opts.Logger,
		idleTimeout: opts.IdleTimeout,
		unpack:      unpacker{dir: opts.Dir},
		interp:      &machineInterpreters,
		envs:        make(map[envKey][]*env),
		targets:     make(map[envKey]*provTarget),
		snaps:       make(map[envKey]*snapshot),
		noted:       make(map[string]bool),
	}
	if p.idleTimeout <= 0 {
		p.idleTimeout = defaultIdleTimeout
	}
	p.ctx, p.cancel = context.WithCancel(context.Background())
	return p
}

// Close kills every environment and waits for them, and for the Pool's
// background work, to end. Invocations in progress return an error.
func (p *Pool) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	var victims []*env
	for _, list := range p.envs {
		for _, e := range list {
			victims = append(victims, e)
		}
	}
	for _, e := range victims {
		p.removeLocked(e)
	}
	clear(p.targets)
	snaps := p.snaps
	p.snaps = make(map[envKey]*snapshot)
	p.mu.Unlock()
	p.cancel()
	killAll(victims)
	for _, s := range snaps {
		s.kill()
	}
	p.wg.Wait()
	return nil
}

// killAll kills environments in parallel and waits for all of them.
func killAll(envs []*env) {
	var wg sync.WaitGroup
	for _, e := range envs {
		wg.Go(e.kill)
	}
	wg.Wait()
}

// copyFunction copies what the Pool keeps of a Function, so that the caller
// may reuse its value.
func copyFunction(fn *Function) *Function {
	c := *fn
	c.Environment = maps.Clone(fn.Environment)
	c.Layers = append([]Layer(nil), fn.Layers...)
	return &c
}

// newEnvLocked registers a new environment of fn, not yet started.
func (p *Pool) newEnvLocked(fn *Function, provisioned bool, state envState) *env {
	e := &env{
		p:           p,
		key:         keyOf(fn),
		fn:          fn,
		fam:         familyOf(fn.Runtime),
		provisioned: provisioned,
		next:        make(chan *invocation),
		dead:        make(chan struct{}),
		killed:      make(chan struct{}),
		initDone:    make(chan struct{}),
		initFailed:  make(chan struct{}),
		state:       state,
	}
	e.id = newID()
	e.stream = p.clk.Now().UTC().Format("2006/01/02") + "/[" + fn.Version + "]" + e.id
	p.envs[e.key] = append(p.envs[e.key], e)
	return e
}

// removeLocked takes e out of the Pool; the caller kills it.
func (p *Pool) removeLocked(e *env) {
	if e.state == gone {
		return
	}
	e.state = gone
	if e.idleTimer != nil {
		e.idleTimer.Stop()
		e.idleTimer = nil
	}
	list := p.envs[e.key]
	for i, x := range list {
		if x == e {
			list = append(list[:i], list[i+1:]...)
			break
		}
	}
	if len(list) == 0 {
		delete(p.envs, e.key)
	} else {
		p.envs[e.key] = list
	}
}

// kill removes e from the Pool and kills it.
func (p *Pool) kill(e *env) {
	p.mu.Lock()
	p.removeLocked(e)
	p.mu.Unlock()
	e.kill()
}

// launch starts e's processes and its watcher, which reaps an idle
// environment whose runtime exits.
func (p *Pool) launch(ctx context.Context, e *env) error {
	if err := p.startEnv(ctx, e); err != nil {
		p.kill(e)
		return err
	}
	p.mu.Lock()
	if p.closed || e.state == gone {
		p.mu.Unlock()
		p.kill(e)
		return errClosed
	}
	p.wg.Add(1)
	p.mu.Unlock()
	go func() {
		defer p.wg.Done()
		select {
		case <-e.tree.Done():
			p.mu.Lock()
			wasIdle := e.state == idle
			if wasIdle {
				p.removeLocked(e)
			}
			p.mu.Unlock()
			if wasIdle {
				e.kill()
				p.replenish(e)
			}
		case <-e.dead:
		}
	}()
	return nil
}

// Invoke runs one invocation in a warm environment of fn (same Account,
// Region, Name, Version and Revision) if one is idle, else cold-starts a
// new one. It does not enforce concurrency limits (the control plane does).
// The error is for nephele-side failures only (e.g.
// *RuntimeUnavailableError); a function that fails still returns a Result
// with FunctionError.
func (p *Pool) Invoke(ctx context.Context, fn *Function, req Request) (Result, error) {
	if fn == nil {
		return Result{}, errors.New("execenv: Invoke without a function")
	}
	if req.ID == "" {
		req.ID = newUUID()
	}
	for attempt := 0; ; attempt++ {
		e, cold, err := p.acquire(ctx, fn)
		if err != nil {
			var ie *initError
			if errors.As(err, &ie) {
				return p.startFailure(fn, req, ie), nil
			}
			var se *snapInitError
			if errors.As(err, &se) {
				return Result{Cold: true, FunctionError: "Unhandled", Payload: se.a.payload,
					InitDuration: se.init, BilledDuration: time.Millisecond}, nil
			}
			return Result{}, err
		}
		res, healthy, err := e.invoke(ctx, req, cold)
		p.release(e, healthy && err == nil)
		if errors.Is(err, errRetry) && attempt == 0 {
			// A warm environment whose runtime had just exited: Lambda
			// would have started a new one.
			continue
		}
		return res, err
	}
}

// newUUID returns a random (version 4) UUID, as Lambda's request IDs.
func newUUID() string {
	id := newID()
	b := []byte(id)
	b[12] = '4'
	b[16] = "89ab"[b[16]%4]
	return fmt.Sprintf("%s-%s-%s-%s-%s", b[0:8], b[8:12], b[12:16], b[16:20], b[20:32])
}

// startFailure is the Result, and the log, of an invocation whose
// environment could not even start its runtime.
func (p *Pool) startFailure(fn *Function, req Request, ie *initError) Result {
	res := ie.result(req.ID)
	var msg struct {
		ErrorMessage string `json:"errorMessage"`
	}
	_ = json.Unmarshal(res.Payload, &msg)
	now := p.clk.Now()
	lines := []string{
		fmt.Sprintf("INIT_START Runtime Version: %s", runtimeVersion(fn.Runtime, interpreter{})),
		msg.ErrorMessage,
		ie.errType,
		fmt.Sprintf("START RequestId: %s Version: %s", req.ID, fn.Version),
		fmt.Sprintf("END RequestId: %s", req.ID),
		fmt.Sprintf("REPORT RequestId: %s\tDuration: 0.00 ms\tBilled Duration: 1 ms\tMemory Size: %d MB\tMax Memory Used: 0 MB\t", req.ID, memoryMB(fn)),
	}
	events := make([]LogEvent, len(lines))
	var tail strings.Builder
	for i, l := range lines {
		events[i] = LogEvent{Time: now, Message: l}
		tail.WriteString(l + "\n")
	}
	if req.Tail {
		res.LogTail = []byte(tail.String())
	}
	stream := now.UTC().Format("2006/01/02") + "/[" + fn.Version + "]" + newID()
	p.sendTo(fn, stream, events)
	return res
}

// acquire makes an environment busy for fn: an idle one, provisioned ones
// first, else a new one, started (cold reports which).
func (p *Pool) acquire(ctx context.Context, fn *Function) (e *env, cold bool, err error) {
	if familyOf(fn.Runtime) == unsupported {
		return nil, false, &RuntimeUnavailableError{Runtime: fn.Runtime}
	}
	key := keyOf(fn)
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil, false, errClosed
	}
	for _, c := range p.envs[key] {
		if c.state != idle || c.retired {
			continue
		}
		// Provisioned environments serve first; among the rest, the most
		// recently used, so that spare ones go idle and are reaped.
		if e == nil || (c.provisioned && !e.provisioned) || (c.provisioned == e.provisioned && c.idleGen > e.idleGen) {
			e = c
		}
	}
	if e != nil {
		e.state = busy
		if e.idleTimer != nil {
			e.idleTimer.Stop()
			e.idleTimer = nil
		}
		p.mu.Unlock()
		return e, false, nil
	}
	e = p.newEnvLocked(copyFunction(fn), false, busy)
	p.mu.Unlock()
	if err := p.launch(ctx, e); err != nil {
		return nil, false, err
	}
	return e, true, nil
}

// release returns e to the Pool after an invocation: idle if it is fit for
// another, else killed.
func (p *Pool) release(e *env, healthy bool) {
	p.mu.Lock()
	if !healthy || e.retired || p.closed || e.state == gone {
		p.removeLocked(e)
		p.mu.Unlock()
		e.kill()
		p.replenish(e)
		return
	}
	e.state = idle
	e.idleGen++
	if !e.provisioned {
		gen := e.idleGen
		e.idleTimer = p.clk.AfterFunc(p.idleTimeout, func() { p.reap(e, gen) })
	}
	p.mu.Unlock()
}

// reap kills e if it has stayed idle since its idle timer was set.
func (p *Pool) reap(e *env, gen uint64) {
	p.mu.Lock()
	if p.closed || e.state != idle || e.idleGen != gen {
		p.mu.Unlock()
		return
	}
	p.removeLocked(e)
	p.wg.Add(1)
	p.mu.Unlock()
	defer p.wg.Done()
	p.log.Debug("lambda environment reaped after idle timeout", "function", e.fn.Name, "version", e.fn.Version, "stream", e.stream)
	e.kill()
}

// matches reports whether an environment belongs to a function (version ""
// for any version).
func (k envKey) matches(account, region, name, version string) bool {
	return k.account == account && k.region == region && k.name == name && (version == "" || k.version == version)
}

// Retire ends every environment of the function's version (version "" =
// all versions), e.g. after UpdateFunctionCode or DeleteFunction, and drops
// its provisioned concurrency. An invocation in progress finishes first.
func (p *Pool) Retire(account, region, name, version string) {
	p.mu.Lock()
	var victims []*env
	for key, list := range p.envs {
		if !key.matches(account, region, name, version) {
			continue
		}
		for _, e := range list {
			if e.state == busy {
				e.retired = true
			} else {
				victims = append(victims, e)
			}
		}
	}
	for _, e := range victims {
		p.removeLocked(e)
	}
	for key := range p.targets {
		if key.matches(account, region, name, version) {
			delete(p.targets, key)
		}
	}
	var snaps []*snapshot
	for key, s := range p.snaps {
		if key.matches(account, region, name, version) {
			snaps = append(snaps, s)
			delete(p.snaps, key)
		}
	}
	p.mu.Unlock()
	killAll(victims)
	// Environments restored from a snapshot are its children: killing it
	// after them ends any still busy, whose invocations then fail.
	for _, s := range snaps {
		s.kill()
	}
}

// count counts a function's environments in a state.
func (p *Pool) count(account, region, name, version string, state envState) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for key, list := range p.envs {
		if !key.matches(account, region, name, version) {
			continue
		}
		for _, e := range list {
			if e.state == state {
				n++
			}
		}
	}
	return n
}

// Busy counts environments of a function (version "" = all) running an
// invocation, cold starts for one included.
func (p *Pool) Busy(account, region, name, version string) int {
	return p.count(account, region, name, version, busy)
}

// Idle counts initialised environments of a function (version "" = all)
// waiting for an invocation, provisioned ones included.
func (p *Pool) Idle(account, region, name, version string) int {
	return p.count(account, region, name, version, idle)
}

// Provision keeps n environments of fn initialised ahead of invocations
// (provisioned concurrency, AWS_LAMBDA_INITIALIZATION_TYPE
// provisioned-concurrency): it starts the missing ones and returns once
// they are initialised or ctx ends, or ends the extra ones. n = 0 releases
// them. Invoke uses provisioned environments first and reports no Init
// Duration for them; one that dies is replaced.
func (p *Pool) Provision(ctx context.Context, fn *Function, n int) error {
	if fn == nil {
		return errors.New("execenv: Provision without a function")
	}
	if familyOf(fn.Runtime) == unsupported {
		return &RuntimeUnavailableError{Runtime: fn.Runtime}
	}
	fn = copyFunction(fn)
	key := keyOf(fn)
	var t *provTarget
	p.mu.Lock()
	if n <= 0 {
		delete(p.targets, key)
		n = 0
	} else {
		t = &provTarget{fn: fn, n: n}
		p.targets[key] = t
	}
	p.mu.Unlock()
	return p.ensure(ctx, key, t, fn, n)
}

// ensure brings the provisioned environments of key to n, for target t
// (nil when releasing them all); it does nothing if a later Provision or
// Retire has replaced t meanwhile.
func (p *Pool) ensure(ctx context.Context, key envKey, t *provTarget, fn *Function, n int) error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return errClosed
	}
	if p.targets[key] != t {
		p.mu.Unlock()
		return nil
	}
	var have []*env
	for _, e := range p.envs[key] {
		if e.provisioned && e.state != gone && !e.retired {
			have = append(have, e)
		}
	}
	var victims, fresh []*env
	if excess := len(have) - n; excess > 0 {
		// Idle and initialising ones go first; busy ones finish their
		// invocation.
		for _, e := range have {
			if excess > 0 && e.state != busy {
				victims = append(victims, e)
				excess--
			}
		}
		for _, e := range have {
			if excess > 0 && e.state == busy {
				e.retired = true
				excess--
			}
		}
		for _, e := range victims {
			p.removeLocked(e)
		}
	}
	for range n - len(have) {
		fresh = append(fresh, p.newEnvLocked(fn, true, starting))
	}
	p.mu.Unlock()
	killAll(victims)

	errs := make([]error, len(fresh))
	var wg sync.WaitGroup
	for i, e := range fresh {
		wg.Go(func() { errs[i] = p.initialise(ctx, e) })
	}
	wg.Wait()
	return errors.Join(errs...)
}

// initialise starts a provisioned environment and waits for its init
// phase, whose output goes to the log at once.
func (p *Pool) initialise(ctx context.Context, e *env) error {
	if err := p.launch(ctx, e); err != nil {
		var ie *initError
		if errors.As(err, &ie) {
			return fmt.Errorf("execenv: provisioned environment of %s cannot start: %w", e.fn.Name, err)
		}
		return err
	}
	t := p.clk.NewTimer(p.initLimit())
	defer t.Stop()
	var err error
	select {
	case <-e.initDone:
	case <-e.initFailed:
		e.mu.Lock()
		err = fmt.Errorf("execenv: provisioned environment of %s failed to initialise: %s", e.fn.Name, e.initErr.payload)
		e.mu.Unlock()
	case <-e.tree.Done():
		err = fmt.Errorf("execenv: provisioned environment of %s exited during init: %s", e.fn.Name, exitReason(e.tree))
	case <-t.C():
		err = fmt.Errorf("execenv: provisioned environment of %s did not initialise within %s", e.fn.Name, initLimit)
	case <-e.dead:
		err = fmt.Errorf("execenv: provisioned environment of %s ended while initialising", e.fn.Name)
	case <-ctx.Done():
		err = ctx.Err()
	}
	e.out.sync(ctx)
	if err == nil {
		e.out.add("INIT_REPORT Init Duration: %.2f ms", ms(e.initTime()))
	}
	events, _ := e.out.take(-1)
	p.send(e, events)
	if err != nil {
		p.kill(e)
		return err
	}
	p.mu.Lock()
	if e.state == starting {
		e.state = idle
		e.idleGen++
	}
	p.mu.Unlock()
	return nil
}

// replenish starts a replacement when a provisioned environment of a
// function that still wants them has gone.
func (p *Pool) replenish(gone *env) {
	if !gone.provisioned {
		return
	}
	p.mu.Lock()
	t := p.targets[gone.key]
	if p.closed || t == nil {
		p.mu.Unlock()
		return
	}
	p.wg.Add(1)
	p.mu.Unlock()
	go func() {
		defer p.wg.Done()
		if err := p.ensure(p.ctx, gone.key, t, t.fn, t.n); err != nil && p.ctx.Err() == nil {
			p.log.Warn("lambda provisioned environment could not be replaced", "function", t.fn.Name, "version", t.fn.Version, "err", err)
		}
	}()
}

// send writes an environment's log events to its stream.
func (p *Pool) send(e *env, events []LogEvent) {
	p.sendTo(e.fn, e.stream, events)
}

func (p *Pool) sendTo(fn *Function, stream string, events []LogEvent) {
	if p.opts.Logs == nil || len(events) == 0 {
		return
	}
	// Not p.ctx: the last lines of an environment are sent as Close
	// kills it.
	if err := p.opts.Logs.Append(context.WithoutCancel(p.ctx), fn.Account, fn.Region, logGroup(fn), stream, events); err != nil {
		p.log.Warn("lambda log events not delivered", "function", fn.Name, "group", logGroup(fn), "stream", stream, "err", err)
	}
}

// runtimeDir returns LAMBDA_RUNTIME_DIR, writing the bootstraps once.
func (p *Pool) runtimeDir() (string, error) {
	p.rtMu.Lock()
	defer p.rtMu.Unlock()
	if p.rtDir != "" {
		return p.rtDir, nil
	}
	d, err := runtimeDir(p.opts.Dir)
	if err != nil {
		return "", err
	}
	p.rtDir = d
	return d, nil
}

// noteInterpreter logs once per runtime which interpreter really runs it:
// a python3.12 function runs on whatever python3 this machine has.
func (p *Pool) noteInterpreter(runtime string, it interpreter) {
	p.mu.Lock()
	seen := p.noted[runtime]
	p.noted[runtime] = true
	p.mu.Unlock()
	if seen {
		return
	}
	p.log.Info("lambda runtime runs on this machine's interpreter", "runtime", runtime, "interpreter", it.path, "version", it.version)
}
