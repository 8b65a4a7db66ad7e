package elbv2

import (
	"context"
	"net/netip"
	"slices"
	"strings"

	ec2api "github.com/nephele-dev/nephele/internal/api/ec2"
	"github.com/nephele-dev/nephele/internal/awserr"
)

// What ELBv2 asks of EC2, with EC2's answers turned into ELBv2's errors.

// ec2NotFound reports whether an EC2 error is one of its *.NotFound or
// *.Malformed codes: an ID the caller gave that does not exist.
func ec2NotFound(err error) bool {
	code := awserr.As(err).Code
	return strings.HasSuffix(code, ".NotFound") || strings.HasSuffix(code, ".Malformed")
}

// resolveSubnets reads the subnets a load balancer is given, by ID or by
// mapping, and checks AWS's rules: all in one VPC, one per Availability
// Zone, at least two zones for an ALB.
func (s *Service) resolveSubnets(ctx context.Context, lbType string, ids []string, mappings []subnetMapping) ([]zoneRecord, string, error) {
	if len(ids) > 0 && len(mappings) > 0 {
		return nil, "", validation("You can specify subnets or subnet mappings, not both")
	}
	for _, m := range mappings {
		ids = append(ids, m.SubnetID)
	}
	if len(ids) == 0 {
		return nil, "", validation("At least one subnet must be specified")
	}
	out, err := s.opts.Compute.DescribeSubnets(ctx, &ec2api.DescribeSubnetsInput{SubnetIds: ids})
	if err != nil {
		if ec2NotFound(err) {
			return nil, "", apiErr("SubnetNotFound", "The subnet ID '%s' is not valid", notFoundID(err, ids))
		}
		return nil, "", err
	}
	byID := map[string]ec2api.Subnet{}
	for _, sn := range out.Subnets {
		byID[str(sn.SubnetId)] = sn
	}
	var zones []zoneRecord
	vpc := ""
	for _, id := range ids {
		sn, ok := byID[id]
		if !ok {
			return nil, "", apiErr("SubnetNotFound", "The subnet ID '%s' is not valid", id)
		}
		if vpc != "" && str(sn.VpcId) != vpc {
			return nil, "", invalidConfig("Subnets can only be associated with one VPC")
		}
		vpc = str(sn.VpcId)
		az := str(sn.AvailabilityZone)
		for _, z := range zones {
			if z.Zone == az {
				return nil, "", invalidConfig("Only one subnet per Availability Zone is allowed; '%s' and '%s' are both in '%s'", z.Subnet, id, az)
			}
		}
		zones = append(zones, zoneRecord{Zone: az, ZoneID: str(sn.AvailabilityZoneId), Subnet: id})
	}
	if lbType == "application" && len(zones) < 2 {
		return nil, "", validation("At least two subnets in two different Availability Zones must be specified")
	}
	slices.SortFunc(zones, func(a, b zoneRecord) int { return strings.Compare(a.Zone, b.Zone) })
	return zones, vpc, nil
}

// subnetMapping is the part of a SubnetMapping nephele uses.
type subnetMapping struct{ SubnetID string }

// notFoundID picks the ID an EC2 NotFound error names, else the first.
func notFoundID(err error, ids []string) string {
	msg := awserr.As(err).Message
	for _, id := range ids {
		if strings.Contains(msg, id) {
			return id
		}
	}
	return ids[0]
}

// resolveSecurityGroups checks a load balancer's security groups exist in
// its VPC. An ALB given none gets the VPC's default group, as AWS does.
func (s *Service) resolveSecurityGroups(ctx context.Context, lbType, vpc string, ids []string) ([]string, error) {
	if len(ids) == 0 {
		if lbType != "application" {
			return nil, nil
		}
		out, err := s.opts.Compute.DescribeSecurityGroups(ctx, &ec2api.DescribeSecurityGroupsInput{Filters: []ec2api.Filter{
			{Name: ptr("vpc-id"), Values: []string{vpc}}, {Name: ptr("group-name"), Values: []string{"default"}},
		}})
		if err != nil {
			return nil, err
		}
		for _, g := range out.SecurityGroups {
			return []string{str(g.GroupId)}, nil
		}
		return nil, nil
	}
	out, err := s.opts.Compute.DescribeSecurityGroups(ctx, &ec2api.DescribeSecurityGroupsInput{GroupIds: ids})
	if err != nil {
		if ec2NotFound(err) {
			return nil, apiErr("InvalidSecurityGroup", "One or more security groups are invalid")
		}
		return nil, err
	}
	for _, g := range out.SecurityGroups {
		if str(g.VpcId) != vpc {
			return nil, apiErr("InvalidSecurityGroup", "Security group '%s' does not belong to VPC '%s'", str(g.GroupId), vpc)
		}
	}
	return slices.Compact(slices.Sorted(slices.Values(ids))), nil
}

