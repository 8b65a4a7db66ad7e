//go:build !linux

package procs

import (
	"context"
	"errors"
	"time"

	"github.com/nephele-dev/nephele/internal/clock"
)

// Tree is a running process tree; only Linux has them.
type Tree struct{}

// Start returns errors.ErrUnsupported: trees need Linux.
func Start(spec Spec) (*Tree, error) {
	return start(spec, true)
}

func start(Spec, bool) (*Tree, error) {
	return nil, errors.ErrUnsupported
}

// PID is the leader's process ID.
func (t *Tree) PID() int { return 0 }

// Cgroup is the directory of the tree's cgroup v2.
func (t *Tree) Cgroup() string { return "" }

// Done is closed when the leader has exited and been reaped.
func (t *Tree) Done() <-chan struct{} { return nil }

// ExitCode is the leader's exit status.
func (t *Tree) ExitCode() int { return -1 }

// PIDs lists the live processes of the tree.
func (t *Tree) PIDs() ([]int, error) { return nil, errors.ErrUnsupported }

// CPUTime is the CPU time the tree has used so far.
func (t *Tree) CPUTime() (time.Duration, error) { return 0, errors.ErrUnsupported }

// Stop ends the tree.
func (t *Tree) Stop(context.Context, clock.Clock, time.Duration) error {
	return errors.ErrUnsupported
}

// Kill ends the tree at once.
func (t *Tree) Kill() error { return errors.ErrUnsupported }
