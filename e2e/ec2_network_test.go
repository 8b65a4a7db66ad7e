package e2e

import (
	"context"
	"crypto/md5"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/nephele-dev/nephele/internal/server"
	"github.com/nephele-dev/nephele/internal/testenv"
)

// TestEC2DefaultVPC checks what every new region has, through the Go SDK:
// one default VPC, a default subnet per Availability Zone, and tags that
// CreateTags adds and DescribeTags and the tag filters see.
func TestEC2DefaultVPC(t *testing.T) {
	env := testenv.Start(t, server.Config{})
	ctx := context.Background()
	c := ec2.NewFromConfig(env.AWSConfig())

	vpcs, err := c.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{Filters: []ec2types.Filter{{Name: aws.String("is-default"), Values: []string{"true"}}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(vpcs.Vpcs) != 1 || aws.ToString(vpcs.Vpcs[0].CidrBlock) != "172.31.0.0/16" {
		t.Fatalf("default VPCs = %+v", vpcs.Vpcs)
	}
	vpcID := aws.ToString(vpcs.Vpcs[0].VpcId)
	subnets, err := c.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{Filters: []ec2types.Filter{{Name: aws.String("vpc-id"), Values: []string{vpcID}}, {Name: aws.String("default-for-az"), Values: []string{"true"}}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(subnets.Subnets) < 3 {
		t.Fatalf("default subnets = %d, want one per AZ", len(subnets.Subnets))
	}
	zones := map[string]bool{}
	for _, sn := range subnets.Subnets {
		zones[aws.ToString(sn.AvailabilityZone)] = true
		if aws.ToInt32(sn.AvailableIpAddressCount) != 4091 || !aws.ToBool(sn.MapPublicIpOnLaunch) {
			t.Errorf("default subnet %+v", sn)
		}
	}
	if len(zones) != len(subnets.Subnets) {
		t.Errorf("default subnets share AZs: %v", zones)
	}

	if _, err := c.CreateTags(ctx, &ec2.CreateTagsInput{Resources: []string{vpcID}, Tags: []ec2types.Tag{{Key: aws.String("Name"), Value: aws.String("main")}}}); err != nil {
		t.Fatal(err)
	}
	tagged, err := c.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{Filters: []ec2types.Filter{{Name: aws.String("tag:Name"), Values: []string{"ma*"}}}})
	if err != nil || len(tagged.Vpcs) != 1 || len(tagged.Vpcs[0].Tags) != 1 {
		t.Fatalf("tag filter: %+v, %v", tagged, err)
	}
	desc, err := c.DescribeTags(ctx, &ec2.DescribeTagsInput{Filters: []ec2types.Filter{{Name: aws.String("resource-type"), Values: []string{"vpc"}}}})
	if err != nil || len(desc.Tags) != 1 || aws.ToString(desc.Tags[0].ResourceId) != vpcID {
		t.Fatalf("DescribeTags = %+v, %v", desc, err)
	}
	if _, err := c.CreateTags(ctx, &ec2.CreateTagsInput{Resources: []string{"vpc-0123456789abcdef0"}, Tags: []ec2types.Tag{{Key: aws.String("k"), Value: aws.String("v")}}}); apiCode(err) != "InvalidVpcID.NotFound" {
		t.Errorf("CreateTags on a missing VPC: %v", err)
	}
	if _, err := c.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{VpcIds: []string{"vpc-0123456789abcdef0"}}); apiCode(err) != "InvalidVpcID.NotFound" {
		t.Errorf("DescribeVpcs of a missing VPC: %v", err)
	}
	other, err := ec2.NewFromConfig(env.AWSConfig(), func(o *ec2.Options) { o.Region = "eu-west-1" }).DescribeVpcs(ctx, &ec2.DescribeVpcsInput{})
	if err != nil || len(other.Vpcs) != 1 || aws.ToString(other.Vpcs[0].VpcId) == vpcID {
		t.Errorf("eu-west-1 VPCs = %+v, %v; want its own default VPC", other, err)
	}
}

// TestEC2NetworkLifecycle builds and tears down a small network through
// the Go SDK: a VPC with DNS hostnames, a subnet, a security group shaped
// the way Terraform shapes one (default egress revoked, rules authorized),
// a key pair and a placement group; then checks that what is in use cannot
// be deleted and that everything else can.
func TestEC2NetworkLifecycle(t *testing.T) {
	env := testenv.Start(t, server.Config{})
	ctx := context.Background()
	c := ec2.NewFromConfig(env.AWSConfig())

	vpc, err := c.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: aws.String("10.10.0.0/16"),
		TagSpecifications: []ec2types.TagSpecification{{ResourceType: ec2types.ResourceTypeVpc, Tags: []ec2types.Tag{{Key: aws.String("Name"), Value: aws.String("lab")}}}}})
	if err != nil {
		t.Fatal(err)
	}
	vpcID := aws.ToString(vpc.Vpc.VpcId)
	if _, err := c.ModifyVpcAttribute(ctx, &ec2.ModifyVpcAttributeInput{VpcId: &vpcID, EnableDnsHostnames: &ec2types.AttributeBooleanValue{Value: aws.Bool(true)}}); err != nil {
		t.Fatal(err)
	}
	attr, err := c.DescribeVpcAttribute(ctx, &ec2.DescribeVpcAttributeInput{VpcId: &vpcID, Attribute: ec2types.VpcAttributeNameEnableDnsHostnames})
	if err != nil || !aws.ToBool(attr.EnableDnsHostnames.Value) {
		t.Fatalf("DescribeVpcAttribute = %+v, %v", attr, err)
	}
	subnet, err := c.CreateSubnet(ctx, &ec2.CreateSubnetInput{VpcId: &vpcID, CidrBlock: aws.String("10.10.1.0/24"), AvailabilityZone: aws.String("us-east-1a")})
	if err != nil {
		t.Fatal(err)
	}
	subnetID := aws.ToString(subnet.Subnet.SubnetId)
	if _, err := c.CreateSubnet(ctx, &ec2.CreateSubnetInput{VpcId: &vpcID, CidrBlock: aws.String("10.10.1.0/25")}); apiCode(err) != "InvalidSubnet.Conflict" {
		t.Errorf("overlapping subnet: %v", err)
	}
	if _, err := c.ModifySubnetAttribute(ctx, &ec2.ModifySubnetAttributeInput{SubnetId: &subnetID, MapPublicIpOnLaunch: &ec2types.AttributeBooleanValue{Value: aws.Bool(true)}}); err != nil {
		t.Fatal(err)
	}

	sg, err := c.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{GroupName: aws.String("web"), Description: aws.String("web servers"), VpcId: &vpcID})
	if err != nil {
		t.Fatal(err)
	}
	sgID := aws.ToString(sg.GroupId)
	if _, err := c.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{GroupName: aws.String("web"), Description: aws.String("again"), VpcId: &vpcID}); apiCode(err) != "InvalidGroup.Duplicate" {
		t.Errorf("duplicate group: %v", err)
	}
	allOut := ec2types.IpPermission{IpProtocol: aws.String("-1"), FromPort: aws.Int32(0), ToPort: aws.Int32(0), IpRanges: []ec2types.IpRange{{CidrIp: aws.String("0.0.0.0/0")}}}
	if _, err := c.RevokeSecurityGroupEgress(ctx, &ec2.RevokeSecurityGroupEgressInput{GroupId: &sgID, IpPermissions: []ec2types.IpPermission{allOut}}); err != nil {
		t.Fatal(err)
	}
	ingress, err := c.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: &sgID, IpPermissions: []ec2types.IpPermission{
		{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(443), ToPort: aws.Int32(443), IpRanges: []ec2types.IpRange{{CidrIp: aws.String("0.0.0.0/0"), Description: aws.String("https")}}},
		{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(8080), ToPort: aws.Int32(8080), UserIdGroupPairs: []ec2types.UserIdGroupPair{{GroupId: &sgID}}},
	}})
	if err != nil || !aws.ToBool(ingress.Return) || len(ingress.SecurityGroupRules) != 2 {
		t.Fatalf("AuthorizeSecurityGroupIngress = %+v, %v", ingress, err)
	}
	if _, err := c.AuthorizeSecurityGroupEgress(ctx, &ec2.AuthorizeSecurityGroupEgressInput{GroupId: &sgID, IpPermissions: []ec2types.IpPermission{allOut}}); err != nil {
		t.Fatal(err)
	}
	groups, err := c.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{GroupIds: []string{sgID}})
	if err != nil {
		t.Fatal(err)
	}
	g := groups.SecurityGroups[0]
	if len(g.IpPermissions) != 2 || len(g.IpPermissionsEgress) != 1 || aws.ToString(g.IpPermissions[0].IpRanges[0].Description) != "https" {
		t.Fatalf("group = %+v", g)
	}
	if _, err := c.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: &sgID, IpPermissions: g.IpPermissions[:1]}); apiCode(err) != "InvalidPermission.Duplicate" {
		t.Errorf("duplicate rule: %v", err)
	}
	rules, err := c.DescribeSecurityGroupRules(ctx, &ec2.DescribeSecurityGroupRulesInput{Filters: []ec2types.Filter{{Name: aws.String("group-id"), Values: []string{sgID}}}})
	if err != nil || len(rules.SecurityGroupRules) != 3 {
		t.Fatalf("DescribeSecurityGroupRules = %+v, %v", rules, err)
	}

	key, err := c.CreateKeyPair(ctx, &ec2.CreateKeyPairInput{KeyName: aws.String("lab"), KeyType: ec2types.KeyTypeEd25519})
	if err != nil || !strings.Contains(aws.ToString(key.KeyMaterial), "OPENSSH PRIVATE KEY") {
		t.Fatalf("CreateKeyPair = %+v, %v", key, err)
	}
	keys, err := c.DescribeKeyPairs(ctx, &ec2.DescribeKeyPairsInput{KeyNames: []string{"lab"}, IncludePublicKey: aws.Bool(true)})
	if err != nil || len(keys.KeyPairs) != 1 || !strings.HasPrefix(aws.ToString(keys.KeyPairs[0].PublicKey), "ssh-ed25519 ") ||
		aws.ToString(keys.KeyPairs[0].KeyFingerprint) != aws.ToString(key.KeyFingerprint) {
		t.Fatalf("DescribeKeyPairs = %+v, %v", keys, err)
	}
	if _, err := c.DescribeKeyPairs(ctx, &ec2.DescribeKeyPairsInput{KeyNames: []string{"missing"}}); apiCode(err) != "InvalidKeyPair.NotFound" {
		t.Errorf("missing key pair: %v", err)
	}
	pg, err := c.CreatePlacementGroup(ctx, &ec2.CreatePlacementGroupInput{GroupName: aws.String("lab"), Strategy: ec2types.PlacementStrategyPartition})
	if err != nil || aws.ToInt32(pg.PlacementGroup.PartitionCount) != 2 {
		t.Fatalf("CreatePlacementGroup = %+v, %v", pg, err)
	}
	attrs, err := c.DescribeAccountAttributes(ctx, &ec2.DescribeAccountAttributesInput{AttributeNames: []ec2types.AccountAttributeName{ec2types.AccountAttributeNameDefaultVpc}})
	if err != nil || len(attrs.AccountAttributes) != 1 || !strings.HasPrefix(aws.ToString(attrs.AccountAttributes[0].AttributeValues[0].AttributeValue), "vpc-") {
		t.Fatalf("DescribeAccountAttributes = %+v, %v", attrs, err)
	}

	// What is in use cannot go; torn down in order, everything can.
	if _, err := c.DeleteVpc(ctx, &ec2.DeleteVpcInput{VpcId: &vpcID}); apiCode(err) != "DependencyViolation" {
		t.Errorf("DeleteVpc with a subnet: %v", err)
	}
	defaults, err := c.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{Filters: []ec2types.Filter{
		{Name: aws.String("vpc-id"), Values: []string{vpcID}}, {Name: aws.String("group-name"), Values: []string{"default"}}}})
	if err != nil || len(defaults.SecurityGroups) != 1 {
		t.Fatalf("the VPC's default group: %+v, %v", defaults, err)
	}
	if _, err := c.DeleteSecurityGroup(ctx, &ec2.DeleteSecurityGroupInput{GroupId: defaults.SecurityGroups[0].GroupId}); apiCode(err) != "CannotDelete" {
		t.Errorf("deleting a default group: %v", err)
	}
	steps := []func() error{
		func() error { _, err := c.DeleteSubnet(ctx, &ec2.DeleteSubnetInput{SubnetId: &subnetID}); return err },
		func() error {
			_, err := c.DeleteSecurityGroup(ctx, &ec2.DeleteSecurityGroupInput{GroupId: &sgID})
			return err
		},
		func() error { _, err := c.DeleteVpc(ctx, &ec2.DeleteVpcInput{VpcId: &vpcID}); return err },
		func() error {
			_, err := c.DeleteKeyPair(ctx, &ec2.DeleteKeyPairInput{KeyName: aws.String("lab")})
			return err
		},
		func() error {
			_, err := c.DeleteKeyPair(ctx, &ec2.DeleteKeyPairInput{KeyName: aws.String("lab")})
			return err
		},
		func() error {
			_, err := c.DeletePlacementGroup(ctx, &ec2.DeletePlacementGroupInput{GroupName: aws.String("lab")})
			return err
		},
	}
	for i, step := range steps {
		if err := step(); err != nil {
			t.Fatalf("teardown step %d: %v", i, err)
		}
	}
	if _, err := c.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{VpcIds: []string{vpcID}}); apiCode(err) != "InvalidVpcID.NotFound" {
		t.Errorf("deleted VPC: %v", err)
	}
}

