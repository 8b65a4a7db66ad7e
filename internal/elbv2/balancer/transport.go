package balancer

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"sync"
	"syscall"
	"time"
)

// connPool is the HTTP/1.1 client side of a target group for plain-HTTP
// targets: keep-alive connections per target, used synchronously by the
// request's own goroutine. http.Transport hands every request to a
// connection's read and write goroutines and back; skipping those
// hand-offs is most of what the proxy can save per request. Requests it
// does not handle (HTTPS targets, Expect: 100-continue) go to fallback.
type connPool struct {
	fallback http.RoundTripper
	dialer   net.Dialer

	mu     sync.Mutex
	idle   map[string][]*poolConn // by target address, most recent last
	closed bool
	// busy are the connections the ALB's connection loop has out, by
	// target address, so that a target that leaves has its requests in
	// flight cut (see closeAddr).
	busy map[*poolConn]string
}

// maxRetryBody is the largest request body held in memory so that the
// request can be retried on a fresh connection.
const maxRetryBody = 64 << 10

// maxIdlePerTarget bounds the keep-alive connections kept per target.
const maxIdlePerTarget = 1024

type poolConn struct {
	c  net.Conn
	br *bufio.Reader
	bw *bufio.Writer // writes to tw
	tw *targetWriter
}

func newConnPool(fallback http.RoundTripper) *connPool {
	return &connPool{
		fallback: fallback,
		dialer:   net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second},
		idle:     map[string][]*poolConn{},
		busy:     map[*poolConn]string{},
	}
}

func (p *connPool) get(addr string) *poolConn {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.takeIdleLocked(addr)
}

// takeIdleLocked takes the most recent idle connection to addr, or nil.
func (p *connPool) takeIdleLocked(addr string) *poolConn {
	l := p.idle[addr]
	if len(l) == 0 {
		return nil
	}
	pc := l[len(l)-1]
	p.idle[addr] = l[:len(l)-1]
	return pc
}

func (p *connPool) put(addr string, pc *poolConn) {
	p.mu.Lock()
	if !p.closed && len(p.idle[addr]) < maxIdlePerTarget {
		p.idle[addr] = append(p.idle[addr], pc)
		p.mu.Unlock()
		return
	}
	p.mu.Unlock()
	pc.c.Close()
}

// checkout takes an idle connection to addr for the ALB's connection
// loop, or nil; checkin gives it back.
func (p *connPool) checkout(addr string) *poolConn {
	p.mu.Lock()
	defer p.mu.Unlock()
	pc := p.takeIdleLocked(addr)
	if pc != nil {
		p.busy[pc] = addr
	}
	return pc
}

// track records a connection the loop dialed as out; false if the
// target is gone already (alive ended).
func (p *connPool) track(pc *poolConn, addr string, alive context.Context) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if alive.Err() != nil {
		return false
	}
	p.busy[pc] = addr
	return true
}

// checkin ends the loop's use of pc: it goes back to the idle list when
// reuse is set and its target (alive) is still there, else it is closed.
func (p *connPool) checkin(pc *poolConn, reuse bool, alive context.Context) {
	p.mu.Lock()
	addr, ok := p.busy[pc]
	delete(p.busy, pc)
	if reuse && ok && !p.closed && alive.Err() == nil && len(p.idle[addr]) < maxIdlePerTarget {
		p.idle[addr] = append(p.idle[addr], pc)
		p.mu.Unlock()
		return
	}
	p.mu.Unlock()
	pc.c.Close()
}

// closeAddr drops the idle connections to one target (it was forgotten)
// and cuts the loop's requests in flight to it (their target context has
// ended before this is called, so checkin will not keep them).
func (p *connPool) closeAddr(addr string) {
	p.mu.Lock()
	l := p.idle[addr]
	delete(p.idle, addr)
	for pc, a := range p.busy {
		if a == addr {
			pc.c.SetDeadline(aLongTimeAgo)
		}
	}
	p.mu.Unlock()
	for _, pc := range l {
		pc.c.Close()
	}
}

// cutBusy cuts every request of the loop in flight (the group is gone).
func (p *connPool) cutBusy() {
	p.mu.Lock()
	for pc := range p.busy {
		pc.c.SetDeadline(aLongTimeAgo)
	}
	p.mu.Unlock()
}

// CloseIdleConnections closes every idle connection and keeps no more.
func (p *connPool) CloseIdleConnections() {
	p.mu.Lock()
	idle := p.idle
	p.idle = map[string][]*poolConn{}
	p.mu.Unlock()
	for _, l := range idle {
		for _, pc := range l {
			pc.c.Close()
		}
	}
	if f, ok := p.fallback.(interface{ CloseIdleConnections() }); ok {
		f.CloseIdleConnections()
	}
}

