package lambda

import (
	"context"
	"encoding/json"
	"slices"
	"strconv"
	"strings"

	api "github.com/nephele-dev/nephele/internal/api/lambda"
	"github.com/nephele-dev/nephele/internal/store"
)

// maxLayerPolicy is how many statements a layer version's policy may hold
// before the policy size limit; nephele counts statements, not bytes.
const maxLayerPolicy = 50

// parseLayerVersionARN splits arn:aws:lambda:REGION:ACCOUNT:layer:NAME:VERSION.
func parseLayerVersionARN(a string) (sc scope, name string, version int64, ok bool) {
	p := strings.Split(a, ":")
	if len(p) != 8 || p[0] != "arn" || p[2] != "lambda" || p[5] != "layer" {
		return sc, "", 0, false
	}
	v, err := strconv.ParseInt(p[7], 10, 64)
	if err != nil {
		return sc, "", 0, false
	}
	return newScope(p[4], p[3]), p[6], v, true
}

// layerScope is the scope a layer version ARN lives in (layers may be
// shared from other accounts); def when the ARN does not say.
func layerScope(a string, def scope) scope {
	if sc, _, _, ok := parseLayerVersionARN(a); ok {
		return sc
	}
	return def
}

// loadLayerByARN reads the layer version an ARN names, as a function
// configuration refers to it.
func loadLayerByARN(tx store.Tx, a string) (*layerRecord, error) {
	sc, name, v, ok := parseLayerVersionARN(a)
	if !ok {
		return nil, invalidParameter("Layer version %s does not exist.", a)
	}
	var rec layerRecord
	found, err := get(tx, bucketLayers, layerKey(sc, name, v), &rec)
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, invalidParameter("Layer version %s does not exist.", a)
	}
	return &rec, nil
}

// layerName reads a LayerName that may be an ARN.
func layerName(n string) string {
	if strings.HasPrefix(n, "arn:") {
		return n[strings.LastIndexByte(n, ':')+1:]
	}
	return n
}

// layerOutput renders a layer version.
func (s *Service) layerOutput(sc scope, r *layerRecord) *api.GetLayerVersionResponse {
	return &api.GetLayerVersionResponse{
		LayerArn:                ptr(sc.layerARN(r.Name)),
		LayerVersionArn:         ptr(sc.layerARN(r.Name) + ":" + strconv.FormatInt(r.Version, 10)),
		Version:                 ptr(r.Version),
		Description:             ptr(r.Description),
		LicenseInfo:             optional(r.LicenseInfo),
		CreatedDate:             ptr(formatTime(r.Created)),
		CompatibleRuntimes:      slices.Clone(r.CompatibleRuntimes),
		CompatibleArchitectures: slices.Clone(r.CompatibleArchs),
		Content: &api.LayerVersionContentOutput{
			CodeSha256: ptr(r.CodeSha256),
			CodeSize:   ptr(r.CodeSize),
			Location:   ptr(s.codeURL(sc, r.Code)),
		},
	}
}

func layerListItem(sc scope, r *layerRecord) *api.LayerVersionsListItem {
	return &api.LayerVersionsListItem{
		LayerVersionArn:         ptr(sc.layerARN(r.Name) + ":" + strconv.FormatInt(r.Version, 10)),
		Version:                 ptr(r.Version),
		Description:             ptr(r.Description),
		LicenseInfo:             optional(r.LicenseInfo),
		CreatedDate:             ptr(formatTime(r.Created)),
		CompatibleRuntimes:      slices.Clone(r.CompatibleRuntimes),
		CompatibleArchitectures: slices.Clone(r.CompatibleArchs),
	}
}

