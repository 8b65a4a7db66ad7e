package balancer

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// restartHealthLocked (re)starts the group's health-check loop: one
// goroutine per target group, probing every serving target each Interval
// on the clock. Groups no listener forwards to are not probed.
func (g *group) restartHealthLocked() {
	if g.hcStop != nil {
		// The old loop ends on its own; Close waits for it through p.wg.
		g.hcStop()
		g.hcStop, g.hcDone = nil, nil
	}
	if !g.inUse || !g.cfg.HealthCheck.Enabled || g.p.closed {
		return
	}
	ctx, cancel := context.WithCancel(g.p.ctx)
	done := make(chan struct{})
	g.hcStop, g.hcDone, g.hcCfg = cancel, done, g.cfg.HealthCheck
	interval := g.cfg.HealthCheck.Interval
	g.p.goTracked(func() {
		defer close(done)
		g.healthLoop(ctx, interval)
	})
}

func (g *group) healthLoop(ctx context.Context, interval time.Duration) {
	tick := g.p.clk.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C():
		}
		g.round(ctx)
		if f := g.p.onRound; f != nil {
			f(g.arn)
		}
	}
}

// probeResult is one health check's outcome.
type probeResult struct {
	ok     bool
	reason string
	desc   string
}

// round probes every serving target at once and applies the results.
func (g *group) round(ctx context.Context) {
	v := g.view.Load()
	if v == nil || !v.inUse {
		return
	}
	hc := v.cfg.HealthCheck
	results := make([]probeResult, len(v.serving))
	var wg sync.WaitGroup
	for i, t := range v.serving {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = g.probe(ctx, v.cfg, t)
		}()
	}
	wg.Wait()
	if ctx.Err() != nil {
		return
	}
	now := g.p.clk.Now()
	anyHealthy := false
	for _, t := range v.serving {
		anyHealthy = anyHealthy || t.healthy.Load()
	}
	for i, t := range v.serving {
		// Slow start only applies when some other target already carries
		// the load.
		if t.apply(results[i], hc, now) && !anyHealthy {
			t.healthyAt.Store(0)
		}
	}
}

// apply moves the target's state after one probe: HealthyThreshold
// consecutive successes make it healthy, UnhealthyThreshold consecutive
// failures unhealthy.
func (t *target) apply(r probeResult, hc HealthCheck, now time.Time) (becameHealthy bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.draining {
		return false
	}
	t.probed = true
	if r.ok {
		t.okRun++
		t.failRun = 0
		if t.state != StateHealthy && t.okRun >= hc.HealthyThreshold {
			t.state, t.reason, t.desc = StateHealthy, "", ""
			t.healthyAt.Store(now.UnixNano())
			t.healthy.Store(true)
			becameHealthy = true
		}
	} else {
		t.failRun++
		t.okRun = 0
		if t.failRun >= hc.UnhealthyThreshold {
			t.state, t.reason, t.desc = StateUnhealthy, r.reason, r.desc
			t.healthy.Store(false)
		} else if t.state == StateUnhealthy {
			t.reason, t.desc = r.reason, r.desc
		}
	}
	if t.state == StateInitial {
		t.reason = "Elb.InitialHealthChecking"
		t.desc = reasonDescriptions[t.reason]
	}
	return becameHealthy
}

// errProbeTimeout ends a probe that outlived HealthCheck.Timeout on the clock.
var errProbeTimeout = errors.New("health check timed out")

