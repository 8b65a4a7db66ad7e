package protocol

import (
	"net/http"

	"github.com/nephele-dev/nephele/internal/api/model"
	"github.com/nephele-dev/nephele/internal/awserr"
)

// ErrorType is the exception shape name a JSON or CBOR error carries in
// __type for code. Services hand errors to codecs with the code their query
// protocol uses (a query-compatible service's canonical code); the model
// maps it back to the shape name.
func ErrorType(svc *model.Service, code string) string {
	if svc != nil {
		if sh := svc.ErrorShape(code); sh != nil {
			return sh.Name
		}
	}
	return code
}

// SetQueryError adds the x-amzn-query-error header that query-compatible
// services send so clients can report the query protocol's error code.
func SetQueryError(h http.Header, svc *model.Service, e *awserr.Error) {
	if svc == nil || !svc.Metadata.QueryCompatible() {
		return
	}
	fault := "Sender"
	if e.Receiver {
		fault = "Receiver"
	}
	h.Set("x-amzn-query-error", e.Code+";"+fault)
}
