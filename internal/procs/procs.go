// Package procs starts, watches and stops local process trees: an EC2
// instance is the tree its user-data starts, a Lambda execution environment
// the tree its bootstrap starts. A tree is its leader and every process the
// leader or its descendants start, including background jobs, processes
// that call setsid, and daemons that double-fork so that their parent is
// gone. Stop and Kill find and end every one of them.
//
// # How a tree is tracked
//
// The leader always starts in a new session (setsid), so it is also the
// leader of its own process group and has no controlling terminal: a Ctrl-C
// meant for nephele does not reach instances.
//
// Where it can, Start puts the leader into a cgroup v2 of its own, created
// under nephele's own cgroup and entered atomically at fork
// (CLONE_INTO_CGROUP), so no process of the tree can be started outside it.
// Membership is then exact and cheap: cgroup.procs lists the tree,
// cgroup.kill ends it without racing forks, and cpu.stat's usage_usec is its
// CPU time, kept by the kernel for processes already gone. This needs a
// writable cgroup v2 hierarchy (root, a systemd delegation such as
// user@.service, or a container with its own cgroup namespace) and Linux
// 5.7; cgroup.kill needs 5.14 and is replaced by signalling each member
// where missing. Processes inside the tree cannot leave the cgroup unless
// they may write to nephele's own cgroup.procs, which in practice means
// root inside the tree.
//
// Otherwise Start falls back to watching /proc. A process belongs to the
// tree if it is in the leader's session, or a child of a member, or carries
// the tree's marker in its environment (NEPHELE_PROCS_TREE, set on the
// leader and inherited), or was a member when last looked at. That finds
// background jobs and setsid children while their parent lives, and
// double-forked daemons through their session or their environment. It
// misses a process that both leaves the session and replaces its
// environment (env -i, sudo) after its parent has exited and before any
// scan saw it, and CPU time is approximate: see CPUTime.
//
// PR_SET_CHILD_SUBREAPER was considered and left out: it is a process-wide
// setting that would make nephele the parent of every orphan of every tree
// (and of every other child nephele runs), with the duty to reap them
// without stealing os/exec's own wait, and it still would not say which
// tree an orphan came from.
//
// # Lifetime
//
// Every Tree must end with Stop or Kill, even after Done: the leader's exit
// does not end the processes it left running (that is how user-data starts
// services), and Stop or Kill is what removes the tree's cgroup. Nothing
// kills trees when nephele itself exits, so a restarted nephele can adopt
// instances again.
//
// This package works on Linux only; elsewhere Start returns
// errors.ErrUnsupported.
package procs

import "io"

// Spec says what to run as the leader of a tree.
type Spec struct {
	// Path is the program to run; a name without a slash is looked up in
	// PATH, as exec.Command does.
	Path string
	// Args are the arguments after the program name.
	Args []string
	// Dir is the working directory; empty means nephele's.
	Dir string
	// Env is the environment, as "KEY=value" entries; nil means nephele's
	// own, as with exec.Cmd.
	Env []string
	// Output receives the tree's standard output and standard error,
	// including what background processes write after the leader has
	// exited. Nil discards them. Standard input is always /dev/null.
	Output io.Writer
}

// markerVar names the environment variable that marks the processes of a
// tree tracked without a cgroup.
const markerVar = "NEPHELE_PROCS_TREE"
