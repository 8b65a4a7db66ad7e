package lambda

import (
	"context"
	"maps"
	"strconv"
	"strings"

	api "github.com/nephele-dev/nephele/internal/api/lambda"
	"github.com/nephele-dev/nephele/internal/store"
)

// publish makes a version of $LATEST, or returns the last version when
// $LATEST has not changed since it was published, as Lambda does. The
// caller puts f.
func (s *Service) publish(tx store.Tx, sc scope, f *functionRecord, lv *versionRecord, description string) (*versionRecord, error) {
	if f.LastVersion > 0 && f.PublishedRevision == lv.Revision {
		var prev versionRecord
		ok, err := get(tx, bucketVersions, versionKey(sc, f.Name, strconv.Itoa(f.LastVersion)), &prev)
		if err != nil {
			return nil, err
		}
		if ok {
			return &prev, nil
		}
	}
	now := s.clk.Now()
	f.LastVersion++
	f.PublishedRevision = lv.Revision
	ver := strconv.Itoa(f.LastVersion)
	v := &versionRecord{Config: lv.Config, Code: lv.Code, Layers: lv.Layers, Created: now, Updated: now, Revision: newUUID()}
	v.Config.Version = ptr(ver)
	v.Config.FunctionArn = ptr(sc.qualifiedARN(f.Name, ver))
	v.Config.RevisionId = ptr(v.Revision)
	v.Config.LastModified = ptr(formatTime(now))
	if description != "" {
		v.Config.Description = ptr(description)
	}
	if err := tx.Put(bucketVersions, versionKey(sc, f.Name, ver), v); err != nil {
		return nil, err
	}
	return v, nil
}

// PublishVersion publishes $LATEST as a new version. CodeSha256 and
// RevisionId, when given, must match $LATEST's.
func (s *Service) PublishVersion(ctx context.Context, in *api.PublishVersionInput) (*api.PublishVersionOutput, error) {
	sc := scopeOf(ctx)
	ref, err := parseFunction(str(in.FunctionName), nil)
	if err != nil {
		return nil, err
	}
	var out *api.FunctionConfiguration
	var published *target
	err = s.st.Update(func(tx store.Tx) error {
		f, lv, err := s.latestForUpdate(tx, sc, ref.name, str(in.RevisionId))
		if err != nil {
			return err
		}
		if sha := str(in.CodeSha256); sha != "" && sha != str(lv.Config.CodeSha256) {
			return invalidParameter("CodeSHA256 (%s) is different from current CodeSHA256 in $LATEST (%s). Please try again with the CodeSHA256 in $LATEST.", sha, str(lv.Config.CodeSha256))
		}
		v, err := s.publish(tx, sc, f, lv, str(in.Description))
		if err != nil {
			return err
		}
		out = s.render(v)
		published = &target{sc: sc, fn: f, version: v, qualifier: str(v.Config.Version)}
		return tx.Put(bucketFunctions, functionKey(sc, ref.name), f)
	})
	if err == nil && snapStartOn(&published.version.Config) {
		s.prepareSnapshot(published)
	}
	return out, err
}

// prepareSnapshot initialises a SnapStart version's snapshot in the
// background, as Lambda does when the version is published, so that its
// first invoke is already a restore. An init that fails is reported by
// the invokes, as on Lambda.
func (s *Service) prepareSnapshot(t *target) {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		fn, err := s.envFunction(s.ctx, t)
		if err == nil {
			err = s.env.Prepare(s.ctx, fn)
		}
		if err != nil && s.ctx.Err() == nil {
			s.opts.Logger.Warn("SnapStart snapshot not prepared", "function", t.fn.Name, "version", t.qualifier, "error", err)
		}
		// A version deleted while its snapshot was being taken has had
		// its environments retired already; this snapshot goes too.
		gone := s.st.View(func(tx store.Tx) error {
			_, err := loadVersion(tx, t.sc, t.fn.Name, t.qualifier)
			return err
		}) != nil
		if gone {
			s.retire(t.sc, t.fn.Name, t.qualifier)
		}
	}()
}