// vpcCIDR returns a VPC's IPv4 CIDR blocks, or ok false if it does not
// exist.
func (s *Service) vpcCIDR(ctx context.Context, vpc string) (blocks []netip.Prefix, ok bool, err error) {
	out, err := s.opts.Compute.DescribeVpcs(ctx, &ec2api.DescribeVpcsInput{VpcIds: []string{vpc}})
	if err != nil {
		if ec2NotFound(err) {
			return nil, false, nil
		}
		return nil, false, err
	}
	for _, v := range out.Vpcs {
		for _, a := range v.CidrBlockAssociationSet {
			if p, err := netip.ParsePrefix(str(a.CidrBlock)); err == nil {
				blocks = append(blocks, p)
			}
		}
		if p, err := netip.ParsePrefix(str(v.CidrBlock)); err == nil && !slices.Contains(blocks, p) {
			blocks = append(blocks, p)
		}
		return blocks, true, nil
	}
	return nil, false, nil
}

// instanceInfo is what a target needs to know of an instance.
type instanceInfo struct {
	ID, State, VpcID, Zone, IP string
}

// instances describes instances by ID; IDs EC2 does not know are absent
// from the map.
func (s *Service) instances(ctx context.Context, ids []string) (map[string]instanceInfo, error) {
	out := map[string]instanceInfo{}
	if len(ids) == 0 {
		return out, nil
	}
	res, err := s.opts.Compute.DescribeInstances(ctx, &ec2api.DescribeInstancesInput{
		Filters: []ec2api.Filter{{Name: ptr("instance-id"), Values: slices.Compact(slices.Sorted(slices.Values(ids)))}},
	})
	if err != nil {
		return nil, err
	}
	for _, r := range res.Reservations {
		for _, i := range r.Instances {
			info := instanceInfo{ID: str(i.InstanceId), VpcID: str(i.VpcId), IP: str(i.PrivateIpAddress)}
			if i.State != nil {
				info.State = str(i.State.Name)
			}
			if i.Placement != nil {
				info.Zone = str(i.Placement.AvailabilityZone)
			}
			out[info.ID] = info
		}
	}
	return out, nil
}

// subnetZone finds the Availability Zone of the VPC subnet holding ip,
// matching either the subnet's own block or its loopback image (EC2 gives
// instances the loopback image of their subnet address).
func (s *Service) subnetZone(ctx context.Context, vpc string, ip netip.Addr) (string, error) {
	out, err := s.opts.Compute.DescribeSubnets(ctx, &ec2api.DescribeSubnetsInput{
		Filters: []ec2api.Filter{{Name: ptr("vpc-id"), Values: []string{vpc}}},
	})
	if err != nil {
		return "", err
	}
	for _, sn := range out.Subnets {
		p, err := netip.ParsePrefix(str(sn.CidrBlock))
		if err != nil {
			continue
		}
		if p.Contains(ip) || p.Contains(fromLoopback(ip, p)) {
			return str(sn.AvailabilityZone), nil
		}
	}
	return "", nil
}

// fromLoopback undoes EC2's loopback mapping of an address of block p:
// 127.31.16.4 for a subnet 172.31.16.0/20 is 172.31.16.4.
func fromLoopback(ip netip.Addr, p netip.Prefix) netip.Addr {
	if !ip.Is4() || !p.Addr().Is4() || ip.As4()[0] != 127 {
		return ip
	}
	b := ip.As4()
	b[0] = p.Addr().As4()[0]
	return netip.AddrFrom4(b)
}

// toLoopback is EC2's loopback image of an address: what nephele dials
// for an IP target given by its VPC address.
func toLoopback(ip netip.Addr) netip.Addr {
	if !ip.Is4() {
		return ip
	}
	b := ip.As4()
	b[0] = 127
	return netip.AddrFrom4(b)
}
