package catalog

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	api "github.com/nephele-dev/nephele/internal/api/ec2"
)

// Owners of the public images in the catalogue.
const (
	OwnerAmazon    = "137112412989" // Amazon Linux
	OwnerCanonical = "099720109477" // Ubuntu
	OwnerDebian    = "136693071363" // Debian
)

// ImageDateFormat is how EC2 writes an image's CreationDate and
// DeprecationTime: RFC 3339 in UTC with milliseconds.
const ImageDateFormat = "2006-01-02T15:04:05.000Z"

// deprecationYears is how long after creation a public image is
// deprecated: two years, AWS's default for public AMIs (Amazon EC2 User Guide, "Deprecate an
// AMI"), which Canonical's and Debian's images carry. Amazon Linux sets a
// shorter one in AWS; the catalogue keeps two years for all so that, as the
// real clock passes the release dates written here, DescribeImages (which
// hides other owners' deprecated images unless IncludeDeprecated is set)
// still finds each series' newer releases for a while.
const deprecationYears = 2

// image is one public image, the same in every Region but for its IDs.
type image struct {
	name        string
	description string
	owner       string
	arch        string // x86_64 | arm64
	created     time.Time
	rootDevice  string
	volumeSize  int32
	volumeType  string
	bootMode    string // "" when the image does not set one (legacy-bios)
	imds        string // ImdsSupport: "v2.0" or ""
	ephemeral   bool   // maps ephemeral0/1 to /dev/sdb and /dev/sdc, as Canonical's do
	// series names the line of releases the image belongs to, so the SSM
	// parameters for "the latest X" can pick the newest of it.
	series string
}

// The releases in the catalogue: a handful per distribution, spread over
// 2024–2026, so that most_recent lookups have something to choose from.
// Names, descriptions, devices, volumes and boot modes follow what
// DescribeImages shows for each distribution. Some releases were seen in
// AWS output (Amazon Linux 2.0.20250321.0 and the 2026 ones of moto's
// latest_amis snapshot, jammy 20240701, noble 20250610, Debian
// 20240717-1811 and 20241201-1948); the others follow the same patterns
// with plausible dates. Times within the release day are made up.
var (
	al2023Releases = []struct {
		version string
		kernels []string
	}{
		{"2023.6.20241010.0", []string{"6.1"}},
		{"2023.6.20241111.0", []string{"6.1"}},
		{"2023.6.20241212.0", []string{"6.1"}},
		{"2023.7.20250331.0", []string{"6.1", "6.12"}},
		{"2023.8.20250707.0", []string{"6.1", "6.12"}},
		{"2023.11.20260427.1", []string{"6.1", "6.12", "6.18"}}, // moto's latest_amis snapshot
	}
	al2Releases     = []string{"2.0.20241014.0", "2.0.20241113.1", "2.0.20250321.0", "2.0.20260427.1"}
	jammyReleases   = []string{"20240411", "20240701", "20240927", "20241002", "20241120", "20250415"}
	nobleReleases   = []string{"20240801", "20241004", "20250115", "20250610"}
	debian12Release = []string{"20240507-1740", "20240702-1796", "20240717-1811", "20241004-1890", "20241201-1948", "20250416-2084"}
)

