// Package elbv2 serves Elastic Load Balancing v2: Application and Network
// Load Balancers, their listeners and rules, target groups and targets,
// tags, limits and SSL policies. It is the control plane: it keeps the
// API's records and pushes their desired state to the data plane
// (package balancer), which really listens on each load balancer's own
// loopback address, proxies to the targets and health-checks them.
//
// Instance targets are resolved through EC2 (Compute, which *ec2.Service
// implements): their private loopback address and Availability Zone, and
// their state, re-read every few seconds so that a stopped instance leaves
// rotation and a terminated one is deregistered as AWS does. Every minute
// the data plane's counters are published as AWS/ApplicationELB and
// AWS/NetworkELB metrics through a metrics.Sink.
package elbv2

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"io"
	"log/slog"
	"sync"
	"time"

	ec2api "github.com/nephele-dev/nephele/internal/api/ec2"
	api "github.com/nephele-dev/nephele/internal/api/elbv2"
	"github.com/nephele-dev/nephele/internal/api/model"
	"github.com/nephele-dev/nephele/internal/clock"
	"github.com/nephele-dev/nephele/internal/elbv2/balancer"
	"github.com/nephele-dev/nephele/internal/metrics"
	"github.com/nephele-dev/nephele/internal/service"
	"github.com/nephele-dev/nephele/internal/store"
)

// Compute is what ELBv2 needs of EC2: subnets and VPCs for load balancers
// and target groups, security groups, and instances for instance
// targets. Calls carry the account and region in ctx.
type Compute interface {
	DescribeSubnets(ctx context.Context, in *ec2api.DescribeSubnetsInput) (*ec2api.DescribeSubnetsOutput, error)
	DescribeVpcs(ctx context.Context, in *ec2api.DescribeVpcsInput) (*ec2api.DescribeVpcsOutput, error)
	DescribeSecurityGroups(ctx context.Context, in *ec2api.DescribeSecurityGroupsInput) (*ec2api.DescribeSecurityGroupsOutput, error)
	DescribeInstances(ctx context.Context, in *ec2api.DescribeInstancesInput) (*ec2api.DescribeInstancesOutput, error)
}

// Options configure the service.
type Options struct {
	// Compute answers questions about subnets, VPCs and instances.
	Compute Compute
	// Metrics receives the load balancers' CloudWatch metrics; nil
	// discards them.
	Metrics metrics.Sink
	// Logger receives logs; nil discards them.
	Logger *slog.Logger
	// Lambda invokes the functions of lambda target groups; nil answers
	// their requests 502, as an ALB does when it cannot invoke.
	Lambda balancer.LambdaInvoker
	// ResyncInterval is how often (on the clock) instance targets are
	// re-resolved; 0 means 5 s.
	ResyncInterval time.Duration
}

// Service is the ELBv2 service.
type Service struct {
	st    store.Store
	clk   clock.Clock
	opts  Options
	plane *balancer.Plane

	// mu serialises pushes to the data plane and guards what was pushed,
	// so the last push always carries the newest committed state. It is
	// taken before any store transaction, never inside one.
	mu sync.Mutex
	// pushedLBs and pushedTGs are the desired states last pushed, by ARN.
	pushedLBs map[string]pushedLB
	pushedTGs map[string]pushedTG
	// addrs is where each listener really listens, by listener ARN.
	addrs map[string]string

	stop    context.CancelFunc
	done    chan struct{}
	started bool
}

// pushedLB is a load balancer as last pushed, with its scope for metrics.
type pushedLB struct {
	sc      scope
	desired balancer.LoadBalancer
}

// pushedTG is a target group as last pushed.
type pushedTG struct {
	sc      scope
	desired balancer.TargetGroup
}

var (
	_ service.Service  = (*Service)(nil)
	_ service.Resetter = (*Service)(nil)
	_ service.Admin    = (*Service)(nil)
	_ io.Closer        = (*Service)(nil)
)

// New returns the ELBv2 service. Nothing listens until Start.
func New(st store.Store, clk clock.Clock, opts Options) *Service {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if opts.Metrics == nil {
		opts.Metrics = metrics.Discard
	}
	if opts.ResyncInterval <= 0 {
		opts.ResyncInterval = 5 * time.Second
	}
	return &Service{
		st: st, clk: clk, opts: opts,
		plane:     balancer.New(balancer.Options{Clock: clk, Logger: opts.Logger}),
		pushedLBs: map[string]pushedLB{}, pushedTGs: map[string]pushedTG{},
		addrs: map[string]string{},
	}
}

// Name is ELBv2's signing name.
func (s *Service) Name() string { return "elasticloadbalancing" }

// Model returns the ELBv2 API model.
func (s *Service) Model() *model.Service { return api.Model() }

