package autoscaling

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	api "github.com/nephele-dev/nephele/internal/api/autoscaling"
	ec2api "github.com/nephele-dev/nephele/internal/api/ec2"
	"github.com/nephele-dev/nephele/internal/awsid"
	"github.com/nephele-dev/nephele/internal/page"
	"github.com/nephele-dev/nephele/internal/store"
)

// Warm pools, as the AWS documentation describes them: pre-initialised
// instances beside a group. An instance launched into the pool runs its
// user-data (and any launch lifecycle hook) as Warmed:Pending, then is
// stopped (Warmed:Stopped, or Warmed:Hibernated), or left running
// (Warmed:Running). On scale-out the group takes instances from the pool
// before launching new ones: a warm start skips the first-boot work, which
// is what makes it faster. The pool's size is MaxGroupPreparedCapacity
// (or the group's max) less desired capacity, never below MinSize; with
// ReuseOnScaleIn, scale-in returns instances to the pool instead of
// terminating them.

// warmPool is a group's warm pool configuration.
type warmPool struct {
	MinSize     int    `json:"minSize"`
	MaxPrepared *int   `json:"maxPrepared,omitempty"`
	PoolState   string `json:"poolState"`
	Reuse       bool   `json:"reuse,omitempty"`
	// Deleting is set by DeleteWarmPool: the pool's instances are
	// terminated, then the configuration goes.
	Deleting bool `json:"deleting,omitempty"`
}

// warm reports whether a member is in the warm pool.
func warm(m member) bool { return strings.HasPrefix(m.Lifecycle, "Warmed:") }

// warmReady reports whether a pool member is ready to be taken: done
// initialising, not on its way out.
func warmReady(m member) bool {
	return m.Lifecycle == "Warmed:Stopped" || m.Lifecycle == "Warmed:Running" || m.Lifecycle == "Warmed:Hibernated"
}

// poolTarget is how many instances the pool should hold.
func poolTarget(g groupRecord) int {
	p := g.WarmPool
	if p == nil || p.Deleting || g.Deleting {
		return 0
	}
	prepared := g.Max
	if p.MaxPrepared != nil && *p.MaxPrepared >= 0 {
		prepared = *p.MaxPrepared
	}
	return max(prepared-g.Desired, p.MinSize, 0)
}

// PutWarmPool creates or updates a group's warm pool.
func (s *Service) PutWarmPool(ctx context.Context, in *api.PutWarmPoolType) (*api.PutWarmPoolAnswer, error) {
	sc := scopeOf(ctx)
	p := warmPool{MinSize: int(deref(in.MinSize)), PoolState: "Stopped"}
	if in.PoolState != nil {
		p.PoolState = *in.PoolState
	}
	if in.MaxGroupPreparedCapacity != nil && *in.MaxGroupPreparedCapacity != -1 {
		n := int(*in.MaxGroupPreparedCapacity)
		p.MaxPrepared = &n
	}
	if in.InstanceReusePolicy != nil {
		p.Reuse = deref(in.InstanceReusePolicy.ReuseOnScaleIn)
	}
	err := s.st.Update(func(tx store.Tx) error {
		g, err := loadGroup(tx, sc, str(in.AutoScalingGroupName))
		if err != nil {
			return err
		}
		if g.MixedInstancesPolicy != nil {
			return validation("You can't add a warm pool to an Auto Scaling group that has a mixed instances policy or a launch template or launch configuration that requests Spot Instances.")
		}
		if g.WarmPool != nil && g.WarmPool.Deleting {
			return validation("The warm pool for Auto Scaling group %s is being deleted. Try again later.", g.Name)
		}
		if p.MaxPrepared != nil && *p.MaxPrepared < p.MinSize {
			return validation("The MinSize of the warm pool (%d) must be less than or equal to MaxGroupPreparedCapacity (%d).", p.MinSize, *p.MaxPrepared)
		}
		if p.MaxPrepared != nil && *p.MaxPrepared > g.Max {
			return validation("MaxGroupPreparedCapacity (%d) must be less than or equal to the max size of the Auto Scaling group (%d).", *p.MaxPrepared, g.Max)
		}
		g.WarmPool = &p
		return putGroup(tx, sc, g)
	})
	if err != nil {
		return nil, err
	}
	s.rec.wake()
	return &api.PutWarmPoolAnswer{}, nil
}

