// Package machine runs EC2 instances as local process trees. Each instance
// has a directory that stands in for its root volume; booting it runs a
// shell script that performs its user-data the way cloud-init does (see
// userdata.go) and then stays alive as the instance's init, so that every
// process the user-data starts belongs to the instance's tree. Stopping
// ends the tree and keeps the directory ("EBS"); terminating removes it.
//
// The package knows nothing of the EC2 API: the EC2 service decides when
// an instance boots, stops or goes, and learns through OnExit when a tree
// ends by itself.
package machine

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/nephele-dev/nephele/internal/clock"
	"github.com/nephele-dev/nephele/internal/procs"
)

// ConsoleSize is how much console output an instance keeps: EC2's
// GetConsoleOutput returns the most recent 64 KB.
const ConsoleSize = 64 << 10

// Config configures a Machine.
type Config struct {
	// Dir holds one directory per instance.
	Dir string
	// Clock times the grace period between SIGTERM and SIGKILL.
	Clock clock.Clock
	// OnExit is called, from its own goroutine, when an instance's tree
	// ends without Stop or Terminate having been asked for: the instance
	// crashed, or its init was killed from outside.
	OnExit func(id string, exitCode int)
}

// Machine runs the process trees of instances.
type Machine struct {
	cfg Config

	mu      sync.Mutex
	running map[string]*instance
	// consoles outlive the trees, so a stopped instance still shows its
	// last output.
	consoles map[string]*procs.Console
}

// instance is one running tree.
type instance struct {
	tree     *procs.Tree
	stopping bool // Stop or Terminate asked for its end
	done     chan struct{}
}

// New returns a Machine keeping instance directories under cfg.Dir.
func New(cfg Config) (*Machine, error) {
	if err := os.MkdirAll(cfg.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("machine: %w", err)
	}
	m := &Machine{cfg: cfg, running: map[string]*instance{}, consoles: map[string]*procs.Console{}}
	// No tree of this run exists yet: any tree on record is one an
	// earlier run left when it was killed, and goes before instances boot
	// again.
	entries, err := os.ReadDir(cfg.Dir)
	if err != nil {
		return nil, fmt.Errorf("machine: %w", err)
	}
	for _, e := range entries {
		if e.IsDir() {
			if err := m.killStale(e.Name()); err != nil {
				return nil, err
			}
		}
	}
	return m, nil
}

// Root is the directory that stands in for an instance's root volume.
func (m *Machine) Root(id string) string { return filepath.Join(m.cfg.Dir, id, "root") }

// Spec is what Boot needs to know of an instance.
type Spec struct {
	ID string
	// UserData is the instance's user-data, decoded.
	UserData []byte
	// Env is the environment of its processes, beyond what Boot adds
	// (INSTANCE_ROOT, HOME, PATH).
	Env []string
	// Image, if set, is a directory whose contents the root starts as on
	// the first boot (an AMI made by CreateImage).
	Image string
	// Console, if set, also receives the tree's console output (what
	// Console returns) as it is written, from the goroutine that copies
	// it: its Write must neither block nor fail, or the tree's output
	// would. Boot always closes it: once the tree has ended and its last
	// output is in (so a final partial line can go too), or when Boot
	// fails.
	Console io.WriteCloser
}

