package balancer

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/netip"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nephele-dev/nephele/internal/clock"
)

// The ALB's connection loop. An HTTP listener serves each client
// connection with its own loop rather than net/http.Server: it reads a
// request head into a reusable buffer, parses it in place (head.go),
// evaluates the rules, and forwards the request to a pooled target
// connection, streaming the answer back, one request after another on the
// keep-alive connection. That saves what net/http's server spends per
// request (a Request, its URL and Header map, a response, a background
// read goroutine, a context) and lets a small answer go out in one write.
//
// Whatever the loop does not serve itself goes, with the bytes it has
// buffered, to the listener's net/http.Server through handoffListener, and
// is served from then on exactly as before: heads the loop's parser is
// unsure of, HTTP/1.0, Upgrade (WebSocket), Expect, chunked or large
// request bodies, heads that did not arrive whole in one read, and
// requests for Lambda or HTTPS target groups. HTTPS listeners (TLS,
// HTTP/2) are all net/http's.
//
// One difference: net/http notices a client that hangs up while its
// request waits on the target and cancels that request; the loop does not
// read the client connection while it waits, so such a request runs until
// the target answers or the idle timeout, and the answer is then dropped.

// albConn is one client connection served by the loop.
type albConn struct {
	l      *listener
	cc     *countingConn
	br     *bufio.Reader
	client netip.Addr
	h      reqHead
	rh     respHead
	extra  []byte // Set-Cookie lines the current response must carry
	head   []byte // the request head, when the body did not fit beside it
	x      cutter // of the request being forwarded
}

// clientReaders lend connections their read buffers; one stays with its
// connection while it lives.
var clientReaders = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, 4096) }}

// clientWriters lend a response its write buffer.
var clientWriters = sync.Pool{New: func() any { return bufio.NewWriterSize(nil, 4096) }}

// writer lends a response a write buffer onto the client connection;
// releaseWriter gives it back.
func (ac *albConn) writer() *bufio.Writer {
	bw := clientWriters.Get().(*bufio.Writer)
	bw.Reset(ac.cc)
	return bw
}

func releaseWriter(bw *bufio.Writer) {
	bw.Reset(nil)
	clientWriters.Put(bw)
}

// bodyBufs hold request bodies that do not fit beside their head.
var bodyBufs = sync.Pool{New: func() any { b := make([]byte, maxRetryBody); return &b }}

// acceptLoop accepts the listener's connections and serves each with the
// loop until the listener closes.
func (l *listener) acceptLoop(ln net.Listener) {
	backoff := time.Duration(0)
	for {
		c, err := ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) || l.ctx.Err() != nil {
				return
			}
			// Out of file descriptors and the like: wait a little, as
			// net/http's Serve does, rather than spin.
			backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
			if l.p.clk.Sleep(l.ctx, backoff) != nil {
				return
			}
			continue
		}
		backoff = 0
		cc := c.(*countingConn)
		l.p.goTracked(func() { l.serveConn(cc) })
	}
}

// serveConn runs the loop on one connection; it closes the connection at
// the end unless net/http took it over.
func (l *listener) serveConn(cc *countingConn) {
	br := clientReaders.Get().(*bufio.Reader)
	br.Reset(cc)
	ac := &albConn{l: l, cc: cc, br: br}
	ac.x.clk, ac.x.client, ac.x.done = l.p.clk, cc, true
	if a, ok := cc.RemoteAddr().(*net.TCPAddr); ok {
		ac.client = a.AddrPort().Addr()
	}
	if !l.track(ac) {
		cc.Close()
		return
	}
	defer func() {
		// As net/http's server: a bug met on one connection ends that
		// connection, not the process.
		if r := recover(); r != nil {
			l.untrack(ac)
			ac.x.stop()
			cc.Close()
			l.p.log.Error("balancer: panic serving a connection", "listener", l.addr, "panic", r, "stack", string(debug.Stack()))
		}
	}()
	handedOff := ac.serve()
	ac.x.stop()
	if handedOff {
		// Still tracked, so that closing the listener closes it even if
		// net/http's server took it just as it closed; its Close
		// untracks it.
		return
	}
	l.untrack(ac)
	cc.Close()
	br.Reset(nil)
	clientReaders.Put(br)
}

// track records a connection so that closing the listener ends it; false
// if the listener is closed already.
func (l *listener) track(ac *albConn) bool {
	l.connsMu.Lock()
	defer l.connsMu.Unlock()
	if l.connsClosed {
		return false
	}
	l.conns[ac] = struct{}{}
	return true
}

func (l *listener) untrack(ac *albConn) {
	l.connsMu.Lock()
	delete(l.conns, ac)
	l.connsMu.Unlock()
}

// abortConns ends every connection of the loop: closing the listener
// drops its connections, as deleting a listener does.
func (l *listener) abortConns() {
	l.connsMu.Lock()
	l.connsClosed = true
	conns := l.conns
	l.conns = nil
	l.connsMu.Unlock()
	for ac := range conns {
		ac.x.abort()
		ac.cc.Close()
	}
}

// serve reads and answers requests until the connection ends; true when
// it handed the connection to net/http.
func (ac *albConn) serve() (handedOff bool) {
	served := false
	for {
		if _, err := ac.br.Peek(1); err != nil {
			return false
		}
		v := ac.l.view.Load()
		buf, _ := ac.br.Peek(ac.br.Buffered())
		if served {
			// A client may end a body with a stray CRLF (RFC 9112 §2.2
			// asks a server to ignore an empty line before a request
			// line); net/http skips up to four such bytes, so do we.
			served = false
			if k := leadingCRLF(buf); k > 0 {
				ac.br.Discard(k)
				continue
			}
		}
		n, verdict := parseRequestHead(buf, &ac.h)
		switch verdict {
		case headIncomplete, headHandoff:
			// A head that did not come whole in one read (or one the
			// parser leaves to net/http) is net/http's, with its header
			// timeout; so is the rest of the connection.
			return ac.handoff()
		case headBad:
			v.lb.stats.countELB(http.StatusBadRequest)
			ac.extra = ac.extra[:0]
			ac.writePage(http.StatusBadRequest, "", true)
			return false
		}
		ac.cc.busy.Store(true)
		keep, handoff := ac.serveRequest(v, n)
		ac.cc.busy.Store(false)
		served = true
		if handoff {
			return ac.handoff()
		}
		if !keep {
			return false
		}
	}
}

