package gateway

import (
	"bytes"
	"net/http/httptest"
	"testing"
)

// BenchmarkGateway measures one request through routing, decoding,
// validation, the handler and encoding, per protocol, in-process.
func BenchmarkGateway(b *testing.B) {
	g := newTestGateway(&testing.T{})
	byName := map[string]goldenCase{}
	for _, tc := range goldenCases(&testing.T{}) {
		byName[tc.name] = tc
	}
	for _, name := range []string{"query_sts_get_caller_identity", "query_iam_create_role_tags", "ec2_describe_regions", "json_logs_describe", "cbor_cloudwatch_list_metrics", "restjson_lambda_get_function"} {
		tc := byName[name]
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				req := httptest.NewRequest(tc.method, "http://127.0.0.1:4566"+tc.path, bytes.NewReader(tc.body))
				for k, v := range tc.headers {
					req.Header.Set(k, v)
				}
				rec := httptest.NewRecorder()
				g.ServeHTTP(rec, req)
				if rec.Code != 200 {
					b.Fatalf("status %d: %s", rec.Code, rec.Body.String())
				}
			}
		})
	}
}
