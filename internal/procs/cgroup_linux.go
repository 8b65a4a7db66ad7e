package procs

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// cgroup is the cgroup v2 of one tree.
type cgroup struct {
	dir string
}

// newCgroup creates a cgroup for a new tree under nephele's own cgroup v2,
// and opens it for CLONE_INTO_CGROUP; the caller closes fd once the leader
// has started. It fails when there is no cgroup v2 hierarchy or nephele may
// not write to it, which is the cue to track the tree through /proc.
func newCgroup() (cg *cgroup, fd int, err error) {
	base, err := ownCgroupDir()
	if err != nil {
		return nil, -1, err
	}
	var id [8]byte
	_, _ = rand.Read(id[:]) // never fails on Linux
	dir := filepath.Join(base, "nephele-procs-"+hex.EncodeToString(id[:]))
	if err := os.Mkdir(dir, 0o755); err != nil {
		return nil, -1, err
	}
	fd, err = syscall.Open(dir, syscall.O_RDONLY|syscall.O_DIRECTORY|syscall.O_CLOEXEC, 0)
	if err != nil {
		_ = syscall.Rmdir(dir)
		return nil, -1, &fs.PathError{Op: "open", Path: dir, Err: err}
	}
	return &cgroup{dir: dir}, fd, nil
}

// ownCgroupDir is the directory of the cgroup v2 nephele runs in, found
// from /proc/self/cgroup (its "0::" line) and the mount of the cgroup2
// hierarchy, which is /sys/fs/cgroup on unified systems and often
// /sys/fs/cgroup/unified on hybrid ones.
func ownCgroupDir() (string, error) {
	data, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return "", err
	}
	rel := ""
	for line := range strings.Lines(string(data)) {
		if p, ok := strings.CutPrefix(strings.TrimSuffix(line, "\n"), "0::"); ok {
			rel = p
		}
	}
	if !strings.HasPrefix(rel, "/") {
		return "", errors.New("procs: not in a cgroup v2 hierarchy")
	}
	mounts, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return "", err
	}
	sc := bufio.NewScanner(bytes.NewReader(mounts))
	for sc.Scan() {
		// id parent major:minor root mountpoint options [optional...] - fstype source superoptions
		pre, post, ok := strings.Cut(sc.Text(), " - ")
		if !ok || !strings.HasPrefix(post, "cgroup2 ") {
			continue
		}
		f := strings.Fields(pre)
		if len(f) < 5 {
			continue
		}
		root, mnt := unescapeMount(f[3]), unescapeMount(f[4])
		sub, ok := strings.CutPrefix(rel, root)
		if !ok || (root != "/" && sub != "" && !strings.HasPrefix(sub, "/")) {
			continue
		}
		dir := filepath.Join(mnt, sub)
		if _, err := os.Stat(filepath.Join(dir, "cgroup.procs")); err == nil {
			return dir, nil
		}
	}
	return "", errors.New("procs: no cgroup2 mount holds nephele's cgroup")
}

// unescapeMount undoes the octal escapes (\040 for a space) of mountinfo.
func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// pids lists the processes in the cgroup. Exited processes leave the
// cgroup before they are reaped, so zombies are not listed.
func (cg *cgroup) pids() ([]int, error) {
	data, err := os.ReadFile(filepath.Join(cg.dir, "cgroup.procs"))
	if err != nil {
		return nil, err
	}
	var pids []int
	for f := range strings.FieldsSeq(string(data)) {
		if pid, err := strconv.Atoi(f); err == nil {
			pids = append(pids, pid)
		}
	}
	return pids, nil
}

// kill SIGKILLs every process in the cgroup, including those forked while
// it runs. It reports errors.ErrUnsupported before Linux 5.14.
func (cg *cgroup) kill() error {
	err := os.WriteFile(filepath.Join(cg.dir, "cgroup.kill"), []byte("1"), 0)
	if errors.Is(err, fs.ErrNotExist) {
		return errors.ErrUnsupported
	}
	return err
}

// cpu is the CPU time used by every process that ever ran in the cgroup.
func (cg *cgroup) cpu() (time.Duration, error) {
	data, err := os.ReadFile(filepath.Join(cg.dir, "cpu.stat"))
	if err != nil {
		return 0, err
	}
	for line := range strings.Lines(string(data)) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "usage_usec "); ok {
			usec, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return 0, fmt.Errorf("procs: %s/cpu.stat: %w", cg.dir, err)
			}
			return time.Duration(usec) * time.Microsecond, nil
		}
	}
	return 0, fmt.Errorf("procs: %s/cpu.stat has no usage_usec", cg.dir)
}

// remove deletes the cgroup, and any the tree made inside it, once no
// process is left in them.
func (cg *cgroup) remove() error {
	return removeCgroup(cg.dir)
}

func removeCgroup(dir string) error {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	for _, e := range entries {
		if e.IsDir() {
			if err := removeCgroup(filepath.Join(dir, e.Name())); err != nil {
				return err
			}
		}
	}
	if err := syscall.Rmdir(dir); err != nil && err != syscall.ENOENT {
		return &fs.PathError{Op: "rmdir", Path: dir, Err: err}
	}
	return nil
}
