package elbv2

import (
	"cmp"
	"context"
	"net/netip"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	api "github.com/nephele-dev/nephele/internal/api/elbv2"
	"github.com/nephele-dev/nephele/internal/elbv2/balancer"
	"github.com/nephele-dev/nephele/internal/store"
)

// The control plane tells the data plane the desired state of every load
// balancer and target group of a scope after each change, and again every
// ResyncInterval: instance targets are re-resolved from EC2 each time
// (private address, zone, state), and instances that are gone or
// terminated are deregistered, as ELB does.

// scopeState is everything of one scope the data plane needs.
type scopeState struct {
	lbs       []lbRecord
	tgs       []tgRecord
	listeners map[string][]listenerRecord // by load balancer ARN
	rules     map[string][]ruleRecord     // by listener ARN
	used      map[string][]string         // target group ARN -> load balancer ARNs
}

func readScope(tx store.Tx, sc scope) (scopeState, error) {
	st := scopeState{listeners: map[string][]listenerRecord{}, rules: map[string][]ruleRecord{}}
	var err error
	if st.lbs, err = allOf[lbRecord](tx, bucketLoadBalancers, sc.Prefix()); err != nil {
		return st, err
	}
	if st.tgs, err = allOf[tgRecord](tx, bucketTargetGroups, sc.Prefix()); err != nil {
		return st, err
	}
	ls, err := allOf[listenerRecord](tx, bucketListeners, sc.Prefix())
	if err != nil {
		return st, err
	}
	for _, l := range ls {
		st.listeners[l.LoadBalancer] = append(st.listeners[l.LoadBalancer], l)
	}
	rs, err := allOf[ruleRecord](tx, bucketRules, sc.Prefix())
	if err != nil {
		return st, err
	}
	for _, r := range rs {
		st.rules[r.Listener] = append(st.rules[r.Listener], r)
	}
	st.used, err = usage(tx, sc)
	return st, err
}

// syncScope is syncScopeLocked for callers that do not hold s.mu.
func (s *Service) syncScope(ctx context.Context, sc scope) map[string]error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.syncScopeLocked(ctx, sc)
}

// syncScopeLocked pushes a scope's desired state to the data plane and
// returns, per load balancer ARN, the error of any whose listeners could
// not be opened. s.mu must be held.
func (s *Service) syncScopeLocked(ctx context.Context, sc scope) map[string]error {
	errs := map[string]error{}
	var st scopeState
	err := s.st.View(func(tx store.Tx) (err error) {
		st, err = readScope(tx, sc)
		return err
	})
	if err != nil {
		s.log().Error("elbv2: reading state", "scope", sc.Prefix(), "err", err)
		return errs
	}
	var ids []string
	for _, tg := range st.tgs {
		if tg.TargetType == "instance" {
			for _, t := range tg.Targets {
				ids = append(ids, t.ID)
			}
		}
	}
	insts, err := s.instances(sc.Context(context.WithoutCancel(ctx)), ids)
	if err != nil {
		// Without EC2's answer instance targets keep their last pushed
		// state rather than all turning unused.
		s.log().Warn("elbv2: describing instance targets", "scope", sc.Prefix(), "err", err)
	} else {
		st.tgs = s.deregisterGone(sc, st.tgs, insts)
	}
	lbByARN := map[string]lbRecord{}
	for _, lb := range st.lbs {
		lbByARN[lb.ARN] = lb
	}
	seenTG := map[string]bool{}
	for _, tg := range st.tgs {
		seenTG[tg.ARN] = true
		if _, pushed := s.pushedTGs[tg.ARN]; pushed && insts == nil && tg.TargetType == "instance" {
			continue
		}
		desired := desiredTG(tg, st.used[tg.ARN], lbByARN, insts)
		if tg.TargetType == "lambda" {
			desired.Lambda = s.opts.Lambda
		}
		if old, ok := s.pushedTGs[tg.ARN]; ok && reflect.DeepEqual(old.desired, desired) {
			continue
		}
		s.plane.SetTargetGroup(desired)
		s.pushedTGs[tg.ARN] = pushedTG{sc: sc, desired: desired}
	}
	seenLB := map[string]bool{}
	for _, lb := range st.lbs {
		seenLB[lb.ARN] = true
		desired := desiredLB(lb, st.listeners[lb.ARN], st.rules)
		if old, ok := s.pushedLBs[lb.ARN]; ok && reflect.DeepEqual(old.desired, desired) {
			continue
		}
		addrs, err := s.plane.SetLoadBalancer(desired)
		if err != nil {
			errs[lb.ARN] = err
			s.log().Error("elbv2: opening listeners", "loadBalancer", lb.ARN, "err", err)
			continue
		}
		s.pushedLBs[lb.ARN] = pushedLB{sc: sc, desired: desired}
		for _, l := range desired.Listeners {
			addr := addrs[l.ARN]
			if s.addrs[l.ARN] != addr {
				wanted := netJoin(lb.IP, l.Port)
				if addr != wanted {
					s.log().Info("elbv2: listener port mapped", "listener", l.ARN, "dnsName", lb.DNSName, "wanted", wanted, "address", addr)
				} else {
					s.log().Info("elbv2: listener open", "listener", l.ARN, "dnsName", lb.DNSName, "address", addr)
				}
			}
			s.addrs[l.ARN] = addr
		}
	}
	for arn, p := range s.pushedLBs {
		if p.sc == sc && !seenLB[arn] {
			s.plane.RemoveLoadBalancer(arn)
			delete(s.pushedLBs, arn)
		}
	}
	for arn := range s.addrs {
		if !s.hasListener(arn) {
			delete(s.addrs, arn)
		}
	}
	for arn, p := range s.pushedTGs {
		if p.sc == sc && !seenTG[arn] {
			s.plane.RemoveTargetGroup(arn)
			delete(s.pushedTGs, arn)
		}
	}
	return errs
}

