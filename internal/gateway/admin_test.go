package gateway

import (
	"net/http"
	"net/http/httptest"
	"testing"

	ec2api "github.com/nephele-dev/nephele/internal/api/ec2"
	"github.com/nephele-dev/nephele/internal/service"
)

// adminService is a fake service with an admin endpoint that echoes the
// path it receives.
type adminService struct{ fakeService }

func (a *adminService) AdminHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(r.Method + " " + r.URL.Path))
	})
}

// TestServiceAdmin checks that /_nephele/<service>/... reaches that
// service's admin handler with the prefix stripped, and that other admin
// paths still answer 404.
func TestServiceAdmin(t *testing.T) {
	ec2 := &adminService{fakeService{name: "ec2", model: ec2api.Model}}
	g, err := New(Config{AccountID: "000000000000", Services: []service.Service{ec2}})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		method, path string
		status       int
		body         string
	}{
		{"POST", "/_nephele/ec2/spot-interruption", 200, "POST /spot-interruption"},
		{"GET", "/_nephele/ec2/", 200, "GET /"},
		{"POST", "/_nephele/iam/anything", 404, ""},
		{"POST", "/_nephele/ec2", 404, ""},
	}
	for _, tt := range tests {
		rec := httptest.NewRecorder()
		g.ServeHTTP(rec, httptest.NewRequest(tt.method, tt.path, nil))
		if rec.Code != tt.status || (tt.body != "" && rec.Body.String() != tt.body) {
			t.Errorf("%s %s = %d %q, want %d %q", tt.method, tt.path, rec.Code, rec.Body.String(), tt.status, tt.body)
		}
	}
}
