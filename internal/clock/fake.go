package clock

import (
	"context"
	"sync"
	"time"
)

// Fake is a clock for tests: time moves only when the test calls Advance or
// Set, and every timer, ticker, AfterFunc and Sleep due by then fires, in
// time order. Tests control time instead of sleeping.
type Fake struct {
	mu      sync.Mutex
	now     time.Time
	waiters []*fakeWaiter
	// changed is closed (and replaced) whenever the set of waiters grows,
	// so BlockUntilWaiters can wait without polling.
	changed chan struct{}
}

var _ Clock = (*Fake)(nil)

// NewFake returns a fake clock reading start.
func NewFake(start time.Time) *Fake {
	return &Fake{now: start, changed: make(chan struct{})}
}

// fakeWaiter is one armed timer, ticker or sleeper.
type fakeWaiter struct {
	f      *Fake
	when   time.Time
	period time.Duration // non-zero for tickers
	c      chan time.Time
	fn     func()
	armed  bool
}

// Now implements Clock.
func (f *Fake) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

// Since implements Clock.
func (f *Fake) Since(t time.Time) time.Duration { return f.Now().Sub(t) }

// arm registers w to fire at now+d; the caller holds no lock.
func (f *Fake) arm(w *fakeWaiter, d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.armLocked(w, d)
}

func (f *Fake) armLocked(w *fakeWaiter, d time.Duration) {
	w.when = f.now.Add(d)
	if !w.armed {
		w.armed = true
		f.waiters = append(f.waiters, w)
		close(f.changed)
		f.changed = make(chan struct{})
	}
}

// disarmLocked removes w; it reports whether w was armed.
func (f *Fake) disarmLocked(w *fakeWaiter) bool {
	if !w.armed {
		return false
	}
	w.armed = false
	for i, x := range f.waiters {
		if x == w {
			f.waiters = append(f.waiters[:i], f.waiters[i+1:]...)
			break
		}
	}
	return true
}

// NewTimer implements Clock.
func (f *Fake) NewTimer(d time.Duration) Timer {
	w := &fakeWaiter{f: f, c: make(chan time.Time, 1)}
	f.arm(w, d)
	return (*fakeTimer)(w)
}

// AfterFunc implements Clock.
func (f *Fake) AfterFunc(d time.Duration, fn func()) Timer {
	w := &fakeWaiter{f: f, fn: fn}
	f.arm(w, d)
	return (*fakeTimer)(w)
}

// NewTicker implements Clock.
func (f *Fake) NewTicker(d time.Duration) Ticker {
	if d <= 0 {
		panic("clock: non-positive ticker period")
	}
	w := &fakeWaiter{f: f, c: make(chan time.Time, 1), period: d}
	f.arm(w, d)
	return (*fakeTicker)(w)
}

// Sleep implements Clock.
func (f *Fake) Sleep(ctx context.Context, d time.Duration) error {
	w := &fakeWaiter{f: f, c: make(chan time.Time, 1)}
	f.arm(w, d)
	select {
	case <-w.c:
		return nil
	case <-ctx.Done():
		f.mu.Lock()
		f.disarmLocked(w)
		f.mu.Unlock()
		return ctx.Err()
	}
}

// Advance moves time forward by d, firing everything due on the way in
// time order; a ticker fires once for each period crossed (ticks nobody
// reads are dropped, as with time.Ticker).
func (f *Fake) Advance(d time.Duration) {
	f.mu.Lock()
	f.setLocked(f.now.Add(d))
}

// Set moves time to t (never backwards) as Advance does.
func (f *Fake) Set(t time.Time) {
	f.mu.Lock()
	if t.Before(f.now) {
		t = f.now
	}
	f.setLocked(t)
}

// setLocked fires due waiters up to target and unlocks f.
func (f *Fake) setLocked(target time.Time) {
	var funcs []func()
	for {
		var next *fakeWaiter
		for _, w := range f.waiters {
			if !w.when.After(target) && (next == nil || w.when.Before(next.when)) {
				next = w
			}
		}
		if next == nil {
			break
		}
		f.now = next.when
		if next.c != nil {
			select {
			case next.c <- next.when:
			default:
			}
		}
		if next.fn != nil {
			funcs = append(funcs, next.fn)
		}
		if next.period > 0 {
			next.when = next.when.Add(next.period)
		} else {
			f.disarmLocked(next)
		}
	}
	f.now = target
	f.mu.Unlock()
	// AfterFunc callbacks run in their own goroutines, as with time.AfterFunc.
	for _, fn := range funcs {
		go fn()
	}
}

// Waiters is the number of armed timers, tickers and sleepers. A test
// waits for a controller to arm its timer before advancing past it.
func (f *Fake) Waiters() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.waiters)
}

// BlockUntilWaiters waits until at least n waiters are armed, or ctx ends.
func (f *Fake) BlockUntilWaiters(ctx context.Context, n int) error {
	for {
		f.mu.Lock()
		count, changed := len(f.waiters), f.changed
		f.mu.Unlock()
		if count >= n {
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// fakeTimer is a fakeWaiter seen as a Timer.
type fakeTimer fakeWaiter

func (t *fakeTimer) C() <-chan time.Time { return t.c }

func (t *fakeTimer) Stop() bool {
	w := (*fakeWaiter)(t)
	w.f.mu.Lock()
	defer w.f.mu.Unlock()
	return w.f.disarmLocked(w)
}

func (t *fakeTimer) Reset(d time.Duration) bool {
	w := (*fakeWaiter)(t)
	w.f.mu.Lock()
	defer w.f.mu.Unlock()
	was := w.armed
	w.f.armLocked(w, d)
	return was
}

// fakeTicker is a fakeWaiter seen as a Ticker.
type fakeTicker fakeWaiter

func (t *fakeTicker) C() <-chan time.Time { return t.c }

func (t *fakeTicker) Stop() {
	w := (*fakeWaiter)(t)
	w.f.mu.Lock()
	defer w.f.mu.Unlock()
	w.f.disarmLocked(w)
}

func (t *fakeTicker) Reset(d time.Duration) {
	if d <= 0 {
		panic("clock: non-positive ticker period")
	}
	w := (*fakeWaiter)(t)
	w.f.mu.Lock()
	defer w.f.mu.Unlock()
	w.period = d
	w.f.armLocked(w, d)
}
