package lambda

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"time"

	api "github.com/nephele-dev/nephele/internal/api/lambda"
	"github.com/nephele-dev/nephele/internal/arn"
	"github.com/nephele-dev/nephele/internal/awserr"
	"github.com/nephele-dev/nephele/internal/awsid"
	"github.com/nephele-dev/nephele/internal/lambda/execenv"
	"github.com/nephele-dev/nephele/internal/store"
)

// Asynchronous invocation defaults and back-off ("Configuring error
// handling for asynchronous invocation"): two retries, one minute before
// the first and two before the second; events kept up to six hours.
const (
	defaultMaxRetries = 2
	defaultMaxAge     = 21600
	// throttleRetryMax bounds the back-off of an event that could not run
	// for lack of concurrency; Lambda retries such events until their
	// maximum age.
	throttleRetryMax = 5 * time.Minute
)

// retryDelay is the wait after the n-th failed attempt (n >= 1).
func retryDelay(n int) time.Duration { return time.Duration(n) * time.Minute }

// throttleDelay is the wait after the n-th throttled attempt: one second,
// doubling up to throttleRetryMax.
func throttleDelay(n int) time.Duration {
	d := time.Second << min(n, 20)
	return min(d, throttleRetryMax)
}

// asyncEvent is one queued asynchronous invocation.
type asyncEvent struct {
	ID              string
	Account, Region string
	Function        string
	Qualifier       string
	Payload         []byte
	Attempts        int // failed attempts so far
	Throttles       int
	// Throttled marks an event waiting for concurrency: a slot given
	// back in its region runs it before its back-off ends.
	Throttled         bool
	Enqueued, NextRun time.Time
}

// asyncQueue holds the events waiting to run. One goroutine (run) starts
// each event when it is due, in its own goroutine; executions are bounded
// by the concurrency limiter, and a throttled event waits and retries.
type asyncQueue struct {
	s *Service

	mu      sync.Mutex
	events  []*asyncEvent
	wake    chan struct{}
	running sync.WaitGroup
	// gen increases on reset, so events of an earlier generation that
	// finish running are not requeued.
	gen int
}

func newAsyncQueue(s *Service) *asyncQueue {
	return &asyncQueue{s: s, wake: make(chan struct{}, 1)}
}

// enqueue adds an event to run as soon as possible.
func (q *asyncQueue) enqueue(ev *asyncEvent) {
	now := q.s.clk.Now()
	if ev.ID == "" {
		ev.ID = awsid.RequestID()
	}
	if ev.Enqueued.IsZero() {
		ev.Enqueued = now
	}
	if ev.NextRun.IsZero() {
		ev.NextRun = now
	}
	q.mu.Lock()
	q.events = append(q.events, ev)
	q.mu.Unlock()
	q.s.metrics.asyncReceived(ev)
	q.poke()
}

func (q *asyncQueue) poke() {
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// run starts due events until ctx ends.
func (q *asyncQueue) run(ctx context.Context) {
	timer := q.s.clk.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		now := q.s.clk.Now()
		var due []*asyncEvent
		next := time.Duration(-1)
		q.mu.Lock()
		gen := q.gen
		kept := q.events[:0]
		for _, ev := range q.events {
			if !ev.NextRun.After(now) {
				due = append(due, ev)
				continue
			}
			kept = append(kept, ev)
			if d := ev.NextRun.Sub(now); next < 0 || d < next {
				next = d
			}
		}
		clear(q.events[len(kept):])
		q.events = kept
		q.mu.Unlock()
		for _, ev := range due {
			q.running.Add(1)
			go func() {
				defer q.running.Done()
				q.attempt(ctx, ev, gen)
			}()
		}
		if next < 0 {
			next = time.Hour
		}
		timer.Reset(next)
		select {
		case <-ctx.Done():
			return
		case <-q.wake:
		case <-timer.C():
		}
	}
}

// wait waits for the attempts running to end.
func (q *asyncQueue) wait() { q.running.Wait() }

// reset forgets every queued event.
func (q *asyncQueue) reset() {
	q.mu.Lock()
	q.events = nil
	q.gen++
	q.mu.Unlock()
}

