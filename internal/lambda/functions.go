package lambda

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"maps"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	api "github.com/nephele-dev/nephele/internal/api/lambda"
	"github.com/nephele-dev/nephele/internal/lambda/execenv"
	"github.com/nephele-dev/nephele/internal/store"
)

// Lambda's deployment package and function limits ("Lambda quotas").
const (
	// maxZipped is the largest .zip uploaded directly (50 MB).
	maxZipped = 50 << 20
	// maxUnzipped is the largest a function and its layers may be
	// unzipped (250 MB).
	maxUnzipped = 262144000
	// maxTimeout is the longest a function may run (15 minutes).
	maxTimeout = 900
	// maxMemory is the most memory a function may have.
	maxMemory = 10240
	// maxEnvironment is the most the environment variables may take, in
	// bytes of their JSON.
	maxEnvironment = 4096
	// maxLayers is how many layers a function may use.
	maxLayers = 5
	// defaultTimeout, defaultMemory and defaultEphemeral are Lambda's
	// defaults.
	defaultTimeout   = 3
	defaultMemory    = 128
	defaultEphemeral = 512
)

// reservedEnv are the environment variables Lambda sets itself and
// refuses in a function's configuration.
var reservedEnv = []string{
	"_HANDLER", "_X_AMZN_TRACE_ID", "AWS_DEFAULT_REGION", "AWS_REGION", "AWS_EXECUTION_ENV",
	"AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "AWS_LAMBDA_FUNCTION_VERSION",
	"AWS_LAMBDA_INITIALIZATION_TYPE", "AWS_LAMBDA_LOG_GROUP_NAME", "AWS_LAMBDA_LOG_STREAM_NAME",
	"AWS_ACCESS_KEY", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
	"AWS_LAMBDA_RUNTIME_API", "LAMBDA_TASK_ROOT", "LAMBDA_RUNTIME_DIR",
}

// deprecatedRuntimes may no longer be used to create or update functions.
var deprecatedRuntimes = map[string]string{
	"nodejs": "nodejs22.x", "nodejs4.3": "nodejs22.x", "nodejs6.10": "nodejs22.x", "nodejs8.10": "nodejs22.x",
	"nodejs10.x": "nodejs22.x", "nodejs12.x": "nodejs22.x", "nodejs14.x": "nodejs22.x", "nodejs16.x": "nodejs22.x",
	"nodejs4.3-edge": "nodejs22.x", "python2.7": "python3.13", "python3.6": "python3.13", "python3.7": "python3.13",
	"python3.8": "python3.13", "dotnetcore1.0": "dotnet8", "dotnetcore2.0": "dotnet8", "dotnetcore2.1": "dotnet8",
	"dotnetcore3.1": "dotnet8", "dotnet6": "dotnet8", "go1.x": "provided.al2023", "ruby2.5": "ruby3.3",
	"ruby2.7": "ruby3.3", "java8": "java21", "provided": "provided.al2023",
}

// functionRef is a function named in a request, with the qualifier from
// its ARN or the Qualifier parameter ("" when neither gives one).
type functionRef struct {
	name, qualifier string
}

// parseFunction reads a FunctionName (a name, a partial ARN
// "ACCOUNT:function:NAME" or an ARN, each optionally with ":QUALIFIER")
// and a Qualifier parameter, which must agree with the ARN's.
// readFunction parses an unqualified function name or ARN and reads its
// record, for the handlers that list what a function holds.
func (s *Service) readFunction(ctx context.Context, name string) (scope, functionRef, *functionRecord, error) {
	sc := scopeOf(ctx)
	ref, err := parseFunction(name, nil)
	if err != nil {
		return sc, ref, nil, err
	}
	var f *functionRecord
	err = s.st.View(func(tx store.Tx) error {
		f, err = loadFunction(tx, sc, ref.name)
		return err
	})
	return sc, ref, f, err
}

func parseFunction(fn string, qualifier *string) (functionRef, error) {
	var ref functionRef
	parts := strings.Split(fn, ":")
	switch {
	case len(parts) >= 7 && parts[0] == "arn":
		ref.name = parts[6]
		if len(parts) == 8 {
			ref.qualifier = parts[7]
		}
	case len(parts) >= 3 && parts[1] == "function":
		ref.name = parts[2]
		if len(parts) == 4 {
			ref.qualifier = parts[3]
		}
	case len(parts) <= 2:
		ref.name = parts[0]
		if len(parts) == 2 {
			ref.qualifier = parts[1]
		}
	default:
		return ref, invalidParameter("Invalid function name: %s", fn)
	}
	if q := str(qualifier); q != "" {
		if ref.qualifier != "" && ref.qualifier != q {
			return ref, invalidParameter("The derived qualifier from the function name does not match the specified qualifier.")
		}
		ref.qualifier = q
	}
	if ref.name == "" {
		return ref, invalidParameter("Invalid function name: %s", fn)
	}
	return ref, nil
}

