package protocol

import (
	"net/http"
	"strings"
)

// Scope is the credential scope of a SigV4-signed request:
// AKID/DATE/REGION/SERVICE/aws4_request.
type Scope struct {
	AccessKeyID, Date, Region, Service string
}

// CredentialScope reads the SigV4 credential from the Authorization header,
// or from X-Amz-Credential for presigned URLs. Signatures are parsed, not
// verified: nephele accepts any credentials.
func CredentialScope(r *http.Request) (Scope, bool) {
	cred := ""
	if auth := r.Header.Get("Authorization"); strings.HasPrefix(auth, "AWS4-") {
		_, rest, _ := strings.Cut(auth, "Credential=")
		cred, _, _ = strings.Cut(rest, ",")
	} else {
		cred = r.URL.Query().Get("X-Amz-Credential")
	}
	parts := strings.Split(strings.TrimSpace(cred), "/")
	if len(parts) != 5 || parts[4] != "aws4_request" {
		return Scope{}, false
	}
	return Scope{AccessKeyID: parts[0], Date: parts[1], Region: parts[2], Service: parts[3]}, true
}
