package ec2

import (
	"strconv"
	"strings"
	"testing"

	api "github.com/nephele-dev/nephele/internal/api/ec2"
	"github.com/nephele-dev/nephele/internal/store"
)

// sshFromAnywhere is an inbound rule for SSH from any IPv4 address.
func sshFromAnywhere(description string) api.IpPermission {
	return api.IpPermission{IpProtocol: ptr("tcp"), FromPort: ptr(int32(22)), ToPort: ptr(int32(22)),
		IpRanges: []api.IpRange{{CidrIp: ptr("0.0.0.0/0"), Description: optional(description)}}}
}

// describeGroup returns one security group.
func (f *netFixture) describeGroup(id string) api.SecurityGroup {
	f.t.Helper()
	out, err := f.svc.DescribeSecurityGroups(f.ctx, &api.DescribeSecurityGroupsInput{GroupIds: []string{id}})
	f.must(err)
	return out.SecurityGroups[0]
}

func TestCreateSecurityGroup(t *testing.T) {
	f := newNetFixture(t)
	out, err := f.svc.CreateSecurityGroup(f.ctx, &api.CreateSecurityGroupInput{GroupName: ptr("web"), Description: ptr("Web servers"),
		TagSpecifications: []api.TagSpecification{{ResourceType: ptr("security-group"), Tags: []api.Tag{{Key: ptr("Name"), Value: ptr("web")}}}}})
	f.must(err)
	if !strings.HasPrefix(str(out.GroupId), "sg-") || !strings.HasSuffix(str(out.SecurityGroupArn), ":security-group/"+str(out.GroupId)) || len(out.Tags) != 1 {
		t.Fatalf("CreateSecurityGroup = %+v", out)
	}
	g := f.describeGroup(str(out.GroupId))
	if str(g.VpcId) != f.defaultVPC() || str(g.OwnerId) != netAccount || len(g.IpPermissions) != 0 || len(g.Tags) != 1 {
		t.Fatalf("new group = %+v, want it in the default VPC without inbound rules", g)
	}
	if len(g.IpPermissionsEgress) != 1 || str(g.IpPermissionsEgress[0].IpProtocol) != "-1" || str(g.IpPermissionsEgress[0].IpRanges[0].CidrIp) != "0.0.0.0/0" {
		t.Fatalf("egress = %+v, want EC2's default allow-all rule", g.IpPermissionsEgress)
	}

	vpc := f.createVPC("10.0.0.0/16")
	f.createGroup(vpc, "web") // the same name in another VPC is fine
	tests := []struct {
		name string
		in   api.CreateSecurityGroupInput
		code string
	}{
		{"duplicate_name", api.CreateSecurityGroupInput{GroupName: ptr("web"), Description: ptr("again")}, "InvalidGroup.Duplicate"},
		{"duplicate_name_in_vpc", api.CreateSecurityGroupInput{GroupName: ptr("web"), Description: ptr("again"), VpcId: ptr(vpc)}, "InvalidGroup.Duplicate"},
		{"sg_prefix", api.CreateSecurityGroupInput{GroupName: ptr("sg-web"), Description: ptr("d")}, "InvalidParameterValue"},
		{"reserved_default", api.CreateSecurityGroupInput{GroupName: ptr("default"), Description: ptr("d")}, "InvalidGroup.Reserved"},
		{"empty_description", api.CreateSecurityGroupInput{GroupName: ptr("x"), Description: ptr("")}, "InvalidParameterValue"},
		{"bad_characters", api.CreateSecurityGroupInput{GroupName: ptr("wéb"), Description: ptr("d")}, "InvalidParameterValue"},
		{"no_such_vpc", api.CreateSecurityGroupInput{GroupName: ptr("x"), Description: ptr("d"), VpcId: ptr("vpc-0123456789abcdef0")}, "InvalidVpcID.NotFound"},
		{"tags_for_another_type", api.CreateSecurityGroupInput{GroupName: ptr("x"), Description: ptr("d"), TagSpecifications: []api.TagSpecification{{ResourceType: ptr("vpc")}}}, "InvalidParameterValue"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := f.svc.CreateSecurityGroup(f.ctx, &tt.in)
			f.wantCode(err, tt.code)
			if tt.code == "InvalidGroup.Duplicate" && !strings.Contains(err.Error(), "already exists for VPC 'vpc-") {
				t.Errorf("message = %v", err)
			}
		})
	}
}

