package balancer

import (
	"crypto/tls"
	"net"
	"net/http"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nephele-dev/nephele/internal/clock"
)

// counters accumulate one load balancer's (or one of its target groups')
// figures between two Collect calls. Every field is atomic, so the request
// path counts without a lock.
type counters struct {
	requests                     atomic.Int64
	t2xx, t3xx, t4xx, t5xx       atomic.Int64
	e4xx, e5xx, e502, e503, e504 atomic.Int64
	rtSum                        atomic.Int64
	active                       atomic.Int64 // not reset
	newConns                     atomic.Int64
	bytes                        atomic.Int64
	redirects, fixed             atomic.Int64
}

func (c *counters) countTarget(code int) {
	switch code / 100 {
	case 2:
		c.t2xx.Add(1)
	case 3:
		c.t3xx.Add(1)
	case 4:
		c.t4xx.Add(1)
	case 5:
		c.t5xx.Add(1)
	}
}

func (c *counters) countELB(code int) {
	switch code / 100 {
	case 4:
		c.e4xx.Add(1)
	case 5:
		c.e5xx.Add(1)
	}
	switch code {
	case 502:
		c.e502.Add(1)
	case 503:
		c.e503.Add(1)
	case 504:
		c.e504.Add(1)
	}
}

// take returns the counters as Stats and resets them.
func (c *counters) take(lbARN, tgARN string) Stats {
	return Stats{
		LoadBalancerARN:        lbARN,
		TargetGroupARN:         tgARN,
		RequestCount:           c.requests.Swap(0),
		HTTPCodeTarget2XX:      c.t2xx.Swap(0),
		HTTPCodeTarget3XX:      c.t3xx.Swap(0),
		HTTPCodeTarget4XX:      c.t4xx.Swap(0),
		HTTPCodeTarget5XX:      c.t5xx.Swap(0),
		HTTPCodeELB4XX:         c.e4xx.Swap(0),
		HTTPCodeELB5XX:         c.e5xx.Swap(0),
		HTTPCodeELB502:         c.e502.Swap(0),
		HTTPCodeELB503:         c.e503.Swap(0),
		HTTPCodeELB504:         c.e504.Swap(0),
		TargetResponseTimeSum:  time.Duration(c.rtSum.Swap(0)),
		ActiveConnectionCount:  c.active.Load(),
		NewConnectionCount:     c.newConns.Swap(0),
		ProcessedBytes:         c.bytes.Swap(0),
		HTTPRedirectCount:      c.redirects.Swap(0),
		HTTPFixedResponseCount: c.fixed.Swap(0),
	}
}

// Collect returns and resets the counters accumulated since the last call:
// one Stats per load balancer, then one per (load balancer, target group)
// for every group its listeners forward to, with the current healthy and
// unhealthy host counts.
func (p *Plane) Collect() []Stats {
	p.mu.Lock()
	type pair struct {
		lb   *loadBalancer
		arns []string
	}
	var lbs []pair
	for _, lb := range p.lbs {
		if lb.info == nil {
			continue
		}
		seen := map[string]bool{}
		var arns []string
		for _, l := range lb.info.cfg.Listeners {
			for _, r := range l.Rules {
				for _, a := range r.Actions {
					for _, w := range a.Forward {
						if !seen[w.TargetGroupARN] {
							seen[w.TargetGroupARN] = true
							arns = append(arns, w.TargetGroupARN)
						}
					}
				}
			}
		}
		sort.Strings(arns)
		lbs = append(lbs, pair{lb, arns})
	}
	p.mu.Unlock()
	sort.Slice(lbs, func(i, j int) bool { return lbs[i].lb.arn < lbs[j].lb.arn })

	var out []Stats
	for _, e := range lbs {
		out = append(out, e.lb.stats.take(e.lb.arn, ""))
		for _, arn := range e.arns {
			s := e.lb.info.groupStats(arn).take(e.lb.arn, arn)
			if g := p.lookupGroup(arn); g != nil {
				s.HealthyHostCount, s.UnHealthyHostCount = g.hostCounts()
			}
			out = append(out, s)
		}
	}
	return out
}

