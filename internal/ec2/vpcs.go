package ec2

import (
	"context"
	"errors"
	"net/netip"
	"slices"

	api "github.com/nephele-dev/nephele/internal/api/ec2"
	"github.com/nephele-dev/nephele/internal/awsid"
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
}

// subnetRecord is a stored subnet (without tags).
type subnetRecord struct {
	api.Subnet
}

func (s *Service) vpcOperations() []service.Operation {
	return []service.Operation{
		service.Handle("DescribeVpcs", s.DescribeVpcs),
		service.Handle("DescribeSubnets", s.DescribeSubnets),
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
	if len(ids) > 0 {
		var missing []string
		for _, id := range ids {
			if !slices.ContainsFunc(all, func(t tagged[R]) bool { return t.id == id }) {
				missing = append(missing, id)
			}
		}
		if len(missing) > 0 {
			return nil, nil, notFound(notFoundCode(k), nounOf(k), missing...)
		}
		all = slices.DeleteFunc(all, func(t tagged[R]) bool { return !slices.Contains(ids, t.id) })
	}
	matched, err := filter.Apply(all, toFilters(filters), fields, func(t tagged[R]) map[string]string { return tagMap(t.tags) })
	if err != nil {
		return nil, nil, err
	}
	if maxResults != nil && (*maxResults < 5 || *maxResults > 1000) {
		return nil, nil, invalidParameterValue("Value ( %d ) for parameter maxResults is invalid. Expecting a value between 5 and 1000.", *maxResults)
	}
	out, next, err := page.ByKey(matched, func(t tagged[R]) string { return t.id }, str(token), int(deref(maxResults)), 0, 1000)
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
	"owner-id":                          field(func(v vpcRecord) *string { return v.OwnerId }),
	"state":                             field(func(v vpcRecord) *string { return v.State }),
	"instance-tenancy":                  field(func(v vpcRecord) *string { return v.InstanceTenancy }),
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
