package e2e

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/nephele-dev/nephele/internal/server"
	"github.com/nephele-dev/nephele/internal/testenv"
)

// al2023 is the ID of an Amazon Linux 2023 x86_64 image of the catalogue.
func al2023(t *testing.T, c *ec2.Client) *string {
	t.Helper()
	images, err := c.DescribeImages(context.Background(), &ec2.DescribeImagesInput{
		Owners:  []string{"amazon"},
		Filters: []ec2types.Filter{{Name: aws.String("name"), Values: []string{"al2023-ami-2023.*-x86_64"}}},
	})
	if err != nil || len(images.Images) == 0 {
		t.Fatalf("DescribeImages: %v", err)
	}
	return images.Images[0].ImageId
}

// launch runs one instance of image with user-data and terminates it (and
// waits for that) when the test ends.
func launch(t *testing.T, c *ec2.Client, image *string, instanceType ec2types.InstanceType, userData string) string {
	t.Helper()
	run, err := c.RunInstances(context.Background(), &ec2.RunInstancesInput{
		ImageId: image, InstanceType: instanceType, MinCount: aws.Int32(1), MaxCount: aws.Int32(1),
		UserData: aws.String(base64.StdEncoding.EncodeToString([]byte(userData))),
	})
	if err != nil {
		t.Fatalf("RunInstances: %v", err)
	}
	id := aws.ToString(run.Instances[0].InstanceId)
	t.Cleanup(func() {
		if _, err := c.TerminateInstances(context.Background(), &ec2.TerminateInstancesInput{InstanceIds: []string{id}}); err != nil {
			t.Errorf("TerminateInstances %s: %v", id, err)
			return
		}
		instanceState(t, c, id, "terminated")
	})
	return id
}

// consoleContains waits until an instance's console shows want.
func consoleContains(t *testing.T, c *ec2.Client, id, want string) {
	t.Helper()
	eventually(t, id+" console shows "+want, func() error {
		out, err := c.GetConsoleOutput(context.Background(), &ec2.GetConsoleOutputInput{InstanceId: aws.String(id)})
		if err != nil {
			return err
		}
		text, _ := base64.StdEncoding.DecodeString(aws.ToString(out.Output))
		if !strings.Contains(string(text), want) {
			return fmt.Errorf("console = %q", text)
		}
		return nil
	})
}

