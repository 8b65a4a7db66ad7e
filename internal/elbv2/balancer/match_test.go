package balancer

import (
	"net/http/httptest"
	"net/netip"
	"regexp"
	"strings"
	"testing"
)

func TestWildcard(t *testing.T) {
	tests := []struct {
		pattern, s string
		fold, want bool
	}{
		{"/api/*", "/api/users", false, true},
		{"/api/*", "/api/", false, true},
		{"/api/*", "/api", false, false},
		{"/img/*.png", "/img/a/b.png", false, true},
		{"/img/*.png", "/img/a/b.jpg", false, false},
		{"/v?/x", "/v1/x", false, true},
		{"/v?/x", "/v10/x", false, false},
		{"*", "", false, true},
		{"", "", false, true},
		{"", "a", false, false},
		{"/API/*", "/api/x", false, false},
		{"*.example.com", "WWW.Example.COM", true, true},
		{"*.example.com", "example.com", true, false},
		{"a*b*c", "aXXbYYc", false, true},
		{"a*b*c", "aXXbYY", false, false},
		{"**", "abc", false, true},
		{"?*", "", false, false},
	}
	for _, tc := range tests {
		if got := wildcard(tc.pattern, tc.s, tc.fold); got != tc.want {
			t.Errorf("wildcard(%q, %q, %v) = %v, want %v", tc.pattern, tc.s, tc.fold, got, tc.want)
		}
	}
}

// FuzzWildcard checks the matcher against a regular expression built from
// the same pattern.
func FuzzWildcard(f *testing.F) {
	for _, s := range [][2]string{{"/api/*", "/api/x"}, {"a*b?c", "aXbYc"}, {"*.x.com", "A.X.COM"}, {"**?", ""}} {
		f.Add(s[0], s[1], true)
	}
	f.Fuzz(func(t *testing.T, pattern, s string, fold bool) {
		if len(pattern) > 64 || len(s) > 256 {
			return
		}
		var re strings.Builder
		re.WriteString(`(?s)^`)
		if fold {
			re.WriteString(`(?i)`)
		}
		for _, r := range pattern {
			switch r {
			case '*':
				re.WriteString(`.*`)
			case '?':
				re.WriteString(`.`)
			default:
				re.WriteString(regexp.QuoteMeta(string(r)))
			}
		}
		re.WriteString(`$`)
		rx, err := regexp.Compile(re.String())
		if err != nil {
			return
		}
		// The matcher works on bytes, the regexp on runes: compare on ASCII.
		for i := range len(pattern) {
			if pattern[i] >= 0x80 {
				return
			}
		}
		for i := range len(s) {
			if s[i] >= 0x80 {
				return
			}
		}
		if fold {
			// (?i) also folds Unicode specials such as K/k (Kelvin); ASCII only here.
			if got, want := wildcard(pattern, s, true), rx.MatchString(s); got != want {
				t.Fatalf("wildcard(%q, %q, fold) = %v, regexp says %v", pattern, s, got, want)
			}
			return
		}
		if got, want := wildcard(pattern, s, false), rx.MatchString(s); got != want {
			t.Fatalf("wildcard(%q, %q) = %v, regexp says %v", pattern, s, got, want)
		}
	})
}

