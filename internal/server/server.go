// Package server is nephele as a value: it opens the state, builds the
// clock and the services, wires them together, and serves the gateway. The
// binary's main and the tests both run it, so tests exercise the whole server
// in-process.
package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	stsapi "github.com/nephele-dev/nephele/internal/api/sts"
	"github.com/nephele-dev/nephele/internal/autoscaling"
	"github.com/nephele-dev/nephele/internal/clock"
	"github.com/nephele-dev/nephele/internal/cloudwatch"
	"github.com/nephele-dev/nephele/internal/ec2"
	"github.com/nephele-dev/nephele/internal/elbv2"
	"github.com/nephele-dev/nephele/internal/gateway"
	"github.com/nephele-dev/nephele/internal/iam"
	"github.com/nephele-dev/nephele/internal/lambda"
	"github.com/nephele-dev/nephele/internal/lambda/execenv"
	"github.com/nephele-dev/nephele/internal/logs"
	"github.com/nephele-dev/nephele/internal/service"
	"github.com/nephele-dev/nephele/internal/store"
	"github.com/nephele-dev/nephele/internal/sts"
)

// Version is nephele's version, reported by /_nephele/health.
var Version = "0.1.0-dev"

// DefaultListen is where nephele serves unless told otherwise.
const DefaultListen = "127.0.0.1:4566"

// Config is everything the flags of cmd/nephele set.
type Config struct {
	// Listen is the address to serve; empty means DefaultListen.
	Listen string
	// TimeScale makes simulated time run this many times faster than real
	// time; 0 means 1.
	TimeScale float64
	// DataDir keeps state durable across restarts; empty keeps it in memory.
	DataDir string
	// AccountID is the one account served; empty means 000000000000.
	AccountID string
	// IMDSPort is the port of every instance's metadata service, on the
	// instance's own loopback address; 0 picks a free port per instance.
	IMDSPort int
	// MaxInstances caps the live instances per region; 0 means EC2's
	// default cap.
	MaxInstances int
	// SpotInterruptionRate interrupts each running Spot Instance this many
	// times per simulated hour on average; 0 turns random interruptions
	// off.
	SpotInterruptionRate float64
	// ConsoleLogGroup mirrors every instance's console output into this
	// CloudWatch Logs group, one stream per instance; the instance tag
	// nephele:console-log-group names another. Empty mirrors only tagged
	// instances.
	ConsoleLogGroup string
	// LambdaConcurrency is the Lambda concurrent executions limit per
	// region; 0 means Lambda's default of 1000.
	LambdaConcurrency int
	// Clock overrides the clock (tests pass a fake one).
	Clock clock.Clock
	// Logger receives logs; nil discards them.
	Logger *slog.Logger
}

// Server is a running nephele.
type Server struct {
	cfg      Config
	clock    clock.Clock
	store    store.Store
	services []service.Service
	gateway  *gateway.Gateway
	ln       net.Listener
	http     *http.Server
	ec2      *ec2.Service
	// cloudwatch evaluates alarms once serving.
	cloudwatch *cloudwatch.Service
	// autoscaling reconciles groups once serving.
	autoscaling *autoscaling.Service
	// lambda runs its async queue and function URLs once serving.
	lambda *lambda.Service
	// elbv2 opens its load balancers' listeners once serving.
	elbv2 *elbv2.Service
	// tmpDir holds instance directories when state is in memory; it goes
	// at Close.
	tmpDir string
}

