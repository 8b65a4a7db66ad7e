package iam

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	_ "embed"
	"encoding/json"
	"io"
	"math/big"
	"strings"
	"sync"
	"time"
)

// awsAccount is the account field of AWS managed policy ARNs,
// arn:aws:iam::aws:policy/NAME.
const awsAccount = "aws"

// managedGz is the catalogue of AWS managed policies, written by
// `go generate` (see gen/main.go): AWS's documents, paths, default version
// IDs and dates for the policies people attach most.
//
//go:embed managed_policies.json.gz
var managedGz []byte

// managedEntry is one policy of the catalogue file.
type managedEntry struct {
	Name             string
	Path             string
	Description      string
	DefaultVersionId string
	CreateDate       string
	UpdateDate       string
	Document         string
}

// managedPolicies returns the AWS managed policies by lower-case name,
// parsed on first use. Callers must not modify the records.
var managedPolicies = sync.OnceValue(func() map[string]*policyRecord {
	zr, err := gzip.NewReader(bytes.NewReader(managedGz))
	if err != nil {
		panic("iam: managed policy catalogue: " + err.Error())
	}
	data, err := io.ReadAll(zr)
	if err != nil {
		panic("iam: managed policy catalogue: " + err.Error())
	}
	var entries []managedEntry
	if err := json.Unmarshal(data, &entries); err != nil {
		panic("iam: managed policy catalogue: " + err.Error())
	}
	out := make(map[string]*policyRecord, len(entries))
	for _, e := range entries {
		created, err1 := time.Parse(time.RFC3339, e.CreateDate)
		updated, err2 := time.Parse(time.RFC3339, e.UpdateDate)
		if err1 != nil || err2 != nil {
			panic("iam: managed policy catalogue: bad date for " + e.Name)
		}
		out[strings.ToLower(e.Name)] = &policyRecord{
			Name:           e.Name,
			ID:             managedPolicyID(e.Name),
			Path:           e.Path,
			Description:    e.Description,
			Created:        created.UTC(),
			Updated:        updated.UTC(),
			DefaultVersion: e.DefaultVersionId,
			// Only the default version is known; it was made when the
			// policy was last updated.
			Versions: []policyVersion{{ID: e.DefaultVersionId, Document: e.Document, Created: updated.UTC()}},
		}
	}
	return out
})

// managedPolicyID is a stable policy ID for an AWS managed policy: "ANPA"
// and 17 characters of [A-Z0-9], as IAM's IDs look, drawn from a hash of the
// name so every account and every run sees the same ID, as with AWS's own.
func managedPolicyID(name string) string {
	sum := sha256.Sum256([]byte("aws-managed-policy/" + name))
	s := strings.ToUpper(new(big.Int).SetBytes(sum[:]).Text(36))
	return "ANPA" + s[:17]
}
