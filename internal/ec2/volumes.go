package ec2

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	api "github.com/nephele-dev/nephele/internal/api/ec2"
	"github.com/nephele-dev/nephele/internal/awserr"
	"github.com/nephele-dev/nephele/internal/awsid"
	"github.com/nephele-dev/nephele/internal/ec2/catalog"
	"github.com/nephele-dev/nephele/internal/filter"
	"github.com/nephele-dev/nephele/internal/service"
	"github.com/nephele-dev/nephele/internal/store"
)

// EBS volumes. Every instance has a root volume, whose files are the
// instance's root directory; it is created with the instance and, being
// DeleteOnTermination, goes with it. Data volumes (CreateVolume) are
// directories of their own under the machine's directory, linked into the
// root of the instance they are attached to under mnt/ (device /dev/sdf →
// mnt/sdf), so that their files survive detaching and attaching again.
// Attaching and detaching take effect at once: the volume is "in-use" or
// "available" by the time the call returns.

var volumeKind = register(kind{prefix: "vol", resourceType: "volume", bucket: "ec2/volumes"})

// volumeRecord is a stored volume: its API shape (without tags).
type volumeRecord struct {
	api.Volume
	// Root marks an instance's root volume, whose files are the
	// instance's root directory rather than a directory of its own.
	Root bool `json:",omitempty"`
}

func (v *volumeRecord) id() string { return str(v.VolumeId) }

// attachment is the volume's one attachment, nil when it is available.
func (v *volumeRecord) attachment() *api.VolumeAttachment {
	if len(v.Attachments) == 0 {
		return nil
	}
	return &v.Attachments[0]
}

func (s *Service) volumeOperations() []service.Operation {
	return []service.Operation{
		service.Handle("CreateVolume", s.CreateVolume),
		service.Handle("DeleteVolume", s.DeleteVolume),
		service.Handle("DescribeVolumes", s.DescribeVolumes),
		service.Handle("AttachVolume", s.AttachVolume),
		service.Handle("DetachVolume", s.DetachVolume),
		service.Handle("ModifyVolume", s.ModifyVolume),
	}
}

// loadVolume reads a volume, or fails with InvalidVolume.NotFound.
func loadVolume(tx store.Tx, sc scope, id string) (volumeRecord, error) {
	if !strings.HasPrefix(id, "vol-") {
		return volumeRecord{}, malformed("InvalidVolumeID.Malformed", id, "vol")
	}
	var v volumeRecord
	err := tx.Get(volumeKind.bucket, sc.key(id), &v)
	if errors.Is(err, store.ErrNotFound) {
		return v, notFound("InvalidVolume.NotFound", "volume", id)
	}
	return v, err
}

// volumeLimits are each volume type's sizes (GiB) and, for the types
// whose IOPS are provisioned, their IOPS range and the most IOPS per GiB
// (the EC2 API reference, CreateVolume: Size and Iops).
var volumeLimits = map[string]struct {
	minSize, maxSize int32
	minIops, maxIops int32
	iopsPerGiB       int32
}{
	"gp2":      {minSize: 1, maxSize: 16384},
	"gp3":      {minSize: 1, maxSize: 65536, minIops: 3000, maxIops: 16000, iopsPerGiB: 500},
	"io1":      {minSize: 4, maxSize: 16384, minIops: 100, maxIops: 64000, iopsPerGiB: 50},
	"io2":      {minSize: 4, maxSize: 65536, minIops: 100, maxIops: 256000, iopsPerGiB: 1000},
	"st1":      {minSize: 125, maxSize: 16384},
	"sc1":      {minSize: 125, maxSize: 16384},
	"standard": {minSize: 1, maxSize: 1024},
}

// volumeSpec is a volume's type, size and performance, checked against
// its type's rules and completed with the defaults EC2 reports.
type volumeSpec struct {
	volumeType string
	size       int32
	iops       *int32
	throughput *int32
}

