package balancer

import (
	"bytes"
)

// The wire decoders of the ALB's connection loop (conn.go): an HTTP/1.1
// request head read from a client and a response head read from a target,
// parsed in place over the bytes buffered so far, without allocating.
//
// They are deliberately narrower than net/http. A head they accept is one
// net/http would read the same way; a head they reject outright (verdict
// headBad) is one net/http answers with 400 too; anything else they are
// unsure of (HTTP/1.0, obsolete line folding, bare LF line ends, a
// request body that is chunked or large, Upgrade, Expect, an unusual
// request target ...) they leave to net/http (headHandoff), which then
// serves the connection exactly as it did before the loop existed.

// Verdicts of parseRequestHead and parseResponseHead.
const (
	headOK         = iota // parsed; the loop serves it
	headIncomplete        // no blank line yet in the bytes given
	headHandoff           // valid or not, net/http decides
	headBad               // malformed: ALB answers 400
)

// maxHeadFields bounds the header fields the loop handles in one head;
// more go to net/http (request) or its response reader (response).
const maxHeadFields = 128

// span is b[i:j] of a head's bytes.
type span struct{ i, j int }

func (s span) of(b []byte) []byte { return b[s.i:s.j] }

// Header fields the loop treats specially; everything else is fieldOther.
const (
	fieldOther = iota
	fieldHost
	fieldContentLength
	fieldTransferEncoding
	fieldConnection
	fieldProxyConnection
	fieldKeepAlive
	fieldProxyAuthenticate
	fieldProxyAuthorization
	fieldTE
	fieldTrailer
	fieldUpgrade
	fieldExpect
	fieldForwarded
	fieldXForwardedFor
	fieldXForwardedHost
	fieldXForwardedProto
	fieldXForwardedPort
	fieldXAmznTraceID
	fieldCookie
	fieldSetCookie
	fieldDate
)

// fieldKinds maps lower-case names to kinds.
var fieldKinds = map[string]uint8{
	"host":                fieldHost,
	"content-length":      fieldContentLength,
	"transfer-encoding":   fieldTransferEncoding,
	"connection":          fieldConnection,
	"proxy-connection":    fieldProxyConnection,
	"keep-alive":          fieldKeepAlive,
	"proxy-authenticate":  fieldProxyAuthenticate,
	"proxy-authorization": fieldProxyAuthorization,
	"te":                  fieldTE,
	"trailer":             fieldTrailer,
	"upgrade":             fieldUpgrade,
	"expect":              fieldExpect,
	"forwarded":           fieldForwarded,
	"x-forwarded-for":     fieldXForwardedFor,
	"x-forwarded-host":    fieldXForwardedHost,
	"x-forwarded-proto":   fieldXForwardedProto,
	"x-forwarded-port":    fieldXForwardedPort,
	"x-amzn-trace-id":     fieldXAmznTraceID,
	"cookie":              fieldCookie,
	"set-cookie":          fieldSetCookie,
	"date":                fieldDate,
}

// fieldKind classifies a header name, case-insensitively.
func fieldKind(name []byte) uint8 {
	if len(name) < 2 || len(name) > 19 {
		return fieldOther
	}
	var low [19]byte
	for i, c := range name {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		low[i] = c
	}
	return fieldKinds[string(low[:len(name)])] // no allocation for a map lookup
}

// field is one header line: its name and its value without surrounding
// blanks, as net/textproto trims it.
type field struct {
	name, value span
	kind        uint8
}

// reqHead is a parsed request head. Its spans index buf.
type reqHead struct {
	buf            []byte
	method, target span
	path, query    span // target split at '?'; query excludes the '?'
	hasQuery       bool // a '?' was there, even with nothing after it
	fields         []field
	host           int   // index in fields
	contentLength  int64 // 0 when absent
	close          bool  // Connection: close
	connTokens     bool  // Connection names other headers, hop-by-hop too
	teTrailers     bool  // TE lists "trailers"
	methodHEAD     bool
	pathEscaped    bool // the path has %-escapes
}

func (h *reqHead) bytes(s span) []byte { return h.buf[s.i:s.j] }

