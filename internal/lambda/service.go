// Package lambda serves the AWS Lambda API's control plane: functions,
// versions, aliases, layers, concurrency, asynchronous invocation with
// retries and destinations, function URLs, permissions and tags.
//
// Records live in the store (records.go documents the buckets). Real
// execution is the job of package execenv, reached through the Executor
// interface: this package decides what runs (which version, whether
// concurrency allows it, when an async event is retried) and execenv runs
// it. Three pieces of state live in memory only, because they describe
// running things rather than configuration: the in-flight counts behind
// throttling (concurrency.go), the asynchronous event queue (async.go) and
// the function URL listeners (urls.go).
package lambda

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"io"
	"log/slog"
	mrand "math/rand/v2"
	"strings"
	"sync"
	"time"

	api "github.com/nephele-dev/nephele/internal/api/lambda"
	"github.com/nephele-dev/nephele/internal/api/model"
	"github.com/nephele-dev/nephele/internal/arn"
	"github.com/nephele-dev/nephele/internal/clock"
	"github.com/nephele-dev/nephele/internal/lambda/execenv"
	"github.com/nephele-dev/nephele/internal/metrics"
	"github.com/nephele-dev/nephele/internal/service"
	"github.com/nephele-dev/nephele/internal/store"
)

// Executor runs functions: *execenv.Pool implements it, tests fake it.
type Executor interface {
	Invoke(ctx context.Context, fn *execenv.Function, req execenv.Request) (execenv.Result, error)
	Provision(ctx context.Context, fn *execenv.Function, n int) error
	Prepare(ctx context.Context, fn *execenv.Function) error
	Retire(account, region, name, version string)
	Busy(account, region, name, version string) int
	Close() error
}

// RoleCredentials issues temporary credentials of a function's execution
// role, as Lambda assumes the role for its environments; ctx carries the
// function's account and region. main adapts STS's AssumeRole to it;
// without one, functions get static test credentials.
type RoleCredentials interface {
	RoleCredentials(ctx context.Context, roleARN, sessionName string) (execenv.Credentials, error)
}

// Destinations delivers asynchronous invocation records to destinations
// other than Lambda functions (SQS queues, SNS topics, EventBridge buses),
// and dead-letter messages. Lambda function destinations are handled by
// this package itself.
type Destinations interface {
	Send(ctx context.Context, account, region, targetARN string, record []byte) error
}

// Options configure the service.
type Options struct {
	// Executor runs functions; required.
	Executor Executor
	// Logger receives controller failures; nil discards them.
	Logger *slog.Logger
	// Metrics receives the AWS/Lambda metrics; nil discards them.
	Metrics metrics.Sink
	// Endpoint is nephele's URL, for AWS_ENDPOINT_URL in environments and
	// for GetFunction's Code.Location; nil means http://127.0.0.1:4566.
	Endpoint func() string
	// ConcurrencyLimit is the account's concurrent executions limit per
	// region; 0 means AWS's default of 1000.
	ConcurrencyLimit int
	// Credentials issues the execution role's credentials; nil gives
	// static test credentials.
	Credentials RoleCredentials
	// Destinations delivers records to SQS, SNS and EventBridge; nil makes
	// such deliveries fail with a clear error in the log.
	Destinations Destinations
	// Rand returns a uniform number in [0, 1), for weighted aliases; nil
	// means math/rand.
	Rand func() float64
	// CheckRuntime reports whether a runtime can run here; nil means
	// execenv.CheckRuntime.
	CheckRuntime func(runtime string) error
	// StateDelay is how long (clock time) a new function stays Pending
	// and an update InProgress; 0 means DefaultStateDelay.
	StateDelay time.Duration
}

// DefaultStateDelay is how long a function is Pending after creation and
// InProgress after an update: short, but long enough that clients must
// use the waiters (FunctionActiveV2, FunctionUpdatedV2) as on AWS.
const DefaultStateDelay = time.Second

// DefaultConcurrencyLimit is Lambda's default concurrent executions quota.
const DefaultConcurrencyLimit = 1000