// check applies EC2's rules for a volume's type, size, IOPS and
// throughput, and fills in what EC2 reports when they are not given: gp2's
// baseline of 3 IOPS per GiB (100 to 16,000), gp3's 3,000 IOPS and
// 125 MiB/s.
func (v *volumeSpec) check() error {
	lim, ok := volumeLimits[v.volumeType]
	if !ok {
		return invalidParameterValue("Value (%s) for parameter volumeType is invalid. Valid volume types are: gp2, gp3, io1, io2, st1, sc1, standard.", v.volumeType)
	}
	if v.size < lim.minSize {
		return invalidParameterValue("The volume size is invalid for %s volumes: %d GiB. %s volumes must be at least %d GiB in size. Please specify a volume size above the minimum limit.", v.volumeType, v.size, v.volumeType, lim.minSize)
	}
	if v.size > lim.maxSize {
		return invalidParameterValue("The volume size is invalid for %s volumes: %d GiB. %s volumes must be at most %d GiB in size. Please specify a volume size below the maximum limit.", v.volumeType, v.size, v.volumeType, lim.maxSize)
	}
	switch v.volumeType {
	case "io1", "io2":
		if v.iops == nil {
			return missingParameter("The parameter iops must be specified for %s volumes.", v.volumeType)
		}
	case "gp3":
		if v.iops == nil {
			v.iops = ptr(int32(3000))
		}
	default:
		if v.iops != nil {
			return invalidParameterCombination("The parameter iops is not supported for %s volumes.", v.volumeType)
		}
	}
	if v.throughput != nil && v.volumeType != "gp3" {
		return invalidParameterCombination("The parameter throughput is not supported for %s volumes.", v.volumeType)
	}
	if v.iops != nil {
		iops := *v.iops
		if iops < lim.minIops || iops > lim.maxIops {
			return invalidParameterValue("Volume iops of %d is invalid for %s volumes: it must be between %d and %d.", iops, v.volumeType, lim.minIops, lim.maxIops)
		}
		// gp3's baseline of 3,000 IOPS comes with any size.
		if (v.volumeType != "gp3" || iops > 3000) && iops > lim.iopsPerGiB*v.size {
			return invalidParameterValue("Iops to volume size ratio of %.1f is too high; maximum is %d.0", float64(iops)/float64(v.size), lim.iopsPerGiB)
		}
	}
	if v.volumeType == "gp3" {
		if v.throughput == nil {
			v.throughput = ptr(int32(125))
		}
		if t := *v.throughput; t < 125 || t > 1000 {
			return invalidParameterValue("Volume throughput of %d is invalid for gp3 volumes: it must be between 125 and 1000 MiB/s.", t)
		}
	}
	if v.volumeType == "gp2" {
		v.iops = ptr(min(max(3*v.size, 100), 16000))
	}
	return nil
}

// apply sets a volume's type, size and performance.
func (v volumeSpec) apply(vol *api.Volume) {
	vol.VolumeType, vol.Size, vol.Iops, vol.Throughput = ptr(v.volumeType), ptr(v.size), v.iops, v.throughput
}

// createRootVolume records the root volume of an instance RunInstances
// just stored: the volume its BlockDeviceMappings name, sized and typed
// as the image's root mapping (or the launch's BlockDeviceMappings for the
// root device) says, attached, and deleted on termination unless the
// launch says otherwise. tags are the launch's volume TagSpecifications.
func createRootVolume(tx store.Tx, sc scope, r instanceRecord, img api.Image, requested []api.BlockDeviceMapping, tags []api.Tag) error {
	if len(r.BlockDeviceMappings) == 0 || r.BlockDeviceMappings[0].Ebs == nil {
		return nil
	}
	bdm := r.BlockDeviceMappings[0]
	spec := volumeSpec{volumeType: "gp2", size: 8}
	deleteOnTermination := true
	var snapshot *string
	for _, list := range [][]api.BlockDeviceMapping{img.BlockDeviceMappings, requested} {
		for _, m := range list {
			if str(m.DeviceName) != str(bdm.DeviceName) || m.Ebs == nil {
				continue
			}
			if m.Ebs.VolumeSize != nil {
				spec.size = *m.Ebs.VolumeSize
			}
			if m.Ebs.VolumeType != nil && str(m.Ebs.VolumeType) != spec.volumeType {
				spec.volumeType, spec.iops, spec.throughput = str(m.Ebs.VolumeType), nil, nil
			}
			if m.Ebs.Iops != nil && spec.volumeType != "gp2" {
				spec.iops = m.Ebs.Iops
			}
			if m.Ebs.Throughput != nil && spec.volumeType == "gp3" {
				spec.throughput = m.Ebs.Throughput
			}
			if m.Ebs.DeleteOnTermination != nil {
				deleteOnTermination = *m.Ebs.DeleteOnTermination
			}
			if m.Ebs.SnapshotId != nil {
				snapshot = m.Ebs.SnapshotId
			}
		}
	}
	if err := spec.check(); err != nil {
		return err
	}
	r.BlockDeviceMappings[0].Ebs.DeleteOnTermination = ptr(deleteOnTermination)
	v := volumeRecord{Root: true, Volume: api.Volume{
		VolumeId:           bdm.Ebs.VolumeId,
		AvailabilityZone:   r.Placement.AvailabilityZone,
		AvailabilityZoneId: r.Placement.AvailabilityZoneId,
		CreateTime:         bdm.Ebs.AttachTime,
		Encrypted:          ptr(false),
		MultiAttachEnabled: ptr(false),
		SnapshotId:         ptr(str(snapshot)),
		State:              ptr("in-use"),
		Attachments: []api.VolumeAttachment{{
			AttachTime: bdm.Ebs.AttachTime, DeleteOnTermination: ptr(deleteOnTermination), Device: bdm.DeviceName,
			InstanceId: r.InstanceId, State: ptr("attached"), VolumeId: bdm.Ebs.VolumeId,
		}},
	}}
	spec.apply(&v.Volume)
	if err := tx.Put(volumeKind.bucket, sc.key(v.id()), v); err != nil {
		return err
	}
	return writeTags(tx, sc, v.id(), slices.Clone(tags))
}