// leadingCRLF counts the CR and LF bytes, up to four, that buf starts with.
func leadingCRLF(buf []byte) int {
	k := 0
	for k < len(buf) && k < 4 && (buf[k] == '\r' || buf[k] == '\n') {
		k++
	}
	return k
}

// handoff gives the connection, with what is buffered of it, to the
// listener's net/http.Server.
func (ac *albConn) handoff() bool {
	return ac.l.handoff.give(&handoffConn{countingConn: ac.cc, br: ac.br, ac: ac})
}

// serveRequest answers the request whose head (n bytes) ac.h holds; keep
// reports whether the connection goes on, handoff that net/http must
// serve this request (nothing of it has been consumed or counted).
func (ac *albConn) serveRequest(v *listenerView, n int) (keep, handoff bool) {
	h := &ac.h
	q := request{h: h, clientIP: ac.client}
	ac.extra = ac.extra[:0]
	lb := v.lb
	a := ruleAction(v, &q)
	if a != nil && a.Type == "forward" {
		return ac.forward(v, &q, a, n) // counts the request unless handed off
	}
	lb.stats.requests.Add(1)
	switch {
	case a == nil:
		return ac.elbError(v, http.StatusServiceUnavailable, n), false
	case a.Type == "redirect":
		lb.stats.redirects.Add(1)
		loc := redirectURLOf(a.Redirect, q.hostName(), q.escapedPath(), q.rawQuery(), v.cfg.Protocol, v.realPort, lb.portMap)
		return ac.writePage(redirectCode(a.Redirect), loc, h.close) && ac.skipBody(n), false
	case a.Type == "fixed-response":
		lb.stats.fixed.Add(1)
		return ac.writeFixed(a.Fixed, h.close) && ac.skipBody(n), false
	default:
		return ac.elbError(v, http.StatusInternalServerError, n), false
	}
}

// skipBody consumes the request's head (n bytes) and body, after the
// answer (as net/http does, so a client that waits for it before sending
// its body is not stuck).
func (ac *albConn) skipBody(n int) bool {
	_, err := ac.br.Discard(n + int(ac.h.contentLength))
	return err == nil
}

// elbError answers with an error ELB makes itself, counted, and consumes
// the request.
func (ac *albConn) elbError(v *listenerView, code int, n int) bool {
	v.lb.stats.countELB(code)
	return ac.writePage(code, "", ac.h.close) && ac.skipBody(n)
}

// servedByNetHTTP reports whether requests for a group go to the
// listener's net/http server: Lambda targets and HTTPS targets.
func servedByNetHTTP(gv *groupView) bool {
	return gv.cfg.TargetType == "lambda" || gv.cfg.Protocol == "HTTPS"
}

// forward serves a forward action.
func (ac *albConn) forward(v *listenerView, q *request, a *Action, n int) (keep, handoff bool) {
	p := ac.l.p
	lb := v.lb
	if len(a.Forward) > 1 {
		// net/http chooses the group again: hand off before choosing, or
		// a weighted split that includes such a group would be skewed.
		for i := range a.Forward {
			if g := p.lookupGroup(a.Forward[i].TargetGroupARN); g != nil && servedByNetHTTP(g.view.Load()) {
				return false, true
			}
		}
	}
	wg, setTG := chooseGroup(q, a)
	var g *group
	var gv *groupView
	if wg != nil {
		if g = p.lookupGroup(wg.TargetGroupARN); g != nil {
			gv = g.view.Load()
			if servedByNetHTTP(gv) {
				return false, true
			}
		}
	}
	lb.stats.requests.Add(1)
	if setTG {
		ac.extra = appendGroupCookies(ac.extra, p.clk.Now(), wg.TargetGroupARN, a.GroupStickiness)
	}
	if g == nil {
		return ac.elbError(v, http.StatusServiceUnavailable, n), false
	}
	tgStats := lb.groupStats(g.arn)
	tgStats.requests.Add(1)
	start := p.clk.Now()

	var t *target
	st := &gv.cfg.Stickiness
	if st.Enabled {
		name := "AWSALB"
		if st.Type == "app_cookie" {
			name = "AWSALBAPP-0"
		}
		if c, ok := q.cookie(name); ok {
			if k, ok := decodeSticky(c, g.arn); ok {
				if cand := gv.byKey[k]; gv.routable(cand) {
					t = cand
				}
			}
		}
	}
	if t == nil {
		t = gv.pick(g, start, nil)
	}
	if t == nil {
		return ac.elbError(v, http.StatusServiceUnavailable, n), false
	}
	t.inflight.Add(1)
	defer t.inflight.Add(-1)

	// The request's cutter: the idle timeout (on the clock), the target
	// leaving (the pool cuts the connections it has out to it) and the
	// listener closing end the request through it.
	x := &ac.x
	if !x.begin(start, lb.cfg.IdleTimeout) {
		return false, false // the listener is closing
	}
	defer x.finish()

	// The body, whole, before anything goes to the target, so that the
	// request can go again on a fresh connection if a pooled one is stale.
	h := &ac.h
	var body []byte
	consumed := n
	if cl := int(h.contentLength); cl > 0 {
		if n+cl <= ac.br.Size() {
			b, err := ac.br.Peek(n + cl)
			x.touch()
			if err != nil {
				return false, false // the client left or went idle
			}
			h.buf = b[:n]
			body = b[n:]
			consumed = n + cl
		} else {
			ac.head = append(ac.head[:0], h.buf[:n]...)
			h.buf = ac.head
			ac.br.Discard(n)
			consumed = 0
			bp := bodyBufs.Get().(*[]byte)
			defer bodyBufs.Put(bp)
			body = (*bp)[:cl]
			for got := 0; got < cl; {
				k, err := ac.br.Read(body[got:])
				x.touch()
				got += k
				if err != nil && got < cl {
					return false, false
				}
			}
		}
	}
	x.bodyRead()

	pc, err := ac.send(g, t, x, v, start, body)
	if err != nil {
		return ac.proxyError(v, x, t, err, consumed), false
	}
	x.touch()
	isHEAD := h.methodHEAD
	rn, verdict, err := ac.readHead(pc, x)
	if err != nil {
		x.detach()
		g.transport.checkin(pc, false, nil)
		return ac.proxyError(v, x, t, err, consumed), false
	}
	clientClose := h.close
	var ok, reuse bool
	if verdict == headOK {
		ok, reuse = ac.relay(v, g, gv, t, tgStats, pc, rn, isHEAD, clientClose, start, x)
	} else {
		ok, reuse, err = ac.relaySlow(v, g, gv, t, tgStats, pc, isHEAD, clientClose, start, x)
		if err != nil {
			x.detach()
			g.transport.checkin(pc, false, nil)
			return ac.proxyError(v, x, t, err, consumed), false
		}
	}
	g.transport.checkin(pc, x.detach() && reuse, t.ctx)
	if !ok {
		return false, false
	}
	if consumed > 0 {
		ac.br.Discard(consumed)
	}
	return !clientClose, false
}