// countingListener counts a listener's connections and bytes for its load
// balancer. For HTTP listeners (idle set) it also closes client
// connections that stay idle for the LB's idle timeout, as ELB does.
type countingListener struct {
	net.Listener
	l    *listener
	idle bool
}

func (cl *countingListener) Accept() (net.Conn, error) {
	c, err := cl.Listener.Accept()
	if err != nil {
		return nil, err
	}
	var st *counters
	var timeout time.Duration
	if v := cl.l.view.Load(); v != nil {
		st = v.lb.stats
		timeout = v.lb.cfg.IdleTimeout
	} else {
		st = &counters{}
	}
	st.newConns.Add(1)
	st.active.Add(1)
	cc := &countingConn{Conn: c, st: st}
	if cl.idle && timeout > 0 {
		cc.idle = timeout
		cc.mu.Lock()
		cc.timer = cl.l.p.clk.AfterFunc(timeout, cc.checkIdle)
		cc.mu.Unlock()
	}
	return cc, nil
}

// countingConn adds what passes through a client connection to
// ProcessedBytes and keeps ActiveConnectionCount.
type countingConn struct {
	net.Conn
	st   *counters
	once sync.Once

	// Idle-timeout bookkeeping (HTTP listeners): moved counts reads and
	// writes, busy is set while a request is being served.
	idle  time.Duration
	moved atomic.Uint64
	busy  atomic.Bool
	mu    sync.Mutex
	timer clock.Timer
	seen  uint64
	done  bool
}

func (c *countingConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	if n > 0 {
		c.st.bytes.Add(int64(n))
		c.moved.Add(1)
	}
	return n, err
}

func (c *countingConn) Write(b []byte) (int, error) {
	n, err := c.Conn.Write(b)
	if n > 0 {
		c.st.bytes.Add(int64(n))
		c.moved.Add(1)
	}
	return n, err
}

// checkIdle closes the connection if nothing moved on it for a whole idle
// period while no request was in progress (a request waiting on its target
// is the proxy's idle watch's business: it ends in a 504).
func (c *countingConn) checkIdle() {
	c.mu.Lock()
	if c.done {
		c.mu.Unlock()
		return
	}
	if m := c.moved.Load(); m != c.seen || c.busy.Load() {
		c.seen = m
		c.timer.Reset(c.idle)
		c.mu.Unlock()
		return
	}
	c.mu.Unlock()
	c.Close()
}

// setBusy records the HTTP server's view of the connection.
func (c *countingConn) setBusy(state http.ConnState) {
	switch state {
	case http.StateActive:
		c.busy.Store(true)
	case http.StateIdle:
		c.busy.Store(false)
	case http.StateHijacked, http.StateClosed:
		c.stopIdle()
	}
}

func (c *countingConn) stopIdle() {
	c.mu.Lock()
	c.done = true
	if c.timer != nil {
		c.timer.Stop()
	}
	c.mu.Unlock()
}

func (c *countingConn) Close() error {
	c.once.Do(func() {
		c.st.active.Add(-1)
		c.stopIdle()
	})
	return c.Conn.Close()
}

// connStateHook hands the HTTP server's connection states to the
// countingConn underneath (inside TLS for HTTPS).
func connStateHook(c net.Conn, state http.ConnState) {
	if tc, ok := c.(*tls.Conn); ok {
		c = tc.NetConn()
	}
	if hc, ok := c.(*handoffConn); ok {
		c = hc.countingConn
	}
	if cc, ok := c.(*countingConn); ok {
		cc.setBusy(state)
	}
}

// CloseWrite half-closes a TCP client connection, for the NLB proxy.
func (c *countingConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

// bufPool lends the reverse proxy its copy buffers.
type bufPool struct{}

var copyBufs = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}

func (bufPool) Get() []byte  { return *(copyBufs.Get().(*[]byte)) }
func (bufPool) Put(b []byte) { copyBufs.Put(&b) }
