// Package autoscaling serves Amazon EC2 Auto Scaling: groups whose
// reconciler keeps their InService capacity at the desired capacity by
// really launching and terminating EC2 instances, replaces the unhealthy,
// and records every change as a scaling activity worded as AWS words it;
// launch configurations and tags.
//
// The service does not import EC2: it declares Compute, which the EC2
// service implements, and main wires the two.
package autoscaling

import (
	"context"
	"io"
	"log/slog"
	"time"

	api "github.com/nephele-dev/nephele/internal/api/autoscaling"
	ec2api "github.com/nephele-dev/nephele/internal/api/ec2"
	"github.com/nephele-dev/nephele/internal/api/model"
	"github.com/nephele-dev/nephele/internal/clock"
	"github.com/nephele-dev/nephele/internal/metrics"
	"github.com/nephele-dev/nephele/internal/service"
	"github.com/nephele-dev/nephele/internal/store"
)

// Compute is what Auto Scaling needs of EC2. Calls other than
// LaunchForGroup carry the account and region in ctx
// (service.WithRequest).
type Compute interface {
	LaunchForGroup(ctx context.Context, account, region, group string, in *ec2api.RunInstancesInput, count int) ([]ec2api.Instance, error)
	TerminateInstances(ctx context.Context, in *ec2api.TerminateInstancesInput) (*ec2api.TerminateInstancesOutput, error)
	DescribeInstances(ctx context.Context, in *ec2api.DescribeInstancesInput) (*ec2api.DescribeInstancesOutput, error)
	// GroupInstances reads the instances' states and status checks by
	// ID, leaving out those EC2 no longer knows: the reconciler's
	// observation, one record read per instance.
	GroupInstances(ctx context.Context, account, region string, ids []string) (map[string]ec2api.InstanceStatus, error)
	DescribeSubnets(ctx context.Context, in *ec2api.DescribeSubnetsInput) (*ec2api.DescribeSubnetsOutput, error)
	DescribeLaunchTemplateVersions(ctx context.Context, in *ec2api.DescribeLaunchTemplateVersionsInput) (*ec2api.DescribeLaunchTemplateVersionsOutput, error)
	// SetGroupTag tags an instance with its group, or untags it (group
	// ""), for AttachInstances and DetachInstances.
	SetGroupTag(ctx context.Context, account, region, instanceID, group string) error
	// RebalanceRecommended names the instances with a rebalance
	// recommendation, for Capacity Rebalancing.
	RebalanceRecommended(ctx context.Context, account, region string, ids []string) (map[string]bool, error)
	// StartInstances and StopInstances move warm pool instances.
	StartInstances(ctx context.Context, in *ec2api.StartInstancesInput) (*ec2api.StartInstancesOutput, error)
	StopInstances(ctx context.Context, in *ec2api.StopInstancesInput) (*ec2api.StopInstancesOutput, error)
}

// Options configure the service.
type Options struct {
	// Compute launches and terminates the groups' instances.
	Compute Compute
	// Alarms creates the alarms of target tracking policies; nil refuses
	// target tracking.
	Alarms Alarms
	// LoadBalancing registers the groups' instances with their target
	// groups; nil refuses target groups.
	LoadBalancing LoadBalancing
	// Notifier delivers lifecycle hook notifications to Lambda
	// functions; nil refuses notification targets.
	Notifier LifecycleNotifier
	// MetricSink receives the AWS/AutoScaling group metrics of groups
	// with metrics collection enabled; nil drops them.
	MetricSink metrics.Sink
	// MetricHistory reads the load metrics' history for predictive scaling
	// (predictive.go); nil leaves predictive forecasts empty.
	MetricHistory MetricReader
	// Logger receives logs; nil discards them.
	Logger *slog.Logger
}

// Service is the Auto Scaling service.
type Service struct {
	st   store.Store
	clk  clock.Clock
	opts Options
	rec  *reconciler
	// sched runs the scheduled actions (scheduled.go).
	sched *scheduler
	// coll publishes group metrics (groupmetrics.go).
	coll *collector
	// pred forecasts and scales for predictive policies (predictive.go).
	pred *predictor
}

var (
	_ service.Service  = (*Service)(nil)
	_ service.Resetter = (*Service)(nil)
	_ io.Closer        = (*Service)(nil)
)

// New returns the Auto Scaling service.
func New(st store.Store, clk clock.Clock, opts Options) *Service {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	s := &Service{st: st, clk: clk, opts: opts}
	s.rec = newReconciler(s)
	s.sched = newScheduler(s)
	s.coll = newCollector(s)
	s.pred = newPredictor(s)
	return s
}

// Name is Auto Scaling's signing name.
func (s *Service) Name() string { return "autoscaling" }

// Model returns the Auto Scaling API model.
func (s *Service) Model() *model.Service { return api.Model() }

