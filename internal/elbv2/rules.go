package elbv2

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	api "github.com/nephele-dev/nephele/internal/api/elbv2"
	"github.com/nephele-dev/nephele/internal/page"
	"github.com/nephele-dev/nephele/internal/store"
)

// loadRule reads a rule by ARN; a listener's default rule is made from
// the listener (Priority 0).
func loadRule(tx store.Tx, sc scope, arn string) (ruleRecord, error) {
	var r ruleRecord
	if !strings.Contains(arn, ":listener-rule/") {
		return r, validation("'%s' is not a valid rule ARN", arn)
	}
	err := tx.Get(bucketRules, sc.Key(arn), &r)
	if err == nil || !errors.Is(err, store.ErrNotFound) {
		return r, err
	}
	listenerARN := strings.Replace(arn[:strings.LastIndexByte(arn, '/')], ":listener-rule/", ":listener/", 1)
	l, err := loadListener(tx, sc, listenerARN)
	if err != nil || l.DefaultRule != arn {
		return r, ruleNotFound()
	}
	return defaultRule(l), nil
}

// defaultRule is a listener's default rule.
func defaultRule(l listenerRecord) ruleRecord {
	return ruleRecord{ARN: l.DefaultRule, Listener: l.ARN, Actions: l.DefaultActions}
}

// ruleOut renders a rule as the API shows it.
func ruleOut(r ruleRecord) api.Rule {
	out := api.Rule{RuleArn: ptr(r.ARN), Actions: slices.Clone(r.Actions), Conditions: slices.Clone(r.Conditions), IsDefault: ptr(r.Priority == 0)}
	if r.Priority == 0 {
		out.Priority = ptr("default")
	} else {
		out.Priority = ptr(strconv.Itoa(r.Priority))
	}
	if out.Conditions == nil {
		out.Conditions = []api.RuleCondition{}
	}
	return out
}

// albListener loads a listener that takes rules: an ALB's.
func albListener(tx store.Tx, sc scope, arn string) (listenerRecord, lbRecord, error) {
	l, err := loadListener(tx, sc, arn)
	if err != nil {
		return l, lbRecord{}, err
	}
	lb, err := loadLB(tx, sc, l.LoadBalancer)
	if err != nil {
		return l, lb, err
	}
	if lb.Type != "application" {
		return l, lb, validation("Rules can only be added to listeners of Application Load Balancers")
	}
	return l, lb, nil
}

// rulesOfLB counts the non-default rules of a load balancer.
func rulesOfLB(tx store.Tx, sc scope, lbARN string) (int, error) {
	ls, err := listenersOf(tx, sc, lbARN)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, l := range ls {
		rs, err := rulesOf(tx, sc, l.ARN)
		if err != nil {
			return 0, err
		}
		n += len(rs)
	}
	return n, nil
}

// CreateRule adds a rule to an ALB listener at a priority no other rule
// of the listener has.
func (s *Service) CreateRule(ctx context.Context, in *api.CreateRuleInput) (*api.CreateRuleOutput, error) {
	sc := scopeOf(ctx)
	if len(in.Transforms) > 0 {
		return nil, validation("Rule transforms are not supported by nephele")
	}
	if err := checkTags(in.Tags, 0); err != nil {
		return nil, err
	}
	var r ruleRecord
	s.mu.Lock()
	defer s.mu.Unlock()
	err := s.st.Update(func(tx store.Tx) error {
		l, lb, err := albListener(tx, sc, str(in.ListenerArn))
		if err != nil {
			return err
		}
		r = ruleRecord{ARN: rulePrefix(l.ARN) + newID(), Listener: l.ARN, Priority: int(deref(in.Priority))}
		if r.Priority < 1 || r.Priority > 50000 {
			return validation("The rule priority must be between 1 and 50000")
		}
		existing, err := rulesOf(tx, sc, l.ARN)
		if err != nil {
			return err
		}
		if slices.ContainsFunc(existing, func(o ruleRecord) bool { return o.Priority == r.Priority }) {
			return priorityInUse(r.Priority)
		}
		if n, err := rulesOfLB(tx, sc, lb.ARN); err != nil {
			return err
		} else if n >= maxRulesPerLB {
			return apiErr("TooManyRules", "The maximum number of rules '%d' has been reached for the load balancer", maxRulesPerLB)
		}
		if r.Conditions, err = normalizeConditions(in.Conditions); err != nil {
			return err
		}
		if r.Actions, err = normalizeActions(tx, sc, lb, l.Protocol, in.Actions); err != nil {
			return err
		}
		if err := putTags(tx, sc, r.ARN, nil, in.Tags); err != nil {
			return err
		}
		return tx.Put(bucketRules, sc.Key(r.ARN), r)
	})
	if err != nil {
		return nil, err
	}
	s.syncScopeLocked(ctx, sc)
	return &api.CreateRuleOutput{Rules: []api.Rule{ruleOut(r)}}, nil
}

