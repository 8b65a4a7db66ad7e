// Package protocol holds what every AWS wire codec shares: the Codec contract
// the gateway drives, the request a codec reads, and the reflection that
// walks a generated Go value alongside its model shape. One sub-package per
// wire protocol implements Codec.
package protocol

import (
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"sync"

	"github.com/nephele-dev/nephele/internal/api/model"
	"github.com/nephele-dev/nephele/internal/awserr"
)

// Codec turns requests into typed inputs and typed outputs or errors back
// into bytes, for one wire protocol. Handlers never see the wire.
type Codec interface {
	// Name is the protocol's name as the model spells it ("query", "ec2",
	// "json", "rest-json", "smithy-rpc-v2-cbor").
	Name() string
	// Operation names the operation the request calls, with an AWS error
	// when the request names none or is malformed. The name may not exist.
	Operation(r *Request) (string, error)
	// Decode fills in, a pointer to the operation's generated input struct.
	Decode(r *Request, op *model.Operation, in any) error
	// Encode writes out, the operation's generated output, as a success.
	Encode(w http.ResponseWriter, r *Request, op *model.Operation, out any)
	// EncodeError writes err as this protocol's error response.
	EncodeError(w http.ResponseWriter, r *Request, err *awserr.Error)
	// UnknownOperation is the error for an operation name the service
	// does not have.
	UnknownOperation(name string) *awserr.Error
}

// Request is one API call as a codec sees it.
type Request struct {
	HTTP      *http.Request
	Body      []byte
	Service   *model.Service
	RequestID string

	formOnce sync.Once
	form     url.Values
	formErr  error
	// PathParams are the URI labels a REST codec matched.
	PathParams map[string]string
}

// Form returns the query-protocol parameters: the URL query merged with a
// form-encoded body, parsed once.
func (r *Request) Form() (url.Values, error) {
	r.formOnce.Do(func() {
		r.form, r.formErr = url.ParseQuery(r.HTTP.URL.RawQuery)
		if r.formErr != nil {
			return
		}
		ct := r.HTTP.Header.Get("Content-Type")
		if len(r.Body) == 0 || (ct != "" && !strings.HasPrefix(ct, "application/x-www-form-urlencoded")) {
			return
		}
		body, err := url.ParseQuery(string(r.Body))
		if err != nil {
			r.formErr = err
			return
		}
		if len(r.form) == 0 { // the usual case: everything is in the body
			r.form = body
			return
		}
		for k, v := range body {
			r.form[k] = append(r.form[k], v...)
		}
	})
	return r.form, r.formErr
}

// fieldCache maps a generated struct type to its fields by model member name.
var fieldCache sync.Map // reflect.Type → map[string]int

// Field returns the field of struct value v that carries model member name,
// or an invalid Value when the type has no such field.
func Field(v reflect.Value, member string) reflect.Value {
	idx, ok := fields(v.Type())[member]
	if !ok {
		return reflect.Value{}
	}
	return v.Field(idx)
}

func fields(t reflect.Type) map[string]int {
	if m, ok := fieldCache.Load(t); ok {
		return m.(map[string]int)
	}
	m := make(map[string]int, t.NumField())
	for i := 0; i < t.NumField(); i++ {
		if tag := t.Field(i).Tag.Get("aws"); tag != "" {
			m[tag] = i
		}
	}
	fieldCache.Store(t, m)
	return m
}

// Indirect follows pointers and interfaces; it returns an invalid Value for
// nil.
func Indirect(v reflect.Value) reflect.Value {
	for v.IsValid() && (v.Kind() == reflect.Pointer || v.Kind() == reflect.Interface) {
		if v.IsNil() {
			return reflect.Value{}
		}
		v = v.Elem()
	}
	return v
}

// Alloc makes v (a pointer field) non-nil and returns what it points to; for
// non-pointers it returns v.
func Alloc(v reflect.Value) reflect.Value {
	if v.Kind() != reflect.Pointer {
		return v
	}
	if v.IsNil() {
		v.Set(reflect.New(v.Type().Elem()))
	}
	return v.Elem()
}

// RequestIDHeader is the header AWS JSON and REST services return the request
// ID in.
const RequestIDHeader = "x-amzn-RequestId"