func (p *connPool) dial(ctx context.Context, addr string) (*poolConn, error) {
	c, err := p.dialer.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	tw := newTargetWriter(c)
	return &poolConn{c: c, br: bufio.NewReaderSize(c, 4096), bw: bufio.NewWriterSize(tw, 4096), tw: tw}, nil
}

// targetWriter is what a pooled connection's write buffer writes to: the
// connection, except that the ALB loop's last write of a request can
// also wait, in the same poller call, for the answer to become readable
// (flushAndWait). A plain read right after the write would almost always
// find nothing yet and cost a system call for it; a target cannot answer
// before the request is written, so waiting first loses no answer.
type targetWriter struct {
	c   net.Conn
	raw syscall.RawConn // nil if c has no file descriptor

	wait bool   // the next Write is the request's last
	p    []byte // being written by step
	sent int
	err  error
	step func(fd uintptr) bool
}

func newTargetWriter(c net.Conn) *targetWriter {
	w := &targetWriter{c: c}
	if sc, ok := c.(syscall.Conn); ok {
		if raw, err := sc.SyscallConn(); err == nil {
			w.raw = raw
		}
	}
	w.step = w.writeThenWait
	return w
}

func (w *targetWriter) Write(p []byte) (int, error) {
	if !w.wait || w.raw == nil {
		return w.c.Write(p)
	}
	w.wait = false
	w.p, w.sent, w.err = p, 0, nil
	// RawConn.Read resets the poller's readiness, calls step, and while
	// step returns false waits for the connection to become readable.
	err := w.raw.Read(w.step)
	w.p = nil
	switch {
	case w.err != nil:
		return w.sent, w.err
	case err != nil:
		return w.sent, err
	case w.sent < len(p):
		// The socket buffer was full: the rest goes the ordinary way.
		n, err := w.c.Write(p[w.sent:])
		return w.sent + n, err
	}
	return len(p), nil
}

// writeThenWait writes w.p on its first call and asks to wait for
// readability; the next call (readable) ends the wait.
func (w *targetWriter) writeThenWait(fd uintptr) bool {
	if w.sent == len(w.p) && w.sent > 0 {
		return true
	}
	for w.sent < len(w.p) {
		n, err := syscall.Write(int(fd), w.p[w.sent:])
		switch {
		case err == syscall.EINTR:
			continue
		case err == syscall.EAGAIN:
			return true
		case err != nil:
			w.err = err
			return true
		}
		w.sent += n
	}
	return false
}

// flushAndWait flushes the request and, where the connection allows,
// waits for the answer to become readable in the same poller call.
func (pc *poolConn) flushAndWait() error {
	pc.tw.wait = pc.bw.Buffered() > 0
	err := pc.bw.Flush()
	pc.tw.wait = false
	return err
}

// RoundTrip sends one request on a pooled connection and returns once the
// response head is read; the connection goes back to the pool when the
// body has been read to its end.
func (p *connPool) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Scheme != "http" || req.Header.Get("Expect") != "" {
		return p.fallback.RoundTrip(req)
	}
	addr := req.URL.Host
	ctx := req.Context()
	var body []byte
	fresh := false
	if req.Body != nil && req.Body != http.NoBody {
		// A small body is read first so that the request can go again on
		// a fresh connection if a kept-alive one turns out closed. A large
		// or streamed one cannot be sent twice, so it never risks a
		// kept-alive connection: it gets a new one.
		if req.ContentLength <= 0 || req.ContentLength > maxRetryBody {
			fresh = true
		} else {
			var err error
			body, err = io.ReadAll(io.LimitReader(req.Body, req.ContentLength))
			req.Body.Close()
			if err != nil {
				return nil, err
			}
		}
	}
	write := func(bw *bufio.Writer) error {
		if body != nil {
			req.Body = io.NopCloser(bytes.NewReader(body))
		}
		return req.Write(bw)
	}
	return p.send(ctx, addr, req, req.Close, fresh, write)
}

// roundTripHead is RoundTrip for a request that write renders whole (head
// and body) onto the connection; req gives the method the answer is read
// for. The ALB's fast path sends requests this way, never asking the
// target to close the connection.
func (p *connPool) roundTripHead(ctx context.Context, addr string, req *http.Request, write func(*bufio.Writer) error) (*http.Response, error) {
	return p.send(ctx, addr, req, false, false, write)
}

