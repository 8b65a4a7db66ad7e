package ec2

import (
	api "github.com/nephele-dev/nephele/internal/api/ec2"
	"github.com/nephele-dev/nephele/internal/awsid"
)

var securityGroupKind = register(kind{prefix: "sg", resourceType: "security-group", bucket: "ec2/securitygroups"})

// securityGroupRecord is a stored security group (without tags). Rules are
// stored and described, not enforced.
type securityGroupRecord struct {
	api.SecurityGroup
}

// newDefaultSecurityGroup makes the security group every VPC is created
// with: named "default", allowing all traffic from its own members and all
// traffic out.
func newDefaultSecurityGroup(sc scope, vpcID string) securityGroupRecord {
	id := awsid.New("sg")
	return securityGroupRecord{SecurityGroup: api.SecurityGroup{
		GroupId:          ptr(id),
		GroupName:        ptr("default"),
		Description:      ptr("default VPC security group"),
		VpcId:            ptr(vpcID),
		OwnerId:          ptr(sc.account),
		SecurityGroupArn: ptr(sc.arn("security-group", id)),
		IpPermissions: []api.IpPermission{{
			IpProtocol:       ptr("-1"),
			UserIdGroupPairs: []api.UserIdGroupPair{{GroupId: ptr(id), UserId: ptr(sc.account)}},
			IpRanges:         []api.IpRange{},
			Ipv6Ranges:       []api.Ipv6Range{},
			PrefixListIds:    []api.PrefixListId{},
		}},
		IpPermissionsEgress: []api.IpPermission{{
			IpProtocol:       ptr("-1"),
			IpRanges:         []api.IpRange{{CidrIp: ptr("0.0.0.0/0")}},
			UserIdGroupPairs: []api.UserIdGroupPair{},
			Ipv6Ranges:       []api.Ipv6Range{},
			PrefixListIds:    []api.PrefixListId{},
		}},
	}}
}
