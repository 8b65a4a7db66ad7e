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
}

// maxRetryBody is the largest request body held in memory so that the
// request can be retried on a fresh connection.
const maxRetryBody = 64 << 10

// maxIdlePerTarget bounds the keep-alive connections kept per target.
const maxIdlePerTarget = 1024

type poolConn struct {
	c  net.Conn
	br *bufio.Reader
	bw *bufio.Writer
}

func newConnPool(fallback http.RoundTripper) *connPool {
	return &connPool{
		fallback: fallback,
		dialer:   net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second},
		idle:     map[string][]*poolConn{},
	}
}

func (p *connPool) get(addr string) *poolConn {
	p.mu.Lock()
	defer p.mu.Unlock()
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

// closeAddr drops the idle connections to one target (it was forgotten).
func (p *connPool) closeAddr(addr string) {
	p.mu.Lock()
	l := p.idle[addr]
	delete(p.idle, addr)
	p.mu.Unlock()
	for _, pc := range l {
		pc.c.Close()
	}
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
	return &poolConn{c: c, br: bufio.NewReaderSize(c, 4096), bw: bufio.NewWriterSize(c, 4096)}, nil
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