// DeleteWarmPool deletes a group's warm pool: its instances are
// terminated, then the pool goes. ForceDelete does not wait for
// lifecycle actions.
func (s *Service) DeleteWarmPool(ctx context.Context, in *api.DeleteWarmPoolType) (*api.DeleteWarmPoolAnswer, error) {
	sc := scopeOf(ctx)
	err := s.st.Update(func(tx store.Tx) error {
		g, err := loadGroup(tx, sc, str(in.AutoScalingGroupName))
		if err != nil {
			return err
		}
		if g.WarmPool == nil {
			return validation("No warm pool found for Auto Scaling group %s.", g.Name)
		}
		g.WarmPool.Deleting = true
		if deref(in.ForceDelete) {
			for i := range g.Members {
				if warm(g.Members[i]) && g.Members[i].Lifecycle != "Warmed:Terminating" {
					g.Members[i].Lifecycle = "Warmed:Terminating"
				}
			}
		}
		if !slices.ContainsFunc(g.Members, warm) {
			g.WarmPool = nil
		}
		return putGroup(tx, sc, g)
	})
	if err != nil {
		return nil, err
	}
	s.rec.wake()
	return &api.DeleteWarmPoolAnswer{}, nil
}

// DescribeWarmPool shows a group's warm pool and its instances.
func (s *Service) DescribeWarmPool(ctx context.Context, in *api.DescribeWarmPoolType) (*api.DescribeWarmPoolAnswer, error) {
	var g groupRecord
	if err := s.st.View(func(tx store.Tx) error {
		var err error
		g, err = loadGroup(tx, scopeOf(ctx), str(in.AutoScalingGroupName))
		return err
	}); err != nil {
		return nil, err
	}
	var pool []member
	for _, m := range g.Members {
		if warm(m) {
			pool = append(pool, m)
		}
	}
	items, next, err := page.ByKey(pool, func(m member) string { return m.ID }, str(in.NextToken), int(deref(in.MaxRecords)), 50, 50)
	if err != nil {
		return nil, validation("The NextToken value is invalid.")
	}
	out := &api.DescribeWarmPoolAnswer{Instances: []api.Instance{}, NextToken: optional(next), WarmPoolConfiguration: warmPoolOut(g.WarmPool)}
	for _, m := range items {
		out.Instances = append(out.Instances, instanceOut(m))
	}
	return out, nil
}

// warmPoolOut is a pool's configuration as AWS shows it; nil for none.
func warmPoolOut(p *warmPool) *api.WarmPoolConfiguration {
	if p == nil {
		return nil
	}
	out := &api.WarmPoolConfiguration{MinSize: ptr(int32(p.MinSize)), PoolState: ptr(p.PoolState),
		InstanceReusePolicy: &api.InstanceReusePolicy{ReuseOnScaleIn: ptr(p.Reuse)}}
	if p.MaxPrepared != nil {
		out.MaxGroupPreparedCapacity = ptr(int32(*p.MaxPrepared))
	}
	if p.Deleting {
		out.Status = ptr("PendingDelete")
	}
	return out
}

// warmStep moves a pool member one step through its states, from what EC2
// says of it: it reports whether the member leaves the group, and whether
// its instance should be stopped or terminated now.
func (r *reconciler) warmStep(sc scope, g groupRecord, m *member, o observed, launchHook *api.LifecycleHook, now time.Time) (drop, stop, terminate, changed bool) {
	if !warm(*m) {
		return false, false, false, false
	}
	// Gone: terminated, or unknown to EC2 once past Warmed:Pending.
	if o.state == "terminated" || o.state == "" && m.Lifecycle != "Warmed:Pending" {
		if m.Lifecycle == "Warmed:Terminating" {
			r.finishActivity(sc, g, m.ID, now, "Successful")
		}
		return true, false, false, true
	}
	state := "Stopped"
	if g.WarmPool != nil {
		state = g.WarmPool.PoolState
	}
	proceed := func() {
		if state == "Running" {
			m.Lifecycle = "Warmed:Running"
			r.finishActivity(sc, g, m.ID, now, "Successful")
		} else {
			m.Lifecycle = "Warmed:Pending:Proceed"
			stop = true
		}
		changed = true
	}
	switch m.Lifecycle {
	case "Warmed:Pending":
		if o.state == "stopping" || o.state == "stopped" {
			m.Lifecycle, changed = "Warmed:Pending:Proceed", true
			return
		}
		if o.state != "running" {
			return
		}
		if launchHook != nil {
			hookWait(m, launchHook, "Warmed:Pending:Wait", now, awsid.RequestID())
			r.notifyWait(sc, g, launchHook, *m, "")
			changed = true
			return
		}
		proceed()
	case "Warmed:Pending:Wait":
		switch waitOutcome(*m, now) {
		case "CONTINUE":
			proceed()
		case "ABANDON":
			m.Lifecycle, changed = "Warmed:Terminating", true
			terminate = true
		}
	case "Warmed:Pending:Proceed":
		switch o.state {
		case "stopped":
			m.Lifecycle = "Warmed:" + state
			r.finishActivity(sc, g, m.ID, now, "Successful")
			changed = true
		case "running":
			stop = true // again, in case the last stop was lost
		}
	case "Warmed:Terminating":
		terminate = o.state != "shutting-down"
	}
	return
}

