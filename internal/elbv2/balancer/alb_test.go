package balancer

import (
	"bufio"
	"context"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestRoundRobinAlternates(t *testing.T) {
	h := newHarness(t)
	a, b := newBackend(t, "A"), newBackend(t, "B")
	h.p.SetTargetGroup(httpGroup("tg", a.target("i-a"), b.target("i-b")))
	url := h.alb(defaultRule(forwardTo("tg")))
	var got []string
	for range 6 {
		_, body, _ := get(t, nil, url+"/")
		got = append(got, body)
	}
	for i := 1; i < len(got); i++ {
		if got[i] == got[i-1] {
			t.Fatalf("round robin did not alternate: %v", got)
		}
	}
}

func TestRulesRouteByCondition(t *testing.T) {
	h := newHarness(t)
	api, web := newBackend(t, "api"), newBackend(t, "web")
	h.p.SetTargetGroup(httpGroup("tg-api", api.target("i-api")))
	h.p.SetTargetGroup(httpGroup("tg-web", web.target("i-web")))
	url := h.alb(
		Rule{ARN: "r1", Priority: 1, Conditions: []Condition{
			{Field: "path-pattern", Values: []string{"/api/*"}},
			{Field: "http-request-method", Values: []string{"GET"}},
		}, Actions: []Action{forwardTo("tg-api")}},
		Rule{ARN: "r2", Priority: 2, Conditions: []Condition{{Field: "host-header", Values: []string{"teapot.*"}}},
			Actions: []Action{{Type: "fixed-response", Fixed: &FixedResponse{StatusCode: 418, ContentType: "text/plain", Body: "short and stout"}}}},
		defaultRule(forwardTo("tg-web")),
	)
	tests := []struct {
		path, host, want string
		code             int
	}{
		{"/api/users", "", "api", 200},
		{"/index.html", "", "web", 200},
		{"/api/x", "teapot.example.com", "api", 200},
		{"/x", "TEAPOT.example.com", "short and stout", 418},
	}
	for _, tc := range tests {
		var hdr []string
		if tc.host != "" {
			hdr = []string{"Host", tc.host}
		}
		code, body, resp := get(t, nil, url+tc.path, hdr...)
		if code != tc.code || body != tc.want {
			t.Errorf("%s %s: %d %q, want %d %q", tc.host, tc.path, code, body, tc.code, tc.want)
		}
		if tc.code == 418 && resp.Header.Get("Server") != "awselb/2.0" {
			t.Errorf("fixed response Server = %q", resp.Header.Get("Server"))
		}
	}
}

func TestRedirectAction(t *testing.T) {
	h := newHarness(t)
	url := h.alb(defaultRule(Action{Type: "redirect", Redirect: &Redirect{Protocol: "HTTPS", Port: "443", StatusCode: "HTTP_301"}}))
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	code, body, resp := get(t, c, url+"/a/b?x=1", "Host", "www.example.com")
	if code != 301 || resp.Header.Get("Location") != "https://www.example.com/a/b?x=1" {
		t.Fatalf("redirect: %d Location=%q", code, resp.Header.Get("Location"))
	}
	if !strings.Contains(body, "<head><title>301 Moved Permanently</title></head>") {
		t.Errorf("body %q", body)
	}
}

func TestWeightedForward(t *testing.T) {
	h := newHarness(t)
	a, b := newBackend(t, "A"), newBackend(t, "B")
	h.p.SetTargetGroup(httpGroup("tg-a", a.target("i-a")))
	h.p.SetTargetGroup(httpGroup("tg-b", b.target("i-b")))
	fw := Action{Type: "forward", Forward: []WeightedGroup{{"tg-a", 3}, {"tg-b", 1}}}
	url := h.alb(defaultRule(fw))
	counts := map[string]int{}
	for range 200 {
		_, body, _ := get(t, nil, url+"/")
		counts[body]++
	}
	if counts["A"] < 110 || counts["B"] < 20 {
		t.Errorf("3:1 weights gave %v", counts)
	}

	// With group stickiness, a client keeps its group through AWSALBTG.
	fw.GroupStickiness = time.Hour
	h.alb(defaultRule(fw))
	_, first, resp := get(t, nil, url+"/")
	var tg string
	for _, c := range resp.Cookies() {
		if c.Name == "AWSALBTG" {
			tg = c.Value
		}
	}
	if tg == "" {
		t.Fatalf("no AWSALBTG cookie: %v", resp.Header["Set-Cookie"])
	}
	for range 20 {
		if _, body, _ := get(t, nil, url+"/", "Cookie", "AWSALBTG="+tg); body != first {
			t.Fatalf("group stickiness broken: %q then %q", first, body)
		}
	}
}

func TestLeastOutstandingRequests(t *testing.T) {
	h := newHarness(t)
	a, b := newBackend(t, "A"), newBackend(t, "B")
	tg := httpGroup("tg", a.target("i-a"), b.target("i-b"))
	tg.Algorithm = "least_outstanding_requests"
	h.p.SetTargetGroup(tg)
	url := h.alb(defaultRule(forwardTo("tg")))

	// Hold one request open on whichever target takes it; every later
	// request must go to the other one.
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		req, _ := http.NewRequestWithContext(ctx, "GET", url+"/slow", nil)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
		}
	}()
	deadline := time.Now().Add(5 * time.Second)
	var busy string
	for busy == "" {
		a.mu.Lock()
		if a.hits > 0 {
			busy = "A"
		}
		a.mu.Unlock()
		b.mu.Lock()
		if b.hits > 0 {
			busy = "B"
		}
		b.mu.Unlock()
		if time.Now().After(deadline) {
			t.Fatal("slow request never reached a target")
		}
		time.Sleep(5 * time.Millisecond)
	}
	for range 5 {
		if _, body, _ := get(t, nil, url+"/"); body == busy {
			t.Fatalf("request went to busy target %s", busy)
		}
	}
	cancel()
	<-done
}

