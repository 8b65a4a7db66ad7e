package gateway

import (
	"net/http"
	"testing"

	"github.com/nephele-dev/nephele/internal/protocol"
)

func scopeOf(r *http.Request) (protocol.Scope, bool) { return protocol.CredentialScope(r) }

// TestCatalogMatchesModels keeps the routing facts the gateway holds without
// parsing models in step with the models themselves.
func TestCatalogMatchesModels(t *testing.T) {
	for _, spec := range Catalog {
		t.Run(spec.SigningName, func(t *testing.T) {
			md := spec.Model().Metadata
			signing := md.SigningName
			if signing == "" {
				signing = md.EndpointPrefix
			}
			if signing != spec.SigningName {
				t.Errorf("signing name: catalog %q, model %q", spec.SigningName, signing)
			}
			if md.TargetPrefix != spec.TargetPrefix {
				t.Errorf("target prefix: catalog %q, model %q", spec.TargetPrefix, md.TargetPrefix)
			}
			wantVersion := ""
			if hasProtocol(spec.Model(), "query") || hasProtocol(spec.Model(), "ec2") {
				wantVersion = md.APIVersion
			}
			if spec.APIVersion != wantVersion {
				t.Errorf("api version: catalog %q, want %q", spec.APIVersion, wantVersion)
			}
		})
	}
}

// TestRoute pins the order of the routing rules.
func TestRoute(t *testing.T) {
	g := newTestGateway(t)
	cases := []struct {
		name    string
		method  string
		path    string
		headers map[string]string
		body    string
		want    string
	}{
		{"sigv4 scope wins over target", "POST", "/", map[string]string{"Authorization": signedFor("sts"), "X-Amz-Target": "Logs_20140328.X"}, "", "sts"},
		{"presigned credential", "GET", "/?X-Amz-Credential=AKID%2F20261123%2Feu-west-1%2Fec2%2Faws4_request&Action=DescribeRegions", nil, "", "ec2"},
		{"target prefix", "POST", "/", map[string]string{"X-Amz-Target": "Logs_20140328.DescribeLogGroups"}, "", "logs"},
		{"rpc v2 path", "POST", "/service/GraniteServiceVersion20100801/operation/ListMetrics", nil, "", "monitoring"},
		{"lambda rest path", "GET", "/2015-03-31/functions", nil, "", "lambda"},
		{"query version in url", "GET", "/?Action=DescribeRegions&Version=2016-11-15", nil, "", "ec2"},
		{"query version in form", "POST", "/", map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, "Action=ListRoles&Version=2010-05-08", "iam"},
		{"unknown signing name", "POST", "/", map[string]string{"Authorization": signedFor("s3")}, "", ""},
		{"nothing to go on", "GET", "/", nil, "", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req := newRequest(tc.method, tc.path, tc.headers, tc.body)
			scope, signed := scopeOf(req)
			e := g.route(req, scope, signed)
			got := ""
			if e != nil {
				got = e.SigningName
			}
			if got != tc.want {
				t.Errorf("routed to %q, want %q", got, tc.want)
			}
		})
	}
}
