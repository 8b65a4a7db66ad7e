package autoscaling

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	api "github.com/nephele-dev/nephele/internal/api/autoscaling"
	ec2api "github.com/nephele-dev/nephele/internal/api/ec2"
	"github.com/nephele-dev/nephele/internal/awsid"
	"github.com/nephele-dev/nephele/internal/store"
)

// The reconciler is Auto Scaling's control loop: each pass reads every
// group, observes its instances through EC2 (state, status checks), marks
// the unhealthy, and takes the steps that bring InService capacity to the
// desired capacity (launch, terminate, replace), recording each as an
// activity. A pass runs on every tick of the clock and at once when an API
// call changes a group.

// reconcileEvery is how often, in clock time, every group is looked at.
const reconcileEvery = 5 * time.Second

// reconciler runs the passes.
type reconciler struct {
	s      *Service
	wakeCh chan struct{}
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu      sync.Mutex
	lastEnd map[string]time.Time // group ARN → end of its last scaling activity
}

func newReconciler(s *Service) *reconciler {
	ctx, cancel := context.WithCancel(context.Background())
	return &reconciler{s: s, wakeCh: make(chan struct{}, 1), ctx: ctx, cancel: cancel, lastEnd: map[string]time.Time{}}
}

func (r *reconciler) start() error {
	r.wg.Add(1)
	go r.run()
	return nil
}

func (r *reconciler) stop() {
	r.cancel()
	r.wg.Wait()
}

func (r *reconciler) forget() {
	r.mu.Lock()
	r.lastEnd = map[string]time.Time{}
	r.mu.Unlock()
}

// wake asks for a pass now.
func (r *reconciler) wake() {
	select {
	case r.wakeCh <- struct{}{}:
	default:
	}
}

func (r *reconciler) lastActivityEnd(groupARN string) time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.lastEnd[groupARN]
}

func (r *reconciler) run() {
	defer r.wg.Done()
	t := r.s.clk.NewTicker(reconcileEvery)
	defer t.Stop()
	for {
		busy := r.pass()
		var soon <-chan time.Time
		var timer interface{ Stop() bool }
		if busy {
			// Instances on their way in or out are looked at again
			// soon, so InService follows running closely.
			tm := r.s.clk.NewTimer(busyEvery)
			timer, soon = tm, tm.C()
		}
		select {
		case <-r.ctx.Done():
			return
		case <-t.C():
		case <-soon:
		case <-r.wakeCh:
		}
		if timer != nil {
			timer.Stop()
		}
	}
}

// busyEvery is how soon, in clock time, a pass follows one that left
// instances Pending or Terminating.
const busyEvery = 200 * time.Millisecond

// pass reconciles every group of every scope, and reports whether any
// group has instances in transition.
func (r *reconciler) pass() (busy bool) {
	var keys []string
	err := r.s.st.View(func(tx store.Tx) error {
		return tx.ForEach(bucketGroups, "", func(key string, _ func(any) error) error {
			keys = append(keys, key)
			return nil
		})
	})
	if err != nil {
		r.s.log().Error("autoscaling: listing groups", "err", err)
		return false
	}
	for _, key := range keys {
		if r.ctx.Err() != nil {
			return false
		}
		parts := strings.SplitN(key, "/", 3)
		if len(parts) != 3 {
			continue
		}
		sc := scope{Account: parts[0], Region: parts[1]}
		moving, err := r.reconcile(sc, parts[2])
		if err != nil && r.ctx.Err() == nil {
			r.s.log().Error("autoscaling: reconciling a group", "group", parts[2], "err", err)
		}
		busy = busy || moving
	}
	return busy
}

// inTransition reports whether any member is Pending or Terminating: a
// pass should follow soon.
func inTransition(members []member) bool {
	return slices.ContainsFunc(members, func(m member) bool {
		switch m.Lifecycle {
		case "Pending", "Terminating", "EnteringStandby", "Warmed:Pending", "Warmed:Pending:Proceed", "Warmed:Terminating":
			return true
		}
		return false
	})
}

// observed is what EC2 says of a member.
type observed struct {
	state    string // pending, running, stopping, stopped, shutting-down, terminated; "" when EC2 no longer knows it
	impaired bool
}