// dropFunction forgets the queued events of a deleted function.
func (q *asyncQueue) dropFunction(sc scope, name string) {
	q.mu.Lock()
	q.events = slices.DeleteFunc(q.events, func(ev *asyncEvent) bool {
		return ev.Account == sc.account && ev.Region == sc.region && ev.Function == name
	})
	q.mu.Unlock()
}

// requeue puts an event back to run after d, unless the queue was reset
// since it was taken.
func (q *asyncQueue) requeue(ev *asyncEvent, gen int, d time.Duration) {
	ev.NextRun = q.s.clk.Now().Add(d)
	q.mu.Lock()
	if gen != q.gen {
		q.mu.Unlock()
		return
	}
	q.events = append(q.events, ev)
	q.mu.Unlock()
	q.poke()
}

// wakeThrottled runs now the longest-waiting throttled event of a region,
// as a slot there has just been given back: events throttled for lack of
// concurrency drain as fast as executions end, one per slot, rather than
// on their back-off or all at once.
func (q *asyncQueue) wakeThrottled(account, region string) {
	now := q.s.clk.Now()
	q.mu.Lock()
	var first *asyncEvent
	for _, ev := range q.events {
		if ev.Throttled && ev.Account == account && ev.Region == region && (first == nil || ev.Enqueued.Before(first.Enqueued)) {
			first = ev
		}
	}
	if first != nil {
		first.Throttled = false
		first.NextRun = now
	}
	q.mu.Unlock()
	if first != nil {
		q.poke()
	}
}

// nextDue is when the earliest waiting event runs (zero when none).
func (q *asyncQueue) nextDue() time.Time {
	q.mu.Lock()
	defer q.mu.Unlock()
	var t time.Time
	for _, ev := range q.events {
		if t.IsZero() || ev.NextRun.Before(t) {
			t = ev.NextRun
		}
	}
	return t
}

// pending counts the events waiting.
func (q *asyncQueue) pending() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.events)
}

// attempt runs an event once and decides what comes next: done (and the
// on-success destination), a retry on the clock, or the on-failure
// destination or dead-letter queue.
func (q *asyncQueue) attempt(ctx context.Context, ev *asyncEvent, gen int) {
	s := q.s
	sc := newScope(ev.Account, ev.Region)
	t, err := s.lookup(sc, functionRef{name: ev.Function, qualifier: ev.Qualifier})
	if err != nil {
		s.opts.Logger.Info("lambda: dropping async event of a missing function", "function", ev.Function, "err", err)
		s.metrics.asyncDropped(ev)
		return
	}
	cfg := t.fn.EventInvoke[eventInvokeKey(ev.Qualifier)]
	maxRetries, maxAge := defaultMaxRetries, defaultMaxAge
	if cfg != nil {
		maxRetries = int(deref(cfg.MaxRetries, defaultMaxRetries))
		maxAge = int(deref(cfg.MaxAge, defaultMaxAge))
	}
	if s.clk.Since(ev.Enqueued) > secondsOf(int32(maxAge)) {
		q.fail(ctx, t, cfg, ev, "EventAgeExceeded", nil)
		return
	}
	if s.pending(t.version) {
		q.requeue(ev, gen, time.Second)
		return
	}
	req := execenv.Request{ID: ev.ID, Payload: ev.Payload, InvokedARN: t.invokedARN()}
	age := s.clk.Since(ev.Enqueued)
	res, err := s.run(sc.context(ctx), t, req)
	var ae *awserr.Error
	if errors.As(err, &ae) && ae.Status == http.StatusTooManyRequests {
		ev.Throttles++
		ev.Throttled = true
		q.requeue(ev, gen, throttleDelay(ev.Throttles-1))
		return
	}
	// The function was invoked (a throttled attempt was not): the event's
	// age then is AsyncEventAge.
	s.metrics.asyncAge(ev, age)
	ev.Throttled = false
	if ctx.Err() != nil {
		return
	}
	if err == nil && res.FunctionError == "" {
		if cfg != nil && cfg.OnSuccess != "" {
			q.deliver(ctx, sc, cfg.OnSuccess, destinationRecord(s, t, ev, "Success", &res, ev.Attempts+1))
		}
		return
	}
	if err != nil {
		s.opts.Logger.Warn("lambda: async invocation failed", "function", ev.Function, "err", err)
		res = execenv.Result{FunctionError: "Unhandled", Payload: errorPayload(err)}
	}
	ev.Attempts++
	if ev.Attempts <= maxRetries {
		q.requeue(ev, gen, retryDelay(ev.Attempts))
		return
	}
	q.fail(ctx, t, cfg, ev, "RetriesExhausted", &res)
}