// deleteInstanceVolumes is a terminated instance's end for its volumes:
// those to be deleted on termination (the root volume, unless the launch
// said otherwise) are deleted, the others detached and available again.
// The lifecycle calls it when an instance becomes terminated; the files of
// deleted data volumes are removed by the next pruneVolumeDirs.
func deleteInstanceVolumes(tx store.Tx, sc scope, instanceID string) error {
	vols, err := listAll[volumeRecord](tx, sc, volumeKind.bucket)
	if err != nil {
		return err
	}
	for _, v := range vols {
		a := v.attachment()
		if a == nil || str(a.InstanceId) != instanceID {
			continue
		}
		if boolean(a.DeleteOnTermination) {
			if err := tx.Delete(volumeKind.bucket, sc.key(v.id())); err != nil {
				return err
			}
			if err := tx.Delete(bucketTags, sc.key(v.id())); err != nil {
				return err
			}
			continue
		}
		v.Attachments, v.State = []api.VolumeAttachment{}, ptr("available")
		if err := tx.Put(volumeKind.bucket, sc.key(v.id()), v); err != nil {
			return err
		}
	}
	return nil
}

// pruneVolumeDirs removes the directories of volumes that no longer exist
// (deleted on an instance's termination, or left by a reset).
func (s *Service) pruneVolumeDirs() error {
	dir := filepath.Dir(s.machine.VolumeDir("x"))
	entries, err := os.ReadDir(dir)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil
		}
		return err
	}
	live := map[string]bool{}
	err = s.st.View(func(tx store.Tx) error {
		return tx.ForEach(volumeKind.bucket, "", func(key string, _ func(any) error) error {
			_, _, id := splitKey(key)
			live[id] = true
			return nil
		})
	})
	if err != nil {
		return err
	}
	var errs []error
	for _, e := range entries {
		if !live[e.Name()] {
			errs = append(errs, s.machine.RemoveVolume(e.Name()))
		}
	}
	return errors.Join(errs...)
}

// wipeInstanceStore empties an instance's instance store volume, if its
// type has one. The lifecycle calls it when the instance has stopped:
// instance store data does not survive a stop, while the EBS root does.
func (s *Service) wipeInstanceStore(id string) error {
	return s.machine.WipeInstanceStore(id)
}

// setInstanceStore gives an instance of a type with instance storage its
// ephemeral0 directory, or takes it from one whose type has none.
func (s *Service) setInstanceStore(id, instanceType string) error {
	if catalog.HasInstanceStore(instanceType) {
		return s.machine.AddInstanceStore(id)
	}
	return s.machine.RemoveInstanceStore(id)
}

// isAPIError reports whether err is an AWS error (a resource not found,
// a rule broken) rather than a failure of the store.
func isAPIError(err error) bool {
	var e *awserr.Error
	return errors.As(err, &e)
}