// observe asks EC2 for the state and status checks of a group's members.
func (r *reconciler) observe(sc scope, g groupRecord) (map[string]observed, error) {
	out := map[string]observed{}
	if len(g.Members) == 0 {
		return out, nil
	}
	ids := make([]string, len(g.Members))
	for i, m := range g.Members {
		ids[i] = m.ID
	}
	st, err := r.s.opts.Compute.GroupInstances(r.ctx, sc.Account, sc.Region, ids)
	if err != nil {
		return nil, err
	}
	for id, s := range st {
		o := observed{}
		if s.InstanceState != nil {
			o.state = str(s.InstanceState.Name)
		}
		o.impaired = s.InstanceStatus != nil && str(s.InstanceStatus.Status) == "impaired"
		out[id] = o
	}
	return out, nil
}

// reconcile takes one group toward its desired capacity.
func (r *reconciler) reconcile(sc scope, name string) (busy bool, err error) {
	var g groupRecord
	var hooks []api.LifecycleHook
	var refreshKey string
	var refresh *refreshRecord
	err = r.s.st.View(func(tx store.Tx) error {
		var err error
		if g, err = loadGroup(tx, sc, name); err != nil {
			return err
		}
		if refreshKey, refresh, err = findRefresh(tx, sc, g); err != nil {
			return err
		}
		hooks, err = groupHooks(tx, sc, name)
		return err
	})
	if err != nil {
		return false, err
	}
	launchHook, termHook := hookFor(hooks, launching), hookFor(hooks, terminating)
	sourcesBefore := slices.Clone(g.Sources)
	before := make(map[string]bool, len(g.Members))
	for _, m := range g.Members {
		before[m.ID] = true
	}
	seen, err := r.observe(sc, g)
	if err != nil {
		return false, err
	}
	now := r.s.now()
	var acts []activityRecord
	var terminate []string
	changed := false
	// Observe: pending instances that run are InService; instances that
	// ended or fail their checks are unhealthy; ones asked to terminate
	// leave once gone.
	kept := g.Members[:0:0]
	var stops []string
	for _, m := range g.Members {
		o := seen[m.ID]
		if warm(m) {
			drop, stop, term, moved := r.warmStep(sc, g, &m, o, launchHook, now)
			changed = changed || moved
			if drop {
				continue
			}
			if stop {
				stops = append(stops, m.ID)
			}
			if term {
				terminate = append(terminate, m.ID)
			}
			kept = append(kept, m)
			continue
		}
		switch {
		case m.Lifecycle == "EnteringStandby":
			m.Lifecycle = "Standby"
			r.finishActivity(sc, g, m.ID, now, "Successful")
			changed = true
		case m.Lifecycle == "Standby" && (o.state == "" || o.state == "terminated"):
			// A Standby instance that ends leaves the group; it never
			// counted toward capacity.
			changed = true
			continue
		case m.Lifecycle == "Terminating":
			if o.state == "terminated" || o.state == "" {
				r.finishActivity(sc, g, m.ID, now, "Successful")
				changed = true
				continue
			}
			if o.state != "shutting-down" {
				terminate = append(terminate, m.ID) // asked by a user: not yet sent
			}
		case o.state == "running" && m.Lifecycle == "Pending" && launchHook != nil:
			// A launch hook holds the instance until it is completed
			// or its heartbeat runs out.
			hookWait(&m, launchHook, "Pending:Wait", now, awsid.RequestID())
			r.notifyWait(sc, g, launchHook, m, m.From)
			changed = true
		case o.state == "running" && m.Lifecycle == "Pending":
			m.Lifecycle = "InService"
			r.finishActivity(sc, g, m.ID, now, "Successful")
			changed = true
		case m.Lifecycle == "Pending:Wait":
			switch waitOutcome(m, now) {
			case "CONTINUE":
				m.Lifecycle = "InService"
				r.finishActivity(sc, g, m.ID, now, "Successful")
				changed = true
			case "ABANDON":
				m.Lifecycle, m.Health, m.UnhealthyWhy = "Pending", "Unhealthy", "an abandoned launch lifecycle action"
				r.finishActivity(sc, g, m.ID, now, "Cancelled")
				changed = true
			}
		case m.Lifecycle == "Terminating:Wait":
			if waitOutcome(m, now) != "" {
				// Both results end in termination.
				m.Lifecycle = "Terminating"
				terminate = append(terminate, m.ID)
				changed = true
			}
		}
		if m.Lifecycle != "Terminating" && !standby(m) && m.Health == "Healthy" {
			switch {
			case o.state == "" || o.state == "terminated" || o.state == "shutting-down" || o.state == "stopped" || o.state == "stopping":
				m.Health, m.UnhealthyWhy, changed = "Unhealthy", "an EC2 health check indicating it has been terminated or stopped", true
			case o.impaired && now.Sub(m.Launched) >= secondsOf(g.HealthCheckGracePeriod) && !g.suspended("HealthCheck"):
				m.Health, m.UnhealthyWhy, changed = "Unhealthy", "an EC2 instance status checks failure", true
			}
		}
		// Unhealthy instances are replaced: terminated, and the capacity
		// gap launches a new one.
		if !strings.HasPrefix(m.Lifecycle, "Terminating") && !standby(m) && m.Health == "Unhealthy" && !g.suspended("ReplaceUnhealthy") {
			a := newActivity(g, now, "Terminating EC2 instance: "+m.ID,
				fmt.Sprintf("At %s an instance was taken out of service in response to %s.", now.Format(causeTime), m.UnhealthyWhy), "InProgress")
			a.Instance, a.Details = m.ID, details(subnetOf(g, m.AZ), m.AZ)
			acts = append(acts, a)
			alive := o.state != "" && o.state != "terminated" && o.state != "shutting-down"
			switch {
			case termHook != nil && alive:
				hookWait(&m, termHook, "Terminating:Wait", now, awsid.RequestID())
				r.notifyWait(sc, g, termHook, m, "")
			default:
				m.Lifecycle = "Terminating"
				if alive {
					terminate = append(terminate, m.ID)
				}
			}
			changed = true
		}
		kept = append(kept, m)
	}
	g.Members = kept
	desired := g.Desired
	if g.Deleting {
		desired = 0
	}
	refreshed := false
	if refresh != nil && refresh.active() && !g.Deleting && !g.suspended("InstanceRefresh") {
		d, term, racts, moved := r.refreshStep(sc, &g, refresh, now)
		desired, refreshed = d, moved
		terminate = append(terminate, term...)
		acts = append(acts, racts...)
		changed = changed || moved
	} else {
		term, racts, moved := r.replaceStep(sc, &g, desired, now)
		terminate = append(terminate, term...)
		acts = append(acts, racts...)
		changed = changed || moved
	}
	capacity := g.capacity()
	switch {
	case capacity > desired && !g.suspended("Terminate"):
		// Victims in the order the termination policies choose them, as
		// long as capacity stays at or above desired (with weights, one
		// may not fit).
		var victims []string
		left := capacity
		for _, id := range selectVictims(g, capacity-desired, now) {
			w := g.Members[slices.IndexFunc(g.Members, func(m member) bool { return m.ID == id })].units()
			if left-w >= desired {
				victims = append(victims, id)
				left -= w
			}
		}
		reuse := g.WarmPool != nil && g.WarmPool.Reuse && !g.WarmPool.Deleting && !g.Deleting
		shrink := capacity
		for _, id := range victims {
			j := slices.IndexFunc(g.Members, func(m member) bool { return m.ID == id })
			m := &g.Members[j]
			from, to := shrink, shrink-m.units()
			shrink = to
			what, description := "taken out of service", "Terminating EC2 instance: "
			switch {
			case reuse:
				// Reuse on scale-in: back to the pool, not terminated.
				m.Lifecycle = "Warmed:Pending"
				what, description = "moved to the warm pool", "Moving EC2 instance to warm pool: "
			case termHook != nil:
				hookWait(m, termHook, "Terminating:Wait", now, awsid.RequestID())
				r.notifyWait(sc, g, termHook, *m, "")
			default:
				m.Lifecycle = "Terminating"
				terminate = append(terminate, id)
			}
			cause := fmt.Sprintf("%s  At %s an instance was %s in response to a difference between desired and actual capacity, shrinking the capacity from %d to %d.  At %s instance %s was selected for termination.",
				g.Cause, now.Format(causeTime), what, from, to, now.Format(causeTime), id)
			a := newActivity(g, now, description+id, strings.TrimSpace(cause), "InProgress")
			a.Instance, a.Details = id, details(subnetOf(g, m.AZ), m.AZ)
			acts = append(acts, a)
		}
		changed = changed || len(victims) > 0
	}
	var balanced bool
	terminate, balanced = r.balance(sc, &g, now, terminate)
	changed = changed || balanced
	if len(terminate) > 0 {
		if _, err := r.s.opts.Compute.TerminateInstances(sc.Context(r.ctx), &ec2api.TerminateInstancesInput{InstanceIds: terminate}); err != nil {
			r.s.log().Warn("autoscaling: terminating instances", "group", g.Name, "err", err)
		}
	}
	if capacity := g.capacity(); capacity < desired && !g.suspended("Launch") && !g.Deleting {
		acts = append(acts, r.takeFromPool(sc, &g, desired-capacity, capacity, now)...)
		if capacity := g.capacity(); capacity < desired {
			// During a refresh, replacements launch with the desired
			// configuration.
			own := g
			if refresh != nil && refresh.active() && refresh.Status != "Cancelling" {
				t := refreshTarget(g, refresh)
				g.LaunchTemplate, g.MixedInstancesPolicy, g.LaunchConfigurationName = t.LaunchTemplate, t.MixedInstancesPolicy, t.LaunchConfigurationName
			}
			launched, failed := r.launch(sc, &g, desired-capacity, capacity, now, false)
			g.LaunchTemplate, g.MixedInstancesPolicy, g.LaunchConfigurationName = own.LaunchTemplate, own.MixedInstancesPolicy, own.LaunchConfigurationName
			acts = append(acts, launched...)
			acts = append(acts, failed...)
		}
		changed = true
	}
	if g.WarmPool != nil || slices.ContainsFunc(g.Members, warm) {
		pacts, surplus := r.fillPool(sc, &g, now)
		acts = append(acts, pacts...)
		stops = slices.DeleteFunc(stops, func(id string) bool { return slices.Contains(surplus, id) })
		if len(surplus) > 0 {
			if _, err := r.s.opts.Compute.TerminateInstances(sc.Context(r.ctx), &ec2api.TerminateInstancesInput{InstanceIds: surplus}); err != nil {
				r.s.log().Warn("autoscaling: terminating warm pool instances", "group", g.Name, "err", err)
			}
		}
		changed = changed || len(pacts) > 0
		if g.WarmPool != nil && g.WarmPool.Deleting && !slices.ContainsFunc(g.Members, warm) {
			g.WarmPool, changed = nil, true
		}
	}
	if len(stops) > 0 {
		if _, err := r.s.opts.Compute.StopInstances(sc.Context(r.ctx), &ec2api.StopInstancesInput{InstanceIds: stops}); err != nil {
			r.s.log().Warn("autoscaling: stopping warm pool instances", "group", g.Name, "err", err)
		}
	}
	if !changed && !(g.Deleting && len(g.Members) == 0) {
		return inTransition(g.Members), nil
	}
	deleted := false
	err = r.s.st.Update(func(tx store.Tx) error {
		cur, err := loadGroup(tx, sc, name)
		if err != nil {
			return err
		}
		for _, a := range acts {
			if err := putActivity(tx, sc, a); err != nil {
				return err
			}
		}
		if g.Deleting && len(g.Members) == 0 {
			deleted = true
			return tx.Delete(bucketGroups, sc.Key(name))
		}
		// What API calls changed meanwhile (desired capacity and its
		// cause, bounds, settings) stays; the members are the pass's.
		cur.Members = mergeMembers(cur.Members, before, g.Members)
		cur.Sources = mergeSources(cur.Sources, sourcesBefore, g.Sources)
		if refreshed {
			if err := tx.Put(bucketRefreshes, refreshKey, *refresh); err != nil {
				return err
			}
			if !refresh.active() {
				cur.RefreshID = ""
			}
			if refresh.Status == "Successful" {
				cur.LaunchTemplate, cur.MixedInstancesPolicy, cur.LaunchConfigurationName = g.LaunchTemplate, g.MixedInstancesPolicy, g.LaunchConfigurationName
			}
		}
		if g.WarmPool == nil && cur.WarmPool != nil && cur.WarmPool.Deleting {
			cur.WarmPool = nil // its last instance is gone
		}
		return putGroup(tx, sc, cur)
	})
	if deleted {
		r.s.groupDeleted(r.ctx, sc, name)
	}
	return !deleted && inTransition(g.Members), err
}

