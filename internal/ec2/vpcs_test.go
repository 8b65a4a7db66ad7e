package ec2

import (
	"slices"
	"testing"

	api "github.com/nephele-dev/nephele/internal/api/ec2"
	"github.com/nephele-dev/nephele/internal/store"
)

func TestCreateVpc(t *testing.T) {
	f := newNetFixture(t)
	out, err := f.svc.CreateVpc(f.ctx, &api.CreateVpcInput{
		CidrBlock: ptr("10.0.0.0/16"), InstanceTenancy: ptr("dedicated"),
		TagSpecifications: []api.TagSpecification{{ResourceType: ptr("vpc"), Tags: []api.Tag{{Key: ptr("Name"), Value: ptr("main")}}}},
	})
	f.must(err)
	v := out.Vpc
	if str(v.CidrBlock) != "10.0.0.0/16" || boolean(v.IsDefault) || str(v.InstanceTenancy) != "dedicated" || str(v.State) != "available" || len(v.Tags) != 1 {
		t.Fatalf("CreateVpc = %+v", v)
	}
	defaults, err := f.svc.DescribeVpcs(f.ctx, &api.DescribeVpcsInput{VpcIds: []string{f.defaultVPC()}})
	f.must(err)
	if str(v.DhcpOptionsId) != str(defaults.Vpcs[0].DhcpOptionsId) {
		t.Errorf("DhcpOptionsId = %s, want the region's default %s", str(v.DhcpOptionsId), str(defaults.Vpcs[0].DhcpOptionsId))
	}
	groups, err := f.svc.DescribeSecurityGroups(f.ctx, &api.DescribeSecurityGroupsInput{Filters: []api.Filter{{Name: ptr("vpc-id"), Values: []string{str(v.VpcId)}}}})
	f.must(err)
	if len(groups.SecurityGroups) != 1 || str(groups.SecurityGroups[0].GroupName) != "default" {
		t.Fatalf("groups of the new VPC = %+v, want its default group", groups.SecurityGroups)
	}
	tagged, err := f.svc.DescribeVpcs(f.ctx, &api.DescribeVpcsInput{Filters: []api.Filter{{Name: ptr("tag:Name"), Values: []string{"main"}}}})
	f.must(err)
	if len(tagged.Vpcs) != 1 {
		t.Errorf("tag filter found %d VPCs", len(tagged.Vpcs))
	}
}

func TestCreateVpcErrors(t *testing.T) {
	tests := []struct {
		name string
		in   api.CreateVpcInput
		code string
	}{
		{"no_cidr", api.CreateVpcInput{}, "MissingParameter"},
		{"malformed_cidr", api.CreateVpcInput{CidrBlock: ptr("10.0.0.0/33")}, "InvalidParameterValue"},
		{"host_bits_set", api.CreateVpcInput{CidrBlock: ptr("10.0.0.1/16")}, "InvalidParameterValue"},
		{"ipv6_cidr", api.CreateVpcInput{CidrBlock: ptr("2001:db8::/56")}, "InvalidParameterValue"},
		{"larger_than_16", api.CreateVpcInput{CidrBlock: ptr("10.0.0.0/15")}, "InvalidVpc.Range"},
		{"smaller_than_28", api.CreateVpcInput{CidrBlock: ptr("10.0.0.0/29")}, "InvalidVpc.Range"},
		{"ipv6_block", api.CreateVpcInput{CidrBlock: ptr("10.0.0.0/16"), AmazonProvidedIpv6CidrBlock: ptr(true)}, "InvalidParameterValue"},
		{"host_tenancy", api.CreateVpcInput{CidrBlock: ptr("10.0.0.0/16"), InstanceTenancy: ptr("host")}, "InvalidParameterValue"},
		{"tags_for_another_type", api.CreateVpcInput{CidrBlock: ptr("10.0.0.0/16"), TagSpecifications: []api.TagSpecification{{ResourceType: ptr("subnet")}}}, "InvalidParameterValue"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newNetFixture(t)
			_, err := f.svc.CreateVpc(f.ctx, &tt.in)
			f.wantCode(err, tt.code)
		})
	}
}

