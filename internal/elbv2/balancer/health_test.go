package balancer

import (
	"context"
	"io"
	"net/http"
	"testing"
	"time"
)

func TestHealthTransitions(t *testing.T) {
	h := newHarness(t)
	a := newBackend(t, "A")
	tg := httpGroup("tg", a.target("i-a"))
	h.p.SetTargetGroup(tg)

	// No listener forwards to the group yet: not in use, not probed.
	if th := healthOf(h.p, "tg", "i-a"); th.State != StateUnused || th.Reason != "Target.NotInUse" ||
		th.Description != "Target group is not configured to receive traffic from the load balancer" {
		t.Fatalf("before any listener: %+v", th)
	}
	h.alb(defaultRule(forwardTo("tg")))

	type step struct {
		status       int // backend answer before the round; 0 = no round
		state        string
		reason, desc string
	}
	steps := []step{
		{0, StateInitial, "Elb.RegistrationInProgress", "Target registration is in progress"},
		{200, StateInitial, "Elb.InitialHealthChecking", "Initial health checks in progress"},
		{200, StateHealthy, "", ""},
		{500, StateHealthy, "", ""},
		{500, StateUnhealthy, "Target.ResponseCodeMismatch", "Health checks failed with these codes: [500]"},
		{200, StateUnhealthy, "Target.ResponseCodeMismatch", "Health checks failed with these codes: [500]"},
		{200, StateHealthy, "", ""},
	}
	for i, s := range steps {
		if s.status != 0 {
			a.setStatus(s.status)
			h.round("tg", 10*time.Second)
		}
		th := healthOf(h.p, "tg", "i-a")
		if th.State != s.state || th.Reason != s.reason || th.Description != s.desc {
			t.Fatalf("step %d: %+v, want %s/%s/%q", i, th, s.state, s.reason, s.desc)
		}
	}

	// A target nothing listens on fails its checks.
	tg.Targets = []Target{refusedTarget(t)}
	tg.DeregistrationDelay = 0
	h.p.SetTargetGroup(tg)
	h.round("tg", 10*time.Second)
	h.round("tg", 10*time.Second)
	if th := healthOf(h.p, "tg", "i-refused"); th.State != StateUnhealthy || th.Reason != "Target.FailedHealthChecks" || th.Description != "Health checks failed" {
		t.Fatalf("refused: %+v", th)
	}
}

func TestHealthCheckTimeout(t *testing.T) {
	h := newHarness(t)
	a := newBackend(t, "A")
	tg := httpGroup("tg", a.target("i-a"))
	tg.HealthCheck.Path = "/slow"
	h.p.SetTargetGroup(tg)
	h.alb(defaultRule(forwardTo("tg")))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for range 2 {
		// The tick starts a probe, which arms its timeout on the clock
		// (ticker + probe timer = 2 waiters); then the timeout passes.
		if err := h.clk.BlockUntilWaiters(ctx, 1); err != nil {
			t.Fatal(err)
		}
		h.clk.Advance(10 * time.Second)
		if err := h.clk.BlockUntilWaiters(ctx, 2); err != nil {
			t.Fatal(err)
		}
		h.clk.Advance(5 * time.Second)
		select {
		case <-h.rounds:
		case <-ctx.Done():
			t.Fatal("round did not end")
		}
	}
	if th := healthOf(h.p, "tg", "i-a"); th.State != StateUnhealthy || th.Reason != "Target.Timeout" || th.Description != "Request timed out" {
		t.Fatalf("%+v", th)
	}
}

func TestUnusedAndDisabledHealth(t *testing.T) {
	h := newHarness(t)
	a := newBackend(t, "A")
	stopped := a.target("i-stopped")
	stopped.Port++
	stopped.Unused, stopped.UnusedReason = true, "Target.InvalidState"
	tg := httpGroup("tg", a.target("i-a"), stopped)
	h.p.SetTargetGroup(tg)
	h.alb(defaultRule(forwardTo("tg")))
	if th := healthOf(h.p, "tg", "i-stopped"); th.State != StateUnused || th.Reason != "Target.InvalidState" || th.Description != "Target is in the stopped state" {
		t.Errorf("stopped: %+v", th)
	}
	fn := TargetGroup{ARN: "tg-fn", TargetType: "lambda", Targets: []Target{{ID: "arn:aws:lambda:us-east-1:123456789012:function:f"}}}
	h.p.SetTargetGroup(fn)
	h.alb(defaultRule(forwardTo("tg-fn")))
	if th := h.p.TargetHealth("tg-fn")[0]; th.State != StateUnavailable || th.Reason != "Target.HealthCheckDisabled" {
		t.Errorf("lambda: %+v", th)
	}
}

