package execenv

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/nephele-dev/nephele/internal/procs"
)

// SnapStart, made real: Lambda initialises a published version once,
// snapshots the initialised environment and starts new environments by
// restoring the snapshot. Here the snapshot is a python3 or node process
// that has run the init phase (loaded the handler) and then forks: each
// fork is a new environment that skips init altogether. What it saves is
// measured, not labelled: REPORT shows the Restore Duration (fork until the
// first GET /next) where a cold start shows the Init Duration.
//
// Python forks with os.fork; node forks through a small Node-API addon
// (nodeaddon/snapstart.c) that nephele builds on first use, and runs with
// V8's --single-threaded, since only the forking thread lives on in a
// child. Where the addon cannot be built (no C compiler, no node headers)
// nodejs functions cold-start as usual, and so do the OS-only runtimes (as
// on Lambda, where SnapStart covers Java, Python and .NET).

// proc is what an environment needs of its runtime's processes: a
// procs.Tree for a cold start, a forked snapshot for a restore.
type proc interface {
	PID() int
	Done() <-chan struct{}
	ExitCode() int
	Kill() error
	PIDs() ([]int, error)
	Cgroup() string
}

var _ proc = (*procs.Tree)(nil)

// snapStarts reports whether fn's environments are restored from a
// snapshot.
func snapStarts(fn *Function) bool {
	f := familyOf(fn.Runtime)
	return fn.SnapStart && (f == python || f == node)
}

// snapshot is the initialised process environments of one function
// version are forked from.
type snapshot struct {
	p     *Pool
	key   envKey
	fn    *Function
	ready chan struct{} // closed once init has ended, well or not

	// Set before ready is closed.
	err          error   // nephele-side failure
	initErr      *answer // the function's init error
	initDuration time.Duration

	tree   *procs.Tree
	out    *output
	ln     *net.UnixListener
	conn   *net.UnixConn
	sock   string
	stream string
	reader chan struct{} // closed when the control reader has stopped

	// cancel ends an init in progress when the snapshot is killed.
	ctx    context.Context
	cancel context.CancelFunc

	writeMu sync.Mutex // one fork request at a time on conn
	mu      sync.Mutex
	waiting map[string]chan *forked // fork token -> its child
	kids    map[int]*forked
	dead    bool
	killed  chan struct{}
	once    sync.Once
}

// snapshotFor returns fn's snapshot, starting it and waiting for its init
// on first use.
func (p *Pool) snapshotFor(ctx context.Context, fn *Function) (*snapshot, error) {
	key := keyOf(fn)
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil, errClosed
	}
	s := p.snaps[key]
	if s == nil {
		s = &snapshot{p: p, key: key, fn: fn, ready: make(chan struct{}), killed: make(chan struct{}),
			waiting: make(map[string]chan *forked), kids: make(map[int]*forked)}
		s.ctx, s.cancel = context.WithCancel(p.ctx)
		p.snaps[key] = s
		p.mu.Unlock()
		// The snapshot is every waiter's, not this caller's: its init runs
		// on under the Pool's context however long this caller waits.
		go s.start()
	} else {
		p.mu.Unlock()
	}
	select {
	case <-s.ready:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	if s.err != nil {
		p.dropSnapshot(s)
		return nil, s.err
	}
	return s, nil
}

// Prepare initialises the snapshot of a SnapStart function ahead of its
// first invoke, as Lambda does when the version is published; for other
// functions it does nothing. An init that fails is not an error here: the
// invokes report it, as on Lambda.
func (p *Pool) Prepare(ctx context.Context, fn *Function) error {
	if !snapStarts(fn) {
		return nil
	}
	_, err := p.snapshotFor(ctx, fn)
	if errors.Is(err, errNoSnapAddon) {
		return nil // its environments cold-start; nothing to prepare
	}
	return err
}

// dropSnapshot removes a failed or retired snapshot and kills it.
func (p *Pool) dropSnapshot(s *snapshot) {
	p.mu.Lock()
	if p.snaps[s.key] == s {
		delete(p.snaps, s.key)
	}
	p.mu.Unlock()
	s.kill()
}