// errorPayload is the error document of a failure of nephele's own.
func errorPayload(err error) []byte {
	b, _ := json.Marshal(map[string]string{"errorMessage": err.Error(), "errorType": "ServiceException"})
	return b
}

// fail sends an event that will not run again to the on-failure
// destination, else to the function's dead-letter queue, else drops it.
func (q *asyncQueue) fail(ctx context.Context, t *target, cfg *eventInvokeRecord, ev *asyncEvent, condition string, res *execenv.Result) {
	s := q.s
	s.metrics.asyncDropped(ev)
	switch {
	case cfg != nil && cfg.OnFailure != "":
		q.deliver(ctx, t.sc, cfg.OnFailure, destinationRecord(s, t, ev, condition, res, ev.Attempts))
	case t.version.Config.DeadLetterConfig != nil && str(t.version.Config.DeadLetterConfig.TargetArn) != "":
		q.deliver(ctx, t.sc, str(t.version.Config.DeadLetterConfig.TargetArn), ev.Payload)
	default:
		s.opts.Logger.Info("lambda: async event discarded", "function", ev.Function, "condition", condition)
	}
}

// deliver sends a record to a destination: a Lambda function gets it as
// an asynchronous invocation; other services go through Destinations.
func (q *asyncQueue) deliver(ctx context.Context, sc scope, target string, record []byte) {
	s := q.s
	a, err := arn.Parse(target)
	if err != nil {
		s.opts.Logger.Warn("lambda: bad destination", "destination", target, "err", err)
		return
	}
	if a.Service == "lambda" {
		ref, err := parseFunction(target, nil)
		if err != nil {
			s.opts.Logger.Warn("lambda: bad destination", "destination", target, "err", err)
			return
		}
		q.enqueue(&asyncEvent{Account: a.AccountID, Region: a.Region, Function: ref.name, Qualifier: ref.qualifier, Payload: record})
		return
	}
	if s.opts.Destinations == nil {
		s.opts.Logger.Warn("lambda: destination not served by nephele", "destination", target, "err", errNoDestinations)
		return
	}
	if err := s.opts.Destinations.Send(ctx, sc.account, sc.region, target, record); err != nil {
		s.opts.Logger.Warn("lambda: delivering to destination", "destination", target, "err", err)
	}
}

// errNoDestinations is why an SQS, SNS or EventBridge destination gets
// nothing: those services are not wired in.
var errNoDestinations = errors.New("nephele does not serve this destination's service (SQS, SNS, EventBridge) yet")

// destinationRecord is the invocation record Lambda sends a destination
// ("Invocation record" of "Capturing records of Lambda asynchronous
// invocations").
func destinationRecord(s *Service, t *target, ev *asyncEvent, condition string, res *execenv.Result, count int) []byte {
	q := ev.Qualifier
	if q == "" {
		q = latest
	}
	rec := map[string]any{
		"version":   "1.0",
		"timestamp": s.clk.Now().UTC().Format("2006-01-02T15:04:05.000Z"),
		"requestContext": map[string]any{
			"requestId": ev.ID, "functionArn": t.sc.qualifiedARN(t.fn.Name, q),
			"condition": condition, "approximateInvokeCount": count,
		},
		"requestPayload": rawJSON(ev.Payload),
	}
	if res != nil {
		rc := map[string]any{"statusCode": 200, "executedVersion": t.executedVersion()}
		if res.FunctionError != "" {
			rc["functionError"] = res.FunctionError
		}
		rec["responseContext"] = rc
		rec["responsePayload"] = rawJSON(res.Payload)
	}
	b, _ := json.Marshal(rec)
	return b
}

// rawJSON keeps a payload as JSON when it is JSON, else as a string.
func rawJSON(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	if json.Valid(b) {
		return json.RawMessage(b)
	}
	return string(b)
}

