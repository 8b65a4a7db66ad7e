package balancer

import (
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nephele-dev/nephele/internal/clock"
)

// idleWatch ends a proxied request when no data has moved between the
// load balancer and the target for the LB's idle timeout, on the clock (so
// --time-scale speeds it up like every other ELB duration). The request
// path only bumps a counter; the timer, when it fires, re-arms itself if
// the counter moved since the last firing, so an active transfer can
// outlive the timeout by at most one more period.
type idleWatch struct {
	d        time.Duration
	onIdle   func()
	activity atomic.Uint64

	mu      sync.Mutex
	timer   clock.Timer
	seen    uint64
	stopped bool
}

func newIdleWatch(clk clock.Clock, d time.Duration, onIdle func()) *idleWatch {
	w := &idleWatch{d: d, onIdle: onIdle}
	w.mu.Lock()
	w.timer = clk.AfterFunc(d, w.fire)
	w.mu.Unlock()
	return w
}

func (w *idleWatch) touch() { w.activity.Add(1) }

func (w *idleWatch) fire() {
	w.mu.Lock()
	if w.stopped {
		w.mu.Unlock()
		return
	}
	if a := w.activity.Load(); a != w.seen {
		w.seen = a
		w.timer.Reset(w.d)
		w.mu.Unlock()
		return
	}
	w.stopped = true
	w.mu.Unlock()
	w.onIdle()
}

func (w *idleWatch) stop() {
	w.mu.Lock()
	w.stopped = true
	w.timer.Stop()
	w.mu.Unlock()
}

// activeBody marks the watch active on every read of a request or
// response body, and stops it when a response body is done.
type activeBody struct {
	io.ReadCloser
	w        *idleWatch
	stopDone bool
}

func (b *activeBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.w.touch()
	if err != nil && b.stopDone {
		b.w.stop()
	}
	return n, err
}

func (b *activeBody) Close() error {
	if b.stopDone {
		b.w.stop()
	}
	return b.ReadCloser.Close()
}