// PublishLayerVersion publishes a new version of a layer from a .zip.
// Version numbers keep rising even after versions are deleted.
func (s *Service) PublishLayerVersion(ctx context.Context, in *api.PublishLayerVersionInput) (*api.PublishLayerVersionOutput, error) {
	sc := scopeOf(ctx)
	name := layerName(str(in.LayerName))
	if in.Content == nil || len(in.Content.ZipFile) == 0 {
		if in.Content != nil && in.Content.S3Bucket != nil {
			return nil, invalidParameter("nephele accepts layer content as ZipFile only (it has no S3).")
		}
		return nil, invalidParameter("Please provide a source for the layer content.")
	}
	if len(in.Content.ZipFile) > maxZipped {
		return nil, entityTooLarge("PublishLayerVersion")
	}
	unzipped, err := inspectZip(in.Content.ZipFile)
	if err != nil {
		return nil, err
	}
	if len(in.CompatibleRuntimes) > 15 {
		return nil, invalidParameter("Compatible runtimes list cannot contain more than 15 runtimes.")
	}
	sha, key := codeSHA(in.Content.ZipFile)
	var out *api.GetLayerVersionResponse
	err = s.st.Update(func(tx store.Tx) error {
		last := int64(0)
		if err := tx.ForEach(bucketLayers, sc.prefix()+name+":", func(k string, decode func(any) error) error {
			var r layerRecord
			if err := decode(&r); err != nil {
				return err
			}
			last = max(last, r.Version)
			return nil
		}); err != nil {
			return err
		}
		// Deleted versions leave a tombstone counter in the function-less
		// "versions" sequence: keep numbering from the highest ever seen.
		var seq layerSeq
		if _, err := get(tx, bucketLayers, sc.prefix()+"#seq:"+name, &seq); err != nil {
			return err
		}
		v := max(last, seq.Last) + 1
		if err := tx.Put(bucketLayers, sc.prefix()+"#seq:"+name, &layerSeq{Last: v}); err != nil {
			return err
		}
		if err := s.putCode(tx, sc, key, in.Content.ZipFile, unzipped); err != nil {
			return err
		}
		r := &layerRecord{
			Name: name, Version: v, Description: str(in.Description), LicenseInfo: str(in.LicenseInfo),
			CompatibleRuntimes: slices.Clone(in.CompatibleRuntimes), CompatibleArchs: slices.Clone(in.CompatibleArchitectures),
			Code: key, CodeSha256: sha, CodeSize: int64(len(in.Content.ZipFile)), Created: s.clk.Now(),
		}
		out = s.layerOutput(sc, r)
		return tx.Put(bucketLayers, layerKey(sc, name, v), r)
	})
	if err != nil {
		return nil, err
	}
	s.codeMu.Lock()
	s.code[codeKey(sc, key)] = in.Content.ZipFile
	s.codeMu.Unlock()
	return &api.PublishLayerVersionOutput{
		LayerArn: out.LayerArn, LayerVersionArn: out.LayerVersionArn, Version: out.Version,
		Description: out.Description, LicenseInfo: out.LicenseInfo, CreatedDate: out.CreatedDate,
		CompatibleRuntimes: out.CompatibleRuntimes, CompatibleArchitectures: out.CompatibleArchitectures,
		Content: out.Content,
	}, nil
}

// layerSeq remembers the highest version a layer ever had.
type layerSeq struct {
	Last int64 `json:"last"`
}

// getLayer reads a layer version of the request's scope.
func getLayer(tx store.Tx, sc scope, name string, v int64) (*layerRecord, error) {
	var r layerRecord
	ok, err := get(tx, bucketLayers, layerKey(sc, name, v), &r)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, notFound("The resource you requested does not exist.")
	}
	return &r, nil
}

// GetLayerVersion returns a layer version.
func (s *Service) GetLayerVersion(ctx context.Context, in *api.GetLayerVersionInput) (*api.GetLayerVersionOutput, error) {
	sc := scopeOf(ctx)
	var out *api.GetLayerVersionResponse
	err := s.st.View(func(tx store.Tx) error {
		r, err := getLayer(tx, sc, layerName(str(in.LayerName)), deref(in.VersionNumber, 0))
		if err != nil {
			return err
		}
		out = s.layerOutput(sc, r)
		return nil
	})
	return out, err
}

// GetLayerVersionByArn returns the layer version an ARN names.
func (s *Service) GetLayerVersionByArn(ctx context.Context, in *api.GetLayerVersionByArnInput) (*api.GetLayerVersionByArnOutput, error) {
	sc, name, v, ok := parseLayerVersionARN(str(in.Arn))
	if !ok {
		return nil, invalidParameter("Invalid layer version ARN: %s", str(in.Arn))
	}
	var out *api.GetLayerVersionResponse
	err := s.st.View(func(tx store.Tx) error {
		r, err := getLayer(tx, sc, name, v)
		if err != nil {
			return err
		}
		out = s.layerOutput(sc, r)
		return nil
	})
	return out, err
}