func TestDraining(t *testing.T) {
	h := newHarness(t)
	b := newBackend(t, "B")
	slowSrv := newSlowBackend(t)
	tg := httpGroup("tg", slowSrv.target("i-slow"))
	tg.DeregistrationDelay = 30 * time.Second
	h.p.SetTargetGroup(tg)
	url := h.alb(defaultRule(forwardTo("tg")))

	// A slow request in flight on the target about to leave.
	slowBody := make(chan string, 1)
	go func() {
		resp, err := http.Get(url + "/")
		if err != nil {
			slowBody <- "error: " + err.Error()
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		slowBody <- string(b)
	}()
	<-slowSrv.started

	// Deregister the slow target, register B: new requests go to B.
	tg.Targets = []Target{b.target("i-b")}
	h.p.SetTargetGroup(tg)
	for range 3 {
		if _, body, _ := get(t, nil, url+"/"); body != "B" {
			t.Fatalf("new request went to %q", body)
		}
	}
	th := healthOf(h.p, "tg", "i-slow")
	if th.State != StateDraining || th.Reason != "Target.DeregistrationInProgress" || th.Description != "Target deregistration is in progress" {
		t.Fatalf("deregistered target: %+v", th)
	}
	// The in-flight request finishes normally.
	close(slowSrv.release)
	if got := <-slowBody; got != "slow done" {
		t.Fatalf("in-flight request got %q", got)
	}
	// Draining shows for the whole delay, then the target is gone.
	h.clk.Advance(29 * time.Second)
	if th := healthOf(h.p, "tg", "i-slow"); th.State != StateDraining {
		t.Fatalf("before the delay: %+v", th)
	}
	h.clk.Advance(time.Second)
	deadline := time.Now().Add(5 * time.Second)
	for healthOf(h.p, "tg", "i-slow").ID != "" {
		if time.Now().After(deadline) {
			t.Fatal("target still listed after the deregistration delay")
		}
		time.Sleep(time.Millisecond) // the AfterFunc runs on its own goroutine
	}
}

// slowBackend answers once released, and says when a request arrived.
type slowBackend struct {
	*backend
	started chan struct{}
	release chan struct{}
}

func newSlowBackend(t *testing.T) *slowBackend {
	s := &slowBackend{started: make(chan struct{}, 1), release: make(chan struct{})}
	s.backend = newBackend(t, "slow")
	s.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("User-Agent") == "ELB-HealthChecker/2.0" {
			return
		}
		s.started <- struct{}{}
		<-s.release
		io.WriteString(w, "slow done")
	})
	return s
}

func TestSlowStart(t *testing.T) {
	h := newHarness(t)
	a, b := newBackend(t, "A"), newBackend(t, "B")
	tg := httpGroup("tg", a.target("i-a"))
	tg.SlowStart = 100 * time.Second
	h.p.SetTargetGroup(tg)
	url := h.alb(defaultRule(forwardTo("tg")))
	h.round("tg", 10*time.Second)
	h.round("tg", 10*time.Second)
	tg.Targets = append(tg.Targets, b.target("i-b"))
	h.p.SetTargetGroup(tg)
	h.round("tg", 10*time.Second)
	h.round("tg", 10*time.Second)
	if th := healthOf(h.p, "tg", "i-b"); th.State != StateHealthy {
		t.Fatalf("B %+v", th)
	}
	share := func() float64 {
		n := 0
		for range 200 {
			if _, body, _ := get(t, nil, url+"/"); body == "B" {
				n++
			}
		}
		return float64(n) / 200
	}
	// Just healthy: B's share starts near 0 (10% of its turns at 10 s).
	h.clk.Advance(time.Second)
	if s := share(); s > 0.25 {
		t.Errorf("B got %.2f of requests at the start of slow start", s)
	}
	h.clk.Advance(100 * time.Second)
	if s := share(); s < 0.4 || s > 0.6 {
		t.Errorf("B got %.2f of requests after slow start", s)
	}
}
