// Package query implements the AWS query protocol (Auto Scaling, ELBv2,
// CloudWatch, IAM, STS) and its EC2 variant: form-encoded requests whose
// keys spell paths like "Filter.1.Value.2", and XML responses.
//
// The two differ only in a few rules, all driven by the model: EC2 names
// request keys by queryName or a capitalised locationName and never writes
// ".member" in lists; it answers without a Result wrapper, with a requestId
// element, and errors inside <Response><Errors>.
package query

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"net/http"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/nephele-dev/nephele/internal/api/model"
	"github.com/nephele-dev/nephele/internal/awserr"
	"github.com/nephele-dev/nephele/internal/protocol"
)

// Codec is the query protocol, or with EC2 set, the ec2 protocol.
type Codec struct {
	EC2 bool
}

var (
	_ protocol.Codec = Query
	_ protocol.Codec = EC2
)

// Query is the AWS query protocol codec.
var Query = &Codec{}

// EC2 is the EC2 query protocol codec.
var EC2 = &Codec{EC2: true}

// Name implements protocol.Codec.
func (c *Codec) Name() string {
	if c.EC2 {
		return "ec2"
	}
	return "query"
}

// Operation reads the Action parameter and checks Version against the model.
func (c *Codec) Operation(r *protocol.Request) (string, error) {
	form, err := r.Form()
	if err != nil {
		return "", c.malformed("the request body is not a valid form encoding")
	}
	action := form.Get("Action")
	if action == "" {
		return "", awserr.BadRequest("MissingAction", "The request must contain the parameter Action.")
	}
	// EC2 still accepts every API version it ever published; the other
	// query services answer a version they do not know with InvalidAction.
	if v := form.Get("Version"); !c.EC2 && v != "" && v != r.Service.Metadata.APIVersion {
		return "", awserr.BadRequest("InvalidAction", "Could not find operation %s for version %s", action, v)
	}
	return action, nil
}

// UnknownOperation implements protocol.Codec.
func (c *Codec) UnknownOperation(name string) *awserr.Error {
	return awserr.BadRequest("InvalidAction", "The action %s is not valid for this web service.", name)
}

func (c *Codec) malformed(format string, args ...any) *awserr.Error {
	if c.EC2 {
		return awserr.BadRequest("InvalidParameterValue", format, args...)
	}
	return awserr.BadRequest("MalformedQueryString", format, args...)
}

// node is one segment of the dotted key paths of a query request.
type node struct {
	value string
	set   bool
	kids  kidSet
}

// kidSet holds a node's children: a slice while there are few (most
// nodes have a handful, and maps were most of decoding's allocations),
// indexed by a map once there are many.
type kidSet struct {
	list  []kid
	index map[string]*node
}

type kid struct {
	key  string
	node *node
}

// kidIndexAt is the number of children from which a kidSet keeps a map.
const kidIndexAt = 16

func (k *kidSet) get(key string) *node {
	if k.index != nil {
		return k.index[key]
	}
	for _, c := range k.list {
		if c.key == key {
			return c.node
		}
	}
	return nil
}

func (k *kidSet) add(key string, n *node) {
	k.list = append(k.list, kid{key, n})
	if k.index != nil {
		k.index[key] = n
	} else if len(k.list) >= kidIndexAt {
		k.index = make(map[string]*node, 2*len(k.list))
		for _, c := range k.list {
			k.index[c.key] = c.node
		}
	}
}

func buildTree(form map[string][]string) *node {
	root := &node{}
	for key, vals := range form {
		n := root
		for rest, more := key, true; more; {
			var seg string
			seg, rest, more = strings.Cut(rest, ".")
			next := n.kids.get(seg)
			if next == nil {
				next = &node{}
				n.kids.add(seg, next)
			}
			n = next
		}
		if len(vals) > 0 {
			n.value, n.set = vals[0], true
		}
	}
	return root
}

