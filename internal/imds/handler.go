package imds

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// The IMDSv2 headers, spelled as the user guide spells them.
const (
	tokenHeader    = "X-aws-ec2-metadata-token"
	tokenTTLHeader = "X-aws-ec2-metadata-token-ttl-seconds"
	tokenPath      = "/latest/api/token"
	// maxTokenTTL is six hours: "a minimum of one second and a maximum of
	// six hours" ("How Instance Metadata Service Version 2 works").
	maxTokenTTL = 21600
)

// versions are the metadata builds "Get the available versions of the
// instance metadata" lists. Every one serves the latest tree: a script
// pinned to an old build still finds its categories, and sees newer ones
// too.
var versions = []string{
	"1.0", "2007-01-19", "2007-03-01", "2007-08-29", "2007-10-10", "2007-12-15",
	"2008-02-01", "2008-09-01", "2009-04-04", "2011-01-01", "2011-05-01", "2012-01-12",
	"2014-02-25", "2014-11-05", "2015-10-20", "2016-04-19", "2016-06-30", "2016-09-02",
	"2018-03-28", "2018-08-17", "2018-09-24", "2019-10-01", "2020-10-27", "2021-01-03",
	"2021-03-23", "latest",
}

func knownVersion(v string) bool {
	for _, k := range versions {
		if k == v {
			return true
		}
	}
	return false
}

// serve answers one request to l's instance.
func (s *Server) serve(l *instanceListener, w http.ResponseWriter, r *http.Request) {
	if !l.enter() {
		// Closing: drop the connection rather than let net/http answer an
		// empty 200.
		panic(http.ErrAbortHandler)
	}
	defer l.active.Done()
	// Real IMDS names itself so; some tools log it.
	w.Header().Set("Server", "EC2ws")

	inst, ok := s.cfg.Source.Instance(l.id)
	// "403 - Forbidden – The request is not allowed or the instance
	// metadata service is turned off." ("Retrieve instance metadata")
	if !ok || inst.MetadataOptions.HTTPEndpoint == "disabled" {
		writeError(w, http.StatusForbidden)
		return
	}
	switch r.Method {
	case http.MethodPut:
		s.putToken(l, w, r)
	case http.MethodGet, http.MethodHead:
		if status := s.authorize(l, inst, r); status != 0 {
			writeError(w, status)
			return
		}
		s.get(l, inst, w, r)
	default:
		w.Header().Set("Allow", "GET, HEAD, PUT")
		writeError(w, http.StatusMethodNotAllowed)
	}
}

// putToken starts an IMDSv2 session.
func (s *Server) putToken(l *instanceListener, w http.ResponseWriter, r *http.Request) {
	// "Issuing PUT requests to any version-specific path, for example
	// /2021-03-23/api/token, will result in the metadata service returning
	// 403 Forbidden errors"; we refuse PUT to every other path the same way.
	if r.URL.Path != tokenPath {
		writeError(w, http.StatusForbidden)
		return
	}
	// "PUT requests are rejected if they contain an X-Forwarded-For header":
	// a reverse proxy on the instance must not hand out sessions.
	if _, ok := r.Header["X-Forwarded-For"]; ok {
		writeError(w, http.StatusForbidden)
		return
	}
	ttl, ok := parseTTL(r.Header.Get(tokenTTLHeader))
	if !ok {
		// "400 - Missing or Invalid Parameters – The PUT request is not valid."
		writeError(w, http.StatusBadRequest)
		return
	}
	token := s.issueToken(l, s.cfg.Clock.Now().Add(time.Duration(ttl)*time.Second))
	// The SDKs read the session length back from this header.
	w.Header().Set(tokenTTLHeader, strconv.Itoa(ttl))
	w.Header().Set("Content-Type", "text/plain")
	w.Write([]byte(token))
}