// isVersion reports whether a qualifier names a version rather than an
// alias.
func isVersion(q string) bool {
	if q == latest {
		return true
	}
	_, err := strconv.Atoi(q)
	return err == nil
}

// loadFunction reads a function's record.
func loadFunction(tx store.Tx, sc scope, name string) (*functionRecord, error) {
	var f functionRecord
	ok, err := get(tx, bucketFunctions, functionKey(sc, name), &f)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, functionNotFound(sc.functionARN(name))
	}
	return &f, nil
}

// loadVersion reads one version of a function.
func loadVersion(tx store.Tx, sc scope, name, version string) (*versionRecord, error) {
	var v versionRecord
	ok, err := get(tx, bucketVersions, versionKey(sc, name, version), &v)
	if err != nil {
		return nil, err
	}
	if !ok {
		if version == latest {
			return nil, functionNotFound(sc.functionARN(name))
		}
		return nil, functionNotFound(sc.qualifiedARN(name, version))
	}
	return &v, nil
}

// resolve finds the version a qualifier names: itself for a version, the
// alias's primary version for an alias ("" means $LATEST).
func resolve(tx store.Tx, sc scope, ref functionRef) (*functionRecord, *versionRecord, *aliasRecord, error) {
	f, err := loadFunction(tx, sc, ref.name)
	if err != nil {
		return nil, nil, nil, err
	}
	q := ref.qualifier
	if q == "" {
		q = latest
	}
	var alias *aliasRecord
	if !isVersion(q) {
		alias = f.Aliases[q]
		if alias == nil {
			return nil, nil, nil, functionNotFound(sc.qualifiedARN(ref.name, q))
		}
		q = alias.Version
	}
	v, err := loadVersion(tx, sc, ref.name, q)
	if err != nil {
		return nil, nil, nil, err
	}
	return f, v, alias, nil
}

// render is a version's configuration as the API returns it now: State
// and LastUpdateStatus follow the clock.
func (s *Service) render(v *versionRecord) *api.FunctionConfiguration {
	c := v.Config
	now := s.clk.Now()
	if now.Before(v.Created.Add(s.opts.StateDelay)) {
		c.State, c.StateReason, c.StateReasonCode = ptr("Pending"), ptr("The function is being created."), ptr("Creating")
		c.LastUpdateStatus, c.LastUpdateStatusReason, c.LastUpdateStatusReasonCode = ptr("InProgress"), ptr("The function is being created."), ptr("Creating")
	} else {
		c.State = ptr("Active")
		c.LastUpdateStatus = ptr("Successful")
		if now.Before(v.Updated.Add(s.opts.StateDelay)) {
			c.LastUpdateStatus = ptr("InProgress")
			c.LastUpdateStatusReason = ptr("The function is being updated.")
			c.LastUpdateStatusReasonCode = ptr("Updating")
		}
	}
	if snapStartOn(&c) {
		c.SnapStart.OptimizationStatus = ptr("On")
	}
	return &c
}

// updating reports whether a version's last update is still in progress.
func (s *Service) updating(v *versionRecord) bool {
	return s.clk.Now().Before(v.Updated.Add(s.opts.StateDelay))
}

// pending reports whether a version is still being created.
func (s *Service) pending(v *versionRecord) bool {
	return s.clk.Now().Before(v.Created.Add(s.opts.StateDelay))
}

// inspectZip checks a deployment package or layer content: a zip Lambda
// can unpack, within the unzipped limit. It returns the unzipped size.
func inspectZip(b []byte) (int64, error) {
	// execenv's check: a readable zip whose entries all stay inside the
	// directory it unpacks into, refused here rather than at first run.
	total, err := execenv.UnzippedSize(b)
	if err != nil {
		return 0, invalidParameter("%s", err.Error())
	}
	if total > maxUnzipped {
		return 0, invalidParameter("Unzipped size must be smaller than %d bytes", maxUnzipped)
	}
	return total, nil
}

// codeSHA is the CodeSha256 Lambda reports (base64) and the code bucket
// key (hex) of a package.
func codeSHA(b []byte) (b64, hexKey string) {
	sum := sha256.Sum256(b)
	return base64.StdEncoding.EncodeToString(sum[:]), hex.EncodeToString(sum[:])
}

// putCode stores a package under its content key, once per scope.
func (s *Service) putCode(tx store.Tx, sc scope, key string, zipped []byte, unzipped int64) error {
	var existing codeRecord
	ok, err := get(tx, bucketCode, codeKey(sc, key), &existing)
	if err != nil || ok {
		return err
	}
	return tx.Put(bucketCode, codeKey(sc, key), &codeRecord{Zip: zipped, UnzippedSize: unzipped})
}