// eventInvokeKey is where the settings of a qualifier are kept: the
// unqualified function's are $LATEST's.
func eventInvokeKey(q string) string {
	if q == "" {
		return latest
	}
	return q
}

// checkDestination accepts the destination ARNs Lambda does: functions,
// queues, topics and event buses.
func checkDestination(d string) error {
	if d == "" {
		return nil
	}
	a, err := arn.Parse(d)
	if err != nil {
		return invalidParameter("The destination ARN %s is invalid.", d)
	}
	switch a.Service {
	case "lambda", "sqs", "sns", "events", "s3":
		return nil
	}
	return invalidParameter("The destination ARN %s is invalid.", d)
}

// eventInvokeConfig renders a qualifier's settings.
func eventInvokeConfig(sc scope, fn, q string, r *eventInvokeRecord) *api.FunctionEventInvokeConfig {
	c := &api.FunctionEventInvokeConfig{
		FunctionArn:              ptr(sc.qualifiedARN(fn, q)),
		LastModified:             ptr(r.LastModified),
		MaximumRetryAttempts:     r.MaxRetries,
		MaximumEventAgeInSeconds: r.MaxAge,
		DestinationConfig:        &api.DestinationConfig{OnSuccess: &api.OnSuccess{}, OnFailure: &api.OnFailure{}},
	}
	if r.OnSuccess != "" {
		c.DestinationConfig.OnSuccess.Destination = ptr(r.OnSuccess)
	}
	if r.OnFailure != "" {
		c.DestinationConfig.OnFailure.Destination = ptr(r.OnFailure)
	}
	return c
}

// putEventInvoke writes a qualifier's settings: replace replaces them all
// (Put), otherwise only the members given change (Update).
func (s *Service) putEventInvoke(ctx context.Context, fnName, qualifier *string, retries, age *int32, dest *api.DestinationConfig, replace bool) (*api.FunctionEventInvokeConfig, error) {
	sc := scopeOf(ctx)
	ref, err := parseFunction(str(fnName), qualifier)
	if err != nil {
		return nil, err
	}
	var onSuccess, onFailure *string
	if dest != nil {
		if dest.OnSuccess != nil {
			onSuccess = ptr(str(dest.OnSuccess.Destination))
		}
		if dest.OnFailure != nil {
			onFailure = ptr(str(dest.OnFailure.Destination))
		}
	}
	for _, d := range []*string{onSuccess, onFailure} {
		if d != nil {
			if err := checkDestination(*d); err != nil {
				return nil, err
			}
		}
	}
	var out *api.FunctionEventInvokeConfig
	err = s.st.Update(func(tx store.Tx) error {
		f, _, _, err := resolve(tx, sc, ref)
		if err != nil {
			return err
		}
		q := eventInvokeKey(ref.qualifier)
		r := f.EventInvoke[q]
		if r == nil || replace {
			if r == nil && !replace {
				return notFound("The function %s doesn't have an EventInvokeConfig", sc.qualifiedARN(ref.name, q))
			}
			r = &eventInvokeRecord{}
		}
		if retries != nil {
			r.MaxRetries = ptr(*retries)
		}
		if age != nil {
			r.MaxAge = ptr(*age)
		}
		if onSuccess != nil {
			r.OnSuccess = *onSuccess
		}
		if onFailure != nil {
			r.OnFailure = *onFailure
		}
		r.LastModified = s.clk.Now()
		if f.EventInvoke == nil {
			f.EventInvoke = map[string]*eventInvokeRecord{}
		}
		f.EventInvoke[q] = r
		out = eventInvokeConfig(sc, ref.name, q, r)
		return tx.Put(bucketFunctions, functionKey(sc, ref.name), f)
	})
	return out, err
}

// PutFunctionEventInvokeConfig sets a qualifier's asynchronous invocation
// settings, replacing any there were.
func (s *Service) PutFunctionEventInvokeConfig(ctx context.Context, in *api.PutFunctionEventInvokeConfigInput) (*api.PutFunctionEventInvokeConfigOutput, error) {
	return s.putEventInvoke(ctx, in.FunctionName, in.Qualifier, in.MaximumRetryAttempts, in.MaximumEventAgeInSeconds, in.DestinationConfig, true)
}

