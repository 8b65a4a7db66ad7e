package balancer

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nephele-dev/nephele/internal/clock"
)

// Plane is the data plane: every open listener, every target group's
// targets and health checkers, and the request counters.
//
// Configuration changes take mu; the request path never does. It reads
// immutable snapshots (listener views, group views, the group table) through
// atomic pointers that the configuration methods replace.
type Plane struct {
	clk clock.Clock
	log *slog.Logger

	ctx    context.Context // ends on Close; parent of every health loop and proxied flow
	cancel context.CancelFunc
	wg     sync.WaitGroup // every goroutine the Plane starts

	// groupTable maps target group ARN to group, replaced copy-on-write.
	groupTable atomic.Pointer[map[string]*group]

	mu     sync.Mutex
	closed bool
	groups map[string]*group
	lbs    map[string]*loadBalancer
	certs  map[string]*tls.Certificate // self-signed, by DNS name

	// onRound, when set by a test, is called after each health-check
	// round of a group, so tests wait for the round instead of polling.
	onRound func(targetGroupARN string)
}

// New returns a running Plane.
func New(opts Options) *Plane {
	clk := opts.Clock
	if clk == nil {
		clk = clock.Real()
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(context.Background())
	p := &Plane{
		clk:    clk,
		log:    log,
		ctx:    ctx,
		cancel: cancel,
		groups: map[string]*group{},
		lbs:    map[string]*loadBalancer{},
		certs:  map[string]*tls.Certificate{},
	}
	empty := map[string]*group{}
	p.groupTable.Store(&empty)
	return p
}

// Close closes every listener, stops health checks and waits for every
// goroutine the Plane started.
func (p *Plane) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	lbs := p.lbs
	groups := p.groups
	p.lbs = map[string]*loadBalancer{}
	p.groups = map[string]*group{}
	p.mu.Unlock()

	for _, lb := range lbs {
		for _, l := range lb.listeners {
			l.close()
		}
	}
	p.cancel()
	for _, g := range groups {
		g.stop()
	}
	p.wg.Wait()
	for _, g := range groups {
		g.transport.CloseIdleConnections()
	}
	return nil
}

// go runs f on a goroutine that Close waits for.
func (p *Plane) goTracked(f func()) {
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		f()
	}()
}

// lookupGroup finds a target group on the request path.
func (p *Plane) lookupGroup(arn string) *group {
	return (*p.groupTable.Load())[arn]
}

// publishGroupsLocked republishes the group table for the request path.
func (p *Plane) publishGroupsLocked() {
	m := make(map[string]*group, len(p.groups))
	for k, v := range p.groups {
		m[k] = v
	}
	p.groupTable.Store(&m)
}

// SetTargetGroup creates or replaces the desired state of a target group.
// Targets that disappear from tg.Targets start draining for
// tg.DeregistrationDelay (no new requests, in-flight ones finish), then are
// forgotten. New targets start in "initial".
func (p *Plane) SetTargetGroup(tg TargetGroup) {
	tg = withGroupDefaults(tg)
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return
	}
	g := p.groups[tg.ARN]
	if g == nil {
		g = newGroup(p, tg)
		p.groups[tg.ARN] = g
		p.publishGroupsLocked()
	}
	g.setLocked(tg)
	p.refreshUseLocked()
}

// RemoveTargetGroup forgets a target group and stops its health checks;
// requests in flight to its targets are cut off, as when a target group is
// deleted.
func (p *Plane) RemoveTargetGroup(arn string) {
	p.mu.Lock()
	g := p.groups[arn]
	if g == nil {
		p.mu.Unlock()
		return
	}
	delete(p.groups, arn)
	p.publishGroupsLocked()
	p.mu.Unlock()
	g.stop()
	g.transport.CloseIdleConnections()
	g.transport.cutBusy()
}

