package ec2

import (
	"context"
	"errors"
	"slices"
	"strings"

	api "github.com/nephele-dev/nephele/internal/api/ec2"
	"github.com/nephele-dev/nephele/internal/awserr"
	"github.com/nephele-dev/nephele/internal/ec2/catalog"
	"github.com/nephele-dev/nephele/internal/filter"
	"github.com/nephele-dev/nephele/internal/page"
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
	if len(in.ImageIds) > 0 {
		var missing []string
		for _, id := range in.ImageIds {
			if !slices.ContainsFunc(all, func(t tagged[api.Image]) bool { return t.id == id }) {
				missing = append(missing, id)
			}
		}
		if len(missing) > 0 {
			return nil, awserr.BadRequest("InvalidAMIID.NotFound", "The image id '[%s]' does not exist", strings.Join(missing, ", "))
		}
		all = slices.DeleteFunc(all, func(t tagged[api.Image]) bool { return !slices.Contains(in.ImageIds, t.id) })
	}
	matched, err := filter.Apply(all, toFilters(in.Filters), imageFields, func(t tagged[api.Image]) map[string]string { return tagMap(t.tags) })
	if err != nil {
		return nil, err
	}
	if in.MaxResults != nil && (*in.MaxResults < 5 || *in.MaxResults > 1000) {
		return nil, invalidParameterValue("Value ( %d ) for parameter maxResults is invalid. Expecting a value between 5 and 1000.", *in.MaxResults)
	}
	pageOf, next, err := page.ByKey(matched, func(t tagged[api.Image]) string { return t.id }, str(in.NextToken), int(deref(in.MaxResults)), 0, 1000)
	if err != nil {
		return nil, pageError(err, str(in.NextToken), 1000)
	}
	out := &api.DescribeImagesOutput{Images: []api.Image{}, NextToken: optional(next)}
	for _, t := range pageOf {
		img := t.item
		img.Tags = t.tags
		out.Images = append(out.Images, img)
	}
	return out, nil
}
