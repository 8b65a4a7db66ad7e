package balancer

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"hash/fnv"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httputil"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// albHandler serves one HTTPS listener of an Application Load Balancer,
// and the connections of an HTTP listener that its connection loop
// (conn.go) hands over: it evaluates the listener's rules in order and
// runs the matching rule's action.
type albHandler struct{ l *listener }

// Causes that end a proxied request early, told apart in the error handler.
var (
	errIdleTimeout = errors.New("target did not answer within the idle timeout")
	errTargetGone  = errors.New("target deregistered")
)

func (h *albHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	v := h.l.view.Load()
	lb := v.lb
	lb.stats.requests.Add(1)
	q := request{r: r, host: hostOnly(r.Host)}
	if ap, err := netip.ParseAddrPort(r.RemoteAddr); err == nil {
		q.clientIP = ap.Addr()
	}
	a := ruleAction(v, &q)
	if a == nil {
		// A listener always has a default rule; without one ELB has
		// nothing to do.
		h.elbError(w, v, http.StatusServiceUnavailable)
		return
	}
	switch a.Type {
	case "forward":
		h.forward(w, r, v, &q, a)
	case "redirect":
		lb.stats.redirects.Add(1)
		h.redirect(w, r, v, a.Redirect)
	case "fixed-response":
		lb.stats.fixed.Add(1)
		fixedResponse(w, a.Fixed)
	default:
		h.elbError(w, v, http.StatusInternalServerError)
	}
}

// ruleAction is the action the listener's rules give a request: the
// final action of the first rule, by priority, whose conditions match;
// nil when none matches or that rule has no action.
func ruleAction(v *listenerView, q *request) *Action {
	for i := range v.cfg.Rules {
		rule := &v.cfg.Rules[i]
		if matchRule(rule, q) {
			return finalAction(rule)
		}
	}
	return nil
}

// redirectCode is the status of a redirect action: 301 or 302.
func redirectCode(rd *Redirect) int {
	if rd != nil && rd.StatusCode == "HTTP_301" {
		return http.StatusMovedPermanently
	}
	return http.StatusFound
}

// finalAction is the rule's terminal action: the last one in Order
// (authenticate actions before it are not run here).
func finalAction(rule *Rule) *Action {
	var best *Action
	for i := range rule.Actions {
		a := &rule.Actions[i]
		switch a.Type {
		case "forward", "redirect", "fixed-response":
			if best == nil || a.Order >= best.Order {
				best = a
			}
		}
	}
	return best
}

// proxyReq carries one forwarded request's choices to the reverse proxy's
// hooks.
type proxyReq struct {
	v        *listenerView
	gv       *groupView
	t        *target
	q        *request
	start    time.Time
	idle     *idleWatch
	setStick bool // set the AWSALB cookies on the response
	tgStats  *counters
}

type proxyKey struct{}

// forward sends the request to a target of one of the action's groups.
func (h *albHandler) forward(w http.ResponseWriter, r *http.Request, v *listenerView, q *request, a *Action) {
	p := h.l.p
	wg, setTG := chooseGroup(q, a)
	if setTG {
		h.setGroupCookie(w, wg, a.GroupStickiness)
	}
	if wg == nil {
		h.elbError(w, v, http.StatusServiceUnavailable)
		return
	}
	g := p.lookupGroup(wg.TargetGroupARN)
	if g == nil {
		h.elbError(w, v, http.StatusServiceUnavailable)
		return
	}
	gv := g.view.Load()
	tgStats := v.lb.groupStats(g.arn)
	tgStats.requests.Add(1)
	now := p.clk.Now()

	var t *target
	setStick := false
	st := gv.cfg.Stickiness
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
		setStick = st.Type == "lb_cookie"
	}
	if t == nil {
		t = gv.pick(g, now, nil)
	}
	if t == nil {
		// No registered target: ELB answers 503 itself.
		h.elbError(w, v, http.StatusServiceUnavailable)
		return
	}
	t.inflight.Add(1)
	defer t.inflight.Add(-1)

	if gv.cfg.TargetType == "lambda" {
		h.invokeLambda(w, r, v, gv, t, tgStats, now)
		return
	}

	ctx, cancel := context.WithCancelCause(r.Context())
	defer cancel(nil)
	stopGone := context.AfterFunc(t.ctx, func() { cancel(errTargetGone) })
	defer stopGone()
	pr := &proxyReq{v: v, gv: gv, t: t, q: q, start: now, setStick: setStick, tgStats: tgStats}
	pr.idle = newIdleWatch(p.clk, v.lb.cfg.IdleTimeout, func() { cancel(errIdleTimeout) })
	defer pr.idle.stop()
	if canFastForward(r, gv) {
		g.forwardFast(w, r, ctx, pr)
		return
	}
	g.proxy.ServeHTTP(w, r.WithContext(context.WithValue(ctx, proxyKey{}, pr)))
}

