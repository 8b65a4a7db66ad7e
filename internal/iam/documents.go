package iam

import (
	"encoding/json"
	"net/url"
	"strings"
	"unicode"
)

// Policy size quotas from "IAM and AWS STS quotas" in the IAM User Guide.
// IAM does not count white space against them.
const (
	// maxTrustPolicySize is ACLSizePerRole, the default quota on a role's
	// trust policy.
	maxTrustPolicySize = 2048
	// maxManagedPolicySize is the quota on one managed policy document.
	maxManagedPolicySize = 6144
)

// checkPolicyDocument applies the grammar checks IAM makes before it keeps
// a policy: the document is a JSON object with a Statement (one object or a
// list of them), each statement's Effect is Allow or Deny, and a Version, if
// given, is one of the two policy language versions.
func checkPolicyDocument(doc string) error {
	_, _, err := parsePolicy(doc)
	return err
}

// parsePolicy applies checkPolicyDocument's checks and returns the
// document's top-level members and its statements.
func parsePolicy(doc string) (top map[string]json.RawMessage, statements []map[string]json.RawMessage, err error) {
	if err := json.Unmarshal([]byte(doc), &top); err != nil {
		return nil, nil, malformedPolicy("This policy contains invalid Json")
	}
	if v, ok := top["Version"]; ok {
		var version string
		if json.Unmarshal(v, &version) != nil || (version != "2012-10-17" && version != "2008-10-17") {
			return nil, nil, malformedPolicy("The policy failed legacy parsing")
		}
	}
	raw, ok := top["Statement"]
	if !ok {
		return nil, nil, malformedPolicy("Syntax errors in policy.")
	}
	if json.Unmarshal(raw, &statements) != nil {
		var one map[string]json.RawMessage
		if json.Unmarshal(raw, &one) != nil {
			return nil, nil, malformedPolicy("Syntax errors in policy.")
		}
		statements = append(statements, one)
	}
	for _, st := range statements {
		var effect string
		if json.Unmarshal(st["Effect"], &effect) != nil {
			return nil, nil, malformedPolicy("Missing required field Effect")
		}
		if effect != "Allow" && effect != "Deny" {
			return nil, nil, malformedPolicy("Invalid effect: %s", effect)
		}
	}
	return top, statements, nil
}

// checkManagedPolicyDocument applies the rules IAM has for the document of
// a managed policy (CreatePolicy, CreatePolicyVersion): it is an identity
// policy (checkIdentityPolicy) written in the current policy language,
// 2012-10-17; IAM answers a document without a Version, or with
// 2008-10-17, "Policy document must be version 2012-10-17 or greater."
func checkManagedPolicyDocument(doc string) error {
	top, statements, err := parsePolicy(doc)
	if err != nil {
		return err
	}
	var version string
	if json.Unmarshal(top["Version"], &version) != nil || version != "2012-10-17" {
		return malformedPolicy("Policy document must be version 2012-10-17 or greater.")
	}
	return identityRules(statements)
}

// checkIdentityPolicy applies, on top of checkPolicyDocument's grammar, the
// rules of identity-based policies, which grant permissions to whatever
// they are attached to: no statement names a principal ("Policy document
// should not specify a principal."), and every statement has an Action or
// NotAction and a Resource or NotResource ("Policy statement must contain
// actions." / "... resources."). Trust policies follow other rules.
func checkIdentityPolicy(doc string) error {
	_, statements, err := parsePolicy(doc)
	if err != nil {
		return err
	}
	return identityRules(statements)
}

// identityRules is checkIdentityPolicy on parsed statements.
func identityRules(statements []map[string]json.RawMessage) error {
	has := func(st map[string]json.RawMessage, members ...string) bool {
		for _, m := range members {
			if _, ok := st[m]; ok {
				return true
			}
		}
		return false
	}
	for _, st := range statements {
		if has(st, "Principal", "NotPrincipal") {
			return malformedPolicy("Policy document should not specify a principal.")
		}
	}
	for _, st := range statements {
		if !has(st, "Action", "NotAction") {
			return malformedPolicy("Policy statement must contain actions.")
		}
	}
	for _, st := range statements {
		if !has(st, "Resource", "NotResource") {
			return malformedPolicy("Policy statement must contain resources.")
		}
	}
	return nil
}

// policySize is a document's size as IAM counts it against its quotas:
// characters other than white space.
func policySize(doc string) int {
	n := 0
	for _, c := range doc {
		if !unicode.IsSpace(c) {
			n++
		}
	}
	return n
}

// encodeDocument returns a policy document the way IAM returns every policy
// document (GetRole's AssumeRolePolicyDocument, GetRolePolicy's and
// GetPolicyVersion's): URL-encoded per RFC 3986. Clients undo it: botocore
// and the CLI decode it into JSON, Terraform and Go SDK users call
// url.QueryUnescape, which reads "+" as a space, so spaces must be %20 and a
// literal "+" %2B, as url.QueryEscape makes it.
func encodeDocument(doc string) string {
	return strings.ReplaceAll(url.QueryEscape(doc), "+", "%20")
}
