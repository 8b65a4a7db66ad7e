package lambda

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	api "github.com/nephele-dev/nephele/internal/api/lambda"
	"github.com/nephele-dev/nephele/internal/arn"
	"github.com/nephele-dev/nephele/internal/awserr"
	"github.com/nephele-dev/nephele/internal/awsid"
	"github.com/nephele-dev/nephele/internal/lambda/execenv"
	"github.com/nephele-dev/nephele/internal/service"
	"github.com/nephele-dev/nephele/internal/store"
)

// Invocation payload limits ("Lambda quotas").
const (
	maxSyncPayload  = 6291456 // 6 MB, request and response
	maxAsyncPayload = 262144  // 256 KB
)

// target is what one invocation runs: a version of a function, reached
// through the qualifier it was invoked with.
type target struct {
	sc        scope
	fn        *functionRecord
	version   *versionRecord
	qualifier string // as invoked: "" (unqualified), a version or an alias
}

// invokedARN is the ARN the function was invoked by.
func (t *target) invokedARN() string { return t.sc.qualifiedARN(t.fn.Name, t.qualifier) }

// executedVersion is the version that ran.
func (t *target) executedVersion() string { return str(t.version.Config.Version) }

// lookup resolves a function and qualifier to the version to run now:
// for an alias with routing, a version drawn by weight.
func (s *Service) lookup(sc scope, ref functionRef) (*target, error) {
	t := &target{sc: sc, qualifier: ref.qualifier}
	err := s.st.View(func(tx store.Tx) error {
		f, v, alias, err := resolve(tx, sc, ref)
		if err != nil {
			return err
		}
		t.fn, t.version = f, v
		if alias != nil && len(alias.Weights) > 0 {
			if pick := pickVersion(alias, s.opts.Rand()); pick != alias.Version {
				if t.version, err = loadVersion(tx, sc, ref.name, pick); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return t, nil
}

// pickVersion draws the version an alias routes one invocation to: each
// additional version with its weight, the primary with the rest. r is
// uniform in [0, 1).
func pickVersion(a *aliasRecord, r float64) string {
	for _, v := range sortedKeys(a.Weights) {
		w := a.Weights[v]
		if r < w {
			return v
		}
		r -= w
	}
	return a.Version
}

// Invoke runs a function: synchronously (RequestResponse), by queueing an
// event (Event, 202) or only checking that it could (DryRun, 204).
func (s *Service) Invoke(ctx context.Context, in *api.InvokeInput) (*api.InvokeOutput, error) {
	sc := scopeOf(ctx)
	ref, err := parseFunction(str(in.FunctionName), in.Qualifier)
	if err != nil {
		return nil, err
	}
	typ := deref(in.InvocationType, "RequestResponse")
	limit := maxSyncPayload
	if typ == "Event" {
		limit = maxAsyncPayload
	}
	if len(in.Payload) > limit {
		return nil, requestTooLarge(limit)
	}
	if len(in.Payload) > 0 && !json.Valid(in.Payload) {
		return nil, invalidContent("Could not parse request body into json: Could not parse payload into json: Unexpected character: was expecting a JSON value")
	}
	if in.ClientContext != nil {
		if _, err := base64.StdEncoding.DecodeString(*in.ClientContext); err != nil {
			return nil, invalidContent("Client context must be a valid Base64-encoded JSON object.")
		}
	}
	t, err := s.lookup(sc, ref)
	if err != nil {
		return nil, err
	}
	if s.pending(t.version) {
		return nil, pendingFunction()
	}
	switch typ {
	case "DryRun":
		return &api.InvokeOutput{StatusCode: ptr(int32(http.StatusNoContent))}, nil
	case "Event":
		s.queue.enqueue(&asyncEvent{
			ID: service.RequestFrom(ctx).RequestID, Account: sc.account, Region: sc.region,
			Function: ref.name, Qualifier: ref.qualifier, Payload: in.Payload,
		})
		return &api.InvokeOutput{StatusCode: ptr(int32(http.StatusAccepted))}, nil
	}
	req := execenv.Request{
		ID:            service.RequestFrom(ctx).RequestID,
		Payload:       in.Payload,
		ClientContext: str(in.ClientContext),
		InvokedARN:    t.invokedARN(),
		Tail:          str(in.LogType) == "Tail",
	}
	if req.ID == "" {
		req.ID = awsid.RequestID()
	}
	res, err := s.run(ctx, t, req)
	if err != nil {
		return nil, err
	}
	out := &api.InvokeOutput{
		StatusCode:      ptr(int32(http.StatusOK)),
		ExecutedVersion: ptr(t.executedVersion()),
		Payload:         res.Payload,
		FunctionError:   optional(res.FunctionError),
	}
	if req.Tail {
		out.LogResult = ptr(base64.StdEncoding.EncodeToString(res.LogTail))
	}
	return out, nil
}

// InvokeAsync is the deprecated asynchronous invoke: an Event invocation
// answered with Status 202.
func (s *Service) InvokeAsync(ctx context.Context, in *api.InvokeAsyncInput) (*api.InvokeAsyncOutput, error) {
	_, err := s.Invoke(ctx, &api.InvokeInput{FunctionName: in.FunctionName, InvocationType: ptr("Event"), Payload: in.InvokeArgs})
	if err != nil {
		return nil, err
	}
	return &api.InvokeAsyncOutput{Status: ptr(int32(http.StatusAccepted))}, nil
}

// run executes one invocation within the concurrency limits: a throttle
// is TooManyRequestsException.
func (s *Service) run(ctx context.Context, t *target, req execenv.Request) (execenv.Result, error) {
	release, err := s.conc.acquire(s, t.sc, t.fn)
	if err != nil {
		s.metrics.throttle(t)
		return execenv.Result{}, err
	}
	defer release()
	fn, err := s.envFunction(ctx, t)
	if err != nil {
		return execenv.Result{}, err
	}
	s.metrics.concurrent(t, s.conc.inFlight(t.sc, t.fn.Name))
	res, err := s.env.Invoke(ctx, fn, req)
	if err != nil {
		var ru *execenv.RuntimeUnavailableError
		if errors.As(err, &ru) {
			return res, &awserr.Error{Code: "InvalidRuntimeException", Status: http.StatusBadGateway,
				Message: "nephele cannot run runtime " + ru.Runtime + " on this machine: " + ru.Missing + " not found in PATH", Cause: err}
		}
		if ctx.Err() != nil {
			return res, ctx.Err()
		}
		return res, serviceError("nephele failed to run the function: %v", err)
	}
	s.metrics.invocation(t, res)
	return res, nil
}

// staticCredentials are the credentials functions get when no
// RoleCredentials is wired in; nephele accepts any credentials.
var staticCredentials = sync.OnceValue(func() execenv.Credentials {
	return execenv.Credentials{
		AccessKeyID: awsid.AccessKeyID(true), SecretAccessKey: awsid.SecretAccessKey(), SessionToken: awsid.SessionToken(),
	}
})

// snapStartOn reports whether a version's environments are restored from
// a snapshot taken after init; $LATEST always starts cold.
func snapStartOn(c *api.FunctionConfiguration) bool {
	return c.SnapStart != nil && str(c.SnapStart.ApplyOn) == "PublishedVersions" && str(c.Version) != latest
}

// envFunction is what execenv needs to run the target's version.
func (s *Service) envFunction(ctx context.Context, t *target) (*execenv.Function, error) {
	v := t.version
	c := &v.Config
	code, err := s.readCode(t.sc, v.Code)
	if err != nil {
		return nil, err
	}
	fn := &execenv.Function{
		Account: t.sc.account, Region: t.sc.region, Name: t.fn.Name,
		ARN:                t.sc.functionARN(t.fn.Name),
		Version:            str(c.Version),
		Revision:           v.Revision,
		Runtime:            str(c.Runtime),
		Handler:            str(c.Handler),
		Code:               code,
		CodeSHA256:         str(c.CodeSha256),
		Timeout:            secondsOf(deref(c.Timeout, defaultTimeout)),
		MemoryMB:           int(deref(c.MemorySize, defaultMemory)),
		EphemeralStorageMB: defaultEphemeral,
		Endpoint:           s.opts.Endpoint(),
		LogGroup:           "/aws/lambda/" + t.fn.Name,
	}
	if c.EphemeralStorage != nil {
		fn.EphemeralStorageMB = int(deref(c.EphemeralStorage.Size, defaultEphemeral))
	}
	if len(c.Architectures) > 0 {
		fn.Architecture = c.Architectures[0]
	}
	fn.SnapStart = snapStartOn(c)
	if c.LoggingConfig != nil && str(c.LoggingConfig.LogGroup) != "" {
		fn.LogGroup = str(c.LoggingConfig.LogGroup)
	}
	if c.Environment != nil && len(c.Environment.Variables) > 0 {
		fn.Environment = c.Environment.Variables
	}
	for _, l := range v.Layers {
		b, err := s.readCode(newScope(l.Account, l.Region), l.Code)
		if err != nil {
			return nil, err
		}
		fn.Layers = append(fn.Layers, execenv.Layer{ARN: l.ARN, Code: b, CodeSHA256: l.SHA})
	}
	fn.Credentials = s.roleCredentials(ctx, t.sc, str(c.Role), t.fn.Name)
	return fn, nil
}

// credentialLifetime is how long role credentials are reused: less than
// AssumeRole's default session of an hour.
const credentialLifetime = 50 * time.Minute

// cachedCredentials are a role session's credentials and when to stop
// handing them out.
type cachedCredentials struct {
	creds execenv.Credentials
	until time.Time
}

// roleCredentials are the credentials an environment of a function gets:
// a session of its execution role, reused for credentialLifetime, so warm
// invokes cost no STS call. A role that cannot be assumed (nephele has no
// IAM role of that name) gives static test credentials instead of failing
// the invoke, since nephele accepts any credentials anyway.
func (s *Service) roleCredentials(ctx context.Context, sc scope, role, session string) execenv.Credentials {
	if s.opts.Credentials == nil {
		return staticCredentials()
	}
	key := sc.prefix() + role + "|" + session
	now := s.clk.Now()
	s.credMu.Lock()
	c, ok := s.creds[key]
	s.credMu.Unlock()
	if ok && now.Before(c.until) {
		return c.creds
	}
	creds, err := s.opts.Credentials.RoleCredentials(sc.context(context.WithoutCancel(ctx)), role, session)
	if err != nil {
		s.opts.Logger.Debug("lambda: execution role not assumed; static credentials instead", "role", role, "err", err)
		creds = staticCredentials()
	}
	s.credMu.Lock()
	if s.creds == nil {
		s.creds = map[string]cachedCredentials{}
	}
	s.creds[key] = cachedCredentials{creds: creds, until: now.Add(credentialLifetime)}
	s.credMu.Unlock()
	return creds
}

// InvokeForELB invokes a function synchronously for an Application Load
// Balancer's lambda target group, with the ALB event, and returns the
// function's response. A function error or a throttle is an error: the
// load balancer answers 502 or 503 for it, not the function's payload.
func (s *Service) InvokeForELB(ctx context.Context, functionARN string, event []byte) ([]byte, error) {
	a, err := arn.Parse(functionARN)
	if err != nil {
		return nil, err
	}
	ref, err := parseFunction(functionARN, nil)
	if err != nil {
		return nil, err
	}
	sc := newScope(a.AccountID, a.Region)
	t, err := s.lookup(sc, ref)
	if err != nil {
		return nil, err
	}
	if s.pending(t.version) {
		return nil, pendingFunction()
	}
	res, err := s.run(sc.context(ctx), t, execenv.Request{ID: awsid.RequestID(), Payload: event, InvokedARN: t.invokedARN()})
	if err != nil {
		return nil, err
	}
	if res.FunctionError != "" {
		return nil, fmt.Errorf("lambda: function %s failed: %s", functionARN, res.Payload)
	}
	return res.Payload, nil
}