// Boot starts an instance's tree: on its first boot the root is created
// (from the image, if any) and the user-data runs; later boots run only
// the every-boot parts. Booting an instance that is running is an error.
func (m *Machine) Boot(spec Spec) (err error) {
	if spec.Console != nil {
		defer func() {
			if err != nil {
				spec.Console.Close()
			}
		}()
	}
	m.mu.Lock()
	if _, ok := m.running[spec.ID]; ok {
		m.mu.Unlock()
		return fmt.Errorf("machine: %s is already running", spec.ID)
	}
	console, ok := m.consoles[spec.ID]
	if !ok {
		console = procs.NewConsole(ConsoleSize)
		m.consoles[spec.ID] = console
	}
	m.mu.Unlock()

	root := m.Root(spec.ID)
	if _, err := os.Stat(root); errors.Is(err, os.ErrNotExist) {
		if err := makeRoot(root, spec.Image); err != nil {
			return fmt.Errorf("machine: root of %s: %w", spec.ID, err)
		}
	}
	if err := m.linkInstanceStore(spec.ID); err != nil {
		return fmt.Errorf("machine: instance store of %s: %w", spec.ID, err)
	}
	_, err = os.Stat(filepath.Join(root, bootFinished))
	firstBoot := errors.Is(err, os.ErrNotExist)
	p, err := plan(root, spec.UserData, firstBoot)
	if err != nil {
		return fmt.Errorf("machine: boot of %s: %w", spec.ID, err)
	}
	logFile, err := os.OpenFile(filepath.Join(root, cloudInitLogs), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("machine: boot of %s: %w", spec.ID, err)
	}
	env := append([]string{
		"INSTANCE_ROOT=" + root,
		"HOME=" + root,
		"PATH=" + os.Getenv("PATH"),
		"LANG=C.UTF-8",
	}, spec.Env...)
	out := []io.Writer{console, logFile}
	if spec.Console != nil {
		// Before the log file, whose failing Write would end a
		// MultiWriter's round early.
		out = []io.Writer{console, spec.Console, logFile}
	}
	tree, err := procs.Start(procs.Spec{
		Path:   "/bin/sh",
		Args:   []string{p.script},
		Dir:    root,
		Env:    env,
		Output: io.MultiWriter(out...),
	})
	if err != nil {
		logFile.Close()
		return fmt.Errorf("machine: boot of %s: %w", spec.ID, err)
	}
	if err := m.recordTree(spec.ID, treeRecord{PID: tree.PID(), Cgroup: tree.Cgroup()}); err != nil {
		tree.Kill()
		logFile.Close()
		return fmt.Errorf("machine: boot of %s: %w", spec.ID, err)
	}
	inst := &instance{tree: tree, done: make(chan struct{})}
	m.mu.Lock()
	m.running[spec.ID] = inst
	m.mu.Unlock()
	go m.watch(spec.ID, inst, logFile, spec.Console)
	return nil
}

// watch waits for a tree's leader to end and reports an end nobody asked
// for.
func (m *Machine) watch(id string, inst *instance, logFile *os.File, mirror io.Closer) {
	<-inst.tree.Done()
	// Whatever the leader left behind goes with it: an instance whose
	// init died has no processes.
	inst.tree.Kill()
	logFile.Close()
	// Kill has waited for the last output to be copied.
	if mirror != nil {
		mirror.Close()
	}
	m.mu.Lock()
	if m.running[id] == inst {
		delete(m.running, id)
		m.forgetTree(id)
	}
	asked := inst.stopping
	m.mu.Unlock()
	close(inst.done)
	if !asked && m.cfg.OnExit != nil {
		m.cfg.OnExit(id, inst.tree.ExitCode())
	}
}

// Running reports whether an instance's tree is up.
func (m *Machine) Running(id string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	_, ok := m.running[id]
	return ok
}

// Stop ends an instance's tree: SIGTERM to every process, then SIGKILL to
// what is left after grace (on the clock); grace 0 kills at once, as a
// forced stop does. The root stays. Stopping an instance that is not
// running does nothing.
func (m *Machine) Stop(ctx context.Context, id string, grace time.Duration) error {
	m.mu.Lock()
	inst, ok := m.running[id]
	if ok {
		inst.stopping = true
	}
	m.mu.Unlock()
	if !ok {
		return nil
	}
	var err error
	if grace <= 0 {
		err = inst.tree.Kill()
	} else {
		err = inst.tree.Stop(ctx, m.cfg.Clock, grace)
	}
	select {
	case <-inst.done:
	case <-ctx.Done():
		return ctx.Err()
	}
	return err
}

// Remove deletes a stopped instance's directory and console: the end of
// a terminated instance whose root volume is not kept.
func (m *Machine) Remove(id string) error {
	m.mu.Lock()
	if _, ok := m.running[id]; ok {
		m.mu.Unlock()
		return fmt.Errorf("machine: %s is still running", id)
	}
	delete(m.consoles, id)
	m.mu.Unlock()
	return os.RemoveAll(filepath.Join(m.cfg.Dir, id))
}

