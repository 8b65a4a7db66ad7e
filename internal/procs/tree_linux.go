package procs

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"sync"
	"syscall"
	"time"

	"github.com/nephele-dev/nephele/internal/clock"
)

// Tree is a running process tree. Its methods are safe for concurrent use.
type Tree struct {
	cmd *exec.Cmd
	pid int
	cg  *cgroup  // nil when tracked through /proc
	sc  *scanner // nil when tracked by cgroup

	// done is closed by the waiter once the leader is reaped, after it has
	// set exitCode and leaderCPU.
	done      chan struct{}
	exitCode  int
	leaderCPU time.Duration

	// out is the read end of the output pipe and copied is closed when
	// the copier has written the last of it; both nil without a copier.
	out    *os.File
	copied chan struct{}

	mu    sync.Mutex    // guards what follows, and the scanner
	cpu   time.Duration // the most CPUTime has reported: the total never goes down
	ended bool          // Stop or Kill found the tree empty and released it
}

// Start starts spec's program as the leader of a new tree and returns once
// it runs. See the package documentation for how the tree is tracked.
func Start(spec Spec) (*Tree, error) {
	return start(spec, true)
}

func start(spec Spec, useCgroup bool) (*Tree, error) {
	if spec.Path == "" {
		return nil, errors.New("procs: Spec.Path is empty")
	}
	if useCgroup {
		if cg, fd, err := newCgroup(); err == nil {
			t, err := launch(spec, cg, fd)
			syscall.Close(fd)
			if err == nil {
				return t, nil
			}
			// No clone3, or the cgroup refuses processes: fall back. A
			// Spec that cannot start at all fails again below.
			_ = cg.remove()
		}
	}
	return launch(spec, nil, -1)
}

// launch starts the leader, inside cg if there is one.
func launch(spec Spec, cg *cgroup, cgFD int) (*Tree, error) {
	cmd := exec.Command(spec.Path, spec.Args...)
	cmd.Dir = spec.Dir
	cmd.Env = spec.Env
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if cg != nil {
		cmd.SysProcAttr.UseCgroupFD = true
		cmd.SysProcAttr.CgroupFD = cgFD
	}
	var sc *scanner
	if cg == nil {
		var id [8]byte
		_, _ = rand.Read(id[:]) // never fails on Linux
		env := spec.Env
		if env == nil {
			env = os.Environ()
		}
		sc = &scanner{marker: markerVar + "=" + hex.EncodeToString(id[:])}
		cmd.Env = append(slices.Clip(env), sc.marker)
	}

	// The tree writes into a pipe of our own rather than one os/exec
	// makes, since exec.Cmd.Wait would wait for every background process
	// holding it to exit, and Done is about the leader.
	var pw *os.File
	var pr *os.File
	switch out := spec.Output.(type) {
	case nil:
	case *os.File:
		cmd.Stdout, cmd.Stderr = out, out
	default:
		var err error
		if pr, pw, err = os.Pipe(); err != nil {
			return nil, err
		}
		cmd.Stdout, cmd.Stderr = pw, pw
	}
	err := cmd.Start()
	if pw != nil {
		pw.Close()
	}
	if err != nil {
		if pr != nil {
			pr.Close()
		}
		return nil, err
	}

	t := &Tree{cmd: cmd, pid: cmd.Process.Pid, cg: cg, sc: sc, done: make(chan struct{})}
	if sc != nil {
		// Before the waiter runs, the leader is at worst a zombie, so its
		// stat is there to read.
		st, err := readStat(t.pid)
		if err != nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
			if pr != nil {
				pr.Close()
			}
			return nil, fmt.Errorf("procs: reading the new leader: %w", err)
		}
		sc.leader, sc.leaderStart = t.pid, st.start
	}
	if pr != nil {
		t.out, t.copied = pr, make(chan struct{})
		go t.copyOutput(spec.Output)
	}
	go t.wait()
	return t, nil
}

// wait is the waiter: it reaps the leader.
func (t *Tree) wait() {
	_ = t.cmd.Wait() // the exit status is in ProcessState; no I/O to fail
	ps := t.cmd.ProcessState
	t.exitCode = ps.ExitCode()
	t.leaderCPU = ps.UserTime() + ps.SystemTime()
	close(t.done)
}

// copyOutput copies the tree's output until every process holding the pipe
// has exited, or until finish, having found the tree empty, sets a past
// deadline: then it takes what is left in the pipe without waiting for
// writers that escaped the tree.
func (t *Tree) copyOutput(w io.Writer) {
	defer close(t.copied)
	defer t.out.Close()
	buf := make([]byte, 32<<10)
	for {
		n, err := t.out.Read(buf)
		if n > 0 {
			_, _ = w.Write(buf[:n]) // keep draining even if w fails, or the tree would block
		}
		if err == nil {
			continue
		}
		if errors.Is(err, os.ErrDeadlineExceeded) {
			if rc, err := t.out.SyscallConn(); err == nil {
				_ = rc.Control(func(fd uintptr) {
					for {
						n, err := syscall.Read(int(fd), buf)
						if n <= 0 || err != nil {
							return
						}
						_, _ = w.Write(buf[:n])
					}
				})
			}
		}
		return
	}
}

// PID is the leader's process ID, which is also the tree's session ID.
func (t *Tree) PID() int { return t.pid }

// Cgroup is the directory of the tree's cgroup v2, or "" when the tree is
// tracked through /proc.
func (t *Tree) Cgroup() string {
	if t.cg == nil {
		return ""
	}
	return t.cg.dir
}

// Done is closed when the leader has exited and been reaped. Processes it
// left running go on until Stop or Kill.
func (t *Tree) Done() <-chan struct{} { return t.done }