func TestCreateVpcLimit(t *testing.T) {
	f := newNetFixture(t)
	for i := 1; i < maxVPCs; i++ {
		f.createVPC("10.0.0.0/16")
	}
	_, err := f.svc.CreateVpc(f.ctx, &api.CreateVpcInput{CidrBlock: ptr("10.0.0.0/16")})
	f.wantCode(err, "VpcLimitExceeded")
}

func TestDeleteVpc(t *testing.T) {
	f := newNetFixture(t)
	_, err := f.svc.DeleteVpc(f.ctx, &api.DeleteVpcInput{VpcId: ptr("vpc-0123456789abcdef0")})
	f.wantCode(err, "InvalidVpcID.NotFound")

	vpc := f.createVPC("10.1.0.0/16")
	subnet := f.createSubnet(vpc, "10.1.1.0/24")
	_, err = f.svc.DeleteVpc(f.ctx, &api.DeleteVpcInput{VpcId: ptr(vpc)})
	f.wantCode(err, "DependencyViolation")
	_, err = f.svc.DeleteSubnet(f.ctx, &api.DeleteSubnetInput{SubnetId: ptr(subnet)})
	f.must(err)

	group := f.createGroup(vpc, "web")
	_, err = f.svc.DeleteVpc(f.ctx, &api.DeleteVpcInput{VpcId: ptr(vpc)})
	f.wantCode(err, "DependencyViolation")
	_, err = f.svc.DeleteSecurityGroup(f.ctx, &api.DeleteSecurityGroupInput{GroupId: ptr(group)})
	f.must(err)

	_, err = f.svc.CreateTags(f.ctx, &api.CreateTagsInput{Resources: []string{vpc}, Tags: []api.Tag{{Key: ptr("k"), Value: ptr("v")}}})
	f.must(err)
	_, err = f.svc.DeleteVpc(f.ctx, &api.DeleteVpcInput{VpcId: ptr(vpc)})
	f.must(err)
	groups, err := f.svc.DescribeSecurityGroups(f.ctx, &api.DescribeSecurityGroupsInput{Filters: []api.Filter{{Name: ptr("vpc-id"), Values: []string{vpc}}}})
	f.must(err)
	if len(groups.SecurityGroups) != 0 {
		t.Errorf("the deleted VPC's default group remains: %+v", groups.SecurityGroups)
	}
	tags, err := f.svc.DescribeTags(f.ctx, &api.DescribeTagsInput{Filters: []api.Filter{{Name: ptr("resource-id"), Values: []string{vpc}}}})
	f.must(err)
	if len(tags.Tags) != 0 {
		t.Errorf("the deleted VPC's tags remain: %+v", tags.Tags)
	}
}