func TestMatchCondition(t *testing.T) {
	tests := []struct {
		name   string
		cond   Condition
		method string
		url    string
		hdr    map[string]string
		client string
		want   bool
	}{
		{"path wildcard", Condition{Field: "path-pattern", Values: []string{"/api/*"}}, "GET", "/api/v1?x=1", nil, "", true},
		{"path is case sensitive", Condition{Field: "path-pattern", Values: []string{"/API/*"}}, "GET", "/api/v1", nil, "", false},
		{"path values are ORed", Condition{Field: "path-pattern", Values: []string{"/a", "/b"}}, "GET", "/b", nil, "", true},
		{"path ignores query", Condition{Field: "path-pattern", Values: []string{"/a"}}, "GET", "/a?b=c", nil, "", true},
		{"host case insensitive without port", Condition{Field: "host-header", Values: []string{"*.example.com"}}, "GET", "http://API.Example.com:8080/", nil, "", true},
		{"host mismatch", Condition{Field: "host-header", Values: []string{"*.example.com"}}, "GET", "http://example.org/", nil, "", false},
		{"header wildcard", Condition{Field: "http-header", HeaderName: "User-Agent", Values: []string{"*Mobile*"}}, "GET", "/", map[string]string{"user-agent": "Foo mobile Bar"}, "", true},
		{"header absent", Condition{Field: "http-header", HeaderName: "X-Env", Values: []string{"*"}}, "GET", "/", nil, "", false},
		{"method", Condition{Field: "http-request-method", Values: []string{"POST", "PUT"}}, "PUT", "/", nil, "", true},
		{"method exact", Condition{Field: "http-request-method", Values: []string{"POST"}}, "GET", "/", nil, "", false},
		{"query key and value", Condition{Field: "query-string", Query: []QueryPair{{Key: "version", Value: "v*"}}}, "GET", "/?version=V2", nil, "", true},
		{"query any key", Condition{Field: "query-string", Query: []QueryPair{{Value: "beta"}}}, "GET", "/?x=beta", nil, "", true},
		{"query mismatch", Condition{Field: "query-string", Query: []QueryPair{{Key: "version", Value: "v1"}}}, "GET", "/?version=v2", nil, "", false},
		{"source ip in cidr", Condition{Field: "source-ip", Values: []string{"10.0.0.0/8", "127.0.0.0/8"}}, "GET", "/", nil, "127.0.0.9", true},
		{"source ip outside", Condition{Field: "source-ip", Values: []string{"10.0.0.0/8"}}, "GET", "/", nil, "127.0.0.9", false},
		{"source ipv6", Condition{Field: "source-ip", Values: []string{"::1/128"}}, "GET", "/", nil, "::1", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(tc.method, tc.url, nil)
			for k, v := range tc.hdr {
				r.Header.Set(k, v)
			}
			q := request{r: r, host: hostOnly(r.Host)}
			if tc.client != "" {
				q.clientIP = netip.MustParseAddr(tc.client)
			}
			if got := matchCondition(&tc.cond, &q); got != tc.want {
				t.Errorf("match = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestMatchCode(t *testing.T) {
	tests := []struct {
		m    string
		code int
		want bool
	}{
		{"200", 200, true}, {"200", 204, false}, {"200,202", 202, true},
		{"200-299", 250, true}, {"200-299", 300, false}, {"200, 301-302", 302, true},
	}
	for _, tc := range tests {
		if got := matchCode(tc.m, tc.code); got != tc.want {
			t.Errorf("matchCode(%q, %d) = %v", tc.m, tc.code, got)
		}
	}
}

func TestRedirectURL(t *testing.T) {
	tests := []struct {
		name  string
		rd    Redirect
		url   string
		proto string
		port  int
		want  string
	}{
		{"http to https", Redirect{Protocol: "HTTPS", Port: "443", StatusCode: "HTTP_301"}, "http://a.example.com/x/y?q=1", "HTTP", 80, "https://a.example.com/x/y?q=1"},
		{"defaults keep all", Redirect{}, "http://a.example.com:8080/p", "HTTP", 8080, "http://a.example.com:8080/p"},
		{"to another listener's real port", Redirect{Protocol: "HTTPS", Port: "8443"}, "http://a.example.com/", "HTTP", 80, "https://a.example.com:30443/"},
		{"new host and path", Redirect{Host: "b.example.com", Path: "/new/#{path}", Query: "from=#{host}&#{query}"}, "http://a.example.com/old?z=2", "HTTP", 80, "http://b.example.com/new/old?from=a.example.com&z=2"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", tc.url, nil)
			if got := redirectURL(&tc.rd, r, tc.proto, tc.port, map[int]int{80: 80, 8443: 30443}); got != tc.want {
				t.Errorf("redirectURL = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestTraceID(t *testing.T) {
	rx := `1-[0-9a-f]{8}-[0-9a-f]{24}`
	tests := []struct{ in, want string }{
		{"", `^Root=` + rx + `$`},
		{"Root=1-67891233-abcdef012345678912345678", `^Self=` + rx + `;Root=1-67891233-abcdef012345678912345678$`},
		{"Root=1-67891233-abcdef012345678912345678;CalledFrom=app", `^Self=` + rx + `;Root=1-67891233-abcdef012345678912345678;CalledFrom=app$`},
		{"Self=1-00000000-000000000000000000000000;Root=1-67891233-abcdef012345678912345678", `^Self=` + rx + `;Root=1-67891233-abcdef012345678912345678$`},
	}
	for _, tc := range tests {
		got := traceID(epoch, tc.in)
		if !regexp.MustCompile(tc.want).MatchString(got) {
			t.Errorf("traceID(%q) = %q, want match %s", tc.in, got, tc.want)
		}
		if strings.Contains(got, "Self=1-00000000") {
			t.Errorf("Self not renewed: %q", got)
		}
	}
	if got := traceID(epoch, ""); !strings.HasPrefix(got, "Root=1-6955b900-") {
		t.Errorf("epoch field of %q: want 6955b900 (2026-01-01)", got)
	}
}
