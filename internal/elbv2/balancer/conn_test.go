package balancer

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// rawTarget answers each request with the raw bytes canned for its path
// (keeping the connection unless closeAfter says so), and /echo with the
// length and SHA-256 of the request body.
type rawTarget struct {
	ln net.Listener
	wg sync.WaitGroup

	mu   sync.Mutex
	seen []*http.Request
}

type canned struct {
	raw        string
	closeAfter bool
}

func newRawTarget(t *testing.T, responses map[string]canned) *rawTarget {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	rt := &rawTarget{ln: ln}
	var mu sync.Mutex
	conns := map[net.Conn]bool{}
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for c := range conns {
			c.Close()
		}
		mu.Unlock()
		rt.wg.Wait()
	})
	rt.wg.Add(1)
	go func() {
		defer rt.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns[c] = true
			mu.Unlock()
			rt.wg.Add(1)
			go func() {
				defer rt.wg.Done()
				defer c.Close()
				br := bufio.NewReader(c)
				for {
					req, err := http.ReadRequest(br)
					if err != nil {
						return
					}
					body, _ := io.ReadAll(req.Body)
					rt.mu.Lock()
					rt.seen = append(rt.seen, req)
					rt.mu.Unlock()
					if req.URL.Path == "/echo" {
						sum := sha256.Sum256(body)
						s := strconv.Itoa(len(body)) + " " + hex.EncodeToString(sum[:])
						io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: "+strconv.Itoa(len(s))+"\r\n\r\n"+s)
						continue
					}
					r, ok := responses[req.URL.Path]
					if !ok {
						r = canned{raw: "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"}
					}
					io.WriteString(c, r.raw)
					if r.closeAfter {
						return
					}
				}
			}()
		}
	}()
	return rt
}

func (rt *rawTarget) target() Target {
	return Target{ID: "i-raw", Addr: "127.0.0.1", Port: rt.ln.Addr().(*net.TCPAddr).Port, Zone: "us-east-1a"}
}

// rawALB is an ALB forwarding to one target with health checks off.
func rawALB(t *testing.T, h *harness, tg Target) string {
	t.Helper()
	g := httpGroup("tg", tg)
	g.HealthCheck.Enabled = false
	h.p.SetTargetGroup(g)
	return strings.TrimPrefix(h.alb(defaultRule(forwardTo("tg"))), "http://")
}

// dialALB opens a raw client connection.
func dialALB(t *testing.T, addr string) (net.Conn, *bufio.Reader) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(10 * time.Second))
	return c, bufio.NewReader(c)
}

// readAnswer reads one response to a request of method and its body.
func readAnswer(t *testing.T, br *bufio.Reader, method string) (*http.Response, string) {
	t.Helper()
	resp, err := http.ReadResponse(br, &http.Request{Method: method})
	if err != nil {
		t.Fatalf("reading the answer: %v", err)
	}
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("reading the body: %v", err)
	}
	resp.Body.Close()
	return resp, string(b)
}