// indexed returns the children of n keyed by positive integers, in order.
func (n *node) indexed() []*node {
	type kv struct {
		i int
		n *node
	}
	var items []kv
	for _, c := range n.kids.list {
		k, child := c.key, c.node
		i, err := strconv.Atoi(k)
		if err != nil || i < 1 {
			continue
		}
		items = append(items, kv{i, child})
	}
	sort.Slice(items, func(a, b int) bool { return items[a].i < items[b].i })
	out := make([]*node, len(items))
	for i, it := range items {
		out[i] = it.n
	}
	return out
}

// Decode implements protocol.Codec.
func (c *Codec) Decode(r *protocol.Request, op *model.Operation, in any) error {
	if op.Input == nil {
		return nil
	}
	form, err := r.Form()
	if err != nil {
		return c.malformed("the request body is not a valid form encoding")
	}
	root := buildTree(form)
	if err := c.decodeStruct(root, op.Input.Shape, reflect.ValueOf(in).Elem(), ""); err != nil {
		return err
	}
	return nil
}

// requestName is the key a member is sent under.
func (c *Codec) requestName(m *model.Member) string {
	if !c.EC2 {
		if m.LocationName != "" {
			return m.LocationName
		}
		return m.Name
	}
	switch {
	case m.QueryName != "":
		return m.QueryName
	case m.LocationName != "":
		return strings.ToUpper(m.LocationName[:1]) + m.LocationName[1:]
	}
	return strings.ToUpper(m.Name[:1]) + m.Name[1:]
}

func (c *Codec) decodeStruct(n *node, sh *model.Shape, v reflect.Value, path string) error {
	for _, m := range sh.Members {
		name := c.requestName(m)
		child := n.kids.get(name)
		if child == nil {
			continue
		}
		f := protocol.Field(v, m.Name)
		if !f.IsValid() {
			continue
		}
		if err := c.decodeValue(child, m.Shape, f, path+name); err != nil {
			return err
		}
	}
	return nil
}

func (c *Codec) decodeValue(n *node, sh *model.Shape, v reflect.Value, path string) error {
	switch sh.Type {
	case "structure":
		if v.Kind() == reflect.Interface {
			return nil // documents have no query form
		}
		return c.decodeStruct(n, sh, protocol.Alloc(v), path+".")
	case "list":
		items := n
		if !c.EC2 {
			name := "member"
			if sh.Member.LocationName != "" {
				name = sh.Member.LocationName
			}
			items = n.kids.get(name)
		}
		var elems []*node
		if items != nil {
			elems = items.indexed()
		}
		s := reflect.MakeSlice(v.Type(), len(elems), len(elems))
		for i, el := range elems {
			if err := c.decodeValue(el, sh.Member.Shape, s.Index(i), fmt.Sprintf("%s.%d", path, i+1)); err != nil {
				return err
			}
		}
		v.Set(s)
	case "map":
		entries := n
		if !c.EC2 {
			entries = n.kids.get("entry")
		}
		mv := reflect.MakeMap(v.Type())
		keyName, valName := "key", "value"
		if sh.Key.LocationName != "" {
			keyName = sh.Key.LocationName
		}
		if sh.Value.LocationName != "" {
			valName = sh.Value.LocationName
		}
		if entries != nil {
			for _, e := range entries.indexed() {
				k := e.kids.get(keyName)
				if k == nil {
					continue
				}
				ev := reflect.New(v.Type().Elem()).Elem()
				if val := e.kids.get(valName); val != nil {
					if err := c.decodeValue(val, sh.Value.Shape, ev, path+"."+k.value); err != nil {
						return err
					}
				}
				mv.SetMapIndex(reflect.ValueOf(k.value), ev)
			}
		}
		v.Set(mv)
	default:
		if !n.set {
			return nil
		}
		return c.decodeScalar(n.value, sh, v, path)
	}
	return nil
}