// errCut is the error of a request cut short by its cutter (its cause
// tells why).
var errCut = errors.New("request cut")

// send writes the request on a pooled connection to t (a fresh one if the
// pooled one turns out closed before any answer, once) and waits for the
// first byte of the answer.
func (ac *albConn) send(g *group, t *target, x *cutter, v *listenerView, start time.Time, body []byte) (*poolConn, error) {
	fresh := false
	for attempt := 0; ; attempt++ {
		var pc *poolConn
		if !fresh {
			pc = g.transport.checkout(t.addr)
		}
		reused := pc != nil
		if pc == nil {
			var err error
			if pc, err = ac.dial(g, t, x); err != nil {
				return nil, err
			}
		}
		if !x.attach(pc) {
			g.transport.checkin(pc, false, nil)
			return nil, errCut
		}
		if pc.br.Buffered() > 0 {
			// Bytes nobody asked for: the connection is out of step.
			x.detach()
			g.transport.checkin(pc, false, nil)
			fresh = true
			continue
		}
		writeTargetHead(pc.bw, &ac.h, v, ac.client, start, len(body))
		pc.bw.Write(body)
		err := pc.flushAndWait()
		if err == nil {
			_, err = pc.br.Peek(1)
		}
		if err == nil {
			return pc, nil
		}
		x.detach()
		g.transport.checkin(pc, false, nil)
		if reused && attempt == 0 && !x.isCut() {
			fresh = true // other pooled connections may be just as stale
			continue
		}
		return nil, err
	}
}

// dial opens a new connection to t; the cutter can abort it.
func (ac *albConn) dial(g *group, t *target, x *cutter) (*poolConn, error) {
	ctx, cancel := context.WithCancel(t.ctx)
	defer cancel()
	if !x.setDial(cancel) {
		return nil, errCut
	}
	defer x.setDial(nil)
	pc, err := g.transport.dial(ctx, t.addr)
	if err != nil {
		return nil, err
	}
	if !g.transport.track(pc, t.addr, t.ctx) {
		pc.c.Close()
		return nil, errTargetGone
	}
	return pc, nil
}

// max1xx is how many informational answers a request may get before the
// target counts as misbehaving (net/http's Transport allows as many), so
// that a stream of them cannot hold a request open forever.
const max1xx = 5

var errTooMany1xx = errors.New("too many informational responses from the target")

// readHead reads the target's response head: headOK with its length when
// ac.rh holds it, headHandoff when net/http's response reader must read
// it. Informational answers other than 101 are skipped, as net/http does.
func (ac *albConn) readHead(pc *poolConn, x *cutter) (int, int, error) {
	informational := 0
	for {
		if pc.br.Buffered() == 0 {
			if _, err := pc.br.Peek(1); err != nil {
				return 0, 0, err
			}
			x.touch()
		}
		buf, _ := pc.br.Peek(pc.br.Buffered())
		n, verdict := parseResponseHead(buf, &ac.rh)
		switch verdict {
		case headOK:
			if s := ac.rh.status; s >= 100 && s < 200 && s != http.StatusSwitchingProtocols {
				if informational++; informational > max1xx {
					return 0, 0, errTooMany1xx
				}
				pc.br.Discard(n)
				continue
			}
			return n, headOK, nil
		case headIncomplete:
			if pc.br.Buffered() == pc.br.Size() {
				return 0, headHandoff, nil
			}
			if _, err := pc.br.Peek(pc.br.Buffered() + 1); err != nil {
				return 0, 0, err
			}
			x.touch()
		default:
			return 0, headHandoff, nil
		}
	}
}

// proxyError answers a request whose target failed, as ALB does: 504 when
// the target stayed silent for the idle timeout or could not be reached in
// time, nothing when the listener is closing, else 502 (a target that
// left mid-request too).
func (ac *albConn) proxyError(v *listenerView, x *cutter, t *target, err error, consumed int) bool {
	code := http.StatusBadGateway
	var ne net.Error
	switch cause := x.cause(); {
	case cause == errIdleTimeout:
		code = http.StatusGatewayTimeout
	case cause != nil:
		return false // the listener is closing
	case t.ctx.Err() != nil:
		// The target was forgotten: the pool cut its connections.
	case errors.As(err, &ne) && ne.Timeout():
		// No connection within ELB's 10 s connect timeout.
		code = http.StatusGatewayTimeout
	}
	v.lb.stats.countELB(code)
	if consumed > 0 {
		if _, err := ac.br.Discard(consumed); err != nil {
			return false
		}
	}
	return ac.writePage(code, "", ac.h.close)
}

