package logs_test

import (
	"context"
	"errors"
	"testing"
	"time"

	api "github.com/nephele-dev/nephele/internal/api/logs"
	"github.com/nephele-dev/nephele/internal/awserr"
	"github.com/nephele-dev/nephele/internal/clock"
	"github.com/nephele-dev/nephele/internal/logs"
	"github.com/nephele-dev/nephele/internal/service"
	"github.com/nephele-dev/nephele/internal/store"
)

const (
	account = "123456789012"
	region  = "eu-west-1"
)

// start is the fake clock's first reading in every test.
var start = time.Date(2024, time.March, 1, 12, 0, 0, 0, time.UTC)

// fixture is a Logs service on a memory store and a fake clock, with a
// request context for the test account and region.
type fixture struct {
	t   *testing.T
	svc *logs.Service
	st  store.Store
	clk *clock.Fake
	ctx context.Context
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	st := store.NewMemory()
	clk := clock.NewFake(start)
	svc := logs.New(st, clk, logs.Options{})
	t.Cleanup(func() {
		svc.Close()
		st.Close()
	})
	ctx := service.WithRequest(context.Background(), service.Request{AccountID: account, Region: region})
	return &fixture{t: t, svc: svc, st: st, clk: clk, ctx: ctx}
}

// ms is a time in milliseconds since the epoch, as the API writes times.
func ms(t time.Time) int64 { return t.UnixMilli() }

// code is the AWS error code of err, or "" for nil.
func code(err error) string {
	if err == nil {
		return ""
	}
	var e *awserr.Error
	if errors.As(err, &e) {
		return e.Code
	}
	return "not an awserr: " + err.Error()
}

// message is the AWS error message of err.
func message(err error) string {
	var e *awserr.Error
	if errors.As(err, &e) {
		return e.Message
	}
	return ""
}

func s(v string) *string { return &v }
func i32(v int32) *int32 { return &v }
func i64(v int64) *int64 { return &v }
func yes() *bool         { v := true; return &v }

// must returns v, panicking on err: a call that must succeed failing is a
// bug, and the panic stops the test with the stack that led to it.
func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// second returns the error of a (value, error) pair.
func second[T any](_ T, err error) error { return err }

func (f *fixture) createGroup(name string) {
	f.t.Helper()
	must(f.svc.CreateLogGroup(f.ctx, &api.CreateLogGroupInput{LogGroupName: s(name)}))
}

func (f *fixture) createStream(group, name string) {
	f.t.Helper()
	must(f.svc.CreateLogStream(f.ctx, &api.CreateLogStreamInput{LogGroupName: s(group), LogStreamName: s(name)}))
}

// put uploads messages to a stream, one a millisecond apart from at.
func (f *fixture) put(group, stream string, at time.Time, msgs ...string) *api.PutLogEventsOutput {
	f.t.Helper()
	var evs []api.InputLogEvent
	for i, m := range msgs {
		evs = append(evs, api.InputLogEvent{Timestamp: i64(ms(at) + int64(i)), Message: s(m)})
	}
	return must(f.svc.PutLogEvents(f.ctx, &api.PutLogEventsInput{LogGroupName: s(group), LogStreamName: s(stream), LogEvents: evs}))
}

// messages are the messages of output events.
func messages(evs []api.OutputLogEvent) []string {
	out := []string{}
	for _, e := range evs {
		out = append(out, *e.Message)
	}
	return out
}

// filtered are the messages of filtered events.
func filtered(evs []api.FilteredLogEvent) []string {
	out := []string{}
	for _, e := range evs {
		out = append(out, *e.Message)
	}
	return out
}

// serviceCtx is a request context for the test account in another region.
func serviceCtx(region string) context.Context {
	return service.WithRequest(context.Background(), service.Request{AccountID: account, Region: region})
}