// start runs the snapshot's init phase: the bootstrap with
// NEPHELE_SNAPSTART_SOCKET imports the handler, then connects back.
func (s *snapshot) start() {
	defer close(s.ready)
	ctx := s.ctx
	p, fn := s.p, s.fn
	fam := familyOf(fn.Runtime)
	it, err := p.interp.get(ctx, fam, fn.Runtime)
	if err != nil {
		s.err = err
		return
	}
	var addon string
	if fam == node {
		if addon, err = nodeSnapAddon(ctx, p.addonCache(), it, p.log); err != nil {
			s.err = fmt.Errorf("%w: %v", errNoSnapAddon, err)
			return
		}
	}
	task, opt, err := p.unpack.code(fn)
	if err != nil {
		s.err = err
		return
	}
	rt, err := p.runtimeDir()
	if err != nil {
		s.err = err
		return
	}
	id := newID()
	// A unix socket path is limited to 108 bytes: keep it short.
	s.sock = filepath.Join(os.TempDir(), "nephele-snap-"+id[:16]+".sock")
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: s.sock, Net: "unix"})
	if err != nil {
		s.err = fmt.Errorf("execenv: snapshot socket: %w", err)
		return
	}
	ln.SetUnlinkOnClose(true)
	s.ln = ln
	tmp := filepath.Join(p.opts.Dir, "env", id, "tmp")
	if err := os.MkdirAll(tmp, 0o700); err != nil {
		s.err = err
		return
	}
	s.out, err = newOutput(p.clk)
	if err != nil {
		s.err = err
		return
	}
	s.stream = p.clk.Now().UTC().Format("2006/01/02") + "/[" + fn.Version + "]" + id
	s.out.add("INIT_START Runtime Version: %s", runtimeVersion(fn.Runtime, it))
	// The snapshot's environment is a cold one's; each fork gets its own
	// API address, stream and /tmp on restore.
	proto := &env{p: p, fn: fn, fam: fam, id: id, stream: s.stream}
	vars := append(proto.environ("", task, opt, rt, tmp, it), "NEPHELE_SNAPSTART_SOCKET="+s.sock)
	args := []string{"-u", filepath.Join(rt, "bootstrap.py")}
	if fam == node {
		vars = append(vars, "NEPHELE_SNAPSTART_ADDON="+addon)
		args = []string{"--single-threaded", filepath.Join(rt, "bootstrap.js")}
	}
	started := p.clk.Now()
	tree, err := procs.Start(procs.Spec{
		Path:   it.path,
		Args:   args,
		Dir:    task,
		Env:    vars,
		Output: s.out.w,
	})
	if err != nil {
		s.err = fmt.Errorf("execenv: starting the snapshot: %w", err)
		return
	}
	s.tree = tree

	accepted := make(chan *net.UnixConn, 1)
	go func() {
		c, err := ln.AcceptUnix()
		if err != nil {
			close(accepted)
			return
		}
		accepted <- c
	}()
	timer := p.clk.NewTimer(p.initLimit())
	defer timer.Stop()
	select {
	case c, ok := <-accepted:
		if !ok {
			s.err = errClosed
			return
		}
		s.conn = c
	case <-tree.Done():
		s.err = fmt.Errorf("execenv: snapshot of %s exited during init: %s", fn.Name, exitReason(tree))
	case <-timer.C():
		s.err = fmt.Errorf("execenv: snapshot of %s did not initialise within %s", fn.Name, initLimit)
	case <-ctx.Done():
		s.err = errClosed
	}
	if s.err != nil {
		_ = ln.Close() // ends the accepting goroutine
		if c, ok := <-accepted; ok {
			c.Close()
		}
		return
	}
	// The snapshot's first words come within the same init limit: a
	// node snapshot says "init" when init has ended, then readies a first
	// spare (on its event loop, where a timer from init may hang it)
	// before it says "ready".
	r := bufio.NewReader(s.conn)
	type said struct {
		line string
		err  error
	}
	first := make(chan said, 1)
	go func() {
		line, err := r.ReadString('\n')
		if err == nil && line == "init\n" {
			s.initDuration = p.clk.Since(started)
			line, err = r.ReadString('\n')
		}
		first <- said{line, err}
	}()
	var line string
	select {
	case got := <-first:
		line, err = got.line, got.err
	case <-timer.C():
		err = fmt.Errorf("did not initialise within %s", initLimit)
	case <-ctx.Done():
		err = errClosed
	}
	if err != nil {
		s.conn.Close() // ends the reading goroutine
		<-first
		s.err = fmt.Errorf("execenv: snapshot of %s: %w", fn.Name, err)
		return
	}
	if s.initDuration == 0 {
		s.initDuration = p.clk.Since(started)
	}
	switch {
	case strings.HasPrefix(line, "initerror "):
		a := answer{payload: []byte(strings.TrimSpace(strings.TrimPrefix(line, "initerror ")))}
		var doc struct {
			ErrorType string `json:"errorType"`
		}
		_ = json.Unmarshal(a.payload, &doc)
		a.errType = doc.ErrorType
		s.initErr = &a
	}
	s.out.sync(ctx)
	s.out.add("INIT_REPORT Init Duration: %.2f ms", ms(s.initDuration))
	events, _ := s.out.take(-1)
	p.sendTo(fn, s.stream, events)
	s.reader = make(chan struct{})
	go s.read(r)
}