func TestVpcAttributes(t *testing.T) {
	f := newNetFixture(t)
	vpc := f.createVPC("10.2.0.0/16")
	attr := func(name string) bool {
		t.Helper()
		out, err := f.svc.DescribeVpcAttribute(f.ctx, &api.DescribeVpcAttributeInput{VpcId: ptr(vpc), Attribute: ptr(name)})
		f.must(err)
		for _, v := range []*api.AttributeBooleanValue{out.EnableDnsSupport, out.EnableDnsHostnames, out.EnableNetworkAddressUsageMetrics} {
			if v != nil {
				return boolean(v.Value)
			}
		}
		t.Fatalf("DescribeVpcAttribute(%s) = %+v", name, out)
		return false
	}
	if !attr("enableDnsSupport") || attr("enableDnsHostnames") || attr("enableNetworkAddressUsageMetrics") {
		t.Fatal("a new VPC has DNS support on, DNS hostnames and address usage metrics off")
	}
	on := &api.AttributeBooleanValue{Value: ptr(true)}
	for _, in := range []api.ModifyVpcAttributeInput{
		{VpcId: ptr(vpc), EnableDnsHostnames: on},
		{VpcId: ptr(vpc), EnableNetworkAddressUsageMetrics: on},
		{VpcId: ptr(vpc), EnableDnsSupport: &api.AttributeBooleanValue{Value: ptr(false)}},
	} {
		_, err := f.svc.ModifyVpcAttribute(f.ctx, &in)
		f.must(err)
	}
	if attr("enableDnsSupport") || !attr("enableDnsHostnames") || !attr("enableNetworkAddressUsageMetrics") {
		t.Fatal("ModifyVpcAttribute did not stick")
	}
	_, err := f.svc.ModifyVpcAttribute(f.ctx, &api.ModifyVpcAttributeInput{VpcId: ptr(vpc)})
	f.wantCode(err, "MissingParameter")
	_, err = f.svc.ModifyVpcAttribute(f.ctx, &api.ModifyVpcAttributeInput{VpcId: ptr(vpc), EnableDnsSupport: on, EnableDnsHostnames: on})
	f.wantCode(err, "InvalidParameterCombination")
	_, err = f.svc.ModifyVpcAttribute(f.ctx, &api.ModifyVpcAttributeInput{VpcId: ptr("vpc-0123456789abcdef0"), EnableDnsSupport: on})
	f.wantCode(err, "InvalidVpcID.NotFound")
	_, err = f.svc.DescribeVpcAttribute(f.ctx, &api.DescribeVpcAttributeInput{VpcId: ptr("vpc-0123456789abcdef0"), Attribute: ptr("enableDnsSupport")})
	f.wantCode(err, "InvalidVpcID.NotFound")
}