// readCode returns a package's bytes, from memory when read before.
func (s *Service) readCode(sc scope, key string) ([]byte, error) {
	ck := codeKey(sc, key)
	s.codeMu.Lock()
	b, ok := s.code[ck]
	s.codeMu.Unlock()
	if ok {
		return b, nil
	}
	var rec codeRecord
	err := s.st.View(func(tx store.Tx) error { return tx.Get(bucketCode, ck, &rec) })
	if err != nil {
		return nil, err
	}
	s.codeMu.Lock()
	s.code[ck] = rec.Zip
	s.codeMu.Unlock()
	return rec.Zip, nil
}

// functionSettings are the members CreateFunction and
// UpdateFunctionConfiguration share.
type functionSettings struct {
	Runtime, Handler, Role, Description *string
	Timeout, MemorySize                 *int32
	Environment                         *api.Environment
	EphemeralStorage                    *api.EphemeralStorage
	Layers                              []string
	DeadLetterConfig                    *api.DeadLetterConfig
	SnapStart                           *api.SnapStart
	LoggingConfig                       *api.LoggingConfig
	TracingConfig                       *api.TracingConfig
	layersSet                           bool
}

// apply validates settings and writes them into c, looking layers up in
// tx.
func (s *Service) apply(tx store.Tx, sc scope, c *api.FunctionConfiguration, in functionSettings) error {
	if in.Runtime != nil {
		rt := *in.Runtime
		if repl, ok := deprecatedRuntimes[rt]; ok {
			return invalidParameter("The runtime parameter of %s is no longer supported for creating or updating AWS Lambda functions. We recommend you use the new runtime (%s) while creating or updating functions.", rt, repl)
		}
		if err := s.opts.CheckRuntime(rt); err != nil {
			var ru *execenv.RuntimeUnavailableError
			if errors.As(err, &ru) && ru.Missing == "" {
				return invalidParameter("nephele cannot run runtime %s: it runs the python3.x, nodejs*.x and provided.* runtimes.", rt)
			}
			return invalidParameter("nephele cannot run runtime %s on this machine: %v", rt, err)
		}
		c.Runtime = ptr(rt)
	}
	if in.Handler != nil {
		c.Handler = ptr(*in.Handler)
	}
	if in.Role != nil {
		c.Role = ptr(*in.Role)
	}
	if in.Description != nil {
		c.Description = ptr(*in.Description)
	}
	if in.Timeout != nil {
		if *in.Timeout > maxTimeout {
			return invalidParameter("1 validation error detected: Value '%d' at 'timeout' failed to satisfy constraint: Member must have value less than or equal to %d", *in.Timeout, maxTimeout)
		}
		c.Timeout = ptr(*in.Timeout)
	}
	if in.MemorySize != nil {
		if *in.MemorySize > maxMemory {
			return invalidParameter("'MemorySize' value failed to satisfy constraint: Member must have value less than or equal to %d", maxMemory)
		}
		c.MemorySize = ptr(*in.MemorySize)
	}
	if in.EphemeralStorage != nil && in.EphemeralStorage.Size != nil {
		c.EphemeralStorage = &api.EphemeralStorage{Size: ptr(*in.EphemeralStorage.Size)}
	}
	if in.Environment != nil {
		vars := in.Environment.Variables
		var bad []string
		for _, k := range reservedEnv {
			if _, ok := vars[k]; ok {
				bad = append(bad, k)
			}
		}
		if len(bad) > 0 {
			return invalidParameter("Lambda was unable to configure your environment variables because the environment variables you have provided contains reserved keys that are currently not supported for modification. Reserved keys used in this request: %s", strings.Join(bad, ", "))
		}
		if b, _ := json.Marshal(vars); len(b) > maxEnvironment {
			return invalidParameter("Lambda was unable to configure your environment variables because the environment variables you have provided exceeded the 4KB limit. String measured: %s", b)
		}
		for k := range vars {
			if !validEnvKey(k) {
				return invalidParameter("Lambda was unable to configure your environment variables because the environment variables you have provided contains invalid keys. Invalid key: %s", k)
			}
		}
		if len(vars) == 0 {
			c.Environment = nil
		} else {
			c.Environment = &api.EnvironmentResponse{Variables: maps.Clone(vars)}
		}
	}
	if in.layersSet {
		if len(in.Layers) > maxLayers {
			return invalidParameter("Cannot reference more than %d layers.", maxLayers)
		}
		var layers []api.Layer
		for _, l := range in.Layers {
			rec, err := loadLayerByARN(tx, l)
			if err != nil {
				return err
			}
			layers = append(layers, api.Layer{Arn: ptr(l), CodeSize: ptr(rec.CodeSize)})
		}
		c.Layers = layers
	}
	if in.DeadLetterConfig != nil {
		if t := str(in.DeadLetterConfig.TargetArn); t == "" {
			c.DeadLetterConfig = nil
		} else {
			if !strings.HasPrefix(t, "arn:") || !(strings.Contains(t, ":sqs:") || strings.Contains(t, ":sns:")) {
				return invalidParameter("The provided target ARN %s is not a valid SQS queue or SNS topic ARN.", t)
			}
			c.DeadLetterConfig = &api.DeadLetterConfig{TargetArn: ptr(t)}
		}
	}
	if in.SnapStart != nil {
		c.SnapStart = &api.SnapStartResponse{ApplyOn: ptr(deref(in.SnapStart.ApplyOn, "None")), OptimizationStatus: ptr("Off")}
	}
	if in.LoggingConfig != nil {
		lc := *in.LoggingConfig
		if lc.LogFormat == nil {
			lc.LogFormat = ptr("Text")
		}
		if lc.LogGroup == nil {
			lc.LogGroup = ptr("/aws/lambda/" + str(c.FunctionName))
		}
		if str(lc.LogFormat) == "JSON" {
			lc.ApplicationLogLevel = ptr(deref(lc.ApplicationLogLevel, "INFO"))
			lc.SystemLogLevel = ptr(deref(lc.SystemLogLevel, "INFO"))
		}
		c.LoggingConfig = &lc
	}
	if in.TracingConfig != nil {
		c.TracingConfig = &api.TracingConfigResponse{Mode: ptr(deref(in.TracingConfig.Mode, "PassThrough"))}
	}
	return nil
}