// hasListener reports whether a pushed load balancer has the listener.
func (s *Service) hasListener(arn string) bool {
	p, ok := s.pushedLBs[lbOfListener(arn)]
	return ok && slices.ContainsFunc(p.desired.Listeners, func(l balancer.Listener) bool { return l.ARN == arn })
}

// lbOfListener is the load balancer ARN a listener ARN continues.
func lbOfListener(arn string) string {
	arn = strings.Replace(arn, ":listener/", ":loadbalancer/", 1)
	return arn[:strings.LastIndexByte(arn, '/')]
}

func netJoin(ip string, port int) string { return ip + ":" + strconv.Itoa(port) }

// deregisterGone deregisters instance targets EC2 reports terminated (or
// no longer knows), as ELB deregisters terminated instances, and returns
// the target groups without them.
func (s *Service) deregisterGone(sc scope, tgs []tgRecord, insts map[string]instanceInfo) []tgRecord {
	gone := func(t targetRecord) bool {
		i, ok := insts[t.ID]
		return !ok || i.State == "terminated" || i.State == "shutting-down"
	}
	for i, tg := range tgs {
		if tg.TargetType != "instance" || !slices.ContainsFunc(tg.Targets, gone) {
			continue
		}
		err := s.st.Update(func(tx store.Tx) error {
			cur, err := loadTG(tx, sc, tg.ARN)
			if err != nil {
				return err
			}
			cur.Targets = slices.DeleteFunc(cur.Targets, gone)
			tgs[i] = cur
			return tx.Put(bucketTargetGroups, sc.Key(cur.Name), cur)
		})
		if err != nil {
			s.log().Warn("elbv2: deregistering terminated instances", "targetGroup", tg.ARN, "err", err)
			continue
		}
		s.log().Info("elbv2: deregistered terminated instances", "targetGroup", tg.ARN)
	}
	return tgs
}

// seconds reads an integer attribute as a duration in seconds.
func seconds(attrs map[string]string, key string) time.Duration {
	n, _ := strconv.Atoi(attrs[key])
	return time.Duration(n) * time.Second
}

