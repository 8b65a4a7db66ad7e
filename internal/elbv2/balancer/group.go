package balancer

import (
	"context"
	"net"
	"net/http/httputil"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nephele-dev/nephele/internal/clock"
)

// Target health states, reasons and descriptions as DescribeTargetHealth
// reports them.
const (
	StateInitial     = "initial"
	StateHealthy     = "healthy"
	StateUnhealthy   = "unhealthy"
	StateUnused      = "unused"
	StateDraining    = "draining"
	StateUnavailable = "unavailable"
)

var reasonDescriptions = map[string]string{
	"Elb.RegistrationInProgress":      "Target registration is in progress",
	"Elb.InitialHealthChecking":       "Initial health checks in progress",
	"Elb.InternalError":               "Health checks failed due to an internal error",
	"Target.ResponseCodeMismatch":     "Health checks failed",
	"Target.Timeout":                  "Request timed out",
	"Target.FailedHealthChecks":       "Health checks failed",
	"Target.NotRegistered":            "Target is not registered to the target group",
	"Target.NotInUse":                 "Target group is not configured to receive traffic from the load balancer",
	"Target.DeregistrationInProgress": "Target deregistration is in progress",
	"Target.InvalidState":             "Target is in the stopped state",
	"Target.IpUnusable":               "The IP address is unusable",
	"Target.HealthCheckDisabled":      "Health checks are disabled",
}

// withGroupDefaults fills what AWS defaults when the control plane left a
// field zero.
func withGroupDefaults(tg TargetGroup) TargetGroup {
	hc := &tg.HealthCheck
	if hc.Interval <= 0 {
		hc.Interval = 30 * time.Second
	}
	if hc.Timeout <= 0 {
		hc.Timeout = 5 * time.Second
	}
	if hc.HealthyThreshold <= 0 {
		hc.HealthyThreshold = 5
	}
	if hc.UnhealthyThreshold <= 0 {
		hc.UnhealthyThreshold = 2
	}
	if hc.Path == "" {
		hc.Path = "/"
	}
	if hc.Port == "" {
		hc.Port = "traffic-port"
	}
	if hc.Protocol == "" {
		hc.Protocol = tg.Protocol
	}
	if hc.Matcher == "" {
		hc.Matcher = "200"
	}
	if tg.Algorithm == "" {
		tg.Algorithm = "round_robin"
	}
	if tg.Stickiness.Enabled && tg.Stickiness.Duration <= 0 {
		tg.Stickiness.Duration = 24 * time.Hour
	}
	tg.Targets = append([]Target(nil), tg.Targets...)
	return tg
}

// group is one target group: its targets (registered and draining), their
// health, the pooled transport to them and its health-check loop.
type group struct {
	p         *Plane
	arn       string
	transport *connPool
	proxy     *httputil.ReverseProxy

	view atomic.Pointer[groupView]
	rr   atomic.Uint64
	// sourceIP is NLB source_ip stickiness: client IP -> target key.
	sourceIP sync.Map

	// Guarded by p.mu.
	cfg      TargetGroup
	targets  map[string]*target // registered
	draining map[*target]bool
	inUse    bool
	hcStop   context.CancelFunc
	hcDone   chan struct{}
	hcCfg    HealthCheck
}

// groupView is what the request path reads of a group.
type groupView struct {
	cfg     *TargetGroup
	serving []*target          // registered, in use, not Unused
	byKey   map[string]*target // serving, by target key
	inUse   bool
}

func newGroup(p *Plane, tg TargetGroup) *group {
	g := &group{
		p:         p,
		arn:       tg.ARN,
		transport: newConnPool(newTransport(true)),
		targets:   map[string]*target{},
		draining:  map[*target]bool{},
	}
	g.proxy = newReverseProxy(g)
	return g
}

func targetKey(t Target) string { return t.ID + ":" + strconv.Itoa(t.Port) }

