package autoscaling

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	api "github.com/nephele-dev/nephele/internal/api/autoscaling"
	"github.com/nephele-dev/nephele/internal/store"
)

// bucketHooks holds lifecycle hooks, keyed by scope, group and name.
const bucketHooks = "autoscaling-lifecycle-hooks"

// Lifecycle hook rules ("Amazon EC2 Auto Scaling lifecycle hooks").
const (
	launching          = "autoscaling:EC2_INSTANCE_LAUNCHING"
	terminating        = "autoscaling:EC2_INSTANCE_TERMINATING"
	defaultHeartbeat   = 3600
	maxHeartbeat       = 7200
	maxGlobalTimeout   = 172800
	maxHooksPerGroup   = 50
	globalTimeoutTimes = 100
)

func hookKey(sc scope, group, name string) string { return sc.Key(group + "/" + name) }

// PutLifecycleHook creates or replaces a lifecycle hook.
func (s *Service) PutLifecycleHook(ctx context.Context, in *api.PutLifecycleHookType) (*api.PutLifecycleHookOutput, error) {
	sc := scopeOf(ctx)
	h, err := hookOf(str(in.AutoScalingGroupName), api.LifecycleHookSpecification{
		LifecycleHookName: in.LifecycleHookName, LifecycleTransition: in.LifecycleTransition, DefaultResult: in.DefaultResult,
		HeartbeatTimeout: in.HeartbeatTimeout, NotificationMetadata: in.NotificationMetadata,
		NotificationTargetARN: in.NotificationTargetARN, RoleARN: in.RoleARN,
	})
	if err != nil {
		return nil, err
	}
	if err := s.checkNotificationTarget(h); err != nil {
		return nil, err
	}
	err = s.st.Update(func(tx store.Tx) error {
		if _, err := loadGroup(tx, sc, str(h.AutoScalingGroupName)); err != nil {
			return err
		}
		var old api.LifecycleHook
		if err := tx.Get(bucketHooks, hookKey(sc, str(h.AutoScalingGroupName), str(h.LifecycleHookName)), &old); err == nil {
			// An update keeps what it does not name.
			if in.LifecycleTransition == nil {
				h.LifecycleTransition = old.LifecycleTransition
			}
		} else if !errors.Is(err, store.ErrNotFound) {
			return err
		} else if in.LifecycleTransition == nil {
			return validation("LifecycleTransition is required when creating a lifecycle hook.")
		}
		return putHook(tx, sc, h)
	})
	if err != nil {
		return nil, err
	}
	s.testNotification(ctx, sc, h)
	return &api.PutLifecycleHookOutput{}, nil
}

// hookOf validates a hook specification and fills AWS's defaults.
func hookOf(group string, spec api.LifecycleHookSpecification) (api.LifecycleHook, error) {
	h := api.LifecycleHook{
		AutoScalingGroupName: &group, LifecycleHookName: spec.LifecycleHookName, LifecycleTransition: spec.LifecycleTransition,
		DefaultResult: spec.DefaultResult, HeartbeatTimeout: spec.HeartbeatTimeout, NotificationMetadata: spec.NotificationMetadata,
		NotificationTargetARN: spec.NotificationTargetARN, RoleARN: spec.RoleARN,
	}
	if str(h.LifecycleHookName) == "" {
		return h, validation("1 validation error detected: Value null at 'lifecycleHookName' failed to satisfy constraint: Member must not be null")
	}
	if t := str(h.LifecycleTransition); t != "" && t != launching && t != terminating {
		return h, validation("Invalid Lifecycle Transition: %s", t)
	}
	if h.DefaultResult == nil {
		h.DefaultResult = ptr("ABANDON")
	}
	if r := *h.DefaultResult; r != "CONTINUE" && r != "ABANDON" {
		return h, validation("Invalid default result %s. Valid values are CONTINUE and ABANDON.", r)
	}
	if h.HeartbeatTimeout == nil {
		h.HeartbeatTimeout = ptr(int32(defaultHeartbeat))
	}
	if hb := *h.HeartbeatTimeout; hb < 30 || hb > maxHeartbeat {
		return h, validation("Heartbeat timeout must be between 30 and %d seconds.", maxHeartbeat)
	}
	h.GlobalTimeout = ptr(int32(min(int(*h.HeartbeatTimeout)*globalTimeoutTimes, maxGlobalTimeout)))
	return h, nil
}