// desiredTG is a target group as the data plane is told it: attributes
// resolved, instance targets at their private addresses, targets that
// cannot serve marked unused with AWS's reason.
func desiredTG(tg tgRecord, usedBy []string, lbs map[string]lbRecord, insts map[string]instanceInfo) balancer.TargetGroup {
	a := merged(tgDefaults(tg.Protocol, tg.TargetType), tg.Attributes)
	d := balancer.TargetGroup{
		ARN: tg.ARN, Name: tg.Name, Protocol: tg.Protocol, Port: int(tg.Port), TargetType: tg.TargetType,
		Algorithm:           a["load_balancing.algorithm.type"],
		SlowStart:           seconds(a, "slow_start.duration_seconds"),
		DeregistrationDelay: seconds(a, "deregistration_delay.timeout_seconds"),
		HealthCheck: balancer.HealthCheck{
			Enabled: tg.HealthCheck.Enabled, Protocol: tg.HealthCheck.Protocol, Port: tg.HealthCheck.Port,
			Path: tg.HealthCheck.Path, Interval: time.Duration(tg.HealthCheck.Interval) * time.Second,
			Timeout:          time.Duration(tg.HealthCheck.Timeout) * time.Second,
			HealthyThreshold: int(tg.HealthCheck.Healthy), UnhealthyThreshold: int(tg.HealthCheck.Unhealthy),
			Matcher: tg.HealthCheck.HTTPCode,
		},
		Targets: []balancer.Target{},
	}
	if d.Algorithm == "" {
		d.Algorithm = "round_robin"
	}
	if a["stickiness.enabled"] == "true" {
		d.Stickiness = balancer.Stickiness{Enabled: true, Type: a["stickiness.type"]}
		switch d.Stickiness.Type {
		case "lb_cookie":
			d.Stickiness.Duration = seconds(a, "stickiness.lb_cookie.duration_seconds")
		case "app_cookie":
			d.Stickiness.Duration = seconds(a, "stickiness.app_cookie.duration_seconds")
			d.Stickiness.CookieName = a["stickiness.app_cookie.cookie_name"]
		}
	}
	zones := map[string]bool{}
	for _, lbARN := range usedBy {
		for _, z := range lbs[lbARN].Zones {
			zones[z.Zone] = true
		}
	}
	for _, t := range tg.Targets {
		bt := balancer.Target{ID: t.ID, Port: int(t.Port), Zone: t.AZ}
		switch tg.TargetType {
		case "instance":
			i, ok := insts[t.ID]
			bt.Addr, bt.Zone = i.IP, i.Zone
			if !ok || i.State != "running" {
				bt.Unused, bt.UnusedReason = true, "Target.InvalidState"
				bt.UnusedDescription = "Target is in the " + cmp.Or(i.State, "stopped") + " state"
			}
		case "ip":
			bt.Addr = t.ID
			if ip, err := netip.ParseAddr(t.ID); err == nil && !ip.IsLoopback() {
				bt.Addr = toLoopback(ip).String()
			}
		case "alb":
			bt.Addr = lbs[t.ID].IP
		}
		switch {
		case bt.Unused:
		case len(usedBy) == 0:
			bt.Unused, bt.UnusedReason = true, "Target.NotInUse"
		case tg.TargetType != "lambda" && bt.Zone != "all" && bt.Zone != "" && !zones[bt.Zone]:
			bt.Unused, bt.UnusedReason = true, "Target.NotInUse"
			bt.UnusedDescription = "Target is in an Availability Zone that is not enabled for the load balancer"
		}
		d.Targets = append(d.Targets, bt)
	}
	return d
}

// desiredLB is a load balancer as the data plane is told it: listeners in
// port order, each with its rules in evaluation order, the default last.
func desiredLB(lb lbRecord, listeners []listenerRecord, rules map[string][]ruleRecord) balancer.LoadBalancer {
	a := merged(lbDefaults(lb.Type, lb.Scheme), lb.Attributes)
	d := balancer.LoadBalancer{
		ARN: lb.ARN, Name: lb.Name, Type: lb.Type, IP: lb.IP,
		CrossZone:   lb.Type == "application" || a["load_balancing.cross_zone.enabled"] == "true",
		IdleTimeout: seconds(a, "idle_timeout.timeout_seconds"),
		Listeners:   []balancer.Listener{},
	}
	if d.IdleTimeout == 0 {
		d.IdleTimeout = 60 * time.Second
	}
	for _, z := range lb.Zones {
		d.Zones = append(d.Zones, z.Zone)
	}
	slices.SortFunc(listeners, func(x, y listenerRecord) int { return int(x.Port - y.Port) })
	for _, l := range listeners {
		bl := balancer.Listener{ARN: l.ARN, Protocol: l.Protocol, Port: int(l.Port), DNSName: lb.DNSName}
		rs := slices.Clone(rules[l.ARN])
		slices.SortFunc(rs, func(x, y ruleRecord) int { return x.Priority - y.Priority })
		for _, r := range append(rs, defaultRule(l)) {
			br := balancer.Rule{ARN: r.ARN, Priority: r.Priority}
			for _, c := range r.Conditions {
				br.Conditions = append(br.Conditions, planeCondition(c))
			}
			for _, act := range r.Actions {
				br.Actions = append(br.Actions, planeAction(act))
			}
			bl.Rules = append(bl.Rules, br)
		}
		d.Listeners = append(d.Listeners, bl)
	}
	return d
}

