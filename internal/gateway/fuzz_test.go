package gateway

import (
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// FuzzGateway sends arbitrary requests through routing, every codec and
// validation to the fake services: whatever arrives, the answer is an AWS
// error or a success, never a 5xx (a panic becomes InternalFailure 500).
func FuzzGateway(f *testing.F) {
	for _, tc := range goldenCases(&testing.T{}) {
		hdr := make([]string, 0, 4)
		for _, k := range []string{"Authorization", "X-Amz-Target", "Content-Type", "Smithy-Protocol"} {
			hdr = append(hdr, tc.headers[k])
		}
		f.Add(tc.method, tc.path, hdr[0], hdr[1], hdr[2], hdr[3], tc.body)
	}
	g := newTestGateway(&testing.T{})
	f.Fuzz(func(t *testing.T, method, path, auth, target, ctype, smithy string, body []byte) {
		u, err := url.ParseRequestURI(path)
		if err != nil || !strings.HasPrefix(path, "/") || strings.HasPrefix(path, "/_nephele/") {
			return
		}
		if method == "" || strings.ContainsAny(method, " \t\r\n") {
			return
		}
		req := httptest.NewRequest("GET", "/", strings.NewReader(string(body)))
		req.Method, req.URL = method, u
		for k, v := range map[string]string{"Authorization": auth, "X-Amz-Target": target, "Content-Type": ctype, "Smithy-Protocol": smithy} {
			if v != "" {
				req.Header.Set(k, v)
			}
		}
		rec := httptest.NewRecorder()
		g.ServeHTTP(rec, req)
		if rec.Code >= 500 && rec.Code != 501 {
			t.Fatalf("%s %s: status %d: %s", method, path, rec.Code, rec.Body.String())
		}
	})
}