// ListVersionsByFunction lists $LATEST and the published versions, in
// order.
func (s *Service) ListVersionsByFunction(ctx context.Context, in *api.ListVersionsByFunctionInput) (*api.ListVersionsByFunctionOutput, error) {
	sc := scopeOf(ctx)
	ref, err := parseFunction(str(in.FunctionName), nil)
	if err != nil {
		return nil, err
	}
	marker, err := decodeMarker(in.Marker)
	if err != nil {
		return nil, err
	}
	limit := int(deref(in.MaxItems, 50))
	out := api.ListVersionsByFunctionOutput{Versions: []api.FunctionConfiguration{}}
	err = s.st.View(func(tx store.Tx) error {
		if _, err := loadFunction(tx, sc, ref.name); err != nil {
			return err
		}
		return tx.ForEach(bucketVersions, functionKey(sc, ref.name)+":", func(k string, decode func(any) error) error {
			if k <= marker {
				return nil
			}
			if len(out.Versions) == limit {
				out.NextMarker = encodeMarker(lastKey(out.Versions, sc))
				return errStop
			}
			var v versionRecord
			if err := decode(&v); err != nil {
				return err
			}
			out.Versions = append(out.Versions, *s.render(&v))
			return nil
		})
	})
	if err == errStop {
		err = nil
	}
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// aliasConfig renders an alias.
func aliasConfig(sc scope, fn string, a *aliasRecord) *api.AliasConfiguration {
	c := &api.AliasConfiguration{
		AliasArn:        ptr(sc.qualifiedARN(fn, a.Name)),
		Name:            ptr(a.Name),
		FunctionVersion: ptr(a.Version),
		Description:     ptr(a.Description),
		RevisionId:      ptr(a.RevisionID),
	}
	if len(a.Weights) > 0 {
		c.RoutingConfig = &api.AliasRoutingConfiguration{AdditionalVersionWeights: maps.Clone(a.Weights)}
	}
	return c
}

// checkRouting applies Lambda's rules to an alias's version and routing
// configuration: the versions exist, $LATEST takes no part in routing,
// at most one additional version, different from the primary.
func checkRouting(tx store.Tx, sc scope, fn, version string, weights map[string]float64) error {
	if _, err := loadVersion(tx, sc, fn, version); err != nil {
		return err
	}
	if len(weights) == 0 {
		return nil
	}
	if version == latest {
		return invalidParameter("$LATEST is not supported for an alias pointing to more than 1 version")
	}
	if len(weights) > 1 {
		return invalidParameter("Number of items in AdditionalVersionWeights cannot be greater than 1")
	}
	for v, w := range weights {
		if v == latest || !isVersion(v) {
			return invalidParameter("Invalid function version %s. Function version %s is not supported by alias routing.", v, v)
		}
		if v == version {
			return invalidParameter("Invalid function version %s. Function version %s is already included in primary version.", v, v)
		}
		if w < 0 || w > 1 {
			return invalidParameter("Invalid weight %v for version %s: a weight must be between 0.0 and 1.0.", w, v)
		}
		if _, err := loadVersion(tx, sc, fn, v); err != nil {
			return err
		}
	}
	return nil
}

// CreateAlias creates an alias for a version, optionally routing a share
// of invocations to a second version.
func (s *Service) CreateAlias(ctx context.Context, in *api.CreateAliasInput) (*api.CreateAliasOutput, error) {
	sc := scopeOf(ctx)
	ref, err := parseFunction(str(in.FunctionName), nil)
	if err != nil {
		return nil, err
	}
	name := str(in.Name)
	if isVersion(name) || strings.HasPrefix(name, "$") {
		return nil, invalidParameter("Alias name %s is not valid: an alias name cannot be a version.", name)
	}
	var weights map[string]float64
	if in.RoutingConfig != nil {
		weights = in.RoutingConfig.AdditionalVersionWeights
	}
	var out *api.AliasConfiguration
	err = s.st.Update(func(tx store.Tx) error {
		f, err := loadFunction(tx, sc, ref.name)
		if err != nil {
			return err
		}
		if f.Aliases[name] != nil {
			return conflict("Alias already exists: %s", sc.qualifiedARN(ref.name, name))
		}
		if err := checkRouting(tx, sc, ref.name, str(in.FunctionVersion), weights); err != nil {
			return err
		}
		a := &aliasRecord{Name: name, Version: str(in.FunctionVersion), Description: str(in.Description), RevisionID: newUUID()}
		if len(weights) > 0 {
			a.Weights = maps.Clone(weights)
		}
		if f.Aliases == nil {
			f.Aliases = map[string]*aliasRecord{}
		}
		f.Aliases[name] = a
		out = aliasConfig(sc, ref.name, a)
		return tx.Put(bucketFunctions, functionKey(sc, ref.name), f)
	})
	return out, err
}

// GetAlias returns an alias.
func (s *Service) GetAlias(ctx context.Context, in *api.GetAliasInput) (*api.GetAliasOutput, error) {
	sc := scopeOf(ctx)
	ref, err := parseFunction(str(in.FunctionName), nil)
	if err != nil {
		return nil, err
	}
	var out *api.AliasConfiguration
	err = s.st.View(func(tx store.Tx) error {
		f, err := loadFunction(tx, sc, ref.name)
		if err != nil {
			return err
		}
		a := f.Aliases[str(in.Name)]
		if a == nil {
			return aliasNotFound(sc.qualifiedARN(ref.name, str(in.Name)))
		}
		out = aliasConfig(sc, ref.name, a)
		return nil
	})
	return out, err
}

// UpdateAlias changes an alias's version, description or routing; an
// empty AdditionalVersionWeights removes routing.
func (s *Service) UpdateAlias(ctx context.Context, in *api.UpdateAliasInput) (*api.UpdateAliasOutput, error) {
	sc := scopeOf(ctx)
	ref, err := parseFunction(str(in.FunctionName), nil)
	if err != nil {
		return nil, err
	}
	name := str(in.Name)
	var out *api.AliasConfiguration
	err = s.st.Update(func(tx store.Tx) error {
		f, err := loadFunction(tx, sc, ref.name)
		if err != nil {
			return err
		}
		a := f.Aliases[name]
		if a == nil {
			return aliasNotFound(sc.qualifiedARN(ref.name, name))
		}
		if r := str(in.RevisionId); r != "" && r != a.RevisionID {
			return revisionMismatch()
		}
		if in.FunctionVersion != nil {
			a.Version = *in.FunctionVersion
		}
		if in.Description != nil {
			a.Description = *in.Description
		}
		if in.RoutingConfig != nil {
			a.Weights = maps.Clone(in.RoutingConfig.AdditionalVersionWeights)
		}
		if err := checkRouting(tx, sc, ref.name, a.Version, a.Weights); err != nil {
			return err
		}
		a.RevisionID = newUUID()
		out = aliasConfig(sc, ref.name, a)
		return tx.Put(bucketFunctions, functionKey(sc, ref.name), f)
	})
	return out, err
}

// ListAliases lists a function's aliases by name, optionally only those
// of one version.
func (s *Service) ListAliases(ctx context.Context, in *api.ListAliasesInput) (*api.ListAliasesOutput, error) {
	sc, ref, f, err := s.readFunction(ctx, str(in.FunctionName))
	if err != nil {
		return nil, err
	}
	out := api.ListAliasesOutput{Aliases: []api.AliasConfiguration{}}
	names := sortedKeys(f.Aliases)
	page, next, err := pageOf(names, in.Marker, in.MaxItems)
	if err != nil {
		return nil, err
	}
	for _, n := range page {
		a := f.Aliases[n]
		if v := str(in.FunctionVersion); v != "" && a.Version != v {
			continue
		}
		out.Aliases = append(out.Aliases, *aliasConfig(sc, ref.name, a))
	}
	out.NextMarker = next
	return &out, nil
}

// DeleteAlias deletes an alias and what hangs on it (async settings,
// provisioned concurrency, URL).
func (s *Service) DeleteAlias(ctx context.Context, in *api.DeleteAliasInput) (*api.DeleteAliasOutput, error) {
	sc := scopeOf(ctx)
	ref, err := parseFunction(str(in.FunctionName), nil)
	if err != nil {
		return nil, err
	}
	name := str(in.Name)
	hadURL := false
	err = s.st.Update(func(tx store.Tx) error {
		f, err := loadFunction(tx, sc, ref.name)
		if err != nil {
			return err
		}
		if f.Aliases[name] == nil {
			return nil
		}
		delete(f.Aliases, name)
		delete(f.EventInvoke, name)
		delete(f.Provisioned, name)
		delete(f.Policies, name)
		if _, ok := f.URLs[name]; ok {
			hadURL = true
			delete(f.URLs, name)
		}
		return tx.Put(bucketFunctions, functionKey(sc, ref.name), f)
	})
	if err != nil {
		return nil, err
	}
	if hadURL {
		s.urls.stop(urlKey(sc, ref.name, name))
	}
	return &api.DeleteAliasOutput{}, nil
}

// pageOf cuts a sorted list of names into the page after marker (a name)
// of at most maxItems (default 50), and the marker of the next page.
func pageOf(names []string, marker *string, maxItems *int32) ([]string, *string, error) {
	after, err := decodeMarker(marker)
	if err != nil {
		return nil, nil, err
	}
	start := 0
	if after != "" {
		for start < len(names) && names[start] <= after {
			start++
		}
	}
	limit := int(deref(maxItems, 50))
	end := min(len(names), start+limit)
	var next *string
	if end < len(names) {
		next = encodeMarker(names[end-1])
	}
	return names[start:end], next, nil
}