func TestLoopFraming(t *testing.T) {
	bigBody := strings.Repeat("0123456789abcdef", 1<<16) // 1 MiB
	bigHead := "X-Big: " + strings.Repeat("b", 6000) + "\r\n"
	h := newHarness(t)
	rt := newRawTarget(t, map[string]canned{
		"/sized":       {raw: "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-A: 1\r\n\r\nhello"},
		"/chunked":     {raw: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-Sum\r\n\r\n5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-Sum: abc\r\n\r\n"},
		"/untilclose":  {raw: "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the end", closeAfter: true},
		"/204":         {raw: "HTTP/1.1 204 No Content\r\nX-A: 1\r\n\r\n"},
		"/304":         {raw: "HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n"},
		"/head":        {raw: "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n"},
		"/early":       {raw: "HTTP/1.1 103 Early Hints\r\nLink: </s.css>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nlate"},
		"/bighead":     {raw: "HTTP/1.1 200 OK\r\n" + bigHead + "Content-Length: 3\r\n\r\nbig"},
		"/http10":      {raw: "HTTP/1.0 200 OK\r\nContent-Length: 3\r\n\r\nold"},
		"/http10close": {raw: "HTTP/1.0 200 OK\r\n\r\nold until close", closeAfter: true},
		"/hop":         {raw: "HTTP/1.1 200 OK\r\nConnection: X-Hop\r\nX-Hop: 1\r\nKeep-Alive: timeout=5\r\nProxy-Authenticate: x\r\nUpgrade: h2c\r\nX-Keep: 1\r\nContent-Length: 2\r\n\r\nok"},
		"/switch":      {raw: "HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\n\r\n", closeAfter: true},
		"/big":         {raw: "HTTP/1.1 200 OK\r\nContent-Length: " + strconv.Itoa(len(bigBody)) + "\r\n\r\n" + bigBody},
		"/garbage":     {raw: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", closeAfter: true},
	})
	addr := rawALB(t, h, rt.target())
	tests := []struct {
		path, method string
		code         int
		body         string
		check        func(t *testing.T, resp *http.Response)
	}{
		{"/sized", "GET", 200, "hello", func(t *testing.T, resp *http.Response) {
			if resp.ContentLength != 5 || resp.Header.Get("X-A") != "1" || resp.Header.Get("Date") == "" {
				t.Errorf("header %v", resp.Header)
			}
		}},
		{"/chunked", "GET", 200, "hello world", func(t *testing.T, resp *http.Response) {
			if resp.Trailer.Get("X-Sum") != "abc" || resp.ContentLength != -1 {
				t.Errorf("trailer %v length %d", resp.Trailer, resp.ContentLength)
			}
		}},
		{"/untilclose", "GET", 200, "until the end", func(t *testing.T, resp *http.Response) {
			if resp.Close || len(resp.TransferEncoding) == 0 {
				t.Errorf("close %v encoding %v: the client connection should stay, chunked", resp.Close, resp.TransferEncoding)
			}
		}},
		{"/204", "GET", 204, "", nil},
		{"/304", "GET", 304, "", func(t *testing.T, resp *http.Response) {
			if resp.Header.Get("Content-Length") != "10" {
				t.Errorf("304 lost its Content-Length: %v", resp.Header)
			}
		}},
		{"/head", "HEAD", 200, "", func(t *testing.T, resp *http.Response) {
			if resp.ContentLength != 10 {
				t.Errorf("HEAD length %d", resp.ContentLength)
			}
		}},
		{"/early", "GET", 200, "late", nil},
		{"/bighead", "GET", 200, "big", func(t *testing.T, resp *http.Response) {
			if len(resp.Header.Get("X-Big")) != 6000 {
				t.Errorf("large header lost")
			}
		}},
		{"/http10", "GET", 200, "old", nil},
		{"/http10close", "GET", 200, "old until close", nil},
		{"/hop", "GET", 200, "ok", func(t *testing.T, resp *http.Response) {
			for _, k := range []string{"X-Hop", "Keep-Alive", "Proxy-Authenticate", "Upgrade"} {
				if resp.Header.Get(k) != "" {
					t.Errorf("hop-by-hop %s reached the client", k)
				}
			}
			if resp.Header.Get("X-Keep") != "1" {
				t.Errorf("X-Keep lost: %v", resp.Header)
			}
		}},
		{"/switch", "GET", 502, elbPage(502), nil},
		{"/big", "GET", 200, bigBody, nil},
	}
	c, br := dialALB(t, addr)
	for _, tc := range tests {
		t.Run(strings.TrimPrefix(tc.path, "/"), func(t *testing.T) {
			io.WriteString(c, tc.method+" "+tc.path+" HTTP/1.1\r\nHost: web.example\r\n\r\n")
			resp, body := readAnswer(t, br, tc.method)
			if resp.StatusCode != tc.code || body != tc.body {
				if len(body) > 100 {
					body = body[:100] + "..."
				}
				t.Fatalf("%d %q, want %d", resp.StatusCode, body, tc.code)
			}
			if tc.check != nil {
				tc.check(t, resp)
			}
			// The same connection serves the next request.
			io.WriteString(c, "GET /sized HTTP/1.1\r\nHost: web.example\r\n\r\n")
			if resp, body := readAnswer(t, br, "GET"); resp.StatusCode != 200 || body != "hello" {
				t.Fatalf("next request: %d %q", resp.StatusCode, body)
			}
		})
	}

	// A body that breaks off mid-way: the client must not take the answer
	// as whole (whether or not its head went out), so its connection ends.
	io.WriteString(c, "GET /garbage HTTP/1.1\r\nHost: web.example\r\n\r\n")
	if resp, err := http.ReadResponse(br, nil); err == nil {
		if _, err := io.ReadAll(resp.Body); err == nil {
			t.Fatal("a malformed chunked body read as whole")
		}
	}
}

func TestLoopPipelining(t *testing.T) {
	h := newHarness(t)
	rt := newRawTarget(t, map[string]canned{
		"/1": {raw: "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\none"},
		"/2": {raw: "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\n"},
		"/3": {raw: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nthree\r\n0\r\n\r\n"},
	})
	addr := rawALB(t, h, rt.target())
	c, br := dialALB(t, addr)
	io.WriteString(c, "GET /1 HTTP/1.1\r\nHost: h\r\n\r\n"+
		"HEAD /2 HTTP/1.1\r\nHost: h\r\n\r\n"+
		"POST /echo HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\n\r\nbody"+
		"GET /3 HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n")
	for _, want := range []struct{ method, body string }{
		{"GET", "one"}, {"HEAD", ""},
		{"POST", "4 230d8358dc8e8890b4c58deeb62912ee2f20357ae92a5cc861b98e68fe31acb5"},
		{"GET", "three"},
	} {
		resp, body := readAnswer(t, br, want.method)
		if resp.StatusCode != 200 || body != want.body {
			t.Fatalf("%s: %d %q, want %q", want.method, resp.StatusCode, body, want.body)
		}
		if want.body == "three" && !resp.Close {
			t.Error("the answer to Connection: close does not say close")
		}
	}
	if _, err := br.ReadByte(); err != io.EOF {
		t.Fatalf("connection still open after Connection: close: %v", err)
	}
}

func TestLoopRequestBodies(t *testing.T) {
	h := newHarness(t)
	rt := newRawTarget(t, nil)
	addr := rawALB(t, h, rt.target())
	tests := []struct {
		name  string
		size  int
		split bool // head and body in separate writes
	}{
		{"empty post", 0, false},
		{"beside the head", 3000, false},
		{"larger than the read buffer", 10000, true},
		{"at the retry limit", maxRetryBody, true},
		{"over the retry limit: net/http serves it", maxRetryBody + 1, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, br := dialALB(t, addr)
			body := strings.Repeat("z", tc.size)
			head := "POST /echo HTTP/1.1\r\nHost: h\r\nContent-Length: " + strconv.Itoa(tc.size) + "\r\n\r\n"
			if tc.split {
				io.WriteString(c, head)
				io.WriteString(c, body)
			} else {
				io.WriteString(c, head+body)
			}
			sum := sha256.Sum256([]byte(body))
			want := strconv.Itoa(tc.size) + " " + hex.EncodeToString(sum[:])
			if resp, got := readAnswer(t, br, "POST"); resp.StatusCode != 200 || got != want {
				t.Fatalf("%d %q, want %q", resp.StatusCode, got, want)
			}
			io.WriteString(c, "GET /x HTTP/1.1\r\nHost: h\r\n\r\n")
			if resp, got := readAnswer(t, br, "GET"); resp.StatusCode != 200 || got != "ok" {
				t.Fatalf("next request: %d %q", resp.StatusCode, got)
			}
		})
	}
	rt.mu.Lock()
	defer rt.mu.Unlock()
	for _, r := range rt.seen {
		if r.Method == "POST" && r.ContentLength == 0 && r.Header.Get("Content-Length") != "0" {
			t.Errorf("empty POST forwarded without Content-Length: 0: %v", r.Header)
		}
	}
}

func TestLoopMalformedRequests(t *testing.T) {
	tests := []struct {
		name, raw string
		code      int
	}{
		{"bad header name", "GET / HTTP/1.1\r\nHost: h\r\nX(A): 1\r\n\r\n", 400},
		{"no Host", "GET / HTTP/1.1\r\nX-A: 1\r\n\r\n", 400},
		{"two Hosts", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400},
		{"bad version", "GET / HTTZ/1.1\r\nHost: h\r\n\r\n", 400},
		{"no colon", "GET / HTTP/1.1\r\nHost: h\r\nbroken\r\n\r\n", 400},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			addr := rawALB(t, h, newRawTarget(t, nil).target())
			c, br := dialALB(t, addr)
			io.WriteString(c, tc.raw)
			resp, body := readAnswer(t, br, "GET")
			if resp.StatusCode != tc.code || body != elbPage(tc.code) || resp.Header.Get("Server") != "awselb/2.0" || !resp.Close {
				t.Fatalf("%d %q %v", resp.StatusCode, body, resp.Header)
			}
			if _, err := br.ReadByte(); err != io.EOF {
				t.Errorf("connection open after a 400: %v", err)
			}
			for _, s := range h.p.Collect() {
				if s.TargetGroupARN == "" && (s.HTTPCodeELB4XX != 1 || s.RequestCount != 0) {
					t.Errorf("stats %+v", s)
				}
			}
		})
	}
}

