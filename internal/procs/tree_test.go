//go:build linux

package procs_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nephele-dev/nephele/internal/clock"
	"github.com/nephele-dev/nephele/internal/procs"
)

// bound is how long any one wait in these tests may take before the test
// fails instead of hanging.
const bound = 10 * time.Second

// mode is one way of tracking a tree.
type mode struct {
	name  string
	start func(procs.Spec) (*procs.Tree, error)
}

var modes = []mode{
	{"cgroup", procs.Start},
	{"proc", procs.StartWithoutCgroup},
}

// startSh starts script under sh in the given mode, with output going to
// a pipe whose lines the returned reader yields, and kills the tree when
// the test ends. It skips the cgroup mode where no cgroup is available.
func startSh(t *testing.T, m mode, script string) (*procs.Tree, *lineReader) {
	t.Helper()
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	tree, err := m.start(procs.Spec{Path: "sh", Args: []string{"-c", script}, Output: pw})
	pw.Close()
	if err != nil {
		pr.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := tree.Kill(); err != nil {
			t.Errorf("Kill: %v", err)
		}
		pr.Close()
	})
	if m.name == "cgroup" && tree.Cgroup() == "" {
		t.Skip("no writable cgroup v2 here")
	}
	if m.name == "proc" && tree.Cgroup() != "" {
		t.Fatalf("Cgroup() = %q without a cgroup", tree.Cgroup())
	}
	return tree, &lineReader{t: t, f: pr, sc: bufio.NewScanner(pr)}
}

// lineReader reads a tree's output line by line, each read bounded.
type lineReader struct {
	t  *testing.T
	f  *os.File
	sc *bufio.Scanner
}

// next returns the next line of output.
func (r *lineReader) next() string {
	r.t.Helper()
	_ = r.f.SetReadDeadline(time.Now().Add(bound))
	if !r.sc.Scan() {
		r.t.Fatalf("reading the tree's output: %v", r.sc.Err())
	}
	return r.sc.Text()
}

// until reads lines up to one equal to want, and returns those before it.
func (r *lineReader) until(want string) []string {
	r.t.Helper()
	var lines []string
	for {
		line := r.next()
		if line == want {
			return lines
		}
		lines = append(lines, line)
	}
}

// running reports whether pid is a process that has not exited (a zombie
// has).
func running(pid int) bool {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	i := strings.LastIndexByte(string(data), ')')
	state := strings.Fields(string(data[i+1:]))[0]
	return state != "Z" && state != "X"
}

// ourZombies lists the exited children of this process nobody reaped.
func ourZombies(t *testing.T) []int {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	var zombies []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		data, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		i := strings.LastIndexByte(string(data), ')')
		f := strings.Fields(string(data[i+1:]))
		if f[0] == "Z" && f[1] == strconv.Itoa(os.Getpid()) {
			zombies = append(zombies, pid)
		}
	}
	return zombies
}

// spawner starts a sleep in each way a process can leave its parent behind,
// and prints "name pid" for each, then "ready".
const spawner = `
sleep 1000 & echo background $!
setsid sleep 1000 & echo setsid $!
sh -c 'sleep 1000 & echo double-forked $!'
setsid sh -c 'sleep 1000 & echo setsid-double-forked $!'
sh -c 'env -u NEPHELE_PROCS_TREE sleep 1000 & echo unmarked-double-forked $!'
echo ready
`