func putHook(tx store.Tx, sc scope, h api.LifecycleHook) error {
	n := 0
	err := tx.ForEach(bucketHooks, sc.Key(str(h.AutoScalingGroupName)+"/"), func(k string, decode func(any) error) error {
		var o api.LifecycleHook
		if err := decode(&o); err != nil {
			return err
		}
		if str(o.AutoScalingGroupName) == str(h.AutoScalingGroupName) && k != hookKey(sc, str(h.AutoScalingGroupName), str(h.LifecycleHookName)) {
			n++
		}
		return nil
	})
	if err != nil {
		return err
	}
	if n >= maxHooksPerGroup {
		return awserrLimit("Auto Scaling group %s already has %d lifecycle hooks.", str(h.AutoScalingGroupName), maxHooksPerGroup)
	}
	return tx.Put(bucketHooks, hookKey(sc, str(h.AutoScalingGroupName), str(h.LifecycleHookName)), h)
}

// groupHooks reads a group's hooks.
func groupHooks(tx store.Tx, sc scope, group string) ([]api.LifecycleHook, error) {
	var out []api.LifecycleHook
	err := tx.ForEach(bucketHooks, sc.Key(group+"/"), func(_ string, decode func(any) error) error {
		var h api.LifecycleHook
		if err := decode(&h); err != nil {
			return err
		}
		// "web/blue"'s hooks share "web"'s key prefix.
		if str(h.AutoScalingGroupName) == group {
			out = append(out, h)
		}
		return nil
	})
	return out, err
}

// hookFor is a group's first hook for a transition, if any.
func hookFor(hooks []api.LifecycleHook, transition string) *api.LifecycleHook {
	for i := range hooks {
		if str(hooks[i].LifecycleTransition) == transition {
			return &hooks[i]
		}
	}
	return nil
}

