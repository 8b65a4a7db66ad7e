package catalog_test

import (
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	api "github.com/nephele-dev/nephele/internal/api/ec2"
	"github.com/nephele-dev/nephele/internal/ec2/catalog"
	"github.com/nephele-dev/nephele/internal/filter"
)

var (
	amiID      = regexp.MustCompile(`^ami-0[0-9a-f]{16}$`)
	snapID     = regexp.MustCompile(`^snap-0[0-9a-f]{16}$`)
	imageStamp = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.000Z$`)
)

func TestImageIDs(t *testing.T) {
	byName := map[string]map[string]string{} // name → region → ID
	for _, region := range catalog.RegionNames() {
		images := catalog.Images(region)
		if len(images) < 50 {
			t.Fatalf("%s: %d images", region, len(images))
		}
		ids := map[string]bool{}
		for _, im := range images {
			id := *im.ImageId
			if !amiID.MatchString(id) {
				t.Fatalf("%s: image ID %s", region, id)
			}
			if ids[id] {
				t.Fatalf("%s: image ID %s twice", region, id)
			}
			ids[id] = true
			if byName[*im.Name] == nil {
				byName[*im.Name] = map[string]string{}
			}
			byName[*im.Name][region] = id
			got, ok := catalog.Image(region, id)
			if !ok || *got.Name != *im.Name {
				t.Fatalf("%s: Image(%s) = %v", region, id, ok)
			}
		}
	}
	for name, perRegion := range byName {
		seen := map[string]string{}
		for region, id := range perRegion {
			if other, dup := seen[id]; dup {
				t.Fatalf("%s has ID %s in %s and %s", name, id, region, other)
			}
			seen[id] = region
		}
	}
	t.Run("stable_across_calls", func(t *testing.T) {
		a, b := catalog.Images("us-east-1"), catalog.Images("us-east-1")
		for i := range a {
			if *a[i].ImageId != *b[i].ImageId || *a[i].BlockDeviceMappings[0].Ebs.SnapshotId != *b[i].BlockDeviceMappings[0].Ebs.SnapshotId {
				t.Fatalf("%s changed ID between calls", *a[i].Name)
			}
		}
	})
	t.Run("an_ID_is_unknown_in_other_regions", func(t *testing.T) {
		id := *catalog.Images("us-east-1")[0].ImageId
		if _, ok := catalog.Image("eu-west-1", id); ok {
			t.Fatal("us-east-1's image found in eu-west-1")
		}
		if _, ok := catalog.Image("us-east-1", "ami-00000000000000000"); ok {
			t.Fatal("made-up ID found")
		}
		if catalog.Images("mars-1") != nil {
			t.Fatal("images in an unknown region")
		}
	})
}

// mostRecent applies the filters of a Terraform data "aws_ami" block the
// way EC2 and the provider do: owner, then name with EC2's wildcards, then
// the newest CreationDate.
func mostRecent(images []api.Image, owner, name, arch string) (newest api.Image, matches int) {
	for _, im := range images {
		if owner != *im.OwnerId && owner != *im.ImageOwnerAlias {
			continue
		}
		if !filter.Match(name, *im.Name) || (arch != "" && *im.Architecture != arch) {
			continue
		}
		matches++
		if newest.CreationDate == nil || *im.CreationDate > *newest.CreationDate {
			newest = im
		}
	}
	return newest, matches
}

// TestTerraformFilters runs the name filters of common data "aws_ami"
// blocks and AWS CLI examples against the catalogue: each must match
// several releases, and most_recent must pick the newest.
func TestTerraformFilters(t *testing.T) {
	tests := []struct {
		owner, name, arch string
		want              string // the newest match, or a prefix of it ending in '*'
	}{
		{"amazon", "al2023-ami-2023.*-x86_64", "", "al2023-ami-2023.11.20260427.1-kernel-*"},
		{"137112412989", "al2023-ami-2023.*-kernel-6.1-x86_64", "", "al2023-ami-2023.11.20260427.1-kernel-6.1-x86_64"},
		{"amazon", "al2023-ami-2023.*-arm64", "arm64", "al2023-ami-2023.11.20260427.1-kernel-*"},
		{"amazon", "al2023-ami-minimal-*-x86_64", "", "al2023-ami-minimal-2023.11.20260427.1-kernel-*"},
		{"amazon", "al2023-ami-*", "x86_64", "al2023-ami-*2023.11.20260427.1-kernel-*"},
		{"amazon", "amzn2-ami-hvm-*-x86_64-gp2", "", "amzn2-ami-hvm-2.0.20260427.1-x86_64-gp2"},
		{"amazon", "amzn2-ami-hvm-*-arm64-gp2", "", "amzn2-ami-hvm-2.0.20260427.1-arm64-gp2"},
		{"amazon", "amzn2-ami-kernel-5.10-hvm-*-x86_64-gp2", "", "amzn2-ami-kernel-5.10-hvm-2.0.20260427.1-x86_64-gp2"},
		{"amazon", "amzn2-ami-*-hvm-*-x86_64-gp2", "", "amzn2-ami-kernel-5.10-hvm-2.0.20260427.1-x86_64-gp2"},
		{"099720109477", "ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-amd64-server-*", "", "ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-amd64-server-20250610"},
		{"099720109477", "ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-arm64-server-*", "", "ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-arm64-server-20250610"},
		{"099720109477", "ubuntu/images/hvm-ssd/ubuntu-jammy-22.04-amd64-server-*", "", "ubuntu/images/hvm-ssd/ubuntu-jammy-22.04-amd64-server-20250415"},
		{"099720109477", "ubuntu/images/*/ubuntu-noble-24.04-*-server-*", "arm64", "ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-arm64-server-20250610"},
		{"amazon", "ubuntu/images/hvm-ssd/ubuntu-jammy-22.04-amd64-server-2024*", "", "ubuntu/images/hvm-ssd/ubuntu-jammy-22.04-amd64-server-20241120"},
		{"136693071363", "debian-12-amd64-*", "", "debian-12-amd64-20250416-2084"},
		{"amazon", "debian-12-arm64-*", "", "debian-12-arm64-20250416-2084"},
	}
	images := catalog.Images("us-west-2")
	for _, tt := range tests {
		t.Run(tt.owner+"/"+tt.name+"/"+tt.arch, func(t *testing.T) {
			newest, n := mostRecent(images, tt.owner, tt.name, tt.arch)
			if n < 2 {
				t.Fatalf("%d matches; most_recent needs several releases", n)
			}
			if !filter.Match(tt.want, *newest.Name) {
				t.Fatalf("most recent is %s, want %s", *newest.Name, tt.want)
			}
			if tt.arch != "" && *newest.Architecture != tt.arch {
				t.Fatalf("most recent runs %s", *newest.Architecture)
			}
		})
	}
	t.Run("owner_filters_do_not_cross_distributions", func(t *testing.T) {
		if _, n := mostRecent(images, catalog.OwnerCanonical, "al2023-ami-*", ""); n != 0 {
			t.Fatalf("Canonical owns %d Amazon Linux images", n)
		}
		if _, n := mostRecent(images, catalog.OwnerAmazon, "ubuntu/*", ""); n != 0 {
			t.Fatalf("Amazon owns %d Ubuntu images", n)
		}
	})
}

func TestImageFields(t *testing.T) {
	tests := []struct {
		name, owner, arch, root, volumeType, bootMode, desc string
		volumeSize                                          int32
		mappings                                            int
	}{
		{"al2023-ami-2023.6.20241111.0-kernel-6.1-x86_64", catalog.OwnerAmazon, "x86_64", "/dev/xvda", "gp3", "uefi-preferred",
			"Amazon Linux 2023 AMI 2023.6.20241111.0 x86_64 HVM kernel-6.1", 8, 1},
		{"al2023-ami-minimal-2023.6.20241111.0-kernel-6.1-arm64", catalog.OwnerAmazon, "arm64", "/dev/xvda", "gp3", "uefi",
			"Amazon Linux 2023 AMI 2023.6.20241111.0 arm64 Minimal HVM kernel-6.1", 2, 1},
		{"amzn2-ami-kernel-5.10-hvm-2.0.20241113.1-x86_64-gp2", catalog.OwnerAmazon, "x86_64", "/dev/xvda", "gp2", "",
			"Amazon Linux 2 Kernel 5.10 AMI 2.0.20241113.1 x86_64 HVM gp2", 8, 1},
		{"ubuntu/images/hvm-ssd/ubuntu-jammy-22.04-amd64-server-20241002", catalog.OwnerCanonical, "x86_64", "/dev/sda1", "gp2", "uefi-preferred",
			"Canonical, Ubuntu, 22.04 LTS, amd64 jammy image build on 2024-10-02", 8, 3},
		{"ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-arm64-server-20241004", catalog.OwnerCanonical, "arm64", "/dev/sda1", "gp3", "uefi",
			"Canonical, Ubuntu, 24.04, arm64 noble image", 8, 3},
		{"debian-12-amd64-20241004-1890", catalog.OwnerDebian, "x86_64", "/dev/xvda", "gp3", "",
			"Debian 12 (20241004-1890)", 8, 1},
	}
	byName := map[string]api.Image{}
	for _, im := range catalog.Images("eu-central-1") {
		byName[*im.Name] = im
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			im, ok := byName[tt.name]
			if !ok {
				t.Fatal("not in the catalogue")
			}
			if *im.OwnerId != tt.owner || *im.ImageOwnerAlias != "amazon" || *im.ImageLocation != "amazon/"+tt.name || *im.Description != tt.desc {
				t.Errorf("owner %s alias %s location %s description %q", *im.OwnerId, *im.ImageOwnerAlias, *im.ImageLocation, *im.Description)
			}
			if *im.Architecture != tt.arch || *im.RootDeviceName != tt.root || *im.RootDeviceType != "ebs" {
				t.Errorf("arch %s root %s (%s)", *im.Architecture, *im.RootDeviceName, *im.RootDeviceType)
			}
			if got := deref(im.BootMode); got != tt.bootMode {
				t.Errorf("boot mode %q, want %q", got, tt.bootMode)
			}
			if *im.State != "available" || !*im.Public || *im.ImageType != "machine" || *im.PlatformDetails != "Linux/UNIX" ||
				*im.UsageOperation != "RunInstances" || *im.VirtualizationType != "hvm" || *im.Hypervisor != "xen" ||
				!*im.EnaSupport || *im.SriovNetSupport != "simple" {
				t.Error("common fields wrong")
			}
			if len(im.BlockDeviceMappings) != tt.mappings {
				t.Fatalf("%d block device mappings", len(im.BlockDeviceMappings))
			}
			root := im.BlockDeviceMappings[0]
			if *root.DeviceName != tt.root || *root.Ebs.VolumeType != tt.volumeType || *root.Ebs.VolumeSize != tt.volumeSize ||
				!snapID.MatchString(*root.Ebs.SnapshotId) || !*root.Ebs.DeleteOnTermination || *root.Ebs.Encrypted {
				t.Errorf("root mapping %s %s %d GiB %s", *root.DeviceName, *root.Ebs.VolumeType, *root.Ebs.VolumeSize, *root.Ebs.SnapshotId)
			}
			if (tt.volumeType == "gp3") != (root.Ebs.Iops != nil && *root.Ebs.Iops == 3000 && *root.Ebs.Throughput == 125) {
				t.Error("gp3 baseline IOPS and throughput")
			}
			if tt.mappings == 3 && (*im.BlockDeviceMappings[1].VirtualName != "ephemeral0" || *im.BlockDeviceMappings[2].DeviceName != "/dev/sdc") {
				t.Error("ephemeral mappings")
			}
			created, err := time.Parse(catalog.ImageDateFormat, *im.CreationDate)
			if err != nil || !imageStamp.MatchString(*im.CreationDate) {
				t.Fatalf("creation date %q", *im.CreationDate)
			}
			deprecated, err := time.Parse(catalog.ImageDateFormat, *im.DeprecationTime)
			if err != nil || !deprecated.Equal(created.AddDate(2, 0, 0)) {
				t.Errorf("deprecation %s for creation %s", *im.DeprecationTime, *im.CreationDate)
			}
		})
	}
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// TestImagesWellFormed checks every image: names say the architecture the
// image runs, and dates are in EC2's format.
func TestImagesWellFormed(t *testing.T) {
	images := catalog.Images("ap-south-1")
	if !slices.IsSortedFunc(images, func(a, b api.Image) int { return strings.Compare(*a.Name, *b.Name) }) {
		t.Fatal("not sorted by name")
	}
	for _, im := range images {
		name := *im.Name
		arm := strings.Contains(name, "arm64")
		if arm != (*im.Architecture == "arm64") || (!arm && *im.Architecture != "x86_64") {
			t.Errorf("%s runs %s", name, *im.Architecture)
		}
		if !imageStamp.MatchString(*im.CreationDate) || !imageStamp.MatchString(*im.DeprecationTime) {
			t.Errorf("%s: dates %s, %s", name, *im.CreationDate, *im.DeprecationTime)
		}
		micro := "t3.micro"
		if arm {
			micro = "t4g.micro"
		}
		if !slices.Contains(catalog.Architectures(micro), *im.Architecture) {
			t.Errorf("%s: %s cannot run it", name, micro)
		}
	}
	// Returned images are copies.
	*images[0].Name = "changed"
	if *catalog.Images("ap-south-1")[0].Name == "changed" {
		t.Fatal("a caller's change reached the catalogue")
	}
}

func TestPublicParameters(t *testing.T) {
	tests := []struct {
		param, want string
	}{
		{"/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64", "al2023-ami-2023.11.20260427.1-kernel-6.1-x86_64"},
		{"/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-arm64", "al2023-ami-2023.11.20260427.1-kernel-6.1-arm64"},
		{"/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-6.12-x86_64", "al2023-ami-2023.11.20260427.1-kernel-6.12-x86_64"},
		{"/aws/service/ami-amazon-linux-latest/al2023-ami-minimal-kernel-default-x86_64", "al2023-ami-minimal-2023.11.20260427.1-kernel-6.1-x86_64"},
		{"/aws/service/ami-amazon-linux-latest/amzn2-ami-hvm-x86_64-gp2", "amzn2-ami-hvm-2.0.20260427.1-x86_64-gp2"},
		{"/aws/service/ami-amazon-linux-latest/amzn2-ami-kernel-5.10-hvm-arm64-gp2", "amzn2-ami-kernel-5.10-hvm-2.0.20260427.1-arm64-gp2"},
		{"/aws/service/canonical/ubuntu/server/24.04/stable/current/amd64/hvm/ebs-gp3/ami-id", "ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-amd64-server-20250610"},
		{"/aws/service/canonical/ubuntu/server/noble/stable/current/arm64/hvm/ebs-gp3/ami-id", "ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-arm64-server-20250610"},
		{"/aws/service/canonical/ubuntu/server/22.04/stable/current/amd64/hvm/ebs-gp2/ami-id", "ubuntu/images/hvm-ssd/ubuntu-jammy-22.04-amd64-server-20250415"},
		{"/aws/service/debian/release/12/latest/amd64", "debian-12-amd64-20250416-2084"},
		{"/aws/service/debian/release/bookworm/latest/arm64", "debian-12-arm64-20250416-2084"},
	}
	for _, tt := range tests {
		t.Run(tt.param, func(t *testing.T) {
			id, ok := catalog.ParameterImageID("us-east-2", tt.param)
			if !ok {
				t.Fatal("not found")
			}
			im, ok := catalog.Image("us-east-2", id)
			if !ok || *im.Name != tt.want {
				t.Fatalf("%s is %v, want %s", id, im.Name, tt.want)
			}
			resolved, ok := catalog.ResolveImageID("us-east-2", "resolve:ssm:"+tt.param)
			if !ok || resolved != id {
				t.Fatalf("ResolveImageID = %s, %v", resolved, ok)
			}
			other, _ := catalog.ParameterImageID("eu-west-1", tt.param)
			if other == id {
				t.Fatal("same ID in two regions")
			}
		})
	}
	t.Run("every_listed_parameter_resolves", func(t *testing.T) {
		names := catalog.PublicParameters()
		if !slices.IsSorted(names) || len(names) < len(tests) {
			t.Fatalf("%d parameters", len(names))
		}
		for _, name := range names {
			if _, ok := catalog.ParameterImageID("sa-east-1", name); !ok {
				t.Errorf("%s does not resolve", name)
			}
		}
	})
	t.Run("other_ids_pass_through_and_unknown_references_fail", func(t *testing.T) {
		if id, ok := catalog.ResolveImageID("us-east-1", "ami-0123456789abcdef0"); !ok || id != "ami-0123456789abcdef0" {
			t.Errorf("plain ID: %s, %v", id, ok)
		}
		for _, ref := range []string{
			"resolve:ssm:/aws/service/ami-amazon-linux-latest/nope",
			"resolve:ssm:/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64:3",
			"resolve:ssm:",
		} {
			if id, ok := catalog.ResolveImageID("us-east-1", ref); ok {
				t.Errorf("%s resolved to %s", ref, id)
			}
		}
		if _, ok := catalog.ParameterImageID("mars-1", "/aws/service/debian/release/12/latest/amd64"); ok {
			t.Error("resolved in an unknown region")
		}
	})
}
