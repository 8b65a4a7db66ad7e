package balancer

import (
	"bytes"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
)

// wildcard reports whether s matches pattern, where '*' matches any run of
// characters (including none) and '?' exactly one, as ALB rule conditions
// do. fold makes the comparison case-insensitive (ASCII).
//
// It is the classic linear backtracking glob: on a mismatch it retries
// from the last '*' one character further, so it runs in O(len(s)·stars)
// time at worst and never recurses.
func wildcard(pattern, s string, fold bool) bool {
	p, i := 0, 0
	star, mark := -1, 0
	for i < len(s) {
		switch {
		case p < len(pattern) && pattern[p] == '*':
			star, mark = p, i
			p++
		case p < len(pattern) && (pattern[p] == '?' || eqByte(pattern[p], s[i], fold)):
			p++
			i++
		case star >= 0:
			p = star + 1
			mark++
			i = mark
		default:
			return false
		}
	}
	for p < len(pattern) && pattern[p] == '*' {
		p++
	}
	return p == len(pattern)
}

func eqByte(a, b byte, fold bool) bool {
	if a == b {
		return true
	}
	if !fold {
		return false
	}
	if 'A' <= a && a <= 'Z' {
		a += 'a' - 'A'
	}
	if 'A' <= b && b <= 'Z' {
		b += 'a' - 'A'
	}
	return a == b
}

// request is what rule conditions look at, parsed once per request: r
// when net/http read the request, h when the connection loop did.
type request struct {
	r        *http.Request
	h        *reqHead
	host     string // Host without port
	clientIP netip.Addr
	query    url.Values // parsed lazily
}

func (q *request) queryValues() url.Values {
	if q.query == nil {
		if q.r != nil {
			q.query = q.r.URL.Query()
		} else {
			q.query, _ = url.ParseQuery(q.rawQuery())
		}
	}
	return q.query
}

// method is the request method; the common ones without allocating.
func (q *request) method() string {
	if q.r != nil {
		return q.r.Method
	}
	m := q.h.bytes(q.h.method)
	for _, s := range commonMethods {
		if string(m) == s {
			return s
		}
	}
	return string(m)
}

var commonMethods = [...]string{"GET", "POST", "HEAD", "PUT", "DELETE", "PATCH", "OPTIONS"}

// rawHost is the Host header as sent, port included.
func (q *request) rawHost() string {
	if q.r != nil {
		return q.r.Host
	}
	return string(q.h.bytes(q.h.fields[q.h.host].value))
}

// hostName is the Host without its port.
func (q *request) hostName() string {
	if q.host == "" && q.h != nil {
		q.host = hostOnly(q.rawHost())
	}
	return q.host
}

// path is the request path, %-escapes decoded (URL.Path).
func (q *request) path() string {
	if q.r != nil {
		return q.r.URL.Path
	}
	p := string(q.h.bytes(q.h.path))
	if q.h.pathEscaped {
		// The head parser let only valid escapes through.
		p, _ = url.PathUnescape(p)
	}
	return p
}

// escapedPath is the path as sent (URL.EscapedPath; the loop serves only
// paths that net/url would give back unchanged).
func (q *request) escapedPath() string {
	if q.r != nil {
		return q.r.URL.EscapedPath()
	}
	return string(q.h.bytes(q.h.path))
}

// rawQuery is the query without its '?'.
func (q *request) rawQuery() string {
	if q.r != nil {
		return q.r.URL.RawQuery
	}
	return string(q.h.bytes(q.h.query))
}

// headerValues are the values of a request header, in order.
func (q *request) headerValues(name string) []string {
	if q.r != nil {
		return q.r.Header.Values(name)
	}
	var vs []string
	for i := range q.h.fields {
		f := &q.h.fields[i]
		if bytes.EqualFold(q.h.bytes(f.name), []byte(name)) {
			vs = append(vs, string(q.h.bytes(f.value)))
		}
	}
	return vs
}

// cookie finds a request cookie as net/http's Request.Cookie does.
func (q *request) cookie(name string) (string, bool) {
	if q.r != nil {
		c, err := q.r.Cookie(name)
		if err != nil {
			return "", false
		}
		return c.Value, true
	}
	for i := range q.h.fields {
		f := &q.h.fields[i]
		if f.kind != fieldCookie {
			continue
		}
		for part := range bytes.SplitSeq(q.h.bytes(f.value), []byte(";")) {
			part = bytes.TrimSpace(part)
			k, v, _ := bytes.Cut(part, []byte("="))
			if string(k) != name || len(k) == 0 {
				continue
			}
			if len(v) > 1 && v[0] == '"' && v[len(v)-1] == '"' {
				v = v[1 : len(v)-1]
			}
			ok := true
			for _, c := range v {
				if c < 0x20 || c >= 0x7f || c == '"' || c == ';' || c == '\\' {
					ok = false
					break
				}
			}
			if ok {
				return string(v), true
			}
		}
	}
	return "", false
}

func hostOnly(h string) string {
	if host, _, err := net.SplitHostPort(h); err == nil {
		return host
	}
	return h
}

// matchRule reports whether every condition of the rule matches.
func matchRule(rule *Rule, q *request) bool {
	for i := range rule.Conditions {
		if !matchCondition(&rule.Conditions[i], q) {
			return false
		}
	}
	return true
}

// matchCondition reports whether any value of one condition matches:
// path patterns are case-sensitive, host and header values and query
// strings are not, methods are compared exactly.
func matchCondition(c *Condition, q *request) bool {
	switch c.Field {
	case "path-pattern":
		path := q.path()
		for _, v := range c.Values {
			if wildcard(v, path, false) {
				return true
			}
		}
	case "host-header":
		for _, v := range c.Values {
			if wildcard(v, q.hostName(), true) {
				return true
			}
		}
	case "http-header":
		vals := q.headerValues(c.HeaderName)
		if strings.EqualFold(c.HeaderName, "Host") {
			vals = []string{q.rawHost()}
		}
		for _, hv := range vals {
			for _, v := range c.Values {
				if wildcard(v, hv, true) {
					return true
				}
			}
		}
	case "http-request-method":
		for _, v := range c.Values {
			if v == q.method() {
				return true
			}
		}
	case "query-string":
		qv := q.queryValues()
		for _, pair := range c.Query {
			for k, vs := range qv {
				if pair.Key != "" && !wildcard(pair.Key, k, true) {
					continue
				}
				for _, v := range vs {
					if wildcard(pair.Value, v, true) {
						return true
					}
				}
			}
		}
	case "source-ip":
		if !q.clientIP.IsValid() {
			return false
		}
		for _, v := range c.Values {
			if pfx, err := netip.ParsePrefix(v); err == nil {
				if pfx.Contains(q.clientIP.Unmap()) {
					return true
				}
			} else if a, err := netip.ParseAddr(v); err == nil && a == q.clientIP.Unmap() {
				return true
			}
		}
	}
	return false
}
