package machine_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nephele-dev/nephele/internal/clock"
	"github.com/nephele-dev/nephele/internal/ec2/machine"
	"github.com/nephele-dev/nephele/internal/testenv"
)

// newMachine is a Machine in a temporary directory whose trees all end
// with the test.
func newMachine(t *testing.T, onExit func(string, int)) *machine.Machine {
	t.Helper()
	m, err := machine.New(machine.Config{Dir: t.TempDir(), Clock: clock.Real(), OnExit: onExit})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

// waitFile waits (bounded) for a file to exist and returns its contents.
func waitFile(t *testing.T, path string) string {
	t.Helper()
	for range 200 {
		if b, err := os.ReadFile(path); err == nil && len(b) > 0 {
			return string(b)
		}
		time.Sleep(25 * time.Millisecond)
	}
	t.Fatalf("%s never appeared", path)
	return ""
}

// boot boots an instance and stops it at the end of the test.
func boot(t *testing.T, m *machine.Machine, id, userData string) string {
	t.Helper()
	if err := m.Boot(machine.Spec{ID: id, UserData: []byte(userData), Env: []string{"GREETING=hi"}}); err != nil {
		t.Fatal(err)
	}
	return m.Root(id)
}

func TestUserDataKinds(t *testing.T) {
	gz := "H4sIAAAAAAAA/8pIzcnJBwQAAP//hqYQNgUAAAA=" // gzip of "hello"
	tests := []struct {
		name     string
		userData string
		file     string // relative to the root
		want     string
	}{
		{"shell_script", "#!/bin/sh\necho \"$GREETING from $INSTANCE_ROOT\" > out.txt\n", "out.txt", "hi from ROOT\n"},
		{"python_script", "#!/usr/bin/env python3\nopen('out.txt', 'w').write('py')\n", "out.txt", "py"},
		{"cloud_config_runcmd", "#cloud-config\nruncmd:\n  - echo one > tmp.txt\n  - [sh, -c, 'echo two >> tmp.txt && mv tmp.txt out.txt']\n", "out.txt", "one\ntwo\n"},
		{"cloud_config_write_files", "#cloud-config\nwrite_files:\n  - path: /etc/app/conf.ini\n    content: |\n      key=value\n    permissions: '0600'\nruncmd:\n  - cat etc/app/conf.ini > out.txt\n", "out.txt", "key=value\n"},
		{"write_files_gzip_base64", "#cloud-config\nwrite_files:\n  - path: /data/hello\n    encoding: gz+b64\n    content: " + gz + "\n", "data/hello", "hello"},
		{"bootcmd_runs", "#cloud-config\nbootcmd:\n  - echo early > boot.txt\n", "boot.txt", "early\n"},
	}
	m := newMachine(t, nil)
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id := fmt.Sprintf("i-%017d", i)
			root := boot(t, m, id, tt.userData)
			got := waitFile(t, filepath.Join(root, tt.file))
			if want := strings.ReplaceAll(tt.want, "ROOT", root); got != want {
				t.Errorf("%s = %q, want %q", tt.file, got, want)
			}
		})
	}
	info, err := os.Stat(filepath.Join(m.Root(fmt.Sprintf("i-%017d", 3)), "etc/app/conf.ini"))
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Errorf("write_files permissions: %v %v", info, err)
	}
}

