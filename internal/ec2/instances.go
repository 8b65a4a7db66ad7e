package ec2

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/netip"
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
	"github.com/nephele-dev/nephele/internal/tags"
)

var instanceKind = register(kind{prefix: "i", resourceType: "instance", bucket: "ec2/instances"})

// bucketClientTokens maps a RunInstances ClientToken to the reservation it
// made, for idempotent retries.
const bucketClientTokens = "ec2/clienttokens"

// maxUserData is the user-data limit: "User data is limited to 16 KB, in
// raw form, before it is base64-encoded."
const maxUserData = 16 << 10

// instanceRecord is a stored instance: its API shape (without tags) and
// what EC2 keeps beside it.
type instanceRecord struct {
	api.Instance
	ReservationID         string
	UserData              string `json:",omitempty"` // base64, as given
	DisableAPITermination bool   `json:",omitempty"`
	DisableAPIStop        bool   `json:",omitempty"`
	ShutdownBehavior      string // "stop" or "terminate"
	// ImageDir is the directory a custom AMI's instances start from.
	ImageDir string `json:",omitempty"`
	// Impaired is set when the instance's processes ended by themselves
	// while it was running: its instance status check fails.
	Impaired bool `json:",omitempty"`
	// ImpairedSince is when the instance became impaired, for
	// DescribeInstanceStatus.
	ImpairedSince time.Time `json:",omitzero"`
	// CPUCredits is a burstable instance's credit option once
	// ModifyInstanceCreditSpecification set it; "" is its type's default.
	CPUCredits string `json:",omitempty"`
	// Reboot asks the controller to restart a running instance's tree.
	Reboot bool `json:",omitempty"`
	// Force makes a stop or termination skip the grace period.
	Force bool `json:",omitempty"`
	// RoleName and RoleARN are the role of the instance profile, whose
	// credentials the metadata service hands out.
	RoleName string `json:",omitempty"`
	RoleARN  string `json:",omitempty"`
	// Ended is when the instance became terminated; it vanishes from
	// DescribeInstances an hour later.
	Ended time.Time `json:",omitzero"`

	// Spot and fleets (spot.go, fleets.go, interruptions.go): how EC2
	// interrupts a Spot Instance ("terminate", "stop" or "hibernate"), the
	// type of its Spot request ("one-time" or "persistent"), an
	// interruption under way, and the EC2 Fleet or Spot Fleet that
	// launched the instance.
	SpotInterruptionBehavior string            `json:",omitempty"`
	SpotRequestType          string            `json:",omitempty"`
	Interruption             *spotInterruption `json:",omitempty"`
	Fleet                    string            `json:",omitempty"`
}

func (r *instanceRecord) id() string    { return str(r.InstanceId) }
func (r *instanceRecord) state() string { return str(r.State.Name) }

// The instance states and their codes, as InstanceState reports them.
var stateCodes = map[string]int32{
	"pending": 0, "running": 16, "shutting-down": 32, "terminated": 48, "stopping": 64, "stopped": 80,
}

// setState moves an instance to a state.
func (r *instanceRecord) setState(name string) {
	r.State = &api.InstanceState{Name: ptr(name), Code: ptr(stateCodes[name])}
}

// loadInstance reads an instance, or fails with InvalidInstanceID.NotFound.
func loadInstance(tx store.Tx, sc scope, id string) (instanceRecord, error) {
	var r instanceRecord
	err := tx.Get(instanceKind.bucket, sc.key(id), &r)
	if errors.Is(err, store.ErrNotFound) {
		return r, notFound("InvalidInstanceID.NotFound", "instance", id)
	}
	return r, err
}

func (s *Service) instanceOperations() []service.Operation {
	return []service.Operation{
		service.Handle("RunInstances", s.RunInstances),
		service.Handle("DescribeInstances", s.DescribeInstances),
		service.Handle("StartInstances", s.StartInstances),
		service.Handle("StopInstances", s.StopInstances),
		service.Handle("RebootInstances", s.RebootInstances),
		service.Handle("TerminateInstances", s.TerminateInstances),
		service.Handle("GetConsoleOutput", s.GetConsoleOutput),
	}
}

