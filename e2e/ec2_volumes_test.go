package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/nephele-dev/nephele/internal/server"
	"github.com/nephele-dev/nephele/internal/testenv"
)

// volume describes one volume.
func volume(t *testing.T, c *ec2.Client, id string) ec2types.Volume {
	t.Helper()
	out, err := c.DescribeVolumes(context.Background(), &ec2.DescribeVolumesInput{VolumeIds: []string{id}})
	if err != nil || len(out.Volumes) != 1 {
		t.Fatalf("DescribeVolumes %s: %+v, %v", id, out, err)
	}
	return out.Volumes[0]
}

// TestEC2VolumesMoveData follows a data volume between instances: an
// instance's root volume shows in DescribeVolumes; a new volume attached
// to one instance gets a file, is detached, and the second instance it is
// attached to reads that file.
func TestEC2VolumesMoveData(t *testing.T) {
	env := testenv.Start(t, server.Config{})
	ctx := context.Background()
	c := ec2.NewFromConfig(env.AWSConfig())
	image := al2023(t, c)

	// The writer waits for its volume to appear at mnt/sdf, as a real
	// instance waits for its device.
	writer := launch(t, c, image, ec2types.InstanceTypeT3Micro, `#!/bin/sh
while [ ! -d mnt/sdf ]; do sleep 0.1; done
echo "kept on the volume" > mnt/sdf/data.txt
echo written
`)
	reader := launch(t, c, image, ec2types.InstanceTypeT3Micro, `#!/bin/sh
while [ ! -f mnt/sdg/data.txt ]; do sleep 0.1; done
echo "reader sees: $(cat mnt/sdg/data.txt)"
`)
	w := instanceState(t, c, writer, "running")
	instanceState(t, c, reader, "running")
	az := aws.ToString(w.Placement.AvailabilityZone)

	rootID := aws.ToString(w.BlockDeviceMappings[0].Ebs.VolumeId)
	root := volume(t, c, rootID)
	if root.State != ec2types.VolumeStateInUse || aws.ToInt32(root.Size) < 1 || len(root.Attachments) != 1 ||
		aws.ToString(root.Attachments[0].InstanceId) != writer || !aws.ToBool(root.Attachments[0].DeleteOnTermination) ||
		aws.ToString(root.Attachments[0].Device) != aws.ToString(w.RootDeviceName) || aws.ToString(root.AvailabilityZone) != az {
		t.Errorf("root volume = %+v", root)
	}
	byInstance, err := c.DescribeVolumes(ctx, &ec2.DescribeVolumesInput{Filters: []ec2types.Filter{
		{Name: aws.String("attachment.instance-id"), Values: []string{writer}},
		{Name: aws.String("attachment.delete-on-termination"), Values: []string{"true"}},
	}})
	if err != nil || len(byInstance.Volumes) != 1 || aws.ToString(byInstance.Volumes[0].VolumeId) != rootID {
		t.Errorf("volumes of %s: %+v, %v", writer, byInstance, err)
	}

	created, err := c.CreateVolume(ctx, &ec2.CreateVolumeInput{
		AvailabilityZone: aws.String(az), Size: aws.Int32(10), VolumeType: ec2types.VolumeTypeGp3,
		TagSpecifications: []ec2types.TagSpecification{{ResourceType: ec2types.ResourceTypeVolume, Tags: []ec2types.Tag{{Key: aws.String("Name"), Value: aws.String("data")}}}},
	})
	if err != nil {
		t.Fatalf("CreateVolume: %v", err)
	}
	vol := aws.ToString(created.VolumeId)
	if err := ec2.NewVolumeAvailableWaiter(c).Wait(ctx, &ec2.DescribeVolumesInput{VolumeIds: []string{vol}}, 20*time.Second); err != nil {
		t.Fatalf("VolumeAvailable: %v", err)
	}
	if v := volume(t, c, vol); aws.ToInt32(v.Iops) != 3000 || aws.ToInt32(v.Throughput) != 125 || len(v.Tags) != 1 {
		t.Errorf("gp3 volume = %+v", v)
	}
	if _, err := c.AttachVolume(ctx, &ec2.AttachVolumeInput{VolumeId: aws.String(vol), InstanceId: aws.String(writer), Device: aws.String("/dev/sdf")}); err != nil {
		t.Fatalf("AttachVolume: %v", err)
	}
	if err := ec2.NewVolumeInUseWaiter(c).Wait(ctx, &ec2.DescribeVolumesInput{VolumeIds: []string{vol}}, 20*time.Second); err != nil {
		t.Fatalf("VolumeInUse: %v", err)
	}
	consoleContains(t, c, writer, "written")

	if _, err := c.AttachVolume(ctx, &ec2.AttachVolumeInput{VolumeId: aws.String(vol), InstanceId: aws.String(reader), Device: aws.String("/dev/sdg")}); apiCode(err) != "VolumeInUse" {
		t.Errorf("attaching an attached volume: %v", err)
	}
	if _, err := c.DeleteVolume(ctx, &ec2.DeleteVolumeInput{VolumeId: aws.String(vol)}); apiCode(err) != "VolumeInUse" {
		t.Errorf("deleting an attached volume: %v", err)
	}
	if _, err := c.DetachVolume(ctx, &ec2.DetachVolumeInput{VolumeId: aws.String(rootID)}); apiCode(err) != "OperationNotPermitted" {
		t.Errorf("detaching a root volume: %v", err)
	}
	attached, err := c.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{writer}})
	if err != nil || len(attached.Reservations[0].Instances[0].BlockDeviceMappings) != 2 {
		t.Errorf("writer's mappings with the data volume: %+v, %v", attached, err)
	}

	if _, err := c.DetachVolume(ctx, &ec2.DetachVolumeInput{VolumeId: aws.String(vol)}); err != nil {
		t.Fatalf("DetachVolume: %v", err)
	}
	if v := volume(t, c, vol); v.State != ec2types.VolumeStateAvailable || len(v.Attachments) != 0 {
		t.Errorf("after detach: %+v", v)
	}
	if _, err := c.AttachVolume(ctx, &ec2.AttachVolumeInput{VolumeId: aws.String(vol), InstanceId: aws.String(reader), Device: aws.String("/dev/sdg")}); err != nil {
		t.Fatalf("AttachVolume to the reader: %v", err)
	}
	consoleContains(t, c, reader, "reader sees: kept on the volume")

	// The CLI lists in-use volumes of the zone, paged.
	out, err := env.CLI(t, "ec2", "describe-volumes", "--filters", "Name=status,Values=in-use", "Name=availability-zone,Values="+az, "--page-size", "5")
	var listed struct{ Volumes []struct{ VolumeId string } }
	if err != nil || json.Unmarshal([]byte(out), &listed) != nil || len(listed.Volumes) != 3 {
		t.Errorf("describe-volumes in-use: %v\n%s", err, out)
	}
	if _, err := c.DetachVolume(ctx, &ec2.DetachVolumeInput{VolumeId: aws.String(vol), Force: aws.Bool(true)}); err != nil {
		t.Fatal(err)
	}
	if _, err := env.CLI(t, "ec2", "delete-volume", "--volume-id", vol); err != nil {
		t.Fatal(err)
	}
	if _, err := c.DescribeVolumes(ctx, &ec2.DescribeVolumesInput{VolumeIds: []string{vol}}); apiCode(err) != "InvalidVolume.NotFound" {
		t.Errorf("deleted volume: %v", err)
	}
}

