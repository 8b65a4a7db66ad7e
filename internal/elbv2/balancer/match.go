package balancer

import (
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

// request is what rule conditions look at, parsed once per request.
type request struct {
	r        *http.Request
	host     string // Host without port
	clientIP netip.Addr
	query    url.Values // parsed lazily
}

func (q *request) queryValues() url.Values {
	if q.query == nil {
		q.query = q.r.URL.Query()
	}
	return q.query
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
		path := q.r.URL.Path
		for _, v := range c.Values {
			if wildcard(v, path, false) {
				return true
			}
		}
	case "host-header":
		for _, v := range c.Values {
			if wildcard(v, q.host, true) {
				return true
			}
		}
	case "http-header":
		vals := q.r.Header.Values(c.HeaderName)
		if strings.EqualFold(c.HeaderName, "Host") {
			vals = []string{q.r.Host}
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
			if v == q.r.Method {
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