func TestStopEndsEveryProcess(t *testing.T) {
	leaders := []struct {
		name string
		tail string
	}{
		{"leader_still_running", "exec sleep 1000"},
		{"leader_exited", "exit 0"},
	}
	stops := []struct {
		name string
		stop func(*procs.Tree) error
	}{
		{"Stop", func(tr *procs.Tree) error { return tr.Stop(context.Background(), clock.Real(), bound) }},
		{"Kill", (*procs.Tree).Kill},
	}
	for _, m := range modes {
		for _, l := range leaders {
			for _, s := range stops {
				t.Run(m.name+"/"+l.name+"/"+s.name, func(t *testing.T) {
					tree, out := startSh(t, m, spawner+l.tail)
					want := map[string]int{}
					for _, line := range out.until("ready") {
						name, pid, _ := strings.Cut(line, " ")
						want[name], _ = strconv.Atoi(pid)
					}
					if l.name == "leader_exited" {
						select {
						case <-tree.Done():
						case <-time.After(bound):
							t.Fatal("Done not closed after the leader exited")
						}
					} else {
						want["leader"] = tree.PID()
					}
					pids, err := tree.PIDs()
					if err != nil {
						t.Fatal(err)
					}
					for name, pid := range want {
						if !slices.Contains(pids, pid) {
							t.Errorf("PIDs() = %v misses the %s process %d", pids, name, pid)
						}
					}

					if err := s.stop(tree); err != nil {
						t.Fatalf("%s: %v", s.name, err)
					}
					for name, pid := range want {
						if running(pid) {
							t.Errorf("the %s process %d survived %s", name, pid, s.name)
						}
					}
					if pids, err := tree.PIDs(); err != nil || len(pids) != 0 {
						t.Errorf("PIDs() after %s = %v, %v; want none", s.name, pids, err)
					}
					select {
					case <-tree.Done():
					default:
						t.Errorf("Done not closed after %s", s.name)
					}
					if z := ourZombies(t); len(z) != 0 {
						t.Errorf("zombies left: %v", z)
					}
					if dir := tree.Cgroup(); dir != "" {
						if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
							t.Errorf("cgroup %s still there: %v", dir, err)
						}
					}
				})
			}
		}
	}
}

func TestExitCode(t *testing.T) {
	tests := []struct {
		name   string
		script string
		want   int
	}{
		{"success_is_0", "exit 0", 0},
		{"exit_status_is_kept", "exit 7", 7},
		{"killed_by_a_signal_is_-1", "kill -KILL $$", -1},
	}
	for _, m := range modes {
		for _, tt := range tests {
			t.Run(m.name+"/"+tt.name, func(t *testing.T) {
				tree, _ := startSh(t, m, tt.script)
				select {
				case <-tree.Done():
				case <-time.After(bound):
					t.Fatal("Done not closed")
				}
				if got := tree.ExitCode(); got != tt.want {
					t.Errorf("ExitCode() = %d, want %d", got, tt.want)
				}
			})
		}
	}
}

// stubborn ignores SIGTERM in a child, and in the leader prints
// "got-term" for each one, so only SIGKILL ends the tree.
const stubborn = `
trap '' TERM
sleep 1000 &
trap 'echo got-term' TERM
echo ready
while :; do wait; done
`

func TestStopGracePeriod(t *testing.T) {
	for _, m := range modes {
		t.Run(m.name+"/SIGKILL_follows_when_the_grace_period_ends_on_the_fake_clock", func(t *testing.T) {
			tree, out := startSh(t, m, stubborn)
			out.until("ready")
			clk := clock.NewFake(time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC))
			stopped := make(chan error, 1)
			go func() { stopped <- tree.Stop(context.Background(), clk, time.Minute) }()
			if got := out.next(); got != "got-term" {
				t.Fatalf("output %q, want got-term", got)
			}
			ctx, cancel := context.WithTimeout(context.Background(), bound)
			defer cancel()
			if err := clk.BlockUntilWaiters(ctx, 1); err != nil {
				t.Fatal("Stop set no timer for the grace period")
			}
			clk.Advance(59 * time.Second)
			select {
			case err := <-stopped:
				t.Fatalf("Stop returned before the grace period ended: %v", err)
			case <-time.After(50 * time.Millisecond):
			}
			if pids, _ := tree.PIDs(); len(pids) != 2 {
				t.Errorf("PIDs() during the grace period = %v, want the leader and its child", pids)
			}
			clk.Advance(time.Second)
			select {
			case err := <-stopped:
				if err != nil {
					t.Fatal(err)
				}
			case <-time.After(bound):
				t.Fatal("Stop did not return after the grace period")
			}
			if tree.ExitCode() != -1 {
				t.Errorf("ExitCode() = %d, want -1 (SIGKILL)", tree.ExitCode())
			}
		})

		t.Run(m.name+"/SIGKILL_follows_a_short_real_grace_period", func(t *testing.T) {
			tree, out := startSh(t, m, stubborn)
			out.until("ready")
			start := time.Now()
			if err := tree.Stop(context.Background(), clock.Real(), 50*time.Millisecond); err != nil {
				t.Fatal(err)
			}
			if d := time.Since(start); d < 50*time.Millisecond {
				t.Errorf("Stop returned after %v, before the grace period", d)
			}
			if pids, _ := tree.PIDs(); len(pids) != 0 {
				t.Errorf("PIDs() after Stop = %v", pids)
			}
		})

		t.Run(m.name+"/ending_context_cuts_the_grace_period_short", func(t *testing.T) {
			tree, out := startSh(t, m, stubborn)
			out.until("ready")
			ctx, cancel := context.WithCancel(context.Background())
			stopped := make(chan error, 1)
			go func() { stopped <- tree.Stop(ctx, clock.NewFake(time.Time{}), time.Hour) }()
			out.until("got-term")
			cancel()
			select {
			case err := <-stopped:
				if err != nil {
					t.Fatal(err)
				}
			case <-time.After(bound):
				t.Fatal("Stop did not return once ctx ended")
			}
		})

		t.Run(m.name+"/Stop_returns_as_soon_as_SIGTERM_has_ended_the_tree", func(t *testing.T) {
			tree, out := startSh(t, m, spawner+"exec sleep 1000")
			out.until("ready")
			stopped := make(chan error, 1)
			// The fake clock never moves: only the processes exiting can
			// end this Stop.
			go func() { stopped <- tree.Stop(context.Background(), clock.NewFake(time.Time{}), time.Hour) }()
			select {
			case err := <-stopped:
				if err != nil {
					t.Fatal(err)
				}
			case <-time.After(bound):
				t.Fatal("Stop waited although SIGTERM ended every process")
			}
			if got := tree.ExitCode(); got != -1 {
				t.Errorf("ExitCode() = %d, want -1 (SIGTERM)", got)
			}
		})
	}
}

