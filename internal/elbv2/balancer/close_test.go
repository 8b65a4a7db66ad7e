package balancer

import (
	"bufio"
	"crypto/tls"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

// TestCloseEndsEverything closes a Plane with a TCP flow, a TLS flow and an
// HTTP keep-alive connection open; the harness then checks that no
// goroutine outlives it and the sockets are closed.
func TestCloseEndsEverything(t *testing.T) {
	h := newHarness(t)
	echo := echoServer(t, "E", "us-east-1a")
	h.p.SetTargetGroup(tcpGroup("tg", echo))
	a := newBackend(t, "A")
	h.p.SetTargetGroup(httpGroup("tg-http", a.target("i-a")))
	addrs, err := h.p.SetLoadBalancer(LoadBalancer{ARN: "nlb", Type: "network", IP: "127.0.0.1", CrossZone: true,
		Listeners: []Listener{
			{ARN: "tcp", Protocol: "TCP", Rules: []Rule{defaultRule(forwardTo("tg"))}},
			{ARN: "tls", Protocol: "TLS", DNSName: "nlb.example.test", Rules: []Rule{defaultRule(forwardTo("tg"))}},
		}})
	if err != nil {
		t.Fatal(err)
	}
	url := h.alb(defaultRule(forwardTo("tg-http")))
	if code, _, _ := get(t, nil, url+"/"); code != 200 {
		t.Fatalf("http %d", code)
	}

	c, err := net.Dial("tcp", addrs["tcp"])
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	tc, err := tls.Dial("tcp", addrs["tls"], &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	defer tc.Close()
	if cn := tc.ConnectionState().PeerCertificates[0].Subject.CommonName; cn != "nlb.example.test" {
		t.Errorf("TLS certificate for %q", cn)
	}
	for _, conn := range []net.Conn{c, tc} {
		conn.SetDeadline(time.Now().Add(5 * time.Second))
		io.WriteString(conn, "hi\n")
		if got, _ := bufio.NewReader(conn).ReadString('\n'); strings.TrimSpace(got) != "E:hi" {
			t.Fatalf("echo %q", got)
		}
	}

	if err := h.p.Close(); err != nil {
		t.Fatal(err)
	}
	// Flows are cut: the client sees EOF.
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Read(make([]byte, 1)); err == nil {
		t.Error("TCP flow still open after Close")
	}
	if cc, err := net.DialTimeout("tcp", addrs["tcp"], time.Second); err == nil {
		cc.Close()
		t.Error("TCP listener still open after Close")
	}
	if _, err := h.p.SetLoadBalancer(LoadBalancer{ARN: "x", IP: "127.0.0.1"}); err == nil {
		t.Error("SetLoadBalancer after Close succeeded")
	}
}

func TestUDPListener(t *testing.T) {
	h := newHarness(t)
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 1500)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			pc.WriteTo(append([]byte("udp:"), buf[:n]...), from)
		}
	}()
	t.Cleanup(func() { pc.Close(); <-done })
	tg := tcpGroup("tg", Target{ID: "10.0.0.1", Addr: "127.0.0.1", Port: pc.LocalAddr().(*net.UDPAddr).Port, Zone: "us-east-1a"})
	tg.Protocol = "UDP"
	tg.HealthCheck.Enabled = false
	h.p.SetTargetGroup(tg)
	addrs, err := h.p.SetLoadBalancer(LoadBalancer{ARN: "nlb", Type: "network", IP: "127.0.0.1", CrossZone: true,
		Listeners: []Listener{{ARN: "udp", Protocol: "UDP", Rules: []Rule{defaultRule(forwardTo("tg"))}}}})
	if err != nil {
		t.Fatal(err)
	}
	c, err := net.Dial("udp", addrs["udp"])
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	c.Write([]byte("ping"))
	buf := make([]byte, 100)
	n, err := c.Read(buf)
	if err != nil || string(buf[:n]) != "udp:ping" {
		t.Fatalf("got %q %v", buf[:n], err)
	}
}
