package e2e

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/nephele-dev/nephele/internal/server"
	"github.com/nephele-dev/nephele/internal/testenv"
)

// templateAMI is the ID of an x86_64 Amazon Linux 2023 image.
func templateAMI(t *testing.T, c *ec2.Client) string {
	t.Helper()
	images, err := c.DescribeImages(context.Background(), &ec2.DescribeImagesInput{
		Owners:  []string{"amazon"},
		Filters: []ec2types.Filter{{Name: aws.String("name"), Values: []string{"al2023-ami-2023.*-x86_64"}}},
	})
	if err != nil || len(images.Images) == 0 {
		t.Fatalf("DescribeImages: %v", err)
	}
	return aws.ToString(images.Images[0].ImageId)
}

// launchFromTemplate runs one instance from a template version and
// terminates it (waiting for that) when the test ends.
func launchFromTemplate(t *testing.T, c *ec2.Client, spec *ec2types.LaunchTemplateSpecification) ec2types.Instance {
	t.Helper()
	run, err := c.RunInstances(context.Background(), &ec2.RunInstancesInput{LaunchTemplate: spec, MinCount: aws.Int32(1), MaxCount: aws.Int32(1)})
	if err != nil {
		t.Fatalf("RunInstances from %s: %v", aws.ToString(spec.Version), err)
	}
	id := aws.ToString(run.Instances[0].InstanceId)
	t.Cleanup(func() {
		if _, err := c.TerminateInstances(context.Background(), &ec2.TerminateInstancesInput{InstanceIds: []string{id}}); err != nil {
			t.Errorf("TerminateInstances %s: %v", id, err)
			return
		}
		instanceState(t, c, id, "terminated")
	})
	return run.Instances[0]
}