// TestUserDataRunsOnFirstBootOnly checks cloud-init's rule: user-data runs
// on an instance's first boot; bootcmd and per-boot scripts on every boot;
// files stay across a stop.
func TestUserDataRunsOnFirstBootOnly(t *testing.T) {
	m := newMachine(t, nil)
	const id = "i-00000000000000001"
	userData := `#cloud-config
bootcmd:
  - echo boot >> boots.txt
runcmd:
  - echo run >> runs.txt
  - mkdir -p var/lib/cloud/scripts/per-boot
  - printf '#!/bin/sh\necho per-boot >> perboot.txt\n' > var/lib/cloud/scripts/per-boot/x.sh
  - chmod +x var/lib/cloud/scripts/per-boot/x.sh
  - echo ok > ready
`
	root := boot(t, m, id, userData)
	waitFile(t, filepath.Join(root, "ready"))
	// The first boot is over once cloud-init's marker is written; a stop
	// before that would leave the user-data to run again, as it would
	// under cloud-init.
	for range 200 {
		if _, err := os.Stat(filepath.Join(root, "var/lib/cloud/instance/boot-finished")); err == nil {
			break
		}
		time.Sleep(25 * time.Millisecond)
	}
	if err := m.Stop(context.Background(), id, time.Second); err != nil {
		t.Fatal(err)
	}
	if m.Running(id) {
		t.Fatal("still running after Stop")
	}
	if err := m.Boot(machine.Spec{ID: id, UserData: []byte(userData)}); err != nil {
		t.Fatal(err)
	}
	for range 200 {
		if b, _ := os.ReadFile(filepath.Join(root, "perboot.txt")); len(b) > 0 {
			break
		}
		time.Sleep(25 * time.Millisecond)
	}
	read := func(name string) string {
		b, _ := os.ReadFile(filepath.Join(root, name))
		return string(b)
	}
	if got := read("runs.txt"); got != "run\n" {
		t.Errorf("runs.txt = %q, want one run", got)
	}
	if got := read("boots.txt"); got != "boot\nboot\n" {
		t.Errorf("boots.txt = %q, want two boots", got)
	}
	if got := read("perboot.txt"); got != "per-boot\n" {
		t.Errorf("perboot.txt = %q, want the second boot only", got)
	}
}

// TestStopEndsEveryProcess checks that a stop ends what the user-data left
// running in the background, and Remove deletes the root.
func TestStopEndsEveryProcess(t *testing.T) {
	exits := make(chan string, 1)
	m := newMachine(t, func(id string, _ int) { exits <- id })
	const id = "i-00000000000000002"
	root := boot(t, m, id, "#!/bin/sh\nsleep 300 &\necho $! > bg.pid\nsetsid sleep 300 &\necho $! > sid.pid\n")
	var pids []int
	for _, f := range []string{"bg.pid", "sid.pid"} {
		var pid int
		fmt.Sscan(waitFile(t, filepath.Join(root, f)), &pid)
		pids = append(pids, pid)
	}
	if err := m.Stop(context.Background(), id, time.Second); err != nil {
		t.Fatal(err)
	}
	for _, pid := range pids {
		if testenv.Alive(pid) {
			t.Errorf("process %d outlived Stop", pid)
		}
	}
	select {
	case got := <-exits:
		t.Errorf("OnExit(%s) for a stop that was asked for", got)
	default:
	}
	if err := m.Remove(id); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Dir(root)); !os.IsNotExist(err) {
		t.Errorf("instance directory still there: %v", err)
	}
}

// TestUnexpectedExitIsReported checks that a tree whose init is killed from
// outside is reported through OnExit and leaves nothing running.
func TestUnexpectedExitIsReported(t *testing.T) {
	exits := make(chan string, 1)
	m := newMachine(t, func(id string, _ int) { exits <- id })
	const id = "i-00000000000000003"
	root := boot(t, m, id, "#!/bin/sh\necho $PPID > init.pid\n")
	var pid int
	fmt.Sscan(waitFile(t, filepath.Join(root, "init.pid")), &pid)
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	select {
	case got := <-exits:
		if got != id {
			t.Errorf("OnExit(%s), want %s", got, id)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no OnExit after the init was killed")
	}
	if m.Running(id) {
		t.Error("still running after its init died")
	}
}

// TestConsoleKeepsOutput checks the console keeps what the tree wrote,
// after the tree is gone too.
func TestConsoleKeepsOutput(t *testing.T) {
	m := newMachine(t, nil)
	const id = "i-00000000000000004"
	root := boot(t, m, id, "#!/bin/sh\necho to-stdout\necho to-stderr >&2\necho ok > done\n")
	waitFile(t, filepath.Join(root, "done"))
	if err := m.Stop(context.Background(), id, time.Second); err != nil {
		t.Fatal(err)
	}
	got := string(m.Console(id))
	if !strings.Contains(got, "to-stdout") || !strings.Contains(got, "to-stderr") {
		t.Errorf("console = %q", got)
	}
}

// mirror is a Spec.Console that keeps what it is given.
type mirror struct {
	mu     sync.Mutex
	b      strings.Builder
	closed int
}

func (w *mirror) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func (w *mirror) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.closed++
	return nil
}