// catalogue builds every image once, sorted by name.
var catalogue = sync.OnceValue(func() []image {
	var out []image
	for _, rel := range al2023Releases {
		day := releaseDay(strings.Split(rel.version, ".")[2])
		for _, k := range rel.kernels {
			for _, arch := range []string{"x86_64", "arm64"} {
				boot := "uefi-preferred"
				if arch == "arm64" {
					boot = "uefi"
				}
				for _, minimal := range []bool{false, true} {
					name, desc, size, kind := "al2023-ami-", "Amazon Linux 2023 AMI "+rel.version+" "+arch+" HVM kernel-"+k, int32(8), "al2023-ami"
					if minimal {
						name, desc, size, kind = "al2023-ami-minimal-", "Amazon Linux 2023 AMI "+rel.version+" "+arch+" Minimal HVM kernel-"+k, 2, "al2023-ami-minimal"
					}
					name += rel.version + "-kernel-" + k + "-" + arch
					out = append(out, image{name: name, description: desc, owner: OwnerAmazon, arch: arch,
						created: at(day, name), rootDevice: "/dev/xvda", volumeSize: size, volumeType: "gp3",
						bootMode: boot, imds: "v2.0", series: kind + "-kernel-" + k + "-" + arch})
				}
			}
		}
	}
	for _, v := range al2Releases {
		day := releaseDay(strings.Split(v, ".")[2])
		for _, arch := range []string{"x86_64", "arm64"} {
			boot, what := "", "Amazon Linux 2"
			if arch == "arm64" {
				boot, what = "uefi", "Amazon Linux 2 LTS Arm64"
			}
			for _, kernel := range []string{"", "5.10"} {
				name, desc, series := "amzn2-ami-hvm-", what+" AMI "+v+" "+arch+" HVM gp2", "amzn2-ami-hvm-"+arch+"-gp2"
				if kernel != "" {
					name, desc, series = "amzn2-ami-kernel-"+kernel+"-hvm-", what+" Kernel "+kernel+" AMI "+v+" "+arch+" HVM gp2", "amzn2-ami-kernel-"+kernel+"-hvm-"+arch+"-gp2"
				}
				name += v + "-" + arch + "-gp2"
				out = append(out, image{name: name, description: desc, owner: OwnerAmazon, arch: arch,
					created: at(day, name), rootDevice: "/dev/xvda", volumeSize: 8, volumeType: "gp2",
					bootMode: boot, series: series})
			}
		}
	}
	ubuntu := func(releases []string, version, codename, store, volumeType, imds string, describe func(arch, date string) string) {
		for _, date := range releases {
			day := releaseDay(date)
			for _, arch := range []string{"x86_64", "arm64"} {
				deb, boot := debArch(arch), "uefi-preferred"
				if arch == "arm64" {
					boot = "uefi"
				}
				name := "ubuntu/images/" + store + "/ubuntu-" + codename + "-" + version + "-" + deb + "-server-" + date
				out = append(out, image{name: name, description: describe(deb, day.Format("2006-01-02")), owner: OwnerCanonical,
					arch: arch, created: at(day, name), rootDevice: "/dev/sda1", volumeSize: 8, volumeType: volumeType,
					bootMode: boot, imds: imds, ephemeral: true, series: "ubuntu-" + version + "-" + deb})
			}
		}
	}
	ubuntu(jammyReleases, "22.04", "jammy", "hvm-ssd", "gp2", "", func(deb, date string) string {
		return "Canonical, Ubuntu, 22.04 LTS, " + deb + " jammy image build on " + date
	})
	ubuntu(nobleReleases, "24.04", "noble", "hvm-ssd-gp3", "gp3", "v2.0", func(deb, _ string) string {
		return "Canonical, Ubuntu, 24.04, " + deb + " noble image"
	})
	for _, rel := range debian12Release {
		date, _, _ := strings.Cut(rel, "-")
		day := releaseDay(date)
		for _, arch := range []string{"x86_64", "arm64"} {
			boot := ""
			if arch == "arm64" {
				boot = "uefi"
			}
			name := "debian-12-" + debArch(arch) + "-" + rel
			out = append(out, image{name: name, description: "Debian 12 (" + rel + ")", owner: OwnerDebian, arch: arch,
				created: at(day, name), rootDevice: "/dev/xvda", volumeSize: 8, volumeType: "gp3",
				bootMode: boot, series: "debian-12-" + debArch(arch)})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out
})

// debArch is Debian's and Ubuntu's name for an architecture.
func debArch(arch string) string {
	if arch == "x86_64" {
		return "amd64"
	}
	return arch
}

// releaseDay parses the YYYYMMDD date in a release name.
func releaseDay(yyyymmdd string) time.Time {
	d, err := time.Parse("20060102", yyyymmdd)
	if err != nil {
		panic("catalog: bad release date " + yyyymmdd)
	}
	return d
}

// at is a time on day, the same for every run: release builds finish at
// some hour of their release day, here drawn from a hash of the name.
func at(day time.Time, name string) time.Time {
	sum := sha256.Sum256([]byte("created/" + name))
	secs := binary.BigEndian.Uint32(sum[:4]) % (20 * 3600)
	return day.Add(time.Duration(secs) * time.Second)
}

// imageIndex maps each Region's image IDs to their place in the catalogue,
// built on first use.
var imageIndex = sync.OnceValue(func() map[string]map[string]int {
	idx := make(map[string]map[string]int, len(regions))
	for _, r := range regions {
		ids := make(map[string]int, len(catalogue()))
		for i, im := range catalogue() {
			ids[imageID(r.name, im.name)] = i
		}
		idx[r.name] = ids
	}
	return idx
})

// imageID is a public image's ID in a Region. AWS gives each Region's copy
// of an image its own ID; here it is drawn from a hash of the Region and
// name, so IDs are stable across runs and differ between Regions. Like
// current AWS IDs it is "ami-" and 17 hex digits, the first of them 0.
func imageID(region, name string) string {
	return "ami-0" + hexHash("ami/"+region+"/"+name, 16)
}

// snapshotID is the root snapshot of a public image in a Region.
func snapshotID(region, name string) string {
	return "snap-0" + hexHash("snap/"+region+"/"+name, 16)
}

func hexHash(s string, n int) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])[:n]
}

