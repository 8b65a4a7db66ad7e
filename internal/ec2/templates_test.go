package ec2

import (
	"encoding/base64"
	"slices"
	"testing"

	api "github.com/nephele-dev/nephele/internal/api/ec2"
	"github.com/nephele-dev/nephele/internal/awserr"
	"github.com/nephele-dev/nephele/internal/awsid"
	"github.com/nephele-dev/nephele/internal/ec2/catalog"
	"github.com/nephele-dev/nephele/internal/store"
)

// templateImage is an x86_64 image of the us-east-1 catalogue.
func templateImage(t *testing.T) string {
	t.Helper()
	for _, img := range catalog.Images("us-east-1") {
		if str(img.Architecture) == "x86_64" {
			return str(img.ImageId)
		}
	}
	t.Fatal("no x86_64 image in the catalogue")
	return ""
}

// createTemplate makes a template with data, failing the test on error.
func (f *netFixture) createTemplate(name string, data api.RequestLaunchTemplateData) api.LaunchTemplate {
	f.t.Helper()
	out, err := f.svc.CreateLaunchTemplate(f.ctx, &api.CreateLaunchTemplateInput{LaunchTemplateName: ptr(name), LaunchTemplateData: &data})
	f.must(err)
	return *out.LaunchTemplate
}

func wantMessage(t *testing.T, err error, code, msg string) {
	t.Helper()
	e := awserr.As(err)
	if e == nil || e.Code != code || e.Message != msg {
		t.Errorf("error = %v, want %s: %s", err, code, msg)
	}
}