// TestLoopHandsOff checks that what the loop leaves to net/http still
// works, on a connection the loop served first.
func TestLoopHandsOff(t *testing.T) {
	h := newHarness(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Upgrade") == "echo" {
			c, rw, err := http.NewResponseController(w).Hijack()
			if err != nil {
				return
			}
			defer c.Close()
			rw.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\n")
			rw.Flush()
			io.Copy(c, rw)
			return
		}
		b, _ := io.ReadAll(r.Body)
		io.WriteString(w, r.Proto+" "+r.Method+" "+strconv.Itoa(len(b)))
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	addr := rawALB(t, h, Target{ID: "i-srv", Addr: "127.0.0.1", Port: ln.Addr().(*net.TCPAddr).Port})

	t.Run("upgrade after a loop request", func(t *testing.T) {
		c, br := dialALB(t, addr)
		io.WriteString(c, "GET / HTTP/1.1\r\nHost: h\r\n\r\n")
		if resp, body := readAnswer(t, br, "GET"); resp.StatusCode != 200 || body != "HTTP/1.1 GET 0" {
			t.Fatalf("%d %q", resp.StatusCode, body)
		}
		io.WriteString(c, "GET /up HTTP/1.1\r\nHost: h\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\n")
		resp, err := http.ReadResponse(br, nil)
		if err != nil || resp.StatusCode != 101 {
			t.Fatalf("upgrade: %v %v", resp, err)
		}
		io.WriteString(c, "ping")
		buf := make([]byte, 4)
		if _, err := io.ReadFull(br, buf); err != nil || string(buf) != "ping" {
			t.Fatalf("echo %q %v", buf, err)
		}
	})
	t.Run("http/1.0", func(t *testing.T) {
		c, br := dialALB(t, addr)
		io.WriteString(c, "GET / HTTP/1.0\r\nHost: h\r\n\r\n")
		if resp, body := readAnswer(t, br, "GET"); resp.StatusCode != 200 || body != "HTTP/1.1 GET 0" {
			t.Fatalf("%d %q", resp.StatusCode, body)
		}
	})
	t.Run("chunked request body", func(t *testing.T) {
		c, br := dialALB(t, addr)
		io.WriteString(c, "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n")
		if resp, body := readAnswer(t, br, "POST"); resp.StatusCode != 200 || body != "HTTP/1.1 POST 3" {
			t.Fatalf("%d %q", resp.StatusCode, body)
		}
		io.WriteString(c, "GET / HTTP/1.1\r\nHost: h\r\n\r\n")
		if resp, body := readAnswer(t, br, "GET"); resp.StatusCode != 200 || body != "HTTP/1.1 GET 0" {
			t.Fatalf("%d %q", resp.StatusCode, body)
		}
	})
	t.Run("head in two writes", func(t *testing.T) {
		c, br := dialALB(t, addr)
		io.WriteString(c, "GET / HTTP/1.1\r\nHo")
		io.WriteString(c, "st: h\r\n\r\n")
		if resp, body := readAnswer(t, br, "GET"); resp.StatusCode != 200 || body != "HTTP/1.1 GET 0" {
			t.Fatalf("%d %q", resp.StatusCode, body)
		}
	})
}

