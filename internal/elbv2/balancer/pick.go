package balancer

import (
	"math/rand/v2"
	"time"
)

// pick chooses a target for a new request or connection among the serving
// targets that pass filter (nil: all), by the group's algorithm.
//
// Only healthy targets are candidates, unless none is healthy: then ELB
// fails open and routes to all of them as if they were healthy. Targets
// still in "initial" count as not healthy, so a group whose targets are
// all being checked for the first time is served too (fail open) rather
// than answering 503.
func (v *groupView) pick(g *group, now time.Time, filter func(*target) bool) *target {
	n := len(v.serving)
	if n == 0 {
		return nil
	}
	healthy, eligible := 0, 0
	for _, t := range v.serving {
		if filter != nil && !filter(t) {
			continue
		}
		eligible++
		if t.healthy.Load() || !v.cfg.HealthCheck.Enabled {
			healthy++
		}
	}
	if eligible == 0 {
		return nil
	}
	failOpen := healthy == 0
	ok := func(t *target) bool {
		if filter != nil && !filter(t) {
			return false
		}
		return failOpen || t.healthy.Load() || !v.cfg.HealthCheck.Enabled
	}
	count := healthy
	if failOpen {
		count = eligible
	}
	start := int(g.rr.Add(1) % uint64(n))

	switch v.cfg.Algorithm {
	case "least_outstanding_requests":
		var best *target
		var bestN int64
		for i := range n {
			t := v.serving[(start+i)%n]
			if !ok(t) {
				continue
			}
			if in := t.inflight.Load(); best == nil || in < bestN {
				best, bestN = t, in
			}
		}
		return best
	case "weighted_random":
		k := rand.IntN(count)
		for _, t := range v.serving {
			if !ok(t) {
				continue
			}
			if k == 0 {
				return t
			}
			k--
		}
		return nil
	default: // round_robin
		var fallback *target
		for i := range n {
			t := v.serving[(start+i)%n]
			if !ok(t) {
				continue
			}
			if fallback == nil {
				fallback = t
			}
			if v.cfg.SlowStart > 0 && count > 1 {
				if frac := slowStartShare(t, now, v.cfg.SlowStart); frac < 1 && rand.Float64() >= frac {
					continue
				}
			}
			return t
		}
		return fallback
	}
}

// slowStartShare is the share of its full load a newly healthy target
// gets: it ramps linearly from 0 to 1 over the slow-start duration.
func slowStartShare(t *target, now time.Time, d time.Duration) float64 {
	at := t.healthyAt.Load()
	if at == 0 {
		return 1
	}
	el := now.UnixNano() - at
	if el >= int64(d) {
		return 1
	}
	if el <= 0 {
		return 0.01
	}
	return max(float64(el)/float64(d), 0.01)
}

// routable reports whether a sticky target may still take requests: it is
// serving, and healthy unless the whole group is failing open.
func (v *groupView) routable(t *target) bool {
	if t == nil || t.ctx.Err() != nil {
		return false
	}
	if t.healthy.Load() || !v.cfg.HealthCheck.Enabled {
		return true
	}
	for _, o := range v.serving {
		if o.healthy.Load() {
			return false
		}
	}
	return true // failing open
}