// mergeMembers keeps the pass's view of the members, with the changes API
// calls made meanwhile: to members it kept (health, protection, a
// termination or standby asked for), members detached (in before, gone
// from cur) and members attached (in cur, not in before).
func mergeMembers(cur []member, before map[string]bool, pass []member) []member {
	out := make([]member, 0, len(pass))
	for _, m := range pass {
		i := slices.IndexFunc(cur, func(c member) bool { return c.ID == m.ID })
		if i < 0 && before[m.ID] {
			continue // detached meanwhile
		}
		if i >= 0 {
			c := cur[i]
			switch {
			case c.Lifecycle == "EnteringStandby" && m.Lifecycle == "InService",
				c.Lifecycle == "Pending" && m.Lifecycle == "Standby",
				c.Lifecycle == "Warmed:Terminating" && warm(m):
				m.Lifecycle = c.Lifecycle
			}
			m.Protected = c.Protected
			if c.WaitResult != "" && c.WaitToken == m.WaitToken {
				m.WaitResult = c.WaitResult
			}
			if c.WaitToken == m.WaitToken && c.WaitDeadline.After(m.WaitDeadline) {
				m.WaitDeadline = c.WaitDeadline
			}
			if c.Health == "Unhealthy" && m.Health == "Healthy" {
				m.Health, m.UnhealthyWhy = c.Health, c.UnhealthyWhy
			}
			if c.Lifecycle == "Terminating" {
				m.Lifecycle = "Terminating"
			}
		}
		out = append(out, m)
	}
	for _, c := range cur {
		if !before[c.ID] && !slices.ContainsFunc(pass, func(m member) bool { return m.ID == c.ID }) {
			out = append(out, c) // attached meanwhile
		}
	}
	return out
}