// SetLoadBalancer creates or replaces a load balancer's listeners. It opens
// every listener not yet open and closes those gone, and returns, per
// listener ARN, the address it really listens on ("IP:port"). It tries
// lb.IP:listener.Port first; if that cannot be bound it binds lb.IP:0 and
// reports that port. An error means nothing changed.
func (p *Plane) SetLoadBalancer(lb LoadBalancer) (map[string]string, error) {
	if lb.IdleTimeout <= 0 {
		lb.IdleTimeout = 60 * time.Second
	}
	if lb.Type == "application" {
		lb.CrossZone = true
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil, fmt.Errorf("balancer: closed")
	}
	cur := p.lbs[lb.ARN]
	if cur == nil {
		cur = &loadBalancer{arn: lb.ARN, stats: &counters{}, listeners: map[string]*listener{}}
	}
	info := &lbInfo{cfg: lb, stats: cur.stats, tgStats: cur.tgStatsMap(), zoneCounter: cur.zoneRR()}

	// Open what is new first, so that a failure leaves everything as it was.
	opened := map[string]*listener{}
	fail := func(err error) (map[string]string, error) {
		for _, l := range opened {
			l.close()
		}
		return nil, err
	}
	for _, lc := range lb.Listeners {
		if old := cur.listeners[lc.ARN]; old != nil && old.reusable(lb, lc) {
			continue
		}
		l, err := p.openListener(lb, lc)
		if err != nil {
			return fail(fmt.Errorf("listener %s: %w", lc.ARN, err))
		}
		opened[lc.ARN] = l
	}
	addrs := map[string]string{}
	keep := map[string]*listener{}
	views := map[*listener]*listenerView{}
	info.portMap = map[int]int{}
	for _, lc := range lb.Listeners {
		l := opened[lc.ARN]
		if l == nil {
			l = cur.listeners[lc.ARN]
		}
		cert, err := p.certificateLocked(lc)
		if err != nil {
			return fail(err)
		}
		_, port, _ := net.SplitHostPort(l.addr)
		real, _ := strconv.Atoi(port)
		info.portMap[lc.Port] = real
		proto := "http"
		if lc.Protocol == "HTTPS" {
			proto = "https"
		}
		views[l] = &listenerView{lb: info, cfg: lc, cert: cert, realPort: real, proto: proto, portText: strconv.Itoa(real)}
		keep[lc.ARN] = l
		addrs[lc.ARN] = l.addr
	}
	for l, v := range views {
		l.view.Store(v)
	}
	for arn, l := range cur.listeners {
		if keep[arn] != l {
			l.close()
		}
	}
	for _, l := range opened {
		l.start()
	}
	cur.listeners = keep
	cur.info = info
	p.lbs[lb.ARN] = cur
	p.refreshUseLocked()
	return addrs, nil
}

// RemoveLoadBalancer closes every listener of a load balancer.
func (p *Plane) RemoveLoadBalancer(arn string) {
	p.mu.Lock()
	lb := p.lbs[arn]
	delete(p.lbs, arn)
	if lb != nil {
		p.refreshUseLocked()
	}
	p.mu.Unlock()
	if lb == nil {
		return
	}
	for _, l := range lb.listeners {
		l.close()
	}
}

// refreshUseLocked marks which target groups some listener forwards to:
// only those are health-checked, the others report Target.NotInUse.
func (p *Plane) refreshUseLocked() {
	used := map[string]bool{}
	for _, lb := range p.lbs {
		if lb.info == nil {
			continue
		}
		for _, l := range lb.info.cfg.Listeners {
			for _, r := range l.Rules {
				for _, a := range r.Actions {
					for _, w := range a.Forward {
						used[w.TargetGroupARN] = true
					}
				}
			}
		}
	}
	for arn, g := range p.groups {
		g.setInUseLocked(used[arn])
	}
}

// TargetHealth reports each target of a target group as
// DescribeTargetHealth does: registered targets in registration order,
// then draining ones.
func (p *Plane) TargetHealth(targetGroupARN string) []TargetHealth {
	p.mu.Lock()
	g := p.groups[targetGroupARN]
	p.mu.Unlock()
	if g == nil {
		return nil
	}
	return g.health()
}