// UpdateFunctionEventInvokeConfig changes some of a qualifier's settings.
func (s *Service) UpdateFunctionEventInvokeConfig(ctx context.Context, in *api.UpdateFunctionEventInvokeConfigInput) (*api.UpdateFunctionEventInvokeConfigOutput, error) {
	return s.putEventInvoke(ctx, in.FunctionName, in.Qualifier, in.MaximumRetryAttempts, in.MaximumEventAgeInSeconds, in.DestinationConfig, false)
}

// GetFunctionEventInvokeConfig returns a qualifier's settings.
func (s *Service) GetFunctionEventInvokeConfig(ctx context.Context, in *api.GetFunctionEventInvokeConfigInput) (*api.GetFunctionEventInvokeConfigOutput, error) {
	sc := scopeOf(ctx)
	ref, err := parseFunction(str(in.FunctionName), in.Qualifier)
	if err != nil {
		return nil, err
	}
	var out *api.FunctionEventInvokeConfig
	err = s.st.View(func(tx store.Tx) error {
		f, err := loadFunction(tx, sc, ref.name)
		if err != nil {
			return err
		}
		q := eventInvokeKey(ref.qualifier)
		r := f.EventInvoke[q]
		if r == nil {
			return notFound("The function %s doesn't have an EventInvokeConfig", sc.qualifiedARN(ref.name, q))
		}
		out = eventInvokeConfig(sc, ref.name, q, r)
		return nil
	})
	return out, err
}

// ListFunctionEventInvokeConfigs lists a function's settings, per
// qualifier.
func (s *Service) ListFunctionEventInvokeConfigs(ctx context.Context, in *api.ListFunctionEventInvokeConfigsInput) (*api.ListFunctionEventInvokeConfigsOutput, error) {
	sc, ref, f, err := s.readFunction(ctx, str(in.FunctionName))
	if err != nil {
		return nil, err
	}
	page, next, err := pageOf(sortedKeys(f.EventInvoke), in.Marker, in.MaxItems)
	if err != nil {
		return nil, err
	}
	out := api.ListFunctionEventInvokeConfigsOutput{FunctionEventInvokeConfigs: []api.FunctionEventInvokeConfig{}, NextMarker: next}
	for _, q := range page {
		out.FunctionEventInvokeConfigs = append(out.FunctionEventInvokeConfigs, *eventInvokeConfig(sc, ref.name, q, f.EventInvoke[q]))
	}
	return &out, nil
}

// DeleteFunctionEventInvokeConfig removes a qualifier's settings.
func (s *Service) DeleteFunctionEventInvokeConfig(ctx context.Context, in *api.DeleteFunctionEventInvokeConfigInput) (*api.DeleteFunctionEventInvokeConfigOutput, error) {
	sc := scopeOf(ctx)
	ref, err := parseFunction(str(in.FunctionName), in.Qualifier)
	if err != nil {
		return nil, err
	}
	err = s.st.Update(func(tx store.Tx) error {
		f, err := loadFunction(tx, sc, ref.name)
		if err != nil {
			return err
		}
		q := eventInvokeKey(ref.qualifier)
		if f.EventInvoke[q] == nil {
			return notFound("The function %s doesn't have an EventInvokeConfig", sc.qualifiedARN(ref.name, q))
		}
		delete(f.EventInvoke, q)
		return tx.Put(bucketFunctions, functionKey(sc, ref.name), f)
	})
	if err != nil {
		return nil, err
	}
	return &api.DeleteFunctionEventInvokeConfigOutput{}, nil
}

// InvokeEvent invokes a function, named by its ARN (a qualifier
// allowed), asynchronously with payload, as another service's event
// delivery does: an alarm action, a lifecycle hook notification.
func (s *Service) InvokeEvent(ctx context.Context, functionARN string, payload []byte) error {
	a, err := arn.Parse(functionARN)
	if err != nil {
		return err
	}
	ref, err := parseFunction(functionARN, nil)
	if err != nil {
		return err
	}
	sc := newScope(a.AccountID, a.Region)
	if _, err := s.lookup(sc, ref); err != nil {
		return fmt.Errorf("lambda: %w", err)
	}
	s.queue.enqueue(&asyncEvent{Account: sc.account, Region: sc.region, Function: ref.name, Qualifier: ref.qualifier, Payload: payload})
	return nil
}