// probe runs one health check against t, bounded by the check's Timeout on
// the clock.
func (g *group) probe(ctx context.Context, tg *TargetGroup, t *target) probeResult {
	hc := tg.HealthCheck
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	timer := g.p.clk.AfterFunc(hc.Timeout, func() { cancel(errProbeTimeout) })
	defer timer.Stop()

	var r probeResult
	if tg.TargetType == "lambda" {
		r = probeLambda(ctx, tg, t)
	} else {
		host := t.host
		port := t.port
		if hc.Port != "" && hc.Port != "traffic-port" {
			if n, err := strconv.Atoi(hc.Port); err == nil {
				port = n
			}
		}
		addr := net.JoinHostPort(host, strconv.Itoa(port))
		switch hc.Protocol {
		case "HTTP", "HTTPS":
			r = probeHTTP(ctx, hc, addr)
		default:
			r = probeTCP(ctx, addr)
		}
	}
	if !r.ok && errors.Is(context.Cause(ctx), errProbeTimeout) {
		r.reason, r.desc = "Target.Timeout", reasonDescriptions["Target.Timeout"]
	}
	return r
}

func failed() probeResult {
	return probeResult{reason: "Target.FailedHealthChecks", desc: reasonDescriptions["Target.FailedHealthChecks"]}
}

func mismatch(code int) probeResult {
	return probeResult{reason: "Target.ResponseCodeMismatch",
		desc: fmt.Sprintf("Health checks failed with these codes: [%d]", code)}
}

func probeTCP(ctx context.Context, addr string) probeResult {
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return failed()
	}
	c.Close()
	return probeResult{ok: true}
}

// probeTransport makes one connection per probe, as ELB health checks do,
// so no idle connection outlives a probe.
var probeTransport = &http.Transport{
	DisableKeepAlives:  true,
	DisableCompression: true,
	TLSClientConfig:    &tls.Config{InsecureSkipVerify: true}, //nolint:gosec // ELB does not verify target certificates
}

func probeHTTP(ctx context.Context, hc HealthCheck, addr string) probeResult {
	scheme := "http"
	if hc.Protocol == "HTTPS" {
		scheme = "https"
	}
	path := hc.Path
	if !strings.HasPrefix(path, "/") {
		path = "/" + path
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, scheme+"://"+addr+path, nil)
	if err != nil {
		return failed()
	}
	req.Header.Set("User-Agent", "ELB-HealthChecker/2.0")
	req.Header.Set("Connection", "close")
	resp, err := probeTransport.RoundTrip(req)
	if err != nil {
		return failed()
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	if !matchCode(hc.Matcher, resp.StatusCode) {
		return mismatch(resp.StatusCode)
	}
	return probeResult{ok: true}
}

// probeLambda invokes the function with a health-check event, as ELB does
// for lambda targets with health checks enabled.
func probeLambda(ctx context.Context, tg *TargetGroup, t *target) probeResult {
	if tg.Lambda == nil {
		return failed()
	}
	ev := lambdaEvent{
		HTTPMethod: http.MethodGet,
		Path:       tg.HealthCheck.Path,
		Headers:    map[string]string{"user-agent": "ELB-HealthChecker/2.0"},
		Body:       "",
	}
	ev.RequestContext.ELB.TargetGroupARN = tg.ARN
	b, _ := json.Marshal(ev)
	out, err := tg.Lambda.InvokeForELB(ctx, t.id, b)
	if err != nil {
		return failed()
	}
	var resp lambdaResponse
	if json.Unmarshal(out, &resp) != nil {
		return failed()
	}
	if !matchCode(tg.HealthCheck.Matcher, resp.StatusCode) {
		return mismatch(resp.StatusCode)
	}
	return probeResult{ok: true}
}

// matchCode reports whether code satisfies a matcher such as "200",
// "200,202" or "200-299".
func matchCode(matcher string, code int) bool {
	for part := range strings.SplitSeq(matcher, ",") {
		part = strings.TrimSpace(part)
		if lo, hi, ok := strings.Cut(part, "-"); ok {
			l, err1 := strconv.Atoi(strings.TrimSpace(lo))
			h, err2 := strconv.Atoi(strings.TrimSpace(hi))
			if err1 == nil && err2 == nil && code >= l && code <= h {
				return true
			}
			continue
		}
		if n, err := strconv.Atoi(part); err == nil && n == code {
			return true
		}
	}
	return false
}
