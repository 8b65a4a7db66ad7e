package balancer

import (
	"bufio"
	"bytes"
	"net/http"
	"strconv"
	"strings"
	"testing"
)

func TestParseRequestHead(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		verdict int
		check   func(t *testing.T, h *reqHead)
	}{
		{"simple get", "GET /a/b?x=1 HTTP/1.1\r\nHost: example.com:8080\r\nUser-Agent: t\r\n\r\n", headOK, func(t *testing.T, h *reqHead) {
			if got := string(h.bytes(h.method)); got != "GET" {
				t.Errorf("method %q", got)
			}
			if got := string(h.bytes(h.path)); got != "/a/b" {
				t.Errorf("path %q", got)
			}
			if got := string(h.bytes(h.query)); got != "x=1" || !h.hasQuery {
				t.Errorf("query %q", got)
			}
			if got := string(h.bytes(h.fields[h.host].value)); got != "example.com:8080" {
				t.Errorf("host %q", got)
			}
			if h.close || h.contentLength != 0 || h.methodHEAD {
				t.Errorf("flags %+v", h)
			}
		}},
		{"post with length", "POST /p HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello", headOK, func(t *testing.T, h *reqHead) {
			if h.contentLength != 5 {
				t.Errorf("length %d", h.contentLength)
			}
		}},
		{"head", "HEAD / HTTP/1.1\r\nHost: h\r\n\r\n", headOK, func(t *testing.T, h *reqHead) {
			if !h.methodHEAD {
				t.Error("not HEAD")
			}
		}},
		{"connection close and tokens", "GET / HTTP/1.1\r\nHost: h\r\nConnection: close, X-Hop\r\nX-Hop: 1\r\n\r\n", headOK, func(t *testing.T, h *reqHead) {
			if !h.close || !h.connTokens || !h.namedByConnection(&h.fields[2]) || h.namedByConnection(&h.fields[0]) {
				t.Errorf("close %v tokens %v", h.close, h.connTokens)
			}
		}},
		{"te trailers", "GET / HTTP/1.1\r\nHost: h\r\nTE: Trailers, deflate\r\n\r\n", headOK, func(t *testing.T, h *reqHead) {
			if !h.teTrailers {
				t.Error("TE trailers not seen")
			}
		}},
		{"value blanks trimmed", "GET / HTTP/1.1\r\nHost: h\r\nX-A: \t v w \t\r\n\r\n", headOK, func(t *testing.T, h *reqHead) {
			if got := string(h.bytes(h.fields[1].value)); got != "v w" {
				t.Errorf("value %q", got)
			}
		}},
		{"escaped path", "GET /a%2Fb HTTP/1.1\r\nHost: h\r\n\r\n", headOK, func(t *testing.T, h *reqHead) {
			if !h.pathEscaped {
				t.Error("escape not seen")
			}
		}},
		{"empty query", "GET /a? HTTP/1.1\r\nHost: h\r\n\r\n", headOK, func(t *testing.T, h *reqHead) {
			if !h.hasQuery || h.query.j != h.query.i {
				t.Errorf("query %+v", h.query)
			}
		}},
		{"obs-text value", "GET / HTTP/1.1\r\nHost: h\r\nX-A: caf\xc3\xa9\r\n\r\n", headOK, nil},

		{"incomplete line", "GET / HTTP/1.1\r\nHo", headIncomplete, nil},
		{"incomplete head", "GET / HTTP/1.1\r\nHost: h\r\n", headIncomplete, nil},
		{"empty", "", headIncomplete, nil},

		{"http/1.0", "GET / HTTP/1.0\r\nHost: h\r\n\r\n", headHandoff, nil},
		{"h2c preface", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", headHandoff, nil},
		{"bare LF", "GET / HTTP/1.1\nHost: h\n\n", headHandoff, nil},
		{"bare LF header", "GET / HTTP/1.1\r\nHost: h\n\r\n", headHandoff, nil},
		{"folded", "GET / HTTP/1.1\r\nHost: h\r\nX-A: 1\r\n 2\r\n\r\n", headHandoff, nil},
		{"space before colon", "GET / HTTP/1.1\r\nHost: h\r\nX-A : 1\r\n\r\n", headHandoff, nil},
		{"chunked body", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n", headHandoff, nil},
		{"upgrade", "GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n", headHandoff, nil},
		{"expect", "POST / HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\n", headHandoff, nil},
		{"large body", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 65537\r\n\r\n", headHandoff, nil},
		{"two lengths", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nx", headHandoff, nil},
		{"signed length", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: +1\r\n\r\nx", headHandoff, nil},
		{"absolute target", "GET http://h/ HTTP/1.1\r\nHost: h\r\n\r\n", headHandoff, nil},
		{"asterisk", "OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n", headHandoff, nil},
		{"raw utf-8 path", "GET /caf\xc3\xa9 HTTP/1.1\r\nHost: h\r\n\r\n", headHandoff, nil},
		{"broken escape", "GET /a%zz HTTP/1.1\r\nHost: h\r\n\r\n", headHandoff, nil},
		{"quote in path", "GET /a\"b HTTP/1.1\r\nHost: h\r\n\r\n", headHandoff, nil},
		{"empty host", "GET / HTTP/1.1\r\nHost: \r\n\r\n", headHandoff, nil},
		{"odd host", "GET / HTTP/1.1\r\nHost: a b\r\n\r\n", headHandoff, nil},

		// RFC 9112 lets a server skip a blank line before the request;
		// net/http answers 400.
		{"leading blank line", "\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n", headBad, nil},
		{"no host", "GET / HTTP/1.1\r\nX-A: 1\r\n\r\n", headBad, nil},
		{"two hosts", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", headBad, nil},
		{"bad method", "G(T / HTTP/1.1\r\nHost: h\r\n\r\n", headBad, nil},
		{"empty method", " / HTTP/1.1\r\nHost: h\r\n\r\n", headBad, nil},
		{"no version", "GET /\r\nHost: h\r\n\r\n", headBad, nil},
		{"bad version", "GET / HTTX/1.1\r\nHost: h\r\n\r\n", headBad, nil},
		{"extra space", "GET /a b HTTP/1.1\r\nHost: h\r\n\r\n", headBad, nil},
		{"control in target", "GET /a\x01 HTTP/1.1\r\nHost: h\r\n\r\n", headBad, nil},
		{"no colon", "GET / HTTP/1.1\r\nHost: h\r\nnocolon\r\n\r\n", headBad, nil},
		{"empty name", "GET / HTTP/1.1\r\nHost: h\r\n: v\r\n\r\n", headBad, nil},
		{"bad name", "GET / HTTP/1.1\r\nHost: h\r\nX(A): v\r\n\r\n", headBad, nil},
		{"control in value", "GET / HTTP/1.1\r\nHost: h\r\nX-A: a\x00b\r\n\r\n", headBad, nil},
		{"CR in value", "GET / HTTP/1.1\r\nHost: h\r\nX-A: a\rb\r\n\r\n", headBad, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var h reqHead
			n, v := parseRequestHead([]byte(tc.in), &h)
			if v != tc.verdict {
				t.Fatalf("verdict %d, want %d", v, tc.verdict)
			}
			if v == headOK {
				if end := strings.Index(tc.in, "\r\n\r\n") + 4; n != end {
					t.Errorf("head length %d, want %d", n, end)
				}
			}
			if tc.check != nil {
				tc.check(t, &h)
			}
		})
	}
}

func TestParseResponseHead(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		verdict int
		check   func(t *testing.T, h *respHead)
	}{
		{"sized", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nDate: x\r\n\r\nhello", headOK, func(t *testing.T, h *respHead) {
			if h.status != 200 || h.contentLength != 5 || h.chunked || h.close || !h.hasDate {
				t.Errorf("%+v", h)
			}
		}},
		{"no reason", "HTTP/1.1 204\r\n\r\n", headOK, func(t *testing.T, h *respHead) {
			if h.status != 204 || h.contentLength != -1 {
				t.Errorf("%+v", h)
			}
		}},
		{"chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: Chunked\r\nTrailer: X-Sum\r\n\r\n", headOK, func(t *testing.T, h *respHead) {
			if !h.chunked {
				t.Error("not chunked")
			}
		}},
		{"close and tokens", "HTTP/1.1 200 OK\r\nConnection: close, X-Hop\r\nX-Hop: 1\r\nX-End: 2\r\n\r\n", headOK, func(t *testing.T, h *respHead) {
			if !h.close || len(h.connTokens) != 1 || !h.namedByConnection(&h.fields[1]) || h.namedByConnection(&h.fields[2]) {
				t.Errorf("close %v tokens %v", h.close, h.connTokens)
			}
		}},
		{"set-cookie", "HTTP/1.1 200 OK\r\nSet-Cookie:  SESSION=v; Path=/\r\n\r\n", headOK, func(t *testing.T, h *respHead) {
			if !h.setsCookie("SESSION") || h.setsCookie("OTHER") {
				t.Error("Set-Cookie name not found")
			}
		}},
		{"incomplete", "HTTP/1.1 200 OK\r\nContent-Le", headIncomplete, nil},
		{"http/1.0", "HTTP/1.0 200 OK\r\n\r\n", headHandoff, nil},
		{"garbage", "SSH-2.0-garbage\r\n\r\n", headHandoff, nil},
		{"garbage, no line yet", "SSH-2.0-garbage-and-more", headHandoff, nil},
		{"short status", "HTTP/1.1 20 OK\r\n\r\n", headHandoff, nil},
		{"two lengths", "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\n", headHandoff, nil},
		{"length and chunked", "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n", headHandoff, nil},
		{"gzip encoding", "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", headHandoff, nil},
		{"folded", "HTTP/1.1 200 OK\r\nX-A: 1\r\n 2\r\n\r\n", headHandoff, nil},
		{"bare LF", "HTTP/1.1 200 OK\nX-A: 1\n\n", headHandoff, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var h respHead
			_, v := parseResponseHead([]byte(tc.in), &h)
			if v != tc.verdict {
				t.Fatalf("verdict %d, want %d", v, tc.verdict)
			}
			if tc.check != nil {
				tc.check(t, &h)
			}
		})
	}
}

func TestParseChunkSize(t *testing.T) {
	tests := []struct {
		line string
		n    uint64
		ok   bool
	}{
		{"5\r\n", 5, true},
		{"1A\r\n", 26, true},
		{"ff;name=value\r\n", 255, true},
		{"0 \r\n", 0, true},
		{"0\n", 0, true},
		{"\r\n", 0, false},
		{"x\r\n", 0, false},
		{"12345678901234567\r\n", 0, false},
	}
	for _, tc := range tests {
		if n, ok := parseChunkSize([]byte(tc.line)); n != tc.n || ok != tc.ok {
			t.Errorf("%q: %d %v, want %d %v", tc.line, n, ok, tc.n, tc.ok)
		}
	}
}

// FuzzParseRequestHead checks the request-head parser against net/http:
// a head it accepts, net/http reads the same way (method, target, Host,
// every header value, body length); a head it rejects, net/http's server
// rejects too. Nothing panics.
func FuzzParseRequestHead(f *testing.F) {
	for _, s := range []string{
		"GET / HTTP/1.1\r\nHost: h\r\n\r\n",
		"POST /a/b?c=d HTTP/1.1\r\nHost: example.com:80\r\nContent-Length: 3\r\nConnection: close\r\n\r\nabc",
		"HEAD /x%20y HTTP/1.1\r\nHost: h\r\nCookie: AWSALB=abc; x=\"y\"\r\nX-Forwarded-For: 1.2.3.4\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: h\r\nConnection: keep-alive, X-Hop\r\nX-Hop: 1\r\nTE: trailers\r\n\r\n",
		"GET / HTTP/1.0\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
		"GET / HTTP/1.1\r\nX A: 1\r\n\r\n",
		"GET /\x7f HTTP/1.1\r\nHost: h\r\n\r\n",
		"G T / HTTP/1.1\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: h\r\nX: \x80\xff\r\n\r\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		var h reqHead
		n, v := parseRequestHead(in, &h)
		req, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(in)))
		switch v {
		case headOK:
			if n <= 0 || n > len(in) || !bytes.HasSuffix(in[:n], []byte("\r\n\r\n")) {
				t.Fatalf("head length %d of %q", n, in)
			}
			if err != nil {
				t.Fatalf("accepted %q, net/http: %v", in, err)
			}
			if req.Method != string(h.bytes(h.method)) || req.RequestURI != string(h.bytes(h.target)) {
				t.Fatalf("%q: method/target %q %q, net/http %q %q", in, h.bytes(h.method), h.bytes(h.target), req.Method, req.RequestURI)
			}
			if req.Host != string(h.bytes(h.fields[h.host].value)) {
				t.Fatalf("%q: Host %q, net/http %q", in, h.bytes(h.fields[h.host].value), req.Host)
			}
			if req.ContentLength != h.contentLength || req.Close != h.close || req.Method == "HEAD" != h.methodHEAD {
				t.Fatalf("%q: length %d close %v, net/http %d %v", in, h.contentLength, h.close, req.ContentLength, req.Close)
			}
			if req.URL.Path != (&request{h: &h}).path() || req.URL.RawQuery != string(h.bytes(h.query)) ||
				req.URL.EscapedPath() != string(h.bytes(h.path)) || req.URL.RequestURI() != string(h.bytes(h.target)) {
				t.Fatalf("%q: URL %+v", in, req.URL)
			}
			count := 0
			for k, vs := range req.Header {
				q := request{h: &h}
				got := q.headerValues(k)
				if strings.Join(got, "\n") != strings.Join(vs, "\n") {
					t.Fatalf("%q: %s = %q, net/http %q", in, k, got, vs)
				}
				count += len(vs)
			}
			for _, name := range []string{"AWSALB", "x"} {
				got, ok := (&request{h: &h}).cookie(name)
				c, err := req.Cookie(name)
				if ok != (err == nil) || ok && got != c.Value {
					t.Fatalf("%q: cookie %s = %q %v, net/http %v %v", in, name, got, ok, c, err)
				}
			}
			if count+1 != len(h.fields) { // net/http keeps Host apart
				t.Fatalf("%q: %d fields, net/http %d", in, len(h.fields), count+1)
			}
		case headBad:
			if err == nil && len(req.Header["Host"]) < 2 && req.Host != "" {
				t.Fatalf("rejected %q, net/http read it: %+v", in, req)
			}
		}
	})
}

