package ec2

import (
	"context"
	"testing"

	api "github.com/nephele-dev/nephele/internal/api/ec2"
)

func TestGroupInstancesReadsByIDAndSkipsUnknown(t *testing.T) {
	f := newNetFixture(t)
	imgs, err := f.svc.DescribeImages(f.ctx, &api.DescribeImagesInput{Owners: []string{"amazon"}})
	if err != nil {
		t.Fatal(err)
	}
	in := &api.RunInstancesInput{ImageId: imgs.Images[0].ImageId, InstanceType: ptr("t4g.micro"), MinCount: ptr(int32(1)), MaxCount: ptr(int32(1))}
	if arch := str(imgs.Images[0].Architecture); arch == "x86_64" {
		in.InstanceType = ptr("t3.micro")
	}
	insts, err := f.svc.LaunchForGroup(context.Background(), "000000000000", "us-east-1", "g", in, 1)
	if err != nil {
		t.Fatal(err)
	}
	id := str(insts[0].InstanceId)
	got, err := f.svc.GroupInstances(context.Background(), "000000000000", "us-east-1", []string{id, "i-00000000000000000"})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[id].InstanceState == nil || str(got[id].InstanceState.Name) == "" {
		t.Fatalf("GroupInstances = %+v, want %s only, with its state", got, id)
	}
}