// standby reports whether a member is in or entering Standby: out of
// service, not health checked, not a scale-in candidate.
func standby(m member) bool { return m.Lifecycle == "Standby" || m.Lifecycle == "EnteringStandby" }

// finishActivity ends the in-progress activity of an instance.
func (r *reconciler) finishActivity(sc scope, g groupRecord, id string, now time.Time, status string) {
	err := r.s.st.Update(func(tx store.Tx) error {
		var found *activityRecord
		var key string
		err := tx.ForEach(bucketActivities, sc.Key(g.Name+"/"), func(k string, decode func(any) error) error {
			var a activityRecord
			if err := decode(&a); err != nil {
				return err
			}
			if a.Instance == id && a.End == nil {
				found, key = &a, k
			}
			return nil
		})
		if err != nil || found == nil {
			return err
		}
		found.finish(now, status, "")
		return tx.Put(bucketActivities, key, *found)
	})
	if err != nil {
		r.s.log().Error("autoscaling: finishing an activity", "group", g.Name, "err", err)
	}
	r.mu.Lock()
	r.lastEnd[g.ARN] = now
	r.mu.Unlock()
}

// launch starts n instances spread over the group's zones and returns the
// activities: one per instance launched, one failed activity per zone that
// could not launch.
//
// With warm, the instances go into the group's warm pool instead.
func (r *reconciler) launch(sc scope, g *groupRecord, n, capacity int, now time.Time, warm bool) (launched, failed []activityRecord) {
	// A mixed group's purchases first: with weights, n units may take
	// fewer instances.
	var buys []purchase
	instances := n
	if g.MixedInstancesPolicy != nil {
		buys = mixedPurchases(*g, n)
		instances = len(buys)
	}
	perZone := map[string]int{}
	for _, az := range launchZones(*g, instances) {
		perZone[az]++
	}
	zones := make([]string, 0, len(perZone))
	for az := range perZone {
		zones = append(zones, az)
	}
	sort.Strings(zones)
	// Each batch is one zone and one purchase: a mixed group chooses
	// On-Demand or Spot and the type per instance (mixed.go).
	type batch struct {
		az    string
		count int
		buy   purchase
	}
	var batches []batch
	for _, az := range zones {
		if g.MixedInstancesPolicy == nil {
			batches = append(batches, batch{az: az, count: perZone[az]})
			continue
		}
		var mine []purchase
		mine, buys = buys[:perZone[az]], buys[perZone[az]:]
		for _, buy := range mine {
			if k := len(batches) - 1; k >= 0 && batches[k].az == az && batches[k].buy == buy {
				batches[k].count++
			} else {
				batches = append(batches, batch{az: az, count: 1, buy: buy})
			}
		}
	}
	for _, b := range batches {
		az, count := b.az, b.count
		in, err := r.runInput(sc, *g, az, count, b.buy)
		var insts []ec2api.Instance
		if err == nil {
			insts, err = r.s.opts.Compute.LaunchForGroup(r.ctx, sc.Account, sc.Region, g.Name, in, count)
		}
		if err != nil && warm {
			a := newActivity(*g, now, "Launching a new EC2 instance into warm pool.  Status Reason: "+err.Error(),
				fmt.Sprintf("At %s an instance was launched into the warm pool in response to a difference between the desired and actual size of the warm pool.", now.Format(causeTime)), "Failed")
			a.finish(now, "Failed", err.Error())
			a.Details = details(subnetOf(*g, az), az)
			failed = append(failed, a)
			continue
		}
		if err != nil {
			a := newActivity(*g, now, "Launching a new EC2 instance.  Status Reason: "+err.Error(),
				fmt.Sprintf("At %s an instance was started in response to a difference between desired and actual capacity, increasing the capacity from %d to %d.", now.Format(causeTime), capacity, capacity+count), "Failed")
			a.finish(now, "Failed", err.Error())
			a.Details = details(subnetOf(*g, az), az)
			failed = append(failed, a)
			continue
		}
		for _, inst := range insts {
			id := str(inst.InstanceId)
			m := member{ID: id, AZ: az, InstanceType: str(inst.InstanceType), Lifecycle: "Pending", Health: "Healthy",
				Protected: g.ProtectNew, Launched: now, LaunchConfigurationName: g.LaunchConfigurationName}
			if b.buy.market == "spot" {
				m.Market = "spot"
			}
			m.Weight = b.buy.weight
			if spec := launchSpec(*g); spec != nil {
				m.LaunchTemplate = &api.LaunchTemplateSpecification{LaunchTemplateId: spec.LaunchTemplateId, LaunchTemplateName: spec.LaunchTemplateName, Version: ptr(templateVersion(inst, spec))}
			}
			if warm {
				m.Lifecycle = "Warmed:Pending"
				g.Members = append(g.Members, m)
				a := newActivity(*g, now, "Launching a new EC2 instance into warm pool: "+id,
					fmt.Sprintf("At %s an instance was launched into the warm pool in response to a difference between the desired and actual size of the warm pool.", now.Format(causeTime)), "InProgress")
				a.Instance, a.Details, a.Progress = id, details(subnetOf(*g, az), az), 30
				launched = append(launched, a)
				continue
			}
			g.Members = append(g.Members, m)
			cause := fmt.Sprintf("%s  At %s an instance was started in response to a difference between desired and actual capacity, increasing the capacity from %d to %d.",
				g.Cause, now.Format(causeTime), capacity, capacity+m.units())
			capacity += m.units()
			a := newActivity(*g, now, "Launching a new EC2 instance: "+id, strings.TrimSpace(cause), "InProgress")
			a.Instance, a.Details, a.Progress = id, details(subnetOf(*g, az), az), 30
			launched = append(launched, a)
		}
	}
	return launched, failed
}

