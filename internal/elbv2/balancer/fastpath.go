package balancer

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net/http"
	"net/textproto"
	"strconv"
	"strings"
)

// The fast path of requests net/http reads (HTTPS listeners, and what an
// HTTP listener's connection loop hands over): most of them (HTTP/1.x to
// a plain-HTTP target, no protocol upgrade, no Expect, no body or a small
// one of known length) are forwarded by writing the outgoing request head
// straight from the incoming request onto a pooled target connection, and
// the answer's header map is handed to the client's response as it is. That skips what
// httputil.ReverseProxy spends per request on cloning the request, its
// URL and its headers, a client trace and the generic request writer.
// Everything else goes through the ReverseProxy, which the fast path
// mirrors: the same hop-by-hop removal, forwarding headers, response
// hooks, trailers, flushing and errors.

// canFastForward reports whether forwardFast handles r.
func canFastForward(r *http.Request, gv *groupView) bool {
	if gv.cfg.Protocol == "HTTPS" || r.ProtoMajor != 1 || r.Host == "" {
		return false
	}
	if len(r.Header["Upgrade"]) > 0 || len(r.Header["Expect"]) > 0 || len(r.TransferEncoding) > 0 {
		return false
	}
	if r.ContentLength < 0 || r.ContentLength > maxRetryBody {
		return false
	}
	return cleanQuery(r.URL.RawQuery)
}