func TestDescribeSecurityGroups(t *testing.T) {
	f := newNetFixture(t)
	web := f.createGroup("", "web")
	db := f.createGroup("", "db")
	_, err := f.svc.AuthorizeSecurityGroupIngress(f.ctx, &api.AuthorizeSecurityGroupIngressInput{GroupId: ptr(db), IpPermissions: []api.IpPermission{
		{IpProtocol: ptr("tcp"), FromPort: ptr(int32(5432)), ToPort: ptr(int32(5432)), UserIdGroupPairs: []api.UserIdGroupPair{{GroupId: ptr(web)}}},
	}})
	f.must(err)
	byName, err := f.svc.DescribeSecurityGroups(f.ctx, &api.DescribeSecurityGroupsInput{GroupNames: []string{"db"}})
	f.must(err)
	if len(byName.SecurityGroups) != 1 || str(byName.SecurityGroups[0].GroupId) != db {
		t.Fatalf("GroupNames db = %+v", byName.SecurityGroups)
	}
	for _, tt := range []struct {
		filter, value string
		want          int
	}{
		{"group-name", "web", 1},
		{"group-name", "*", 3},
		{"vpc-id", f.defaultVPC(), 3},
		{"description", "test group *", 2},
		{"owner-id", netAccount, 3},
		{"ip-permission.from-port", "5432", 1},
		{"ip-permission.protocol", "tcp", 1},
		{"ip-permission.group-id", web, 1},
		{"egress.ip-permission.cidr", "0.0.0.0/0", 3},
		{"ip-permission.cidr", "0.0.0.0/0", 0},
	} {
		out, err := f.svc.DescribeSecurityGroups(f.ctx, &api.DescribeSecurityGroupsInput{Filters: []api.Filter{{Name: ptr(tt.filter), Values: []string{tt.value}}}})
		f.must(err)
		if len(out.SecurityGroups) != tt.want {
			t.Errorf("filter %s=%s found %d groups, want %d", tt.filter, tt.value, len(out.SecurityGroups), tt.want)
		}
	}
	_, err = f.svc.DescribeSecurityGroups(f.ctx, &api.DescribeSecurityGroupsInput{GroupIds: []string{"sg-0123456789abcdef0"}})
	f.wantCode(err, "InvalidGroup.NotFound")
	_, err = f.svc.DescribeSecurityGroups(f.ctx, &api.DescribeSecurityGroupsInput{GroupIds: []string{"web"}})
	f.wantCode(err, "InvalidGroupId.Malformed")
	_, err = f.svc.DescribeSecurityGroups(f.ctx, &api.DescribeSecurityGroupsInput{GroupNames: []string{"nope"}})
	f.wantCode(err, "InvalidGroup.NotFound")
	_, err = f.svc.DescribeSecurityGroups(f.ctx, &api.DescribeSecurityGroupsInput{Filters: []api.Filter{{Name: ptr("no-such-filter"), Values: []string{"x"}}}})
	f.wantCode(err, "InvalidParameterValue")
}

