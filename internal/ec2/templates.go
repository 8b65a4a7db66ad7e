package ec2

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	api "github.com/nephele-dev/nephele/internal/api/ec2"
	"github.com/nephele-dev/nephele/internal/arn"
	"github.com/nephele-dev/nephele/internal/awserr"
	"github.com/nephele-dev/nephele/internal/awsid"
	"github.com/nephele-dev/nephele/internal/ec2/catalog"
	"github.com/nephele-dev/nephele/internal/filter"
	"github.com/nephele-dev/nephele/internal/page"
	"github.com/nephele-dev/nephele/internal/service"
	"github.com/nephele-dev/nephele/internal/store"
)

// Launch templates: named, versioned sets of RunInstances parameters.
// A template's versions are immutable and numbered from 1 in the order they
// are made; one of them is the default, which a launch uses unless it names
// another ("$Latest" or a number). Each template is one record, its
// versions inside it.

var launchTemplateKind = register(kind{prefix: "lt", resourceType: "launch-template", bucket: "ec2/launchtemplates"})

// templateRecord is a stored launch template: its API shape (without tags)
// and its versions, in number order.
type templateRecord struct {
	api.LaunchTemplate
	Versions []templateVersion
	// NextVersion is the number the next version gets: numbers are not
	// reused after a version is deleted.
	NextVersion int64
	ClientToken string `json:",omitempty"`
}

// templateVersion is one version of a launch template.
type templateVersion struct {
	Number      int64
	Description string `json:",omitempty"`
	CreateTime  time.Time
	Data        api.ResponseLaunchTemplateData
	ClientToken string `json:",omitempty"`
}

func (t *templateRecord) id() string { return str(t.LaunchTemplateId) }

func (t *templateRecord) version(n int64) (templateVersion, bool) {
	i := slices.IndexFunc(t.Versions, func(v templateVersion) bool { return v.Number == n })
	if i < 0 {
		return templateVersion{}, false
	}
	return t.Versions[i], true
}

// latest sets LatestVersionNumber to the highest version left.
func (t *templateRecord) setLatest() {
	var n int64
	for _, v := range t.Versions {
		n = max(n, v.Number)
	}
	t.LatestVersionNumber = ptr(n)
}

func (s *Service) launchTemplateOperations() []service.Operation {
	return []service.Operation{
		service.Handle("CreateLaunchTemplate", s.CreateLaunchTemplate),
		service.Handle("CreateLaunchTemplateVersion", s.CreateLaunchTemplateVersion),
		service.Handle("ModifyLaunchTemplate", s.ModifyLaunchTemplate),
		service.Handle("DescribeLaunchTemplates", s.DescribeLaunchTemplates),
		service.Handle("DescribeLaunchTemplateVersions", s.DescribeLaunchTemplateVersions),
		service.Handle("DeleteLaunchTemplate", s.DeleteLaunchTemplate),
		service.Handle("DeleteLaunchTemplateVersions", s.DeleteLaunchTemplateVersions),
		service.Handle("GetLaunchTemplateData", s.GetLaunchTemplateData),
	}
}

// The errors of a template or version that does not exist, in EC2's words
// (as DescribeLaunchTemplateVersions answers them).

func templateIDNotFound(id string) error {
	return awserr.BadRequest("InvalidLaunchTemplateId.NotFound", "The specified launch template, with template ID %s, does not exist.", id)
}

func templateNameNotFound(name string) error {
	return awserr.BadRequest("InvalidLaunchTemplateName.NotFoundException", "The specified launch template, with template name %s, does not exist.", name)
}

func versionNotFound(version, id string) error {
	return awserr.BadRequest("InvalidLaunchTemplateId.VersionNotFound", "Could not find the specified version %s for the launch template with ID %s.", version, id)
}

// findTemplate reads the template a request names by ID or by name
// (exactly one of them).
func findTemplate(tx store.Tx, sc scope, id, name string) (templateRecord, error) {
	var t templateRecord
	switch {
	case id == "" && name == "":
		return t, missingParameter("The request must contain the parameter launch template ID or launch template name")
	case id != "" && name != "":
		return t, invalidParameterCombination("You can specify either a launch template ID or a launch template name, but not both.")
	case id != "":
		if !strings.HasPrefix(id, "lt-") {
			return t, malformed("InvalidLaunchTemplateId.Malformed", id, "lt")
		}
		err := tx.Get(launchTemplateKind.bucket, sc.key(id), &t)
		if errors.Is(err, store.ErrNotFound) {
			return t, templateIDNotFound(id)
		}
		return t, err
	}
	all, err := listAll[templateRecord](tx, sc, launchTemplateKind.bucket)
	if err != nil {
		return t, err
	}
	i := slices.IndexFunc(all, func(t templateRecord) bool { return str(t.LaunchTemplateName) == name })
	if i < 0 {
		return t, templateNameNotFound(name)
	}
	return all[i], nil
}

// resolveVersion finds the version a request names: "$Latest", "$Default"
// ("" means the default) or a number.
func (t *templateRecord) resolveVersion(version string) (templateVersion, error) {
	var n int64
	switch version {
	case "", "$Default":
		n = deref(t.DefaultVersionNumber)
	case "$Latest":
		n = deref(t.LatestVersionNumber)
	default:
		var err error
		if n, err = strconv.ParseInt(version, 10, 64); err != nil {
			return templateVersion{}, versionNotFound(version, t.id())
		}
	}
	v, ok := t.version(n)
	if !ok {
		return v, versionNotFound(version, t.id())
	}
	return v, nil
}

// view is the API shape of a template with its tags.
func (t *templateRecord) view(tx store.Tx, sc scope) (api.LaunchTemplate, error) {
	lt := t.LaunchTemplate
	ts, err := readTags(tx, sc, t.id())
	lt.Tags = ts
	return lt, err
}

