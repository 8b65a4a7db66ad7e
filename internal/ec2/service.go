// Package ec2 serves Amazon EC2: the places instances live (regions,
// Availability Zones, VPCs, subnets, security groups, key pairs), what they
// are made from (instance types, AMIs, launch templates) and the instances
// themselves, which run for real as local process trees.
//
// Every record is regional: store keys are "<account>/<region>/<id>". Each
// region of each account gets, on first use, what AWS gives every new
// account: a default VPC with one default subnet per Availability Zone and
// a default security group (defaults.go). Tags of every resource live in one
// bucket keyed by resource ID (tags.go), so CreateTags, DescribeTags and the
// tag filters of every Describe call share one implementation.
package ec2

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	api "github.com/nephele-dev/nephele/internal/api/ec2"
	"github.com/nephele-dev/nephele/internal/api/model"
	"github.com/nephele-dev/nephele/internal/arn"
	"github.com/nephele-dev/nephele/internal/clock"
	"github.com/nephele-dev/nephele/internal/ec2/machine"
	"github.com/nephele-dev/nephele/internal/imds"
	"github.com/nephele-dev/nephele/internal/metrics"
	"github.com/nephele-dev/nephele/internal/service"
	"github.com/nephele-dev/nephele/internal/store"
)

// Options are what the EC2 service needs beyond its state and clock.
type Options struct {
	// InstanceDir holds a directory per instance, standing in for its
	// root volume.
	InstanceDir string
	// IMDSPort is the port of every instance's metadata service, on the
	// instance's own address; 0 picks a free port per instance (tests).
	IMDSPort int
	// Endpoint returns nephele's URL, for instances' AWS_ENDPOINT_URL.
	Endpoint func() string
	// MaxInstances caps the live instances of a region (InstanceLimitExceeded).
	MaxInstances int
	// MaxVCPUs caps the vCPUs of a region's live instances
	// (VcpuLimitExceeded).
	MaxVCPUs int
	// StopGrace is how long a stopping instance's processes get between
	// SIGTERM and SIGKILL, on the clock.
	StopGrace time.Duration
	// Profiles resolves instance profiles; nil accepts any as given.
	Profiles Profiles
	// Credentials issues the credentials of an instance's role; nil
	// leaves instances without role credentials.
	Credentials RoleCredentials
	// Lifecycle tells an instance of an Auto Scaling group its target
	// lifecycle state, for its metadata; nil leaves it out.
	Lifecycle LifecycleStates
	// Metrics receives the instances' AWS/EC2 metrics; nil drops them.
	Metrics metrics.Sink
	// TimeScale is how much faster than real time the clock runs; CPU
	// utilisation is measured against real time. 0 means 1.
	TimeScale float64
	// Logger receives the lifecycle's logs; nil discards them.
	Logger *slog.Logger
	// SpotInterruptionRate is how many interruptions each running Spot
	// Instance has per hour of the clock, on average (interruptions.go);
	// 0 turns random interruptions off.
	SpotInterruptionRate float64
	// ConsoleLogs receives the console output of the instances that are
	// mirrored (consolelogs.go); nil mirrors none.
	ConsoleLogs ConsoleLogSink
	// ConsoleLogGroup mirrors every instance's console into this log
	// group, unless its ConsoleLogGroupTag names another; "" mirrors only
	// the tagged ones.
	ConsoleLogGroup string
}

// DefaultMaxInstances is the default cap on live instances per region.
const DefaultMaxInstances = 256

// DefaultStopGrace is how long stopping processes get before SIGKILL.
const DefaultStopGrace = 30 * time.Second

// Profiles is what EC2 needs of IAM: the instance profile an
// IamInstanceProfile names (by name or ARN) and the role in it. The IAM
// service implements it.
type Profiles interface {
	InstanceProfile(ctx context.Context, account, nameOrARN string) (profile InstanceProfile, ok bool, err error)
}

// InstanceProfile is an instance profile as EC2 sees it.
type InstanceProfile struct {
	ARN, ID           string
	RoleName, RoleARN string
}

// RoleCredentials issues temporary credentials of a role for an instance's
// metadata service. The STS service implements it.
type RoleCredentials interface {
	RoleCredentials(ctx context.Context, roleARN, sessionName string) (imds.Credentials, error)
}

// LifecycleStates is what EC2 needs of Auto Scaling: the state an
// instance of a group is heading for (InService, Terminated, ...), which
// its metadata service shows at autoscaling/target-lifecycle-state; ""
// for an instance of no group.
type LifecycleStates interface {
	TargetLifecycleState(account, region, instanceID string) string
}

// Service is the EC2 service.
type Service struct {
	st      store.Store
	clk     clock.Clock
	opts    Options
	ctl     *controller
	machine *machine.Machine
	imds    *imds.Server
	mon     monitor
	faults  capacityFaults
	console *consoleMirror // nil without Options.ConsoleLogs

	// where maps the ID of an instance that booted to its scope, for the
	// metadata service and the machine, which know only IDs.
	where sync.Map // id → scope

	// seeded remembers the account/region pairs whose defaults exist, so
	// that only the first request of a region pays for the check.
	seeded sync.Map // "account/region" → struct{}
}