// launch is a RunInstances request resolved against the region's state:
// everything the new instances share.
type launch struct {
	image        api.Image
	imageDir     string
	instanceType string
	subnet       subnetRecord
	groups       []api.GroupIdentifier
	keyName      string
	userData     string
	metadata     api.InstanceMetadataOptionsResponse
	tags         []api.Tag
	volumeTags   []api.Tag
	profile      *api.IamInstanceProfile
	roleName     string
	roleARN      string
	spot         bool
}

// RunInstances launches between MinCount and MaxCount instances. They are
// returned pending and boot right after: each runs its user-data as a
// local process tree on its own loopback address.
func (s *Service) RunInstances(ctx context.Context, in *api.RunInstancesInput) (*api.RunInstancesOutput, error) {
	sc := scopeOf(ctx)
	if err := s.seed(sc); err != nil {
		return nil, err
	}
	minCount, maxCount := deref(in.MinCount), deref(in.MaxCount)
	if minCount < 1 {
		return nil, invalidParameterValue("Value (%d) for parameter minCount is invalid. Expected a positive integer.", minCount)
	}
	if maxCount < minCount {
		return nil, invalidParameterValue("Value (%d) for parameter maxCount is invalid. Expected a value greater than or equal to minCount (%d).", maxCount, minCount)
	}
	if _, err := checkUserData(in.UserData); err != nil {
		return nil, err
	}
	var res api.Reservation
	launched := false
	err := s.st.Update(func(tx store.Tx) error {
		if token := str(in.ClientToken); token != "" {
			var prior string
			err := tx.Get(bucketClientTokens, sc.key(token), &prior)
			if err == nil {
				res, err = reservation(tx, sc, prior)
				return err
			}
			if !errors.Is(err, store.ErrNotFound) {
				return err
			}
		}
		var err error
		if res, err = s.launchInstances(ctx, tx, sc, in, int(minCount), int(maxCount), nil); err != nil {
			return err
		}
		launched = true
		if token := str(in.ClientToken); token != "" {
			return tx.Put(bucketClientTokens, sc.key(token), str(res.ReservationId))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if launched {
		s.enqueueReservation(sc, res)
	}
	out := api.RunInstancesOutput(res)
	return &out, nil
}

// launchInstances makes the records of between minCount and maxCount
// instances of a RunInstances request in tx, as many as capacity allows:
// the one path by which RunInstances, Spot requests and fleets launch
// (spot.go, fleets.go). own, when not nil, marks each record before it is
// stored (the Spot request or fleet it belongs to). The caller enqueues the
// instances once tx has committed (enqueueReservation).
func (s *Service) launchInstances(ctx context.Context, tx store.Tx, sc scope, in *api.RunInstancesInput, minCount, maxCount int, own func(*instanceRecord)) (api.Reservation, error) {
	var res api.Reservation
	if in.LaunchTemplate != nil {
		// The template's data fills what the request leaves out.
		merged, err := s.applyLaunchTemplate(tx, sc, in)
		if err != nil {
			return res, err
		}
		in = merged
	}
	userData, err := checkUserData(in.UserData)
	if err != nil {
		return res, err
	}
	l, err := s.resolveLaunch(ctx, tx, sc, in)
	if err != nil {
		return res, err
	}
	l.userData = userData
	now := s.now()
	if l.spot {
		// A maximum price under the Spot price is refused (spot.go).
		if err := checkSpotMaxPrice(in, l, now); err != nil {
			return res, err
		}
	}
	count, err := s.capacity(tx, sc, l.instanceType, str(l.subnet.AvailabilityZone), minCount, maxCount)
	if err != nil {
		return res, err
	}
	res = api.Reservation{
		ReservationId: ptr(awsid.New("r")),
		OwnerId:       ptr(sc.account),
		Groups:        []api.GroupIdentifier{},
	}
	for i := range count {
		r, err := s.newInstance(tx, sc, in, l, str(res.ReservationId), int32(i), now)
		if err != nil {
			return res, err
		}
		if own != nil {
			own(&r)
		}
		if l.spot {
			// Every Spot Instance belongs to a Spot request (spot.go).
			if err := s.attachSpotRequest(tx, sc, in, l, &r, now); err != nil {
				return res, err
			}
		}
		// The root volume may set the mapping's DeleteOnTermination (volumes.go).
		if err := createRootVolume(tx, sc, r, l.image, in.BlockDeviceMappings, l.volumeTags); err != nil {
			return res, err
		}
		if err := tx.Put(instanceKind.bucket, sc.key(r.id()), r); err != nil {
			return res, err
		}
		// A launch from a template carries AWS's own tags naming it, which
		// Terraform reads the instance's template back from.
		ts := append(slices.Clone(l.tags), launchTemplateTags(in.LaunchTemplate)...)
		if err := writeTags(tx, sc, r.id(), slices.Clone(ts)); err != nil {
			return res, err
		}
		r.Tags = ts
		res.Instances = append(res.Instances, r.Instance)
	}
	return res, nil
}

// enqueueReservation starts the lifecycle of the instances a committed
// launchInstances made.
func (s *Service) enqueueReservation(sc scope, res api.Reservation) {
	for _, inst := range res.Instances {
		// Types with instance storage get their ephemeral0 (volumes.go).
		if err := s.setInstanceStore(str(inst.InstanceId), str(inst.InstanceType)); err != nil {
			s.log().Error("ec2: instance store", "instance", str(inst.InstanceId), "err", err)
		}
		s.ctl.enqueue(sc, str(inst.InstanceId))
	}
}

// checkUserData decodes user-data: base64, at most 16 KB decoded.
func checkUserData(p *string) (string, error) {
	if p == nil || *p == "" {
		return "", nil
	}
	raw, err := base64.StdEncoding.DecodeString(*p)
	if err != nil {
		return "", invalidParameterValue("Invalid BASE64 encoding of user data.")
	}
	if len(raw) > maxUserData {
		return "", invalidParameterValue("User data is limited to %d bytes", maxUserData)
	}
	return *p, nil
}

// resolveLaunch checks a RunInstances request against the region: the
// image, the instance type, where the instances go, their security groups
// and key pair, and their tags.
func (s *Service) resolveLaunch(ctx context.Context, tx store.Tx, sc scope, in *api.RunInstancesInput) (launch, error) {
	var l launch
	imageID := str(in.ImageId)
	if imageID == "" {
		return l, missingParameter("The request must contain the parameter ImageId")
	}
	img, dir, err := s.findImage(tx, sc, imageID)
	if err != nil {
		return l, err
	}
	l.image, l.imageDir = img, dir
	l.instanceType = str(in.InstanceType)
	if l.instanceType == "" {
		l.instanceType = "m1.small" // RunInstances's documented default
	}
	info, ok := catalog.InstanceType(l.instanceType)
	if !ok {
		return l, invalidParameterValue("Invalid value '%s' for InstanceType.", l.instanceType)
	}
	if archs := info.ProcessorInfo.SupportedArchitectures; !slices.Contains(archs, str(img.Architecture)) {
		return l, invalidParameterValue("The architecture '%s' of the specified instance type does not match the architecture '%s' of the specified AMI. "+
			"Specify an instance type and an AMI that have matching architectures, and try again. "+
			"You can use 'describe-instance-types' or 'describe-images' to discover the architecture of the instance type or AMI.",
			strings.Join(archs, ", "), str(img.Architecture))
	}
	if l.subnet, err = s.launchSubnet(tx, sc, in); err != nil {
		return l, err
	}
	if l.groups, err = launchGroups(tx, sc, str(l.subnet.VpcId), in.SecurityGroupIds, in.SecurityGroups); err != nil {
		return l, err
	}
	if l.keyName = str(in.KeyName); l.keyName != "" {
		if _, err := loadKeyPairByName(tx, sc, l.keyName); err != nil {
			return l, err
		}
	}
	if in.IamInstanceProfile != nil {
		if l.profile, l.roleName, l.roleARN, err = s.resolveProfile(ctx, sc, in.IamInstanceProfile); err != nil {
			return l, err
		}
	}
	l.metadata = metadataOptions(in.MetadataOptions, img)
	if l.tags, err = tagSpecTags(in.TagSpecifications, "instance", "instance", "volume", "network-interface", "spot-instances-request"); err != nil {
		return l, err
	}
	if err := ec2TagRules.Validate(toTags(l.tags), 0, func(msg string) error { return invalidParameterValue("%s", msg) }); err != nil {
		return l, err
	}
	l.volumeTags, _ = tagSpecTags(in.TagSpecifications, "volume", "instance", "volume", "network-interface", "spot-instances-request")
	if m := in.InstanceMarketOptions; m != nil && str(m.MarketType) == "spot" {
		l.spot = true
	}
	return l, nil
}

// launchSubnet picks the subnet: the one named, else the default subnet of
// the Availability Zone asked for, else the region's first default subnet.
func (s *Service) launchSubnet(tx store.Tx, sc scope, in *api.RunInstancesInput) (subnetRecord, error) {
	id := str(in.SubnetId)
	if id == "" && len(in.NetworkInterfaces) > 0 {
		id = str(in.NetworkInterfaces[0].SubnetId)
	}
	if id != "" {
		if !strings.HasPrefix(id, "subnet-") {
			return subnetRecord{}, malformed("InvalidSubnetID.Malformed", id, "subnet")
		}
		sn, err := loadSubnet(tx, sc, id)
		if err == nil && in.Placement != nil && in.Placement.AvailabilityZone != nil && str(in.Placement.AvailabilityZone) != str(sn.AvailabilityZone) {
			return sn, invalidParameterValue("The subnet '%s' is in Availability Zone '%s', not '%s'.", id, str(sn.AvailabilityZone), str(in.Placement.AvailabilityZone))
		}
		return sn, err
	}
	az := ""
	if in.Placement != nil {
		az = str(in.Placement.AvailabilityZone)
	}
	subnets, err := listAll[subnetRecord](tx, sc, subnetKind.bucket)
	if err != nil {
		return subnetRecord{}, err
	}
	subnets = slices.DeleteFunc(subnets, func(sn subnetRecord) bool { return !boolean(sn.DefaultForAz) })
	slices.SortFunc(subnets, func(a, b subnetRecord) int { return strings.Compare(str(a.AvailabilityZone), str(b.AvailabilityZone)) })
	for _, sn := range subnets {
		if az == "" || str(sn.AvailabilityZone) == az {
			return sn, nil
		}
	}
	if az != "" {
		return subnetRecord{}, invalidParameterValue("Invalid availability zone: [%s]", az)
	}
	return subnetRecord{}, awserr.BadRequest("VPCIdNotSpecified", "No default VPC for this user. GroupName is only supported for EC2-Classic and default VPC.")
}

// launchGroups resolves the security groups of a launch, by ID or (in the
// default VPC) by name; none means the VPC's default group.
func launchGroups(tx store.Tx, sc scope, vpcID string, ids, names []string) ([]api.GroupIdentifier, error) {
	groups, err := listAll[securityGroupRecord](tx, sc, securityGroupKind.bucket)
	if err != nil {
		return nil, err
	}
	var out []api.GroupIdentifier
	for _, id := range ids {
		i := slices.IndexFunc(groups, func(g securityGroupRecord) bool { return str(g.GroupId) == id })
		if i < 0 || str(groups[i].VpcId) != vpcID {
			return nil, awserr.BadRequest("InvalidGroup.NotFound", "The security group '%s' does not exist in VPC '%s'", id, vpcID)
		}
		out = append(out, api.GroupIdentifier{GroupId: groups[i].GroupId, GroupName: groups[i].GroupName})
	}
	for _, name := range names {
		i := slices.IndexFunc(groups, func(g securityGroupRecord) bool { return str(g.GroupName) == name && str(g.VpcId) == vpcID })
		if i < 0 {
			return nil, awserr.BadRequest("InvalidGroup.NotFound", "The security group '%s' does not exist in VPC '%s'", name, vpcID)
		}
		out = append(out, api.GroupIdentifier{GroupId: groups[i].GroupId, GroupName: groups[i].GroupName})
	}
	if len(out) == 0 {
		i := slices.IndexFunc(groups, func(g securityGroupRecord) bool { return str(g.GroupName) == "default" && str(g.VpcId) == vpcID })
		if i >= 0 {
			out = append(out, api.GroupIdentifier{GroupId: groups[i].GroupId, GroupName: groups[i].GroupName})
		}
	}
	return out, nil
}

// metadataOptions applies the IMDS defaults: endpoint enabled, tokens
// optional and a hop limit of 1, except that an AMI registered for IMDSv2
// only (ImdsSupport v2.0, as Amazon Linux 2023's are) defaults to tokens
// required and a hop limit of 2.
func metadataOptions(req *api.InstanceMetadataOptionsRequest, img api.Image) api.InstanceMetadataOptionsResponse {
	o := api.InstanceMetadataOptionsResponse{
		HttpEndpoint: ptr("enabled"), HttpTokens: ptr("optional"), HttpPutResponseHopLimit: ptr(int32(1)),
		HttpProtocolIpv6: ptr("disabled"), InstanceMetadataTags: ptr("disabled"), State: ptr("applied"),
	}
	if str(img.ImdsSupport) == "v2.0" {
		o.HttpTokens, o.HttpPutResponseHopLimit = ptr("required"), ptr(int32(2))
	}
	if req == nil {
		return o
	}
	if req.HttpEndpoint != nil {
		o.HttpEndpoint = req.HttpEndpoint
	}
	if req.HttpTokens != nil {
		o.HttpTokens = req.HttpTokens
	}
	if req.HttpPutResponseHopLimit != nil {
		o.HttpPutResponseHopLimit = req.HttpPutResponseHopLimit
	}
	if req.HttpProtocolIpv6 != nil {
		o.HttpProtocolIpv6 = req.HttpProtocolIpv6
	}
	if req.InstanceMetadataTags != nil {
		o.InstanceMetadataTags = req.InstanceMetadataTags
	}
	return o
}

// newInstance makes the record of one instance of a launch, with its
// address.
func (s *Service) newInstance(tx store.Tx, sc scope, in *api.RunInstancesInput, l launch, reservationID string, index int32, now time.Time) (instanceRecord, error) {
	id := awsid.New("i")
	cidr, err := netip.ParsePrefix(str(l.subnet.CidrBlock))
	if err != nil {
		return instanceRecord{}, err
	}
	addr, err := allocateAddress(tx, cidr, sc.key(id))
	if errors.Is(err, errNoAddress) {
		return instanceRecord{}, awserr.BadRequest("InsufficientFreeAddressesInSubnet", "There are not enough free addresses in subnet '%s' to satisfy the requested number of instances.", str(l.subnet.SubnetId))
	}
	if err != nil {
		return instanceRecord{}, err
	}
	ip := addr.String()
	dns := privateDNSName(sc.region, ip)
	info, _ := catalog.InstanceType(l.instanceType)
	r := instanceRecord{
		Instance: api.Instance{
			InstanceId:                       ptr(id),
			ImageId:                          l.image.ImageId,
			InstanceType:                     ptr(l.instanceType),
			AmiLaunchIndex:                   ptr(index),
			Architecture:                     l.image.Architecture,
			LaunchTime:                       ptr(now.Truncate(time.Second)),
			KeyName:                          optional(l.keyName),
			ClientToken:                      optional(str(in.ClientToken)),
			Placement:                        &api.Placement{AvailabilityZone: l.subnet.AvailabilityZone, AvailabilityZoneId: l.subnet.AvailabilityZoneId, Tenancy: ptr("default"), GroupName: ptr("")},
			PrivateIpAddress:                 ptr(ip),
			PrivateDnsName:                   ptr(dns),
			PublicDnsName:                    ptr(""),
			SubnetId:                         l.subnet.SubnetId,
			VpcId:                            l.subnet.VpcId,
			SecurityGroups:                   l.groups,
			SourceDestCheck:                  ptr(true),
			Hypervisor:                       ptr("xen"),
			VirtualizationType:               ptr("hvm"),
			RootDeviceName:                   l.image.RootDeviceName,
			RootDeviceType:                   ptr("ebs"),
			EbsOptimized:                     ptr(boolean(in.EbsOptimized)),
			EnaSupport:                       ptr(true),
			PlatformDetails:                  ptr("Linux/UNIX"),
			UsageOperation:                   ptr("RunInstances"),
			UsageOperationUpdateTime:         ptr(now.Truncate(time.Second)),
			Monitoring:                       &api.Monitoring{State: ptr("disabled")},
			MetadataOptions:                  ptr(l.metadata),
			IamInstanceProfile:               l.profile,
			StateTransitionReason:            ptr(""),
			ProductCodes:                     []api.ProductCode{},
			CpuOptions:                       &api.CpuOptions{CoreCount: info.VCpuInfo.DefaultCores, ThreadsPerCore: info.VCpuInfo.DefaultThreadsPerCore},
			BootMode:                         l.image.BootMode,
			CurrentInstanceBootMode:          ptr("legacy-bios"),
			CapacityReservationSpecification: &api.CapacityReservationSpecificationResponse{CapacityReservationPreference: ptr("open")},
			HibernationOptions:               &api.HibernationOptions{Configured: ptr(false)},
			EnclaveOptions:                   &api.EnclaveOptions{Enabled: ptr(false)},
			MaintenanceOptions:               &api.InstanceMaintenanceOptions{AutoRecovery: ptr("default")},
			PrivateDnsNameOptions:            &api.PrivateDnsNameOptionsResponse{HostnameType: ptr("ip-name"), EnableResourceNameDnsARecord: ptr(false), EnableResourceNameDnsAAAARecord: ptr(false)},
		},
		ReservationID:         reservationID,
		UserData:              l.userData,
		DisableAPITermination: boolean(in.DisableApiTermination),
		DisableAPIStop:        boolean(in.DisableApiStop),
		ShutdownBehavior:      "stop",
		ImageDir:              l.imageDir,
		RoleName:              l.roleName,
		RoleARN:               l.roleARN,
	}
	if b := str(in.InstanceInitiatedShutdownBehavior); b != "" {
		r.ShutdownBehavior = b
	}
	if boolean(l.subnet.MapPublicIpOnLaunch) {
		// The instance's one address is reachable from the whole machine,
		// which is what a public address is for.
		r.PublicIpAddress = ptr(ip)
	}
	if in.Monitoring != nil && boolean(in.Monitoring.Enabled) {
		r.Monitoring.State = ptr("enabled")
	}
	if in.Placement != nil && str(in.Placement.GroupName) != "" {
		r.Placement.GroupName = in.Placement.GroupName
	}
	if in.Placement != nil && str(in.Placement.Tenancy) != "" {
		r.Placement.Tenancy = in.Placement.Tenancy
	}
	if l.spot {
		r.InstanceLifecycle = ptr("spot")
		r.SpotInstanceRequestId = ptr(awsid.New("sir"))
	}
	if r.BootMode == nil {
		r.BootMode = ptr("legacy-bios")
	}
	rootVolume := awsid.New("vol")
	r.BlockDeviceMappings = []api.InstanceBlockDeviceMapping{{
		DeviceName: l.image.RootDeviceName,
		Ebs: &api.EbsInstanceBlockDevice{
			AttachTime: ptr(now.Truncate(time.Second)), DeleteOnTermination: ptr(true),
			Status: ptr("attached"), VolumeId: ptr(rootVolume),
		},
	}}
	mac := macAddress(addr)
	r.NetworkInterfaces = []api.InstanceNetworkInterface{{
		NetworkInterfaceId: ptr(awsid.New("eni")),
		Attachment: &api.InstanceNetworkInterfaceAttachment{
			AttachmentId: ptr(awsid.New("eni-attach")), AttachTime: ptr(now.Truncate(time.Second)),
			DeleteOnTermination: ptr(true), DeviceIndex: ptr(int32(0)), NetworkCardIndex: ptr(int32(0)), Status: ptr("attached"),
		},
		Description: ptr(""), Groups: l.groups, InterfaceType: ptr("interface"), MacAddress: ptr(mac),
		OwnerId: ptr(sc.account), PrivateDnsName: ptr(dns), PrivateIpAddress: ptr(ip),
		PrivateIpAddresses: []api.InstancePrivateIpAddress{{Primary: ptr(true), PrivateDnsName: ptr(dns), PrivateIpAddress: ptr(ip)}},
		SourceDestCheck:    ptr(true), Status: ptr("in-use"), SubnetId: l.subnet.SubnetId, VpcId: l.subnet.VpcId,
		Ipv6Addresses: []api.InstanceIpv6Address{},
	}}
	r.setState("pending")
	return r, nil
}

// privateDNSName is an address's private host name, as EC2 names it:
// ip-10-0-0-5.ec2.internal in us-east-1, ip-10-0-0-5.REGION.compute.internal
// elsewhere.
func privateDNSName(region, ip string) string {
	host := "ip-" + strings.ReplaceAll(ip, ".", "-")
	if region == "us-east-1" {
		return host + ".ec2.internal"
	}
	return host + "." + region + ".compute.internal"
}

// macAddress derives a stable, locally administered MAC from an address.
func macAddress(a netip.Addr) string {
	b := a.As4()
	return fmt.Sprintf("0e:%02x:%02x:%02x:%02x:01", b[0], b[1], b[2], b[3])
}

// reservation rebuilds the reservation a ClientToken made.
func reservation(tx store.Tx, sc scope, id string) (api.Reservation, error) {
	res := api.Reservation{ReservationId: ptr(id), OwnerId: ptr(sc.account), Groups: []api.GroupIdentifier{}}
	err := tx.ForEach(instanceKind.bucket, sc.prefix(), func(_ string, decode func(any) error) error {
		var r instanceRecord
		if err := decode(&r); err != nil {
			return err
		}
		if r.ReservationID == id {
			ts, err := readTags(tx, sc, r.id())
			if err != nil {
				return err
			}
			r.Tags = ts
			res.Instances = append(res.Instances, r.Instance)
		}
		return nil
	})
	return res, err
}

// toTags converts API tags for the shared tag rules.
func toTags(ts []api.Tag) []tags.Tag {
	out := make([]tags.Tag, len(ts))
	for i, t := range ts {
		out[i] = tags.Tag{Key: str(t.Key), Value: str(t.Value)}
	}
	return out
}

// instanceFields are DescribeInstances's filters.
var instanceFields = filter.Fields[tagged[instanceRecord]]{
	"instance-id":              field(func(r instanceRecord) *string { return r.InstanceId }),
	"image-id":                 field(func(r instanceRecord) *string { return r.ImageId }),
	"instance-type":            field(func(r instanceRecord) *string { return r.InstanceType }),
	"instance-state-name":      field(func(r instanceRecord) *string { return r.State.Name }),
	"instance-state-code":      func(t tagged[instanceRecord]) []string { return []string{fmt.Sprint(deref(t.item.State.Code))} },
	"availability-zone":        field(func(r instanceRecord) *string { return r.Placement.AvailabilityZone }),
	"placement-group-name":     field(func(r instanceRecord) *string { return r.Placement.GroupName }),
	"tenancy":                  field(func(r instanceRecord) *string { return r.Placement.Tenancy }),
	"subnet-id":                field(func(r instanceRecord) *string { return r.SubnetId }),
	"vpc-id":                   field(func(r instanceRecord) *string { return r.VpcId }),
	"private-ip-address":       field(func(r instanceRecord) *string { return r.PrivateIpAddress }),
	"ip-address":               field(func(r instanceRecord) *string { return r.PublicIpAddress }),
	"private-dns-name":         field(func(r instanceRecord) *string { return r.PrivateDnsName }),
	"dns-name":                 field(func(r instanceRecord) *string { return r.PublicDnsName }),
	"key-name":                 field(func(r instanceRecord) *string { return r.KeyName }),
	"architecture":             field(func(r instanceRecord) *string { return r.Architecture }),
	"reservation-id":           func(t tagged[instanceRecord]) []string { return []string{t.item.ReservationID} },
	"owner-id":                 func(t tagged[instanceRecord]) []string { return []string{strings.SplitN(t.id, "/", 2)[0]} },
	"instance-lifecycle":       field(func(r instanceRecord) *string { return r.InstanceLifecycle }),
	"spot-instance-request-id": field(func(r instanceRecord) *string { return r.SpotInstanceRequestId }),
	"client-token":             field(func(r instanceRecord) *string { return r.ClientToken }),
	"launch-index":             func(t tagged[instanceRecord]) []string { return []string{fmt.Sprint(deref(t.item.AmiLaunchIndex))} },
	"root-device-type":         field(func(r instanceRecord) *string { return r.RootDeviceType }),
	"root-device-name":         field(func(r instanceRecord) *string { return r.RootDeviceName }),
	"monitoring-state":         field(func(r instanceRecord) *string { return r.Monitoring.State }),
	"iam-instance-profile.arn": func(t tagged[instanceRecord]) []string {
		if p := t.item.IamInstanceProfile; p != nil {
			return []string{str(p.Arn)}
		}
		return nil
	},
	"instance.group-id": func(t tagged[instanceRecord]) []string {
		var out []string
		for _, g := range t.item.SecurityGroups {
			out = append(out, str(g.GroupId))
		}
		return out
	},
	"instance.group-name": func(t tagged[instanceRecord]) []string {
		var out []string
		for _, g := range t.item.SecurityGroups {
			out = append(out, str(g.GroupName))
		}
		return out
	},
	"metadata-options.http-tokens":   field(func(r instanceRecord) *string { return r.MetadataOptions.HttpTokens }),
	"metadata-options.http-endpoint": field(func(r instanceRecord) *string { return r.MetadataOptions.HttpEndpoint }),
}

func init() {
	// EC2 accepts the group filters without their "instance." prefix too.
	instanceFields["group-id"] = instanceFields["instance.group-id"]
	instanceFields["group-name"] = instanceFields["instance.group-name"]
	instanceFields["network-interface.addresses.private-ip-address"] = instanceFields["private-ip-address"]
}

// DescribeInstances lists instances, grouped by reservation as EC2 groups
// them. Terminated instances stay visible for an hour.
func (s *Service) DescribeInstances(ctx context.Context, in *api.DescribeInstancesInput) (*api.DescribeInstancesOutput, error) {
	sc := scopeOf(ctx)
	if err := s.seed(sc); err != nil {
		return nil, err
	}
	if len(in.InstanceIds) > 0 && in.MaxResults != nil {
		return nil, invalidParameterCombination("The parameter instancesSet cannot be used with the parameter maxResults")
	}
	for _, id := range in.InstanceIds {
		if !strings.HasPrefix(id, "i-") {
			return nil, malformed("InvalidInstanceID.Malformed", id, "i")
		}
	}
	found, next, err := describe(s, sc, instanceKind, func(r instanceRecord) string { return r.id() }, in.InstanceIds, in.Filters, instanceFields, in.MaxResults, in.NextToken)
	if err != nil {
		return nil, err
	}
	out := &api.DescribeInstancesOutput{Reservations: []api.Reservation{}, NextToken: next}
	index := map[string]int{}
	for _, t := range found {
		inst := t.item.Instance
		inst.Tags = t.tags
		i, ok := index[t.item.ReservationID]
		if !ok {
			i = len(out.Reservations)
			index[t.item.ReservationID] = i
			out.Reservations = append(out.Reservations, api.Reservation{
				ReservationId: ptr(t.item.ReservationID), OwnerId: ptr(sc.account), Groups: []api.GroupIdentifier{},
			})
		}
		out.Reservations[i].Instances = append(out.Reservations[i].Instances, inst)
	}
	return out, nil
}