// parseRequestHead parses the request head at the start of b. With
// headOK, n is the head's length, through its blank line.
func parseRequestHead(b []byte, h *reqHead) (n int, verdict int) {
	*h = reqHead{buf: b, fields: h.fields[:0], host: -1}
	line, rest, ok := cutLine(b, 0)
	if !ok {
		return 0, headIncomplete
	}
	if line.j == line.i || b[line.j-1] != '\r' {
		return 0, headHandoff // a bare LF: net/http decides
	}
	l := b[line.i : line.j-1]
	sp1 := bytes.IndexByte(l, ' ')
	if sp1 <= 0 {
		return 0, headBad
	}
	sp2 := bytes.IndexByte(l[sp1+1:], ' ')
	if sp2 < 0 {
		return 0, headBad
	}
	sp2 += sp1 + 1
	h.method = span{line.i, line.i + sp1}
	h.target = span{line.i + sp1 + 1, line.i + sp2}
	for _, c := range l[:sp1] {
		if !isTokenByte(c) {
			return 0, headBad
		}
	}
	switch proto := l[sp2+1:]; {
	case string(proto) == "HTTP/1.1":
	case len(proto) == 8 && string(proto[:5]) == "HTTP/" && isDigit(proto[5]) && proto[6] == '.' && isDigit(proto[7]):
		return 0, headHandoff // HTTP/1.0, HTTP/2.0 (h2c preface), 505s
	default:
		return 0, headBad
	}
	switch v := verdictOfTarget(b, h); v {
	case headOK:
	default:
		return 0, v
	}
	h.methodHEAD = string(h.bytes(h.method)) == "HEAD"

	clSeen := false
	for pos := rest; ; {
		line, next, ok := cutLine(b, pos)
		if !ok {
			return 0, headIncomplete
		}
		if line.j == line.i || b[line.j-1] != '\r' {
			return 0, headHandoff // bare LF
		}
		le := line.j - 1 // before CR
		if le == line.i {
			// The blank line: the head ends here.
			if h.host < 0 {
				return 0, headBad // HTTP/1.1 requires Host
			}
			return next, headOK
		}
		if c := b[line.i]; c == ' ' || c == '\t' {
			return 0, headHandoff // folded line
		}
		colon := bytes.IndexByte(b[line.i:le], ':')
		if colon < 0 {
			return 0, headBad
		}
		if colon == 0 {
			return 0, headBad
		}
		name := span{line.i, line.i + colon}
		for _, c := range name.of(b) {
			switch {
			case isTokenByte(c):
			case c == ' ':
				return 0, headHandoff // net/http keeps such a name as it is
			default:
				return 0, headBad
			}
		}
		val, vok := trimValue(b, line.i+colon+1, le)
		if !vok {
			return 0, headBad
		}
		if len(h.fields) == maxHeadFields {
			return 0, headHandoff
		}
		f := field{name: name, value: val, kind: fieldKind(name.of(b))}
		switch f.kind {
		case fieldHost:
			if h.host >= 0 {
				return 0, headBad // too many Host headers
			}
			if !plainHost(val.of(b)) {
				return 0, headHandoff
			}
			h.host = len(h.fields)
		case fieldContentLength:
			if clSeen {
				return 0, headHandoff
			}
			clSeen = true
			n, ok := parseLength(val.of(b))
			if !ok || n > maxRetryBody {
				return 0, headHandoff
			}
			h.contentLength = n
		case fieldTransferEncoding, fieldUpgrade, fieldExpect:
			return 0, headHandoff
		case fieldConnection:
			for tok := range bytes.SplitSeq(val.of(b), []byte(",")) {
				tok = bytes.Trim(tok, " \t")
				switch {
				case len(tok) == 0:
				case bytes.EqualFold(tok, []byte("close")):
					h.close = true
				case bytes.EqualFold(tok, []byte("keep-alive")):
				default:
					h.connTokens = true
				}
			}
		case fieldTE:
			if containsFold(val.of(b), "trailers") {
				h.teTrailers = true
			}
		}
		h.fields = append(h.fields, f)
		pos = next
	}
}

