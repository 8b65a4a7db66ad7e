package elbv2

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"

	api "github.com/nephele-dev/nephele/internal/api/elbv2"
	"github.com/nephele-dev/nephele/internal/page"
	"github.com/nephele-dev/nephele/internal/store"
)

// maxTargetGroups is the default quota of target groups per region.
const maxTargetGroups = 3000

// isALBProtocol reports whether a target group or listener protocol is an
// Application Load Balancer's.
func isALBProtocol(p string) bool { return p == "HTTP" || p == "HTTPS" }

// nlbProtocols are the Network Load Balancer protocols nephele serves.
var nlbProtocols = []string{"TCP", "TLS", "UDP", "TCP_UDP"}

// hcDefaults are a new target group's health check settings, as
// CreateTargetGroup documents them per protocol and target type: ALB
// (HTTP/HTTPS) groups check HTTP(S) on the traffic port every 30 s with a
// 5 s timeout, 5 successes to become healthy and 2 failures to become
// unhealthy, expecting 200; NLB groups check TCP with a 10 s timeout (6 s
// for an HTTP check, which expects 200-399); Lambda groups do not check
// unless enabled, every 35 s with a 30 s timeout, 5 failures to become
// unhealthy.
func hcDefaults(protocol, version, targetType, hcProtocol string) healthCheck {
	if targetType == "lambda" {
		return healthCheck{Path: "/", Interval: 35, Timeout: 30, Healthy: 5, Unhealthy: 5, HTTPCode: "200"}
	}
	hc := healthCheck{Enabled: true, Port: "traffic-port", Interval: 30, Healthy: 5, Unhealthy: 2}
	if isALBProtocol(protocol) {
		hc.Protocol = protocol
		if hcProtocol != "" {
			hc.Protocol = hcProtocol
		}
		hc.Path, hc.Timeout, hc.HTTPCode = "/", 5, "200"
		if version == "GRPC" {
			hc.Path, hc.HTTPCode, hc.GrpcCode = "/AWS.ALB/healthcheck", "", "12"
		}
		return hc
	}
	hc.Protocol, hc.Timeout = "TCP", 10
	if hcProtocol != "" {
		hc.Protocol = hcProtocol
	}
	if hc.Protocol == "HTTP" || hc.Protocol == "HTTPS" {
		hc.Path, hc.HTTPCode = "/", "200-399"
		if hc.Protocol == "HTTP" {
			hc.Timeout = 6
		}
	}
	return hc
}

// hcChange is the health check part of CreateTargetGroup and
// ModifyTargetGroup.
type hcChange struct {
	Enabled                               *bool
	Protocol, Port, Path                  *string
	Interval, Timeout, Healthy, Unhealthy *int32
	Matcher                               *api.Matcher
}

// matcherCodes is the shape of a Matcher: codes, lists and ranges.
var matcherCodes = regexp.MustCompile(`^\d+(-\d+)?(,\d+(-\d+)?)*$`)