// setLocked applies a new desired state: new targets start initial, gone
// ones start draining, kept ones keep their health.
func (g *group) setLocked(tg TargetGroup) {
	old := g.cfg
	g.cfg = tg
	now := g.p.clk.Now()
	want := map[string]bool{}
	for _, tc := range tg.Targets {
		k := targetKey(tc)
		want[k] = true
		t := g.targets[k]
		if t != nil && (t.host != tc.Addr || t.zone != tc.Zone) {
			// Same registration, new address (an instance stopped and
			// started again): a fresh target; the old address is gone.
			t.cancel()
			if t.host != tc.Addr {
				g.transport.closeAddr(t.addr)
			}
			t = nil
		}
		if t == nil {
			// A target registered again while draining starts afresh.
			for d := range g.draining {
				if d.key == k {
					g.forgetLocked(d)
				}
			}
			t = newTarget(g, tc, now)
			g.targets[k] = t
			continue
		}
		t.mu.Lock()
		wasUnused := t.cfg.Unused
		t.cfg = tc
		if wasUnused && !tc.Unused {
			t.resetLocked(now)
		}
		t.mu.Unlock()
	}
	for k, t := range g.targets {
		if !want[k] {
			delete(g.targets, k)
			g.startDrainLocked(t, tg.DeregistrationDelay)
		}
	}
	if !reflect.DeepEqual(old.HealthCheck, tg.HealthCheck) || g.hcStop == nil {
		g.restartHealthLocked()
	}
	g.publishLocked()
}

// setInUseLocked records whether some listener forwards to the group.
func (g *group) setInUseLocked(inUse bool) {
	if g.inUse == inUse {
		return
	}
	g.inUse = inUse
	now := g.p.clk.Now()
	for _, t := range g.targets {
		t.mu.Lock()
		t.resetLocked(now)
		t.mu.Unlock()
	}
	g.restartHealthLocked()
	g.publishLocked()
}

func (g *group) publishLocked() {
	cfg := g.cfg
	v := &groupView{cfg: &cfg, byKey: map[string]*target{}, inUse: g.inUse}
	for _, tc := range cfg.Targets {
		t := g.targets[targetKey(tc)]
		if t == nil || tc.Unused {
			continue
		}
		if _, dup := v.byKey[t.key]; dup {
			continue
		}
		v.serving = append(v.serving, t)
		v.byKey[t.key] = t
	}
	g.view.Store(v)
}

// startDrainLocked stops new requests to t and forgets it after delay;
// AWS shows it draining for the whole delay even if its connections end
// sooner, then cuts what is still in flight.
func (g *group) startDrainLocked(t *target, delay time.Duration) {
	t.mu.Lock()
	t.draining = true
	t.healthy.Store(false)
	t.mu.Unlock()
	if delay <= 0 {
		t.cancel()
		g.transport.closeAddr(t.addr)
		return
	}
	g.draining[t] = true
	t.drainTimer = g.p.clk.AfterFunc(delay, func() {
		g.p.mu.Lock()
		defer g.p.mu.Unlock()
		if g.draining[t] {
			g.forgetLocked(t)
		}
	})
}

func (g *group) forgetLocked(t *target) {
	delete(g.draining, t)
	if t.drainTimer != nil {
		t.drainTimer.Stop()
	}
	t.cancel()
	g.transport.closeAddr(t.addr)
}

// stop ends the health loop and every target's flows; the group is gone.
func (g *group) stop() {
	g.p.mu.Lock()
	stop, done := g.hcStop, g.hcDone
	g.hcStop = nil
	for t := range g.draining {
		g.forgetLocked(t)
	}
	for _, t := range g.targets {
		t.cancel()
	}
	g.p.mu.Unlock()
	if stop != nil {
		stop()
		<-done
	}
}