// TestEC2LaunchTemplates is the life of a launch template through the Go
// SDK: instances launched from it (by $Latest and by number) get its AMI,
// type, tags and user-data; a second version becomes the default; versions
// and then the template are deleted.
func TestEC2LaunchTemplates(t *testing.T) {
	env := testenv.Start(t, server.Config{})
	ctx := context.Background()
	c := ec2.NewFromConfig(env.AWSConfig())
	ami := templateAMI(t, c)

	created, err := c.CreateLaunchTemplate(ctx, &ec2.CreateLaunchTemplateInput{
		LaunchTemplateName: aws.String("web"),
		VersionDescription: aws.String("first"),
		LaunchTemplateData: &ec2types.RequestLaunchTemplateData{
			ImageId:      aws.String(ami),
			InstanceType: ec2types.InstanceTypeT3Micro,
			UserData:     aws.String(base64.StdEncoding.EncodeToString([]byte("#!/bin/sh\necho launched-from-template\n"))),
			TagSpecifications: []ec2types.LaunchTemplateTagSpecificationRequest{{
				ResourceType: ec2types.ResourceTypeInstance, Tags: []ec2types.Tag{{Key: aws.String("role"), Value: aws.String("web")}},
			}},
		},
		TagSpecifications: []ec2types.TagSpecification{{ResourceType: ec2types.ResourceTypeLaunchTemplate, Tags: []ec2types.Tag{{Key: aws.String("team"), Value: aws.String("a")}}}},
	})
	if err != nil {
		t.Fatalf("CreateLaunchTemplate: %v", err)
	}
	lt := created.LaunchTemplate
	id := aws.ToString(lt.LaunchTemplateId)
	if aws.ToInt64(lt.DefaultVersionNumber) != 1 || aws.ToInt64(lt.LatestVersionNumber) != 1 || !strings.HasPrefix(id, "lt-") || len(lt.Tags) != 1 {
		t.Fatalf("CreateLaunchTemplate = %+v", lt)
	}
	if _, err := c.CreateLaunchTemplate(ctx, &ec2.CreateLaunchTemplateInput{LaunchTemplateName: aws.String("web"),
		LaunchTemplateData: &ec2types.RequestLaunchTemplateData{InstanceType: ec2types.InstanceTypeT3Micro}}); err == nil ||
		!strings.Contains(err.Error(), "InvalidLaunchTemplateName.AlreadyExistsException") {
		t.Errorf("duplicate name: %v", err)
	}

	first := launchFromTemplate(t, c, &ec2types.LaunchTemplateSpecification{LaunchTemplateId: aws.String(id), Version: aws.String("$Latest")})
	if first.InstanceType != ec2types.InstanceTypeT3Micro || aws.ToString(first.ImageId) != ami {
		t.Errorf("instance from $Latest: type %s, image %s", first.InstanceType, aws.ToString(first.ImageId))
	}
	running := instanceState(t, c, aws.ToString(first.InstanceId), "running")
	if !slices.ContainsFunc(running.Tags, func(tag ec2types.Tag) bool {
		return aws.ToString(tag.Key) == "role" && aws.ToString(tag.Value) == "web"
	}) {
		t.Errorf("instance tags = %+v", running.Tags)
	}
	eventually(t, "the template's user-data ran", func() error {
		out, err := c.GetConsoleOutput(ctx, &ec2.GetConsoleOutputInput{InstanceId: first.InstanceId})
		if err != nil {
			return err
		}
		text, _ := base64.StdEncoding.DecodeString(aws.ToString(out.Output))
		if !strings.Contains(string(text), "launched-from-template") {
			return fmt.Errorf("console = %q", text)
		}
		return nil
	})

	v2, err := c.CreateLaunchTemplateVersion(ctx, &ec2.CreateLaunchTemplateVersionInput{
		LaunchTemplateName: aws.String("web"), SourceVersion: aws.String("1"), VersionDescription: aws.String("bigger"),
		LaunchTemplateData: &ec2types.RequestLaunchTemplateData{InstanceType: ec2types.InstanceTypeT3Small},
	})
	if err != nil {
		t.Fatalf("CreateLaunchTemplateVersion: %v", err)
	}
	if v := v2.LaunchTemplateVersion; aws.ToInt64(v.VersionNumber) != 2 || aws.ToBool(v.DefaultVersion) || aws.ToString(v.LaunchTemplateData.ImageId) != ami {
		t.Errorf("version 2 = %+v", v)
	}
	second := launchFromTemplate(t, c, &ec2types.LaunchTemplateSpecification{LaunchTemplateName: aws.String("web"), Version: aws.String("2")})
	if second.InstanceType != ec2types.InstanceTypeT3Small || aws.ToString(second.ImageId) != ami {
		t.Errorf("instance from version 2: type %s, image %s", second.InstanceType, aws.ToString(second.ImageId))
	}

	if _, err := c.ModifyLaunchTemplate(ctx, &ec2.ModifyLaunchTemplateInput{LaunchTemplateId: aws.String(id), DefaultVersion: aws.String("2")}); err != nil {
		t.Fatalf("ModifyLaunchTemplate: %v", err)
	}
	versions, err := c.DescribeLaunchTemplateVersions(ctx, &ec2.DescribeLaunchTemplateVersionsInput{LaunchTemplateId: aws.String(id), Versions: []string{"$Default"}})
	if err != nil || len(versions.LaunchTemplateVersions) != 1 || aws.ToInt64(versions.LaunchTemplateVersions[0].VersionNumber) != 2 ||
		versions.LaunchTemplateVersions[0].LaunchTemplateData.InstanceType != ec2types.InstanceTypeT3Small {
		t.Fatalf("DescribeLaunchTemplateVersions $Default = %+v, %v", versions, err)
	}
	if _, err := c.RunInstances(ctx, &ec2.RunInstancesInput{MinCount: aws.Int32(1), MaxCount: aws.Int32(1),
		LaunchTemplate: &ec2types.LaunchTemplateSpecification{LaunchTemplateId: aws.String(id), Version: aws.String("9")}}); err == nil ||
		!strings.Contains(err.Error(), "InvalidLaunchTemplateId.VersionNotFound") {
		t.Errorf("RunInstances with a missing version: %v", err)
	}

	deleted, err := c.DeleteLaunchTemplateVersions(ctx, &ec2.DeleteLaunchTemplateVersionsInput{LaunchTemplateId: aws.String(id), Versions: []string{"1", "2"}})
	if err != nil || len(deleted.SuccessfullyDeletedLaunchTemplateVersions) != 1 || len(deleted.UnsuccessfullyDeletedLaunchTemplateVersions) != 1 ||
		aws.ToInt64(deleted.UnsuccessfullyDeletedLaunchTemplateVersions[0].VersionNumber) != 2 {
		t.Fatalf("DeleteLaunchTemplateVersions = %+v, %v", deleted, err)
	}
	if _, err := c.DeleteLaunchTemplate(ctx, &ec2.DeleteLaunchTemplateInput{LaunchTemplateName: aws.String("web")}); err != nil {
		t.Fatalf("DeleteLaunchTemplate: %v", err)
	}
	if _, err := c.DescribeLaunchTemplates(ctx, &ec2.DescribeLaunchTemplatesInput{LaunchTemplateIds: []string{id}}); err == nil ||
		!strings.Contains(err.Error(), "InvalidLaunchTemplateId.NotFound") {
		t.Errorf("DescribeLaunchTemplates after deletion: %v", err)
	}
}

