package elbv2

import (
	"context"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	api "github.com/nephele-dev/nephele/internal/api/elbv2"
	"github.com/nephele-dev/nephele/internal/elbv2/balancer"
	"github.com/nephele-dev/nephele/internal/store"
)

// maxTargets is the most targets one target group takes here: the
// targets-per-application-load-balancer quota.
const maxTargets = 1000

// registrableIPs are the ranges an IP target may be in besides its VPC:
// RFC 1918, RFC 6598, and loopback, where nephele's instances and local
// servers live.
var registrableIPs = []netip.Prefix{
	netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("172.16.0.0/12"),
	netip.MustParsePrefix("192.168.0.0/16"), netip.MustParsePrefix("100.64.0.0/10"),
	netip.MustParsePrefix("127.0.0.0/8"),
}

// quoteList renders IDs as AWS lists them in messages: 'a', 'b'.
func quoteList(ids []string) string {
	q := make([]string, len(ids))
	for i, id := range ids {
		q[i] = "'" + id + "'"
	}
	return strings.Join(q, ", ")
}

// checkTargets validates targets for registration with tg and returns
// them as records, ports and zones filled in.
func (s *Service) checkTargets(ctx context.Context, sc scope, tg tgRecord, targets []api.TargetDescription) ([]targetRecord, error) {
	var out []targetRecord
	switch tg.TargetType {
	case "instance":
		var ids []string
		for _, t := range targets {
			if t.AvailabilityZone != nil {
				return nil, validation("The Availability Zone parameter is not supported for targets of type instance")
			}
			ids = append(ids, str(t.Id))
		}
		info, err := s.instances(ctx, ids)
		if err != nil {
			return nil, err
		}
		var unknown, otherVPC, notRunning []string
		for _, id := range ids {
			i, ok := info[id]
			switch {
			case !ok:
				unknown = append(unknown, id)
			case i.VpcID != tg.VpcID:
				otherVPC = append(otherVPC, id)
			case i.State != "running" && i.State != "pending":
				notRunning = append(notRunning, id)
			}
		}
		switch {
		case len(unknown) > 0:
			return nil, invalidTarget("The following targets are not valid instances: %s", quoteList(unknown))
		case len(otherVPC) > 0:
			return nil, invalidTarget("The following targets are not in the target group's VPC: %s", quoteList(otherVPC))
		case len(notRunning) > 0:
			return nil, invalidTarget("The following targets are not in a running state and cannot be registered: %s", quoteList(notRunning))
		}
		for _, t := range targets {
			out = append(out, targetRecord{ID: str(t.Id), Port: portOr(t.Port, tg.Port)})
		}
	case "ip":
		blocks, _, err := s.vpcCIDR(ctx, tg.VpcID)
		if err != nil {
			return nil, err
		}
		for _, t := range targets {
			id := str(t.Id)
			ip, err := netip.ParseAddr(id)
			if err != nil || !ip.Is4() {
				return nil, validation("The IP address '%s' is not a valid IPv4 address", id)
			}
			inVPC := false
			for _, b := range blocks {
				if b.Contains(ip) || b.Contains(fromLoopback(ip, b)) {
					inVPC = true
				}
			}
			if !inVPC && !slices.ContainsFunc(registrableIPs, func(p netip.Prefix) bool { return p.Contains(ip) }) {
				return nil, invalidTarget("The IP address '%s' is not within the VPC CIDR, RFC 1918 or RFC 6598 ranges", id)
			}
			rec := targetRecord{ID: id, Port: portOr(t.Port, tg.Port)}
			az := str(t.AvailabilityZone)
			if inVPC {
				if az == "" {
					if az, err = s.subnetZone(ctx, tg.VpcID, ip); err != nil {
						return nil, err
					}
				}
			}
			if !inVPC || az == "" {
				if az == "" {
					return nil, validation("An Availability Zone must be specified for the IP address '%s', which is outside the VPC of the target group", id)
				}
				if az != "all" && !strings.HasPrefix(az, sc.Region) {
					return nil, validation("The Availability Zone '%s' is not valid", az)
				}
			}
			rec.AZ = az
			out = append(out, rec)
		}
	case "lambda":
		if len(targets) != 1 {
			return nil, apiErr("TooManyTargets", "You can register only one Lambda function as a target of a target group")
		}
		id := str(targets[0].Id)
		if !strings.HasPrefix(id, "arn:aws:lambda:") {
			return nil, validation("The target '%s' is not a valid Lambda function ARN", id)
		}
		if targets[0].Port != nil {
			return nil, validation("A port cannot be specified for Lambda targets")
		}
		out = append(out, targetRecord{ID: id})
	case "alb":
		for _, t := range targets {
			id := str(t.Id)
			err := s.st.View(func(tx store.Tx) error {
				lb, err := loadLB(tx, sc, id)
				if err == nil && lb.Type != "application" {
					err = invalidTarget("The following targets are not Application Load Balancers: '%s'", id)
				}
				return err
			})
			if err != nil {
				return nil, err
			}
			out = append(out, targetRecord{ID: id, Port: portOr(t.Port, tg.Port)})
		}
	}
	return out, nil
}