// New validates cfg, opens the state and builds the services. A state
// directory that cannot be opened stops start-up with a clear error.
func New(cfg Config) (*Server, error) {
	if cfg.Listen == "" {
		cfg.Listen = DefaultListen
	}
	if cfg.TimeScale == 0 {
		cfg.TimeScale = 1
	}
	if cfg.TimeScale < 0 {
		return nil, fmt.Errorf("time scale must be positive, got %v", cfg.TimeScale)
	}
	if cfg.AccountID == "" {
		cfg.AccountID = "000000000000"
	}
	if len(cfg.AccountID) != 12 || strings.Trim(cfg.AccountID, "0123456789") != "" {
		return nil, fmt.Errorf("account id must be 12 digits, got %q", cfg.AccountID)
	}
	if cfg.ConsoleLogGroup != "" && (len(cfg.ConsoleLogGroup) > 512 || !logGroupName.MatchString(cfg.ConsoleLogGroup)) {
		return nil, fmt.Errorf("console log group %q is not a valid log group name (1 to 512 of a-z A-Z 0-9 _ - / . #)", cfg.ConsoleLogGroup)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	s := &Server{cfg: cfg, clock: cfg.Clock}
	if s.clock == nil {
		if cfg.TimeScale == 1 {
			s.clock = clock.Real()
		} else {
			s.clock = clock.NewScaled(cfg.TimeScale)
		}
	}
	if cfg.DataDir != "" {
		st, err := store.Open(cfg.DataDir)
		if err != nil {
			return nil, fmt.Errorf("opening state in %s: %w", cfg.DataDir, err)
		}
		s.store = st
	} else {
		s.store = store.NewMemory()
	}

	iamSvc := iam.New(s.store, s.clock)
	stsSvc := sts.New(s.store, s.clock, iamSvc)
	instanceDir := filepath.Join(cfg.DataDir, "instances")
	if cfg.DataDir == "" {
		dir, err := os.MkdirTemp("", "nephele-instances-")
		if err != nil {
			s.store.Close()
			return nil, err
		}
		s.tmpDir, instanceDir = dir, dir
	}
	// CloudWatch comes first: EC2 publishes its metrics to it, and its
	// alarms act on EC2 instances.
	cwActions := &cloudwatch.Actions{}
	cwSvc, err := cloudwatch.New(s.store, s.clock, cloudwatch.Options{
		Logger:         cfg.Logger,
		PersistMetrics: cfg.DataDir != "",
		Actions:        cwActions,
	})
	if err != nil {
		s.store.Close()
		return nil, err
	}
	s.cloudwatch = cwSvc
	// CloudWatch Logs runs its retention controller until Close; EC2
	// mirrors consoles into it.
	logsSvc := logs.New(s.store, s.clock, logs.Options{Logger: cfg.Logger})
	lifecycle := &lifecycleLink{}
	ec2Svc, err := ec2.New(s.store, s.clock, ec2.Options{
		Metrics:      cwSvc,
		InstanceDir:  instanceDir,
		IMDSPort:     cfg.IMDSPort,
		Endpoint:     s.Endpoint,
		MaxInstances: cfg.MaxInstances,
		TimeScale:    cfg.TimeScale,
		Logger:       cfg.Logger,

		SpotInterruptionRate: cfg.SpotInterruptionRate,
		ConsoleLogs:          consoleLogs{logsSvc},
		Lifecycle:            lifecycle,
		ConsoleLogGroup:      cfg.ConsoleLogGroup,
	})
	if err != nil {
		logsSvc.Close()
		s.store.Close()
		return nil, err
	}
	s.ec2 = ec2Svc
	cwActions.Instances = ec2Svc
	// Lambda runs functions in environments under the state directory;
	// their output goes to CloudWatch Logs, their metrics to CloudWatch,
	// and CloudWatch alarms and ELBv2 lambda targets invoke them.
	lambdaDir := filepath.Join(instanceDir, "lambda")
	if cfg.DataDir != "" {
		lambdaDir = filepath.Join(cfg.DataDir, "lambda")
	}
	lambdaSvc := lambda.New(s.store, s.clock, lambda.Options{
		Executor: execenv.New(execenv.Options{
			Clock: s.clock, Logger: cfg.Logger, Dir: lambdaDir, Logs: functionLogs{logsSvc}, TimeScale: cfg.TimeScale,
		}),
		Logger:           cfg.Logger,
		Metrics:          cwSvc,
		Endpoint:         s.Endpoint,
		ConcurrencyLimit: cfg.LambdaConcurrency,
		Credentials:      functionCredentials{stsSvc},
	})
	cwActions.Functions = lambdaSvc
	s.lambda = lambdaSvc
	// ELBv2 resolves instance targets through EC2 and publishes its
	// metrics to CloudWatch; Auto Scaling registers its instances with it.
	elbSvc := elbv2.New(s.store, s.clock, elbv2.Options{Compute: ec2Svc, Metrics: cwSvc, Lambda: lambdaSvc, Logger: cfg.Logger})
	s.elbv2 = elbSvc
	asSvc := autoscaling.New(s.store, s.clock, autoscaling.Options{Compute: ec2Svc, Alarms: cwSvc, LoadBalancing: elbSvc, Notifier: lifecycleNotifier{lambdaSvc},
		MetricSink: cwSvc, MetricHistory: cwSvc, Logger: cfg.Logger})
	lifecycle.as = asSvc
	cwActions.Scaling = scalingActions{asSvc}
	s.autoscaling = asSvc
	// CloudWatch and Auto Scaling close before EC2, so nothing acts on a
	// closed EC2, and Logs after it, so the consoles' last lines are kept.
	s.services = []service.Service{iamSvc, stsSvc, cwSvc, asSvc, lambdaSvc, elbSvc, ec2Svc, logsSvc}

	gw, err := gateway.New(gateway.Config{
		AccountID: cfg.AccountID,
		Services:  s.services,
		Reset:     s.Reset,
		Version:   Version,
		Logger:    cfg.Logger,
	})
	if err != nil {
		s.store.Close()
		return nil, err
	}
	s.gateway = gw
	return s, nil
}

// logGroupName is the pattern of a CloudWatch Logs LogGroupName.
var logGroupName = regexp.MustCompile(`^[.\-_/#A-Za-z0-9]+$`)

// consoleLogs lets EC2 mirror consoles into CloudWatch Logs without
// either service knowing the other.
type consoleLogs struct{ logs *logs.Service }

func (c consoleLogs) Append(ctx context.Context, account, region, group, stream string, lines []ec2.ConsoleLine) error {
	events := make([]logs.Event, len(lines))
	for i, l := range lines {
		events[i] = logs.Event{Timestamp: l.Time, Message: l.Text}
	}
	return c.logs.Append(ctx, account, region, group, stream, events)
}

// lifecycleNotifier delivers Auto Scaling lifecycle hook notifications to
// the Lambda functions hooks name, invoked asynchronously.
type lifecycleNotifier struct{ lambda *lambda.Service }

func (n lifecycleNotifier) NotifyLifecycle(ctx context.Context, target string, message []byte) error {
	return n.lambda.InvokeEvent(ctx, target, message)
}

// functionLogs lets Lambda's environments write function output to
// CloudWatch Logs; Append creates the group /aws/lambda/NAME and the
// stream on first use, as Lambda does.
type functionLogs struct{ logs *logs.Service }

func (f functionLogs) Append(ctx context.Context, account, region, group, stream string, events []execenv.LogEvent) error {
	evs := make([]logs.Event, len(events))
	for i, e := range events {
		evs[i] = logs.Event{Timestamp: e.Time, Message: e.Message}
	}
	return f.logs.Append(ctx, account, region, group, stream, evs)
}

// functionCredentials gives Lambda functions sessions of their execution
// roles through STS's AssumeRole, as Lambda assumes a function's role.
type functionCredentials struct{ sts *sts.Service }

func (f functionCredentials) RoleCredentials(ctx context.Context, roleARN, sessionName string) (execenv.Credentials, error) {
	out, err := f.sts.AssumeRole(ctx, &stsapi.AssumeRoleInput{RoleArn: &roleARN, RoleSessionName: &sessionName})
	if err != nil {
		return execenv.Credentials{}, err
	}
	c := out.Credentials
	return execenv.Credentials{AccessKeyID: *c.AccessKeyId, SecretAccessKey: *c.SecretAccessKey, SessionToken: *c.SessionToken}, nil
}

// Listen binds the configured address. It is separate from Serve so callers
// learn the address (port 0 picks a free one) before serving.
func (s *Server) Listen() error {
	ln, err := net.Listen("tcp", s.cfg.Listen)
	if err != nil {
		return fmt.Errorf("listening on %s: %w", s.cfg.Listen, err)
	}
	s.ln = ln
	return nil
}

// Endpoint is the URL clients use, e.g. http://127.0.0.1:4566.
func (s *Server) Endpoint() string { return "http://" + s.ln.Addr().String() }

// Handler is the gateway, for tests that serve it themselves.
func (s *Server) Handler() http.Handler { return s.gateway }

// Serve serves until ctx ends, then shuts down gracefully: in-flight
// requests finish (for up to 10 s), then every service stops its children.
func (s *Server) Serve(ctx context.Context) error {
	if s.ln == nil {
		if err := s.Listen(); err != nil {
			return err
		}
	}
	// Instances that were running before a restart boot again, now that
	// they can be told nephele's address.
	if err := s.ec2.Start(); err != nil {
		return err
	}
	if err := s.cloudwatch.Start(); err != nil {
		return err
	}
	if err := s.autoscaling.Start(); err != nil {
		return err
	}
	if err := s.lambda.Start(); err != nil {
		return err
	}
	if err := s.elbv2.Start(); err != nil {
		return err
	}
	s.http = &http.Server{
		Handler:           s.gateway,
		ReadHeaderTimeout: 30 * time.Second,
		// Without it, idle keep-alive connections would close after
		// ReadHeaderTimeout, racing clients that pause between calls.
		IdleTimeout: 5 * time.Minute,
		ErrorLog:    slog.NewLogLogger(s.cfg.Logger.Handler(), slog.LevelDebug),
	}
	errc := make(chan error, 1)
	go func() { errc <- s.http.Serve(s.ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := s.http.Shutdown(shutdownCtx)
	if err2 := <-errc; !errors.Is(err2, http.ErrServerClosed) && err == nil {
		err = err2
	}
	return err
}

// Reset drops all state and stops everything the services started.
func (s *Server) Reset(ctx context.Context) error {
	var errs []error
	for _, svc := range s.services {
		if r, ok := svc.(service.Resetter); ok {
			errs = append(errs, r.Reset(ctx))
		}
	}
	errs = append(errs, s.store.Reset())
	return errors.Join(errs...)
}

// Close stops the services' background work and closes the state.
func (s *Server) Close() error {
	var errs []error
	for _, svc := range s.services {
		if c, ok := svc.(io.Closer); ok {
			errs = append(errs, c.Close())
		}
	}
	if s.ln != nil && s.http == nil {
		errs = append(errs, s.ln.Close())
	}
	errs = append(errs, s.store.Close())
	if s.tmpDir != "" {
		errs = append(errs, os.RemoveAll(s.tmpDir))
	}
	return errors.Join(errs...)
}

// scalingActions lets CloudWatch alarms run Auto Scaling policies.
type scalingActions struct{ as *autoscaling.Service }

func (a scalingActions) ExecuteAlarmAction(ctx context.Context, policyARN string, ev cloudwatch.AlarmEvent) error {
	return a.as.ExecuteAlarmAction(ctx, ev.Account, ev.Region, policyARN, autoscaling.Trigger{
		AlarmName: ev.AlarmName, State: ev.State, Threshold: ev.Threshold, Values: ev.Values, Time: ev.Time,
	})
}

// lifecycleLink gives EC2 Auto Scaling's lifecycle states, once Auto
// Scaling exists (it is made after EC2, which it launches through).
type lifecycleLink struct{ as *autoscaling.Service }

func (l *lifecycleLink) TargetLifecycleState(account, region, instanceID string) string {
	if l.as == nil {
		return ""
	}
	return l.as.TargetLifecycleState(account, region, instanceID)
}