// TestLoopClientIdleDuringBody: a client that stops sending its body is
// cut after the idle timeout.
func TestLoopClientIdleDuringBody(t *testing.T) {
	h := newHarness(t)
	a := newBackend(t, "A")
	h.p.SetTargetGroup(httpGroup("tg", a.target("i-a")))
	addr := strings.TrimPrefix(h.lb("application", "HTTP", 5*time.Second, defaultRule(forwardTo("tg"))), "http://")
	c, br := dialALB(t, addr)
	io.WriteString(c, "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\nabc")
	// The health loop's ticker, the connection's idle timer and the
	// request's idle watch.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := h.clk.BlockUntilWaiters(ctx, 3); err != nil {
		t.Fatal(err)
	}
	h.clk.Advance(5 * time.Second)
	if _, err := br.ReadByte(); err != io.EOF {
		t.Fatalf("connection not closed: %v", err)
	}
}

// TestLoopListenerClosedMidRequest: deleting the load balancer cuts a
// request waiting on its target, and the connection.
func TestLoopListenerClosedMidRequest(t *testing.T) {
	h := newHarness(t)
	a := newBackend(t, "A")
	h.p.SetTargetGroup(httpGroup("tg", a.target("i-a")))
	addr := strings.TrimPrefix(h.alb(defaultRule(forwardTo("tg"))), "http://")
	c, br := dialALB(t, addr)
	io.WriteString(c, "GET /slow HTTP/1.1\r\nHost: h\r\n\r\n")
	deadline := time.Now().Add(5 * time.Second)
	for {
		a.mu.Lock()
		hits := a.hits
		a.mu.Unlock()
		if hits > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("request never reached the target")
		}
		time.Sleep(5 * time.Millisecond)
	}
	h.p.RemoveLoadBalancer("lb-" + t.Name())
	if _, err := br.ReadByte(); err != io.EOF {
		t.Fatalf("connection not closed: %v", err)
	}
}

