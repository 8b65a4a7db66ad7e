// Package clock is the one source of time in nephele. Every controller and
// every timestamp the API returns reads a Clock, so time can run faster than
// real time (--time-scale) or be advanced by hand in tests.
//
// This package is the only one allowed to read the wall clock; a test in it
// fails on any direct time.Now, time.Sleep or timer elsewhere.
package clock

import (
	"context"
	"sync"
	"time"
)

// Clock tells the time and makes timers. Durations given to it are
// simulated durations.
type Clock interface {
	// Now is the current simulated time.
	Now() time.Time
	// Since is Now().Sub(t).
	Since(t time.Time) time.Duration
	// NewTimer fires once after d.
	NewTimer(d time.Duration) Timer
	// NewTicker fires every d.
	NewTicker(d time.Duration) Ticker
	// AfterFunc calls f in its own goroutine after d. The returned timer's
	// C is nil.
	AfterFunc(d time.Duration, f func()) Timer
	// Sleep waits for d, or returns ctx.Err() if ctx ends first.
	Sleep(ctx context.Context, d time.Duration) error
}

// Timer is a one-shot timer, as time.Timer.
type Timer interface {
	// C delivers the fire time; nil for AfterFunc timers.
	C() <-chan time.Time
	// Stop prevents the timer from firing; it reports whether it was armed.
	Stop() bool
	// Reset re-arms the timer for d; it reports whether it was armed.
	Reset(d time.Duration) bool
}

// Ticker delivers ticks every period, as time.Ticker.
type Ticker interface {
	// C delivers the tick times.
	C() <-chan time.Time
	// Stop turns the ticker off.
	Stop()
	// Reset changes the period and restarts the ticker.
	Reset(d time.Duration)
}

// Real returns the wall clock.
func Real() Clock { return NewScaled(1) }

// NewScaled returns a clock whose time runs scale times faster than real
// time from now on: a 5-minute cooldown passes in 5 real seconds at scale
// 60. It panics if scale is not positive (flags are validated earlier).
func NewScaled(scale float64) Clock {
	if !(scale > 0) {
		panic("clock: scale must be positive")
	}
	now := time.Now()
	return &scaled{scale: scale, realAnchor: now, simAnchor: now.Round(0)}
}

// scaled maps real time onto simulated time linearly from an anchor.
type scaled struct {
	scale      float64
	realAnchor time.Time // carries the monotonic reading used for elapsed time
	simAnchor  time.Time // wall time, monotonic reading stripped
}

func (s *scaled) Now() time.Time {
	elapsed := time.Since(s.realAnchor)
	if s.scale == 1 {
		return s.simAnchor.Add(elapsed)
	}
	return s.simAnchor.Add(time.Duration(float64(elapsed) * s.scale))
}

func (s *scaled) Since(t time.Time) time.Duration { return s.Now().Sub(t) }

// real converts a simulated duration to the real duration it takes.
func (s *scaled) real(d time.Duration) time.Duration {
	if s.scale == 1 || d <= 0 {
		return d
	}
	return time.Duration(float64(d) / s.scale)
}

func (s *scaled) NewTimer(d time.Duration) Timer {
	t := &realTimer{c: make(chan time.Time, 1), s: s}
	t.t = time.AfterFunc(s.real(d), t.fire)
	return t
}

func (s *scaled) AfterFunc(d time.Duration, f func()) Timer {
	return &realTimer{s: s, t: time.AfterFunc(s.real(d), f)}
}

func (s *scaled) NewTicker(d time.Duration) Ticker {
	if d <= 0 {
		panic("clock: non-positive ticker period")
	}
	t := &realTicker{s: s, c: make(chan time.Time, 1), period: s.real(d)}
	t.mu.Lock()
	t.t = time.AfterFunc(t.period, t.fire)
	t.mu.Unlock()
	return t
}

func (s *scaled) Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(s.real(d))
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// realTimer is a time.AfterFunc that delivers the simulated fire time, so no
// goroutine waits on behalf of a timer.
type realTimer struct {
	s *scaled
	t *time.Timer
	c chan time.Time
}

func (t *realTimer) fire() {
	select {
	case t.c <- t.s.Now():
	default: // like time.Timer, never block; the channel holds one value
	}
}

func (t *realTimer) C() <-chan time.Time { return t.c }
func (t *realTimer) Stop() bool          { return t.t.Stop() }
func (t *realTimer) Reset(d time.Duration) bool {
	return t.t.Reset(t.s.real(d))
}

// realTicker re-arms a time.AfterFunc each period; ticks a slow reader
// misses are dropped, as time.Ticker drops them.
type realTicker struct {
	s      *scaled
	c      chan time.Time
	mu     sync.Mutex
	t      *time.Timer
	period time.Duration
	off    bool
}

func (t *realTicker) fire() {
	select {
	case t.c <- t.s.Now():
	default:
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.off {
		t.t.Reset(t.period)
	}
}

func (t *realTicker) C() <-chan time.Time { return t.c }

func (t *realTicker) Stop() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.off = true
	t.t.Stop()
}

func (t *realTicker) Reset(d time.Duration) {
	if d <= 0 {
		panic("clock: non-positive ticker period")
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.off = false
	t.period = t.s.real(d)
	t.t.Reset(t.period)
}
