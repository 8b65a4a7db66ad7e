// Package rpcv2cbor implements Smithy RPC v2 CBOR, which the Go SDK v2 speaks
// to CloudWatch: POST /service/NAME/operation/OP with a CBOR body of member
// names, timestamps as tag-1 epoch seconds and blobs as byte strings.
package rpcv2cbor

import (
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/fxamacker/cbor/v2"

	"github.com/nephele-dev/nephele/internal/api/model"
	"github.com/nephele-dev/nephele/internal/awserr"
	"github.com/nephele-dev/nephele/internal/protocol"
)

// Codec is the Smithy RPC v2 CBOR codec.
type Codec struct{}

var _ protocol.Codec = Codec{}

// Options are the CBOR scalar renderings: the encoder tags time.Time itself.
var Options = &protocol.TreeOptions{
	Time: func(t time.Time) any { return t.UTC() },
	Blob: func(b []byte) any { return b },
}

var (
	encMode cbor.EncMode
	decMode cbor.DecMode
)

func init() {
	var err error
	encMode, err = cbor.EncOptions{Sort: cbor.SortBytewiseLexical, Time: cbor.TimeUnixDynamic, TimeTag: cbor.EncTagRequired}.EncMode()
	if err != nil {
		panic(err)
	}
	// Limits keep a hostile body from costing more than its size.
	decMode, err = cbor.DecOptions{
		DefaultMapType:   reflect.TypeOf(map[string]any{}),
		MaxNestedLevels:  64,
		MaxArrayElements: 1 << 20,
		MaxMapPairs:      1 << 20,
		IndefLength:      cbor.IndefLengthAllowed,
		DupMapKey:        cbor.DupMapKeyQuiet,
		TimeTag:          cbor.DecTagOptional,
	}.DecMode()
	if err != nil {
		panic(err)
	}
}

// Name implements protocol.Codec.
func (Codec) Name() string { return "smithy-rpc-v2-cbor" }

// PathPrefix starts every RPC v2 request path.
const PathPrefix = "/service/"

// Operation reads the operation from /service/NAME/operation/OP.
func (Codec) Operation(r *protocol.Request) (string, error) {
	rest, ok := strings.CutPrefix(r.HTTP.URL.Path, PathPrefix)
	svc, op, ok2 := strings.Cut(rest, "/operation/")
	if !ok || !ok2 || op == "" || strings.Contains(op, "/") || svc != r.Service.Metadata.TargetPrefix {
		return "", awserr.New(http.StatusNotFound, "UnknownOperationException", "Unknown operation path %s.", r.HTTP.URL.Path)
	}
	return op, nil
}

// UnknownOperation implements protocol.Codec.
func (Codec) UnknownOperation(name string) *awserr.Error {
	return awserr.New(http.StatusNotFound, "UnknownOperationException", "Unknown operation %s.", name)
}

// DecodeTree parses a CBOR item into a generic tree with string-keyed maps.
func DecodeTree(body []byte) (any, error) {
	if len(body) == 0 {
		return map[string]any{}, nil
	}
	var tree any
	if err := decMode.Unmarshal(body, &tree); err != nil {
		return nil, err
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
		return awserr.BadRequest("SerializationException", "The request body is not valid CBOR.")
	}
	if err := protocol.FromTree(tree, op.Input.Shape, reflect.ValueOf(in).Elem(), Options, ""); err != nil {
		return awserr.BadRequest("SerializationException", "%s", err.Error())
	}
	return nil
}

// Encode implements protocol.Codec. An operation without output answers an
// empty body, which clients read as the unit shape.
func (Codec) Encode(w http.ResponseWriter, r *protocol.Request, op *model.Operation, out any) {
	var body []byte
	if op.Output != nil {
		tree := protocol.ToTree(reflect.ValueOf(out), op.Output.Shape, Options)
		if tree == nil {
			tree = map[string]any{}
		}
		b, err := encMode.Marshal(tree)
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
	h.Set("Smithy-Protocol", "rpc-v2-cbor")
	if len(body) > 0 {
		h.Set("Content-Type", "application/cbor")
	}
	h.Set(protocol.RequestIDHeader, r.RequestID)
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	w.Write(body)
}

// EncodeError implements protocol.Codec. __type is the full Smithy shape ID.
func (Codec) EncodeError(w http.ResponseWriter, r *protocol.Request, e *awserr.Error) {
	typ := protocol.ErrorType(r.Service, e.Code)
	if r.Service != nil {
		ns := strings.ToLower(strings.ReplaceAll(r.Service.Metadata.ServiceID, " ", ""))
		typ = "com.amazonaws." + ns + "#" + typ
	}
	body, _ := encMode.Marshal(map[string]string{"__type": typ, "message": e.Message})
	protocol.SetQueryError(w.Header(), r.Service, e)
	write(w, r, e.Status, body)
}