// zoneOf resolves an Availability Zone of the region by name or ID.
func zoneOf(sc scope, name, id string) (api.AvailabilityZone, error) {
	want := name
	if want == "" {
		want = id
	}
	if want == "" {
		return api.AvailabilityZone{}, missingParameter("The request must contain the parameter AvailabilityZone")
	}
	az, ok := catalog.AvailabilityZone(want)
	if !ok || str(az.RegionName) != sc.region {
		return api.AvailabilityZone{}, invalidParameterValue("Invalid availability zone: [%s]", want)
	}
	return az, nil
}

// snapshotSize finds a snapshot an image's mappings name (the public
// catalogue's or the account's images), for CreateVolume's SnapshotId.
func snapshotSize(tx store.Tx, sc scope, snapshotID string) (int32, bool, error) {
	images := catalog.Images(sc.region)
	own, err := listAll[imageRecord](tx, sc, imageKind.bucket)
	if err != nil {
		return 0, false, err
	}
	for _, r := range own {
		images = append(images, r.Image)
	}
	for _, img := range images {
		for _, m := range img.BlockDeviceMappings {
			if m.Ebs != nil && str(m.Ebs.SnapshotId) == snapshotID {
				return deref(m.Ebs.VolumeSize), true, nil
			}
		}
	}
	return 0, false, nil
}

// CreateVolume creates an EBS volume in an Availability Zone: empty, of
// Size GiB, or the size of the snapshot named. It is available at once.
func (s *Service) CreateVolume(ctx context.Context, in *api.CreateVolumeInput) (*api.CreateVolumeOutput, error) {
	sc := scopeOf(ctx)
	if err := s.seed(sc); err != nil {
		return nil, err
	}
	az, err := zoneOf(sc, str(in.AvailabilityZone), str(in.AvailabilityZoneId))
	if err != nil {
		return nil, err
	}
	spec := volumeSpec{volumeType: str(in.VolumeType), iops: in.Iops, throughput: in.Throughput}
	if spec.volumeType == "" {
		spec.volumeType = "gp2" // CreateVolume's documented default
	}
	tags, err := tagSpecTags(in.TagSpecifications, "volume", "volume")
	if err != nil {
		return nil, err
	}
	id := awsid.New("vol")
	var out api.Volume
	err = s.st.Update(func(tx store.Tx) error {
		if in.SnapshotId != nil {
			size, ok, err := snapshotSize(tx, sc, str(in.SnapshotId))
			if err != nil {
				return err
			}
			if !ok {
				return notFound("InvalidSnapshot.NotFound", "snapshot", str(in.SnapshotId))
			}
			spec.size = size
			if in.Size != nil {
				if *in.Size < size {
					return invalidParameterValue("Volume of %dGiB is too small; minimum is %dGiB.", *in.Size, size)
				}
				spec.size = *in.Size
			}
		} else if in.Size == nil {
			return missingParameter("The request must contain the parameter size or snapshotId")
		} else {
			spec.size = *in.Size
		}
		if err := spec.check(); err != nil {
			return err
		}
		v := volumeRecord{Volume: api.Volume{
			VolumeId: ptr(id), AvailabilityZone: az.ZoneName, AvailabilityZoneId: az.ZoneId,
			CreateTime: ptr(s.now()), Encrypted: ptr(boolean(in.Encrypted)), MultiAttachEnabled: ptr(boolean(in.MultiAttachEnabled)),
			SnapshotId: ptr(str(in.SnapshotId)), State: ptr("available"), Attachments: []api.VolumeAttachment{},
		}}
		if boolean(in.Encrypted) {
			v.KmsKeyId = ptr(s.defaultEBSKey(sc, str(in.KmsKeyId)))
		}
		spec.apply(&v.Volume)
		if err := ec2TagRules.Validate(toTags(tags), 0, func(msg string) error { return invalidParameterValue("%s", msg) }); err != nil {
			return err
		}
		if err := tx.Put(volumeKind.bucket, sc.key(id), v); err != nil {
			return err
		}
		if err := writeTags(tx, sc, id, slices.Clone(tags)); err != nil {
			return err
		}
		out = v.Volume
		return nil
	})
	if err != nil {
		return nil, err
	}
	if err := s.machine.CreateVolume(id); err != nil {
		return nil, fmt.Errorf("ec2: volume %s: %w", id, err)
	}
	out.Tags = tags
	// CreateVolume answers "creating"; the volume is available by the
	// next call.
	out.State = ptr("creating")
	return &out, nil
}

// defaultEBSKey is the KMS key of an encrypted volume: the one named, or
// the account's AWS managed key for EBS.
func (s *Service) defaultEBSKey(sc scope, named string) string {
	if named != "" {
		return named
	}
	return fmt.Sprintf("arn:aws:kms:%s:%s:alias/aws/ebs", sc.region, sc.account)
}