// versionView is the API shape of one version; resolveAlias shows the AMI
// an SSM parameter ImageId stands for.
func (t *templateRecord) versionView(sc scope, v templateVersion, resolveAlias bool) api.LaunchTemplateVersion {
	data := v.Data
	if resolveAlias && strings.HasPrefix(str(data.ImageId), "resolve:ssm:") {
		if id, ok := catalog.ResolveImageID(sc.region, str(data.ImageId)); ok {
			data.ImageId = ptr(id)
		}
	}
	return api.LaunchTemplateVersion{
		CreateTime:         ptr(v.CreateTime),
		CreatedBy:          t.CreatedBy,
		DefaultVersion:     ptr(v.Number == deref(t.DefaultVersionNumber)),
		LaunchTemplateData: &data,
		LaunchTemplateId:   t.LaunchTemplateId,
		LaunchTemplateName: t.LaunchTemplateName,
		VersionDescription: optional(v.Description),
		VersionNumber:      ptr(v.Number),
	}
}

// convert copies the members of one generated shape into another that has
// the same members: a template's request data into its response data, and
// those into the RunInstances members they stand for. The generated
// structs name their fields after the model's members, so a JSON round trip
// copies every member both shapes have and leaves out the rest; a member
// whose shapes differ in kind is skipped (json.Unmarshal carries on past
// an UnmarshalTypeError), which is what a copy between shapes wants.
func convert[T any](from any) T {
	var to T
	b, err := json.Marshal(from)
	if err != nil {
		return to
	}
	_ = json.Unmarshal(b, &to)
	return to
}

// checkData reports what in a template's data would make a launch fail,
// as the Warning of CreateLaunchTemplate and CreateLaunchTemplateVersion:
// EC2 does not refuse such a template ("Launch template parameters are not
// fully validated when you create the launch template"), it warns.
func (s *Service) checkData(tx store.Tx, sc scope, data api.ResponseLaunchTemplateData) (*api.ValidationWarning, error) {
	var warn api.ValidationWarning
	add := func(err error) error {
		if e := awserr.As(err); e != nil && e.Status < 500 {
			warn.Errors = append(warn.Errors, api.ValidationError{Code: ptr(e.Code), Message: ptr(e.Message)})
			return nil
		}
		return err
	}
	// An SSM parameter is resolved at launch, as the parameter then says.
	if id := str(data.ImageId); id != "" && !strings.HasPrefix(id, "resolve:ssm:") {
		if _, _, err := s.findImage(tx, sc, id); err != nil {
			if err := add(err); err != nil {
				return nil, err
			}
		}
	}
	if typ := str(data.InstanceType); typ != "" {
		if _, ok := catalog.InstanceType(typ); !ok {
			_ = add(invalidParameterValue("Invalid value '%s' for InstanceType.", typ))
		}
	}
	if key := str(data.KeyName); key != "" {
		if _, err := loadKeyPairByName(tx, sc, key); err != nil {
			if err := add(err); err != nil {
				return nil, err
			}
		}
	}
	if len(warn.Errors) == 0 {
		return nil, nil
	}
	return &warn, nil
}

// templateDataTypes are the resources a template's TagSpecifications may
// tag.
var templateDataTypes = []string{"instance", "volume", "network-interface", "spot-instances-request", "elastic-gpu"}

// templateData checks and converts the data of a new template or version.
func templateData(req *api.RequestLaunchTemplateData) (api.ResponseLaunchTemplateData, error) {
	if req == nil {
		return api.ResponseLaunchTemplateData{}, nil
	}
	for _, ts := range req.TagSpecifications {
		if rt := str(ts.ResourceType); !slices.Contains(templateDataTypes, rt) {
			return api.ResponseLaunchTemplateData{}, invalidParameterValue("'%s' is not a valid taggable resource type for this operation.", rt)
		}
		if err := ec2TagRules.Validate(toTags(ts.Tags), 0, func(msg string) error { return invalidParameterValue("%s", msg) }); err != nil {
			return api.ResponseLaunchTemplateData{}, err
		}
	}
	if _, err := checkUserData(req.UserData); err != nil {
		return api.ResponseLaunchTemplateData{}, err
	}
	return convert[api.ResponseLaunchTemplateData](req), nil
}

// createdBy is who made a template: the account's root, as nephele does
// not track the calling principal.
func createdBy(sc scope) string {
	return arn.ARN{Partition: arn.Partition(sc.region), Service: "iam", AccountID: sc.account, Resource: "root"}.String()
}