// parseTTL accepts whole seconds from 1 to 21600, digits only.
func parseTTL(v string) (int, bool) {
	if v == "" || len(v) > 5 || strings.Trim(v, "0123456789") != "" {
		return 0, false
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > maxTokenTTL {
		return 0, false
	}
	return n, true
}

// authorize returns 0 if the request may read metadata, else the status
// to refuse it with. A request carrying a token is an IMDSv2 request whether
// or not tokens are required, so a bad token is refused either way; a
// request without one is IMDSv1, refused only when tokens are required.
// Both refusals are "401 - Unauthorized" ("Use IMDSv2").
func (s *Server) authorize(l *instanceListener, inst Instance, r *http.Request) int {
	if vals, ok := r.Header[http.CanonicalHeaderKey(tokenHeader)]; ok {
		if len(vals) != 1 || !s.validToken(l, vals[0]) {
			return http.StatusUnauthorized
		}
		return 0
	}
	if inst.MetadataOptions.HTTPTokens == "required" {
		return http.StatusUnauthorized
	}
	return 0
}

// Tokens are self-contained: expiry and a nonce, with an HMAC over them,
// the instance and its listener's generation. So a token is only good on the
// instance it was issued to, only until it expires on the clock, and never
// after the instance was removed, with no table to grow or sweep however
// many sessions clients open ("There is no practical limit on the number of
// concurrent tokens").
const (
	tokenPayloadLen = 16 // expiry (unix nanoseconds) and a nonce
	tokenMACLen     = 24
)

func (s *Server) issueToken(l *instanceListener, expires time.Time) string {
	b := make([]byte, tokenPayloadLen, tokenPayloadLen+tokenMACLen)
	binary.BigEndian.PutUint64(b, uint64(expires.UnixNano()))
	rand.Read(b[8:tokenPayloadLen])
	b = append(b, s.tokenMAC(l, b)...)
	return base64.StdEncoding.EncodeToString(b)
}

func (s *Server) validToken(l *instanceListener, token string) bool {
	b, err := base64.StdEncoding.DecodeString(token)
	if err != nil || len(b) != tokenPayloadLen+tokenMACLen {
		return false
	}
	payload, mac := b[:tokenPayloadLen], b[tokenPayloadLen:]
	if !hmac.Equal(mac, s.tokenMAC(l, payload)) {
		return false
	}
	expires := time.Unix(0, int64(binary.BigEndian.Uint64(payload)))
	return s.cfg.Clock.Now().Before(expires)
}

func (s *Server) tokenMAC(l *instanceListener, payload []byte) []byte {
	m := hmac.New(sha256.New, s.tokenKey)
	m.Write(payload)
	var gen [8]byte
	binary.BigEndian.PutUint64(gen[:], l.gen)
	m.Write(gen[:])
	m.Write([]byte(l.id))
	return m.Sum(nil)[:tokenMACLen]
}

// get serves a metadata path: the version list at /, a listing for a
// directory (with or without its trailing slash), or a leaf's value. A
// leaf asked for with a trailing slash is still the leaf: botocore asks for
// placement/availability-zone/ so, and AWS answers it.
func (s *Server) get(l *instanceListener, inst Instance, w http.ResponseWriter, r *http.Request) {
	path := r.URL.Path
	if path == "/" {
		writeText(w, strings.Join(versions, "\n"))
		return
	}
	version, rest, _ := strings.Cut(strings.TrimPrefix(path, "/"), "/")
	if !knownVersion(version) {
		writeError(w, http.StatusNotFound)
		return
	}
	rest = strings.TrimSuffix(rest, "/")
	if version == "latest" && rest == "api/token" {
		w.Header().Set("Allow", "PUT")
		writeError(w, http.StatusMethodNotAllowed)
		return
	}
	t := s.tree(l, inst)
	if lf, ok := t.leaves[rest]; ok {
		body, contentType, err := lf(r.Context())
		if err != nil {
			s.cfg.Logger.Warn("imds: serving metadata", "instance", l.id, "path", path, "err", err)
			writeError(w, http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", contentType)
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.Write(body)
		return
	}
	if list, ok := t.list(rest); ok {
		writeText(w, list)
		return
	}
	writeError(w, http.StatusNotFound)
}

// writeText answers 200 with text/plain, the content type of all instance
// metadata ("Responses and error messages").
func writeText(w http.ResponseWriter, body string) {
	w.Header().Set("Content-Type", "text/plain")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.Write([]byte(body))
}

// writeError answers with the small XHTML page the real IMDS sends with
// its errors.
func writeError(w http.ResponseWriter, status int) {
	title := fmt.Sprintf("%d - %s", status, http.StatusText(status))
	body := `<?xml version="1.0" encoding="iso-8859-1"?>
<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN"
	"http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd">
<html xmlns="http://www.w3.org/1999/xhtml" xml:lang="en" lang="en">
 <head>
  <title>` + title + `</title>
 </head>
 <body>
  <h1>` + title + `</h1>
 </body>
</html>
`
	w.Header().Set("Content-Type", "text/html")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	w.Write([]byte(body))
}
