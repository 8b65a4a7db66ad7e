package balancer

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// echoServer is a TCP server that answers each line with its name and the line.
func echoServer(t *testing.T, name, zone string) Target {
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
				sc := bufio.NewScanner(c)
				for sc.Scan() {
					io.WriteString(c, name+":"+sc.Text()+"\n")
				}
			}()
		}
	}()
	return Target{ID: "i-" + name, Addr: "127.0.0.1", Port: ln.Addr().(*net.TCPAddr).Port, Zone: zone}
}

func tcpGroup(arn string, targets ...Target) TargetGroup {
	return TargetGroup{
		ARN: arn, Protocol: "TCP", TargetType: "instance", DeregistrationDelay: 300 * time.Second,
		HealthCheck: HealthCheck{Enabled: true, Protocol: "TCP", Interval: 10 * time.Second, Timeout: 10 * time.Second,
			HealthyThreshold: 2, UnhealthyThreshold: 2},
		Targets: targets,
	}
}

func dialLine(t *testing.T, addr, line string) string {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	io.WriteString(c, line+"\n")
	got, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	return strings.TrimSpace(got)
}

func TestNLBTCPEcho(t *testing.T) {
	tests := []struct {
		name      string
		crossZone bool
		sticky    bool
		wantBoth  bool
	}{
		{"cross-zone on spreads", true, false, true},
		{"cross-zone off alternates zones", false, false, true},
		{"source_ip stickiness", true, true, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			a, b := echoServer(t, "A", "us-east-1a"), echoServer(t, "B", "us-east-1b")
			tg := tcpGroup("tg", a, b)
			if tc.sticky {
				tg.Stickiness = Stickiness{Enabled: true, Type: "source_ip"}
			}
			h.p.SetTargetGroup(tg)
			lb := LoadBalancer{ARN: "nlb", Type: "network", IP: "127.0.0.1", Zones: []string{"us-east-1a", "us-east-1b"},
				CrossZone: tc.crossZone,
				Listeners: []Listener{{ARN: "l", Protocol: "TCP", Rules: []Rule{defaultRule(forwardTo("tg"))}}}}
			addrs, err := h.p.SetLoadBalancer(lb)
			if err != nil {
				t.Fatal(err)
			}
			h.round("tg", 10*time.Second)
			h.round("tg", 10*time.Second)
			seen := map[string]int{}
			for range 6 {
				got := dialLine(t, addrs["l"], "hello")
				name, rest, _ := strings.Cut(got, ":")
				if rest != "hello" {
					t.Fatalf("echo %q", got)
				}
				seen[name]++
			}
			if both := len(seen) == 2; both != tc.wantBoth {
				t.Errorf("targets used: %v", seen)
			}
			if th := healthOf(h.p, "tg", "i-A"); th.State != StateHealthy {
				t.Errorf("TCP health: %+v", th)
			}
		})
	}
}

func TestNLBZoneWithoutCrossZone(t *testing.T) {
	h := newHarness(t)
	// Only zone a has targets; zone b's node has none healthy, so every
	// connection is served in zone a.
	a1, a2 := echoServer(t, "A1", "us-east-1a"), echoServer(t, "A2", "us-east-1a")
	h.p.SetTargetGroup(tcpGroup("tg", a1, a2))
	addrs, err := h.p.SetLoadBalancer(LoadBalancer{ARN: "nlb", Type: "network", IP: "127.0.0.1",
		Zones:     []string{"us-east-1a", "us-east-1b"},
		Listeners: []Listener{{ARN: "l", Protocol: "TCP", Rules: []Rule{defaultRule(forwardTo("tg"))}}}})
	if err != nil {
		t.Fatal(err)
	}
	h.round("tg", 10*time.Second)
	h.round("tg", 10*time.Second)
	for range 4 {
		if got := dialLine(t, addrs["l"], "x"); !strings.HasPrefix(got, "A") {
			t.Fatalf("got %q", got)
		}
	}
}

type fakeLambda struct {
	mu     sync.Mutex
	events []map[string]any
	answer string
	err    error
}

func (f *fakeLambda) InvokeForELB(_ context.Context, fn string, event []byte) ([]byte, error) {
	var ev map[string]any
	json.Unmarshal(event, &ev)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.events = append(f.events, ev)
	return []byte(f.answer), f.err
}