// applyHC applies changes to hc and checks the result against the rules
// of the target group's protocol.
func applyHC(hc healthCheck, tg tgRecord, c hcChange) (healthCheck, error) {
	if c.Enabled != nil {
		if !*c.Enabled && tg.TargetType != "lambda" {
			return hc, validation("Health checks cannot be disabled for target groups with target type '%s'", tg.TargetType)
		}
		hc.Enabled = *c.Enabled
	}
	if c.Protocol != nil {
		p := *c.Protocol
		switch {
		case p != "HTTP" && p != "HTTPS" && p != "TCP":
			return hc, validation("Health check protocol '%s' is not supported", p)
		case p == "TCP" && (isALBProtocol(tg.Protocol) || tg.TargetType == "lambda"):
			return hc, validation("Health check protocol '%s' is not supported for target groups with the protocol '%s'", p, tg.Protocol)
		}
		if p != hc.Protocol && !isALBProtocol(tg.Protocol) && tg.TargetType != "lambda" {
			// An NLB group switching between TCP and HTTP(S) checks takes
			// that protocol's defaults for what it does not set.
			d := hcDefaults(tg.Protocol, tg.ProtocolVersion, tg.TargetType, p)
			hc.Path, hc.HTTPCode, hc.Timeout = d.Path, d.HTTPCode, d.Timeout
		}
		hc.Protocol = p
	}
	if c.Port != nil {
		p := *c.Port
		if p != "traffic-port" {
			var n int
			if _, err := fmt.Sscanf(p, "%d", &n); err != nil || fmt.Sprint(n) != p || n < 1 || n > 65535 {
				return hc, validation("Health check port '%s' must be 'traffic-port' or a port from 1 to 65535", p)
			}
		}
		hc.Port = p
	}
	tcp := hc.Protocol == "TCP"
	if c.Path != nil {
		if tcp {
			return hc, validation("Health check path cannot be set with the TCP health check protocol")
		}
		if !strings.HasPrefix(*c.Path, "/") {
			return hc, validation("Health check path must begin with a '/' character")
		}
		hc.Path = *c.Path
	}
	if c.Matcher != nil {
		if tcp {
			return hc, validation("Health check matcher cannot be set with the TCP health check protocol")
		}
		if code := str(c.Matcher.HttpCode); code != "" {
			if !matcherCodes.MatchString(code) || !codesWithin(code, 200, 499+boolInt(!isALBProtocol(tg.Protocol))*100) {
				return hc, validation("Health check matcher HTTP code '%s' must be within '200-%d'", code, 499+boolInt(!isALBProtocol(tg.Protocol))*100)
			}
			hc.HTTPCode, hc.GrpcCode = code, ""
		}
		if code := str(c.Matcher.GrpcCode); code != "" {
			if !matcherCodes.MatchString(code) || !codesWithin(code, 0, 99) {
				return hc, validation("Health check matcher gRPC code '%s' must be within '0-99'", code)
			}
			hc.GrpcCode, hc.HTTPCode = code, ""
		}
	}
	for _, x := range []struct {
		v   *int32
		dst *int32
	}{{c.Interval, &hc.Interval}, {c.Timeout, &hc.Timeout}, {c.Healthy, &hc.Healthy}, {c.Unhealthy, &hc.Unhealthy}} {
		if x.v != nil {
			*x.dst = *x.v
		}
	}
	if hc.Timeout >= hc.Interval {
		return hc, validation("Health check interval must be greater than the timeout.")
	}
	if tcp {
		hc.Path, hc.HTTPCode, hc.GrpcCode = "", "", ""
	}
	return hc, nil
}

func boolInt(b bool) int32 {
	if b {
		return 1
	}
	return 0
}

// codesWithin checks every code of a matcher lies in [lo, hi].
func codesWithin(m string, lo, hi int32) bool {
	for _, part := range strings.Split(m, ",") {
		for _, c := range strings.Split(part, "-") {
			var n int32
			fmt.Sscanf(c, "%d", &n)
			if n < lo || n > hi {
				return false
			}
		}
	}
	return true
}

// checkTGName applies CreateTargetGroup's rules for Name.
func checkTGName(name string) error {
	switch {
	case len(name) > 32:
		return validation("Target group name '%s' cannot be longer than '32' characters", name)
	case strings.HasPrefix(name, "-") || strings.HasSuffix(name, "-"):
		return validation("Target group name '%s' cannot begin or end with '-'", name)
	case !elbName.MatchString(name):
		return validation("Target group name '%s' can only contain characters that are alphanumeric characters or hyphens(-)", name)
	}
	return nil
}