func TestCreateLaunchTemplate(t *testing.T) {
	f := newNetFixture(t)
	image := templateImage(t)
	out, err := f.svc.CreateLaunchTemplate(f.ctx, &api.CreateLaunchTemplateInput{
		LaunchTemplateName: ptr("web"), VersionDescription: ptr("first"),
		LaunchTemplateData: &api.RequestLaunchTemplateData{ImageId: ptr(image), InstanceType: ptr("t3.micro"),
			TagSpecifications: []api.LaunchTemplateTagSpecificationRequest{{ResourceType: ptr("instance"), Tags: []api.Tag{{Key: ptr("role"), Value: ptr("web")}}}}},
		TagSpecifications: []api.TagSpecification{{ResourceType: ptr("launch-template"), Tags: []api.Tag{{Key: ptr("team"), Value: ptr("a")}}}},
	})
	f.must(err)
	lt := out.LaunchTemplate
	if deref(lt.DefaultVersionNumber) != 1 || deref(lt.LatestVersionNumber) != 1 || str(lt.CreatedBy) != "arn:aws:iam::"+netAccount+":root" ||
		lt.CreateTime == nil || len(lt.Tags) != 1 || str(lt.LaunchTemplateName) != "web" || out.Warning != nil {
		t.Fatalf("CreateLaunchTemplate = %+v, warning %+v", lt, out.Warning)
	}

	t.Run("duplicate name", func(t *testing.T) {
		_, err := f.svc.CreateLaunchTemplate(f.ctx, &api.CreateLaunchTemplateInput{LaunchTemplateName: ptr("web"),
			LaunchTemplateData: &api.RequestLaunchTemplateData{InstanceType: ptr("t3.micro")}})
		wantMessage(t, err, "InvalidLaunchTemplateName.AlreadyExistsException", "Launch template name already in use.")
	})
	t.Run("malformed name", func(t *testing.T) {
		_, err := f.svc.CreateLaunchTemplate(f.ctx, &api.CreateLaunchTemplateInput{LaunchTemplateName: ptr("a b"),
			LaunchTemplateData: &api.RequestLaunchTemplateData{InstanceType: ptr("t3.micro")}})
		f.wantCode(err, "InvalidLaunchTemplateName.MalformedException")
	})
	t.Run("no data", func(t *testing.T) {
		_, err := f.svc.CreateLaunchTemplate(f.ctx, &api.CreateLaunchTemplateInput{LaunchTemplateName: ptr("empty"), LaunchTemplateData: &api.RequestLaunchTemplateData{}})
		f.wantCode(err, "MissingParameter")
	})
	t.Run("a missing image is a warning", func(t *testing.T) {
		out, err := f.svc.CreateLaunchTemplate(f.ctx, &api.CreateLaunchTemplateInput{LaunchTemplateName: ptr("broken"),
			LaunchTemplateData: &api.RequestLaunchTemplateData{ImageId: ptr("ami-0000000000000dead"), KeyName: ptr("nokey")}})
		f.must(err)
		var codes []string
		for _, e := range out.Warning.Errors {
			codes = append(codes, str(e.Code))
		}
		if !slices.Equal(codes, []string{"InvalidAMIID.NotFound", "InvalidKeyPair.NotFound"}) {
			t.Errorf("warning codes = %v", codes)
		}
	})
	t.Run("client token", func(t *testing.T) {
		in := &api.CreateLaunchTemplateInput{LaunchTemplateName: ptr("tok"), ClientToken: ptr("once"), LaunchTemplateData: &api.RequestLaunchTemplateData{InstanceType: ptr("t3.micro")}}
		a, err := f.svc.CreateLaunchTemplate(f.ctx, in)
		f.must(err)
		b, err := f.svc.CreateLaunchTemplate(f.ctx, in)
		f.must(err)
		if str(a.LaunchTemplate.LaunchTemplateId) != str(b.LaunchTemplate.LaunchTemplateId) {
			t.Errorf("retry made a second template")
		}
	})
	t.Run("describe", func(t *testing.T) {
		d, err := f.svc.DescribeLaunchTemplates(f.ctx, &api.DescribeLaunchTemplatesInput{Filters: []api.Filter{{Name: ptr("tag:team"), Values: []string{"a"}}}})
		f.must(err)
		if len(d.LaunchTemplates) != 1 || str(d.LaunchTemplates[0].LaunchTemplateId) != str(lt.LaunchTemplateId) || len(d.LaunchTemplates[0].Tags) != 1 {
			t.Errorf("by tag = %+v", d.LaunchTemplates)
		}
		d, err = f.svc.DescribeLaunchTemplates(f.ctx, &api.DescribeLaunchTemplatesInput{LaunchTemplateNames: []string{"web", "tok"}})
		f.must(err)
		if len(d.LaunchTemplates) != 2 {
			t.Errorf("by name = %+v", d.LaunchTemplates)
		}
		_, err = f.svc.DescribeLaunchTemplates(f.ctx, &api.DescribeLaunchTemplatesInput{LaunchTemplateNames: []string{"web", "nope"}})
		wantMessage(t, err, "InvalidLaunchTemplateName.NotFoundException", "At least one of the launch templates specified in the request does not exist.")
		_, err = f.svc.DescribeLaunchTemplates(f.ctx, &api.DescribeLaunchTemplatesInput{LaunchTemplateIds: []string{"lt-0123456789abcdef0"}})
		wantMessage(t, err, "InvalidLaunchTemplateId.NotFound", "The specified launch template, with template ID lt-0123456789abcdef0, does not exist.")
		page, err := f.svc.DescribeLaunchTemplates(f.ctx, &api.DescribeLaunchTemplatesInput{MaxResults: ptr(int32(1))})
		f.must(err)
		if len(page.LaunchTemplates) != 1 || page.NextToken == nil {
			t.Errorf("first page = %+v", page)
		}
	})
}