// planeCondition turns a stored condition into the data plane's.
func planeCondition(c api.RuleCondition) balancer.Condition {
	bc := balancer.Condition{Field: str(c.Field)}
	switch {
	case c.HostHeaderConfig != nil:
		bc.Values = c.HostHeaderConfig.Values
	case c.PathPatternConfig != nil:
		bc.Values = c.PathPatternConfig.Values
	case c.HttpHeaderConfig != nil:
		bc.HeaderName, bc.Values = str(c.HttpHeaderConfig.HttpHeaderName), c.HttpHeaderConfig.Values
	case c.HttpRequestMethodConfig != nil:
		bc.Values = c.HttpRequestMethodConfig.Values
	case c.QueryStringConfig != nil:
		for _, kv := range c.QueryStringConfig.Values {
			bc.Query = append(bc.Query, balancer.QueryPair{Key: str(kv.Key), Value: str(kv.Value)})
		}
	case c.SourceIpConfig != nil:
		bc.Values = c.SourceIpConfig.Values
	default:
		bc.Values = c.Values
	}
	return bc
}

// planeAction turns a stored action into the data plane's.
func planeAction(a api.Action) balancer.Action {
	ba := balancer.Action{Type: str(a.Type), Order: int(deref(a.Order))}
	switch ba.Type {
	case "forward":
		if fc := a.ForwardConfig; fc != nil {
			for _, g := range fc.TargetGroups {
				ba.Forward = append(ba.Forward, balancer.WeightedGroup{TargetGroupARN: str(g.TargetGroupArn), Weight: int(deref(g.Weight))})
			}
			if st := fc.TargetGroupStickinessConfig; st != nil && deref(st.Enabled) {
				ba.GroupStickiness = time.Duration(deref(st.DurationSeconds)) * time.Second
			}
		}
	case "redirect":
		r := a.RedirectConfig
		ba.Redirect = &balancer.Redirect{Protocol: str(r.Protocol), Host: str(r.Host), Port: str(r.Port), Path: str(r.Path), Query: str(r.Query), StatusCode: str(r.StatusCode)}
	case "fixed-response":
		f := a.FixedResponseConfig
		ba.Fixed = &balancer.FixedResponse{StatusCode: fixedStatus(str(f.StatusCode)), ContentType: str(f.ContentType), Body: str(f.MessageBody)}
	}
	return ba
}

// syncAll pushes every scope that has load balancers or target groups,
// or had them at the last push.
func (s *Service) syncAll(ctx context.Context) {
	scopes := map[scope]bool{}
	err := s.st.View(func(tx store.Tx) error {
		for _, b := range []string{bucketLoadBalancers, bucketTargetGroups} {
			err := tx.ForEach(b, "", func(key string, _ func(any) error) error {
				p := strings.SplitN(key, "/", 3)
				if len(p) == 3 {
					scopes[scope{Account: p[0], Region: p[1]}] = true
				}
				return nil
			})
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		s.log().Error("elbv2: listing state", "err", err)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, p := range s.pushedLBs {
		scopes[p.sc] = true
	}
	for _, p := range s.pushedTGs {
		scopes[p.sc] = true
	}
	for sc := range scopes {
		if ctx.Err() != nil {
			return
		}
		s.syncScopeLocked(ctx, sc)
	}
}
