package gateway

import (
	"bytes"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestBodyLimit answers an oversized body with 413 in the protocol's error
// shape instead of reading it all.
func TestBodyLimit(t *testing.T) {
	g := newTestGateway(t)
	cases := []struct {
		name    string
		headers map[string]string
		want    string
	}{
		{"query", form("sts", ""), "<Code>RequestEntityTooLarge</Code>"},
		{"json", map[string]string{"X-Amz-Target": "Logs_20140328.DescribeLogGroups", "Content-Type": "application/x-amz-json-1.1"}, `"__type":"RequestEntityTooLarge"`},
	}
	body := bytes.Repeat([]byte("a"), DefaultMaxBody+1)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest("POST", "http://127.0.0.1:4566/", bytes.NewReader(body))
			for k, v := range tc.headers {
				req.Header.Set(k, v)
			}
			rec := httptest.NewRecorder()
			g.ServeHTTP(rec, req)
			if rec.Code != 413 || !strings.Contains(rec.Body.String(), tc.want) {
				t.Errorf("got %d %s, want 413 with %s", rec.Code, rec.Body.String(), tc.want)
			}
		})
	}
}