// Service is the Lambda service.
type Service struct {
	st   store.Store
	clk  clock.Clock
	opts Options
	env  Executor

	// codeMu guards code, the deployment packages and layer contents read
	// so far, so a warm invoke does not decode a zip from the store.
	codeMu sync.Mutex
	code   map[string][]byte

	conc    *limiter
	queue   *asyncQueue
	urls    *urlServers
	metrics *metricBuffer
	prov    provisioners

	// credMu guards creds, role session credentials by scope, role and
	// function.
	credMu sync.Mutex
	creds  map[string]cachedCredentials

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

var (
	_ service.Service  = (*Service)(nil)
	_ service.Resetter = (*Service)(nil)
	_ io.Closer        = (*Service)(nil)
)

// New returns the Lambda service keeping its records in st and reading
// time from clk. Its controllers run from Start until Close.
func New(st store.Store, clk clock.Clock, opts Options) *Service {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Metrics == nil {
		opts.Metrics = metrics.Discard
	}
	if opts.Endpoint == nil {
		opts.Endpoint = func() string { return "http://127.0.0.1:4566" }
	}
	if opts.ConcurrencyLimit <= 0 {
		opts.ConcurrencyLimit = DefaultConcurrencyLimit
	}
	if opts.Rand == nil {
		opts.Rand = mrand.Float64
	}
	if opts.CheckRuntime == nil {
		opts.CheckRuntime = execenv.CheckRuntime
	}
	if opts.StateDelay <= 0 {
		opts.StateDelay = DefaultStateDelay
	}
	s := &Service{st: st, clk: clk, opts: opts, env: opts.Executor, code: map[string][]byte{}}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.conc = newLimiter(opts.ConcurrencyLimit)
	s.queue = newAsyncQueue(s)
	s.conc.released = s.queue.wakeThrottled
	s.urls = newURLServers(s)
	s.metrics = newMetricBuffer(s)
	return s
}

// Start starts the asynchronous queue and metrics controllers and serves
// the function URLs the store holds (after a restart).
func (s *Service) Start() error {
	s.wg.Add(2)
	go func() { defer s.wg.Done(); s.queue.run(s.ctx) }()
	go func() { defer s.wg.Done(); s.metrics.run(s.ctx) }()
	return s.urls.restore()
}

// Close stops the controllers and URL listeners, then ends every
// execution environment.
func (s *Service) Close() error {
	s.cancel()
	s.urls.closeAll()
	s.queue.wait()
	s.wg.Wait()
	if s.env != nil {
		return s.env.Close()
	}
	return nil
}

// Reset forgets the queued events, closes the URL listeners and retires
// every environment; the store's own Reset drops the records.
func (s *Service) Reset(ctx context.Context) error {
	s.stopProvisioning("")
	s.queue.reset()
	s.urls.closeAll()
	s.conc.reset()
	s.codeMu.Lock()
	s.code = map[string][]byte{}
	s.codeMu.Unlock()
	s.credMu.Lock()
	s.creds = nil
	s.credMu.Unlock()
	if s.env != nil {
		for _, k := range s.conc.functions() {
			s.env.Retire(k.account, k.region, k.name, "")
		}
		s.retireAll()
	}
	return nil
}

// retireAll ends the environments of every function in the store.
func (s *Service) retireAll() {
	_ = s.st.View(func(tx store.Tx) error {
		return tx.ForEach(bucketFunctions, "", func(k string, decode func(any) error) error {
			parts := splitKey(k)
			if len(parts) == 3 {
				s.env.Retire(parts[0], parts[1], parts[2], "")
			}
			return nil
		})
	})
}

// Name is Lambda's signing name.
func (s *Service) Name() string { return "lambda" }

// Model returns the Lambda API model.
func (s *Service) Model() *model.Service { return api.Model() }

// Operations lists every operation served, grouped by the file that
// implements it.
func (s *Service) Operations() []service.Operation {
	return []service.Operation{
		// functions.go
		service.Handle("CreateFunction", s.CreateFunction),
		service.Handle("GetFunction", s.GetFunction),
		service.Handle("GetFunctionConfiguration", s.GetFunctionConfiguration),
		service.Handle("UpdateFunctionCode", s.UpdateFunctionCode),
		service.Handle("UpdateFunctionConfiguration", s.UpdateFunctionConfiguration),
		service.Handle("DeleteFunction", s.DeleteFunction),
		service.Handle("ListFunctions", s.ListFunctions),
		service.Handle("GetAccountSettings", s.GetAccountSettings),

		// invoke.go
		service.Handle("Invoke", s.Invoke),
		service.Handle("InvokeAsync", s.InvokeAsync),

		// versions.go
		service.Handle("PublishVersion", s.PublishVersion),
		service.Handle("ListVersionsByFunction", s.ListVersionsByFunction),
		service.Handle("CreateAlias", s.CreateAlias),
		service.Handle("GetAlias", s.GetAlias),
		service.Handle("UpdateAlias", s.UpdateAlias),
		service.Handle("ListAliases", s.ListAliases),
		service.Handle("DeleteAlias", s.DeleteAlias),

		// concurrency.go
		service.Handle("PutFunctionConcurrency", s.PutFunctionConcurrency),
		service.Handle("GetFunctionConcurrency", s.GetFunctionConcurrency),
		service.Handle("DeleteFunctionConcurrency", s.DeleteFunctionConcurrency),
		service.Handle("PutProvisionedConcurrencyConfig", s.PutProvisionedConcurrencyConfig),
		service.Handle("GetProvisionedConcurrencyConfig", s.GetProvisionedConcurrencyConfig),
		service.Handle("ListProvisionedConcurrencyConfigs", s.ListProvisionedConcurrencyConfigs),
		service.Handle("DeleteProvisionedConcurrencyConfig", s.DeleteProvisionedConcurrencyConfig),

		// async.go
		service.Handle("PutFunctionEventInvokeConfig", s.PutFunctionEventInvokeConfig),
		service.Handle("UpdateFunctionEventInvokeConfig", s.UpdateFunctionEventInvokeConfig),
		service.Handle("GetFunctionEventInvokeConfig", s.GetFunctionEventInvokeConfig),
		service.Handle("ListFunctionEventInvokeConfigs", s.ListFunctionEventInvokeConfigs),
		service.Handle("DeleteFunctionEventInvokeConfig", s.DeleteFunctionEventInvokeConfig),

		// layers.go
		service.Handle("PublishLayerVersion", s.PublishLayerVersion),
		service.Handle("GetLayerVersion", s.GetLayerVersion),
		service.Handle("GetLayerVersionByArn", s.GetLayerVersionByArn),
		service.Handle("ListLayers", s.ListLayers),
		service.Handle("ListLayerVersions", s.ListLayerVersions),
		service.Handle("DeleteLayerVersion", s.DeleteLayerVersion),
		service.Handle("AddLayerVersionPermission", s.AddLayerVersionPermission),
		service.Handle("RemoveLayerVersionPermission", s.RemoveLayerVersionPermission),
		service.Handle("GetLayerVersionPolicy", s.GetLayerVersionPolicy),

		// urls.go
		service.Handle("CreateFunctionUrlConfig", s.CreateFunctionUrlConfig),
		service.Handle("GetFunctionUrlConfig", s.GetFunctionUrlConfig),
		service.Handle("UpdateFunctionUrlConfig", s.UpdateFunctionUrlConfig),
		service.Handle("DeleteFunctionUrlConfig", s.DeleteFunctionUrlConfig),
		service.Handle("ListFunctionUrlConfigs", s.ListFunctionUrlConfigs),

		// policy.go
		service.Handle("AddPermission", s.AddPermission),
		service.Handle("RemovePermission", s.RemovePermission),
		service.Handle("GetPolicy", s.GetPolicy),

		// settings.go
		service.Handle("GetFunctionCodeSigningConfig", s.GetFunctionCodeSigningConfig),
		service.Handle("GetRuntimeManagementConfig", s.GetRuntimeManagementConfig),
		service.Handle("GetFunctionRecursionConfig", s.GetFunctionRecursionConfig),

		// esm.go
		service.Handle("CreateEventSourceMapping", s.CreateEventSourceMapping),
		service.Handle("GetEventSourceMapping", s.GetEventSourceMapping),
		service.Handle("UpdateEventSourceMapping", s.UpdateEventSourceMapping),
		service.Handle("DeleteEventSourceMapping", s.DeleteEventSourceMapping),
		service.Handle("ListEventSourceMappings", s.ListEventSourceMappings),

		// tagging.go
		service.Handle("TagResource", s.TagResource),
		service.Handle("UntagResource", s.UntagResource),
		service.Handle("ListTags", s.ListTags),
	}
}

// scope is the account and region a request acts in: functions are
// regional.
type scope struct {
	account   string
	region    string
	partition string
}

func scopeOf(ctx context.Context) scope {
	r := service.RequestFrom(ctx)
	return newScope(r.AccountID, r.Region)
}

func newScope(account, region string) scope {
	return scope{account: account, region: region, partition: arn.Partition(region)}
}

func (sc scope) prefix() string { return sc.account + "/" + sc.region + "/" }

// context is a background context acting in the scope, for work done on
// behalf of the scope outside a request (async events, URLs, alarms).
func (sc scope) context(parent context.Context) context.Context {
	return service.Scope{Account: sc.account, Region: sc.region}.Context(parent)
}

// functionARN is the unqualified ARN of a function.
func (sc scope) functionARN(name string) string {
	return arn.ARN{Partition: sc.partition, Service: "lambda", Region: sc.region, AccountID: sc.account, Resource: "function:" + name}.String()
}

// qualifiedARN is the ARN of a version or alias; an empty qualifier gives
// the unqualified ARN.
func (sc scope) qualifiedARN(name, qualifier string) string {
	if qualifier == "" {
		return sc.functionARN(name)
	}
	return sc.functionARN(name) + ":" + qualifier
}

// layerARN is the ARN of a layer (without version).
func (sc scope) layerARN(name string) string {
	return arn.ARN{Partition: sc.partition, Service: "lambda", Region: sc.region, AccountID: sc.account, Resource: "layer:" + name}.String()
}

// formatTime is the form of Lambda's LastModified and CreationTime
// strings, e.g. 2024-05-01T12:00:00.000+0000.
func formatTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000+0000") }

// newUUID returns a random version 4 UUID, the form of RevisionIds, request
// IDs and event source mapping IDs.
func newUUID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// splitKey splits a store key "<account>/<region>/<rest>" into its three
// parts.
func splitKey(k string) []string {
	var parts []string
	for range 2 {
		i := strings.IndexByte(k, '/')
		if i < 0 {
			break
		}
		parts = append(parts, k[:i])
		k = k[i+1:]
	}
	return append(parts, k)
}

// str reads an optional string member; absent is "".
func str(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// ptr returns a pointer to v, for the API shapes' optional members.
func ptr[T any](v T) *T { return &v }

// optional returns nil for "", so unset members are left out as AWS leaves
// them out.
func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// deref reads an optional value, with def when absent.
func deref[T any](p *T, def T) T {
	if p == nil {
		return def
	}
	return *p
}
