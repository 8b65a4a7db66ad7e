package lambda

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	api "github.com/nephele-dev/nephele/internal/api/lambda"
	"github.com/nephele-dev/nephele/internal/store"
)

// Store buckets and their keys. Function and layer names match
// [a-zA-Z0-9-_]+ (the model's patterns), so ':' separates a name from what
// follows without ambiguity:
//
//	lambda/functions  <account>/<region>/<name>
//	lambda/versions   <account>/<region>/<name>:<version>   ($LATEST, or the number zero-padded)
//	lambda/code       <account>/<region>/<hex sha256>       (deployment packages and layer contents)
//	lambda/layers     <account>/<region>/<layer>:<version zero-padded>
//	lambda/esm        <account>/<region>/<uuid>
//
// Padding makes versions list in the order they were published, after
// $LATEST ('$' sorts before digits).
const (
	bucketFunctions = "lambda/functions"
	bucketVersions  = "lambda/versions"
	bucketCode      = "lambda/code"
	bucketLayers    = "lambda/layers"
	bucketESM       = "lambda/esm"
)

// latest is the unpublished version of every function.
const latest = "$LATEST"

func functionKey(sc scope, name string) string { return sc.prefix() + name }

func versionKey(sc scope, name, version string) string {
	return functionKey(sc, name) + ":" + padVersion(version)
}

// padVersion zero-pads a published version number so keys sort by number.
func padVersion(v string) string {
	if v == latest {
		return v
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return v
	}
	return fmt.Sprintf("%010d", n)
}

func codeKey(sc scope, sha string) string { return sc.prefix() + sha }

func layerKey(sc scope, name string, version int64) string {
	return fmt.Sprintf("%s%s:%010d", sc.prefix(), name, version)
}

// functionRecord is what a function keeps beside its versions: what
// belongs to the function as a whole (tags, reserved concurrency) or to a
// qualifier (aliases, policies, async settings, provisioned concurrency,
// URLs).
type functionRecord struct {
	Name    string    `json:"name"`
	Created time.Time `json:"created"`
	// LastVersion is the highest version published; numbers are never
	// reused, even after a version is deleted.
	LastVersion int `json:"lastVersion,omitempty"`
	// PublishedRevision is the $LATEST revision LastVersion was published
	// from: publishing again without a change returns that version.
	PublishedRevision string            `json:"publishedRevision,omitempty"`
	Tags              map[string]string `json:"tags,omitempty"`
	// Reserved is the function's reserved concurrency, nil when unset.
	Reserved *int32 `json:"reserved,omitempty"`
	// Aliases by name.
	Aliases map[string]*aliasRecord `json:"aliases,omitempty"`
	// Policies holds the resource-based policy statements by qualifier
	// ("" for the unqualified function).
	Policies map[string][]statement `json:"policies,omitempty"`
	// EventInvoke holds the asynchronous invocation settings by qualifier
	// ($LATEST for the unqualified function).
	EventInvoke map[string]*eventInvokeRecord `json:"eventInvoke,omitempty"`
	// Provisioned holds provisioned concurrency configurations by
	// qualifier (a version or an alias).
	Provisioned map[string]*provisionedRecord `json:"provisioned,omitempty"`
	// URLs holds function URLs by qualifier ("" for the unqualified
	// function).
	URLs map[string]*urlRecord `json:"urls,omitempty"`
}

// versionRecord is one version of a function: $LATEST, which changes, or
// a published one, which does not.
type versionRecord struct {
	// Config is the configuration as the API returns it, without the
	// members that change with time (State, LastUpdateStatus), which
	// render works out.
	Config api.FunctionConfiguration `json:"config"`
	// Code is the key of the deployment package in the code bucket (the
	// hex SHA-256 of the zip).
	Code string `json:"code"`
	// Created is when the version was created: it is Pending for
	// stateDelay after.
	Created time.Time `json:"created"`
	// Updated is when the version last changed: its LastUpdateStatus is
	// InProgress for stateDelay after.
	Updated time.Time `json:"updated"`
	// Revision identifies the configuration and code execution
	// environments run; it changes on every update, as RevisionId does.
	Revision string `json:"revision"`
	// Layers are the contents of Config.Layers, in order, kept so the
	// version still runs after a layer version it uses is deleted, as on
	// AWS.
	Layers []layerRef `json:"layers,omitempty"`
}