// CreateLaunchTemplate makes a launch template with its first version,
// which is its default. A template's name is unique in its Region; the
// ClientToken makes a retried request return the template it made.
func (s *Service) CreateLaunchTemplate(ctx context.Context, in *api.CreateLaunchTemplateInput) (*api.CreateLaunchTemplateOutput, error) {
	sc := scopeOf(ctx)
	if err := s.seed(sc); err != nil {
		return nil, err
	}
	name := str(in.LaunchTemplateName)
	if !validTemplateName(name) {
		return nil, awserr.BadRequest("InvalidLaunchTemplateName.MalformedException",
			"A launch template name must be between 3 and 128 characters, and may contain letters, numbers, and the following characters: - ( ) . / _.")
	}
	if in.LaunchTemplateData == nil || reflect.ValueOf(*in.LaunchTemplateData).IsZero() {
		return nil, missingParameter("No launch template data was provided. Launch template data is required to create a launch template.")
	}
	data, err := templateData(in.LaunchTemplateData)
	if err != nil {
		return nil, err
	}
	ltTags, err := tagSpecTags(in.TagSpecifications, "launch-template", "launch-template")
	if err != nil {
		return nil, err
	}
	out := &api.CreateLaunchTemplateOutput{}
	err = s.st.Update(func(tx store.Tx) error {
		all, err := listAll[templateRecord](tx, sc, launchTemplateKind.bucket)
		if err != nil {
			return err
		}
		if token := str(in.ClientToken); token != "" {
			if i := slices.IndexFunc(all, func(t templateRecord) bool { return t.ClientToken == token }); i >= 0 {
				lt, err := all[i].view(tx, sc)
				out.LaunchTemplate = &lt
				return err
			}
		}
		if slices.ContainsFunc(all, func(t templateRecord) bool { return str(t.LaunchTemplateName) == name }) {
			return awserr.BadRequest("InvalidLaunchTemplateName.AlreadyExistsException", "Launch template name already in use.")
		}
		if out.Warning, err = s.checkData(tx, sc, data); err != nil {
			return err
		}
		now := s.now()
		t := templateRecord{
			LaunchTemplate: api.LaunchTemplate{
				LaunchTemplateId:     ptr(awsid.New("lt")),
				LaunchTemplateName:   ptr(name),
				CreateTime:           ptr(now),
				CreatedBy:            ptr(createdBy(sc)),
				DefaultVersionNumber: ptr(int64(1)),
				LatestVersionNumber:  ptr(int64(1)),
			},
			Versions:    []templateVersion{{Number: 1, Description: str(in.VersionDescription), CreateTime: now, Data: data}},
			NextVersion: 2,
			ClientToken: str(in.ClientToken),
		}
		if err := tx.Put(launchTemplateKind.bucket, sc.key(t.id()), t); err != nil {
			return err
		}
		if len(ltTags) > 0 {
			if err := addTags(tx, sc, t.id(), ltTags); err != nil {
				return err
			}
		}
		lt, err := t.view(tx, sc)
		out.LaunchTemplate = &lt
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// validTemplateName checks a template name against EC2's rule: 3 to 128
// characters among letters, digits and "()./-_".
func validTemplateName(name string) bool {
	if len(name) < 3 || len(name) > 128 {
		return false
	}
	for _, r := range name {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', strings.ContainsRune("()./-_", r):
		default:
			return false
		}
	}
	return true
}

// CreateLaunchTemplateVersion adds a version to a template: the data
// given, over that of SourceVersion when one is named. The new version is
// the latest, not the default.
func (s *Service) CreateLaunchTemplateVersion(ctx context.Context, in *api.CreateLaunchTemplateVersionInput) (*api.CreateLaunchTemplateVersionOutput, error) {
	sc := scopeOf(ctx)
	if err := s.seed(sc); err != nil {
		return nil, err
	}
	data, err := templateData(in.LaunchTemplateData)
	if err != nil {
		return nil, err
	}
	out := &api.CreateLaunchTemplateVersionOutput{}
	err = s.st.Update(func(tx store.Tx) error {
		t, err := findTemplate(tx, sc, str(in.LaunchTemplateId), str(in.LaunchTemplateName))
		if err != nil {
			return err
		}
		if token := str(in.ClientToken); token != "" {
			if i := slices.IndexFunc(t.Versions, func(v templateVersion) bool { return v.ClientToken == token }); i >= 0 {
				v := t.versionView(sc, t.Versions[i], boolean(in.ResolveAlias))
				out.LaunchTemplateVersion = &v
				return nil
			}
		}
		if in.SourceVersion != nil {
			src, err := t.resolveVersion(str(in.SourceVersion))
			if err != nil {
				return err
			}
			data = mergeStruct(src.Data, data)
		}
		if out.Warning, err = s.checkData(tx, sc, data); err != nil {
			return err
		}
		if t.NextVersion == 0 {
			t.NextVersion = deref(t.LatestVersionNumber) + 1
		}
		v := templateVersion{Number: t.NextVersion, Description: str(in.VersionDescription), CreateTime: s.now(), Data: data, ClientToken: str(in.ClientToken)}
		t.Versions = append(t.Versions, v)
		t.NextVersion++
		t.setLatest()
		if err := tx.Put(launchTemplateKind.bucket, sc.key(t.id()), t); err != nil {
			return err
		}
		view := t.versionView(sc, v, boolean(in.ResolveAlias))
		out.LaunchTemplateVersion = &view
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// ModifyLaunchTemplate changes which version of a template is its default.
func (s *Service) ModifyLaunchTemplate(ctx context.Context, in *api.ModifyLaunchTemplateInput) (*api.ModifyLaunchTemplateOutput, error) {
	sc := scopeOf(ctx)
	if err := s.seed(sc); err != nil {
		return nil, err
	}
	out := &api.ModifyLaunchTemplateOutput{}
	err := s.st.Update(func(tx store.Tx) error {
		t, err := findTemplate(tx, sc, str(in.LaunchTemplateId), str(in.LaunchTemplateName))
		if err != nil {
			return err
		}
		if in.DefaultVersion != nil {
			v, err := t.resolveVersion(str(in.DefaultVersion))
			if err != nil {
				return err
			}
			t.DefaultVersionNumber = ptr(v.Number)
			if err := tx.Put(launchTemplateKind.bucket, sc.key(t.id()), t); err != nil {
				return err
			}
		}
		lt, err := t.view(tx, sc)
		out.LaunchTemplate = &lt
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// timeField renders a time as EC2's filters compare it.
func timeField(t *time.Time) []string {
	if t == nil {
		return nil
	}
	return []string{t.UTC().Format("2006-01-02T15:04:05.000Z")}
}

// launchTemplateFields are DescribeLaunchTemplates's filters.
var launchTemplateFields = filter.Fields[tagged[templateRecord]]{
	"create-time":          func(t tagged[templateRecord]) []string { return timeField(t.item.CreateTime) },
	"launch-template-name": field(func(t templateRecord) *string { return t.LaunchTemplateName }),
	"launch-template-id":   field(func(t templateRecord) *string { return t.LaunchTemplateId }),
}

// maxTemplatesPage is the largest page of DescribeLaunchTemplates and
// DescribeLaunchTemplateVersions (MaxResults "can be between 1 and 200").
const maxTemplatesPage = 200

// DescribeLaunchTemplates lists the Region's templates, or those named by
// ID or name (each must exist), filtered, by name, in pages of at most 200.
func (s *Service) DescribeLaunchTemplates(ctx context.Context, in *api.DescribeLaunchTemplatesInput) (*api.DescribeLaunchTemplatesOutput, error) {
	sc := scopeOf(ctx)
	if err := s.seed(sc); err != nil {
		return nil, err
	}
	for _, id := range in.LaunchTemplateIds {
		if !strings.HasPrefix(id, "lt-") {
			return nil, malformed("InvalidLaunchTemplateId.Malformed", id, "lt")
		}
	}
	var all []tagged[templateRecord]
	err := s.st.View(func(tx store.Tx) error {
		recs, err := listAll[templateRecord](tx, sc, launchTemplateKind.bucket)
		if err != nil {
			return err
		}
		for _, t := range recs {
			ts, err := readTags(tx, sc, t.id())
			if err != nil {
				return err
			}
			all = append(all, tagged[templateRecord]{id: t.id(), item: t, tags: ts})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	has := func(pred func(tagged[templateRecord]) bool) bool { return slices.ContainsFunc(all, pred) }
	for _, id := range in.LaunchTemplateIds {
		if !has(func(t tagged[templateRecord]) bool { return t.id == id }) {
			return nil, templateIDNotFound(id)
		}
	}
	for _, name := range in.LaunchTemplateNames {
		if !has(func(t tagged[templateRecord]) bool { return str(t.item.LaunchTemplateName) == name }) {
			return nil, awserr.BadRequest("InvalidLaunchTemplateName.NotFoundException", "At least one of the launch templates specified in the request does not exist.")
		}
	}
	if len(in.LaunchTemplateIds) > 0 || len(in.LaunchTemplateNames) > 0 {
		all = slices.DeleteFunc(all, func(t tagged[templateRecord]) bool {
			return !slices.Contains(in.LaunchTemplateIds, t.id) && !slices.Contains(in.LaunchTemplateNames, str(t.item.LaunchTemplateName))
		})
	}
	matched, err := filter.Apply(all, toFilters(in.Filters), launchTemplateFields, func(t tagged[templateRecord]) map[string]string { return tagMap(t.tags) })
	if err != nil {
		return nil, err
	}
	found, next, err := page.ByKey(matched, func(t tagged[templateRecord]) string { return str(t.item.LaunchTemplateName) },
		str(in.NextToken), int(deref(in.MaxResults)), 0, maxTemplatesPage)
	if err != nil {
		return nil, pageError(err, str(in.NextToken), maxTemplatesPage)
	}
	out := &api.DescribeLaunchTemplatesOutput{LaunchTemplates: []api.LaunchTemplate{}, NextToken: optional(next)}
	for _, t := range found {
		lt := t.item.LaunchTemplate
		lt.Tags = t.tags
		out.LaunchTemplates = append(out.LaunchTemplates, lt)
	}
	return out, nil
}

// templateVersionItem is one version of one template, as
// DescribeLaunchTemplateVersions lists and filters them.
type templateVersionItem struct {
	t templateRecord
	v templateVersion
}

func versionString(get func(api.ResponseLaunchTemplateData) *string) func(templateVersionItem) []string {
	return func(i templateVersionItem) []string {
		if v := get(i.v.Data); v != nil {
			return []string{*v}
		}
		return nil
	}
}

func versionBool(get func(api.ResponseLaunchTemplateData) *bool) func(templateVersionItem) []string {
	return func(i templateVersionItem) []string {
		if v := get(i.v.Data); v != nil {
			return []string{strconv.FormatBool(*v)}
		}
		return nil
	}
}

// metadataOption reads one member of a version's metadata options.
func metadataOption(get func(api.LaunchTemplateInstanceMetadataOptions) *string) func(api.ResponseLaunchTemplateData) *string {
	return func(d api.ResponseLaunchTemplateData) *string {
		if d.MetadataOptions == nil {
			return nil
		}
		return get(*d.MetadataOptions)
	}
}

// templateVersionFields are DescribeLaunchTemplateVersions's filters.
var templateVersionFields = filter.Fields[templateVersionItem]{
	"create-time":   func(i templateVersionItem) []string { return timeField(&i.v.CreateTime) },
	"ebs-optimized": versionBool(func(d api.ResponseLaunchTemplateData) *bool { return d.EbsOptimized }),
	"http-endpoint": versionString(metadataOption(func(m api.LaunchTemplateInstanceMetadataOptions) *string { return m.HttpEndpoint })),
	"http-tokens":   versionString(metadataOption(func(m api.LaunchTemplateInstanceMetadataOptions) *string { return m.HttpTokens })),
	"http-protocol-ipv6": versionString(metadataOption(func(m api.LaunchTemplateInstanceMetadataOptions) *string {
		return m.HttpProtocolIpv6
	})),
	"host-resource-group-arn": versionString(func(d api.ResponseLaunchTemplateData) *string {
		if d.Placement == nil {
			return nil
		}
		return d.Placement.HostResourceGroupArn
	}),
	"iam-instance-profile": func(i templateVersionItem) []string {
		p := i.v.Data.IamInstanceProfile
		if p == nil {
			return nil
		}
		var out []string
		for _, v := range []*string{p.Arn, p.Name} {
			if v != nil {
				out = append(out, *v)
			}
		}
		return out
	},
	"image-id":      versionString(func(d api.ResponseLaunchTemplateData) *string { return d.ImageId }),
	"instance-type": versionString(func(d api.ResponseLaunchTemplateData) *string { return d.InstanceType }),
	"is-default-version": func(i templateVersionItem) []string {
		return []string{strconv.FormatBool(i.v.Number == deref(i.t.DefaultVersionNumber))}
	},
	"kernel-id":   versionString(func(d api.ResponseLaunchTemplateData) *string { return d.KernelId }),
	"ram-disk-id": versionString(func(d api.ResponseLaunchTemplateData) *string { return d.RamDiskId }),
	"license-configuration-arn": func(i templateVersionItem) []string {
		var out []string
		for _, l := range i.v.Data.LicenseSpecifications {
			out = append(out, str(l.LicenseConfigurationArn))
		}
		return out
	},
	"network-card-index": func(i templateVersionItem) []string {
		var out []string
		for _, n := range i.v.Data.NetworkInterfaces {
			if n.NetworkCardIndex != nil {
				out = append(out, strconv.Itoa(int(*n.NetworkCardIndex)))
			}
		}
		return out
	},
}

func init() {
	// The EC2 API reference lists http-protocol-ipv4 for the IPv6 option.
	templateVersionFields["http-protocol-ipv4"] = templateVersionFields["http-protocol-ipv6"]
}

// allTemplatesMessage is EC2's answer to a DescribeLaunchTemplateVersions
// that names no template but asks for version numbers, or for nothing.
const allTemplatesMessage = "To describe the launch template data for all your launch templates, for ‘--versions’ specify ‘$Latest’, ‘$Default’, or both, and omit ‘--launch-template-id’, ‘--launch-template-name’, and version numbers. To describe the launch template data for a specific launch template, specify ‘--launch-template-id’ or ‘--launch-template-name’, and for ‘--versions’ specify one or more of the following values: ‘$Latest’, ‘$Default’, or one or more version numbers."

// DescribeLaunchTemplateVersions lists versions of one template (all, those
// named, or those between MinVersion and MaxVersion), or, when no template
// is named, the latest or default version of every template. Versions are
// ordered by template, then number, in pages of at most 200.
func (s *Service) DescribeLaunchTemplateVersions(ctx context.Context, in *api.DescribeLaunchTemplateVersionsInput) (*api.DescribeLaunchTemplateVersionsOutput, error) {
	sc := scopeOf(ctx)
	if err := s.seed(sc); err != nil {
		return nil, err
	}
	var items []templateVersionItem
	err := s.st.View(func(tx store.Tx) error {
		if in.LaunchTemplateId == nil && in.LaunchTemplateName == nil {
			return everyTemplateVersions(tx, sc, in.Versions, &items)
		}
		t, err := findTemplate(tx, sc, str(in.LaunchTemplateId), str(in.LaunchTemplateName))
		if err != nil {
			return err
		}
		return templateVersions(t, in, &items)
	})
	if err != nil {
		return nil, err
	}
	matched, err := filter.Apply(items, toFilters(in.Filters), templateVersionFields, nil)
	if err != nil {
		return nil, err
	}
	found, next, err := page.ByKey(matched, func(i templateVersionItem) string { return fmt.Sprintf("%s/%020d", i.t.id(), i.v.Number) },
		str(in.NextToken), int(deref(in.MaxResults)), 0, maxTemplatesPage)
	if err != nil {
		return nil, pageError(err, str(in.NextToken), maxTemplatesPage)
	}
	out := &api.DescribeLaunchTemplateVersionsOutput{LaunchTemplateVersions: []api.LaunchTemplateVersion{}, NextToken: optional(next)}
	for _, i := range found {
		out.LaunchTemplateVersions = append(out.LaunchTemplateVersions, i.t.versionView(sc, i.v, boolean(in.ResolveAlias)))
	}
	return out, nil
}

// everyTemplateVersions collects the latest and/or default version of
// every template, for a DescribeLaunchTemplateVersions without a template.
func everyTemplateVersions(tx store.Tx, sc scope, versions []string, items *[]templateVersionItem) error {
	if len(versions) == 0 {
		return missingParameter("%s", allTemplatesMessage)
	}
	for _, v := range versions {
		if v != "$Latest" && v != "$Default" {
			return invalidParameterValue("%s", allTemplatesMessage)
		}
	}
	all, err := listAll[templateRecord](tx, sc, launchTemplateKind.bucket)
	if err != nil {
		return err
	}
	for _, t := range all {
		var numbers []int64
		for _, v := range versions {
			n := deref(t.LatestVersionNumber)
			if v == "$Default" {
				n = deref(t.DefaultVersionNumber)
			}
			if !slices.Contains(numbers, n) {
				numbers = append(numbers, n)
			}
		}
		for _, n := range numbers {
			if v, ok := t.version(n); ok {
				*items = append(*items, templateVersionItem{t: t, v: v})
			}
		}
	}
	return nil
}

// templateVersions collects the versions of one template a
// DescribeLaunchTemplateVersions asks for.
func templateVersions(t templateRecord, in *api.DescribeLaunchTemplateVersionsInput, items *[]templateVersionItem) error {
	bound := func(s *string, def int64) (int64, error) {
		if s == nil {
			return def, nil
		}
		n, err := strconv.ParseInt(*s, 10, 64)
		if err != nil {
			return 0, invalidParameterValue("Value (%s) for parameter version is invalid. Expected a version number.", *s)
		}
		return n, nil
	}
	lo, err := bound(in.MinVersion, 0)
	if err != nil {
		return err
	}
	hi, err := bound(in.MaxVersion, 1<<62)
	if err != nil {
		return err
	}
	if len(in.Versions) == 0 {
		for _, v := range t.Versions {
			if v.Number >= lo && v.Number <= hi {
				*items = append(*items, templateVersionItem{t: t, v: v})
			}
		}
		return nil
	}
	for _, name := range in.Versions {
		v, err := t.resolveVersion(name)
		if err != nil {
			return err
		}
		if v.Number >= lo && v.Number <= hi && !slices.ContainsFunc(*items, func(i templateVersionItem) bool { return i.v.Number == v.Number }) {
			*items = append(*items, templateVersionItem{t: t, v: v})
		}
	}
	return nil
}

// DeleteLaunchTemplate deletes a template with all its versions.
func (s *Service) DeleteLaunchTemplate(ctx context.Context, in *api.DeleteLaunchTemplateInput) (*api.DeleteLaunchTemplateOutput, error) {
	sc := scopeOf(ctx)
	if err := s.seed(sc); err != nil {
		return nil, err
	}
	out := &api.DeleteLaunchTemplateOutput{}
	err := s.st.Update(func(tx store.Tx) error {
		t, err := findTemplate(tx, sc, str(in.LaunchTemplateId), str(in.LaunchTemplateName))
		if err != nil {
			return err
		}
		lt, err := t.view(tx, sc)
		if err != nil {
			return err
		}
		out.LaunchTemplate = &lt
		if err := writeTags(tx, sc, t.id(), nil); err != nil {
			return err
		}
		return tx.Delete(launchTemplateKind.bucket, sc.key(t.id()))
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// DeleteLaunchTemplateVersions deletes versions of a template. Each
// version succeeds or fails on its own: the default version cannot be
// deleted ("you must first assign a different version as the default"),
// nor can one that does not exist.
func (s *Service) DeleteLaunchTemplateVersions(ctx context.Context, in *api.DeleteLaunchTemplateVersionsInput) (*api.DeleteLaunchTemplateVersionsOutput, error) {
	sc := scopeOf(ctx)
	if err := s.seed(sc); err != nil {
		return nil, err
	}
	if len(in.Versions) > 200 {
		return nil, invalidParameterValue("You can specify up to 200 launch template version numbers in a single request.")
	}
	out := &api.DeleteLaunchTemplateVersionsOutput{
		SuccessfullyDeletedLaunchTemplateVersions:   []api.DeleteLaunchTemplateVersionsResponseSuccessItem{},
		UnsuccessfullyDeletedLaunchTemplateVersions: []api.DeleteLaunchTemplateVersionsResponseErrorItem{},
	}
	err := s.st.Update(func(tx store.Tx) error {
		t, err := findTemplate(tx, sc, str(in.LaunchTemplateId), str(in.LaunchTemplateName))
		if err != nil {
			return err
		}
		for _, name := range in.Versions {
			n, perr := strconv.ParseInt(name, 10, 64)
			fail := func(code, msg string) {
				item := api.DeleteLaunchTemplateVersionsResponseErrorItem{
					LaunchTemplateId: t.LaunchTemplateId, LaunchTemplateName: t.LaunchTemplateName,
					ResponseError: &api.ResponseError{Code: ptr(code), Message: ptr(msg)},
				}
				if perr == nil {
					item.VersionNumber = ptr(n)
				}
				out.UnsuccessfullyDeletedLaunchTemplateVersions = append(out.UnsuccessfullyDeletedLaunchTemplateVersions, item)
			}
			if _, ok := t.version(n); perr != nil || !ok {
				fail("launchTemplateVersionDoesNotExist", "The specified launch template version does not exist.")
				continue
			}
			if n == deref(t.DefaultVersionNumber) {
				fail("unexpectedError", "Cannot delete the default version of a launch template. Set another version as the default, or delete the launch template.")
				continue
			}
			t.Versions = slices.DeleteFunc(t.Versions, func(v templateVersion) bool { return v.Number == n })
			out.SuccessfullyDeletedLaunchTemplateVersions = append(out.SuccessfullyDeletedLaunchTemplateVersions, api.DeleteLaunchTemplateVersionsResponseSuccessItem{
				LaunchTemplateId: t.LaunchTemplateId, LaunchTemplateName: t.LaunchTemplateName, VersionNumber: ptr(n),
			})
		}
		if t.NextVersion == 0 {
			t.NextVersion = deref(t.LatestVersionNumber) + 1
		}
		t.setLatest()
		return tx.Put(launchTemplateKind.bucket, sc.key(t.id()), t)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// GetLaunchTemplateData returns the launch parameters of an instance, as
// data for a new template that would launch one like it.
func (s *Service) GetLaunchTemplateData(ctx context.Context, in *api.GetLaunchTemplateDataInput) (*api.GetLaunchTemplateDataOutput, error) {
	sc := scopeOf(ctx)
	if err := s.seed(sc); err != nil {
		return nil, err
	}
	id := str(in.InstanceId)
	if !strings.HasPrefix(id, "i-") {
		return nil, malformed("InvalidInstanceID.Malformed", id, "i")
	}
	var data api.ResponseLaunchTemplateData
	err := s.st.View(func(tx store.Tx) error {
		r, err := loadInstance(tx, sc, id)
		if err != nil {
			return err
		}
		ts, err := readTags(tx, sc, id)
		if err != nil {
			return err
		}
		data = instanceTemplateData(r, ts)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &api.GetLaunchTemplateDataOutput{LaunchTemplateData: &data}, nil
}

// instanceTemplateData is the template data of an instance.
func instanceTemplateData(r instanceRecord, ts []api.Tag) api.ResponseLaunchTemplateData {
	d := api.ResponseLaunchTemplateData{
		ImageId:                           r.ImageId,
		InstanceType:                      r.InstanceType,
		KeyName:                           r.KeyName,
		UserData:                          optional(r.UserData),
		EbsOptimized:                      ptr(boolean(r.EbsOptimized)),
		DisableApiTermination:             ptr(r.DisableAPITermination),
		DisableApiStop:                    ptr(r.DisableAPIStop),
		InstanceInitiatedShutdownBehavior: ptr(r.ShutdownBehavior),
		Monitoring:                        &api.LaunchTemplatesMonitoring{Enabled: ptr(r.Monitoring != nil && str(r.Monitoring.State) == "enabled")},
	}
	for _, g := range r.SecurityGroups {
		d.SecurityGroupIds = append(d.SecurityGroupIds, str(g.GroupId))
	}
	if r.MetadataOptions != nil {
		m := convert[api.LaunchTemplateInstanceMetadataOptions](r.MetadataOptions)
		d.MetadataOptions = &m
	}
	if p := r.Placement; p != nil {
		d.Placement = &api.LaunchTemplatePlacement{AvailabilityZone: p.AvailabilityZone, GroupName: p.GroupName, Tenancy: p.Tenancy}
	}
	if p := r.IamInstanceProfile; p != nil {
		d.IamInstanceProfile = &api.LaunchTemplateIamInstanceProfileSpecification{Arn: p.Arn}
	}
	if c := r.CpuOptions; c != nil {
		d.CpuOptions = &api.LaunchTemplateCpuOptions{CoreCount: c.CoreCount, ThreadsPerCore: c.ThreadsPerCore}
	}
	if burstable(str(r.InstanceType)) {
		d.CreditSpecification = &api.CreditSpecification{CpuCredits: ptr(r.cpuCredits())}
	}
	if r.SpotInterruptionBehavior != "" || str(r.InstanceLifecycle) == "spot" {
		d.InstanceMarketOptions = &api.LaunchTemplateInstanceMarketOptions{MarketType: ptr("spot"), SpotOptions: &api.LaunchTemplateSpotMarketOptions{
			InstanceInterruptionBehavior: optional(r.SpotInterruptionBehavior), SpotInstanceType: optional(r.SpotRequestType),
		}}
	}
	if len(ts) > 0 {
		d.TagSpecifications = []api.LaunchTemplateTagSpecification{{ResourceType: ptr("instance"), Tags: ts}}
	}
	return d
}

// applyLaunchTemplate returns a copy of a RunInstances request with the
// launch template's data filling every member the request leaves out: the
// template named by ID or name, at the version named ("$Latest",
// "$Default" or a number; the default version when none is named).
// Members the request sets win; tags of the same resource type are merged,
// the request's value winning for a key both give.
//
// AWS also tags instances launched from a template with
// aws:ec2launchtemplate:id and aws:ec2launchtemplate:version. Those are not
// among the returned TagSpecifications, as RunInstances checks every tag
// there against the rule that refuses "aws:" keys: launchTemplateTags makes
// them from the returned LaunchTemplate, which names the version used.
func (s *Service) applyLaunchTemplate(tx store.Tx, sc scope, in *api.RunInstancesInput) (*api.RunInstancesInput, error) {
	spec := in.LaunchTemplate
	t, err := findTemplate(tx, sc, str(spec.LaunchTemplateId), str(spec.LaunchTemplateName))
	if err != nil {
		return nil, err
	}
	v, err := t.resolveVersion(str(spec.Version))
	if err != nil {
		return nil, err
	}
	out := *in
	mergeTemplateData(&out, v.Data)
	// The copy names the version used by number, for launchTemplateTags.
	out.LaunchTemplate = &api.LaunchTemplateSpecification{LaunchTemplateId: t.LaunchTemplateId, Version: ptr(strconv.FormatInt(v.Number, 10))}
	return &out, nil
}

// launchTemplateTags are the tags AWS gives an instance launched from a
// template, naming the template and the number of the version used
// (Terraform's aws_instance reads its launch_template back from them).
// spec is the LaunchTemplate of a request applyLaunchTemplate returned.
// They begin with "aws:", so they are written beside the request's tags,
// after those passed the tag rules.
func launchTemplateTags(spec *api.LaunchTemplateSpecification) []api.Tag {
	if spec == nil || spec.LaunchTemplateId == nil {
		return nil
	}
	return []api.Tag{
		{Key: ptr("aws:ec2launchtemplate:id"), Value: spec.LaunchTemplateId},
		{Key: ptr("aws:ec2launchtemplate:version"), Value: ptr(str(spec.Version))},
	}
}

// mergeTemplateData fills the members of a RunInstances request that it
// leaves out from a template's data.
func mergeTemplateData(out *api.RunInstancesInput, d api.ResponseLaunchTemplateData) {
	fill := func(dst **string, src *string) {
		if *dst == nil && src != nil {
			*dst = src
		}
	}
	fillBool := func(dst **bool, src *bool) {
		if *dst == nil && src != nil {
			*dst = src
		}
	}
	fill(&out.ImageId, d.ImageId)
	fill(&out.InstanceType, d.InstanceType)
	fill(&out.KeyName, d.KeyName)
	fill(&out.UserData, d.UserData)
	fill(&out.KernelId, d.KernelId)
	fill(&out.RamdiskId, d.RamDiskId)
	fill(&out.InstanceInitiatedShutdownBehavior, d.InstanceInitiatedShutdownBehavior)
	fillBool(&out.EbsOptimized, d.EbsOptimized)
	fillBool(&out.DisableApiTermination, d.DisableApiTermination)
	fillBool(&out.DisableApiStop, d.DisableApiStop)

	// Security groups and the subnet: the request's, else the template's,
	// which may give them on its primary network interface.
	groupsSet := len(out.SecurityGroupIds) > 0 || len(out.SecurityGroups) > 0 ||
		slices.ContainsFunc(out.NetworkInterfaces, func(n api.InstanceNetworkInterfaceSpecification) bool { return len(n.Groups) > 0 })
	if !groupsSet {
		out.SecurityGroupIds = slices.Clone(d.SecurityGroupIds)
		out.SecurityGroups = slices.Clone(d.SecurityGroups)
	}
	if len(out.NetworkInterfaces) == 0 && len(d.NetworkInterfaces) > 0 {
		primary := d.NetworkInterfaces[0]
		for _, n := range d.NetworkInterfaces {
			if deref(n.DeviceIndex) == 0 {
				primary = n
				break
			}
		}
		if out.SubnetId == nil {
			out.SubnetId = primary.SubnetId
		}
		if !groupsSet && len(out.SecurityGroupIds) == 0 {
			out.SecurityGroupIds = slices.Clone(primary.Groups)
		}
	}

	if out.IamInstanceProfile == nil && d.IamInstanceProfile != nil {
		out.IamInstanceProfile = &api.IamInstanceProfileSpecification{Arn: d.IamInstanceProfile.Arn, Name: d.IamInstanceProfile.Name}
	}
	if out.MetadataOptions == nil && d.MetadataOptions != nil {
		m := convert[api.InstanceMetadataOptionsRequest](d.MetadataOptions)
		out.MetadataOptions = &m
	}
	if d.Placement != nil {
		p := convert[api.Placement](d.Placement)
		if out.Placement != nil {
			p = mergeStruct(p, *out.Placement)
		}
		out.Placement = &p
	}
	if out.InstanceMarketOptions == nil && d.InstanceMarketOptions != nil {
		m := convert[api.InstanceMarketOptionsRequest](d.InstanceMarketOptions)
		out.InstanceMarketOptions = &m
	}
	if len(out.BlockDeviceMappings) == 0 && len(d.BlockDeviceMappings) > 0 {
		out.BlockDeviceMappings = convert[[]api.BlockDeviceMapping](d.BlockDeviceMappings)
	}
	if out.Monitoring == nil && d.Monitoring != nil {
		out.Monitoring = &api.RunInstancesMonitoringEnabled{Enabled: ptr(boolean(d.Monitoring.Enabled))}
	}
	if out.CreditSpecification == nil && d.CreditSpecification != nil {
		out.CreditSpecification = &api.CreditSpecificationRequest{CpuCredits: d.CreditSpecification.CpuCredits}
	}
	if out.CpuOptions == nil && d.CpuOptions != nil {
		c := convert[api.CpuOptionsRequest](d.CpuOptions)
		out.CpuOptions = &c
	}
	if out.CapacityReservationSpecification == nil && d.CapacityReservationSpecification != nil {
		c := convert[api.CapacityReservationSpecification](d.CapacityReservationSpecification)
		out.CapacityReservationSpecification = &c
	}
	if out.HibernationOptions == nil && d.HibernationOptions != nil {
		h := convert[api.HibernationOptionsRequest](d.HibernationOptions)
		out.HibernationOptions = &h
	}
	if out.EnclaveOptions == nil && d.EnclaveOptions != nil {
		e := convert[api.EnclaveOptionsRequest](d.EnclaveOptions)
		out.EnclaveOptions = &e
	}
	if out.MaintenanceOptions == nil && d.MaintenanceOptions != nil {
		m := convert[api.InstanceMaintenanceOptionsRequest](d.MaintenanceOptions)
		out.MaintenanceOptions = &m
	}
	if out.PrivateDnsNameOptions == nil && d.PrivateDnsNameOptions != nil {
		p := convert[api.PrivateDnsNameOptionsRequest](d.PrivateDnsNameOptions)
		out.PrivateDnsNameOptions = &p
	}
	out.TagSpecifications = mergeTagSpecs(d.TagSpecifications, out.TagSpecifications)
}

// mergeStruct returns base with every member that over sets replacing
// base's: how a version made from a SourceVersion "inherits the same launch
// parameters as the source version, except for parameters that you
// specify" (CreateLaunchTemplateVersion), and how a request's Placement
// overrides its template's member by member.
func mergeStruct[T any](base, over T) T {
	out := reflect.ValueOf(&base).Elem()
	o := reflect.ValueOf(over)
	for i := range o.NumField() {
		if f := o.Field(i); !f.IsZero() {
			out.Field(i).Set(f)
		}
	}
	return base
}

// mergeTagSpecs merges a template's tag specifications with a request's:
// one specification per resource type, holding the tags of both, the
// request's value winning for a key both give.
func mergeTagSpecs(template []api.LaunchTemplateTagSpecification, request []api.TagSpecification) []api.TagSpecification {
	if len(template) == 0 {
		return request
	}
	var out []api.TagSpecification
	add := func(rt *string, ts []api.Tag) {
		i := slices.IndexFunc(out, func(s api.TagSpecification) bool { return str(s.ResourceType) == str(rt) })
		if i < 0 {
			out = append(out, api.TagSpecification{ResourceType: rt})
			i = len(out) - 1
		}
		for _, t := range ts {
			out[i].Tags = slices.DeleteFunc(out[i].Tags, func(have api.Tag) bool { return str(have.Key) == str(t.Key) })
			out[i].Tags = append(out[i].Tags, t)
		}
	}
	for _, s := range template {
		add(s.ResourceType, s.Tags)
	}
	for _, s := range request {
		add(s.ResourceType, s.Tags)
	}
	return out
}
