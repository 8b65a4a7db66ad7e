// Package restjson implements the AWS REST-JSON protocol (Lambda): the
// operation is found by method and URI template, members bind to URI labels,
// query parameters, headers or the body, and errors name their code in the
// X-Amzn-ErrorType header.
package restjson

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nephele-dev/nephele/internal/api/model"
	"github.com/nephele-dev/nephele/internal/awserr"
	"github.com/nephele-dev/nephele/internal/protocol"
	"github.com/nephele-dev/nephele/internal/protocol/awsjson"
)

// Codec is the REST-JSON codec.
type Codec struct{}

var _ protocol.Codec = Codec{}

// Name implements protocol.Codec.
func (Codec) Name() string { return "rest-json" }

// route is one operation's URI template, split into segments.
type route struct {
	op       string
	method   string
	segs     []string // literal text, or "{Label}" / "{Label+}"
	query    map[string]string
	literals int
}

var routeTables sync.Map // *model.Service → []route

func routes(svc *model.Service) []route {
	if rt, ok := routeTables.Load(svc); ok {
		return rt.([]route)
	}
	var rt []route
	for _, name := range svc.OperationNames() {
		op := svc.Operations[name]
		path, rawQuery, _ := strings.Cut(op.HTTP.RequestURI, "?")
		r := route{op: name, method: op.HTTP.Method, segs: split(path)}
		if rawQuery != "" {
			q, _ := url.ParseQuery(rawQuery)
			r.query = map[string]string{}
			for k := range q {
				r.query[k] = q.Get(k)
			}
		}
		for _, s := range r.segs {
			if !strings.HasPrefix(s, "{") {
				r.literals++
			}
		}
		rt = append(rt, r)
	}
	routeTables.Store(svc, rt)
	return rt
}

func split(path string) []string {
	path = strings.Trim(path, "/")
	if path == "" {
		return nil
	}
	return strings.Split(path, "/")
}

// match returns the labels of path if it fits the route.
func (rt *route) match(method string, segs []string, q url.Values) (map[string]string, bool) {
	if method != rt.method {
		return nil, false
	}
	for k, v := range rt.query {
		if !q.Has(k) || (v != "" && q.Get(k) != v) {
			return nil, false
		}
	}
	labels := map[string]string{}
	for i, s := range rt.segs {
		if strings.HasSuffix(s, "+}") {
			if i >= len(segs) {
				return nil, false
			}
			labels[s[1:len(s)-2]] = strings.Join(segs[i:], "/")
			return labels, true
		}
		if i >= len(segs) {
			return nil, false
		}
		if strings.HasPrefix(s, "{") {
			labels[s[1:len(s)-1]] = segs[i]
			continue
		}
		if s != segs[i] {
			return nil, false
		}
	}
	return labels, len(segs) == len(rt.segs)
}

// Operation matches the request against every URI template, preferring the
// template with the most literal segments (so /functions/X/url beats a
// label) and, among equals, the one with query literals.
func (Codec) Operation(r *protocol.Request) (string, error) {
	segs := split(r.HTTP.URL.EscapedPath())
	for i, s := range segs {
		if u, err := url.PathUnescape(s); err == nil {
			segs[i] = u
		}
	}
	q := r.HTTP.URL.Query()
	best, bestScore := -1, -1
	var bestLabels map[string]string
	table := routes(r.Service)
	for i := range table {
		labels, ok := table[i].match(r.HTTP.Method, segs, q)
		if !ok {
			continue
		}
		score := table[i].literals*2 + len(table[i].query)
		if score > bestScore {
			best, bestScore, bestLabels = i, score, labels
		}
	}
	if best < 0 {
		return "", awserr.New(http.StatusNotFound, "UnknownOperationException", "No operation matches %s %s.", r.HTTP.Method, r.HTTP.URL.Path)
	}
	r.PathParams = bestLabels
	return table[best].op, nil
}

// UnknownOperation implements protocol.Codec.
func (Codec) UnknownOperation(name string) *awserr.Error {
	return awserr.New(http.StatusNotFound, "UnknownOperationException", "Unknown operation %s.", name)
}

