// Package gateway is nephele's HTTP front door. It finds the service a
// request is for (SigV4 credential scope, else X-Amz-Target, else the URL
// path, else Action/Version of a query form), picks the wire protocol,
// decodes and validates the typed input from the model, calls the handler,
// and encodes the answer. It also serves the /_nephele/ admin endpoints.
package gateway

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strings"
	"sync"

	"github.com/nephele-dev/nephele/internal/api/model"
	"github.com/nephele-dev/nephele/internal/api/validate"
	"github.com/nephele-dev/nephele/internal/awserr"
	"github.com/nephele-dev/nephele/internal/awsid"
	"github.com/nephele-dev/nephele/internal/protocol"
	"github.com/nephele-dev/nephele/internal/protocol/awsjson"
	"github.com/nephele-dev/nephele/internal/protocol/query"
	"github.com/nephele-dev/nephele/internal/protocol/restjson"
	"github.com/nephele-dev/nephele/internal/protocol/rpcv2cbor"
	"github.com/nephele-dev/nephele/internal/service"
)

// DefaultMaxBody bounds request bodies of services that set no limit of
// their own.
const DefaultMaxBody = 16 << 20

// DefaultRegion is the region of requests whose credential names none.
const DefaultRegion = "us-east-1"

// Config wires a Gateway.
type Config struct {
	// AccountID is the one account nephele serves.
	AccountID string
	// Services are the implementations, matched to the Catalog by Name().
	Services []service.Service
	// Reset drops all state and stops all children (POST /_nephele/reset).
	Reset func(ctx context.Context) error
	// Version is reported by /_nephele/health.
	Version string
	// Logger receives request logs and internal error causes.
	Logger *slog.Logger
	// NewRequestID makes request IDs; nil means random UUIDs. Golden tests
	// fix it.
	NewRequestID func() string
}

// Gateway routes AWS API requests to services.
type Gateway struct {
	cfg       Config
	entries   []*entry
	bySigning map[string]*entry
	byTarget  map[string]*entry
	byVersion map[string]*entry
	lambda    *entry
	cloudwat  *entry
}

// entry is one routable service.
type entry struct {
	Spec
	impl service.Service

	opsOnce sync.Once
	ops     map[string]service.Operation
}

func (e *entry) operation(name string) (service.Operation, bool) {
	e.opsOnce.Do(func() {
		e.ops = map[string]service.Operation{}
		if e.impl != nil {
			for _, op := range e.impl.Operations() {
				e.ops[op.Name] = op
			}
		}
	})
	op, ok := e.ops[name]
	return op, ok
}

// New builds a Gateway over the Catalog with cfg's implementations.
func New(cfg Config) (*Gateway, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if cfg.NewRequestID == nil {
		cfg.NewRequestID = awsid.RequestID
	}
	g := &Gateway{cfg: cfg, bySigning: map[string]*entry{}, byTarget: map[string]*entry{}, byVersion: map[string]*entry{}}
	for _, spec := range Catalog {
		e := &entry{Spec: spec}
		if e.MaxBody == 0 {
			e.MaxBody = DefaultMaxBody
		}
		if e.Validation == nil {
			e.Validation = defaultValidation
		}
		g.entries = append(g.entries, e)
		g.bySigning[spec.SigningName] = e
		if spec.TargetPrefix != "" {
			g.byTarget[spec.TargetPrefix] = e
		}
		if spec.APIVersion != "" {
			g.byVersion[spec.APIVersion] = e
		}
	}
	g.lambda = g.bySigning["lambda"]
	g.cloudwat = g.bySigning["monitoring"]
	for _, s := range cfg.Services {
		e, ok := g.bySigning[s.Name()]
		if !ok {
			return nil, fmt.Errorf("gateway: service %q is not in the catalog", s.Name())
		}
		e.impl = s
	}
	return g, nil
}