// takeFromPool starts up to n ready pool instances into the group for a
// scale-out, and returns their activities: running ones first, as they
// are quickest.
func (r *reconciler) takeFromPool(sc scope, g *groupRecord, n, capacity int, now time.Time) []activityRecord {
	var ready []int
	for i, m := range g.Members {
		if warmReady(m) {
			ready = append(ready, i)
		}
	}
	slices.SortStableFunc(ready, func(a, b int) int {
		ra, rb := g.Members[a].Lifecycle == "Warmed:Running", g.Members[b].Lifecycle == "Warmed:Running"
		switch {
		case ra && !rb:
			return -1
		case rb && !ra:
			return 1
		}
		return 0
	})
	var acts []activityRecord
	var start []string
	for _, i := range ready[:min(n, len(ready))] {
		m := &g.Members[i]
		if m.Lifecycle != "Warmed:Running" {
			start = append(start, m.ID)
		}
		m.Lifecycle, m.Launched, m.Health, m.From = "Pending", now, "Healthy", "WarmPool"
		cause := fmt.Sprintf("%s  At %s an instance was started in response to a difference between desired and actual capacity, increasing the capacity from %d to %d.",
			g.Cause, now.Format(causeTime), capacity, capacity+1)
		capacity++
		a := newActivity(*g, now, "Launching a new EC2 instance from warm pool: "+m.ID, strings.TrimSpace(cause), "InProgress")
		a.Instance, a.Details, a.Progress = m.ID, details(subnetOf(*g, m.AZ), m.AZ), 30
		acts = append(acts, a)
	}
	if len(start) > 0 {
		if _, err := r.s.opts.Compute.StartInstances(sc.Context(r.ctx), &ec2api.StartInstancesInput{InstanceIds: start}); err != nil {
			r.s.log().Warn("autoscaling: starting warm pool instances", "group", g.Name, "err", err)
		}
	}
	return acts
}

// fillPool launches instances into the pool up to its target, or marks
// the surplus for termination, and returns the activities.
func (r *reconciler) fillPool(sc scope, g *groupRecord, now time.Time) (acts []activityRecord, terminate []string) {
	have := 0
	for _, m := range g.Members {
		if warm(m) && m.Lifecycle != "Warmed:Terminating" {
			have++
		}
	}
	target := poolTarget(*g)
	switch {
	case have < target && !g.suspended("Launch"):
		launched, failed := r.launch(sc, g, target-have, 0, now, true)
		return append(launched, failed...), nil
	case have > target:
		// The newest go first: the oldest are the most likely to be
		// fully initialised.
		idx := []int{}
		for i, m := range g.Members {
			if warm(m) && m.Lifecycle != "Warmed:Terminating" {
				idx = append(idx, i)
			}
		}
		slices.SortFunc(idx, func(a, b int) int { return g.Members[b].Launched.Compare(g.Members[a].Launched) })
		for _, i := range idx[:have-target] {
			m := &g.Members[i]
			m.Lifecycle = "Warmed:Terminating"
			terminate = append(terminate, m.ID)
			cause := fmt.Sprintf("At %s an instance was taken out of the warm pool in response to a difference between the desired and actual size of the warm pool.", now.Format(causeTime))
			a := newActivity(*g, now, "Terminating EC2 instance: "+m.ID, cause, "InProgress")
			a.Instance, a.Details = m.ID, details(subnetOf(*g, m.AZ), m.AZ)
			acts = append(acts, a)
		}
	}
	return acts, terminate
}