// busy is a bounded busy loop of about a third of a second of CPU.
const busy = `i=0; while [ $i -lt 300000 ]; do i=$((i+1)); done`

func TestCPUTime(t *testing.T) {
	tests := []struct {
		name   string
		script string
	}{
		{"busy_leader", busy + "; echo done; exec sleep 1000"},
		{"busy_child_reaped_by_the_leader", "(" + busy + "); echo done; exec sleep 1000"},
		{"busy_orphan", "sh -c '(" + busy + "; echo done) &'; exec sleep 1000"},
		{"busy_setsid_orphan_after_the_leader_exited", "setsid sh -c '(" + busy + "; echo done) &'"},
	}
	for _, m := range modes {
		for _, tt := range tests {
			t.Run(m.name+"/"+tt.name, func(t *testing.T) {
				tree, out := startSh(t, m, tt.script)
				finished := make(chan struct{})
				go func() {
					defer close(finished)
					out.until("done")
				}()
				var last time.Duration
				sample := func(when string) {
					t.Helper()
					cpu, err := tree.CPUTime()
					if err != nil {
						t.Fatal(err)
					}
					if cpu < last {
						t.Fatalf("CPUTime went down %s: %v after %v", when, cpu, last)
					}
					last = cpu
				}
				deadline := time.After(bound)
			loop:
				for {
					sample("while busy")
					select {
					case <-finished:
						break loop
					case <-deadline:
						t.Fatal("the busy loop did not finish")
					case <-time.After(5 * time.Millisecond):
					}
				}
				// Let the busy process exit and be reaped, then look again.
				for range 20 {
					sample("after the busy process exited")
					time.Sleep(5 * time.Millisecond)
				}
				t.Logf("CPUTime after the busy loop: %v", last)
				if last < 100*time.Millisecond {
					t.Errorf("CPUTime() = %v after a busy loop, want at least 100ms", last)
				}
				if err := tree.Kill(); err != nil {
					t.Fatal(err)
				}
				sample("after Kill")
			})
		}
	}
}