// CreateTargetGroup creates a target group of instance, ip, lambda or alb
// targets. The same name with the same settings returns the existing
// group; with other settings it is DuplicateTargetGroupName.
func (s *Service) CreateTargetGroup(ctx context.Context, in *api.CreateTargetGroupInput) (*api.CreateTargetGroupOutput, error) {
	sc := scopeOf(ctx)
	name := str(in.Name)
	if err := checkTGName(name); err != nil {
		return nil, err
	}
	tg := tgRecord{Name: name, TargetType: deref(in.TargetType), Protocol: str(in.Protocol), Port: deref(in.Port),
		VpcID: str(in.VpcId), ProtocolVersion: str(in.ProtocolVersion), Created: s.now()}
	if tg.TargetType == "" {
		tg.TargetType = "instance"
	}
	if tg.TargetType == "lambda" {
		switch {
		case in.Protocol != nil:
			return nil, validation("Protocol cannot be specified for target groups with target type 'lambda'")
		case in.Port != nil:
			return nil, validation("Port cannot be specified for target groups with target type 'lambda'")
		case in.VpcId != nil:
			return nil, validation("VPC ID cannot be specified for target groups with target type 'lambda'")
		}
	} else {
		switch {
		case tg.Protocol == "":
			return nil, validation("A protocol must be specified")
		case in.Port == nil:
			return nil, validation("A port must be specified")
		case tg.VpcID == "":
			return nil, validation("A VPC ID must be specified")
		case tg.Protocol == "GENEVE" || tg.Protocol == "QUIC" || tg.Protocol == "TCP_QUIC":
			return nil, validation("Target group protocol '%s' is not supported by nephele", tg.Protocol)
		case tg.TargetType == "alb" && tg.Protocol != "TCP":
			return nil, validation("Target groups with target type 'alb' must use the TCP protocol")
		}
		tg.IPAddressType = deref(in.IpAddressType)
		if tg.IPAddressType == "" {
			tg.IPAddressType = "ipv4"
		}
	}
	if isALBProtocol(tg.Protocol) {
		if tg.ProtocolVersion == "" {
			tg.ProtocolVersion = "HTTP1"
		}
	} else if tg.ProtocolVersion != "" {
		return nil, validation("Protocol version can only be specified for target groups with the HTTP or HTTPS protocol")
	}
	tg.HealthCheck = hcDefaults(tg.Protocol, tg.ProtocolVersion, tg.TargetType, str(in.HealthCheckProtocol))
	hc, err := applyHC(tg.HealthCheck, tg, hcChange{
		Enabled: in.HealthCheckEnabled, Protocol: in.HealthCheckProtocol, Port: in.HealthCheckPort, Path: in.HealthCheckPath,
		Interval: in.HealthCheckIntervalSeconds, Timeout: in.HealthCheckTimeoutSeconds,
		Healthy: in.HealthyThresholdCount, Unhealthy: in.UnhealthyThresholdCount, Matcher: in.Matcher,
	})
	if err != nil {
		return nil, err
	}
	tg.HealthCheck = hc
	if tg.VpcID != "" {
		_, ok, err := s.vpcCIDR(ctx, tg.VpcID)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, validation("The VPC ID '%s' is not found", tg.VpcID)
		}
	}
	if err := checkTags(in.Tags, 0); err != nil {
		return nil, err
	}
	tg.ARN = fmt.Sprintf("arn:aws:elasticloadbalancing:%s:%s:targetgroup/%s/%s", sc.Region, sc.Account, name, newID())
	var used []string
	err = s.st.Update(func(tx store.Tx) error {
		var old tgRecord
		err := tx.Get(bucketTargetGroups, sc.Key(name), &old)
		if err == nil {
			if old.Protocol == tg.Protocol && old.Port == tg.Port && old.VpcID == tg.VpcID && old.TargetType == tg.TargetType &&
				old.ProtocolVersion == tg.ProtocolVersion && old.HealthCheck == tg.HealthCheck {
				tg = old
				u, err := usage(tx, sc)
				used = u[tg.ARN]
				return err
			}
			return apiErr("DuplicateTargetGroupName", "A target group with the same name '%s' exists, but with different settings", name)
		}
		if !errors.Is(err, store.ErrNotFound) {
			return err
		}
		n := 0
		if err := tx.ForEach(bucketTargetGroups, sc.Prefix(), func(string, func(any) error) error { n++; return nil }); err != nil {
			return err
		}
		if n >= maxTargetGroups {
			return apiErr("TooManyTargetGroups", "The maximum number of target groups '%d' has been reached", maxTargetGroups)
		}
		if err := putTags(tx, sc, tg.ARN, nil, in.Tags); err != nil {
			return err
		}
		return tx.Put(bucketTargetGroups, sc.Key(name), tg)
	})
	if err != nil {
		return nil, err
	}
	s.syncScope(ctx, sc)
	return &api.CreateTargetGroupOutput{TargetGroups: []api.TargetGroup{tgOut(tg, used)}}, nil
}

// tgOut renders a target group as the API shows it.
func tgOut(tg tgRecord, lbs []string) api.TargetGroup {
	hc := tg.HealthCheck
	out := api.TargetGroup{
		TargetGroupArn: ptr(tg.ARN), TargetGroupName: ptr(tg.Name), TargetType: ptr(tg.TargetType),
		HealthCheckEnabled: ptr(hc.Enabled), HealthCheckIntervalSeconds: ptr(hc.Interval),
		HealthCheckTimeoutSeconds: ptr(hc.Timeout), HealthyThresholdCount: ptr(hc.Healthy),
		UnhealthyThresholdCount: ptr(hc.Unhealthy), LoadBalancerArns: slices.Clone(lbs),
	}
	if out.LoadBalancerArns == nil {
		out.LoadBalancerArns = []string{}
	}
	if tg.Protocol != "" {
		out.Protocol, out.Port, out.VpcId = ptr(tg.Protocol), ptr(tg.Port), ptr(tg.VpcID)
		out.IpAddressType = ptr(tg.IPAddressType)
	}
	if tg.ProtocolVersion != "" {
		out.ProtocolVersion = ptr(tg.ProtocolVersion)
	}
	if hc.Protocol != "" {
		out.HealthCheckProtocol = ptr(hc.Protocol)
	}
	if hc.Port != "" {
		out.HealthCheckPort = ptr(hc.Port)
	}
	if hc.Path != "" {
		out.HealthCheckPath = ptr(hc.Path)
	}
	if hc.HTTPCode != "" || hc.GrpcCode != "" {
		out.Matcher = &api.Matcher{}
		if hc.HTTPCode != "" {
			out.Matcher.HttpCode = ptr(hc.HTTPCode)
		}
		if hc.GrpcCode != "" {
			out.Matcher.GrpcCode = ptr(hc.GrpcCode)
		}
	}
	return out
}