// ModifyRule replaces a rule's conditions and/or actions; a default
// rule's actions are its listener's default actions, and it has no
// conditions to change.
func (s *Service) ModifyRule(ctx context.Context, in *api.ModifyRuleInput) (*api.ModifyRuleOutput, error) {
	sc := scopeOf(ctx)
	if len(in.Transforms) > 0 {
		return nil, validation("Rule transforms are not supported by nephele")
	}
	var r ruleRecord
	s.mu.Lock()
	defer s.mu.Unlock()
	err := s.st.Update(func(tx store.Tx) error {
		var err error
		if r, err = loadRule(tx, sc, str(in.RuleArn)); err != nil {
			return err
		}
		l, err := loadListener(tx, sc, r.Listener)
		if err != nil {
			return err
		}
		lb, err := loadLB(tx, sc, l.LoadBalancer)
		if err != nil {
			return err
		}
		if in.Conditions != nil {
			if r.Priority == 0 {
				return notPermitted("The conditions of the default rule '%s' cannot be modified", r.ARN)
			}
			if r.Conditions, err = normalizeConditions(in.Conditions); err != nil {
				return err
			}
		}
		if in.Actions != nil {
			if r.Actions, err = normalizeActions(tx, sc, lb, l.Protocol, in.Actions); err != nil {
				return err
			}
		}
		if r.Priority == 0 {
			l.DefaultActions = r.Actions
			return tx.Put(bucketListeners, sc.Key(l.ARN), l)
		}
		return tx.Put(bucketRules, sc.Key(r.ARN), r)
	})
	if err != nil {
		return nil, err
	}
	s.syncScopeLocked(ctx, sc)
	return &api.ModifyRuleOutput{Rules: []api.Rule{ruleOut(r)}}, nil
}

// DescribeRules lists a listener's rules in priority order, the default
// rule last, or the rules named.
func (s *Service) DescribeRules(ctx context.Context, in *api.DescribeRulesInput) (*api.DescribeRulesOutput, error) {
	sc := scopeOf(ctx)
	if in.ListenerArn == nil && len(in.RuleArns) == 0 {
		return nil, validation("You must specify either listener ARNs or rule ARNs")
	}
	var found []ruleRecord
	err := s.st.View(func(tx store.Tx) error {
		if len(in.RuleArns) > 0 {
			for _, arn := range in.RuleArns {
				r, err := loadRule(tx, sc, arn)
				if err != nil {
					return err
				}
				found = append(found, r)
			}
			return nil
		}
		l, err := loadListener(tx, sc, str(in.ListenerArn))
		if err != nil {
			return err
		}
		if found, err = rulesOf(tx, sc, l.ARN); err != nil {
			return err
		}
		found = append(found, defaultRule(l))
		return nil
	})
	if err != nil {
		return nil, err
	}
	order := func(r ruleRecord) string {
		if r.Priority == 0 {
			return "99999"
		}
		return fmt.Sprintf("%05d", r.Priority)
	}
	if in.ListenerArn != nil {
		slices.SortFunc(found, func(a, b ruleRecord) int { return strings.Compare(order(a), order(b)) })
	}
	key := func(r ruleRecord) string { return order(r) + r.ARN }
	var pg []ruleRecord
	next := ""
	if in.ListenerArn != nil {
		pg, next, err = page.ByKey(found, key, str(in.Marker), int(deref(in.PageSize)), 0, 400)
		if err != nil {
			return nil, badMarker()
		}
	} else {
		pg = found
	}
	out := &api.DescribeRulesOutput{Rules: []api.Rule{}}
	for _, r := range pg {
		out.Rules = append(out.Rules, ruleOut(r))
	}
	if next != "" {
		out.NextMarker = ptr(next)
	}
	return out, nil
}