// TestLoopDateAndSticky: the loop adds Date when the target has none and
// the stickiness cookies, as the net/http path does.
func TestLoopDateAndSticky(t *testing.T) {
	h := newHarness(t)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header()["Date"] = nil // no Date
		io.WriteString(w, "x")
	}))
	srv.Start()
	t.Cleanup(srv.Close)
	port := srv.Listener.Addr().(*net.TCPAddr).Port
	g := httpGroup("tg", Target{ID: "i-a", Addr: "127.0.0.1", Port: port, Zone: "us-east-1a"})
	g.HealthCheck.Enabled = false
	g.Stickiness = Stickiness{Enabled: true, Type: "lb_cookie", Duration: time.Hour}
	h.p.SetTargetGroup(g)
	addr := strings.TrimPrefix(h.alb(defaultRule(forwardTo("tg"))), "http://")
	c, br := dialALB(t, addr)
	io.WriteString(c, "GET / HTTP/1.1\r\nHost: h\r\n\r\n")
	resp, _ := readAnswer(t, br, "GET")
	if d, err := http.ParseTime(resp.Header.Get("Date")); err != nil || !d.Equal(epoch) {
		t.Errorf("Date %q (%v), want the clock's", resp.Header.Get("Date"), err)
	}
	var names []string
	for _, ck := range resp.Cookies() {
		names = append(names, ck.Name)
	}
	if strings.Join(names, ",") != "AWSALB,AWSALBCORS" {
		t.Errorf("cookies %v", resp.Header["Set-Cookie"])
	}
}

