package restjson

import (
	"net/http/httptest"
	"testing"

	lambdaapi "github.com/nephele-dev/nephele/internal/api/lambda"
	"github.com/nephele-dev/nephele/internal/protocol"
)

// TestRouting pins which Lambda operation a method and path select, and the
// labels captured: literal segments beat labels, query literals break ties.
func TestRouting(t *testing.T) {
	cases := []struct {
		method, path string
		op           string
		labels       map[string]string
	}{
		{"GET", "/2015-03-31/functions", "ListFunctions", nil},
		{"GET", "/2015-03-31/functions/", "ListFunctions", nil},
		{"POST", "/2015-03-31/functions", "CreateFunction", nil},
		{"GET", "/2015-03-31/functions/f1", "GetFunction", map[string]string{"FunctionName": "f1"}},
		{"GET", "/2015-03-31/functions/f1/configuration", "GetFunctionConfiguration", map[string]string{"FunctionName": "f1"}},
		{"POST", "/2015-03-31/functions/f1/invocations", "Invoke", map[string]string{"FunctionName": "f1"}},
		{"GET", "/2015-03-31/functions/arn%3Aaws%3Alambda%3Aus-east-1%3A000000000000%3Afunction%3Af1/aliases/live", "GetAlias", map[string]string{"FunctionName": "arn:aws:lambda:us-east-1:000000000000:function:f1", "Name": "live"}},
		{"GET", "/2019-09-30/functions/f1/provisioned-concurrency?List=ALL", "ListProvisionedConcurrencyConfigs", map[string]string{"FunctionName": "f1"}},
		{"GET", "/2019-09-30/functions/f1/provisioned-concurrency?Qualifier=1", "GetProvisionedConcurrencyConfig", map[string]string{"FunctionName": "f1"}},
		{"GET", "/2018-10-31/layers?find=LayerVersion&Arn=x", "GetLayerVersionByArn", nil},
		{"GET", "/2018-10-31/layers", "ListLayers", nil},
	}
	svc := lambdaapi.Model()
	for _, tc := range cases {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			r := &protocol.Request{HTTP: httptest.NewRequest(tc.method, tc.path, nil), Service: svc}
			op, err := Codec{}.Operation(r)
			if err != nil || op != tc.op {
				t.Fatalf("operation = %q, %v; want %s", op, err, tc.op)
			}
			for k, v := range tc.labels {
				if r.PathParams[k] != v {
					t.Errorf("label %s = %q, want %q", k, r.PathParams[k], v)
				}
			}
		})
	}
}