// DescribeLifecycleHooks lists a group's hooks.
func (s *Service) DescribeLifecycleHooks(ctx context.Context, in *api.DescribeLifecycleHooksType) (*api.DescribeLifecycleHooksAnswer, error) {
	sc := scopeOf(ctx)
	out := &api.DescribeLifecycleHooksAnswer{LifecycleHooks: []api.LifecycleHook{}}
	err := s.st.View(func(tx store.Tx) error {
		if _, err := loadGroup(tx, sc, str(in.AutoScalingGroupName)); err != nil {
			return err
		}
		hooks, err := groupHooks(tx, sc, str(in.AutoScalingGroupName))
		for _, h := range hooks {
			if len(in.LifecycleHookNames) == 0 || slices.Contains(in.LifecycleHookNames, str(h.LifecycleHookName)) {
				out.LifecycleHooks = append(out.LifecycleHooks, h)
			}
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// DeleteLifecycleHook deletes a hook; instances waiting on it go on as its
// default result says.
func (s *Service) DeleteLifecycleHook(ctx context.Context, in *api.DeleteLifecycleHookType) (*api.DeleteLifecycleHookOutput, error) {
	sc := scopeOf(ctx)
	key := hookKey(sc, str(in.AutoScalingGroupName), str(in.LifecycleHookName))
	err := s.st.Update(func(tx store.Tx) error {
		if err := tx.Get(bucketHooks, key, &api.LifecycleHook{}); err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return validation("No Lifecycle Hook found with name %s for group %s", str(in.LifecycleHookName), str(in.AutoScalingGroupName))
			}
			return err
		}
		return tx.Delete(bucketHooks, key)
	})
	if err != nil {
		return nil, err
	}
	return &api.DeleteLifecycleHookOutput{}, nil
}

// DescribeLifecycleHookTypes lists the lifecycle transitions.
func (s *Service) DescribeLifecycleHookTypes(context.Context, *api.DescribeLifecycleHookTypesInput) (*api.DescribeLifecycleHookTypesAnswer, error) {
	return &api.DescribeLifecycleHookTypesAnswer{LifecycleHookTypes: []string{launching, terminating}}, nil
}

// waiting finds the instance of a group waiting on a hook, by instance ID
// or action token.
func waiting(g *groupRecord, hook, instance, token string) (*member, error) {
	for i := range g.Members {
		m := &g.Members[i]
		if m.WaitHook == hook && (m.ID == instance || (token != "" && m.WaitToken == token)) &&
			(m.Lifecycle == "Pending:Wait" || m.Lifecycle == "Terminating:Wait" || m.Lifecycle == "Warmed:Pending:Wait") {
			return m, nil
		}
	}
	if instance != "" {
		return nil, validation("No active Lifecycle Action found with instance ID %s", instance)
	}
	return nil, validation("No active Lifecycle Action found with token %s", token)
}

// CompleteLifecycleAction ends an instance's wait on a hook with CONTINUE
// or ABANDON.
func (s *Service) CompleteLifecycleAction(ctx context.Context, in *api.CompleteLifecycleActionType) (*api.CompleteLifecycleActionOutput, error) {
	result := str(in.LifecycleActionResult)
	if result != "CONTINUE" && result != "ABANDON" {
		return nil, validation("Invalid lifecycle action result %s. Valid values are CONTINUE and ABANDON.", result)
	}
	err := s.onWaiting(ctx, str(in.AutoScalingGroupName), str(in.LifecycleHookName), str(in.InstanceId), str(in.LifecycleActionToken),
		func(m *member, _ api.LifecycleHook) { m.WaitResult = result })
	if err != nil {
		return nil, err
	}
	s.rec.wake()
	return &api.CompleteLifecycleActionOutput{}, nil
}

// RecordLifecycleActionHeartbeat restarts an instance's heartbeat timeout,
// within the hook's global timeout.
func (s *Service) RecordLifecycleActionHeartbeat(ctx context.Context, in *api.RecordLifecycleActionHeartbeatType) (*api.RecordLifecycleActionHeartbeatOutput, error) {
	now := s.clk.Now()
	err := s.onWaiting(ctx, str(in.AutoScalingGroupName), str(in.LifecycleHookName), str(in.InstanceId), str(in.LifecycleActionToken),
		func(m *member, h api.LifecycleHook) {
			deadline := now.Add(secondsOf(int(deref(h.HeartbeatTimeout))))
			if limit := m.WaitStart.Add(secondsOf(int(deref(h.GlobalTimeout)))); deadline.After(limit) {
				deadline = limit
			}
			m.WaitDeadline = deadline
		})
	if err != nil {
		return nil, err
	}
	return &api.RecordLifecycleActionHeartbeatOutput{}, nil
}

func (s *Service) onWaiting(ctx context.Context, group, hook, instance, token string, change func(*member, api.LifecycleHook)) error {
	sc := scopeOf(ctx)
	if instance == "" && token == "" {
		return validation("Either InstanceId or LifecycleActionToken must be given.")
	}
	return s.st.Update(func(tx store.Tx) error {
		g, err := loadGroup(tx, sc, group)
		if err != nil {
			return err
		}
		var h api.LifecycleHook
		if err := tx.Get(bucketHooks, hookKey(sc, group, hook), &h); err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return validation("No Lifecycle Hook found with name %s for group %s", hook, group)
			}
			return err
		}
		m, err := waiting(&g, hook, instance, token)
		if err != nil {
			return err
		}
		change(m, h)
		return putGroup(tx, sc, g)
	})
}

// hookWait starts a member's wait on a hook.
func hookWait(m *member, h *api.LifecycleHook, lifecycle string, now time.Time, token string) {
	m.Lifecycle, m.WaitHook, m.WaitToken, m.WaitResult = lifecycle, str(h.LifecycleHookName), token, ""
	m.WaitStart, m.WaitDeadline, m.WaitDefault = now, now.Add(secondsOf(int(deref(h.HeartbeatTimeout)))), str(h.DefaultResult)
}

// waitOutcome is how a member's wait ends at now: its result, or the
// default once the deadline passed; "" while it goes on.
func waitOutcome(m member, now time.Time) string {
	if m.WaitResult != "" {
		return m.WaitResult
	}
	if !now.Before(m.WaitDeadline) {
		return m.WaitDefault
	}
	return ""
}

// TargetLifecycleState is the lifecycle state an instance of a group is
// heading for, as its metadata shows it (autoscaling/target-lifecycle-
// state): InService while it launches or waits on a launch hook,
// Terminated once it is on its way out; "" for an instance of no group.
func (s *Service) TargetLifecycleState(account, region, instanceID string) string {
	sc := scope{Account: account, Region: region}
	state := ""
	_ = s.st.View(func(tx store.Tx) error {
		g, i, err := findMember(tx, sc, instanceID)
		if err != nil {
			return nil
		}
		switch l := g.Members[i].Lifecycle; {
		case strings.HasPrefix(l, "Terminating"):
			state = "Terminated"
		case l == "Standby":
			state = "Standby"
		default:
			state = "InService"
		}
		return nil
	})
	return state
}