// DeleteVolume deletes an available volume and its files; an attached
// one is VolumeInUse.
func (s *Service) DeleteVolume(ctx context.Context, in *api.DeleteVolumeInput) (*api.DeleteVolumeOutput, error) {
	sc := scopeOf(ctx)
	if err := s.seed(sc); err != nil {
		return nil, err
	}
	id := str(in.VolumeId)
	err := s.st.Update(func(tx store.Tx) error {
		v, err := loadVolume(tx, sc, id)
		if err != nil {
			return err
		}
		if a := v.attachment(); a != nil {
			return awserr.BadRequest("VolumeInUse", "Volume %s is currently attached to %s", id, str(a.InstanceId))
		}
		if err := tx.Delete(volumeKind.bucket, sc.key(id)); err != nil {
			return err
		}
		return tx.Delete(bucketTags, sc.key(id))
	})
	if err != nil {
		return nil, err
	}
	if err := s.pruneVolumeDirs(); err != nil {
		s.log().Error("ec2: removing volume files", "err", err)
	}
	return &api.DeleteVolumeOutput{}, nil
}

// devicePattern is what EC2 accepts as a Linux device name to attach a
// volume at: /dev/sd[f-p] and the like, /dev/xvd*, /dev/hd*.
func validDevice(d string) bool {
	for _, prefix := range []string{"/dev/sd", "/dev/xvd", "/dev/hd", "xvd"} {
		if rest, ok := strings.CutPrefix(d, prefix); ok && rest != "" {
			return !strings.ContainsAny(rest, "/ ")
		}
	}
	return false
}

// AttachVolume attaches an available volume to a running or stopped
// instance in its Availability Zone, at a device the instance does not
// use; the volume's files show in the instance's root under mnt/.
func (s *Service) AttachVolume(ctx context.Context, in *api.AttachVolumeInput) (*api.AttachVolumeOutput, error) {
	sc := scopeOf(ctx)
	if err := s.seed(sc); err != nil {
		return nil, err
	}
	volID, instID, device := str(in.VolumeId), str(in.InstanceId), str(in.Device)
	if !validDevice(device) {
		return nil, invalidParameterValue("Value (%s) for parameter device is invalid. %s is not a valid EBS device name.", device, device)
	}
	now := s.now().Truncate(time.Second)
	var att api.VolumeAttachment
	err := s.st.Update(func(tx store.Tx) error {
		v, err := loadVolume(tx, sc, volID)
		if err != nil {
			return err
		}
		r, err := loadInstance(tx, sc, instID)
		if err != nil {
			return err
		}
		if a := v.attachment(); a != nil {
			return awserr.BadRequest("VolumeInUse", "%s is already attached to an instance", volID)
		}
		if st := r.state(); st != "running" && st != "stopped" {
			return awserr.BadRequest("IncorrectState", "Instance '%s' is not 'running' or 'stopped'.", instID)
		}
		if str(v.AvailabilityZone) != str(r.Placement.AvailabilityZone) {
			return awserr.BadRequest("InvalidVolume.ZoneMismatch", "The volume '%s' is not in the same availability zone as instance '%s'", volID, instID)
		}
		for _, m := range r.BlockDeviceMappings {
			if filepath.Base(str(m.DeviceName)) == filepath.Base(device) {
				return invalidParameterValue("Invalid value '%s' for unixDevice. Attachment point %s is already in use", device, device)
			}
		}
		att = api.VolumeAttachment{AttachTime: ptr(now), DeleteOnTermination: ptr(false), Device: ptr(device),
			InstanceId: ptr(instID), State: ptr("attached"), VolumeId: ptr(volID)}
		v.Attachments, v.State = []api.VolumeAttachment{att}, ptr("in-use")
		if err := tx.Put(volumeKind.bucket, sc.key(volID), v); err != nil {
			return err
		}
		r.BlockDeviceMappings = append(r.BlockDeviceMappings, api.InstanceBlockDeviceMapping{DeviceName: ptr(device), Ebs: &api.EbsInstanceBlockDevice{
			AttachTime: ptr(now), DeleteOnTermination: ptr(false), Status: ptr("attached"), VolumeId: ptr(volID),
		}})
		return tx.Put(instanceKind.bucket, sc.key(instID), r)
	})
	if err != nil {
		return nil, err
	}
	if err := s.machine.AttachVolume(instID, volID, device); err != nil {
		return nil, fmt.Errorf("ec2: attaching %s: %w", volID, err)
	}
	att.State = ptr("attaching")
	return &att, nil
}