// Operations lists every operation served, grouped by the file that
// implements it.
func (s *Service) Operations() []service.Operation {
	return []service.Operation{
		// loadbalancers.go
		service.Handle("CreateLoadBalancer", s.CreateLoadBalancer),
		service.Handle("DescribeLoadBalancers", s.DescribeLoadBalancers),
		service.Handle("DeleteLoadBalancer", s.DeleteLoadBalancer),
		service.Handle("DescribeLoadBalancerAttributes", s.DescribeLoadBalancerAttributes),
		service.Handle("ModifyLoadBalancerAttributes", s.ModifyLoadBalancerAttributes),
		service.Handle("SetSubnets", s.SetSubnets),
		service.Handle("SetSecurityGroups", s.SetSecurityGroups),
		service.Handle("SetIpAddressType", s.SetIpAddressType),
		// capacity.go
		service.Handle("DescribeCapacityReservation", s.DescribeCapacityReservation),
		service.Handle("ModifyCapacityReservation", s.ModifyCapacityReservation),
		// targetgroups.go
		service.Handle("CreateTargetGroup", s.CreateTargetGroup),
		service.Handle("ModifyTargetGroup", s.ModifyTargetGroup),
		service.Handle("DescribeTargetGroups", s.DescribeTargetGroups),
		service.Handle("DeleteTargetGroup", s.DeleteTargetGroup),
		service.Handle("DescribeTargetGroupAttributes", s.DescribeTargetGroupAttributes),
		service.Handle("ModifyTargetGroupAttributes", s.ModifyTargetGroupAttributes),
		// targets.go
		service.Handle("RegisterTargets", s.RegisterTargets),
		service.Handle("DeregisterTargets", s.DeregisterTargets),
		service.Handle("DescribeTargetHealth", s.DescribeTargetHealth),
		// listeners.go
		service.Handle("CreateListener", s.CreateListener),
		service.Handle("ModifyListener", s.ModifyListener),
		service.Handle("DescribeListeners", s.DescribeListeners),
		service.Handle("DeleteListener", s.DeleteListener),
		service.Handle("DescribeListenerAttributes", s.DescribeListenerAttributes),
		service.Handle("ModifyListenerAttributes", s.ModifyListenerAttributes),
		service.Handle("AddListenerCertificates", s.AddListenerCertificates),
		service.Handle("RemoveListenerCertificates", s.RemoveListenerCertificates),
		service.Handle("DescribeListenerCertificates", s.DescribeListenerCertificates),
		// rules.go
		service.Handle("CreateRule", s.CreateRule),
		service.Handle("ModifyRule", s.ModifyRule),
		service.Handle("DescribeRules", s.DescribeRules),
		service.Handle("DeleteRule", s.DeleteRule),
		service.Handle("SetRulePriorities", s.SetRulePriorities),
		// tags.go
		service.Handle("AddTags", s.AddTags),
		service.Handle("RemoveTags", s.RemoveTags),
		service.Handle("DescribeTags", s.DescribeTags),
		// limits.go
		service.Handle("DescribeAccountLimits", s.DescribeAccountLimits),
		service.Handle("DescribeSSLPolicies", s.DescribeSSLPolicies),
	}
}

// Start reopens the listeners of every stored load balancer (after a
// restart) and starts the resync and metrics controllers, until Close.
func (s *Service) Start() error {
	s.mu.Lock()
	if s.started {
		s.mu.Unlock()
		return nil
	}
	s.started = true
	ctx, cancel := context.WithCancel(context.Background())
	s.stop, s.done = cancel, make(chan struct{})
	s.mu.Unlock()
	s.syncAll(ctx)
	go s.run(ctx)
	return nil
}

// run is the one controller goroutine: it re-resolves targets every
// ResyncInterval and publishes metrics every minute, on the clock.
func (s *Service) run(ctx context.Context) {
	defer close(s.done)
	resync := s.clk.NewTicker(s.opts.ResyncInterval)
	defer resync.Stop()
	minute := s.clk.NewTicker(time.Minute)
	defer minute.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-resync.C():
			s.syncAll(ctx)
		case t := <-minute.C():
			s.publish(ctx, t)
		}
	}
}

// Close stops the controllers and closes every listener.
func (s *Service) Close() error {
	s.mu.Lock()
	stop, done := s.stop, s.done
	s.stop = nil
	s.mu.Unlock()
	if stop != nil {
		stop()
		<-done
	}
	return s.plane.Close()
}

// Reset closes every listener and forgets every target group in the data
// plane; the store's own Reset drops the records.
func (s *Service) Reset(context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for arn := range s.pushedLBs {
		s.plane.RemoveLoadBalancer(arn)
	}
	for arn := range s.pushedTGs {
		s.plane.RemoveTargetGroup(arn)
	}
	s.pushedLBs = map[string]pushedLB{}
	s.pushedTGs = map[string]pushedTG{}
	s.addrs = map[string]string{}
	return nil
}

// scope is one account and region.
type scope = service.Scope

func scopeOf(ctx context.Context) scope { return service.ScopeOf(ctx) }

func (s *Service) log() *slog.Logger { return s.opts.Logger }

func (s *Service) now() time.Time { return s.clk.Now().UTC().Truncate(time.Millisecond) }

// newID returns the 16 hex digits that end an ELB ARN.
func newID() string {
	var b [8]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func ptr[T any](v T) *T { return &v }

func str(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}