// TestEC2VolumeRules checks CreateVolume's and AttachVolume's rules.
func TestEC2VolumeRules(t *testing.T) {
	env := testenv.Start(t, server.Config{})
	ctx := context.Background()
	c := ec2.NewFromConfig(env.AWSConfig())
	tests := []struct {
		name string
		in   ec2.CreateVolumeInput
		code string
	}{
		{"no_zone", ec2.CreateVolumeInput{Size: aws.Int32(8)}, "MissingParameter"},
		{"other_region_zone", ec2.CreateVolumeInput{AvailabilityZone: aws.String("eu-west-1a"), Size: aws.Int32(8)}, "InvalidParameterValue"},
		{"no_size", ec2.CreateVolumeInput{AvailabilityZone: aws.String("us-east-1a")}, "MissingParameter"},
		{"st1_too_small", ec2.CreateVolumeInput{AvailabilityZone: aws.String("us-east-1a"), Size: aws.Int32(100), VolumeType: ec2types.VolumeTypeSt1}, "InvalidParameterValue"},
		{"standard_too_big", ec2.CreateVolumeInput{AvailabilityZone: aws.String("us-east-1a"), Size: aws.Int32(2000), VolumeType: ec2types.VolumeTypeStandard}, "InvalidParameterValue"},
		{"io1_without_iops", ec2.CreateVolumeInput{AvailabilityZone: aws.String("us-east-1a"), Size: aws.Int32(100), VolumeType: ec2types.VolumeTypeIo1}, "MissingParameter"},
		{"io1_ratio", ec2.CreateVolumeInput{AvailabilityZone: aws.String("us-east-1a"), Size: aws.Int32(10), VolumeType: ec2types.VolumeTypeIo1, Iops: aws.Int32(1000)}, "InvalidParameterValue"},
		{"gp2_iops", ec2.CreateVolumeInput{AvailabilityZone: aws.String("us-east-1a"), Size: aws.Int32(10), Iops: aws.Int32(300)}, "InvalidParameterCombination"},
		{"unknown_snapshot", ec2.CreateVolumeInput{AvailabilityZone: aws.String("us-east-1a"), SnapshotId: aws.String("snap-0123456789abcdef0")}, "InvalidSnapshot.NotFound"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := c.CreateVolume(ctx, &tt.in); apiCode(err) != tt.code {
				t.Errorf("err = %v, want %s", err, tt.code)
			}
		})
	}
	io1, err := c.CreateVolume(ctx, &ec2.CreateVolumeInput{AvailabilityZone: aws.String("us-east-1a"), Size: aws.Int32(100), VolumeType: ec2types.VolumeTypeIo1, Iops: aws.Int32(5000)})
	if err != nil || aws.ToInt32(io1.Iops) != 5000 {
		t.Fatalf("io1 volume: %+v, %v", io1, err)
	}
	gp2, err := c.CreateVolume(ctx, &ec2.CreateVolumeInput{AvailabilityZone: aws.String("us-east-1b"), Size: aws.Int32(50)})
	if err != nil || gp2.VolumeType != ec2types.VolumeTypeGp2 || aws.ToInt32(gp2.Iops) != 150 {
		t.Fatalf("gp2 volume (default type, 3 IOPS per GiB): %+v, %v", gp2, err)
	}
	mod, err := c.ModifyVolume(ctx, &ec2.ModifyVolumeInput{VolumeId: gp2.VolumeId, Size: aws.Int32(100), VolumeType: ec2types.VolumeTypeGp3})
	if err != nil || aws.ToInt32(mod.VolumeModification.TargetSize) != 100 || mod.VolumeModification.TargetVolumeType != ec2types.VolumeTypeGp3 {
		t.Errorf("ModifyVolume: %+v, %v", mod, err)
	}
	if _, err := c.ModifyVolume(ctx, &ec2.ModifyVolumeInput{VolumeId: gp2.VolumeId, Size: aws.Int32(10)}); apiCode(err) != "InvalidParameterValue" {
		t.Errorf("shrinking: %v", err)
	}
	// The size of a public image's snapshot is the default size.
	img, err := c.DescribeImages(ctx, &ec2.DescribeImagesInput{ImageIds: []string{aws.ToString(al2023(t, c))}})
	if err != nil {
		t.Fatal(err)
	}
	ebs := img.Images[0].BlockDeviceMappings[0].Ebs
	fromSnap, err := c.CreateVolume(ctx, &ec2.CreateVolumeInput{AvailabilityZone: aws.String("us-east-1a"), SnapshotId: ebs.SnapshotId})
	if err != nil || aws.ToInt32(fromSnap.Size) != aws.ToInt32(ebs.VolumeSize) || aws.ToString(fromSnap.SnapshotId) != aws.ToString(ebs.SnapshotId) {
		t.Errorf("volume from snapshot: %+v, %v", fromSnap, err)
	}

	inst := launch(t, c, al2023(t, c), ec2types.InstanceTypeT3Micro, "#!/bin/sh\n")
	running := instanceState(t, c, inst, "running")
	other := "us-east-1a"
	if aws.ToString(running.Placement.AvailabilityZone) == other {
		other = "us-east-1b"
	}
	elsewhere, err := c.CreateVolume(ctx, &ec2.CreateVolumeInput{AvailabilityZone: aws.String(other), Size: aws.Int32(1)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.AttachVolume(ctx, &ec2.AttachVolumeInput{VolumeId: elsewhere.VolumeId, InstanceId: aws.String(inst), Device: aws.String("/dev/sdf")}); apiCode(err) != "InvalidVolume.ZoneMismatch" {
		t.Errorf("attaching across zones: %v", err)
	}
	here, err := c.CreateVolume(ctx, &ec2.CreateVolumeInput{AvailabilityZone: running.Placement.AvailabilityZone, Size: aws.Int32(1)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.AttachVolume(ctx, &ec2.AttachVolumeInput{VolumeId: here.VolumeId, InstanceId: aws.String(inst), Device: running.RootDeviceName}); apiCode(err) != "InvalidParameterValue" {
		t.Errorf("attaching at the root device: %v", err)
	}
	if _, err := c.DescribeVolumes(ctx, &ec2.DescribeVolumesInput{VolumeIds: []string{"volume-1"}}); apiCode(err) != "InvalidVolumeID.Malformed" {
		t.Errorf("malformed ID: %v", err)
	}
	// Pages of at least 5 cover every volume once.
	seen := map[string]bool{}
	p := ec2.NewDescribeVolumesPaginator(c, &ec2.DescribeVolumesInput{MaxResults: aws.Int32(5)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range page.Volumes {
			if seen[aws.ToString(v.VolumeId)] {
				t.Errorf("%s twice", aws.ToString(v.VolumeId))
			}
			seen[aws.ToString(v.VolumeId)] = true
		}
	}
	if len(seen) != 6 {
		t.Errorf("paged through %d volumes, want 6 (%s)", len(seen), fmt.Sprint(seen))
	}
}
