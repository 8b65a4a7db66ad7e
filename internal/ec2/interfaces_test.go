package ec2

import (
	"testing"

	api "github.com/nephele-dev/nephele/internal/api/ec2"
)

// TestDescribeNetworkInterfaces checks an instance's primary interface is
// described, found by the filters Terraform uses, and gone with it.
func TestDescribeNetworkInterfaces(t *testing.T) {
	f := newNetFixture(t)
	run, err := f.svc.RunInstances(f.ctx, &api.RunInstancesInput{ImageId: firstImage(t, f), InstanceType: ptr("t3.micro"), MinCount: ptr(int32(1)), MaxCount: ptr(int32(1))})
	f.must(err)
	inst := run.Instances[0]
	group := str(inst.SecurityGroups[0].GroupId)
	for _, filters := range [][]api.Filter{
		{{Name: ptr("attachment.instance-id"), Values: []string{str(inst.InstanceId)}}},
		{{Name: ptr("group-id"), Values: []string{group}}},
		{{Name: ptr("subnet-id"), Values: []string{str(inst.SubnetId)}}},
	} {
		out, err := f.svc.DescribeNetworkInterfaces(f.ctx, &api.DescribeNetworkInterfacesInput{Filters: filters})
		f.must(err)
		if len(out.NetworkInterfaces) != 1 || str(out.NetworkInterfaces[0].PrivateIpAddress) != str(inst.PrivateIpAddress) ||
			str(out.NetworkInterfaces[0].Attachment.InstanceId) != str(inst.InstanceId) {
			t.Errorf("filters %s: %+v", str(filters[0].Name), out.NetworkInterfaces)
		}
	}
	_, err = f.svc.DescribeNetworkInterfaces(f.ctx, &api.DescribeNetworkInterfacesInput{NetworkInterfaceIds: []string{"eni-0123456789abcdef0"}})
	f.wantCode(err, "InvalidNetworkInterfaceID.NotFound")
	f.svc.TerminateInstances(f.ctx, &api.TerminateInstancesInput{InstanceIds: []string{str(inst.InstanceId)}})
	waitState(t, f, str(inst.InstanceId), "terminated")
	out, err := f.svc.DescribeNetworkInterfaces(f.ctx, &api.DescribeNetworkInterfacesInput{})
	f.must(err)
	if len(out.NetworkInterfaces) != 0 {
		t.Errorf("interfaces after termination: %+v", out.NetworkInterfaces)
	}
}
