// Package execenv runs Lambda functions for real: it unpacks deployment
// packages and layers, starts execution environments (process trees running
// the runtime's bootstrap, each served its own Lambda Runtime API on
// loopback), reuses warm environments one invocation at a time, reaps idle
// ones on the clock, enforces timeouts, captures logs and writes the
// START/END/REPORT lines Lambda writes. It never reads the store: the
// control plane (package lambda) hands it everything in a Function.
package execenv

import (
	"context"
	"log/slog"
	"time"

	"github.com/nephele-dev/nephele/internal/clock"
)

// Options configures a Pool.
type Options struct {
	// Clock drives timeouts, idle reaping and the Runtime API deadlines.
	Clock clock.Clock
	// Logger receives nephele-side diagnostics (not function output).
	Logger *slog.Logger
	// Dir is the working directory for unpacked code, layers and
	// environments.
	Dir string
	// IdleTimeout is how long (clock time) a warm environment may sit idle
	// before it is reaped; 0 means 10 minutes.
	IdleTimeout time.Duration
	// Logs is where function output goes (CloudWatch Logs); nil discards.
	Logs LogSink
	// TimeScale is how much faster than real time Clock runs (0 means
	// 1). An init phase is real work, so its 10-second limit is kept in
	// real time: TimeScale times as long on the clock.
	TimeScale float64
}

// LogSink receives function output: one stream per environment, as Lambda
// does (group "/aws/lambda/NAME" unless Function.LogGroup says otherwise,
// stream "YYYY/MM/DD/[VERSION]<32 hex>").
type LogSink interface {
	Append(ctx context.Context, account, region, group, stream string, events []LogEvent) error
}

// LogEvent is one line of function log.
type LogEvent struct {
	Time    time.Time
	Message string
}

// Function is everything execenv needs to run one version of a function.
type Function struct {
	Account, Region string
	Name            string
	// ARN is the unqualified function ARN.
	ARN string
	// Version is "$LATEST" or "1", "2", ...
	Version string
	// Revision changes on every code/config update; environments are only
	// reused for the same Revision.
	Revision string
	// Runtime is "python3.12", "nodejs20.x", "provided.al2023", ...
	Runtime string
	// Handler is _HANDLER: "file.function" for Python and Node.js, free
	// form for provided runtimes.
	Handler string
	// Code is the deployment package zip.
	Code []byte
	// CodeSHA256 is the base64 SHA-256 of Code, as Lambda reports it; it
	// keys the cache of unpacked code.
	CodeSHA256 string
	// Layers are unpacked in order over one /opt directory; later layers
	// win.
	Layers []Layer
	// Environment is the function's own variables; the control plane
	// refuses reserved keys, so these only override non-reserved defaults.
	Environment map[string]string
	// Timeout defaults to 3 s.
	Timeout time.Duration
	// MemoryMB is 128..10240; 0 means 128.
	MemoryMB int
	// EphemeralStorageMB is informational: each environment gets a /tmp of
	// its own (TMPDIR), not capped.
	EphemeralStorageMB int
	// Architecture is "x86_64" or "arm64" (informational).
	Architecture string
	// LogGroup defaults to "/aws/lambda/" + Name.
	LogGroup string
	// Credentials come from the execution role.
	Credentials Credentials
	// Endpoint is AWS_ENDPOINT_URL, pointing back to nephele.
	Endpoint string
	// SnapStart says new environments are restored from an initialised
	// snapshot of this version (SnapStart ApplyOn PublishedVersions, for a
	// published version; the control plane decides). Python functions are
	// restored by forking a process that has run init once; other runtimes
	// cold-start as usual.
	SnapStart bool
}

// Layer is one layer version's content.
type Layer struct {
	ARN        string
	Code       []byte
	CodeSHA256 string
}

// Credentials are the execution role's temporary credentials.
type Credentials struct {
	AccessKeyID, SecretAccessKey, SessionToken string
}

// Request is one invocation.
type Request struct {
	// ID is the request ID (uuid).
	ID      string
	Payload []byte
	// ClientContext is base64 as sent in X-Amz-Client-Context (passed as
	// Lambda-Runtime-Client-Context).
	ClientContext string
	// TraceID is passed as Lambda-Runtime-Trace-Id.
	TraceID string
	// InvokedARN is the qualified ARN used to invoke
	// (Lambda-Runtime-Invoked-Function-Arn).
	InvokedARN string
	// Tail asks for the last 4 KB of this invocation's log (LogType=Tail).
	Tail bool
}

// Result is the outcome of one invocation.
type Result struct {
	// Payload is the response payload, or the error JSON
	// {"errorMessage","errorType","stackTrace"} when FunctionError != "".
	Payload []byte
	// FunctionError is "" or "Unhandled" (X-Amz-Function-Error).
	FunctionError string
	// LogTail is the last 4 KB of the invocation's log (START ... REPORT),
	// when Request.Tail.
	LogTail []byte
	Cold    bool
	// InitDuration is set on cold starts only.
	InitDuration time.Duration
	// RestoreDuration is set instead when the environment was restored
	// from a SnapStart snapshot.
	RestoreDuration time.Duration
	Duration        time.Duration
	BilledDuration  time.Duration
	MaxMemoryUsedMB int
	TimedOut        bool
}

// RuntimeUnavailableError says the runtime's interpreter is missing on this
// machine.
type RuntimeUnavailableError struct{ Runtime, Missing string }