func TestAuthorizeSecurityGroupIngress(t *testing.T) {
	f := newNetFixture(t)
	web := f.createGroup("", "web")
	out, err := f.svc.AuthorizeSecurityGroupIngress(f.ctx, &api.AuthorizeSecurityGroupIngressInput{GroupId: ptr(web), IpPermissions: []api.IpPermission{
		sshFromAnywhere("ssh"),
		{IpProtocol: ptr("6"), FromPort: ptr(int32(80)), ToPort: ptr(int32(80)), IpRanges: []api.IpRange{{CidrIp: ptr("10.0.0.0/8")}, {CidrIp: ptr("192.168.0.0/16")}},
			Ipv6Ranges: []api.Ipv6Range{{CidrIpv6: ptr("::/0")}}, PrefixListIds: []api.PrefixListId{{PrefixListId: ptr("pl-12345678")}}},
		{IpProtocol: ptr("icmp"), FromPort: ptr(int32(8)), ToPort: ptr(int32(-1)), UserIdGroupPairs: []api.UserIdGroupPair{{GroupId: ptr(web), Description: ptr("self")}}},
	}, TagSpecifications: []api.TagSpecification{{ResourceType: ptr("security-group-rule"), Tags: []api.Tag{{Key: ptr("team"), Value: ptr("a")}}}}})
	f.must(err)
	if !boolean(out.Return) || len(out.SecurityGroupRules) != 6 {
		t.Fatalf("Authorize = %+v, want 6 rules", out)
	}
	r := out.SecurityGroupRules[0]
	if !strings.HasPrefix(str(r.SecurityGroupRuleId), "sgr-") || str(r.GroupId) != web || boolean(r.IsEgress) || str(r.CidrIpv4) != "0.0.0.0/0" ||
		str(r.Description) != "ssh" || deref(r.FromPort) != 22 || len(r.Tags) != 1 || str(r.GroupOwnerId) != netAccount {
		t.Errorf("first rule = %+v", r)
	}
	if str(out.SecurityGroupRules[1].IpProtocol) != "tcp" {
		t.Errorf("protocol 6 stored as %q, want tcp", str(out.SecurityGroupRules[1].IpProtocol))
	}

	g := f.describeGroup(web)
	if len(g.IpPermissions) != 3 {
		t.Fatalf("IpPermissions = %+v, want one per protocol and port range", g.IpPermissions)
	}
	http := g.IpPermissions[1]
	if len(http.IpRanges) != 2 || len(http.Ipv6Ranges) != 1 || len(http.PrefixListIds) != 1 || deref(http.FromPort) != 80 {
		t.Errorf("HTTP permission = %+v", http)
	}
	icmp := g.IpPermissions[2]
	if len(icmp.UserIdGroupPairs) != 1 || str(icmp.UserIdGroupPairs[0].GroupId) != web || str(icmp.UserIdGroupPairs[0].UserId) != netAccount {
		t.Errorf("ICMP permission = %+v", icmp)
	}

	// A rule's ID can be tagged like any resource.
	_, err = f.svc.CreateTags(f.ctx, &api.CreateTagsInput{Resources: []string{str(r.SecurityGroupRuleId)}, Tags: []api.Tag{{Key: ptr("k"), Value: ptr("v")}}})
	f.must(err)

	tests := []struct {
		name  string
		perms []api.IpPermission
		code  string
	}{
		{"duplicate", []api.IpPermission{sshFromAnywhere("other description")}, "InvalidPermission.Duplicate"},
		{"duplicate_in_request", []api.IpPermission{{IpProtocol: ptr("tcp"), FromPort: ptr(int32(1)), ToPort: ptr(int32(1)), IpRanges: []api.IpRange{{CidrIp: ptr("1.2.3.4/32")}, {CidrIp: ptr("1.2.3.4/32")}}}}, "InvalidPermission.Duplicate"},
		{"tcp_without_ports", []api.IpPermission{{IpProtocol: ptr("tcp"), IpRanges: []api.IpRange{{CidrIp: ptr("1.2.3.4/32")}}}}, "InvalidParameterValue"},
		{"ports_reversed", []api.IpPermission{{IpProtocol: ptr("tcp"), FromPort: ptr(int32(90)), ToPort: ptr(int32(80)), IpRanges: []api.IpRange{{CidrIp: ptr("1.2.3.4/32")}}}}, "InvalidParameterValue"},
		{"port_too_large", []api.IpPermission{{IpProtocol: ptr("udp"), FromPort: ptr(int32(1)), ToPort: ptr(int32(70000)), IpRanges: []api.IpRange{{CidrIp: ptr("1.2.3.4/32")}}}}, "InvalidParameterValue"},
		{"unknown_protocol", []api.IpPermission{{IpProtocol: ptr("tcpx"), IpRanges: []api.IpRange{{CidrIp: ptr("1.2.3.4/32")}}}}, "InvalidParameterValue"},
		{"no_protocol", []api.IpPermission{{IpRanges: []api.IpRange{{CidrIp: ptr("1.2.3.4/32")}}}}, "MissingParameter"},
		{"bad_cidr", []api.IpPermission{{IpProtocol: ptr("-1"), IpRanges: []api.IpRange{{CidrIp: ptr("1.2.3.4")}}}}, "InvalidParameterValue"},
		{"ipv6_in_ip_ranges", []api.IpPermission{{IpProtocol: ptr("-1"), IpRanges: []api.IpRange{{CidrIp: ptr("::/0")}}}}, "InvalidParameterValue"},
		{"no_such_peer_group", []api.IpPermission{{IpProtocol: ptr("-1"), UserIdGroupPairs: []api.UserIdGroupPair{{GroupId: ptr("sg-0123456789abcdef0")}}}}, "InvalidGroup.NotFound"},
		{"bad_prefix_list", []api.IpPermission{{IpProtocol: ptr("-1"), PrefixListIds: []api.PrefixListId{{PrefixListId: ptr("x")}}}}, "InvalidPrefixListId.Malformed"},
		{"no_source", []api.IpPermission{{IpProtocol: ptr("-1")}}, "MissingParameter"},
		{"no_permissions", nil, "MissingParameter"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := f.svc.AuthorizeSecurityGroupIngress(f.ctx, &api.AuthorizeSecurityGroupIngressInput{GroupId: ptr(web), IpPermissions: tt.perms})
			f.wantCode(err, tt.code)
		})
	}
	if n := len(f.describeGroup(web).IpPermissions); n != 3 {
		t.Errorf("failed requests changed the group: %d permissions", n)
	}

	_, err = f.svc.AuthorizeSecurityGroupIngress(f.ctx, &api.AuthorizeSecurityGroupIngressInput{GroupId: ptr("sg-0123456789abcdef0"), IpPermissions: []api.IpPermission{sshFromAnywhere("")}})
	f.wantCode(err, "InvalidGroup.NotFound")
	_, err = f.svc.AuthorizeSecurityGroupIngress(f.ctx, &api.AuthorizeSecurityGroupIngressInput{IpPermissions: []api.IpPermission{sshFromAnywhere("")}})
	f.wantCode(err, "MissingParameter")
	_, err = f.svc.AuthorizeSecurityGroupIngress(f.ctx, &api.AuthorizeSecurityGroupIngressInput{GroupId: ptr(web), CidrIp: ptr("1.1.1.1/32"), IpPermissions: []api.IpPermission{sshFromAnywhere("")}})
	f.wantCode(err, "InvalidParameterCombination")

	// The older top-level parameters, by group name (default VPC only).
	_, err = f.svc.AuthorizeSecurityGroupIngress(f.ctx, &api.AuthorizeSecurityGroupIngressInput{GroupName: ptr("web"), IpProtocol: ptr("tcp"),
		FromPort: ptr(int32(443)), ToPort: ptr(int32(443)), CidrIp: ptr("0.0.0.0/0")})
	f.must(err)
	if n := len(f.describeGroup(web).IpPermissions); n != 4 {
		t.Errorf("after the legacy form: %d permissions, want 4", n)
	}
}