// Images returns the public images of a Region, sorted by name, or nil for
// an unknown Region. DescribeImages filters them (owner, name, architecture,
// ...) and decides whether deprecated ones show.
func Images(region string) []api.Image {
	if !IsRegion(region) {
		return nil
	}
	cat := catalogue()
	out := make([]api.Image, len(cat))
	for i := range cat {
		out[i] = cat[i].api(region)
	}
	return out
}

// Image returns the public image with the given ID in a Region.
func Image(region, id string) (api.Image, bool) {
	i, ok := imageIndex()[region][id]
	if !ok {
		return api.Image{}, false
	}
	return catalogue()[i].api(region), true
}

func (im *image) api(region string) api.Image {
	ebs := &api.EbsBlockDevice{
		DeleteOnTermination: ptr(true),
		SnapshotId:          ptr(snapshotID(region, im.name)),
		VolumeSize:          ptr(im.volumeSize),
		VolumeType:          ptr(im.volumeType),
		Encrypted:           ptr(false),
	}
	if im.volumeType == "gp3" {
		// gp3's baseline, which EC2 reports on gp3 mappings.
		ebs.Iops, ebs.Throughput = ptr(int32(3000)), ptr(int32(125))
	}
	mappings := []api.BlockDeviceMapping{{DeviceName: ptr(im.rootDevice), Ebs: ebs}}
	if im.ephemeral {
		mappings = append(mappings,
			api.BlockDeviceMapping{DeviceName: ptr("/dev/sdb"), VirtualName: ptr("ephemeral0")},
			api.BlockDeviceMapping{DeviceName: ptr("/dev/sdc"), VirtualName: ptr("ephemeral1")})
	}
	out := api.Image{
		ImageId:     ptr(imageID(region, im.name)),
		Name:        ptr(im.name),
		Description: ptr(im.description),
		OwnerId:     ptr(im.owner),
		// Amazon's, Canonical's and Debian's public images all show the
		// "amazon" alias and an "amazon/NAME" location in DescribeImages,
		// and are found by Owners=amazon.
		ImageOwnerAlias:     ptr("amazon"),
		ImageLocation:       ptr("amazon/" + im.name),
		State:               ptr("available"),
		Public:              ptr(true),
		ImageType:           ptr("machine"),
		Architecture:        ptr(im.arch),
		PlatformDetails:     ptr("Linux/UNIX"),
		UsageOperation:      ptr("RunInstances"),
		RootDeviceName:      ptr(im.rootDevice),
		RootDeviceType:      ptr("ebs"),
		VirtualizationType:  ptr("hvm"),
		Hypervisor:          ptr("xen"),
		EnaSupport:          ptr(true),
		SriovNetSupport:     ptr("simple"),
		BlockDeviceMappings: mappings,
		CreationDate:        ptr(im.created.Format(ImageDateFormat)),
		DeprecationTime:     ptr(im.created.AddDate(deprecationYears, 0, 0).Format(ImageDateFormat)),
		FreeTierEligible:    ptr(true),
	}
	if im.bootMode != "" {
		out.BootMode = ptr(im.bootMode)
	}
	if im.imds != "" {
		out.ImdsSupport = ptr(im.imds)
	}
	return out
}

