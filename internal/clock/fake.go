package clock

import (
	"context"
	"sync"
	"time"
)

// Fake is a clock for tests: time moves only when the test calls Advance or
// Set, and every timer, ticker, AfterFunc and Sleep due by then fires, in
// deadline order, each seeing its own deadline as the fire time. Tests
// control time instead of sleeping, so they are fast and never flaky.
type Fake struct {
	mu      sync.Mutex
	now     time.Time
	waiters []*fakeWaiter
	// changed is closed (and replaced) whenever a waiter is armed, so
	// BlockUntilWaiters can wait without polling.
	changed chan struct{}
}

var (
	_ Clock  = (*Fake)(nil)
	_ Timer  = (*fakeTimer)(nil)
	_ Ticker = (*fakeTicker)(nil)
)

// NewFake returns a fake clock reading start. The monotonic reading of
// start, if any, is dropped, as every Clock's times are plain wall times.
func NewFake(start time.Time) *Fake {
	return &Fake{now: start.Round(0), changed: make(chan struct{})}
}

// fakeWaiter is one timer, ticker or sleeper; it counts in Waiters while
// armed.
type fakeWaiter struct {
	f      *Fake
	when   time.Time
	period time.Duration  // non-zero for tickers
	c      chan time.Time // nil for AfterFunc timers
	fn     func()         // non-nil for AfterFunc timers
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

// Sleep implements Clock: it blocks until the test advances the clock to
// the deadline or ctx ends.
func (f *Fake) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil || d <= 0 {
		return err
	}
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
// deadline order. A ticker fires once for each period crossed; ticks that
// find its channel full are dropped, as with time.Ticker. It panics if d is
// negative: simulated time never runs backwards, so such a test is wrong.
func (f *Fake) Advance(d time.Duration) {
	if d < 0 {
		panic("clock: Fake.Advance with a negative duration")
	}
	f.mu.Lock()
	funcs := f.fireLocked(f.now.Add(d))
	f.mu.Unlock()
	start(funcs)
}

// Set moves time to t as Advance does; it panics if t is before Now.
func (f *Fake) Set(t time.Time) {
	f.mu.Lock()
	if t.Before(f.now) {
		f.mu.Unlock()
		panic("clock: Fake.Set to a time before Now")
	}
	funcs := f.fireLocked(t.Round(0))
	f.mu.Unlock()
	start(funcs)
}

// Waiters is the number of armed timers, tickers and sleepers. A test
// waits for a controller to arm its timer before advancing past it, or the
// advance would happen before the timer exists and fire nothing.
func (f *Fake) Waiters() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.waiters)
}

// BlockUntilWaiters waits until at least n waiters are armed, or returns
// ctx.Err() if ctx ends first; give it a deadline so a controller that never
// arms fails the test instead of hanging it.
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

// arm registers w to fire d from now; a d <= 0 fires it before arm
// returns, as a zero-duration time.Timer fires at once.
func (f *Fake) arm(w *fakeWaiter, d time.Duration) {
	f.mu.Lock()
	f.armLocked(w, d)
	funcs := f.fireLocked(f.now)
	f.mu.Unlock()
	start(funcs)
}

// armLocked sets w's deadline, never before now, so that firing never
// moves time backwards.
func (f *Fake) armLocked(w *fakeWaiter, d time.Duration) {
	w.when = f.now.Add(max(d, 0))
	if !w.armed {
		w.armed = true
		f.waiters = append(f.waiters, w)
		close(f.changed)
		f.changed = make(chan struct{})
	}
}

// disarmLocked removes w and reports whether it was armed.
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

// fireLocked moves time to target through each due deadline in order and
// returns the AfterFunc callbacks due, for the caller to start once the
// lock is released (a callback may well read or advance this clock).
func (f *Fake) fireLocked(target time.Time) []func() {
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
		if next.period == 0 {
			f.disarmLocked(next)
			continue
		}
		next.when = next.when.Add(next.period)
		if len(next.c) == cap(next.c) && !next.when.After(target) {
			// Every further tick up to target would be dropped; skip them
			// in one step so Advance(24*time.Hour) past a 1ms ticker is
			// instant.
			skip := target.Sub(next.when)/next.period + 1
			next.when = next.when.Add(skip * next.period)
		}
	}
	f.now = target
	return funcs
}

// start runs AfterFunc callbacks each in its own goroutine, as
// time.AfterFunc does, so a callback that blocks cannot stall the test.
func start(funcs []func()) {
	for _, fn := range funcs {
		go fn()
	}
}

// fakeTimer is a fakeWaiter seen as a Timer.
type fakeTimer fakeWaiter

func (t *fakeTimer) C() <-chan time.Time { return t.c }

func (t *fakeTimer) Stop() bool {
	w := (*fakeWaiter)(t)
	w.f.mu.Lock()
	defer w.f.mu.Unlock()
	was := w.f.disarmLocked(w)
	return drain(w.c) || was
}

func (t *fakeTimer) Reset(d time.Duration) bool {
	w := (*fakeWaiter)(t)
	f := w.f
	f.mu.Lock()
	was := f.disarmLocked(w)
	was = drain(w.c) || was
	f.armLocked(w, d)
	funcs := f.fireLocked(f.now)
	f.mu.Unlock()
	start(funcs)
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
	drain(w.c)
}

func (t *fakeTicker) Reset(d time.Duration) {
	if d <= 0 {
		panic("clock: non-positive ticker period")
	}
	w := (*fakeWaiter)(t)
	w.f.mu.Lock()
	defer w.f.mu.Unlock()
	drain(w.c)
	w.period = d
	w.f.armLocked(w, d)
}
