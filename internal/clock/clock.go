// Package clock is the one source of time in nephele. Every controller and
// every timestamp the API returns reads a Clock, so time can run faster than
// real time (--time-scale) or be advanced by hand in tests.
//
// This package is the only one allowed to read the wall clock; a test in it
// fails on any direct time.Now, time.Sleep or timer elsewhere.
//
// Timers and tickers follow the Go 1.23 rules of package time: once Stop or
// Reset returns, no value from before the call is received, so callers never
// need to drain C themselves. Times carry no monotonic clock reading, so a
// time from any Clock compares with == and survives a round trip through the
// store unchanged.
package clock

import (
	"context"
	"math"
	"sync"
	"time"
)

// Clock tells the time and makes timers. Durations given to it are
// simulated durations, so a controller's "5 minute cooldown" reads the same
// whatever the time scale.
type Clock interface {
	// Now is the current simulated time.
	Now() time.Time
	// Since is Now().Sub(t).
	Since(t time.Time) time.Duration
	// NewTimer fires once after d; d <= 0 fires at once, as time.NewTimer.
	NewTimer(d time.Duration) Timer
	// NewTicker fires every d; it panics if d <= 0, as time.NewTicker.
	NewTicker(d time.Duration) Ticker
	// AfterFunc calls f in its own goroutine after d, as time.AfterFunc.
	// The returned timer's C is nil.
	AfterFunc(d time.Duration, f func()) Timer
	// Sleep waits for d, or returns ctx.Err() if ctx ends first. With
	// d <= 0 it returns ctx.Err() at once, so a loop around it still ends
	// when ctx does.
	Sleep(ctx context.Context, d time.Duration) error
}

// Timer is a one-shot timer, as time.Timer; an interface so the fake clock
// can stand in.
type Timer interface {
	// C delivers the fire time; nil for AfterFunc timers.
	C() <-chan time.Time
	// Stop prevents the timer from firing. It reports whether it stopped a
	// pending firing (including a value sent but not yet received, which
	// it discards).
	Stop() bool
	// Reset re-arms the timer for d, discarding any unreceived value; it
	// reports what Stop would have.
	Reset(d time.Duration) bool
}

// Ticker delivers ticks every period, as time.Ticker; ticks a slow reader
// misses are dropped rather than queued.
type Ticker interface {
	// C delivers the tick times.
	C() <-chan time.Time
	// Stop turns the ticker off and discards any unreceived tick.
	Stop()
	// Reset changes the period and restarts the ticker from now; it
	// panics if d <= 0.
	Reset(d time.Duration)
}

// Real returns the wall clock: Now follows the system clock, as time.Now.
func Real() Clock { return &scaled{scale: 1} }

// NewScaled returns a clock whose time runs scale times faster than real
// time from now on: a 5-minute cooldown passes in 5 real seconds at scale
// 60. Scale 1 is Real. It panics if scale is not a positive finite number;
// the --time-scale flag is validated before this, so a panic here is a bug.
func NewScaled(scale float64) Clock {
	if !(scale > 0) || math.IsInf(scale, 1) {
		panic("clock: scale must be a positive finite number")
	}
	if scale == 1 {
		return Real()
	}
	now := time.Now()
	return &scaled{scale: scale, realAnchor: now, simAnchor: now.Round(0)}
}

var (
	_ Clock  = (*scaled)(nil)
	_ Timer  = (*realTimer)(nil)
	_ Ticker = (*realTicker)(nil)
)

// scaled maps real time onto simulated time linearly from an anchor, and
// runs its timers on the runtime's timers with durations divided by scale.
// Scale 1 is the wall clock itself.
type scaled struct {
	scale float64
	// realAnchor keeps its monotonic reading, so elapsed real time is
	// measured immune to wall-clock steps; simAnchor is the wall time at
	// the same instant with that reading stripped.
	realAnchor time.Time
	simAnchor  time.Time
}

func (s *scaled) Now() time.Time {
	if s.scale == 1 {
		return time.Now().Round(0)
	}
	return s.simAnchor.Add(saturate(float64(time.Since(s.realAnchor)) * s.scale))
}

func (s *scaled) Since(t time.Time) time.Duration { return s.Now().Sub(t) }

// real converts a simulated duration to the real duration it takes,
// rounding up so that a timer never fires before Now has reached its
// deadline (a controller that re-checks Now on wake-up would otherwise
// re-arm for the last few nanoseconds).
func (s *scaled) real(d time.Duration) time.Duration {
	if s.scale == 1 || d <= 0 {
		return d
	}
	return saturate(math.Ceil(float64(d) / s.scale))
}

