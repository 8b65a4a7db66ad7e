package procs

import (
	"sync"
	"syscall"
	"unsafe"
)

// sysPidfdOpen is pidfd_open(2), Linux 5.3, numbered alike on every
// architecture; package syscall predates it.
const sysPidfdOpen = 434

// pollFd is struct pollfd of poll(2).
type pollFd struct {
	fd      int32
	events  int16
	revents int16
}

const pollIn = 0x1

// waker interrupts a waitExit from a timer or a context, through a pipe
// that the wait polls along with the processes.
type waker struct {
	mu     sync.Mutex
	r, w   int
	closed bool
}

func newWaker() (*waker, error) {
	var p [2]int
	if err := syscall.Pipe2(p[:], syscall.O_CLOEXEC|syscall.O_NONBLOCK); err != nil {
		return nil, err
	}
	return &waker{r: p[0], w: p[1]}, nil
}

// wake ends the current and every later waitExit on w. It is safe to call
// from any goroutine, also after close.
func (w *waker) wake() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.closed {
		_, _ = syscall.Write(w.w, []byte{0}) // a full pipe is as awake as it gets
	}
}

func (w *waker) close() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.closed {
		w.closed = true
		syscall.Close(w.r)
		syscall.Close(w.w)
	}
}

// waitExit blocks until one of pids exits, or wk (which may be nil) is
// woken; it reports whether wk was. It holds no timer: it sleeps in
// ppoll(2) on a pidfd per process. A kernel without pidfds (before 5.3)
// makes it return after 10ms instead, and its callers rescan.
func waitExit(pids []int, wk *waker) (woken bool, err error) {
	fds := make([]pollFd, 0, len(pids)+1)
	if wk != nil {
		fds = append(fds, pollFd{fd: int32(wk.r), events: pollIn})
	}
	var timeout *syscall.Timespec
	for _, pid := range pids {
		fd, _, errno := syscall.Syscall(sysPidfdOpen, uintptr(pid), 0, 0)
		switch errno {
		case 0:
			defer syscall.Close(int(fd))
			fds = append(fds, pollFd{fd: int32(fd), events: pollIn})
		case syscall.ESRCH:
			return false, nil // gone already
		default: // ENOSYS and the like: fall back to looking again soon
			timeout = &syscall.Timespec{Nsec: 10_000_000}
		}
	}
	if len(fds) == 0 && timeout == nil {
		return false, nil
	}
	var first *pollFd
	if len(fds) > 0 {
		first = &fds[0]
	}
	for {
		_, _, errno := syscall.Syscall6(syscall.SYS_PPOLL, uintptr(unsafe.Pointer(first)), uintptr(len(fds)),
			uintptr(unsafe.Pointer(timeout)), 0, 0, 0)
		if errno == syscall.EINTR {
			continue
		}
		if errno != 0 {
			return false, errno
		}
		return wk != nil && fds[0].revents != 0, nil
	}
}