var (
	_ service.Service  = (*Service)(nil)
	_ service.Resetter = (*Service)(nil)
)

// New returns the EC2 service keeping its state in st and reading time
// from clk. Instances resume their lifecycle (recover) once Start is
// called.
func New(st store.Store, clk clock.Clock, opts Options) (*Service, error) {
	if opts.MaxInstances <= 0 {
		opts.MaxInstances = DefaultMaxInstances
	}
	if opts.MaxVCPUs <= 0 {
		opts.MaxVCPUs = DefaultMaxVCPUs
	}
	if opts.StopGrace <= 0 {
		opts.StopGrace = DefaultStopGrace
	}
	if opts.Metrics == nil {
		opts.Metrics = metrics.Discard
	}
	if opts.TimeScale <= 0 {
		opts.TimeScale = 1
	}
	s := &Service{st: st, clk: clk, opts: opts, mon: monitor{last: map[string]cpuSample{}, acc: map[string][]float64{}, accFrom: map[string]time.Time{}}}
	m, err := machine.New(machine.Config{Dir: opts.InstanceDir, Clock: clk, OnExit: s.exited})
	if err != nil {
		return nil, err
	}
	s.machine = m
	s.imds = imds.New(imds.Config{Clock: clk, Source: s, Credentials: s.roleCredentials, Port: opts.IMDSPort, Logger: opts.Logger})
	s.ctl = newController(s)
	if opts.ConsoleLogs != nil {
		s.console = newConsoleMirror(opts.ConsoleLogs, clk, s.log(), s.consoleLogGroup)
	}
	return s, nil
}

// Start resumes the lifecycle of the instances in the store (after a
// restart, running instances boot again) and starts measuring them.
func (s *Service) Start() error {
	s.ctl.wg.Add(1)
	go func() {
		defer s.ctl.wg.Done()
		s.runMonitor(s.ctl.ctx)
	}()
	// Spot interruptions at the configured rate (interruptions.go).
	s.startInterruptions()
	return s.recover()
}

// Close stops the lifecycle and every instance's processes.
func (s *Service) Close() error {
	s.ctl.close()
	err := errors.Join(s.machine.Close(), s.imds.Close())
	// After the trees, so their last output is sent too.
	if s.console != nil {
		s.console.close()
	}
	return err
}

// Name is EC2's signing name.
func (s *Service) Name() string { return "ec2" }

// Model returns the EC2 API model.
func (s *Service) Model() *model.Service { return api.Model() }

// Operations lists every EC2 operation served, from the files that
// implement them.
func (s *Service) Operations() []service.Operation {
	var ops []service.Operation
	for _, family := range [][]service.Operation{
		s.tagOperations(),
		s.vpcOperations(),
		s.securityGroupOperations(),
		s.keyPairOperations(),
		s.placementGroupOperations(),
		s.instanceOperations(),
		s.interfaceOperations(),
		s.imageOperations(),
		s.volumeOperations(),
		s.instanceAttributeOperations(),
		s.spotOperations(),           // spot.go
		s.fleetOperations(),          // fleets.go
		s.regionOperations(),         // regions.go
		s.instanceTypeOperations(),   // instancetypes.go
		s.launchTemplateOperations(), // templates.go
	} {
		ops = append(ops, family...)
	}
	return ops
}

// Reset stops every instance and forgets which regions have their
// defaults; the store itself is emptied by the server.
func (s *Service) Reset(context.Context) error {
	s.seeded.Clear()
	s.faults.clear()
	var ids []string
	s.where.Range(func(k, _ any) bool {
		ids = append(ids, k.(string))
		return true
	})
	var errs []error
	errs = append(errs, s.machine.Close())
	if s.console != nil {
		s.console.discard()
	}
	for _, id := range ids {
		s.imds.Remove(id)
		errs = append(errs, s.machine.Remove(id))
		s.where.Delete(id)
	}
	return errors.Join(errs...)
}

// scope is the account and region a request acts in.
type scope struct {
	account string
	region  string
}

func scopeOf(ctx context.Context) scope {
	r := service.RequestFrom(ctx)
	region := r.Region
	if region == "" {
		region = "us-east-1"
	}
	return scope{account: r.AccountID, region: region}
}

// key is the store key of the resource id in this scope.
func (sc scope) key(id string) string { return sc.account + "/" + sc.region + "/" + id }

// prefix is the key prefix of every resource of this scope.
func (sc scope) prefix() string { return sc.account + "/" + sc.region + "/" }

// arn is the ARN of an EC2 resource, e.g.
// arn:aws:ec2:us-east-1:123456789012:subnet/subnet-0abc.
func (sc scope) arn(kind, id string) string {
	return arn.ARN{Partition: arn.Partition(sc.region), Service: "ec2", Region: sc.region, AccountID: sc.account, Resource: kind + "/" + id}.String()
}

// now is the time of a change. EC2 reports milliseconds at most.
func (s *Service) now() time.Time {
	return s.clk.Now().UTC().Truncate(time.Millisecond)
}

// str reads an optional string member; absent is "".
func str(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// boolean reads an optional bool member; absent is false.
func boolean(p *bool) bool { return p != nil && *p }

// ptr returns a pointer to v, for the API shapes' optional members.
func ptr[T any](v T) *T { return &v }
