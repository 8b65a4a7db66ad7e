package clock

import (
	"context"
	"math"
	"testing"
	"testing/synctest"
	"time"
)

var epoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// received returns a value waiting on c without blocking.
func received(c <-chan time.Time) (time.Time, bool) {
	select {
	case t := <-c:
		return t, true
	default:
		return time.Time{}, false
	}
}

func wantFired(t *testing.T, c <-chan time.Time, at time.Time) {
	t.Helper()
	got, ok := received(c)
	if !ok {
		t.Fatalf("nothing received, want a value at %v", at)
	}
	if !got.Equal(at) {
		t.Fatalf("received %v, want %v", got, at)
	}
}

func wantQuiet(t *testing.T, c <-chan time.Time) {
	t.Helper()
	if got, ok := received(c); ok {
		t.Fatalf("received %v, want nothing", got)
	}
}

func TestFake(t *testing.T) {
	tests := []struct {
		name string
		run  func(t *testing.T, f *Fake)
	}{
		{"timers fire in order at their deadlines", func(t *testing.T, f *Fake) {
			c, a, b := f.NewTimer(3*time.Second), f.NewTimer(time.Second), f.NewTimer(2*time.Second)
			f.Advance(999 * time.Millisecond)
			wantQuiet(t, a.C())
			f.Advance(time.Millisecond)
			wantFired(t, a.C(), epoch.Add(time.Second))
			wantQuiet(t, b.C())
			f.Advance(time.Hour)
			wantFired(t, b.C(), epoch.Add(2*time.Second))
			wantFired(t, c.C(), epoch.Add(3*time.Second))
			if got := f.Now(); !got.Equal(epoch.Add(time.Hour + time.Second)) {
				t.Fatalf("Now = %v", got)
			}
		}},
		{"zero or negative duration fires at once", func(t *testing.T, f *Fake) {
			wantFired(t, f.NewTimer(0).C(), epoch)
			wantFired(t, f.NewTimer(-time.Second).C(), epoch)
			done := make(chan struct{})
			f.AfterFunc(0, func() { close(done) })
			<-done
		}},
		{"Stop prevents firing", func(t *testing.T, f *Fake) {
			tm := f.NewTimer(time.Second)
			if !tm.Stop() || tm.Stop() {
				t.Fatal("Stop should report a pending timer once")
			}
			f.Advance(time.Minute)
			wantQuiet(t, tm.C())
		}},
		{"Stop discards an unreceived value", func(t *testing.T, f *Fake) {
			tm := f.NewTimer(time.Second)
			f.Advance(time.Second)
			if !tm.Stop() {
				t.Fatal("Stop = false with a value not yet received")
			}
			wantQuiet(t, tm.C())
		}},
		{"Reset re-arms", func(t *testing.T, f *Fake) {
			tm := f.NewTimer(time.Second)
			if !tm.Reset(10 * time.Second) {
				t.Fatal("Reset of a pending timer = false")
			}
			f.Advance(5 * time.Second)
			wantQuiet(t, tm.C())
			f.Advance(5 * time.Second)
			wantFired(t, tm.C(), epoch.Add(10*time.Second))
			if tm.Reset(time.Second) {
				t.Fatal("Reset of a fired and received timer = true")
			}
			f.Advance(time.Second)
			wantFired(t, tm.C(), epoch.Add(11*time.Second))
		}},
		{"Reset discards a stale value", func(t *testing.T, f *Fake) {
			tm := f.NewTimer(time.Second)
			f.Advance(time.Second)
			tm.Reset(time.Minute)
			wantQuiet(t, tm.C())
			f.Advance(time.Minute)
			wantFired(t, tm.C(), epoch.Add(time.Minute+time.Second))
		}},
		{"ticker delivers each period", func(t *testing.T, f *Fake) {
			tk := f.NewTicker(time.Minute)
			for i := 1; i <= 3; i++ {
				f.Advance(time.Minute)
				wantFired(t, tk.C(), epoch.Add(time.Duration(i)*time.Minute))
			}
			tk.Stop()
			f.Advance(time.Hour)
			wantQuiet(t, tk.C())
		}},
		{"ticker keeps the oldest tick and its schedule when the reader is slow", func(t *testing.T, f *Fake) {
			tk := f.NewTicker(time.Minute)
			f.Advance(3*time.Minute + 30*time.Second)
			wantFired(t, tk.C(), epoch.Add(time.Minute))
			wantQuiet(t, tk.C())
			f.Advance(30 * time.Second)
			wantFired(t, tk.C(), epoch.Add(4*time.Minute))
		}},
		{"ticker Reset changes the period and Stop discards a tick", func(t *testing.T, f *Fake) {
			tk := f.NewTicker(time.Minute)
			f.Advance(time.Minute)
			tk.Reset(time.Second)
			wantQuiet(t, tk.C())
			f.Advance(time.Second)
			wantFired(t, tk.C(), epoch.Add(time.Minute+time.Second))
			f.Advance(time.Second)
			tk.Stop()
			wantQuiet(t, tk.C())
		}},
		{"advancing a day past a 1ns ticker is instant", func(t *testing.T, f *Fake) {
			tk := f.NewTicker(time.Nanosecond)
			f.Advance(24 * time.Hour)
			wantFired(t, tk.C(), epoch.Add(time.Nanosecond))
			f.Advance(time.Nanosecond)
			wantFired(t, tk.C(), epoch.Add(24*time.Hour+time.Nanosecond))
		}},
		{"AfterFunc runs in its own goroutine", func(t *testing.T, f *Fake) {
			release, done := make(chan struct{}), make(chan struct{})
			tm := f.AfterFunc(time.Second, func() { <-release; close(done) })
			if tm.C() != nil {
				t.Fatal("AfterFunc timer has a channel")
			}
			f.Advance(time.Second) // would deadlock if the callback ran inline
			close(release)
			<-done
		}},
		{"AfterFunc Stop prevents the call", func(t *testing.T, f *Fake) {
			tm := f.AfterFunc(time.Second, func() { t.Error("stopped AfterFunc ran") })
			if !tm.Stop() {
				t.Fatal("Stop = false before the deadline")
			}
			f.Advance(time.Minute)
		}},
		{"Set fires like Advance", func(t *testing.T, f *Fake) {
			tm := f.NewTimer(time.Hour)
			f.Set(epoch.Add(2 * time.Hour))
			wantFired(t, tm.C(), epoch.Add(time.Hour))
		}},
		{"Sleep returns on advance", func(t *testing.T, f *Fake) {
			errc := make(chan error)
			go func() { errc <- f.Sleep(context.Background(), time.Minute) }()
			if err := f.BlockUntilWaiters(t.Context(), 1); err != nil {
				t.Fatal(err)
			}
			f.Advance(time.Minute)
			if err := <-errc; err != nil {
				t.Fatal(err)
			}
		}},
		{"Sleep returns on cancel", func(t *testing.T, f *Fake) {
			ctx, cancel := context.WithCancel(t.Context())
			errc := make(chan error)
			go func() { errc <- f.Sleep(ctx, time.Minute) }()
			if err := f.BlockUntilWaiters(t.Context(), 1); err != nil {
				t.Fatal(err)
			}
			cancel()
			if err := <-errc; err != context.Canceled {
				t.Fatalf("err = %v", err)
			}
			if n := f.Waiters(); n != 0 {
				t.Fatalf("Waiters after cancel = %d", n)
			}
		}},
		{"Sleep of zero returns at once", func(t *testing.T, f *Fake) {
			if err := f.Sleep(t.Context(), 0); err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(t.Context())
			cancel()
			if err := f.Sleep(ctx, 0); err != context.Canceled {
				t.Fatalf("Sleep(0) with a done context = %v", err)
			}
		}},
		{"Waiters counts armed timers, tickers and AfterFuncs", func(t *testing.T, f *Fake) {
			a := f.NewTimer(time.Second)
			f.NewTicker(time.Second)
			f.AfterFunc(time.Second, func() {})
			if n := f.Waiters(); n != 3 {
				t.Fatalf("Waiters = %d, want 3", n)
			}
			a.Stop()
			f.Advance(time.Second) // the AfterFunc fires; the ticker stays armed
			if n := f.Waiters(); n != 1 {
				t.Fatalf("Waiters = %d, want 1", n)
			}
		}},
		{"BlockUntilWaiters gives up when ctx ends", func(t *testing.T, f *Fake) {
			ctx, cancel := context.WithCancel(t.Context())
			cancel()
			if err := f.BlockUntilWaiters(ctx, 1); err != context.Canceled {
				t.Fatalf("err = %v", err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.run(t, NewFake(epoch)) })
	}
}

func TestFakeRefusesToGoBackwards(t *testing.T) {
	tests := []struct {
		name string
		move func(f *Fake)
	}{
		{"Advance by a negative duration", func(f *Fake) { f.Advance(-time.Second) }},
		{"Set to an earlier time", func(f *Fake) { f.Set(epoch.Add(-time.Second)) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Error("did not panic")
				}
			}()
			tt.move(NewFake(epoch))
		})
	}
}