// Decode implements protocol.Codec.
func (Codec) Decode(r *protocol.Request, op *model.Operation, in any) error {
	if op.Input == nil {
		return nil
	}
	sh := op.Input.Shape
	v := reflect.ValueOf(in).Elem()
	q := r.HTTP.URL.Query()
	for _, m := range sh.Members {
		f := protocol.Field(v, m.Name)
		if !f.IsValid() {
			continue
		}
		name := m.LocationName
		if name == "" {
			name = m.Name
		}
		var err error
		switch m.Location {
		case "uri":
			if s, ok := r.PathParams[name]; ok {
				err = setText(f, m.Shape, s, false)
			}
		case "querystring":
			err = decodeQuery(f, m.Shape, q, name)
		case "header":
			if s := r.HTTP.Header.Get(name); s != "" {
				err = setText(f, m.Shape, s, true)
			}
		case "headers":
			mv := reflect.MakeMap(f.Type())
			for k, vals := range r.HTTP.Header {
				if rest, ok := cutFold(k, name); ok && len(vals) > 0 {
					mv.SetMapIndex(reflect.ValueOf(rest), reflect.ValueOf(vals[0]))
				}
			}
			if mv.Len() > 0 {
				f.Set(mv)
			}
		}
		if err != nil {
			return err
		}
	}
	if sh.Payload != "" {
		m := sh.MemberByName(sh.Payload)
		f := protocol.Field(v, m.Name)
		switch m.Shape.Type {
		case "blob":
			if len(r.Body) > 0 {
				f.SetBytes(append([]byte(nil), r.Body...))
			}
			return nil
		case "string":
			if len(r.Body) > 0 {
				protocol.Alloc(f).SetString(string(r.Body))
			}
			return nil
		}
		return decodeBody(r.Body, m.Shape, f)
	}
	return decodeBody(r.Body, sh, v)
}

func decodeBody(body []byte, sh *model.Shape, v reflect.Value) error {
	tree, err := awsjson.DecodeTree(body)
	if err != nil {
		return awserr.BadRequest("SerializationException", "The request body is not valid JSON.")
	}
	opt := *awsjson.Options
	opt.BodyOnly = true
	if err := protocol.FromTree(tree, sh, v, &opt, ""); err != nil {
		return awserr.BadRequest("SerializationException", "%s", err.Error())
	}
	return nil
}

func cutFold(s, prefix string) (string, bool) {
	if len(s) < len(prefix) || !strings.EqualFold(s[:len(prefix)], prefix) {
		return "", false
	}
	return s[len(prefix):], true
}

func decodeQuery(f reflect.Value, sh *model.Shape, q url.Values, name string) error {
	switch sh.Type {
	case "list":
		vals, ok := q[name]
		if !ok {
			return nil
		}
		s := reflect.MakeSlice(f.Type(), len(vals), len(vals))
		for i, x := range vals {
			if err := setText(s.Index(i), sh.Member.Shape, x, false); err != nil {
				return err
			}
		}
		f.Set(s)
	case "map":
		mv := reflect.MakeMap(f.Type())
		for k, vals := range q {
			ev := reflect.New(f.Type().Elem()).Elem()
			if sh.Value.Shape.Type == "list" {
				ev.Set(reflect.ValueOf(vals))
			} else {
				ev.SetString(vals[0])
			}
			mv.SetMapIndex(reflect.ValueOf(k), ev)
		}
		f.Set(mv)
	default:
		if q.Has(name) {
			return setText(f, sh, q.Get(name), false)
		}
	}
	return nil
}

