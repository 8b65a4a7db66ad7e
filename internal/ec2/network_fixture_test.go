package ec2

import (
	"context"
	"errors"
	"testing"
	"time"

	api "github.com/nephele-dev/nephele/internal/api/ec2"
	"github.com/nephele-dev/nephele/internal/awserr"
	"github.com/nephele-dev/nephele/internal/awsid"
	"github.com/nephele-dev/nephele/internal/clock"
	"github.com/nephele-dev/nephele/internal/service"
	"github.com/nephele-dev/nephele/internal/store"
)

// netAccount is the account of the network tests.
const netAccount = "123456789012"

// netFixture is an EC2 service on a memory store and a fake clock, with a
// request context in us-east-1, for the tests of VPCs, subnets, security
// groups, key pairs and placement groups.
type netFixture struct {
	t   *testing.T
	svc *Service
	st  store.Store
	ctx context.Context
	sc  scope
}

func newNetFixture(t *testing.T) *netFixture {
	t.Helper()
	st := store.NewMemory()
	t.Cleanup(func() { st.Close() })
	clk := clock.NewFake(time.Date(2024, time.March, 1, 12, 0, 0, 0, time.UTC))
	ctx := service.WithRequest(context.Background(), service.Request{AccountID: netAccount, Region: "us-east-1", AccessKeyID: "AKIDEXAMPLE"})
	svc, err := New(st, clk, Options{InstanceDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { svc.Close() })
	return &netFixture{t: t, svc: svc, st: st, ctx: ctx, sc: scope{account: netAccount, region: "us-east-1"}}
}

// errCode is the AWS error code of err, or "" for nil.
func errCode(err error) string {
	if err == nil {
		return ""
	}
	var e *awserr.Error
	if errors.As(err, &e) {
		return e.Code
	}
	return "not an awserr: " + err.Error()
}

// wantCode fails the test unless err has the AWS error code.
func (f *netFixture) wantCode(err error, code string) {
	f.t.Helper()
	if errCode(err) != code {
		f.t.Fatalf("error = %v (code %q), want code %q", err, errCode(err), code)
	}
}

// must fails the test on err.
func (f *netFixture) must(err error) {
	f.t.Helper()
	if err != nil {
		f.t.Fatal(err)
	}
}

// defaultVPC is the ID of the region's default VPC.
func (f *netFixture) defaultVPC() string {
	f.t.Helper()
	out, err := f.svc.DescribeVpcs(f.ctx, &api.DescribeVpcsInput{Filters: []api.Filter{{Name: ptr("is-default"), Values: []string{"true"}}}})
	f.must(err)
	return str(out.Vpcs[0].VpcId)
}

// createVPC makes a VPC with the CIDR block.
func (f *netFixture) createVPC(cidr string) string {
	f.t.Helper()
	out, err := f.svc.CreateVpc(f.ctx, &api.CreateVpcInput{CidrBlock: ptr(cidr)})
	f.must(err)
	return str(out.Vpc.VpcId)
}

// createSubnet makes a subnet of a VPC.
func (f *netFixture) createSubnet(vpcID, cidr string) string {
	f.t.Helper()
	out, err := f.svc.CreateSubnet(f.ctx, &api.CreateSubnetInput{VpcId: ptr(vpcID), CidrBlock: ptr(cidr)})
	f.must(err)
	return str(out.Subnet.SubnetId)
}

// createGroup makes a security group in a VPC ("" for the default one).
func (f *netFixture) createGroup(vpcID, name string) string {
	f.t.Helper()
	in := &api.CreateSecurityGroupInput{GroupName: ptr(name), Description: ptr("test group " + name)}
	if vpcID != "" {
		in.VpcId = ptr(vpcID)
	}
	out, err := f.svc.CreateSecurityGroup(f.ctx, in)
	f.must(err)
	return str(out.GroupId)
}

// fakeInstance is an instance record as instances.go stores it, enough
// for the dependency checks of the network resources.
type fakeInstance struct {
	InstanceId     *string
	SubnetId       *string
	State          *api.InstanceState
	SecurityGroups []api.GroupIdentifier
	Placement      *api.Placement
}

// putInstance stores an instance in state in subnet, with groups, in a
// placement group and zone.
func (f *netFixture) putInstance(state, subnetID string, groups []string, placementGroup, zone string) string {
	f.t.Helper()
	id := awsid.New("i")
	inst := fakeInstance{InstanceId: ptr(id), SubnetId: ptr(subnetID), State: &api.InstanceState{Name: ptr(state)},
		Placement: &api.Placement{GroupName: ptr(placementGroup), AvailabilityZone: ptr(zone)}}
	for _, g := range groups {
		inst.SecurityGroups = append(inst.SecurityGroups, api.GroupIdentifier{GroupId: ptr(g)})
	}
	f.must(f.st.Update(func(tx store.Tx) error { return tx.Put(bucketInstanceRefs, f.sc.key(id), inst) }))
	return id
}

func TestDescribeVpcsIsDefaultFilterNames(t *testing.T) {
	f := newNetFixture(t)
	for _, name := range []string{"is-default", "isDefault"} {
		out, err := f.svc.DescribeVpcs(f.ctx, &api.DescribeVpcsInput{Filters: []api.Filter{{Name: ptr(name), Values: []string{"true"}}}})
		if err != nil || len(out.Vpcs) != 1 || out.Vpcs[0].IsDefault == nil || !*out.Vpcs[0].IsDefault {
			t.Fatalf("filter %s: %+v, %v", name, out, err)
		}
	}
}
