package elbv2

import (
	"net/netip"
	"regexp"
	"slices"
	"strconv"
	"strings"

	api "github.com/nephele-dev/nephele/internal/api/elbv2"
	"github.com/nephele-dev/nephele/internal/store"
)

// Limits on rules and actions (DescribeAccountLimits and the ALB user
// guide's quotas).
const (
	maxGroupsPerForward   = 5   // target-groups-per-action-on-application-load-balancer
	maxConditionValues    = 5   // condition-values-per-alb-rule
	maxRulesPerLB         = 100 // rules-per-application-load-balancer
	maxListenersPerLB     = 50  // listeners-per-*-load-balancer
	maxCertsPerListener   = 25
	maxStickinessDuration = 604800
)

// compatible reports whether a listener of protocol on a load balancer of
// lbType may forward to tg.
func compatible(lbType, protocol string, tg tgRecord) bool {
	if lbType == "application" {
		return tg.TargetType == "lambda" || (isALBProtocol(tg.Protocol) && tg.TargetType != "alb")
	}
	switch protocol {
	case "TCP":
		return tg.Protocol == "TCP" || tg.Protocol == "TCP_UDP"
	case "TLS":
		return tg.Protocol == "TCP" || tg.Protocol == "TLS"
	case "UDP":
		return tg.Protocol == "UDP" || tg.Protocol == "TCP_UDP"
	case "TCP_UDP":
		return tg.Protocol == "TCP_UDP"
	}
	return false
}

// normalizeActions checks the actions of a listener's default rule or of
// a rule and returns them as AWS describes them afterwards: in order, each
// with its Order, a forward with its ForwardConfig (weights, group
// stickiness) and, for one target group, its TargetGroupArn, a redirect
// with every part filled in.
func normalizeActions(tx store.Tx, sc scope, lb lbRecord, protocol string, in []api.Action) ([]api.Action, error) {
	if len(in) == 0 {
		return nil, validation("At least one action must be specified")
	}
	actions := slices.Clone(in)
	next := int32(1)
	for i := range actions {
		if actions[i].Order == nil {
			actions[i].Order = ptr(next)
		}
		next = max(next, *actions[i].Order) + 1
	}
	slices.SortStableFunc(actions, func(a, b api.Action) int { return int(*a.Order - *b.Order) })
	for i := 1; i < len(actions); i++ {
		if *actions[i].Order == *actions[i-1].Order {
			return nil, validation("The action orders must be unique; '%d' is given twice", *actions[i].Order)
		}
	}
	used, err := usage(tx, sc)
	if err != nil {
		return nil, err
	}
	for i := range actions {
		a := &actions[i]
		t := str(a.Type)
		terminal := t == "forward" || t == "redirect" || t == "fixed-response"
		if !terminal {
			if strings.HasPrefix(t, "authenticate-") || t == "jwt-validation" {
				return nil, invalidAction("The action type '%s' is not supported by nephele", t)
			}
			return nil, validation("The action type '%s' is not valid", t)
		}
		if i != len(actions)-1 {
			return nil, invalidAction("Only the last action can be a forward, redirect or fixed-response action")
		}
		if lb.Type == "network" && t != "forward" {
			return nil, invalidAction("The action type '%s' is not supported for Network Load Balancer listeners", t)
		}
		switch t {
		case "forward":
			if err := normalizeForward(tx, sc, lb, protocol, a, used); err != nil {
				return nil, err
			}
		case "redirect":
			r := a.RedirectConfig
			if r == nil {
				return nil, validation("A redirect configuration must be specified for an action of type 'redirect'")
			}
			fill := func(p **string, def string) {
				if *p == nil || **p == "" {
					*p = ptr(def)
				}
			}
			fill(&r.Protocol, "#{protocol}")
			fill(&r.Port, "#{port}")
			fill(&r.Host, "#{host}")
			fill(&r.Path, "/#{path}")
			fill(&r.Query, "#{query}")
			if *r.Protocol == "#{protocol}" && *r.Port == "#{port}" && *r.Host == "#{host}" && *r.Path == "/#{path}" && *r.Query == "#{query}" {
				return nil, invalidAction("The redirect configuration is not valid because it creates a loop.")
			}
			if p := *r.Protocol; p != "#{protocol}" && p != "HTTP" && p != "HTTPS" {
				return nil, validation("Redirect protocol '%s' must be one of 'HTTP, HTTPS, #{protocol}'", p)
			}
			if !strings.HasPrefix(*r.Path, "/") {
				return nil, validation("The redirect path must begin with a '/' character")
			}
			a.TargetGroupArn, a.ForwardConfig, a.FixedResponseConfig = nil, nil, nil
		case "fixed-response":
			f := a.FixedResponseConfig
			if f == nil || f.StatusCode == nil {
				return nil, validation("A fixed-response configuration with a status code must be specified for an action of type 'fixed-response'")
			}
			a.TargetGroupArn, a.ForwardConfig, a.RedirectConfig = nil, nil, nil
		}
	}
	return actions, nil
}