// templateVersion is the version number EC2 launched an instance with,
// from the tag it gives instances launched from a template.
func templateVersion(inst ec2api.Instance, spec *api.LaunchTemplateSpecification) string {
	for _, t := range inst.Tags {
		if str(t.Key) == "aws:ec2launchtemplate:version" {
			return str(t.Value)
		}
	}
	if v := str(spec.Version); v != "" {
		return v
	}
	return "$Default"
}

// launchSpec is the launch template a group launches from, if any.
func launchSpec(g groupRecord) *api.LaunchTemplateSpecification {
	if g.LaunchTemplate != nil {
		return g.LaunchTemplate
	}
	if p := g.MixedInstancesPolicy; p != nil && p.LaunchTemplate != nil {
		return p.LaunchTemplate.LaunchTemplateSpecification
	}
	return nil
}

// runInput is the RunInstances request that launches count instances of a
// group in one zone.
func (r *reconciler) runInput(sc scope, g groupRecord, az string, count int, buy purchase) (*ec2api.RunInstancesInput, error) {
	in := &ec2api.RunInstancesInput{MinCount: ptr(int32(1)), MaxCount: ptr(int32(count)), SubnetId: ptr(subnetOf(g, az))}
	var tags []ec2api.Tag
	for _, t := range g.Tags {
		if deref(t.PropagateAtLaunch) {
			tags = append(tags, ec2api.Tag{Key: t.Key, Value: t.Value})
		}
	}
	if len(tags) > 0 {
		in.TagSpecifications = []ec2api.TagSpecification{{ResourceType: ptr("instance"), Tags: tags}}
	}
	if g.PlacementGroup != "" {
		in.Placement = &ec2api.Placement{GroupName: ptr(g.PlacementGroup)}
	}
	if spec := launchSpec(g); spec != nil {
		in.LaunchTemplate = &ec2api.LaunchTemplateSpecification{LaunchTemplateId: spec.LaunchTemplateId, LaunchTemplateName: spec.LaunchTemplateName, Version: spec.Version}
		if buy.instanceType != "" {
			in.InstanceType = ptr(buy.instanceType)
		}
		if buy.market == "spot" {
			opts := &ec2api.SpotMarketOptions{SpotInstanceType: ptr("one-time")}
			if p := g.MixedInstancesPolicy; p != nil && p.InstancesDistribution != nil && str(p.InstancesDistribution.SpotMaxPrice) != "" {
				opts.MaxPrice = p.InstancesDistribution.SpotMaxPrice
			}
			in.InstanceMarketOptions = &ec2api.InstanceMarketOptionsRequest{MarketType: ptr("spot"), SpotOptions: opts}
		}
		return in, nil
	}
	var lc launchConfigRecord
	if err := r.s.st.View(func(tx store.Tx) error { return tx.Get(bucketLaunchConfigs, sc.Key(g.LaunchConfigurationName), &lc) }); err != nil {
		return nil, fmt.Errorf("launch configuration %s: %w", g.LaunchConfigurationName, err)
	}
	c := lc.Config
	in.ImageId, in.InstanceType, in.KeyName = c.ImageId, c.InstanceType, c.KeyName
	if str(c.UserData) != "" {
		in.UserData = c.UserData
	}
	for _, sg := range c.SecurityGroups {
		if strings.HasPrefix(sg, "sg-") {
			in.SecurityGroupIds = append(in.SecurityGroupIds, sg)
		} else {
			in.SecurityGroups = append(in.SecurityGroups, sg)
		}
	}
	if c.InstanceMonitoring != nil {
		in.Monitoring = &ec2api.RunInstancesMonitoringEnabled{Enabled: c.InstanceMonitoring.Enabled}
	}
	if p := str(c.IamInstanceProfile); p != "" {
		if strings.HasPrefix(p, "arn:") {
			in.IamInstanceProfile = &ec2api.IamInstanceProfileSpecification{Arn: &p}
		} else {
			in.IamInstanceProfile = &ec2api.IamInstanceProfileSpecification{Name: &p}
		}
	}
	return in, nil
}

// subnetOf is the subnet a group launches in within a zone.
func subnetOf(g groupRecord, az string) string {
	for _, z := range g.Zones {
		if z.Name == az {
			return z.Subnet
		}
	}
	return ""
}
