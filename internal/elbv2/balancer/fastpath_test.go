package balancer

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
)

// TestFastPathHeadersBodiesTrailers checks what the fast path forwards as
// ReverseProxy would: hop-by-hop headers (and those Connection names) are
// dropped, a small body goes with its length, a streamed answer's trailers
// and a sized answer's length reach the client.
func TestFastPathHeadersBodiesTrailers(t *testing.T) {
	h := newHarness(t)
	type seen struct {
		header http.Header
		body   string
		method string
		uri    string
	}
	got := make(chan seen, 4)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("User-Agent") == "ELB-HealthChecker/2.0" {
			return
		}
		b, _ := io.ReadAll(r.Body)
		got <- seen{r.Header.Clone(), string(b), r.Method, r.RequestURI}
		switch r.URL.Path {
		case "/trailers":
			w.Header().Set("Trailer", "X-Checksum")
			w.Header().Set("Keep-Alive", "timeout=5")
			io.WriteString(w, "part1")
			w.(http.Flusher).Flush()
			io.WriteString(w, "part2")
			w.Header().Set("X-Checksum", "abc")
		default:
			w.Header().Set("Content-Length", "2")
			io.WriteString(w, "ok")
		}
	}))
	t.Cleanup(srv.Close)
	host, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	n, _ := strconv.Atoi(port)
	tg := httpGroup("tg", Target{ID: "a", Addr: host, Port: n, Zone: "us-east-1a"})
	tg.HealthCheck.Enabled = false
	h.p.SetTargetGroup(tg)
	url := h.alb(defaultRule(forwardTo("tg")))
	addr := strings.TrimPrefix(url, "http://")

	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	br := bufio.NewReader(c)
	io.WriteString(c, "POST /echo?a=1&b=%20 HTTP/1.1\r\nHost: web.example\r\nConnection: keep-alive, X-Hop\r\nX-Hop: 1\r\n"+
		"Keep-Alive: timeout=5\r\nProxy-Authorization: x\r\nTE: trailers\r\nX-Forwarded-Host: evil\r\nX-Keep: yes\r\nContent-Length: 5\r\n\r\nhello")
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(b) != "ok" || resp.ContentLength != 2 {
		t.Fatalf("answer %d %q (length %d)", resp.StatusCode, b, resp.ContentLength)
	}
	s := <-got
	if s.method != "POST" || s.uri != "/echo?a=1&b=%20" || s.body != "hello" {
		t.Errorf("target saw %s %s %q", s.method, s.uri, s.body)
	}
	for _, k := range []string{"X-Hop", "Keep-Alive", "Proxy-Authorization", "X-Forwarded-Host"} {
		if v, ok := s.header[k]; ok {
			t.Errorf("target saw %s: %v", k, v)
		}
	}
	if s.header.Get("X-Keep") != "yes" || s.header.Get("Te") != "trailers" || s.header.Get("X-Forwarded-Proto") != "http" ||
		s.header.Get("X-Forwarded-For") != "127.0.0.1" || !strings.HasPrefix(s.header.Get("X-Amzn-Trace-Id"), "Root=1-") {
		t.Errorf("target saw headers %v", s.header)
	}

	// The same connection, a streamed answer with a trailer.
	io.WriteString(c, "GET /trailers HTTP/1.1\r\nHost: web.example\r\n\r\n")
	resp, err = http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	<-got
	if string(b) != "part1part2" || resp.Trailer.Get("X-Checksum") != "abc" || resp.Header.Get("Keep-Alive") != "" {
		t.Errorf("streamed answer %q, trailer %v, header %v", b, resp.Trailer, resp.Header)
	}
}