// chooseGroup picks among the action's weighted target groups, keeping a
// client on its group for GroupStickiness with the AWSALBTG cookie;
// setCookie reports that the response must (re)set that cookie.
func chooseGroup(q *request, a *Action) (wg *WeightedGroup, setCookie bool) {
	switch len(a.Forward) {
	case 0:
		return nil, false
	case 1:
		return &a.Forward[0], false
	}
	if a.GroupStickiness > 0 {
		if c, ok := q.cookie("AWSALBTG"); ok {
			for i := range a.Forward {
				wg := &a.Forward[i]
				if wg.Weight > 0 && c == groupCookie(wg.TargetGroupARN) {
					return wg, true
				}
			}
		}
	}
	total := 0
	for _, wg := range a.Forward {
		total += max(wg.Weight, 0)
	}
	if total == 0 {
		return nil, false
	}
	k := rand.IntN(total)
	for i := range a.Forward {
		wg := &a.Forward[i]
		if k < max(wg.Weight, 0) {
			return wg, a.GroupStickiness > 0
		}
		k -= max(wg.Weight, 0)
	}
	return nil, false
}

func (h *albHandler) setGroupCookie(w http.ResponseWriter, wg *WeightedGroup, d time.Duration) {
	exp := h.l.p.clk.Now().Add(d)
	val := groupCookie(wg.TargetGroupARN)
	w.Header().Add("Set-Cookie", stickyCookie("AWSALBTG", val, exp, false))
	w.Header().Add("Set-Cookie", stickyCookie("AWSALBTGCORS", val, exp, true))
}

func groupCookie(arn string) string {
	f := fnv.New64a()
	f.Write([]byte(arn))
	return base64.StdEncoding.EncodeToString(f.Sum(nil))
}

// encodeSticky makes an opaque cookie value naming a target of a group.
func encodeSticky(groupARN, key string) string {
	f := fnv.New64a()
	f.Write([]byte(groupARN))
	return base64.RawURLEncoding.EncodeToString(append(f.Sum(nil), key...))
}

// decodeSticky returns the target key of a cookie made for groupARN.
func decodeSticky(val, groupARN string) (string, bool) {
	b, err := base64.RawURLEncoding.DecodeString(val)
	if err != nil || len(b) < 8 {
		return "", false
	}
	f := fnv.New64a()
	f.Write([]byte(groupARN))
	if string(f.Sum(nil)) != string(b[:8]) {
		return "", false
	}
	return string(b[8:]), true
}

// stickyCookie renders a stickiness cookie; the CORS twin is
// SameSite=None and Secure so that cross-origin requests carry it too.
func stickyCookie(name, val string, exp time.Time, cors bool) string {
	s := name + "=" + val + "; Expires=" + exp.UTC().Format(http.TimeFormat) + "; Path=/"
	if cors {
		s += "; SameSite=None; Secure"
	}
	return s
}

// newReverseProxy is one target group's proxy: it dials the target chosen
// in forward, adds ALB's X-Forwarded-* and X-Amzn-Trace-Id headers, sets
// stickiness cookies and turns target failures into ALB's 502 and 504.
func newReverseProxy(g *group) *httputil.ReverseProxy {
	return &httputil.ReverseProxy{
		Transport: g.transport,
		// FlushInterval 0: ReverseProxy still flushes streamed responses
		// (unknown length, text/event-stream) at once; sized ones go out
		// in as few writes as possible.
		BufferPool: bufPool{},
		Rewrite: func(pr *httputil.ProxyRequest) {
			x := pr.In.Context().Value(proxyKey{}).(*proxyReq)
			out := pr.Out
			out.URL.Scheme = "http"
			if x.gv.cfg.Protocol == "HTTPS" {
				out.URL.Scheme = "https"
			}
			out.URL.Host = x.t.addr
			out.Host = pr.In.Host
			client := ""
			if x.q.clientIP.IsValid() {
				client = x.q.clientIP.Unmap().String()
			}
			if prior := pr.In.Header["X-Forwarded-For"]; len(prior) > 0 {
				client = strings.Join(prior, ", ") + ", " + client
			}
			out.Header["X-Forwarded-For"] = []string{client}
			out.Header["X-Forwarded-Proto"] = []string{x.v.proto}
			out.Header["X-Forwarded-Port"] = []string{x.v.portText}
			out.Header["X-Amzn-Trace-Id"] = []string{traceID(x.start, pr.In.Header.Get("X-Amzn-Trace-Id"))}
			if out.Body != nil && out.Body != http.NoBody {
				out.Body = &activeBody{ReadCloser: out.Body, w: x.idle}
			}
		},
		ModifyResponse: func(resp *http.Response) error {
			g.onResponse(resp.Request.Context().Value(proxyKey{}).(*proxyReq), resp)
			return nil
		},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			g.proxyError(w, r.Context(), r.Context().Value(proxyKey{}).(*proxyReq), err)
		},
	}
}