// read dispatches the snapshot's control lines: "pid TOKEN PID" answers a
// fork, "exit PID CODE" reports a child's end.
func (s *snapshot) read(r *bufio.Reader) {
	defer close(s.reader)
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			break
		}
		f := strings.Fields(line)
		if len(f) != 3 && len(f) != 2 {
			continue
		}
		if len(f) == 2 && f[0] == "fail" {
			// The snapshot could not fork for that request.
			s.mu.Lock()
			ch := s.waiting[f[1]]
			delete(s.waiting, f[1])
			s.mu.Unlock()
			if ch != nil {
				ch <- nil
			}
			continue
		}
		switch f[0] {
		case "pid":
			pid, _ := strconv.Atoi(f[2])
			k := &forked{pid: pid, done: make(chan struct{})}
			s.mu.Lock()
			s.kids[pid] = k
			ch := s.waiting[f[1]]
			delete(s.waiting, f[1])
			s.mu.Unlock()
			if ch != nil {
				ch <- k
			}
		case "exit":
			pid, _ := strconv.Atoi(f[1])
			code, _ := strconv.Atoi(f[2])
			s.mu.Lock()
			k := s.kids[pid]
			delete(s.kids, pid)
			s.mu.Unlock()
			if k != nil {
				k.code = code
				close(k.done)
			}
		}
	}
	// The snapshot is gone, and its children with it.
	s.mu.Lock()
	s.dead = true
	for pid, k := range s.kids {
		k.code = -1
		close(k.done)
		delete(s.kids, pid)
	}
	for t, ch := range s.waiting {
		close(ch)
		delete(s.waiting, t)
	}
	s.mu.Unlock()
}

// fork restores one environment: a child of the snapshot with the given
// variables, writing into out.
func (s *snapshot) fork(ctx context.Context, vars []string, out *os.File) (*forked, error) {
	env := make(map[string]string, len(vars))
	for _, kv := range vars {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	spec, err := json.Marshal(env)
	if err != nil {
		return nil, err
	}
	token := newID()[:12]
	ch := make(chan *forked, 1)
	s.mu.Lock()
	if s.dead {
		s.mu.Unlock()
		return nil, errors.New("execenv: the snapshot has ended")
	}
	s.waiting[token] = ch
	s.mu.Unlock()
	rc, err := out.SyscallConn()
	if err != nil {
		return nil, err
	}
	var werr error
	s.writeMu.Lock()
	cerr := rc.Control(func(fd uintptr) {
		_, _, werr = s.conn.WriteMsgUnix([]byte("fork "+token+" "+string(spec)+"\n"), syscall.UnixRights(int(fd)), nil)
	})
	s.writeMu.Unlock()
	if err := errors.Join(cerr, werr); err != nil {
		s.forget(token)
		return nil, fmt.Errorf("execenv: asking the snapshot to fork: %w", err)
	}
	// A fork is answered in milliseconds; the init limit bounds a
	// snapshot that stops answering without ending.
	timer := s.p.clk.NewTimer(s.p.initLimit())
	defer timer.Stop()
	select {
	case k, ok := <-ch:
		switch {
		case !ok:
			return nil, errors.New("execenv: the snapshot has ended")
		case k == nil:
			return nil, errors.New("execenv: the snapshot could not fork a new environment")
		}
		return k, nil
	case <-timer.C():
		s.forget(token)
		return nil, fmt.Errorf("execenv: the snapshot did not fork within %s", initLimit)
	case <-ctx.Done():
		// The child, if it comes, ends with the snapshot.
		s.forget(token)
		return nil, ctx.Err()
	}
}

// forget stops waiting for a fork's answer.
func (s *snapshot) forget(token string) {
	s.mu.Lock()
	delete(s.waiting, token)
	s.mu.Unlock()
}

// kill ends the snapshot and every environment forked from it.
func (s *snapshot) kill() {
	s.once.Do(func() {
		s.cancel()
		<-s.ready
		if s.tree != nil {
			_ = s.tree.Kill()
		}
		if s.conn != nil {
			s.conn.Close()
		}
		if s.ln != nil {
			s.ln.Close()
		}
		if s.reader != nil {
			<-s.reader
		}
		if s.out != nil {
			s.p.sendTo(s.fn, s.stream, s.out.close())
		}
		close(s.killed)
	})
	<-s.killed
}

// forked is an environment's runtime forked from a snapshot. It is the
// snapshot's child, not ours: the snapshot reports its exit.
type forked struct {
	pid  int
	done chan struct{}
	code int // set before done is closed
}

func (f *forked) PID() int              { return f.pid }
func (f *forked) Done() <-chan struct{} { return f.done }
func (f *forked) Cgroup() string        { return "" }

func (f *forked) ExitCode() int {
	<-f.done
	return f.code
}

// Kill ends the child's process group (it called setsid) and waits for
// the snapshot to see it go.
func (f *forked) Kill() error {
	select {
	case <-f.done:
		return nil
	default:
	}
	_ = syscall.Kill(-f.pid, syscall.SIGKILL)
	_ = syscall.Kill(f.pid, syscall.SIGKILL)
	<-f.done
	return nil
}

func (f *forked) PIDs() ([]int, error) {
	select {
	case <-f.done:
		return nil, nil
	default:
	}
	if pids, ok := descendants(f.pid); ok {
		return pids, nil
	}
	return []int{f.pid}, nil
}