func TestLambdaTarget(t *testing.T) {
	h := newHarness(t)
	fn := &fakeLambda{answer: `{"statusCode":201,"statusDescription":"201 Created","headers":{"Content-Type":"text/plain","X-Fn":"yes"},"body":"` +
		base64.StdEncoding.EncodeToString([]byte("hi there")) + `","isBase64Encoded":true}`}
	h.p.SetTargetGroup(TargetGroup{ARN: "tg-fn", TargetType: "lambda", Lambda: fn,
		Targets: []Target{{ID: "arn:aws:lambda:us-east-1:123456789012:function:f"}}})
	url := h.alb(defaultRule(forwardTo("tg-fn")))

	req, _ := http.NewRequest("POST", url+"/path/x?a=1&b=two%20words", strings.NewReader(`{"k":"v"}`))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 201 || string(body) != "hi there" || resp.Header.Get("X-Fn") != "yes" {
		t.Fatalf("%d %q %v", resp.StatusCode, body, resp.Header)
	}
	ev := fn.events[0]
	rc := ev["requestContext"].(map[string]any)["elb"].(map[string]any)
	qs := ev["queryStringParameters"].(map[string]any)
	hd := ev["headers"].(map[string]any)
	if ev["httpMethod"] != "POST" || ev["path"] != "/path/x" || ev["body"] != `{"k":"v"}` || ev["isBase64Encoded"] != false ||
		rc["targetGroupArn"] != "tg-fn" || qs["b"] != "two%20words" || hd["content-type"] != "application/json" || hd["x-forwarded-for"] != "127.0.0.1" {
		t.Errorf("event %v", ev)
	}

	fn.mu.Lock()
	fn.err = errors.New("function failed")
	fn.mu.Unlock()
	if code, _, _ := get(t, nil, url+"/"); code != 502 {
		t.Errorf("invoke error answered %d", code)
	}
}

func TestCollect(t *testing.T) {
	h := newHarness(t)
	a := newBackend(t, "A")
	a.setStatus(404)
	h.p.SetTargetGroup(httpGroup("tg", a.target("i-a")))
	url := h.alb(defaultRule(forwardTo("tg")))
	for range 3 {
		get(t, nil, url+"/")
	}
	stats := h.p.Collect()
	if len(stats) != 2 {
		t.Fatalf("stats %+v", stats)
	}
	lb, tg := stats[0], stats[1]
	if lb.TargetGroupARN != "" || lb.RequestCount != 3 || lb.HTTPCodeTarget4XX != 3 || lb.NewConnectionCount < 1 || lb.ProcessedBytes == 0 {
		t.Errorf("lb %+v", lb)
	}
	if tg.TargetGroupARN != "tg" || tg.RequestCount != 3 || tg.HTTPCodeTarget4XX != 3 || tg.HealthyHostCount != 0 {
		t.Errorf("tg %+v", tg)
	}
	again := h.p.Collect()
	if again[0].RequestCount != 0 || again[1].RequestCount != 0 {
		t.Errorf("not reset: %+v", again)
	}
}

func TestListenerLifecycle(t *testing.T) {
	h := newHarness(t)
	a := newBackend(t, "A")
	h.p.SetTargetGroup(httpGroup("tg", a.target("i-a")))

	// A taken port maps to another one.
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	port := taken.Addr().(*net.TCPAddr).Port
	lb := LoadBalancer{ARN: "lb", Type: "application", IP: "127.0.0.1",
		Listeners: []Listener{{ARN: "l1", Protocol: "HTTP", Port: port, Rules: []Rule{defaultRule(forwardTo("tg"))}}}}
	addrs, err := h.p.SetLoadBalancer(lb)
	if err != nil {
		t.Fatal(err)
	}
	if addrs["l1"] == taken.Addr().String() || !strings.HasPrefix(addrs["l1"], "127.0.0.1:") {
		t.Fatalf("addr %q", addrs["l1"])
	}
	// The same listener again keeps its socket.
	again, err := h.p.SetLoadBalancer(lb)
	if err != nil || again["l1"] != addrs["l1"] {
		t.Fatalf("reapply: %v %v", again, err)
	}
	if code, body, _ := get(t, nil, "http://"+addrs["l1"]+"/"); code != 200 || body != "A" {
		t.Fatalf("%d %q", code, body)
	}
	// A listener that cannot open at all leaves everything as it was.
	bad := lb
	bad.Listeners = append(bad.Listeners, Listener{ARN: "l2", Protocol: "HTTP", Port: 1})
	bad.IP = "192.0.2.1" // not a local address
	if _, err := h.p.SetLoadBalancer(bad); err == nil {
		t.Fatal("want an error binding a non-local address")
	}
	if code, _, _ := get(t, nil, "http://"+addrs["l1"]+"/"); code != 200 {
		t.Fatalf("listener lost after failed update: %d", code)
	}
	h.p.RemoveLoadBalancer("lb")
	if c, err := net.DialTimeout("tcp", addrs["l1"], time.Second); err == nil {
		c.Close()
		t.Fatal("listener still open after RemoveLoadBalancer")
	}
}
