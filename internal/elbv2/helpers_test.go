package elbv2

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	ec2api "github.com/nephele-dev/nephele/internal/api/ec2"
	api "github.com/nephele-dev/nephele/internal/api/elbv2"
	"github.com/nephele-dev/nephele/internal/awserr"
	"github.com/nephele-dev/nephele/internal/clock"
	"github.com/nephele-dev/nephele/internal/service"
	"github.com/nephele-dev/nephele/internal/store"
)

// fakeCompute is a small EC2: one VPC with a subnet in each of three
// zones, a second VPC, and instances a test adds.
type fakeCompute struct {
	subnets   []ec2api.Subnet
	vpcs      []ec2api.Vpc
	instances map[string]instanceInfo
}

func newFakeCompute() *fakeCompute {
	sn := func(id, vpc, az, cidr string) ec2api.Subnet {
		return ec2api.Subnet{SubnetId: ptr(id), VpcId: ptr(vpc), AvailabilityZone: ptr(az), CidrBlock: ptr(cidr)}
	}
	return &fakeCompute{
		vpcs: []ec2api.Vpc{{VpcId: ptr("vpc-1"), CidrBlock: ptr("172.31.0.0/16")}, {VpcId: ptr("vpc-2"), CidrBlock: ptr("10.0.0.0/16")}},
		subnets: []ec2api.Subnet{
			sn("subnet-a", "vpc-1", "us-east-1a", "172.31.0.0/20"), sn("subnet-b", "vpc-1", "us-east-1b", "172.31.16.0/20"),
			sn("subnet-c", "vpc-1", "us-east-1c", "172.31.32.0/20"), sn("subnet-x", "vpc-2", "us-east-1a", "10.0.1.0/24"),
		},
		instances: map[string]instanceInfo{},
	}
}

func notFound(code string) error {
	return awserr.New(http.StatusBadRequest, code, "The ID does not exist")
}

func hasFilter(fs []ec2api.Filter, name, value string) (bool, bool) {
	for _, f := range fs {
		if str(f.Name) == name {
			for _, v := range f.Values {
				if v == value {
					return true, true
				}
			}
			return true, false
		}
	}
	return false, false
}

func (f *fakeCompute) DescribeSubnets(_ context.Context, in *ec2api.DescribeSubnetsInput) (*ec2api.DescribeSubnetsOutput, error) {
	out := &ec2api.DescribeSubnetsOutput{}
	for _, id := range in.SubnetIds {
		found := false
		for _, s := range f.subnets {
			if str(s.SubnetId) == id {
				out.Subnets = append(out.Subnets, s)
				found = true
			}
		}
		if !found {
			return nil, notFound("InvalidSubnetID.NotFound")
		}
	}
	if len(in.SubnetIds) == 0 {
		for _, s := range f.subnets {
			if has, ok := hasFilter(in.Filters, "vpc-id", str(s.VpcId)); !has || ok {
				out.Subnets = append(out.Subnets, s)
			}
		}
	}
	return out, nil
}

func (f *fakeCompute) DescribeVpcs(_ context.Context, in *ec2api.DescribeVpcsInput) (*ec2api.DescribeVpcsOutput, error) {
	out := &ec2api.DescribeVpcsOutput{}
	for _, id := range in.VpcIds {
		found := false
		for _, v := range f.vpcs {
			if str(v.VpcId) == id {
				out.Vpcs = append(out.Vpcs, v)
				found = true
			}
		}
		if !found {
			return nil, notFound("InvalidVpcID.NotFound")
		}
	}
	return out, nil
}

func (f *fakeCompute) DescribeSecurityGroups(_ context.Context, in *ec2api.DescribeSecurityGroupsInput) (*ec2api.DescribeSecurityGroupsOutput, error) {
	out := &ec2api.DescribeSecurityGroupsOutput{}
	for _, id := range in.GroupIds {
		if id != "sg-1" {
			return nil, notFound("InvalidGroup.NotFound")
		}
		out.SecurityGroups = append(out.SecurityGroups, ec2api.SecurityGroup{GroupId: ptr(id), VpcId: ptr("vpc-1")})
	}
	if len(in.GroupIds) == 0 {
		if has, ok := hasFilter(in.Filters, "vpc-id", "vpc-1"); has && ok {
			out.SecurityGroups = append(out.SecurityGroups, ec2api.SecurityGroup{GroupId: ptr("sg-default"), VpcId: ptr("vpc-1")})
		}
	}
	return out, nil
}

func (f *fakeCompute) DescribeInstances(_ context.Context, in *ec2api.DescribeInstancesInput) (*ec2api.DescribeInstancesOutput, error) {
	out := &ec2api.DescribeInstancesOutput{}
	for _, i := range f.instances {
		if has, ok := hasFilter(in.Filters, "instance-id", i.ID); has && !ok {
			continue
		}
		out.Reservations = append(out.Reservations, ec2api.Reservation{Instances: []ec2api.Instance{{
			InstanceId: ptr(i.ID), VpcId: ptr(i.VpcID), PrivateIpAddress: ptr(i.IP),
			State: &ec2api.InstanceState{Name: ptr(i.State)}, Placement: &ec2api.Placement{AvailabilityZone: ptr(i.Zone)},
		}}})
	}
	return out, nil
}

// newTestService returns a service on a memory store and a fake clock,
// and a context scoped to 000000000000/us-east-1.
func newTestService(t *testing.T) (*Service, *fakeCompute, context.Context) {
	t.Helper()
	fc := newFakeCompute()
	s := New(store.NewMemory(), clock.NewFake(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)), Options{Compute: fc})
	t.Cleanup(func() { s.Close() })
	ctx := service.WithRequest(context.Background(), service.Request{AccountID: "000000000000", Region: "us-east-1"})
	return s, fc, ctx
}

// wantCode fails unless err is an AWS error with code.
func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	var e *awserr.Error
	if !errors.As(err, &e) || e.Code != code {
		t.Fatalf("error = %v, want %s", err, code)
	}
	if e.Status != http.StatusBadRequest {
		t.Errorf("status = %d, want 400", e.Status)
	}
}

func mustLB(t *testing.T, s *Service, ctx context.Context, name, typ string) api.LoadBalancer {
	t.Helper()
	out, err := s.CreateLoadBalancer(ctx, &api.CreateLoadBalancerInput{Name: ptr(name), Type: ptr(typ), Subnets: []string{"subnet-a", "subnet-b"}})
	if err != nil {
		t.Fatal(err)
	}
	return out.LoadBalancers[0]
}

func mustTG(t *testing.T, s *Service, ctx context.Context, name, protocol string) api.TargetGroup {
	t.Helper()
	out, err := s.CreateTargetGroup(ctx, &api.CreateTargetGroupInput{Name: ptr(name), Protocol: ptr(protocol), Port: ptr(int32(80)), VpcId: ptr("vpc-1")})
	if err != nil {
		t.Fatal(err)
	}
	return out.TargetGroups[0]
}

func forwardTo(tg string) []api.Action {
	return []api.Action{{Type: ptr("forward"), TargetGroupArn: ptr(tg)}}
}

func mustListener(t *testing.T, s *Service, ctx context.Context, lb string, protocol string, port int32, tg string) api.Listener {
	t.Helper()
	out, err := s.CreateListener(ctx, &api.CreateListenerInput{LoadBalancerArn: ptr(lb), Protocol: ptr(protocol), Port: ptr(port), DefaultActions: forwardTo(tg)})
	if err != nil {
		t.Fatal(err)
	}
	return out.Listeners[0]
}