func (w *mirror) read() (string, int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String(), w.closed
}

// TestSpecConsoleMirrorsOutput checks that a Spec's Console gets the
// console output, down to what is written last, and is closed once the
// tree has ended, or when Boot fails.
func TestSpecConsoleMirrorsOutput(t *testing.T) {
	m := newMachine(t, nil)
	const id = "i-00000000000000006"
	w := &mirror{}
	if err := m.Boot(machine.Spec{ID: id, UserData: []byte("#!/bin/sh\necho to-stdout\necho to-stderr >&2\necho ok > done\n"), Console: w}); err != nil {
		t.Fatal(err)
	}
	waitFile(t, filepath.Join(m.Root(id), "done"))
	again := &mirror{}
	if err := m.Boot(machine.Spec{ID: id, Console: again}); err == nil {
		t.Error("a second Boot of a running instance succeeded")
	}
	if _, closed := again.read(); closed != 1 {
		t.Errorf("the failed Boot's Console closed %d times, want once", closed)
	}
	if _, closed := w.read(); closed != 0 {
		t.Error("Console closed while the tree runs")
	}
	if err := m.Stop(context.Background(), id, time.Second); err != nil {
		t.Fatal(err)
	}
	got, closed := w.read()
	if closed != 1 {
		t.Errorf("Console closed %d times after Stop, want once", closed)
	}
	if !strings.Contains(got, "to-stdout\n") || !strings.Contains(got, "to-stderr\n") {
		t.Errorf("mirrored %q", got)
	}
	if console := string(m.Console(id)); got != console {
		t.Errorf("mirrored %q, console %q", got, console)
	}
}

// TestImageRoot checks that an instance made from an image starts with the
// image's files and runs its own user-data.
func TestImageRoot(t *testing.T) {
	m := newMachine(t, nil)
	image := t.TempDir()
	os.WriteFile(filepath.Join(image, "baked.txt"), []byte("baked"), 0o644)
	os.MkdirAll(filepath.Join(image, "var/lib/cloud/instance"), 0o755)
	os.WriteFile(filepath.Join(image, "var/lib/cloud/instance/boot-finished"), nil, 0o644)
	const id = "i-00000000000000005"
	if err := m.Boot(machine.Spec{ID: id, UserData: []byte("#!/bin/sh\ncat baked.txt > copy.txt\n"), Image: image}); err != nil {
		t.Fatal(err)
	}
	if got := waitFile(t, filepath.Join(m.Root(id), "copy.txt")); got != "baked" {
		t.Errorf("copy.txt = %q", got)
	}
}

// TestStaleTreesEndAtStart checks that a tree an earlier run left behind
// (nephele killed with SIGKILL) is ended when the next Machine starts on
// the same directory.
func TestStaleTreesEndAtStart(t *testing.T) {
	dir := t.TempDir()
	first, err := machine.New(machine.Config{Dir: dir, Clock: clock.Real()})
	if err != nil {
		t.Fatal(err)
	}
	const id = "i-00000000000000006"
	if err := first.Boot(machine.Spec{ID: id, UserData: []byte("#!/bin/sh\nsleep 300 &\necho $! > bg.pid\nsetsid sleep 300 &\necho $! > sid.pid\n")}); err != nil {
		t.Fatal(err)
	}
	var pids []int
	for _, f := range []string{"bg.pid", "sid.pid"} {
		var pid int
		fmt.Sscan(waitFile(t, filepath.Join(first.Root(id), f)), &pid)
		pids = append(pids, pid)
	}
	// The first Machine is abandoned, as a killed nephele abandons it;
	// its trees are still running. Clean up whatever the test leaves.
	t.Cleanup(func() { first.Close() })
	second, err := machine.New(machine.Config{Dir: dir, Clock: clock.Real()})
	if err != nil {
		t.Fatal(err)
	}
	defer second.Close()
	for _, pid := range pids {
		for range 100 {
			if !testenv.Alive(pid) {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		if testenv.Alive(pid) {
			t.Errorf("stale process %d still running after a new Machine started", pid)
		}
	}
}
