package machine

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// A tree outlives nephele when nephele is killed (procs never ties trees to
// its own life, so that state on disk and processes can agree again). When
// a restarted nephele boots an instance again, the processes of the tree the
// previous run started must go first, or two servers would fight over the
// instance's address. Boot records each tree in treeFile; killStale ends
// what a record from an earlier run names, when the next run starts.

// treeFile, in an instance's directory, names its running tree.
const treeFile = "tree.json"

// treeRecord identifies a tree across restarts.
type treeRecord struct {
	// PID is the leader's, which is also the tree's session ID.
	PID int `json:"pid"`
	// Cgroup is the tree's cgroup directory, "" when tracked through /proc.
	Cgroup string `json:"cgroup,omitempty"`
}

// recordTree writes the record of an instance's new tree.
func (m *Machine) recordTree(id string, rec treeRecord) error {
	b, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(m.cfg.Dir, id, treeFile), b, 0o644)
}

// forgetTree removes an instance's tree record once its tree has ended.
func (m *Machine) forgetTree(id string) {
	os.Remove(filepath.Join(m.cfg.Dir, id, treeFile))
}

// killStale ends the processes of a tree an earlier run of nephele left
// for an instance: the members of its cgroup, and the processes of its
// session that carry the instance's root in their environment (the check
// that keeps a reused session ID from naming a stranger).
func (m *Machine) killStale(id string) error {
	b, err := os.ReadFile(filepath.Join(m.cfg.Dir, id, treeFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	var rec treeRecord
	if err := json.Unmarshal(b, &rec); err != nil {
		m.forgetTree(id)
		return nil
	}
	var pids []int
	if rec.Cgroup != "" {
		if data, err := os.ReadFile(filepath.Join(rec.Cgroup, "cgroup.procs")); err == nil {
			for _, f := range strings.Fields(string(data)) {
				if pid, err := strconv.Atoi(f); err == nil {
					pids = append(pids, pid)
				}
			}
		}
	}
	marker := []byte("INSTANCE_ROOT=" + m.Root(id) + "\x00")
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return fmt.Errorf("machine: finding stale processes of %s: %w", id, err)
	}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		if sessionOf(pid) != rec.PID {
			continue
		}
		env, err := os.ReadFile(filepath.Join("/proc", e.Name(), "environ"))
		if err == nil && bytes.Contains(append([]byte{0}, env...), append([]byte{0}, marker...)) {
			pids = append(pids, pid)
		}
	}
	for _, pid := range pids {
		syscall.Kill(pid, syscall.SIGKILL)
	}
	if rec.Cgroup != "" {
		os.Remove(rec.Cgroup) // succeeds once empty; the kernel may need a moment
	}
	m.forgetTree(id)
	return nil
}

// sessionOf is a process's session ID, or -1.
func sessionOf(pid int) int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return -1
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return -1
	}
	// After the command: state ppid pgrp session ...
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 4 {
		return -1
	}
	sid, err := strconv.Atoi(f[3])
	if err != nil {
		return -1
	}
	return sid
}