// setText parses a label, query or header value into f.
func setText(f reflect.Value, sh *model.Shape, s string, header bool) error {
	bad := awserr.BadRequest("SerializationException", "Value %q is not a valid %s.", s, sh.Type)
	switch sh.Type {
	case "string":
		protocol.Alloc(f).SetString(s)
	case "boolean":
		b, err := strconv.ParseBool(s)
		if err != nil {
			return bad
		}
		protocol.Alloc(f).SetBool(b)
	case "integer", "long":
		bits := 64
		if sh.Type == "integer" {
			bits = 32
		}
		i, err := strconv.ParseInt(s, 10, bits)
		if err != nil {
			return bad
		}
		protocol.Alloc(f).SetInt(i)
	case "double", "float":
		x, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return bad
		}
		protocol.Alloc(f).SetFloat(x)
	case "timestamp":
		var t time.Time
		var err error
		if header {
			t, err = http.ParseTime(s)
		} else if tt, ok := protocol.ParseTime(s); ok {
			t = tt
		} else {
			err = bad
		}
		if err != nil {
			return bad
		}
		protocol.Alloc(f).Set(reflect.ValueOf(t.UTC()))
	case "blob":
		b, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			return bad
		}
		f.SetBytes(b)
	default:
		return bad
	}
	return nil
}

// Encode implements protocol.Codec.
func (Codec) Encode(w http.ResponseWriter, r *protocol.Request, op *model.Operation, out any) {
	status := op.HTTP.ResponseCode
	if status == 0 {
		status = http.StatusOK
	}
	var body []byte
	h := w.Header()
	h.Set("Content-Type", "application/json")
	if op.Output != nil {
		sh := op.Output.Shape
		v := protocol.Indirect(reflect.ValueOf(out))
		for _, m := range sh.Members {
			f := protocol.Indirect(protocol.Field(v, m.Name))
			if !f.IsValid() {
				continue
			}
			name := m.LocationName
			if name == "" {
				name = m.Name
			}
			switch m.Location {
			case "statusCode":
				status = int(f.Int())
			case "header":
				h.Set(name, headerText(m.Shape, f))
			case "headers":
				iter := f.MapRange()
				for iter.Next() {
					h.Set(name+iter.Key().String(), iter.Value().String())
				}
			}
		}
		switch {
		case sh.Payload != "":
			m := sh.MemberByName(sh.Payload)
			f := protocol.Indirect(protocol.Field(v, m.Name))
			switch {
			case !f.IsValid():
			case m.Shape.Type == "blob":
				body = f.Bytes()
			case m.Shape.Type == "string":
				body = []byte(f.String())
			default:
				body = mustJSON(protocol.ToTree(f, m.Shape, bodyOptions()))
			}
		default:
			tree := protocol.ToTree(v, sh, bodyOptions())
			if tree == nil {
				tree = map[string]any{}
			}
			body = mustJSON(tree)
		}
	}
	if body == nil && status != http.StatusNoContent && status != http.StatusAccepted {
		body = []byte("{}")
	}
	h.Set(protocol.RequestIDHeader, r.RequestID)
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	w.Write(body)
}

func bodyOptions() *protocol.TreeOptions {
	opt := *awsjson.Options
	opt.BodyOnly = true
	return &opt
}

func mustJSON(tree any) []byte {
	b, err := json.Marshal(tree)
	if err != nil {
		return []byte("{}")
	}
	return b
}

func headerText(sh *model.Shape, f reflect.Value) string {
	switch sh.Type {
	case "boolean":
		return strconv.FormatBool(f.Bool())
	case "integer", "long":
		return strconv.FormatInt(f.Int(), 10)
	case "double", "float":
		return strconv.FormatFloat(f.Float(), 'f', -1, 64)
	case "timestamp":
		return f.Interface().(time.Time).UTC().Format(http.TimeFormat)
	case "blob":
		return base64.StdEncoding.EncodeToString(f.Bytes())
	}
	return f.String()
}

// EncodeError implements protocol.Codec, as Lambda shapes its errors: the
// code in X-Amzn-ErrorType, and {"Type":"User","Message":...} in the body.
func (Codec) EncodeError(w http.ResponseWriter, r *protocol.Request, e *awserr.Error) {
	typ := "User"
	if e.Receiver {
		typ = "Service"
	}
	fields := map[string]string{"Type": typ, "Message": e.Message}
	for k, v := range e.Fields {
		fields[k] = v
	}
	body, _ := json.Marshal(fields)
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("X-Amzn-ErrorType", protocol.ErrorType(r.Service, e.Code))
	h.Set(protocol.RequestIDHeader, r.RequestID)
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(e.Status)
	w.Write(body)
}