// layerRef is a layer version's content as a function version uses it.
type layerRef struct {
	ARN     string `json:"arn"`
	Account string `json:"account"`
	Region  string `json:"region"`
	Code    string `json:"code"`
	SHA     string `json:"sha"`
}

// aliasRecord is an alias of a function.
type aliasRecord struct {
	Name        string             `json:"name"`
	Version     string             `json:"version"`
	Description string             `json:"description,omitempty"`
	Weights     map[string]float64 `json:"weights,omitempty"`
	RevisionID  string             `json:"revisionId"`
}

// statement is one statement of a resource-based policy, stored as the
// JSON document GetPolicy returns it.
type statement struct {
	Sid  string `json:"sid"`
	JSON string `json:"json"`
}

// eventInvokeRecord is the asynchronous invocation configuration of a
// qualifier.
type eventInvokeRecord struct {
	MaxRetries   *int32    `json:"maxRetries,omitempty"`
	MaxAge       *int32    `json:"maxAge,omitempty"`
	OnSuccess    string    `json:"onSuccess,omitempty"`
	OnFailure    string    `json:"onFailure,omitempty"`
	LastModified time.Time `json:"lastModified"`
}

// provisionedRecord is a provisioned concurrency configuration.
type provisionedRecord struct {
	Requested    int32     `json:"requested"`
	Allocated    int32     `json:"allocated"`
	Status       string    `json:"status"`
	StatusReason string    `json:"statusReason,omitempty"`
	LastModified time.Time `json:"lastModified"`
}

// urlRecord is a function URL configuration. Port is the loopback port
// its listener serves, kept so a restart serves the same URL.
type urlRecord struct {
	ID           string    `json:"id"`
	Port         int       `json:"port"`
	AuthType     string    `json:"authType"`
	InvokeMode   string    `json:"invokeMode,omitempty"`
	Cors         *api.Cors `json:"cors,omitempty"`
	Created      time.Time `json:"created"`
	LastModified time.Time `json:"lastModified"`
}

// codeRecord is a deployment package or layer content.
type codeRecord struct {
	Zip          []byte `json:"zip"`
	UnzippedSize int64  `json:"unzippedSize"`
}

// layerRecord is one layer version.
type layerRecord struct {
	Name               string      `json:"name"`
	Version            int64       `json:"version"`
	Description        string      `json:"description,omitempty"`
	LicenseInfo        string      `json:"licenseInfo,omitempty"`
	CompatibleRuntimes []string    `json:"compatibleRuntimes,omitempty"`
	CompatibleArchs    []string    `json:"compatibleArchitectures,omitempty"`
	Code               string      `json:"code"`
	CodeSha256         string      `json:"codeSha256"`
	CodeSize           int64       `json:"codeSize"`
	Created            time.Time   `json:"created"`
	Policy             []statement `json:"policy,omitempty"`
	PolicyRevision     string      `json:"policyRevision,omitempty"`
}

// esmRecord is an event source mapping, stored until a queue or stream
// service exists to drive it.
type esmRecord struct {
	Config api.EventSourceMappingConfiguration `json:"config"`
	// Created is when the mapping was created or last updated: it is in
	// its Transient state (Creating, Updating) for StateDelay after.
	Created   time.Time `json:"created"`
	Transient string    `json:"transient"`
	Enabled   bool      `json:"enabled"`
}

// get reads bucket/key into v, reporting whether it exists.
func get(tx store.Tx, bucket, key string, v any) (bool, error) {
	err := tx.Get(bucket, key, v)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

// nameOfKey is the function or layer name of a key "<account>/<region>/<name>[:...]".
func nameOfKey(k string) string {
	k = k[strings.LastIndexByte(k, '/')+1:]
	if i := strings.IndexByte(k, ':'); i >= 0 {
		k = k[:i]
	}
	return k
}