// countResponse is what the ALB does with a target's answer before the
// client sees it: it is counted (before the client sees it, so that a
// Collect right after includes it).
func countResponse(v *listenerView, tgStats *counters, clk clock.Clock, start time.Time, code int) {
	tgStats.countTarget(code)
	v.lb.stats.countTarget(code)
	rt := int64(clk.Since(start))
	tgStats.rtSum.Add(rt)
	v.lb.stats.rtSum.Add(rt)
}

// stickyLines appends the stickiness cookies the response must set:
// AWSALB and AWSALBCORS for lb_cookie, AWSALBAPP-0 when the target sets
// the application cookie (setsApp tells whether it did).
func stickyLines(dst []byte, now time.Time, g *group, gv *groupView, t *target, setsApp func(name string) bool) []byte {
	st := &gv.cfg.Stickiness
	if !st.Enabled {
		return dst
	}
	switch {
	case st.Type == "lb_cookie":
		val := encodeSticky(g.arn, t.key)
		exp := now.Add(st.Duration)
		dst = appendSetCookie(dst, stickyCookie("AWSALB", val, exp, false))
		dst = appendSetCookie(dst, stickyCookie("AWSALBCORS", val, exp, true))
	case st.Type == "app_cookie" && st.CookieName != "" && setsApp(st.CookieName):
		val := encodeSticky(g.arn, t.key)
		dst = appendSetCookie(dst, stickyCookie("AWSALBAPP-0", val, now.Add(st.Duration), false))
	}
	return dst
}

func appendSetCookie(dst []byte, c string) []byte {
	dst = append(dst, "Set-Cookie: "...)
	dst = append(dst, c...)
	return append(dst, "\r\n"...)
}

// appendGroupCookies appends the AWSALBTG cookies of group stickiness.
func appendGroupCookies(dst []byte, now time.Time, arn string, d time.Duration) []byte {
	exp := now.Add(d)
	val := groupCookie(arn)
	dst = appendSetCookie(dst, stickyCookie("AWSALBTG", val, exp, false))
	return appendSetCookie(dst, stickyCookie("AWSALBTGCORS", val, exp, true))
}

// relay sends the target's answer, whose head (n bytes) ac.rh holds, to
// the client. ok reports whether the client connection may go on, reuse
// whether the target connection may.
func (ac *albConn) relay(v *listenerView, g *group, gv *groupView, t *target, tgStats *counters,
	pc *poolConn, n int, isHEAD, clientClose bool, start time.Time, x *cutter) (ok, reuse bool) {
	p := ac.l.p
	rh := &ac.rh
	if rh.status == http.StatusSwitchingProtocols {
		// Nobody asked this target to switch protocols.
		v.lb.stats.countELB(http.StatusBadGateway)
		pc.br.Discard(n)
		return ac.writePage(http.StatusBadGateway, "", clientClose), false
	}
	countResponse(v, tgStats, p.clk, start, rh.status)
	var now time.Time
	if gv.cfg.Stickiness.Enabled || !rh.hasDate {
		now = p.clk.Now()
	}
	ac.extra = stickyLines(ac.extra, now, g, gv, t, rh.setsCookie)

	noBody := isHEAD || rh.status == http.StatusNoContent || rh.status == http.StatusNotModified
	untilClose := !noBody && !rh.chunked && rh.contentLength < 0
	bw := ac.writer()
	defer releaseWriter(bw)
	writeStatusLine(bw, rh.status)
	b := rh.buf
	for i := range rh.fields {
		f := &rh.fields[i]
		switch f.kind {
		case fieldConnection, fieldProxyConnection, fieldKeepAlive, fieldProxyAuthenticate,
			fieldProxyAuthorization, fieldTE, fieldUpgrade, fieldTransferEncoding:
			continue
		case fieldTrailer:
			if !rh.chunked || noBody {
				continue
			}
		}
		if len(rh.connTokens) > 0 && rh.namedByConnection(f) {
			continue
		}
		bw.Write(f.name.of(b))
		bw.WriteString(": ")
		bw.Write(f.value.of(b))
		bw.WriteString("\r\n")
	}
	if !noBody && (rh.chunked || untilClose) {
		bw.WriteString("Transfer-Encoding: chunked\r\n")
	}
	bw.Write(ac.extra)
	if !rh.hasDate {
		writeDate(bw, now)
	}
	if clientClose {
		bw.WriteString("Connection: close\r\n")
	}
	bw.WriteString("\r\n")
	pc.br.Discard(n)

	var err error
	switch {
	case noBody:
	case rh.chunked:
		err = relayChunked(bw, pc, x)
	case untilClose:
		err = relayUntilClose(bw, pc, x)
	default:
		err = relayN(bw, pc, rh.contentLength, x)
	}
	if err != nil {
		// The answer broke off: the client must not take it as whole.
		return false, false
	}
	if bw.Flush() != nil {
		return false, false
	}
	return true, !rh.close && !untilClose
}

// setsCookie reports whether the response sets a cookie of that name.
func (h *respHead) setsCookie(name string) bool {
	for i := range h.fields {
		f := &h.fields[i]
		if f.kind != fieldSetCookie {
			continue
		}
		v := f.value.of(h.buf)
		k, _, ok := cutByte(v, '=')
		if ok && string(trimBlanks(k)) == name {
			return true
		}
	}
	return false
}

func cutByte(b []byte, c byte) ([]byte, []byte, bool) {
	for i := range b {
		if b[i] == c {
			return b[:i], b[i+1:], true
		}
	}
	return b, nil, false
}

func trimBlanks(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t') {
		b = b[:len(b)-1]
	}
	return b
}

// waitTarget flushes what the client is owed and waits for more of the
// target's answer, for when nothing of it is buffered.
func waitTarget(bw *bufio.Writer, pc *poolConn, x *cutter) error {
	if err := bw.Flush(); err != nil {
		return err
	}
	_, err := pc.br.Peek(1)
	x.touch()
	return err
}

