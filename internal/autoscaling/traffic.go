package autoscaling

import (
	"context"
	"slices"
	"time"

	api "github.com/nephele-dev/nephele/internal/api/autoscaling"
	elbapi "github.com/nephele-dev/nephele/internal/api/elbv2"
	"github.com/nephele-dev/nephele/internal/page"
	"github.com/nephele-dev/nephele/internal/store"
)

// Traffic sources: the Elastic Load Balancing v2 target groups a group
// registers its InService instances with. As the AWS documentation
// describes: an instance is registered when it enters service and
// deregistered when it leaves (scale-in, replacement, standby, detach),
// and a terminating instance is only terminated once its target has
// drained; with HealthCheckType ELB the target groups' health checks
// decide an instance's health after the grace period. A source moves
// through Adding → Added → InService (one instance passed its health
// check), and on detach through Removing until its instances are
// deregistered.

// LoadBalancing is what Auto Scaling needs of Elastic Load Balancing v2.
// Calls carry the account and region in ctx.
type LoadBalancing interface {
	RegisterTargets(ctx context.Context, in *elbapi.RegisterTargetsInput) (*elbapi.RegisterTargetsOutput, error)
	DeregisterTargets(ctx context.Context, in *elbapi.DeregisterTargetsInput) (*elbapi.DeregisterTargetsOutput, error)
	DescribeTargetHealth(ctx context.Context, in *elbapi.DescribeTargetHealthInput) (*elbapi.DescribeTargetHealthOutput, error)
	DescribeTargetGroups(ctx context.Context, in *elbapi.DescribeTargetGroupsInput) (*elbapi.DescribeTargetGroupsOutput, error)
}

// trafficSource is a target group attached to a group.
type trafficSource struct {
	ID    string `json:"id"`
	Type  string `json:"type"`
	State string `json:"state"`
}

// targetGroupARNs are the group's elbv2 sources not being removed, as
// TargetGroupARNs shows them.
func (g *groupRecord) targetGroupARNs() []string {
	out := []string{}
	for _, t := range g.Sources {
		if t.Type == "elbv2" && t.State != "Removing" {
			out = append(out, t.ID)
		}
	}
	return out
}

// checkTargetGroups refuses target groups ELBv2 does not know.
func (s *Service) checkTargetGroups(ctx context.Context, sc scope, arns []string) error {
	if len(arns) == 0 {
		return nil
	}
	invalid := validation("Provided Target Groups may not be valid. Please ensure they exist and try again.")
	if s.opts.LoadBalancing == nil {
		return invalid
	}
	if _, err := s.opts.LoadBalancing.DescribeTargetGroups(sc.Context(ctx), &elbapi.DescribeTargetGroupsInput{TargetGroupArns: arns}); err != nil {
		return invalid
	}
	return nil
}

// sourcesOf turns TargetGroupARNs and TrafficSources of a request into
// sources, refusing types nephele has no service for.
func sourcesOf(targetGroups []string, sources []api.TrafficSourceIdentifier) ([]trafficSource, []string, error) {
	var out []trafficSource
	var arns []string
	add := func(id, typ string) {
		if !slices.ContainsFunc(out, func(t trafficSource) bool { return t.ID == id }) {
			out = append(out, trafficSource{ID: id, Type: typ, State: "Adding"})
			arns = append(arns, id)
		}
	}
	for _, a := range targetGroups {
		add(a, "elbv2")
	}
	for _, t := range sources {
		typ := str(t.Type)
		if typ == "" {
			typ = "elbv2"
		}
		if typ != "elbv2" {
			return nil, nil, validation("Traffic source type %s is not supported by nephele: only elbv2 target groups can be attached.", typ)
		}
		add(str(t.Identifier), typ)
	}
	return out, arns, nil
}

// AttachLoadBalancerTargetGroups attaches target groups to a group.
func (s *Service) AttachLoadBalancerTargetGroups(ctx context.Context, in *api.AttachLoadBalancerTargetGroupsType) (*api.AttachLoadBalancerTargetGroupsResultType, error) {
	return &api.AttachLoadBalancerTargetGroupsResultType{}, s.attachSources(ctx, str(in.AutoScalingGroupName), in.TargetGroupARNs, nil)
}

