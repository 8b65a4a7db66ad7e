package lambda

import (
	"net/http"
	"strings"

	"github.com/nephele-dev/nephele/internal/service"
)

var _ service.Admin = (*Service)(nil)

// codeURL is where GetFunction's Code.Location and GetLayerVersion's
// Content.Location point: nephele itself serves the package (Lambda
// answers a presigned S3 URL, which nephele has no S3 to give).
func (s *Service) codeURL(sc scope, key string) string {
	return strings.TrimSuffix(s.opts.Endpoint(), "/") + "/_nephele/lambda/code/" + sc.account + "/" + sc.region + "/" + key
}

// AdminHandler serves Lambda's admin endpoints: GET
// /_nephele/lambda/code/ACCOUNT/REGION/SHA256 downloads a deployment
// package or layer content.
func (s *Service) AdminHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /code/{account}/{region}/{key}", func(w http.ResponseWriter, r *http.Request) {
		sc := newScope(r.PathValue("account"), r.PathValue("region"))
		b, err := s.readCode(sc, r.PathValue("key"))
		if err != nil {
			http.Error(w, "no such code", http.StatusNotFound)
			return
		}
		w.Header().Set("Content-Type", "application/zip")
		w.Write(b)
	})
	return mux
}
