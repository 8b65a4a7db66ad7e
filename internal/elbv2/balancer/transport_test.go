package balancer

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// closingTarget answers each request with keep-alive headers and then
// closes the connection anyway, as a target whose keep-alive timeout just
// ran out does; it echoes the request body's length.
func closingTarget(t *testing.T) Target {
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
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				req, err := http.ReadRequest(bufio.NewReader(c))
				if err != nil {
					return
				}
				n, _ := io.Copy(io.Discard, req.Body)
				body := "got " + strconv.FormatInt(n, 10)
				io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: "+strconv.Itoa(len(body))+"\r\n\r\n"+body)
			}()
		}
	}()
	return Target{ID: "i-closing", Addr: "127.0.0.1", Port: ln.Addr().(*net.TCPAddr).Port}
}

func TestStaleKeepAliveConnections(t *testing.T) {
	h := newHarness(t)
	h.p.SetTargetGroup(httpGroup("tg", closingTarget(t)))
	url := h.alb(defaultRule(forwardTo("tg")))
	tests := []struct {
		name   string
		method string
		body   string
		chunk  bool
	}{
		{"get", "GET", "", false},
		{"small post", "POST", "hello", false},
		{"large post", "POST", strings.Repeat("x", 200<<10), false},
		{"chunked post", "POST", "abc", true},
	}
	for range 2 { // the second pass reuses whatever the first left pooled
		for _, tc := range tests {
			var r io.Reader = strings.NewReader(tc.body)
			if tc.chunk {
				r = io.MultiReader(r) // hides the length: chunked
			}
			req, _ := http.NewRequest(tc.method, url+"/", r)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatalf("%s: %v", tc.name, err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if want := "got " + strconv.Itoa(len(tc.body)); resp.StatusCode != 200 || string(b) != want {
				t.Errorf("%s: %d %q, want %q", tc.name, resp.StatusCode, b, want)
			}
		}
	}
}

// truncatingTarget promises 100 bytes and sends 10, then hangs up.
func truncatingTarget(t *testing.T) Target {
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
			if _, err := http.ReadRequest(bufio.NewReader(c)); err == nil {
				io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789")
			}
			c.Close()
		}
	}()
	return Target{ID: "i-truncating", Addr: "127.0.0.1", Port: ln.Addr().(*net.TCPAddr).Port}
}

func TestTargetResetMidBody(t *testing.T) {
	h := newHarness(t)
	a := newBackend(t, "A")
	h.p.SetTargetGroup(httpGroup("tg", truncatingTarget(t)))
	h.p.SetTargetGroup(httpGroup("tg-ok", a.target("i-a")))
	url := h.alb(
		Rule{ARN: "r", Priority: 1, Conditions: []Condition{{Field: "path-pattern", Values: []string{"/ok"}}}, Actions: []Action{forwardTo("tg-ok")}},
		defaultRule(forwardTo("tg")),
	)
	for range 3 {
		resp, err := http.Get(url + "/")
		if err == nil {
			_, err = io.ReadAll(resp.Body)
			resp.Body.Close()
		}
		if err == nil {
			t.Fatal("truncated response read without error")
		}
	}
	// The proxy is still up for everyone else.
	if code, body, _ := get(t, nil, url+"/ok"); code != 200 || body != "A" {
		t.Fatalf("after truncated responses: %d %q", code, body)
	}
}

// TestTargetWriterWaits checks flushAndWait: a request that fits the
// socket buffer is written and the answer awaited in one poller call; one
// that does not (the target reads slowly) is finished the ordinary way.
// Either way the answer is then read.
func TestTargetWriterWaits(t *testing.T) {
	for _, size := range []int{100, 8 << 20} {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan struct{})
		go func() {
			defer close(done)
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close()
			if _, err := io.CopyN(io.Discard, c, int64(size)); err == nil {
				io.WriteString(c, "answer")
			}
		}()
		pool := newConnPool(nil)
		pc, err := pool.dial(t.Context(), ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		// As flushAndWait hands its buffer over, with the whole request.
		pc.tw.wait = true
		if n, err := pc.tw.Write(make([]byte, size)); n != size || err != nil {
			t.Fatalf("%d bytes: wrote %d, %v", size, n, err)
		}
		got, err := pc.br.Peek(6)
		if err != nil || string(got) != "answer" {
			t.Fatalf("%d bytes: answer %q %v", size, got, err)
		}
		pc.c.Close()
		ln.Close()
		<-done
	}
}

// TestTargetWriterFullSocket: when the target does not read and the
// socket buffer fills, the write goes on the ordinary way (here until its
// deadline) instead of waiting for an answer that cannot come.
func TestTargetWriterFullSocket(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		if c, err := ln.Accept(); err == nil {
			accepted <- c // never read
		}
	}()
	pc, err := newConnPool(nil).dial(t.Context(), ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer pc.c.Close()
	defer func() { (<-accepted).Close() }()
	pc.c.SetWriteDeadline(time.Now().Add(200 * time.Millisecond))
	size := 64 << 20
	pc.tw.wait = true
	n, err := pc.tw.Write(make([]byte, size))
	var ne net.Error
	if n <= 0 || n >= size || !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("wrote %d of %d: %v", n, size, err)
	}
}