// ExitCode is the leader's exit status once Done is closed, or -1 if a
// signal ended it.
func (t *Tree) ExitCode() int {
	<-t.done
	return t.exitCode
}

// PIDs lists the live processes of the tree, in ascending order; none
// after Stop or Kill.
func (t *Tree) PIDs() ([]int, error) {
	pids, err := t.live()
	slices.Sort(pids)
	return pids, err
}

// CPUTime is the user plus system CPU time the tree has used so far,
// processes already gone included. It never goes down. With a cgroup it is
// the kernel's own count. Through /proc it is the live members' times and
// what they have reaped, plus the last seen of members reaped outside the
// tree (orphans, by init); CPU burnt by a process that lived and was
// reaped outside the tree entirely between two looks is missed.
func (t *Tree) CPUTime() (time.Duration, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.ended {
		return t.cpu, nil
	}
	var cpu time.Duration
	var err error
	if t.cg != nil {
		cpu, err = t.cg.cpu()
	} else {
		_, cpu, err = t.scanLocked()
	}
	if err != nil {
		return t.cpu, err
	}
	t.cpu = max(t.cpu, cpu)
	return t.cpu, nil
}

// live lists the tree's processes that have not exited.
func (t *Tree) live() ([]int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.ended {
		return nil, nil
	}
	if t.cg != nil {
		return t.cg.pids()
	}
	members, cpu, err := t.scanLocked()
	if err != nil {
		return nil, err
	}
	t.cpu = max(t.cpu, cpu)
	var pids []int
	for pid, p := range members {
		if p.live() {
			pids = append(pids, pid)
		}
	}
	return pids, nil
}

// scanLocked scans /proc for the tree.
func (t *Tree) scanLocked() (map[int]procStat, time.Duration, error) {
	for {
		leaderCPU := time.Duration(-1)
		select {
		case <-t.done:
			leaderCPU = t.leaderCPU
		default:
		}
		members, cpu, err := t.sc.scan(leaderCPU)
		if err != nil || leaderCPU >= 0 {
			return members, cpu, err
		}
		if _, ok := members[t.pid]; ok {
			return members, cpu, nil
		}
		// Reaped between the look at done and the scan: done is about
		// to close, and only then is the leader's time known.
		<-t.done
	}
}

// Stop asks every process of the tree to end with SIGTERM, gives them up
// to grace on clk, then SIGKILLs whatever is left, including processes
// started meanwhile, and returns once no process of the tree is left, the
// leader is reaped and the tree's output is copied. ctx ending cuts the
// grace period short; it does not stop the kill.
func (t *Tree) Stop(ctx context.Context, clk clock.Clock, grace time.Duration) error {
	if grace > 0 && ctx.Err() == nil {
		wk, err := newWaker()
		if err != nil {
			return errors.Join(fmt.Errorf("procs: %w", err), t.Kill())
		}
		defer wk.close()
		timer := clk.AfterFunc(grace, wk.wake)
		defer timer.Stop()
		defer context.AfterFunc(ctx, wk.wake)()
		empty, err := t.signalUntilEmpty(syscall.SIGTERM, wk)
		if err == nil && empty {
			return t.finish()
		}
	}
	return t.Kill()
}

// Kill SIGKILLs every process of the tree at once and returns as Stop does.
func (t *Tree) Kill() error {
	_, err := t.signalUntilEmpty(syscall.SIGKILL, nil)
	return errors.Join(err, t.finish())
}

// signalUntilEmpty sends sig to each process of the tree, and to each that
// appears, until none is left (it reports true) or wk wakes.
func (t *Tree) signalUntilEmpty(sig syscall.Signal, wk *waker) (empty bool, err error) {
	sent := make(map[int]bool)
	denied := make(map[int]bool)
	for {
		pids, err := t.live()
		if err != nil {
			return false, err
		}
		if len(pids) == 0 {
			return true, nil
		}
		// cgroup.kill also gets the processes forked while it runs.
		if sig != syscall.SIGKILL || t.cg == nil || t.cg.kill() != nil {
			for _, pid := range pids {
				if !sent[pid] {
					sent[pid] = true
					if syscall.Kill(pid, sig) == syscall.EPERM {
						denied[pid] = true
					}
				}
			}
			if sig == syscall.SIGKILL && !slices.ContainsFunc(pids, func(pid int) bool { return !denied[pid] }) {
				return false, fmt.Errorf("procs: may not kill pid %d of tree %d: %w", pids[0], t.pid, syscall.EPERM)
			}
		}
		woken, err := waitExit(pids, wk)
		if err != nil {
			return false, fmt.Errorf("procs: waiting for tree %d: %w", t.pid, err)
		}
		if woken {
			return false, nil
		}
	}
}

// finish releases an empty tree: it records its final CPU time, removes
// its cgroup, and waits for the leader to be reaped and its output copied.
func (t *Tree) finish() error {
	var err error
	t.mu.Lock()
	if !t.ended {
		if t.cg != nil {
			if cpu, cerr := t.cg.cpu(); cerr == nil {
				t.cpu = max(t.cpu, cpu)
			}
			err = t.cg.remove()
		} else {
			<-t.done // the leader is a zombie at worst, so this is prompt
			if _, cpu, serr := t.scanLocked(); serr == nil {
				t.cpu = max(t.cpu, cpu)
			}
		}
		t.ended = true
		if t.out != nil {
			// Every writer of the tree is gone, so whatever they wrote is
			// in the pipe: the copier takes it and stops, even if some
			// process outside the tree still holds the pipe.
			_ = t.out.SetReadDeadline(time.Unix(1, 0))
		}
	}
	t.mu.Unlock()
	<-t.done
	if t.copied != nil {
		<-t.copied
	}
	return err
}