func TestOutput(t *testing.T) {
	for _, m := range modes {
		t.Run(m.name+"/console_keeps_what_background_processes_write_after_the_leader_exits", func(t *testing.T) {
			console := procs.NewConsole(64 << 10)
			tree, err := m.start(procs.Spec{
				Path:   "sh",
				Args:   []string{"-c", `(sleep 0.05; echo late; echo late-err >&2) & echo early`},
				Output: console,
			})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = tree.Kill() })
			<-tree.Done()
			waitEmpty(t, tree)
			if err := tree.Kill(); err != nil {
				t.Fatal(err)
			}
			if got, want := string(console.Bytes()), "early\nlate\nlate-err\n"; got != want {
				t.Errorf("console = %q, want %q", got, want)
			}
		})

		t.Run(m.name+"/Kill_returns_with_all_output_copied_and_no_goroutine_left", func(t *testing.T) {
			before := runtime.NumGoroutine()
			console := procs.NewConsole(1 << 10)
			tree, err := m.start(procs.Spec{
				Path:   "sh",
				Args:   []string{"-c", `sleep 1000 & printf 'x%.0s' $(seq 3000); echo; echo ready; exec sleep 1000`},
				Output: console,
			})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = tree.Kill() })
			deadline := time.Now().Add(bound)
			for !strings.HasSuffix(string(console.Bytes()), "ready\n") {
				if time.Now().After(deadline) {
					t.Fatalf("no ready in %q", console.Bytes())
				}
				time.Sleep(time.Millisecond)
			}
			if err := tree.Kill(); err != nil {
				t.Fatal(err)
			}
			if got := console.Bytes(); len(got) != 1<<10 || !strings.HasSuffix(string(got), "x\nready\n") {
				t.Errorf("console holds %d bytes ending %q", len(got), got[max(0, len(got)-10):])
			}
			for runtime.NumGoroutine() > before {
				if time.Now().After(deadline) {
					t.Fatalf("%d goroutines after Kill, %d before Start", runtime.NumGoroutine(), before)
				}
				time.Sleep(time.Millisecond)
			}
		})
	}
}

// waitEmpty waits, bounded, until the tree has no process left.
func waitEmpty(t *testing.T, tree *procs.Tree) {
	t.Helper()
	deadline := time.Now().Add(bound)
	for {
		pids, err := tree.PIDs()
		if err != nil {
			t.Fatal(err)
		}
		if len(pids) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("processes %v did not exit", pids)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestStartFailure(t *testing.T) {
	for _, m := range modes {
		t.Run(m.name+"/missing_program_is_an_error", func(t *testing.T) {
			tree, err := m.start(procs.Spec{Path: filepath.Join(t.TempDir(), "missing")})
			if err == nil {
				_ = tree.Kill()
				t.Fatal("Start of a missing program succeeded")
			}
		})
		t.Run(m.name+"/empty_path_is_an_error", func(t *testing.T) {
			if _, err := m.start(procs.Spec{}); err == nil {
				t.Fatal("Start with no Path succeeded")
			}
		})
	}
}

func TestSpec(t *testing.T) {
	for _, m := range modes {
		t.Run(m.name+"/dir_args_and_env_reach_the_leader", func(t *testing.T) {
			dir := t.TempDir()
			pr, pw, err := os.Pipe()
			if err != nil {
				t.Fatal(err)
			}
			defer pr.Close()
			tree, err := m.start(procs.Spec{
				Path:   "sh",
				Args:   []string{"-c", `echo "$(pwd) $1 $GREETING"`, "sh", "arg1"},
				Dir:    dir,
				Env:    []string{"GREETING=hello", "PATH=" + os.Getenv("PATH")},
				Output: pw,
			})
			pw.Close()
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = tree.Kill() })
			out := &lineReader{t: t, f: pr, sc: bufio.NewScanner(pr)}
			if got, want := out.next(), fmt.Sprintf("%s arg1 hello", dir); got != want {
				t.Errorf("output %q, want %q", got, want)
			}
		})
	}
}

func TestLeaderHasItsOwnSession(t *testing.T) {
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			tree, out := startSh(t, m, "echo ready; exec sleep 1000")
			out.until("ready")
			sid, err := getsid(tree.PID())
			if err != nil {
				t.Fatal(err)
			}
			if sid != tree.PID() {
				t.Errorf("session of the leader = %d, want its own pid %d", sid, tree.PID())
			}
		})
	}
}

func getsid(pid int) (int, error) {
	sid, _, errno := syscall.RawSyscall(syscall.SYS_GETSID, uintptr(pid), 0, 0)
	if errno != 0 {
		return 0, errno
	}
	return int(sid), nil
}