// Console returns the most recent console output of an instance (up to
// ConsoleSize bytes), nil if it never booted in this process.
func (m *Machine) Console(id string) []byte {
	m.mu.Lock()
	c := m.consoles[id]
	m.mu.Unlock()
	if c == nil {
		return nil
	}
	return c.Bytes()
}

// CPUTime is the CPU time an instance's running tree has used.
func (m *Machine) CPUTime(id string) (time.Duration, bool) {
	m.mu.Lock()
	inst, ok := m.running[id]
	m.mu.Unlock()
	if !ok {
		return 0, false
	}
	d, err := inst.tree.CPUTime()
	return d, err == nil
}

// PIDs lists the live processes of an instance's tree.
func (m *Machine) PIDs(id string) []int {
	m.mu.Lock()
	inst, ok := m.running[id]
	m.mu.Unlock()
	if !ok {
		return nil
	}
	pids, _ := inst.tree.PIDs()
	return pids
}

// Close stops every tree at once, for shutdown and reset: nothing nephele
// started may outlive it.
func (m *Machine) Close() error {
	m.mu.Lock()
	ids := make([]string, 0, len(m.running))
	for id, inst := range m.running {
		inst.stopping = true
		ids = append(ids, id)
	}
	m.mu.Unlock()
	var errs []error
	for _, id := range ids {
		errs = append(errs, m.Stop(context.Background(), id, 0))
	}
	return errors.Join(errs...)
}

// ImageDir is the directory that holds the files of an image made from
// an instance.
func (m *Machine) ImageDir(imageID string) string { return filepath.Join(m.cfg.Dir, "images", imageID) }

// SaveImage copies an instance's root directory into a new image's
// directory, for CreateImage: instances launched from the image start as
// a copy of it. The instance may be running (a snapshot of a live file
// system, as CreateImage with NoReboot makes).
func (m *Machine) SaveImage(instanceID, imageID string) (string, error) {
	dir := m.ImageDir(imageID)
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return "", err
	}
	if err := copyTree(m.Root(instanceID), dir); err != nil {
		os.RemoveAll(dir)
		return "", fmt.Errorf("machine: image of %s: %w", instanceID, err)
	}
	return dir, nil
}

// CopyImage copies an image's directory to a new image (CopyImage).
func (m *Machine) CopyImage(fromDir, imageID string) (string, error) {
	dir := m.ImageDir(imageID)
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return "", err
	}
	if err := copyTree(fromDir, dir); err != nil {
		os.RemoveAll(dir)
		return "", err
	}
	return dir, nil
}

// RemoveImage deletes an image's directory (DeregisterImage).
func (m *Machine) RemoveImage(imageID string) error { return os.RemoveAll(m.ImageDir(imageID)) }

// copyTree copies a directory tree: regular files (with their modes),
// directories and symbolic links; sockets, FIFOs and devices are skipped,
// as a live file system may hold them.
func copyTree(from, to string) error {
	return filepath.WalkDir(from, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(from, path)
		if err != nil {
			return err
		}
		target := filepath.Join(to, rel)
		info, err := d.Info()
		if err != nil {
			return err
		}
		switch mode := info.Mode(); {
		case mode.IsDir():
			return os.MkdirAll(target, mode.Perm()|0o700)
		case mode&os.ModeSymlink != 0:
			link, err := os.Readlink(path)
			if err != nil {
				return err
			}
			return os.Symlink(link, target)
		case mode.IsRegular():
			return copyFile(path, target, mode.Perm())
		}
		return nil
	})
}

// copyFile copies one regular file.
func copyFile(from, to string, perm os.FileMode) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, perm)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// makeRoot creates an instance root, as a copy of image when one is given.
func makeRoot(root, image string) error {
	if image == "" {
		return os.MkdirAll(root, 0o755)
	}
	if err := os.MkdirAll(filepath.Dir(root), 0o755); err != nil {
		return err
	}
	if err := copyTree(image, root); err != nil {
		return err
	}
	// cloud-init keeps per-instance state by instance ID: a new instance
	// made from an image runs its own user-data on its first boot.
	return os.RemoveAll(filepath.Join(root, instanceDir))
}
