package iam

import (
	"errors"
	"strings"
	"time"

	"github.com/nephele-dev/nephele/internal/store"
)

// Store buckets. Every key but an access key's is "<account>/<lower-case
// name>": IAM names are unique per account without regard to case ("you
// cannot create resources named both MyResource and myresource"), and the
// lower-case key also orders listings alphabetically, as IAM lists them.
// Access keys are keyed by their ID alone, because STS must find a key's
// owner knowing nothing else.
const (
	bucketRoles            = "iam/roles"
	bucketUsers            = "iam/users"
	bucketGroups           = "iam/groups"
	bucketPolicies         = "iam/policies"
	bucketInstanceProfiles = "iam/instanceprofiles"
	bucketAccessKeys       = "iam/accesskeys"
	bucketDeletionTasks    = "iam/deletiontasks"
)

// key is the store key of a named resource of account.
func key(account, name string) string {
	return account + "/" + strings.ToLower(name)
}

// accountPrefix is the key prefix of every record of account.
func accountPrefix(account string) string { return account + "/" }

// grants is what a role, user or group may do: its inline policies, the
// managed policies attached to it and its permissions boundary. The three
// records embed it so the rules for them are written once (principals.go).
type grants struct {
	Inline   []inlinePolicy `json:"inline,omitempty"`
	Attached []string       `json:"attached,omitempty"` // policy ARNs, in attach order
	Boundary string         `json:"boundary,omitempty"` // policy ARN; groups have none
}

// inlinePolicy is a policy embedded in one role, user or group.
type inlinePolicy struct {
	Name     string `json:"name"`
	Document string `json:"document"` // as the client sent it
}

// roleRecord is a stored role.
type roleRecord struct {
	Name               string    `json:"name"`
	ID                 string    `json:"id"`
	Path               string    `json:"path"`
	AssumeRolePolicy   string    `json:"assumeRolePolicy"`
	Description        string    `json:"description,omitempty"`
	MaxSessionDuration int32     `json:"maxSessionDuration"`
	Created            time.Time `json:"created"`
	Tags               []tag     `json:"tags,omitempty"`
	grants
}

// userRecord is a stored user.
type userRecord struct {
	Name    string    `json:"name"`
	ID      string    `json:"id"`
	Path    string    `json:"path"`
	Created time.Time `json:"created"`
	Tags    []tag     `json:"tags,omitempty"`
	grants
}

// groupRecord is a stored group. Membership lives here, as user names.
type groupRecord struct {
	Name    string    `json:"name"`
	ID      string    `json:"id"`
	Path    string    `json:"path"`
	Created time.Time `json:"created"`
	Members []string  `json:"members,omitempty"`
	grants
}

// instanceProfileRecord is a stored instance profile; Roles holds role
// names (IAM allows at most one).
type instanceProfileRecord struct {
	Name    string    `json:"name"`
	ID      string    `json:"id"`
	Path    string    `json:"path"`
	Created time.Time `json:"created"`
	Roles   []string  `json:"roles,omitempty"`
	Tags    []tag     `json:"tags,omitempty"`
}

// policyRecord is a managed policy: a customer managed one from the store,
// or an AWS managed one from the catalogue (managed.go).
type policyRecord struct {
	Name           string          `json:"name"`
	ID             string          `json:"id"`
	Path           string          `json:"path"`
	Description    string          `json:"description,omitempty"`
	Created        time.Time       `json:"created"`
	DefaultVersion string          `json:"defaultVersion"`
	NextVersion    int             `json:"nextVersion"` // number of the next version created
	Versions       []policyVersion `json:"versions"`    // oldest first
	Tags           []tag           `json:"tags,omitempty"`
	// Updated overrides the derived UpdateDate; only AWS managed policies,
	// whose older versions the catalogue does not hold, set it.
	Updated time.Time `json:"updated,omitzero"`
}

// policyVersion is one version of a managed policy.
type policyVersion struct {
	ID       string    `json:"id"`
	Document string    `json:"document"`
	Created  time.Time `json:"created"`
}

// accessKeyRecord is a stored access key. UserName is "" for a key of the
// account's root user.
type accessKeyRecord struct {
	ID       string    `json:"id"`
	Secret   string    `json:"secret"`
	Account  string    `json:"account"`
	UserName string    `json:"userName,omitempty"`
	Status   string    `json:"status"`
	Created  time.Time `json:"created"`
}

// get reads the record at bucket/key into v, reporting whether it exists.
func get(tx store.Tx, bucket, k string, v any) (bool, error) {
	err := tx.Get(bucket, k, v)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

// all decodes every record of account in bucket, in key order.
func all[T any](tx store.Tx, bucket, account string) ([]T, error) {
	var out []T
	err := tx.ForEach(bucket, accountPrefix(account), func(_ string, decode func(any) error) error {
		var v T
		if err := decode(&v); err != nil {
			return err
		}
		out = append(out, v)
		return nil
	})
	return out, err
}

// nonNil returns s, or an empty slice for nil: list members of IAM results
// are always sent, even empty, and SDKs such as boto3 index them.
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