// ServeHTTP implements http.Handler.
func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, "/_nephele/") {
		g.admin(w, r)
		return
	}
	req := &protocol.Request{HTTP: r, RequestID: g.cfg.NewRequestID()}
	codec := protocol.Codec(query.Query)
	defer func() {
		if p := recover(); p != nil {
			g.cfg.Logger.Error("panic serving request", "panic", p, "stack", string(debug.Stack()))
			codec.EncodeError(w, req, awserr.Internal(fmt.Errorf("panic: %v", p)))
		}
	}()

	scope, signed := protocol.CredentialScope(r)
	e := g.route(r, scope, signed)
	if e == nil {
		msg := "nephele could not tell which AWS service this request is for: sign it with SigV4 or set X-Amz-Target."
		if signed {
			msg = fmt.Sprintf("Service %q is not served by nephele.", scope.Service)
		}
		g.fail(w, req, codec, awserr.BadRequest("UnknownService", "%s", msg))
		return
	}
	svc := e.Model()
	req.Service = svc
	codec = pickCodec(svc, r)
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, e.MaxBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			g.fail(w, req, codec, awserr.New(http.StatusRequestEntityTooLarge, "RequestEntityTooLarge",
				"Request body exceeds the maximum size of %d bytes.", e.MaxBody))
			return
		}
		g.fail(w, req, codec, awserr.BadRequest("IncompleteBody", "The request body could not be read."))
		return
	}
	// The Go SDK gzips some requests (CloudWatch's PutMetricData, with
	// the model's requestCompression trait) whatever their size.
	if body, err = decodeContent(body, r.Header.Get("Content-Encoding"), e.MaxBody); err != nil {
		g.fail(w, req, codec, awserr.As(err))
		return
	}
	req.Body = body

	region := DefaultRegion
	if signed && scope.Region != "" {
		region = scope.Region
	}
	ctx := service.WithRequest(r.Context(), service.Request{
		AccountID: g.cfg.AccountID, Region: region, RequestID: req.RequestID, AccessKeyID: scope.AccessKeyID,
	})

	name, err := codec.Operation(req)
	if err != nil {
		g.fail(w, req, codec, awserr.As(err))
		return
	}
	mop, inModel := svc.Operations[name]
	op, served := e.operation(name)
	switch {
	case !inModel:
		g.fail(w, req, codec, codec.UnknownOperation(name))
		return
	case !served:
		g.fail(w, req, codec, awserr.NotImplemented(svc.Metadata.ServiceID, name))
		return
	}
	in := op.NewInput()
	if err := codec.Decode(req, mop, in); err != nil {
		g.fail(w, req, codec, awserr.As(err))
		return
	}
	if mop.Input != nil {
		if vs := validate.Input(in, mop.Input.Shape); len(vs) > 0 {
			g.fail(w, req, codec, awserr.As(e.Validation(vs)))
			return
		}
	}
	out, err := op.Call(ctx, in)
	if err != nil {
		g.fail(w, req, codec, awserr.As(err))
		return
	}
	codec.Encode(w, req, mop, out)
	g.cfg.Logger.Debug("request", "service", e.SigningName, "operation", name, "region", region, "requestId", req.RequestID)
}

func (g *Gateway) fail(w http.ResponseWriter, req *protocol.Request, codec protocol.Codec, e *awserr.Error) {
	if e.Cause != nil || e.Status >= 500 {
		g.cfg.Logger.Error("request failed", "code", e.Code, "message", e.Message, "cause", e.Cause, "requestId", req.RequestID)
	} else {
		g.cfg.Logger.Debug("request rejected", "code", e.Code, "message", e.Message, "requestId", req.RequestID)
	}
	codec.EncodeError(w, req, e)
}

// route finds the service: the SigV4 scope first, then X-Amz-Target, then
// the paths only Lambda and RPC v2 use, then a query form's Version.
func (g *Gateway) route(r *http.Request, scope protocol.Scope, signed bool) *entry {
	if signed {
		return g.bySigning[scope.Service]
	}
	if t := r.Header.Get("X-Amz-Target"); t != "" {
		prefix, _, _ := strings.Cut(t, ".")
		return g.byTarget[prefix]
	}
	if strings.HasPrefix(r.URL.Path, rpcv2cbor.PathPrefix) {
		rest := strings.TrimPrefix(r.URL.Path, rpcv2cbor.PathPrefix)
		name, _, _ := strings.Cut(rest, "/")
		return g.byTarget[name]
	}
	if isLambdaPath(r.URL.Path) {
		return g.lambda
	}
	if v := r.URL.Query().Get("Version"); v != "" {
		return g.byVersion[v]
	}
	if r.Method == http.MethodPost && strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		// Unsigned query form: the Version parameter names the service.
		// Parsing the body here costs one extra read of a small form.
		if err := r.ParseForm(); err == nil {
			if e := g.byVersion[r.PostForm.Get("Version")]; e != nil {
				// ParseForm consumed the body: put the form back for the codec.
				r.Body = io.NopCloser(strings.NewReader(r.PostForm.Encode()))
				return e
			}
		}
	}
	return nil
}

// isLambdaPath reports the date-versioned REST paths of Lambda
// ("/2015-03-31/functions", "/2018-10-31/layers", ...).
func isLambdaPath(p string) bool {
	return len(p) > 12 && p[0] == '/' && p[1] == '2' && p[5] == '-' && p[8] == '-' && p[11] == '/'
}