func TestStickiness(t *testing.T) {
	tests := []struct {
		name   string
		st     Stickiness
		cookie string // cookie the balancer sets
		query  string
	}{
		{"lb_cookie", Stickiness{Enabled: true, Type: "lb_cookie", Duration: time.Hour}, "AWSALB", ""},
		{"app_cookie", Stickiness{Enabled: true, Type: "app_cookie", Duration: time.Hour, CookieName: "SESSION"}, "AWSALBAPP-0", "?setcookie=SESSION"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			a, b := newBackend(t, "A"), newBackend(t, "B")
			tg := httpGroup("tg", a.target("i-a"), b.target("i-b"))
			tg.Stickiness = tc.st
			h.p.SetTargetGroup(tg)
			url := h.alb(defaultRule(forwardTo("tg")))
			_, first, resp := get(t, nil, url+"/"+tc.query)
			var val string
			for _, c := range resp.Cookies() {
				if c.Name == tc.cookie {
					val = c.Value
					if want := epoch.Add(time.Hour); !c.Expires.Equal(want) {
						t.Errorf("%s expires %v, want %v", c.Name, c.Expires, want)
					}
				}
			}
			if val == "" {
				t.Fatalf("no %s cookie in %v", tc.cookie, resp.Header["Set-Cookie"])
			}
			if tc.cookie == "AWSALB" {
				sc := strings.Join(resp.Header["Set-Cookie"], "\n")
				if !regexp.MustCompile(`AWSALBCORS=` + regexp.QuoteMeta(val) + `; Expires=[^;]+; Path=/; SameSite=None; Secure`).MatchString(sc) {
					t.Errorf("AWSALBCORS missing or wrong: %s", sc)
				}
			}
			for range 10 {
				if _, body, _ := get(t, nil, url+"/", "Cookie", tc.cookie+"="+val); body != first {
					t.Fatalf("sticky to %s, then went to %s", first, body)
				}
			}
			// The sticky target leaves: requests go to the other one.
			other := b.target("i-b")
			if first == "B" {
				other = a.target("i-a")
			}
			tg.Targets = []Target{other}
			h.p.SetTargetGroup(tg)
			if _, body, _ := get(t, nil, url+"/", "Cookie", tc.cookie+"="+val); body == first {
				t.Fatalf("still sent to deregistered target %s", first)
			}
		})
	}
}

