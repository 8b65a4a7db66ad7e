package awsjson

import (
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	logsapi "github.com/nephele-dev/nephele/internal/api/logs"
	"github.com/nephele-dev/nephele/internal/api/validate"
	"github.com/nephele-dev/nephele/internal/protocol"
)

// FuzzJSONDecode feeds arbitrary bodies to the JSON decoder for Logs
// PutLogEvents (lists of structures, longs), validates and re-encodes.
func FuzzJSONDecode(f *testing.F) {
	for _, s := range []string{
		`{"logGroupName":"g","logStreamName":"s","logEvents":[{"timestamp":1700000000000,"message":"hi"}]}`,
		`{"logEvents":[{"timestamp":1.5}]}`,
		`{"logEvents":{"a":1}}`,
		`{"logGroupName":null,"logEvents":[null,{}]}`,
		`[1,2,3]`,
		`{"logEvents":[{"timestamp":99999999999999999999999}]}`,
		``,
		`{"a":1}{"b":2}`,
	} {
		f.Add(s)
	}
	svc := logsapi.Model()
	op := svc.Operations["PutLogEvents"]
	f.Fuzz(func(t *testing.T, body string) {
		hr := httptest.NewRequest("POST", "/", strings.NewReader(body))
		r := &protocol.Request{HTTP: hr, Body: []byte(body), Service: svc, RequestID: "r"}
		in := &logsapi.PutLogEventsInput{}
		if err := (Codec{}).Decode(r, op, in); err != nil {
			return
		}
		validate.Input(in, op.Input.Shape)
		tree := protocol.ToTree(reflect.ValueOf(in), op.Input.Shape, Options)
		_ = tree
		(Codec{}).Encode(httptest.NewRecorder(), r, op, &logsapi.PutLogEventsOutput{NextSequenceToken: in.LogGroupName})
	})
}