// DetachVolume detaches a data volume from its instance; its files stay
// with the volume. The root volume cannot be detached here: its files are
// the instance's root directory.
func (s *Service) DetachVolume(ctx context.Context, in *api.DetachVolumeInput) (*api.DetachVolumeOutput, error) {
	sc := scopeOf(ctx)
	if err := s.seed(sc); err != nil {
		return nil, err
	}
	volID := str(in.VolumeId)
	var att api.VolumeAttachment
	err := s.st.Update(func(tx store.Tx) error {
		v, err := loadVolume(tx, sc, volID)
		if err != nil {
			return err
		}
		a := v.attachment()
		if a == nil {
			return awserr.BadRequest("IncorrectState", "Volume '%s' is in the 'available' state.", volID)
		}
		if id := str(in.InstanceId); id != "" && id != str(a.InstanceId) {
			return awserr.BadRequest("InvalidAttachment.NotFound", "Attachment point for volume '%s' and instance '%s' does not exist", volID, id)
		}
		if d := str(in.Device); d != "" && d != str(a.Device) {
			return awserr.BadRequest("InvalidAttachment.NotFound", "Attachment point for volume '%s' at device '%s' does not exist", volID, d)
		}
		if v.Root {
			return awserr.BadRequest("OperationNotPermitted", "The root volume '%s' of instance '%s' cannot be detached.", volID, str(a.InstanceId))
		}
		att = *a
		v.Attachments, v.State = []api.VolumeAttachment{}, ptr("available")
		if err := tx.Put(volumeKind.bucket, sc.key(volID), v); err != nil {
			return err
		}
		r, err := loadInstance(tx, sc, str(a.InstanceId))
		if isAPIError(err) {
			return nil
		}
		if err != nil {
			return err
		}
		r.BlockDeviceMappings = slices.DeleteFunc(r.BlockDeviceMappings, func(m api.InstanceBlockDeviceMapping) bool {
			return m.Ebs != nil && str(m.Ebs.VolumeId) == volID
		})
		return tx.Put(instanceKind.bucket, sc.key(r.id()), r)
	})
	if err != nil {
		return nil, err
	}
	if err := s.machine.DetachVolume(str(att.InstanceId), str(att.Device)); err != nil {
		return nil, fmt.Errorf("ec2: detaching %s: %w", volID, err)
	}
	att.State = ptr("detaching")
	return &att, nil
}

// ModifyVolume changes a volume's size, type, IOPS or throughput at once;
// a volume cannot shrink.
func (s *Service) ModifyVolume(ctx context.Context, in *api.ModifyVolumeInput) (*api.ModifyVolumeOutput, error) {
	sc := scopeOf(ctx)
	if err := s.seed(sc); err != nil {
		return nil, err
	}
	id := str(in.VolumeId)
	var mod api.VolumeModification
	err := s.st.Update(func(tx store.Tx) error {
		v, err := loadVolume(tx, sc, id)
		if err != nil {
			return err
		}
		spec := volumeSpec{volumeType: str(v.VolumeType), size: deref(v.Size), iops: v.Iops, throughput: v.Throughput}
		if in.VolumeType != nil && *in.VolumeType != spec.volumeType {
			spec.volumeType, spec.iops, spec.throughput = *in.VolumeType, nil, nil
		}
		if spec.volumeType == "gp2" {
			spec.iops = nil
		}
		if in.Size != nil {
			if *in.Size < deref(v.Size) {
				return invalidParameterValue("New size cannot be smaller than existing size")
			}
			spec.size = *in.Size
		}
		if in.Iops != nil {
			spec.iops = in.Iops
		}
		if in.Throughput != nil {
			spec.throughput = in.Throughput
		}
		if err := spec.check(); err != nil {
			return err
		}
		now := s.now()
		mod = api.VolumeModification{
			VolumeId: ptr(id), ModificationState: ptr("completed"), Progress: ptr(int64(100)), StartTime: ptr(now), EndTime: ptr(now),
			OriginalSize: v.Size, OriginalVolumeType: v.VolumeType, OriginalIops: v.Iops, OriginalThroughput: v.Throughput,
			OriginalMultiAttachEnabled: v.MultiAttachEnabled, TargetMultiAttachEnabled: v.MultiAttachEnabled,
		}
		spec.apply(&v.Volume)
		mod.TargetSize, mod.TargetVolumeType, mod.TargetIops, mod.TargetThroughput = v.Size, v.VolumeType, v.Iops, v.Throughput
		return tx.Put(volumeKind.bucket, sc.key(id), v)
	})
	if err != nil {
		return nil, err
	}
	return &api.ModifyVolumeOutput{VolumeModification: &mod}, nil
}