// DeleteRule deletes a rule; the default rule cannot be deleted.
func (s *Service) DeleteRule(ctx context.Context, in *api.DeleteRuleInput) (*api.DeleteRuleOutput, error) {
	sc := scopeOf(ctx)
	s.mu.Lock()
	defer s.mu.Unlock()
	err := s.st.Update(func(tx store.Tx) error {
		r, err := loadRule(tx, sc, str(in.RuleArn))
		if err != nil {
			return err
		}
		if r.Priority == 0 {
			return notPermitted("Default rule '%s' cannot be deleted", r.ARN)
		}
		if err := deleteTags(tx, sc, r.ARN); err != nil {
			return err
		}
		return tx.Delete(bucketRules, sc.Key(r.ARN))
	})
	if err != nil {
		return nil, err
	}
	s.syncScopeLocked(ctx, sc)
	return &api.DeleteRuleOutput{}, nil
}

// SetRulePriorities changes the priorities of rules at once: the new
// priorities may swap among the rules named, but may not clash with each
// other or with another rule of the same listener.
func (s *Service) SetRulePriorities(ctx context.Context, in *api.SetRulePrioritiesInput) (*api.SetRulePrioritiesOutput, error) {
	sc := scopeOf(ctx)
	var changed []ruleRecord
	s.mu.Lock()
	defer s.mu.Unlock()
	err := s.st.Update(func(tx store.Tx) error {
		newPrio := map[string]int{}
		byListener := map[string]map[int]string{}
		for _, p := range in.RulePriorities {
			r, err := loadRule(tx, sc, str(p.RuleArn))
			if err != nil {
				return err
			}
			if r.Priority == 0 {
				return notPermitted("The priority of the default rule '%s' cannot be modified", r.ARN)
			}
			prio := int(deref(p.Priority))
			if prio < 1 || prio > 50000 {
				return validation("The rule priority must be between 1 and 50000")
			}
			if _, dup := newPrio[r.ARN]; dup {
				return validation("Rule '%s' is given more than once", r.ARN)
			}
			newPrio[r.ARN] = prio
			changed = append(changed, r)
			if byListener[r.Listener] == nil {
				byListener[r.Listener] = map[int]string{}
			}
		}
		for listener, taken := range byListener {
			rules, err := rulesOf(tx, sc, listener)
			if err != nil {
				return err
			}
			for _, r := range rules {
				prio, moving := newPrio[r.ARN]
				if !moving {
					prio = r.Priority
				}
				if other, clash := taken[prio]; clash && other != r.ARN {
					return priorityInUse(prio)
				}
				taken[prio] = r.ARN
			}
		}
		for i := range changed {
			changed[i].Priority = newPrio[changed[i].ARN]
			if err := tx.Put(bucketRules, sc.Key(changed[i].ARN), changed[i]); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	s.syncScopeLocked(ctx, sc)
	out := &api.SetRulePrioritiesOutput{Rules: []api.Rule{}}
	for _, r := range changed {
		out.Rules = append(out.Rules, ruleOut(r))
	}
	return out, nil
}