// AttachTrafficSources attaches traffic sources (elbv2 target groups) to
// a group.
func (s *Service) AttachTrafficSources(ctx context.Context, in *api.AttachTrafficSourcesType) (*api.AttachTrafficSourcesResultType, error) {
	return &api.AttachTrafficSourcesResultType{}, s.attachSources(ctx, str(in.AutoScalingGroupName), nil, in.TrafficSources)
}

func (s *Service) attachSources(ctx context.Context, group string, targetGroups []string, ids []api.TrafficSourceIdentifier) error {
	sc := scopeOf(ctx)
	add, arns, err := sourcesOf(targetGroups, ids)
	if err != nil {
		return err
	}
	if err := s.checkTargetGroups(ctx, sc, arns); err != nil {
		return err
	}
	err = s.st.Update(func(tx store.Tx) error {
		g, err := loadGroup(tx, sc, group)
		if err != nil {
			return err
		}
		for _, t := range add {
			i := slices.IndexFunc(g.Sources, func(c trafficSource) bool { return c.ID == t.ID })
			switch {
			case i < 0:
				g.Sources = append(g.Sources, t)
			case g.Sources[i].State == "Removing":
				g.Sources[i].State = "Adding"
			}
		}
		if len(g.Sources) > maxTrafficSources {
			return awserrLimit("You have reached the limit of %d traffic sources per Auto Scaling group.", maxTrafficSources)
		}
		return putGroup(tx, sc, g)
	})
	if err == nil {
		s.rec.wake()
	}
	return err
}

// maxTrafficSources is AWS's quota of traffic sources per group.
const maxTrafficSources = 50

// DetachLoadBalancerTargetGroups detaches target groups from a group.
func (s *Service) DetachLoadBalancerTargetGroups(ctx context.Context, in *api.DetachLoadBalancerTargetGroupsType) (*api.DetachLoadBalancerTargetGroupsResultType, error) {
	return &api.DetachLoadBalancerTargetGroupsResultType{}, s.detachSources(ctx, str(in.AutoScalingGroupName), in.TargetGroupARNs)
}

// DetachTrafficSources detaches traffic sources from a group.
func (s *Service) DetachTrafficSources(ctx context.Context, in *api.DetachTrafficSourcesType) (*api.DetachTrafficSourcesResultType, error) {
	ids := make([]string, len(in.TrafficSources))
	for i, t := range in.TrafficSources {
		ids[i] = str(t.Identifier)
	}
	return &api.DetachTrafficSourcesResultType{}, s.detachSources(ctx, str(in.AutoScalingGroupName), ids)
}

func (s *Service) detachSources(ctx context.Context, group string, ids []string) error {
	sc := scopeOf(ctx)
	err := s.st.Update(func(tx store.Tx) error {
		g, err := loadGroup(tx, sc, group)
		if err != nil {
			return err
		}
		for _, id := range ids {
			if i := slices.IndexFunc(g.Sources, func(c trafficSource) bool { return c.ID == id }); i >= 0 {
				g.Sources[i].State = "Removing"
			}
		}
		return putGroup(tx, sc, g)
	})
	if err == nil {
		s.rec.wake()
	}
	return err
}

// DescribeLoadBalancerTargetGroups lists a group's target groups and
// their states.
func (s *Service) DescribeLoadBalancerTargetGroups(ctx context.Context, in *api.DescribeLoadBalancerTargetGroupsRequest) (*api.DescribeLoadBalancerTargetGroupsResponse, error) {
	srcs, next, err := s.pageSources(ctx, str(in.AutoScalingGroupName), "elbv2", in.NextToken, in.MaxRecords)
	if err != nil {
		return nil, err
	}
	out := &api.DescribeLoadBalancerTargetGroupsResponse{LoadBalancerTargetGroups: []api.LoadBalancerTargetGroupState{}, NextToken: next}
	for _, t := range srcs {
		out.LoadBalancerTargetGroups = append(out.LoadBalancerTargetGroups, api.LoadBalancerTargetGroupState{LoadBalancerTargetGroupARN: ptr(t.ID), State: ptr(t.State)})
	}
	return out, nil
}

// DescribeTrafficSources lists a group's traffic sources.
func (s *Service) DescribeTrafficSources(ctx context.Context, in *api.DescribeTrafficSourcesRequest) (*api.DescribeTrafficSourcesResponse, error) {
	srcs, next, err := s.pageSources(ctx, str(in.AutoScalingGroupName), str(in.TrafficSourceType), in.NextToken, in.MaxRecords)
	if err != nil {
		return nil, err
	}
	out := &api.DescribeTrafficSourcesResponse{TrafficSources: []api.TrafficSourceState{}, NextToken: next}
	for _, t := range srcs {
		out.TrafficSources = append(out.TrafficSources, api.TrafficSourceState{Identifier: ptr(t.ID), TrafficSource: ptr(t.ID), Type: ptr(t.Type), State: ptr(t.State)})
	}
	return out, nil
}

