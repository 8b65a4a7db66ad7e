package procs

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"time"
)

// tick is the unit of the times in /proc/<pid>/stat: USER_HZ, which Linux
// fixes at 100 per second for user space on every architecture Go supports.
const tick = 10 * time.Millisecond

// procStat is what the tracker needs from /proc/<pid>/stat.
type procStat struct {
	pid, ppid, session int
	state              byte
	start              uint64        // start time in ticks since boot; with pid, it names a process
	cpu                time.Duration // utime+stime: the process itself, all its threads
	childCPU           time.Duration // cutime+cstime: the children it has reaped, and theirs
}

// total is the CPU time of the process and everything it has reaped.
func (p procStat) total() time.Duration { return p.cpu + p.childCPU }

// live reports whether the process still runs: a zombie has exited and
// only waits for its parent.
func (p procStat) live() bool { return p.state != 'Z' && p.state != 'X' }

// readStat reads /proc/<pid>/stat.
func readStat(pid int) (procStat, error) {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return procStat{}, err
	}
	return parseStat(pid, data)
}

// parseStat parses a stat line, whose second field, the command name in
// parentheses, may itself hold spaces and parentheses: the fields that
// follow start after the last ')'.
func parseStat(pid int, data []byte) (procStat, error) {
	i := bytes.LastIndexByte(data, ')')
	if i < 0 {
		return procStat{}, fmt.Errorf("procs: malformed /proc/%d/stat", pid)
	}
	// Fields from 3 (state) on; f[0] is field 3.
	f := bytes.Fields(data[i+1:])
	if len(f) < 20 {
		return procStat{}, fmt.Errorf("procs: short /proc/%d/stat", pid)
	}
	num := func(field int) uint64 {
		n, _ := strconv.ParseUint(string(f[field-3]), 10, 64)
		return n
	}
	return procStat{
		pid:      pid,
		state:    f[0][0],
		ppid:     int(num(4)),
		session:  int(num(6)),
		cpu:      time.Duration(num(14)+num(15)) * tick,
		childCPU: time.Duration(num(16)+num(17)) * tick,
		start:    num(22),
	}, nil
}

// allStats reads the stat of every process in /proc; processes that exit
// while it reads are left out.
func allStats() (map[int]procStat, error) {
	d, err := os.Open("/proc")
	if err != nil {
		return nil, err
	}
	defer d.Close()
	names, err := d.Readdirnames(-1)
	if err != nil {
		return nil, err
	}
	stats := make(map[int]procStat, len(names))
	for _, name := range names {
		pid, err := strconv.Atoi(name)
		if err != nil {
			continue
		}
		if st, err := readStat(pid); err == nil {
			stats[pid] = st
		}
	}
	return stats, nil
}

// hasEnv reports whether the initial environment of pid holds entry. A
// process whose environment cannot be read (another user's) does not.
func hasEnv(pid int, entry string) bool {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/environ")
	if err != nil {
		return false
	}
	for kv := range bytes.SplitSeq(data, []byte{0}) {
		if string(kv) == entry {
			return true
		}
	}
	return false
}

// scanner finds a tree's processes through /proc when there is no cgroup,
// and keeps the CPU time of those it has seen go.
type scanner struct {
	leader      int
	leaderStart uint64
	marker      string // the NEPHELE_PROCS_TREE entry of this tree

	seen        map[int]procStat // members at the last scan
	gone        time.Duration    // CPU of members that left, not counted by a live member
	sessionOver bool             // the leader is reaped and its session has no member left
}

// scan returns the tree's members, zombies included, updates the CPU
// accounting, and returns the tree's CPU time by this scan. leaderCPU is
// the leader's user+system time including its reaped descendants, once the
// leader has been reaped, and negative before.
func (s *scanner) scan(leaderCPU time.Duration) (members map[int]procStat, cpu time.Duration, err error) {
	all, err := allStats()
	if err != nil {
		return nil, 0, err
	}
	reaped := leaderCPU >= 0
	members = make(map[int]procStat)
	children := make(map[int][]int)
	sessionAlive := false
	for pid, p := range all {
		if p.start < s.leaderStart {
			continue // older than the tree: never one of it
		}
		children[p.ppid] = append(children[p.ppid], pid)
		switch {
		case pid == s.leader:
			if !reaped && p.start == s.leaderStart {
				members[pid] = p
			}
		case p.session == s.leader && !s.sessionOver:
			// Nobody can take the leader's pid as a session id while
			// a process of that session lives, so this is the tree's.
			members[pid] = p
			sessionAlive = true
		case s.seen[pid].start == p.start && s.seen[pid].pid == pid:
			members[pid] = p
		case hasEnv(pid, s.marker):
			members[pid] = p
		}
	}
	if reaped && !sessionAlive {
		// From now on a process with the leader's pid as its session
		// would be another's that reused the pid.
		s.sessionOver = true
	}
	// Children of members are members, wherever they have moved.
	queue := make([]int, 0, len(members))
	for pid := range members {
		queue = append(queue, pid)
	}
	for len(queue) > 0 {
		pid := queue[len(queue)-1]
		queue = queue[:len(queue)-1]
		for _, c := range children[pid] {
			if _, ok := members[c]; !ok {
				members[c] = all[c]
				queue = append(queue, c)
			}
		}
	}

	// A member that left since the last scan was reaped by its parent,
	// whose cutime/cstime now holds its time, or, if that parent had
	// exited first, by a process outside the tree (init, for orphans),
	// which takes its time away: keep the last seen of it then. When the
	// parent left too, look up its line: reaped by a live member there
	// means the time came back through that member. This can miss an
	// orphan that lived and died between two scans, but never counts a
	// process twice.
	for pid, old := range s.seen {
		if p, ok := members[pid]; ok && p.start == old.start {
			continue
		}
		if pid != s.leader && !s.absorbed(old, members) {
			s.gone += old.total()
		}
	}
	s.seen = members

	cpu = s.gone
	if reaped {
		cpu += leaderCPU
	}
	for _, p := range members {
		cpu += p.total()
	}
	return members, cpu, nil
}

// absorbed reports whether the time of gone, a member that left, is held
// by a live member or the leader, through the line of members that reaped
// each other up to it.
func (s *scanner) absorbed(gone procStat, members map[int]procStat) bool {
	for range 64 { // a line this deep is a loop of reused pids
		parent := gone.ppid
		if parent == s.leader {
			return true // the leader's stat, and rusage once reaped, hold it
		}
		old, seen := s.seen[parent]
		if p, ok := members[parent]; ok && (seen && p.start == old.start || !seen && p.start <= gone.start) {
			return true
		}
		if !seen || old.start > gone.start {
			return false
		}
		gone = old
	}
	return false
}