// TestEC2LaunchTemplatesCLI drives launch templates, and the catalogue
// of Regions, zones and instance types, through the aws CLI.
func TestEC2LaunchTemplatesCLI(t *testing.T) {
	env := testenv.Start(t, server.Config{})
	cli := func(v any, args ...string) {
		t.Helper()
		out, err := env.CLI(t, append([]string{"ec2"}, args...)...)
		if err != nil {
			t.Fatal(err)
		}
		if v != nil {
			if err := json.Unmarshal([]byte(out), v); err != nil {
				t.Fatalf("%s: %v\n%s", args[0], err, out)
			}
		}
	}

	var created struct {
		LaunchTemplate struct{ LaunchTemplateId string }
	}
	cli(&created, "create-launch-template", "--launch-template-name", "cli-web",
		"--launch-template-data", `{"InstanceType":"t3.micro","MetadataOptions":{"HttpTokens":"required"}}`)
	cli(nil, "create-launch-template-version", "--launch-template-id", created.LaunchTemplate.LaunchTemplateId,
		"--source-version", "1", "--launch-template-data", `{"InstanceType":"t3.small"}`)
	var versions struct {
		LaunchTemplateVersions []struct {
			VersionNumber      int64
			DefaultVersion     bool
			LaunchTemplateData struct {
				InstanceType    string
				MetadataOptions struct{ HttpTokens string }
			}
		}
	}
	cli(&versions, "describe-launch-template-versions", "--launch-template-name", "cli-web")
	if v := versions.LaunchTemplateVersions; len(v) != 2 || !v[0].DefaultVersion || v[1].LaunchTemplateData.InstanceType != "t3.small" ||
		v[1].LaunchTemplateData.MetadataOptions.HttpTokens != "required" {
		t.Errorf("versions = %+v", v)
	}
	var templates struct {
		LaunchTemplates []struct{ LaunchTemplateName string }
	}
	cli(&templates, "describe-launch-templates", "--filters", "Name=launch-template-name,Values=cli-*")
	if len(templates.LaunchTemplates) != 1 {
		t.Errorf("templates = %+v", templates)
	}
	cli(nil, "delete-launch-template", "--launch-template-id", created.LaunchTemplate.LaunchTemplateId)

	var regions struct {
		Regions []struct{ RegionName, OptInStatus string }
	}
	cli(&regions, "describe-regions", "--all-regions", "--filters", "Name=region-name,Values=af-south-1,us-east-1")
	if len(regions.Regions) != 2 || regions.Regions[0].OptInStatus != "not-opted-in" || regions.Regions[1].OptInStatus != "opt-in-not-required" {
		t.Errorf("regions = %+v", regions)
	}
	var zones struct {
		AvailabilityZones []struct{ ZoneName, ZoneId, State string }
	}
	cli(&zones, "describe-availability-zones", "--region", "eu-west-1")
	if len(zones.AvailabilityZones) != 3 || zones.AvailabilityZones[0].ZoneName != "eu-west-1a" || zones.AvailabilityZones[0].State != "available" {
		t.Errorf("zones = %+v", zones)
	}
	var types struct {
		InstanceTypes []struct {
			InstanceType string
			VCpuInfo     struct{ DefaultVCpus int }
		}
	}
	cli(&types, "describe-instance-types", "--instance-types", "t3.micro", "m5.large")
	if len(types.InstanceTypes) != 2 || types.InstanceTypes[1].InstanceType != "t3.micro" || types.InstanceTypes[1].VCpuInfo.DefaultVCpus != 2 {
		t.Errorf("instance types = %+v", types)
	}
	// The CLI walks every page of a filtered listing.
	cli(&types, "describe-instance-types", "--filters", "Name=instance-type,Values=m5.*", "Name=processor-info.supported-architecture,Values=x86_64")
	if len(types.InstanceTypes) < 5 {
		t.Errorf("m5 types = %d", len(types.InstanceTypes))
	}
	var offerings struct {
		InstanceTypeOfferings []struct{ InstanceType, Location string }
	}
	cli(&offerings, "describe-instance-type-offerings", "--location-type", "availability-zone",
		"--filters", "Name=instance-type,Values=t3.micro", "Name=location,Values=us-east-1a")
	if len(offerings.InstanceTypeOfferings) != 1 {
		t.Errorf("offerings = %+v", offerings)
	}
	// A type of the model that the catalogue does not hold.
	if _, err := env.CLI(t, "ec2", "describe-instance-types", "--instance-types", "t3.micro", "u-6tb1.56xlarge"); err == nil ||
		!strings.Contains(err.Error(), "The following supplied instance types do not exist: [u-6tb1.56xlarge]") {
		t.Errorf("unknown type: %v", err)
	}
}