// verdictOfTarget accepts an origin-form target whose path net/url would
// give back unchanged (so the raw bytes can be forwarded as ReverseProxy
// would write them) and splits it at '?'.
func verdictOfTarget(b []byte, h *reqHead) int {
	t := h.target.of(b)
	if len(t) == 0 {
		return headBad
	}
	for _, c := range t {
		if c < 0x21 || c == 0x7f {
			return headBad // net/url rejects control bytes
		}
	}
	if t[0] != '/' {
		return headHandoff // absolute form, "*", or something net/http judges
	}
	end := len(t)
	if q := bytes.IndexByte(t, '?'); q >= 0 {
		end = q
		h.hasQuery = true
		h.query = span{h.target.i + q + 1, h.target.j}
		for _, c := range t[q+1:] {
			if c >= 0x80 || c == '#' {
				return headHandoff
			}
		}
	}
	h.path = span{h.target.i, h.target.i + end}
	p := t[:end]
	for i := 0; i < len(p); i++ {
		c := p[i]
		switch {
		case c == '%':
			if i+2 >= len(p) || !isHex(p[i+1]) || !isHex(p[i+2]) {
				return headHandoff
			}
			h.pathEscaped = true
			i += 2
		case !pathByte(c):
			return headHandoff
		}
	}
	return headOK
}

// pathByte reports whether net/url leaves c in a path as it is: the
// unreserved characters, sub-delims, ':', '@' and '/'.
func pathByte(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	switch c {
	case '-', '.', '_', '~', '!', '$', '&', '\'', '(', ')', '*', '+', ',', ';', '=', ':', '@', '/':
		return true
	}
	return false
}

// plainHost reports whether a Host value is a plain name or address with
// an optional port, which net/http takes as it is; others go to it.
func plainHost(v []byte) bool {
	if len(v) == 0 {
		return false
	}
	for _, c := range v {
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case c == '-', c == '.', c == ':', c == '[', c == ']', c == '_':
		default:
			return false
		}
	}
	return true
}

// cutLine finds the line starting at pos: its span through the byte
// before '\n', and where the next one starts.
func cutLine(b []byte, pos int) (line span, next int, ok bool) {
	i := bytes.IndexByte(b[pos:], '\n')
	if i < 0 {
		return span{}, 0, false
	}
	return span{pos, pos + i}, pos + i + 1, true
}

// trimValue is a header value between i and j without leading and
// trailing blanks; false if it holds a byte net/textproto rejects.
func trimValue(b []byte, i, j int) (span, bool) {
	for k := i; k < j; k++ {
		if !validValueByte(b[k]) {
			return span{}, false
		}
	}
	for i < j && (b[i] == ' ' || b[i] == '\t') {
		i++
	}
	for j > i && (b[j-1] == ' ' || b[j-1] == '\t') {
		j--
	}
	return span{i, j}, true
}

// validValueByte is net/textproto's rule: visible ASCII, SP, HTAB and
// any byte of 0x80 and above.
func validValueByte(c byte) bool {
	return c >= 0x20 && c != 0x7f || c == '\t'
}