// TestLoopTargetLeavesMidRequest: a request in flight to a target that
// is forgotten (deregistered without delay, or its group deleted) gets
// ELB's 502, and the connection goes on.
func TestLoopTargetLeavesMidRequest(t *testing.T) {
	tests := []struct {
		name  string
		leave func(h *harness, tg TargetGroup)
	}{
		{"deregistered", func(h *harness, tg TargetGroup) {
			tg.Targets = nil
			h.p.SetTargetGroup(tg)
		}},
		{"group deleted", func(h *harness, tg TargetGroup) { h.p.RemoveTargetGroup(tg.ARN) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			a := newBackend(t, "A")
			tg := httpGroup("tg", a.target("i-a"))
			tg.DeregistrationDelay = 0
			h.p.SetTargetGroup(tg)
			addr := strings.TrimPrefix(h.alb(defaultRule(forwardTo("tg"))), "http://")
			c, br := dialALB(t, addr)
			io.WriteString(c, "GET /slow HTTP/1.1\r\nHost: h\r\n\r\n")
			deadline := time.Now().Add(5 * time.Second)
			for {
				a.mu.Lock()
				hits := a.hits
				a.mu.Unlock()
				if hits > 0 {
					break
				}
				if time.Now().After(deadline) {
					t.Fatal("request never reached the target")
				}
				time.Sleep(5 * time.Millisecond)
			}
			tc.leave(h, tg)
			if resp, body := readAnswer(t, br, "GET"); resp.StatusCode != 502 || body != elbPage(502) {
				t.Fatalf("%d %q", resp.StatusCode, body)
			}
			io.WriteString(c, "GET / HTTP/1.1\r\nHost: h\r\n\r\n")
			if resp, _ := readAnswer(t, br, "GET"); resp.StatusCode != 503 {
				t.Fatalf("next request: %d, want 503 (no target)", resp.StatusCode)
			}
		})
	}
}

