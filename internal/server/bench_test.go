package server

import (
	"fmt"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// BenchmarkPutMetricData is one query-protocol PutMetricData of 20
// values through the whole server: gateway, codec, validation, handler
// and datapoint store, as bench/ drives it over HTTP.
func BenchmarkPutMetricData(b *testing.B) {
	srv, err := New(Config{})
	if err != nil {
		b.Fatal(err)
	}
	defer srv.Close()
	form := url.Values{"Action": {"PutMetricData"}, "Version": {"2010-08-01"}, "Namespace": {"Bench"}}
	for i := range 20 {
		p := fmt.Sprintf("MetricData.member.%d.", i+1)
		form.Set(p+"MetricName", "CPU")
		form.Set(p+"Dimensions.member.1.Name", "InstanceId")
		form.Set(p+"Dimensions.member.1.Value", fmt.Sprintf("i-%05d", i))
		form.Set(p+"Value", "42")
		form.Set(p+"Unit", "Percent")
	}
	body := form.Encode()
	h := srv.Handler()
	for b.Loop() {
		req := httptest.NewRequest("POST", "/", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
		req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20261123/us-east-1/monitoring/aws4_request, SignedHeaders=host, Signature=00")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != 200 {
			b.Fatalf("%d %s", rec.Code, rec.Body)
		}
	}
}