// onResponse is what the ALB does with a target's answer before the
// client sees it: the idle watch follows its body, it is counted, and
// stickiness cookies are set.
func (g *group) onResponse(x *proxyReq, resp *http.Response) {
	if resp.StatusCode == http.StatusSwitchingProtocols {
		// The upgraded stream's body must stay the raw connection.
		x.idle.stop()
	} else {
		x.idle.touch()
		resp.Body = &activeBody{ReadCloser: resp.Body, w: x.idle, stopDone: true}
	}
	// Counted before the client sees the response, so a Collect
	// right after it includes this request.
	x.tgStats.countTarget(resp.StatusCode)
	x.v.lb.stats.countTarget(resp.StatusCode)
	rt := int64(g.p.clk.Since(x.start))
	x.tgStats.rtSum.Add(rt)
	x.v.lb.stats.rtSum.Add(rt)
	st := x.gv.cfg.Stickiness
	if !st.Enabled {
		return
	}
	now := g.p.clk.Now()
	val := encodeSticky(g.arn, x.t.key)
	switch {
	case x.setStick:
		exp := now.Add(st.Duration)
		resp.Header.Add("Set-Cookie", stickyCookie("AWSALB", val, exp, false))
		resp.Header.Add("Set-Cookie", stickyCookie("AWSALBCORS", val, exp, true))
	case st.Type == "app_cookie" && st.CookieName != "":
		for _, c := range resp.Cookies() {
			if c.Name == st.CookieName {
				exp := now.Add(st.Duration)
				resp.Header.Add("Set-Cookie", stickyCookie("AWSALBAPP-0", val, exp, false))
				break
			}
		}
	}
}

// proxyError answers a request whose target failed as ALB does: 504 when
// the target stayed silent for the idle timeout or could not be reached in
// time, nothing when the client left, else 502. ctx is the request's.
func (g *group) proxyError(w http.ResponseWriter, ctx context.Context, x *proxyReq, err error) {
	cause := context.Cause(ctx)
	code := http.StatusBadGateway
	var ne net.Error
	switch {
	case errors.Is(cause, errIdleTimeout):
		code = http.StatusGatewayTimeout
	case errors.As(err, &ne) && ne.Timeout():
		// No connection within ELB's 10 s connect timeout.
		code = http.StatusGatewayTimeout
	case errors.Is(cause, context.Canceled):
		// The client went away (ALB logs 460); nobody to answer.
		return
	}
	x.v.lb.stats.countELB(code)
	writeELBPage(w, code)
}

// elbError answers with an error ELB makes itself and counts it.
func (h *albHandler) elbError(w http.ResponseWriter, v *listenerView, code int) {
	v.lb.stats.countELB(code)
	writeELBPage(w, code)
}

// elbStatusText is the wording ALB (an nginx underneath) uses in its own
// error pages.
var elbStatusText = map[int]string{
	301: "Moved Permanently",
	302: "Found",
	400: "Bad Request",
	403: "Forbidden",
	404: "Not Found",
	405: "Not Allowed",
	408: "Request Time-out",
	413: "Request Entity Too Large",
	500: "Internal Server Error",
	502: "Bad Gateway",
	503: "Service Temporarily Unavailable",
	504: "Gateway Time-out",
}

// elbPage is the HTML body of a response ELB makes itself.
func elbPage(code int) string {
	text := elbStatusText[code]
	if text == "" {
		text = http.StatusText(code)
	}
	line := strconv.Itoa(code) + " " + text
	return "<html>\r\n<head><title>" + line + "</title></head>\r\n<body>\r\n<center><h1>" +
		line + "</h1></center>\r\n</body>\r\n</html>\r\n"
}

func writeELBPage(w http.ResponseWriter, code int) {
	body := elbPage(code)
	hd := w.Header()
	hd.Set("Server", "awselb/2.0")
	hd.Set("Content-Type", "text/html")
	hd.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(code)
	_, _ = w.Write([]byte(body))
}

// redirect answers a redirect action, filling ELB's #{...} placeholders.
func (h *albHandler) redirect(w http.ResponseWriter, r *http.Request, v *listenerView, rd *Redirect) {
	u := redirectURL(rd, r, v.cfg.Protocol, v.realPort, v.lb.portMap)
	w.Header().Set("Location", u)
	writeELBPage(w, redirectCode(rd))
}

