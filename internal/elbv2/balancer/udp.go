package balancer

import (
	"net"
	"net/netip"
	"strconv"
	"sync"
	"time"

	"github.com/nephele-dev/nephele/internal/clock"
)

// udpIdleTimeout is how long an NLB keeps a UDP flow without traffic.
const udpIdleTimeout = 120 * time.Second

// udpServer serves the UDP side of a UDP or TCP_UDP listener: datagrams of
// one client address form a flow sent to one target, and the target's
// replies go back from the listener's address.
type udpServer struct {
	l  *listener
	pc net.PacketConn

	mu     sync.Mutex
	flows  map[netip.AddrPort]*udpFlow
	closed bool
}

type udpFlow struct {
	up    *net.UDPConn
	t     *target
	timer clock.Timer
}

func listenUDP(p *Plane, l *listener, ip string, port int) (*udpServer, error) {
	pc, err := net.ListenPacket("udp", net.JoinHostPort(ip, strconv.Itoa(port)))
	if err != nil {
		pc, err = net.ListenPacket("udp", net.JoinHostPort(ip, "0"))
		if err != nil {
			return nil, err
		}
	}
	return &udpServer{l: l, pc: pc, flows: map[netip.AddrPort]*udpFlow{}}, nil
}

func (s *udpServer) serve() {
	buf := make([]byte, 64<<10)
	for {
		n, from, err := s.pc.ReadFrom(buf)
		if err != nil {
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				continue
			}
			return
		}
		ua, ok := from.(*net.UDPAddr)
		if !ok {
			continue
		}
		f := s.flow(ua.AddrPort())
		if f == nil {
			continue
		}
		if v := s.l.view.Load(); v != nil {
			v.lb.stats.bytes.Add(int64(n))
		}
		f.timer.Reset(udpIdleTimeout)
		_, _ = f.up.Write(buf[:n])
	}
}

// flow finds or opens the flow of a client address.
func (s *udpServer) flow(client netip.AddrPort) *udpFlow {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	if f := s.flows[client]; f != nil && f.t.ctx.Err() == nil {
		return f
	}
	p := s.l.p
	v := s.l.view.Load()
	if v == nil {
		return nil
	}
	a := nlbAction(v)
	if a == nil || len(a.Forward) == 0 {
		return nil
	}
	g := p.lookupGroup(a.Forward[0].TargetGroupARN)
	if g == nil {
		return nil
	}
	ts := &tcpServer{l: s.l}
	t := ts.pickTarget(g, g.view.Load(), v.lb, client.Addr())
	if t == nil {
		return nil
	}
	raddr, err := net.ResolveUDPAddr("udp", t.addr)
	if err != nil {
		return nil
	}
	up, err := net.DialUDP("udp", nil, raddr)
	if err != nil {
		return nil
	}
	v.lb.stats.newConns.Add(1)
	f := &udpFlow{up: up, t: t}
	f.timer = p.clk.AfterFunc(udpIdleTimeout, func() { s.end(client, f) })
	s.flows[client] = f
	p.goTracked(func() {
		buf := make([]byte, 64<<10)
		for {
			n, err := up.Read(buf)
			if err != nil {
				return
			}
			_, _ = s.pc.WriteTo(buf[:n], net.UDPAddrFromAddrPort(client))
		}
	})
	return f
}

func (s *udpServer) end(client netip.AddrPort, f *udpFlow) {
	s.mu.Lock()
	if s.flows[client] == f {
		delete(s.flows, client)
	}
	s.mu.Unlock()
	f.timer.Stop()
	f.up.Close()
}

func (s *udpServer) close() {
	s.mu.Lock()
	s.closed = true
	flows := s.flows
	s.flows = map[netip.AddrPort]*udpFlow{}
	s.mu.Unlock()
	_ = s.pc.Close()
	for _, f := range flows {
		f.timer.Stop()
		f.up.Close()
	}
}
