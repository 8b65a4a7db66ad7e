package ec2

import (
	"context"
	"errors"
	"net/netip"
	"slices"
	"strings"

	api "github.com/nephele-dev/nephele/internal/api/ec2"
	"github.com/nephele-dev/nephele/internal/awserr"
	"github.com/nephele-dev/nephele/internal/awsid"
	"github.com/nephele-dev/nephele/internal/ec2/catalog"
	"github.com/nephele-dev/nephele/internal/filter"
	"github.com/nephele-dev/nephele/internal/page"
	"github.com/nephele-dev/nephele/internal/service"
	"github.com/nephele-dev/nephele/internal/store"
)

var (
	vpcKind    = register(kind{prefix: "vpc", resourceType: "vpc", bucket: "ec2/vpcs"})
	subnetKind = register(kind{prefix: "subnet", resourceType: "subnet", bucket: "ec2/subnets"})
)

// vpcRecord is a stored VPC: its API shape (without tags) and the DNS
// attributes DescribeVpcAttribute reports.
type vpcRecord struct {
	api.Vpc
	DNSSupport   bool
	DNSHostnames bool
	// NetworkAddressUsageMetrics is enableNetworkAddressUsageMetrics,
	// off unless turned on.
	NetworkAddressUsageMetrics bool
}

// subnetRecord is a stored subnet (without tags).
type subnetRecord struct {
	api.Subnet
}

func (s *Service) vpcOperations() []service.Operation {
	return []service.Operation{
		service.Handle("CreateVpc", s.CreateVpc),
		service.Handle("DeleteVpc", s.DeleteVpc),
		service.Handle("DescribeVpcs", s.DescribeVpcs),
		service.Handle("DescribeVpcAttribute", s.DescribeVpcAttribute),
		service.Handle("ModifyVpcAttribute", s.ModifyVpcAttribute),
		service.Handle("CreateSubnet", s.CreateSubnet),
		service.Handle("DeleteSubnet", s.DeleteSubnet),
		service.Handle("DescribeSubnets", s.DescribeSubnets),
		service.Handle("ModifySubnetAttribute", s.ModifySubnetAttribute),
		service.Handle("DescribeAccountAttributes", s.DescribeAccountAttributes),
	}
}

// loadVPC reads a VPC, or fails with InvalidVpcID.NotFound.
func loadVPC(tx store.Tx, sc scope, id string) (vpcRecord, error) {
	var v vpcRecord
	err := tx.Get(vpcKind.bucket, sc.key(id), &v)
	if errors.Is(err, store.ErrNotFound) {
		return v, notFound("InvalidVpcID.NotFound", "vpc", id)
	}
	return v, err
}

// loadSubnet reads a subnet, or fails with InvalidSubnetID.NotFound.
func loadSubnet(tx store.Tx, sc scope, id string) (subnetRecord, error) {
	var sn subnetRecord
	err := tx.Get(subnetKind.bucket, sc.key(id), &sn)
	if errors.Is(err, store.ErrNotFound) {
		return sn, notFound("InvalidSubnetID.NotFound", "subnet", id)
	}
	return sn, err
}

// listAll decodes every record of a bucket in scope, in ID order.
func listAll[T any](tx store.Tx, sc scope, bucket string) ([]T, error) {
	var out []T
	err := tx.ForEach(bucket, sc.prefix(), func(_ string, decode func(any) error) error {
		var v T
		if err := decode(&v); err != nil {
			return err
		}
		out = append(out, v)
		return nil
	})
	return out, err
}

// findIn returns the first record of a bucket in scope, in ID order, that
// match accepts, for lookups by a name that is not the key.
func findIn[R any](tx store.Tx, sc scope, bucket string, match func(R) bool) (R, bool, error) {
	recs, err := listAll[R](tx, sc, bucket)
	for _, r := range recs {
		if match(r) {
			return r, true, nil
		}
	}
	var zero R
	return zero, false, err
}

// tagged is a resource with its tags, for filtering and output.
type tagged[T any] struct {
	id   string
	item T
	tags []api.Tag
}