// normalizeForward checks a forward action's target groups.
func normalizeForward(tx store.Tx, sc scope, lb lbRecord, protocol string, a *api.Action, used map[string][]string) error {
	fc := a.ForwardConfig
	if fc == nil || len(fc.TargetGroups) == 0 {
		if a.TargetGroupArn == nil {
			return validation("A target group ARN must be specified for an action of type 'forward'")
		}
		keep := (*api.TargetGroupStickinessConfig)(nil)
		if fc != nil {
			keep = fc.TargetGroupStickinessConfig
		}
		fc = &api.ForwardActionConfig{TargetGroups: []api.TargetGroupTuple{{TargetGroupArn: a.TargetGroupArn}}, TargetGroupStickinessConfig: keep}
	} else if a.TargetGroupArn != nil && (len(fc.TargetGroups) != 1 || str(fc.TargetGroups[0].TargetGroupArn) != *a.TargetGroupArn) {
		return validation("You cannot specify both a target group ARN and a forward configuration with other target groups")
	}
	fc = &api.ForwardActionConfig{TargetGroups: slices.Clone(fc.TargetGroups), TargetGroupStickinessConfig: fc.TargetGroupStickinessConfig}
	if len(fc.TargetGroups) > maxGroupsPerForward || (lb.Type == "network" && len(fc.TargetGroups) > 1) {
		n := maxGroupsPerForward
		if lb.Type == "network" {
			n = 1
		}
		return validation("A forward action can have at most '%d' target groups", n)
	}
	for i := range fc.TargetGroups {
		g := &fc.TargetGroups[i]
		arn := str(g.TargetGroupArn)
		for _, o := range fc.TargetGroups[:i] {
			if str(o.TargetGroupArn) == arn {
				return validation("Target group '%s' is given more than once", arn)
			}
		}
		tg, err := loadTG(tx, sc, arn)
		if err != nil {
			if awsCode(err) == "TargetGroupNotFound" {
				return tgARNsNotFound(arn)
			}
			return err
		}
		if !compatible(lb.Type, protocol, tg) {
			return incompatible("The protocol of the target group '%s' (%s) is not compatible with the listener protocol '%s' of a load balancer of type '%s'", arn, tgProtocolName(tg), protocol, lb.Type)
		}
		if tg.VpcID != "" && tg.VpcID != lb.VpcID {
			return invalidConfig("The VPC of the target group '%s' does not match the VPC of the load balancer '%s'", arn, lb.ARN)
		}
		for _, other := range used[arn] {
			if other != lb.ARN {
				return apiErr("TargetGroupAssociationLimit", "The following target groups cannot be associated with more than one load balancer: '%s'", arn)
			}
		}
		if g.Weight == nil {
			g.Weight = ptr(int32(1))
		}
	}
	st := fc.TargetGroupStickinessConfig
	if st == nil {
		st = &api.TargetGroupStickinessConfig{Enabled: ptr(false)}
	}
	st = &api.TargetGroupStickinessConfig{Enabled: ptr(deref(st.Enabled)), DurationSeconds: st.DurationSeconds}
	if *st.Enabled {
		if d := deref(st.DurationSeconds); d < 1 || d > maxStickinessDuration {
			return validation("The target group stickiness duration must be between 1 and %d seconds", maxStickinessDuration)
		}
	} else {
		st.DurationSeconds = nil
	}
	fc.TargetGroupStickinessConfig = st
	a.ForwardConfig, a.RedirectConfig, a.FixedResponseConfig = fc, nil, nil
	a.TargetGroupArn = nil
	if len(fc.TargetGroups) == 1 {
		a.TargetGroupArn = fc.TargetGroups[0].TargetGroupArn
	}
	return nil
}

func tgProtocolName(tg tgRecord) string {
	if tg.TargetType == "lambda" {
		return "lambda"
	}
	return tg.Protocol
}

// httpMethod is the shape of an http-request-method value.
var httpMethod = regexp.MustCompile(`^[A-Z_-]+$`)

// oncePerRule are the condition fields a rule may have at most once.
var oncePerRule = []string{"host-header", "path-pattern", "http-request-method", "source-ip"}