// send writes a request with write on a pooled connection (a new one when
// fresh) and reads the answer's head; a kept-alive connection found closed
// before any answer is replaced by a new one, once.
func (p *connPool) send(ctx context.Context, addr string, req *http.Request, reqClose, fresh bool, write func(*bufio.Writer) error) (*http.Response, error) {
	for attempt := 0; ; attempt++ {
		var pc *poolConn
		if !fresh {
			pc = p.get(addr)
		}
		reused := pc != nil
		if pc == nil {
			var err error
			if pc, err = p.dial(ctx, addr); err != nil {
				return nil, err
			}
		}
		resp, err := p.exchange(ctx, pc, req, addr, reqClose, write)
		if err == nil {
			return resp, nil
		}
		pc.c.Close()
		// A kept-alive connection the target closed meanwhile fails on
		// first use, before any answer: the request goes again on a fresh
		// one, as http.Transport retries it.
		if reused && attempt == 0 && ctx.Err() == nil && isStaleConnErr(err) {
			fresh = true // other pooled connections may be just as stale
			continue
		}
		return nil, err
	}
}

// errNothingRead marks a failure before any byte of the response arrived.
type errNothingRead struct{ err error }

func (e errNothingRead) Error() string { return e.err.Error() }
func (e errNothingRead) Unwrap() error { return e.err }

func isStaleConnErr(err error) bool {
	var nr errNothingRead
	return errors.As(err, &nr)
}

func (p *connPool) exchange(ctx context.Context, pc *poolConn, req *http.Request, addr string, reqClose bool, write func(*bufio.Writer) error) (*http.Response, error) {
	// Cancelling the request (client gone, idle timeout, target
	// forgotten) unblocks the connection's reads and writes.
	stop := context.AfterFunc(ctx, func() { pc.c.SetDeadline(aLongTimeAgo) })
	if err := write(pc.bw); err != nil {
		stop()
		return nil, err
	}
	if err := pc.bw.Flush(); err != nil {
		stop()
		return nil, errNothingRead{err}
	}
	var resp *http.Response
	for {
		if _, err := pc.br.Peek(1); err != nil {
			stop()
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			return nil, errNothingRead{err}
		}
		r, err := http.ReadResponse(pc.br, req)
		if err != nil {
			stop()
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			return nil, err
		}
		// Informational answers other than 101 precede the real one.
		if r.StatusCode >= 100 && r.StatusCode < 200 && r.StatusCode != http.StatusSwitchingProtocols {
			continue
		}
		resp = r
		break
	}
	if resp.StatusCode == http.StatusSwitchingProtocols {
		// The connection now belongs to the upgraded stream.
		stop()
		resp.Body = &upgradedBody{br: pc.br, c: pc.c}
		return resp, nil
	}
	resp.Body = &pooledBody{
		rc: resp.Body, p: p, pc: pc, addr: addr, stop: stop,
		reuse: !resp.Close && !reqClose,
	}
	return resp, nil
}

// aLongTimeAgo is a deadline in the past, to unblock a connection's I/O at
// once (as net/http does); not a clock reading.
var aLongTimeAgo = time.Unix(1, 0)

// pooledBody returns its connection to the pool once read to the end.
type pooledBody struct {
	rc    io.ReadCloser
	p     *connPool
	pc    *poolConn
	addr  string
	stop  func() bool
	reuse bool
	done  bool
}

func (b *pooledBody) Read(p []byte) (int, error) {
	if b.done {
		return 0, io.EOF
	}
	n, err := b.rc.Read(p)
	if err == io.EOF {
		b.finish(true)
	} else if err != nil {
		b.finish(false)
	}
	return n, err
}

func (b *pooledBody) finish(complete bool) {
	if b.done {
		return
	}
	b.done = true
	// A cancelled context may have poisoned the deadline already.
	if !b.stop() || !complete || !b.reuse {
		b.pc.c.Close()
		return
	}
	b.p.put(b.addr, b.pc)
}

func (b *pooledBody) Close() error {
	b.finish(false)
	return nil
}

// upgradedBody is the raw connection after a 101, readable and writable
// as httputil.ReverseProxy expects of an upgraded response body.
type upgradedBody struct {
	br *bufio.Reader
	c  net.Conn
}

func (u *upgradedBody) Read(p []byte) (int, error)  { return u.br.Read(p) }
func (u *upgradedBody) Write(p []byte) (int, error) { return u.c.Write(p) }
func (u *upgradedBody) Close() error                { return u.c.Close() }