// ModifyTargetGroup changes a target group's health check settings.
func (s *Service) ModifyTargetGroup(ctx context.Context, in *api.ModifyTargetGroupInput) (*api.ModifyTargetGroupOutput, error) {
	sc := scopeOf(ctx)
	var tg tgRecord
	var used []string
	err := s.st.Update(func(tx store.Tx) error {
		var err error
		if tg, err = loadTG(tx, sc, str(in.TargetGroupArn)); err != nil {
			return err
		}
		if tg.HealthCheck, err = applyHC(tg.HealthCheck, tg, hcChange{
			Enabled: in.HealthCheckEnabled, Protocol: in.HealthCheckProtocol, Port: in.HealthCheckPort, Path: in.HealthCheckPath,
			Interval: in.HealthCheckIntervalSeconds, Timeout: in.HealthCheckTimeoutSeconds,
			Healthy: in.HealthyThresholdCount, Unhealthy: in.UnhealthyThresholdCount, Matcher: in.Matcher,
		}); err != nil {
			return err
		}
		u, err := usage(tx, sc)
		if err != nil {
			return err
		}
		used = u[tg.ARN]
		return tx.Put(bucketTargetGroups, sc.Key(tg.Name), tg)
	})
	if err != nil {
		return nil, err
	}
	s.syncScope(ctx, sc)
	return &api.ModifyTargetGroupOutput{TargetGroups: []api.TargetGroup{tgOut(tg, used)}}, nil
}