// relayN copies n bytes of body from the target to the client.
func relayN(bw *bufio.Writer, pc *poolConn, n int64, x *cutter) error {
	for n > 0 {
		if pc.br.Buffered() == 0 {
			if n >= int64(pc.br.Size()) {
				// A large body: straight from socket to socket, in
				// large pieces.
				if err := bw.Flush(); err != nil {
					return err
				}
				buf := bufPool{}.Get()
				k, err := pc.br.Read(buf[:min(int64(len(buf)), n)])
				x.touch()
				if k > 0 {
					n -= int64(k)
					if _, werr := bw.Write(buf[:k]); werr != nil {
						bufPool{}.Put(buf)
						return werr
					}
				}
				bufPool{}.Put(buf)
				if err != nil && n > 0 {
					return err
				}
				continue
			}
			if err := waitTarget(bw, pc, x); err != nil {
				return err
			}
		}
		k := min(int64(pc.br.Buffered()), n)
		b, _ := pc.br.Peek(int(k))
		if _, err := bw.Write(b); err != nil {
			return err
		}
		pc.br.Discard(int(k))
		n -= k
	}
	return nil
}

// errBadChunk is a target's chunked body that does not parse.
var errBadChunk = errors.New("malformed chunked encoding")

// targetLine reads one line of the target's answer (chunk sizes,
// trailers), flushing the client first if it has to wait for it.
func targetLine(bw *bufio.Writer, pc *poolConn, x *cutter) ([]byte, error) {
	buf, _ := pc.br.Peek(pc.br.Buffered())
	if _, _, ok := cutByte(buf, '\n'); !ok {
		if err := bw.Flush(); err != nil {
			return nil, err
		}
	}
	line, err := pc.br.ReadSlice('\n')
	x.touch()
	if err == bufio.ErrBufferFull {
		return nil, errBadChunk
	}
	return line, err
}

// relayChunked copies a chunked body, chunk by chunk and its trailer,
// re-framing each chunk (net/http's chunked reader rules: extensions are
// dropped, the data must end in CRLF).
func relayChunked(bw *bufio.Writer, pc *poolConn, x *cutter) error {
	for {
		line, err := targetLine(bw, pc, x)
		if err != nil {
			return err
		}
		size, ok := parseChunkSize(line)
		if !ok {
			return errBadChunk
		}
		if size == 0 {
			bw.WriteString("0\r\n")
			for {
				line, err := targetLine(bw, pc, x)
				if err != nil {
					return err
				}
				l := trimCRLF(line)
				if len(l) == 0 {
					bw.WriteString("\r\n")
					return nil
				}
				if !validTrailerLine(l) {
					return errBadChunk
				}
				bw.Write(l)
				bw.WriteString("\r\n")
			}
		}
		bw.Write(strconv.AppendUint(bw.AvailableBuffer(), size, 16))
		bw.WriteString("\r\n")
		if err := relayN(bw, pc, int64(size), x); err != nil {
			return err
		}
		if pc.br.Buffered() < 2 {
			if err := bw.Flush(); err != nil {
				return err
			}
			_, err := pc.br.Peek(2)
			x.touch()
			if err != nil {
				return err
			}
		}
		crlf, _ := pc.br.Peek(2)
		if crlf[0] != '\r' || crlf[1] != '\n' {
			return errBadChunk
		}
		pc.br.Discard(2)
		bw.WriteString("\r\n")
	}
}

// parseChunkSize parses a chunk-size line as net/http does: hex digits,
// optional extensions after ';', blanks before the line end.
func parseChunkSize(line []byte) (uint64, bool) {
	l := trimCRLF(line)
	if k, _, ok := cutByte(l, ';'); ok {
		l = k
	}
	l = trimBlanks(l)
	if len(l) == 0 || len(l) > 16 {
		return 0, false
	}
	var n uint64
	for _, c := range l {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c -= 'a' - 10
		case 'A' <= c && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		n = n<<4 | uint64(c)
	}
	return n, n <= 1<<62
}

func trimCRLF(line []byte) []byte {
	if n := len(line); n > 0 && line[n-1] == '\n' {
		line = line[:n-1]
		if n := len(line); n > 0 && line[n-1] == '\r' {
			line = line[:n-1]
		}
	}
	return line
}

// validTrailerLine reports whether a trailer line is a header field
// net/textproto would read.
func validTrailerLine(l []byte) bool {
	k, v, ok := cutByte(l, ':')
	if !ok || len(k) == 0 {
		return false
	}
	for _, c := range k {
		if !isTokenByte(c) {
			return false
		}
	}
	for _, c := range v {
		if !validValueByte(c) {
			return false
		}
	}
	return true
}

// relayUntilClose copies a body that ends when the target closes the
// connection, as chunks, so the client connection can go on.
func relayUntilClose(bw *bufio.Writer, pc *poolConn, x *cutter) error {
	for {
		if pc.br.Buffered() == 0 {
			if err := waitTarget(bw, pc, x); err == io.EOF {
				bw.WriteString("0\r\n\r\n")
				return nil
			} else if err != nil {
				return err
			}
		}
		b, _ := pc.br.Peek(pc.br.Buffered())
		bw.Write(strconv.AppendUint(bw.AvailableBuffer(), uint64(len(b)), 16))
		bw.WriteString("\r\n")
		bw.Write(b)
		bw.WriteString("\r\n")
		pc.br.Discard(len(b))
	}
}