func TestSecurityGroupRuleLimit(t *testing.T) {
	f := newNetFixture(t)
	web := f.createGroup("", "web")
	var ranges []api.IpRange
	for i := 0; i <= maxRulesPerDirection; i++ {
		ranges = append(ranges, api.IpRange{CidrIp: ptr("10.0." + strconv.Itoa(i) + ".0/24")})
	}
	_, err := f.svc.AuthorizeSecurityGroupIngress(f.ctx, &api.AuthorizeSecurityGroupIngressInput{GroupId: ptr(web),
		IpPermissions: []api.IpPermission{{IpProtocol: ptr("-1"), IpRanges: ranges}}})
	f.wantCode(err, "RulesPerSecurityGroupLimitExceeded")
}

// TestTerraformSecurityGroupFlow is what Terraform's aws_security_group
// does: create the group, revoke EC2's default egress rule (giving ports 0
// for protocol -1), then authorize the rules of the configuration.
func TestTerraformSecurityGroupFlow(t *testing.T) {
	f := newNetFixture(t)
	vpc := f.createVPC("10.0.0.0/16")
	sg := f.createGroup(vpc, "tf")
	allOut := api.IpPermission{IpProtocol: ptr("-1"), FromPort: ptr(int32(0)), ToPort: ptr(int32(0)), IpRanges: []api.IpRange{{CidrIp: ptr("0.0.0.0/0")}}}
	rev, err := f.svc.RevokeSecurityGroupEgress(f.ctx, &api.RevokeSecurityGroupEgressInput{GroupId: ptr(sg), IpPermissions: []api.IpPermission{allOut}})
	f.must(err)
	if !boolean(rev.Return) || len(rev.RevokedSecurityGroupRules) != 1 || len(rev.UnknownIpPermissions) != 0 {
		t.Fatalf("Revoke = %+v", rev)
	}
	if g := f.describeGroup(sg); len(g.IpPermissionsEgress) != 0 {
		t.Fatalf("egress after revoke = %+v", g.IpPermissionsEgress)
	}
	_, err = f.svc.AuthorizeSecurityGroupEgress(f.ctx, &api.AuthorizeSecurityGroupEgressInput{GroupId: ptr(sg), IpPermissions: []api.IpPermission{allOut}})
	f.must(err)
	_, err = f.svc.AuthorizeSecurityGroupIngress(f.ctx, &api.AuthorizeSecurityGroupIngressInput{GroupId: ptr(sg), IpPermissions: []api.IpPermission{sshFromAnywhere("ssh")}})
	f.must(err)
	g := f.describeGroup(sg)
	if len(g.IpPermissionsEgress) != 1 || g.IpPermissionsEgress[0].FromPort != nil || len(g.IpPermissions) != 1 ||
		str(g.IpPermissions[0].IpRanges[0].Description) != "ssh" {
		t.Fatalf("group = %+v", g)
	}
}