// compatible reports whether a layer version matches ListLayers' and
// ListLayerVersions' runtime and architecture filters.
func compatible(r *layerRecord, runtime, arch *string) bool {
	if runtime != nil && !slices.Contains(r.CompatibleRuntimes, *runtime) {
		return false
	}
	if arch != nil && !slices.Contains(r.CompatibleArchs, *arch) {
		return false
	}
	return true
}

// ListLayers lists the layers of the region with their latest matching
// version.
func (s *Service) ListLayers(ctx context.Context, in *api.ListLayersInput) (*api.ListLayersOutput, error) {
	sc := scopeOf(ctx)
	latestOf := map[string]*layerRecord{}
	err := s.st.View(func(tx store.Tx) error {
		return tx.ForEach(bucketLayers, sc.prefix(), func(k string, decode func(any) error) error {
			if strings.Contains(k, "#seq:") {
				return nil
			}
			var r layerRecord
			if err := decode(&r); err != nil {
				return err
			}
			if compatible(&r, in.CompatibleRuntime, in.CompatibleArchitecture) {
				latestOf[r.Name] = &r
			}
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	page, next, err := pageOf(sortedKeys(latestOf), in.Marker, in.MaxItems)
	if err != nil {
		return nil, err
	}
	out := api.ListLayersOutput{Layers: []api.LayersListItem{}, NextMarker: next}
	for _, n := range page {
		out.Layers = append(out.Layers, api.LayersListItem{
			LayerName: ptr(n), LayerArn: ptr(sc.layerARN(n)), LatestMatchingVersion: layerListItem(sc, latestOf[n]),
		})
	}
	return &out, nil
}

// ListLayerVersions lists a layer's versions, newest first.
func (s *Service) ListLayerVersions(ctx context.Context, in *api.ListLayerVersionsInput) (*api.ListLayerVersionsOutput, error) {
	sc := scopeOf(ctx)
	name := layerName(str(in.LayerName))
	var recs []*layerRecord
	err := s.st.View(func(tx store.Tx) error {
		return tx.ForEach(bucketLayers, sc.prefix()+name+":", func(k string, decode func(any) error) error {
			var r layerRecord
			if err := decode(&r); err != nil {
				return err
			}
			if compatible(&r, in.CompatibleRuntime, in.CompatibleArchitecture) {
				recs = append(recs, &r)
			}
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	slices.Reverse(recs)
	keys := make([]string, len(recs))
	for i, r := range recs {
		keys[i] = strconv.FormatInt(1<<40-r.Version, 10) // newest first, as text order
	}
	page, next, err := pageOf(keys, in.Marker, in.MaxItems)
	if err != nil {
		return nil, err
	}
	out := api.ListLayerVersionsOutput{LayerVersions: []api.LayerVersionsListItem{}, NextMarker: next}
	for _, k := range page {
		i := slices.Index(keys, k)
		out.LayerVersions = append(out.LayerVersions, *layerListItem(sc, recs[i]))
	}
	return &out, nil
}

// DeleteLayerVersion deletes a layer version. Functions that use it keep
// running it, as on AWS: its content stays while a version uses it.
func (s *Service) DeleteLayerVersion(ctx context.Context, in *api.DeleteLayerVersionInput) (*api.DeleteLayerVersionOutput, error) {
	sc := scopeOf(ctx)
	var dropped []string
	err := s.st.Update(func(tx store.Tx) error {
		k := layerKey(sc, layerName(str(in.LayerName)), deref(in.VersionNumber, 0))
		var r layerRecord
		ok, err := get(tx, bucketLayers, k, &r)
		if err != nil || !ok {
			return err
		}
		if err := tx.Delete(bucketLayers, k); err != nil {
			return err
		}
		dropped, err = dropUnusedCode(tx, sc, []string{r.Code})
		return err
	})
	if err != nil {
		return nil, err
	}
	s.evict(dropped)
	return &api.DeleteLayerVersionOutput{}, nil
}

// layerPolicy renders a layer version's policy document.
func layerPolicy(stmts []statement) string {
	return policyDocument(stmts)
}

// rawStatements is a policy's statements as JSON values.
func rawStatements(stmts []statement) []json.RawMessage {
	out := make([]json.RawMessage, len(stmts))
	for i, st := range stmts {
		out[i] = json.RawMessage(st.JSON)
	}
	return out
}

// AddLayerVersionPermission grants an account, or everyone ("*"), use of
// a layer version.
func (s *Service) AddLayerVersionPermission(ctx context.Context, in *api.AddLayerVersionPermissionInput) (*api.AddLayerVersionPermissionOutput, error) {
	sc := scopeOf(ctx)
	name, v := layerName(str(in.LayerName)), deref(in.VersionNumber, 0)
	var out api.AddLayerVersionPermissionOutput
	err := s.st.Update(func(tx store.Tx) error {
		r, err := getLayer(tx, sc, name, v)
		if err != nil {
			return err
		}
		if rev := str(in.RevisionId); rev != "" && rev != r.PolicyRevision {
			return revisionMismatch()
		}
		sid := str(in.StatementId)
		for _, st := range r.Policy {
			if st.Sid == sid {
				return conflict("The statement id (%s) provided already exists. Please provide a new statement id, or remove the existing statement.", sid)
			}
		}
		if len(r.Policy) >= maxLayerPolicy {
			return awsPolicyTooLong()
		}
		principal := str(in.Principal)
		var p any = map[string]string{"AWS": principal}
		if principal == "*" {
			p = "*"
		} else if len(principal) == 12 {
			p = map[string]string{"AWS": "arn:aws:iam::" + principal + ":root"}
		}
		st := policyStatement{
			Sid: sid, Effect: "Allow", Principal: p, Action: str(in.Action),
			Resource: sc.layerARN(name) + ":" + strconv.FormatInt(v, 10),
		}
		if org := str(in.OrganizationId); org != "" {
			st.Condition = map[string]map[string]string{"StringEquals": {"aws:PrincipalOrgID": org}}
		}
		b, _ := json.Marshal(st)
		r.Policy = append(r.Policy, statement{Sid: sid, JSON: string(b)})
		r.PolicyRevision = newUUID()
		out.Statement, out.RevisionId = ptr(string(b)), ptr(r.PolicyRevision)
		return tx.Put(bucketLayers, layerKey(sc, name, v), r)
	})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// RemoveLayerVersionPermission removes a statement from a layer version's
// policy.
func (s *Service) RemoveLayerVersionPermission(ctx context.Context, in *api.RemoveLayerVersionPermissionInput) (*api.RemoveLayerVersionPermissionOutput, error) {
	sc := scopeOf(ctx)
	name, v := layerName(str(in.LayerName)), deref(in.VersionNumber, 0)
	err := s.st.Update(func(tx store.Tx) error {
		r, err := getLayer(tx, sc, name, v)
		if err != nil {
			return err
		}
		if rev := str(in.RevisionId); rev != "" && rev != r.PolicyRevision {
			return revisionMismatch()
		}
		i := slices.IndexFunc(r.Policy, func(st statement) bool { return st.Sid == str(in.StatementId) })
		if i < 0 {
			return notFound("Statement %s is not found in resource policy.", str(in.StatementId))
		}
		r.Policy = slices.Delete(r.Policy, i, i+1)
		r.PolicyRevision = newUUID()
		return tx.Put(bucketLayers, layerKey(sc, name, v), r)
	})
	if err != nil {
		return nil, err
	}
	return &api.RemoveLayerVersionPermissionOutput{}, nil
}

// GetLayerVersionPolicy returns a layer version's policy.
func (s *Service) GetLayerVersionPolicy(ctx context.Context, in *api.GetLayerVersionPolicyInput) (*api.GetLayerVersionPolicyOutput, error) {
	sc := scopeOf(ctx)
	var out api.GetLayerVersionPolicyOutput
	err := s.st.View(func(tx store.Tx) error {
		r, err := getLayer(tx, sc, layerName(str(in.LayerName)), deref(in.VersionNumber, 0))
		if err != nil {
			return err
		}
		if len(r.Policy) == 0 {
			return notFound("No policy is associated with the given resource.")
		}
		out.Policy, out.RevisionId = ptr(layerPolicy(r.Policy)), ptr(r.PolicyRevision)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &out, nil
}