// normalizeConditions checks a rule's conditions and returns them as AWS
// describes them: host-header and path-pattern with both Values and their
// config, the other fields with their config.
func normalizeConditions(in []api.RuleCondition) ([]api.RuleCondition, error) {
	if len(in) == 0 {
		return nil, validation("A rule must have at least one condition")
	}
	out := make([]api.RuleCondition, 0, len(in))
	seen := map[string]bool{}
	count := 0
	for _, c := range in {
		f := str(c.Field)
		if slices.Contains(oncePerRule, f) {
			if seen[f] {
				return nil, validation("A rule can only have one '%s' condition", f)
			}
			seen[f] = true
		}
		if len(c.RegexValues) > 0 {
			return nil, validation("Regular expression conditions are not supported by nephele")
		}
		n := api.RuleCondition{Field: ptr(f)}
		switch f {
		case "host-header", "path-pattern":
			vals := c.Values
			var cfg []string
			if f == "host-header" && c.HostHeaderConfig != nil {
				if len(c.HostHeaderConfig.RegexValues) > 0 {
					return nil, validation("Regular expression conditions are not supported by nephele")
				}
				cfg = c.HostHeaderConfig.Values
			}
			if f == "path-pattern" && c.PathPatternConfig != nil {
				if len(c.PathPatternConfig.RegexValues) > 0 {
					return nil, validation("Regular expression conditions are not supported by nephele")
				}
				cfg = c.PathPatternConfig.Values
			}
			if len(vals) > 0 && len(cfg) > 0 && !slices.Equal(vals, cfg) {
				return nil, validation("You cannot specify both 'Values' and a '%s' configuration with other values", f)
			}
			if len(vals) == 0 {
				vals = cfg
			}
			if len(vals) == 0 {
				return nil, validation("A '%s' condition must have at least one value", f)
			}
			for _, v := range vals {
				if len(v) > 128 {
					return nil, validation("The condition value '%s' cannot be longer than 128 characters", v)
				}
			}
			count += len(vals)
			n.Values = slices.Clone(vals)
			if f == "host-header" {
				n.HostHeaderConfig = &api.HostHeaderConditionConfig{Values: slices.Clone(vals)}
			} else {
				n.PathPatternConfig = &api.PathPatternConditionConfig{Values: slices.Clone(vals)}
			}
		case "http-header":
			h := c.HttpHeaderConfig
			if h == nil || str(h.HttpHeaderName) == "" || len(h.Values) == 0 {
				return nil, validation("An 'http-header' condition must have a header name and at least one value")
			}
			count += len(h.Values)
			n.HttpHeaderConfig = &api.HttpHeaderConditionConfig{HttpHeaderName: h.HttpHeaderName, Values: slices.Clone(h.Values)}
		case "http-request-method":
			m := c.HttpRequestMethodConfig
			if m == nil || len(m.Values) == 0 {
				return nil, validation("An 'http-request-method' condition must have at least one value")
			}
			for _, v := range m.Values {
				if !httpMethod.MatchString(v) {
					return nil, validation("The HTTP request method '%s' is not valid", v)
				}
			}
			count += len(m.Values)
			n.HttpRequestMethodConfig = &api.HttpRequestMethodConditionConfig{Values: slices.Clone(m.Values)}
		case "query-string":
			q := c.QueryStringConfig
			if q == nil || len(q.Values) == 0 {
				return nil, validation("A 'query-string' condition must have at least one key/value pair")
			}
			for _, kv := range q.Values {
				if str(kv.Value) == "" {
					return nil, validation("A 'query-string' key/value pair must have a value")
				}
			}
			count += len(q.Values)
			n.QueryStringConfig = &api.QueryStringConditionConfig{Values: slices.Clone(q.Values)}
		case "source-ip":
			s := c.SourceIpConfig
			if s == nil || len(s.Values) == 0 {
				return nil, validation("A 'source-ip' condition must have at least one value")
			}
			for _, v := range s.Values {
				if _, err := netip.ParsePrefix(v); err != nil {
					return nil, validation("The source IP '%s' is not a valid CIDR block", v)
				}
			}
			count += len(s.Values)
			n.SourceIpConfig = &api.SourceIpConditionConfig{Values: slices.Clone(s.Values)}
		default:
			return nil, validation("The condition field '%s' is not valid", f)
		}
		out = append(out, n)
	}
	if count > maxConditionValues {
		return nil, validation("A rule can only have '%d' condition values", maxConditionValues)
	}
	return out, nil
}

// fixedStatus is a fixed response's status code as a number.
func fixedStatus(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}
