// Package service is the contract between the gateway and a service
// implementation: a table of typed operations, and the request facts
// (account, region, request ID) a handler may read from its context.
package service

import (
	"context"
	"net/http"

	"github.com/nephele-dev/nephele/internal/api/model"
)

// Operation is one served API operation with its typed handler erased, so
// codecs can decode into NewInput and encode whatever Call returns.
type Operation struct {
	Name     string
	NewInput func() any
	Call     func(ctx context.Context, in any) (any, error)
}

// Handle wraps a typed handler as an Operation. I and O are the generated
// input and output shapes.
func Handle[I, O any](name string, fn func(context.Context, *I) (*O, error)) Operation {
	return Operation{
		Name:     name,
		NewInput: func() any { return new(I) },
		Call: func(ctx context.Context, in any) (any, error) {
			out, err := fn(ctx, in.(*I))
			if err != nil {
				return nil, err
			}
			if out == nil {
				out = new(O)
			}
			return out, nil
		},
	}
}

// Service is what the gateway needs of a service implementation.
type Service interface {
	// Name is the service's short name: its SigV4 signing name where that
	// is unambiguous ("ec2", "iam", "sts", "monitoring", "logs", "lambda",
	// "autoscaling", "elasticloadbalancing").
	Name() string
	// Model returns the service's API model.
	Model() *model.Service
	// Operations lists the operations served.
	Operations() []Operation
}

// Resetter is implemented by services that hold state beyond the store
// (running processes, timers): Reset drops it all.
type Resetter interface {
	Reset(ctx context.Context) error
}

// Admin is implemented by services with admin endpoints of their own:
// the gateway serves AdminHandler under /_nephele/<Name()>/, with that
// prefix stripped (EC2's POST /_nephele/ec2/spot-interruption arrives as
// POST /spot-interruption). Admin endpoints are for scripts and test
// suites, not AWS clients: they speak plain JSON.
type Admin interface {
	AdminHandler() http.Handler
}

// Request is what a handler may know about the call it serves.
type Request struct {
	AccountID string
	Region    string
	RequestID string
	// AccessKeyID is the caller's access key from the SigV4 credential.
	AccessKeyID string
}

type requestKey struct{}

// WithRequest returns ctx carrying r.
func WithRequest(ctx context.Context, r Request) context.Context {
	return context.WithValue(ctx, requestKey{}, r)
}

// RequestFrom returns the request facts in ctx, with nephele's defaults when
// ctx carries none (as in unit tests that call a handler directly).
func RequestFrom(ctx context.Context) Request {
	r, _ := ctx.Value(requestKey{}).(Request)
	if r.AccountID == "" {
		r.AccountID = "000000000000"
	}
	if r.Region == "" {
		r.Region = "us-east-1"
	}
	return r
}

// Scope is the account and region a regional service keys its records
// by.
type Scope struct{ Account, Region string }

// ScopeOf is the scope of the request in ctx.
func ScopeOf(ctx context.Context) Scope {
	r := RequestFrom(ctx)
	return Scope{Account: r.AccountID, Region: r.Region}
}

// Key is the store key of name in the scope: "account/region/name".
func (sc Scope) Key(name string) string { return sc.Prefix() + name }

// Prefix is the key prefix of every record of the scope.
func (sc Scope) Prefix() string { return sc.Account + "/" + sc.Region + "/" }

// Context is parent carrying the scope as its request, for calls into
// another service on the scope's behalf.
func (sc Scope) Context(parent context.Context) context.Context {
	return WithRequest(parent, Request{AccountID: sc.Account, Region: sc.Region})
}