// TestEC2CustomAMIKeepsFiles is the golden-image story: an instance is
// configured by its user-data, CreateImage makes an AMI of it, and a new
// instance launched from that AMI starts with the files already there.
func TestEC2CustomAMIKeepsFiles(t *testing.T) {
	env := testenv.Start(t, server.Config{})
	ctx := context.Background()
	c := ec2.NewFromConfig(env.AWSConfig())

	builder := launch(t, c, al2023(t, c), ec2types.InstanceTypeT3Micro, "#!/bin/sh\nmkdir -p opt/app\necho 'baked into the image' > opt/app/config.txt\necho configured\n")
	builderInst := instanceState(t, c, builder, "running")
	consoleContains(t, c, builder, "configured")

	created, err := c.CreateImage(ctx, &ec2.CreateImageInput{
		InstanceId: aws.String(builder), Name: aws.String("golden (v1)"), Description: aws.String("configured app"),
		TagSpecifications: []ec2types.TagSpecification{
			{ResourceType: ec2types.ResourceTypeImage, Tags: []ec2types.Tag{{Key: aws.String("role"), Value: aws.String("app")}}},
			{ResourceType: ec2types.ResourceTypeSnapshot, Tags: []ec2types.Tag{{Key: aws.String("role"), Value: aws.String("app")}}},
		},
	})
	if err != nil {
		t.Fatalf("CreateImage: %v", err)
	}
	ami := aws.ToString(created.ImageId)
	waiter := ec2.NewImageAvailableWaiter(c, func(o *ec2.ImageAvailableWaiterOptions) { o.MinDelay, o.MaxDelay = 100*time.Millisecond, time.Second })
	if err := waiter.Wait(ctx, &ec2.DescribeImagesInput{ImageIds: []string{ami}}, 30*time.Second); err != nil {
		t.Fatalf("ImageAvailable: %v", err)
	}
	described, err := c.DescribeImages(ctx, &ec2.DescribeImagesInput{Owners: []string{"self"}})
	if err != nil || len(described.Images) != 1 {
		t.Fatalf("DescribeImages self: %+v, %v", described, err)
	}
	img := described.Images[0]
	if aws.ToString(img.ImageId) != ami || aws.ToString(img.OwnerId) == "" ||
		aws.ToBool(img.Public) || aws.ToString(img.SourceInstanceId) != builder || img.Architecture != ec2types.ArchitectureValuesX8664 ||
		aws.ToString(img.RootDeviceName) != aws.ToString(builderInst.RootDeviceName) || len(img.BlockDeviceMappings) != 1 ||
		aws.ToString(img.Description) != "configured app" || len(img.Tags) != 1 {
		t.Errorf("image = %+v", img)
	}
	if _, err := time.Parse("2006-01-02T15:04:05.000Z", aws.ToString(img.CreationDate)); err != nil {
		t.Errorf("CreationDate %q: %v", aws.ToString(img.CreationDate), err)
	}
	if ebs := img.BlockDeviceMappings[0].Ebs; ebs == nil || aws.ToInt32(ebs.VolumeSize) < 1 || !strings.HasPrefix(aws.ToString(ebs.SnapshotId), "snap-") {
		t.Errorf("root mapping = %+v", img.BlockDeviceMappings[0])
	}
	if _, err := c.CreateImage(ctx, &ec2.CreateImageInput{InstanceId: aws.String(builder), Name: aws.String("golden (v1)"), NoReboot: aws.Bool(true)}); apiCode(err) != "InvalidAMIName.Duplicate" {
		t.Errorf("duplicate name: %v", err)
	}
	if _, err := c.CreateImage(ctx, &ec2.CreateImageInput{InstanceId: aws.String(builder), Name: aws.String("bad|name"), NoReboot: aws.Bool(true)}); apiCode(err) != "InvalidAMIName.Malformed" {
		t.Errorf("name with a bar: %v", err)
	}

	clone := launch(t, c, aws.String(ami), ec2types.InstanceTypeT3Micro, "#!/bin/sh\necho \"clone sees: $(cat opt/app/config.txt)\"\n")
	cloneInst := instanceState(t, c, clone, "running")
	if aws.ToString(cloneInst.ImageId) != ami {
		t.Errorf("clone ImageId = %s", aws.ToString(cloneInst.ImageId))
	}
	consoleContains(t, c, clone, "clone sees: baked into the image")

	// The aws CLI sees the image, shares it publicly and deregisters it.
	out, err := env.CLI(t, "ec2", "describe-images", "--owners", "self", "--filters", "Name=tag:role,Values=app")
	if err != nil || !strings.Contains(out, ami) {
		t.Fatalf("describe-images: %v\n%s", err, out)
	}
	if _, err := env.CLI(t, "ec2", "modify-image-attribute", "--image-id", ami, "--launch-permission", "Add=[{Group=all}]"); err != nil {
		t.Fatal(err)
	}
	out, err = env.CLI(t, "ec2", "describe-image-attribute", "--image-id", ami, "--attribute", "launchPermission")
	var perms struct{ LaunchPermissions []struct{ Group string } }
	if err != nil || json.Unmarshal([]byte(out), &perms) != nil || len(perms.LaunchPermissions) != 1 || perms.LaunchPermissions[0].Group != "all" {
		t.Errorf("launchPermission: %v\n%s", err, out)
	}
	public, err := c.DescribeImages(ctx, &ec2.DescribeImagesInput{ImageIds: []string{ami}})
	if err != nil || !aws.ToBool(public.Images[0].Public) {
		t.Errorf("after sharing with all: %+v, %v", public, err)
	}
	if _, err := c.ModifyImageAttribute(ctx, &ec2.ModifyImageAttributeInput{ImageId: aws.String(ami), Description: &ec2types.AttributeValue{Value: aws.String("v1 of the app")}}); err != nil {
		t.Fatal(err)
	}
	desc, err := c.DescribeImageAttribute(ctx, &ec2.DescribeImageAttributeInput{ImageId: aws.String(ami), Attribute: ec2types.ImageAttributeNameDescription})
	if err != nil || aws.ToString(desc.Description.Value) != "v1 of the app" {
		t.Errorf("description: %+v, %v", desc, err)
	}

	copied, err := c.CopyImage(ctx, &ec2.CopyImageInput{SourceImageId: aws.String(ami), SourceRegion: aws.String("us-east-1"), Name: aws.String("golden-copy")})
	if err != nil {
		t.Fatalf("CopyImage: %v", err)
	}
	if _, err := env.CLI(t, "ec2", "deregister-image", "--image-id", ami); err != nil {
		t.Fatal(err)
	}
	if _, err := c.DescribeImages(ctx, &ec2.DescribeImagesInput{ImageIds: []string{ami}}); apiCode(err) != "InvalidAMIID.NotFound" {
		t.Errorf("deregistered image: %v", err)
	}
	// The copy has files of its own: it still launches with them.
	fromCopy := launch(t, c, copied.ImageId, ec2types.InstanceTypeT3Micro, "#!/bin/sh\necho \"copy sees: $(cat opt/app/config.txt)\"\n")
	consoleContains(t, c, fromCopy, "copy sees: baked into the image")
}

