// Package balancer is the ELBv2 data plane: it really listens on each load
// balancer's loopback address, proxies HTTP(S) (ALB) and TCP/TLS (NLB) to
// registered targets, health-checks them on the injected clock, drains
// deregistered targets and counts requests for CloudWatch.
//
// The control plane (package elbv2) owns the API records and pushes the
// desired state here with SetTargetGroup and SetLoadBalancer; this package
// never reads the store and never calls AWS APIs. The types in this file are
// the contract between the two.
//
// Choices where one loopback process stands in for AWS's fleet:
//   - Every ELB duration runs on the injected clock, the idle timeout too:
//     a request whose target moves no data for IdleTimeout gets ELB's 504,
//     so at --time-scale 60 a 60 s idle timeout is one real second. The
//     10 s connect timeout to targets is real time (a dial is real I/O).
//   - Health checks: one loop per target group that some listener forwards
//     to, probing every serving target each Interval; the probe's Timeout
//     is on the clock. Targets wait "initial" until the first tick.
//   - Fail open: when no target of a group is healthy (unhealthy or still
//     initial), requests go to all of them, as ELB does.
//   - Draining: a deregistered target takes no new requests, shows
//     "draining" for the whole DeregistrationDelay even if its requests
//     end sooner (as AWS documents), then is forgotten and whatever is
//     still in flight to it is cut.
//   - NLB zones: with one IP for all LB nodes, each connection goes to the
//     node of one enabled zone, round robin over zones with a healthy
//     target; without cross-zone load balancing that node uses only its
//     zone's targets.
package balancer

import (
	"context"
	"crypto/tls"
	"log/slog"
	"time"

	"github.com/nephele-dev/nephele/internal/clock"
)

// Options configure a Plane.
type Options struct {
	// Clock drives health checks, draining, slow start, stickiness
	// durations and the idle timeout. Nil means the real clock.
	Clock clock.Clock
	// Logger receives data-plane events; nil discards them.
	Logger *slog.Logger
}

// LoadBalancer is the desired state of one load balancer.
type LoadBalancer struct {
	ARN  string
	Name string
	// Type is "application" or "network".
	Type string
	// IP is the loopback address the control plane allocated to this LB,
	// e.g. "127.0.5.1".
	IP string
	// Zones are the enabled Availability Zones, e.g. "us-east-1a".
	Zones []string
	// CrossZone is always true for an ALB; for an NLB it is the attribute
	// load_balancing.cross_zone.enabled (default false).
	CrossZone bool
	// IdleTimeout is idle_timeout.timeout_seconds (default 60 s).
	IdleTimeout time.Duration
	Listeners   []Listener
}

// Listener is one listener of a load balancer.
type Listener struct {
	ARN string
	// Protocol is HTTP, HTTPS, TCP, TLS, UDP or TCP_UDP.
	Protocol string
	Port     int
	// Rules in evaluation order: ascending priority, the default rule
	// (Priority 0, no conditions) last. An NLB listener has only the
	// default rule with one forward action.
	Rules []Rule
	// Certificate is used by HTTPS/TLS listeners; nil means the data plane
	// makes a self-signed one for DNSName.
	Certificate *tls.Certificate
	// DNSName is the LB's DNS name, for the self-signed certificate and
	// redirects' #{host}.
	DNSName string
}

// Rule is one listener rule.
type Rule struct {
	ARN string
	// Priority 0 is the default rule.
	Priority int
	// Conditions must all match; values inside one condition are ORed.
	Conditions []Condition
	// Actions in Order; the last is forward, redirect or fixed-response.
	Actions []Action
}

// Condition is one rule condition.
type Condition struct {
	// Field is "path-pattern", "host-header", "http-header",
	// "http-request-method", "query-string" or "source-ip".
	Field string
	// Values are patterns with * and ? wildcards (path, host, header
	// value), methods, or CIDRs for source-ip.
	Values []string
	// HeaderName is for http-header only.
	HeaderName string
	// Query is for query-string only; Key "" matches any key.
	Query []QueryPair
}

// QueryPair is one key/value pattern of a query-string condition.
type QueryPair struct{ Key, Value string }

// Action is one rule action.
type Action struct {
	// Type is "forward", "redirect" or "fixed-response".
	Type  string
	Order int
	// Forward lists one or more target groups with weights.
	Forward []WeightedGroup
	// GroupStickiness is 0 for off; else how long a client stays with the
	// weighted group it was first sent to (AWSALBTG cookie).
	GroupStickiness time.Duration
	Redirect        *Redirect
	Fixed           *FixedResponse
}

// WeightedGroup is one target group of a forward action.
type WeightedGroup struct {
	TargetGroupARN string
	Weight         int
}