// loadBalancer is one load balancer's open listeners and counters.
type loadBalancer struct {
	arn       string
	info      *lbInfo
	stats     *counters
	listeners map[string]*listener
}

func (lb *loadBalancer) tgStatsMap() *sync.Map {
	if lb.info != nil {
		return lb.info.tgStats
	}
	return &sync.Map{}
}

func (lb *loadBalancer) zoneRR() *atomic.Uint64 {
	if lb.info != nil {
		return lb.info.zoneCounter
	}
	return &atomic.Uint64{}
}

// lbInfo is the immutable view of a load balancer that listeners read on
// the request path.
type lbInfo struct {
	cfg         LoadBalancer
	stats       *counters
	tgStats     *sync.Map // target group ARN -> *counters
	zoneCounter *atomic.Uint64
	// portMap maps each listener's configured port to the port it really
	// listens on, so redirects to another listener of the LB work.
	portMap map[int]int
}

func (i *lbInfo) groupStats(arn string) *counters {
	if c, ok := i.tgStats.Load(arn); ok {
		return c.(*counters)
	}
	c, _ := i.tgStats.LoadOrStore(arn, &counters{})
	return c.(*counters)
}

// listenerView is the immutable configuration one listener serves with.
type listenerView struct {
	lb   *lbInfo
	cfg  Listener
	cert *tls.Certificate
	// realPort is the port clients really connect to: X-Forwarded-Port and
	// redirects' #{port} report it, as they report the listener port on AWS.
	realPort int
	// proto and portText are X-Forwarded-Proto and X-Forwarded-Port,
	// rendered once.
	proto, portText string
}

// listener is one open socket and what serves it.
type listener struct {
	p     *Plane
	proto string
	port  int // the port asked for, which addr may differ from
	addr  string
	ln    net.Listener
	view  atomic.Pointer[listenerView]

	srv *http.Server // HTTP and HTTPS
	tcp *tcpServer   // TCP and TLS
	udp *udpServer   // UDP and TCP_UDP

	// HTTP: the connection loop's connections (conn.go), and where it
	// hands those it does not serve to srv.
	handoff     *handoffListener
	connsMu     sync.Mutex
	conns       map[*albConn]struct{}
	connsClosed bool

	// ctx ends when the listener closes; every request it serves derives
	// from it, so even hijacked (WebSocket) streams end with it.
	ctx    context.Context
	cancel context.CancelFunc

	closeOnce sync.Once
}

func (l *listener) reusable(lb LoadBalancer, lc Listener) bool {
	return l.proto == lc.Protocol && l.port == lc.Port && l.addr != "" && sameHost(l.addr, lb.IP)
}

func sameHost(addr, ip string) bool {
	h, _, err := net.SplitHostPort(addr)
	return err == nil && h == ip
}

// openListener binds lb.IP:port, or lb.IP:0 if that port cannot be had.
func (p *Plane) openListener(lb LoadBalancer, lc Listener) (*listener, error) {
	l := &listener{p: p, proto: lc.Protocol, port: lc.Port}
	switch lc.Protocol {
	case "UDP", "TCP_UDP":
		u, err := listenUDP(p, l, lb.IP, lc.Port)
		if err != nil {
			return nil, err
		}
		l.udp = u
		l.addr = u.pc.LocalAddr().String()
		if lc.Protocol == "UDP" {
			return l, nil
		}
		// TCP_UDP: the TCP side on the same port as the UDP side.
		_, port, _ := net.SplitHostPort(l.addr)
		ln, err := net.Listen("tcp", net.JoinHostPort(lb.IP, port))
		if err != nil {
			u.pc.Close()
			return nil, err
		}
		l.ln = ln
		return l, nil
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(lb.IP, strconv.Itoa(lc.Port)))
	if err != nil {
		ln, err = net.Listen("tcp", net.JoinHostPort(lb.IP, "0"))
		if err != nil {
			return nil, err
		}
	}
	l.ln = ln
	l.addr = ln.Addr().String()
	return l, nil
}

