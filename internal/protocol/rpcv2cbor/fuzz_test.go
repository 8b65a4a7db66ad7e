package rpcv2cbor

import (
	"bytes"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/fxamacker/cbor/v2"

	cwapi "github.com/nephele-dev/nephele/internal/api/cloudwatch"
	"github.com/nephele-dev/nephele/internal/api/validate"
	"github.com/nephele-dev/nephele/internal/protocol"
)

// FuzzCBORDecode feeds arbitrary bytes to the CBOR decoder for CloudWatch
// PutMetricData (nested lists, doubles, tagged timestamps), validates and
// re-encodes.
func FuzzCBORDecode(f *testing.F) {
	em, _ := cbor.EncOptions{Sort: cbor.SortBytewiseLexical, Time: cbor.TimeUnixDynamic, TimeTag: cbor.EncTagRequired}.EncMode()
	seed := func(v any) {
		b, err := em.Marshal(v)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	seed(map[string]any{"Namespace": "App", "MetricData": []any{map[string]any{"MetricName": "Latency", "Value": 1.5, "Timestamp": time.Unix(1700000000, 0), "Dimensions": []any{map[string]any{"Name": "a", "Value": "b"}}}}})
	seed(map[string]any{"MetricData": []any{map[string]any{"Values": []any{1, 2.5, -3}, "Counts": []any{1, 1, 1}, "StorageResolution": 1}}})
	seed(map[string]any{"MetricData": "not a list"})
	f.Add([]byte{})
	f.Add([]byte{0xbf, 0x61})
	f.Add([]byte{0x9f, 0x9f, 0x9f, 0x9f, 0xff})
	f.Add([]byte{0xc1, 0xfb, 0x7f, 0xf8, 0, 0, 0, 0, 0, 0})
	svc := cwapi.Model()
	op := svc.Operations["PutMetricData"]
	f.Fuzz(func(t *testing.T, body []byte) {
		hr := httptest.NewRequest("POST", "/service/GraniteServiceVersion20100801/operation/PutMetricData", bytes.NewReader(body))
		r := &protocol.Request{HTTP: hr, Body: body, Service: svc, RequestID: "r"}
		in := &cwapi.PutMetricDataInput{}
		if err := (Codec{}).Decode(r, op, in); err != nil {
			return
		}
		validate.Input(in, op.Input.Shape)
		(Codec{}).Encode(httptest.NewRecorder(), r, svc.Operations["ListMetrics"], &cwapi.ListMetricsOutput{NextToken: in.Namespace})
	})
}