// TestEC2NetworkCLI drives the same resources with the aws CLI, whose
// shorthand syntax and file:// blobs reach the handlers differently from
// the SDK's: a security group with --protocol/--port rules, and a key pair
// imported from an OpenSSH public key file, whose fingerprint is the MD5 of
// the DER public key.
func TestEC2NetworkCLI(t *testing.T) {
	env := testenv.Start(t, server.Config{})
	var created struct{ GroupId string }
	run := func(out any, args ...string) {
		t.Helper()
		text, err := env.CLI(t, append([]string{"ec2"}, args...)...)
		if err != nil {
			t.Fatal(err)
		}
		if out != nil {
			if err := json.Unmarshal([]byte(text), out); err != nil {
				t.Fatalf("%s: %v\n%s", args[0], err, text)
			}
		}
	}
	run(&created, "create-security-group", "--group-name", "cli", "--description", "made by the CLI")
	run(nil, "authorize-security-group-ingress", "--group-id", created.GroupId, "--protocol", "tcp", "--port", "22", "--cidr", "203.0.113.0/24")
	var groups struct {
		SecurityGroups []struct {
			GroupName     string
			IpPermissions []struct {
				IpProtocol string
				FromPort   int
				IpRanges   []struct{ CidrIp string }
			}
		}
	}
	run(&groups, "describe-security-groups", "--group-names", "cli")
	if len(groups.SecurityGroups) != 1 || len(groups.SecurityGroups[0].IpPermissions) != 1 ||
		groups.SecurityGroups[0].IpPermissions[0].FromPort != 22 || groups.SecurityGroups[0].IpPermissions[0].IpRanges[0].CidrIp != "203.0.113.0/24" {
		t.Fatalf("describe-security-groups = %+v", groups)
	}
	if _, err := env.CLI(t, "ec2", "authorize-security-group-ingress", "--group-id", created.GroupId, "--protocol", "tcp", "--port", "22", "--cidr", "203.0.113.0/24"); err == nil ||
		!strings.Contains(err.Error(), "InvalidPermission.Duplicate") {
		t.Errorf("duplicate rule through the CLI: %v", err)
	}
	run(nil, "revoke-security-group-ingress", "--group-id", created.GroupId, "--protocol", "tcp", "--port", "22", "--cidr", "203.0.113.0/24")
	run(nil, "delete-security-group", "--group-id", created.GroupId)

	priv, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(&priv.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	sum := md5.Sum(der)
	var want []string
	for _, b := range sum {
		want = append(want, fmt.Sprintf("%02x", b))
	}
	path := filepath.Join(t.TempDir(), "id_rsa.pub")
	if err := os.WriteFile(path, []byte(opensshRSA(&priv.PublicKey)+" me@laptop\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var imported struct{ KeyFingerprint, KeyPairId string }
	run(&imported, "import-key-pair", "--key-name", "laptop", "--public-key-material", "fileb://"+path)
	if imported.KeyFingerprint != strings.Join(want, ":") || !strings.HasPrefix(imported.KeyPairId, "key-") {
		t.Fatalf("import-key-pair = %+v, want fingerprint %s", imported, strings.Join(want, ":"))
	}
	var createdKey struct{ KeyMaterial, KeyName string }
	run(&createdKey, "create-key-pair", "--key-name", "made", "--key-format", "ppk")
	if !strings.HasPrefix(createdKey.KeyMaterial, "PuTTY-User-Key-File-2: ssh-rsa") {
		t.Fatalf("create-key-pair --key-format ppk = %q", createdKey.KeyMaterial)
	}
	var keys struct {
		KeyPairs []struct{ KeyName, KeyType string }
	}
	run(&keys, "describe-key-pairs", "--filters", "Name=key-name,Values=laptop,made")
	if len(keys.KeyPairs) != 2 {
		t.Fatalf("describe-key-pairs = %+v", keys)
	}
	run(nil, "delete-key-pair", "--key-name", "laptop")
	run(nil, "delete-key-pair", "--key-name", "laptop")
}

// opensshRSA is an RSA public key in OpenSSH's authorized_keys format,
// without a comment.
func opensshRSA(pub *rsa.PublicKey) string {
	str := func(b []byte) []byte { return append(binary.BigEndian.AppendUint32(nil, uint32(len(b))), b...) }
	mpint := func(n *big.Int) []byte {
		b := n.Bytes()
		if b[0]&0x80 != 0 {
			b = append([]byte{0}, b...)
		}
		return str(b)
	}
	blob := append(str([]byte("ssh-rsa")), mpint(big.NewInt(int64(pub.E)))...)
	blob = append(blob, mpint(pub.N)...)
	return "ssh-rsa " + base64.StdEncoding.EncodeToString(blob)
}