// parameters maps the SSM public parameters that name the latest public
// images to the series they follow. The paths are AWS's, Canonical's and
// Debian's (Amazon Linux: /aws/service/ami-amazon-linux-latest/; Ubuntu:
// /aws/service/canonical/ubuntu/server/; Debian: /aws/service/debian/).
var parameters = sync.OnceValue(func() map[string]string {
	p := map[string]string{}
	const al = "/aws/service/ami-amazon-linux-latest/"
	for _, arch := range []string{"x86_64", "arm64"} {
		for _, k := range []string{"6.1", "6.12", "6.18"} {
			p[al+"al2023-ami-kernel-"+k+"-"+arch] = "al2023-ami-kernel-" + k + "-" + arch
			p[al+"al2023-ami-minimal-kernel-"+k+"-"+arch] = "al2023-ami-minimal-kernel-" + k + "-" + arch
		}
		// The default kernel of AL2023 is 6.1.
		p[al+"al2023-ami-kernel-default-"+arch] = "al2023-ami-kernel-6.1-" + arch
		p[al+"al2023-ami-minimal-kernel-default-"+arch] = "al2023-ami-minimal-kernel-6.1-" + arch
		p[al+"amzn2-ami-hvm-"+arch+"-gp2"] = "amzn2-ami-hvm-" + arch + "-gp2"
		p[al+"amzn2-ami-kernel-4.14-hvm-"+arch+"-gp2"] = "amzn2-ami-hvm-" + arch + "-gp2"
		p[al+"amzn2-ami-kernel-5.10-hvm-"+arch+"-gp2"] = "amzn2-ami-kernel-5.10-hvm-" + arch + "-gp2"
		p[al+"amzn2-ami-kernel-default-hvm-"+arch+"-gp2"] = "amzn2-ami-kernel-5.10-hvm-" + arch + "-gp2"

		deb := debArch(arch)
		const canonical = "/aws/service/canonical/ubuntu/server/"
		for _, v := range []string{"22.04", "jammy"} {
			p[canonical+v+"/stable/current/"+deb+"/hvm/ebs-gp2/ami-id"] = "ubuntu-22.04-" + deb
		}
		for _, v := range []string{"24.04", "noble"} {
			p[canonical+v+"/stable/current/"+deb+"/hvm/ebs-gp3/ami-id"] = "ubuntu-24.04-" + deb
		}
		for _, v := range []string{"12", "bookworm"} {
			p["/aws/service/debian/release/"+v+"/latest/"+deb] = "debian-12-" + deb
		}
	}
	return p
})

// PublicParameters returns the names of the SSM public parameters that
// ParameterImageID resolves, sorted, for an SSM service's GetParameter and
// GetParametersByPath.
func PublicParameters() []string {
	names := make([]string, 0, len(parameters()))
	for name := range parameters() {
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}

// ParameterImageID returns the image ID an SSM public parameter holds in a
// Region: the newest image of the series it names, e.g.
// /aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64.
func ParameterImageID(region, name string) (string, bool) {
	series, ok := parameters()[name]
	if !ok || !IsRegion(region) {
		return "", false
	}
	var latest *image
	cat := catalogue()
	for i := range cat {
		if cat[i].series == series && (latest == nil || cat[i].created.After(latest.created)) {
			latest = &cat[i]
		}
	}
	if latest == nil {
		return "", false
	}
	return imageID(region, latest.name), true
}

// ssmPrefix introduces an SSM parameter in place of an AMI ID, as
// RunInstances, launch templates and Auto Scaling accept
// ("resolve:ssm:/aws/service/...").
const ssmPrefix = "resolve:ssm:"

// ResolveImageID resolves an ImageId that is an SSM parameter reference,
// "resolve:ssm:NAME", to the AMI ID the public parameter NAME holds in the
// Region; any other ID is returned unchanged. ok is false for a reference
// to a parameter that is not one of PublicParameters, or that pins a
// version ("resolve:ssm:NAME:3"): only the current value is known.
func ResolveImageID(region, imageID string) (id string, ok bool) {
	name, isRef := strings.CutPrefix(imageID, ssmPrefix)
	if !isRef {
		return imageID, true
	}
	return ParameterImageID(region, name)
}