// start serves an opened listener.
func (l *listener) start() {
	p := l.p
	l.ctx, l.cancel = context.WithCancel(p.ctx)
	switch l.proto {
	case "HTTP", "HTTPS":
		cl := &countingListener{Listener: l.ln, l: l, idle: true}
		h := &albHandler{l: l}
		l.srv = &http.Server{
			Handler:           h,
			ReadHeaderTimeout: 60 * time.Second,
			ErrorLog:          slog.NewLogLogger(p.log.Handler(), slog.LevelDebug),
			BaseContext:       func(net.Listener) context.Context { return l.ctx },
			ConnState:         connStateHook,
		}
		if l.proto == "HTTPS" {
			l.srv.TLSConfig = &tls.Config{
				GetCertificate: l.getCertificate,
				NextProtos:     []string{"h2", "http/1.1"},
			}
			p.goTracked(func() { _ = l.srv.ServeTLS(cl, "", "") })
		} else {
			// Plain HTTP: the connection loop serves the common case and
			// hands the rest to srv.
			l.handoff = newHandoffListener(l.ln.Addr())
			l.conns = map[*albConn]struct{}{}
			p.goTracked(func() { _ = l.srv.Serve(l.handoff) })
			p.goTracked(func() { l.acceptLoop(cl) })
		}
	case "TCP", "TLS", "TCP_UDP":
		ln := net.Listener(&countingListener{Listener: l.ln, l: l})
		if l.proto == "TLS" {
			ln = tls.NewListener(ln, &tls.Config{GetCertificate: l.getCertificate})
		}
		l.tcp = newTCPServer(l, ln)
		p.goTracked(l.tcp.serve)
		if l.udp != nil {
			p.goTracked(l.udp.serve)
		}
	case "UDP":
		p.goTracked(l.udp.serve)
	default:
		// An unknown protocol still holds its port, so the address the
		// control plane reports is real; it serves nothing.
	}
}

func (l *listener) getCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	if v := l.view.Load(); v != nil && v.cert != nil {
		return v.cert, nil
	}
	return nil, fmt.Errorf("balancer: no certificate")
}

// close stops accepting and drops every connection of the listener, as
// deleting a listener does.
func (l *listener) close() {
	l.closeOnce.Do(func() {
		if l.cancel != nil {
			l.cancel()
		}
		switch {
		case l.srv != nil && l.handoff != nil:
			_ = l.ln.Close()
			_ = l.handoff.Close()
			_ = l.srv.Close()
			l.abortConns()
		case l.srv != nil:
			_ = l.srv.Close()
		case l.ln != nil:
			_ = l.ln.Close()
		}
		if l.tcp != nil {
			l.tcp.closeAll()
		}
		if l.udp != nil {
			l.udp.close()
		}
	})
}

// certificateLocked returns the listener's certificate, or a self-signed
// one for its DNS name, made once.
func (p *Plane) certificateLocked(lc Listener) (*tls.Certificate, error) {
	if lc.Protocol != "HTTPS" && lc.Protocol != "TLS" {
		return nil, nil
	}
	if lc.Certificate != nil {
		return lc.Certificate, nil
	}
	name := lc.DNSName
	if name == "" {
		name = "localhost"
	}
	if c := p.certs[name]; c != nil {
		return c, nil
	}
	c, err := selfSigned(name, p.clk.Now())
	if err != nil {
		return nil, err
	}
	p.certs[name] = c
	return c, nil
}

// newTransport is the pooled HTTP client side of one target group: many
// idle keep-alive connections per target, so a busy listener reuses them
// instead of dialing per request.
func newTransport(insecureTLS bool) *http.Transport {
	d := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
	return &http.Transport{
		DialContext:         d.DialContext,
		MaxIdleConns:        4096,
		MaxIdleConnsPerHost: 1024,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
		TLSClientConfig:     &tls.Config{InsecureSkipVerify: insecureTLS}, //nolint:gosec // ALB does not verify target certificates
		// ALB speaks HTTP/1.1 to targets unless the protocol version is HTTP2/gRPC.
		ForceAttemptHTTP2: false,
	}
}