func TestForwardedHeaders(t *testing.T) {
	h := newHarness(t)
	a := newBackend(t, "A")
	h.p.SetTargetGroup(httpGroup("tg", a.target("i-a")))
	url := h.alb(defaultRule(forwardTo("tg")))
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(url, "http://"))

	get(t, nil, url+"/", "X-Forwarded-For", "203.0.113.7", "X-Amzn-Trace-Id", "Root=1-67891233-abcdef012345678912345678")
	a.mu.Lock()
	r := a.lastReq
	a.mu.Unlock()
	if got := r.Header.Get("X-Forwarded-For"); got != "203.0.113.7, 127.0.0.1" {
		t.Errorf("X-Forwarded-For = %q", got)
	}
	if got := r.Header.Get("X-Forwarded-Proto"); got != "http" {
		t.Errorf("X-Forwarded-Proto = %q", got)
	}
	if got := r.Header.Get("X-Forwarded-Port"); got != port {
		t.Errorf("X-Forwarded-Port = %q, want %s", got, port)
	}
	if got := r.Header.Get("X-Amzn-Trace-Id"); !regexp.MustCompile(`^Self=1-[0-9a-f]{8}-[0-9a-f]{24};Root=1-67891233-abcdef012345678912345678$`).MatchString(got) {
		t.Errorf("X-Amzn-Trace-Id = %q", got)
	}
	if r.Host != strings.TrimPrefix(url, "http://") {
		t.Errorf("Host = %q, want the client's", r.Host)
	}
}

// garbageServer answers every connection with bytes that are not HTTP.
func garbageServer(t *testing.T) Target {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			bufio.NewReader(c).ReadString('\n')
			c.Write([]byte("SSH-2.0-garbage\r\n\r\n"))
			c.Close()
		}
	}()
	return Target{ID: "i-garbage", Addr: "127.0.0.1", Port: ln.Addr().(*net.TCPAddr).Port}
}

// refusedTarget is an address nothing listens on.
func refusedTarget(t *testing.T) Target {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	return Target{ID: "i-refused", Addr: "127.0.0.1", Port: port}
}

func TestELBErrors(t *testing.T) {
	tests := []struct {
		name    string
		targets func(t *testing.T) []Target
		code    int
		title   string
	}{
		{"no targets", func(*testing.T) []Target { return nil }, 503, "503 Service Temporarily Unavailable"},
		{"refused", func(t *testing.T) []Target { return []Target{refusedTarget(t)} }, 502, "502 Bad Gateway"},
		{"garbage", func(t *testing.T) []Target { return []Target{garbageServer(t)} }, 502, "502 Bad Gateway"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			h.p.SetTargetGroup(httpGroup("tg", tc.targets(t)...))
			url := h.alb(defaultRule(forwardTo("tg")))
			code, body, resp := get(t, nil, url+"/")
			want := "<html>\r\n<head><title>" + tc.title + "</title></head>\r\n<body>\r\n<center><h1>" + tc.title + "</h1></center>\r\n</body>\r\n</html>\r\n"
			if code != tc.code || body != want {
				t.Errorf("got %d %q, want %d %q", code, body, tc.code, want)
			}
			if resp.Header.Get("Server") != "awselb/2.0" {
				t.Errorf("Server = %q", resp.Header.Get("Server"))
			}
			// The proxy survives and counts the error.
			var lbStats Stats
			for _, s := range h.p.Collect() {
				if s.TargetGroupARN == "" {
					lbStats = s
				}
			}
			if lbStats.HTTPCodeELB5XX != 1 || lbStats.RequestCount != 1 {
				t.Errorf("stats %+v", lbStats)
			}
		})
	}
}

func TestGatewayTimeoutOnHungTarget(t *testing.T) {
	h := newHarness(t)
	a := newBackend(t, "A")
	h.p.SetTargetGroup(httpGroup("tg", a.target("i-a")))
	url := h.lb("application", "HTTP", 5*time.Second, defaultRule(forwardTo("tg")))
	type result struct {
		code int
		body string
	}
	res := make(chan result, 1)
	go func() {
		resp, err := http.Get(url + "/slow")
		if err != nil {
			res <- result{}
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		res <- result{resp.StatusCode, string(b)}
	}()
	// Wait for the request's idle-timeout timer (the health loop's ticker
	// and the client connection's idle timer are the other waiters), then
	// let the idle timeout pass on the clock.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := h.clk.BlockUntilWaiters(ctx, 3); err != nil {
		t.Fatal(err)
	}
	h.clk.Advance(5 * time.Second)
	r := <-res
	if r.code != 504 || !strings.Contains(r.body, "504 Gateway Time-out") {
		t.Fatalf("got %d %q", r.code, r.body)
	}
}