// Operations lists every operation served, grouped by the file that
// implements it.
func (s *Service) Operations() []service.Operation {
	return []service.Operation{
		// groups.go
		service.Handle("CreateAutoScalingGroup", s.CreateAutoScalingGroup),
		service.Handle("UpdateAutoScalingGroup", s.UpdateAutoScalingGroup),
		service.Handle("DeleteAutoScalingGroup", s.DeleteAutoScalingGroup),
		service.Handle("DescribeAutoScalingGroups", s.DescribeAutoScalingGroups),
		service.Handle("DescribeAutoScalingInstances", s.DescribeAutoScalingInstances),
		service.Handle("SetDesiredCapacity", s.SetDesiredCapacity),
		service.Handle("SetInstanceHealth", s.SetInstanceHealth),
		service.Handle("SetInstanceProtection", s.SetInstanceProtection),
		service.Handle("TerminateInstanceInAutoScalingGroup", s.TerminateInstanceInAutoScalingGroup),
		service.Handle("SuspendProcesses", s.SuspendProcesses),
		service.Handle("ResumeProcesses", s.ResumeProcesses),
		service.Handle("DescribeScalingProcessTypes", s.DescribeScalingProcessTypes),
		service.Handle("DescribeAccountLimits", s.DescribeAccountLimits),
		service.Handle("DescribeTerminationPolicyTypes", s.DescribeTerminationPolicyTypes),
		// attachment.go
		service.Handle("AttachInstances", s.AttachInstances),
		service.Handle("DetachInstances", s.DetachInstances),
		service.Handle("EnterStandby", s.EnterStandby),
		service.Handle("ExitStandby", s.ExitStandby),
		// groupmetrics.go
		service.Handle("EnableMetricsCollection", s.EnableMetricsCollection),
		service.Handle("DisableMetricsCollection", s.DisableMetricsCollection),
		service.Handle("DescribeMetricCollectionTypes", s.DescribeMetricCollectionTypes),
		// notifications.go
		service.Handle("DescribeAutoScalingNotificationTypes", s.DescribeAutoScalingNotificationTypes),
		// refresh.go
		service.Handle("StartInstanceRefresh", s.StartInstanceRefresh),
		service.Handle("DescribeInstanceRefreshes", s.DescribeInstanceRefreshes),
		service.Handle("CancelInstanceRefresh", s.CancelInstanceRefresh),
		service.Handle("RollbackInstanceRefresh", s.RollbackInstanceRefresh),
		// warmpool.go
		service.Handle("PutWarmPool", s.PutWarmPool),
		service.Handle("DeleteWarmPool", s.DeleteWarmPool),
		service.Handle("DescribeWarmPool", s.DescribeWarmPool),
		// traffic.go
		service.Handle("AttachLoadBalancerTargetGroups", s.AttachLoadBalancerTargetGroups),
		service.Handle("DetachLoadBalancerTargetGroups", s.DetachLoadBalancerTargetGroups),
		service.Handle("DescribeLoadBalancerTargetGroups", s.DescribeLoadBalancerTargetGroups),
		service.Handle("AttachTrafficSources", s.AttachTrafficSources),
		service.Handle("DetachTrafficSources", s.DetachTrafficSources),
		service.Handle("DescribeTrafficSources", s.DescribeTrafficSources),
		service.Handle("DescribeLoadBalancers", s.DescribeLoadBalancers),
		// policies.go
		service.Handle("PutScalingPolicy", s.PutScalingPolicy),
		service.Handle("DescribePolicies", s.DescribePolicies),
		service.Handle("DeletePolicy", s.DeletePolicy),
		service.Handle("ExecutePolicy", s.ExecutePolicy),
		service.Handle("DescribeAdjustmentTypes", s.DescribeAdjustmentTypes),
		// predictive.go
		service.Handle("GetPredictiveScalingForecast", s.GetPredictiveScalingForecast),
		// scheduled.go
		service.Handle("PutScheduledUpdateGroupAction", s.PutScheduledUpdateGroupAction),
		service.Handle("BatchPutScheduledUpdateGroupAction", s.BatchPutScheduledUpdateGroupAction),
		service.Handle("DescribeScheduledActions", s.DescribeScheduledActions),
		service.Handle("DeleteScheduledAction", s.DeleteScheduledAction),
		service.Handle("BatchDeleteScheduledAction", s.BatchDeleteScheduledAction),
		// hooks.go
		service.Handle("PutLifecycleHook", s.PutLifecycleHook),
		service.Handle("DescribeLifecycleHooks", s.DescribeLifecycleHooks),
		service.Handle("DeleteLifecycleHook", s.DeleteLifecycleHook),
		service.Handle("DescribeLifecycleHookTypes", s.DescribeLifecycleHookTypes),
		service.Handle("CompleteLifecycleAction", s.CompleteLifecycleAction),
		service.Handle("RecordLifecycleActionHeartbeat", s.RecordLifecycleActionHeartbeat),
		// activities.go
		service.Handle("DescribeScalingActivities", s.DescribeScalingActivities),
		// launchconfigs.go
		service.Handle("CreateLaunchConfiguration", s.CreateLaunchConfiguration),
		service.Handle("DescribeLaunchConfigurations", s.DescribeLaunchConfigurations),
		service.Handle("DeleteLaunchConfiguration", s.DeleteLaunchConfiguration),
		// tags.go
		service.Handle("CreateOrUpdateTags", s.CreateOrUpdateTags),
		service.Handle("DeleteTags", s.DeleteTags),
		service.Handle("DescribeTags", s.DescribeTags),
	}
}

// Start begins reconciling the groups and running their scheduled
// actions, until Close.
func (s *Service) Start() error {
	s.sched.start()
	s.coll.start()
	s.pred.start()
	return s.rec.start()
}

// Close stops the reconciler and the scheduler.
func (s *Service) Close() error {
	s.sched.stop()
	s.coll.stop()
	s.pred.stop()
	s.rec.stop()
	return nil
}

// Reset forgets the reconciler's memory; the store's own Reset drops the
// records, and EC2's Reset the instances.
func (s *Service) Reset(context.Context) error {
	s.rec.forget()
	s.pred.forget()
	return nil
}

// scope is one account and region.
type scope = service.Scope

func scopeOf(ctx context.Context) scope { return service.ScopeOf(ctx) }

func (s *Service) log() *slog.Logger { return s.opts.Logger }

func (s *Service) now() time.Time { return s.clk.Now().UTC().Truncate(time.Millisecond) }

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