func (c *Codec) decodeScalar(s string, sh *model.Shape, v reflect.Value, path string) error {
	bad := func() error {
		if c.EC2 {
			return awserr.BadRequest("InvalidParameterValue", "Value (%s) for parameter %s is invalid. Expected a %s.", s, path, sh.Type)
		}
		return awserr.BadRequest("ValidationError", "1 validation error detected: Value '%s' at '%s' failed to satisfy constraint: Member must be a valid %s", s, path, sh.Type)
	}
	switch sh.Type {
	case "string":
		protocol.Alloc(v).SetString(s)
	case "boolean":
		b, err := strconv.ParseBool(s)
		if err != nil {
			return bad()
		}
		protocol.Alloc(v).SetBool(b)
	case "integer", "long":
		bits := 64
		if sh.Type == "integer" {
			bits = 32
		}
		i, err := strconv.ParseInt(strings.TrimSpace(s), 10, bits)
		if err != nil {
			return bad()
		}
		protocol.Alloc(v).SetInt(i)
	case "double", "float":
		f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
		if err != nil {
			return bad()
		}
		protocol.Alloc(v).SetFloat(f)
	case "timestamp":
		t, ok := protocol.ParseTime(s)
		if !ok {
			return bad()
		}
		protocol.Alloc(v).Set(reflect.ValueOf(t))
	case "blob":
		b, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			return bad()
		}
		v.SetBytes(b)
	}
	return nil
}

// Encode implements protocol.Codec.
func (c *Codec) Encode(w http.ResponseWriter, r *protocol.Request, op *model.Operation, out any) {
	var b bytes.Buffer
	ns := r.Service.Metadata.XMLNamespace
	if c.EC2 && !strings.HasSuffix(ns, "/") {
		// The model omits the slash that EC2 puts at the end of its namespace.
		ns += "/"
	}
	if c.EC2 {
		b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n")
	}
	fmt.Fprintf(&b, `<%sResponse xmlns="%s">`, op.Name, ns)
	if c.EC2 {
		b.WriteString("<requestId>")
		escape(&b, r.RequestID)
		b.WriteString("</requestId>")
		if op.Output != nil {
			c.encodeMembers(&b, op.Output.Shape, reflect.ValueOf(out))
		}
	} else {
		if op.Output != nil && op.Output.ResultWrapper != "" {
			fmt.Fprintf(&b, "<%s>", op.Output.ResultWrapper)
			c.encodeMembers(&b, op.Output.Shape, reflect.ValueOf(out))
			fmt.Fprintf(&b, "</%s>", op.Output.ResultWrapper)
		}
		b.WriteString("<ResponseMetadata><RequestId>")
		escape(&b, r.RequestID)
		b.WriteString("</RequestId></ResponseMetadata>")
	}
	fmt.Fprintf(&b, "</%sResponse>", op.Name)
	c.write(w, r, http.StatusOK, b.Bytes())
}

func (c *Codec) write(w http.ResponseWriter, r *protocol.Request, status int, body []byte) {
	h := w.Header()
	if c.EC2 {
		h.Set("Content-Type", "text/xml;charset=UTF-8")
	} else {
		h.Set("Content-Type", "text/xml")
	}
	h.Set(protocol.RequestIDHeader, r.RequestID)
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	w.Write(body)
}

func (c *Codec) encodeMembers(b *bytes.Buffer, sh *model.Shape, v reflect.Value) {
	v = protocol.Indirect(v)
	if !v.IsValid() || v.Kind() != reflect.Struct {
		return
	}
	for _, m := range sh.Members {
		f := protocol.Field(v, m.Name)
		if !f.IsValid() {
			continue
		}
		name := m.Name
		if m.LocationName != "" {
			name = m.LocationName
		}
		c.encodeValue(b, name, m.Shape, f)
	}
}