// attachmentField reads one member of a volume's attachment.
func attachmentField(get func(api.VolumeAttachment) string) func(tagged[volumeRecord]) []string {
	return func(t tagged[volumeRecord]) []string {
		if a := t.item.attachment(); a != nil {
			return []string{get(*a)}
		}
		return nil
	}
}

// volumeFields are DescribeVolumes's filters.
var volumeFields = filter.Fields[tagged[volumeRecord]]{
	"volume-id":                          field(func(v volumeRecord) *string { return v.VolumeId }),
	"availability-zone":                  field(func(v volumeRecord) *string { return v.AvailabilityZone }),
	"availability-zone-id":               field(func(v volumeRecord) *string { return v.AvailabilityZoneId }),
	"status":                             field(func(v volumeRecord) *string { return v.State }),
	"volume-type":                        field(func(v volumeRecord) *string { return v.VolumeType }),
	"snapshot-id":                        field(func(v volumeRecord) *string { return v.SnapshotId }),
	"encrypted":                          boolField(func(v volumeRecord) *bool { return v.Encrypted }),
	"multi-attach-enabled":               boolField(func(v volumeRecord) *bool { return v.MultiAttachEnabled }),
	"size":                               func(t tagged[volumeRecord]) []string { return []string{fmt.Sprint(deref(t.item.Size))} },
	"create-time":                        func(t tagged[volumeRecord]) []string { return []string{t.item.CreateTime.UTC().Format(time.RFC3339)} },
	"attachment.instance-id":             attachmentField(func(a api.VolumeAttachment) string { return str(a.InstanceId) }),
	"attachment.device":                  attachmentField(func(a api.VolumeAttachment) string { return str(a.Device) }),
	"attachment.status":                  attachmentField(func(a api.VolumeAttachment) string { return str(a.State) }),
	"attachment.delete-on-termination":   attachmentField(func(a api.VolumeAttachment) string { return fmt.Sprint(boolean(a.DeleteOnTermination)) }),
	"attachment.attach-time":             attachmentField(func(a api.VolumeAttachment) string { return a.AttachTime.UTC().Format(time.RFC3339) }),
	"attachment.associated-resource":     attachmentField(func(a api.VolumeAttachment) string { return str(a.AssociatedResource) }),
	"attachment.instance-owning-service": attachmentField(func(a api.VolumeAttachment) string { return str(a.InstanceOwningService) }),
	"fast-restored":                      boolField(func(v volumeRecord) *bool { return v.FastRestored }),
	"attachment.ebs-card-index":          attachmentField(func(a api.VolumeAttachment) string { return fmt.Sprint(deref(a.EbsCardIndex)) }),
}

// DescribeVolumes lists the region's volumes, root volumes included.
func (s *Service) DescribeVolumes(ctx context.Context, in *api.DescribeVolumesInput) (*api.DescribeVolumesOutput, error) {
	sc := scopeOf(ctx)
	if err := s.seed(sc); err != nil {
		return nil, err
	}
	for _, id := range in.VolumeIds {
		if !strings.HasPrefix(id, "vol-") {
			return nil, malformed("InvalidVolumeID.Malformed", id, "vol")
		}
	}
	if len(in.VolumeIds) > 0 && in.MaxResults != nil {
		return nil, invalidParameterCombination("The parameter volumeSet cannot be used with the parameter maxResults")
	}
	found, next, err := describe(s, sc, volumeKind, func(v volumeRecord) string { return v.id() }, in.VolumeIds, in.Filters, volumeFields, in.MaxResults, in.NextToken)
	if err != nil {
		return nil, err
	}
	out := &api.DescribeVolumesOutput{Volumes: []api.Volume{}, NextToken: next}
	for _, t := range found {
		v := t.item.Volume
		v.Tags = t.tags
		out.Volumes = append(out.Volumes, v)
	}
	return out, nil
}
