package clock

import (
	"context"
	"sync/atomic"
	"testing"
	"time"
)

var epoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func fired(c <-chan time.Time) (time.Time, bool) {
	select {
	case t := <-c:
		return t, true
	default:
		return time.Time{}, false
	}
}

func TestFakeTimers(t *testing.T) {
	t.Run("timers fire in order on Advance", func(t *testing.T) {
		f := NewFake(epoch)
		late, early := f.NewTimer(2*time.Second), f.NewTimer(time.Second)
		f.Advance(999 * time.Millisecond)
		if _, ok := fired(early.C()); ok {
			t.Fatal("fired early")
		}
		f.Advance(time.Millisecond)
		if at, ok := fired(early.C()); !ok || !at.Equal(epoch.Add(time.Second)) {
			t.Fatalf("early timer: %v %v", at, ok)
		}
		f.Advance(time.Hour)
		if at, ok := fired(late.C()); !ok || !at.Equal(epoch.Add(2*time.Second)) {
			t.Fatalf("late timer fired at %v (%v), want its deadline", at, ok)
		}
		if got := f.Now(); !got.Equal(epoch.Add(time.Hour + time.Second)) {
			t.Fatalf("now = %v", got)
		}
	})
	t.Run("Stop prevents firing", func(t *testing.T) {
		f := NewFake(epoch)
		tm := f.NewTimer(time.Second)
		if !tm.Stop() || tm.Stop() {
			t.Fatal("Stop should report armed once")
		}
		f.Advance(time.Minute)
		if _, ok := fired(tm.C()); ok {
			t.Fatal("stopped timer fired")
		}
	})
	t.Run("Reset re-arms", func(t *testing.T) {
		f := NewFake(epoch)
		tm := f.NewTimer(time.Second)
		tm.Reset(10 * time.Second)
		f.Advance(5 * time.Second)
		if _, ok := fired(tm.C()); ok {
			t.Fatal("fired at the old deadline")
		}
		f.Advance(5 * time.Second)
		if _, ok := fired(tm.C()); !ok {
			t.Fatal("did not fire at the new deadline")
		}
	})
	t.Run("ticker delivers each period", func(t *testing.T) {
		f := NewFake(epoch)
		tk := f.NewTicker(time.Minute)
		for i := 1; i <= 3; i++ {
			f.Advance(time.Minute)
			if at, ok := fired(tk.C()); !ok || !at.Equal(epoch.Add(time.Duration(i)*time.Minute)) {
				t.Fatalf("tick %d: %v %v", i, at, ok)
			}
		}
		tk.Stop()
		f.Advance(time.Hour)
		if _, ok := fired(tk.C()); ok {
			t.Fatal("stopped ticker ticked")
		}
	})
	t.Run("AfterFunc runs", func(t *testing.T) {
		f := NewFake(epoch)
		done := make(chan struct{})
		f.AfterFunc(time.Second, func() { close(done) })
		f.Advance(time.Second)
		<-done
	})
	t.Run("Sleep returns on advance and on cancel", func(t *testing.T) {
		f := NewFake(epoch)
		errc := make(chan error)
		go func() { errc <- f.Sleep(context.Background(), time.Minute) }()
		if err := f.BlockUntilWaiters(context.Background(), 1); err != nil {
			t.Fatal(err)
		}
		f.Advance(time.Minute)
		if err := <-errc; err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		go func() { errc <- f.Sleep(ctx, time.Minute) }()
		f.BlockUntilWaiters(context.Background(), 1)
		cancel()
		if err := <-errc; err != context.Canceled {
			t.Fatalf("err = %v", err)
		}
		if n := f.Waiters(); n != 0 {
			t.Fatalf("waiters after cancel = %d", n)
		}
	})
	t.Run("Waiters counts armed timers", func(t *testing.T) {
		f := NewFake(epoch)
		a := f.NewTimer(time.Second)
		f.NewTicker(time.Second)
		if n := f.Waiters(); n != 2 {
			t.Fatalf("waiters = %d", n)
		}
		a.Stop()
		f.Advance(time.Second) // the ticker stays armed
		if n := f.Waiters(); n != 1 {
			t.Fatalf("waiters = %d", n)
		}
	})
}

// TestScaled uses real time because it tests the real and scaled clocks
// themselves; bounds are generous so a loaded machine does not flake.
func TestScaled(t *testing.T) {
	c := NewScaled(1000)
	start := c.Now()
	tm := c.NewTimer(time.Second) // 1 ms real
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	select {
	case at := <-tm.C():
		if d := at.Sub(start); d < time.Second {
			t.Errorf("timer fired after %v simulated, want ≥ 1s", d)
		}
	case <-ctx.Done():
		t.Fatal("scaled timer did not fire")
	}
	var ticks atomic.Int32
	done := make(chan struct{})
	c.AfterFunc(10*time.Second, func() { ticks.Add(1); close(done) })
	select {
	case <-done:
	case <-ctx.Done():
		t.Fatal("scaled AfterFunc did not run")
	}
	tk := c.NewTicker(time.Second)
	for i := 0; i < 3; i++ {
		select {
		case <-tk.C():
		case <-ctx.Done():
			t.Fatal("scaled ticker did not tick")
		}
	}
	tk.Stop()
	if err := c.Sleep(ctx, 2*time.Second); err != nil {
		t.Fatal(err)
	}
	if elapsed := c.Since(start); elapsed < 13*time.Second {
		t.Errorf("simulated elapsed %v, want ≥ 13s", elapsed)
	}
	r := Real()
	if d := r.Since(r.Now()); d < 0 || d > time.Second {
		t.Errorf("real clock Since(Now) = %v", d)
	}
}