func TestNewScaledRejectsBadScale(t *testing.T) {
	tests := []struct {
		name  string
		scale float64
	}{
		{"zero", 0}, {"negative", -1}, {"NaN", math.NaN()}, {"infinite", math.Inf(1)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Errorf("NewScaled(%v) did not panic", tt.scale)
				}
			}()
			NewScaled(tt.scale)
		})
	}
}

// TestTimesHaveNoMonotonicReading: a monotonic reading would make == differ
// between a fresh time and the same time read back from the store.
func TestTimesHaveNoMonotonicReading(t *testing.T) {
	clocks := map[string]Clock{
		"real": Real(), "scale 1": NewScaled(1), "scale 60": NewScaled(60), "fake": NewFake(time.Now()),
	}
	for name, c := range clocks {
		if now := c.Now(); now != now.Round(0) {
			t.Errorf("%s: Now() = %v has a monotonic reading", name, now)
		}
	}
}

// TestScaled runs the scaled clock inside a synctest bubble, where the
// runtime timers it rides on follow the bubble's fake time, so fire times
// can be checked exactly.
func TestScaled(t *testing.T) {
	tests := []struct {
		name string
		run  func(t *testing.T, c Clock)
	}{
		{"a 1s timer fires after 1ms real at its simulated deadline", func(t *testing.T, c Clock) {
			start, realStart := c.Now(), time.Now()
			at := <-c.NewTimer(time.Second).C()
			if got := at.Sub(start); got != time.Second {
				t.Errorf("simulated wait %v, want 1s", got)
			}
			if got := time.Since(realStart); got != time.Millisecond {
				t.Errorf("real wait %v, want 1ms", got)
			}
		}},
		{"Now runs scale times faster", func(t *testing.T, c Clock) {
			start := c.Now()
			time.Sleep(time.Second)
			if got := c.Since(start); got != 1000*time.Second {
				t.Errorf("after 1s real, %v simulated, want 1000s", got)
			}
		}},
		{"Stop prevents firing", func(t *testing.T, c Clock) {
			tm := c.NewTimer(time.Second)
			if !tm.Stop() {
				t.Fatal("Stop of a pending timer = false")
			}
			time.Sleep(time.Second)
			wantQuiet(t, tm.C())
		}},
		{"Stop and Reset discard an unreceived value", func(t *testing.T, c Clock) {
			tm := c.NewTimer(time.Second)
			time.Sleep(time.Second)
			if !tm.Reset(time.Second) {
				t.Fatal("Reset with a value not yet received = false")
			}
			wantQuiet(t, tm.C())
			time.Sleep(time.Second)
			if !tm.Stop() {
				t.Fatal("Stop with a value not yet received = false")
			}
			wantQuiet(t, tm.C())
		}},
		{"ticker keeps its schedule and drops ticks a slow reader misses", func(t *testing.T, c Clock) {
			start := c.Now()
			tk := c.NewTicker(time.Second)
			defer tk.Stop()
			wantTick := func(n int) {
				t.Helper()
				if got := (<-tk.C()).Sub(start); got != time.Duration(n)*time.Second {
					t.Fatalf("tick at %v, want %ds", got, n)
				}
			}
			wantTick(1)
			wantTick(2)
			time.Sleep(3500 * time.Microsecond) // 3.5 simulated seconds
			wantTick(3)                         // buffered while the reader slept
			wantTick(6)                         // 4 and 5 were dropped
			tk.Reset(10 * time.Second)
			wantTick(16)
		}},
		{"AfterFunc runs and Stop prevents it", func(t *testing.T, c Clock) {
			done := make(chan time.Time, 1)
			c.AfterFunc(time.Minute, func() { done <- c.Now() })
			stopped := c.AfterFunc(time.Minute, func() { t.Error("stopped AfterFunc ran") })
			if !stopped.Stop() {
				t.Fatal("Stop = false before the deadline")
			}
			start := c.Now()
			if got := (<-done).Sub(start); got != time.Minute {
				t.Errorf("AfterFunc ran after %v, want 1m", got)
			}
		}},
		{"Sleep returns after the scaled duration or on cancel", func(t *testing.T, c Clock) {
			start := c.Now()
			if err := c.Sleep(t.Context(), time.Hour); err != nil {
				t.Fatal(err)
			}
			if got := c.Since(start); got != time.Hour {
				t.Errorf("slept %v, want 1h", got)
			}
			ctx, cancel := context.WithCancel(t.Context())
			time.AfterFunc(time.Millisecond, cancel)
			if err := c.Sleep(ctx, time.Hour); err != context.Canceled {
				t.Errorf("Sleep = %v, want context.Canceled", err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) { tt.run(t, NewScaled(1000)) })
		})
	}
}

