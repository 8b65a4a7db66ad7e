package restjson

import (
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	lambdaapi "github.com/nephele-dev/nephele/internal/api/lambda"
	"github.com/nephele-dev/nephele/internal/api/validate"
	"github.com/nephele-dev/nephele/internal/protocol"
)

// FuzzRESTJSONDecode feeds arbitrary method, path, header and body to the
// REST-JSON router and decoder for Lambda: route, decode and validate
// whatever operation matches, with a generated input for the ones that
// carry URI labels, query strings, headers and payloads.
func FuzzRESTJSONDecode(f *testing.F) {
	f.Add("POST", "/2015-03-31/functions/hello/invocations?Qualifier=1", "Event", `{"a":1}`)
	f.Add("POST", "/2015-03-31/functions", "", `{"FunctionName":"f","Role":"arn:aws:iam::000000000000:role/r","Code":{"ZipFile":"UEsDBA=="},"Timeout":3}`)
	f.Add("GET", "/2015-03-31/functions/f/aliases/a%2Fb", "", ``)
	f.Add("GET", "/2019-09-30/functions/f/provisioned-concurrency?List=ALL&MaxItems=x", "", ``)
	f.Add("GET", "/2018-10-31/layers?find=LayerVersion&Arn=x", "", ``)
	f.Add("PUT", "/2017-10-31/functions/f/concurrency", "", `{"ReservedConcurrentExecutions":"ten"}`)
	svc := lambdaapi.Model()
	inputs := map[string]func() any{
		"Invoke":                            func() any { return &lambdaapi.InvokeInput{} },
		"CreateFunction":                    func() any { return &lambdaapi.CreateFunctionInput{} },
		"GetAlias":                          func() any { return &lambdaapi.GetAliasInput{} },
		"ListProvisionedConcurrencyConfigs": func() any { return &lambdaapi.ListProvisionedConcurrencyConfigsInput{} },
		"GetLayerVersionByArn":              func() any { return &lambdaapi.GetLayerVersionByArnInput{} },
		"PutFunctionConcurrency":            func() any { return &lambdaapi.PutFunctionConcurrencyInput{} },
		"ListFunctions":                     func() any { return &lambdaapi.ListFunctionsInput{} },
	}
	f.Fuzz(func(t *testing.T, method, path, invocationType, body string) {
		u, err := url.ParseRequestURI(path)
		if err != nil || !strings.HasPrefix(path, "/") {
			return
		}
		hr := httptest.NewRequest("GET", "/", strings.NewReader(body))
		hr.Method, hr.URL = method, u
		hr.Header.Set("X-Amz-Invocation-Type", invocationType)
		r := &protocol.Request{HTTP: hr, Body: []byte(body), Service: svc, RequestID: "r"}
		name, err := (Codec{}).Operation(r)
		if err != nil {
			return
		}
		newInput, ok := inputs[name]
		if !ok {
			return
		}
		op := svc.Operations[name]
		in := newInput()
		if err := (Codec{}).Decode(r, op, in); err != nil {
			return
		}
		validate.Input(in, op.Input.Shape)
		(Codec{}).Encode(httptest.NewRecorder(), r, svc.Operations["Invoke"], &lambdaapi.InvokeOutput{Payload: []byte(body), ExecutedVersion: &name})
	})
}