// Redirect is a redirect action; fields may use "#{protocol}", "#{host}",
// "#{port}", "#{path}" and "#{query}" as ELB does. StatusCode is "HTTP_301"
// or "HTTP_302".
type Redirect struct{ Protocol, Host, Port, Path, Query, StatusCode string }

// FixedResponse is a fixed-response action.
type FixedResponse struct {
	StatusCode  int
	ContentType string
	Body        string
}

// TargetGroup is the desired state of one target group.
type TargetGroup struct {
	ARN  string
	Name string
	// Protocol is HTTP, HTTPS, TCP, ...; "" for lambda.
	Protocol string
	Port     int
	// TargetType is "instance", "ip", "lambda" or "alb".
	TargetType string
	// Algorithm is "round_robin" (default), "least_outstanding_requests"
	// or "weighted_random".
	Algorithm  string
	Stickiness Stickiness
	// SlowStart is 0 for off.
	SlowStart time.Duration
	// DeregistrationDelay defaults to 300 s.
	DeregistrationDelay time.Duration
	HealthCheck         HealthCheck
	Targets             []Target
	// Lambda invokes a lambda target (TargetType "lambda"); nil answers 502.
	Lambda LambdaInvoker
}

// Stickiness is a target group's stickiness configuration.
type Stickiness struct {
	Enabled bool
	// Type is "lb_cookie", "app_cookie" or "source_ip" (NLB).
	Type string
	// Duration is the lb_cookie duration, default 1 day.
	Duration time.Duration
	// CookieName is for app_cookie only.
	CookieName string
}

// HealthCheck is a target group's health check configuration.
type HealthCheck struct {
	Enabled bool
	// Protocol is HTTP, HTTPS or TCP.
	Protocol string
	// Port is "traffic-port" or a number.
	Port string
	// Path defaults to "/".
	Path string
	// Interval defaults to 30 s.
	Interval time.Duration
	// Timeout defaults to 5 s (ALB/HTTP).
	Timeout time.Duration
	// HealthyThreshold defaults to 5.
	HealthyThreshold int
	// UnhealthyThreshold defaults to 2.
	UnhealthyThreshold int
	// Matcher is e.g. "200", "200,202" or "200-299".
	Matcher string
}

// Target is one registered target.
type Target struct {
	// ID is an instance ID, IP address, or function ARN.
	ID string
	// Port is the target's port (registration override or the group's).
	Port int
	// Addr is the IP to dial (an instance's private loopback IP, or the
	// IP target itself).
	Addr string
	// Zone is the target's Availability Zone ("all" allowed for IP
	// targets).
	Zone string
	// Unused is set by the control plane when the target cannot serve
	// (instance stopped, group not used by any listener, zone not
	// enabled): the data plane reports it with UnusedReason and does not
	// probe it.
	Unused bool
	// UnusedReason is e.g. "Target.NotInUse" or "Target.InvalidState".
	UnusedReason string
	// UnusedDescription is the AWS wording for UnusedReason; "" takes the
	// usual wording for that reason.
	UnusedDescription string
}

// LambdaInvoker is what the data plane needs of Lambda for lambda targets:
// invoke with the ALB event JSON and get the function's response JSON.
type LambdaInvoker interface {
	InvokeForELB(ctx context.Context, functionARN string, event []byte) ([]byte, error)
}

// TargetHealth reports one target as DescribeTargetHealth does.
type TargetHealth struct {
	ID   string
	Port int
	Zone string
	// State is "initial", "healthy", "unhealthy", "unused", "draining" or
	// "unavailable".
	State string
	// Reason is an AWS reason code, e.g. "Elb.InitialHealthChecking".
	Reason string
	// Description is the AWS wording, e.g. "Health checks failed with
	// these codes: [500]".
	Description string
}

// Stats are counters since the last Collect, per load balancer
// (TargetGroupARN "") or per (load balancer, target group).
type Stats struct {
	LoadBalancerARN string
	// TargetGroupARN is "" for per-load-balancer totals.
	TargetGroupARN string
	RequestCount   int64

	HTTPCodeTarget2XX, HTTPCodeTarget3XX, HTTPCodeTarget4XX, HTTPCodeTarget5XX     int64
	HTTPCodeELB4XX, HTTPCodeELB5XX, HTTPCodeELB502, HTTPCodeELB503, HTTPCodeELB504 int64

	// TargetResponseTimeSum is the sum over RequestCount requests.
	TargetResponseTimeSum time.Duration
	// ActiveConnectionCount is current, not reset.
	ActiveConnectionCount int64
	NewConnectionCount    int64
	ProcessedBytes        int64
	// HealthyHostCount and UnHealthyHostCount are current, per target group.
	HealthyHostCount, UnHealthyHostCount int
	// HTTPRedirectCount and HTTPFixedResponseCount count redirect and
	// fixed-response actions (per load balancer).
	HTTPRedirectCount, HTTPFixedResponseCount int64
}