func TestRevokeSecurityGroupRules(t *testing.T) {
	f := newNetFixture(t)
	vpc := f.createVPC("10.0.0.0/16")
	custom := f.createGroup(vpc, "custom")
	inDefault := f.createGroup("", "web")
	for _, id := range []string{custom, inDefault} {
		_, err := f.svc.AuthorizeSecurityGroupIngress(f.ctx, &api.AuthorizeSecurityGroupIngressInput{GroupId: ptr(id), IpPermissions: []api.IpPermission{sshFromAnywhere("")}})
		f.must(err)
	}
	https := api.IpPermission{IpProtocol: ptr("tcp"), FromPort: ptr(int32(443)), ToPort: ptr(int32(443)), IpRanges: []api.IpRange{{CidrIp: ptr("0.0.0.0/0")}}}

	// Outside the default VPC, a rule that does not exist fails the
	// request and nothing is revoked.
	_, err := f.svc.RevokeSecurityGroupIngress(f.ctx, &api.RevokeSecurityGroupIngressInput{GroupId: ptr(custom), IpPermissions: []api.IpPermission{sshFromAnywhere(""), https}})
	f.wantCode(err, "InvalidPermission.NotFound")
	if len(f.describeGroup(custom).IpPermissions) != 1 {
		t.Fatal("a failed revoke removed a rule")
	}
	// In the default VPC it is reported instead.
	out, err := f.svc.RevokeSecurityGroupIngress(f.ctx, &api.RevokeSecurityGroupIngressInput{GroupId: ptr(inDefault), IpPermissions: []api.IpPermission{sshFromAnywhere("ignored"), https}})
	f.must(err)
	if len(out.RevokedSecurityGroupRules) != 1 || len(out.UnknownIpPermissions) != 1 || deref(out.UnknownIpPermissions[0].FromPort) != 443 {
		t.Fatalf("Revoke in the default VPC = %+v", out)
	}

	// By rule ID.
	rules, err := f.svc.DescribeSecurityGroupRules(f.ctx, &api.DescribeSecurityGroupRulesInput{Filters: []api.Filter{{Name: ptr("group-id"), Values: []string{custom}}}})
	f.must(err)
	if len(rules.SecurityGroupRules) != 2 {
		t.Fatalf("rules of the custom group = %+v", rules.SecurityGroupRules)
	}
	var ingress, egress string
	for _, r := range rules.SecurityGroupRules {
		if boolean(r.IsEgress) {
			egress = str(r.SecurityGroupRuleId)
		} else {
			ingress = str(r.SecurityGroupRuleId)
		}
	}
	_, err = f.svc.RevokeSecurityGroupIngress(f.ctx, &api.RevokeSecurityGroupIngressInput{GroupId: ptr(custom), SecurityGroupRuleIds: []string{egress}})
	f.wantCode(err, "InvalidSecurityGroupRuleId.NotFound")
	_, err = f.svc.RevokeSecurityGroupIngress(f.ctx, &api.RevokeSecurityGroupIngressInput{GroupId: ptr(custom), SecurityGroupRuleIds: []string{ingress}, IpPermissions: []api.IpPermission{https}})
	f.wantCode(err, "InvalidParameterCombination")
	_, err = f.svc.RevokeSecurityGroupIngress(f.ctx, &api.RevokeSecurityGroupIngressInput{GroupId: ptr(custom)})
	f.wantCode(err, "MissingParameter")
	_, err = f.svc.RevokeSecurityGroupIngress(f.ctx, &api.RevokeSecurityGroupIngressInput{GroupId: ptr(custom), SecurityGroupRuleIds: []string{ingress}})
	f.must(err)
	_, err = f.svc.RevokeSecurityGroupEgress(f.ctx, &api.RevokeSecurityGroupEgressInput{GroupId: ptr(custom), SecurityGroupRuleIds: []string{egress}})
	f.must(err)
	if g := f.describeGroup(custom); len(g.IpPermissions)+len(g.IpPermissionsEgress) != 0 {
		t.Fatalf("group after revoking by ID = %+v", g)
	}
	_, err = f.svc.DescribeSecurityGroupRules(f.ctx, &api.DescribeSecurityGroupRulesInput{SecurityGroupRuleIds: []string{ingress}})
	f.wantCode(err, "InvalidSecurityGroupRuleId.NotFound")
	_, err = f.svc.RevokeSecurityGroupEgress(f.ctx, &api.RevokeSecurityGroupEgressInput{IpPermissions: []api.IpPermission{https}})
	f.wantCode(err, "MissingParameter")
}