// DescribeTargetGroups lists target groups: all of the region, those
// named, or those a load balancer's listeners and rules use.
func (s *Service) DescribeTargetGroups(ctx context.Context, in *api.DescribeTargetGroupsInput) (*api.DescribeTargetGroupsOutput, error) {
	sc := scopeOf(ctx)
	var found []tgRecord
	var used map[string][]string
	err := s.st.View(func(tx store.Tx) error {
		var err error
		if used, err = usage(tx, sc); err != nil {
			return err
		}
		switch {
		case len(in.TargetGroupArns) > 0:
			for _, arn := range in.TargetGroupArns {
				tg, err := loadTG(tx, sc, arn)
				if err != nil {
					return err
				}
				found = append(found, tg)
			}
		case len(in.Names) > 0:
			for _, n := range in.Names {
				var tg tgRecord
				err := tx.Get(bucketTargetGroups, sc.Key(n), &tg)
				if errors.Is(err, store.ErrNotFound) {
					return apiErr("TargetGroupNotFound", "One or more target groups not found")
				}
				if err != nil {
					return err
				}
				found = append(found, tg)
			}
		default:
			all, err := allOf[tgRecord](tx, bucketTargetGroups, sc.Prefix())
			if err != nil {
				return err
			}
			if lbARN := str(in.LoadBalancerArn); lbARN != "" {
				if _, err := loadLB(tx, sc, lbARN); err != nil {
					return err
				}
				for _, tg := range all {
					if slices.Contains(used[tg.ARN], lbARN) {
						found = append(found, tg)
					}
				}
			} else {
				found = all
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	found = slices.CompactFunc(found, func(a, b tgRecord) bool { return a.ARN == b.ARN })
	pg, next, err := page.ByKey(found, func(t tgRecord) string { return t.Name }, str(in.Marker), int(deref(in.PageSize)), 0, 400)
	if err != nil {
		return nil, badMarker()
	}
	out := &api.DescribeTargetGroupsOutput{TargetGroups: []api.TargetGroup{}}
	for _, tg := range pg {
		out.TargetGroups = append(out.TargetGroups, tgOut(tg, used[tg.ARN]))
	}
	if next != "" {
		out.NextMarker = ptr(next)
	}
	return out, nil
}

// DeleteTargetGroup deletes a target group no listener or rule forwards
// to; deleting one that does not exist succeeds.
func (s *Service) DeleteTargetGroup(ctx context.Context, in *api.DeleteTargetGroupInput) (*api.DeleteTargetGroupOutput, error) {
	sc := scopeOf(ctx)
	arn := str(in.TargetGroupArn)
	err := s.st.Update(func(tx store.Tx) error {
		tg, err := loadTG(tx, sc, arn)
		if err != nil {
			if awsCode(err) == "TargetGroupNotFound" {
				return nil
			}
			return err
		}
		u, err := usage(tx, sc)
		if err != nil {
			return err
		}
		if len(u[arn]) > 0 {
			return inUse("Target group '%s' is currently in use by a listener or a rule", arn)
		}
		if err := deleteTags(tx, sc, arn); err != nil {
			return err
		}
		return tx.Delete(bucketTargetGroups, sc.Key(tg.Name))
	})
	if err != nil {
		return nil, err
	}
	s.syncScope(ctx, sc)
	return &api.DeleteTargetGroupOutput{}, nil
}

// DescribeTargetGroupAttributes lists a target group's attributes, the
// defaults for its protocol and target type with what was modified.
func (s *Service) DescribeTargetGroupAttributes(ctx context.Context, in *api.DescribeTargetGroupAttributesInput) (*api.DescribeTargetGroupAttributesOutput, error) {
	sc := scopeOf(ctx)
	var tg tgRecord
	err := s.st.View(func(tx store.Tx) (err error) {
		tg, err = loadTG(tx, sc, str(in.TargetGroupArn))
		return err
	})
	if err != nil {
		return nil, err
	}
	return &api.DescribeTargetGroupAttributesOutput{
		Attributes: attrList(merged(tgDefaults(tg.Protocol, tg.TargetType), tg.Attributes), tgAttr),
	}, nil
}

// ModifyTargetGroupAttributes changes attributes (deregistration delay,
// stickiness, algorithm, slow start...), which reach the data plane at
// once.
func (s *Service) ModifyTargetGroupAttributes(ctx context.Context, in *api.ModifyTargetGroupAttributesInput) (*api.ModifyTargetGroupAttributesOutput, error) {
	sc := scopeOf(ctx)
	changes := map[string]string{}
	for _, a := range in.Attributes {
		changes[str(a.Key)] = str(a.Value)
	}
	var tg tgRecord
	err := s.st.Update(func(tx store.Tx) error {
		var err error
		if tg, err = loadTG(tx, sc, str(in.TargetGroupArn)); err != nil {
			return err
		}
		defaults := tgDefaults(tg.Protocol, tg.TargetType)
		if tg.Attributes, err = applyAttrs(defaults, tg.Attributes, changes); err != nil {
			return err
		}
		a := merged(defaults, tg.Attributes)
		if t, ok := changes["stickiness.type"]; ok {
			alb := isALBProtocol(tg.Protocol)
			if (alb && t != "lb_cookie" && t != "app_cookie") || (!alb && t != "source_ip") {
				return invalidConfig("Stickiness type '%s' is not supported for target groups with the %s protocol", t, tg.Protocol)
			}
		}
		if a["stickiness.enabled"] == "true" && a["stickiness.type"] == "app_cookie" {
			name := a["stickiness.app_cookie.cookie_name"]
			if name == "" {
				return validation("The cookie name must be specified when the stickiness type is 'app_cookie'")
			}
			for _, p := range []string{"AWSALB", "AWSALBAPP", "AWSALBTG"} {
				if strings.HasPrefix(name, p) {
					return validation("The cookie name '%s' cannot start with the reserved prefix '%s'", name, p)
				}
			}
		}
		if a["load_balancing.algorithm.anomaly_mitigation"] == "on" && a["load_balancing.algorithm.type"] != "weighted_random" {
			return invalidConfig("Anomaly mitigation is only available with the weighted_random load balancing algorithm")
		}
		return tx.Put(bucketTargetGroups, sc.Key(tg.Name), tg)
	})
	if err != nil {
		return nil, err
	}
	s.syncScope(ctx, sc)
	return &api.ModifyTargetGroupAttributesOutput{
		Attributes: attrList(merged(tgDefaults(tg.Protocol, tg.TargetType), tg.Attributes), tgAttr),
	}, nil
}