// DescribeLoadBalancers lists a group's Classic Load Balancers: nephele
// has no Classic Load Balancing, so a group has none.
func (s *Service) DescribeLoadBalancers(ctx context.Context, in *api.DescribeLoadBalancersRequest) (*api.DescribeLoadBalancersResponse, error) {
	if err := s.st.View(func(tx store.Tx) error {
		_, err := loadGroup(tx, scopeOf(ctx), str(in.AutoScalingGroupName))
		return err
	}); err != nil {
		return nil, err
	}
	return &api.DescribeLoadBalancersResponse{LoadBalancers: []api.LoadBalancerState{}}, nil
}

func (s *Service) pageSources(ctx context.Context, group, typ string, token *string, maxRecords *int32) ([]trafficSource, *string, error) {
	var g groupRecord
	if err := s.st.View(func(tx store.Tx) error { var err error; g, err = loadGroup(tx, scopeOf(ctx), group); return err }); err != nil {
		return nil, nil, err
	}
	var all []trafficSource
	for _, t := range g.Sources {
		if typ == "" || t.Type == typ {
			all = append(all, t)
		}
	}
	items, next, err := page.ByKey(all, func(t trafficSource) string { return t.ID }, str(token), int(deref(maxRecords)), 50, 100)
	if err != nil {
		return nil, nil, validation("The NextToken value is invalid.")
	}
	return items, optional(next), nil
}

// balance keeps a group's target groups in step with its members, for
// one reconciler pass: registers the InService, deregisters the leaving,
// holds back terminations until their targets drain, marks members that
// fail ELB health checks unhealthy, and moves sources through their
// states. It returns the terminations that may go ahead.
func (r *reconciler) balance(sc scope, g *groupRecord, now time.Time, terminate []string) (kept []string, changed bool) {
	lb := r.s.opts.LoadBalancing
	if lb == nil || (len(g.Sources) == 0 && !slices.ContainsFunc(g.Members, func(m member) bool { return len(m.Registered) > 0 })) {
		return terminate, false
	}
	ctx := sc.Context(r.ctx)
	// What each target group says of its targets.
	health := map[string]map[string]string{}
	for _, t := range g.Sources {
		out, err := lb.DescribeTargetHealth(ctx, &elbapi.DescribeTargetHealthInput{TargetGroupArn: ptr(t.ID)})
		if err != nil {
			continue // a target group deleted under the group: nothing to ask
		}
		states := map[string]string{}
		for _, d := range out.TargetHealthDescriptions {
			if d.Target != nil && d.TargetHealth != nil {
				states[str(d.Target.Id)] = str(d.TargetHealth.State)
			}
		}
		health[t.ID] = states
	}
	active := func(id string) bool {
		return slices.ContainsFunc(g.Sources, func(t trafficSource) bool { return t.ID == id && t.State != "Removing" })
	}
	register := map[string][]string{}
	deregister := map[string][]string{}
	justLeft := map[string]bool{}
	for i := range g.Members {
		m := &g.Members[i]
		// An instance that entered service while AddToLoadBalancer was
		// suspended stays out of the target groups, even once resumed.
		if m.Lifecycle == "InService" && len(m.Registered) == 0 && g.suspended("AddToLoadBalancer") {
			m.NotAdded = true
		}
		if m.Lifecycle == "InService" && !m.NotAdded {
			for _, t := range g.Sources {
				if active(t.ID) && !slices.Contains(m.Registered, t.ID) {
					register[t.ID] = append(register[t.ID], m.ID)
					m.Registered = append(m.Registered, t.ID)
					changed = true
				}
			}
		}
		var still []string
		for _, tg := range m.Registered {
			if m.Lifecycle == "InService" && active(tg) {
				still = append(still, tg)
				continue
			}
			deregister[tg] = append(deregister[tg], m.ID)
			justLeft[m.ID] = true
			if m.Lifecycle == "Terminating" {
				m.Draining = true
			}
			changed = true
		}
		m.Registered = still
		// ELB health checks decide health once the grace period is over.
		if g.HealthCheckType == "ELB" && m.Lifecycle == "InService" && m.Health == "Healthy" &&
			now.Sub(m.Launched) >= secondsOf(g.HealthCheckGracePeriod) && !g.suspended("HealthCheck") {
			for _, tg := range m.Registered {
				if health[tg][m.ID] == "unhealthy" {
					m.Health, m.UnhealthyWhy, changed = "Unhealthy", "an ELB system health check failure", true
					break
				}
			}
		}
	}
	for tg, ids := range register {
		if _, err := lb.RegisterTargets(ctx, &elbapi.RegisterTargetsInput{TargetGroupArn: ptr(tg), Targets: targets(ids)}); err != nil {
			r.s.log().Warn("autoscaling: registering targets", "group", g.Name, "targetGroup", tg, "err", err)
		}
	}
	for tg, ids := range deregister {
		if _, err := lb.DeregisterTargets(ctx, &elbapi.DeregisterTargetsInput{TargetGroupArn: ptr(tg), Targets: targets(ids)}); err != nil {
			r.s.log().Warn("autoscaling: deregistering targets", "group", g.Name, "targetGroup", tg, "err", err)
		}
	}
	// A terminating instance waits while any of its targets drains.
	for i := range g.Members {
		m := &g.Members[i]
		if !m.Draining || justLeft[m.ID] {
			continue // the health read above predates this pass's deregistration
		}
		draining := false
		for _, states := range health {
			if states[m.ID] == "draining" {
				draining = true
			}
		}
		if !draining {
			m.Draining, changed = false, true
		}
	}
	for _, id := range terminate {
		if i := slices.IndexFunc(g.Members, func(m member) bool { return m.ID == id }); i >= 0 && g.Members[i].Draining {
			continue
		}
		kept = append(kept, id)
	}
	// Sources move on: Adding → Added once the InService are registered,
	// Added → InService once one of them passes its health check, and a
	// Removing source goes once nobody is registered with it.
	srcs := g.Sources[:0:0]
	for _, t := range g.Sources {
		switch t.State {
		case "Adding":
			t.State, changed = "Added", true
		case "Added":
			for _, st := range health[t.ID] {
				if st == "healthy" {
					t.State, changed = "InService", true
					break
				}
			}
		case "Removing":
			if !slices.ContainsFunc(g.Members, func(m member) bool { return slices.Contains(m.Registered, t.ID) }) {
				changed = true
				continue
			}
		}
		srcs = append(srcs, t)
	}
	g.Sources = srcs
	return kept, changed
}