// cleanQuery reports whether ReverseProxy would pass a query unchanged: no
// ';' and no broken %-escape (it re-encodes those).
func cleanQuery(s string) bool {
	for i := 0; i < len(s); {
		switch s[i] {
		case ';':
			return false
		case '%':
			if i+2 >= len(s) || !isHex(s[i+1]) || !isHex(s[i+2]) {
				return false
			}
			i += 3
		default:
			i++
		}
	}
	return true
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// hopHeaders are removed in both directions, as ReverseProxy does, besides
// those a Connection header names.
var hopHeaders = map[string]bool{
	"Connection": true, "Proxy-Connection": true, "Keep-Alive": true, "Proxy-Authenticate": true,
	"Proxy-Authorization": true, "Te": true, "Trailer": true, "Transfer-Encoding": true, "Upgrade": true,
}

// setByProxy are request headers the ALB writes itself (forwarding
// headers, trace ID) or that framing decides (Host, Content-Length).
var setByProxy = map[string]bool{
	"Host": true, "Content-Length": true, "Forwarded": true, "X-Forwarded-For": true, "X-Forwarded-Host": true,
	"X-Forwarded-Proto": true, "X-Forwarded-Port": true, "X-Amzn-Trace-Id": true,
}

// connectionTokens are the header names a Connection header lists (they
// are hop-by-hop too), canonical; nil when there is none.
func connectionTokens(h http.Header) map[string]bool {
	vs := h["Connection"]
	if len(vs) == 0 {
		return nil
	}
	m := map[string]bool{}
	for _, v := range vs {
		for f := range strings.SplitSeq(v, ",") {
			if f = textproto.TrimString(f); f != "" {
				m[textproto.CanonicalMIMEHeaderKey(f)] = true
			}
		}
	}
	return m
}

// removeHopByHop strips hop-by-hop headers from a response.
func removeHopByHop(h http.Header) {
	for k := range connectionTokens(h) {
		delete(h, k)
	}
	for k := range hopHeaders {
		delete(h, k)
	}
}

// forwardFast proxies r to x's target on the group's connection pool.
func (g *group) forwardFast(w http.ResponseWriter, r *http.Request, ctx context.Context, x *proxyReq) {
	var body []byte
	if r.ContentLength > 0 {
		var err error
		body, err = io.ReadAll(io.LimitReader(&activeBody{ReadCloser: r.Body, w: x.idle}, r.ContentLength))
		if err != nil || int64(len(body)) != r.ContentLength {
			// The client's body broke off: nobody to answer, as when
			// ReverseProxy's transport fails reading it.
			g.proxyError(w, ctx, x, errors.Join(err, io.ErrUnexpectedEOF))
			return
		}
	}
	head := func(bw *bufio.Writer) error {
		writeRequestHead(bw, r, x, len(body))
		_, err := bw.Write(body)
		return err
	}
	resp, err := g.transport.roundTripHead(ctx, x.t.addr, r, head)
	if err != nil {
		g.proxyError(w, ctx, x, err)
		return
	}
	if resp.StatusCode == http.StatusSwitchingProtocols {
		// Nobody asked this target to switch protocols.
		resp.Body.Close()
		g.proxyError(w, ctx, x, errors.New("target switched protocols unasked"))
		return
	}
	removeHopByHop(resp.Header)
	g.onResponse(x, resp)
	dst := w.Header()
	for k, vv := range resp.Header {
		if prior, ok := dst[k]; ok {
			dst[k] = append(prior, vv...)
		} else {
			dst[k] = vv // resp is ours alone: its slices need no copy
		}
	}
	announced := len(resp.Trailer)
	if announced > 0 {
		keys := make([]string, 0, announced)
		for k := range resp.Trailer {
			keys = append(keys, k)
		}
		dst.Add("Trailer", strings.Join(keys, ", "))
	}
	w.WriteHeader(resp.StatusCode)
	flush := resp.ContentLength == -1 || strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream")
	if err := copyBody(w, resp.Body, flush); err != nil {
		resp.Body.Close()
		// The answer is cut short: abort the client's connection rather
		// than let the response look complete, as ReverseProxy does.
		panic(http.ErrAbortHandler)
	}
	resp.Body.Close()
	if len(resp.Trailer) > 0 {
		http.NewResponseController(w).Flush()
	}
	for k, vv := range resp.Trailer {
		if len(resp.Trailer) != announced {
			k = http.TrailerPrefix + k
		}
		for _, v := range vv {
			dst.Add(k, v)
		}
	}
}

// writeRequestHead writes the outgoing request line and headers: the
// incoming ones but hop-by-hop and forwarding headers, then the ALB's.
func writeRequestHead(bw *bufio.Writer, r *http.Request, x *proxyReq, bodyLen int) {
	bw.WriteString(r.Method)
	bw.WriteByte(' ')
	bw.WriteString(r.URL.RequestURI())
	bw.WriteString(" HTTP/1.1\r\nHost: ")
	bw.WriteString(r.Host)
	bw.WriteString("\r\n")
	conn := connectionTokens(r.Header)
	for k, vv := range r.Header {
		if hopHeaders[k] || setByProxy[k] || conn[k] {
			continue
		}
		for _, v := range vv {
			bw.WriteString(k)
			bw.WriteString(": ")
			bw.WriteString(v)
			bw.WriteString("\r\n")
		}
	}
	for _, te := range r.Header["Te"] {
		if strings.Contains(strings.ToLower(te), "trailers") {
			bw.WriteString("Te: trailers\r\n")
			break
		}
	}
	switch {
	case bodyLen > 0:
		bw.WriteString("Content-Length: ")
		bw.WriteString(strconv.Itoa(bodyLen))
		bw.WriteString("\r\n")
	case r.Method == http.MethodPost || r.Method == http.MethodPut || r.Method == http.MethodPatch:
		bw.WriteString("Content-Length: 0\r\n")
	}
	bw.WriteString("X-Forwarded-For: ")
	if prior := r.Header["X-Forwarded-For"]; len(prior) > 0 {
		for _, p := range prior {
			bw.WriteString(p)
			bw.WriteString(", ")
		}
	}
	if x.q.clientIP.IsValid() {
		var buf [64]byte
		bw.Write(x.q.clientIP.Unmap().AppendTo(buf[:0]))
	}
	bw.WriteString("\r\nX-Forwarded-Proto: ")
	bw.WriteString(x.v.proto)
	bw.WriteString("\r\nX-Forwarded-Port: ")
	bw.WriteString(x.v.portText)
	bw.WriteString("\r\nX-Amzn-Trace-Id: ")
	bw.WriteString(traceID(x.start, r.Header.Get("X-Amzn-Trace-Id")))
	bw.WriteString("\r\n\r\n")
}

// copyBody copies a response body to the client, flushing after each
// write when the target streams it.
func copyBody(w http.ResponseWriter, body io.Reader, flush bool) error {
	buf := bufPool{}.Get()
	defer bufPool{}.Put(buf)
	var rc *http.ResponseController
	if flush {
		rc = http.NewResponseController(w)
	}
	for {
		n, err := body.Read(buf)
		if n > 0 {
			if _, werr := w.Write(buf[:n]); werr != nil {
				return werr
			}
			if rc != nil {
				_ = rc.Flush()
			}
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}
