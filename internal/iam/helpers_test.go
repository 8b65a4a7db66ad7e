package iam_test

import (
	"context"
	"errors"
	"net/url"
	"testing"
	"time"

	api "github.com/nephele-dev/nephele/internal/api/iam"
	"github.com/nephele-dev/nephele/internal/awserr"
	"github.com/nephele-dev/nephele/internal/clock"
	"github.com/nephele-dev/nephele/internal/iam"
	"github.com/nephele-dev/nephele/internal/service"
	"github.com/nephele-dev/nephele/internal/store"
)

const (
	account     = "123456789012"
	trustPolicy = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}`
	s3Policy    = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}`
)

// start is the fake clock's first reading in every test.
var start = time.Date(2024, time.March, 1, 12, 0, 0, 0, time.UTC)

// fixture is an IAM service on a memory store and a fake clock, with a
// request context for the test account.
type fixture struct {
	t   *testing.T
	svc *iam.Service
	st  store.Store
	clk *clock.Fake
	ctx context.Context
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	st := store.NewMemory()
	t.Cleanup(func() { st.Close() })
	clk := clock.NewFake(start)
	return &fixture{t: t, svc: iam.New(st, clk), st: st, clk: clk, ctx: as("AKIDEXAMPLE")}
}

// as is a request context signed with the given access key.
func as(accessKeyID string) context.Context {
	return service.WithRequest(context.Background(), service.Request{AccountID: account, Region: "us-east-1", AccessKeyID: accessKeyID})
}

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

// status is the HTTP status of err.
func status(err error) int {
	var e *awserr.Error
	if errors.As(err, &e) {
		return e.Status
	}
	return 0
}

func s(v string) *string { return &v }
func i32(v int32) *int32 { return &v }

// must returns v, panicking on err: a call that must succeed failing is a
// bug, and the panic stops the test with the stack that led to it. (Go does
// not let a (value, error) call be passed along with a *testing.T.)
func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func (f *fixture) createRole(name string) *api.Role {
	f.t.Helper()
	out := must(f.svc.CreateRole(f.ctx, &api.CreateRoleInput{RoleName: s(name), AssumeRolePolicyDocument: s(trustPolicy)}))
	return out.Role
}

func (f *fixture) createPolicy(name string) *api.Policy {
	f.t.Helper()
	out := must(f.svc.CreatePolicy(f.ctx, &api.CreatePolicyInput{PolicyName: s(name), PolicyDocument: s(s3Policy)}))
	return out.Policy
}

// decode undoes IAM's URL encoding of a policy document as Terraform and
// Go SDK users do.
func decode(t *testing.T, doc *string) string {
	t.Helper()
	if doc == nil {
		t.Fatal("document is missing")
	}
	d, err := url.QueryUnescape(*doc)
	if err != nil {
		t.Fatalf("document %q is not URL-encoded: %v", *doc, err)
	}
	return d
}

// second returns the error of a (value, error) pair.
func second[T any](_ T, err error) error { return err }

// listPages pages through an IAM listing: list reads one page, given the
// Marker to ask for, and reports what it read, IsTruncated and the next
// Marker. It checks the paging contract on the way (a truncated page
// carries a Marker, the last one none) and returns every page read.
func listPages[T any](t *testing.T, list func(marker *string) (page T, isTruncated *bool, next *string)) []T {
	t.Helper()
	var pages []T
	var marker *string
	for range 100 {
		page, truncated, next := list(marker)
		pages = append(pages, page)
		if truncated == nil {
			t.Fatal("IsTruncated missing")
		}
		if !*truncated {
			if next != nil {
				t.Errorf("last page has Marker %q", *next)
			}
			return pages
		}
		if next == nil {
			t.Fatal("truncated page without Marker")
		}
		marker = next
	}
	t.Fatal("more than 100 pages")
	return nil
}