// redirectURL builds the Location of a redirect. A port that is another
// listener's configured port of the same LB becomes the port that
// listener really has, so an HTTP-to-HTTPS redirect lands on it.
func redirectURL(rd *Redirect, r *http.Request, listenerProto string, port int, portMap map[int]int) string {
	return redirectURLOf(rd, hostOnly(r.Host), r.URL.EscapedPath(), r.URL.RawQuery, listenerProto, port, portMap)
}

// redirectURLOf is redirectURL for a request's host (without port),
// escaped path and raw query.
func redirectURLOf(rd *Redirect, host, escapedPath, rawQuery, listenerProto string, port int, portMap map[int]int) string {
	if rd == nil {
		rd = &Redirect{}
	}
	vals := map[string]string{
		"#{protocol}": strings.ToLower(listenerProto),
		"#{host}":     host,
		"#{port}":     strconv.Itoa(port),
		"#{path}":     strings.TrimPrefix(escapedPath, "/"),
		"#{query}":    rawQuery,
	}
	sub := func(s, def string) string {
		if s == "" {
			s = def
		}
		for k, val := range vals {
			s = strings.ReplaceAll(s, k, val)
		}
		return s
	}
	proto := strings.ToLower(sub(rd.Protocol, "#{protocol}"))
	rhost := sub(rd.Host, "#{host}")
	p := sub(rd.Port, "#{port}")
	path := sub(rd.Path, "/#{path}")
	if !strings.HasPrefix(path, "/") {
		path = "/" + path
	}
	query := sub(rd.Query, "#{query}")
	if n, err := strconv.Atoi(p); err == nil && portMap[n] != 0 && rd.Port != "#{port}" && rd.Port != "" {
		p = strconv.Itoa(portMap[n])
	}
	u := proto + "://" + rhost
	if !(proto == "http" && p == "80") && !(proto == "https" && p == "443") {
		u += ":" + p
	}
	u += path
	if query != "" {
		u += "?" + query
	}
	return u
}

// fixedResponse answers a fixed-response action.
func fixedResponse(w http.ResponseWriter, f *FixedResponse) {
	if f == nil {
		f = &FixedResponse{StatusCode: http.StatusOK}
	}
	hd := w.Header()
	hd.Set("Server", "awselb/2.0")
	ct := f.ContentType
	if ct == "" {
		ct = "text/plain; charset=utf-8"
	}
	hd.Set("Content-Type", ct)
	hd.Set("Content-Length", strconv.Itoa(len(f.Body)))
	code := f.StatusCode
	if code == 0 {
		code = http.StatusOK
	}
	w.WriteHeader(code)
	_, _ = w.Write([]byte(f.Body))
}

// traceID adds to an incoming X-Amzn-Trace-Id as ALB does: a new Root if
// there is none, else a new (or renewed) Self field, keeping the others.
func traceID(now time.Time, in string) string {
	id := newTraceValue(now)
	if in == "" {
		return "Root=" + id
	}
	fields := strings.Split(in, ";")
	hasRoot := false
	for i, f := range fields {
		k, _, _ := strings.Cut(strings.TrimSpace(f), "=")
		switch k {
		case "Root":
			hasRoot = true
		case "Self":
			fields[i] = "Self=" + id
			return strings.Join(fields, ";")
		}
	}
	if !hasRoot {
		return "Root=" + id + ";" + in
	}
	return "Self=" + id + ";" + in
}

// newTraceValue is version-time-id: 1, 8 hex digits of epoch seconds, 24
// hex digits of randomness.
func newTraceValue(now time.Time) string {
	return string(appendTraceValue(make([]byte, 0, 35), now))
}

// appendTraceValue appends a new trace value (see newTraceValue) to dst.
func appendTraceValue(dst []byte, now time.Time) []byte {
	var b [35]byte
	b[0], b[1], b[10] = '1', '-', '-'
	var t [4]byte
	sec := uint32(now.Unix())
	t[0], t[1], t[2], t[3] = byte(sec>>24), byte(sec>>16), byte(sec>>8), byte(sec)
	hex.Encode(b[2:10], t[:])
	var r [12]byte
	x, y := rand.Uint64(), rand.Uint32()
	for i := range 8 {
		r[i] = byte(x >> (8 * i))
	}
	for i := range 4 {
		r[8+i] = byte(y >> (8 * i))
	}
	hex.Encode(b[11:], r[:])
	return append(dst, b[:]...)
}

// clientIP is the address part of a RemoteAddr.
func clientIP(remote string) string {
	h, _, err := net.SplitHostPort(remote)
	if err != nil {
		return remote
	}
	return h
}