// saturate converts to a Duration, clamping instead of overflowing: Go
// leaves out-of-range float conversions undefined, and on amd64 a
// "never" timer of math.MaxInt64 on a slow clock would become negative and
// fire at once.
func saturate(ns float64) time.Duration {
	switch {
	case ns >= math.MaxInt64:
		return math.MaxInt64
	case ns <= math.MinInt64:
		return math.MinInt64
	}
	return time.Duration(ns)
}

func (s *scaled) NewTimer(d time.Duration) Timer {
	return s.newTimer(d, make(chan time.Time, 1), nil)
}

func (s *scaled) AfterFunc(d time.Duration, f func()) Timer {
	return s.newTimer(d, nil, f)
}

func (s *scaled) newTimer(d time.Duration, c chan time.Time, f func()) *realTimer {
	t := &realTimer{s: s, c: c, fn: f}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.armLocked(d)
	return t
}

func (s *scaled) NewTicker(d time.Duration) Ticker {
	if d <= 0 {
		panic("clock: non-positive ticker period")
	}
	t := &realTicker{s: s, c: make(chan time.Time, 1)}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.startLocked(d)
	return t
}

func (s *scaled) Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(s.real(d))
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// realTimer rides on a time.AfterFunc and delivers the simulated fire time,
// so no goroutine waits on behalf of a timer.
type realTimer struct {
	s  *scaled
	c  chan time.Time // nil for AfterFunc timers
	fn func()         // nil for channel timers

	mu sync.Mutex
	t  *time.Timer
	// gen numbers each arming. A runtime timer whose callback had already
	// started when Stop or Reset ran finds its generation gone and does
	// nothing, which is what lets Stop promise no stale value.
	gen   uint64
	armed bool
}

func (t *realTimer) armLocked(d time.Duration) {
	t.gen++
	t.armed = true
	gen := t.gen
	t.t = time.AfterFunc(t.s.real(d), func() { t.fire(gen) })
}

func (t *realTimer) fire(gen uint64) {
	t.mu.Lock()
	if gen != t.gen || !t.armed {
		t.mu.Unlock()
		return
	}
	t.armed = false
	if t.c != nil {
		select {
		case t.c <- t.s.Now():
		default: // unreachable while Reset drains; never block the runtime's timer goroutine
		}
	}
	t.mu.Unlock()
	if t.fn != nil {
		t.fn() // already on its own goroutine, courtesy of time.AfterFunc
	}
}

// disarmLocked stops the timer and reports whether a firing was pending,
// counting a sent but unreceived value as pending, as Go 1.23 timers do.
func (t *realTimer) disarmLocked() bool {
	was := t.armed
	t.armed = false
	t.t.Stop()
	return drain(t.c) || was
}

func (t *realTimer) C() <-chan time.Time { return t.c }

func (t *realTimer) Stop() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.disarmLocked()
}

func (t *realTimer) Reset(d time.Duration) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	was := t.disarmLocked()
	t.armLocked(d)
	return was
}

// realTicker re-arms one time.AfterFunc per tick against a fixed schedule
// (start + k·period), so scheduling latency does not accumulate into
// drift; ticks missed while the reader or the machine was slow are
// dropped, as time.Ticker drops them.
type realTicker struct {
	s *scaled
	c chan time.Time

	mu     sync.Mutex
	t      *time.Timer
	gen    uint64 // as in realTimer: a callback from before Stop or Reset does nothing
	on     bool
	period time.Duration // real, not simulated
	next   time.Time     // real deadline of the next tick, with monotonic reading
}

func (t *realTicker) startLocked(d time.Duration) {
	t.gen++
	t.on = true
	t.period = t.s.real(d)
	t.next = time.Now().Add(t.period)
	gen := t.gen
	t.t = time.AfterFunc(t.period, func() { t.fire(gen) })
}

func (t *realTicker) fire(gen uint64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if gen != t.gen || !t.on {
		return
	}
	select {
	case t.c <- t.s.Now():
	default: // the reader has not taken the last tick; drop this one
	}
	now := time.Now()
	t.next = t.next.Add(t.period)
	if !t.next.After(now) {
		t.next = t.next.Add((now.Sub(t.next)/t.period + 1) * t.period)
	}
	t.t.Reset(t.next.Sub(now))
}

func (t *realTicker) stopLocked() {
	t.on = false
	t.t.Stop()
	drain(t.c)
}

func (t *realTicker) C() <-chan time.Time { return t.c }

func (t *realTicker) Stop() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.stopLocked()
}

func (t *realTicker) Reset(d time.Duration) {
	if d <= 0 {
		panic("clock: non-positive ticker period")
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.stopLocked()
	t.startLocked(d)
}

// drain discards an unreceived value, which is how Stop and Reset keep the
// Go 1.23 promise that no value from before them is received after. An
// AfterFunc timer's nil channel has nothing to drain.
func drain(c chan time.Time) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}