// mergeSources keeps the states a pass moved sources to, unless an API
// call changed the source meanwhile (attached, detached, re-attached).
func mergeSources(cur, before, pass []trafficSource) []trafficSource {
	out := make([]trafficSource, 0, len(cur))
	for _, c := range cur {
		b := slices.IndexFunc(before, func(t trafficSource) bool { return t.ID == c.ID })
		if b < 0 || before[b].State != c.State {
			out = append(out, c) // the API's since the pass began
			continue
		}
		p := slices.IndexFunc(pass, func(t trafficSource) bool { return t.ID == c.ID })
		if p < 0 {
			continue // removed by the pass
		}
		out = append(out, pass[p])
	}
	return out
}

func targets(ids []string) []elbapi.TargetDescription {
	out := make([]elbapi.TargetDescription, len(ids))
	for i, id := range ids {
		out[i] = elbapi.TargetDescription{Id: ptr(id)}
	}
	return out
}

// membersLeft deregisters instances that left a group or its service by
// an API call (detach, standby) at once, rather than at the next pass, so
// the load balancer stops sending them requests as the call returns.
func (s *Service) membersLeft(ctx context.Context, sc scope, group string, ids []string) {
	lb := s.opts.LoadBalancing
	if lb == nil {
		return
	}
	var g groupRecord
	if err := s.st.View(func(tx store.Tx) error { var err error; g, err = loadGroup(tx, sc, group); return err }); err != nil {
		return
	}
	for _, t := range g.Sources {
		if _, err := lb.DeregisterTargets(sc.Context(ctx), &elbapi.DeregisterTargetsInput{TargetGroupArn: ptr(t.ID), Targets: targets(ids)}); err != nil {
			s.log().Debug("autoscaling: deregistering targets", "group", group, "targetGroup", t.ID, "err", err)
		}
	}
}