func TestDeleteSecurityGroup(t *testing.T) {
	f := newNetFixture(t)
	def := f.describeDefaultGroup()
	_, err := f.svc.DeleteSecurityGroup(f.ctx, &api.DeleteSecurityGroupInput{GroupId: ptr(def)})
	f.wantCode(err, "CannotDelete")
	_, err = f.svc.DeleteSecurityGroup(f.ctx, &api.DeleteSecurityGroupInput{})
	f.wantCode(err, "MissingParameter")
	_, err = f.svc.DeleteSecurityGroup(f.ctx, &api.DeleteSecurityGroupInput{GroupId: ptr("sg-0123456789abcdef0")})
	f.wantCode(err, "InvalidGroup.NotFound")
	_, err = f.svc.DeleteSecurityGroup(f.ctx, &api.DeleteSecurityGroupInput{GroupName: ptr("nope")})
	f.wantCode(err, "InvalidGroup.NotFound")

	web := f.createGroup("", "web")
	db := f.createGroup("", "db")
	// A group referring to itself can go; one another group refers to
	// cannot.
	for _, src := range []string{web, db} {
		_, err = f.svc.AuthorizeSecurityGroupIngress(f.ctx, &api.AuthorizeSecurityGroupIngressInput{GroupId: ptr(db), IpPermissions: []api.IpPermission{
			{IpProtocol: ptr("tcp"), FromPort: ptr(int32(5432)), ToPort: ptr(int32(5432)), UserIdGroupPairs: []api.UserIdGroupPair{{GroupId: ptr(src)}}},
		}})
		f.must(err)
	}
	_, err = f.svc.DeleteSecurityGroup(f.ctx, &api.DeleteSecurityGroupInput{GroupId: ptr(web)})
	f.wantCode(err, "DependencyViolation")

	app := f.createGroup("", "app")
	f.putInstance("terminated", "", []string{app}, "", "us-east-1a")
	running := f.putInstance("running", "", []string{app}, "", "us-east-1a")
	_, err = f.svc.DeleteSecurityGroup(f.ctx, &api.DeleteSecurityGroupInput{GroupName: ptr("app")})
	f.wantCode(err, "DependencyViolation")
	f.must(f.st.Update(func(tx store.Tx) error { return tx.Delete(bucketInstanceRefs, f.sc.key(running)) }))
	out, err := f.svc.DeleteSecurityGroup(f.ctx, &api.DeleteSecurityGroupInput{GroupName: ptr("app")})
	f.must(err)
	if str(out.GroupId) != app || !boolean(out.Return) {
		t.Errorf("DeleteSecurityGroup = %+v", out)
	}

	_, err = f.svc.DeleteSecurityGroup(f.ctx, &api.DeleteSecurityGroupInput{GroupId: ptr(db)})
	f.must(err)
	_, err = f.svc.DeleteSecurityGroup(f.ctx, &api.DeleteSecurityGroupInput{GroupId: ptr(web)})
	f.must(err)
	_, err = f.svc.DescribeSecurityGroups(f.ctx, &api.DescribeSecurityGroupsInput{GroupIds: []string{web}})
	f.wantCode(err, "InvalidGroup.NotFound")
}

