package execenv

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/nephele-dev/nephele/internal/procs"
)

const mib = 1 << 20

// limitMemory caps the environment's memory at the function's MemorySize
// where its tree has a cgroup v2 with the memory controller, so a function
// that uses more is killed as on Lambda (the invocation then fails with
// Runtime.ExitError). Elsewhere memory is only measured.
func limitMemory(t *procs.Tree, memoryMB int) {
	cg := t.Cgroup()
	if cg == "" || memoryMB <= 0 {
		return
	}
	limit := []byte(strconv.Itoa(memoryMB * mib))
	if err := os.WriteFile(filepath.Join(cg, "memory.max"), limit, 0); err == nil {
		_ = os.WriteFile(filepath.Join(cg, "memory.swap.max"), []byte("0"), 0)
	}
}

// memoryUsedMB is Max Memory Used: the environment's peak memory, from its
// cgroup's memory.peak where there is one, else the sum of the peak
// resident sets (VmHWM) of the runtime process and its descendants. The
// figure never goes down over the environment's life, as on Lambda.
func (e *env) memoryUsedMB() int {
	var peak int64
	if cg := e.tree.Cgroup(); cg != "" {
		if b, err := os.ReadFile(filepath.Join(cg, "memory.peak")); err == nil {
			peak, _ = strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
		}
	}
	e.mu.Lock()
	e.memLooks++
	full := e.memLooks%16 == 1
	e.mu.Unlock()
	if peak == 0 {
		pids, ok := descendants(e.tree.PID())
		if !ok {
			if full {
				// No /proc/PID/task/TID/children (CONFIG_PROC_CHILDREN):
				// ask procs, which scans all of /proc, so only now and
				// then; in between the runtime process is what grows.
				pids, _ = e.tree.PIDs()
			} else {
				pids = []int{e.tree.PID()}
			}
		}
		for _, pid := range pids {
			peak += vmHWM(pid)
		}
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.peakMem = max(e.peakMem, peak)
	return int((e.peakMem + mib - 1) / mib)
}

// descendants lists pid and every process below it, through
// /proc/PID/task/TID/children: cheaper than scanning all of /proc on every
// invocation. It reports false where the kernel has no children files.
func descendants(pid int) ([]int, bool) {
	if _, err := os.Stat("/proc/" + strconv.Itoa(pid) + "/task/" + strconv.Itoa(pid) + "/children"); err != nil {
		return nil, false
	}
	out := []int{pid}
	for i := 0; i < len(out) && i < 4096; i++ {
		tasks, err := os.ReadDir("/proc/" + strconv.Itoa(out[i]) + "/task")
		if err != nil {
			continue
		}
		for _, t := range tasks {
			b, err := os.ReadFile("/proc/" + strconv.Itoa(out[i]) + "/task/" + t.Name() + "/children")
			if err != nil {
				continue
			}
			for f := range strings.FieldsSeq(string(b)) {
				if c, err := strconv.Atoi(f); err == nil {
					out = append(out, c)
				}
			}
		}
	}
	return out, true
}

// vmHWM reads a process's peak resident set size in bytes.
func vmHWM(pid int) int64 {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0
	}
	i := bytes.Index(b, []byte("VmHWM:"))
	if i < 0 {
		return 0
	}
	line := b[i+len("VmHWM:"):]
	if j := bytes.IndexByte(line, '\n'); j >= 0 {
		line = line[:j]
	}
	f := strings.Fields(string(line)) // "12345 kB"
	if len(f) == 0 {
		return 0
	}
	kb, _ := strconv.ParseInt(f[0], 10, 64)
	return kb * 1024
}
