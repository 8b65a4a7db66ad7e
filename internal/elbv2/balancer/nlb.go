package balancer

import (
	"context"
	"crypto/tls"
	"io"
	"net"
	"net/netip"
	"sync"
	"time"
)

// tcpServer serves one TCP or TLS listener of a Network Load Balancer: each
// client connection is spliced to one target.
type tcpServer struct {
	l  *listener
	ln net.Listener

	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	closed bool
}

func newTCPServer(l *listener, ln net.Listener) *tcpServer {
	return &tcpServer{l: l, ln: ln, conns: map[net.Conn]struct{}{}}
}

func (s *tcpServer) serve() {
	for {
		c, err := s.ln.Accept()
		if err != nil {
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				continue
			}
			return
		}
		if !s.track(c) {
			c.Close()
			return
		}
		s.l.p.goTracked(func() {
			defer s.untrack(c)
			s.handle(c)
		})
	}
}

func (s *tcpServer) track(c net.Conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.conns[c] = struct{}{}
	return true
}

func (s *tcpServer) untrack(c net.Conn) {
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
	c.Close()
}

// closeAll drops every client connection, as deleting a listener does.
func (s *tcpServer) closeAll() {
	s.mu.Lock()
	s.closed = true
	conns := s.conns
	s.conns = map[net.Conn]struct{}{}
	s.mu.Unlock()
	_ = s.ln.Close()
	for c := range conns {
		c.Close()
	}
}

// handle proxies one client connection.
func (s *tcpServer) handle(c net.Conn) {
	p := s.l.p
	v := s.l.view.Load()
	if v == nil {
		return
	}
	if tc, ok := c.(*tls.Conn); ok {
		// A client that never finishes its handshake is dropped after
		// 10 s on the clock (or when the listener closes).
		ctx, cancel := context.WithCancel(s.l.ctx)
		timer := p.clk.AfterFunc(10*time.Second, cancel)
		err := tc.HandshakeContext(ctx)
		timer.Stop()
		cancel()
		if err != nil {
			return
		}
	}
	a := nlbAction(v)
	if a == nil || len(a.Forward) == 0 {
		return
	}
	g := p.lookupGroup(a.Forward[0].TargetGroupARN)
	if g == nil {
		return
	}
	gv := g.view.Load()
	st := v.lb.groupStats(g.arn)
	st.newConns.Add(1)
	st.active.Add(1)
	defer st.active.Add(-1)

	var client netip.Addr
	if ap, err := netip.ParseAddrPort(c.RemoteAddr().String()); err == nil {
		client = ap.Addr()
	}
	t := s.pickTarget(g, gv, v.lb, client)
	if t == nil {
		return // no target: the NLB resets the connection
	}
	t.inflight.Add(1)
	defer t.inflight.Add(-1)

	ctx, cancel := context.WithCancel(t.ctx)
	defer cancel()
	d := net.Dialer{Timeout: 10 * time.Second}
	var up net.Conn
	var err error
	if gv.cfg.Protocol == "TLS" {
		td := tls.Dialer{NetDialer: &d, Config: &tls.Config{InsecureSkipVerify: true}} //nolint:gosec // NLB does not verify targets
		up, err = td.DialContext(ctx, "tcp", t.addr)
	} else {
		up, err = d.DialContext(ctx, "tcp", t.addr)
	}
	if err != nil {
		return
	}
	defer up.Close()
	// A target forgotten at the end of its deregistration delay loses its
	// connections.
	stop := context.AfterFunc(ctx, func() { up.Close(); c.Close() })
	defer stop()

	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		n, _ := io.Copy(up, c)
		st.bytes.Add(n)
		closeWrite(up)
	}()
	n, _ := io.Copy(c, up)
	st.bytes.Add(n)
	closeWrite(c)
	wg.Wait()
}

func closeWrite(c net.Conn) {
	if cw, ok := c.(interface{ CloseWrite() error }); ok {
		_ = cw.CloseWrite()
	} else {
		_ = c.Close()
	}
}

// nlbAction is the listener's default forward action.
func nlbAction(v *listenerView) *Action {
	for i := len(v.cfg.Rules) - 1; i >= 0; i-- {
		if a := finalAction(&v.cfg.Rules[i]); a != nil && a.Type == "forward" {
			return a
		}
	}
	return nil
}

// pickTarget chooses the target of a new NLB flow.
//
// With one loopback IP standing for every LB node, each connection is
// handed to the node of one enabled zone, round robin over the zones that
// have a healthy target (as DNS would stop answering with a zone's node
// once it has none). Without cross-zone load balancing that node only uses
// targets in its own zone (or registered with zone "all"); with it, any.
// source_ip stickiness keeps a client IP on its target while it is
// routable.
func (s *tcpServer) pickTarget(g *group, gv *groupView, lb *lbInfo, client netip.Addr) *target {
	p := s.l.p
	sticky := gv.cfg.Stickiness.Enabled && gv.cfg.Stickiness.Type == "source_ip" && client.IsValid()
	if sticky {
		if k, ok := g.sourceIP.Load(client); ok {
			if t := gv.byKey[k.(string)]; gv.routable(t) {
				return t
			}
		}
	}
	var filter func(*target) bool
	if !lb.cfg.CrossZone && len(lb.cfg.Zones) > 0 {
		zone := s.chooseZone(gv, lb)
		if zone != "" {
			filter = func(t *target) bool { return t.zone == zone || t.zone == "all" }
		}
	}
	t := gv.pick(g, p.clk.Now(), filter)
	if t == nil && filter != nil {
		t = gv.pick(g, p.clk.Now(), nil)
	}
	if t != nil && sticky {
		g.sourceIP.Store(client, t.key)
	}
	return t
}

// chooseZone picks the zone whose node takes a new connection, or "" if
// no enabled zone has a healthy target (then every target is a candidate,
// failing open).
func (s *tcpServer) chooseZone(gv *groupView, lb *lbInfo) string {
	zones := lb.cfg.Zones
	n := len(zones)
	start := int(lb.zoneCounter.Add(1) % uint64(n))
	for i := range n {
		z := zones[(start+i)%n]
		for _, t := range gv.serving {
			if (t.zone == z || t.zone == "all") && (t.healthy.Load() || !gv.cfg.HealthCheck.Enabled) {
				return z
			}
		}
	}
	return ""
}