func TestIdleClientConnectionClosed(t *testing.T) {
	h := newHarness(t)
	a := newBackend(t, "A")
	h.p.SetTargetGroup(httpGroup("tg", a.target("i-a")))
	url := h.lb("application", "HTTP", 5*time.Second, defaultRule(forwardTo("tg")))
	c, err := net.Dial("tcp", strings.TrimPrefix(url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	br := bufio.NewReader(c)
	io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	// Idle for a whole period (the first one may still see the request's
	// bytes or its end): closed. Other timers (the request's idle watch
	// ending) may still be armed, so advance a few periods.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for i := 0; ; i++ {
		if err := h.clk.BlockUntilWaiters(ctx, 2); err != nil {
			t.Fatal(err)
		}
		h.clk.Advance(5 * time.Second)
		c.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
		_, err := br.ReadByte()
		if err == io.EOF {
			return
		}
		if i == 5 {
			t.Fatalf("idle connection not closed: %v", err)
		}
	}
}

func TestFailOpen(t *testing.T) {
	h := newHarness(t)
	a, b := newBackend(t, "A"), newBackend(t, "B")
	a.setStatus(500)
	b.setStatus(500)
	h.p.SetTargetGroup(httpGroup("tg", a.target("i-a"), b.target("i-b")))
	url := h.alb(defaultRule(forwardTo("tg")))
	h.round("tg", 10*time.Second)
	h.round("tg", 10*time.Second)
	if th := healthOf(h.p, "tg", "i-a"); th.State != StateUnhealthy {
		t.Fatalf("i-a %+v", th)
	}
	// Every target unhealthy: ELB routes to all of them.
	seen := map[string]bool{}
	for range 4 {
		code, body, _ := get(t, nil, url+"/")
		if code != 500 {
			t.Fatalf("fail-open answered %d", code)
		}
		seen[body] = true
	}
	if !seen["A"] || !seen["B"] {
		t.Errorf("fail-open used %v", seen)
	}
	// One target recovers: only it is used.
	a.setStatus(200)
	h.round("tg", 10*time.Second)
	h.round("tg", 10*time.Second)
	for range 4 {
		if _, body, _ := get(t, nil, url+"/"); body != "A" {
			t.Fatalf("sent to unhealthy %s while A is healthy", body)
		}
	}
}

func TestWebSocketPassThrough(t *testing.T) {
	h := newHarness(t)
	// An echo server that upgrades to a raw byte stream.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Upgrade") != "websocket" {
			w.WriteHeader(400)
			return
		}
		c, rw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return
		}
		defer c.Close()
		rw.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
		rw.Flush()
		io.Copy(c, rw)
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	port := ln.Addr().(*net.TCPAddr).Port
	h.p.SetTargetGroup(httpGroup("tg", Target{ID: "i-ws", Addr: "127.0.0.1", Port: port}))
	url := h.alb(defaultRule(forwardTo("tg")))

	c, err := net.Dial("tcp", strings.TrimPrefix(url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	io.WriteString(c, "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != 101 {
		t.Fatalf("upgrade: %v %v", resp, err)
	}
	io.WriteString(c, "ping")
	buf := make([]byte, 4)
	if _, err := io.ReadFull(br, buf); err != nil || string(buf) != "ping" {
		t.Fatalf("echo %q %v", buf, err)
	}
}

func TestHTTPSListenerSelfSigned(t *testing.T) {
	h := newHarness(t)
	a := newBackend(t, "A")
	h.p.SetTargetGroup(httpGroup("tg", a.target("i-a")))
	url := h.lb("application", "HTTPS", time.Minute, defaultRule(forwardTo("tg")))
	tr := &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, ForceAttemptHTTP2: true}
	defer tr.CloseIdleConnections()
	code, body, resp := get(t, &http.Client{Transport: tr}, url+"/")
	if code != 200 || body != "A" || resp.ProtoMajor != 2 {
		t.Fatalf("%d %q over %s", code, body, resp.Proto)
	}
	// A request body over HTTP/2 (length unknown to the proxy) still
	// reaches the target.
	req, _ := http.NewRequest("POST", url+"/", io.MultiReader(strings.NewReader("payload")))
	if resp, err := tr.RoundTrip(req); err != nil || resp.StatusCode != 200 {
		t.Fatalf("h2 POST: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}
	if cn := resp.TLS.PeerCertificates[0].Subject.CommonName; cn != "lb.example.test" {
		t.Errorf("certificate for %q", cn)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if got := a.lastReq.Header.Get("X-Forwarded-Proto"); got != "https" {
		t.Errorf("X-Forwarded-Proto = %q", got)
	}
}