// relaySlow reads the target's answer with net/http's response reader
// (for heads the loop's parser leaves to it) and sends it to the client
// as the ReverseProxy would. err is set when no answer could be read.
func (ac *albConn) relaySlow(v *listenerView, g *group, gv *groupView, t *target, tgStats *counters,
	pc *poolConn, isHEAD, clientClose bool, start time.Time, x *cutter) (ok, reuse bool, err error) {
	p := ac.l.p
	method := http.MethodGet
	if isHEAD {
		method = http.MethodHead
	}
	var resp *http.Response
	for informational := 0; ; informational++ {
		if informational > max1xx {
			return false, false, errTooMany1xx
		}
		resp, err = http.ReadResponse(pc.br, &http.Request{Method: method})
		x.touch()
		if err != nil {
			return false, false, err
		}
		if resp.StatusCode < 100 || resp.StatusCode >= 200 || resp.StatusCode == http.StatusSwitchingProtocols {
			break
		}
	}
	if resp.StatusCode == http.StatusSwitchingProtocols {
		return false, false, errors.New("target switched protocols unasked")
	}
	removeHopByHop(resp.Header)
	countResponse(v, tgStats, p.clk, start, resp.StatusCode)
	now := p.clk.Now()
	ac.extra = stickyLines(ac.extra, now, g, gv, t, func(name string) bool {
		for _, c := range resp.Cookies() {
			if c.Name == name {
				return true
			}
		}
		return false
	})
	code := resp.StatusCode
	noBody := isHEAD || code == http.StatusNoContent || code == http.StatusNotModified
	chunked := !noBody && resp.ContentLength < 0
	bw := ac.writer()
	defer releaseWriter(bw)
	writeStatusLine(bw, code)
	hd := resp.Header
	if chunked {
		hd.Del("Content-Length")
	} else if !noBody && hd.Get("Content-Length") == "" {
		hd.Set("Content-Length", strconv.FormatInt(resp.ContentLength, 10))
	}
	writeHeaderLines(bw, hd)
	if chunked {
		bw.WriteString("Transfer-Encoding: chunked\r\n")
		first := true
		for k := range resp.Trailer {
			if !validHeaderName(k) {
				continue
			}
			if first {
				bw.WriteString("Trailer: ")
			} else {
				bw.WriteString(", ")
			}
			first = false
			bw.WriteString(k)
		}
		if !first {
			bw.WriteString("\r\n")
		}
	}
	bw.Write(ac.extra)
	if hd.Get("Date") == "" {
		writeDate(bw, now)
	}
	if clientClose {
		bw.WriteString("Connection: close\r\n")
	}
	bw.WriteString("\r\n")
	complete := true
	if !noBody {
		buf := bufPool{}.Get()
		for {
			k, rerr := resp.Body.Read(buf)
			x.touch()
			if k > 0 {
				if chunked {
					bw.Write(strconv.AppendUint(bw.AvailableBuffer(), uint64(k), 16))
					bw.WriteString("\r\n")
				}
				bw.Write(buf[:k])
				if chunked {
					bw.WriteString("\r\n")
				}
				if pc.br.Buffered() == 0 {
					bw.Flush()
				}
			}
			if rerr == io.EOF {
				break
			}
			if rerr != nil {
				complete = false
				break
			}
		}
		bufPool{}.Put(buf)
		if complete && chunked {
			bw.WriteString("0\r\n")
			writeHeaderLines(bw, resp.Trailer)
			bw.WriteString("\r\n")
		}
	}
	if !complete || bw.Flush() != nil {
		return false, false, nil
	}
	return true, !resp.Close, nil
}

// writeHeaderLines writes the header fields of h that are well formed, as
// net/http's Header.Write would: a name that is not a token (net/http's
// reader lets "Transfer-Encoding : chunked" through) is left out, and a CR
// or LF in a value becomes a space, so that a misbehaving target cannot
// make the client see other framing than the ALB used.
func writeHeaderLines(bw *bufio.Writer, h http.Header) {
	for k, vv := range h {
		if !validHeaderName(k) {
			continue
		}
		for _, val := range vv {
			bw.WriteString(k)
			bw.WriteString(": ")
			writeFieldValue(bw, val)
			bw.WriteString("\r\n")
		}
	}
}

// validHeaderName reports whether k is an RFC 9110 token.
func validHeaderName(k string) bool {
	if k == "" {
		return false
	}
	for i := 0; i < len(k); i++ {
		if !isTokenByte(k[i]) {
			return false
		}
	}
	return true
}

// writeFieldValue writes a header value with any CR or LF made a space.
func writeFieldValue(bw *bufio.Writer, v string) {
	for {
		i := strings.IndexAny(v, "\r\n")
		if i < 0 {
			bw.WriteString(v)
			return
		}
		bw.WriteString(v[:i])
		bw.WriteByte(' ')
		v = v[i+1:]
	}
}

// writeStatusLine writes a status line as net/http's server does: its own
// reason phrase, not the target's.
func writeStatusLine(bw *bufio.Writer, code int) {
	bw.WriteString("HTTP/1.1 ")
	bw.Write(strconv.AppendInt(bw.AvailableBuffer(), int64(code), 10))
	if text := http.StatusText(code); text != "" {
		bw.WriteByte(' ')
		bw.WriteString(text)
	} else {
		bw.WriteString(" status code ")
		bw.Write(strconv.AppendInt(bw.AvailableBuffer(), int64(code), 10))
	}
	bw.WriteString("\r\n")
}

// writeDate writes a Date header of now, as net/http's server adds one.
func writeDate(bw *bufio.Writer, now time.Time) {
	bw.WriteString("Date: ")
	bw.Write(now.UTC().AppendFormat(bw.AvailableBuffer(), http.TimeFormat))
	bw.WriteString("\r\n")
}

// writePage answers with an HTML page ELB makes itself (errors,
// redirects to location); keep reports whether the connection goes on.
func (ac *albConn) writePage(code int, location string, closing bool) bool {
	body := elbPage(code)
	bw := ac.writer()
	defer releaseWriter(bw)
	writeStatusLine(bw, code)
	bw.WriteString("Content-Length: ")
	bw.Write(strconv.AppendInt(bw.AvailableBuffer(), int64(len(body)), 10))
	bw.WriteString("\r\nContent-Type: text/html\r\n")
	writeDate(bw, ac.l.p.clk.Now())
	if location != "" {
		bw.WriteString("Location: ")
		writeFieldValue(bw, location) // the configured parts may hold anything
		bw.WriteString("\r\n")
	}
	bw.WriteString("Server: awselb/2.0\r\n")
	bw.Write(ac.extra)
	if closing {
		bw.WriteString("Connection: close\r\n")
	}
	bw.WriteString("\r\n")
	if !ac.h.methodHEAD {
		bw.WriteString(body)
	}
	return bw.Flush() == nil && !closing
}