func TestScaledTimerNeverFiresEarly(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// 1s/3 is not a whole number of nanoseconds; rounding down would
		// wake a controller just before its deadline.
		c := NewScaled(3)
		start := c.Now()
		if got := (<-c.NewTimer(time.Second).C()).Sub(start); got < time.Second {
			t.Errorf("fired after %v simulated, want ≥ 1s", got)
		}
	})
}

func TestScaledHugeDurationDoesNotOverflow(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// A slow clock doubles the real duration, which must saturate
		// rather than wrap negative and fire at once.
		tm := NewScaled(0.5).NewTimer(math.MaxInt64)
		time.Sleep(1000 * time.Hour)
		wantQuiet(t, tm.C())
		tm.Stop()
	})
}

// TestScaledRealTime checks the scaled clock against the machine's real
// clock, outside any bubble. The bounds cannot flake: Now is bracketed by
// real readings taken just inside and just outside it.
func TestScaledRealTime(t *testing.T) {
	const scale = 1000
	c := NewScaled(scale)

	outerStart := time.Now()
	simStart := c.Now()
	innerStart := time.Now()
	time.Sleep(20 * time.Millisecond)
	innerEnd := time.Now()
	simEnd := c.Now()
	outerEnd := time.Now()
	sim := simEnd.Sub(simStart)
	if lo, hi := innerEnd.Sub(innerStart)*scale, outerEnd.Sub(outerStart)*scale+time.Microsecond; sim < lo || sim > hi {
		t.Errorf("simulated %v, want within [%v, %v]", sim, lo, hi)
	}

	realStart := time.Now()
	start := c.Now()
	select {
	case at := <-c.NewTimer(time.Second).C():
		if got := at.Sub(start); got < time.Second {
			t.Errorf("1s timer fired after %v simulated", got)
		}
		if got := time.Since(realStart); got < time.Millisecond {
			t.Errorf("1s timer at scale 1000 fired after %v real, want ≥ 1ms", got)
		}
	case <-time.After(time.Second):
		t.Fatal("1s timer at scale 1000 took over 1s real")
	}
}

// TestRealFollowsTheWallClock: Real must not drift from the system clock
// (as an anchor plus monotonic time would across a suspend or NTP step).
func TestRealFollowsTheWallClock(t *testing.T) {
	for name, c := range map[string]Clock{"Real": Real(), "scale 1": NewScaled(1)} {
		before := time.Now().Round(0)
		now := c.Now()
		after := time.Now().Round(0)
		if now.Before(before) || now.After(after) {
			t.Errorf("%s: Now() = %v, outside [%v, %v]", name, now, before, after)
		}
	}
}
