package ec2

import (
	"context"
	"errors"
	"slices"
	"strings"

	api "github.com/nephele-dev/nephele/internal/api/ec2"
	"github.com/nephele-dev/nephele/internal/awserr"
	"github.com/nephele-dev/nephele/internal/awsid"
	"github.com/nephele-dev/nephele/internal/ec2/catalog"
	"github.com/nephele-dev/nephele/internal/filter"
	"github.com/nephele-dev/nephele/internal/service"
	"github.com/nephele-dev/nephele/internal/store"
)

var imageKind = register(kind{prefix: "ami", resourceType: "image", bucket: "ec2/images"})

// imageRecord is an image the account registered (CreateImage,
// RegisterImage, CopyImage), without tags. Dir, when set, is the root
// directory its instances start as a copy of.
type imageRecord struct {
	api.Image
	Dir string `json:",omitempty"`
	// LaunchPermissions are the accounts (UserId) granted launches by
	// ModifyImageAttribute; the group "all" is Public.
	LaunchPermissions []api.LaunchPermission `json:",omitempty"`
}

// findImage finds the image a launch names: one of the account's own, or
// a public image of the region's catalog. An ImageId may also be an SSM
// parameter reference ("resolve:ssm:/aws/service/..."), as RunInstances
// accepts. dir is the directory the instance's root starts from, "" for a
// fresh one.
func (s *Service) findImage(tx store.Tx, sc scope, id string) (img api.Image, dir string, err error) {
	resolved, ok := catalog.ResolveImageID(sc.region, id)
	if !ok {
		return img, "", invalidParameterValue("Invalid SSM parameter reference: %s", strings.TrimPrefix(id, "resolve:ssm:"))
	}
	id = resolved
	if !strings.HasPrefix(id, "ami-") {
		return img, "", malformed("InvalidAMIID.Malformed", id, "ami")
	}
	var r imageRecord
	switch err := tx.Get(imageKind.bucket, sc.key(id), &r); {
	case err == nil:
		if str(r.State) != "available" {
			return img, "", awserr.BadRequest("InvalidAMIID.Unavailable", "Image %s is not available: its state is %s", id, str(r.State))
		}
		return r.Image, r.Dir, nil
	case !errors.Is(err, store.ErrNotFound):
		return img, "", err
	}
	if img, ok := catalog.Image(sc.region, id); ok {
		return img, "", nil
	}
	return img, "", awserr.BadRequest("InvalidAMIID.NotFound", "The image id '[%s]' does not exist", id)
}

func (s *Service) imageOperations() []service.Operation {
	return []service.Operation{
		service.Handle("DescribeImages", s.DescribeImages),
		service.Handle("CreateImage", s.CreateImage),
		service.Handle("RegisterImage", s.RegisterImage),
		service.Handle("CopyImage", s.CopyImage),
		service.Handle("DeregisterImage", s.DeregisterImage),
		service.Handle("DescribeImageAttribute", s.DescribeImageAttribute),
		service.Handle("ModifyImageAttribute", s.ModifyImageAttribute),
	}
}

// imageFields are DescribeImages's filters.
var imageFields = filter.Fields[tagged[api.Image]]{
	"image-id":            field(func(i api.Image) *string { return i.ImageId }),
	"name":                field(func(i api.Image) *string { return i.Name }),
	"architecture":        field(func(i api.Image) *string { return i.Architecture }),
	"description":         field(func(i api.Image) *string { return i.Description }),
	"image-type":          field(func(i api.Image) *string { return i.ImageType }),
	"is-public":           boolField(func(i api.Image) *bool { return i.Public }),
	"owner-alias":         field(func(i api.Image) *string { return i.ImageOwnerAlias }),
	"owner-id":            field(func(i api.Image) *string { return i.OwnerId }),
	"platform":            field(func(i api.Image) *string { return i.Platform }),
	"platform-details":    field(func(i api.Image) *string { return i.PlatformDetails }),
	"root-device-name":    field(func(i api.Image) *string { return i.RootDeviceName }),
	"root-device-type":    field(func(i api.Image) *string { return i.RootDeviceType }),
	"state":               field(func(i api.Image) *string { return i.State }),
	"virtualization-type": field(func(i api.Image) *string { return i.VirtualizationType }),
	"hypervisor":          field(func(i api.Image) *string { return i.Hypervisor }),
	"manifest-location":   field(func(i api.Image) *string { return i.ImageLocation }),
	"ena-support":         boolField(func(i api.Image) *bool { return i.EnaSupport }),
	"creation-date":       field(func(i api.Image) *string { return i.CreationDate }),
	"source-instance-id":  field(func(i api.Image) *string { return i.SourceInstanceId }),
	"block-device-mapping.volume-type": func(t tagged[api.Image]) []string {
		var out []string
		for _, b := range t.item.BlockDeviceMappings {
			if b.Ebs != nil {
				out = append(out, str(b.Ebs.VolumeType))
			}
		}
		return out
	},
}