// parseLength parses a Content-Length value: decimal digits only.
func parseLength(v []byte) (int64, bool) {
	if len(v) == 0 || len(v) > 18 {
		return 0, false
	}
	var n int64
	for _, c := range v {
		if !isDigit(c) {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}

// containsFold reports whether b contains the lower-case ASCII word w,
// in any case.
func containsFold(b []byte, w string) bool {
	for i := 0; i+len(w) <= len(b); i++ {
		j := 0
		for j < len(w) && b[i+j]|0x20 == w[j] {
			j++
		}
		if j == len(w) {
			return true
		}
	}
	return false
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// isTokenByte reports whether c may appear in an RFC 9110 token (a
// method or a header name).
func isTokenByte(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	switch c {
	case '!', '#', '$', '%', '&', '\'', '*', '+', '-', '.', '^', '_', '`', '|', '~':
		return true
	}
	return false
}

// respHead is a parsed response head. Its spans index buf.
type respHead struct {
	buf           []byte
	status        int
	fields        []field
	contentLength int64 // -1 when absent
	chunked       bool
	close         bool // Connection: close
	connTokens    []span
	hasDate       bool
}

// parseResponseHead parses the response head at the start of b. It
// answers headOK, headIncomplete, or headHandoff for anything it leaves
// to net/http's response reader (never headBad: that reader decides what
// is malformed).
func parseResponseHead(b []byte, h *respHead) (n int, verdict int) {
	*h = respHead{buf: b, fields: h.fields[:0], connTokens: h.connTokens[:0], contentLength: -1}
	line, rest, ok := cutLine(b, 0)
	if !ok {
		if len(b) >= 12 && string(b[:9]) != "HTTP/1.1 " {
			return 0, headHandoff
		}
		return 0, headIncomplete
	}
	l := b[line.i:line.j]
	if len(l) < 13 || l[len(l)-1] != '\r' || string(l[:9]) != "HTTP/1.1 " ||
		!isDigit(l[9]) || !isDigit(l[10]) || !isDigit(l[11]) || (l[12] != ' ' && l[12] != '\r') || l[9] == '0' {
		return 0, headHandoff
	}
	h.status = int(l[9]-'0')*100 + int(l[10]-'0')*10 + int(l[11]-'0')
	for _, c := range l[12 : len(l)-1] {
		if !validValueByte(c) {
			return 0, headHandoff
		}
	}
	clSeen := false
	for pos := rest; ; {
		line, next, ok := cutLine(b, pos)
		if !ok {
			return 0, headIncomplete
		}
		if line.j == line.i || b[line.j-1] != '\r' {
			return 0, headHandoff
		}
		le := line.j - 1
		if le == line.i {
			if h.chunked && clSeen {
				return 0, headHandoff // net/http drops the length; so be it
			}
			return next, headOK
		}
		if c := b[line.i]; c == ' ' || c == '\t' {
			return 0, headHandoff
		}
		colon := bytes.IndexByte(b[line.i:le], ':')
		if colon <= 0 {
			return 0, headHandoff
		}
		name := span{line.i, line.i + colon}
		for _, c := range name.of(b) {
			if !isTokenByte(c) {
				return 0, headHandoff
			}
		}
		val, vok := trimValue(b, line.i+colon+1, le)
		if !vok || len(h.fields) == maxHeadFields {
			return 0, headHandoff
		}
		f := field{name: name, value: val, kind: fieldKind(name.of(b))}
		switch f.kind {
		case fieldContentLength:
			n, ok := parseLength(val.of(b))
			if clSeen || !ok {
				return 0, headHandoff
			}
			clSeen = true
			h.contentLength = n
		case fieldTransferEncoding:
			if h.chunked || !bytes.EqualFold(val.of(b), []byte("chunked")) {
				return 0, headHandoff
			}
			h.chunked = true
		case fieldConnection:
			for i := val.i; i < val.j; {
				end := val.j
				if c := bytes.IndexByte(b[i:val.j], ','); c >= 0 {
					end = i + c
				}
				t := span{i, end}
				for t.i < t.j && (b[t.i] == ' ' || b[t.i] == '\t') {
					t.i++
				}
				for t.j > t.i && (b[t.j-1] == ' ' || b[t.j-1] == '\t') {
					t.j--
				}
				switch tok := t.of(b); {
				case len(tok) == 0:
				case bytes.EqualFold(tok, []byte("close")):
					h.close = true
				case bytes.EqualFold(tok, []byte("keep-alive")):
				default:
					if len(h.connTokens) == 8 {
						return 0, headHandoff
					}
					h.connTokens = append(h.connTokens, t)
				}
				i = end + 1
			}
		case fieldDate:
			h.hasDate = true
		}
		h.fields = append(h.fields, f)
		pos = next
	}
}

// namedByConnection reports whether a response field is one the
// target's Connection header made hop-by-hop.
func (h *respHead) namedByConnection(f *field) bool {
	for _, t := range h.connTokens {
		if bytes.EqualFold(t.of(h.buf), f.name.of(h.buf)) {
			return true
		}
	}
	return false
}