// describe is the common shape of EC2's Describe calls: the resources of a
// bucket, narrowed to the IDs asked for (every one must exist, or the
// kind's NotFound error names those that do not), filtered, and paged by
// ID with MaxResults (between 5 and 1000 when given) and NextToken.
func describe[R any](s *Service, sc scope, k kind, idOf func(R) string, ids []string, filters []api.Filter,
	fields filter.Fields[tagged[R]], maxResults *int32, token *string) ([]tagged[R], *string, error) {
	var all []tagged[R]
	err := s.st.View(func(tx store.Tx) error {
		recs, err := listAll[R](tx, sc, k.bucket)
		if err != nil {
			return err
		}
		for _, r := range recs {
			ts, err := readTags(tx, sc, idOf(r))
			if err != nil {
				return err
			}
			all = append(all, tagged[R]{id: idOf(r), item: r, tags: ts})
		}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	return narrow(all, ids, func(missing []string) error { return notFound(notFoundCode(k), nounOf(k), missing...) },
		filters, fields, maxResults, token)
}

// withNames returns ids and the IDs of the resources names name, for the
// Describe calls that take names as well as IDs (key pairs, security and
// placement groups). A name of nothing fails with load's error.
func withNames[R any](s *Service, sc scope, ids, names []string, load func(store.Tx, scope, string) (R, error), idOf func(R) string) ([]string, error) {
	ids = slices.Clone(ids)
	if len(names) == 0 {
		return ids, nil
	}
	err := s.st.View(func(tx store.Tx) error {
		for _, name := range names {
			r, err := load(tx, sc, name)
			if err != nil {
				return err
			}
			ids = append(ids, idOf(r))
		}
		return nil
	})
	return ids, err
}

// narrow is the second half of a Describe call, for resources however they
// were read: the IDs asked for (every one must exist, or missing names
// the error), the filters (tag filters included), and a page of at most
// MaxResults (5 to 1000 when given) after NextToken, in ID order.
func narrow[R any](all []tagged[R], ids []string, missing func([]string) error, filters []api.Filter,
	fields filter.Fields[tagged[R]], maxResults *int32, token *string) ([]tagged[R], *string, error) {
	if len(ids) > 0 {
		var absent []string
		for _, id := range ids {
			if !slices.ContainsFunc(all, func(t tagged[R]) bool { return t.id == id }) {
				absent = append(absent, id)
			}
		}
		if len(absent) > 0 {
			return nil, nil, missing(absent)
		}
		all = slices.DeleteFunc(all, func(t tagged[R]) bool { return !slices.Contains(ids, t.id) })
	}
	return filterAndPage(all, filters, fields, func(t tagged[R]) map[string]string { return tagMap(t.tags) },
		func(t tagged[R]) string { return t.id }, maxResults, token)
}

// filterAndPage applies a Describe call's filters (tag filters through
// tagsOf, which may be nil) and returns the page of at most MaxResults (5
// to 1000 when given) after NextToken, in key order.
func filterAndPage[T any](items []T, filters []api.Filter, fields filter.Fields[T], tagsOf func(T) map[string]string,
	key func(T) string, maxResults *int32, token *string) ([]T, *string, error) {
	matched, err := filter.Apply(items, toFilters(filters), fields, tagsOf)
	if err != nil {
		return nil, nil, err
	}
	if maxResults != nil && (*maxResults < 5 || *maxResults > 1000) {
		return nil, nil, invalidParameterValue("Value ( %d ) for parameter maxResults is invalid. Expecting a value between 5 and 1000.", *maxResults)
	}
	out, next, err := page.ByKey(matched, key, str(token), int(deref(maxResults)), 0, 1000)
	if err != nil {
		return nil, nil, pageError(err, str(token), 1000)
	}
	return out, optional(next), nil
}

// field builds a filter field from one string member.
func field[R any](get func(R) *string) func(tagged[R]) []string {
	return func(t tagged[R]) []string {
		if v := get(t.item); v != nil {
			return []string{*v}
		}
		return nil
	}
}

// boolField builds a filter field from a bool member ("true"/"false").
func boolField[R any](get func(R) *bool) func(tagged[R]) []string {
	return func(t tagged[R]) []string {
		if boolean(get(t.item)) {
			return []string{"true"}
		}
		return []string{"false"}
	}
}

var vpcFields = filter.Fields[tagged[vpcRecord]]{
	"vpc-id":                            field(func(v vpcRecord) *string { return v.VpcId }),
	"cidr":                              field(func(v vpcRecord) *string { return v.CidrBlock }),
	"cidr-block-association.cidr-block": field(func(v vpcRecord) *string { return v.CidrBlock }),
	"dhcp-options-id":                   field(func(v vpcRecord) *string { return v.DhcpOptionsId }),
	"is-default":                        boolField(func(v vpcRecord) *bool { return v.IsDefault }),
	// The older camel-case name, which EC2 still accepts and terraform's
	// data "aws_vpc" { default = true } sends.
	"isDefault":        boolField(func(v vpcRecord) *bool { return v.IsDefault }),
	"owner-id":         field(func(v vpcRecord) *string { return v.OwnerId }),
	"state":            field(func(v vpcRecord) *string { return v.State }),
	"instance-tenancy": field(func(v vpcRecord) *string { return v.InstanceTenancy }),
}

// DescribeVpcs lists the region's VPCs.
func (s *Service) DescribeVpcs(ctx context.Context, in *api.DescribeVpcsInput) (*api.DescribeVpcsOutput, error) {
	sc := scopeOf(ctx)
	if err := s.seed(sc); err != nil {
		return nil, err
	}
	found, next, err := describe(s, sc, vpcKind, func(v vpcRecord) string { return str(v.VpcId) }, in.VpcIds, in.Filters, vpcFields, in.MaxResults, in.NextToken)
	if err != nil {
		return nil, err
	}
	out := &api.DescribeVpcsOutput{Vpcs: []api.Vpc{}, NextToken: next}
	for _, t := range found {
		v := t.item.Vpc
		v.Tags = t.tags
		out.Vpcs = append(out.Vpcs, v)
	}
	return out, nil
}

var subnetFields = filter.Fields[tagged[subnetRecord]]{
	"subnet-id":               field(func(v subnetRecord) *string { return v.SubnetId }),
	"subnet-arn":              field(func(v subnetRecord) *string { return v.SubnetArn }),
	"vpc-id":                  field(func(v subnetRecord) *string { return v.VpcId }),
	"availability-zone":       field(func(v subnetRecord) *string { return v.AvailabilityZone }),
	"availability-zone-id":    field(func(v subnetRecord) *string { return v.AvailabilityZoneId }),
	"availabilityZone":        field(func(v subnetRecord) *string { return v.AvailabilityZone }),
	"cidr-block":              field(func(v subnetRecord) *string { return v.CidrBlock }),
	"cidr":                    field(func(v subnetRecord) *string { return v.CidrBlock }),
	"cidrBlock":               field(func(v subnetRecord) *string { return v.CidrBlock }),
	"default-for-az":          boolField(func(v subnetRecord) *bool { return v.DefaultForAz }),
	"defaultForAz":            boolField(func(v subnetRecord) *bool { return v.DefaultForAz }),
	"map-public-ip-on-launch": boolField(func(v subnetRecord) *bool { return v.MapPublicIpOnLaunch }),
	"owner-id":                field(func(v subnetRecord) *string { return v.OwnerId }),
	"state":                   field(func(v subnetRecord) *string { return v.State }),
}

// DescribeSubnets lists the region's subnets.
func (s *Service) DescribeSubnets(ctx context.Context, in *api.DescribeSubnetsInput) (*api.DescribeSubnetsOutput, error) {
	sc := scopeOf(ctx)
	if err := s.seed(sc); err != nil {
		return nil, err
	}
	found, next, err := describe(s, sc, subnetKind, func(v subnetRecord) string { return str(v.SubnetId) }, in.SubnetIds, in.Filters, subnetFields, in.MaxResults, in.NextToken)
	if err != nil {
		return nil, err
	}
	out := &api.DescribeSubnetsOutput{Subnets: []api.Subnet{}, NextToken: next}
	for _, t := range found {
		sn := t.item.Subnet
		sn.Tags = t.tags
		out.Subnets = append(out.Subnets, sn)
	}
	return out, nil
}

// newVPC makes the record of a VPC with an IPv4 CIDR block.
func newVPC(sc scope, cidr netip.Prefix, isDefault bool, dhcpOptionsID string) vpcRecord {
	id := awsid.New("vpc")
	return vpcRecord{
		Vpc: api.Vpc{
			VpcId:           ptr(id),
			CidrBlock:       ptr(cidr.String()),
			DhcpOptionsId:   ptr(dhcpOptionsID),
			InstanceTenancy: ptr("default"),
			IsDefault:       ptr(isDefault),
			OwnerId:         ptr(sc.account),
			State:           ptr("available"),
			CidrBlockAssociationSet: []api.VpcCidrBlockAssociation{{
				AssociationId:  ptr(awsid.New("vpc-cidr-assoc")),
				CidrBlock:      ptr(cidr.String()),
				CidrBlockState: &api.VpcCidrBlockState{State: ptr("associated")},
			}},
		},
		DNSSupport:   true,
		DNSHostnames: isDefault,
	}
}

// newSubnet makes the record of a subnet of vpcID in one Availability
// Zone. AWS reserves five addresses of every subnet (the first four and the
// last), which AvailableIpAddressCount leaves out.
func newSubnet(sc scope, vpcID string, cidr netip.Prefix, zone api.AvailabilityZone, isDefault bool) subnetRecord {
	id := awsid.New("subnet")
	return subnetRecord{Subnet: api.Subnet{
		SubnetId:                    ptr(id),
		SubnetArn:                   ptr(sc.arn("subnet", id)),
		VpcId:                       ptr(vpcID),
		CidrBlock:                   ptr(cidr.String()),
		AvailabilityZone:            zone.ZoneName,
		AvailabilityZoneId:          zone.ZoneId,
		AvailableIpAddressCount:     ptr(int32(1<<(32-cidr.Bits()) - 5)),
		DefaultForAz:                ptr(isDefault),
		MapPublicIpOnLaunch:         ptr(isDefault),
		MapCustomerOwnedIpOnLaunch:  ptr(false),
		AssignIpv6AddressOnCreation: ptr(false),
		Ipv6Native:                  ptr(false),
		EnableDns64:                 ptr(false),
		OwnerId:                     ptr(sc.account),
		State:                       ptr("available"),
		Ipv6CidrBlockAssociationSet: []api.SubnetIpv6CidrBlockAssociation{},
		PrivateDnsNameOptionsOnLaunch: &api.PrivateDnsNameOptionsOnLaunch{
			HostnameType:                    ptr("ip-name"),
			EnableResourceNameDnsARecord:    ptr(false),
			EnableResourceNameDnsAAAARecord: ptr(false),
		},
	}}
}

// maxVPCs is EC2's default quota of VPCs per Region, the default VPC
// included ("VPCs per Region", Amazon VPC quotas).
const maxVPCs = 5

// parseCIDR reads an IPv4 CIDR block of a request parameter; EC2 refuses
// one that is malformed or has host bits set.
func parseCIDR(param, cidr string) (netip.Prefix, error) {
	p, err := netip.ParsePrefix(cidr)
	if err != nil || !p.Addr().Is4() || p.Masked() != p {
		return netip.Prefix{}, invalidParameterValue("Value (%s) for parameter %s is invalid. This is not a valid CIDR block.", cidr, param)
	}
	return p, nil
}

// CreateVpc creates a VPC with an IPv4 CIDR block between /16 and /28.
// As in AWS, the VPC comes with its own default security group, shares the
// region's default DHCP options, and has DNS support on and DNS hostnames
// off.
func (s *Service) CreateVpc(ctx context.Context, in *api.CreateVpcInput) (*api.CreateVpcOutput, error) {
	sc := scopeOf(ctx)
	if err := s.seed(sc); err != nil {
		return nil, err
	}
	if in.CidrBlock == nil {
		if in.Ipv4IpamPoolId != nil {
			return nil, invalidParameterValue("IPAM pools are not supported; give CidrBlock")
		}
		return nil, missingParameter("Either 'cidrBlock' or 'ipv4IpamPoolId' should be provided.")
	}
	if boolean(in.AmazonProvidedIpv6CidrBlock) || in.Ipv6CidrBlock != nil || in.Ipv6IpamPoolId != nil || in.Ipv6Pool != nil {
		return nil, invalidParameterValue("IPv6 CIDR blocks are not supported by nephele; create the VPC with an IPv4 CidrBlock only.")
	}
	cidr, err := parseCIDR("cidrBlock", *in.CidrBlock)
	if err != nil {
		return nil, err
	}
	if cidr.Bits() < 16 || cidr.Bits() > 28 {
		return nil, awserr.BadRequest("InvalidVpc.Range", "The CIDR '%s' is invalid.", cidr)
	}
	tenancy := str(in.InstanceTenancy)
	switch tenancy {
	case "":
		tenancy = "default"
	case "default", "dedicated":
	default:
		return nil, invalidParameterValue("Value (%s) for parameter instanceTenancy is invalid. Valid values: default, dedicated.", tenancy)
	}
	tags, err := tagSpecTags(in.TagSpecifications, "vpc", "vpc")
	if err != nil {
		return nil, err
	}
	var vpc vpcRecord
	err = s.st.Update(func(tx store.Tx) error {
		vpcs, err := listAll[vpcRecord](tx, sc, vpcKind.bucket)
		if err != nil {
			return err
		}
		if len(vpcs) >= maxVPCs {
			return awserr.BadRequest("VpcLimitExceeded", "The maximum number of VPCs has been reached.")
		}
		dopt := ""
		for _, v := range vpcs {
			if boolean(v.IsDefault) {
				dopt = str(v.DhcpOptionsId)
			}
		}
		if dopt == "" {
			dopt = awsid.New("dopt")
		}
		vpc = newVPC(sc, cidr, false, dopt)
		vpc.InstanceTenancy = ptr(tenancy)
		id := str(vpc.VpcId)
		if err := tx.Put(vpcKind.bucket, sc.key(id), vpc); err != nil {
			return err
		}
		sg := newDefaultSecurityGroup(sc, id)
		if err := putSecurityGroup(tx, sc, sg); err != nil {
			return err
		}
		return addTags(tx, sc, id, tags)
	})
	if err != nil {
		return nil, err
	}
	out := vpc.Vpc
	out.Tags = nonNil(tags)
	return &api.CreateVpcOutput{Vpc: &out}, nil
}

// DeleteVpc deletes a VPC that has nothing left in it: EC2 refuses with
// DependencyViolation while it has subnets or security groups other than
// its default one, which goes with it.
func (s *Service) DeleteVpc(ctx context.Context, in *api.DeleteVpcInput) (*api.DeleteVpcOutput, error) {
	sc := scopeOf(ctx)
	if err := s.seed(sc); err != nil {
		return nil, err
	}
	id := str(in.VpcId)
	err := s.st.Update(func(tx store.Tx) error {
		if _, err := loadVPC(tx, sc, id); err != nil {
			return err
		}
		subnets, err := listAll[subnetRecord](tx, sc, subnetKind.bucket)
		if err != nil {
			return err
		}
		if slices.ContainsFunc(subnets, func(sn subnetRecord) bool { return str(sn.VpcId) == id }) {
			return dependencyViolation("The vpc '%s' has dependencies and cannot be deleted.", id)
		}
		groups, err := listAll[securityGroupRecord](tx, sc, securityGroupKind.bucket)
		if err != nil {
			return err
		}
		var defaultGroup *securityGroupRecord
		for i, g := range groups {
			if str(g.VpcId) != id {
				continue
			}
			if str(g.GroupName) != "default" {
				return dependencyViolation("The vpc '%s' has dependencies and cannot be deleted.", id)
			}
			defaultGroup = &groups[i]
		}
		if defaultGroup != nil {
			if err := removeSecurityGroup(tx, sc, *defaultGroup); err != nil {
				return err
			}
		}
		if err := tx.Delete(vpcKind.bucket, sc.key(id)); err != nil {
			return err
		}
		return writeTags(tx, sc, id, nil)
	})
	if err != nil {
		return nil, err
	}
	return &api.DeleteVpcOutput{}, nil
}

// dependencyViolation is DependencyViolation: a resource still in use.
func dependencyViolation(format string, args ...any) error {
	return awserr.BadRequest("DependencyViolation", format, args...)
}

// DescribeVpcAttribute reports one attribute of a VPC.
func (s *Service) DescribeVpcAttribute(ctx context.Context, in *api.DescribeVpcAttributeInput) (*api.DescribeVpcAttributeOutput, error) {
	sc := scopeOf(ctx)
	if err := s.seed(sc); err != nil {
		return nil, err
	}
	var v vpcRecord
	err := s.st.View(func(tx store.Tx) (err error) {
		v, err = loadVPC(tx, sc, str(in.VpcId))
		return err
	})
	if err != nil {
		return nil, err
	}
	out := &api.DescribeVpcAttributeOutput{VpcId: v.VpcId}
	switch str(in.Attribute) {
	case "enableDnsSupport":
		out.EnableDnsSupport = &api.AttributeBooleanValue{Value: ptr(v.DNSSupport)}
	case "enableDnsHostnames":
		out.EnableDnsHostnames = &api.AttributeBooleanValue{Value: ptr(v.DNSHostnames)}
	case "enableNetworkAddressUsageMetrics":
		out.EnableNetworkAddressUsageMetrics = &api.AttributeBooleanValue{Value: ptr(v.NetworkAddressUsageMetrics)}
	default:
		return nil, invalidParameterValue("Value (%s) for parameter attribute is invalid. Unknown attribute.", str(in.Attribute))
	}
	return out, nil
}

// ModifyVpcAttribute changes one attribute of a VPC; EC2 takes exactly one
// per request.
func (s *Service) ModifyVpcAttribute(ctx context.Context, in *api.ModifyVpcAttributeInput) (*api.ModifyVpcAttributeOutput, error) {
	sc := scopeOf(ctx)
	if err := s.seed(sc); err != nil {
		return nil, err
	}
	var given []string
	for name, v := range map[string]*api.AttributeBooleanValue{
		"enableDnsSupport": in.EnableDnsSupport, "enableDnsHostnames": in.EnableDnsHostnames,
		"enableNetworkAddressUsageMetrics": in.EnableNetworkAddressUsageMetrics,
	} {
		if v != nil {
			given = append(given, name)
		}
	}
	switch {
	case len(given) == 0:
		return nil, missingParameter("The request must contain exactly one attribute to modify.")
	case len(given) > 1:
		slices.Sort(given)
		return nil, invalidParameterCombination("Fields for multiple attribute types specified: %s", strings.Join(given, ", "))
	}
	err := s.st.Update(func(tx store.Tx) error {
		v, err := loadVPC(tx, sc, str(in.VpcId))
		if err != nil {
			return err
		}
		switch {
		case in.EnableDnsSupport != nil:
			v.DNSSupport = boolean(in.EnableDnsSupport.Value)
		case in.EnableDnsHostnames != nil:
			v.DNSHostnames = boolean(in.EnableDnsHostnames.Value)
		default:
			v.NetworkAddressUsageMetrics = boolean(in.EnableNetworkAddressUsageMetrics.Value)
		}
		return tx.Put(vpcKind.bucket, sc.key(str(v.VpcId)), v)
	})
	if err != nil {
		return nil, err
	}
	return &api.ModifyVpcAttributeOutput{}, nil
}

// CreateSubnet creates a subnet in a VPC. Its CIDR block must lie inside
// the VPC's, be between /16 and /28 (InvalidSubnet.Range) and overlap no
// other subnet of the VPC (InvalidSubnet.Conflict). Without an
// Availability Zone, EC2 picks one; here, the zone where the VPC has
// fewest subnets.
func (s *Service) CreateSubnet(ctx context.Context, in *api.CreateSubnetInput) (*api.CreateSubnetOutput, error) {
	sc := scopeOf(ctx)
	if err := s.seed(sc); err != nil {
		return nil, err
	}
	if in.CidrBlock == nil {
		if in.Ipv6Native != nil || in.Ipv4IpamPoolId != nil {
			return nil, invalidParameterValue("IPv6-only subnets and IPAM pools are not supported; give CidrBlock")
		}
		return nil, missingParameter("The request must contain the parameter cidrBlock")
	}
	cidr, err := parseCIDR("cidrBlock", *in.CidrBlock)
	if err != nil {
		return nil, err
	}
	if in.AvailabilityZone != nil && in.AvailabilityZoneId != nil {
		return nil, invalidParameterCombination("Only one of availabilityZone or availabilityZoneId can be specified")
	}
	tags, err := tagSpecTags(in.TagSpecifications, "subnet", "subnet")
	if err != nil {
		return nil, err
	}
	var zone *api.AvailabilityZone
	zones := catalog.AvailabilityZones(sc.region)
	if in.AvailabilityZone != nil || in.AvailabilityZoneId != nil {
		i := slices.IndexFunc(zones, func(z api.AvailabilityZone) bool {
			return str(z.ZoneName) == str(in.AvailabilityZone) || str(z.ZoneId) == str(in.AvailabilityZoneId)
		})
		if i < 0 {
			var names []string
			for _, z := range zones {
				names = append(names, str(z.ZoneName))
			}
			if in.AvailabilityZoneId != nil {
				return nil, invalidParameterValue("Value (%s) for parameter availabilityZoneId is invalid. Subnets can currently only be created in the following availability zones: %s.", str(in.AvailabilityZoneId), strings.Join(names, ", "))
			}
			return nil, invalidParameterValue("Value (%s) for parameter availabilityZone is invalid. Subnets can currently only be created in the following availability zones: %s.", str(in.AvailabilityZone), strings.Join(names, ", "))
		}
		zone = &zones[i]
	}
	var sn subnetRecord
	err = s.st.Update(func(tx store.Tx) error {
		vpc, err := loadVPC(tx, sc, str(in.VpcId))
		if err != nil {
			return err
		}
		vpcCIDR, err := netip.ParsePrefix(str(vpc.CidrBlock))
		if err != nil {
			return err
		}
		if cidr.Bits() < 16 || cidr.Bits() > 28 || cidr.Bits() < vpcCIDR.Bits() || !vpcCIDR.Contains(cidr.Addr()) {
			return awserr.BadRequest("InvalidSubnet.Range", "The CIDR '%s' is invalid.", cidr)
		}
		all, err := listAll[subnetRecord](tx, sc, subnetKind.bucket)
		if err != nil {
			return err
		}
		inZone := map[string]int{}
		for _, other := range all {
			if str(other.VpcId) != str(vpc.VpcId) {
				continue
			}
			inZone[str(other.AvailabilityZone)]++
			if p, err := netip.ParsePrefix(str(other.CidrBlock)); err == nil && p.Overlaps(cidr) {
				return awserr.BadRequest("InvalidSubnet.Conflict", "The CIDR '%s' conflicts with another subnet", cidr)
			}
		}
		if zone == nil {
			if len(zones) == 0 {
				return invalidParameterValue("Region '%s' has no Availability Zones.", sc.region)
			}
			zone = &zones[0]
			for i := range zones {
				if inZone[str(zones[i].ZoneName)] < inZone[str(zone.ZoneName)] {
					zone = &zones[i]
				}
			}
		}
		sn = newSubnet(sc, str(vpc.VpcId), cidr, *zone, false)
		if err := tx.Put(subnetKind.bucket, sc.key(str(sn.SubnetId)), sn); err != nil {
			return err
		}
		return addTags(tx, sc, str(sn.SubnetId), tags)
	})
	if err != nil {
		return nil, err
	}
	out := sn.Subnet
	out.Tags = nonNil(tags)
	return &api.CreateSubnetOutput{Subnet: &out}, nil
}

// DeleteSubnet deletes a subnet no instance is using (terminated ones
// aside); otherwise EC2 answers DependencyViolation.
func (s *Service) DeleteSubnet(ctx context.Context, in *api.DeleteSubnetInput) (*api.DeleteSubnetOutput, error) {
	sc := scopeOf(ctx)
	if err := s.seed(sc); err != nil {
		return nil, err
	}
	id := str(in.SubnetId)
	err := s.st.Update(func(tx store.Tx) error {
		if _, err := loadSubnet(tx, sc, id); err != nil {
			return err
		}
		refs, err := instanceRefs(tx, sc)
		if err != nil {
			return err
		}
		if slices.ContainsFunc(refs, func(r instanceRef) bool { return str(r.SubnetId) == id && !r.terminated() }) {
			return dependencyViolation("The subnet '%s' has dependencies and cannot be deleted.", id)
		}
		if err := tx.Delete(subnetKind.bucket, sc.key(id)); err != nil {
			return err
		}
		return writeTags(tx, sc, id, nil)
	})
	if err != nil {
		return nil, err
	}
	return &api.DeleteSubnetOutput{}, nil
}

// ModifySubnetAttribute changes the launch-time settings of a subnet:
// public IPv4 addresses, IPv6 assignment, DNS64 and the hostnames of the
// instances launched in it.
func (s *Service) ModifySubnetAttribute(ctx context.Context, in *api.ModifySubnetAttributeInput) (*api.ModifySubnetAttributeOutput, error) {
	sc := scopeOf(ctx)
	if err := s.seed(sc); err != nil {
		return nil, err
	}
	if t := in.PrivateDnsHostnameTypeOnLaunch; t != nil && *t != "ip-name" && *t != "resource-name" {
		return nil, invalidParameterValue("Value (%s) for parameter privateDnsHostnameTypeOnLaunch is invalid.", *t)
	}
	err := s.st.Update(func(tx store.Tx) error {
		sn, err := loadSubnet(tx, sc, str(in.SubnetId))
		if err != nil {
			return err
		}
		set := func(dst **bool, v *api.AttributeBooleanValue) {
			if v != nil {
				*dst = ptr(boolean(v.Value))
			}
		}
		set(&sn.MapPublicIpOnLaunch, in.MapPublicIpOnLaunch)
		set(&sn.MapCustomerOwnedIpOnLaunch, in.MapCustomerOwnedIpOnLaunch)
		set(&sn.EnableDns64, in.EnableDns64)
		if v := in.AssignIpv6AddressOnCreation; v != nil && boolean(v.Value) && len(sn.Ipv6CidrBlockAssociationSet) == 0 {
			return invalidParameterValue("Subnet '%s' has no IPv6 CIDR block; IPv6 addresses cannot be assigned on creation.", str(sn.SubnetId))
		}
		set(&sn.AssignIpv6AddressOnCreation, in.AssignIpv6AddressOnCreation)
		opts := sn.PrivateDnsNameOptionsOnLaunch
		if opts == nil {
			opts = &api.PrivateDnsNameOptionsOnLaunch{}
			sn.PrivateDnsNameOptionsOnLaunch = opts
		}
		if in.PrivateDnsHostnameTypeOnLaunch != nil {
			opts.HostnameType = in.PrivateDnsHostnameTypeOnLaunch
		}
		set(&opts.EnableResourceNameDnsARecord, in.EnableResourceNameDnsARecordOnLaunch)
		set(&opts.EnableResourceNameDnsAAAARecord, in.EnableResourceNameDnsAAAARecordOnLaunch)
		return tx.Put(subnetKind.bucket, sc.key(str(sn.SubnetId)), sn)
	})
	if err != nil {
		return nil, err
	}
	return &api.ModifySubnetAttributeOutput{}, nil
}

// DescribeAccountAttributes reports the account's EC2 attributes: VPC is
// the only platform, the region's default VPC (or "none" once it is
// deleted), and AWS's default limits. AttributeNames narrows the answer to
// supported-platforms and default-vpc, the two the API lets one ask for.
func (s *Service) DescribeAccountAttributes(ctx context.Context, in *api.DescribeAccountAttributesInput) (*api.DescribeAccountAttributesOutput, error) {
	sc := scopeOf(ctx)
	if err := s.seed(sc); err != nil {
		return nil, err
	}
	defaultVPC := "none"
	err := s.st.View(func(tx store.Tx) error {
		var r regionRecord
		if err := tx.Get(bucketRegions, sc.account+"/"+sc.region, &r); err != nil {
			return err
		}
		found, err := exists(tx, sc, vpcKind, r.DefaultVPC)
		if found {
			defaultVPC = r.DefaultVPC
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	all := []struct{ name, value string }{
		{"supported-platforms", "VPC"},
		{"vpc-max-security-groups-per-interface", "5"},
		{"max-elastic-ips", "5"},
		{"max-instances", "20"},
		{"vpc-max-elastic-ips", "5"},
		{"default-vpc", defaultVPC},
	}
	out := &api.DescribeAccountAttributesOutput{AccountAttributes: []api.AccountAttribute{}}
	for _, a := range all {
		if len(in.AttributeNames) > 0 && !slices.Contains(in.AttributeNames, a.name) {
			continue
		}
		out.AccountAttributes = append(out.AccountAttributes, api.AccountAttribute{
			AttributeName:   ptr(a.name),
			AttributeValues: []api.AccountAttributeValue{{AttributeValue: ptr(a.value)}},
		})
	}
	return out, nil
}

// bucketInstanceRefs is the bucket instances.go keeps instances in. The
// network resources read it only to refuse deleting what an instance
// uses.
//
// TODO(lead): replace with a helper exported by instances.go.
const bucketInstanceRefs = "ec2/instances"

// instanceRef is the part of a stored instance the network resources
// care about.
type instanceRef struct {
	InstanceId     *string
	SubnetId       *string
	State          *struct{ Name *string }
	SecurityGroups []struct{ GroupId *string }
	Placement      *struct {
		GroupName        *string
		AvailabilityZone *string
	}
}

// stateName is the instance's state, e.g. "running".
func (r instanceRef) stateName() string {
	if r.State == nil {
		return ""
	}
	return str(r.State.Name)
}

func (r instanceRef) terminated() bool { return r.stateName() == "terminated" }

// instanceRefs reads every instance of the scope.
func instanceRefs(tx store.Tx, sc scope) ([]instanceRef, error) {
	return listAll[instanceRef](tx, sc, bucketInstanceRefs)
}