func TestCreateSubnet(t *testing.T) {
	f := newNetFixture(t)
	vpc := f.createVPC("10.3.0.0/16")
	out, err := f.svc.CreateSubnet(f.ctx, &api.CreateSubnetInput{VpcId: ptr(vpc), CidrBlock: ptr("10.3.0.0/24"), AvailabilityZone: ptr("us-east-1b"),
		TagSpecifications: []api.TagSpecification{{ResourceType: ptr("subnet"), Tags: []api.Tag{{Key: ptr("tier"), Value: ptr("web")}}}}})
	f.must(err)
	sn := out.Subnet
	if str(sn.AvailabilityZone) != "us-east-1b" || str(sn.AvailabilityZoneId) != "use1-az4" || deref(sn.AvailableIpAddressCount) != 251 ||
		boolean(sn.DefaultForAz) || boolean(sn.MapPublicIpOnLaunch) || len(sn.Tags) != 1 {
		t.Fatalf("CreateSubnet = %+v", sn)
	}
	byID, err := f.svc.CreateSubnet(f.ctx, &api.CreateSubnetInput{VpcId: ptr(vpc), CidrBlock: ptr("10.3.1.0/24"), AvailabilityZoneId: ptr("use1-az6")})
	f.must(err)
	if str(byID.Subnet.AvailabilityZone) != "us-east-1c" {
		t.Errorf("AvailabilityZoneId use1-az6 gave %s", str(byID.Subnet.AvailabilityZone))
	}
	auto, err := f.svc.CreateSubnet(f.ctx, &api.CreateSubnetInput{VpcId: ptr(vpc), CidrBlock: ptr("10.3.2.0/24")})
	f.must(err)
	if str(auto.Subnet.AvailabilityZone) != "us-east-1a" {
		t.Errorf("default zone = %s, want us-east-1a, the one without subnets", str(auto.Subnet.AvailabilityZone))
	}

	tests := []struct {
		name string
		in   api.CreateSubnetInput
		code string
	}{
		{"no_cidr", api.CreateSubnetInput{VpcId: ptr(vpc)}, "MissingParameter"},
		{"no_such_vpc", api.CreateSubnetInput{VpcId: ptr("vpc-0123456789abcdef0"), CidrBlock: ptr("10.3.9.0/24")}, "InvalidVpcID.NotFound"},
		{"malformed_cidr", api.CreateSubnetInput{VpcId: ptr(vpc), CidrBlock: ptr("10.3.9.0")}, "InvalidParameterValue"},
		{"outside_the_vpc", api.CreateSubnetInput{VpcId: ptr(vpc), CidrBlock: ptr("10.4.0.0/24")}, "InvalidSubnet.Range"},
		{"larger_than_the_vpc", api.CreateSubnetInput{VpcId: ptr(vpc), CidrBlock: ptr("10.2.0.0/15")}, "InvalidSubnet.Range"},
		{"smaller_than_28", api.CreateSubnetInput{VpcId: ptr(vpc), CidrBlock: ptr("10.3.9.0/29")}, "InvalidSubnet.Range"},
		{"overlaps_a_subnet", api.CreateSubnetInput{VpcId: ptr(vpc), CidrBlock: ptr("10.3.0.128/25")}, "InvalidSubnet.Conflict"},
		{"contains_a_subnet", api.CreateSubnetInput{VpcId: ptr(vpc), CidrBlock: ptr("10.3.0.0/20")}, "InvalidSubnet.Conflict"},
		{"unknown_zone", api.CreateSubnetInput{VpcId: ptr(vpc), CidrBlock: ptr("10.3.9.0/24"), AvailabilityZone: ptr("us-east-1z")}, "InvalidParameterValue"},
		{"unknown_zone_id", api.CreateSubnetInput{VpcId: ptr(vpc), CidrBlock: ptr("10.3.9.0/24"), AvailabilityZoneId: ptr("use1-az9")}, "InvalidParameterValue"},
		{"zone_and_zone_id", api.CreateSubnetInput{VpcId: ptr(vpc), CidrBlock: ptr("10.3.9.0/24"), AvailabilityZone: ptr("us-east-1a"), AvailabilityZoneId: ptr("use1-az2")}, "InvalidParameterCombination"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := f.svc.CreateSubnet(f.ctx, &tt.in)
			f.wantCode(err, tt.code)
		})
	}
}

func TestDeleteSubnet(t *testing.T) {
	f := newNetFixture(t)
	_, err := f.svc.DeleteSubnet(f.ctx, &api.DeleteSubnetInput{SubnetId: ptr("subnet-0123456789abcdef0")})
	f.wantCode(err, "InvalidSubnetID.NotFound")

	vpc := f.createVPC("10.5.0.0/16")
	subnet := f.createSubnet(vpc, "10.5.0.0/24")
	f.putInstance("terminated", subnet, nil, "", "us-east-1a")
	running := f.putInstance("running", subnet, nil, "", "us-east-1a")
	_, err = f.svc.DeleteSubnet(f.ctx, &api.DeleteSubnetInput{SubnetId: ptr(subnet)})
	f.wantCode(err, "DependencyViolation")

	f.must(f.st.Update(func(tx store.Tx) error { return tx.Delete(bucketInstanceRefs, f.sc.key(running)) }))
	_, err = f.svc.DeleteSubnet(f.ctx, &api.DeleteSubnetInput{SubnetId: ptr(subnet)})
	f.must(err)
	_, err = f.svc.DescribeSubnets(f.ctx, &api.DescribeSubnetsInput{SubnetIds: []string{subnet}})
	f.wantCode(err, "InvalidSubnetID.NotFound")
}