// FuzzParseResponseHead checks the response-head parser against
// net/http's response reader: what it accepts reads the same there.
func FuzzParseResponseHead(f *testing.F) {
	for _, s := range []string{
		"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
		"HTTP/1.1 204\r\nDate: x\r\n\r\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close, X-A\r\nX-A: 1\r\n\r\n",
		"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n",
		"HTTP/1.0 200 OK\r\n\r\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		var h respHead
		n, v := parseResponseHead(in, &h)
		if v == headBad {
			t.Fatalf("headBad for a response")
		}
		if v != headOK {
			return
		}
		if n <= 0 || n > len(in) {
			t.Fatalf("head length %d of %q", n, in)
		}
		resp, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(in)), &http.Request{Method: "GET"})
		if err != nil {
			t.Fatalf("accepted %q, net/http: %v", in, err)
		}
		if resp.StatusCode != h.status {
			t.Fatalf("%q: status %d, net/http %d", in, h.status, resp.StatusCode)
		}
		if h.chunked != (len(resp.TransferEncoding) > 0) || (!h.chunked && resp.ContentLength != h.contentLength && h.status/100 != 1 && h.status != 204 && h.status != 304) {
			t.Fatalf("%q: chunked %v length %d, net/http %v %d", in, h.chunked, h.contentLength, resp.TransferEncoding, resp.ContentLength)
		}
		if got := resp.Header.Get("Content-Length"); h.contentLength >= 0 && !h.chunked && got != strconv.FormatInt(h.contentLength, 10) && h.status/100 != 1 && h.status != 204 && h.status != 304 {
			t.Fatalf("%q: Content-Length %q", in, got)
		}
	})
}