func (c *Codec) encodeValue(b *bytes.Buffer, name string, sh *model.Shape, v reflect.Value) {
	if v.Kind() == reflect.Slice && sh.Type == "list" && v.IsNil() {
		return
	}
	if v.Kind() == reflect.Map && v.IsNil() {
		return
	}
	v = protocol.Indirect(v)
	if !v.IsValid() {
		return
	}
	switch sh.Type {
	case "structure":
		open(b, name)
		c.encodeMembers(b, sh, v)
		closeTag(b, name)
	case "list":
		item := "member"
		if sh.Member.LocationName != "" {
			item = sh.Member.LocationName
		}
		open(b, name)
		for i := 0; i < v.Len(); i++ {
			c.encodeValue(b, item, sh.Member.Shape, v.Index(i))
		}
		closeTag(b, name)
	case "map":
		keyName, valName := "key", "value"
		if sh.Key.LocationName != "" {
			keyName = sh.Key.LocationName
		}
		if sh.Value.LocationName != "" {
			valName = sh.Value.LocationName
		}
		keys := v.MapKeys()
		sort.Slice(keys, func(i, j int) bool { return keys[i].String() < keys[j].String() })
		open(b, name)
		for _, k := range keys {
			b.WriteString("<entry>")
			c.encodeValue(b, keyName, sh.Key.Shape, k)
			c.encodeValue(b, valName, sh.Value.Shape, v.MapIndex(k))
			b.WriteString("</entry>")
		}
		closeTag(b, name)
	default:
		open(b, name)
		escape(b, scalarText(sh, v))
		closeTag(b, name)
	}
}

func scalarText(sh *model.Shape, v reflect.Value) string {
	switch sh.Type {
	case "boolean":
		return strconv.FormatBool(v.Bool())
	case "integer", "long":
		return strconv.FormatInt(v.Int(), 10)
	case "double", "float":
		return strconv.FormatFloat(v.Float(), 'f', -1, 64)
	case "timestamp":
		return protocol.ISO8601(v.Interface().(time.Time))
	case "blob":
		return base64.StdEncoding.EncodeToString(v.Bytes())
	}
	return v.String()
}

// escape writes s as XML character data. Unlike xml.EscapeText it leaves
// quotes and newlines as they are, as AWS does; characters XML cannot carry
// become U+FFFD.
func escape(b *bytes.Buffer, s string) {
	for _, r := range s {
		switch {
		case r == '&':
			b.WriteString("&amp;")
		case r == '<':
			b.WriteString("&lt;")
		case r == '>':
			b.WriteString("&gt;")
		case r == '\r':
			b.WriteString("&#xD;")
		case r == '\t' || r == '\n' || (r >= 0x20 && r <= 0xD7FF) || (r >= 0xE000 && r <= 0xFFFD) || (r >= 0x10000 && r <= 0x10FFFF):
			b.WriteRune(r)
		default:
			b.WriteRune(0xFFFD)
		}
	}
}

func open(b *bytes.Buffer, name string) {
	b.WriteByte('<')
	b.WriteString(name)
	b.WriteByte('>')
}

func closeTag(b *bytes.Buffer, name string) {
	b.WriteString("</")
	b.WriteString(name)
	b.WriteByte('>')
}

// EncodeError implements protocol.Codec.
func (c *Codec) EncodeError(w http.ResponseWriter, r *protocol.Request, e *awserr.Error) {
	var b bytes.Buffer
	if c.EC2 {
		b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n<Response><Errors><Error><Code>")
		escape(&b, e.Code)
		b.WriteString("</Code><Message>")
		escape(&b, e.Message)
		b.WriteString("</Message></Error></Errors><RequestID>")
		escape(&b, r.RequestID)
		b.WriteString("</RequestID></Response>")
	} else {
		b.WriteString("<ErrorResponse")
		if r.Service != nil {
			fmt.Fprintf(&b, ` xmlns="%s"`, r.Service.Metadata.XMLNamespace)
		}
		fault := "Sender"
		if e.Receiver {
			fault = "Receiver"
		}
		fmt.Fprintf(&b, `><Error><Type>%s</Type><Code>`, fault)
		escape(&b, e.Code)
		b.WriteString("</Code><Message>")
		escape(&b, e.Message)
		b.WriteString("</Message></Error><RequestId>")
		escape(&b, r.RequestID)
		b.WriteString("</RequestId></ErrorResponse>")
	}
	c.write(w, r, e.Status, b.Bytes())
}
