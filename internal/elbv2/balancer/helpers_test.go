package balancer

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nephele-dev/nephele/internal/clock"
)

var epoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// harness is a Plane on a fake clock with helpers to drive it.
type harness struct {
	t      *testing.T
	p      *Plane
	clk    *clock.Fake
	rounds chan string
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	before := runtime.NumGoroutine()
	clk := clock.NewFake(epoch)
	h := &harness{t: t, clk: clk, rounds: make(chan string, 64)}
	h.p = New(Options{Clock: clk})
	h.p.onRound = func(arn string) {
		select {
		case h.rounds <- arn:
		default:
		}
	}
	t.Cleanup(func() {
		if err := h.p.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
		http.DefaultClient.CloseIdleConnections()
		checkGoroutines(t, before)
	})
	return h
}

// checkGoroutines fails the test if goroutines started during it are still
// running a moment after Close (servers' connection goroutines need a few
// milliseconds to see their sockets closed).
func checkGoroutines(t *testing.T, before int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		n := runtime.NumGoroutine()
		if n <= before {
			return
		}
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			buf = buf[:runtime.Stack(buf, true)]
			t.Errorf("%d goroutines after Close, %d before:\n%s", n, before, buf)
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// round advances the clock by interval once the health loop of arn waits
// on its ticker, and waits for that round to finish.
func (h *harness) round(arn string, interval time.Duration) {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := h.clk.BlockUntilWaiters(ctx, 1); err != nil {
		h.t.Fatalf("no health loop armed: %v", err)
	}
	h.clk.Advance(interval)
	for {
		select {
		case got := <-h.rounds:
			if got == arn {
				return
			}
		case <-ctx.Done():
			h.t.Fatalf("health round of %s did not finish", arn)
		}
	}
}

// backend is an httptest server that names itself in its answers.
type backend struct {
	*httptest.Server
	name string

	quit chan struct{} // ends /slow requests, so Close never waits on them

	mu      sync.Mutex
	status  int
	hits    int
	lastReq *http.Request
}

func newBackend(t *testing.T, name string) *backend {
	t.Helper()
	b := &backend{name: name, status: 200, quit: make(chan struct{})}
	b.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b.mu.Lock()
		status := b.status
		if r.Header.Get("User-Agent") != "ELB-HealthChecker/2.0" {
			b.hits++
			b.lastReq = r.Clone(context.Background())
		}
		b.mu.Unlock()
		if c := r.URL.Query().Get("setcookie"); c != "" {
			http.SetCookie(w, &http.Cookie{Name: c, Value: "v"})
		}
		if r.URL.Path == "/slow" {
			select { // until the client or proxy gives up
			case <-r.Context().Done():
			case <-b.quit:
			}
			return
		}
		w.Header().Set("X-Backend", name)
		w.WriteHeader(status)
		io.WriteString(w, name)
	}))
	t.Cleanup(func() {
		close(b.quit)
		b.Close()
	})
	return b
}

func (b *backend) setStatus(code int) {
	b.mu.Lock()
	b.status = code
	b.mu.Unlock()
}

func (b *backend) target(id string) Target {
	host, port, _ := net.SplitHostPort(b.Listener.Addr().String())
	n, _ := strconv.Atoi(port)
	return Target{ID: id, Port: n, Addr: host, Zone: "us-east-1a"}
}

// httpGroup is a target group of HTTP targets with fast health checks.
func httpGroup(arn string, targets ...Target) TargetGroup {
	return TargetGroup{
		ARN: arn, Name: arn, Protocol: "HTTP", Port: 80, TargetType: "instance",
		DeregistrationDelay: 300 * time.Second,
		HealthCheck: HealthCheck{
			Enabled: true, Protocol: "HTTP", Path: "/health", Interval: 10 * time.Second,
			Timeout: 5 * time.Second, HealthyThreshold: 2, UnhealthyThreshold: 2, Matcher: "200",
		},
		Targets: targets,
	}
}

func forwardTo(arns ...string) Action {
	a := Action{Type: "forward", Order: 1}
	for _, arn := range arns {
		a.Forward = append(a.Forward, WeightedGroup{TargetGroupARN: arn, Weight: 1})
	}
	return a
}

func defaultRule(a Action) Rule { return Rule{ARN: "default", Priority: 0, Actions: []Action{a}} }

// alb opens an ALB with one HTTP listener with the given rules and returns
// its base URL.
func (h *harness) alb(rules ...Rule) string {
	h.t.Helper()
	return h.lb("application", "HTTP", time.Minute, rules...)
}

func (h *harness) lb(typ, proto string, idle time.Duration, rules ...Rule) string {
	h.t.Helper()
	lb := LoadBalancer{
		ARN: "lb-" + h.t.Name(), Name: "lb", Type: typ, IP: "127.0.0.1",
		Zones: []string{"us-east-1a", "us-east-1b"}, IdleTimeout: idle,
		Listeners: []Listener{{ARN: "listener-1", Protocol: proto, Port: 0, Rules: rules, DNSName: "lb.example.test"}},
	}
	addrs, err := h.p.SetLoadBalancer(lb)
	if err != nil {
		h.t.Fatalf("SetLoadBalancer: %v", err)
	}
	addr := addrs["listener-1"]
	switch proto {
	case "HTTP":
		return "http://" + addr
	case "HTTPS":
		return "https://" + addr
	}
	return addr
}

// get does a GET and returns status, body and response.
func get(t *testing.T, c *http.Client, url string, hdr ...string) (int, string, *http.Response) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		if strings.EqualFold(hdr[i], "Host") {
			req.Host = hdr[i+1]
			continue
		}
		req.Header.Add(hdr[i], hdr[i+1])
	}
	if c == nil {
		c = http.DefaultClient
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp
}

func healthOf(p *Plane, arn, id string) TargetHealth {
	for _, th := range p.TargetHealth(arn) {
		if th.ID == id {
			return th
		}
	}
	return TargetHealth{}
}