// TestEC2RegisterAndCopyImage covers images without files: RegisterImage
// and a copy of a public image from another Region.
func TestEC2RegisterAndCopyImage(t *testing.T) {
	env := testenv.Start(t, server.Config{})
	ctx := context.Background()
	c := ec2.NewFromConfig(env.AWSConfig())

	reg, err := c.RegisterImage(ctx, &ec2.RegisterImageInput{
		Name: aws.String("registered"), Architecture: ec2types.ArchitectureValuesArm64, RootDeviceName: aws.String("/dev/xvda"),
		BootMode: ec2types.BootModeValuesUefi, ImdsSupport: ec2types.ImdsSupportValuesV20,
		BlockDeviceMappings: []ec2types.BlockDeviceMapping{{DeviceName: aws.String("/dev/xvda"), Ebs: &ec2types.EbsBlockDevice{VolumeSize: aws.Int32(20), VolumeType: ec2types.VolumeTypeGp3}}},
	})
	if err != nil {
		t.Fatalf("RegisterImage: %v", err)
	}
	boot, err := c.DescribeImageAttribute(ctx, &ec2.DescribeImageAttributeInput{ImageId: reg.ImageId, Attribute: ec2types.ImageAttributeNameBootMode})
	if err != nil || aws.ToString(boot.BootMode.Value) != "uefi" {
		t.Errorf("bootMode: %+v, %v", boot, err)
	}
	if _, err := c.RegisterImage(ctx, &ec2.RegisterImageInput{Name: aws.String("registered")}); apiCode(err) != "InvalidAMIName.Duplicate" {
		t.Errorf("duplicate RegisterImage: %v", err)
	}

	west := ec2.NewFromConfig(env.AWSConfig(), func(o *ec2.Options) { o.Region = "us-west-2" })
	source := al2023(t, west)
	cp, err := c.CopyImage(ctx, &ec2.CopyImageInput{SourceImageId: source, SourceRegion: aws.String("us-west-2"), Name: aws.String("al2023-copy")})
	if err != nil {
		t.Fatalf("CopyImage from us-west-2: %v", err)
	}
	got, err := c.DescribeImages(ctx, &ec2.DescribeImagesInput{ImageIds: []string{aws.ToString(cp.ImageId)}})
	if err != nil || len(got.Images) != 1 || aws.ToString(got.Images[0].SourceImageId) != aws.ToString(source) ||
		aws.ToString(got.Images[0].SourceImageRegion) != "us-west-2" || got.Images[0].State != ec2types.ImageStateAvailable {
		t.Errorf("copy = %+v, %v", got, err)
	}
	if _, err := c.DeregisterImage(ctx, &ec2.DeregisterImageInput{ImageId: source}); apiCode(err) != "InvalidAMIID.NotFound" {
		// The us-west-2 image is not in us-east-1 at all.
		t.Errorf("deregistering another Region's image: %v", err)
	}
	if _, err := c.DeregisterImage(ctx, &ec2.DeregisterImageInput{ImageId: aws.String("ami-0123456789abcdef0")}); apiCode(err) != "InvalidAMIID.NotFound" {
		t.Errorf("deregistering a missing image: %v", err)
	}
	if _, err := c.DeregisterImage(ctx, &ec2.DeregisterImageInput{ImageId: al2023(t, c)}); apiCode(err) != "AuthFailure" {
		t.Errorf("deregistering a public image: %v", err)
	}
}