func portOr(p *int32, def int32) int32 {
	if p != nil {
		return *p
	}
	return def
}

// RegisterTargets registers targets with a target group. An instance must
// exist, be in the group's VPC and be pending or running; an IP must be in
// the VPC or a private range (loopback included). Registering a target
// again is not an error.
func (s *Service) RegisterTargets(ctx context.Context, in *api.RegisterTargetsInput) (*api.RegisterTargetsOutput, error) {
	sc := scopeOf(ctx)
	var tg tgRecord
	err := s.st.View(func(tx store.Tx) (err error) {
		tg, err = loadTG(tx, sc, str(in.TargetGroupArn))
		return err
	})
	if err != nil {
		return nil, err
	}
	recs, err := s.checkTargets(ctx, sc, tg, in.Targets)
	if err != nil {
		return nil, err
	}
	err = s.st.Update(func(tx store.Tx) error {
		cur, err := loadTG(tx, sc, tg.ARN)
		if err != nil {
			return err
		}
		for _, r := range recs {
			i := slices.IndexFunc(cur.Targets, func(t targetRecord) bool { return t.ID == r.ID && t.Port == r.Port })
			if i >= 0 {
				cur.Targets[i] = r
				continue
			}
			if cur.TargetType == "lambda" && len(cur.Targets) > 0 {
				return apiErr("TooManyTargets", "You can register only one Lambda function as a target of a target group")
			}
			cur.Targets = append(cur.Targets, r)
		}
		if len(cur.Targets) > maxTargets {
			return apiErr("TooManyTargets", "You have reached the maximum number of targets '%d' for the target group", maxTargets)
		}
		return tx.Put(bucketTargetGroups, sc.Key(cur.Name), cur)
	})
	if err != nil {
		return nil, err
	}
	s.syncScope(ctx, sc)
	return &api.RegisterTargetsOutput{}, nil
}

// DeregisterTargets deregisters targets: they drain for the group's
// deregistration delay, then are gone. Targets not registered are
// ignored, as AWS does. A target given without a port is deregistered on
// the group's port, or on every port if it is not registered on that one.
func (s *Service) DeregisterTargets(ctx context.Context, in *api.DeregisterTargetsInput) (*api.DeregisterTargetsOutput, error) {
	sc := scopeOf(ctx)
	err := s.st.Update(func(tx store.Tx) error {
		tg, err := loadTG(tx, sc, str(in.TargetGroupArn))
		if err != nil {
			return err
		}
		for _, t := range in.Targets {
			tg.Targets = removeTarget(tg.Targets, str(t.Id), t.Port, tg.Port)
		}
		return tx.Put(bucketTargetGroups, sc.Key(tg.Name), tg)
	})
	if err != nil {
		return nil, err
	}
	s.syncScope(ctx, sc)
	return &api.DeregisterTargetsOutput{}, nil
}

// removeTarget drops the registrations of id on port (or as
// DeregisterTargets describes when port is nil).
func removeTarget(ts []targetRecord, id string, port *int32, def int32) []targetRecord {
	match := func(t targetRecord) bool { return t.ID == id && t.Port == portOr(port, def) }
	if port == nil && !slices.ContainsFunc(ts, match) {
		match = func(t targetRecord) bool { return t.ID == id }
	}
	return slices.DeleteFunc(ts, match)
}

// reasonDescriptions are AWS's descriptions of target health reason codes,
// for any the data plane leaves without one.
var reasonDescriptions = map[string]string{
	"Elb.RegistrationInProgress":      "Target registration is in progress",
	"Elb.InitialHealthChecking":       "Initial health checks in progress",
	"Elb.InternalError":               "Health checks failed due to an internal error",
	"Target.Timeout":                  "Request timed out",
	"Target.FailedHealthChecks":       "Health checks failed",
	"Target.NotRegistered":            "Target is not registered to the target group",
	"Target.NotInUse":                 "Target group is not configured to receive traffic from the load balancer",
	"Target.DeregistrationInProgress": "Target deregistration is in progress",
	"Target.InvalidState":             "Target is in the stopped state",
	"Target.IpUnusable":               "The target IP address is reserved for use by a load balancer",
	"Target.HealthCheckDisabled":      "Health checks are disabled",
}