// describeDefaultGroup is the ID of the default VPC's default group.
func (f *netFixture) describeDefaultGroup() string {
	f.t.Helper()
	out, err := f.svc.DescribeSecurityGroups(f.ctx, &api.DescribeSecurityGroupsInput{GroupNames: []string{"default"}})
	f.must(err)
	g := out.SecurityGroups[0]
	if len(g.IpPermissions) != 1 || str(g.IpPermissions[0].UserIdGroupPairs[0].GroupId) != str(g.GroupId) {
		f.t.Fatalf("default group = %+v, want all traffic from itself", g)
	}
	return str(g.GroupId)
}

func TestModifySecurityGroupRules(t *testing.T) {
	f := newNetFixture(t)
	web := f.createGroup("", "web")
	out, err := f.svc.AuthorizeSecurityGroupIngress(f.ctx, &api.AuthorizeSecurityGroupIngressInput{GroupId: ptr(web), IpPermissions: []api.IpPermission{sshFromAnywhere("")}})
	f.must(err)
	id := str(out.SecurityGroupRules[0].SecurityGroupRuleId)
	_, err = f.svc.ModifySecurityGroupRules(f.ctx, &api.ModifySecurityGroupRulesInput{GroupId: ptr(web), SecurityGroupRules: []api.SecurityGroupRuleUpdate{{
		SecurityGroupRuleId: ptr(id),
		SecurityGroupRule:   &api.SecurityGroupRuleRequest{IpProtocol: ptr("tcp"), FromPort: ptr(int32(2222)), ToPort: ptr(int32(2222)), CidrIpv4: ptr("10.0.0.0/8"), Description: ptr("moved")},
	}}})
	f.must(err)
	rules, err := f.svc.DescribeSecurityGroupRules(f.ctx, &api.DescribeSecurityGroupRulesInput{SecurityGroupRuleIds: []string{id}})
	f.must(err)
	r := rules.SecurityGroupRules[0]
	if deref(r.FromPort) != 2222 || str(r.CidrIpv4) != "10.0.0.0/8" || str(r.Description) != "moved" || boolean(r.IsEgress) {
		t.Fatalf("modified rule = %+v", r)
	}
	_, err = f.svc.ModifySecurityGroupRules(f.ctx, &api.ModifySecurityGroupRulesInput{GroupId: ptr(web), SecurityGroupRules: []api.SecurityGroupRuleUpdate{{
		SecurityGroupRuleId: ptr("sgr-0123456789abcdef0"), SecurityGroupRule: &api.SecurityGroupRuleRequest{IpProtocol: ptr("-1"), CidrIpv4: ptr("0.0.0.0/0")},
	}}})
	f.wantCode(err, "InvalidSecurityGroupRuleId.NotFound")

	// Descriptions, by properties and by ID.
	_, err = f.svc.UpdateSecurityGroupRuleDescriptionsIngress(f.ctx, &api.UpdateSecurityGroupRuleDescriptionsIngressInput{GroupId: ptr(web), IpPermissions: []api.IpPermission{
		{IpProtocol: ptr("tcp"), FromPort: ptr(int32(2222)), ToPort: ptr(int32(2222)), IpRanges: []api.IpRange{{CidrIp: ptr("10.0.0.0/8"), Description: ptr("admins")}}},
	}})
	f.must(err)
	if d := str(f.describeGroup(web).IpPermissions[0].IpRanges[0].Description); d != "admins" {
		t.Errorf("description = %q", d)
	}
	all, err := f.svc.DescribeSecurityGroupRules(f.ctx, &api.DescribeSecurityGroupRulesInput{Filters: []api.Filter{{Name: ptr("group-id"), Values: []string{web}}}, MaxResults: ptr(int32(5))})
	f.must(err)
	var egressID string
	for _, r := range all.SecurityGroupRules {
		if boolean(r.IsEgress) {
			egressID = str(r.SecurityGroupRuleId)
		}
	}
	_, err = f.svc.UpdateSecurityGroupRuleDescriptionsEgress(f.ctx, &api.UpdateSecurityGroupRuleDescriptionsEgressInput{GroupId: ptr(web),
		SecurityGroupRuleDescriptions: []api.SecurityGroupRuleDescription{{SecurityGroupRuleId: ptr(egressID), Description: ptr("out")}}})
	f.must(err)
	if d := str(f.describeGroup(web).IpPermissionsEgress[0].IpRanges[0].Description); d != "out" {
		t.Errorf("egress description = %q", d)
	}
	_, err = f.svc.UpdateSecurityGroupRuleDescriptionsIngress(f.ctx, &api.UpdateSecurityGroupRuleDescriptionsIngressInput{GroupId: ptr(web), IpPermissions: []api.IpPermission{sshFromAnywhere("x")}})
	f.wantCode(err, "InvalidPermission.NotFound")
	_, err = f.svc.DescribeSecurityGroupRules(f.ctx, &api.DescribeSecurityGroupRulesInput{MaxResults: ptr(int32(2))})
	f.wantCode(err, "InvalidParameterValue")
}