// writeFixed answers a fixed-response action.
func (ac *albConn) writeFixed(f *FixedResponse, closing bool) bool {
	if f == nil {
		f = &FixedResponse{StatusCode: http.StatusOK}
	}
	ct := f.ContentType
	if ct == "" {
		ct = "text/plain; charset=utf-8"
	}
	code := f.StatusCode
	if code == 0 {
		code = http.StatusOK
	}
	bw := ac.writer()
	defer releaseWriter(bw)
	bodiless := code == http.StatusNoContent || code == http.StatusNotModified
	writeStatusLine(bw, code)
	if !bodiless {
		// RFC 9110 forbids a length on a 204, and a 304's would be
		// the representation's.
		bw.WriteString("Content-Length: ")
		bw.Write(strconv.AppendInt(bw.AvailableBuffer(), int64(len(f.Body)), 10))
		bw.WriteString("\r\n")
	}
	bw.WriteString("Content-Type: ")
	writeFieldValue(bw, ct)
	bw.WriteString("\r\n")
	writeDate(bw, ac.l.p.clk.Now())
	bw.WriteString("Server: awselb/2.0\r\n")
	bw.Write(ac.extra)
	if closing {
		bw.WriteString("Connection: close\r\n")
	}
	bw.WriteString("\r\n")
	if !bodiless && !ac.h.methodHEAD {
		bw.WriteString(f.Body)
	}
	return bw.Flush() == nil && !closing
}

// writeTargetHead writes the outgoing request line and headers: the
// client's, but hop-by-hop and forwarding headers, then the ALB's, as
// the ReverseProxy path does (writeRequestHead).
func writeTargetHead(bw *bufio.Writer, h *reqHead, v *listenerView, client netip.Addr, start time.Time, bodyLen int) {
	b := h.buf
	bw.Write(h.method.of(b))
	bw.WriteByte(' ')
	bw.Write(h.target.of(b))
	bw.WriteString(" HTTP/1.1\r\nHost: ")
	bw.Write(h.fields[h.host].value.of(b))
	bw.WriteString("\r\n")
	var trace []byte
	hasTrace := false
	for i := range h.fields {
		f := &h.fields[i]
		switch f.kind {
		case fieldXAmznTraceID:
			if !hasTrace {
				trace, hasTrace = f.value.of(b), true
			}
			continue
		case fieldHost, fieldContentLength, fieldForwarded, fieldXForwardedFor, fieldXForwardedHost,
			fieldXForwardedProto, fieldXForwardedPort, fieldConnection, fieldProxyConnection, fieldKeepAlive,
			fieldProxyAuthenticate, fieldProxyAuthorization, fieldTE, fieldTrailer, fieldTransferEncoding, fieldUpgrade:
			continue
		}
		if h.connTokens && h.namedByConnection(f) {
			continue
		}
		bw.Write(f.name.of(b))
		bw.WriteString(": ")
		bw.Write(f.value.of(b))
		bw.WriteString("\r\n")
	}
	if h.teTrailers {
		bw.WriteString("Te: trailers\r\n")
	}
	switch {
	case bodyLen > 0:
		bw.WriteString("Content-Length: ")
		bw.Write(strconv.AppendInt(bw.AvailableBuffer(), int64(bodyLen), 10))
		bw.WriteString("\r\n")
	default:
		switch string(h.method.of(b)) {
		case http.MethodPost, http.MethodPut, http.MethodPatch:
			bw.WriteString("Content-Length: 0\r\n")
		}
	}
	bw.WriteString("X-Forwarded-For: ")
	for i := range h.fields {
		if f := &h.fields[i]; f.kind == fieldXForwardedFor {
			bw.Write(f.value.of(b))
			bw.WriteString(", ")
		}
	}
	if client.IsValid() {
		bw.Write(client.Unmap().AppendTo(bw.AvailableBuffer()))
	}
	bw.WriteString("\r\nX-Forwarded-Proto: ")
	bw.WriteString(v.proto)
	bw.WriteString("\r\nX-Forwarded-Port: ")
	bw.WriteString(v.portText)
	bw.WriteString("\r\nX-Amzn-Trace-Id: ")
	if hasTrace && len(trace) > 0 {
		bw.WriteString(traceID(start, string(trace)))
	} else {
		bw.WriteString("Root=")
		bw.Write(appendTraceValue(bw.AvailableBuffer(), start))
	}
	bw.WriteString("\r\n\r\n")
}

// namedByConnection reports whether a request field is one a Connection
// header of the request names (hop-by-hop).
func (h *reqHead) namedByConnection(f *field) bool {
	name := f.name.of(h.buf)
	for i := range h.fields {
		c := &h.fields[i]
		if c.kind != fieldConnection {
			continue
		}
		v := c.value.of(h.buf)
		for len(v) > 0 {
			tok, rest, _ := cutByte(v, ',')
			if t := trimBlanks(tok); len(t) == len(name) && equalFold(t, name) {
				return true
			}
			v = rest
		}
	}
	return false
}

// equalFold is ASCII case-insensitive equality: HTTP tokens are ASCII,
// and bytes.EqualFold's Unicode folding would also match what HTTP does
// not ("ſ" for "s", the Kelvin sign for "k").
func equalFold(a, b []byte) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !eqByte(a[i], b[i], true) {
			return false
		}
	}
	return true
}