// pickCodec chooses among the protocols a service speaks by what the client
// sent: CloudWatch answers RPC v2 CBOR, JSON 1.0 and query alike.
func pickCodec(svc *model.Service, r *http.Request) protocol.Codec {
	switch {
	case strings.EqualFold(r.Header.Get("Smithy-Protocol"), "rpc-v2-cbor"), strings.HasPrefix(r.URL.Path, rpcv2cbor.PathPrefix):
		if hasProtocol(svc, "smithy-rpc-v2-cbor") {
			return rpcv2cbor.Codec{}
		}
	case r.Header.Get("X-Amz-Target") != "":
		if hasProtocol(svc, "json") {
			return awsjson.Codec{}
		}
	}
	switch svc.Metadata.Protocol {
	case "ec2":
		return query.EC2
	case "json":
		return awsjson.Codec{}
	case "rest-json":
		return restjson.Codec{}
	case "smithy-rpc-v2-cbor":
		if r.Header.Get("X-Amz-Target") == "" && hasProtocol(svc, "query") {
			return query.Query
		}
		return rpcv2cbor.Codec{}
	}
	return query.Query
}

func hasProtocol(svc *model.Service, p string) bool {
	if svc.Metadata.Protocol == p {
		return true
	}
	for _, q := range svc.Metadata.Protocols {
		if q == p {
			return true
		}
	}
	return false
}

// health is the body of GET /_nephele/health.
type health struct {
	Status   string          `json:"status"`
	Version  string          `json:"version"`
	Services []serviceHealth `json:"services"`
}

type serviceHealth struct {
	Name       string `json:"name"`
	Operations int    `json:"operations"`
}

// serviceAdmin finds the admin handler of the service a path under
// /_nephele/<name>/ names, and the prefix to strip.
func (g *Gateway) serviceAdmin(path string) (http.Handler, string) {
	name, _, ok := strings.Cut(strings.TrimPrefix(path, "/_nephele/"), "/")
	if !ok {
		return nil, ""
	}
	for _, e := range g.entries {
		if a, ok := e.impl.(service.Admin); ok && e.impl.Name() == name {
			return a.AdminHandler(), "/_nephele/" + name
		}
	}
	return nil, ""
}

func (g *Gateway) admin(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	switch {
	case r.URL.Path == "/_nephele/health" && (r.Method == http.MethodGet || r.Method == http.MethodHead):
		h := health{Status: "ready", Version: g.cfg.Version}
		for _, e := range g.entries {
			n := 0
			if e.impl != nil {
				n = len(e.impl.Operations())
			}
			h.Services = append(h.Services, serviceHealth{Name: e.SigningName, Operations: n})
		}
		json.NewEncoder(w).Encode(h)
	case r.URL.Path == "/_nephele/reset" && r.Method == http.MethodPost:
		if g.cfg.Reset != nil {
			if err := g.cfg.Reset(r.Context()); err != nil {
				g.cfg.Logger.Error("reset failed", "err", err)
				w.WriteHeader(http.StatusInternalServerError)
				json.NewEncoder(w).Encode(map[string]string{"status": "error", "message": "reset failed; see the nephele log"})
				return
			}
		}
		json.NewEncoder(w).Encode(map[string]string{"status": "reset"})
	default:
		if h, prefix := g.serviceAdmin(r.URL.Path); h != nil {
			http.StripPrefix(prefix, h).ServeHTTP(w, r)
			return
		}
		w.WriteHeader(http.StatusNotFound)
		json.NewEncoder(w).Encode(map[string]string{"status": "error", "message": "unknown admin endpoint " + r.Method + " " + r.URL.Path})
	}
}

// decodeContent undoes a request's Content-Encoding: gzip, the only one
// AWS's request compression uses. The decoded body is held to the same
// size limit as a plain one, so a small compressed body cannot expand
// without bound.
func decodeContent(body []byte, encoding string, maxBody int64) ([]byte, error) {
	if !strings.Contains(strings.ToLower(encoding), "gzip") {
		return body, nil
	}
	zr, err := gzip.NewReader(bytes.NewReader(body))
	if err != nil {
		return nil, awserr.BadRequest("SerializationException", "The request body is not valid gzip.")
	}
	out, err := io.ReadAll(io.LimitReader(zr, maxBody+1))
	if err != nil {
		return nil, awserr.BadRequest("SerializationException", "The request body is not valid gzip.")
	}
	if int64(len(out)) > maxBody {
		return nil, awserr.New(http.StatusRequestEntityTooLarge, "RequestEntityTooLarge", "Request body exceeds the maximum size of %d bytes.", maxBody)
	}
	return out, nil
}