// health reports each target as DescribeTargetHealth does.
func (g *group) health() []TargetHealth {
	g.p.mu.Lock()
	var draining []*target
	for t := range g.draining {
		draining = append(draining, t)
	}
	targets := make(map[string]*target, len(g.targets))
	for k, t := range g.targets {
		targets[k] = t
	}
	inUse := g.inUse
	cfg := g.cfg
	g.p.mu.Unlock()

	var out []TargetHealth
	seen := map[string]bool{}
	for _, tc := range cfg.Targets {
		k := targetKey(tc)
		if seen[k] {
			continue
		}
		seen[k] = true
		th := TargetHealth{ID: tc.ID, Port: tc.Port, Zone: tc.Zone}
		switch t := targets[k]; {
		case tc.Unused:
			th.State, th.Reason = StateUnused, tc.UnusedReason
			th.Description = tc.UnusedDescription
			if th.Description == "" {
				th.Description = reasonDescriptions[tc.UnusedReason]
			}
		case !inUse:
			th.State, th.Reason = StateUnused, "Target.NotInUse"
			th.Description = reasonDescriptions[th.Reason]
		case !cfg.HealthCheck.Enabled:
			th.State, th.Reason = StateUnavailable, "Target.HealthCheckDisabled"
			th.Description = reasonDescriptions[th.Reason]
		case t != nil:
			t.mu.Lock()
			th.State, th.Reason, th.Description = t.state, t.reason, t.desc
			t.mu.Unlock()
		}
		out = append(out, th)
	}
	slices.SortFunc(draining, func(a, b *target) int { return strings.Compare(a.key, b.key) })
	for _, t := range draining {
		out = append(out, TargetHealth{
			ID: t.id, Port: t.port, Zone: t.zone,
			State: StateDraining, Reason: "Target.DeregistrationInProgress",
			Description: reasonDescriptions["Target.DeregistrationInProgress"],
		})
	}
	return out
}

// hostCounts are the healthy and unhealthy targets for CloudWatch.
func (g *group) hostCounts() (healthy, unhealthy int) {
	v := g.view.Load()
	if v == nil || !v.inUse {
		return 0, 0
	}
	for _, t := range v.serving {
		if !v.cfg.HealthCheck.Enabled || t.healthy.Load() {
			healthy++
		} else {
			t.mu.Lock()
			if t.state == StateUnhealthy {
				unhealthy++
			}
			t.mu.Unlock()
		}
	}
	return healthy, unhealthy
}

// target is one registered (or draining) target.
type target struct {
	g   *group
	key string

	// Read on the request path without the lock.
	healthy   atomic.Bool  // routable as healthy
	healthyAt atomic.Int64 // clock time it last became healthy, UnixNano
	inflight  atomic.Int64 // requests and connections in progress

	// Fixed at registration (they make the target's identity).
	id   string
	host string // IP to dial
	port int
	zone string
	addr string // host:port to dial

	ctx    context.Context // ends when the target is forgotten
	cancel context.CancelFunc

	mu         sync.Mutex
	cfg        Target
	state      string
	reason     string
	desc       string
	probed     bool
	okRun      int
	failRun    int
	draining   bool
	drainTimer clock.Timer
}

func newTarget(g *group, tc Target, now time.Time) *target {
	ctx, cancel := context.WithCancel(g.p.ctx)
	t := &target{g: g, key: targetKey(tc), cfg: tc, ctx: ctx, cancel: cancel,
		id: tc.ID, host: tc.Addr, port: tc.Port, zone: tc.Zone,
		addr: net.JoinHostPort(tc.Addr, strconv.Itoa(tc.Port))}
	t.resetLocked(now)
	return t
}

// resetLocked puts the target back to "initial", as a fresh registration.
func (t *target) resetLocked(time.Time) {
	t.state, t.reason = StateInitial, "Elb.RegistrationInProgress"
	t.desc = reasonDescriptions[t.reason]
	t.probed = false
	t.okRun, t.failRun = 0, 0
	t.healthy.Store(false)
}