// cutter cuts a forwarded request short: on the idle timeout (its own
// watch, on the clock), or when the listener closes (a target that
// leaves has its connections cut by the pool). It unblocks whatever the
// request waits on: the client's body, a dial, or the target connection.
// One serves all the requests of a client connection in turn, so that a
// request allocates no timer, closure or context.
type cutter struct {
	clk    clock.Clock
	client net.Conn

	// activity counts reads from the target and of the client's body;
	// the watch cuts a request when it stops moving for the idle timeout.
	activity atomic.Uint64

	mu          sync.Mutex
	timer       clock.Timer
	armed       bool // timer pending (or its firing not yet handled)
	d           time.Duration
	deadline    time.Time // the current request's, on the clock
	seen        uint64
	why         error
	done        bool // no request in progress
	stopped     bool // the connection is over
	readingBody bool
	dialCancel  context.CancelFunc
	pc          *poolConn
}

// begin starts a request at now (on the clock) with the LB's idle
// timeout d; false if the connection is being aborted.
//
// The watch's timer is armed once and left running between requests: a
// firing before the current deadline re-arms for the rest, so a busy
// connection re-arms it about once per idle period rather than once per
// request.
func (x *cutter) begin(now time.Time, d time.Duration) bool {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.stopped {
		return false
	}
	x.why, x.done, x.readingBody, x.dialCancel, x.pc = nil, false, true, nil, nil
	x.deadline, x.seen = now.Add(d), x.activity.Load()
	switch {
	case x.timer == nil:
		x.timer = x.clk.AfterFunc(d, x.fire)
	case !x.armed || d != x.d:
		x.timer.Reset(d)
	}
	x.d, x.armed = d, true
	return true
}

func (x *cutter) touch() { x.activity.Add(1) }

// fire is the idle watch: it cuts the request if nothing moved for a
// whole period, else waits another one (so an active transfer outlives
// the timeout by at most one period, as idleWatch does).
func (x *cutter) fire() {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.armed = false
	if x.done || x.why != nil {
		return // between requests the timer rests; begin arms it again
	}
	now := x.clk.Now()
	if now.Before(x.deadline) {
		// Armed for an earlier request: wait for this one's deadline.
		x.timer.Reset(x.deadline.Sub(now))
		x.armed = true
		return
	}
	if a := x.activity.Load(); a != x.seen {
		x.seen, x.deadline = a, now.Add(x.d)
		x.timer.Reset(x.d)
		x.armed = true
		return
	}
	x.cutLocked(errIdleTimeout)
}

func (x *cutter) cutLocked(why error) {
	x.why = why
	switch {
	case x.readingBody:
		x.client.SetReadDeadline(aLongTimeAgo)
	case x.dialCancel != nil:
		x.dialCancel()
	case x.pc != nil:
		x.pc.c.SetDeadline(aLongTimeAgo)
	}
}

// abort cuts the request in progress, if any, and every later one: the
// listener is closing.
func (x *cutter) abort() {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.stopped = true
	if !x.done && x.why == nil && x.timer != nil {
		x.cutLocked(context.Canceled)
	}
}

// cause is why the request was cut, or nil.
func (x *cutter) cause() error {
	x.mu.Lock()
	defer x.mu.Unlock()
	return x.why
}

func (x *cutter) isCut() bool { return x.cause() != nil }

// bodyRead marks the end of reading the client's body.
func (x *cutter) bodyRead() {
	x.mu.Lock()
	x.readingBody = false
	x.mu.Unlock()
}

// setDial registers (or, with nil, clears) the cancel of a dial in
// progress; false if the request is cut already.
func (x *cutter) setDial(cancel context.CancelFunc) bool {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.dialCancel = cancel
	return x.why == nil
}

// attach marks pc as the request's target connection; false if the
// request is cut already.
func (x *cutter) attach(pc *poolConn) bool {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.pc = pc
	return x.why == nil
}

// detach releases the target connection; true if it was never cut (its
// deadline untouched, so it may be reused).
func (x *cutter) detach() bool {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.pc = nil
	return x.why == nil
}

// finish ends the request: later firings and cuts do nothing.
func (x *cutter) finish() {
	x.mu.Lock()
	x.done = true
	x.mu.Unlock()
}

// stop releases the watch's timer when the connection ends.
func (x *cutter) stop() {
	x.mu.Lock()
	x.stopped, x.done = true, true
	if x.timer != nil {
		x.timer.Stop()
	}
	x.mu.Unlock()
}

// handoffListener hands the connections the loop does not serve to the
// listener's net/http.Server.
type handoffListener struct {
	addr net.Addr
	ch   chan net.Conn
	done chan struct{}
	once sync.Once
}

func newHandoffListener(addr net.Addr) *handoffListener {
	return &handoffListener{addr: addr, ch: make(chan net.Conn), done: make(chan struct{})}
}

// Accept returns the next connection handed over.
func (hl *handoffListener) Accept() (net.Conn, error) {
	select {
	case c := <-hl.ch:
		return c, nil
	case <-hl.done:
		return nil, net.ErrClosed
	}
}

// Close stops handing over; connections handed later are refused.
func (hl *handoffListener) Close() error {
	hl.once.Do(func() { close(hl.done) })
	return nil
}

// Addr is the listener's address.
func (hl *handoffListener) Addr() net.Addr { return hl.addr }

// give hands c over; false once the listener is closed.
func (hl *handoffListener) give(c net.Conn) bool {
	select {
	case hl.ch <- c:
		return true
	case <-hl.done:
		return false
	}
}

// handoffConn is a client connection net/http takes over from the loop:
// it reads first what the loop has buffered.
type handoffConn struct {
	*countingConn
	ac *albConn
	mu sync.Mutex
	br *bufio.Reader
}

// Close closes the connection and forgets it.
func (c *handoffConn) Close() error {
	c.ac.l.untrack(c.ac)
	return c.countingConn.Close()
}

func (c *handoffConn) Read(p []byte) (int, error) {
	c.mu.Lock()
	br := c.br
	if br != nil && br.Buffered() == 0 {
		c.br, br = nil, nil
	}
	c.mu.Unlock()
	if br != nil {
		return br.Read(p)
	}
	return c.countingConn.Read(p)
}