// What a misbehaving target or an odd configuration must not get past the
// loop: header names that are not tokens, CR/LF from the configuration, a
// stream of informational answers; and what a client may send: a stray
// CRLF after a body.
func TestLoopSanitises(t *testing.T) {
	h := newHarness(t)
	rt := newRawTarget(t, map[string]canned{
		// net/http's response reader lets a name with a space through; the
		// fast parser leaves such a head to it.
		"/spaced": {raw: "HTTP/1.1 200 OK\r\nTransfer-Encoding : chunked\r\nContent-Length: 2\r\n\r\nok"},
		"/storm":  {raw: strings.Repeat("HTTP/1.1 100 Continue\r\n\r\n", 8) + "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"},
		"/sized":  {raw: "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"},
	})
	g := httpGroup("tg", rt.target())
	g.HealthCheck.Enabled = false
	h.p.SetTargetGroup(g)
	addr := strings.TrimPrefix(h.alb(
		Rule{ARN: "redirect", Priority: 1, Conditions: []Condition{{Field: "path-pattern", Values: []string{"/go"}}},
			Actions: []Action{{Type: "redirect", Redirect: &Redirect{Protocol: "HTTPS", Port: "443", Query: "a=1\r\nSet-Cookie: injected=1", StatusCode: "HTTP_302"}}}},
		Rule{ARN: "fixed", Priority: 2, Conditions: []Condition{{Field: "path-pattern", Values: []string{"/none"}}},
			Actions: []Action{{Type: "fixed-response", Fixed: &FixedResponse{StatusCode: 204, ContentType: "text/plain\r\nX-Injected: 1", Body: "ignored"}}}},
		defaultRule(forwardTo("tg"))), "http://")
	c, br := dialALB(t, addr)

	io.WriteString(c, "GET /spaced HTTP/1.1\r\nHost: h\r\n\r\n")
	resp, body := readAnswer(t, br, "GET")
	for k := range resp.Header {
		if strings.ContainsAny(k, " \t") {
			t.Errorf("a header name with a space reached the client: %q", k)
		}
	}
	if resp.StatusCode != 200 || body != "ok" {
		t.Errorf("/spaced: %d %q", resp.StatusCode, body)
	}

	io.WriteString(c, "GET /go HTTP/1.1\r\nHost: h\r\n\r\n")
	resp, _ = readAnswer(t, br, "GET")
	if resp.StatusCode != 302 || len(resp.Header["Set-Cookie"]) != 0 || !strings.Contains(resp.Header.Get("Location"), "Set-Cookie: injected=1") {
		t.Errorf("redirect with CR/LF in its query: %d %v", resp.StatusCode, resp.Header)
	}

	io.WriteString(c, "GET /none HTTP/1.1\r\nHost: h\r\n\r\n")
	resp, body = readAnswer(t, br, "GET")
	if resp.StatusCode != 204 || body != "" || resp.Header.Get("Content-Length") != "" || resp.Header.Get("X-Injected") != "" {
		t.Errorf("fixed 204: %d %q %v", resp.StatusCode, body, resp.Header)
	}

	// A POST whose body a client ends with CRLF, then a GET on the same
	// connection: the CRLF is skipped, as net/http's server does.
	io.WriteString(c, "POST /sized HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\n\r\nhi\r\n")
	if resp, body := readAnswer(t, br, "POST"); resp.StatusCode != 200 || body != "hello" {
		t.Fatalf("POST: %d %q", resp.StatusCode, body)
	}
	io.WriteString(c, "GET /sized HTTP/1.1\r\nHost: h\r\n\r\n")
	if resp, body := readAnswer(t, br, "GET"); resp.StatusCode != 200 || body != "hello" {
		t.Fatalf("GET after a stray CRLF: %d %q", resp.StatusCode, body)
	}

	// More than five informational answers: the target misbehaves, 502.
	io.WriteString(c, "GET /storm HTTP/1.1\r\nHost: h\r\n\r\n")
	if resp, _ := readAnswer(t, br, "GET"); resp.StatusCode != 502 {
		t.Errorf("a stream of 100 Continue: %d, want 502", resp.StatusCode)
	}
}

// A weighted forward that includes a group net/http serves (HTTPS
// targets) splits by the weights: the choice is made once.
func TestLoopWeightsWithHTTPSGroup(t *testing.T) {
	h := newHarness(t)
	var plain, secure atomic.Int64
	a := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { plain.Add(1) }))
	t.Cleanup(a.Close)
	b := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { secure.Add(1) }))
	t.Cleanup(b.Close)
	target := func(s *httptest.Server) Target {
		tcp := s.Listener.Addr().(*net.TCPAddr)
		return Target{ID: "i-" + strconv.Itoa(tcp.Port), Addr: "127.0.0.1", Port: tcp.Port, Zone: "us-east-1a"}
	}
	ga := httpGroup("tg-http", target(a))
	ga.HealthCheck.Enabled = false
	gb := httpGroup("tg-https", target(b))
	gb.Protocol, gb.HealthCheck.Enabled = "HTTPS", false
	h.p.SetTargetGroup(ga)
	h.p.SetTargetGroup(gb)
	url := h.alb(defaultRule(forwardTo("tg-http", "tg-https")))
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	const n = 600
	for range n {
		if code, _, _ := get(t, client, url+"/"); code != 200 {
			t.Fatalf("status %d", code)
		}
	}
	// Binomial(600, 0.5): 5 standard deviations is about 61.
	if got := secure.Load(); got < n/2-61 || got > n/2+61 {
		t.Errorf("1:1 weights sent %d of %d to the HTTPS group (plain %d)", got, n, plain.Load())
	}
}