// DescribeTargetHealth reports the health of a target group's targets, or
// of those asked about (an unregistered one is unused,
// Target.NotRegistered), from the data plane's health checks.
func (s *Service) DescribeTargetHealth(ctx context.Context, in *api.DescribeTargetHealthInput) (*api.DescribeTargetHealthOutput, error) {
	sc := scopeOf(ctx)
	var tg tgRecord
	err := s.st.View(func(tx store.Tx) (err error) {
		tg, err = loadTG(tx, sc, str(in.TargetGroupArn))
		return err
	})
	if err != nil {
		return nil, err
	}
	type key struct {
		id   string
		port int
	}
	health := map[key]balancer.TargetHealth{}
	var draining []balancer.TargetHealth
	for _, h := range s.plane.TargetHealth(tg.ARN) {
		health[key{h.ID, h.Port}] = h
		if !slices.ContainsFunc(tg.Targets, func(t targetRecord) bool { return t.ID == h.ID && int(t.Port) == h.Port }) {
			draining = append(draining, h)
		}
	}
	describe := func(t targetRecord, registered bool) api.TargetHealthDescription {
		d := api.TargetHealthDescription{Target: &api.TargetDescription{Id: ptr(t.ID)}, TargetHealth: &api.TargetHealth{}}
		if tg.TargetType != "lambda" {
			d.Target.Port = ptr(t.Port)
			d.HealthCheckPort = ptr(tg.HealthCheck.Port)
			if tg.HealthCheck.Port == "traffic-port" {
				d.HealthCheckPort = ptr(strconv.Itoa(int(t.Port)))
			}
		}
		if t.AZ != "" {
			d.Target.AvailabilityZone = ptr(t.AZ)
		}
		h, ok := health[key{t.ID, int(t.Port)}]
		switch {
		case ok:
		case !registered:
			h = balancer.TargetHealth{State: "unused", Reason: "Target.NotRegistered"}
		case tg.TargetType == "lambda" && !tg.HealthCheck.Enabled:
			h = balancer.TargetHealth{State: "unavailable", Reason: "Target.HealthCheckDisabled"}
		default:
			h = balancer.TargetHealth{State: "initial", Reason: "Elb.RegistrationInProgress"}
		}
		d.TargetHealth.State = ptr(h.State)
		if h.Reason != "" {
			d.TargetHealth.Reason = ptr(h.Reason)
			if h.Description == "" {
				h.Description = reasonDescriptions[h.Reason]
			}
		}
		if h.Description != "" {
			d.TargetHealth.Description = ptr(h.Description)
		}
		return d
	}
	out := &api.DescribeTargetHealthOutput{TargetHealthDescriptions: []api.TargetHealthDescription{}}
	if len(in.Targets) == 0 {
		for _, t := range tg.Targets {
			out.TargetHealthDescriptions = append(out.TargetHealthDescriptions, describe(t, true))
		}
		for _, h := range draining {
			out.TargetHealthDescriptions = append(out.TargetHealthDescriptions, describe(targetRecord{ID: h.ID, Port: int32(h.Port)}, true))
		}
		return out, nil
	}
	for _, want := range in.Targets {
		id := str(want.Id)
		matched := false
		for _, t := range tg.Targets {
			if t.ID == id && (want.Port == nil || *want.Port == t.Port) {
				out.TargetHealthDescriptions = append(out.TargetHealthDescriptions, describe(t, true))
				matched = true
			}
		}
		for _, h := range draining {
			if h.ID == id && (want.Port == nil || int(*want.Port) == h.Port) {
				out.TargetHealthDescriptions = append(out.TargetHealthDescriptions, describe(targetRecord{ID: h.ID, Port: int32(h.Port)}, true))
				matched = true
			}
		}
		if !matched {
			t := targetRecord{ID: id, Port: portOr(want.Port, tg.Port), AZ: str(want.AvailabilityZone)}
			out.TargetHealthDescriptions = append(out.TargetHealthDescriptions, describe(t, false))
		}
	}
	return out, nil
}