func TestLaunchTemplateVersions(t *testing.T) {
	f := newNetFixture(t)
	image := templateImage(t)
	lt := f.createTemplate("app", api.RequestLaunchTemplateData{ImageId: ptr(image), InstanceType: ptr("t3.micro"), KeyName: nil,
		UserData: ptr(base64.StdEncoding.EncodeToString([]byte("#!/bin/sh\necho v1\n")))})
	id := str(lt.LaunchTemplateId)

	// Version 2 inherits version 1's data and changes the type.
	v2, err := f.svc.CreateLaunchTemplateVersion(f.ctx, &api.CreateLaunchTemplateVersionInput{LaunchTemplateId: ptr(id), SourceVersion: ptr("1"),
		VersionDescription: ptr("bigger"), LaunchTemplateData: &api.RequestLaunchTemplateData{InstanceType: ptr("t3.small")}})
	f.must(err)
	if v := v2.LaunchTemplateVersion; deref(v.VersionNumber) != 2 || boolean(v.DefaultVersion) || str(v.LaunchTemplateData.InstanceType) != "t3.small" ||
		str(v.LaunchTemplateData.ImageId) != image || v.LaunchTemplateData.UserData == nil || str(v.VersionDescription) != "bigger" {
		t.Fatalf("version 2 = %+v", v)
	}
	// Version 3 starts from nothing.
	_, err = f.svc.CreateLaunchTemplateVersion(f.ctx, &api.CreateLaunchTemplateVersionInput{LaunchTemplateName: ptr("app"),
		LaunchTemplateData: &api.RequestLaunchTemplateData{ImageId: ptr("resolve:ssm:/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64")}})
	f.must(err)

	versions := func(in *api.DescribeLaunchTemplateVersionsInput) []int64 {
		t.Helper()
		out, err := f.svc.DescribeLaunchTemplateVersions(f.ctx, in)
		f.must(err)
		var ns []int64
		for _, v := range out.LaunchTemplateVersions {
			ns = append(ns, deref(v.VersionNumber))
		}
		return ns
	}
	tests := []struct {
		name string
		in   api.DescribeLaunchTemplateVersionsInput
		want []int64
	}{
		{"all", api.DescribeLaunchTemplateVersionsInput{LaunchTemplateId: ptr(id)}, []int64{1, 2, 3}},
		{"aliases", api.DescribeLaunchTemplateVersionsInput{LaunchTemplateName: ptr("app"), Versions: []string{"$Latest", "$Default"}}, []int64{1, 3}},
		{"numbers", api.DescribeLaunchTemplateVersionsInput{LaunchTemplateName: ptr("app"), Versions: []string{"2"}}, []int64{2}},
		{"range", api.DescribeLaunchTemplateVersionsInput{LaunchTemplateId: ptr(id), MinVersion: ptr("2"), MaxVersion: ptr("3")}, []int64{2, 3}},
		{"filter", api.DescribeLaunchTemplateVersionsInput{LaunchTemplateId: ptr(id), Filters: []api.Filter{{Name: ptr("instance-type"), Values: []string{"t3.small"}}}}, []int64{2}},
		{"is-default-version", api.DescribeLaunchTemplateVersionsInput{LaunchTemplateId: ptr(id), Filters: []api.Filter{{Name: ptr("is-default-version"), Values: []string{"true"}}}}, []int64{1}},
		{"every template's latest", api.DescribeLaunchTemplateVersionsInput{Versions: []string{"$Latest"}}, []int64{3}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := versions(&tc.in); !slices.Equal(got, tc.want) {
				t.Errorf("versions = %v, want %v", got, tc.want)
			}
		})
	}
	t.Run("ResolveAlias", func(t *testing.T) {
		out, err := f.svc.DescribeLaunchTemplateVersions(f.ctx, &api.DescribeLaunchTemplateVersionsInput{LaunchTemplateId: ptr(id), Versions: []string{"3"}, ResolveAlias: ptr(true)})
		f.must(err)
		if got := str(out.LaunchTemplateVersions[0].LaunchTemplateData.ImageId); len(got) < 4 || got[:4] != "ami-" {
			t.Errorf("resolved ImageId = %q", got)
		}
	})
	t.Run("errors", func(t *testing.T) {
		_, err := f.svc.DescribeLaunchTemplateVersions(f.ctx, &api.DescribeLaunchTemplateVersionsInput{LaunchTemplateId: ptr(id), Versions: []string{"9"}})
		wantMessage(t, err, "InvalidLaunchTemplateId.VersionNotFound", "Could not find the specified version 9 for the launch template with ID "+id+".")
		_, err = f.svc.DescribeLaunchTemplateVersions(f.ctx, &api.DescribeLaunchTemplateVersionsInput{LaunchTemplateName: ptr("nope")})
		wantMessage(t, err, "InvalidLaunchTemplateName.NotFoundException", "The specified launch template, with template name nope, does not exist.")
		_, err = f.svc.DescribeLaunchTemplateVersions(f.ctx, &api.DescribeLaunchTemplateVersionsInput{LaunchTemplateId: ptr("lt-0123456789abcdef0")})
		wantMessage(t, err, "InvalidLaunchTemplateId.NotFound", "The specified launch template, with template ID lt-0123456789abcdef0, does not exist.")
		_, err = f.svc.DescribeLaunchTemplateVersions(f.ctx, &api.DescribeLaunchTemplateVersionsInput{})
		f.wantCode(err, "MissingParameter")
		_, err = f.svc.DescribeLaunchTemplateVersions(f.ctx, &api.DescribeLaunchTemplateVersionsInput{Versions: []string{"1"}})
		f.wantCode(err, "InvalidParameterValue")
		_, err = f.svc.ModifyLaunchTemplate(f.ctx, &api.ModifyLaunchTemplateInput{LaunchTemplateId: ptr(id), DefaultVersion: ptr("666")})
		f.wantCode(err, "InvalidLaunchTemplateId.VersionNotFound")
	})

	// Version 2 becomes the default; the old default can then go.
	mod, err := f.svc.ModifyLaunchTemplate(f.ctx, &api.ModifyLaunchTemplateInput{LaunchTemplateName: ptr("app"), DefaultVersion: ptr("2")})
	f.must(err)
	if deref(mod.LaunchTemplate.DefaultVersionNumber) != 2 || deref(mod.LaunchTemplate.LatestVersionNumber) != 3 {
		t.Fatalf("ModifyLaunchTemplate = %+v", mod.LaunchTemplate)
	}
	del, err := f.svc.DeleteLaunchTemplateVersions(f.ctx, &api.DeleteLaunchTemplateVersionsInput{LaunchTemplateId: ptr(id), Versions: []string{"1", "2", "7", "3"}})
	f.must(err)
	var deleted []int64
	for _, s := range del.SuccessfullyDeletedLaunchTemplateVersions {
		deleted = append(deleted, deref(s.VersionNumber))
	}
	failed := map[int64]string{}
	for _, e := range del.UnsuccessfullyDeletedLaunchTemplateVersions {
		failed[deref(e.VersionNumber)] = str(e.ResponseError.Code)
	}
	if !slices.Equal(deleted, []int64{1, 3}) || failed[2] != "unexpectedError" || failed[7] != "launchTemplateVersionDoesNotExist" {
		t.Fatalf("deleted %v, failed %v", deleted, failed)
	}
	// Numbers are not reused: the next version is 4, and the latest left is 2.
	d, err := f.svc.DescribeLaunchTemplates(f.ctx, &api.DescribeLaunchTemplatesInput{LaunchTemplateIds: []string{id}})
	f.must(err)
	if deref(d.LaunchTemplates[0].LatestVersionNumber) != 2 {
		t.Errorf("latest after deletion = %d", deref(d.LaunchTemplates[0].LatestVersionNumber))
	}
	v4, err := f.svc.CreateLaunchTemplateVersion(f.ctx, &api.CreateLaunchTemplateVersionInput{LaunchTemplateId: ptr(id), LaunchTemplateData: &api.RequestLaunchTemplateData{InstanceType: ptr("t3.nano")}})
	f.must(err)
	if deref(v4.LaunchTemplateVersion.VersionNumber) != 4 {
		t.Errorf("next version = %d", deref(v4.LaunchTemplateVersion.VersionNumber))
	}

	gone, err := f.svc.DeleteLaunchTemplate(f.ctx, &api.DeleteLaunchTemplateInput{LaunchTemplateName: ptr("app")})
	f.must(err)
	if str(gone.LaunchTemplate.LaunchTemplateId) != id {
		t.Errorf("DeleteLaunchTemplate = %+v", gone.LaunchTemplate)
	}
	_, err = f.svc.DeleteLaunchTemplate(f.ctx, &api.DeleteLaunchTemplateInput{LaunchTemplateId: ptr(id)})
	f.wantCode(err, "InvalidLaunchTemplateId.NotFound")
	_, err = f.svc.DeleteLaunchTemplate(f.ctx, &api.DeleteLaunchTemplateInput{})
	wantMessage(t, err, "MissingParameter", "The request must contain the parameter launch template ID or launch template name")
	f.createTemplate("app", api.RequestLaunchTemplateData{InstanceType: ptr("t3.micro")}) // the name is free again
}