// validEnvKey is Lambda's rule for environment variable names.
func validEnvKey(k string) bool {
	if k == "" || !(k[0] == '_' || k[0] >= 'a' && k[0] <= 'z' || k[0] >= 'A' && k[0] <= 'Z') {
		return false
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if !(c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// CreateFunction creates a function from a .zip deployment package. The
// function is Pending for a moment (StateDelay), then Active. With Publish
// it also publishes version 1.
func (s *Service) CreateFunction(ctx context.Context, in *api.CreateFunctionInput) (*api.CreateFunctionOutput, error) {
	sc := scopeOf(ctx)
	name := str(in.FunctionName)
	ref, err := parseFunction(name, nil)
	if err != nil {
		return nil, err
	}
	if ref.qualifier != "" {
		return nil, invalidParameter("Unsupported function name: %s. A function name cannot include a qualifier.", name)
	}
	name = ref.name
	if pt := str(in.PackageType); pt == "Image" {
		return nil, invalidParameter("nephele runs .zip deployment packages only; container images (PackageType Image) are not supported.")
	}
	if in.Code == nil || len(in.Code.ZipFile) == 0 {
		if in.Code != nil && (in.Code.S3Bucket != nil || in.Code.ImageUri != nil) {
			return nil, invalidParameter("nephele accepts the deployment package as ZipFile only (it has no S3).")
		}
		return nil, invalidParameter("Please provide a source for function code.")
	}
	if in.Runtime == nil {
		return nil, invalidParameter("Runtime is required for .zip deployment packages.")
	}
	if in.Handler == nil {
		return nil, invalidParameter("Handler is required for .zip deployment packages.")
	}
	if in.Role == nil {
		return nil, invalidParameter("The role defined for the function cannot be assumed by Lambda.")
	}
	if len(in.Code.ZipFile) > maxZipped {
		return nil, entityTooLarge("CreateFunction")
	}
	unzipped, err := inspectZip(in.Code.ZipFile)
	if err != nil {
		return nil, err
	}
	archs := in.Architectures
	if len(archs) == 0 {
		archs = []string{"x86_64"}
	} else if len(archs) > 1 {
		return nil, invalidParameter("Architectures must contain exactly one value.")
	}
	sha, key := codeSHA(in.Code.ZipFile)
	now := s.clk.Now()
	rev := newUUID()
	c := api.FunctionConfiguration{
		FunctionName:     ptr(name),
		FunctionArn:      ptr(sc.functionARN(name)),
		CodeSha256:       ptr(sha),
		CodeSize:         ptr(int64(len(in.Code.ZipFile))),
		Version:          ptr(latest),
		LastModified:     ptr(formatTime(now)),
		RevisionId:       ptr(rev),
		PackageType:      ptr("Zip"),
		Architectures:    slices.Clone(archs),
		Timeout:          ptr(int32(defaultTimeout)),
		MemorySize:       ptr(int32(defaultMemory)),
		EphemeralStorage: &api.EphemeralStorage{Size: ptr(int32(defaultEphemeral))},
		Description:      ptr(""),
		TracingConfig:    &api.TracingConfigResponse{Mode: ptr("PassThrough")},
		SnapStart:        &api.SnapStartResponse{ApplyOn: ptr("None"), OptimizationStatus: ptr("Off")},
		LoggingConfig:    &api.LoggingConfig{LogFormat: ptr("Text"), LogGroup: ptr("/aws/lambda/" + name)},
		RuntimeVersionConfig: &api.RuntimeVersionConfig{
			RuntimeVersionArn: ptr("arn:aws:lambda:" + sc.region + "::runtime:nephele"),
		},
	}
	settings := functionSettings{
		Runtime: in.Runtime, Handler: in.Handler, Role: in.Role, Description: in.Description,
		Timeout: in.Timeout, MemorySize: in.MemorySize, Environment: in.Environment,
		EphemeralStorage: in.EphemeralStorage, Layers: in.Layers, layersSet: in.Layers != nil,
		DeadLetterConfig: in.DeadLetterConfig, SnapStart: in.SnapStart, LoggingConfig: in.LoggingConfig,
		TracingConfig: in.TracingConfig,
	}
	var out *api.FunctionConfiguration
	err = s.st.Update(func(tx store.Tx) error {
		var existing functionRecord
		ok, err := get(tx, bucketFunctions, functionKey(sc, name), &existing)
		if err != nil {
			return err
		}
		if ok {
			return conflict("Function already exist: %s", name)
		}
		if err := s.apply(tx, sc, &c, settings); err != nil {
			return err
		}
		if err := checkLayersSize(tx, sc, c.Layers, unzipped); err != nil {
			return err
		}
		if err := s.putCode(tx, sc, key, in.Code.ZipFile, unzipped); err != nil {
			return err
		}
		v := &versionRecord{Config: c, Code: key, Created: now, Updated: now, Revision: rev}
		if v.Layers, err = layerRefs(tx, c.Layers); err != nil {
			return err
		}
		f := &functionRecord{Name: name, Created: now}
		if len(in.Tags) > 0 {
			f.Tags = maps.Clone(in.Tags)
		}
		if err := tx.Put(bucketVersions, versionKey(sc, name, latest), v); err != nil {
			return err
		}
		out = s.render(v)
		if deref(in.Publish, false) {
			if _, err := s.publish(tx, sc, f, v, ""); err != nil {
				return err
			}
		}
		return tx.Put(bucketFunctions, functionKey(sc, name), f)
	})
	if err != nil {
		return nil, err
	}
	s.codeMu.Lock()
	s.code[codeKey(sc, key)] = in.Code.ZipFile
	s.codeMu.Unlock()
	return out, nil
}

// layerRefs records the contents of a configuration's layers.
func layerRefs(tx store.Tx, layers []api.Layer) ([]layerRef, error) {
	var refs []layerRef
	for _, l := range layers {
		a := str(l.Arn)
		rec, err := loadLayerByARN(tx, a)
		if err != nil {
			return nil, err
		}
		lsc, _, _, _ := parseLayerVersionARN(a)
		refs = append(refs, layerRef{ARN: a, Account: lsc.account, Region: lsc.region, Code: rec.Code, SHA: rec.CodeSha256})
	}
	return refs, nil
}

// checkLayersSize applies the unzipped limit to a function and its layers
// together.
func checkLayersSize(tx store.Tx, sc scope, layers []api.Layer, unzipped int64) error {
	total := unzipped
	for _, l := range layers {
		rec, err := loadLayerByARN(tx, str(l.Arn))
		if err != nil {
			return err
		}
		var code codeRecord
		if ok, err := get(tx, bucketCode, codeKey(layerScope(str(l.Arn), sc), rec.Code), &code); err != nil {
			return err
		} else if ok {
			total += code.UnzippedSize
		}
	}
	if total > maxUnzipped {
		return invalidParameter("Function code combined with layers exceeds the maximum allowed size of %d bytes. The actual size is %d bytes.", maxUnzipped, total)
	}
	return nil
}

// GetFunction returns a version's configuration, where to download its
// code (a URL served by nephele), its reserved concurrency and its tags.
func (s *Service) GetFunction(ctx context.Context, in *api.GetFunctionInput) (*api.GetFunctionOutput, error) {
	sc := scopeOf(ctx)
	ref, err := parseFunction(str(in.FunctionName), in.Qualifier)
	if err != nil {
		return nil, err
	}
	var out api.GetFunctionOutput
	err = s.st.View(func(tx store.Tx) error {
		f, v, _, err := resolve(tx, sc, ref)
		if err != nil {
			return err
		}
		out.Configuration = s.render(v)
		out.Code = &api.FunctionCodeLocation{
			RepositoryType: ptr("S3"),
			Location:       ptr(s.codeURL(sc, v.Code)),
		}
		if f.Reserved != nil {
			out.Concurrency = &api.Concurrency{ReservedConcurrentExecutions: ptr(*f.Reserved)}
		}
		if len(f.Tags) > 0 {
			out.Tags = maps.Clone(f.Tags)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// GetFunctionConfiguration returns a version's configuration.
func (s *Service) GetFunctionConfiguration(ctx context.Context, in *api.GetFunctionConfigurationInput) (*api.GetFunctionConfigurationOutput, error) {
	sc := scopeOf(ctx)
	ref, err := parseFunction(str(in.FunctionName), in.Qualifier)
	if err != nil {
		return nil, err
	}
	var out *api.FunctionConfiguration
	err = s.st.View(func(tx store.Tx) error {
		_, v, _, err := resolve(tx, sc, ref)
		if err != nil {
			return err
		}
		out = s.render(v)
		return nil
	})
	return out, err
}

// latestForUpdate loads $LATEST for a change: it must exist, not be
// Pending or mid-update, and match revision when one is given.
func (s *Service) latestForUpdate(tx store.Tx, sc scope, name, revision string) (*functionRecord, *versionRecord, error) {
	f, err := loadFunction(tx, sc, name)
	if err != nil {
		return nil, nil, err
	}
	v, err := loadVersion(tx, sc, name, latest)
	if err != nil {
		return nil, nil, err
	}
	if s.pending(v) {
		return nil, nil, pendingFunction()
	}
	if s.updating(v) {
		return nil, nil, updateInProgress(sc.functionARN(name))
	}
	if revision != "" && revision != str(v.Config.RevisionId) {
		return nil, nil, revisionMismatch()
	}
	return f, v, nil
}

// UpdateFunctionCode replaces $LATEST's deployment package. The update is
// InProgress for a moment; the environments of the old code are retired.
func (s *Service) UpdateFunctionCode(ctx context.Context, in *api.UpdateFunctionCodeInput) (*api.UpdateFunctionCodeOutput, error) {
	sc := scopeOf(ctx)
	ref, err := parseFunction(str(in.FunctionName), nil)
	if err != nil {
		return nil, err
	}
	if len(in.ZipFile) == 0 {
		if in.S3Bucket != nil || in.ImageUri != nil {
			return nil, invalidParameter("nephele accepts the deployment package as ZipFile only (it has no S3).")
		}
		return nil, invalidParameter("Please provide a source for function code.")
	}
	if len(in.ZipFile) > maxZipped {
		return nil, entityTooLarge("UpdateFunctionCode")
	}
	unzipped, err := inspectZip(in.ZipFile)
	if err != nil {
		return nil, err
	}
	if len(in.Architectures) > 1 {
		return nil, invalidParameter("Architectures must contain exactly one value.")
	}
	sha, key := codeSHA(in.ZipFile)
	now := s.clk.Now()
	var out *api.FunctionConfiguration
	var dropped []string
	err = s.st.Update(func(tx store.Tx) error {
		f, v, err := s.latestForUpdate(tx, sc, ref.name, str(in.RevisionId))
		if err != nil {
			return err
		}
		if err := checkLayersSize(tx, sc, v.Config.Layers, unzipped); err != nil {
			return err
		}
		if deref(in.DryRun, false) {
			c := *s.render(v)
			c.CodeSha256, c.CodeSize = ptr(sha), ptr(int64(len(in.ZipFile)))
			out = &c
			return nil
		}
		if err := s.putCode(tx, sc, key, in.ZipFile, unzipped); err != nil {
			return err
		}
		oldCode := v.Code
		v.Code = key
		v.Config.CodeSha256, v.Config.CodeSize = ptr(sha), ptr(int64(len(in.ZipFile)))
		if len(in.Architectures) == 1 {
			v.Config.Architectures = slices.Clone(in.Architectures)
		}
		s.touch(v, now)
		if err := tx.Put(bucketVersions, versionKey(sc, ref.name, latest), v); err != nil {
			return err
		}
		out = s.render(v)
		if dropped, err = dropUnusedCode(tx, sc, []string{oldCode}); err != nil {
			return err
		}
		if deref(in.Publish, false) {
			pv, err := s.publish(tx, sc, f, v, "")
			if err != nil {
				return err
			}
			out = s.render(pv)
			return tx.Put(bucketFunctions, functionKey(sc, ref.name), f)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if !deref(in.DryRun, false) {
		s.evict(dropped)
		s.codeMu.Lock()
		s.code[codeKey(sc, key)] = in.ZipFile
		s.codeMu.Unlock()
		s.retire(sc, ref.name, latest)
	}
	return out, nil
}

// touch marks $LATEST changed now: a new RevisionId and revision, a new
// LastModified, and an update InProgress.
func (s *Service) touch(v *versionRecord, now time.Time) {
	rev := newUUID()
	v.Config.RevisionId = ptr(rev)
	v.Revision = rev
	v.Config.LastModified = ptr(formatTime(now))
	v.Updated = now
}

// retire ends the environments of a version, which run an outdated
// configuration or code.
func (s *Service) retire(sc scope, name, version string) {
	if s.env != nil {
		s.env.Retire(sc.account, sc.region, name, version)
	}
}

// UpdateFunctionConfiguration changes $LATEST's settings.
func (s *Service) UpdateFunctionConfiguration(ctx context.Context, in *api.UpdateFunctionConfigurationInput) (*api.UpdateFunctionConfigurationOutput, error) {
	sc := scopeOf(ctx)
	ref, err := parseFunction(str(in.FunctionName), nil)
	if err != nil {
		return nil, err
	}
	settings := functionSettings{
		Runtime: in.Runtime, Handler: in.Handler, Role: in.Role, Description: in.Description,
		Timeout: in.Timeout, MemorySize: in.MemorySize, Environment: in.Environment,
		EphemeralStorage: in.EphemeralStorage, Layers: in.Layers, layersSet: in.Layers != nil,
		DeadLetterConfig: in.DeadLetterConfig, SnapStart: in.SnapStart, LoggingConfig: in.LoggingConfig,
		TracingConfig: in.TracingConfig,
	}
	now := s.clk.Now()
	var out *api.FunctionConfiguration
	err = s.st.Update(func(tx store.Tx) error {
		_, v, err := s.latestForUpdate(tx, sc, ref.name, str(in.RevisionId))
		if err != nil {
			return err
		}
		if err := s.apply(tx, sc, &v.Config, settings); err != nil {
			return err
		}
		if settings.layersSet {
			var code codeRecord
			if _, err := get(tx, bucketCode, codeKey(sc, v.Code), &code); err != nil {
				return err
			}
			if err := checkLayersSize(tx, sc, v.Config.Layers, code.UnzippedSize); err != nil {
				return err
			}
			if v.Layers, err = layerRefs(tx, v.Config.Layers); err != nil {
				return err
			}
		}
		s.touch(v, now)
		if err := tx.Put(bucketVersions, versionKey(sc, ref.name, latest), v); err != nil {
			return err
		}
		out = s.render(v)
		return nil
	})
	if err != nil {
		return nil, err
	}
	s.retire(sc, ref.name, latest)
	return out, nil
}

// DeleteFunction deletes a function with all its versions and aliases,
// or, with a Qualifier, one published version (not one an alias uses).
func (s *Service) DeleteFunction(ctx context.Context, in *api.DeleteFunctionInput) (*api.DeleteFunctionOutput, error) {
	sc := scopeOf(ctx)
	ref, err := parseFunction(str(in.FunctionName), in.Qualifier)
	if err != nil {
		return nil, err
	}
	var urls, dropped []string
	err = s.st.Update(func(tx store.Tx) error {
		f, err := loadFunction(tx, sc, ref.name)
		if err != nil {
			return err
		}
		if ref.qualifier != "" && ref.qualifier != latest {
			if !isVersion(ref.qualifier) {
				return invalidParameter("Deletion of aliases is not currently supported.")
			}
			v, err := loadVersion(tx, sc, ref.name, ref.qualifier)
			if err != nil {
				return err
			}
			for _, a := range f.Aliases {
				if a.Version == ref.qualifier || a.Weights[ref.qualifier] > 0 {
					return conflict("Unable to delete version because the following aliases reference it: [%s]", a.Name)
				}
			}
			delete(f.Provisioned, ref.qualifier)
			delete(f.EventInvoke, ref.qualifier)
			if err := tx.Put(bucketFunctions, functionKey(sc, ref.name), f); err != nil {
				return err
			}
			if err := tx.Delete(bucketVersions, versionKey(sc, ref.name, ref.qualifier)); err != nil {
				return err
			}
			dropped, err = dropUnusedCode(tx, sc, []string{v.Code})
			return err
		}
		if ref.qualifier == latest {
			return invalidParameter("$LATEST version cannot be deleted without deleting the function.")
		}
		for q := range f.URLs {
			urls = append(urls, urlKey(sc, ref.name, q))
		}
		var keys, codes []string
		if err := tx.ForEach(bucketVersions, functionKey(sc, ref.name)+":", func(k string, decode func(any) error) error {
			var v versionRecord
			if err := decode(&v); err != nil {
				return err
			}
			keys, codes = append(keys, k), append(codes, v.Code)
			return nil
		}); err != nil {
			return err
		}
		for _, k := range keys {
			if err := tx.Delete(bucketVersions, k); err != nil {
				return err
			}
		}
		if err := tx.Delete(bucketFunctions, functionKey(sc, ref.name)); err != nil {
			return err
		}
		dropped, err = dropUnusedCode(tx, sc, codes)
		return err
	})
	if err != nil {
		return nil, err
	}
	s.evict(dropped)
	if ref.qualifier != "" {
		s.retire(sc, ref.name, ref.qualifier)
	} else {
		s.stopProvisioning(urlKey(sc, ref.name, ""))
		s.retire(sc, ref.name, "")
		for _, k := range urls {
			s.urls.stop(k)
		}
		s.conc.forget(sc, ref.name)
		s.queue.dropFunction(sc, ref.name)
	}
	return &api.DeleteFunctionOutput{}, nil
}

// ListFunctions lists the functions of the region ($LATEST of each, or
// every version with FunctionVersion ALL), by name, 50 to a page unless
// MaxItems says otherwise. The marker is the key to resume after.
func (s *Service) ListFunctions(ctx context.Context, in *api.ListFunctionsInput) (*api.ListFunctionsOutput, error) {
	sc := scopeOf(ctx)
	all := str(in.FunctionVersion) == "ALL"
	limit := int(deref(in.MaxItems, 50))
	marker, err := decodeMarker(in.Marker)
	if err != nil {
		return nil, err
	}
	var out api.ListFunctionsOutput
	err = s.st.View(func(tx store.Tx) error {
		return tx.ForEach(bucketVersions, sc.prefix(), func(k string, decode func(any) error) error {
			if k <= marker {
				return nil
			}
			if !all && !strings.HasSuffix(k, ":"+latest) {
				return nil
			}
			if len(out.Functions) == limit {
				out.NextMarker = encodeMarker(lastKey(out.Functions, sc))
				return errStop
			}
			var v versionRecord
			if err := decode(&v); err != nil {
				return err
			}
			out.Functions = append(out.Functions, *s.render(&v))
			return nil
		})
	})
	if errors.Is(err, errStop) {
		err = nil
	}
	if err != nil {
		return nil, err
	}
	if out.Functions == nil {
		out.Functions = []api.FunctionConfiguration{}
	}
	return &out, nil
}

// lastKey is the versions-bucket key of the last configuration of a page.
func lastKey(fs []api.FunctionConfiguration, sc scope) string {
	c := fs[len(fs)-1]
	return versionKey(sc, str(c.FunctionName), str(c.Version))
}

// errStop ends a ForEach walk early.
var errStop = errors.New("stop")

// encodeMarker and decodeMarker make a store key an opaque paging marker.
func encodeMarker(k string) *string {
	return ptr(base64.RawURLEncoding.EncodeToString([]byte(k)))
}

func decodeMarker(m *string) (string, error) {
	if m == nil || *m == "" {
		return "", nil
	}
	b, err := base64.RawURLEncoding.DecodeString(*m)
	if err != nil {
		return "", invalidParameter("Invalid marker: %s", *m)
	}
	return string(b), nil
}

// GetAccountSettings reports the account's limits and usage in the
// region.
func (s *Service) GetAccountSettings(ctx context.Context, _ *api.GetAccountSettingsInput) (*api.GetAccountSettingsOutput, error) {
	sc := scopeOf(ctx)
	var count, total int64
	var reserved int32
	err := s.st.View(func(tx store.Tx) error {
		if err := tx.ForEach(bucketFunctions, sc.prefix(), func(_ string, decode func(any) error) error {
			var f functionRecord
			if err := decode(&f); err != nil {
				return err
			}
			count++
			reserved += deref(f.Reserved, 0)
			return nil
		}); err != nil {
			return err
		}
		return tx.ForEach(bucketVersions, sc.prefix(), func(_ string, decode func(any) error) error {
			var v versionRecord
			if err := decode(&v); err != nil {
				return err
			}
			total += deref(v.Config.CodeSize, 0)
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	limit := int32(s.opts.ConcurrencyLimit)
	return &api.GetAccountSettingsOutput{
		AccountLimit: &api.AccountLimit{
			TotalCodeSize:                  ptr(int64(80530636800)),
			CodeSizeUnzipped:               ptr(int64(maxUnzipped)),
			CodeSizeZipped:                 ptr(int64(maxZipped)),
			ConcurrentExecutions:           ptr(limit),
			UnreservedConcurrentExecutions: ptr(limit - reserved),
		},
		AccountUsage: &api.AccountUsage{FunctionCount: ptr(count), TotalCodeSize: ptr(total)},
	}, nil
}

// sortedKeys returns a map's keys in order.
func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// dropUnusedCode deletes the packages among candidates (code keys of the
// scope) that no version or layer version of the scope uses any more, so
// deleted and replaced code does not stay in the store. It returns the
// deleted keys, to evict from the cache once the transaction commits.
func dropUnusedCode(tx store.Tx, sc scope, candidates []string) ([]string, error) {
	unused := map[string]bool{}
	for _, c := range candidates {
		if c != "" {
			unused[c] = true
		}
	}
	if len(unused) == 0 {
		return nil, nil
	}
	if err := tx.ForEach(bucketVersions, sc.prefix(), func(_ string, decode func(any) error) error {
		var v versionRecord
		if err := decode(&v); err != nil {
			return err
		}
		delete(unused, v.Code)
		for _, l := range v.Layers {
			if l.Account == sc.account && l.Region == sc.region {
				delete(unused, l.Code)
			}
		}
		return nil
	}); err != nil {
		return nil, err
	}
	if err := tx.ForEach(bucketLayers, sc.prefix(), func(k string, decode func(any) error) error {
		if strings.Contains(k, "#seq:") {
			return nil
		}
		var l layerRecord
		if err := decode(&l); err != nil {
			return err
		}
		delete(unused, l.Code)
		return nil
	}); err != nil {
		return nil, err
	}
	var dropped []string
	for c := range unused {
		if err := tx.Delete(bucketCode, codeKey(sc, c)); err != nil {
			return nil, err
		}
		dropped = append(dropped, codeKey(sc, c))
	}
	return dropped, nil
}

// evict forgets cached packages that were deleted.
func (s *Service) evict(keys []string) {
	s.codeMu.Lock()
	defer s.codeMu.Unlock()
	for _, k := range keys {
		delete(s.code, k)
	}
}