func TestModifySubnetAttribute(t *testing.T) {
	f := newNetFixture(t)
	vpc := f.createVPC("10.6.0.0/16")
	subnet := f.createSubnet(vpc, "10.6.0.0/24")
	on := &api.AttributeBooleanValue{Value: ptr(true)}
	for _, in := range []api.ModifySubnetAttributeInput{
		{SubnetId: ptr(subnet), MapPublicIpOnLaunch: on},
		{SubnetId: ptr(subnet), PrivateDnsHostnameTypeOnLaunch: ptr("resource-name")},
		{SubnetId: ptr(subnet), EnableResourceNameDnsARecordOnLaunch: on},
	} {
		_, err := f.svc.ModifySubnetAttribute(f.ctx, &in)
		f.must(err)
	}
	out, err := f.svc.DescribeSubnets(f.ctx, &api.DescribeSubnetsInput{Filters: []api.Filter{{Name: ptr("map-public-ip-on-launch"), Values: []string{"true"}}, {Name: ptr("vpc-id"), Values: []string{vpc}}}})
	f.must(err)
	if len(out.Subnets) != 1 {
		t.Fatalf("subnets mapping public IPs = %+v", out.Subnets)
	}
	opts := out.Subnets[0].PrivateDnsNameOptionsOnLaunch
	if str(opts.HostnameType) != "resource-name" || !boolean(opts.EnableResourceNameDnsARecord) {
		t.Errorf("PrivateDnsNameOptionsOnLaunch = %+v", opts)
	}
	_, err = f.svc.ModifySubnetAttribute(f.ctx, &api.ModifySubnetAttributeInput{SubnetId: ptr(subnet), AssignIpv6AddressOnCreation: on})
	f.wantCode(err, "InvalidParameterValue")
	_, err = f.svc.ModifySubnetAttribute(f.ctx, &api.ModifySubnetAttributeInput{SubnetId: ptr("subnet-0123456789abcdef0"), MapPublicIpOnLaunch: on})
	f.wantCode(err, "InvalidSubnetID.NotFound")
}

func TestDescribeAccountAttributes(t *testing.T) {
	f := newNetFixture(t)
	values := func(names ...string) map[string]string {
		t.Helper()
		out, err := f.svc.DescribeAccountAttributes(f.ctx, &api.DescribeAccountAttributesInput{AttributeNames: names})
		f.must(err)
		m := map[string]string{}
		for _, a := range out.AccountAttributes {
			m[str(a.AttributeName)] = str(a.AttributeValues[0].AttributeValue)
		}
		return m
	}
	vpc := f.defaultVPC()
	all := values()
	want := map[string]string{"supported-platforms": "VPC", "default-vpc": vpc, "max-instances": "20",
		"vpc-max-security-groups-per-interface": "5", "max-elastic-ips": "5", "vpc-max-elastic-ips": "5"}
	for k, v := range want {
		if all[k] != v {
			t.Errorf("%s = %q, want %q", k, all[k], v)
		}
	}
	if got := values("default-vpc"); len(got) != 1 || got["default-vpc"] != vpc {
		t.Errorf("AttributeNames default-vpc = %v", got)
	}

	// Once the default VPC is gone, default-vpc is "none".
	subnets, err := f.svc.DescribeSubnets(f.ctx, &api.DescribeSubnetsInput{Filters: []api.Filter{{Name: ptr("vpc-id"), Values: []string{vpc}}}})
	f.must(err)
	for _, sn := range subnets.Subnets {
		_, err := f.svc.DeleteSubnet(f.ctx, &api.DeleteSubnetInput{SubnetId: sn.SubnetId})
		f.must(err)
	}
	_, err = f.svc.DeleteVpc(f.ctx, &api.DeleteVpcInput{VpcId: ptr(vpc)})
	f.must(err)
	if got := values("default-vpc", "supported-platforms"); got["default-vpc"] != "none" || !slices.Contains([]string{"VPC"}, got["supported-platforms"]) {
		t.Errorf("after deleting the default VPC: %v", got)
	}
	_, err = f.svc.CreateSecurityGroup(f.ctx, &api.CreateSecurityGroupInput{GroupName: ptr("web"), Description: ptr("web")})
	f.wantCode(err, "VPCIdNotSpecified")
}