func TestApplyLaunchTemplate(t *testing.T) {
	f := newNetFixture(t)
	image := templateImage(t)
	group := f.createGroup("", "web")
	userData := base64.StdEncoding.EncodeToString([]byte("#!/bin/sh\necho hi\n"))
	lt := f.createTemplate("web", api.RequestLaunchTemplateData{
		ImageId: ptr(image), InstanceType: ptr("t3.micro"), UserData: ptr(userData), SecurityGroupIds: []string{group},
		MetadataOptions:       &api.LaunchTemplateInstanceMetadataOptionsRequest{HttpTokens: ptr("required")},
		Placement:             &api.LaunchTemplatePlacementRequest{AvailabilityZone: ptr("us-east-1b")},
		Monitoring:            &api.LaunchTemplatesMonitoringRequest{Enabled: ptr(true)},
		DisableApiTermination: ptr(true),
		BlockDeviceMappings:   []api.LaunchTemplateBlockDeviceMappingRequest{{DeviceName: ptr("/dev/xvda"), Ebs: &api.LaunchTemplateEbsBlockDeviceRequest{VolumeSize: ptr(int32(20))}}},
		TagSpecifications: []api.LaunchTemplateTagSpecificationRequest{{ResourceType: ptr("instance"), Tags: []api.Tag{
			{Key: ptr("role"), Value: ptr("web")}, {Key: ptr("env"), Value: ptr("template")}}}},
	})
	id := str(lt.LaunchTemplateId)
	_, err := f.svc.CreateLaunchTemplateVersion(f.ctx, &api.CreateLaunchTemplateVersionInput{LaunchTemplateId: ptr(id), SourceVersion: ptr("$Default"),
		LaunchTemplateData: &api.RequestLaunchTemplateData{InstanceType: ptr("t3.small")}})
	f.must(err)

	apply := func(in *api.RunInstancesInput) (*api.RunInstancesInput, error) {
		var out *api.RunInstancesInput
		err := f.st.View(func(tx store.Tx) error {
			var err error
			out, err = f.svc.applyLaunchTemplate(tx, f.sc, in)
			return err
		})
		return out, err
	}
	t.Run("default version fills what the request leaves out", func(t *testing.T) {
		in := &api.RunInstancesInput{LaunchTemplate: &api.LaunchTemplateSpecification{LaunchTemplateName: ptr("web")},
			Placement:         &api.Placement{Tenancy: ptr("default")},
			TagSpecifications: []api.TagSpecification{{ResourceType: ptr("instance"), Tags: []api.Tag{{Key: ptr("env"), Value: ptr("request")}}}}}
		out, err := apply(in)
		f.must(err)
		if str(out.ImageId) != image || str(out.InstanceType) != "t3.micro" || str(out.UserData) != userData || !slices.Equal(out.SecurityGroupIds, []string{group}) ||
			str(out.MetadataOptions.HttpTokens) != "required" || str(out.Placement.AvailabilityZone) != "us-east-1b" || str(out.Placement.Tenancy) != "default" ||
			!boolean(out.Monitoring.Enabled) || !boolean(out.DisableApiTermination) || deref(out.BlockDeviceMappings[0].Ebs.VolumeSize) != 20 {
			t.Errorf("merged = %+v", out)
		}
		tags := tagMap(out.TagSpecifications[0].Tags)
		if len(out.TagSpecifications) != 1 || tags["role"] != "web" || tags["env"] != "request" {
			t.Errorf("tags = %+v", out.TagSpecifications)
		}
		if in.ImageId != nil {
			t.Errorf("the request was modified")
		}
		if tags := tagMap(launchTemplateTags(out.LaunchTemplate)); tags["aws:ec2launchtemplate:id"] != id || tags["aws:ec2launchtemplate:version"] != "1" {
			t.Errorf("launch template tags = %v", tags)
		}
	})
	t.Run("request wins, by version", func(t *testing.T) {
		for version, want := range map[string]string{"$Latest": "t3.small", "2": "t3.small", "1": "t3.micro"} {
			out, err := apply(&api.RunInstancesInput{LaunchTemplate: &api.LaunchTemplateSpecification{LaunchTemplateId: ptr(id), Version: ptr(version)}})
			f.must(err)
			if str(out.InstanceType) != want {
				t.Errorf("version %s: type %s, want %s", version, str(out.InstanceType), want)
			}
		}
		out, err := apply(&api.RunInstancesInput{InstanceType: ptr("m5.large"), LaunchTemplate: &api.LaunchTemplateSpecification{LaunchTemplateId: ptr(id), Version: ptr("$Latest")}})
		f.must(err)
		if str(out.InstanceType) != "m5.large" {
			t.Errorf("type = %s, want the request's", str(out.InstanceType))
		}
	})
	t.Run("errors", func(t *testing.T) {
		_, err := apply(&api.RunInstancesInput{LaunchTemplate: &api.LaunchTemplateSpecification{LaunchTemplateId: ptr("lt-0123456789abcdef0")}})
		wantMessage(t, err, "InvalidLaunchTemplateId.NotFound", "The specified launch template, with template ID lt-0123456789abcdef0, does not exist.")
		_, err = apply(&api.RunInstancesInput{LaunchTemplate: &api.LaunchTemplateSpecification{LaunchTemplateName: ptr("nope")}})
		wantMessage(t, err, "InvalidLaunchTemplateName.NotFoundException", "The specified launch template, with template name nope, does not exist.")
		_, err = apply(&api.RunInstancesInput{LaunchTemplate: &api.LaunchTemplateSpecification{LaunchTemplateId: ptr(id), Version: ptr("5")}})
		wantMessage(t, err, "InvalidLaunchTemplateId.VersionNotFound", "Could not find the specified version 5 for the launch template with ID "+id+".")
		_, err = apply(&api.RunInstancesInput{LaunchTemplate: &api.LaunchTemplateSpecification{LaunchTemplateId: ptr("web")}})
		f.wantCode(err, "InvalidLaunchTemplateId.Malformed")
	})
	t.Run("network interface gives subnet and groups", func(t *testing.T) {
		subnet := f.createSubnet(f.defaultVPC(), "172.31.200.0/24")
		f.createTemplate("eni", api.RequestLaunchTemplateData{ImageId: ptr(image),
			NetworkInterfaces: []api.LaunchTemplateInstanceNetworkInterfaceSpecificationRequest{{DeviceIndex: ptr(int32(0)), SubnetId: ptr(subnet), Groups: []string{group}}}})
		out, err := apply(&api.RunInstancesInput{LaunchTemplate: &api.LaunchTemplateSpecification{LaunchTemplateName: ptr("eni")}})
		f.must(err)
		if str(out.SubnetId) != subnet || !slices.Equal(out.SecurityGroupIds, []string{group}) {
			t.Errorf("subnet %s groups %v", str(out.SubnetId), out.SecurityGroupIds)
		}
	})
}

