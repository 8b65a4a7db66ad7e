// Package awsjson implements the AWS JSON 1.0 and 1.1 protocols: POST / with
// the operation in X-Amz-Target ("Prefix.Operation") and JSON bodies whose
// keys are member names, timestamps as epoch seconds and blobs as base64.
package awsjson

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/nephele-dev/nephele/internal/api/model"
	"github.com/nephele-dev/nephele/internal/awserr"
	"github.com/nephele-dev/nephele/internal/protocol"
)

// Codec is the AWS JSON protocol codec.
type Codec struct{}

var _ protocol.Codec = Codec{}

// Options are the JSON scalar renderings.
var Options = &protocol.TreeOptions{
	Time: func(t time.Time) any { return protocol.EpochSeconds(t) },
	Blob: func(b []byte) any { return base64.StdEncoding.EncodeToString(b) },
}

// Name implements protocol.Codec.
func (Codec) Name() string { return "json" }

// Operation reads X-Amz-Target.
func (Codec) Operation(r *protocol.Request) (string, error) {
	target := r.HTTP.Header.Get("X-Amz-Target")
	prefix, op, ok := strings.Cut(target, ".")
	if !ok || op == "" || prefix != r.Service.Metadata.TargetPrefix {
		return "", awserr.BadRequest("UnknownOperationException", "Unknown or missing X-Amz-Target %q.", target)
	}
	return op, nil
}

// UnknownOperation implements protocol.Codec.
func (Codec) UnknownOperation(name string) *awserr.Error {
	return awserr.BadRequest("UnknownOperationException", "Unknown operation %s.", name)
}

// DecodeTree parses a JSON document into a generic tree, keeping numbers
// exact.
func DecodeTree(body []byte) (any, error) {
	if len(bytes.TrimSpace(body)) == 0 {
		return map[string]any{}, nil
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var tree any
	if err := dec.Decode(&tree); err != nil {
		return nil, err
	}
	if dec.More() {
		return nil, &protocol.DecodeError{Msg: "trailing data after JSON document"}
	}
	return tree, nil
}

// Decode implements protocol.Codec.
func (Codec) Decode(r *protocol.Request, op *model.Operation, in any) error {
	if op.Input == nil {
		return nil
	}
	tree, err := DecodeTree(r.Body)
	if err != nil {
		return awserr.BadRequest("SerializationException", "The request body is not valid JSON.")
	}
	if err := protocol.FromTree(tree, op.Input.Shape, reflect.ValueOf(in).Elem(), Options, ""); err != nil {
		return awserr.BadRequest("SerializationException", "%s", err.Error())
	}
	return nil
}

func contentType(svc *model.Service) string {
	v := "1.0"
	if svc != nil && svc.Metadata.JSONVersion != "" {
		v = svc.Metadata.JSONVersion
	}
	return "application/x-amz-json-" + v
}

// Encode implements protocol.Codec.
func (Codec) Encode(w http.ResponseWriter, r *protocol.Request, op *model.Operation, out any) {
	body := []byte("{}")
	if op.Output != nil {
		tree := protocol.ToTree(reflect.ValueOf(out), op.Output.Shape, Options)
		if tree == nil {
			tree = map[string]any{}
		}
		b, err := json.Marshal(tree)
		if err != nil {
			Codec{}.EncodeError(w, r, awserr.Internal(err))
			return
		}
		body = b
	}
	write(w, r, http.StatusOK, body)
}

func write(w http.ResponseWriter, r *protocol.Request, status int, body []byte) {
	h := w.Header()
	h.Set("Content-Type", contentType(r.Service))
	h.Set(protocol.RequestIDHeader, r.RequestID)
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	w.Write(body)
}

// EncodeError implements protocol.Codec.
func (Codec) EncodeError(w http.ResponseWriter, r *protocol.Request, e *awserr.Error) {
	body, _ := json.Marshal(map[string]string{
		"__type":  protocol.ErrorType(r.Service, e.Code),
		"message": e.Message,
	})
	protocol.SetQueryError(w.Header(), r.Service, e)
	write(w, r, e.Status, body)
}