// DescribeImages lists the region's public catalogue and the account's
// own images. Owners narrows them: "amazon", "self", an account ID or an
// alias.
func (s *Service) DescribeImages(ctx context.Context, in *api.DescribeImagesInput) (*api.DescribeImagesOutput, error) {
	sc := scopeOf(ctx)
	if err := s.seed(sc); err != nil {
		return nil, err
	}
	for _, id := range in.ImageIds {
		if !strings.HasPrefix(id, "ami-") {
			return nil, malformed("InvalidAMIID.Malformed", id, "ami")
		}
	}
	var all []tagged[api.Image]
	for _, img := range catalog.Images(sc.region) {
		all = append(all, tagged[api.Image]{id: str(img.ImageId), item: img})
	}
	err := s.st.View(func(tx store.Tx) error {
		own, err := listAll[imageRecord](tx, sc, imageKind.bucket)
		if err != nil {
			return err
		}
		for _, r := range own {
			ts, err := readTags(tx, sc, str(r.ImageId))
			if err != nil {
				return err
			}
			all = append(all, tagged[api.Image]{id: str(r.ImageId), item: r.Image, tags: ts})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(in.Owners) > 0 {
		all = slices.DeleteFunc(all, func(t tagged[api.Image]) bool {
			for _, o := range in.Owners {
				switch {
				case o == "self" && str(t.item.OwnerId) == sc.account,
					o == str(t.item.OwnerId),
					o != "self" && o == str(t.item.ImageOwnerAlias):
					return false
				}
			}
			return true
		})
	}
	pageOf, next, err := narrow(all, in.ImageIds,
		func(missing []string) error {
			return awserr.BadRequest("InvalidAMIID.NotFound", "The image id '[%s]' does not exist", strings.Join(missing, ", "))
		},
		in.Filters, imageFields, in.MaxResults, in.NextToken)
	if err != nil {
		return nil, err
	}
	out := &api.DescribeImagesOutput{Images: []api.Image{}, NextToken: next}
	for _, t := range pageOf {
		img := t.item
		img.Tags = t.tags
		out.Images = append(out.Images, img)
	}
	return out, nil
}

// AMI names are "3 to 128 alphanumeric characters, parentheses (()),
// square brackets ([]), spaces ( ), periods (.), slashes (/), dashes (-),
// single quotes ('), at-signs (@), or underscores(_)" (CreateImage, Name).
func checkImageName(name string) error {
	ok := len(name) >= 3 && len(name) <= 128
	for _, c := range name {
		if !ok {
			break
		}
		ok = c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune("()[] ./-'@_", c)
	}
	if !ok {
		return awserr.BadRequest("InvalidAMIName.Malformed", "AMI names must be between 3 and 128 characters long, and may contain letters, numbers, '(', ')', '[', ']', ' ', '.', '/', '-', ''', '@' and '_'")
	}
	return nil
}

// checkNameFree refuses a name another of the account's images in the
// region has: "AMI name X is already in use by AMI ami-...".
func checkNameFree(tx store.Tx, sc scope, name string) error {
	own, err := listAll[imageRecord](tx, sc, imageKind.bucket)
	if err != nil {
		return err
	}
	for _, r := range own {
		if str(r.Name) == name {
			return awserr.BadRequest("InvalidAMIName.Duplicate", "AMI name %s is already in use by AMI %s", name, str(r.ImageId))
		}
	}
	return nil
}

// loadOwnImage reads one of the account's images. An image of the public
// catalogue is the account's to launch, not to change.
func loadOwnImage(tx store.Tx, sc scope, id string) (imageRecord, error) {
	if !strings.HasPrefix(id, "ami-") {
		return imageRecord{}, malformed("InvalidAMIID.Malformed", id, "ami")
	}
	var r imageRecord
	err := tx.Get(imageKind.bucket, sc.key(id), &r)
	if errors.Is(err, store.ErrNotFound) {
		if _, public := catalog.Image(sc.region, id); public {
			return r, awserr.BadRequest("AuthFailure", "Not authorized for image:%s", id)
		}
		return r, awserr.BadRequest("InvalidAMIID.NotFound", "The image id '[%s]' does not exist", id)
	}
	return r, err
}

// newImage is what every image the account makes starts as: private,
// owned by the account, created now.
func (s *Service) newImage(sc scope, name, description string) api.Image {
	return api.Image{
		ImageId:            ptr(awsid.New("ami")),
		Name:               ptr(name),
		Description:        optional(description),
		OwnerId:            ptr(sc.account),
		ImageLocation:      ptr(sc.account + "/" + name),
		State:              ptr("pending"),
		Public:             ptr(false),
		ImageType:          ptr("machine"),
		PlatformDetails:    ptr("Linux/UNIX"),
		UsageOperation:     ptr("RunInstances"),
		RootDeviceType:     ptr("ebs"),
		VirtualizationType: ptr("hvm"),
		Hypervisor:         ptr("xen"),
		EnaSupport:         ptr(true),
		SriovNetSupport:    ptr("simple"),
		CreationDate:       ptr(s.now().Format(catalog.ImageDateFormat)),
		ProductCodes:       []api.ProductCode{},
	}
}

// putImage stores a new image with the image tags of TagSpecifications
// (the snapshot tags are accepted: snapshots are not kept as resources).
func putImage(tx store.Tx, sc scope, r imageRecord, specs []api.TagSpecification) error {
	tags, err := tagSpecTags(specs, "image", "image", "snapshot")
	if err != nil {
		return err
	}
	if err := ec2TagRules.Validate(toTags(tags), 0, func(msg string) error { return invalidParameterValue("%s", msg) }); err != nil {
		return err
	}
	if err := tx.Put(imageKind.bucket, sc.key(str(r.ImageId)), r); err != nil {
		return err
	}
	return writeTags(tx, sc, str(r.ImageId), tags)
}

// setImageState records the state an image reached, or forgets one whose
// files could not be made.
func (s *Service) setImageState(sc scope, id, dir string, failed bool) error {
	return s.st.Update(func(tx store.Tx) error {
		var r imageRecord
		if err := tx.Get(imageKind.bucket, sc.key(id), &r); err != nil {
			return err
		}
		if failed {
			if err := tx.Delete(bucketTags, sc.key(id)); err != nil {
				return err
			}
			return tx.Delete(imageKind.bucket, sc.key(id))
		}
		r.State, r.Dir = ptr("available"), dir
		return tx.Put(imageKind.bucket, sc.key(id), r)
	})
}

// CreateImage makes an AMI of an instance's root: an instance launched
// from it starts with the instance's files. The image is pending while
// its files are copied and available when CreateImage returns. Unless
// NoReboot, the instance is rebooted afterwards, as AWS reboots it to
// take a consistent image; nephele copies a running instance's files as
// they are, so the reboot comes after the copy rather than around it.
func (s *Service) CreateImage(ctx context.Context, in *api.CreateImageInput) (*api.CreateImageOutput, error) {
	sc := scopeOf(ctx)
	if err := s.seed(sc); err != nil {
		return nil, err
	}
	name, instID := str(in.Name), str(in.InstanceId)
	if err := checkImageName(name); err != nil {
		return nil, err
	}
	if !strings.HasPrefix(instID, "i-") {
		return nil, malformed("InvalidInstanceID.Malformed", instID, "i")
	}
	var img api.Image
	var dataDevices []string
	err := s.st.Update(func(tx store.Tx) error {
		inst, err := loadInstance(tx, sc, instID)
		if err != nil {
			return err
		}
		if st := inst.state(); st != "running" && st != "stopped" && st != "stopping" {
			return awserr.BadRequest("IncorrectInstanceState", "The instance '%s' is not in a state from which it can be imaged.", instID)
		}
		if err := checkNameFree(tx, sc, name); err != nil {
			return err
		}
		img = s.newImage(sc, name, str(in.Description))
		img.Architecture, img.RootDeviceName, img.BootMode = inst.Architecture, inst.RootDeviceName, inst.BootMode
		img.SourceInstanceId = ptr(instID)
		if img.BlockDeviceMappings, err = imageMappings(tx, sc, inst, in.BlockDeviceMappings); err != nil {
			return err
		}
		for _, m := range inst.BlockDeviceMappings {
			if str(m.DeviceName) != str(inst.RootDeviceName) {
				dataDevices = append(dataDevices, str(m.DeviceName))
			}
		}
		return putImage(tx, sc, imageRecord{Image: img}, in.TagSpecifications)
	})
	if err != nil {
		return nil, err
	}
	id := str(img.ImageId)
	dir, err := s.machine.SaveImage(instID, id)
	if err == nil {
		err = s.machine.UnlinkStorage(dir)
	}
	if err != nil {
		s.log().Error("ec2: CreateImage", "instance", instID, "image", id, "err", err)
		if err := s.setImageState(sc, id, "", true); err != nil {
			return nil, err
		}
		return nil, awserr.New(500, "InternalError", "An internal error has occurred")
	}
	if err := s.setImageState(sc, id, dir, false); err != nil {
		return nil, err
	}
	if !boolean(in.NoReboot) {
		err := s.update(sc, instID, func(r *instanceRecord) {
			if r.state() == "running" {
				r.Reboot = true
			}
		})
		if err != nil && !isAPIError(err) {
			return nil, err
		}
		s.ctl.enqueue(sc, instID)
	}
	return &api.CreateImageOutput{ImageId: ptr(id)}, nil
}

// imageMappings are the block device mappings of an image made from an
// instance: each EBS volume of the instance becomes a snapshot of its
// size and type, then the request's mappings change or add devices
// (NoDevice leaves one out).
func imageMappings(tx store.Tx, sc scope, inst instanceRecord, requested []api.BlockDeviceMapping) ([]api.BlockDeviceMapping, error) {
	var out []api.BlockDeviceMapping
	for _, m := range inst.BlockDeviceMappings {
		if m.Ebs == nil {
			continue
		}
		ebs := &api.EbsBlockDevice{
			DeleteOnTermination: ptr(boolean(m.Ebs.DeleteOnTermination)), SnapshotId: ptr(awsid.New("snap")),
			VolumeSize: ptr(int32(8)), VolumeType: ptr("gp2"), Encrypted: ptr(false),
		}
		v, err := loadVolume(tx, sc, str(m.Ebs.VolumeId))
		switch {
		case err == nil:
			ebs.VolumeSize, ebs.VolumeType, ebs.Encrypted = v.Size, v.VolumeType, v.Encrypted
			if str(v.VolumeType) != "gp2" {
				ebs.Iops, ebs.Throughput = v.Iops, v.Throughput
			}
		case !isAPIError(err):
			return nil, err
		}
		out = append(out, api.BlockDeviceMapping{DeviceName: m.DeviceName, Ebs: ebs})
	}
	for _, req := range requested {
		i := slices.IndexFunc(out, func(m api.BlockDeviceMapping) bool { return str(m.DeviceName) == str(req.DeviceName) })
		switch {
		case req.NoDevice != nil && i >= 0:
			out = slices.Delete(out, i, i+1)
		case req.NoDevice != nil:
		case i >= 0 && req.Ebs != nil:
			ebs := out[i].Ebs
			if req.Ebs.VolumeSize != nil {
				if *req.Ebs.VolumeSize < deref(ebs.VolumeSize) {
					return nil, invalidParameterValue("Volume of %dGiB is too small; minimum is %dGiB.", *req.Ebs.VolumeSize, deref(ebs.VolumeSize))
				}
				ebs.VolumeSize = req.Ebs.VolumeSize
			}
			if req.Ebs.VolumeType != nil {
				ebs.VolumeType = req.Ebs.VolumeType
			}
			if req.Ebs.DeleteOnTermination != nil {
				ebs.DeleteOnTermination = req.Ebs.DeleteOnTermination
			}
		default:
			out = append(out, req)
		}
	}
	return out, nil
}

// RegisterImage registers an AMI from its description alone. It has no
// files: instances launched from it start with an empty root.
func (s *Service) RegisterImage(ctx context.Context, in *api.RegisterImageInput) (*api.RegisterImageOutput, error) {
	sc := scopeOf(ctx)
	if err := s.seed(sc); err != nil {
		return nil, err
	}
	name := str(in.Name)
	if err := checkImageName(name); err != nil {
		return nil, err
	}
	img := s.newImage(sc, name, str(in.Description))
	img.State = ptr("available")
	img.Architecture = ptr("x86_64")
	if in.Architecture != nil {
		img.Architecture = in.Architecture
	}
	img.RootDeviceName = ptr("/dev/xvda")
	if in.RootDeviceName != nil {
		img.RootDeviceName = in.RootDeviceName
	}
	if in.ImageLocation != nil {
		img.ImageLocation, img.RootDeviceType = in.ImageLocation, ptr("instance-store")
	}
	if in.VirtualizationType != nil {
		img.VirtualizationType = in.VirtualizationType
	}
	if in.EnaSupport != nil {
		img.EnaSupport = in.EnaSupport
	}
	if in.SriovNetSupport != nil {
		img.SriovNetSupport = in.SriovNetSupport
	}
	img.BootMode, img.ImdsSupport, img.TpmSupport = in.BootMode, in.ImdsSupport, in.TpmSupport
	img.KernelId, img.RamdiskId = in.KernelId, in.RamdiskId
	for _, m := range in.BlockDeviceMappings {
		if m.Ebs != nil {
			ebs := *m.Ebs
			if ebs.SnapshotId == nil {
				ebs.SnapshotId = ptr(awsid.New("snap"))
			}
			if ebs.VolumeSize == nil {
				ebs.VolumeSize = ptr(int32(8))
			}
			if ebs.VolumeType == nil {
				ebs.VolumeType = ptr("gp2")
			}
			if ebs.DeleteOnTermination == nil {
				ebs.DeleteOnTermination = ptr(true)
			}
			if ebs.Encrypted == nil {
				ebs.Encrypted = ptr(false)
			}
			m.Ebs = &ebs
		}
		img.BlockDeviceMappings = append(img.BlockDeviceMappings, m)
	}
	err := s.st.Update(func(tx store.Tx) error {
		if err := checkNameFree(tx, sc, name); err != nil {
			return err
		}
		return putImage(tx, sc, imageRecord{Image: img}, in.TagSpecifications)
	})
	if err != nil {
		return nil, err
	}
	return &api.RegisterImageOutput{ImageId: img.ImageId}, nil
}

// CopyImage copies an AMI, of this region or of SourceRegion, into this
// region: the copy has the source's description and devices (new
// snapshots), and its files when it was made from an instance.
func (s *Service) CopyImage(ctx context.Context, in *api.CopyImageInput) (*api.CopyImageOutput, error) {
	sc := scopeOf(ctx)
	if err := s.seed(sc); err != nil {
		return nil, err
	}
	name, srcID := str(in.Name), str(in.SourceImageId)
	if err := checkImageName(name); err != nil {
		return nil, err
	}
	if !catalog.IsRegion(str(in.SourceRegion)) {
		return nil, invalidParameterValue("Invalid region: %s", str(in.SourceRegion))
	}
	src := scope{account: sc.account, region: str(in.SourceRegion)}
	var img api.Image
	var srcDir string
	err := s.st.Update(func(tx store.Tx) error {
		var source api.Image
		var srcTags []api.Tag
		r, err := loadOwnImage(tx, src, srcID)
		switch {
		case err == nil:
			if str(r.State) != "available" {
				return awserr.BadRequest("InvalidAMIID.Unavailable", "Image %s is not available: its state is %s", srcID, str(r.State))
			}
			source, srcDir = r.Image, r.Dir
			if srcTags, err = readTags(tx, src, srcID); err != nil {
				return err
			}
		case errCodeOf(err) == "AuthFailure":
			source, _ = catalog.Image(src.region, srcID) // public images may be copied
		default:
			return err
		}
		if err := checkNameFree(tx, sc, name); err != nil {
			return err
		}
		description := str(in.Description)
		if in.Description == nil {
			description = str(source.Description)
		}
		img = s.newImage(sc, name, description)
		img.Architecture, img.RootDeviceName, img.RootDeviceType = source.Architecture, source.RootDeviceName, source.RootDeviceType
		img.BootMode, img.ImdsSupport, img.TpmSupport, img.EnaSupport = source.BootMode, source.ImdsSupport, source.TpmSupport, source.EnaSupport
		img.VirtualizationType, img.SriovNetSupport = source.VirtualizationType, source.SriovNetSupport
		img.SourceImageId, img.SourceImageRegion = ptr(srcID), ptr(src.region)
		for _, m := range source.BlockDeviceMappings {
			if m.Ebs != nil {
				ebs := *m.Ebs
				ebs.SnapshotId = ptr(awsid.New("snap"))
				if boolean(in.Encrypted) {
					ebs.Encrypted = ptr(true)
				}
				m.Ebs = &ebs
			}
			img.BlockDeviceMappings = append(img.BlockDeviceMappings, m)
		}
		if srcDir == "" {
			img.State = ptr("available")
		}
		specs := in.TagSpecifications
		if boolean(in.CopyImageTags) && len(srcTags) > 0 {
			specs = append([]api.TagSpecification{{ResourceType: ptr("image"), Tags: srcTags}}, specs...)
		}
		return putImage(tx, sc, imageRecord{Image: img}, specs)
	})
	if err != nil {
		return nil, err
	}
	if srcDir != "" {
		id := str(img.ImageId)
		dir, err := s.machine.CopyImage(srcDir, id)
		if err != nil {
			s.log().Error("ec2: CopyImage", "source", srcID, "image", id, "err", err)
			if err := s.setImageState(sc, id, "", true); err != nil {
				return nil, err
			}
			return nil, awserr.New(500, "InternalError", "An internal error has occurred")
		}
		if err := s.setImageState(sc, id, dir, false); err != nil {
			return nil, err
		}
	}
	return &api.CopyImageOutput{ImageId: img.ImageId}, nil
}

// errCodeOf is the AWS error code of err, "" for none.
func errCodeOf(err error) string {
	var e *awserr.Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

// DeregisterImage deregisters one of the account's images and removes
// its files; instances already launched from it keep theirs.
func (s *Service) DeregisterImage(ctx context.Context, in *api.DeregisterImageInput) (*api.DeregisterImageOutput, error) {
	sc := scopeOf(ctx)
	if err := s.seed(sc); err != nil {
		return nil, err
	}
	id := str(in.ImageId)
	var snapshots []string
	err := s.st.Update(func(tx store.Tx) error {
		r, err := loadOwnImage(tx, sc, id)
		if err != nil {
			return err
		}
		if str(r.State) == "pending" {
			return awserr.BadRequest("InvalidAMIID.Unavailable", "Image %s is not available: its state is pending", id)
		}
		if str(r.DeregistrationProtection) != "" && str(r.DeregistrationProtection) != "disabled" {
			return awserr.BadRequest("OperationNotPermitted", "Image %s has deregistration protection enabled.", id)
		}
		for _, m := range r.BlockDeviceMappings {
			if m.Ebs != nil && m.Ebs.SnapshotId != nil {
				snapshots = append(snapshots, str(m.Ebs.SnapshotId))
			}
		}
		if err := tx.Delete(bucketTags, sc.key(id)); err != nil {
			return err
		}
		return tx.Delete(imageKind.bucket, sc.key(id))
	})
	if err != nil {
		return nil, err
	}
	if err := s.machine.RemoveImage(id); err != nil {
		s.log().Error("ec2: removing image files", "image", id, "err", err)
	}
	out := &api.DeregisterImageOutput{Return: ptr(true)}
	if boolean(in.DeleteAssociatedSnapshots) {
		for _, snap := range snapshots {
			out.DeleteSnapshotResults = append(out.DeleteSnapshotResults, api.DeleteSnapshotReturnCode{SnapshotId: ptr(snap), ReturnCode: ptr("success")})
		}
	}
	return out, nil
}

// attr wraps an optional string as an AttributeValue; absent is an empty
// one, as EC2 answers for an attribute not set.
func attr(p *string) *api.AttributeValue {
	if p == nil {
		return &api.AttributeValue{}
	}
	return &api.AttributeValue{Value: p}
}

// launchPermissions is an image's launchPermission attribute: the group
// "all" for a public image, then the accounts granted.
func (r imageRecord) launchPermissions() []api.LaunchPermission {
	out := []api.LaunchPermission{}
	if boolean(r.Public) {
		out = append(out, api.LaunchPermission{Group: ptr("all")})
	}
	return append(out, r.LaunchPermissions...)
}

// DescribeImageAttribute returns one attribute of an image: of the
// account's own, or of a public one (whose launch permissions are not
// the account's to see).
func (s *Service) DescribeImageAttribute(ctx context.Context, in *api.DescribeImageAttributeInput) (*api.DescribeImageAttributeOutput, error) {
	sc := scopeOf(ctx)
	if err := s.seed(sc); err != nil {
		return nil, err
	}
	id, attribute := str(in.ImageId), str(in.Attribute)
	var r imageRecord
	err := s.st.View(func(tx store.Tx) error {
		var err error
		r, err = loadOwnImage(tx, sc, id)
		if errCodeOf(err) == "AuthFailure" && attribute != "launchPermission" {
			r.Image, _ = catalog.Image(sc.region, id)
			return nil
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	out := &api.DescribeImageAttributeOutput{ImageId: ptr(id)}
	switch attribute {
	case "description":
		out.Description = attr(r.Description)
	case "kernel":
		out.KernelId = attr(r.KernelId)
	case "ramdisk":
		out.RamdiskId = attr(r.RamdiskId)
	case "launchPermission":
		out.LaunchPermissions = r.launchPermissions()
	case "productCodes":
		out.ProductCodes = nonNil(r.ProductCodes)
	case "blockDeviceMapping":
		out.BlockDeviceMappings = nonNil(r.BlockDeviceMappings)
	case "sriovNetSupport":
		out.SriovNetSupport = attr(r.SriovNetSupport)
	case "bootMode":
		out.BootMode = attr(r.BootMode)
	case "tpmSupport":
		out.TpmSupport = attr(r.TpmSupport)
	case "uefiData":
		out.UefiData = &api.AttributeValue{}
	case "lastLaunchedTime":
		out.LastLaunchedTime = attr(r.LastLaunchedTime)
	case "imdsSupport":
		out.ImdsSupport = attr(r.ImdsSupport)
	case "deregistrationProtection":
		p := r.DeregistrationProtection
		if p == nil {
			p = ptr("disabled")
		}
		out.DeregistrationProtection = attr(p)
	default:
		return nil, invalidParameterValue("Value (%s) for parameter attribute is invalid. Unknown attribute.", attribute)
	}
	return out, nil
}

// ModifyImageAttribute changes an attribute of one of the account's
// images: its description, its launch permissions (the group "all" makes
// it public), or its IMDS support (v2.0, which cannot be undone).
func (s *Service) ModifyImageAttribute(ctx context.Context, in *api.ModifyImageAttributeInput) (*api.ModifyImageAttributeOutput, error) {
	sc := scopeOf(ctx)
	if err := s.seed(sc); err != nil {
		return nil, err
	}
	id, attribute := str(in.ImageId), str(in.Attribute)
	if attribute == "" {
		switch {
		case in.Description != nil:
			attribute = "description"
		case in.LaunchPermission != nil, len(in.UserIds) > 0, len(in.UserGroups) > 0:
			attribute = "launchPermission"
		case in.ImdsSupport != nil:
			attribute = "imdsSupport"
		case len(in.ProductCodes) > 0:
			attribute = "productCodes"
		default:
			return nil, missingParameter("The request must contain the parameter attribute")
		}
	}
	err := s.st.Update(func(tx store.Tx) error {
		r, err := loadOwnImage(tx, sc, id)
		if err != nil {
			return err
		}
		switch attribute {
		case "description":
			v := in.Value
			if in.Description != nil {
				v = in.Description.Value
			}
			r.Description = ptr(str(v))
		case "launchPermission":
			if err := modifyLaunchPermissions(&r, in); err != nil {
				return err
			}
		case "imdsSupport":
			v := in.Value
			if in.ImdsSupport != nil {
				v = in.ImdsSupport.Value
			}
			if str(v) != "v2.0" {
				return invalidParameterValue("Value (%s) for parameter imdsSupport is invalid. Valid value is 'v2.0'.", str(v))
			}
			r.ImdsSupport = ptr("v2.0")
		case "productCodes":
			return awserr.BadRequest("InvalidParameter", "Product codes cannot be attached to an AMI the account made; they are for AWS Marketplace sellers.")
		default:
			return invalidParameterValue("The attribute '%s' cannot be modified.", attribute)
		}
		return tx.Put(imageKind.bucket, sc.key(id), r)
	})
	if err != nil {
		return nil, err
	}
	return &api.ModifyImageAttributeOutput{}, nil
}

// modifyLaunchPermissions applies a launch permission change, given as
// LaunchPermission's Add and Remove, or as OperationType with UserIds
// and UserGroups.
func modifyLaunchPermissions(r *imageRecord, in *api.ModifyImageAttributeInput) error {
	var add, remove []api.LaunchPermission
	if lp := in.LaunchPermission; lp != nil {
		add, remove = lp.Add, lp.Remove
	}
	var given []api.LaunchPermission
	for _, u := range in.UserIds {
		given = append(given, api.LaunchPermission{UserId: ptr(u)})
	}
	for _, g := range in.UserGroups {
		given = append(given, api.LaunchPermission{Group: ptr(g)})
	}
	if len(given) > 0 {
		switch str(in.OperationType) {
		case "add":
			add = append(add, given...)
		case "remove":
			remove = append(remove, given...)
		default:
			return missingParameter("The request must contain the parameter operationType")
		}
	}
	for _, p := range append(slices.Clone(add), remove...) {
		if g := p.Group; g != nil && *g != "all" {
			return invalidParameterValue("Value (%s) for parameter group is invalid. Only 'all' is supported.", *g)
		}
		if u := str(p.UserId); p.UserId != nil && (len(u) != 12 || strings.Trim(u, "0123456789") != "") {
			return invalidParameterValue("Value (%s) for parameter userId is invalid. Expected a 12-digit AWS account ID.", u)
		}
	}
	same := func(a, b api.LaunchPermission) bool {
		return str(a.UserId) == str(b.UserId) && str(a.OrganizationArn) == str(b.OrganizationArn) && str(a.OrganizationalUnitArn) == str(b.OrganizationalUnitArn)
	}
	for _, p := range add {
		if p.Group != nil {
			r.Public = ptr(true)
			continue
		}
		if !slices.ContainsFunc(r.LaunchPermissions, func(q api.LaunchPermission) bool { return same(p, q) }) {
			r.LaunchPermissions = append(r.LaunchPermissions, p)
		}
	}
	for _, p := range remove {
		if p.Group != nil {
			r.Public = ptr(false)
			continue
		}
		r.LaunchPermissions = slices.DeleteFunc(r.LaunchPermissions, func(q api.LaunchPermission) bool { return same(p, q) })
	}
	return nil
}