func TestGetLaunchTemplateData(t *testing.T) {
	f := newNetFixture(t)
	id := awsid.New("i")
	userData := base64.StdEncoding.EncodeToString([]byte("#!/bin/sh\n"))
	r := instanceRecord{
		Instance: api.Instance{
			InstanceId: ptr(id), ImageId: ptr(templateImage(t)), InstanceType: ptr("t3.micro"), KeyName: ptr("k"),
			SecurityGroups:  []api.GroupIdentifier{{GroupId: ptr("sg-1"), GroupName: ptr("web")}},
			Placement:       &api.Placement{AvailabilityZone: ptr("us-east-1a"), Tenancy: ptr("default")},
			MetadataOptions: &api.InstanceMetadataOptionsResponse{HttpTokens: ptr("required"), HttpEndpoint: ptr("enabled")},
			Monitoring:      &api.Monitoring{State: ptr("enabled")},
		},
		UserData: userData, ShutdownBehavior: "terminate",
	}
	f.must(f.st.Update(func(tx store.Tx) error {
		if err := tx.Put(instanceKind.bucket, f.sc.key(id), r); err != nil {
			return err
		}
		return writeTags(tx, f.sc, id, []api.Tag{{Key: ptr("Name"), Value: ptr("box")}})
	}))
	out, err := f.svc.GetLaunchTemplateData(f.ctx, &api.GetLaunchTemplateDataInput{InstanceId: ptr(id)})
	f.must(err)
	d := out.LaunchTemplateData
	if str(d.InstanceType) != "t3.micro" || str(d.UserData) != userData || !slices.Equal(d.SecurityGroupIds, []string{"sg-1"}) ||
		str(d.MetadataOptions.HttpTokens) != "required" || str(d.Placement.AvailabilityZone) != "us-east-1a" || !boolean(d.Monitoring.Enabled) ||
		str(d.InstanceInitiatedShutdownBehavior) != "terminate" || str(d.CreditSpecification.CpuCredits) != "unlimited" ||
		len(d.TagSpecifications) != 1 || str(d.TagSpecifications[0].ResourceType) != "instance" {
		t.Errorf("GetLaunchTemplateData = %+v", d)
	}
	// The data makes a template as it is.
	data := convertForTest(d)
	f.createTemplate("from-instance", data)

	_, err = f.svc.GetLaunchTemplateData(f.ctx, &api.GetLaunchTemplateDataInput{InstanceId: ptr("i-0123456789abcdef0")})
	f.wantCode(err, "InvalidInstanceID.NotFound")
}

// convertForTest turns response data into request data, as a client that
// feeds GetLaunchTemplateData to CreateLaunchTemplate does.
func convertForTest(d *api.ResponseLaunchTemplateData) api.RequestLaunchTemplateData {
	return convert[api.RequestLaunchTemplateData](d)
}
